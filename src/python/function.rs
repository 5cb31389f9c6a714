//! `autodiff.autograd.Function`'s engine side: a node whose backward rule is Python code.
//!
//! The Python layer (`autograd/function.py`) runs `forward` under `no_grad` and hands the
//! results here; this file attaches them to one multi-output node. In backward, the node
//! unpacks its saved tensors (with the engine's version checks), calls back into Python
//! through a trampoline that runs the user's `backward`, and checks the gradients it gets
//! back as PyTorch does.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use smallvec::SmallVec;

use super::error::guard;
use super::hooks::callback_error;
use super::tensor::{wrap, PyTensor};
use crate::autograd::{needs_grad, record_outputs, BackwardCtx, BackwardFn, Grads, SavedTensor};
use crate::dtype::DType;
use crate::error::{runtime_err, Result};
use crate::tensor::Tensor;

/// `grad_fn` names of custom functions, made `'static` once per class name.
fn intern(name: String) -> &'static str {
    static NAMES: Mutex<Option<HashMap<String, &'static str>>> = Mutex::new(None);
    let mut names = NAMES.lock();
    let names = names.get_or_insert_with(HashMap::new);
    if let Some(&interned) = names.get(&name) {
        return interned;
    }
    let interned: &'static str = Box::leak(name.clone().into_boxed_str());
    names.insert(name, interned);
    interned
}

/// What backward needs to know of one forward argument that was a tensor.
struct InputInfo {
    shape: Vec<usize>,
    dtype: DType,
}

/// The node of one `Function.apply` call.
struct PyFunctionBackward {
    name: &'static str,
    /// `trampoline(ctx, saved, grads) -> tuple` (see `autograd/function.py`).
    trampoline: Py<PyAny>,
    ctx: Py<PyAny>,
    /// Shape and dtype per output, for the zeros of outputs that got no gradient.
    outputs: Vec<Option<(Vec<usize>, DType)>>,
    materialize: bool,
    /// Per forward argument: its info when it was a tensor (each has an edge, in order).
    args: Vec<Option<InputInfo>>,
    /// Per `save_for_backward` argument: whether it was a tensor (else `None`).
    saved_slots: Vec<bool>,
}

fn shape_list(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    format!("[{}]", dims.join(", "))
}

impl BackwardFn for PyFunctionBackward {
    fn name(&self) -> &'static str {
        self.name
    }

    fn backward(&self, ctx: &BackwardCtx<'_>) -> Result<Grads> {
        let grads: Vec<Option<Tensor>> = self
            .outputs
            .iter()
            .enumerate()
            .map(|(i, out)| match (ctx.grad_output(i), out) {
                (Some(g), _) => Some(g.clone()),
                (None, Some((shape, dtype))) if self.materialize => {
                    Some(Tensor::zeros(shape, *dtype))
                }
                (None, _) => None,
            })
            .collect();
        let mut unpacked =
            (0..self.saved_slots.iter().filter(|&&s| s).count()).map(|i| ctx.saved(i));
        let saved: Vec<Option<Tensor>> = self
            .saved_slots
            .iter()
            .map(|&is_tensor| unpacked.next().filter(|_| is_tensor).transpose())
            .collect::<Result<_>>()?;
        let returned: Vec<Option<Tensor>> = Python::attach(|py| -> Result<_> {
            let wrap_all =
                |ts: &mut dyn Iterator<Item = Option<&Tensor>>| -> PyResult<Vec<Py<PyAny>>> {
                    ts.map(|t| match t {
                        Some(t) => wrap(py, t.clone()).map(Py::into_any),
                        None => Ok(py.None()),
                    })
                    .collect()
                };
            let saved = wrap_all(&mut saved.iter().map(Option::as_ref)).map_err(callback_error)?;
            let grads = wrap_all(&mut grads.iter().map(Option::as_ref)).map_err(callback_error)?;
            let args = (
                self.ctx.clone_ref(py),
                PyTuple::new(py, saved).map_err(callback_error)?,
                PyTuple::new(py, grads).map_err(callback_error)?,
            );
            let out = self
                .trampoline
                .bind(py)
                .call1(args)
                .map_err(callback_error)?;
            out.try_iter()
                .and_then(|items| {
                    items
                        .map(|item| {
                            let item = item?;
                            if item.is_none() {
                                return Ok(None);
                            }
                            Ok(Some(item.cast::<PyTensor>()?.get().inner.clone()))
                        })
                        .collect::<PyResult<Vec<_>>>()
                })
                .map_err(callback_error)
        })?;
        let mut out = Grads::new();
        for (index, (arg, grad)) in self.args.iter().zip(returned).enumerate() {
            let Some(input) = arg else { continue };
            let grad = match grad {
                Some(g) if g.shape() != input.shape.as_slice() => {
                    let reducible = g.ndim() >= input.shape.len()
                        && crate::layout::broadcast_shapes(&input.shape, g.shape())
                            .is_ok_and(|s| s.as_slice() == g.shape());
                    if !reducible {
                        return Err(runtime_err!(
                            "Function {} returned an invalid gradient at index {index} - got {} \
                             but expected shape compatible with {}",
                            self.name,
                            shape_list(g.shape()),
                            shape_list(&input.shape)
                        ));
                    }
                    Some(g.sum_to(&input.shape)?)
                }
                other => other,
            };
            out.push(match grad {
                Some(g) if g.dtype() != input.dtype => Some(g.to_dtype(input.dtype)?),
                other => other,
            });
        }
        Ok(out)
    }
}

/// Attaches the outputs of a custom function's `forward` to a new node and returns them as
/// the caller should see them (outputs in the graph become new tensors sharing the data).
#[pyfunction]
#[pyo3(signature = (name, ctx, trampoline, args, outputs, non_differentiable, saved, materialize))]
#[allow(clippy::too_many_arguments)]
fn _record_function(
    py: Python<'_>,
    name: String,
    ctx: Py<PyAny>,
    trampoline: Py<PyAny>,
    args: &Bound<'_, PyList>,
    outputs: Vec<Option<Bound<'_, PyTensor>>>,
    non_differentiable: Vec<bool>,
    saved: Vec<Option<Bound<'_, PyTensor>>>,
    materialize: bool,
) -> PyResult<Vec<Option<Py<PyTensor>>>> {
    let arg_tensors: Vec<Option<Tensor>> = args
        .iter()
        .map(|a| a.cast::<PyTensor>().ok().map(|t| t.get().inner.clone()))
        .collect();
    let inputs: Vec<&Tensor> = arg_tensors.iter().flatten().collect();
    let ctx_for_handle = ctx.clone_ref(py);
    let originals: Vec<Option<Tensor>> = outputs
        .iter()
        .map(|o| o.as_ref().map(|o| o.get().inner.clone()))
        .collect();
    // An output in the graph is a new tensor over the same data: the one `forward` returned
    // may be an input, whose own history must stay.
    let attached: Vec<Option<Tensor>> = if needs_grad(&inputs) {
        originals
            .iter()
            .zip(&non_differentiable)
            .map(|(o, &nondiff)| {
                o.as_ref()
                    .filter(|o| !nondiff && o.dtype().is_float())
                    .map(Tensor::detach)
            })
            .collect()
    } else {
        vec![None; originals.len()]
    };
    if attached.iter().any(Option::is_some) {
        guard(|| {
            let saved_slots: Vec<bool> = saved.iter().map(Option::is_some).collect();
            let saved: SmallVec<[SavedTensor; 2]> = saved
                .iter()
                .flatten()
                .map(|s| {
                    let s = &s.get().inner;
                    let output = originals
                        .iter()
                        .zip(&attached)
                        .find_map(|(o, a)| match (o, a) {
                            (Some(o), Some(a)) if o.ptr_eq(s) => Some(a),
                            _ => None,
                        });
                    match output {
                        Some(a) => SavedTensor::output(a),
                        None => SavedTensor::input(s),
                    }
                })
                .collect();
            let node = PyFunctionBackward {
                name: intern(name),
                trampoline,
                ctx,
                outputs: originals
                    .iter()
                    .map(|o| o.as_ref().map(|o| (o.shape().to_vec(), o.dtype())))
                    .collect(),
                materialize,
                args: arg_tensors
                    .iter()
                    .map(|t| {
                        t.as_ref().map(|t| InputInfo {
                            shape: t.shape().to_vec(),
                            dtype: t.dtype(),
                        })
                    })
                    .collect(),
                saved_slots,
            };
            let outs: Vec<Option<&Tensor>> = attached.iter().map(Option::as_ref).collect();
            record_outputs(&inputs, &outs, Arc::new(node), saved)
        })?;
        // `ctx.saved_tensors` outside backward reads the node's copies, held weakly.
        if let Some(node) = attached.iter().flatten().find_map(Tensor::grad_fn) {
            let handle = SavedTensorsHandle { node: node.id() };
            ctx_for_handle
                .bind(py)
                .setattr("_saved_handle", Py::new(py, handle)?)?;
        }
    }
    outputs
        .iter()
        .zip(attached)
        .map(|(original, attached)| match (original, attached) {
            (_, Some(t)) => wrap(py, t).map(Some),
            (Some(o), None) => Ok(Some(o.clone().unbind())),
            (None, None) => Ok(None),
        })
        .collect()
}

/// A custom function's saved tensors, read through its node without keeping it alive.
#[pyclass(
    name = "SavedTensorsHandle",
    module = "autodiff.autograd.function",
    frozen
)]
struct SavedTensorsHandle {
    node: crate::autograd::NodeId,
}

#[pymethods]
impl SavedTensorsHandle {
    /// The saved tensors (PyTorch's error once backward freed them).
    fn unpack(&self, py: Python<'_>) -> PyResult<Vec<Py<PyTensor>>> {
        let saved = guard(|| crate::autograd::saved_tensors(self.node))?;
        saved.into_iter().map(|t| wrap(py, t)).collect()
    }
}

/// Makes the results of a `once_differentiable` backward fail when differentiated again:
/// each becomes a new tensor whose node raises `message` and leads to `inputs`.
#[pyfunction]
fn _delayed_error(
    py: Python<'_>,
    outputs: Vec<Option<Bound<'_, PyTensor>>>,
    inputs: Vec<Bound<'_, PyTensor>>,
    message: String,
) -> PyResult<Vec<Option<Py<PyTensor>>>> {
    let inputs: Vec<Tensor> = inputs.iter().map(|t| t.get().inner.clone()).collect();
    let refs: Vec<&Tensor> = inputs.iter().collect();
    outputs
        .iter()
        .map(|o| {
            let Some(o) = o else { return Ok(None) };
            let inner = &o.get().inner;
            if !needs_grad(&refs) || !inner.dtype().is_float() {
                return Ok(Some(o.clone().unbind()));
            }
            let alias = inner.detach();
            let node = DelayedError {
                message: message.clone(),
                inputs: refs.len(),
            };
            crate::autograd::record_unsaved(&refs, &alias, Arc::new(node));
            wrap(py, alias).map(Some)
        })
        .collect()
}

/// A node that fails when backward reaches it.
struct DelayedError {
    message: String,
    inputs: usize,
}

impl BackwardFn for DelayedError {
    fn name(&self) -> &'static str {
        "DelayedError"
    }

    fn backward(&self, _ctx: &BackwardCtx<'_>) -> Result<Grads> {
        let _ = self.inputs;
        Err(runtime_err!("{}", self.message))
    }
}

/// Registers this file's functions on the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_record_function, m)?)?;
    m.add_function(wrap_pyfunction!(_delayed_error, m)?)
}
