//! In-place methods of `Tensor` (`add_ sub_ mul_ div_ copy_ clamp_` and the augmented
//! assignments `+= -= *= /=`). Each returns the tensor itself, as in PyTorch.

use pyo3::prelude::*;

use super::convert::operand_or_err;
use super::error::guard;
use super::tensor::PyTensor;

/// The number behind `alpha=`.
fn alpha_value(alpha: &Bound<'_, PyAny>) -> PyResult<f64> {
    alpha.extract::<f64>()
}

#[pymethods]
impl PyTensor {
    /// Fills with samples uniform in `[a, b)`; returns this tensor.
    #[pyo3(signature = (a = 0.0, b = 1.0, *, generator = None))]
    fn uniform_(
        slf: &Bound<'_, Self>,
        a: f64,
        b: f64,
        generator: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyTensor>> {
        super::creation::check_generator(generator)?;
        guard(|| slf.get().inner.uniform_(a, b))?;
        Ok(slf.clone().unbind())
    }

    /// Fills with normal samples of mean `mean` and standard deviation `std`; returns this
    /// tensor.
    #[pyo3(signature = (mean = 0.0, std = 1.0, *, generator = None))]
    fn normal_(
        slf: &Bound<'_, Self>,
        mean: f64,
        std: f64,
        generator: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyTensor>> {
        super::creation::check_generator(generator)?;
        guard(|| slf.get().inner.normal_(mean, std))?;
        Ok(slf.clone().unbind())
    }

    /// `self += alpha * other` in place; returns this tensor.
    #[pyo3(signature = (other, *, alpha = None))]
    fn add_(
        slf: &Bound<'_, Self>,
        other: &Bound<'_, PyAny>,
        alpha: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyTensor>> {
        let o = operand_or_err(other, "add_", "other", 1)?;
        let alpha = alpha.map(alpha_value).transpose()?.unwrap_or(1.0);
        guard(|| slf.get().inner.add_(&o, alpha))?;
        Ok(slf.clone().unbind())
    }

    /// `self -= alpha * other` in place; returns this tensor.
    #[pyo3(signature = (other, *, alpha = None))]
    fn sub_(
        slf: &Bound<'_, Self>,
        other: &Bound<'_, PyAny>,
        alpha: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyTensor>> {
        let o = operand_or_err(other, "sub_", "other", 1)?;
        let alpha = alpha.map(alpha_value).transpose()?.unwrap_or(1.0);
        guard(|| slf.get().inner.sub_(&o, alpha))?;
        Ok(slf.clone().unbind())
    }

    /// `self *= other` in place; returns this tensor.
    fn mul_(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        let o = operand_or_err(other, "mul_", "other", 1)?;
        guard(|| slf.get().inner.mul_(&o))?;
        Ok(slf.clone().unbind())
    }

    /// `self /= other` in place (true division); returns this tensor.
    fn div_(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        let o = operand_or_err(other, "div_", "other", 1)?;
        guard(|| slf.get().inner.div_(&o))?;
        Ok(slf.clone().unbind())
    }

    /// Copies `src` into this tensor (broadcast and cast); returns this tensor.
    #[pyo3(signature = (src, non_blocking = false))]
    fn copy_(
        slf: &Bound<'_, Self>,
        src: &Bound<'_, PyAny>,
        non_blocking: bool,
    ) -> PyResult<Py<PyTensor>> {
        let _ = non_blocking;
        let s = operand_or_err(src, "copy_", "src", 1)?;
        guard(|| slf.get().inner.copy_(&s))?;
        Ok(slf.clone().unbind())
    }

    /// Clamps in place to `[min, max]`; returns this tensor.
    #[pyo3(signature = (min = None, max = None))]
    fn clamp_(slf: &Bound<'_, Self>, min: Option<f64>, max: Option<f64>) -> PyResult<Py<PyTensor>> {
        guard(|| slf.get().inner.clamp_(min, max))?;
        Ok(slf.clone().unbind())
    }

    fn __iadd__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<()> {
        Self::add_(slf, other, None).map(drop)
    }

    fn __isub__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<()> {
        Self::sub_(slf, other, None).map(drop)
    }

    fn __imul__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<()> {
        Self::mul_(slf, other).map(drop)
    }

    fn __itruediv__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<()> {
        Self::div_(slf, other).map(drop)
    }

    /// The tensor this view shares its data with; `None` if it is not a view.
    #[getter]
    fn _base(&self, py: Python<'_>) -> PyResult<Option<Py<PyTensor>>> {
        self.inner
            .view_base()
            .map(|b| super::tensor::wrap(py, b))
            .transpose()
    }

    /// Whether this tensor was made in inference mode.
    fn is_inference(&self) -> bool {
        self.inner.is_inference()
    }

    /// Whether this tensor is a view of another.
    fn _is_view(&self) -> bool {
        self.inner.view_base().is_some()
    }
}
