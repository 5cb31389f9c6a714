//! In-place ops (`add_ sub_ mul_ div_ zero_ fill_ copy_ clamp_`) with autograd.
//!
//! An in-place op under grad mode computes the new value out of place, with the ordinary
//! differentiable ops (so its graph is the same as for `y = y * 2`), writes it into the
//! tensor's memory, and makes the tensor take the new value's history ("rebasing"). When
//! the op's backward needs the old value, the op reads a copy of it, since the memory is
//! overwritten. For a view, the base's history is rebased too, through a `CopySlices` node,
//! and the view becomes a view of the base's new history. Outside grad mode (the optimizer's
//! updates, `.grad.zero_()`) the update runs as one pass over the memory.

use std::sync::Arc;

use smallvec::smallvec;

use crate::autograd::{needs_grad, record_unsaved, BackwardCtx, BackwardFn, Grads};
use crate::dtype::DType;
use crate::error::{runtime_err, Error, Result};
use crate::grad_mode::is_grad_enabled;
use crate::kernels::elementwise::update_in_place;
use crate::layout::{Layout, Shape};
use crate::storage::Element;
use crate::tensor::Tensor;

/// Backward of an op that replaces a tensor's values (`fill_`, `zero_`, `copy_`): nothing
/// flows to the old values; the source (for `copy_`) gets the gradient summed to its shape.
struct ReplaceBackward {
    name: &'static str,
    source: Option<(Shape, DType)>,
}

impl BackwardFn for ReplaceBackward {
    fn name(&self) -> &'static str {
        self.name
    }
    fn backward(&self, ctx: &BackwardCtx<'_>) -> Result<Grads> {
        let g = ctx.grad();
        let old = if ctx.needs_input_grad(0) {
            Some(g.zeros_like())
        } else {
            None
        };
        let source = match &self.source {
            Some((shape, dtype)) if ctx.needs_input_grad(1) => {
                Some(g.sum_to(shape)?.to_dtype(*dtype)?)
            }
            _ => None,
        };
        Ok(smallvec![old, source])
    }
}

/// Backward of writing `values` into the region `relative` of `base` (a view's in-place
/// change seen from its base): the gradient outside the region goes to the old base, the
/// gradient inside it to the values.
struct CopySlices {
    base_shape: Shape,
    relative: Layout,
}

impl BackwardFn for CopySlices {
    fn name(&self) -> &'static str {
        "CopySlices"
    }
    fn backward(&self, ctx: &BackwardCtx<'_>) -> Result<Grads> {
        let g = ctx.grad();
        let inside = g.gather_view(&self.relative)?;
        let outside = if ctx.needs_input_grad(0) {
            Some(g.sub(&inside.scatter_into_zeros(&self.base_shape, &self.relative)?)?)
        } else {
            None
        };
        Ok(smallvec![outside, Some(inside)])
    }
}

impl Tensor {
    /// `self += other` in place without recording; `.grad` accumulation uses it.
    pub(crate) fn add_assign_detached(&self, other: &Tensor) -> Result<()> {
        let other = other.cast(self.dtype());
        crate::dispatch!(self.dtype(), T => update_in_place::<T>(self, &other, |a, b| {
            T::from_f64(a.to_f64() + b.to_f64())
        }))
    }

    /// A gradient fit to become a `.grad`: this very tensor when nothing else can see its
    /// buffer, otherwise a contiguous copy, and never part of a graph. Memory lent by NumPy or
    /// a DLPack producer is always visible to its lender, whatever the reference counts say.
    pub(crate) fn detached_contiguous_copy(&self) -> Tensor {
        let layout = self.layout();
        let data_is_ours = match self.view_info() {
            None => Arc::strong_count(self.storage()) == 1,
            // A view whose base only it holds: what the weight gradient of `x @ w.t()` is,
            // computed in the weight's layout and transposed back. Its data is as unshared,
            // and taking it saves copying the gradient on every backward.
            Some(view) => {
                Arc::strong_count(&view.base.0) == 1
                    && Arc::ptr_eq(view.base.storage(), self.storage())
                    && Arc::strong_count(self.storage()) == 2
                    && !view.base.requires_grad()
            }
        };
        let sole_owner =
            Arc::strong_count(&self.0) == 1 && data_is_ours && !self.storage().read().is_foreign();
        if sole_owner
            && !self.requires_grad()
            && layout.is_contiguous()
            && layout.offset() == 0
            && self.storage().read().len() == self.numel()
        {
            // Not a view any more: `.grad` owns its data.
            return match self.view_info() {
                None => self.clone(),
                Some(_) => self.detach(),
            };
        }
        self.contiguous_copy()
    }

    /// PyTorch's refusals of in-place changes that would corrupt the graph (grad mode only).
    pub(crate) fn check_in_place(&self) -> Result<()> {
        if self.is_inference() && !crate::grad_mode::is_inference_mode_enabled() {
            return Err(runtime_err!(
                "Inplace update to inference tensor outside InferenceMode is not allowed.You can \
                 make a clone to get a normal tensor before doing inplace update.See \
                 https://github.com/pytorch/rfcs/pull/17 for more details."
            ));
        }
        if !is_grad_enabled() {
            return Ok(());
        }
        if let Some(view) = self.view_info() {
            if let (Some((op, index)), true) = (view.multi_output, self.requires_grad()) {
                return Err(runtime_err!(
                    "Output {index} of {op} is a view and is being modified inplace. This view \
                     is the output of a function that returns multiple views. Such functions do \
                     not allow the output views to be modified inplace. You should replace the \
                     inplace operation by an out-of-place one."
                ));
            }
            if view.base.requires_grad() && view.base.is_leaf() {
                return Err(runtime_err!(
                    "a view of a leaf Variable that requires grad is being used in an in-place \
                     operation."
                ));
            }
            if !view.made_with_grad && view.base.requires_grad() {
                return Err(runtime_err!(
                    "A view was created in no_grad mode and is being modified inplace with grad \
                     mode enabled. Given that this use case is ambiguous and error-prone, it is \
                     forbidden. You can clarify your code by moving both the view and the \
                     inplace either both inside the no_grad block (if you don't want the \
                     inplace to be tracked) or both outside (if you want the inplace to be \
                     tracked)."
                ));
            }
        }
        if self.requires_grad() && self.is_leaf() {
            return Err(runtime_err!(
                "a leaf Variable that requires grad is being used in an in-place operation."
            ));
        }
        Ok(())
    }

    /// Whether an in-place op with `operands` must be recorded.
    fn in_place_records(&self, operands: &[&Tensor]) -> bool {
        is_grad_enabled() && (self.requires_grad() || operands.iter().any(|t| t.requires_grad()))
    }

    /// Runs an in-place op: `compute(input)` is the new value, computed out of place from
    /// `input` (this tensor, or a copy of it when `reads_self` and the op is recorded); then
    /// the value is written into this tensor, and, when recorded, this tensor takes its
    /// history.
    pub(crate) fn update_in_place_with(
        &self,
        operands: &[&Tensor],
        reads_self: bool,
        compute: impl FnOnce(&Tensor) -> Result<Tensor>,
    ) -> Result<()> {
        self.check_in_place()?;
        let recording = self.in_place_records(operands);
        let input = if recording && reads_self && self.requires_grad() {
            self.clone_data()?
        } else {
            self.clone()
        };
        let value = compute(&input)?;
        let value = self.castable(value)?;
        if value.shape() != self.shape() {
            return Err(runtime_err!(
                "output with shape {:?} doesn't match the broadcast shape {:?}",
                self.shape(),
                value.shape()
            ));
        }
        crate::dispatch!(self.dtype(), T => update_in_place::<T>(self, &value.detach(), |_, v| v))?;
        if recording && value.requires_grad() {
            self.rebase_history(&value)?;
        }
        Ok(())
    }

    /// `value` in this tensor's dtype, as PyTorch allows for an in-place result.
    fn castable(&self, value: Tensor) -> Result<Tensor> {
        if value.dtype() == self.dtype() {
            return Ok(value);
        }
        let narrowing = match (value.dtype(), self.dtype()) {
            (from, to) if from.is_float() && !to.is_float() => true,
            (DType::I64, DType::Bool) => true,
            _ => false,
        };
        if narrowing {
            return Err(runtime_err!(
                "result type {} can't be cast to the desired output type {}",
                value.dtype().scalar_type_name(),
                self.dtype().scalar_type_name()
            ));
        }
        value.to_dtype(self.dtype())
    }

    /// Makes this tensor (and its base, for a view) take the history of `value`, its new
    /// content.
    fn rebase_history(&self, value: &Tensor) -> Result<()> {
        let retained = self.retains_grad();
        if retained {
            crate::autograd::engine::forget_retained(self);
        }
        match self.view_info().map(|v| v.base.clone()) {
            None => {
                let node = value.grad_fn().expect("a recorded value has a grad_fn");
                self.set_grad_fn(node, value.output_nr());
            }
            Some(base) => {
                if !base.layout().is_contiguous() {
                    return Err(Error::NotImplemented(
                        "in-place operations on views of non-contiguous tensors are not \
                         supported inside autograd; use the out-of-place form"
                            .into(),
                    ));
                }
                let layout = self.layout();
                let relative = Layout::new(
                    layout.shape().into(),
                    layout.strides().into(),
                    layout.offset() - base.layout().offset(),
                );
                let node = CopySlices {
                    base_shape: base.shape_vec(),
                    relative: relative.clone(),
                };
                record_unsaved(&[&base, value], &base, Arc::new(node));
                let fresh = base.strided_view(
                    layout.clone(),
                    relative,
                    base.shape_vec(),
                    "AsStridedBackward0",
                );
                let node = fresh
                    .grad_fn()
                    .expect("a view of a recorded base is recorded");
                self.set_grad_fn(node, 0);
            }
        }
        if retained {
            self.retain_grad()?;
        }
        Ok(())
    }

    /// `self += alpha * other` in place (`add_`, `+=`).
    pub fn add_(&self, other: &Tensor, alpha: f64) -> Result<()> {
        if !self.in_place_records(&[other]) {
            self.check_in_place()?;
            let other = self.operand_for(other)?;
            if self.dtype() == DType::I64 && alpha.fract() == 0.0 {
                // Exact (wrapping) integer arithmetic: f64 loses digits beyond 2^53.
                let alpha = alpha as i64;
                return update_in_place::<i64>(self, &other, |a, b| {
                    a.wrapping_add(alpha.wrapping_mul(b))
                });
            }
            return crate::dispatch!(self.dtype(), T => update_in_place::<T>(self, &other, |a, b| {
                T::from_f64(a.to_f64() + alpha * b.to_f64())
            }));
        }
        self.update_in_place_with(&[other], false, |x| {
            if alpha == 1.0 {
                x.add(other)
            } else {
                x.add(&other.mul_scalar(alpha)?)
            }
        })
    }

    /// `self -= alpha * other` in place (`sub_`, `-=`).
    pub fn sub_(&self, other: &Tensor, alpha: f64) -> Result<()> {
        if !self.in_place_records(&[other]) {
            return self.add_(other, -alpha);
        }
        self.update_in_place_with(&[other], false, |x| {
            if alpha == 1.0 {
                x.sub(other)
            } else {
                x.sub(&other.mul_scalar(alpha)?)
            }
        })
    }

    /// `self *= other` in place (`mul_`, `*=`).
    pub fn mul_(&self, other: &Tensor) -> Result<()> {
        if !self.in_place_records(&[other]) {
            self.check_in_place()?;
            let other = self.operand_for(other)?;
            if self.dtype() == DType::I64 {
                return update_in_place::<i64>(self, &other, |a, b| a.wrapping_mul(b));
            }
            return crate::dispatch!(self.dtype(), T => update_in_place::<T>(self, &other, |a, b| {
                T::from_f64(a.to_f64() * b.to_f64())
            }));
        }
        self.update_in_place_with(&[other], other.requires_grad(), |x| x.mul(other))
    }

    /// `self /= other` in place (`div_`, `/=`): true division, so integer tensors refuse it.
    pub fn div_(&self, other: &Tensor) -> Result<()> {
        self.update_in_place_with(&[other], other.requires_grad(), |x| x.div(other))
    }

    /// Clamps in place (`clamp_`).
    pub fn clamp_(&self, min: Option<f64>, max: Option<f64>) -> Result<()> {
        self.update_in_place_with(&[], true, |x| x.clamp(min, max))
    }

    /// Fills with `value` in place (`fill_`).
    pub fn fill_(&self, value: f64) -> Result<()> {
        self.replace_with(None, "FillBackward0", |shape, dtype| {
            Ok(Tensor::full(shape, value, dtype))
        })
    }

    /// Zeroes in place (`zero_`), as `x.grad.zero_()` does.
    pub fn zero_(&self) -> Result<()> {
        self.replace_with(None, "ZeroBackward0", |shape, dtype| {
            Ok(Tensor::zeros(shape, dtype))
        })
    }

    /// Copies `src` (broadcast to this tensor's shape, cast to its dtype) in place
    /// (`copy_`). The gradient flows to `src`, none to the old values.
    pub fn copy_(&self, src: &Tensor) -> Result<()> {
        let shape = self.shape_vec();
        self.replace_with(Some(src), "CopyBackwards", |_, dtype| {
            src.detach().expand(&shape)?.to_dtype(dtype)
        })
    }

    /// The in-place ops that overwrite every value: `make(shape, dtype)` is the new content
    /// (without a graph); when recorded, the node `name` sends no gradient to the old values
    /// and the whole gradient to `source`.
    fn replace_with(
        &self,
        source: Option<&Tensor>,
        name: &'static str,
        make: impl FnOnce(&[usize], DType) -> Result<Tensor>,
    ) -> Result<()> {
        let operands: Vec<&Tensor> = source.into_iter().collect();
        self.check_in_place()?;
        let value = make(self.shape(), self.dtype())?;
        if !self.in_place_records(&operands) {
            return crate::dispatch!(self.dtype(), T => update_in_place::<T>(self, &value, |_, v| v));
        }
        self.update_in_place_with(&operands, false, |x| {
            let mut inputs = vec![x];
            inputs.extend(source);
            if needs_grad(&inputs) {
                let node = ReplaceBackward {
                    name,
                    source: source.map(|s| (s.shape_vec(), s.dtype())),
                };
                record_unsaved(&inputs, &value, Arc::new(node));
            }
            Ok(value)
        })
    }

    /// `other` cast for an unrecorded in-place update of this tensor, with PyTorch's check
    /// that the result type fits.
    fn operand_for(&self, other: &Tensor) -> Result<Tensor> {
        let result = super::binary::promote(self, other);
        if result != self.dtype() {
            self.castable(Tensor::zeros(&[], result))?;
        }
        Ok(other.cast(self.dtype()))
    }
}
