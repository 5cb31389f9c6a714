//! The extrema: `amax amin max min argmax argmin`, over everything or along dimensions.
//! They share `reduce.rs`'s reduction plan and backward node: ties split the gradient
//! evenly (`amax`, `max()`), or the whole gradient goes to the returned index (`max(dim)`).

use super::reduce::{Reduction, Rule};
use crate::autograd::SavedTensor;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::kernels::reduce::reduce_lanes;
use crate::layout::{Layout, Shape};
use crate::storage::Element;
use crate::tensor::Tensor;

impl Tensor {
    /// The largest element over `dims` (all when empty); NaN propagates. Ties share the
    /// gradient evenly.
    pub fn amax(&self, dims: &[i64], keepdim: bool) -> Result<Tensor> {
        self.extreme(Some(dims), keepdim, false, "amax", "AmaxBackward0")
    }

    /// The smallest element over `dims` (all when empty); see [`Tensor::amax`].
    pub fn amin(&self, dims: &[i64], keepdim: bool) -> Result<Tensor> {
        self.extreme(Some(dims), keepdim, true, "amin", "AminBackward0")
    }

    /// The largest element (`x.max()`, `MaxBackward1`): ties share the gradient evenly.
    pub fn max_all(&self) -> Result<Tensor> {
        self.extreme(None, false, false, "max", "MaxBackward1")
    }

    /// The smallest element (`x.min()`, `MinBackward1`).
    pub fn min_all(&self) -> Result<Tensor> {
        self.extreme(None, false, true, "min", "MinBackward1")
    }

    fn extreme(
        &self,
        dims: Option<&[i64]>,
        keepdim: bool,
        smallest: bool,
        op: &str,
        name: &'static str,
    ) -> Result<Tensor> {
        let r = Reduction::new(self, dims, keepdim)?;
        r.check_nonempty(op, dims.is_none_or(|d| d.is_empty()))?;
        let out = crate::dispatch_float!(self.dtype(), T => reduce_lanes::<T, T>(self, &r.dims, |lane| {
            extreme_float(lane, smallest)
        }), _ => crate::dispatch!(self.dtype(), T => reduce_lanes::<T, T>(self, &r.dims, |lane| {
            extreme_value(lane, smallest)
        })));
        let out = r.finish(out);
        let saved = [SavedTensor::input(self), SavedTensor::output(&out)];
        let nan_aware = dims.is_none();
        self.record_reduction(&out, name, Rule::Evenly(nan_aware), r, &saved)?;
        Ok(out)
    }

    /// `(values, indices)` of the largest elements along `dim`; the whole gradient goes to
    /// the returned index (`MaxBackward0`).
    pub fn max_dim(&self, dim: i64, keepdim: bool) -> Result<(Tensor, Tensor)> {
        self.extreme_along(dim, keepdim, false, "max", "MaxBackward0")
    }

    /// `(values, indices)` of the smallest elements along `dim` (`MinBackward0`).
    pub fn min_dim(&self, dim: i64, keepdim: bool) -> Result<(Tensor, Tensor)> {
        self.extreme_along(dim, keepdim, true, "min", "MinBackward0")
    }

    fn extreme_along(
        &self,
        dim: i64,
        keepdim: bool,
        smallest: bool,
        op: &str,
        name: &'static str,
    ) -> Result<(Tensor, Tensor)> {
        let r = Reduction::new(self, Some(&[dim]), keepdim)?;
        r.check_nonempty(op, false)?;
        let (values, indices) = crate::dispatch!(self.dtype(), T => (
            reduce_lanes::<T, T>(self, &r.dims, |lane| lane[arg_extreme(lane, smallest)]),
            reduce_lanes::<T, i64>(self, &r.dims, |lane| arg_extreme(lane, smallest) as i64),
        ));
        let (values, indices) = (r.finish(values), r.finish(indices));
        let dim = r.dims.first().copied().unwrap_or(0);
        let rule = Rule::Select(dim);
        if self.ndim() > 0 {
            self.record_reduction(&values, name, rule, r, &[SavedTensor::input(&indices)])?;
        } else {
            // A 0-d tensor's only element is its own max: the gradient passes through.
            self.record_reduction(&values, name, Rule::Sum, r, &[])?;
        }
        Ok((values, indices))
    }

    /// Index of the largest element, over everything (flattened) or along `dim`.
    pub fn argmax(&self, dim: Option<i64>, keepdim: bool) -> Result<Tensor> {
        self.arg_extreme(dim, keepdim, false, "argmax")
    }

    /// Index of the smallest element, over everything (flattened) or along `dim`.
    pub fn argmin(&self, dim: Option<i64>, keepdim: bool) -> Result<Tensor> {
        self.arg_extreme(dim, keepdim, true, "argmin")
    }

    fn arg_extreme(
        &self,
        dim: Option<i64>,
        keepdim: bool,
        smallest: bool,
        op: &str,
    ) -> Result<Tensor> {
        if self.dtype() == DType::Bool {
            return Err(Error::NotImplemented(format!(
                "{op}(): does not support bool input"
            )));
        }
        if dim.is_none() && self.numel() == 0 {
            return Err(Error::Index(format!(
                "{op}(): Expected reduction dim to be specified for input.numel() == 0."
            )));
        }
        let flat;
        let (source, dims) = match dim {
            Some(d) => (self, Some([d])),
            None => {
                flat = self.detach().reshape(&[self.numel()])?;
                (&flat, None)
            }
        };
        let r = Reduction::new(source, dims.as_ref().map(|d| &d[..]), keepdim)?;
        r.check_nonempty(op, false)?;
        let out = crate::dispatch!(self.dtype(), T => reduce_lanes::<T, i64>(source, &r.dims, |lane| {
            arg_extreme(lane, smallest) as i64
        }));
        if dim.is_none() && keepdim {
            let ones = Shape::from_elem(1, self.ndim());
            return Ok(out.with_layout(Layout::contiguous(&ones)));
        }
        Ok(r.finish(out))
    }
}

/// `argmax` of a lane (first of equals; NaN counts as the largest), or `argmin` with
/// `smallest`.
fn arg_extreme<T: Element>(lane: &[T], smallest: bool) -> usize {
    let mut best = 0;
    for (i, &x) in lane.iter().enumerate().skip(1) {
        let b = lane[best];
        #[allow(clippy::eq_op)] // x != x is the generic NaN test
        if b != b {
            break;
        }
        #[allow(clippy::eq_op)]
        let better = x != x || if smallest { x < b } else { x > b };
        if better {
            best = i;
        }
    }
    best
}

/// The largest (or with `smallest`, the smallest) element of a non-empty float lane; NaN
/// wins (the vectorised maximum skips NaN but reports having seen one).
fn extreme_float<T: crate::storage::Float>(lane: &[T], smallest: bool) -> T {
    match crate::kernels::vector_math::extreme(lane, smallest) {
        (_, true) => *lane
            .iter()
            .find(|x| x.is_nan())
            .expect("the lane holds a NaN"),
        (best, false) => best,
    }
}

/// The largest (or with `smallest`, the smallest) element of a non-empty lane; NaN wins.
/// Eight independent accumulators let the loop vectorise.
fn extreme_value<T: Element>(lane: &[T], smallest: bool) -> T {
    let pick = |m: T, x: T| {
        let better = if smallest { x < m } else { x > m };
        if better {
            x
        } else {
            m
        }
    };
    let mut best = [lane[0]; 8];
    let mut nan = [false; 8];
    let chunks = lane.chunks_exact(8);
    let mut tail = lane[0];
    let mut tail_nan = false;
    for &x in chunks.remainder() {
        tail = pick(tail, x);
        #[allow(clippy::eq_op)] // x != x is the generic NaN test
        let is_nan = x != x;
        tail_nan |= is_nan;
    }
    for chunk in chunks {
        for ((b, n), &x) in best.iter_mut().zip(nan.iter_mut()).zip(chunk) {
            *b = pick(*b, x);
            #[allow(clippy::eq_op)]
            let is_nan = x != x;
            *n |= is_nan;
        }
    }
    if tail_nan || nan.iter().any(|&n| n) {
        #[allow(clippy::eq_op)]
        return *lane.iter().find(|&&x| x != x).expect("a NaN was seen");
    }
    best.iter().fold(tail, |m, &x| pick(m, x))
}
