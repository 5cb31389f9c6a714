//! Raw loops over tensor data. Kernels know layouts and dtypes but nothing of autograd;
//! the ops in `crate::ops` wrap them with their backward rules.

pub mod elementwise;
pub mod matmul;
pub mod reduce;
