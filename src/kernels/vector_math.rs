//! Float32 `exp` written so that loops over slices vectorise (no calls, no branches): the C
//! library's `expf` is a call per element. Range reduction to `r` in [-ln2/2, ln2/2], a
//! degree-7 polynomial (the Cephes `expf` coefficients), and a scale by `2^n` built from
//! the exponent bits. Within 2 ulp of the exact value, like the vectorised `exp` PyTorch
//! uses on CPU (1 ulp), and exact for the special values (0, inf, -inf, NaN).

const LOG2_E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split in two so that `n * LN2_HI` is exact for the `n` that occur.
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// Adding and subtracting 1.5 * 2^23 rounds to the nearest integer with plain float adds.
const ROUNDER: f32 = 12_582_912.0;

/// `e^x` for float32; see the module notes.
///
/// ```
/// use autodiff::kernels::vector_math::exp_f32;
/// assert_eq!(exp_f32(0.0), 1.0);
/// assert!((exp_f32(1.0) - std::f32::consts::E).abs() <= f32::EPSILON * 3.0);
/// assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
/// ```
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    // Beyond these bounds the result is 0 or inf anyway; clamping keeps `n` in range (NaN
    // is put back at the end).
    let clamped = if x.is_nan() {
        0.0
    } else {
        x.clamp(-104.0, 89.0)
    };
    let n = (clamped * LOG2_E + ROUNDER) - ROUNDER;
    let r = (clamped - n * LN2_HI) - n * LN2_LO;
    let mut p = 1.987_569_1e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let y = p * (r * r) + r + 1.0;
    // 2^n as two factors, so results down to the subnormals and up to overflow come out
    // right without a branch.
    // SAFETY: `n` is an integer in [-151, 129] (the clamp above), so it fits an i32; the
    // unchecked conversion vectorises where the saturating `as` does not.
    let n = unsafe { n.to_int_unchecked::<i32>() };
    let half = n >> 1;
    let scale_a = f32::from_bits(((half + 127) as u32) << 23);
    let scale_b = f32::from_bits(((n - half + 127) as u32) << 23);
    let result = y * scale_a * scale_b;
    if x.is_nan() {
        x
    } else {
        result
    }
}

#[cfg(test)]
mod tests {
    use super::exp_f32;

    /// Distance in units in the last place between two positive floats.
    fn ulps(a: f32, b: f32) -> u32 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32
    }

    #[test]
    fn within_two_ulp_everywhere() {
        let mut worst = 0;
        let mut x = -103.0f32;
        while x < 88.7 {
            let exact = (x as f64).exp() as f32;
            if exact > f32::MIN_POSITIVE {
                worst = worst.max(ulps(exp_f32(x), exact));
            }
            x += 0.000_37;
        }
        assert!(worst <= 2, "worst error {worst} ulp");
    }

    #[test]
    fn special_values() {
        assert_eq!(exp_f32(0.0), 1.0);
        assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp_f32(-200.0), 0.0);
        assert_eq!(exp_f32(f32::INFINITY), f32::INFINITY);
        assert_eq!(exp_f32(100.0), f32::INFINITY);
        assert!(exp_f32(f32::NAN).is_nan());
        assert!(exp_f32(-100.0) > 0.0, "subnormal results are kept");
    }
}

/// Sums float32 or float64 values in f64 (other element types: exactly, through f64).
/// The AVX path keeps eight f64 accumulators; the portable path four.
#[inline]
pub fn sum_as_f64<T: crate::storage::Element>(values: &[T]) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU has AVX, and the slices are reinterpreted only as their own type.
        unsafe {
            match T::DTYPE {
                crate::DType::F32 => {
                    let v = std::slice::from_raw_parts(values.as_ptr().cast::<f32>(), values.len());
                    return avx::sum_f32(v);
                }
                crate::DType::F64 => {
                    let v = std::slice::from_raw_parts(values.as_ptr().cast::<f64>(), values.len());
                    return avx::sum_f64(v);
                }
                _ => {}
            }
        }
    }
    let mut lanes = [0.0f64; 4];
    let chunks = values.chunks_exact(4);
    let tail: f64 = chunks.remainder().iter().map(|x| x.to_f64()).sum();
    for chunk in chunks {
        for (lane, &x) in lanes.iter_mut().zip(chunk) {
            *lane += x.to_f64();
        }
    }
    (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]) + tail
}

/// The smallest value of a float32 or float64 slice, ignoring NaN; inf when empty.
#[inline]
pub fn min_ignoring_nan<T: crate::storage::Float>(values: &[T]) -> T {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU has AVX, and the slices are reinterpreted only as their own type.
        unsafe {
            match T::DTYPE {
                crate::DType::F32 => {
                    let v = std::slice::from_raw_parts(values.as_ptr().cast::<f32>(), values.len());
                    return T::from_f64(-avx::max_f32(v, true) as f64);
                }
                crate::DType::F64 => {
                    let v = std::slice::from_raw_parts(values.as_ptr().cast::<f64>(), values.len());
                    return T::from_f64(-avx::max_f64(v, true));
                }
                _ => {}
            }
        }
    }
    values.iter().fold(
        T::from_f64(f64::INFINITY),
        |m, &x| if x < m { x } else { m },
    )
}

/// The largest value of a float32 or float64 slice, ignoring NaN; -inf when empty.
#[inline]
pub fn max_ignoring_nan<T: crate::storage::Float>(values: &[T]) -> T {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU has AVX, and the slices are reinterpreted only as their own type.
        unsafe {
            match T::DTYPE {
                crate::DType::F32 => {
                    let v = std::slice::from_raw_parts(values.as_ptr().cast::<f32>(), values.len());
                    return T::from_f64(avx::max_f32(v, false) as f64);
                }
                crate::DType::F64 => {
                    let v = std::slice::from_raw_parts(values.as_ptr().cast::<f64>(), values.len());
                    return T::from_f64(avx::max_f64(v, false));
                }
                _ => {}
            }
        }
    }
    values.iter().fold(
        T::from_f64(f64::NEG_INFINITY),
        |m, &x| if x > m { x } else { m },
    )
}

/// Explicit AVX loops: float reductions do not auto-vectorise, since that would reorder
/// the additions.
#[cfg(target_arch = "x86_64")]
mod avx {
    use std::arch::x86_64::*;

    /// Blocks of 128 floats are summed in float32 (16 terms per accumulator lane, a few
    /// ulp at most), and the block sums in f64: as accurate as an f64 sum for practical
    /// purposes, at float32 speed.
    #[target_feature(enable = "avx")]
    pub unsafe fn sum_f32(v: &[f32]) -> f64 {
        const BLOCK: usize = 128;
        let (mut a, mut b) = (_mm256_setzero_pd(), _mm256_setzero_pd());
        let blocks = v.chunks_exact(BLOCK);
        let rest = blocks.remainder();
        for block in blocks {
            let (mut p, mut q) = (_mm256_setzero_ps(), _mm256_setzero_ps());
            for pair in block.chunks_exact(16) {
                p = _mm256_add_ps(p, _mm256_loadu_ps(pair.as_ptr()));
                q = _mm256_add_ps(q, _mm256_loadu_ps(pair.as_ptr().add(8)));
            }
            a = _mm256_add_pd(a, _mm256_cvtps_pd(_mm256_castps256_ps128(p)));
            a = _mm256_add_pd(a, _mm256_cvtps_pd(_mm256_extractf128_ps(p, 1)));
            b = _mm256_add_pd(b, _mm256_cvtps_pd(_mm256_castps256_ps128(q)));
            b = _mm256_add_pd(b, _mm256_cvtps_pd(_mm256_extractf128_ps(q, 1)));
        }
        let chunks = rest.chunks_exact(8);
        let tail: f64 = chunks.remainder().iter().map(|&x| x as f64).sum();
        for c in chunks {
            let x = _mm256_loadu_ps(c.as_ptr());
            a = _mm256_add_pd(a, _mm256_cvtps_pd(_mm256_castps256_ps128(x)));
            b = _mm256_add_pd(b, _mm256_cvtps_pd(_mm256_extractf128_ps(x, 1)));
        }
        horizontal_sum(_mm256_add_pd(a, b)) + tail
    }

    #[target_feature(enable = "avx")]
    pub unsafe fn sum_f64(v: &[f64]) -> f64 {
        let (mut a, mut b) = (_mm256_setzero_pd(), _mm256_setzero_pd());
        let chunks = v.chunks_exact(8);
        let tail: f64 = chunks.remainder().iter().sum();
        for c in chunks {
            a = _mm256_add_pd(a, _mm256_loadu_pd(c.as_ptr()));
            b = _mm256_add_pd(b, _mm256_loadu_pd(c.as_ptr().add(4)));
        }
        horizontal_sum(_mm256_add_pd(a, b)) + tail
    }

    #[target_feature(enable = "avx")]
    unsafe fn horizontal_sum(v: __m256d) -> f64 {
        let mut lanes = [0.0f64; 4];
        _mm256_storeu_pd(lanes.as_mut_ptr(), v);
        (lanes[0] + lanes[1]) + (lanes[2] + lanes[3])
    }

    /// The largest of `v` (with `negate`, of `-v`, that is minus the smallest, without a
    /// negated copy). `max_ps` returns its second operand when either is NaN: with the
    /// running maximum second, NaN inputs are skipped.
    #[target_feature(enable = "avx")]
    pub unsafe fn max_f32(v: &[f32], negate: bool) -> f32 {
        let sign = if negate { -0.0f32 } else { 0.0 };
        let flip = _mm256_set1_ps(sign);
        let mut m = _mm256_set1_ps(f32::NEG_INFINITY);
        let chunks = v.chunks_exact(8);
        let larger = |m: f32, x: f32| if x > m { x } else { m };
        let tail = chunks.remainder().iter().fold(f32::NEG_INFINITY, |m, &x| {
            larger(m, if negate { -x } else { x })
        });
        for c in chunks {
            m = _mm256_max_ps(_mm256_xor_ps(_mm256_loadu_ps(c.as_ptr()), flip), m);
        }
        let mut lanes = [0.0f32; 8];
        _mm256_storeu_ps(lanes.as_mut_ptr(), m);
        lanes.iter().fold(tail, |m, &x| larger(m, x))
    }

    /// [`max_f32`] for f64.
    #[target_feature(enable = "avx")]
    pub unsafe fn max_f64(v: &[f64], negate: bool) -> f64 {
        let sign = if negate { -0.0f64 } else { 0.0 };
        let flip = _mm256_set1_pd(sign);
        let mut m = _mm256_set1_pd(f64::NEG_INFINITY);
        let chunks = v.chunks_exact(4);
        let larger = |m: f64, x: f64| if x > m { x } else { m };
        let tail = chunks.remainder().iter().fold(f64::NEG_INFINITY, |m, &x| {
            larger(m, if negate { -x } else { x })
        });
        for c in chunks {
            m = _mm256_max_pd(_mm256_xor_pd(_mm256_loadu_pd(c.as_ptr()), flip), m);
        }
        let mut lanes = [0.0f64; 4];
        _mm256_storeu_pd(lanes.as_mut_ptr(), m);
        lanes.iter().fold(tail, |m, &x| larger(m, x))
    }
}
