//! `grad_fn._saved_<name>` and `grad_fn._raw_saved_<name>`: what a node saved for backward,
//! by PyTorch's names, and hooks that take over a saved tensor.

use pyo3::exceptions::{PyAttributeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::PyList;

use super::error::guard;
use super::hooks::callback_error;
use super::node::PyNode;
use super::tensor::{wrap, PyTensor};
use crate::autograd::saved::{self, SavedAttribute};
use crate::autograd::{NodeRef, PackedTensor, SavedValue};
use crate::error::Result;
use crate::tensor::Tensor;

fn value_object(py: Python<'_>, value: SavedValue) -> PyResult<Py<PyAny>> {
    Ok(match value {
        SavedValue::None => py.None(),
        SavedValue::Bool(b) => b.into_pyobject(py)?.to_owned().into_any().unbind(),
        SavedValue::Int(i) => i.into_pyobject(py)?.into_any().unbind(),
        SavedValue::Float(f) => f.into_pyobject(py)?.into_any().unbind(),
        SavedValue::Str(s) => s.into_pyobject(py)?.into_any().unbind(),
        SavedValue::Ints(v) => v.into_pyobject(py)?.into_any().unbind(),
    })
}

#[pymethods]
impl PyNode {
    /// `_saved_<name>`: a saved tensor or argument; `_raw_saved_<name>`: the saved tensor's
    /// slot, for `register_hooks`.
    fn __getattr__(slf: &Bound<'_, Self>, name: &str) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let node = &slf.get().node;
        let (raw, wanted) = match name.strip_prefix("_raw_saved_") {
            Some(rest) => (true, rest),
            None => (false, name.strip_prefix("_saved_").unwrap_or("")),
        };
        let found = saved::attributes(node.id())
            .into_iter()
            .find(|(n, _)| !wanted.is_empty() && *n == wanted);
        match (found, raw) {
            (Some((_, SavedAttribute::Tensor { index })), true) => Ok(Py::new(
                py,
                PySavedTensor {
                    node: node.clone(),
                    index,
                },
            )?
            .into_any()),
            (Some((_, SavedAttribute::Tensor { index })), false) => {
                let t = guard(|| saved::tensor(node.id(), index))?;
                Ok(wrap(py, t)?.into_any())
            }
            (Some((_, SavedAttribute::Value(value))), false) => value_object(py, value),
            _ => Err(PyAttributeError::new_err(format!(
                "'{}' object has no attribute '{name}'",
                node.name()
            ))),
        }
    }

    fn __dir__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyList>> {
        let names = slf
            .get_type()
            .getattr("__dict__")?
            .call_method0("keys")?
            .try_iter()?
            .collect::<PyResult<Vec<_>>>()?;
        let out = PyList::new(slf.py(), names)?;
        for (name, attribute) in saved::attributes(slf.get().node.id()) {
            out.append(format!("_saved_{name}"))?;
            if matches!(attribute, SavedAttribute::Tensor { .. }) {
                out.append(format!("_raw_saved_{name}"))?;
            }
        }
        out.sort()?;
        Ok(out)
    }
}

/// One saved-tensor slot of a node (PyTorch's `torch._C._autograd.SavedTensor`).
#[pyclass(name = "SavedTensor", module = "autodiff.autograd.graph", frozen)]
pub struct PySavedTensor {
    node: NodeRef,
    index: usize,
}

/// What `register_hooks` keeps in a slot: `pack`'s result and the `unpack` to call on it.
struct PythonPacked {
    packed: Py<PyAny>,
    unpack: Py<PyAny>,
}

impl PackedTensor for PythonPacked {
    fn unpack(&self) -> Result<Tensor> {
        Python::attach(|py| {
            let out = self
                .unpack
                .call1(py, (self.packed.clone_ref(py),))
                .map_err(callback_error)?;
            let out = out.bind(py);
            match out.cast::<PyTensor>() {
                Ok(t) => Ok(t.get().inner.clone()),
                Err(_) => Err(callback_error(PyTypeError::new_err(format!(
                    "Output of saved tensor unpack_hook expected to be a Tensor but got result \
                     of type {}",
                    out.get_type()
                        .name()
                        .map_or_else(|_| "?".to_string(), |n| n.to_string())
                )))),
            }
        })
    }
}

#[pymethods]
impl PySavedTensor {
    /// Calls `pack(tensor)` now and keeps its result instead of the tensor; backward gets
    /// the tensor back from `unpack(packed)`.
    fn register_hooks(
        &self,
        pack_hook: &Bound<'_, PyAny>,
        unpack_hook: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        for hook in [pack_hook, unpack_hook] {
            if !hook.is_callable() {
                return Err(PyTypeError::new_err(format!(
                    "register_hooks(): expected two callables, got {}",
                    hook.get_type().name()?
                )));
            }
        }
        guard(|| {
            saved::register_hooks(self.node.id(), self.index, |t| {
                let packed = Python::attach(|py| {
                    let t = wrap(py, t)?;
                    pack_hook.call1((t,)).map(Bound::unbind)
                })
                .map_err(callback_error)?;
                Ok(std::sync::Arc::new(PythonPacked {
                    packed,
                    unpack: unpack_hook.clone().unbind(),
                }))
            })
        })?;
        Ok(())
    }
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySavedTensor>()
}
