//! PyO3 bindings: the private native module `autodiff._C`. Compiled only with the `python`
//! feature, so the engine itself never links libpython.

mod anomaly;
mod convert;
mod creation;
mod dlpack;
mod error;
mod function;
mod functions;
mod hooks;
mod interop;
mod node;
mod saved;
mod tensor;
mod tensor_index;
mod tensor_inplace;
mod tensor_linalg;
mod tensor_math;
mod tensor_reduce;
mod tensor_shape;
mod threads;
mod training;

use pyo3::prelude::*;

use crate::dtype::DType;

/// Every Rust allocation of the extension goes through mimalloc, which keeps freed pages for
/// reuse. With the system allocator each training step mapped fresh pages for its gradients
/// and for gemm's packing buffers and then faulted them in: 14% of an MLP step went to page
/// faults. Python's own objects still use Python's allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

// `gil_used = true` until the bindings are audited for free-threaded Python.
#[pymodule(gil_used = true)]
#[pyo3(name = "_C")]
fn autodiff_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    quiet_allocation_failures();
    m.add_class::<tensor::PyTensor>()?;
    plain_type_name::<tensor::PyTensor>(py, c"Tensor");
    m.add_class::<node::PyNode>()?;
    m.add_class::<convert::PyDType>()?;
    for dtype in [DType::F32, DType::F64, DType::I64, DType::Bool] {
        m.add(dtype.name(), convert::dtype_object(py, dtype))?;
    }
    functions::register(m)?;
    hooks::register(m)?;
    function::register(m)?;
    anomaly::register(m)?;
    creation::register(m)?;
    training::register(m)?;
    saved::register(m)?;
    threads::register(m)?;
    m.add_function(wrap_pyfunction!(tensor_linalg::addmm, m)?)?;
    m.add_function(wrap_pyfunction!(tensor_index::cat, m)?)?;
    m.add_function(wrap_pyfunction!(tensor_index::stack, m)?)?;
    m.add_function(wrap_pyfunction!(interop::from_numpy, m)?)?;
    m.add_function(wrap_pyfunction!(dlpack::from_dlpack, m)?)?;
    Ok(())
}

/// Gives a class the bare C-level name Python's own messages use, as PyTorch's `Tensor` has
/// ("unsupported operand type(s) for +: 'Tensor' and 'str'"); PyO3 names it
/// `autodiff.Tensor`. `__module__` and `__name__` are unaffected.
fn plain_type_name<T: pyo3::PyTypeInfo>(py: Python<'_>, name: &'static std::ffi::CStr) {
    let type_object = T::type_object(py);
    // SAFETY: `tp_name` of a heap type is only read, never freed, by CPython (the name it owns
    // lives in `_ht_tpname`); a static string outlives the type.
    unsafe {
        (*type_object.as_type_ptr()).tp_name = name.as_ptr();
    }
}

/// A failed allocation unwinds to the binding layer, which raises PyTorch's out-of-memory
/// `RuntimeError`; the default panic hook would also print a backtrace for it. Other panics
/// (engine bugs) are still printed.
fn quiet_allocation_failures() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info
            .payload()
            .downcast_ref::<crate::storage::AllocError>()
            .is_none()
        {
            default(info);
        }
    }));
}
