//! Matrix products. Float types go to the `gemm` crate, which takes arbitrary strides, so
//! transposed and expanded operands need no copy; `i64` uses a plain loop.

use std::ops::Range;

use crate::parallel::{self, SharedMut};
use crate::storage::Element;
use crate::tensor::Tensor;

/// Multiply-adds below which a product runs on the calling thread alone. Measured on 2
/// cores: a (64, 64) @ (64, 128) product (2^19) takes 9.5 us whole and 7.2 us in two blocks
/// on its own, but splitting the products of that size left the digits example's training
/// no faster; the (64, 784) @ (784, 128) of the MNIST-sized MLP (6.4e6) drops from 100 to
/// 60 us.
const PARALLEL_MIN_FLOPS: usize = 1 << 21;

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
        let operands = |i: usize| {
            let pa = &da[la.offset() + i * la.strides()[0]..];
            let pb = &db[lb.offset() + i * lb.strides()[0]..];
            // The last element each operand reads must be in bounds: gemm reads through
            // raw pointers.
            assert!((n - 1) * a_rs + (k - 1) * a_cs < pa.len());
            assert!((k - 1) * b_rs + (m - 1) * b_cs < pb.len());
            (pa, pb)
        };
        match gemm {
            Some(f) => {
                let dst = SharedMut::new(out.as_mut_ptr());
                let product = |i: usize, split: bool| {
                    let (pa, pb) = operands(i);
                    let a = Operand::new(pa, (a_rs, a_cs));
                    let b = Operand::new(pb, (b_rs, b_cs));
                    // SAFETY: the operands were bounds-checked above; product `i` writes
                    // only its own n*m elements inside `out`'s capacity.
                    unsafe {
                        f.product(
                            (n, k, m),
                            dst.get().add(i * n * m).cast(),
                            a,
                            b,
                            1.0,
                            split,
                            &|_, _| {},
                        )
                    }
                };
                let whole_products = batch >= parallel::num_threads()
                    && parallel::worth_splitting(batch * n * k * m, PARALLEL_MIN_FLOPS);
                if whole_products {
                    parallel::run(batch, &|i| product(i, false));
                } else {
                    (0..batch).for_each(|i| product(i, true));
                }
                // SAFETY: gemm wrote all `total` elements above.
                unsafe { out.set_len(total) };
            }
            None => {
                for i in 0..batch {
                    let (pa, pb) = operands(i);
                    integer_matmul(
                        &mut out[i * n * m..(i + 1) * n * m],
                        pa,
                        (a_rs, a_cs),
                        pb,
                        (b_rs, b_cs),
                        (n, k, m),
                    );
                }
            }
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

/// A strided float matrix operand: its first element and its (row, column) strides.
#[derive(Clone, Copy)]
struct Operand {
    ptr: *const u8,
    strides: (usize, usize),
}

// SAFETY: operands are only read, and the data they point to outlives the product.
unsafe impl Send for Operand {}
// SAFETY: as above.
unsafe impl Sync for Operand {}

impl Operand {
    fn new<T>(data: &[T], strides: (usize, usize)) -> Self {
        Operand {
            ptr: data.as_ptr().cast(),
            strides,
        }
    }

    /// The operand from row `row` and column `col` on, for elements of `size` bytes.
    ///
    /// # Safety
    /// The element at (`row`, `col`) is in bounds.
    unsafe fn at(self, row: usize, col: usize, size: usize) -> Self {
        let offset = row * self.strides.0 + col * self.strides.1;
        Operand {
            ptr: self.ptr.add(offset * size),
            strides: self.strides,
        }
    }
}

/// Work on a finished block of the output, given as its (rows, columns), run by the thread
/// that computed the block while it is still in that thread's cache.
type Finish<'a> = dyn Fn(Range<usize>, Range<usize>) + Sync + 'a;

/// `gemm_typed` of one float type: (n, k, m), destination and its row stride, operands,
/// scale.
type SingleGemm = unsafe fn((usize, usize, usize), *mut u8, usize, Operand, Operand, f64);

/// The product kernel of one float type.
#[derive(Clone, Copy)]
struct FloatGemm {
    /// `dst = scale * (a @ b)` on the calling thread.
    single: SingleGemm,
    /// `size_of` the element type.
    size: usize,
}

/// The product kernel for float element types, `None` for the others.
fn float_gemm<T: Element>() -> Option<FloatGemm> {
    match T::DTYPE {
        crate::DType::F32 => Some(FloatGemm {
            single: gemm_typed::<f32>,
            size: 4,
        }),
        crate::DType::F64 => Some(FloatGemm {
            single: gemm_typed::<f64>,
            size: 8,
        }),
        _ => None,
    }
}

impl FloatGemm {
    /// `dst = scale * (a @ b)` for a row-major `(n, m)` destination, then `finish` on each
    /// block computed; with `split`, a large product is cut into one block of output columns
    /// (or rows) per thread of the team.
    ///
    /// The cut goes across the output's longer side, so that each thread re-reads (and gemm
    /// re-packs) the smaller operand: on 2 cores, the (64, 784) @ (784, 128) product of an
    /// MLP layer takes 60 us cut into column halves against 75 us in row halves and 100 us
    /// whole. Column cuts fall on multiples of 16, gemm's vector width for f32.
    ///
    /// # Safety
    /// `dst` points to `n * m` writable elements; every strided element of `a` `(n, k)` and
    /// `b` `(k, m)` is in bounds.
    #[allow(clippy::too_many_arguments)]
    unsafe fn product(
        self,
        (n, k, m): (usize, usize, usize),
        dst: *mut u8,
        a: Operand,
        b: Operand,
        scale: f64,
        split: bool,
        finish: &Finish<'_>,
    ) {
        let threads = parallel::num_threads();
        if !split || !parallel::worth_splitting(n * k * m, PARALLEL_MIN_FLOPS) {
            (self.single)((n, k, m), dst, m, a, b, scale);
            return finish(0..n, 0..m);
        }
        let by_columns = m >= n;
        let (long, align) = if by_columns { (m, 16) } else { (n, 4) };
        let bound = |i: usize| match long * i / threads {
            edge if i == threads => edge,
            edge => ((edge + align / 2) / align * align).min(long),
        };
        let dst = parallel::SharedMut::new(dst);
        let size = self.size;
        parallel::run(threads, &|i| {
            let (lo, hi) = (bound(i), bound(i + 1));
            if lo >= hi {
                return;
            }
            // SAFETY: the blocks [lo, hi) are disjoint and inside the output and operands.
            unsafe {
                if by_columns {
                    let out = dst.get().add(lo * size);
                    let b = b.at(0, lo, size);
                    (self.single)((n, k, hi - lo), out, m, a, b, scale);
                    finish(0..n, lo..hi);
                } else {
                    let out = dst.get().add(lo * m * size);
                    let a = a.at(lo, 0, size);
                    (self.single)((hi - lo, k, m), out, m, a, b, scale);
                    finish(lo..hi, 0..m);
                }
            }
        });
    }
}

/// `dst = scale * (a @ b)` on this thread. gemm can also add onto its destination, but
/// that ran the (64, 784) @ (784, 128) product 1.5 to 2 times slower (150-230 us against
/// 103 us), far more than a separate pass that adds a bias.
///
/// # Safety
/// `dst` points to an `(n, m)` matrix of `F` with row stride `dst_rs`; `a` and `b` are
/// matrices of `F` whose strided elements are all in bounds.
unsafe fn gemm_typed<F: crate::storage::Float>(
    (n, k, m): (usize, usize, usize),
    dst: *mut u8,
    dst_rs: usize,
    a: Operand,
    b: Operand,
    scale: f64,
) {
    gemm::gemm(
        n,
        m,
        k,
        dst.cast::<F>(),
        1,
        dst_rs as isize,
        false,
        a.ptr.cast::<F>(),
        a.strides.1 as isize,
        a.strides.0 as isize,
        b.ptr.cast::<F>(),
        b.strides.1 as isize,
        b.strides.0 as isize,
        F::ZERO,
        F::from_f64(scale),
        false,
        false,
        false,
        gemm::Parallelism::None,
    )
}

/// `scale * (a @ b) + beta * bias` for float matrices `a` `(n, k)` and `b` `(k, m)` of one
/// dtype with any strides, as a new contiguous `(n, m)` tensor. `bias` (of the same dtype)
/// is already expanded to `(n, m)`; each thread adds it to the block it has just computed.
pub fn matmul_scaled(a: &Tensor, b: &Tensor, scale: f64, bias: Option<(&Tensor, f64)>) -> Tensor {
    let (la, lb) = (a.layout(), b.layout());
    let (n, k, m) = (la.shape()[0], la.shape()[1], lb.shape()[1]);
    crate::dispatch_float!(a.dtype(), T => {
        let f = float_gemm::<T>().expect("a float dtype");
        let mut out: Vec<T> = crate::storage::vec_with_capacity(n * m);
        if n * m > 0 && k == 0 {
            out.resize(n * m, T::default());
        }
        let dst = SharedMut::new(out.as_mut_ptr());
        let bias_buffer = bias.map(|(t, _)| t.storage().read());
        let add_bias = |rows: Range<usize>, cols: Range<usize>| {
            let (Some((t, beta)), Some(buffer)) = (bias, &bias_buffer) else {
                return;
            };
            let (values, layout, beta) = (T::slice(buffer), t.layout(), T::from_f64(beta));
            let (rs, cs) = (layout.strides()[0], layout.strides()[1]);
            super::vectorized(#[inline(always)] || {
                for i in rows {
                    // SAFETY: row `i`'s columns `cols` are this block's, written by gemm (or
                    // zeroed) above, and no other thread touches them.
                    let row = unsafe {
                        let start = dst.get().add(i * m + cols.start);
                        std::slice::from_raw_parts_mut(start, cols.len())
                    };
                    let first = layout.offset() + i * rs + cols.start * cs;
                    if cs == 1 {
                        for (o, &x) in row.iter_mut().zip(&values[first..first + cols.len()]) {
                            *o += beta * x;
                        }
                    } else {
                        for (j, o) in row.iter_mut().enumerate() {
                            *o += beta * values[first + j * cs];
                        }
                    }
                }
            })
        };
        if n * m > 0 && k > 0 {
            let buf_a = a.storage().read();
            let buf_b = b.storage().read();
            let pa = &T::slice(&buf_a)[la.offset()..];
            let pb = &T::slice(&buf_b)[lb.offset()..];
            let (a_rs, a_cs) = (la.strides()[0], la.strides()[1]);
            let (b_rs, b_cs) = (lb.strides()[0], lb.strides()[1]);
            assert!((n - 1) * a_rs + (k - 1) * a_cs < pa.len());
            assert!((k - 1) * b_rs + (m - 1) * b_cs < pb.len());
            let (a, b) = (Operand::new(pa, (a_rs, a_cs)), Operand::new(pb, (b_rs, b_cs)));
            // SAFETY: bounds checked above; `out` has room for the n*m outputs, all of
            // which gemm writes.
            unsafe { f.product((n, k, m), dst.get().cast(), a, b, scale, true, &add_bias) };
        } else {
            add_bias(0..n, 0..m);
        }
        // SAFETY: every one of the n*m outputs was written above (by gemm, or zeroed).
        unsafe { out.set_len(n * m) };
        drop(bias_buffer);
        Tensor::from_buffer(T::into_buffer(out), &[n, m])
    }, _ => unreachable!("callers pass float tensors"))
}
