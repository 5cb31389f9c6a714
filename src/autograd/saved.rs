//! What a node saved for backward, by PyTorch's names (`grad_fn._saved_self`,
//! `_saved_exponent`, ...), and user hooks that take over a saved tensor
//! (`grad_fn._raw_saved_self.register_hooks(pack, unpack)`).

use std::sync::Arc;

use super::function::{NodeKind, PackedTensor, SavedTensor, SavedValue};
use super::tape::{with_tape, NodeId};
use crate::error::{runtime_err, Result};
use crate::tensor::Tensor;

/// One `_saved_<name>` attribute of a node.
pub enum SavedAttribute {
    /// The tensor in slot `index` of the node's saved tensors.
    Tensor { index: usize },
    /// A non-tensor argument.
    Value(SavedValue),
}

/// The names of node `id`'s saved attributes, in order, each with where it lives. Empty for
/// a node that is gone or saves nothing (an accumulator).
///
/// ```
/// let x = autodiff::Tensor::scalar(2.0f32).requires_grad_(true)?;
/// let y = x.exp()?;
/// let names: Vec<_> = autodiff::autograd::saved::attributes(y.grad_fn().unwrap().id())
///     .into_iter().map(|(name, _)| name).collect();
/// assert_eq!(names, ["result"]);
/// # Ok::<(), autodiff::Error>(())
/// ```
pub fn attributes(id: NodeId) -> Vec<(&'static str, SavedAttribute)> {
    let Some((rule, roles)) = with_tape(|tape| {
        let node = tape.get(id)?;
        let NodeKind::Op(rule) = &node.kind else {
            return None;
        };
        let roles: Vec<bool> = node.saved.iter().map(SavedTensor::is_output).collect();
        Some((rule.clone(), roles))
    }) else {
        return Vec::new();
    };
    let mut names = rule.saved_names();
    if names.len() != roles.len() {
        names = role_names(&roles);
    }
    let mut out: Vec<_> = names
        .into_iter()
        .enumerate()
        .map(|(index, name)| (name, SavedAttribute::Tensor { index }))
        .collect();
    out.extend(
        rule.saved_values()
            .into_iter()
            .map(|(name, value)| (name, SavedAttribute::Value(value))),
    );
    out
}

/// `self` for the first saved input, `other` for later ones, `result` for the output.
fn role_names(is_output: &[bool]) -> Vec<&'static str> {
    let mut inputs = 0;
    is_output
        .iter()
        .map(|&output| {
            if output {
                "result"
            } else {
                inputs += 1;
                if inputs == 1 {
                    "self"
                } else {
                    "other"
                }
            }
        })
        .collect()
}

/// Saved tensor `index` of node `id`, version-checked as backward would read it; PyTorch's
/// error once backward freed it.
pub fn tensor(id: NodeId, index: usize) -> Result<Tensor> {
    super::engine::read_saved(id, |ctx| ctx.saved(index))
}

const FREED_HOOKS_MESSAGE: &str = "Calling register_hooks on a saved tensor after it has been \
freed. Saved intermediate values of the graph are freed when you call .backward() or \
autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second \
time or if you need to access saved variables after calling backward.";

const PACK_MODIFIED_MESSAGE: &str = "A saved tensor pack hook is modifying its input in place. \
Tensors provided as input to pack hook cannot be modified by in-place operations as this can \
lead to unexpected side-effects. Please open an issue if you need to perform in-place \
operations on the input to a pack hook.";

/// Hands saved tensor `index` of node `id` to `pack` and keeps what it returns in its place;
/// backward then reads the slot through [`PackedTensor::unpack`]. One pair of hooks per slot,
/// as in PyTorch.
pub fn register_hooks(
    id: NodeId,
    index: usize,
    pack: impl FnOnce(Tensor) -> Result<Arc<dyn PackedTensor>>,
) -> Result<()> {
    let state = with_tape(|tape| {
        let n = tape.get(id)?;
        Some((n.released, n.saved.get(index).map(SavedTensor::is_packed)))
    });
    match state {
        None | Some((true, _)) => return Err(runtime_err!("{FREED_HOOKS_MESSAGE}")),
        Some((_, Some(true))) => {
            return Err(runtime_err!(
                "Calling register_hooks on a saved tensor whose hooks have already been set. \
                 Hint: only one pair of hooks is allowed at a time."
            ))
        }
        _ => {}
    }
    let value = tensor(id, index)?;
    let version = value.version();
    // `pack` is user code: it runs with no lock held, and outside autograd as in PyTorch.
    let packed = {
        let _off = crate::GradModeGuard::new(false);
        pack(value.clone())?
    };
    if value.version() != version {
        return Err(runtime_err!("{PACK_MODIFIED_MESSAGE}"));
    }
    let replaced = with_tape(|tape| {
        let slot = tape.get_mut(id)?.saved.get_mut(index)?;
        Some(std::mem::replace(slot, SavedTensor::packed(packed)))
    });
    // The old slot is dropped here, outside the tape lock.
    drop(replaced);
    Ok(())
}
