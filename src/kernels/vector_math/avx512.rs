//! AVX-512 loops, sixteen float32 lanes wide, with masked loads for the tails.

use std::arch::x86_64::*;

use super::{EXP_POLY, LN2_HI, LN2_LO, LOG2_E};

/// The mask of the first `n` (at most 16) lanes.
#[inline(always)]
fn first_lanes(n: usize) -> __mmask16 {
    if n >= 16 {
        !0
    } else {
        (1 << n) - 1
    }
}

/// [`super::avx::sum_f32`] sixteen lanes wide: blocks of 256 floats summed in float32 (four
/// accumulators, four terms per lane each), block sums in f64.
#[target_feature(enable = "avx512f")]
pub unsafe fn sum_f32(v: &[f32]) -> f64 {
    const BLOCK: usize = 256;
    let mut total = _mm512_setzero_pd();
    let blocks = v.chunks_exact(BLOCK);
    let rest = blocks.remainder();
    for block in blocks {
        total = add_widened(total, sum_block_f32(block));
    }
    if !rest.is_empty() {
        total = add_widened(total, sum_block_f32(rest));
    }
    _mm512_reduce_add_pd(total)
}

/// `total` plus the sixteen lanes of `sum` widened to f64.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn add_widened(total: __m512d, sum: __m512) -> __m512d {
    let total = _mm512_add_pd(total, _mm512_cvtps_pd(_mm512_castps512_ps256(sum)));
    let high = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(sum)));
    _mm512_add_pd(total, _mm512_cvtps_pd(high))
}

/// The float32 sum of up to 256 floats in one vector.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn sum_block_f32(block: &[f32]) -> __m512 {
    let mut acc = [_mm512_setzero_ps(); 4];
    for (i, sixteen) in block.chunks(16).enumerate() {
        let x = _mm512_maskz_loadu_ps(first_lanes(sixteen.len()), sixteen.as_ptr());
        acc[i % 4] = _mm512_add_ps(acc[i % 4], x);
    }
    _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3]))
}

/// The largest (with `SMALLEST`, the smallest) of `v` ignoring NaN, and whether there was a
/// NaN. `max_ps` and `min_ps` return their second operand when either is NaN: with the
/// running extreme second, NaN inputs are skipped. Lanes past the end are masked out.
#[target_feature(enable = "avx512f")]
pub unsafe fn extreme_f32<const SMALLEST: bool>(v: &[f32]) -> (f32, bool) {
    let start = _mm512_set1_ps(if SMALLEST {
        f32::INFINITY
    } else {
        f32::NEG_INFINITY
    });
    let pick = |x: __m512, m: __m512| {
        if SMALLEST {
            _mm512_min_ps(x, m)
        } else {
            _mm512_max_ps(x, m)
        }
    };
    let mut acc = [start; 4];
    let mut nan: __mmask16 = 0;
    let sixteens = v.chunks_exact(16);
    let tail = sixteens.remainder();
    for (i, sixteen) in sixteens.enumerate() {
        let x = _mm512_loadu_ps(sixteen.as_ptr());
        nan |= _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(x, x);
        acc[i % 4] = pick(x, acc[i % 4]);
    }
    if !tail.is_empty() {
        let x = _mm512_mask_loadu_ps(start, first_lanes(tail.len()), tail.as_ptr());
        nan |= _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(x, x);
        acc[0] = pick(x, acc[0]);
    }
    let m = pick(pick(acc[0], acc[1]), pick(acc[2], acc[3]));
    let best = if SMALLEST {
        _mm512_reduce_min_ps(m)
    } else {
        _mm512_reduce_max_ps(m)
    };
    (best, nan != 0)
}

/// `e^x` in sixteen lanes: the AVX2 steps, with `scalef` for the scale by `2^n` (it rounds
/// subnormal results and overflows to inf by itself).
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn exp_ps(x: __m512) -> __m512 {
    // NaN goes through the clamp as in the AVX2 version.
    let clamped = _mm512_min_ps(
        _mm512_set1_ps(89.0),
        _mm512_max_ps(_mm512_set1_ps(-104.0), x),
    );
    let n = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
        _mm512_mul_ps(clamped, _mm512_set1_ps(LOG2_E)),
    );
    let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_HI), clamped);
    let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_LO), r);
    let mut p = _mm512_set1_ps(EXP_POLY[0]);
    for &c in &EXP_POLY[1..] {
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c));
    }
    let y = _mm512_fmadd_ps(
        p,
        _mm512_mul_ps(r, r),
        _mm512_add_ps(r, _mm512_set1_ps(1.0)),
    );
    _mm512_scalef_ps(y, n)
}

/// `dst[i] = exp(src[i] - shift)` for `len` elements.
#[target_feature(enable = "avx512f")]
pub unsafe fn exp_shifted_f32(src: *const f32, shift: f32, dst: *mut f32, len: usize) {
    let shift_v = _mm512_set1_ps(shift);
    let mut i = 0;
    while i < len {
        let mask = first_lanes(len - i);
        let x = _mm512_sub_ps(_mm512_maskz_loadu_ps(mask, src.add(i)), shift_v);
        _mm512_mask_storeu_ps(dst.add(i), mask, exp_ps(x));
        i += 16;
    }
}
