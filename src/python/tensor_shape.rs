//! `Tensor`'s shape and view methods as Python sees them.

use pyo3::prelude::*;
use pyo3::types::{PyInt, PyTuple};

use super::error::guard;
use super::tensor::{wrap, PyTensor};
use crate::ops::view::infer_shape;

/// Sizes given as `f(2, 3)` or `f((2, 3))`; `-1` entries are kept for inference.
fn sizes(args: &Bound<'_, PyTuple>) -> PyResult<Vec<i64>> {
    if args.len() == 1 && !args.get_item(0)?.is_instance_of::<PyInt>() {
        return args.get_item(0)?.extract();
    }
    args.iter().map(|d| d.extract::<i64>()).collect()
}

#[pymethods]
impl PyTensor {
    /// The dimensions reordered: `x.permute(1, 0)` or `x.permute((1, 0))`.
    #[pyo3(signature = (*dims))]
    fn permute(&self, py: Python<'_>, dims: &Bound<'_, PyTuple>) -> PyResult<Py<PyTensor>> {
        let dims = sizes(dims)?;
        wrap(py, guard(|| self.inner.permute(&dims))?)
    }

    /// Dimensions `dim0` and `dim1` swapped.
    fn transpose(&self, py: Python<'_>, dim0: i64, dim1: i64) -> PyResult<Py<PyTensor>> {
        wrap(py, guard(|| self.inner.transpose(dim0, dim1))?)
    }

    /// The transpose of a tensor of at most 2 dimensions.
    fn t(&self, py: Python<'_>) -> PyResult<Py<PyTensor>> {
        wrap(py, guard(|| self.inner.t())?)
    }

    /// All dimensions reversed (`PermuteBackward0`).
    #[getter(T)]
    fn reversed(&self, py: Python<'_>) -> PyResult<Py<PyTensor>> {
        let order: Vec<i64> = (0..self.inner.ndim() as i64).rev().collect();
        wrap(py, guard(|| self.inner.permute(&order))?)
    }

    /// The last two dimensions swapped (a batch of matrix transposes).
    #[getter(mT)]
    fn matrix_transpose(&self, py: Python<'_>) -> PyResult<Py<PyTensor>> {
        if self.inner.ndim() < 2 {
            return Err(pyo3::exceptions::PyRuntimeError::new_err(
                "tensor.mT is only supported on matrices or batches of matrices. Got 1-D tensor.",
            ));
        }
        wrap(py, guard(|| self.inner.transpose(-2, -1))?)
    }

    /// A view with a size-1 dimension inserted at `dim`.
    fn unsqueeze(&self, py: Python<'_>, dim: i64) -> PyResult<Py<PyTensor>> {
        wrap(py, guard(|| self.inner.unsqueeze(dim))?)
    }

    /// A view without the size-1 dimensions (all, or those in `dim`).
    #[pyo3(signature = (dim=None))]
    fn squeeze(&self, py: Python<'_>, dim: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyTensor>> {
        let dims = super::convert::parse_dims(dim)?;
        wrap(py, guard(|| self.inner.squeeze(dims.as_deref()))?)
    }

    /// The same elements in a new shape, sharing storage (contiguous tensors only).
    #[pyo3(signature = (*shape))]
    fn view(&self, py: Python<'_>, shape: &Bound<'_, PyTuple>) -> PyResult<Py<PyTensor>> {
        let shape = sizes(shape)?;
        wrap(py, guard(|| self.inner.view(&shape))?)
    }

    /// The same elements in a new shape: a view when possible, else a copy.
    #[pyo3(signature = (*shape))]
    fn reshape(&self, py: Python<'_>, shape: &Bound<'_, PyTuple>) -> PyResult<Py<PyTensor>> {
        let shape = sizes(shape)?;
        let out = guard(|| {
            self.inner
                .reshape(&infer_shape(&shape, self.inner.numel())?)
        })?;
        wrap(py, out)
    }

    /// Dimensions `start_dim..=end_dim` merged into one.
    #[pyo3(signature = (start_dim=0, end_dim=-1), text_signature = "($self, start_dim=0, end_dim=-1)")]
    fn flatten(&self, py: Python<'_>, start_dim: i64, end_dim: i64) -> PyResult<Py<PyTensor>> {
        wrap(py, guard(|| self.inner.flatten(start_dim, end_dim))?)
    }

    /// A view broadcast to `sizes` (`-1` keeps a dimension's size).
    #[pyo3(signature = (*sizes))]
    fn expand(&self, py: Python<'_>, sizes: &Bound<'_, PyTuple>) -> PyResult<Py<PyTensor>> {
        let wanted = self::sizes(sizes)?;
        let shape = self.inner.shape();
        let lead = wanted.len().saturating_sub(shape.len());
        let target: Vec<usize> = wanted
            .iter()
            .enumerate()
            .map(|(i, &d)| {
                if d == -1 && i >= lead {
                    shape[i - lead]
                } else {
                    d.max(0) as usize
                }
            })
            .collect();
        wrap(py, guard(|| self.inner.expand(&target))?)
    }

    /// `self.expand(other.shape)`.
    fn expand_as(&self, py: Python<'_>, other: &Bound<'_, PyTensor>) -> PyResult<Py<PyTensor>> {
        wrap(py, guard(|| self.inner.expand(other.get().inner.shape()))?)
    }

    /// A view broadcast to `size`.
    fn broadcast_to(&self, py: Python<'_>, size: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        let size: Vec<usize> = size.extract()?;
        wrap(py, guard(|| self.inner.expand(&size))?)
    }

    /// This tensor if contiguous, else a contiguous copy.
    fn contiguous(slf: &Bound<'_, Self>) -> PyResult<Py<PyTensor>> {
        let t = &slf.get().inner;
        if t.layout().is_contiguous() {
            return Ok(slf.clone().unbind());
        }
        wrap(slf.py(), guard(|| t.contiguous())?)
    }

    /// A copy of the data that stays in the graph.
    fn clone(&self, py: Python<'_>) -> PyResult<Py<PyTensor>> {
        wrap(py, guard(|| self.inner.clone_data())?)
    }

    /// Whether the elements are laid out row-major without gaps.
    fn is_contiguous(&self) -> bool {
        self.inner.layout().is_contiguous()
    }

    /// Elements to step in storage per index along each dimension.
    fn stride<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.inner.layout().strides())
    }
}
