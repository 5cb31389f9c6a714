//! Hooks from Python: callables wrapped as engine hooks, `RemovableHandle`, and the
//! garbage-collector support that lets Python collect a hook that captures its own tensor.

use std::any::Any;
use std::sync::Arc;

use pyo3::gc::PyVisit;
use pyo3::prelude::*;
use pyo3::types::{PyTuple, PyWeakrefReference};
use pyo3::PyTraverseError;

use super::error::guard;
use super::node::PyNode;
use super::tensor::{wrap, PyTensor};
use crate::autograd::hooks::{
    GradHook, HookHandle, HookInfo, HookOwner, NodePostHook, NodePreHook, PostAccumulateHook,
};
use crate::autograd::Grads;
use crate::error::{CallbackError, Error, Result};
use crate::tensor::Tensor;

/// Removes the hook it was returned for (PyTorch's `torch.utils.hooks.RemovableHandle`).
#[pyclass(name = "RemovableHandle", module = "autodiff.utils.hooks", frozen)]
pub struct PyRemovableHandle {
    handle: HookHandle,
}

#[pymethods]
impl PyRemovableHandle {
    /// Removes the hook; doing it again does nothing.
    fn remove(&self) {
        self.handle.remove();
    }

    /// The hook's id, unique in the process.
    #[getter]
    fn id(&self) -> u64 {
        self.handle.id()
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(&self, _exc_type: Py<PyAny>, _exc: Py<PyAny>, _tb: Py<PyAny>) {
        self.handle.remove();
    }
}

fn handle(py: Python<'_>, handle: HookHandle) -> PyResult<Py<PyRemovableHandle>> {
    Py::new(py, PyRemovableHandle { handle })
}

/// A Python exception raised inside a hook, carried through the engine unchanged.
pub(crate) fn callback_error(err: PyErr) -> Error {
    let message = Python::attach(|py| err.value(py).to_string());
    Error::Callback(CallbackError::new(message, Arc::new(err)))
}

/// The name PyTorch shows for a hook in messages: its `__name__`, else its repr.
fn hook_name(callable: &Bound<'_, PyAny>) -> String {
    callable
        .getattr("__name__")
        .and_then(|n| n.extract::<String>())
        .or_else(|_| callable.repr().map(|r| r.to_string()))
        .unwrap_or_default()
}

/// The callable, shared by the hook's closure and its info (one Python reference, which
/// the garbage collector is shown once).
fn owned(callable: &Bound<'_, PyAny>) -> (Arc<Py<PyAny>>, HookInfo) {
    let shared = Arc::new(callable.clone().unbind());
    let owner: HookOwner = shared.clone();
    (shared, HookInfo::new(hook_name(callable), Some(owner)))
}

/// A hook's result as an optional tensor; anything else is PyTorch's `TypeError`.
fn returned_tensor(out: &Bound<'_, PyAny>) -> Result<Option<Tensor>> {
    if out.is_none() {
        return Ok(None);
    }
    match out.cast::<PyTensor>() {
        Ok(t) => Ok(Some(t.get().inner.clone())),
        Err(_) => Err(Error::Type(format!(
            "expected Variable, but hook returned '{}'",
            type_name(out)
        ))),
    }
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_default()
}

/// A tuple of optional tensors for a node hook.
fn grads_tuple<'py>(py: Python<'py>, grads: &[Option<Tensor>]) -> PyResult<Bound<'py, PyTuple>> {
    let items: Vec<Py<PyAny>> = grads
        .iter()
        .map(|g| match g {
            Some(t) => wrap(py, t.clone()).map(Py::into_any),
            None => Ok(py.None()),
        })
        .collect::<PyResult<_>>()?;
    PyTuple::new(py, items)
}

/// A node hook's result: `None` keeps the gradients, a tuple (or list) replaces them.
fn returned_grads(out: &Bound<'_, PyAny>) -> Result<Option<Grads>> {
    if out.is_none() {
        return Ok(None);
    }
    let items: Vec<Bound<'_, PyAny>> = out
        .try_iter()
        .and_then(|it| it.collect::<PyResult<_>>())
        .map_err(|_| {
            Error::Type(format!(
                "expected tuple, but hook returned '{}'",
                type_name(out)
            ))
        })?;
    items
        .iter()
        .map(returned_tensor)
        .collect::<Result<_>>()
        .map(Some)
}

fn grad_hook(callable: &Bound<'_, PyAny>) -> GradHook {
    let (f, info) = owned(callable);
    GradHook::new(
        info,
        Arc::new(move |g: &Tensor| {
            Python::attach(|py| {
                let grad = wrap(py, g.clone()).map_err(callback_error)?;
                let out = f.bind(py).call1((grad,)).map_err(callback_error)?;
                returned_tensor(&out)
            })
        }),
    )
}

#[pymethods]
impl PyTensor {
    /// Registers `hook(grad) -> Tensor | None`, run on this tensor's gradient each time it
    /// is computed; a returned tensor replaces the gradient.
    fn register_hook(
        &self,
        py: Python<'_>,
        hook: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyRemovableHandle>> {
        let h = guard(|| self.inner.register_hook(grad_hook(hook)))?;
        handle(py, h)
    }

    /// Registers `hook(tensor)`, run after this leaf's `.grad` was updated; the hook gets
    /// this very object (`p is x`) while it is alive.
    fn register_post_accumulate_grad_hook(
        slf: &Bound<'_, Self>,
        hook: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyRemovableHandle>> {
        let py = slf.py();
        let (f, info) = owned(hook);
        let this = PyWeakrefReference::new(slf)?.unbind();
        let h = PostAccumulateHook::new(
            info,
            Arc::new(move |t: &Tensor| {
                Python::attach(|py| {
                    let tensor = match this.bind(py).upgrade() {
                        Some(obj) => obj,
                        None => wrap(py, t.clone())
                            .map_err(callback_error)?
                            .into_bound(py)
                            .into_any(),
                    };
                    f.bind(py).call1((tensor,)).map_err(callback_error)?;
                    Ok(())
                })
            }),
        );
        let h = guard(|| slf.get().inner.register_post_accumulate_grad_hook(h))?;
        handle(py, h)
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> std::result::Result<(), PyTraverseError> {
        // Only a tensor that Python alone holds may report what its hooks reference: another
        // holder (another wrapper, an op's saved tensor) keeps the hooks alive anyway. The one
        // exception is the leaf's own accumulator node, which holds it for the graph.
        if Arc::strong_count(&self.inner.0) != 1 + usize::from(self.inner.has_accumulator()) {
            return Ok(());
        }
        self.inner
            .gc_visit_hook_owners(|owner| match py_object(owner) {
                Some(obj) => visit.call(obj),
                None => Ok(()),
            })
    }

    fn __clear__(&self) {
        self.inner.gc_clear_hooks();
    }
}

fn py_object(owner: &HookOwner) -> Option<&Py<PyAny>> {
    (&**owner as &dyn Any).downcast_ref::<Py<PyAny>>()
}

#[pymethods]
impl PyNode {
    /// Registers `hook(grad_outputs) -> tuple | None`, run before the node's rule; a returned
    /// tuple replaces the gradients of its outputs.
    fn register_prehook(
        &self,
        py: Python<'_>,
        hook: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyRemovableHandle>> {
        let (f, info) = owned(hook);
        let h = NodePreHook::new(
            info,
            Arc::new(move |grad_outputs: &[Option<Tensor>]| {
                Python::attach(|py| {
                    let args = grads_tuple(py, grad_outputs).map_err(callback_error)?;
                    let out = f.bind(py).call1((args,)).map_err(callback_error)?;
                    returned_grads(&out)
                })
            }),
        );
        handle(py, self.node.register_prehook(h))
    }

    /// Registers `hook(grad_inputs, grad_outputs) -> tuple | None`, run after the node's
    /// rule; a returned tuple replaces the gradients of its inputs.
    fn register_hook(
        &self,
        py: Python<'_>,
        hook: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyRemovableHandle>> {
        let (f, info) = owned(hook);
        let h = NodePostHook::new(
            info,
            Arc::new(
                move |grad_inputs: &[Option<Tensor>], grad_outputs: &[Option<Tensor>]| {
                    Python::attach(|py| {
                        let inputs = grads_tuple(py, grad_inputs).map_err(callback_error)?;
                        let outputs = grads_tuple(py, grad_outputs).map_err(callback_error)?;
                        let out = f
                            .bind(py)
                            .call1((inputs, outputs))
                            .map_err(callback_error)?;
                        returned_grads(&out)
                    })
                },
            ),
        );
        handle(py, self.node.register_hook(h))
    }
}

/// Registers this file's classes on the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyRemovableHandle>()
}
