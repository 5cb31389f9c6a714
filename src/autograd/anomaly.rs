//! Anomaly detection (`autograd.detect_anomaly`): when on, every recorded node keeps the
//! stack of the forward call that created it, and a backward rule that returns NaN, or
//! fails, is reported with that stack. Like PyTorch's, the mode is process-wide.
//!
//! The engine does not know how to read a Python stack or emit a Python warning: the
//! bindings install both functions ([`set_reporters`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use crate::error::{runtime_err, Result};
use crate::tensor::Tensor;

static ENABLED: AtomicBool = AtomicBool::new(false);
static CHECK_NAN: AtomicBool = AtomicBool::new(true);

/// Reads the current (forward) call stack, formatted.
pub type StackReader = fn() -> Option<String>;
/// Emits a warning.
pub type Warner = fn(&str);

static REPORTERS: OnceLock<(StackReader, Warner)> = OnceLock::new();

/// Installs the functions that read the caller's stack and emit warnings (once).
pub fn set_reporters(read_stack: StackReader, warn: Warner) {
    let _ = REPORTERS.set((read_stack, warn));
}

/// Turns anomaly detection on or off; `check_nan` decides whether backward checks every
/// node's gradients for NaN.
///
/// ```
/// use autodiff::autograd::anomaly;
/// anomaly::set_detect_anomaly(true, true);
/// assert!(anomaly::is_anomaly_enabled());
/// anomaly::set_detect_anomaly(false, true);
/// ```
pub fn set_detect_anomaly(enabled: bool, check_nan: bool) {
    CHECK_NAN.store(check_nan, Ordering::Relaxed);
    ENABLED.store(enabled, Ordering::Relaxed);
}

/// Whether anomaly detection is on.
pub fn is_anomaly_enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Whether anomaly detection checks gradients for NaN.
pub fn is_anomaly_check_nan_enabled() -> bool {
    CHECK_NAN.load(Ordering::Relaxed)
}

/// The forward stack to keep on a node being recorded, when the mode is on.
pub(crate) fn forward_trace() -> Option<Arc<str>> {
    if !is_anomaly_enabled() {
        return None;
    }
    let (read_stack, _) = REPORTERS.get()?;
    read_stack().map(Arc::from)
}

/// Reports the node `name` that failed in backward, with the stack it was recorded at.
pub(crate) fn report(name: &str, trace: Option<&str>) {
    if let (Some((_, warn)), Some(trace)) = (REPORTERS.get(), trace) {
        warn(&format!(
            "Error detected in {name}. Traceback of forward call that caused the error:\n{trace}"
        ));
    }
}

/// PyTorch's error for a backward rule that returned NaN in output `index`.
pub(crate) fn check_nan(name: &str, grads: &[Option<Tensor>]) -> Result<()> {
    for (index, grad) in grads.iter().enumerate() {
        if grad.as_ref().is_some_and(Tensor::has_nan) {
            return Err(runtime_err!(
                "Function '{name}' returned nan values in its {index}th output."
            ));
        }
    }
    Ok(())
}

/// The closing hint of the in-place version error, which depends on the mode.
pub(crate) fn version_error_hint() -> &'static str {
    if is_anomaly_enabled() {
        "Hint: the backtrace further above shows the operation that failed to compute its \
         gradient. The variable in question was changed in there or anywhere later. Good luck!"
    } else {
        "Hint: enable anomaly detection to find the operation that failed to compute its \
         gradient, with torch.autograd.set_detect_anomaly(True, check_nan=False)."
    }
}

impl Tensor {
    /// Whether any element is NaN (never for integer and bool tensors).
    pub fn has_nan(&self) -> bool {
        match self.dtype() {
            crate::DType::F32 => self.with_values::<f32, _>(|v| v.iter().any(|x| x.is_nan())),
            crate::DType::F64 => self.with_values::<f64, _>(|v| v.iter().any(|x| x.is_nan())),
            _ => false,
        }
    }
}
