//! What a recorded node holds, and the one place where ops decide to record.

use std::sync::Arc;

use smallvec::SmallVec;

use super::tape::{with_tape, Edge, Node, NodeId, NodeRef, Tape};
use crate::error::{runtime_err, Result};
use crate::grad_mode::is_grad_enabled;
use crate::tensor::Tensor;

/// Gradients with respect to a node's inputs, one entry per input (`None`: no gradient).
pub type Grads = SmallVec<[Option<Tensor>; 2]>;

/// The backward rule of one op. Rules are written with the engine's own differentiable ops,
/// so when backward runs with `create_graph=True` the gradients get a graph of their own.
pub trait BackwardFn: Send + Sync + 'static {
    /// PyTorch's `grad_fn` class name, such as `"MulBackward0"`.
    fn name(&self) -> &'static str;
    /// Maps the gradient of the outputs to gradients of the inputs.
    fn backward(&self, ctx: &BackwardCtx<'_>) -> Result<Grads>;
    /// PyTorch's names of the saved slots, in order, for `grad_fn._saved_<name>`. Empty
    /// (the default) names them by role: the first saved input `self`, later ones `other`,
    /// a saved output `result`.
    fn saved_names(&self) -> Vec<&'static str> {
        Vec::new()
    }
    /// The non-tensor arguments the rule keeps, such as pow's `exponent`.
    fn saved_values(&self) -> Vec<(&'static str, SavedValue)> {
        Vec::new()
    }
}

/// A non-tensor argument a backward rule keeps, shown as `grad_fn._saved_<name>`.
#[derive(Debug, Clone, PartialEq)]
pub enum SavedValue {
    /// An optional argument left out, such as a loss's `weight`.
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'static str),
    Ints(Vec<i64>),
}

/// A saved tensor whose value user hooks took over: `pack` ran when they were registered,
/// and `unpack` gives the tensor back whenever backward reads the slot.
pub trait PackedTensor: Send + Sync {
    fn unpack(&self) -> Result<Tensor>;
}

/// What a node does in backward.
pub(crate) enum NodeKind {
    Op(Arc<dyn BackwardFn>),
    /// Adds the incoming gradient into a leaf's `.grad`.
    AccumulateGrad(Tensor),
}

impl NodeKind {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            NodeKind::Op(f) => f.name(),
            NodeKind::AccumulateGrad(_) => "AccumulateGrad",
        }
    }
}

/// A tensor kept for backward, with the version it had when saved.
///
/// An op's own output is saved without its `grad_fn` (a node holding its own output would be a
/// reference cycle); the engine reattaches it when backward needs a graph. A Python number
/// operand is kept as its value alone: it cannot change, and a whole tensor per recorded
/// `x * 2.0` would triple the memory of a scalar graph.
#[derive(Clone)]
pub struct SavedTensor(Saved);

#[derive(Clone)]
enum Saved {
    Tensor {
        data: Tensor,
        version: u64,
        is_output: bool,
    },
    Number(Number),
    Packed(Arc<dyn PackedTensor>),
    /// What is left after backward freed the slot: only whether it held the op's output.
    Freed {
        is_output: bool,
    },
}

/// A wrapped Python number, by kind.
#[derive(Clone, Copy)]
enum Number {
    Float(f64),
    Int(i64),
    Bool(bool),
}

impl SavedTensor {
    /// Saves an input of the op being recorded.
    pub fn input(t: &Tensor) -> Self {
        if t.is_wrapped_number() {
            let number = match t.dtype() {
                crate::DType::Bool => Number::Bool(t.first_value()),
                crate::DType::I64 => Number::Int(t.first_value()),
                _ => Number::Float(t.first_value()),
            };
            return SavedTensor(Saved::Number(number));
        }
        SavedTensor(Saved::Tensor {
            data: t.clone(),
            version: t.version(),
            is_output: false,
        })
    }

    /// Whether the saved tensor is an inference tensor (which autograd may not keep).
    fn is_inference(&self) -> bool {
        matches!(&self.0, Saved::Tensor { data, .. } if data.is_inference())
    }

    /// The storage a saved tensor keeps alive; `None` for a number saved by value.
    pub(crate) fn storage(&self) -> Option<&Arc<crate::storage::Storage>> {
        match &self.0 {
            Saved::Tensor { data, .. } => Some(data.storage()),
            Saved::Number(_) | Saved::Packed(_) | Saved::Freed { .. } => None,
        }
    }

    /// Whether this slot holds the op's own output.
    pub(crate) fn is_output(&self) -> bool {
        matches!(
            self.0,
            Saved::Tensor {
                is_output: true,
                ..
            } | Saved::Freed { is_output: true }
        )
    }

    /// The placeholder of this slot once backward freed it.
    pub(crate) fn freed(&self) -> Self {
        SavedTensor(Saved::Freed {
            is_output: self.is_output(),
        })
    }

    /// Whether user hooks already took this slot over.
    pub(crate) fn is_packed(&self) -> bool {
        matches!(self.0, Saved::Packed(_))
    }

    /// A slot whose value hooks packed.
    pub(crate) fn packed(packed: Arc<dyn PackedTensor>) -> Self {
        SavedTensor(Saved::Packed(packed))
    }

    /// Saves the output of the op being recorded.
    pub fn output(t: &Tensor) -> Self {
        SavedTensor(Saved::Tensor {
            data: t.detach(),
            version: t.version(),
            is_output: true,
        })
    }
}

/// The view a backward rule gets of its node.
pub struct BackwardCtx<'a> {
    pub(crate) grads: &'a [Option<Tensor>],
    pub(crate) saved: &'a [SavedTensor],
    pub(crate) released: bool,
    pub(crate) node: NodeId,
    pub(crate) name: &'static str,
    pub(crate) needs_input_grad: &'a [bool],
    pub(crate) create_graph: bool,
}

/// PyTorch's message for using saved tensors after they were freed.
pub(crate) const FREED_MESSAGE: &str = "Trying to backward through the graph a second time (or \
directly access saved tensors after they have already been freed). Saved intermediate values of \
the graph are freed when you call .backward() or autograd.grad(). Specify retain_graph=True if \
you need to backward through the graph a second time or if you need to access saved tensors after \
calling backward.";

impl BackwardCtx<'_> {
    /// The gradient of output `i`; `None` when no gradient flowed to it.
    pub fn grad_output(&self, i: usize) -> Option<&Tensor> {
        self.grads.get(i).and_then(Option::as_ref)
    }

    /// The gradient of the (first) output.
    pub fn grad(&self) -> &Tensor {
        self.grads[0]
            .as_ref()
            .expect("the engine only runs nodes that received a gradient")
    }

    /// Whether input `i` wants a gradient.
    pub fn needs_input_grad(&self, i: usize) -> bool {
        self.needs_input_grad.get(i).copied().unwrap_or(false)
    }

    /// Saved tensor `i`, checked against in-place changes since it was saved.
    pub fn saved(&self, i: usize) -> Result<Tensor> {
        if self.released {
            return Err(runtime_err!("{FREED_MESSAGE}"));
        }
        let (data, version, is_output) = match &self.saved[i].0 {
            Saved::Number(Number::Float(v)) => return Ok(Tensor::wrapped_scalar(*v)),
            Saved::Number(Number::Int(v)) => return Ok(Tensor::wrapped_int(*v)),
            Saved::Number(Number::Bool(v)) => return Ok(Tensor::wrapped_bool(*v)),
            Saved::Packed(packed) => return packed.unpack(),
            Saved::Freed { .. } => return Err(runtime_err!("{FREED_MESSAGE}")),
            Saved::Tensor {
                data,
                version,
                is_output,
            } => (data, *version, *is_output),
        };
        let now = data.version();
        if now != version {
            let producer = if is_output {
                Some(self.name)
            } else {
                data.grad_fn().map(|node| node.name())
            };
            let which = producer
                .map(|name| format!(", which is output 0 of {},", forward_name(name)))
                .unwrap_or_default();
            return Err(runtime_err!(
                "one of the variables needed for gradient computation has been modified by an \
                 inplace operation: [{} {:?}]{which} is at version {now}; expected version \
                 {version} instead. {}",
                data.dtype().legacy_type_name(),
                data.shape(),
                super::anomaly::version_error_hint(),
            ));
        }
        if is_output && self.create_graph {
            // Reattach the graph the saved copy left out, so double backward sees it.
            let node = with_tape(|tape| {
                tape.retain(self.node);
                NodeRef::from_retained(self.node)
            });
            let t = data.detach();
            t.set_grad_fn(node, 0);
            return Ok(t);
        }
        Ok(data.clone())
    }
}

/// `MulBackward0` -> `Mul`: the forward op's name, as PyTorch 2.13 prints it.
fn forward_name(grad_fn: &str) -> &str {
    grad_fn
        .strip_suffix("Backward0")
        .or_else(|| grad_fn.strip_suffix("Backward1"))
        .unwrap_or(grad_fn)
}

/// Whether an op on `inputs` must be recorded: grad mode is on and an input requires grad.
/// This is the only place that decides.
#[inline]
pub fn needs_grad(inputs: &[&Tensor]) -> bool {
    inputs.iter().any(|t| t.requires_grad()) && is_grad_enabled()
}

/// Records an op: one node with an edge per input, set as `grad_fn` of `output`.
/// Callers check [`needs_grad`] first.
pub fn record(
    inputs: &[&Tensor],
    output: &Tensor,
    backward: Arc<dyn BackwardFn>,
    saved: SmallVec<[SavedTensor; 2]>,
) -> Result<()> {
    record_outputs(inputs, &[Some(output)], backward, saved)
}

/// Records an op with several outputs: one node whose output `i` is `outputs[i]` (`None`
/// for an output outside the graph, such as a non-differentiable one).
pub fn record_outputs(
    inputs: &[&Tensor],
    outputs: &[Option<&Tensor>],
    backward: Arc<dyn BackwardFn>,
    saved: SmallVec<[SavedTensor; 2]>,
) -> Result<()> {
    if saved.iter().any(SavedTensor::is_inference) {
        return Err(runtime_err!(
            "Inference tensors cannot be saved for backward. Please do not use Tensors created \
             in inference mode in computation tracked by autograd. To work around this, you can \
             make a clone to get a normal tensor and use it in autograd, or use \
             `torch.no_grad()` instead of `torch.inference_mode()`."
        ));
    }
    attach(inputs, outputs, backward, saved);
    Ok(())
}

/// Records an op that saves nothing for backward (views, copies, sums), which cannot fail.
pub fn record_unsaved(inputs: &[&Tensor], output: &Tensor, backward: Arc<dyn BackwardFn>) {
    attach(inputs, &[Some(output)], backward, SmallVec::new());
}

/// Adds the node and sets it as the outputs' `grad_fn`.
fn attach(
    inputs: &[&Tensor],
    outputs: &[Option<&Tensor>],
    backward: Arc<dyn BackwardFn>,
    saved: SmallVec<[SavedTensor; 2]>,
) {
    // Read before the tape lock is taken: reading it may run Python.
    let trace = super::anomaly::forward_trace();
    let node = with_tape(|tape| {
        let edges = inputs.iter().map(|t| gradient_edge(tape, t)).collect();
        let node = Node {
            seq: 0,
            kind: NodeKind::Op(backward),
            edges,
            saved,
            released: false,
            retained: Vec::new(),
            hooks: Default::default(),
            trace,
        };
        NodeRef::from_retained(tape.insert(node, false))
    });
    let attached: SmallVec<[(usize, &Tensor); 2]> = outputs
        .iter()
        .enumerate()
        .filter_map(|(i, t)| t.map(|t| (i, t)))
        .collect();
    if let Some((&(last_nr, last), rest)) = attached.split_last() {
        for &(nr, t) in rest {
            t.set_grad_fn(node.clone(), nr as u32);
        }
        last.set_grad_fn(node, last_nr as u32);
    }
}

/// The edge through which `t` receives its gradient, with a strong reference taken for it.
pub(crate) fn gradient_edge(tape: &mut Tape, t: &Tensor) -> Option<Edge> {
    if !t.requires_grad() {
        return None;
    }
    let mut meta = t.meta();
    if let Some(grad_fn) = &meta.grad_fn {
        let node = grad_fn.id();
        tape.retain(node);
        return Some(Edge {
            node,
            input_nr: meta.output_nr,
        });
    }
    Some(Edge {
        node: accumulator(tape, t, &mut meta),
        input_nr: 0,
    })
}

/// The leaf's `AccumulateGrad` node, created on first use; returns it with one strong
/// reference taken for the caller.
pub(crate) fn accumulator(
    tape: &mut Tape,
    leaf: &Tensor,
    meta: &mut crate::tensor::AutogradMeta,
) -> NodeId {
    if let Some(id) = meta.accumulator.filter(|&id| tape.is_alive(id)) {
        tape.retain(id);
        return id;
    }
    let node = Node {
        seq: 0,
        kind: NodeKind::AccumulateGrad(leaf.clone()),
        edges: SmallVec::new(),
        saved: SmallVec::new(),
        released: false,
        retained: Vec::new(),
        hooks: Default::default(),
        trace: None,
    };
    let id = tape.insert(node, true);
    meta.accumulator = Some(id);
    id
}
