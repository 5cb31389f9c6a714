//! Module-level functions of `autodiff._C`: tensor creation, grad mode, the autograd entry
//! points and the functions whose first argument may be a number.

use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyUserWarning};
use pyo3::prelude::*;
use pyo3::types::{PyFloat, PyTuple};

use super::convert::{
    dtype_object, extract_dtype, operand_or_err, parse_size, tensor_from_data, PyDType,
};
use super::error::guard;
use super::tensor::{tensor_list, wrap, PyTensor};
use crate::dtype::DType;
use crate::tensor::Tensor;

/// A new tensor of `shape` filled with `value`, with the factory's `requires_grad`; a size
/// beyond memory raises instead of aborting.
fn new_full(
    py: Python<'_>,
    shape: &[usize],
    value: f64,
    dtype: DType,
    requires_grad: bool,
) -> PyResult<Py<PyTensor>> {
    finish(
        py,
        guard(|| Ok(Tensor::full(shape, value, dtype)))?,
        requires_grad,
    )
}

/// Applies a factory's `requires_grad=True`, with PyTorch's message for non-float dtypes.
pub(super) fn finish(py: Python<'_>, t: Tensor, requires_grad: bool) -> PyResult<Py<PyTensor>> {
    if requires_grad {
        if !t.dtype().is_float() {
            return Err(PyRuntimeError::new_err(
                "Only Tensors of floating point and complex dtype can require gradients",
            ));
        }
        guard(|| t.set_requires_grad(true))?;
    }
    wrap(py, t)
}

pub(super) fn dtype_arg(dtype: Option<&Bound<'_, PyAny>>) -> PyResult<Option<DType>> {
    dtype
        .filter(|d| !d.is_none())
        .map(extract_dtype)
        .transpose()
}

/// Builds a tensor from data: a number, nested lists or tuples, a NumPy array, or a tensor
/// (copied, with PyTorch's warning).
#[pyfunction]
#[pyo3(signature = (data, *, dtype=None, device=None, requires_grad=false))]
fn tensor(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    dtype: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
) -> PyResult<Py<PyTensor>> {
    let _ = device;
    if data.is_instance_of::<PyTensor>() {
        let category = py.get_type::<PyUserWarning>();
        PyErr::warn(
            py,
            &category,
            c"To copy construct from a tensor, it is recommended to use sourceTensor.detach().clone() or sourceTensor.detach().clone().requires_grad_(True), rather than torch.tensor(sourceTensor).",
            1,
        )?;
    }
    let t = tensor_from_data(data, dtype_arg(dtype)?)?;
    finish(py, t, requires_grad)
}

/// A tensor filled with `value` of the given size.
fn filled(
    py: Python<'_>,
    size: &Bound<'_, PyTuple>,
    value: f64,
    dtype: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
) -> PyResult<Py<PyTensor>> {
    let shape = parse_size(size)?;
    let dtype = dtype_arg(dtype)?.unwrap_or_else(crate::default_float_dtype);
    new_full(py, &shape, value, dtype, requires_grad)
}

/// Defines a factory `name(*size, dtype=None, device=None, requires_grad=False)` that fills
/// the new tensor with `value`.
macro_rules! sized_factory {
    ($(#[$doc:meta])* $name:ident, $value:expr) => {
        $(#[$doc])*
        #[pyfunction]
        #[pyo3(signature = (*size, dtype=None, device=None, requires_grad=false))]
        fn $name(
            py: Python<'_>,
            size: &Bound<'_, PyTuple>,
            dtype: Option<&Bound<'_, PyAny>>,
            device: Option<&Bound<'_, PyAny>>,
            requires_grad: bool,
        ) -> PyResult<Py<PyTensor>> {
            let _ = device; // always the CPU
            filled(py, size, $value, dtype, requires_grad)
        }
    };
}

sized_factory!(
    /// Zeros of the given size.
    zeros, 0.0
);
sized_factory!(
    /// Ones of the given size.
    ones, 1.0
);
sized_factory!(
    /// An uninitialised tensor; here zero-filled, which is one valid uninitialised content.
    empty, 0.0
);

/// A tensor of `size` filled with `fill_value`; the dtype follows the value's kind.
#[pyfunction]
#[pyo3(signature = (size, fill_value, *, dtype=None, device=None, requires_grad=false))]
fn full(
    py: Python<'_>,
    size: &Bound<'_, PyAny>,
    fill_value: &Bound<'_, PyAny>,
    dtype: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
) -> PyResult<Py<PyTensor>> {
    let _ = device;
    let shape = parse_size(&PyTuple::new(py, [size])?)?;
    let value = operand_or_err(fill_value, "full", "fill_value", 2)?;
    let dtype = match dtype_arg(dtype)? {
        Some(d) => d,
        None if value.dtype().is_float() => crate::default_float_dtype(),
        None => value.dtype(),
    };
    let fill = guard(|| value.item())?;
    new_full(py, &shape, fill, dtype, requires_grad)
}

fn like(
    py: Python<'_>,
    input: &Bound<'_, PyTensor>,
    value: f64,
    dtype: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
) -> PyResult<Py<PyTensor>> {
    let t = &input.get().inner;
    let dtype = dtype_arg(dtype)?.unwrap_or(t.dtype());
    let out = guard(|| t.new_like(|shape| Ok(Tensor::full(shape, value, dtype))))?;
    finish(py, out, requires_grad)
}

/// Zeros with the shape (and by default the dtype) of `input`.
#[pyfunction]
#[pyo3(signature = (input, *, dtype=None, device=None, requires_grad=false))]
fn zeros_like(
    py: Python<'_>,
    input: &Bound<'_, PyTensor>,
    dtype: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
) -> PyResult<Py<PyTensor>> {
    let _ = device;
    like(py, input, 0.0, dtype, requires_grad)
}

/// Ones with the shape (and by default the dtype) of `input`.
#[pyfunction]
#[pyo3(signature = (input, *, dtype=None, device=None, requires_grad=false))]
fn ones_like(
    py: Python<'_>,
    input: &Bound<'_, PyTensor>,
    dtype: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
) -> PyResult<Py<PyTensor>> {
    let _ = device;
    like(py, input, 1.0, dtype, requires_grad)
}

/// `input` where `condition` holds, else `other`; either may be a number.
#[pyfunction]
#[pyo3(name = "where")]
fn where_(
    py: Python<'_>,
    condition: &Bound<'_, PyTensor>,
    input: &Bound<'_, PyAny>,
    other: &Bound<'_, PyAny>,
) -> PyResult<Py<PyTensor>> {
    let a = operand_or_err(input, "where", "input", 2)?;
    let b = operand_or_err(other, "where", "other", 3)?;
    wrap(
        py,
        guard(|| Tensor::where_(&condition.get().inner, &a, &b))?,
    )
}

/// `input ** exponent`, where either side may be a number.
#[pyfunction]
fn pow(
    py: Python<'_>,
    input: &Bound<'_, PyAny>,
    exponent: &Bound<'_, PyAny>,
) -> PyResult<Py<PyTensor>> {
    let base = operand_or_err(input, "pow", "input", 1)?;
    let e = operand_or_err(exponent, "pow", "exponent", 2)?;
    let out = guard(|| {
        if base.is_wrapped_number() {
            e.rpow_wrapped(&base)
        } else {
            super::tensor_math::power(&base, &e)
        }
    })?;
    wrap(py, out)
}

/// Whether ops on this thread record graphs.
#[pyfunction]
fn is_grad_enabled() -> bool {
    crate::is_grad_enabled()
}

/// Whether this thread is in inference mode.
#[pyfunction]
fn is_inference_mode_enabled() -> bool {
    crate::grad_mode::is_inference_mode_enabled()
}

/// Enters (or with `False`, leaves) inference mode on this thread; returns the previous
/// `(inference mode, grad mode)` for `_restore_inference_mode`.
#[pyfunction]
fn _set_inference_mode(enabled: bool) -> (bool, bool) {
    crate::grad_mode::set_inference_mode(enabled)
}

/// Restores what `_set_inference_mode` returned.
#[pyfunction]
fn _restore_inference_mode(previous: (bool, bool)) {
    crate::grad_mode::restore_inference_mode(previous)
}

/// Sets this thread's grad mode; returns the previous one.
#[pyfunction]
fn _set_grad_enabled(enabled: &Bound<'_, PyAny>) -> PyResult<bool> {
    if !enabled.is_instance_of::<pyo3::types::PyBool>() {
        return Err(PyTypeError::new_err(format!(
            "set_grad_enabled(): argument 'enabled' (position 1) must be bool, not {}",
            enabled.get_type().name()?
        )));
    }
    Ok(crate::set_grad_enabled(enabled.extract()?))
}

/// The number of autograd graph nodes alive in the process.
#[pyfunction]
fn _live_nodes() -> usize {
    crate::live_nodes()
}

/// The default float dtype.
#[pyfunction]
fn get_default_dtype(py: Python<'_>) -> Py<PyDType> {
    dtype_object(py, crate::default_float_dtype())
}

/// Sets the default float dtype (`float32` or `float64`).
#[pyfunction]
fn set_default_dtype(dtype: &Bound<'_, PyAny>) -> PyResult<()> {
    let d = extract_dtype(dtype)?;
    guard(|| crate::set_default_float_dtype(d))
}

/// Gradients given per root: tensors, or `None` for implicit ones.
fn gradient_list(grads: Option<&Bound<'_, PyAny>>, n: usize) -> PyResult<Vec<Option<Tensor>>> {
    let Some(grads) = grads.filter(|g| !g.is_none()) else {
        return Ok(vec![None; n]);
    };
    if let Ok(t) = grads.cast::<PyTensor>() {
        return Ok(vec![Some(t.get().inner.clone())]);
    }
    if grads.is_instance_of::<PyFloat>() || grads.is_instance_of::<pyo3::types::PyInt>() {
        return Err(PyTypeError::new_err(format!(
            "'{}' object is not iterable",
            grads.get_type().name()?
        )));
    }
    grads
        .try_iter()?
        .map(|g| {
            let g = g?;
            if g.is_none() {
                Ok(None)
            } else {
                Ok(Some(g.cast::<PyTensor>()?.get().inner.clone()))
            }
        })
        .collect()
}

/// Engine entry of `autodiff.autograd.backward`.
#[pyfunction]
#[pyo3(signature = (tensors, grad_tensors, retain_graph, create_graph, inputs))]
fn _run_backward(
    tensors: &Bound<'_, PyAny>,
    grad_tensors: Option<&Bound<'_, PyAny>>,
    retain_graph: bool,
    create_graph: bool,
    inputs: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    let roots = tensor_list(Some(tensors))?.unwrap_or_default();
    let grads = gradient_list(grad_tensors, roots.len())?;
    let inputs = tensor_list(inputs)?;
    guard(|| {
        crate::autograd::backward(
            &roots,
            &grads,
            retain_graph,
            create_graph,
            inputs.as_deref(),
        )
    })
}

/// Engine entry of `autodiff.autograd.grad`: one gradient or `None` per input.
#[pyfunction]
#[pyo3(signature = (outputs, inputs, grad_outputs, retain_graph, create_graph))]
fn _run_grad(
    py: Python<'_>,
    outputs: &Bound<'_, PyAny>,
    inputs: &Bound<'_, PyAny>,
    grad_outputs: Option<&Bound<'_, PyAny>>,
    retain_graph: bool,
    create_graph: bool,
) -> PyResult<Vec<Option<Py<PyTensor>>>> {
    let roots = tensor_list(Some(outputs))?.unwrap_or_default();
    let grads = gradient_list(grad_outputs, roots.len())?;
    let inputs = tensor_list(Some(inputs))?.unwrap_or_default();
    let results =
        guard(|| crate::autograd::grad(&roots, &grads, &inputs, retain_graph, create_graph))?;
    results
        .into_iter()
        .map(|g| g.map(|g| wrap(py, g)).transpose())
        .collect()
}

/// Registers this file's functions on the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(tensor, m)?)?;
    m.add_function(wrap_pyfunction!(zeros, m)?)?;
    m.add_function(wrap_pyfunction!(ones, m)?)?;
    m.add_function(wrap_pyfunction!(empty, m)?)?;
    m.add_function(wrap_pyfunction!(full, m)?)?;
    m.add_function(wrap_pyfunction!(zeros_like, m)?)?;
    m.add_function(wrap_pyfunction!(ones_like, m)?)?;
    m.add_function(wrap_pyfunction!(where_, m)?)?;
    m.add_function(wrap_pyfunction!(pow, m)?)?;
    m.add_function(wrap_pyfunction!(is_grad_enabled, m)?)?;
    m.add_function(wrap_pyfunction!(_set_grad_enabled, m)?)?;
    m.add_function(wrap_pyfunction!(_live_nodes, m)?)?;
    m.add_function(wrap_pyfunction!(get_default_dtype, m)?)?;
    m.add_function(wrap_pyfunction!(set_default_dtype, m)?)?;
    m.add_function(wrap_pyfunction!(_run_backward, m)?)?;
    m.add_function(wrap_pyfunction!(is_inference_mode_enabled, m)?)?;
    m.add_function(wrap_pyfunction!(_set_inference_mode, m)?)?;
    m.add_function(wrap_pyfunction!(_restore_inference_mode, m)?)?;
    m.add_function(wrap_pyfunction!(_run_grad, m)?)?;
    Ok(())
}
