//! Views that rearrange dimensions (`permute`, `transpose`, `t`), add or drop size-1
//! dimensions (`unsqueeze`, `squeeze`), or read the same elements in another shape (`view`,
//! `flatten`), plus `contiguous` and `clone`. Views share storage and its version counter.

use std::sync::Arc;

use smallvec::smallvec;

use super::shape::record_shape_op;
use crate::autograd::{needs_grad, record, record_unsaved, BackwardCtx, BackwardFn, Grads};
use crate::error::{runtime_err, Result};
use crate::layout::{contiguous_strides, normalize_dim, Layout, Shape};
use crate::storage::Element;
use crate::tensor::Tensor;

/// Backward of a permutation: the inverse permutation.
struct PermuteBackward {
    name: &'static str,
    inverse: Shape,
}

impl BackwardFn for PermuteBackward {
    fn name(&self) -> &'static str {
        self.name
    }
    fn backward(&self, ctx: &BackwardCtx<'_>) -> Result<Grads> {
        Ok(smallvec![Some(
            ctx.grad().permute_as(&self.inverse, self.name)?
        )])
    }
}

/// Resolves a shape that may contain one `-1` against `numel`, with PyTorch's messages.
pub fn infer_shape(shape: &[i64], numel: usize) -> Result<Shape> {
    let invalid = || runtime_err!("shape '{shape:?}' is invalid for input of size {numel}");
    let mut inferred = None;
    let mut known: usize = 1;
    for (i, &d) in shape.iter().enumerate() {
        match d {
            -1 if inferred.is_some() => {
                return Err(runtime_err!("only one dimension can be inferred"))
            }
            -1 => inferred = Some(i),
            d if d < 0 => return Err(runtime_err!("invalid shape dimension {d}")),
            d => known = known.checked_mul(d as usize).ok_or_else(invalid)?,
        }
    }
    let mut out: Shape = shape.iter().map(|&d| d.max(0) as usize).collect();
    match inferred {
        Some(i) if known != 0 && numel.is_multiple_of(known) => out[i] = numel / known,
        Some(_) => return Err(invalid()),
        None if known != numel => return Err(invalid()),
        None => {}
    }
    Ok(out)
}

impl Tensor {
    /// The dimensions reordered: output dimension `i` is input dimension `dims[i]`.
    pub fn permute(&self, dims: &[i64]) -> Result<Tensor> {
        let n = self.ndim();
        if dims.len() != n {
            return Err(runtime_err!(
                "permute(sparse_coo): number of dimensions in the tensor input does not match \
                 the length of the desired ordering of dimensions i.e. input.dim() = {n} is not \
                 equal to len(dims) = {}",
                dims.len()
            ));
        }
        let mut order: Shape = Shape::new();
        for &d in dims {
            let d = normalize_dim(d, n)?;
            if order.contains(&d) {
                return Err(runtime_err!("permute(): duplicate dims are not allowed."));
            }
            order.push(d);
        }
        self.permute_as(&order, "PermuteBackward0")
    }

    /// Dimensions `dim0` and `dim1` swapped.
    pub fn transpose(&self, dim0: i64, dim1: i64) -> Result<Tensor> {
        let n = self.ndim();
        let (a, b) = (normalize_dim(dim0, n)?, normalize_dim(dim1, n)?);
        let mut order: Shape = (0..n).collect();
        if n > 0 {
            order.swap(a, b);
        }
        self.permute_as(&order, "TransposeBackward0")
    }

    /// The matrix transpose of a tensor of at most 2 dimensions (`TBackward0`).
    pub fn t(&self) -> Result<Tensor> {
        if self.ndim() > 2 {
            return Err(runtime_err!(
                "t() expects a tensor with <= 2 dimensions, but self is {}D",
                self.ndim()
            ));
        }
        let order: Shape = (0..self.ndim()).rev().collect();
        self.permute_as(&order, "TBackward0")
    }

    /// A view with the dimensions in `order` (checked), recorded under `name`.
    pub(crate) fn permute_as(&self, order: &[usize], name: &'static str) -> Result<Tensor> {
        let layout = self.layout();
        let shape = order.iter().map(|&d| layout.shape()[d]).collect();
        let strides = order.iter().map(|&d| layout.strides()[d]).collect();
        let out = self.view_of(Layout::new(shape, strides, layout.offset()));
        if needs_grad(&[self]) {
            let mut inverse = Shape::from_elem(0, order.len());
            for (i, &d) in order.iter().enumerate() {
                inverse[d] = i;
            }
            record(
                &[self],
                &out,
                Arc::new(PermuteBackward { name, inverse }),
                smallvec![],
            )?;
        }
        Ok(out)
    }

    /// A view with a size-1 dimension inserted at `dim` (which may be `ndim`).
    pub fn unsqueeze(&self, dim: i64) -> Result<Tensor> {
        let d = normalize_dim(dim, self.ndim() + 1)?;
        let layout = self.layout();
        let mut shape: Shape = layout.shape().into();
        let mut strides: Shape = layout.strides().into();
        let stride = if d < shape.len() {
            strides[d] * shape[d]
        } else {
            1
        };
        shape.insert(d, 1);
        strides.insert(d, stride);
        let out = self.view_of(Layout::new(shape, strides, layout.offset()));
        record_shape_op(self, &out, "UnsqueezeBackward0");
        Ok(out)
    }

    /// A view without size-1 dimensions: all of them (`dims = None`) or those listed.
    pub fn squeeze(&self, dims: Option<&[i64]>) -> Result<Tensor> {
        let name = if dims.is_some() {
            "SqueezeBackward1"
        } else {
            "SqueezeBackward0"
        };
        self.squeeze_as(dims, name)
    }

    /// [`Tensor::squeeze`] recorded under `name`.
    pub(crate) fn squeeze_as(&self, dims: Option<&[i64]>, name: &'static str) -> Result<Tensor> {
        let n = self.ndim();
        let listed: Option<Vec<usize>> = dims
            .map(|ds| {
                ds.iter()
                    .map(|&d| normalize_dim(d, n))
                    .collect::<Result<_>>()
            })
            .transpose()?;
        let layout = self.layout();
        let (mut shape, mut strides) = (Shape::new(), Shape::new());
        for (d, (&size, &stride)) in layout.shape().iter().zip(layout.strides()).enumerate() {
            let drop = size == 1 && listed.as_ref().is_none_or(|l| l.contains(&d));
            if !drop {
                shape.push(size);
                strides.push(stride);
            }
        }
        let out = self.view_of(Layout::new(shape, strides, layout.offset()));
        record_shape_op(self, &out, name);
        Ok(out)
    }

    /// The same elements in `shape` (one entry may be -1), sharing storage; the data must be
    /// contiguous (PyTorch's error otherwise, pointing to `reshape`).
    pub fn view(&self, shape: &[i64]) -> Result<Tensor> {
        let shape = infer_shape(shape, self.numel())?;
        if !self.layout().is_contiguous() {
            return Err(runtime_err!(
                "view size is not compatible with input tensor's size and stride (at least one \
                 dimension spans across two contiguous subspaces). Use .reshape(...) instead."
            ));
        }
        let layout = Layout::new(
            shape.clone(),
            contiguous_strides(&shape),
            self.layout().offset(),
        );
        let out = self.view_of(layout);
        record_shape_op(self, &out, "ViewBackward0");
        Ok(out)
    }

    /// Dimensions `start..=end` merged into one (a view when contiguous, else a copy).
    pub fn flatten(&self, start_dim: i64, end_dim: i64) -> Result<Tensor> {
        if self.ndim() == 0 {
            return self.reshape(&[1]);
        }
        let (s, e) = (
            normalize_dim(start_dim, self.ndim())?,
            normalize_dim(end_dim, self.ndim())?,
        );
        if s > e {
            return Err(runtime_err!(
                "flatten() has invalid args: start_dim cannot come after end_dim"
            ));
        }
        if s == e {
            return Ok(self.clone());
        }
        let shape = self.shape();
        let mut out: Shape = shape[..s].into();
        out.push(shape[s..=e].iter().product());
        out.extend_from_slice(&shape[e + 1..]);
        self.reshape(&out)
    }

    /// This tensor if contiguous, else a contiguous copy (`CloneBackward0`).
    pub fn contiguous(&self) -> Result<Tensor> {
        if self.layout().is_contiguous() {
            return Ok(self.clone());
        }
        self.clone_data()
    }

    /// A copy of the data in new storage that stays in the graph (`torch.clone`,
    /// `CloneBackward0`).
    pub fn clone_data(&self) -> Result<Tensor> {
        let out = self.contiguous_copy();
        record_shape_op(self, &out, "CloneBackward0");
        Ok(out)
    }
}

/// Backward of a strided view (`narrow`, slicing, `select`): the gradient written into
/// zeros of the input's shape at the view's positions.
struct StridedViewBackward {
    name: &'static str,
    input_shape: Shape,
    /// The view's geometry relative to a contiguous tensor of the input's shape.
    relative: Layout,
}

impl BackwardFn for StridedViewBackward {
    fn name(&self) -> &'static str {
        self.name
    }
    fn backward(&self, ctx: &BackwardCtx<'_>) -> Result<Grads> {
        let g = ctx
            .grad()
            .scatter_into_zeros(&self.input_shape, &self.relative)?;
        Ok(smallvec![Some(g)])
    }
}

/// Backward of [`Tensor::scatter_into_zeros`]: the same view of the gradient.
struct ScatterBackward {
    relative: Layout,
}

impl BackwardFn for ScatterBackward {
    fn name(&self) -> &'static str {
        "AsStridedScatterBackward0"
    }
    fn backward(&self, ctx: &BackwardCtx<'_>) -> Result<Grads> {
        Ok(smallvec![Some(ctx.grad().gather_view(&self.relative)?)])
    }
}

impl Tensor {
    /// A view over `actual` (a layout into this tensor's storage), recorded with the view's
    /// geometry `relative` to a contiguous tensor of `input_shape` for backward.
    pub(crate) fn strided_view(
        &self,
        actual: Layout,
        relative: Layout,
        input_shape: Shape,
        name: &'static str,
    ) -> Tensor {
        let out = self.view_of(actual);
        if needs_grad(&[self]) {
            let backward = StridedViewBackward {
                name,
                input_shape,
                relative,
            };
            record_unsaved(&[self], &out, Arc::new(backward));
        }
        out
    }

    /// The elements at the positions `relative` describes (a layout into a contiguous
    /// tensor of this shape), as a view of a contiguous copy. Differentiable.
    pub(crate) fn gather_view(&self, relative: &Layout) -> Result<Tensor> {
        let g = self.contiguous()?;
        let actual = Layout::new(
            relative.shape().into(),
            relative.strides().into(),
            g.layout().offset() + relative.offset(),
        );
        let input_shape = g.shape_vec();
        Ok(g.strided_view(actual, relative.clone(), input_shape, "AsStridedBackward0"))
    }

    /// Zeros of `shape` with this tensor written at the positions `relative` describes (a
    /// layout into a contiguous tensor of `shape`, without overlaps). Differentiable.
    pub(crate) fn scatter_into_zeros(&self, shape: &[usize], relative: &Layout) -> Result<Tensor> {
        let out = Tensor::zeros(shape, self.dtype());
        crate::dispatch!(self.dtype(), T => {
            let mut buffer = out.storage().write();
            let data = T::slice_mut(&mut buffer);
            let rows = crate::layout::Rows::new([relative]);
            let (len, [stride]) = (rows.len, rows.strides);
            self.with_values::<T, _>(|src| {
                let mut next = src.chunks(len.max(1));
                rows.for_each(|[base]| {
                    let row = next.next().expect("one source row per destination row");
                    if stride == 1 {
                        data[base..base + len].copy_from_slice(row);
                    } else {
                        for (k, &v) in row.iter().enumerate() {
                            data[base + k * stride] = v;
                        }
                    }
                });
            });
        });
        if needs_grad(&[self]) {
            let backward = ScatterBackward {
                relative: relative.clone(),
            };
            record_unsaved(&[self], &out, Arc::new(backward));
        }
        Ok(out)
    }

    /// Elements `start, start + step, ...` below `end` along `dim` (a view; `SliceBackward0`).
    /// Bounds are clamped as Python slices are; `step` must be positive.
    pub fn slice(
        &self,
        dim: i64,
        start: Option<i64>,
        end: Option<i64>,
        step: i64,
    ) -> Result<Tensor> {
        if step <= 0 {
            return Err(crate::error::Error::Value(
                "step must be greater than zero".into(),
            ));
        }
        let d = normalize_dim(dim, self.ndim())?;
        let size = self.shape()[d] as i64;
        let clamp = |v: i64| {
            if v < 0 {
                (v + size).max(0)
            } else {
                v.min(size)
            }
        };
        let start = start.map_or(0, clamp);
        let end = end.map_or(size, clamp).max(start);
        let len = ((end - start) + step - 1) / step;
        self.slice_parts(
            d,
            start as usize,
            len as usize,
            step as usize,
            "SliceBackward0",
        )
    }

    /// `length` elements from `start` along `dim` (a view; `SliceBackward0`).
    pub fn narrow(&self, dim: i64, start: i64, length: i64) -> Result<Tensor> {
        let d = normalize_dim(dim, self.ndim())?;
        let size = self.shape()[d] as i64;
        let start = if start < 0 { start + size } else { start };
        if start < 0 || start > size {
            return Err(crate::error::Error::Index(format!(
                "start out of range (expected to be in range of [{}, {size}], but got {start})",
                -size
            )));
        }
        if length < 0 {
            return Err(runtime_err!("narrow(): length must be non-negative."));
        }
        if start + length > size {
            return Err(runtime_err!(
                "start ({start}) + length ({length}) exceeds dimension size ({size})."
            ));
        }
        self.slice_parts(d, start as usize, length as usize, 1, "SliceBackward0")
    }

    /// A new tensor shaped like this one, made by `make` from a shape, with this tensor's
    /// dimension order when it is a permutation of a contiguous layout (PyTorch's
    /// `preserve_format` for the `*_like` factories); row-major otherwise.
    pub fn new_like(&self, make: impl FnOnce(&[usize]) -> Result<Tensor>) -> Result<Tensor> {
        let layout = self.layout();
        let mut order: Vec<usize> = (0..self.ndim()).collect();
        order.sort_by(|&a, &b| layout.strides()[b].cmp(&layout.strides()[a]));
        let permuted = Layout::new(
            order.iter().map(|&d| layout.shape()[d]).collect(),
            order.iter().map(|&d| layout.strides()[d]).collect(),
            0,
        );
        let is_permutation = order.iter().enumerate().any(|(i, &d)| i != d);
        if !is_permutation || !permuted.is_contiguous() || self.numel() == 0 {
            return make(self.shape());
        }
        let dense = make(permuted.shape())?;
        let mut inverse = vec![0; order.len()];
        for (i, &d) in order.iter().enumerate() {
            inverse[d] = i;
        }
        let strides: Shape = inverse
            .iter()
            .map(|&i| dense.layout().strides()[i])
            .collect();
        Ok(dense.with_layout(Layout::new(self.shape_vec(), strides, 0)))
    }

    /// The view of `len` elements from `start` with `step` along dimension `d` (checked).
    pub(crate) fn slice_parts(
        &self,
        d: usize,
        start: usize,
        len: usize,
        step: usize,
        name: &'static str,
    ) -> Result<Tensor> {
        let layout = self.layout();
        let mut shape: Shape = layout.shape().into();
        shape[d] = len;
        let mut strides: Shape = layout.strides().into();
        strides[d] *= step;
        let actual = Layout::new(
            shape.clone(),
            strides,
            layout.offset() + start * layout.strides()[d],
        );
        let base = contiguous_strides(layout.shape());
        let mut rel_strides = base.clone();
        rel_strides[d] *= step;
        let relative = Layout::new(shape, rel_strides, start * base[d]);
        Ok(self.strided_view(actual, relative, self.shape_vec(), name))
    }

    /// The slice at `index` along `dim`, without that dimension (a view; `SelectBackward0`).
    pub fn select(&self, dim: i64, index: i64) -> Result<Tensor> {
        if let (Ok(d), true) = (normalize_dim(dim, self.ndim()), self.ndim() > 0) {
            let size = self.shape()[d] as i64;
            if index < -size || index >= size {
                return Err(crate::error::Error::Index(format!(
                    "select(): index {index} out of range for tensor of size {:?} at dimension {d}",
                    self.shape()
                )));
            }
        }
        self.select_as(dim, index, "SelectBackward0")
    }

    pub(crate) fn select_as(&self, dim: i64, index: i64, name: &'static str) -> Result<Tensor> {
        if self.ndim() == 0 {
            return Err(crate::error::Error::Index(
                "select() cannot be applied to a 0-dim tensor.".into(),
            ));
        }
        let d = normalize_dim(dim, self.ndim())?;
        let size = self.shape()[d] as i64;
        if index < -size || index >= size {
            return Err(crate::error::Error::Index(format!(
                "index {index} is out of bounds for dimension {d} with size {size}"
            )));
        }
        let i = if index < 0 { index + size } else { index } as usize;
        let layout = self.layout();
        let mut shape: Shape = layout.shape().into();
        let mut strides: Shape = layout.strides().into();
        let stride = strides.remove(d);
        shape.remove(d);
        let actual = Layout::new(shape.clone(), strides, layout.offset() + i * stride);
        let mut base = contiguous_strides(layout.shape());
        let base_stride = base.remove(d);
        let relative = Layout::new(shape, base, i * base_stride);
        Ok(self.strided_view(actual, relative, self.shape_vec(), name))
    }
}
