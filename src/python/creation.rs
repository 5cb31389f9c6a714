//! Factories that follow a rule or draw random numbers: `arange`, `linspace`, `eye`,
//! `rand`, `randn`, `randint`, the `*_like` forms, and the default generator's seed.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyTuple};

use super::convert::{operand_or_err, parse_size};
use super::error::guard;
use super::functions::{dtype_arg, finish};
use super::tensor::PyTensor;
use crate::dtype::DType;
use crate::tensor::Tensor;

/// A number argument (a Python number or a one-element tensor), and whether it is integral.
fn number(obj: &Bound<'_, PyAny>) -> PyResult<(f64, bool)> {
    if let Ok(t) = obj.cast::<PyTensor>() {
        let t = &t.get().inner;
        return Ok((guard(|| t.item())?, !t.dtype().is_float()));
    }
    let integral = obj.is_instance_of::<PyInt>() && !obj.is_instance_of::<PyFloat>();
    Ok((obj.extract::<f64>()?, integral))
}

/// Values from `start` to `end` (exclusive) by `step`; `arange(end)` starts at 0. Integer
/// arguments give int64, as in PyTorch.
#[pyfunction]
#[pyo3(signature = (start=None, end=None, step=None, *, dtype=None, device=None, requires_grad=false))]
fn arange(
    py: Python<'_>,
    start: Option<&Bound<'_, PyAny>>,
    end: Option<&Bound<'_, PyAny>>,
    step: Option<&Bound<'_, PyAny>>,
    dtype: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
) -> PyResult<Py<PyTensor>> {
    let _ = device;
    let start = start.filter(|s| !s.is_none()).map(number).transpose()?;
    let end = end.filter(|e| !e.is_none()).map(number).transpose()?;
    let (start, end, mut integral) = match (start, end) {
        (Some((s, s_int)), Some((e, e_int))) => (s, e, s_int && e_int),
        (Some((e, e_int)), None) | (None, Some((e, e_int))) => (0.0, e, e_int),
        (None, None) => {
            return Err(PyTypeError::new_err(
                "arange() missing required argument 'end' (pos 1)",
            ))
        }
    };
    let step = match step.filter(|s| !s.is_none()) {
        Some(s) => {
            let (step, step_int) = number(s)?;
            integral &= step_int;
            step
        }
        None => 1.0,
    };
    let default = if integral {
        DType::I64
    } else {
        crate::default_float_dtype()
    };
    let dtype = dtype_arg(dtype)?.unwrap_or(default);
    let t = guard(|| Tensor::arange(start, end, step, dtype))?;
    finish(py, t, requires_grad)
}

/// `steps` evenly spaced values from `start` to `end` inclusive.
#[pyfunction]
#[pyo3(signature = (start, end, steps, *, dtype=None, device=None, requires_grad=false))]
fn linspace(
    py: Python<'_>,
    start: &Bound<'_, PyAny>,
    end: &Bound<'_, PyAny>,
    steps: i64,
    dtype: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
) -> PyResult<Py<PyTensor>> {
    let _ = device;
    let dtype = dtype_arg(dtype)?.unwrap_or_else(crate::default_float_dtype);
    let (start, end) = (number(start)?.0, number(end)?.0);
    let t = guard(|| Tensor::linspace(start, end, steps, dtype))?;
    finish(py, t, requires_grad)
}

/// The identity matrix with `n` rows and `m` (default `n`) columns.
#[pyfunction]
#[pyo3(signature = (n, m=None, *, dtype=None, device=None, requires_grad=false))]
fn eye(
    py: Python<'_>,
    n: i64,
    m: Option<i64>,
    dtype: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
) -> PyResult<Py<PyTensor>> {
    let _ = device;
    let m = m.unwrap_or(n);
    for (what, v) in [("n", n), ("m", m)] {
        if v < 0 {
            return Err(pyo3::exceptions::PyRuntimeError::new_err(format!(
                "{what} must be greater or equal to 0, got {v}"
            )));
        }
    }
    let dtype = dtype_arg(dtype)?.unwrap_or_else(crate::default_float_dtype);
    let t = guard(|| Tensor::eye(n as usize, m as usize, dtype))?;
    finish(py, t, requires_grad)
}

/// A size given positionally (`rand(2, 3)`, `rand((2, 3))`) or as `size=`.
fn size_arg(
    py: Python<'_>,
    args: &Bound<'_, PyTuple>,
    size: Option<&Bound<'_, PyAny>>,
) -> PyResult<Vec<usize>> {
    match size.filter(|s| !s.is_none()) {
        Some(_) if !args.is_empty() => Err(PyTypeError::new_err(
            "the size was given both positionally and as size=",
        )),
        Some(s) => parse_size(&PyTuple::new(py, [s])?),
        None => parse_size(args),
    }
}

/// Only the default generator exists; PyTorch's `generator=` must be left out or `None`.
pub(super) fn check_generator(generator: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
    match generator {
        Some(g) if !g.is_none() => Err(PyTypeError::new_err(
            "autodiff has one generator: leave out `generator=` and seed it with manual_seed()",
        )),
        _ => Ok(()),
    }
}

macro_rules! random_factory {
    ($(#[$doc:meta])* $name:ident, $like:ident, $method:ident) => {
        $(#[$doc])*
        #[pyfunction]
        #[pyo3(signature = (*args, size=None, generator=None, dtype=None, device=None, requires_grad=false))]
        fn $name(
            py: Python<'_>,
            args: &Bound<'_, PyTuple>,
            size: Option<&Bound<'_, PyAny>>,
            generator: Option<&Bound<'_, PyAny>>,
            dtype: Option<&Bound<'_, PyAny>>,
            device: Option<&Bound<'_, PyAny>>,
            requires_grad: bool,
        ) -> PyResult<Py<PyTensor>> {
            let _ = device;
            check_generator(generator)?;
            let shape = size_arg(py, args, size)?;
            let dtype = dtype_arg(dtype)?.unwrap_or_else(crate::default_float_dtype);
            finish(py, guard(|| Tensor::$method(&shape, dtype))?, requires_grad)
        }

        /// The same, with the shape (and by default the dtype) of `input`.
        #[pyfunction]
        #[pyo3(signature = (input, *, dtype=None, device=None, requires_grad=false))]
        fn $like(
            py: Python<'_>,
            input: &Bound<'_, PyTensor>,
            dtype: Option<&Bound<'_, PyAny>>,
            device: Option<&Bound<'_, PyAny>>,
            requires_grad: bool,
        ) -> PyResult<Py<PyTensor>> {
            let _ = device;
            let t = &input.get().inner;
            let dtype = dtype_arg(dtype)?.unwrap_or(t.dtype());
            finish(py, guard(|| t.new_like(|shape| Tensor::$method(shape, dtype)))?, requires_grad)
        }
    };
}

random_factory!(
    /// Uniform samples in `[0, 1)`.
    rand, rand_like, rand
);
random_factory!(
    /// Standard normal samples.
    randn, randn_like, randn
);

/// Integers uniform in `[low, high)`: `randint(high, size)` or `randint(low, high, size)`.
#[pyfunction]
#[pyo3(signature = (*args, size=None, generator=None, dtype=None, device=None, requires_grad=false))]
#[allow(clippy::too_many_arguments)] // PyTorch's signature
fn randint(
    py: Python<'_>,
    args: &Bound<'_, PyTuple>,
    size: Option<&Bound<'_, PyAny>>,
    generator: Option<&Bound<'_, PyAny>>,
    dtype: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
) -> PyResult<Py<PyTensor>> {
    let _ = device;
    check_generator(generator)?;
    let mut args: Vec<Bound<'_, PyAny>> = args.iter().collect();
    if let Some(size) = size.filter(|s| !s.is_none()) {
        args.push(size.clone());
    }
    let (low, high, size) = match args.len() {
        2 => (0, args[0].extract()?, args[1].clone()),
        3 => (args[0].extract()?, args[1].extract()?, args[2].clone()),
        n => {
            return Err(PyTypeError::new_err(format!(
                "randint() takes (high, size) or (low, high, size), but {n} positional \
                 arguments were given"
            )))
        }
    };
    let shape = parse_size(&PyTuple::new(py, [size])?)?;
    let dtype = dtype_arg(dtype)?.unwrap_or(DType::I64);
    finish(
        py,
        guard(|| Tensor::randint(low, high, &shape, dtype))?,
        requires_grad,
    )
}

/// A random permutation of `0..n` (`torch.randperm`).
#[pyfunction]
#[pyo3(signature = (n, *, generator=None, dtype=None, device=None, requires_grad=false))]
fn randperm(
    py: Python<'_>,
    n: i64,
    generator: Option<&Bound<'_, PyAny>>,
    dtype: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
) -> PyResult<Py<PyTensor>> {
    let _ = device;
    check_generator(generator)?;
    let Ok(n) = usize::try_from(n) else {
        return Err(pyo3::exceptions::PyRuntimeError::new_err(format!(
            "Trying to create tensor with negative dimension {n}: [{n}]"
        )));
    };
    let dtype = dtype_arg(dtype)?.unwrap_or(DType::I64);
    finish(py, guard(|| Tensor::randperm(n, dtype))?, requires_grad)
}

/// A tensor of `input`'s shape (and by default dtype) filled with `fill_value`.
#[pyfunction]
#[pyo3(signature = (input, fill_value, *, dtype=None, device=None, requires_grad=false))]
fn full_like(
    py: Python<'_>,
    input: &Bound<'_, PyTensor>,
    fill_value: &Bound<'_, PyAny>,
    dtype: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
) -> PyResult<Py<PyTensor>> {
    let _ = device;
    let t = &input.get().inner;
    let value = operand_or_err(fill_value, "full_like", "fill_value", 2)?;
    let dtype = dtype_arg(dtype)?.unwrap_or(t.dtype());
    let fill = guard(|| value.item())?;
    let out = guard(|| t.new_like(|shape| Ok(Tensor::full(shape, fill, dtype))))?;
    finish(py, out, requires_grad)
}

/// An uninitialised tensor shaped like `input` (zero-filled here).
#[pyfunction]
#[pyo3(signature = (input, *, dtype=None, device=None, requires_grad=false))]
fn empty_like(
    py: Python<'_>,
    input: &Bound<'_, PyTensor>,
    dtype: Option<&Bound<'_, PyAny>>,
    device: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
) -> PyResult<Py<PyTensor>> {
    let _ = device;
    let t = &input.get().inner;
    let dtype = dtype_arg(dtype)?.unwrap_or(t.dtype());
    let out = guard(|| t.new_like(|shape| Ok(Tensor::zeros(shape, dtype))))?;
    finish(py, out, requires_grad)
}

/// Restarts the default generator from `seed`.
#[pyfunction]
fn _manual_seed(seed: &Bound<'_, PyAny>) -> PyResult<()> {
    if seed.is_instance_of::<PyBool>() || !seed.is_instance_of::<PyInt>() {
        let type_name = seed.get_type().name()?.to_string();
        return Err(PyTypeError::new_err(format!(
            "manual_seed expected an int, but got {type_name}"
        )));
    }
    // Negative seeds wrap to 64 bits, as PyTorch's do.
    let seed: i128 = seed.extract()?;
    crate::random::manual_seed(seed as u64);
    Ok(())
}

/// The seed the default generator started from.
#[pyfunction]
fn _initial_seed() -> u64 {
    crate::random::initial_seed()
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(arange, m)?)?;
    m.add_function(wrap_pyfunction!(linspace, m)?)?;
    m.add_function(wrap_pyfunction!(eye, m)?)?;
    m.add_function(wrap_pyfunction!(rand, m)?)?;
    m.add_function(wrap_pyfunction!(rand_like, m)?)?;
    m.add_function(wrap_pyfunction!(randn, m)?)?;
    m.add_function(wrap_pyfunction!(randn_like, m)?)?;
    m.add_function(wrap_pyfunction!(randint, m)?)?;
    m.add_function(wrap_pyfunction!(randperm, m)?)?;
    m.add_function(wrap_pyfunction!(full_like, m)?)?;
    m.add_function(wrap_pyfunction!(empty_like, m)?)?;
    m.add_function(wrap_pyfunction!(_manual_seed, m)?)?;
    m.add_function(wrap_pyfunction!(_initial_seed, m)?)?;
    Ok(())
}
