//! What `autodiff.nn` and `autodiff.optim` call into: the fused losses and the optimizer
//! updates over a whole parameter group.

use pyo3::prelude::*;
use pyo3::types::PyList;

use super::error::guard;
use super::tensor::{wrap, PyTensor};
use crate::optim::{AdamOptions, SgdOptions};
use crate::tensor::Tensor;
use crate::Reduction;

fn inner(t: Option<&Bound<'_, PyTensor>>) -> Option<Tensor> {
    t.map(|t| t.get().inner.clone())
}

/// Mean squared error (`F.mse_loss`), one `MseLossBackward0` node.
#[pyfunction]
#[pyo3(signature = (input, target, reduction = "mean"))]
fn mse_loss(
    py: Python<'_>,
    input: &Bound<'_, PyTensor>,
    target: &Bound<'_, PyTensor>,
    reduction: &str,
) -> PyResult<Py<PyTensor>> {
    let reduction = guard(|| Reduction::parse(reduction))?;
    let out = guard(|| input.get().inner.mse_loss(&target.get().inner, reduction))?;
    wrap(py, out)
}

/// Binary cross-entropy on probabilities (`F.binary_cross_entropy`).
#[pyfunction]
#[pyo3(signature = (input, target, weight = None, reduction = "mean"))]
fn binary_cross_entropy(
    py: Python<'_>,
    input: &Bound<'_, PyTensor>,
    target: &Bound<'_, PyTensor>,
    weight: Option<&Bound<'_, PyTensor>>,
    reduction: &str,
) -> PyResult<Py<PyTensor>> {
    let reduction = guard(|| Reduction::parse(reduction))?;
    let weight = inner(weight);
    let out = guard(|| {
        input
            .get()
            .inner
            .binary_cross_entropy(&target.get().inner, weight.as_ref(), reduction)
    })?;
    wrap(py, out)
}

/// Binary cross-entropy on logits (`F.binary_cross_entropy_with_logits`).
#[pyfunction]
#[pyo3(signature = (input, target, weight = None, pos_weight = None, reduction = "mean"))]
fn binary_cross_entropy_with_logits(
    py: Python<'_>,
    input: &Bound<'_, PyTensor>,
    target: &Bound<'_, PyTensor>,
    weight: Option<&Bound<'_, PyTensor>>,
    pos_weight: Option<&Bound<'_, PyTensor>>,
    reduction: &str,
) -> PyResult<Py<PyTensor>> {
    let reduction = guard(|| Reduction::parse(reduction))?;
    let (weight, pos_weight) = (inner(weight), inner(pos_weight));
    let out = guard(|| {
        input.get().inner.binary_cross_entropy_with_logits(
            &target.get().inner,
            weight.as_ref(),
            pos_weight.as_ref(),
            reduction,
        )
    })?;
    wrap(py, out)
}

/// Negative log-likelihood of class indices (`F.nll_loss` on `(N, C)` or `(C,)` input).
#[pyfunction]
#[pyo3(
    signature = (input, target, weight = None, ignore_index = -100, reduction = "mean"),
    text_signature = "(input, target, weight=None, ignore_index=-100, reduction='mean')"
)]
fn nll_loss(
    py: Python<'_>,
    input: &Bound<'_, PyTensor>,
    target: &Bound<'_, PyTensor>,
    weight: Option<&Bound<'_, PyTensor>>,
    ignore_index: i64,
    reduction: &str,
) -> PyResult<Py<PyTensor>> {
    let reduction = guard(|| Reduction::parse(reduction))?;
    let weight = inner(weight);
    let out = guard(|| {
        input.get().inner.nll_loss(
            &target.get().inner,
            weight.as_ref(),
            ignore_index,
            reduction,
        )
    })?;
    wrap(py, out)
}

fn tensors(list: &[Bound<'_, PyTensor>]) -> Vec<Tensor> {
    list.iter().map(|t| t.get().inner.clone()).collect()
}

/// One SGD step over a parameter group, in place; returns the momentum buffers (new ones
/// where `None` came in and momentum is on).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn _sgd_step<'py>(
    py: Python<'py>,
    params: Vec<Bound<'py, PyTensor>>,
    grads: Vec<Bound<'py, PyTensor>>,
    momentum_buffers: Vec<Option<Bound<'py, PyTensor>>>,
    lr: f64,
    weight_decay: f64,
    momentum: f64,
    dampening: f64,
    nesterov: bool,
    maximize: bool,
) -> PyResult<Bound<'py, PyList>> {
    let options = SgdOptions {
        lr,
        weight_decay,
        momentum,
        dampening,
        nesterov,
        maximize,
    };
    let mut buffers: Vec<Option<Tensor>> = momentum_buffers
        .iter()
        .map(|b| b.as_ref().map(|b| b.get().inner.clone()))
        .collect();
    let (params, grads) = (tensors(&params), tensors(&grads));
    py.detach(|| guard(|| crate::optim::sgd_step(&params, &grads, &mut buffers, &options)))?;
    let out = PyList::empty(py);
    for (given, buffer) in momentum_buffers.into_iter().zip(buffers) {
        match (given, buffer) {
            (Some(given), _) => out.append(given)?,
            (None, Some(new)) => out.append(wrap(py, new)?)?,
            (None, None) => out.append(py.None())?,
        }
    }
    Ok(out)
}

/// One Adam or AdamW step over a parameter group, in place.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn _adam_step(
    py: Python<'_>,
    params: Vec<Bound<'_, PyTensor>>,
    grads: Vec<Bound<'_, PyTensor>>,
    exp_avgs: Vec<Bound<'_, PyTensor>>,
    exp_avg_sqs: Vec<Bound<'_, PyTensor>>,
    max_exp_avg_sqs: Vec<Bound<'_, PyTensor>>,
    steps: Vec<f64>,
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    amsgrad: bool,
    maximize: bool,
    decoupled_weight_decay: bool,
) -> PyResult<()> {
    let options = AdamOptions {
        lr,
        beta1,
        beta2,
        eps,
        weight_decay,
        amsgrad,
        maximize,
        decoupled_weight_decay,
    };
    let (params, grads) = (tensors(&params), tensors(&grads));
    let (m, v, v_max) = (
        tensors(&exp_avgs),
        tensors(&exp_avg_sqs),
        tensors(&max_exp_avg_sqs),
    );
    py.detach(|| {
        guard(|| crate::optim::adam_step(&params, &grads, &m, &v, &v_max, &steps, &options))
    })
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(mse_loss, m)?)?;
    m.add_function(wrap_pyfunction!(binary_cross_entropy, m)?)?;
    m.add_function(wrap_pyfunction!(binary_cross_entropy_with_logits, m)?)?;
    m.add_function(wrap_pyfunction!(nll_loss, m)?)?;
    m.add_function(wrap_pyfunction!(_sgd_step, m)?)?;
    m.add_function(wrap_pyfunction!(_adam_step, m)?)?;
    Ok(())
}
