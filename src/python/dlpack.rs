//! DLPack interchange (`Tensor.__dlpack__`, `__dlpack_device__`, `from_dlpack`): memory is
//! lent both ways without copies, through capsules holding the C structs of dlpack.h.

use std::ffi::{c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::{self, NonNull};
use std::sync::Arc;

use pyo3::exceptions::{
    PyAssertionError, PyBufferError, PyRuntimeError, PyTypeError, PyValueError,
};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyInt};

use super::error::guard_py;
use super::interop::lend;
use super::tensor::{wrap, PyTensor};
use crate::dtype::DType;
use crate::layout::{Layout, Shape};
use crate::storage::Storage;
use crate::tensor::Tensor;

// The C ABI of dlpack.h (v1.0), declared here rather than taken from a crate: a handful of
// `repr(C)` structs.

#[repr(C)]
#[derive(Clone, Copy)]
struct DLPackVersion {
    major: u32,
    minor: u32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct DLDevice {
    device_type: i32,
    device_id: i32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct DLDataType {
    code: u8,
    bits: u8,
    lanes: u16,
}

#[repr(C)]
struct DLTensor {
    data: *mut c_void,
    device: DLDevice,
    ndim: i32,
    dtype: DLDataType,
    shape: *mut i64,
    /// In elements; may be null (legacy producers) for a row-major tensor.
    strides: *mut i64,
    byte_offset: u64,
}

/// The pre-1.0 ("legacy") managed tensor, in capsules named `dltensor`.
#[repr(C)]
struct DLManagedTensor {
    dl_tensor: DLTensor,
    manager_ctx: *mut c_void,
    deleter: Option<unsafe extern "C" fn(*mut DLManagedTensor)>,
}

/// The 1.0 managed tensor, in capsules named `dltensor_versioned`: adds a version and flags.
#[repr(C)]
struct DLManagedTensorVersioned {
    version: DLPackVersion,
    manager_ctx: *mut c_void,
    deleter: Option<unsafe extern "C" fn(*mut DLManagedTensorVersioned)>,
    flags: u64,
    dl_tensor: DLTensor,
}

const KDL_CPU: i32 = 1;
/// Pinned host memory: ordinary CPU memory to us.
const KDL_CUDA_HOST: i32 = 3;

const KDL_INT: u8 = 0;
const KDL_UINT: u8 = 1;
const KDL_FLOAT: u8 = 2;
const KDL_BFLOAT: u8 = 4;
const KDL_COMPLEX: u8 = 5;
const KDL_BOOL: u8 = 6;

const FLAG_READ_ONLY: u64 = 1 << 0;
const FLAG_IS_COPIED: u64 = 1 << 1;

/// The version this module implements and reports in versioned capsules.
const DLPACK_VERSION: DLPackVersion = DLPackVersion { major: 1, minor: 0 };

const INVALID_CAPSULE: &str = "from_dlpack received an invalid capsule. Note that DLTensor \
capsules can be consumed only once, so you might have already constructed a tensor from it once.";

/// What the two managed-tensor layouts have in common, so export and import are written once.
trait Managed: Sized {
    /// The capsule name of a fresh capsule, and the one a consumer renames it to.
    const NAME: &'static CStr;
    const USED_NAME: &'static CStr;

    fn new(dl_tensor: DLTensor, flags: u64) -> Self;
    fn dl_tensor(&self) -> &DLTensor;
    fn dl_tensor_mut(&mut self) -> &mut DLTensor;
    fn set_context(&mut self, ctx: *mut c_void);
    fn context(&self) -> *mut c_void;
    fn read_only(&self) -> bool;
    /// An error when the producer's version is one this module cannot read.
    fn check_version(&self) -> PyResult<()>;

    /// Runs the producer's deleter.
    ///
    /// # Safety
    /// `this` must be a live managed tensor that nobody deletes afterwards.
    unsafe fn delete(this: *mut Self);
}

impl Managed for DLManagedTensor {
    const NAME: &'static CStr = c"dltensor";
    const USED_NAME: &'static CStr = c"used_dltensor";

    fn new(dl_tensor: DLTensor, _flags: u64) -> Self {
        DLManagedTensor {
            dl_tensor,
            manager_ctx: ptr::null_mut(),
            deleter: Some(delete_export::<Self>),
        }
    }
    fn dl_tensor(&self) -> &DLTensor {
        &self.dl_tensor
    }
    fn dl_tensor_mut(&mut self) -> &mut DLTensor {
        &mut self.dl_tensor
    }
    fn set_context(&mut self, ctx: *mut c_void) {
        self.manager_ctx = ctx;
    }
    fn context(&self) -> *mut c_void {
        self.manager_ctx
    }
    fn read_only(&self) -> bool {
        false
    }
    fn check_version(&self) -> PyResult<()> {
        Ok(())
    }
    unsafe fn delete(this: *mut Self) {
        if let Some(deleter) = (*this).deleter {
            deleter(this);
        }
    }
}

impl Managed for DLManagedTensorVersioned {
    const NAME: &'static CStr = c"dltensor_versioned";
    const USED_NAME: &'static CStr = c"used_dltensor_versioned";

    fn new(dl_tensor: DLTensor, flags: u64) -> Self {
        DLManagedTensorVersioned {
            version: DLPACK_VERSION,
            manager_ctx: ptr::null_mut(),
            deleter: Some(delete_export::<Self>),
            flags,
            dl_tensor,
        }
    }
    fn dl_tensor(&self) -> &DLTensor {
        &self.dl_tensor
    }
    fn dl_tensor_mut(&mut self) -> &mut DLTensor {
        &mut self.dl_tensor
    }
    fn set_context(&mut self, ctx: *mut c_void) {
        self.manager_ctx = ctx;
    }
    fn context(&self) -> *mut c_void {
        self.manager_ctx
    }
    fn read_only(&self) -> bool {
        self.flags & FLAG_READ_ONLY != 0
    }
    fn check_version(&self) -> PyResult<()> {
        // Within a major version the ABI is stable; a newer major may lay the struct out
        // differently past `version`, so nothing else may be read.
        if self.version.major != DLPACK_VERSION.major {
            return Err(PyBufferError::new_err(format!(
                "the DLPack tensor has version {}.{}, and autodiff supports only {}.x",
                self.version.major, self.version.minor, DLPACK_VERSION.major
            )));
        }
        Ok(())
    }
    unsafe fn delete(this: *mut Self) {
        if let Some(deleter) = (*this).deleter {
            deleter(this);
        }
    }
}

/// What an exported managed tensor owns: the storage, so the memory outlives the consumer's
/// use of it, and the shape and strides arrays its `DLTensor` points into.
struct Export<M> {
    managed: M,
    shape: Vec<i64>,
    strides: Vec<i64>,
    _storage: Arc<Storage>,
}

/// The deleter of exported managed tensors; `manager_ctx` is their `Export`.
unsafe extern "C" fn delete_export<M: Managed>(managed: *mut M) {
    if managed.is_null() {
        return;
    }
    let export = Box::from_raw((*managed).context().cast::<Export<M>>());
    // An unwinding panic must not cross into the consumer's C code; dropping an `Arc` does not
    // panic, so this only keeps a bug from aborting the process.
    let _ = catch_unwind(AssertUnwindSafe(|| drop_attached(export)));
}

/// Drops `value` attached to the interpreter when it can be, so the Python references it may
/// hold (a storage lent by a NumPy array) are released now. PyO3 defers the decrefs of a
/// thread it does not know to be attached, which is the case inside C callbacks such as this
/// module's deleter, even when CPython holds the GIL there; deferred, they would wait for the
/// next call into autodiff.
fn drop_attached<T>(value: T) {
    let mut value = Some(value);
    Python::try_attach(|_| drop(value.take()));
    drop(value);
}

/// The destructor of exported capsules. A consumer renames the capsule when it takes over the
/// managed tensor (and with it the duty to call the deleter); only an unconsumed capsule still
/// owns it.
unsafe extern "C" fn capsule_destructor<M: Managed>(capsule: *mut ffi::PyObject) {
    if ffi::PyCapsule_IsValid(capsule, M::NAME.as_ptr()) == 1 {
        let managed = ffi::PyCapsule_GetPointer(capsule, M::NAME.as_ptr()).cast::<M>();
        M::delete(managed);
    }
}

fn dl_dtype(dtype: DType) -> DLDataType {
    let (code, bits) = match dtype {
        DType::F32 => (KDL_FLOAT, 32),
        DType::F64 => (KDL_FLOAT, 64),
        DType::I64 => (KDL_INT, 64),
        DType::Bool => (KDL_BOOL, 8),
    };
    DLDataType {
        code,
        bits,
        lanes: 1,
    }
}

/// A capsule lending `t`'s memory as a `M`.
fn export<'py, M: Managed>(py: Python<'py>, t: &Tensor, flags: u64) -> PyResult<Bound<'py, PyAny>> {
    let storage = t.storage().clone();
    let base = storage.read().as_mut_ptr();
    let layout = t.layout();
    let itemsize = t.dtype().size_of();
    let dl_tensor = DLTensor {
        // Wrapping: the offset of an empty view may lie past the end of its storage.
        data: base.wrapping_add(layout.offset() * itemsize).cast(),
        device: DLDevice {
            device_type: KDL_CPU,
            device_id: 0,
        },
        ndim: layout.ndim() as i32,
        dtype: dl_dtype(t.dtype()),
        shape: ptr::null_mut(),
        strides: ptr::null_mut(),
        byte_offset: 0,
    };
    let mut export = Box::new(Export {
        managed: M::new(dl_tensor, flags),
        shape: layout.shape().iter().map(|&d| d as i64).collect(),
        strides: layout.strides().iter().map(|&s| s as i64).collect(),
        _storage: storage,
    });
    // The vectors' buffers stay put while the box lives, so the pointers stay valid.
    let shape = export.shape.as_mut_ptr();
    let strides = export.strides.as_mut_ptr();
    let dl = export.managed.dl_tensor_mut();
    dl.shape = shape;
    dl.strides = strides;
    let export = Box::into_raw(export);
    // SAFETY: `export` is a live box, leaked until the deleter (run by the consumer or by the
    // capsule's destructor, exactly once) takes it back.
    unsafe {
        (*export).managed.set_context(export.cast());
        let managed = ptr::addr_of_mut!((*export).managed);
        let capsule = ffi::PyCapsule_New(
            managed.cast(),
            M::NAME.as_ptr(),
            Some(capsule_destructor::<M>),
        );
        if capsule.is_null() {
            M::delete(managed);
            return Err(PyErr::fetch(py));
        }
        Ok(Bound::from_owned_ptr(py, capsule))
    }
}

/// The releaser of an imported managed tensor: the storage over its memory holds it, and
/// dropping the storage runs the producer's deleter.
struct Producer<M: Managed>(NonNull<M>);

// SAFETY: DLPack lets a consumer release a managed tensor from any thread (NumPy's deleter
// takes the GIL itself); the pointer is touched only to run the deleter, once.
unsafe impl<M: Managed> Send for Producer<M> {}
// SAFETY: as above; `&Producer` gives no access at all.
unsafe impl<M: Managed> Sync for Producer<M> {}

impl<M: Managed> Drop for Producer<M> {
    fn drop(&mut self) {
        // SAFETY: the consumed capsule handed this module the managed tensor, and only this
        // drop deletes it.
        unsafe { M::delete(self.0.as_ptr()) }
    }
}

/// A readable name for a DLPack element type, for messages.
fn dl_type_name(dtype: DLDataType) -> String {
    let kind = match dtype.code {
        KDL_INT => "int",
        KDL_UINT => "uint",
        KDL_FLOAT => "float",
        KDL_BFLOAT => "bfloat",
        KDL_COMPLEX => "complex",
        KDL_BOOL => "bool",
        code => return format!("(type code {code}, {} bits)", dtype.bits),
    };
    let lanes = if dtype.lanes == 1 {
        String::new()
    } else {
        format!("x{}", dtype.lanes)
    };
    format!("{kind}{}{lanes}", dtype.bits)
}

/// The engine dtype and layout of a producer's `DLTensor`, and the address of its element 0.
fn describe(dl: &DLTensor) -> PyResult<(DType, Layout, *mut u8)> {
    let device = dl.device;
    if device.device_type != KDL_CPU && device.device_type != KDL_CUDA_HOST {
        return Err(PyBufferError::new_err(format!(
            "autodiff tensors live on the CPU, so it cannot import a DLPack tensor on device \
             ({}, {})",
            device.device_type, device.device_id
        )));
    }
    let dtype = match (dl.dtype.code, dl.dtype.bits, dl.dtype.lanes) {
        (KDL_FLOAT, 32, 1) => DType::F32,
        (KDL_FLOAT, 64, 1) => DType::F64,
        (KDL_INT, 64, 1) => DType::I64,
        (KDL_BOOL, 8, 1) => DType::Bool,
        _ => {
            return Err(PyTypeError::new_err(format!(
                "can't convert a DLPack tensor of type {}. The only supported types are: \
                 float64, float32, int64, and bool.",
                dl_type_name(dl.dtype)
            )))
        }
    };
    let invalid = |what: &str| PyBufferError::new_err(format!("invalid DLPack tensor: {what}"));
    let ndim = usize::try_from(dl.ndim).map_err(|_| invalid("negative ndim"))?;
    if ndim > 0 && dl.shape.is_null() {
        return Err(invalid("null shape"));
    }
    // SAFETY: a producer's shape (and non-null strides) arrays hold `ndim` values.
    let shape_in: &[i64] = if ndim == 0 {
        &[]
    } else {
        unsafe { std::slice::from_raw_parts(dl.shape, ndim) }
    };
    let shape = shape_in
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| invalid("negative size")))
        .collect::<PyResult<Shape>>()?;
    let strides: Shape = if dl.strides.is_null() || ndim == 0 {
        crate::layout::contiguous_strides(&shape)
    } else {
        let strides_in = unsafe { std::slice::from_raw_parts(dl.strides, ndim) };
        shape
            .iter()
            .zip(strides_in)
            .map(|(&size, &stride)| match usize::try_from(stride) {
                Ok(stride) => Ok(stride),
                // The stride of a dimension of size 0 or 1 is never used.
                Err(_) if size <= 1 => Ok(0),
                Err(_) => Err(PyValueError::new_err(
                    "At least one stride in the given DLPack tensor is negative, and tensors \
                     with negative strides are not currently supported. (You can probably work \
                     around this by making a copy of your array with array.copy().)",
                )),
            })
            .collect::<PyResult<Shape>>()?
    };
    let data = dl.data.cast::<u8>().wrapping_add(dl.byte_offset as usize);
    Ok((dtype, Layout::new(shape, strides, 0), data))
}

/// A tensor over the memory of the managed tensor in `capsule`, which must be a valid capsule
/// named `M::NAME`. The capsule is consumed (renamed) only once the tensor is certain to be
/// made, so on error its destructor still releases the managed tensor.
fn import<M: Managed + 'static>(capsule: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    let py = capsule.py();
    // SAFETY: the caller checked the capsule's name, so its pointer is a live `M` the capsule
    // owns until renamed.
    let managed = unsafe { ffi::PyCapsule_GetPointer(capsule.as_ptr(), M::NAME.as_ptr()) };
    let managed = NonNull::new(managed.cast::<M>()).ok_or_else(|| PyErr::fetch(py))?;
    let m = unsafe { managed.as_ref() };
    m.check_version()?;
    let (dtype, layout, data) = describe(m.dl_tensor())?;
    let writable = !m.read_only();
    if unsafe { ffi::PyCapsule_SetName(capsule.as_ptr(), M::USED_NAME.as_ptr()) } != 0 {
        return Err(PyErr::fetch(py));
    }
    // From here the managed tensor is ours: `Producer` runs its deleter when dropped, also if
    // `lend` refuses the memory.
    let owner = Box::new(Producer(managed));
    // SAFETY: the producer guarantees the memory its `DLTensor` describes until its deleter
    // runs, which `owner` delays until the storage is dropped.
    let storage = unsafe { lend(dtype, data, &layout, writable, owner) }
        .map_err(|e| e.into_err("DLPack tensor"))?;
    Ok(Tensor::from_parts(storage, layout))
}

/// Imports a capsule by its name: versioned, legacy, or PyTorch's error for anything else
/// (a used capsule, another kind of capsule, a non-capsule).
fn import_capsule(capsule: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    // SAFETY: `PyCapsule_IsValid` accepts any object and sets no exception.
    let named = |name: &CStr| unsafe { ffi::PyCapsule_IsValid(capsule.as_ptr(), name.as_ptr()) };
    if named(DLManagedTensorVersioned::NAME) == 1 {
        import::<DLManagedTensorVersioned>(capsule)
    } else if named(DLManagedTensor::NAME) == 1 {
        import::<DLManagedTensor>(capsule)
    } else {
        Err(PyRuntimeError::new_err(INVALID_CAPSULE))
    }
}

/// Calls `obj.__dlpack__(**kwargs)`, retrying without the keywords an older producer rejects
/// (first `max_version`, then `copy`), as PyTorch's `from_dlpack` does. Returns the capsule
/// and whether the producer saw the `copy` request.
fn request_capsule<'py>(
    obj: &Bound<'py, PyAny>,
    copy: Option<bool>,
) -> PyResult<(Bound<'py, PyAny>, bool)> {
    let py = obj.py();
    let kwargs = PyDict::new(py);
    kwargs.set_item("max_version", (DLPACK_VERSION.major, DLPACK_VERSION.minor))?;
    if let Some(copy) = copy {
        kwargs.set_item("copy", copy)?;
    }
    let call = |kwargs: &Bound<'py, PyDict>| obj.call_method("__dlpack__", (), Some(kwargs));
    match call(&kwargs) {
        Err(e) if e.is_instance_of::<PyTypeError>(py) => {}
        other => return Ok((other?, true)),
    }
    kwargs.del_item("max_version")?;
    if copy.is_some() {
        match call(&kwargs) {
            Err(e) if e.is_instance_of::<PyTypeError>(py) => {}
            other => return Ok((other?, true)),
        }
        kwargs.del_item("copy")?;
    }
    Ok((call(&kwargs)?, false))
}

/// `autodiff.from_dlpack(ext_tensor)`: a tensor sharing the memory of any object with
/// `__dlpack__` (NumPy arrays, PyTorch tensors, ...) or of a DLPack capsule.
#[pyfunction]
#[pyo3(signature = (ext_tensor, *, device=None, copy=None))]
pub(crate) fn from_dlpack(
    py: Python<'_>,
    ext_tensor: &Bound<'_, PyAny>,
    device: Option<&Bound<'_, PyAny>>,
    copy: Option<bool>,
) -> PyResult<Py<PyTensor>> {
    guard_py(|| {
        let device = device.filter(|d| !d.is_none());
        if let Some(device) = device {
            if device.str()?.to_str()? != "cpu" {
                return Err(PyValueError::new_err(format!(
                    "autodiff tensors live on the CPU; from_dlpack cannot place one on {}",
                    device.repr()?
                )));
            }
        }
        if !ext_tensor.hasattr("__dlpack__")? {
            if device.is_some() || copy.is_some() {
                return Err(PyAssertionError::new_err(
                    "device and copy kwargs not supported when ext_tensor is already a DLPack \
                     capsule.",
                ));
            }
            return wrap(py, import_capsule(ext_tensor)?);
        }
        if ext_tensor.hasattr("__dlpack_device__")? {
            let (device_type, device_id): (i64, i64) =
                ext_tensor.call_method0("__dlpack_device__")?.extract()?;
            if device_type != KDL_CPU as i64 && device_type != KDL_CUDA_HOST as i64 {
                return Err(PyBufferError::new_err(format!(
                    "autodiff tensors live on the CPU, so it cannot import a DLPack tensor on \
                     device ({device_type}, {device_id})"
                )));
            }
        }
        let (capsule, producer_copied) = request_capsule(ext_tensor, copy)?;
        let mut t = import_capsule(&capsule)?;
        if copy == Some(true) && !producer_copied {
            t = t.contiguous_copy();
        }
        wrap(py, t)
    })
}

#[pymethods]
impl PyTensor {
    /// A DLPack capsule lending this tensor's memory (the array API's `__dlpack__`): a
    /// versioned one when the consumer accepts DLPack 1.0 (`max_version >= (1, 0)`), else a
    /// legacy one. The capsule keeps the memory alive until the consumer's tensor is gone.
    #[pyo3(signature = (*, stream=None, max_version=None, dl_device=None, copy=None))]
    fn __dlpack__<'py>(
        &self,
        py: Python<'py>,
        stream: Option<&Bound<'py, PyAny>>,
        max_version: Option<&Bound<'py, PyAny>>,
        dl_device: Option<&Bound<'py, PyAny>>,
        copy: Option<bool>,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard_py(|| {
            // A DLPack tensor has no autograd state: exporting one that requires grad would
            // silently lose it.
            if self.inner.requires_grad() {
                return Err(PyBufferError::new_err(
                    "Can't export tensors that require gradient, use tensor.detach()",
                ));
            }
            if let Some(stream) = stream.filter(|s| !s.is_none()) {
                if !stream.is_exact_instance_of::<PyInt>() {
                    return Err(PyTypeError::new_err("stream must be ``int`` or ``none``"));
                }
                // -1 means "no synchronisation", which is what the CPU does anyway.
                if stream.extract::<i64>().ok() != Some(-1) {
                    return Err(PyAssertionError::new_err("stream should be None on cpu."));
                }
            }
            if let Some(dl_device) = dl_device.filter(|d| !d.is_none()) {
                let (device_type, device_id): (i64, i64) = dl_device.extract()?;
                if (device_type, device_id) != (KDL_CPU as i64, 0) {
                    return Err(PyBufferError::new_err(format!(
                        "autodiff tensors live on the CPU (DLPack device (1, 0)) and cannot be \
                         exported to device ({device_type}, {device_id})"
                    )));
                }
            }
            let versioned = match max_version.filter(|v| !v.is_none()) {
                Some(v) => v.get_item(0)?.extract::<i64>()? >= 1,
                None => false,
            };
            let (t, mut flags) = if copy == Some(true) {
                (self.inner.contiguous_copy(), FLAG_IS_COPIED)
            } else {
                (self.inner.clone(), 0)
            };
            if !t.storage().is_writable() {
                if !versioned {
                    return Err(PyBufferError::new_err(
                        "Cannot export a read-only tensor since signalling read-only is \
                         unsupported by DLPack (supported by newer DLPack version).",
                    ));
                }
                flags |= FLAG_READ_ONLY;
            }
            if versioned {
                export::<DLManagedTensorVersioned>(py, &t, flags)
            } else {
                export::<DLManagedTensor>(py, &t, flags)
            }
        })
    }

    /// The DLPack device of the data: always `(1, 0)`, kDLCPU.
    fn __dlpack_device__(&self) -> (i32, i32) {
        (KDL_CPU, 0)
    }
}
