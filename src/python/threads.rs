//! The thread count of the kernels' team (`torch.get_num_threads` / `set_num_threads`).

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyBool;

/// Threads the kernels use, the calling thread included.
#[pyfunction]
fn get_num_threads() -> usize {
    crate::parallel::num_threads()
}

/// Sets the threads the kernels use, with PyTorch's checks and messages.
#[pyfunction]
fn set_num_threads(threads: &Bound<'_, PyAny>) -> PyResult<()> {
    // PyTorch takes Python and NumPy integers, not bools.
    let count = match threads.is_instance_of::<PyBool>() {
        true => None,
        false => threads
            .call_method0("__index__")
            .ok()
            .and_then(|n| n.extract::<i128>().ok()),
    };
    let Some(count) = count else {
        let type_name = threads.get_type().name()?.to_string();
        return Err(PyRuntimeError::new_err(format!(
            "set_num_threads expects an int, but got {type_name}"
        )));
    };
    if count <= 0 || count > i128::from(i32::MAX) {
        return Err(PyRuntimeError::new_err(
            "set_num_threads expects a positive integer",
        ));
    }
    crate::parallel::set_num_threads(count as usize);
    Ok(())
}

/// Registers this file's functions on the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(get_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(set_num_threads, m)?)
}
