//! Comparisons (bool results, never differentiable) and `where`.

use std::sync::Arc;

use smallvec::smallvec;

use super::binary::{in_dtype, promote};
use super::reduce_grad;
use crate::autograd::{needs_grad, record, BackwardCtx, BackwardFn, Grads, SavedTensor};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::kernels::elementwise::{zip, zip3};
use crate::layout::Shape;
use crate::tensor::Tensor;

macro_rules! comparison {
    ($($(#[$doc:meta])* $method:ident => $op:tt;)*) => {
        impl Tensor {
            $(
                $(#[$doc])*
                pub fn $method(&self, other: &Tensor) -> Result<Tensor> {
                    let dtype = promote(self, other);
                    let (a, b) = (in_dtype(self, dtype), in_dtype(other, dtype));
                    crate::dispatch!(dtype, T => zip::<T, bool>(&a, &b, |x, y| x $op y))
                }
            )*
        }
    };
}

comparison! {
    /// `self == other`, elementwise.
    eq => ==;
    /// `self != other`, elementwise.
    ne => !=;
    /// `self < other`, elementwise.
    lt => <;
    /// `self <= other`, elementwise.
    le => <=;
    /// `self > other`, elementwise.
    gt => >;
    /// `self >= other`, elementwise.
    ge => >=;
}

impl Tensor {
    /// Elementwise logical and of two tensors read as bools.
    pub fn logical_and(&self, other: &Tensor) -> Result<Tensor> {
        let (a, b) = (self.cast(DType::Bool), other.cast(DType::Bool));
        zip::<bool, bool>(&a, &b, |x, y| x && y)
    }

    /// `torch.where(cond, a, b)`: `a` where `cond` holds, else `b`, broadcast together.
    /// Backward sends `g` to `a` where `cond` holds and to `b` elsewhere.
    pub fn where_(cond: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        if cond.dtype() != DType::Bool {
            return Err(Error::Runtime(format!(
                "where expected condition to be a boolean tensor, but got a tensor with dtype {}",
                cond.dtype().scalar_type_name()
            )));
        }
        let dtype = promote(a, b);
        let (ca, cb) = (in_dtype(a, dtype), in_dtype(b, dtype));
        let out = crate::dispatch!(dtype, T => zip3::<bool, T>(cond, &ca, &cb, |c, x, y| if c { x } else { y })?);
        if needs_grad(&[a, b]) {
            let backward = WhereBackward {
                inputs: [(a.shape_vec(), a.dtype()), (b.shape_vec(), b.dtype())],
            };
            record(
                &[a, b],
                &out,
                Arc::new(backward),
                smallvec![SavedTensor::input(cond)],
            )?;
        }
        Ok(out)
    }
}

struct WhereBackward {
    inputs: [(Shape, DType); 2],
}

impl BackwardFn for WhereBackward {
    fn name(&self) -> &'static str {
        "WhereBackward0"
    }
    fn backward(&self, ctx: &BackwardCtx<'_>) -> Result<Grads> {
        let cond = ctx.saved(0)?;
        let (g, zero) = (ctx.grad(), Tensor::wrapped_scalar(0.0));
        let mut grads = Grads::new();
        for (i, (shape, dtype)) in self.inputs.iter().enumerate() {
            grads.push(if ctx.needs_input_grad(i) {
                let routed = if i == 0 {
                    Tensor::where_(&cond, g, &zero)?
                } else {
                    Tensor::where_(&cond, &zero, g)?
                };
                Some(reduce_grad(routed, shape, *dtype)?)
            } else {
                None
            });
        }
        Ok(grads)
    }
}
