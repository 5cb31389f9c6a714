//! In-place updates outside autograd: gradient accumulation and `zero_`/`fill_`.

use std::sync::Arc;

use crate::error::{runtime_err, Result};
use crate::grad_mode::is_grad_enabled;
use crate::kernels::elementwise::update_in_place;
use crate::storage::Element;
use crate::tensor::Tensor;

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
        let sole_owner = Arc::strong_count(&self.0) == 1
            && Arc::strong_count(self.storage()) == 1
            && !self.storage().read().is_foreign();
        if sole_owner
            && !self.requires_grad()
            && layout.is_contiguous()
            && layout.offset() == 0
            && self.storage().read().len() == self.numel()
        {
            return self.clone();
        }
        self.contiguous_copy()
    }

    /// In-place ops on a leaf that requires grad would corrupt the graph, as PyTorch says.
    pub(crate) fn check_in_place(&self) -> Result<()> {
        if self.requires_grad() && is_grad_enabled() {
            if self.is_leaf() {
                return Err(runtime_err!(
                    "a leaf Variable that requires grad is being used in an in-place operation."
                ));
            }
            return Err(runtime_err!(
                "in-place operations on tensors that are part of a graph are not supported yet; \
                 use the out-of-place form"
            ));
        }
        Ok(())
    }

    /// Fills with `value` in place (`fill_`).
    pub fn fill_(&self, value: f64) -> Result<()> {
        self.check_in_place()?;
        let v = Tensor::scalar(value);
        crate::dispatch!(self.dtype(), T => update_in_place::<T>(self, &v.cast(T::DTYPE), |_, b| b))
    }

    /// Zeroes in place (`zero_`), as `x.grad.zero_()` does.
    pub fn zero_(&self) -> Result<()> {
        self.fill_(0.0)
    }
}
