//! Views and copies that change shape or dtype: `expand`, `reshape`, `to`, `contiguous`.
//! The backward of each is the inverse move: `expand` and `sum_to` undo each other.

use std::sync::Arc;

use smallvec::smallvec;

use crate::autograd::{needs_grad, record_unsaved, BackwardCtx, BackwardFn, Grads};
use crate::dtype::DType;
use crate::error::{runtime_err, Result};
use crate::kernels::elementwise::map;
use crate::layout::{Layout, Shape};
use crate::storage::Element;
use crate::tensor::Tensor;

/// Backward of ops whose gradient is the output gradient reshaped or reduced to the input's
/// shape, and cast to its dtype.
struct ShapeBackward {
    name: &'static str,
    input_shape: Shape,
    input_dtype: DType,
}

impl BackwardFn for ShapeBackward {
    fn name(&self) -> &'static str {
        self.name
    }
    fn backward(&self, ctx: &BackwardCtx<'_>) -> Result<Grads> {
        let g = ctx.grad();
        // Same element count: a reshape undoes the op (also an expand that only added
        // size-1 dimensions); otherwise the op broadcast, and the shared helper sums it back
        // (and casts to the input's dtype).
        let same_count = g.numel() == self.input_shape.iter().product::<usize>();
        let g = if same_count && g.shape() != self.input_shape.as_slice() {
            g.reshape(&self.input_shape)?
        } else {
            g.clone()
        };
        let g = super::reduce_grad(g, &self.input_shape, self.input_dtype)?;
        Ok(smallvec![Some(g)])
    }
}

pub(super) fn record_shape_op(input: &Tensor, out: &Tensor, name: &'static str) {
    if needs_grad(&[input]) {
        let backward = ShapeBackward {
            name,
            input_shape: input.shape_vec(),
            input_dtype: input.dtype(),
        };
        record_unsaved(&[input], out, Arc::new(backward));
    }
}

impl Tensor {
    /// This tensor's values as `dtype`, outside autograd (same tensor when already `dtype`).
    pub fn cast(&self, dtype: DType) -> Tensor {
        if dtype == self.dtype() {
            return self.clone();
        }
        crate::dispatch!(self.dtype(), S => crate::dispatch!(dtype, D => {
            map::<S, D>(self, |v| v.convert::<D>())
        }))
    }

    /// A copy in `dtype` (`ToCopyBackward0`); the tensor itself when it already has it.
    pub fn to_dtype(&self, dtype: DType) -> Result<Tensor> {
        if dtype == self.dtype() {
            return Ok(self.clone());
        }
        let out = self.cast(dtype);
        if dtype.is_float() {
            record_shape_op(self, &out, "ToCopyBackward0");
        }
        Ok(out)
    }

    /// A view of this tensor broadcast to `shape` (stride 0 along new dimensions).
    pub fn expand(&self, shape: &[usize]) -> Result<Tensor> {
        if shape == self.shape() {
            return Ok(self.clone());
        }
        let Some(lead) = shape.len().checked_sub(self.ndim()) else {
            return Err(runtime_err!(
                "expand: the number of sizes provided ({}) must be greater or equal to the \
                 number of dimensions in the tensor ({})",
                shape.len(),
                self.ndim()
            ));
        };
        for (i, &n) in self.shape().iter().enumerate() {
            if n != 1 && n != shape[lead + i] {
                return Err(runtime_err!(
                    "The expanded size of the tensor ({}) must match the existing size ({n}) at \
                     non-singleton dimension {}.  Target sizes: {shape:?}.  Tensor sizes: {:?}",
                    shape[lead + i],
                    lead + i,
                    self.shape()
                ));
            }
        }
        crate::layout::checked_numel(shape, 1)?;
        let out = self.view_of(self.layout().broadcast_to(shape));
        record_shape_op(self, &out, "ExpandBackward0");
        Ok(out)
    }

    /// The same elements in a new shape: a view when the data is contiguous, else a copy.
    pub fn reshape(&self, shape: &[usize]) -> Result<Tensor> {
        self.reshape_as(shape, "ViewBackward0")
    }

    /// [`Tensor::reshape`] recorded under `view_name` when it is a view.
    pub(crate) fn reshape_as(&self, shape: &[usize], view_name: &'static str) -> Result<Tensor> {
        let numel: usize = shape.iter().product();
        if numel != self.numel() {
            return Err(runtime_err!(
                "shape '{:?}' is invalid for input of size {}",
                shape,
                self.numel()
            ));
        }
        let (out, name) = if self.layout().is_contiguous() {
            let layout = Layout::new(
                shape.into(),
                crate::layout::contiguous_strides(shape),
                self.layout().offset(),
            );
            (self.view_of(layout), view_name)
        } else {
            (
                self.contiguous_copy()
                    .with_layout(Layout::contiguous(shape)),
                "UnsafeViewBackward0",
            )
        };
        record_shape_op(self, &out, name);
        Ok(out)
    }

    /// The gradient PyTorch stores on a leaf under `create_graph`: a copy that stays in the
    /// graph (`CopyBackwards`).
    pub fn copy_backwards(&self) -> Result<Tensor> {
        let out = self.contiguous_copy();
        record_shape_op(self, &out, "CopyBackwards");
        Ok(out)
    }

    /// A contiguous copy of the data with no autograd state.
    pub(crate) fn contiguous_copy(&self) -> Tensor {
        let buffer = crate::dispatch!(self.dtype(), T => {
            let data = self.storage().read();
            T::into_buffer(crate::kernels::elementwise::gather(T::slice(&data), self.layout()))
        });
        Tensor::from_buffer(buffer, self.shape())
    }
}
