//! Reductions: `sum` and `mean`, over everything or over dimensions, and `sum_to`, the
//! helper that sums a broadcast gradient back to an input's shape.

use std::sync::Arc;

use smallvec::smallvec;

use crate::autograd::{needs_grad, record, BackwardCtx, BackwardFn, Grads};
use crate::dtype::DType;
use crate::error::{runtime_err, Result};
use crate::kernels::reduce::sum_dims;
use crate::layout::{normalize_dim, Shape};
use crate::tensor::Tensor;

/// Reduced dimensions, sorted and checked; `None` means all of them.
fn reduced_dims(t: &Tensor, dims: Option<&[i64]>) -> Result<Vec<usize>> {
    // An empty list reduces everything too, as in PyTorch (`x.sum(dim=())`).
    let Some(dims) = dims.filter(|d| !d.is_empty()) else {
        return Ok((0..t.ndim()).collect());
    };
    let mut out = Vec::with_capacity(dims.len());
    for &d in dims {
        let d = normalize_dim(d, t.ndim())?;
        if out.contains(&d) {
            return Err(runtime_err!(
                "dim {d} appears multiple times in the list of dims"
            ));
        }
        out.push(d);
    }
    out.retain(|&d| d < t.ndim()); // a 0-d tensor accepts dim 0 and -1
    out.sort_unstable();
    Ok(out)
}

/// The output shape of a reduction.
fn reduced_shape(shape: &[usize], dims: &[usize], keepdim: bool) -> Shape {
    shape
        .iter()
        .enumerate()
        .filter_map(|(d, &n)| match (dims.contains(&d), keepdim) {
            (false, _) => Some(n),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect()
}

/// Backward of `sum`/`mean`: the gradient expanded back over the reduced dimensions
/// (divided by their size for `mean`).
struct ReduceBackward {
    name: &'static str,
    input_shape: Shape,
    keepdim_shape: Shape,
    /// 1 for `sum`, the count of reduced elements for `mean`.
    divisor: f64,
}

impl BackwardFn for ReduceBackward {
    fn name(&self) -> &'static str {
        self.name
    }
    fn backward(&self, ctx: &BackwardCtx<'_>) -> Result<Grads> {
        let mut g = ctx.grad().reshape(&self.keepdim_shape)?;
        if self.divisor != 1.0 {
            g = g.div_scalar(self.divisor)?;
        }
        Ok(smallvec![Some(g.expand(&self.input_shape)?)])
    }
}

impl Tensor {
    /// Sums over `dims` (all when `None`), keeping them as size 1 when `keepdim`.
    /// Integers and bools sum to int64, as in PyTorch.
    ///
    /// ```
    /// let t = autodiff::Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2])?;
    /// assert_eq!(t.sum(Some(&[0]), false)?.to_vec::<f32>(), vec![4.0, 6.0]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn sum(&self, dims: Option<&[i64]>, keepdim: bool) -> Result<Tensor> {
        self.reduce(dims, keepdim, false)
    }

    /// The mean over `dims` (all when `None`); float tensors only, as in PyTorch.
    pub fn mean(&self, dims: Option<&[i64]>, keepdim: bool) -> Result<Tensor> {
        if !self.dtype().is_float() {
            return Err(runtime_err!(
                "mean(): could not infer output dtype. Input dtype must be either a floating \
                 point or complex dtype. Got: {}",
                self.dtype().scalar_type_name()
            ));
        }
        self.reduce(dims, keepdim, true)
    }

    fn reduce(&self, dims: Option<&[i64]>, keepdim: bool, mean: bool) -> Result<Tensor> {
        let all = dims.is_none();
        let reduced = reduced_dims(self, dims)?;
        let keep_shape = reduced_shape(self.shape(), &reduced, true);
        let count: usize = reduced.iter().map(|&d| self.shape()[d]).product();
        let summed = crate::dispatch!(self.dtype(), T => match self.dtype() {
            DType::F32 => sum_dims::<T, f32>(self, &reduced),
            DType::F64 => sum_dims::<T, f64>(self, &reduced),
            _ => sum_dims::<T, i64>(self, &reduced),
        });
        let mut out = summed.with_layout(crate::Layout::contiguous(&reduced_shape(
            self.shape(),
            &reduced,
            keepdim,
        )));
        if mean {
            out = crate::dispatch_float!(out.dtype(), T => crate::kernels::elementwise::map::<T, T>(
                &out, |v| v / <T as crate::storage::Element>::from_f64(count as f64)), _ => out);
        }
        if needs_grad(&[self]) {
            let name = match (mean, all) {
                (false, true) => "SumBackward0",
                (false, false) => "SumBackward1",
                (true, true) => "MeanBackward0",
                (true, false) => "MeanBackward1",
            };
            let backward = ReduceBackward {
                name,
                input_shape: self.shape_vec(),
                keepdim_shape: keep_shape,
                divisor: if mean { count as f64 } else { 1.0 },
            };
            record(&[self], &out, Arc::new(backward), smallvec![]);
        }
        Ok(out)
    }

    /// Sums a tensor broadcast from `shape` back to `shape`: over the leading extra
    /// dimensions and over every dimension where `shape` has size 1. Differentiable (its
    /// backward is `expand`), so broadcasting works under `create_graph`.
    pub fn sum_to(&self, shape: &[usize]) -> Result<Tensor> {
        if self.shape() == shape {
            return Ok(self.clone());
        }
        let lead = self.ndim().checked_sub(shape.len()).ok_or_else(|| {
            runtime_err!(
                "cannot sum a tensor of shape {:?} to shape {shape:?}",
                self.shape()
            )
        })?;
        let dims: Vec<i64> = (0..self.ndim())
            .filter(|&d| d < lead || (shape[d - lead] == 1 && self.shape()[d] != 1))
            .map(|d| d as i64)
            .collect();
        let summed = if dims.is_empty() {
            self.clone()
        } else {
            self.sum(Some(&dims), true)?
        };
        if summed.shape() == shape {
            Ok(summed)
        } else {
            summed.reshape(shape)
        }
    }
}
