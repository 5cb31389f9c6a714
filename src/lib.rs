//! # autodiff
//!
//! PyTorch's autograd as a Rust library: tensors on reference-counted storage, an
//! arena-allocated tape of recorded ops, reverse-mode gradient accumulation into `.grad`,
//! and a thread-local grad-mode flag. The Python package `autodiff` is one front end
//! (feature `python`); everything here works without Python.
//!
//! ```
//! use autodiff::Tensor;
//!
//! // y = x^2 + 3x at x = 2: dy/dx = 2x + 3 = 7
//! let x = Tensor::scalar(2.0f64).requires_grad_(true)?;
//! let y = x.pow_scalar(2.0)?.add(&x.mul_scalar(3.0)?)?;
//! y.backward(None, false, false)?;
//! assert_eq!(x.grad().unwrap().item()?, 7.0);
//! # Ok::<(), autodiff::Error>(())
//! ```
//!
//! Layout of the crate:
//! - [`storage`], [`layout`], [`dtype`]: the data model.
//! - [`tensor`]: the tensor handle and its autograd metadata.
//! - [`autograd`]: the tape (node arena), the backward engine, the recording interface.
//! - `ops`: every differentiable op, forward and backward side by side, by family.
//! - [`kernels`]: raw loops, no autograd.
//! - [`grad_mode`]: the thread-local flag.
//! - [`optim`]: the fused parameter updates behind the optimizers.
//! - [`random`]: the seeded generator behind `rand`, `randn`, `randint`.
//! - [`parallel`]: the thread team that runs large kernels.

pub mod autograd;
mod creation;
pub mod dtype;
pub mod error;
pub mod grad_mode;
pub mod kernels;
pub mod layout;
pub(crate) mod ops;
pub mod optim;
pub mod parallel;
pub mod random;
pub mod storage;
pub mod tensor;

#[cfg(feature = "python")]
mod python;

pub use autograd::{live_nodes, NodeRef};
pub use dtype::DType;
pub use error::{Error, Result};
pub use grad_mode::{is_grad_enabled, set_grad_enabled, GradModeGuard};
pub use layout::Layout;
pub use ops::loss::Reduction;
pub use ops::{default_float_dtype, set_default_float_dtype};
pub use tensor::Tensor;

impl Tensor {
    /// Backpropagates from this tensor into the `.grad` of the leaves
    /// (`Tensor.backward(gradient, retain_graph, create_graph)`).
    pub fn backward(
        &self,
        gradient: Option<Tensor>,
        retain_graph: bool,
        create_graph: bool,
    ) -> Result<()> {
        autograd::backward(
            std::slice::from_ref(self),
            &[gradient],
            retain_graph,
            create_graph,
            None,
        )
    }
}
