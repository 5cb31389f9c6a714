//! AVX and AVX2 (with FMA) loops, eight float32 or four float64 lanes wide. Float sums and
//! maxima are written out by hand because the compiler may not reorder float additions,
//! which vectorising them would do.

use std::arch::x86_64::*;

use super::{EXP_POLY, LN2_HI, LN2_LO, LOG2_E};

/// The sum in f64: blocks of 128 floats are summed in float32 (four accumulators, so four
/// terms per lane each, a few ulp at most) and the block sums in f64, which is as accurate
/// as an f64 sum for practical purposes at float32 speed.
#[target_feature(enable = "avx")]
pub unsafe fn sum_f32(v: &[f32]) -> f64 {
    const BLOCK: usize = 128;
    let mut total = _mm256_setzero_pd();
    let blocks = v.chunks_exact(BLOCK);
    let rest = blocks.remainder();
    for block in blocks {
        total = add_widened(total, sum_block_f32(block));
    }
    let eights = rest.chunks_exact(8);
    let tail: f64 = eights.remainder().iter().map(|&x| x as f64).sum();
    let rest = &rest[..rest.len() - eights.remainder().len()];
    total = add_widened(total, sum_block_f32(rest));
    horizontal_sum(total) + tail
}

/// `total` plus the eight lanes of `sum` widened to f64.
#[target_feature(enable = "avx")]
#[inline]
unsafe fn add_widened(total: __m256d, sum: __m256) -> __m256d {
    let total = _mm256_add_pd(total, _mm256_cvtps_pd(_mm256_castps256_ps128(sum)));
    _mm256_add_pd(total, _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(sum)))
}

/// The float32 sum of up to 128 floats, a multiple of eight, in one vector.
#[target_feature(enable = "avx")]
#[inline]
unsafe fn sum_block_f32(block: &[f32]) -> __m256 {
    // Independent accumulators hide the latency of the additions.
    let mut acc = [_mm256_setzero_ps(); 4];
    for (i, eight) in block.chunks_exact(8).enumerate() {
        acc[i % 4] = _mm256_add_ps(acc[i % 4], _mm256_loadu_ps(eight.as_ptr()));
    }
    _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]))
}

/// The sum, with four accumulators of four lanes.
#[target_feature(enable = "avx")]
pub unsafe fn sum_f64(v: &[f64]) -> f64 {
    let mut acc = [_mm256_setzero_pd(); 4];
    let chunks = v.chunks_exact(16);
    let tail: f64 = chunks.remainder().iter().sum();
    for c in chunks {
        for (k, acc) in acc.iter_mut().enumerate() {
            *acc = _mm256_add_pd(*acc, _mm256_loadu_pd(c.as_ptr().add(4 * k)));
        }
    }
    let sum = _mm256_add_pd(_mm256_add_pd(acc[0], acc[1]), _mm256_add_pd(acc[2], acc[3]));
    horizontal_sum(sum) + tail
}

#[target_feature(enable = "avx")]
unsafe fn horizontal_sum(v: __m256d) -> f64 {
    let mut lanes = [0.0f64; 4];
    _mm256_storeu_pd(lanes.as_mut_ptr(), v);
    (lanes[0] + lanes[1]) + (lanes[2] + lanes[3])
}

/// The largest of `v` ignoring NaN (with `negate`, of `-v`, that is minus the smallest,
/// without a negated copy), and whether there was a NaN. `max_ps` returns its second operand
/// when either is NaN: with the running maximum second, NaN inputs are skipped.
#[target_feature(enable = "avx")]
pub unsafe fn max_f32(v: &[f32], negate: bool) -> (f32, bool) {
    let flip = _mm256_set1_ps(if negate { -0.0 } else { 0.0 });
    let mut acc = [_mm256_set1_ps(f32::NEG_INFINITY); 4];
    let mut nan = _mm256_setzero_ps();
    let eights = v.chunks_exact(8);
    let tail = eights.remainder();
    for (i, eight) in eights.enumerate() {
        let x = _mm256_xor_ps(_mm256_loadu_ps(eight.as_ptr()), flip);
        nan = _mm256_or_ps(nan, _mm256_cmp_ps::<_CMP_UNORD_Q>(x, x));
        acc[i % 4] = _mm256_max_ps(x, acc[i % 4]);
    }
    let m = _mm256_max_ps(_mm256_max_ps(acc[0], acc[1]), _mm256_max_ps(acc[2], acc[3]));
    let mut lanes = [0.0f32; 8];
    _mm256_storeu_ps(lanes.as_mut_ptr(), m);
    let signed = tail.iter().map(|&x| if negate { -x } else { x });
    let (max, tail_nan) = super::fold_max(lanes.into_iter().chain(signed));
    (max, tail_nan || _mm256_movemask_ps(nan) != 0)
}

/// [`max_f32`] for f64.
#[target_feature(enable = "avx")]
pub unsafe fn max_f64(v: &[f64], negate: bool) -> (f64, bool) {
    let flip = _mm256_set1_pd(if negate { -0.0 } else { 0.0 });
    let mut acc = [_mm256_set1_pd(f64::NEG_INFINITY); 4];
    let mut nan = _mm256_setzero_pd();
    let fours = v.chunks_exact(4);
    let tail = fours.remainder();
    for (i, four) in fours.enumerate() {
        let x = _mm256_xor_pd(_mm256_loadu_pd(four.as_ptr()), flip);
        nan = _mm256_or_pd(nan, _mm256_cmp_pd::<_CMP_UNORD_Q>(x, x));
        acc[i % 4] = _mm256_max_pd(x, acc[i % 4]);
    }
    let m = _mm256_max_pd(_mm256_max_pd(acc[0], acc[1]), _mm256_max_pd(acc[2], acc[3]));
    let mut lanes = [0.0f64; 4];
    _mm256_storeu_pd(lanes.as_mut_ptr(), m);
    let signed = tail.iter().map(|&x| if negate { -x } else { x });
    let (max, tail_nan) = super::fold_max(lanes.into_iter().chain(signed));
    (max, tail_nan || _mm256_movemask_pd(nan) != 0)
}

/// `e^x` in eight lanes: the steps of [`super::exp_f32`] with fused multiply-adds.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn exp_ps(x: __m256) -> __m256 {
    // `max_ps` and `min_ps` return their second operand when either is NaN: with `x` second,
    // a NaN goes through the clamp and every later step, and comes out NaN.
    let clamped = _mm256_min_ps(
        _mm256_set1_ps(89.0),
        _mm256_max_ps(_mm256_set1_ps(-104.0), x),
    );
    let n = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm256_mul_ps(
        clamped,
        _mm256_set1_ps(LOG2_E),
    ));
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_HI), clamped);
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_LO), r);
    let mut p = _mm256_set1_ps(EXP_POLY[0]);
    for &c in &EXP_POLY[1..] {
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c));
    }
    let y = _mm256_fmadd_ps(
        p,
        _mm256_mul_ps(r, r),
        _mm256_add_ps(r, _mm256_set1_ps(1.0)),
    );
    // 2^n as two factors, as in the scalar version.
    let n = _mm256_cvtps_epi32(n);
    let half = _mm256_srai_epi32::<1>(n);
    let bias = _mm256_set1_epi32(127);
    let scale_a = _mm256_slli_epi32::<23>(_mm256_add_epi32(half, bias));
    let scale_b = _mm256_slli_epi32::<23>(_mm256_add_epi32(_mm256_sub_epi32(n, half), bias));
    _mm256_mul_ps(
        _mm256_mul_ps(y, _mm256_castsi256_ps(scale_a)),
        _mm256_castsi256_ps(scale_b),
    )
}

/// `dst[i] = exp(src[i] - shift)` for `len` elements; the tail goes through a padded vector
/// so that it gets exactly the same rounding as the body.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn exp_shifted_f32(src: *const f32, shift: f32, dst: *mut f32, len: usize) {
    let shift_v = _mm256_set1_ps(shift);
    let mut i = 0;
    while i + 8 <= len {
        let x = _mm256_sub_ps(_mm256_loadu_ps(src.add(i)), shift_v);
        _mm256_storeu_ps(dst.add(i), exp_ps(x));
        i += 8;
    }
    if i < len {
        let mut lanes = [0.0f32; 8];
        std::ptr::copy_nonoverlapping(src.add(i), lanes.as_mut_ptr(), len - i);
        let x = _mm256_sub_ps(_mm256_loadu_ps(lanes.as_ptr()), shift_v);
        _mm256_storeu_ps(lanes.as_mut_ptr(), exp_ps(x));
        std::ptr::copy_nonoverlapping(lanes.as_ptr(), dst.add(i), len - i);
    }
}
