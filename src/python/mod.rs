//! PyO3 bindings: the private native module `autodiff._C`. Compiled only with the `python`
//! feature, so the engine itself never links libpython.

mod convert;
mod error;
mod functions;
mod node;
mod tensor;

use pyo3::prelude::*;

use crate::dtype::DType;

#[pymodule]
#[pyo3(name = "_C")]
fn autodiff_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<tensor::PyTensor>()?;
    m.add_class::<node::PyNode>()?;
    m.add_class::<convert::PyDType>()?;
    for dtype in [DType::F32, DType::F64, DType::I64, DType::Bool] {
        m.add(dtype.name(), convert::dtype_object(py, dtype))?;
    }
    functions::register(m)?;
    Ok(())
}
