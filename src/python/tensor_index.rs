//! Indexing, joining and splitting as Python sees them: `x[...]`, `x[...] = v`, `narrow`,
//! `select`, `split`, `chunk`, `unbind`, `unflatten`, `gather`, `index_select`,
//! `masked_fill`, and the module functions `cat` and `stack`.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyEllipsis, PyInt, PyList, PySlice, PyTuple};

use super::convert::{operand_or_err, tensor_arg, tensor_from_data};
use super::error::guard;
use super::tensor::{wrap, PyTensor};
use crate::ops::index::IndexItem;
use crate::tensor::Tensor;
use crate::DType;

/// One Python index entry.
fn index_item(obj: &Bound<'_, PyAny>) -> PyResult<IndexItem> {
    if obj.is_none() {
        return Ok(IndexItem::NewAxis);
    }
    if obj.is_instance_of::<PyEllipsis>() {
        return Ok(IndexItem::Ellipsis);
    }
    if obj.is_instance_of::<PyBool>() {
        return Ok(IndexItem::Tensor(Tensor::scalar(obj.extract::<bool>()?)));
    }
    if obj.is_instance_of::<PyInt>() {
        return Ok(IndexItem::Int(obj.extract()?));
    }
    if obj.is_instance_of::<pyo3::types::PyFloat>() {
        return Err(pyo3::exceptions::PyIndexError::new_err(
            "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are \
             valid indices (got float)",
        ));
    }
    if let Ok(slice) = obj.cast::<PySlice>() {
        let part = |name: &str| -> PyResult<Option<i64>> {
            let v = slice.getattr(name)?;
            if v.is_none() {
                Ok(None)
            } else {
                v.extract().map(Some)
            }
        };
        return Ok(IndexItem::Slice {
            start: part("start")?,
            stop: part("stop")?,
            step: part("step")?.unwrap_or(1),
        });
    }
    let t = match obj.cast::<PyTensor>() {
        Ok(t) => t.get().inner.clone(),
        Err(_) => tensor_from_data(obj, None)?,
    };
    // A 0-d integer tensor indexes like an int.
    if t.ndim() == 0 && t.dtype() == DType::I64 {
        return Ok(IndexItem::Int(t.first_value()));
    }
    Ok(IndexItem::Tensor(t))
}

/// A whole index expression: a tuple is several entries, anything else one.
fn index_items(index: &Bound<'_, PyAny>) -> PyResult<Vec<IndexItem>> {
    match index.cast::<PyTuple>() {
        Ok(tuple) => tuple.iter().map(|i| index_item(&i)).collect(),
        Err(_) => Ok(vec![index_item(index)?]),
    }
}

/// A sequence of tensors, as `cat` and `stack` take it.
fn tensor_list(tensors: &Bound<'_, PyAny>, func: &str) -> PyResult<Vec<Tensor>> {
    if tensors.cast::<PyTensor>().is_ok()
        || !(tensors.is_instance_of::<PyList>() || tensors.is_instance_of::<PyTuple>())
    {
        let type_name = tensors.get_type().name()?.to_string();
        return Err(PyTypeError::new_err(format!(
            "{func}(): argument 'tensors' (position 1) must be tuple of Tensors, not {type_name}"
        )));
    }
    tensors
        .try_iter()?
        .enumerate()
        .map(|(i, t)| {
            let t = t?;
            t.cast::<PyTensor>()
                .map(|t| t.get().inner.clone())
                .map_err(|_| {
                    let type_name = t
                        .get_type()
                        .name()
                        .map(|n| n.to_string())
                        .unwrap_or_default();
                    PyTypeError::new_err(format!(
                        "expected Tensor as element {i} in argument 0, but got {type_name}"
                    ))
                })
        })
        .collect()
}

fn wrap_all(py: Python<'_>, pieces: Vec<Tensor>) -> PyResult<Bound<'_, PyTuple>> {
    let wrapped: Vec<Py<PyTensor>> = pieces
        .into_iter()
        .map(|t| wrap(py, t))
        .collect::<PyResult<_>>()?;
    PyTuple::new(py, wrapped)
}

#[pymethods]
impl PyTensor {
    fn __getitem__(&self, py: Python<'_>, index: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        let items = index_items(index)?;
        wrap(py, guard(|| self.inner.index(&items))?)
    }

    fn __setitem__(&self, index: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let items = index_items(index)?;
        let value = operand_or_err(value, "__setitem__", "value", 1)?;
        guard(|| self.inner.index_put_(&items, &value))
    }

    /// `length` elements from `start` along `dim` (a view).
    fn narrow(&self, py: Python<'_>, dim: i64, start: i64, length: i64) -> PyResult<Py<PyTensor>> {
        wrap(py, guard(|| self.inner.narrow(dim, start, length))?)
    }

    /// The slice at `index` along `dim`, without that dimension (a view).
    fn select(&self, py: Python<'_>, dim: i64, index: i64) -> PyResult<Py<PyTensor>> {
        wrap(py, guard(|| self.inner.select(dim, index))?)
    }

    /// Views of `split_size` elements along `dim`, or of the sizes in a list.
    #[pyo3(signature = (split_size, dim=0))]
    fn split<'py>(
        &self,
        py: Python<'py>,
        split_size: &Bound<'py, PyAny>,
        dim: i64,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let pieces = match split_size.extract::<i64>() {
            Ok(size) => guard(|| self.inner.split(size, dim))?,
            Err(_) => {
                let sizes: Vec<i64> = split_size.extract()?;
                guard(|| self.inner.split_with_sizes(&sizes, dim))?
            }
        };
        wrap_all(py, pieces)
    }

    /// `chunks` views of (nearly) equal size along `dim`.
    #[pyo3(signature = (chunks, dim=0))]
    fn chunk<'py>(&self, py: Python<'py>, chunks: i64, dim: i64) -> PyResult<Bound<'py, PyTuple>> {
        wrap_all(py, guard(|| self.inner.chunk(chunks, dim))?)
    }

    /// The slices along `dim`, each without that dimension.
    #[pyo3(signature = (dim=0))]
    fn unbind<'py>(&self, py: Python<'py>, dim: i64) -> PyResult<Bound<'py, PyTuple>> {
        wrap_all(py, guard(|| self.inner.unbind(dim))?)
    }

    /// Dimension `dim` split into `sizes`.
    fn unflatten(&self, py: Python<'_>, dim: i64, sizes: Vec<i64>) -> PyResult<Py<PyTensor>> {
        wrap(py, guard(|| self.inner.unflatten(dim, &sizes))?)
    }

    /// Values along `dim` picked by the int64 `index`.
    fn gather(&self, py: Python<'_>, dim: i64, index: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        let index = tensor_arg(index, "gather", "index", 2)?;
        wrap(py, guard(|| self.inner.gather(dim, &index.get().inner))?)
    }

    /// The slices at the int64 vector `index` along `dim`.
    fn index_select(
        &self,
        py: Python<'_>,
        dim: i64,
        index: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyTensor>> {
        let index = tensor_arg(index, "index_select", "index", 2)?;
        wrap(
            py,
            guard(|| self.inner.index_select(dim, &index.get().inner))?,
        )
    }

    /// `value` where the bool `mask` is true, else this tensor's elements.
    fn masked_fill(
        &self,
        py: Python<'_>,
        mask: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyTensor>> {
        let mask = tensor_arg(mask, "masked_fill", "mask", 1)?;
        let value = operand_or_err(value, "masked_fill", "value", 2)?;
        wrap(
            py,
            guard(|| self.inner.masked_fill(&mask.get().inner, &value))?,
        )
    }
}

/// Joins tensors along an existing dimension.
#[pyfunction]
#[pyo3(signature = (tensors, dim=0))]
pub(crate) fn cat(py: Python<'_>, tensors: &Bound<'_, PyAny>, dim: i64) -> PyResult<Py<PyTensor>> {
    let tensors = tensor_list(tensors, "cat")?;
    wrap(py, guard(|| Tensor::cat(&tensors, dim))?)
}

/// Joins same-shaped tensors along a new dimension.
#[pyfunction]
#[pyo3(signature = (tensors, dim=0))]
pub(crate) fn stack(
    py: Python<'_>,
    tensors: &Bound<'_, PyAny>,
    dim: i64,
) -> PyResult<Py<PyTensor>> {
    let tensors = tensor_list(tensors, "stack")?;
    wrap(py, guard(|| Tensor::stack(&tensors, dim))?)
}
