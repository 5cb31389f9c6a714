//! Sums over dimensions. Float sums accumulate in f64 across several lanes, which keeps
//! float32 results within an ulp or so of a correctly rounded sum on 1e6 elements.

use crate::layout::{Layout, Shape};
use crate::storage::Element;
use crate::tensor::Tensor;

/// Sums a contiguous slice in f64 with four independent lanes (they vectorise).
fn sum_f64<T: Element>(values: &[T]) -> f64 {
    let mut lanes = [0.0f64; 4];
    let tail_sum: f64 = values
        .chunks_exact(4)
        .remainder()
        .iter()
        .fold(0.0, |a, x| a + x.to_f64());
    let chunks = values.chunks_exact(4);
    for chunk in chunks {
        for (lane, &x) in lanes.iter_mut().zip(chunk) {
            *lane += x.to_f64();
        }
    }
    (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]) + tail_sum
}

/// Sums `t` over `dims` (sorted, unique). The result keeps the reduced dimensions with size 1
/// (callers reshape for `keepdim=False`). Integer and bool inputs sum exactly to `i64`.
pub fn sum_dims<T: Element, U: Element>(t: &Tensor, dims: &[usize]) -> Tensor {
    let layout = t.layout();
    let mut out_shape: Shape = layout.shape().into();
    for &d in dims {
        out_shape[d] = 1;
    }
    let buffer = t.storage().read();
    let data = T::slice(&buffer);
    let exact_int = !T::DTYPE.is_float();
    let reduce = |offsets: &mut dyn Iterator<Item = usize>| -> U {
        if exact_int {
            U::from_i64(offsets.fold(0i64, |acc, i| acc.wrapping_add(data[i].to_i64())))
        } else {
            // Fold from +0.0: `Sum` for floats starts at -0.0, so an empty sum would print -0.
            U::from_f64(offsets.fold(0.0, |acc, i| acc + data[i].to_f64()))
        }
    };
    if dims.len() == layout.ndim() {
        let value = if layout.is_contiguous() && !exact_int {
            U::from_f64(sum_f64(
                &data[layout.offset()..layout.offset() + layout.numel()],
            ))
        } else {
            reduce(&mut layout.offsets())
        };
        return Tensor::from_buffer(U::into_buffer(vec![value]), &out_shape);
    }
    // Split the layout into the kept dimensions (outer) and the reduced ones (inner).
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
    let outer = Layout::new(kept_shape, kept_strides, layout.offset());
    let out = crate::storage::collect_exact(outer.offsets().map(|base| {
        let inner = Layout::new(red_shape.clone(), red_strides.clone(), base);
        reduce(&mut inner.offsets())
    }));
    Tensor::from_buffer(U::into_buffer(out), &out_shape)
}
