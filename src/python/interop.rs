//! Zero-copy interchange with NumPy (`Tensor.numpy()`, `from_numpy`); DLPack is in
//! `dlpack.rs` and shares [`lend`]. Memory is lent in both directions, never copied: the
//! borrower holds a reference to whatever keeps the memory alive (a tensor's storage, a NumPy
//! array, a producer's DLPack context) until its last view is gone.
//!
//! Shared memory brings NumPy's usual rule, as in PyTorch: writing through one side while
//! another thread reads through the other (NumPy releases the GIL inside many loops) needs the
//! caller's own synchronisation.

use std::ffi::{c_int, CStr};
use std::ptr::{self};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use numpy::npyffi::{self, npy_intp, NPY_ARRAY_WRITEABLE, PY_ARRAY_API};
use numpy::{PyArrayDescr, PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyType;

use super::error::guard_py;
use super::tensor::{warn_once, wrap, PyTensor};
use crate::dtype::DType;
use crate::layout::{Layout, Shape};
use crate::storage::{Data, Element, Storage};
use crate::tensor::Tensor;

/// NumPy before 2.0 allows at most 32 dimensions; keeping that limit keeps `numpy()` working
/// the same with every supported NumPy.
const NUMPY_MAX_DIMS: usize = 32;

const NEGATIVE_STRIDES: &str = "At least one stride in the given numpy array is negative, and \
tensors with negative strides are not currently supported. (You can probably work around this by \
making a copy of your array  with array.copy().) ";

const STRIDES_NOT_MULTIPLE: &str = "given numpy array strides not a multiple of the element byte \
size. Copy the numpy array to reallocate the memory.";

const NOT_NATIVE_BYTE_ORDER: &str = "given numpy array has byte order different from the native \
byte order. Conversion between byte orders is currently not supported.";

const NOT_WRITABLE_WARNING: &str = "The given NumPy array is not writable, and PyTorch does not \
support non-writable tensors. This means writing to this tensor will result in undefined \
behavior. You may want to copy the array to protect its data or make it writable before \
converting it to a tensor. This type of warning will be suppressed for the rest of this \
program.";

/// `Tensor.numpy()`: an ndarray over the tensor's own memory with the tensor's strides. Its
/// base is the tensor, so the storage outlives the array; read-only memory gives a read-only
/// array.
pub(crate) fn numpy_view<'py>(tensor: &Bound<'py, PyTensor>) -> PyResult<Bound<'py, PyAny>> {
    let py = tensor.py();
    let t = &tensor.get().inner;
    if t.ndim() > NUMPY_MAX_DIMS {
        return Err(PyRuntimeError::new_err(format!(
            "a tensor with {} dimensions cannot be converted to NumPy, which allows at most \
             {NUMPY_MAX_DIMS}",
            t.ndim()
        )));
    }
    let (base, writable) = {
        let buffer = t.storage().read();
        (buffer.as_mut_ptr(), buffer.is_writable())
    };
    let itemsize = t.dtype().size_of();
    let layout = t.layout();
    let mut dims: Vec<npy_intp> = layout.shape().iter().map(|&d| d as npy_intp).collect();
    let mut strides: Vec<npy_intp> = layout
        .strides()
        .iter()
        .map(|&s| (s * itemsize) as npy_intp)
        .collect();
    // Wrapping: the offset of an empty view may lie past the end of its storage.
    let data = base.wrapping_add(layout.offset() * itemsize);
    let descr = numpy_descr(py, t.dtype());
    let flags = if writable { NPY_ARRAY_WRITEABLE } else { 0 };
    // SAFETY: `data`, `dims` and `strides` describe elements inside the storage (or nothing,
    // for an empty tensor); the tensor set as base below keeps the storage, whose pointer never
    // moves, alive as long as the array. NumPy copies `dims` and `strides`, and
    // `PyArray_NewFromDescr` steals the descriptor reference that `into_dtype_ptr` gives it.
    unsafe {
        let array = PY_ARRAY_API.PyArray_NewFromDescr(
            py,
            npyffi::get_type_object(py, npyffi::NpyTypes::PyArray_Type),
            descr.into_dtype_ptr(),
            dims.len() as c_int,
            dims.as_mut_ptr(),
            strides.as_mut_ptr(),
            data.cast(),
            flags,
            ptr::null_mut(),
        );
        let array = Bound::from_owned_ptr_or_err(py, array)?;
        // Steals the reference to the tensor, also when it fails.
        let base = tensor.clone().into_any().into_ptr();
        if PY_ARRAY_API.PyArray_SetBaseObject(py, array.as_ptr().cast(), base) < 0 {
            return Err(PyErr::fetch(py));
        }
        Ok(array)
    }
}

fn numpy_descr(py: Python<'_>, dtype: DType) -> Bound<'_, PyArrayDescr> {
    match dtype {
        DType::F32 => numpy::dtype::<f32>(py),
        DType::F64 => numpy::dtype::<f64>(py),
        DType::I64 => numpy::dtype::<i64>(py),
        DType::Bool => numpy::dtype::<bool>(py),
    }
}

/// The C-level name of a type, as PyTorch's messages print it (`list`, `numpy.float64`).
fn type_name(ty: &Bound<'_, PyType>) -> String {
    // SAFETY: every type object has a NUL-terminated `tp_name` that lives as long as the type.
    unsafe { CStr::from_ptr((*ty.as_type_ptr()).tp_name) }
        .to_string_lossy()
        .into_owned()
}

/// The engine dtype of a NumPy dtype, with PyTorch's message for the ones it lacks.
fn dtype_of_numpy(descr: &Bound<'_, PyArrayDescr>) -> PyResult<DType> {
    match (descr.kind(), descr.itemsize()) {
        (b'f', 4) => Ok(DType::F32),
        (b'f', 8) => Ok(DType::F64),
        (b'i', 8) => Ok(DType::I64),
        (b'b', 1) => Ok(DType::Bool),
        _ => Err(PyTypeError::new_err(format!(
            "can't convert np.ndarray of type {}. The only supported types are: float64, \
             float32, int64, and bool.",
            type_name(&descr.typeobj())
        ))),
    }
}

/// `autodiff.from_numpy(ndarray)`: a tensor over the array's memory, keeping the array alive.
#[pyfunction]
#[pyo3(signature = (ndarray, /))]
pub(crate) fn from_numpy(py: Python<'_>, ndarray: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
    guard_py(|| {
        let array = ndarray.cast::<PyUntypedArray>().map_err(|_| {
            PyTypeError::new_err(format!(
                "expected np.ndarray (got {})",
                type_name(&ndarray.get_type())
            ))
        })?;
        let descr = array.dtype();
        let dtype = dtype_of_numpy(&descr)?;
        let itemsize = dtype.size_of();
        let mut strides = Shape::new();
        for &stride in array.strides() {
            if stride < 0 {
                return Err(PyValueError::new_err(NEGATIVE_STRIDES));
            }
            if !(stride as usize).is_multiple_of(itemsize) {
                return Err(PyValueError::new_err(STRIDES_NOT_MULTIPLE));
            }
            strides.push(stride as usize / itemsize);
        }
        if descr.is_native_byteorder() == Some(false) {
            return Err(PyValueError::new_err(NOT_NATIVE_BYTE_ORDER));
        }
        // SAFETY: `array` is a live ndarray, so its fields are readable.
        let (data, flags) = unsafe {
            let fields = &*npyffi::_PyArray_GET_ITEM_DATA(array.as_array_ptr());
            (fields.data.cast::<u8>(), fields.flags)
        };
        let writable = flags & NPY_ARRAY_WRITEABLE != 0;
        let layout = Layout::new(array.shape().into(), strides, 0);
        let owner = Box::new(ndarray.clone().unbind());
        // SAFETY: an ndarray's data pointer, shape and (checked non-negative) strides describe
        // memory the array keeps alive, and `owner` keeps the array alive.
        let storage = unsafe { lend(dtype, data, &layout, writable, owner) }
            .map_err(|e| e.into_err("numpy array"))?;
        if !writable {
            static WARNED: AtomicBool = AtomicBool::new(false);
            warn_once(py, &WARNED, NOT_WRITABLE_WARNING)?;
        }
        wrap(py, Tensor::from_parts(storage, layout))
    })
}

/// Why lent memory cannot back a tensor.
pub(super) enum Unlendable {
    Misaligned,
    InvalidBool,
    TooLarge,
}

impl Unlendable {
    pub(super) fn into_err(self, source: &str) -> PyErr {
        match self {
            Unlendable::Misaligned => PyValueError::new_err(format!(
                "given {source} is not aligned to its element size. Copy it to reallocate the \
                 memory."
            )),
            Unlendable::InvalidBool => PyValueError::new_err(format!(
                "given {source} of type bool holds bytes other than 0 and 1, which are not \
                 valid booleans. Normalise it first, e.g. with (array.view(numpy.uint8) != 0)."
            )),
            Unlendable::TooLarge => {
                PyValueError::new_err(format!("given {source} spans more memory than exists"))
            }
        }
    }
}

/// A storage over memory lent by `owner`: the span from `data` that `layout` (offset 0,
/// non-negative strides) reaches.
///
/// # Safety
/// That span must be allocated and initialised, and stay so until `owner` is dropped.
pub(super) unsafe fn lend(
    dtype: DType,
    data: *mut u8,
    layout: &Layout,
    writable: bool,
    owner: Box<dyn Send + Sync>,
) -> Result<Arc<Storage>, Unlendable> {
    let len = if layout.numel() == 0 {
        0
    } else {
        layout
            .shape()
            .iter()
            .zip(layout.strides())
            .try_fold(1usize, |acc, (&size, &stride)| {
                acc.checked_add((size - 1).checked_mul(stride)?)
            })
            .filter(|&len| {
                len.checked_mul(dtype.size_of())
                    .is_some_and(|b| b <= isize::MAX as usize)
            })
            .ok_or(Unlendable::TooLarge)?
    };
    if len > 0 && (data.is_null() || !(data as usize).is_multiple_of(dtype.size_of())) {
        return Err(Unlendable::Misaligned);
    }
    // Any other byte in a Rust `bool` is undefined behaviour, and NumPy views (of uint8 data,
    // of a structured array's field) can hold any byte. The whole span is checked, gaps
    // included, since the storage exposes all of it.
    // SAFETY: the span is initialised memory (the caller's promise), read as plain bytes.
    if dtype == DType::Bool && std::slice::from_raw_parts(data, len).iter().any(|&b| b > 1) {
        return Err(Unlendable::InvalidBool);
    }
    // SAFETY: checked above: aligned, in bounds, valid values; the caller vouches for the rest.
    let buffer = crate::dispatch!(dtype, T => T::data_buffer(
        Data::from_foreign(data.cast::<T>(), len, writable, owner)
    ));
    Ok(Arc::new(Storage::new(buffer)))
}
