//! Elementwise maps over one or two (broadcast) operands.

use std::mem::MaybeUninit;

use crate::error::Result;
use crate::layout::{broadcast_shapes, Layout, Rows};
use crate::storage::Element;
use crate::tensor::Tensor;

/// Below this many elements a kernel runs on the calling thread: splitting costs more than
/// it saves (measured with `cargo bench --bench engine`).
const PARALLEL_MIN: usize = 1 << 16;
/// Elements per parallel task.
const CHUNK: usize = 1 << 14;

/// Fills a new vector of `n` elements chunk by chunk, on several threads when `n` is large.
/// `fill(start, out)` writes `out.len()` elements starting at element `start`. The closures
/// on the way to `fill`'s loop are `#[inline(always)]`: a loop left in a closure of its own
/// compiles for baseline x86-64 (four floats wide) instead of inside `vectorized`.
fn build<U: Element>(n: usize, fill: impl Fn(usize, &mut [MaybeUninit<U>]) + Sync) -> Vec<U> {
    let mut out: Vec<U> = crate::storage::vec_with_capacity(n);
    let spare = &mut out.spare_capacity_mut()[..n];
    if !crate::parallel::worth_splitting(n, PARALLEL_MIN) {
        super::vectorized(
            #[inline(always)]
            || fill(0, spare),
        );
    } else {
        crate::parallel::for_each_chunk_mut(spare, CHUNK, |start, chunk| {
            super::vectorized(
                #[inline(always)]
                || fill(start, chunk),
            )
        });
    }
    // SAFETY: every one of the `n` slots was written by `fill` above.
    unsafe { out.set_len(n) };
    out
}

/// `f` over a contiguous slice.
fn map_slice<T: Element, U: Element>(values: &[T], f: impl Fn(T) -> U + Sync) -> Vec<U> {
    build(
        values.len(),
        #[inline(always)]
        |start, out| {
            for (o, &x) in out.iter_mut().zip(&values[start..]) {
                o.write(f(x));
            }
        },
    )
}

/// `f` over two contiguous slices of the same length.
fn zip_slices<T: Element, U: Element>(a: &[T], b: &[T], f: impl Fn(T, T) -> U + Sync) -> Vec<U> {
    build(
        a.len(),
        #[inline(always)]
        |start, out| {
            for ((o, &x), &y) in out.iter_mut().zip(&a[start..]).zip(&b[start..]) {
                o.write(f(x, y));
            }
        },
    )
}

/// `f` applied to every element of `t` (which must hold `T`), as a new contiguous tensor.
pub fn map<T: Element, U: Element>(t: &Tensor, f: impl Fn(T) -> U + Sync) -> Tensor {
    let out: Vec<U> = t.with_values::<T, _>(|values| map_slice(values, f));
    Tensor::from_buffer(U::into_buffer(out), t.shape())
}

/// Like [`map`], for a kernel that takes a whole chunk at once: `f(src, dst)` writes every
/// slot of `dst` from the same-length `src`.
pub fn map_chunks<T: Element, U: Element>(
    t: &Tensor,
    f: impl Fn(&[T], &mut [MaybeUninit<U>]) + Sync,
) -> Tensor {
    let out: Vec<U> = t.with_values::<T, _>(|values| {
        build(
            values.len(),
            #[inline(always)]
            |start, out| f(&values[start..start + out.len()], out),
        )
    });
    Tensor::from_buffer(U::into_buffer(out), t.shape())
}

/// `f` applied pairwise to `a` and `b` (both holding `T`) broadcast together.
pub fn zip<T: Element, U: Element>(
    a: &Tensor,
    b: &Tensor,
    f: impl Fn(T, T) -> U + Sync,
) -> Result<Tensor> {
    let shape = broadcast_shapes(a.shape(), b.shape())?;
    let (la, lb) = (a.layout(), b.layout());
    let buf_a = a.storage().read();
    let buf_b = b.storage().read();
    let (da, db) = (T::slice(&buf_a), T::slice(&buf_b));
    let n: usize = shape.iter().product();
    let out: Vec<U> = if la.is_contiguous() && lb.is_contiguous() && a.shape() == b.shape() {
        let sa = &da[la.offset()..la.offset() + n];
        let sb = &db[lb.offset()..lb.offset() + n];
        zip_slices(sa, sb, f)
    } else if b.numel() == 1 && la.is_contiguous() {
        let y = db[lb.offset()];
        map_slice(&da[la.offset()..la.offset() + n], |x| f(x, y))
    } else if a.numel() == 1 && lb.is_contiguous() {
        let x = da[la.offset()];
        map_slice(&db[lb.offset()..lb.offset() + n], |y| f(x, y))
    } else {
        let (ba, bb) = (la.broadcast_to(&shape), lb.broadcast_to(&shape));
        let rows = Rows::new([&ba, &bb]);
        let (len, [sa, sb]) = (rows.len, rows.strides);
        let mut out = crate::storage::vec_with_capacity(n);
        super::vectorized(|| {
            rows.for_each(|[i, j]| match (sa, sb) {
                (1, 1) => out.extend(
                    da[i..i + len]
                        .iter()
                        .zip(&db[j..j + len])
                        .map(|(&x, &y)| f(x, y)),
                ),
                (1, 0) => out.extend(da[i..i + len].iter().map(|&x| f(x, db[j]))),
                (0, 1) => out.extend(db[j..j + len].iter().map(|&y| f(da[i], y))),
                _ => out.extend((0..len).map(|k| f(da[i + k * sa], db[j + k * sb]))),
            })
        });
        out
    };
    Ok(Tensor::from_buffer(U::into_buffer(out), &shape))
}

/// `f` applied to three operands broadcast together (used by `where`).
pub fn zip3<C: Element, T: Element>(
    c: &Tensor,
    a: &Tensor,
    b: &Tensor,
    f: impl Fn(C, T, T) -> T,
) -> Result<Tensor> {
    let shape = broadcast_shapes(&broadcast_shapes(c.shape(), a.shape())?, b.shape())?;
    let (bc, ba, bb) = (c.storage().read(), a.storage().read(), b.storage().read());
    let (dc, da, db) = (C::slice(&bc), T::slice(&ba), T::slice(&bb));
    let lc = c.layout().broadcast_to(&shape);
    let la = a.layout().broadcast_to(&shape);
    let lb = b.layout().broadcast_to(&shape);
    let rows = Rows::new([&lc, &la, &lb]);
    let (len, [sc, sa, sb]) = (rows.len, rows.strides);
    let mut out = crate::storage::vec_with_capacity(shape.iter().product());
    rows.for_each(|[i, j, k]| {
        out.extend((0..len).map(|e| f(dc[i + e * sc], da[j + e * sa], db[k + e * sb])));
    });
    Ok(Tensor::from_buffer(T::into_buffer(out), &shape))
}

/// Why an in-place op on a tensor over read-only lent memory fails. PyTorch shares such memory
/// and leaves writing to it undefined; here it is an error, since the memory may really be
/// read-only (a read-only memory map) and writing would crash.
pub(crate) const READ_ONLY_MESSAGE: &str = "cannot modify a tensor whose memory is read-only \
(it comes from a non-writable NumPy array or a read-only DLPack tensor); make a writable copy \
with tensor.clone()";

/// Writes `f(dst, src)` into `dst` in place; `src` broadcasts to `dst`'s shape.
pub fn update_in_place<T: Element>(
    dst: &Tensor,
    src: &Tensor,
    f: impl Fn(T, T) -> T,
) -> Result<()> {
    if !dst.storage().is_writable() {
        return Err(crate::error::Error::Runtime(READ_ONLY_MESSAGE.into()));
    }
    let shape = broadcast_shapes(dst.shape(), src.shape())?;
    if shape.as_slice() != dst.shape() {
        return Err(crate::error::runtime_err!(
            "output with shape {:?} doesn't match the broadcast shape {:?}",
            dst.shape(),
            shape.as_slice()
        ));
    }
    // Read the source first: it may share the destination's storage.
    let src_values: Vec<T> = {
        let buffer = src.storage().read();
        gather(T::slice(&buffer), &src.layout().broadcast_to(&shape))
    };
    let mut buffer = dst.storage().write();
    let data = T::slice_mut(&mut buffer);
    let rows = Rows::new([dst.layout()]);
    let (len, [stride]) = (rows.len, rows.strides);
    let mut values = src_values.into_iter();
    rows.for_each(|[base]| {
        for (k, y) in (0..len).zip(values.by_ref()) {
            let i = base + k * stride;
            data[i] = f(data[i], y);
        }
    });
    drop(buffer);
    dst.bump_version();
    Ok(())
}

/// A contiguous copy of `layout`'s elements out of `data`.
pub fn gather<T: Element>(data: &[T], layout: &Layout) -> Vec<T> {
    let mut out = crate::storage::vec_with_capacity(layout.numel());
    gather_into(&mut out, data, layout);
    out
}

/// Appends `layout`'s elements out of `data` to `out`, row by row.
pub fn gather_into<T: Element>(out: &mut Vec<T>, data: &[T], layout: &Layout) {
    if layout.numel() == 0 {
        return;
    }
    if layout.is_contiguous() {
        out.extend_from_slice(&data[layout.offset()..layout.offset() + layout.numel()]);
        return;
    }
    let rows = Rows::new([layout]);
    let (len, [stride]) = (rows.len, rows.strides);
    rows.for_each(|[base]| match stride {
        1 => out.extend_from_slice(&data[base..base + len]),
        // A broadcast row (the gradient of a sum, say): a fill, which vectorises.
        0 => out.extend(std::iter::repeat_n(data[base], len)),
        _ => out.extend((0..len).map(|k| data[base + k * stride])),
    });
}
