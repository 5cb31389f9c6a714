//! Hooks: user code that sees, and may replace, gradients as backward computes them.
//!
//! - Tensor hooks ([`GradHook`]) run on a tensor's gradient before it is used: a leaf's are
//!   kept in its autograd metadata and run before accumulation; a non-leaf's are kept on its
//!   `grad_fn` node, by output number, and run before `retain_grad` stores the gradient and
//!   before the node's rule runs.
//! - Post-accumulate hooks ([`PostAccumulateHook`]) run on a leaf after its `.grad` changed.
//! - Node hooks ([`NodePreHook`], [`NodePostHook`]) see a node's whole tuple of output
//!   gradients, and of input gradients after its rule ran.
//!
//! Every hook carries an id; a [`HookHandle`] removes it. A hook may also carry an `owner`:
//! an opaque object the Python bindings use to hand the callable to Python's garbage
//! collector (a hook that captures its own tensor forms a cycle through the engine).

use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use super::function::Grads;
use super::tape::{try_with_tape, with_tape, NodeId, NodeRef};
use crate::error::{runtime_err, Result};
use crate::tensor::{Tensor, TensorImpl};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// An opaque object a hook keeps alive (for the bindings: the Python callable).
pub type HookOwner = Arc<dyn Any + Send + Sync>;

/// The common part of every hook: its id, and the object behind it.
#[derive(Clone)]
pub struct HookInfo {
    pub(crate) id: u64,
    /// Named in the error when a hook changes a gradient's shape.
    pub(crate) name: String,
    pub(crate) owner: Option<HookOwner>,
}

impl HookInfo {
    /// A new id, with the name used in error messages and the object the hook keeps alive.
    pub fn new(name: impl Into<String>, owner: Option<HookOwner>) -> Self {
        HookInfo {
            id: next_id(),
            name: name.into(),
            owner,
        }
    }

    /// The object behind the hook (see the module notes).
    pub fn owner(&self) -> Option<&HookOwner> {
        self.owner.as_ref()
    }
}

/// `fn(grad) -> Option<new grad>`.
pub type GradHookFn = dyn Fn(&Tensor) -> Result<Option<Tensor>> + Send + Sync;
/// `fn(tensor)`, after the leaf's `.grad` was updated.
pub type PostAccumulateHookFn = dyn Fn(&Tensor) -> Result<()> + Send + Sync;
/// `fn(grad_outputs) -> Option<new grad_outputs>`.
pub type NodePreHookFn = dyn Fn(&[Option<Tensor>]) -> Result<Option<Grads>> + Send + Sync;
/// `fn(grad_inputs, grad_outputs) -> Option<new grad_inputs>`.
pub type NodePostHookFn =
    dyn Fn(&[Option<Tensor>], &[Option<Tensor>]) -> Result<Option<Grads>> + Send + Sync;

/// A tensor hook; see the module notes.
#[derive(Clone)]
pub struct GradHook {
    pub(crate) info: HookInfo,
    pub(crate) f: Arc<GradHookFn>,
}

/// A leaf's post-accumulate hook.
#[derive(Clone)]
pub struct PostAccumulateHook {
    pub(crate) info: HookInfo,
    pub(crate) f: Arc<PostAccumulateHookFn>,
}

/// A node's pre-hook.
#[derive(Clone)]
pub struct NodePreHook {
    pub(crate) info: HookInfo,
    pub(crate) f: Arc<NodePreHookFn>,
}

/// A node's post-hook.
#[derive(Clone)]
pub struct NodePostHook {
    pub(crate) info: HookInfo,
    pub(crate) f: Arc<NodePostHookFn>,
}

impl GradHook {
    /// Wraps `f`; `info` names it and holds what it keeps alive.
    pub fn new(info: HookInfo, f: Arc<GradHookFn>) -> Self {
        GradHook { info, f }
    }

    /// Runs the hook on `grad`: its replacement (checked against the gradient's shape) or
    /// `grad` itself when the hook returns nothing.
    pub(crate) fn apply(&self, grad: Tensor) -> Result<Tensor> {
        match (self.f)(&grad)? {
            None => Ok(grad),
            Some(new) if new.shape() != grad.shape() => Err(runtime_err!(
                "hook '{}' has changed the size of value",
                self.info.name
            )),
            Some(new) if new.dtype() != grad.dtype() => Err(runtime_err!(
                "hook '{}' has changed the type of value (was {} got {})",
                self.info.name,
                grad.dtype().legacy_type_name(),
                new.dtype().legacy_type_name()
            )),
            Some(new) => Ok(new),
        }
    }
}

impl PostAccumulateHook {
    /// Wraps `f`.
    pub fn new(info: HookInfo, f: Arc<PostAccumulateHookFn>) -> Self {
        PostAccumulateHook { info, f }
    }
}

impl NodePreHook {
    /// Wraps `f`.
    pub fn new(info: HookInfo, f: Arc<NodePreHookFn>) -> Self {
        NodePreHook { info, f }
    }
}

impl NodePostHook {
    /// Wraps `f`.
    pub fn new(info: HookInfo, f: Arc<NodePostHookFn>) -> Self {
        NodePostHook { info, f }
    }
}

/// The hooks kept on a node.
#[derive(Clone, Default)]
pub(crate) struct NodeHooks {
    /// Tensor hooks of the node's outputs, by output number.
    pub tensor: Vec<(u32, GradHook)>,
    pub pre: Vec<NodePreHook>,
    pub post: Vec<NodePostHook>,
}

impl NodeHooks {
    /// Takes out the hook `id` (to be dropped once the tape lock is released).
    fn remove(&mut self, id: u64) -> NodeHooks {
        NodeHooks {
            tensor: take_matching(&mut self.tensor, |(_, h)| h.info.id == id),
            pre: take_matching(&mut self.pre, |h| h.info.id == id),
            post: take_matching(&mut self.post, |h| h.info.id == id),
        }
    }

    /// Every hook's info, for the bindings' garbage-collector support.
    pub(crate) fn infos(&self) -> impl Iterator<Item = &HookInfo> {
        let tensor = self.tensor.iter().map(|(_, h)| &h.info);
        tensor
            .chain(self.pre.iter().map(|h| &h.info))
            .chain(self.post.iter().map(|h| &h.info))
    }
}

/// The hooks kept on a leaf.
#[derive(Clone, Default)]
pub(crate) struct LeafHooks {
    pub tensor: Vec<GradHook>,
    pub post_accumulate: Vec<PostAccumulateHook>,
}

impl LeafHooks {
    /// Takes out the hook `id` (to be dropped once the meta lock is released).
    fn remove(&mut self, id: u64) -> LeafHooks {
        LeafHooks {
            tensor: take_matching(&mut self.tensor, |h| h.info.id == id),
            post_accumulate: take_matching(&mut self.post_accumulate, |h| h.info.id == id),
        }
    }

    fn infos(&self) -> impl Iterator<Item = &HookInfo> {
        let tensor = self.tensor.iter().map(|h| &h.info);
        tensor.chain(self.post_accumulate.iter().map(|h| &h.info))
    }
}

/// Moves the items of `items` that match out, in order.
fn take_matching<T>(items: &mut Vec<T>, matches: impl Fn(&T) -> bool) -> Vec<T> {
    let (taken, kept) = std::mem::take(items).into_iter().partition(matches);
    *items = kept;
    taken
}

/// Where a hook lives, for its handle.
#[derive(Clone)]
enum Place {
    Leaf(Weak<TensorImpl>),
    Node(NodeId),
}

/// Removes one hook (PyTorch's `RemovableHandle`). The handle does not keep the tensor or the
/// node alive; removing a hook twice, or after its tensor or node is gone, does nothing.
#[derive(Clone)]
pub struct HookHandle {
    id: u64,
    place: Place,
}

impl HookHandle {
    /// The hook's id, unique in the process.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Removes the hook.
    pub fn remove(&self) {
        match &self.place {
            // A hook may own Python objects: it is dropped after the lock is released.
            Place::Leaf(weak) => {
                if let Some(t) = weak.upgrade() {
                    let removed = Tensor(t).meta().hooks.remove(self.id);
                    drop(removed);
                }
            }
            Place::Node(id) => {
                let removed = with_tape(|tape| Some(tape.get_mut(*id)?.hooks.remove(self.id)));
                drop(removed);
            }
        }
    }
}

const NO_GRAD_HOOK: &str = "cannot register a hook on a tensor that doesn't require gradient";

impl Tensor {
    /// Registers a hook on this tensor's gradient (`Tensor.register_hook`).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use autodiff::autograd::hooks::{GradHook, HookInfo};
    /// let x = autodiff::Tensor::scalar(2.0f64).requires_grad_(true)?;
    /// let hook = GradHook::new(HookInfo::new("times_ten", None), Arc::new(|g: &autodiff::Tensor| {
    ///     Ok(Some(g.mul_scalar(10.0)?))
    /// }));
    /// x.register_hook(hook)?;
    /// autodiff::autograd::backward(&[x.mul_scalar(3.0)?], &[None], false, false, None)?;
    /// assert_eq!(x.grad().unwrap().item()?, 30.0);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn register_hook(&self, hook: GradHook) -> Result<HookHandle> {
        if !self.requires_grad() {
            return Err(runtime_err!("{NO_GRAD_HOOK}"));
        }
        let id = hook.info.id;
        if let Some(node) = self.grad_fn() {
            let output_nr = self.output_nr();
            with_tape(|tape| {
                if let Some(n) = tape.get_mut(node.id()) {
                    n.hooks.tensor.push((output_nr, hook));
                }
            });
            return Ok(HookHandle {
                id,
                place: Place::Node(node.id()),
            });
        }
        self.meta().hooks.tensor.push(hook);
        Ok(HookHandle {
            id,
            place: Place::Leaf(Arc::downgrade(&self.0)),
        })
    }

    /// Registers a hook run after this leaf's `.grad` was updated
    /// (`Tensor.register_post_accumulate_grad_hook`).
    pub fn register_post_accumulate_grad_hook(
        &self,
        hook: PostAccumulateHook,
    ) -> Result<HookHandle> {
        if !self.requires_grad() {
            return Err(runtime_err!("{NO_GRAD_HOOK}"));
        }
        if !self.is_leaf() {
            return Err(runtime_err!(
                "post accumulate grad hooks cannot be registered on non-leaf tensors"
            ));
        }
        let id = hook.info.id;
        self.meta().hooks.post_accumulate.push(hook);
        Ok(HookHandle {
            id,
            place: Place::Leaf(Arc::downgrade(&self.0)),
        })
    }

    /// The hooks on this leaf (empty for non-leaves, whose hooks live on their node).
    pub(crate) fn leaf_hooks(&self) -> LeafHooks {
        self.meta().hooks.clone()
    }

    /// Whether this leaf's `AccumulateGrad` node is alive (it holds the leaf). Never waits
    /// for a lock: false when one is busy.
    pub fn has_accumulator(&self) -> bool {
        try_with_tape(|tape| {
            let meta = self.0.try_meta()?;
            Some(meta.accumulator.is_some_and(|id| tape.is_alive(id)))
        })
        .flatten()
        .unwrap_or(false)
    }

    /// For the Python bindings' garbage-collector support: visits the owners of the hooks
    /// that this tensor alone keeps alive (its leaf hooks, and its node's hooks when no other
    /// handle holds the node). Never waits for a lock: a busy lock visits nothing.
    pub fn gc_visit_hook_owners<E>(
        &self,
        mut visit: impl FnMut(&HookOwner) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let visited = try_with_tape(|tape| {
            let Some(meta) = self.0.try_meta() else {
                return Ok(());
            };
            for owner in meta.hooks.infos().filter_map(HookInfo::owner) {
                visit(owner)?;
            }
            if let Some(node) = &meta.grad_fn {
                if tape.strong_count(node.id()) == 1 {
                    if let Some(n) = tape.get(node.id()) {
                        for owner in n.hooks.infos().filter_map(HookInfo::owner) {
                            visit(owner)?;
                        }
                    }
                }
            }
            Ok(())
        });
        visited.unwrap_or(Ok(()))
    }

    /// Drops the hooks [`Tensor::gc_visit_hook_owners`] visits, breaking a cycle the garbage
    /// collector found.
    pub fn gc_clear_hooks(&self) {
        let taken = try_with_tape(|tape| {
            let mut meta = self.0.try_meta()?;
            let leaf = std::mem::take(&mut meta.hooks);
            let node = meta.grad_fn.as_ref().map(NodeRef::id);
            drop(meta);
            let node_hooks = node
                .filter(|&id| tape.strong_count(id) == 1)
                .and_then(|id| tape.get_mut(id))
                .map(|n| std::mem::take(&mut n.hooks));
            Some((leaf, node_hooks))
        });
        drop(taken);
    }
}

impl super::NodeRef {
    /// Registers a hook on the gradients of this node's outputs
    /// (`Node.register_prehook`).
    pub fn register_prehook(&self, hook: NodePreHook) -> HookHandle {
        let id = hook.info.id;
        with_tape(|tape| {
            if let Some(n) = tape.get_mut(self.id()) {
                n.hooks.pre.push(hook);
            }
        });
        HookHandle {
            id,
            place: Place::Node(self.id()),
        }
    }

    /// Registers a hook on the gradients of this node's inputs, run after its rule
    /// (`Node.register_hook`).
    pub fn register_hook(&self, hook: NodePostHook) -> HookHandle {
        let id = hook.info.id;
        with_tape(|tape| {
            if let Some(n) = tape.get_mut(self.id()) {
                n.hooks.post.push(hook);
            }
        });
        HookHandle {
            id,
            place: Place::Node(self.id()),
        }
    }
}
