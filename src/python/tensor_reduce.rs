//! `Tensor`'s reductions and softmax as Python sees them, with PyTorch's overloads
//! (`x.max()`, `x.max(dim)`, `x.max(other)`; `x.var(unbiased)`, `x.var(dim, correction=0)`).

use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyUserWarning};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyString};

use super::convert::{extract_dtype, parse_dims};
use super::error::guard;
use super::tensor::{wrap, PyTensor};
use crate::tensor::Tensor;

/// `(values, indices)` as PyTorch's named tuple (`autodiff.return_types.max`).
fn values_indices(
    py: Python<'_>,
    name: &str,
    (values, indices): (Tensor, Tensor),
) -> PyResult<Py<PyAny>> {
    let class = py.import("autodiff.return_types")?.getattr(name)?;
    Ok(class
        .call1((wrap(py, values)?, wrap(py, indices)?))?
        .unbind())
}

/// `x` in `dtype` first, when a `dtype=` argument was given.
fn in_dtype(x: &Tensor, dtype: Option<&Bound<'_, PyAny>>) -> PyResult<Tensor> {
    match dtype.filter(|d| !d.is_none()) {
        Some(d) => {
            let d = extract_dtype(d)?;
            guard(|| x.to_dtype(d))
        }
        None => Ok(x.clone()),
    }
}

/// The `p` of `norm`: a number, `"fro"` (2) or an infinity.
fn norm_order(p: Option<&Bound<'_, PyAny>>) -> PyResult<f64> {
    let Some(p) = p.filter(|p| !p.is_none()) else {
        return Ok(2.0);
    };
    if let Ok(s) = p.cast::<PyString>() {
        return match s.to_str()? {
            "fro" => Ok(2.0),
            other => Err(PyRuntimeError::new_err(format!(
                "norm(): the '{other}' matrix norm is not supported by autodiff; vector norms \
                 (p a number or 'fro') are"
            ))),
        };
    }
    p.extract::<f64>()
}

/// `(dims, unbiased)` of `var`/`std`, whose first argument may be `unbiased` itself.
fn moment_args(
    dim: Option<&Bound<'_, PyAny>>,
    unbiased: Option<bool>,
    correction: Option<f64>,
) -> PyResult<(Option<Vec<i64>>, f64)> {
    let (dims, unbiased) = match dim {
        Some(d) if d.is_instance_of::<PyBool>() => (None, Some(d.extract::<bool>()?)),
        other => (parse_dims(other)?, unbiased),
    };
    if unbiased.is_some() && correction.is_some() {
        return Err(PyTypeError::new_err(
            "var()/std() received both `unbiased` and `correction`: give only one",
        ));
    }
    let correction = correction.unwrap_or(if unbiased.unwrap_or(true) { 1.0 } else { 0.0 });
    Ok((dims, correction))
}

/// PyTorch's warning when `var`/`std` divide by a non-positive number of degrees of freedom.
fn warn_if_no_degrees_of_freedom(
    py: Python<'_>,
    op: &str,
    input: &Tensor,
    out: &Tensor,
    correction: f64,
) -> PyResult<()> {
    let factor = if out.numel() == 0 {
        0
    } else {
        input.numel() / out.numel()
    };
    if factor as f64 - correction > 0.0 {
        return Ok(());
    }
    let message = std::ffi::CString::new(format!(
        "{op}(): degrees of freedom is <= 0. Correction should be strictly less than the \
         reduction factor (input numel divided by output numel)."
    ))
    .expect("no NUL in the message");
    PyErr::warn(py, &py.get_type::<PyUserWarning>(), &message, 1)
}

macro_rules! extreme_methods {
    ($($(#[$doc:meta])* $name:ident, $all:ident, $along:ident, $elementwise:ident;)*) => {
        #[pymethods]
        impl PyTensor {
            $(
                $(#[$doc])*
                #[pyo3(signature = (dim=None, keepdim=false))]
                fn $name(
                    &self,
                    py: Python<'_>,
                    dim: Option<&Bound<'_, PyAny>>,
                    keepdim: bool,
                ) -> PyResult<Py<PyAny>> {
                    let x = &self.inner;
                    match dim.filter(|d| !d.is_none()) {
                        None => Ok(wrap(py, guard(|| x.$all())?)?.into_any()),
                        Some(d) => match d.cast::<PyTensor>() {
                            Ok(other) => Ok(wrap(py, guard(|| x.$elementwise(&other.get().inner))?)?.into_any()),
                            Err(_) => {
                                let dim: i64 = d.extract()?;
                                values_indices(py, stringify!($name), guard(|| x.$along(dim, keepdim))?)
                            }
                        },
                    }
                }
            )*
        }
    };
}

extreme_methods! {
    /// The largest element; with `dim`, `(values, indices)` along it; with a tensor, the
    /// elementwise maximum.
    max, max_all, max_dim, maximum;
    /// The smallest element; with `dim`, `(values, indices)` along it; with a tensor, the
    /// elementwise minimum.
    min, min_all, min_dim, minimum;
}

#[pymethods]
impl PyTensor {
    /// The product of all elements, or along `dim`.
    #[pyo3(signature = (dim=None, keepdim=false, *, dtype=None))]
    fn prod(
        &self,
        py: Python<'_>,
        dim: Option<i64>,
        keepdim: bool,
        dtype: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyTensor>> {
        let x = in_dtype(&self.inner, dtype)?;
        wrap(py, guard(|| x.prod(dim, keepdim))?)
    }

    /// The largest elements over `dim` (all dimensions when empty).
    #[pyo3(signature = (dim=None, keepdim=false))]
    fn amax(
        &self,
        py: Python<'_>,
        dim: Option<&Bound<'_, PyAny>>,
        keepdim: bool,
    ) -> PyResult<Py<PyTensor>> {
        let dims = parse_dims(dim)?.unwrap_or_default();
        wrap(py, guard(|| self.inner.amax(&dims, keepdim))?)
    }

    /// The smallest elements over `dim` (all dimensions when empty).
    #[pyo3(signature = (dim=None, keepdim=false))]
    fn amin(
        &self,
        py: Python<'_>,
        dim: Option<&Bound<'_, PyAny>>,
        keepdim: bool,
    ) -> PyResult<Py<PyTensor>> {
        let dims = parse_dims(dim)?.unwrap_or_default();
        wrap(py, guard(|| self.inner.amin(&dims, keepdim))?)
    }

    /// Index of the largest element (of the flattened tensor, or along `dim`).
    #[pyo3(signature = (dim=None, keepdim=false))]
    fn argmax(&self, py: Python<'_>, dim: Option<i64>, keepdim: bool) -> PyResult<Py<PyTensor>> {
        wrap(py, guard(|| self.inner.argmax(dim, keepdim))?)
    }

    /// Index of the smallest element (of the flattened tensor, or along `dim`).
    #[pyo3(signature = (dim=None, keepdim=false))]
    fn argmin(&self, py: Python<'_>, dim: Option<i64>, keepdim: bool) -> PyResult<Py<PyTensor>> {
        wrap(py, guard(|| self.inner.argmin(dim, keepdim))?)
    }

    /// The variance over `dim`, with Bessel's correction unless `unbiased=False` or
    /// `correction=` says otherwise.
    #[pyo3(signature = (dim=None, unbiased=None, keepdim=false, *, correction=None))]
    fn var(
        &self,
        py: Python<'_>,
        dim: Option<&Bound<'_, PyAny>>,
        unbiased: Option<bool>,
        keepdim: bool,
        correction: Option<f64>,
    ) -> PyResult<Py<PyTensor>> {
        let (dims, correction) = moment_args(dim, unbiased, correction)?;
        let out = guard(|| self.inner.var(dims.as_deref(), correction, keepdim))?;
        warn_if_no_degrees_of_freedom(py, "var", &self.inner, &out, correction)?;
        wrap(py, out)
    }

    /// The standard deviation over `dim` (see `var`).
    #[pyo3(signature = (dim=None, unbiased=None, keepdim=false, *, correction=None))]
    fn std(
        &self,
        py: Python<'_>,
        dim: Option<&Bound<'_, PyAny>>,
        unbiased: Option<bool>,
        keepdim: bool,
        correction: Option<f64>,
    ) -> PyResult<Py<PyTensor>> {
        let (dims, correction) = moment_args(dim, unbiased, correction)?;
        let out = guard(|| self.inner.std(dims.as_deref(), correction, keepdim))?;
        warn_if_no_degrees_of_freedom(py, "std", &self.inner, &out, correction)?;
        wrap(py, out)
    }

    /// The vector p-norm over `dim` (all elements by default; `p="fro"` is 2).
    #[pyo3(signature = (p=None, dim=None, keepdim=false, dtype=None))]
    fn norm(
        &self,
        py: Python<'_>,
        p: Option<&Bound<'_, PyAny>>,
        dim: Option<&Bound<'_, PyAny>>,
        keepdim: bool,
        dtype: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyTensor>> {
        let is_fro = p.is_some_and(|p| p.extract::<String>().is_ok_and(|s| s == "fro"));
        let p = norm_order(p)?;
        let dims = parse_dims(dim)?;
        if let Some(d) = dims.as_ref().filter(|d| is_fro && d.len() > 2) {
            let listed: Vec<String> = d.iter().map(|x| x.to_string()).collect();
            return Err(PyRuntimeError::new_err(format!(
                "linalg.matrix_norm: dim must be a 2-tuple. Got {}",
                listed.join(" ")
            )));
        }
        let x = in_dtype(&self.inner, dtype)?;
        wrap(py, guard(|| x.norm(p, dims.as_deref(), keepdim))?)
    }

    /// `log(sum(exp(x)))` over `dim`, computed without overflow.
    #[pyo3(signature = (dim, keepdim=false))]
    fn logsumexp(
        &self,
        py: Python<'_>,
        dim: &Bound<'_, PyAny>,
        keepdim: bool,
    ) -> PyResult<Py<PyTensor>> {
        let dims = parse_dims(Some(dim))?.unwrap_or_default();
        wrap(py, guard(|| self.inner.logsumexp(&dims, keepdim))?)
    }

    /// Whether all elements (over `dim`) are non-zero.
    #[pyo3(signature = (dim=None, keepdim=false))]
    fn all(
        &self,
        py: Python<'_>,
        dim: Option<&Bound<'_, PyAny>>,
        keepdim: bool,
    ) -> PyResult<Py<PyTensor>> {
        let dims = parse_dims(dim)?;
        wrap(py, guard(|| self.inner.all(dims.as_deref(), keepdim))?)
    }

    /// Whether any element (over `dim`) is non-zero.
    #[pyo3(signature = (dim=None, keepdim=false))]
    fn any(
        &self,
        py: Python<'_>,
        dim: Option<&Bound<'_, PyAny>>,
        keepdim: bool,
    ) -> PyResult<Py<PyTensor>> {
        let dims = parse_dims(dim)?;
        wrap(py, guard(|| self.inner.any(dims.as_deref(), keepdim))?)
    }

    /// Softmax along `dim`.
    #[pyo3(signature = (dim, dtype=None))]
    fn softmax(
        &self,
        py: Python<'_>,
        dim: i64,
        dtype: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyTensor>> {
        let x = in_dtype(&self.inner, dtype)?;
        wrap(py, guard(|| x.softmax(dim))?)
    }

    /// Log-softmax along `dim`.
    #[pyo3(signature = (dim, dtype=None))]
    fn log_softmax(
        &self,
        py: Python<'_>,
        dim: i64,
        dtype: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyTensor>> {
        let x = in_dtype(&self.inner, dtype)?;
        wrap(py, guard(|| x.log_softmax(dim))?)
    }
}
