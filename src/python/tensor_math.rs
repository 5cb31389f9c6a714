//! `Tensor`'s maths as Python sees it: elementwise methods, methods with arguments, and the
//! arithmetic and comparison operators. Each forwards to the engine op of the same name.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::pyclass::CompareOp;

use super::convert::{extract_dtype, operand, operand_or_err, parse_dims};
use super::error::guard;
use super::tensor::{wrap, PyTensor};
use crate::tensor::Tensor;

/// The result of a binary operator: a tensor, or `NotImplemented` for a foreign operand so
/// Python can try the other side (and raise its own `TypeError`).
fn binary_result(
    py: Python<'_>,
    other: &Bound<'_, PyAny>,
    f: impl FnOnce(&Tensor) -> crate::Result<Tensor>,
) -> PyResult<Py<PyAny>> {
    match operand(other) {
        Some(o) => Ok(wrap(py, guard(|| f(&o))?)?.into_any()),
        None => Ok(py.NotImplemented()),
    }
}

macro_rules! unary_methods {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        #[pymethods]
        impl PyTensor {
            $(
                $(#[$doc])*
                fn $name(&self, py: Python<'_>) -> PyResult<Py<PyTensor>> {
                    wrap(py, guard(|| self.inner.$name())?)
                }
            )*
        }
    };
}

unary_methods!(
    /// Elementwise `e^x`.
    exp,
    /// Elementwise natural logarithm.
    log,
    /// Elementwise `ln(1 + x)`.
    log1p,
    /// Elementwise square root.
    sqrt,
    /// Elementwise `1 / sqrt(x)`.
    rsqrt,
    /// Elementwise sine.
    sin,
    /// Elementwise cosine.
    cos,
    /// Elementwise tangent.
    tan,
    /// Elementwise hyperbolic tangent.
    tanh,
    /// Elementwise logistic sigmoid.
    sigmoid,
    /// Elementwise `max(x, 0)`.
    relu,
    /// Elementwise `1 / x`.
    reciprocal,
    /// Elementwise `x * x` (recorded as `pow(x, 2)`).
    square,
    /// Elementwise sign: -1, 0 or 1.
    sign,
    /// Elementwise floor.
    floor,
    /// Elementwise ceiling.
    ceil,
    /// Elementwise rounding, half to even.
    round,
    /// Elementwise negation.
    neg,
    /// Elementwise absolute value.
    abs,
);

#[pymethods]
impl PyTensor {
    // ---- ops with arguments ----

    /// `self ** exponent`.
    fn pow(&self, py: Python<'_>, exponent: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let e = operand_or_err(exponent, "pow", "exponent", 1)?;
        Ok(wrap(py, guard(|| power(&self.inner, &e))?)?.into_any())
    }

    /// `self + other`.
    fn add(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        let o = operand_or_err(other, "add", "other", 1)?;
        wrap(py, guard(|| self.inner.add(&o))?)
    }

    /// `self - other`.
    fn sub(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        let o = operand_or_err(other, "sub", "other", 1)?;
        wrap(py, guard(|| self.inner.sub(&o))?)
    }

    /// `self * other`.
    fn mul(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        let o = operand_or_err(other, "mul", "other", 1)?;
        wrap(py, guard(|| self.inner.mul(&o))?)
    }

    /// `self / other`.
    fn div(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        let o = operand_or_err(other, "div", "other", 1)?;
        wrap(py, guard(|| self.inner.div(&o))?)
    }

    /// Elementwise maximum with `other`.
    fn maximum(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        let o = other.cast::<PyTensor>().map_err(|_| {
            PyTypeError::new_err("maximum(): argument 'other' (position 1) must be Tensor")
        })?;
        wrap(py, guard(|| self.inner.maximum(&o.get().inner))?)
    }

    /// Elementwise minimum with `other`.
    fn minimum(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        let o = other.cast::<PyTensor>().map_err(|_| {
            PyTypeError::new_err("minimum(): argument 'other' (position 1) must be Tensor")
        })?;
        wrap(py, guard(|| self.inner.minimum(&o.get().inner))?)
    }

    /// Limits values to `[min, max]`; bounds are numbers or tensors.
    #[pyo3(signature = (min=None, max=None))]
    fn clamp(
        &self,
        py: Python<'_>,
        min: Option<&Bound<'_, PyAny>>,
        max: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyTensor>> {
        wrap(py, clamp_any(&self.inner, min, max)?)
    }

    /// Alias of `clamp`.
    #[pyo3(signature = (min=None, max=None))]
    fn clip(
        &self,
        py: Python<'_>,
        min: Option<&Bound<'_, PyAny>>,
        max: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyTensor>> {
        wrap(py, clamp_any(&self.inner, min, max)?)
    }

    /// Sum of all elements, or over `dim`.
    #[pyo3(signature = (dim=None, keepdim=false, *, dtype=None))]
    fn sum(
        &self,
        py: Python<'_>,
        dim: Option<&Bound<'_, PyAny>>,
        keepdim: bool,
        dtype: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyTensor>> {
        let dims = parse_dims(dim)?;
        let dtype = dtype
            .filter(|d| !d.is_none())
            .map(extract_dtype)
            .transpose()?;
        let out = guard(|| {
            let x = match dtype {
                Some(d) => self.inner.to_dtype(d)?,
                None => self.inner.clone(),
            };
            x.sum(dims.as_deref(), keepdim)
        })?;
        wrap(py, out)
    }

    /// Mean of all elements, or over `dim`.
    #[pyo3(signature = (dim=None, keepdim=false))]
    fn mean(
        &self,
        py: Python<'_>,
        dim: Option<&Bound<'_, PyAny>>,
        keepdim: bool,
    ) -> PyResult<Py<PyTensor>> {
        let dims = parse_dims(dim)?;
        wrap(py, guard(|| self.inner.mean(dims.as_deref(), keepdim))?)
    }

    // ---- operators ----

    fn __add__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        binary_result(py, other, |o| self.inner.add(o))
    }

    fn __radd__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        binary_result(py, other, |o| self.inner.add(o))
    }

    fn __sub__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        binary_result(py, other, |o| self.inner.sub(o))
    }

    fn __rsub__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        binary_result(py, other, |o| self.inner.rsub_wrapped(o))
    }

    fn __mul__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        binary_result(py, other, |o| self.inner.mul(o))
    }

    fn __rmul__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        binary_result(py, other, |o| self.inner.mul(o))
    }

    fn __truediv__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        binary_result(py, other, |o| self.inner.div(o))
    }

    fn __rtruediv__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        // PyTorch computes `n / x` as `reciprocal(x) * n` (grad_fn MulBackward0).
        binary_result(py, other, |o| self.inner.reciprocal()?.mul(o))
    }

    fn __pow__(
        &self,
        py: Python<'_>,
        other: &Bound<'_, PyAny>,
        modulo: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let _ = modulo;
        binary_result(py, other, |o| power(&self.inner, o))
    }

    fn __rpow__(
        &self,
        py: Python<'_>,
        other: &Bound<'_, PyAny>,
        modulo: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let _ = modulo;
        binary_result(py, other, |o| self.inner.rpow_wrapped(o))
    }

    fn __neg__(&self, py: Python<'_>) -> PyResult<Py<PyTensor>> {
        wrap(py, guard(|| self.inner.neg())?)
    }

    fn __pos__(slf: &Bound<'_, Self>) -> Py<PyTensor> {
        slf.clone().unbind()
    }

    fn __abs__(&self, py: Python<'_>) -> PyResult<Py<PyTensor>> {
        wrap(py, guard(|| self.inner.abs())?)
    }

    fn __richcmp__(
        &self,
        py: Python<'_>,
        other: &Bound<'_, PyAny>,
        op: CompareOp,
    ) -> PyResult<Py<PyAny>> {
        binary_result(py, other, |o| match op {
            CompareOp::Eq => self.inner.eq(o),
            CompareOp::Ne => self.inner.ne(o),
            CompareOp::Lt => self.inner.lt(o),
            CompareOp::Le => self.inner.le(o),
            CompareOp::Gt => self.inner.gt(o),
            CompareOp::Ge => self.inner.ge(o),
        })
    }
}

/// `x ** e`: a Python-number exponent is `PowBackward0`, a tensor one `PowBackward1`.
pub(crate) fn power(x: &Tensor, e: &Tensor) -> crate::Result<Tensor> {
    if e.is_wrapped_number() {
        x.pow_wrapped(e)
    } else {
        x.pow(e)
    }
}

/// `clamp` with number or tensor bounds.
pub(crate) fn clamp_any(
    x: &Tensor,
    min: Option<&Bound<'_, PyAny>>,
    max: Option<&Bound<'_, PyAny>>,
) -> PyResult<Tensor> {
    let min = min.filter(|m| !m.is_none());
    let max = max.filter(|m| !m.is_none());
    let is_tensor =
        |b: Option<&Bound<'_, PyAny>>| b.is_some_and(|b| b.is_instance_of::<PyTensor>());
    if is_tensor(min) || is_tensor(max) {
        // Tensor bounds: pick by masks so the gradient goes to whichever value is selected.
        let pick = |x: Tensor, bound: Option<&Bound<'_, PyAny>>, below: bool| -> PyResult<Tensor> {
            let Some(b) = bound else { return Ok(x) };
            let b = operand_or_err(b, "clamp", if below { "min" } else { "max" }, 2)?;
            guard(|| {
                let outside = if below { x.lt(&b)? } else { x.gt(&b)? };
                Tensor::where_(&outside, &b, &x)
            })
        };
        return pick(pick(x.clone(), min, true)?, max, false);
    }
    let number = |b: Option<&Bound<'_, PyAny>>| b.map(|b| b.extract::<f64>()).transpose();
    let (lo, hi) = (number(min)?, number(max)?);
    // A float bound makes an integer tensor's result float (PyTorch's type promotion).
    let float_bound = [min, max]
        .iter()
        .flatten()
        .any(|b| b.is_instance_of::<pyo3::types::PyFloat>());
    if float_bound && !x.dtype().is_float() {
        return guard(|| x.cast(crate::default_float_dtype()).clamp(lo, hi));
    }
    guard(|| x.clamp(lo, hi))
}
