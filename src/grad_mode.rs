//! The grad-mode flag. It is thread-local, as in PyTorch: a `no_grad` block in one thread
//! never stops another thread from recording, and every new thread starts with grad on.

use std::cell::Cell;

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
    static INFERENCE_MODE: Cell<bool> = const { Cell::new(false) };
}

/// Whether this thread is in inference mode: grad mode is off, and the tensors made are
/// inference tensors, which autograd may never record.
///
/// ```
/// assert!(!autodiff::grad_mode::is_inference_mode_enabled());
/// ```
#[inline]
pub fn is_inference_mode_enabled() -> bool {
    INFERENCE_MODE.with(Cell::get)
}

/// Enters (or with `false`, leaves) inference mode on this thread, as PyTorch's
/// `InferenceMode` guard does: grad mode becomes the opposite of `enabled`. Returns the
/// previous `(inference mode, grad mode)`, for [`restore_inference_mode`].
pub fn set_inference_mode(enabled: bool) -> (bool, bool) {
    let previous = (is_inference_mode_enabled(), set_grad_enabled(!enabled));
    INFERENCE_MODE.with(|flag| flag.set(enabled));
    previous
}

/// Restores what [`set_inference_mode`] returned.
pub fn restore_inference_mode((inference, grad): (bool, bool)) {
    INFERENCE_MODE.with(|flag| flag.set(inference));
    set_grad_enabled(grad);
}

/// Whether ops on this thread record graph nodes.
///
/// ```
/// assert!(autodiff::is_grad_enabled());
/// ```
#[inline]
pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(Cell::get)
}

/// Sets this thread's grad mode and returns the previous value.
pub fn set_grad_enabled(enabled: bool) -> bool {
    GRAD_ENABLED.with(|flag| flag.replace(enabled))
}

/// Sets grad mode for a scope and restores the previous mode when dropped, also when
/// unwinding.
///
/// ```
/// use autodiff::{is_grad_enabled, GradModeGuard};
/// {
///     let _guard = GradModeGuard::new(false);
///     assert!(!is_grad_enabled());
/// }
/// assert!(is_grad_enabled());
/// ```
#[must_use = "the mode is restored when the guard drops"]
pub struct GradModeGuard {
    previous: bool,
}

impl GradModeGuard {
    pub fn new(enabled: bool) -> Self {
        GradModeGuard {
            previous: set_grad_enabled(enabled),
        }
    }
}

impl Drop for GradModeGuard {
    fn drop(&mut self) {
        set_grad_enabled(self.previous);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_threads_start_enabled() {
        let _guard = GradModeGuard::new(false);
        let seen = std::thread::spawn(is_grad_enabled).join().unwrap();
        assert!(seen);
        assert!(!is_grad_enabled());
    }
}
