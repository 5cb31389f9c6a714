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
}

/// Result alias used across the crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Builds an [`Error::Runtime`] from a format string.
macro_rules! runtime_err {
    ($($arg:tt)*) => { $crate::error::Error::Runtime(format!($($arg)*)) };
}
pub(crate) use runtime_err;
