//! Differentiable ops. Each file holds one family; each op's forward, backward rule and
//! `grad_fn` name sit together, so adding an op touches one file.

pub mod binary;
pub mod compare;
pub mod extrema;
pub mod index;
pub mod inplace;
pub mod join;
pub mod linalg;
pub mod loss;
pub mod reduce;
pub mod shape;
pub mod softmax;
pub mod unary;
pub mod view;

use crate::dtype::DType;
use crate::error::Result;
use crate::tensor::Tensor;

/// The default float dtype (`torch.get_default_dtype()`), per process as in PyTorch.
static DEFAULT_FLOAT_IS_F64: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// The dtype that Python floats and integer-to-float promotion produce.
pub fn default_float_dtype() -> DType {
    if DEFAULT_FLOAT_IS_F64.load(std::sync::atomic::Ordering::Relaxed) {
        DType::F64
    } else {
        DType::F32
    }
}

/// Sets the default float dtype (only `F32` and `F64` are float dtypes).
pub fn set_default_float_dtype(dtype: DType) -> Result<()> {
    if !dtype.is_float() {
        return Err(crate::error::Error::Type(
            "only floating-point types are supported as the default type".into(),
        ));
    }
    DEFAULT_FLOAT_IS_F64.store(dtype == DType::F64, std::sync::atomic::Ordering::Relaxed);
    Ok(())
}

/// Brings a gradient computed for an op's output back to one input: summed over the
/// broadcast dimensions and cast to the input's dtype. Every op with broadcasting or
/// promotion uses this one helper.
pub(crate) fn reduce_grad(grad: Tensor, shape: &[usize], dtype: DType) -> Result<Tensor> {
    let grad = if grad.shape() != shape {
        grad.sum_to(shape)?
    } else {
        grad
    };
    if grad.dtype() != dtype {
        grad.to_dtype(dtype)
    } else {
        Ok(grad)
    }
}
