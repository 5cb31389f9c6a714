//! `Tensor`'s matrix products as Python sees them (`@`, `matmul`, `mm`, `bmm`, `mv`, `dot`,
//! `outer`). Large products run with the GIL released, so other Python threads keep going.

use pyo3::prelude::*;

use super::convert::tensor_arg;
use super::error::guard;
use super::tensor::{wrap, PyTensor};
use crate::tensor::Tensor;

/// Products with at least this many multiply-adds release the GIL: below it, handing the GIL
/// over costs more than the product.
const RELEASE_GIL_FLOPS: usize = 1 << 18;

/// Runs a product of `a` and `b`, without the GIL when it is large.
fn run_product(
    py: Python<'_>,
    a: &Tensor,
    b: &Tensor,
    f: impl FnOnce(&Tensor, &Tensor) -> crate::Result<Tensor> + Send,
) -> PyResult<Py<PyTensor>> {
    // An upper bound on the multiply-adds: the larger operand times the other's last dim.
    let work = a.numel().max(b.numel()) * a.shape().last().copied().unwrap_or(1).max(1);
    let out = if work >= RELEASE_GIL_FLOPS {
        py.detach(|| guard(|| f(a, b)))?
    } else {
        guard(|| f(a, b))?
    };
    wrap(py, out)
}

macro_rules! product_methods {
    ($($(#[$doc:meta])* $name:ident($arg:literal);)*) => {
        #[pymethods]
        impl PyTensor {
            $(
                $(#[$doc])*
                fn $name(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
                    let other = tensor_arg(other, stringify!($name), $arg, 1)?;
                    run_product(py, &self.inner, &other.get().inner, |a, b| a.$name(b))
                }
            )*
        }
    };
}

product_methods! {
    /// The matrix product with NumPy's broadcasting rules (`self @ other`).
    matmul("other");
    /// The product of two matrices.
    mm("mat2");
    /// The batched product of two 3-d tensors.
    bmm("mat2");
    /// The product of a matrix and a vector.
    mv("vec");
    /// The inner product of two vectors.
    dot("tensor");
    /// The outer product of two vectors.
    outer("vec2");
}

#[pymethods]
impl PyTensor {
    fn __matmul__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        match other.cast::<PyTensor>() {
            Ok(o) => {
                Ok(run_product(py, &self.inner, &o.get().inner, |a, b| a.matmul(b))?.into_any())
            }
            Err(_) => Ok(py.NotImplemented()),
        }
    }

    fn __rmatmul__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        match other.cast::<PyTensor>() {
            Ok(o) => {
                Ok(run_product(py, &o.get().inner, &self.inner, |a, b| a.matmul(b))?.into_any())
            }
            Err(_) => Ok(py.NotImplemented()),
        }
    }
}

#[pymethods]
impl PyTensor {
    /// `beta * self + alpha * (mat1 @ mat2)`, one `AddmmBackward0` node.
    #[pyo3(signature = (mat1, mat2, *, beta = 1.0, alpha = 1.0))]
    fn addmm(
        &self,
        py: Python<'_>,
        mat1: &Bound<'_, PyAny>,
        mat2: &Bound<'_, PyAny>,
        beta: f64,
        alpha: f64,
    ) -> PyResult<Py<PyTensor>> {
        addmm_impl(py, &self.inner, mat1, mat2, beta, alpha)
    }
}

fn addmm_impl(
    py: Python<'_>,
    input: &Tensor,
    mat1: &Bound<'_, PyAny>,
    mat2: &Bound<'_, PyAny>,
    beta: f64,
    alpha: f64,
) -> PyResult<Py<PyTensor>> {
    let mat1 = tensor_arg(mat1, "addmm", "mat1", 2)?;
    let mat2 = tensor_arg(mat2, "addmm", "mat2", 3)?;
    run_product(py, &mat1.get().inner, &mat2.get().inner, |a, b| {
        input.addmm(a, b, beta, alpha)
    })
}

/// `beta * input + alpha * (mat1 @ mat2)` (`torch.addmm`).
#[pyfunction]
#[pyo3(signature = (input, mat1, mat2, *, beta = 1.0, alpha = 1.0))]
pub(crate) fn addmm(
    py: Python<'_>,
    input: &Bound<'_, PyTensor>,
    mat1: &Bound<'_, PyAny>,
    mat2: &Bound<'_, PyAny>,
    beta: f64,
    alpha: f64,
) -> PyResult<Py<PyTensor>> {
    addmm_impl(py, &input.get().inner, mat1, mat2, beta, alpha)
}
