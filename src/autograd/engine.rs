//! Reverse-mode execution: plan the reachable subgraph under the tape lock, then run the
//! nodes without it, youngest first, each once all its consumers have run.
//!
//! Plan and execution are iterative (explicit stack and heap), so graph depth never
//! touches the call stack.

use std::collections::BinaryHeap;
use std::sync::{Arc, Weak};

use smallvec::SmallVec;

use super::anomaly;
use super::function::{accumulator, BackwardCtx, BackwardFn, Grads, NodeKind, SavedTensor};
use super::hooks::{LeafHooks, NodeHooks};
use super::tape::{drop_nodes, with_tape, Freed, NodeId, Tape};
use crate::error::{runtime_err, Result};
use crate::grad_mode::GradModeGuard;
use crate::tensor::{Tensor, TensorImpl};

/// Where gradients go.
enum Mode<'a> {
    /// `Tensor.backward`: accumulate into leaves' `.grad`; with `inputs`, only into those.
    Accumulate { inputs: Option<&'a [Tensor]> },
    /// `autograd.grad`: return the gradients of `inputs`, touching no `.grad`.
    Capture { inputs: &'a [Tensor] },
}

/// Computes gradients of `roots` and accumulates them into the leaves' `.grad`
/// (`torch.autograd.backward`). `grads[i]` is the gradient of `roots[i]`; `None` means ones
/// for a one-element root.
///
/// ```
/// use autodiff::{Tensor, autograd};
/// let x = Tensor::scalar(2.0f64).requires_grad_(true)?;
/// let y = x.mul(&x)?;
/// autograd::backward(&[y], &[None], false, false, None)?;
/// assert_eq!(x.grad().unwrap().item()?, 4.0);
/// # Ok::<(), autodiff::Error>(())
/// ```
pub fn backward(
    roots: &[Tensor],
    grads: &[Option<Tensor>],
    retain_graph: bool,
    create_graph: bool,
    inputs: Option<&[Tensor]>,
) -> Result<()> {
    if let Some(inputs) = inputs {
        if inputs.is_empty() {
            return Err(runtime_err!(
                "`inputs` argument to `backward()` cannot be empty."
            ));
        }
        for t in inputs.iter().filter(|t| !t.is_leaf()) {
            t.retain_grad()?;
        }
    }
    run(
        roots,
        grads,
        retain_graph,
        create_graph,
        Mode::Accumulate { inputs },
    )
    .map(|_| ())
}

/// Returns the gradients of `roots` with respect to `inputs` (`torch.autograd.grad`);
/// `None` for an input the roots do not depend on.
pub fn grad(
    roots: &[Tensor],
    grads: &[Option<Tensor>],
    inputs: &[Tensor],
    retain_graph: bool,
    create_graph: bool,
) -> Result<Vec<Option<Tensor>>> {
    run(
        roots,
        grads,
        retain_graph,
        create_graph,
        Mode::Capture { inputs },
    )
}

/// Stops keeping `.grad` of a non-leaf through its current `grad_fn` (an in-place op moves
/// it to the new one).
pub(crate) fn forget_retained(t: &Tensor) {
    let Some(node) = t.grad_fn() else { return };
    let dropped = with_tape(|tape| {
        tape.get_mut(node.id()).map(|n| {
            let (gone, kept) = std::mem::take(&mut n.retained)
                .into_iter()
                .partition(|(_, weak)| std::ptr::eq(weak.as_ptr(), Arc::as_ptr(&t.0)));
            n.retained = kept;
            gone
        })
    });
    let _: Option<Vec<(u32, Weak<TensorImpl>)>> = dropped;
    t.meta().retains_grad = false;
}

/// Starts keeping `.grad` of a non-leaf (a no-op on leaves).
pub(crate) fn retain_grad(t: &Tensor) {
    let Some(node) = t.grad_fn() else { return };
    if t.retains_grad() {
        return;
    }
    let output_nr = t.output_nr();
    with_tape(|tape| {
        if let Some(n) = tape.get_mut(node.id()) {
            n.retained.push((output_nr, Arc::downgrade(&t.0)));
        }
    });
    t.meta().retains_grad = true;
    drop(node);
}

enum Work {
    Op(Arc<dyn BackwardFn>),
    Accumulate(Tensor),
}

/// One node of the plan: what execution needs, copied out of the tape, and the gradients
/// that have reached the node so far.
struct Step {
    id: NodeId,
    seq: u64,
    work: Work,
    /// (plan index, input_nr) per input of the node.
    edges: SmallVec<[Option<(usize, u32)>; 2]>,
    saved: SmallVec<[SavedTensor; 2]>,
    released: bool,
    retained: Vec<(u32, Weak<TensorImpl>)>,
    /// Outputs whose gradient `autograd.grad` returns: (output_nr, result slot).
    captures: SmallVec<[(u32, usize); 1]>,
    /// Gradients must reach this node (it is a target or leads to one).
    needed: bool,
    /// Consumers that have not run yet.
    deps: usize,
    queued: bool,
    executed: bool,
    /// The sum of the gradients received, per output of the node.
    buffer: SmallVec<[Option<Tensor>; 1]>,
    hooks: NodeHooks,
    trace: Option<Arc<str>>,
}

fn run(
    roots: &[Tensor],
    grads: &[Option<Tensor>],
    retain_graph: bool,
    create_graph: bool,
    mode: Mode<'_>,
) -> Result<Vec<Option<Tensor>>> {
    if roots.len() != grads.len() {
        return Err(runtime_err!(
            "got {} tensors and {} gradients",
            roots.len(),
            grads.len()
        ));
    }
    let seeds = seed_gradients(roots, grads)?;
    let (targets, accumulate) = match mode {
        Mode::Accumulate { inputs } => {
            let inputs = inputs.unwrap_or(&[]);
            if inputs.iter().any(|t| !t.requires_grad()) {
                return Err(runtime_err!(
                    "One of the differentiated Tensors does not require grad"
                ));
            }
            (inputs, true)
        }
        Mode::Capture { inputs } => {
            if inputs.is_empty() {
                return Err(runtime_err!(
                    "`inputs` argument to `grad()` cannot be empty."
                ));
            }
            if inputs.iter().any(|t| !t.requires_grad()) {
                return Err(runtime_err!(
                    "One of the differentiated Tensors does not require grad"
                ));
            }
            (inputs, false)
        }
    };

    let mut freed = Freed::new();
    let mut plan = with_tape(|tape| {
        let root_ids: SmallVec<[(NodeId, u32); 1]> =
            roots.iter().map(|r| root_node(tape, r)).collect();
        let target_ids: SmallVec<[(NodeId, u32); 1]> =
            targets.iter().map(|t| root_node(tape, t)).collect();
        let plan = build_plan(tape, &root_ids, &target_ids, accumulate);
        // The handles taken by root_node were only needed for planning; a leaf outside the
        // graph may lose its fresh accumulator here.
        for &(id, _) in root_ids.iter().chain(&target_ids) {
            tape.release_into(id, &mut freed);
        }
        plan
    });
    drop_nodes(freed);

    let _mode = GradModeGuard::new(create_graph);
    let mut results: Vec<Option<Tensor>> = vec![None; if accumulate { 0 } else { targets.len() }];
    let mut ready: BinaryHeap<(u64, usize)> = BinaryHeap::new();
    for (&(step, output_nr), seed) in plan.roots.iter().zip(seeds) {
        add_to_buffer(&mut plan.steps[step].buffer, output_nr, seed)?;
        let root = &mut plan.steps[step];
        if root.deps == 0 && root.needed && !root.queued {
            root.queued = true;
            ready.push((root.seq, step));
        }
    }
    let steps = &mut plan.steps;
    let outcome = (|| -> Result<()> {
        while let Some((_, i)) = ready.pop() {
            let mut inputs = std::mem::take(&mut steps[i].buffer);
            let step = &steps[i];
            let leaf_hooks = match &step.work {
                Work::Accumulate(leaf) => leaf.leaf_hooks(),
                Work::Op(_) => LeafHooks::default(),
            };
            // Tensor hooks see (and may replace) a gradient before anything uses it.
            let tensor_hooks = step.hooks.tensor.iter().map(|(nr, h)| (*nr, h));
            for (output_nr, hook) in tensor_hooks.chain(leaf_hooks.tensor.iter().map(|h| (0, h))) {
                if let Some(slot @ Some(_)) = inputs.get_mut(output_nr as usize) {
                    *slot = Some(hook.apply(slot.take().expect("checked"))?);
                }
            }
            for (output_nr, weak) in &step.retained {
                if let (Some(t), Some(Some(g))) = (weak.upgrade(), inputs.get(*output_nr as usize))
                {
                    accumulate_grad(&Tensor(t), g, create_graph)?;
                }
            }
            for &(output_nr, slot) in &step.captures {
                if let Some(Some(g)) = inputs.get(output_nr as usize) {
                    results[slot] = Some(g.clone());
                }
            }
            let outputs = match &step.work {
                Work::Accumulate(leaf) => {
                    // A leaf that stopped requiring grad after the graph was built gets
                    // nothing, as PyTorch's AccumulateGrad does.
                    if let (true, true, Some(Some(g))) =
                        (accumulate, leaf.requires_grad(), inputs.first())
                    {
                        accumulate_grad(leaf, g, create_graph)?;
                        for hook in &leaf_hooks.post_accumulate {
                            (hook.f)(leaf)?;
                        }
                    }
                    continue;
                }
                Work::Op(f) => {
                    let needs: SmallVec<[bool; 2]> = step
                        .edges
                        .iter()
                        .map(|e| e.is_some_and(|(j, _)| steps[j].needed))
                        .collect();
                    for hook in &step.hooks.pre {
                        if let Some(new) = (hook.f)(&inputs)? {
                            inputs = replace_grads(inputs, new, "prehook")?;
                        }
                    }
                    if !needs.contains(&true) || inputs.iter().all(Option::is_none) {
                        SmallVec::new()
                    } else {
                        let ctx = BackwardCtx {
                            grads: &inputs,
                            saved: &step.saved,
                            released: step.released,
                            node: step.id,
                            name: f.name(),
                            needs_input_grad: &needs,
                            create_graph,
                        };
                        let grads = f.backward(&ctx).and_then(|grads| {
                            if anomaly::is_anomaly_enabled()
                                && anomaly::is_anomaly_check_nan_enabled()
                            {
                                anomaly::check_nan(f.name(), &grads)?;
                            }
                            Ok(grads)
                        });
                        if grads.is_err() && anomaly::is_anomaly_enabled() {
                            anomaly::report(f.name(), step.trace.as_deref());
                        }
                        let mut grads = grads?;
                        grads.resize(step.edges.len(), None);
                        for hook in &step.hooks.post {
                            if let Some(new) = (hook.f)(&grads, &inputs)? {
                                grads = replace_grads(grads, new, "hook")?;
                            }
                        }
                        // Only nodes whose rule ran give up their saved tensors afterwards.
                        steps[i].executed = true;
                        grads
                    }
                }
            };
            for k in 0..steps[i].edges.len() {
                let Some((j, input_nr)) = steps[i].edges[k] else {
                    continue;
                };
                let target = &mut steps[j];
                if !target.needed {
                    continue;
                }
                if let Some(Some(g)) = outputs.get(k) {
                    add_to_buffer(&mut target.buffer, input_nr, g.clone())?;
                }
                target.deps -= 1;
                if target.deps == 0 && !target.queued {
                    target.queued = true;
                    ready.push((target.seq, j));
                }
            }
        }
        Ok(())
    })();

    if !retain_graph {
        release_saved(&plan.steps);
    }
    drop(plan);
    outcome?;
    Ok(results)
}

/// The gradients a node hook returned in place of `old`: as many, each of the same shape.
fn replace_grads<A: smallvec::Array<Item = Option<Tensor>>>(
    old: SmallVec<A>,
    new: Grads,
    kind: &str,
) -> Result<SmallVec<A>> {
    if new.len() != old.len() {
        return Err(runtime_err!(
            "{kind} returned {} gradients but expected {}",
            new.len(),
            old.len()
        ));
    }
    for (i, (o, n)) in old.iter().zip(&new).enumerate() {
        if let (Some(o), Some(n)) = (o, n) {
            if o.shape() != n.shape() {
                return Err(runtime_err!(
                    "{kind} changed the shape of gradient {i} from {} to {}",
                    torch_size(o.shape()),
                    torch_size(n.shape())
                ));
            }
        }
    }
    Ok(new.into_iter().collect())
}

/// The steps of a backward pass and where the roots enter them.
struct Plan {
    steps: Vec<Step>,
    /// (step index, output_nr) per root.
    roots: SmallVec<[(usize, u32); 1]>,
}

/// Gradients of the roots, checked and cast as PyTorch does.
fn seed_gradients(roots: &[Tensor], grads: &[Option<Tensor>]) -> Result<Vec<Tensor>> {
    roots
        .iter()
        .zip(grads)
        .enumerate()
        .map(|(i, (root, grad))| {
            if !root.requires_grad() {
                return Err(runtime_err!(
                    "element {i} of tensors does not require grad and does not have a grad_fn"
                ));
            }
            match grad {
                None if root.numel() == 1 => Ok(root.ones_like()),
                None => Err(runtime_err!(
                    "grad can be implicitly created only for scalar outputs"
                )),
                Some(g) if g.shape() != root.shape() => Err(runtime_err!(
                    "Mismatch in shape: grad_output[{i}] has a shape of {} and output[{i}] has a \
                     shape of {}.",
                    torch_size(g.shape()),
                    torch_size(root.shape())
                )),
                Some(g) if g.dtype() != root.dtype() => g.detach().to_dtype(root.dtype()),
                Some(g) => Ok(g.clone()),
            }
        })
        .collect()
}

/// `torch.Size([2, 3])`, as PyTorch prints shapes in messages.
pub(crate) fn torch_size(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    format!("torch.Size([{}])", dims.join(", "))
}

/// The node a tensor's gradient enters the graph through, with a strong reference held
/// for planning.
fn root_node(tape: &mut Tape, t: &Tensor) -> (NodeId, u32) {
    let mut meta = t.meta();
    if let Some(grad_fn) = &meta.grad_fn {
        let id = grad_fn.id();
        tape.retain(id);
        return (id, meta.output_nr);
    }
    (accumulator(tape, t, &mut meta), 0)
}

/// Collects the reachable subgraph: an explicit-stack DFS from the roots. Plan indices are
/// kept in the tape's slots (`Tape::begin_plan`), so no map is needed.
fn build_plan(
    tape: &mut Tape,
    roots: &[(NodeId, u32)],
    targets: &[(NodeId, u32)],
    accumulate: bool,
) -> Plan {
    let epoch = tape.begin_plan();
    let mut steps: Vec<Step> = Vec::new();
    let mut stack: SmallVec<[NodeId; 16]> = roots.iter().map(|&(id, _)| id).collect();
    while let Some(id) = stack.pop() {
        if tape.plan_index(id, epoch).is_some() {
            continue;
        }
        tape.set_plan_index(id, epoch, steps.len());
        let node = tape
            .get(id)
            .expect("nodes reachable from a live tensor are alive");
        stack.extend(node.edges.iter().flatten().map(|e| e.node));
        let work = match &node.kind {
            NodeKind::Op(f) => Work::Op(f.clone()),
            NodeKind::AccumulateGrad(leaf) => Work::Accumulate(leaf.clone()),
        };
        steps.push(Step {
            id,
            seq: node.seq,
            work,
            edges: SmallVec::new(),
            saved: node.saved.clone(),
            released: node.released,
            retained: node.retained.clone(),
            captures: SmallVec::new(),
            needed: targets.is_empty() && accumulate,
            deps: 0,
            queued: false,
            executed: false,
            buffer: SmallVec::new(),
            hooks: node.hooks.clone(),
            trace: node.trace.clone(),
        });
    }
    for step in &mut steps {
        let node = tape.get(step.id).expect("planned nodes are alive");
        step.edges = node
            .edges
            .iter()
            .map(|e| e.map(|e| (tape.plan_index(e.node, epoch).expect("planned"), e.input_nr)))
            .collect();
    }
    if !targets.is_empty() {
        for (slot, &(id, output_nr)) in targets.iter().enumerate() {
            if let Some(i) = tape.plan_index(id, epoch) {
                steps[i].needed = true;
                if !accumulate {
                    steps[i].captures.push((output_nr, slot));
                }
            }
        }
        // A node is needed if it leads to a needed node: consumers are younger (larger seq),
        // so visiting by increasing seq sees every input before its consumers.
        let mut order: Vec<usize> = (0..steps.len()).collect();
        order.sort_unstable_by_key(|&i| steps[i].seq);
        for i in order {
            if !steps[i].needed {
                steps[i].needed = steps[i]
                    .edges
                    .iter()
                    .flatten()
                    .any(|&(j, _)| steps[j].needed);
            }
        }
    }
    for i in 0..steps.len() {
        if !steps[i].needed {
            continue;
        }
        for k in 0..steps[i].edges.len() {
            if let Some((j, _)) = steps[i].edges[k] {
                if steps[j].needed {
                    steps[j].deps += 1;
                }
            }
        }
    }
    let roots = roots
        .iter()
        .map(|&(id, nr)| (tape.plan_index(id, epoch).expect("roots are planned"), nr))
        .collect();
    Plan { steps, roots }
}

/// Adds `grad` into slot `output_nr` of a node's input buffer.
fn add_to_buffer(
    buffer: &mut SmallVec<[Option<Tensor>; 1]>,
    output_nr: u32,
    grad: Tensor,
) -> Result<()> {
    let slot = output_nr as usize;
    if buffer.len() <= slot {
        buffer.resize(slot + 1, None);
    }
    buffer[slot] = Some(match buffer[slot].take() {
        None => grad,
        Some(existing) => existing.add(&grad)?,
    });
    Ok(())
}

/// Accumulates `grad` into `t.grad` by PyTorch's rules: the first gradient is stored (as a
/// fresh buffer unless it can be taken over), later ones are added in place, so `.grad` stays
/// the same object; with `create_graph` the sum is out of place, to keep its graph.
pub(crate) fn accumulate_grad(t: &Tensor, grad: &Tensor, create_graph: bool) -> Result<()> {
    if create_graph {
        let current = t.grad();
        let updated = match current {
            None => grad.copy_backwards()?,
            Some(existing) => existing.add(grad)?,
        };
        let old = t.meta().grad.replace(updated);
        drop(old);
        return Ok(());
    }
    let existing = t.meta().grad.clone();
    match existing {
        Some(existing) => existing.add_assign_detached(grad),
        None => {
            let fresh = grad.detached_contiguous_copy();
            let raced = {
                let mut meta = t.meta();
                if meta.grad.is_none() {
                    meta.grad = Some(fresh);
                    None
                } else {
                    meta.grad.clone()
                }
            };
            match raced {
                Some(existing) => existing.add_assign_detached(grad),
                None => Ok(()),
            }
        }
    }
}

/// Frees the saved tensors of every node that ran, unless the graph is retained.
fn release_saved(plan: &[Step]) {
    let mut dropped: Vec<SmallVec<[SavedTensor; 2]>> = Vec::new();
    with_tape(|tape| {
        for step in plan
            .iter()
            .filter(|s| s.executed && matches!(s.work, Work::Op(_)))
        {
            if let Some(node) = tape.get_mut(step.id) {
                node.released = true;
                // Placeholders keep each slot's role, so `grad_fn._saved_self` can still
                // say the value was freed rather than that it never existed.
                let freed = node.saved.iter().map(SavedTensor::freed).collect();
                dropped.push(std::mem::replace(&mut node.saved, freed));
            }
        }
    });
    drop(dropped);
}

/// The saved tensors of node `id`, as its rule would see them (version-checked); PyTorch's
/// error once backward freed them or the node is gone. Custom functions' `ctx.saved_tensors`
/// reads them outside backward.
pub fn saved_tensors(id: NodeId) -> Result<Vec<Tensor>> {
    read_saved(id, |ctx| {
        (0..ctx.saved.len()).map(|i| ctx.saved(i)).collect()
    })
}

/// Runs `read` on a context over node `id`'s saved tensors, outside backward; PyTorch's
/// freed error when the node is gone.
pub(crate) fn read_saved<R>(
    id: NodeId,
    read: impl FnOnce(&BackwardCtx<'_>) -> Result<R>,
) -> Result<R> {
    let state = with_tape(|tape| {
        let n = tape.get(id)?;
        Some((n.saved.clone(), n.released, n.kind.name()))
    });
    let Some((saved, released, name)) = state else {
        return Err(runtime_err!("{}", super::function::FREED_MESSAGE));
    };
    read(&BackwardCtx {
        grads: &[],
        saved: &saved,
        released,
        node: id,
        name,
        needs_input_grad: &[],
        create_graph: false,
    })
}

/// Runs one node's backward rule on `grads` (one per output of the node), as calling a
/// `grad_fn` does in Python: returns one gradient per input, `None` where an input needs
/// none. Grad mode decides whether the result gets a graph. Calling a leaf's accumulator
/// adds the gradient into the leaf's `.grad` and returns nothing.
///
/// ```
/// let x = autodiff::Tensor::scalar(3.0f64).requires_grad_(true)?;
/// let y = x.mul(&x)?;
/// let one = autodiff::Tensor::scalar(1.0f64);
/// let grads = autodiff::autograd::call_node(&y.grad_fn().unwrap(), &[Some(one)])?;
/// // One gradient per operand of `x * x`: each is the other factor.
/// assert_eq!(grads[0].as_ref().unwrap().item()?, 3.0);
/// assert_eq!(grads[1].as_ref().unwrap().item()?, 3.0);
/// # Ok::<(), autodiff::Error>(())
/// ```
pub fn call_node(node: &super::NodeRef, grads: &[Option<Tensor>]) -> Result<Grads> {
    let (kind, saved, released, needs) = with_tape(|tape| {
        let n = tape.get(node.id()).expect("a held node is alive");
        let work = match &n.kind {
            NodeKind::Op(f) => Work::Op(f.clone()),
            NodeKind::AccumulateGrad(leaf) => Work::Accumulate(leaf.clone()),
        };
        let needs: SmallVec<[bool; 2]> = n.edges.iter().map(Option::is_some).collect();
        (work, n.saved.clone(), n.released, needs)
    });
    match kind {
        Work::Accumulate(leaf) => {
            if let Some(Some(g)) = grads.first() {
                accumulate_grad(&leaf, g, crate::grad_mode::is_grad_enabled())?;
            }
            Ok(Grads::new())
        }
        Work::Op(f) => {
            // Rules read the first output's gradient unconditionally: without it, nothing
            // flows (a node's first output always takes part in the graph).
            if grads.first().is_none_or(Option::is_none) {
                return Ok(needs.iter().map(|_| None).collect());
            }
            let ctx = BackwardCtx {
                grads,
                saved: &saved,
                released,
                node: node.id(),
                name: f.name(),
                needs_input_grad: &needs,
                create_graph: crate::grad_mode::is_grad_enabled(),
            };
            let mut out = f.backward(&ctx)?;
            out.resize(needs.len(), None);
            for (g, &need) in out.iter_mut().zip(&needs) {
                if !need {
                    *g = None;
                }
            }
            Ok(out)
        }
    }
}
