//! Typed errors of the engine. The Python bindings map each variant to the exception type
//! PyTorch raises for the same mistake (see `python/error.rs`); the messages are PyTorch's.

/// Every way an engine call can fail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Autograd state errors (PyTorch raises `RuntimeError`).
    #[error("{0}")]
    Runtime(String),
    /// Bad values, such as ragged nested lists (PyTorch raises `ValueError`).
    #[error("{0}")]
    Value(String),
    /// Wrong argument types (PyTorch raises `TypeError`).
    #[error("{0}")]
    Type(String),
    /// Indices out of range (PyTorch raises `IndexError`).
    #[error("{0}")]
    Index(String),
    /// An op with no kernel for the dtype (PyTorch raises `NotImplementedError`).
    #[error("{0}")]
    NotImplemented(String),
    /// An error raised by user code the engine called back (a hook, a custom function),
    /// carried through unchanged.
    #[error("{0}")]
    Callback(CallbackError),
}

/// A foreign error (for the bindings: the Python exception) travelling through the engine.
#[derive(Clone)]
pub struct CallbackError {
    message: String,
    payload: std::sync::Arc<dyn std::any::Any + Send + Sync>,
}

impl CallbackError {
    /// Wraps `payload`, described by `message`.
    pub fn new(message: String, payload: std::sync::Arc<dyn std::any::Any + Send + Sync>) -> Self {
        CallbackError { message, payload }
    }

    /// The wrapped error.
    pub fn payload(&self) -> &(dyn std::any::Any + Send + Sync) {
        &*self.payload
    }
}

impl std::fmt::Display for CallbackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::fmt::Debug for CallbackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CallbackError({:?})", self.message)
    }
}

impl PartialEq for CallbackError {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.payload, &other.payload)
    }
}

impl Eq for CallbackError {}

/// Result alias used across the crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Builds an [`Error::Runtime`] from a format string.
macro_rules! runtime_err {
    ($($arg:tt)*) => { $crate::error::Error::Runtime(format!($($arg)*)) };
}
pub(crate) use runtime_err;
