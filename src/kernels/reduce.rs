//! Reductions over dimensions. Every reduction maps each *lane* (the elements that reduce to
//! one output) to a value; lanes are contiguous slices when the reduced dimensions are the
//! trailing ones of contiguous data, and gathered copies otherwise. Float sums accumulate in
//! f64 across several lanes, which keeps float32 results within an ulp or so of a correctly
//! rounded sum on 1e6 elements.

use crate::kernels::elementwise::gather_into;
use crate::layout::{Layout, Shape};
use crate::storage::{collect_exact, Element};
use crate::tensor::Tensor;

/// Elements below which a reduction runs on the calling thread. Reductions are bound by
/// memory bandwidth, and waking a second thread costs about 10 µs: measured on (256, 1000)
/// float32 `sum(1)`, 15 µs on one thread and 24 µs split across two.
const PARALLEL_MIN: usize = 1 << 20;

/// `item(i)` for every `i` in `0..count`, computed on the thread team in about two runs of
/// consecutive items per thread: items are cheap, and every run costs a hand-off.
fn collect_on_team<U: Element>(count: usize, item: impl Fn(usize) -> U + Sync) -> Vec<U> {
    let mut out: Vec<U> = crate::storage::vec_with_capacity(count);
    let per_run = count.div_ceil(2 * crate::parallel::num_threads());
    let slots = &mut out.spare_capacity_mut()[..count];
    crate::parallel::for_each_chunk_mut(slots, per_run, |start, run| {
        for (j, slot) in run.iter_mut().enumerate() {
            slot.write(item(start + j));
        }
    });
    // SAFETY: every one of the `count` slots was written above.
    unsafe { out.set_len(count) };
    out
}

/// Sums a slice in f64 (see [`super::vector_math::sum_as_f64`]).
#[inline(always)]
pub fn sum_f64<T: Element>(values: &[T]) -> f64 {
    super::vector_math::sum_as_f64(values)
}

/// The kept (outer) and reduced (inner) parts of a layout.
fn split_layout(layout: &Layout, dims: &[usize]) -> (Layout, Layout) {
    let (mut kept_shape, mut kept_strides) = (Shape::new(), Shape::new());
    let (mut red_shape, mut red_strides) = (Shape::new(), Shape::new());
    for (d, (&size, &stride)) in layout.shape().iter().zip(layout.strides()).enumerate() {
        if dims.contains(&d) {
            red_shape.push(size);
            red_strides.push(stride);
        } else {
            kept_shape.push(size);
            kept_strides.push(stride);
        }
    }
    (
        Layout::new(kept_shape, kept_strides, layout.offset()),
        Layout::new(red_shape, red_strides, 0),
    )
}

/// Applies `f` to every lane of `t` over `dims` (sorted, unique) and returns the results in
/// a tensor that keeps the reduced dimensions with size 1.
pub fn reduce_lanes<T: Element, U: Element>(
    t: &Tensor,
    dims: &[usize],
    f: impl Fn(&[T]) -> U + Sync,
) -> Tensor {
    let layout = t.layout();
    let mut out_shape: Shape = layout.shape().into();
    for &d in dims {
        out_shape[d] = 1;
    }
    let (outer, inner) = split_layout(layout, dims);
    let lane_len = inner.numel();
    let buffer = t.storage().read();
    let data = T::slice(&buffer);
    let ndim = layout.ndim();
    let trailing = dims
        .iter()
        .enumerate()
        .all(|(i, &d)| d == ndim - dims.len() + i);
    let out: Vec<U> = if layout.is_contiguous() && trailing && lane_len > 0 {
        // Lanes follow each other in memory: no offsets to compute.
        let data = &data[layout.offset()..layout.offset() + layout.numel()];
        let lanes = outer.numel();
        if lanes > 1 && crate::parallel::worth_splitting(layout.numel(), PARALLEL_MIN) {
            collect_on_team(lanes, |i| {
                super::vectorized(|| f(&data[i * lane_len..(i + 1) * lane_len]))
            })
        } else {
            super::vectorized(|| collect_exact(data.chunks_exact(lane_len).map(&f)))
        }
    } else if inner.is_contiguous() {
        // An empty lane may start past the end of an empty storage.
        let lane = |base: usize| match lane_len {
            0 => f(&[]),
            _ => super::vectorized(|| f(&data[base..base + lane_len])),
        };
        if outer.numel() > 1 && crate::parallel::worth_splitting(layout.numel(), PARALLEL_MIN) {
            let bases: Vec<usize> = collect_exact(outer.offsets());
            collect_on_team(bases.len(), |i| lane(bases[i]))
        } else {
            collect_exact(outer.offsets().map(lane))
        }
    } else {
        let mut scratch: Vec<T> = Vec::with_capacity(lane_len);
        let mut lane = Layout::new(inner.shape().into(), inner.strides().into(), 0);
        collect_exact(outer.offsets().map(|base| {
            scratch.clear();
            lane.set_offset(base);
            gather_into(&mut scratch, data, &lane);
            f(&scratch)
        }))
    };
    Tensor::from_buffer(U::into_buffer(out), &out_shape)
}

/// Sums `t` over `dims` (sorted, unique), keeping them with size 1. Integer and bool inputs
/// sum exactly (wrapping) to `i64`.
pub fn sum_dims<T: Element, U: Element>(t: &Tensor, dims: &[usize]) -> Tensor {
    if let Some(sums) = sum_leading_dims::<T, U>(t, dims) {
        return sums;
    }
    if T::DTYPE.is_float() {
        reduce_lanes::<T, U>(t, dims, |lane| U::from_f64(sum_f64(lane)))
    } else {
        reduce_lanes::<T, U>(t, dims, |lane| {
            U::from_i64(
                lane.iter()
                    .fold(0i64, |acc, x| acc.wrapping_add(x.to_i64())),
            )
        })
    }
}

/// Sums over leading dimensions of contiguous float data (a batch dimension, as in the
/// gradient of a broadcast bias) by adding whole rows into f64 accumulators: reading lanes
/// down the columns would jump through memory. `None` when the layout does not fit.
fn sum_leading_dims<T: Element, U: Element>(t: &Tensor, dims: &[usize]) -> Option<Tensor> {
    let layout = t.layout();
    let is_prefix = dims.iter().enumerate().all(|(i, &d)| i == d);
    if !T::DTYPE.is_float() || !layout.is_contiguous() || !is_prefix || dims.len() == layout.ndim()
    {
        return None;
    }
    let width: usize = layout.shape()[dims.len()..].iter().product();
    if width < 2 {
        return None;
    }
    let buffer = t.storage().read();
    let data = &T::slice(&buffer)[layout.offset()..layout.offset() + layout.numel()];
    let mut sums = vec![0.0f64; width];
    super::vectorized(|| {
        for row in data.chunks_exact(width) {
            for (acc, &x) in sums.iter_mut().zip(row) {
                *acc += x.to_f64();
            }
        }
    });
    let mut shape: Shape = layout.shape().into();
    for &d in dims {
        shape[d] = 1;
    }
    let out = collect_exact(sums.into_iter().map(U::from_f64));
    Some(Tensor::from_buffer(U::into_buffer(out), &shape))
}
