//! Matrix products. Float types go to the `gemm` crate, which takes arbitrary strides, so
//! transposed and expanded operands need no copy; `i64` uses a plain loop.

use crate::layout::Layout;
use crate::storage::Element;
use crate::tensor::Tensor;

/// Multiply-adds below which a product runs on the calling thread: spreading a small
/// product over threads costs more than it saves.
const PARALLEL_MIN_FLOPS: usize = 1 << 22;

/// `a @ b` for 3-d operands `(batch, n, k)` and `(batch, k, m)` with any strides (a batch
/// stride may be 0), as a new contiguous `(batch, n, m)` tensor of the same dtype.
pub fn batched_matmul<T: Element>(a: &Tensor, b: &Tensor) -> Tensor {
    let (la, lb) = (a.layout(), b.layout());
    let (batch, n, k) = (la.shape()[0], la.shape()[1], la.shape()[2]);
    let m = lb.shape()[2];
    let mut out: Vec<T> = crate::storage::vec_with_capacity(batch * n * m);
    out.resize(batch * n * m, T::default());
    if n * m > 0 && k > 0 {
        let buf_a = a.storage().read();
        let buf_b = b.storage().read();
        let (da, db) = (T::slice(&buf_a), T::slice(&buf_b));
        for (i, dst) in out.chunks_exact_mut(n * m).enumerate() {
            let pa = &da[la.offset() + i * la.strides()[0]..];
            let pb = &db[lb.offset() + i * lb.strides()[0]..];
            matmul_into(dst, pa, la, pb, lb, (n, k, m));
        }
    }
    Tensor::from_buffer(T::into_buffer(out), &[batch, n, m])
}

/// One product into a zeroed row-major `dst`; `a` and `b` start at the matrix's first
/// element and are read with the strides of the last two dimensions of their layouts.
fn matmul_into<T: Element>(
    dst: &mut [T],
    a: &[T],
    la: &Layout,
    b: &[T],
    lb: &Layout,
    (n, k, m): (usize, usize, usize),
) {
    let (a_rs, a_cs) = (la.strides()[1], la.strides()[2]);
    let (b_rs, b_cs) = (lb.strides()[1], lb.strides()[2]);
    if k == 0 {
        return;
    }
    // The last element each operand reads must be in bounds: the raw-pointer kernel below
    // relies on it.
    assert!((n - 1) * a_rs + (k - 1) * a_cs < a.len());
    assert!((k - 1) * b_rs + (m - 1) * b_cs < b.len());
    if let Some(f) = float_gemm::<T>() {
        let parallelism = if super::worth_splitting(n * k * m, PARALLEL_MIN_FLOPS) {
            gemm::Parallelism::Rayon(0)
        } else {
            gemm::Parallelism::None
        };
        // SAFETY: the bounds were checked above, `dst` holds n*m elements written with
        // row stride m, and the operands are only read.
        unsafe {
            f(
                (n, k, m),
                dst.as_mut_ptr().cast(),
                a.as_ptr().cast(),
                (a_rs, a_cs),
                b.as_ptr().cast(),
                (b_rs, b_cs),
                parallelism,
            )
        };
        return;
    }
    for i in 0..n {
        let row = &mut dst[i * m..(i + 1) * m];
        for p in 0..k {
            let x = a[i * a_rs + p * a_cs].to_i64();
            for (j, o) in row.iter_mut().enumerate() {
                let y = b[p * b_rs + j * b_cs].to_i64();
                *o = T::from_i64(o.to_i64().wrapping_add(x.wrapping_mul(y)));
            }
        }
    }
}

type GemmFn = unsafe fn(
    (usize, usize, usize),
    *mut u8,
    *const u8,
    (usize, usize),
    *const u8,
    (usize, usize),
    gemm::Parallelism,
);

/// The `gemm` call for float element types, `None` for the others.
fn float_gemm<T: Element>() -> Option<GemmFn> {
    match T::DTYPE {
        crate::DType::F32 => Some(gemm_typed::<f32>),
        crate::DType::F64 => Some(gemm_typed::<f64>),
        _ => None,
    }
}

/// # Safety
/// `dst` points to `n * m` writable elements of `F` (row stride `m`); `a` and `b` point to
/// matrices of `F` whose strided elements are all in bounds.
unsafe fn gemm_typed<F: crate::storage::Float>(
    (n, k, m): (usize, usize, usize),
    dst: *mut u8,
    a: *const u8,
    (a_rs, a_cs): (usize, usize),
    b: *const u8,
    (b_rs, b_cs): (usize, usize),
    parallelism: gemm::Parallelism,
) {
    gemm::gemm(
        n,
        m,
        k,
        dst.cast::<F>(),
        1,
        m as isize,
        false,
        a.cast::<F>(),
        a_cs as isize,
        a_rs as isize,
        b.cast::<F>(),
        b_cs as isize,
        b_rs as isize,
        F::ZERO,
        F::ONE,
        false,
        false,
        false,
        parallelism,
    )
}
