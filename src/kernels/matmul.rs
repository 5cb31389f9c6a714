//! Matrix products. Float types go to the `gemm` crate, which takes arbitrary strides, so
//! transposed and expanded operands need no copy; `i64` uses a plain loop.

use crate::storage::Element;
use crate::tensor::Tensor;

/// Multiply-adds below which a product runs on the calling thread: spreading a small
/// product over threads costs more than it saves. Measured on 2 cores: the (64, 784) @
/// (784, 128) product of an MLP layer (6.4e6) took 101 us on one thread and 142 us on two;
/// (256, 1024) @ (1024, 1024) (2.7e8) took 6.3 ms on one and 3.4 ms on two. Splitting the
/// small product into two row halves by hand ran faster alone (85 us) but slowed a whole
/// training step by a third: between products the second thread falls asleep, and waking
/// it costs more than half a product.
const PARALLEL_MIN_FLOPS: usize = 1 << 25;

/// `a @ b` for 3-d operands `(batch, n, k)` and `(batch, k, m)` with any strides (a batch
/// stride may be 0), as a new contiguous `(batch, n, m)` tensor of the same dtype.
pub fn batched_matmul<T: Element>(a: &Tensor, b: &Tensor) -> Tensor {
    let (la, lb) = (a.layout(), b.layout());
    let (batch, n, k) = (la.shape()[0], la.shape()[1], la.shape()[2]);
    let m = lb.shape()[2];
    let total = batch * n * m;
    // gemm overwrites its output (it does not read it), so float products skip zeroing it.
    let gemm = float_gemm::<T>().filter(|_| k > 0 && total > 0);
    let mut out: Vec<T> = crate::storage::vec_with_capacity(total);
    if gemm.is_none() {
        out.resize(total, T::default());
    }
    if total > 0 && k > 0 {
        let buf_a = a.storage().read();
        let buf_b = b.storage().read();
        let (da, db) = (T::slice(&buf_a), T::slice(&buf_b));
        let (a_rs, a_cs) = (la.strides()[1], la.strides()[2]);
        let (b_rs, b_cs) = (lb.strides()[1], lb.strides()[2]);
        for i in 0..batch {
            let pa = &da[la.offset() + i * la.strides()[0]..];
            let pb = &db[lb.offset() + i * lb.strides()[0]..];
            // The last element each operand reads must be in bounds: gemm reads through raw
            // pointers.
            assert!((n - 1) * a_rs + (k - 1) * a_cs < pa.len());
            assert!((k - 1) * b_rs + (m - 1) * b_cs < pb.len());
            match gemm {
                Some(f) => {
                    let parallelism = if super::worth_splitting(n * k * m, PARALLEL_MIN_FLOPS) {
                        gemm::Parallelism::Rayon(0)
                    } else {
                        gemm::Parallelism::None
                    };
                    // SAFETY: the operands' bounds were checked above; the destination is
                    // product `i`'s n*m elements inside `out`'s capacity, written with row
                    // stride m, and the operands are only read.
                    unsafe {
                        f(
                            (n, k, m),
                            out.as_mut_ptr().add(i * n * m).cast(),
                            pa.as_ptr().cast(),
                            (a_rs, a_cs),
                            pb.as_ptr().cast(),
                            (b_rs, b_cs),
                            parallelism,
                            None,
                        )
                    };
                }
                None => integer_matmul(
                    &mut out[i * n * m..(i + 1) * n * m],
                    pa,
                    (a_rs, a_cs),
                    pb,
                    (b_rs, b_cs),
                    (n, k, m),
                ),
            }
        }
        if gemm.is_some() {
            // SAFETY: gemm wrote all `total` elements above.
            unsafe { out.set_len(total) };
        }
    }
    Tensor::from_buffer(T::into_buffer(out), &[batch, n, m])
}

/// One integer product accumulated into a zeroed row-major `dst`, with wrapping arithmetic.
fn integer_matmul<T: Element>(
    dst: &mut [T],
    a: &[T],
    (a_rs, a_cs): (usize, usize),
    b: &[T],
    (b_rs, b_cs): (usize, usize),
    (n, k, m): (usize, usize, usize),
) {
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
    Option<f64>,
);

/// The `gemm` call for float element types, `None` for the others.
fn float_gemm<T: Element>() -> Option<GemmFn> {
    match T::DTYPE {
        crate::DType::F32 => Some(gemm_typed::<f32>),
        crate::DType::F64 => Some(gemm_typed::<f64>),
        _ => None,
    }
}

/// `dst = a @ b`, or with `accumulate = Some(s)`, `dst += s * (a @ b)`.
///
/// # Safety
/// `dst` points to `n * m` writable elements of `F` (row stride `m`), initialised when
/// accumulating; `a` and `b` point to matrices of `F` whose strided elements are all in
/// bounds.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_typed<F: crate::storage::Float>(
    (n, k, m): (usize, usize, usize),
    dst: *mut u8,
    a: *const u8,
    (a_rs, a_cs): (usize, usize),
    b: *const u8,
    (b_rs, b_cs): (usize, usize),
    parallelism: gemm::Parallelism,
    accumulate: Option<f64>,
) {
    let (alpha, beta) = match accumulate {
        Some(scale) => (F::ONE, F::from_f64(scale)),
        None => (F::ZERO, F::ONE),
    };
    gemm::gemm(
        n,
        m,
        k,
        dst.cast::<F>(),
        1,
        m as isize,
        accumulate.is_some(),
        a.cast::<F>(),
        a_cs as isize,
        a_rs as isize,
        b.cast::<F>(),
        b_cs as isize,
        b_rs as isize,
        alpha,
        beta,
        false,
        false,
        false,
        parallelism,
    )
}

/// `dst += scale * (a @ b)` for float matrices `a` `(n, k)` and `b` `(k, m)` with any
/// strides, into the contiguous `(n, m)` float tensor `dst` (made by the caller, unshared).
/// The bias of `addmm` is written into `dst` first, so the product adds onto it in gemm's
/// own pass instead of a second pass over the output.
pub fn matmul_accumulate(dst: &Tensor, a: &Tensor, b: &Tensor, scale: f64) {
    let (la, lb) = (a.layout(), b.layout());
    let (n, k, m) = (la.shape()[0], la.shape()[1], lb.shape()[1]);
    if n * m == 0 || k == 0 {
        return;
    }
    crate::dispatch_float!(dst.dtype(), T => {
        let f = float_gemm::<T>().expect("a float dtype");
        let buf_a = a.storage().read();
        let buf_b = b.storage().read();
        let pa = &T::slice(&buf_a)[la.offset()..];
        let pb = &T::slice(&buf_b)[lb.offset()..];
        let (a_rs, a_cs) = (la.strides()[0], la.strides()[1]);
        let (b_rs, b_cs) = (lb.strides()[0], lb.strides()[1]);
        assert!((n - 1) * a_rs + (k - 1) * a_cs < pa.len());
        assert!((k - 1) * b_rs + (m - 1) * b_cs < pb.len());
        assert!(dst.layout().is_contiguous() && dst.numel() == n * m);
        let mut out = dst.storage().write();
        let offset = dst.layout().offset();
        let d = &mut T::slice_mut(&mut out)[offset..offset + n * m];
        let parallelism = if super::worth_splitting(n * k * m, PARALLEL_MIN_FLOPS) {
            gemm::Parallelism::Rayon(0)
        } else {
            gemm::Parallelism::None
        };
        // SAFETY: bounds checked above; `d` holds the n*m initialised outputs.
        unsafe {
            f(
                (n, k, m),
                d.as_mut_ptr().cast(),
                pa.as_ptr().cast(),
                (a_rs, a_cs),
                pb.as_ptr().cast(),
                (b_rs, b_cs),
                parallelism,
                Some(scale),
            )
        };
    }, _ => unreachable!("callers pass float tensors"))
}
