//! Reverse-mode autograd: the tape of recorded nodes, the backward engine, and the
//! interface op implementations use to record themselves.

pub mod anomaly;
pub mod engine;
pub mod function;
pub mod hooks;
pub mod saved;
pub mod tape;

pub use engine::{backward, call_node, grad, saved_tensors};
pub use function::{
    needs_grad, record, record_outputs, record_unsaved, BackwardCtx, BackwardFn, Grads,
    PackedTensor, SavedTensor, SavedValue,
};
pub use tape::{live_nodes, GraphStats, NodeId, NodeRef};
