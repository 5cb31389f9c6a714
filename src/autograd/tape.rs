//! The tape: one process-wide arena of graph nodes addressed by generational handles.
//!
//! A node lives while a strong handle refers to it: the [`NodeRef`] of a tensor's `grad_fn`,
//! or an edge from a younger node. When the last one goes, the node is freed and the handles
//! it held are released through a worklist, so a chain of a million nodes is freed without
//! recursion. The arena is global, not thread-local, because Python moves tensors between
//! threads freely; only grad mode is per thread (see `grad_mode.rs`).
//!
//! Lock order: the tape lock first, then a tensor's autograd-meta lock. Nothing is dropped
//! while the tape lock is held: freed nodes are dropped after it is released, because dropping
//! them drops tensors, which release more nodes.

use std::cell::{Cell, RefCell};
use std::num::NonZeroU32;

use parking_lot::{const_mutex, Mutex};
use smallvec::SmallVec;

use super::function::{NodeKind, SavedTensor};

/// A handle to a node slot; stale when the slot's generation moved on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeId {
    pub(crate) idx: u32,
    pub(crate) gen: NonZeroU32,
}

/// One input of a node: the node that receives the gradient of that input, and which of its
/// outputs the input was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Edge {
    pub node: NodeId,
    pub input_nr: u32,
}

/// A recorded operation.
pub(crate) struct Node {
    pub seq: u64,
    pub kind: NodeKind,
    /// One entry per differentiable input; `None` where that input needs no gradient.
    pub edges: SmallVec<[Option<Edge>; 2]>,
    pub saved: SmallVec<[SavedTensor; 2]>,
    /// Set after a backward without `retain_graph`; the saved tensors are gone by then.
    pub released: bool,
    /// Non-leaf tensors whose `.grad` is kept (`retain_grad()`), by output number.
    pub retained: Vec<(u32, std::sync::Weak<crate::tensor::TensorImpl>)>,
    /// Hooks on the node and on its outputs' gradients.
    pub hooks: super::hooks::NodeHooks,
    /// The forward call's stack, kept in anomaly mode.
    pub trace: Option<std::sync::Arc<str>>,
}

struct Slot {
    gen: NonZeroU32,
    strong: u32,
    /// `(plan epoch, index in that plan)`: lets backward find a node's plan entry without a
    /// hash map (see `Tape::begin_plan`).
    mark: (u32, u32),
    node: Option<Node>,
}

pub(crate) struct Tape {
    slots: Vec<Slot>,
    free: Vec<u32>,
    live: usize,
    next_seq: u64,
    plan_epoch: u32,
}

static TAPE: Mutex<Tape> = const_mutex(Tape {
    slots: Vec::new(),
    free: Vec::new(),
    live: 0,
    next_seq: 0,
    plan_epoch: 0,
});

/// Runs `f` with the tape locked. `f` must not drop tensors or node handles.
pub(crate) fn with_tape<R>(f: impl FnOnce(&mut Tape) -> R) -> R {
    f(&mut TAPE.lock())
}

/// [`with_tape`] if the lock is free right now; `None` otherwise. For the garbage collector's
/// callbacks, which must not wait for a lock.
pub(crate) fn try_with_tape<R>(f: impl FnOnce(&mut Tape) -> R) -> Option<R> {
    TAPE.try_lock().map(|mut tape| f(&mut tape))
}

/// The number of graph nodes alive in the process. Tests use it to prove nothing leaks.
///
/// ```
/// let before = autodiff::live_nodes();
/// let x = autodiff::Tensor::scalar(2.0f32).requires_grad_(true).unwrap();
/// let y = x.mul(&x).unwrap();
/// assert!(autodiff::live_nodes() > before);
/// drop(y);
/// drop(x);
/// assert_eq!(autodiff::live_nodes(), before);
/// ```
pub fn live_nodes() -> usize {
    TAPE.lock().live
}

impl Tape {
    /// Adds a node with one strong reference (returned as a raw id the caller must wrap).
    pub(crate) fn insert(&mut self, mut node: Node, accumulate: bool) -> NodeId {
        node.seq = if accumulate {
            u64::MAX
        } else {
            self.next_seq += 1;
            self.next_seq
        };
        self.live += 1;
        if let Some(idx) = self.free.pop() {
            let slot = &mut self.slots[idx as usize];
            slot.strong = 1;
            slot.node = Some(node);
            NodeId { idx, gen: slot.gen }
        } else {
            let idx = self.slots.len() as u32;
            let gen = NonZeroU32::MIN;
            self.slots.push(Slot {
                gen,
                strong: 1,
                mark: (0, 0),
                node: Some(node),
            });
            NodeId { idx, gen }
        }
    }

    pub(crate) fn get(&self, id: NodeId) -> Option<&Node> {
        let slot = self.slots.get(id.idx as usize)?;
        if slot.gen == id.gen {
            slot.node.as_ref()
        } else {
            None
        }
    }

    pub(crate) fn get_mut(&mut self, id: NodeId) -> Option<&mut Node> {
        let slot = self.slots.get_mut(id.idx as usize)?;
        if slot.gen == id.gen {
            slot.node.as_mut()
        } else {
            None
        }
    }

    /// Starts a new backward plan: marks from earlier plans stop counting.
    pub(crate) fn begin_plan(&mut self) -> u32 {
        self.plan_epoch = self.plan_epoch.wrapping_add(1);
        if self.plan_epoch == 0 {
            // After 2^32 plans, clear old marks so none can pass for the new epoch.
            self.slots.iter_mut().for_each(|slot| slot.mark = (0, 0));
            self.plan_epoch = 1;
        }
        self.plan_epoch
    }

    /// The node's index in the plan of `epoch`, if that plan has it.
    pub(crate) fn plan_index(&self, id: NodeId, epoch: u32) -> Option<usize> {
        let (e, index) = self.slots[id.idx as usize].mark;
        (e == epoch).then_some(index as usize)
    }

    pub(crate) fn set_plan_index(&mut self, id: NodeId, epoch: u32, index: usize) {
        self.slots[id.idx as usize].mark = (epoch, index as u32);
    }

    /// How many handles refer to a live node (0 for a freed one).
    pub(crate) fn strong_count(&self, id: NodeId) -> u32 {
        match self.slots.get(id.idx as usize) {
            Some(slot) if slot.gen == id.gen && slot.node.is_some() => slot.strong,
            _ => 0,
        }
    }

    pub(crate) fn is_alive(&self, id: NodeId) -> bool {
        self.get(id).is_some()
    }

    /// Adds a strong reference to a live node.
    pub(crate) fn retain(&mut self, id: NodeId) {
        let slot = &mut self.slots[id.idx as usize];
        assert!(
            slot.gen == id.gen && slot.node.is_some(),
            "retaining a freed graph node"
        );
        slot.strong += 1;
    }

    /// Drops one strong reference and frees every node that becomes unreferenced, pushing
    /// the freed nodes to `freed` for the caller to drop once the lock is released.
    pub(crate) fn release_into(&mut self, id: NodeId, freed: &mut Freed) {
        let mut worklist: SmallVec<[NodeId; 8]> = SmallVec::new();
        worklist.push(id);
        while let Some(id) = worklist.pop() {
            let slot = &mut self.slots[id.idx as usize];
            if slot.gen != id.gen {
                continue;
            }
            slot.strong -= 1;
            if slot.strong > 0 {
                continue;
            }
            let node = slot.node.take().expect("a live slot holds a node");
            slot.gen = slot.gen.checked_add(1).unwrap_or(NonZeroU32::MIN);
            self.free.push(id.idx);
            self.live -= 1;
            worklist.extend(node.edges.iter().flatten().map(|edge| edge.node));
            freed.push(node);
        }
    }
}

thread_local! {
    /// Nodes freed on this thread that still wait to be dropped, and whether a drop loop is
    /// already running further up the stack. Dropping a node drops its saved tensors, which
    /// release older nodes: the loop turns that recursion into iteration.
    static PENDING: RefCell<Vec<Node>> = const { RefCell::new(Vec::new()) };
    static DRAINING: Cell<bool> = const { Cell::new(false) };
}

/// Nodes freed by one release; usually one, so they stay on the stack.
pub(crate) type Freed = SmallVec<[Node; 1]>;

/// Releases one strong reference to `id`, freeing what becomes unreachable.
pub(crate) fn release(id: NodeId) {
    let mut freed = Freed::new();
    TAPE.lock().release_into(id, &mut freed);
    if !freed.is_empty() {
        drop_nodes(freed);
    }
}

/// Drops nodes outside the tape lock without recursing into the nodes they free: while one
/// drop loop runs on this thread, nested releases only queue their nodes for it.
pub(crate) fn drop_nodes(nodes: Freed) {
    // During thread teardown the thread-locals may be gone; the nodes are then dropped
    // directly (if the closure never runs, dropping it drops them).
    let Ok(nested) = DRAINING.try_with(|d| d.replace(true)) else {
        return;
    };
    if nested {
        PENDING.with(move |pending| pending.borrow_mut().extend(nodes));
        return;
    }
    drop(nodes);
    loop {
        let next = PENDING.with(|pending| pending.borrow_mut().pop());
        match next {
            Some(node) => drop(node),
            None => break,
        }
    }
    DRAINING.with(|d| d.set(false));
}

/// A strong handle to a node: a tensor's `grad_fn`.
#[derive(Debug, PartialEq, Eq)]
pub struct NodeRef(NodeId);

impl NodeRef {
    /// Wraps an id whose strong count the caller already incremented.
    pub(crate) fn from_retained(id: NodeId) -> Self {
        NodeRef(id)
    }

    pub fn id(&self) -> NodeId {
        self.0
    }
}

impl Clone for NodeRef {
    fn clone(&self) -> Self {
        TAPE.lock().retain(self.0);
        NodeRef(self.0)
    }
}

impl Drop for NodeRef {
    fn drop(&mut self) {
        release(self.0);
    }
}

impl NodeRef {
    /// The node's `grad_fn` name, such as `"MulBackward0"`.
    pub fn name(&self) -> &'static str {
        with_tape(|tape| {
            tape.get(self.0)
                .map(|n| n.kind.name())
                .expect("a held node is alive")
        })
    }

    /// The node's inputs: the node each input's gradient flows to and which of its outputs
    /// the input was; `None` for inputs that need no gradient.
    pub fn next_functions(&self) -> Vec<Option<(NodeRef, u32)>> {
        with_tape(|tape| {
            let edges = tape
                .get(self.0)
                .expect("a held node is alive")
                .edges
                .clone();
            edges
                .into_iter()
                .map(|edge| {
                    edge.map(|e| {
                        tape.retain(e.node);
                        (NodeRef(e.node), e.input_nr)
                    })
                })
                .collect()
        })
    }

    /// The leaf an `AccumulateGrad` node accumulates into.
    pub fn variable(&self) -> Option<crate::tensor::Tensor> {
        with_tape(|tape| match &tape.get(self.0)?.kind {
            super::function::NodeKind::AccumulateGrad(leaf) => Some(leaf.clone()),
            super::function::NodeKind::Op(_) => None,
        })
    }
}

/// What the graph behind a tensor holds (see [`NodeRef::graph_stats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GraphStats {
    /// Nodes reachable from the tensor's `grad_fn`, its own included, leaves' accumulators
    /// too.
    pub nodes: usize,
    /// Tensors saved for backward by those nodes (Python numbers saved by value excluded).
    pub saved_tensors: usize,
    /// Bytes of the storages behind the saved tensors, each storage counted once.
    pub saved_bytes: usize,
}

impl NodeRef {
    /// Counts the nodes reachable from this node and the memory their saved tensors hold,
    /// with an explicit stack (graph depth never touches the call stack).
    ///
    /// ```
    /// let x = autodiff::Tensor::from_vec(vec![1.0f32; 4], &[4])?.requires_grad_(true)?;
    /// let y = x.exp()?.sum(None, false)?;
    /// let stats = y.grad_fn().unwrap().graph_stats();
    /// assert_eq!(stats.nodes, 3); // SumBackward0, ExpBackward0, AccumulateGrad
    /// assert_eq!(stats.saved_bytes, 16); // exp's output, 4 float32
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn graph_stats(&self) -> GraphStats {
        let mut stats = GraphStats::default();
        let mut storages = std::collections::HashSet::new();
        let mut seen = std::collections::HashSet::new();
        let mut stack = vec![self.0];
        with_tape(|tape| {
            while let Some(id) = stack.pop() {
                if !seen.insert(id) {
                    continue;
                }
                let Some(node) = tape.get(id) else { continue };
                stats.nodes += 1;
                for storage in node.saved.iter().filter_map(SavedTensor::storage) {
                    stats.saved_tensors += 1;
                    if storages.insert(std::sync::Arc::as_ptr(storage)) {
                        let buffer = storage.read();
                        stats.saved_bytes += buffer.len() * buffer.dtype().size_of();
                    }
                }
                stack.extend(node.edges.iter().flatten().map(|e| e.node));
            }
        });
        stats
    }
}
