//! The one place where engine errors and Rust panics become Python exceptions.

use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::exceptions::{
    PyIndexError, PyNotImplementedError, PyRuntimeError, PyTypeError, PyValueError,
};
use pyo3::PyErr;

use crate::error::Error;

impl From<Error> for PyErr {
    fn from(err: Error) -> PyErr {
        match err {
            Error::Runtime(msg) => PyRuntimeError::new_err(msg),
            Error::Value(msg) => PyValueError::new_err(msg),
            Error::Type(msg) => PyTypeError::new_err(msg),
            Error::Index(msg) => PyIndexError::new_err(msg),
            Error::NotImplemented(msg) => PyNotImplementedError::new_err(msg),
            Error::Callback(err) => match err.payload().downcast_ref::<PyErr>() {
                Some(raised) => pyo3::Python::attach(|py| raised.clone_ref(py)),
                None => PyRuntimeError::new_err(err.to_string()),
            },
        }
    }
}

/// Runs an engine call from Python: errors map to PyTorch's exception types, and a panic (a
/// bug in the engine) becomes a `RuntimeError` instead of PyO3's `PanicException`, which
/// `except Exception` would not catch.
#[inline]
pub(crate) fn guard<T>(f: impl FnOnce() -> Result<T, Error>) -> Result<T, PyErr> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result.map_err(PyErr::from),
        Err(payload) => Err(panic_error(payload)),
    }
}

/// [`guard`] for a binding body that itself raises Python exceptions (the NumPy and DLPack
/// interop, which works on Python objects as much as on the engine).
pub(crate) fn guard_py<T>(f: impl FnOnce() -> Result<T, PyErr>) -> Result<T, PyErr> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| Err(panic_error(payload)))
}

fn panic_error(payload: Box<dyn std::any::Any + Send>) -> PyErr {
    if let Some(e) = payload.downcast_ref::<crate::storage::AllocError>() {
        return PyRuntimeError::new_err(format!(
            "DefaultCPUAllocator: not enough memory: you tried to allocate {} bytes.",
            e.bytes
        ));
    }
    let detail = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    PyRuntimeError::new_err(format!(
        "internal error in the autodiff engine: {detail}. This is a bug; please report it."
    ))
}
