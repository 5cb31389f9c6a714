//! Vectorised float math: `exp`, sums, dot products and maxima over slices, with explicit
//! AVX-512 and AVX2 loops chosen at run time (`avx512`, `avx`) and portable fallbacks.
//!
//! Float32 `exp` is written so that it vectorises (no calls, no branches): the C library's
//! `expf` is a call per element. Range reduction to `r` in [-ln2/2, ln2/2], a
//! degree-7 polynomial (the Cephes `expf` coefficients), and a scale by `2^n` built from
//! the exponent bits. Within 2 ulp of the exact value, like the vectorised `exp` PyTorch
//! uses on CPU (1 ulp), and exact for the special values (0, inf, -inf, NaN).

const LOG2_E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split in two so that `n * LN2_HI` is exact for the `n` that occur.
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// The polynomial's coefficients, highest degree first (Horner's order).
const EXP_POLY: [f32; 6] = [
    1.987_569_1e-4,
    1.398_199_9e-3,
    8.333_452e-3,
    4.166_579_6e-2,
    1.666_666_5e-1,
    0.5,
];
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
    let mut p = EXP_POLY[0];
    for &c in &EXP_POLY[1..] {
        p = p * r + c;
    }
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

use std::mem::MaybeUninit;

use crate::storage::{Element, Float};
use crate::DType;

#[cfg(target_arch = "x86_64")]
mod avx;
#[cfg(target_arch = "x86_64")]
mod avx512;

/// Below this many elements the portable loops win: the vector loops' setup and final
/// horizontal steps cost more than they save.
const SHORT: usize = 16;

/// Reinterprets a slice of `T` as a slice of `U` when they are the same type.
#[inline(always)]
fn same_type<T: 'static, U: 'static>(values: &[T]) -> Option<&[U]> {
    (std::any::TypeId::of::<T>() == std::any::TypeId::of::<U>())
        // SAFETY: `T` and `U` are the same type.
        .then(|| unsafe { std::slice::from_raw_parts(values.as_ptr().cast::<U>(), values.len()) })
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn has_avx512() -> bool {
    std::is_x86_feature_detected!("avx512f")
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn has_avx() -> bool {
    std::is_x86_feature_detected!("avx")
}

/// `dst[i] = exp(src[i] - shift)`, sixteen float32 at a time with AVX-512 or eight with AVX2
/// and FMA when the CPU has them (the same polynomial as [`exp_f32`], with fused
/// multiply-adds); other types and CPUs take the scalar `exp`. `dst` may be uninitialised:
/// every slot is written.
///
/// ```
/// use std::mem::MaybeUninit;
/// use autodiff::kernels::vector_math::exp_shifted_into;
/// let mut out = [MaybeUninit::new(0.0f32); 3];
/// exp_shifted_into(&[1.0f32, 2.0, 3.0], 1.0, &mut out);
/// assert_eq!(unsafe { out[0].assume_init() }, 1.0);
/// ```
///
/// # Panics
/// When the slices differ in length.
pub fn exp_shifted_into<T: Float>(src: &[T], shift: T, dst: &mut [MaybeUninit<T>]) {
    assert_eq!(src.len(), dst.len(), "exp_shifted_into: length mismatch");
    #[cfg(target_arch = "x86_64")]
    if T::DTYPE == DType::F32 {
        let (src_ptr, dst_ptr) = (src.as_ptr().cast::<f32>(), dst.as_mut_ptr().cast::<f32>());
        let shift = shift.to_f64() as f32;
        if has_avx512() {
            // SAFETY: the CPU has AVX-512F, `T` is f32 (checked above), and both slices
            // have `src.len()` elements.
            unsafe { avx512::exp_shifted_f32(src_ptr, shift, dst_ptr, src.len()) };
            return;
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: as above, with AVX2 and FMA.
            unsafe { avx::exp_shifted_f32(src_ptr, shift, dst_ptr, src.len()) };
            return;
        }
    }
    for (d, &x) in dst.iter_mut().zip(src) {
        d.write((x - shift).exp());
    }
}

/// Sums values in f64: float32 in float32 blocks whose sums are added in f64 (see
/// `avx::sum_f32`), float64 with several accumulators, other element types exactly
/// through f64.
///
/// ```
/// assert_eq!(autodiff::kernels::vector_math::sum_as_f64(&[0.5f32; 1000]), 500.0);
/// ```
#[inline]
pub fn sum_as_f64<T: Element>(values: &[T]) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if values.len() >= SHORT && has_avx() {
        if let Some(v) = same_type::<T, f32>(values) {
            // SAFETY: the CPU has the features of the kernel called.
            return unsafe {
                if has_avx512() {
                    avx512::sum_f32(v)
                } else {
                    avx::sum_f32(v)
                }
            };
        }
        if let Some(v) = same_type::<T, f64>(values) {
            // SAFETY: the CPU has AVX.
            return unsafe { avx::sum_f64(v) };
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

/// `sum(a[i] * b[i])` in f64: products are summed in the element type within blocks of 128
/// (sixteen independent lanes, which vectorise) and the block sums in f64.
#[inline]
pub fn dot_as_f64<T: crate::storage::Float>(a: &[T], b: &[T]) -> f64 {
    const BLOCK: usize = 128;
    let mut total = 0.0f64;
    for (block_a, block_b) in a.chunks(BLOCK).zip(b.chunks(BLOCK)) {
        let mut lanes = [T::ZERO; 16];
        let (chunks_a, chunks_b) = (block_a.chunks_exact(16), block_b.chunks_exact(16));
        let tail: f64 = (chunks_a.remainder().iter().zip(chunks_b.remainder()))
            .map(|(&x, &y)| (x * y).to_f64())
            .sum();
        for (ca, cb) in chunks_a.zip(chunks_b) {
            for ((lane, &x), &y) in lanes.iter_mut().zip(ca).zip(cb) {
                *lane = *lane + x * y;
            }
        }
        total += lanes.iter().map(|l| l.to_f64()).sum::<f64>() + tail;
    }
    total
}

/// The largest value of a float slice ignoring NaN (with `smallest`, the smallest), and
/// whether the slice holds a NaN. An empty slice gives -inf (inf).
///
/// ```
/// use autodiff::kernels::vector_math::extreme;
/// assert_eq!(extreme(&[1.0f32, f32::NAN, 3.0], false), (3.0, true));
/// assert_eq!(extreme(&[1.0f64, 2.0], true), (1.0, false));
/// ```
#[inline]
pub fn extreme<T: Float>(values: &[T], smallest: bool) -> (T, bool) {
    #[cfg(target_arch = "x86_64")]
    if values.len() >= SHORT && has_avx() {
        if let Some(v) = same_type::<T, f32>(values) {
            // SAFETY: the CPU has the features of the kernel called.
            let (m, nan) = unsafe {
                match (has_avx512(), smallest) {
                    (true, true) => avx512::extreme_f32::<true>(v),
                    (true, false) => avx512::extreme_f32::<false>(v),
                    // The AVX kernel finds the maximum of the values or of their negations.
                    (false, _) => {
                        let (m, nan) = avx::max_f32(v, smallest);
                        (if smallest { -m } else { m }, nan)
                    }
                }
            };
            return (T::from_f64(m as f64), nan);
        }
        if let Some(v) = same_type::<T, f64>(values) {
            // SAFETY: the CPU has AVX.
            let (m, nan) = unsafe { avx::max_f64(v, smallest) };
            return (T::from_f64(if smallest { -m } else { m }), nan);
        }
    }
    let signed = values.iter().map(|&x| if smallest { -x } else { x });
    let (m, nan) = fold_max(signed);
    (if smallest { -m } else { m }, nan)
}

/// The largest value of a float slice, ignoring NaN; -inf when empty.
#[inline]
pub fn max_ignoring_nan<T: Float>(values: &[T]) -> T {
    extreme(values, false).0
}

/// The largest of `values` ignoring NaN (-inf when there are none), and whether there was
/// a NaN.
#[inline(always)]
fn fold_max<T: Float>(values: impl Iterator<Item = T>) -> (T, bool) {
    values.fold((T::from_f64(f64::NEG_INFINITY), false), |(m, nan), x| {
        (if x > m { x } else { m }, nan || x.is_nan())
    })
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

    /// A vector `exp(src - shift)` kernel: `(src, shift, dst, len)`.
    #[cfg(target_arch = "x86_64")]
    type ExpKernel = unsafe fn(*const f32, f32, *mut f32, usize);

    /// Each vector kernel this CPU can run, as `(name, kernel)`.
    #[cfg(target_arch = "x86_64")]
    fn vector_kernels() -> Vec<(&'static str, ExpKernel)> {
        let mut kernels: Vec<(&'static str, ExpKernel)> = vec![];
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            kernels.push(("avx2", super::avx::exp_shifted_f32));
        }
        if std::is_x86_feature_detected!("avx512f") {
            kernels.push(("avx512", super::avx512::exp_shifted_f32));
        }
        kernels
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn vector_exp_within_two_ulp_and_special_values() {
        let xs: Vec<f32> = (0..520_003).map(|i| -103.0 + i as f32 * 0.000_37).collect();
        let special = [
            0.0,
            f32::NEG_INFINITY,
            -200.0,
            f32::INFINITY,
            100.0,
            f32::NAN,
            -100.0,
        ];
        for (name, kernel) in vector_kernels() {
            let mut out = vec![0.0f32; xs.len()];
            // SAFETY: the CPU runs `kernel`; both buffers hold `xs.len()` elements.
            unsafe { kernel(xs.as_ptr(), 0.0, out.as_mut_ptr(), xs.len()) };
            let mut worst = 0;
            for (&x, &got) in xs.iter().zip(&out) {
                let exact = (x as f64).exp() as f32;
                if exact > f32::MIN_POSITIVE && exact.is_finite() {
                    worst = worst.max(ulps(got, exact));
                }
            }
            assert!(worst <= 2, "{name}: worst error {worst} ulp");
            let mut out = [0.0f32; 7];
            // SAFETY: as above, with 7 elements (a partial vector only).
            unsafe { kernel(special.as_ptr(), 0.0, out.as_mut_ptr(), 7) };
            assert_eq!(
                &out[..5],
                &[1.0, 0.0, 0.0, f32::INFINITY, f32::INFINITY],
                "{name}"
            );
            assert!(out[5].is_nan(), "{name}");
            assert!(out[6] > 0.0, "{name}: subnormal results are kept");
            // A shift is subtracted first.
            unsafe { kernel([2.5f32; 3].as_ptr(), 2.5, out.as_mut_ptr(), 3) };
            assert_eq!(&out[..3], &[1.0; 3], "{name}");
        }
    }

    /// Every vector width agrees with the portable loops on sums and extrema, for every
    /// tail length, with and without NaN.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn sums_and_extrema_agree_across_widths() {
        use super::{avx, avx512, fold_max};
        if !std::is_x86_feature_detected!("avx") {
            return;
        }
        let has_avx512 = std::is_x86_feature_detected!("avx512f");
        for len in 0..600 {
            let mut v: Vec<f32> = (0..len)
                .map(|i| ((i * 7919 % 1000) as f32 - 500.0) / 7.0)
                .collect();
            if len % 5 == 3 {
                v[len / 2] = f32::NAN;
            }
            let has_nan = len % 5 == 3;
            let clean: Vec<f32> = v.iter().copied().filter(|x| !x.is_nan()).collect();
            let exact: f64 = clean.iter().map(|&x| x as f64).sum();
            let max = (fold_max(v.iter().copied()).0, has_nan);
            let neg_min = (fold_max(v.iter().map(|&x| -x)).0, has_nan);
            let wide: Vec<f64> = v.iter().map(|&x| x as f64).collect();
            // SAFETY: the CPU has the features of each kernel called.
            unsafe {
                assert!(
                    (avx::sum_f32(&clean) - exact).abs() <= 1e-3,
                    "avx sum, len {len}"
                );
                assert_eq!(avx::max_f32(&v, false), max, "avx max, len {len}");
                assert_eq!(avx::max_f32(&v, true), neg_min, "avx min, len {len}");
                let (max64, nan64) = avx::max_f64(&wide, false);
                assert_eq!((max64 as f32, nan64), max, "avx max f64, len {len}");
                if has_avx512 {
                    let sum = avx512::sum_f32(&clean);
                    assert!((sum - exact).abs() <= 1e-3, "avx512 sum, len {len}");
                    let min = (-neg_min.0, has_nan);
                    assert_eq!(
                        avx512::extreme_f32::<false>(&v),
                        max,
                        "avx512 max, len {len}"
                    );
                    assert_eq!(
                        avx512::extreme_f32::<true>(&v),
                        min,
                        "avx512 min, len {len}"
                    );
                }
            }
            assert_eq!(super::extreme(&v, false), max);
            assert_eq!(super::extreme(&v, true), (-neg_min.0, has_nan));
        }
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
