//! `autodiff.Tensor`: the native Python class. Operators and methods call the engine
//! directly; there is no Python wrapper object per tensor.

use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyUserWarning, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString, PyTuple, PyWeakrefReference};

use super::convert::{dtype_object, extract_dtype, to_list, PyDType};
use super::error::{guard, guard_py};
use super::interop::numpy_view;
use super::node::PyNode;
use crate::dtype::DType;
use crate::tensor::Tensor;

/// A multi-dimensional array that can record the operations applied to it, so that
/// `backward()` can compute gradients (PyTorch's `torch.Tensor`).
#[pyclass(name = "Tensor", module = "autodiff", subclass, weakref, frozen)]
pub struct PyTensor {
    pub(crate) inner: Tensor,
    /// The Python objects last handed out for `.grad` and `.grad_fn`, so that
    /// `x.grad is x.grad` holds as in PyTorch while the underlying tensor stays the same.
    cache: Mutex<PyCache>,
}

#[derive(Default)]
struct PyCache {
    grad: Option<Py<PyTensor>>,
    /// Held weakly: a strong `Node` object here would hold the graph node, and the garbage
    /// collector could then never free a hook that captures this tensor (see `hooks.rs`).
    grad_fn: Option<Py<PyWeakrefReference>>,
}

impl PyTensor {
    pub(crate) fn new(inner: Tensor) -> Self {
        PyTensor {
            inner,
            cache: Mutex::new(PyCache::default()),
        }
    }
}

/// The data `Tensor._make_subclass` hands to `Tensor.__new__`.
#[pyclass(frozen)]
struct SubclassData(Tensor);

/// Wraps an engine tensor as a new Python object.
#[inline]
pub(crate) fn wrap(py: Python<'_>, t: Tensor) -> PyResult<Py<PyTensor>> {
    Py::new(py, PyTensor::new(t))
}

const NON_LEAF_GRAD_WARNING: &str = "The .grad attribute of a Tensor that is not a leaf Tensor is \
being accessed. Its .grad attribute won't be populated during autograd.backward(). If you indeed \
want the .grad field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf \
Tensor. If you access the non-leaf Tensor by mistake, make sure you access the leaf Tensor \
instead. See github.com/pytorch/pytorch/pull/30531 for more information.";

const CREATE_GRAPH_WARNING: &str = "Using backward() with create_graph=True will create a \
reference cycle between the parameter and its gradient which can cause a memory leak. We \
recommend using autograd.grad when creating the graph to avoid this. If you have to use this \
function, make sure to reset the .grad fields of your parameters to None after use to break the \
cycle and avoid the leak.";

/// Warns the first time `flag` is seen, as PyTorch does for warnings it gives once per
/// process.
pub(crate) fn warn_once(py: Python<'_>, flag: &AtomicBool, message: &str) -> PyResult<()> {
    if flag.swap(true, Ordering::Relaxed) {
        return Ok(());
    }
    warn(py, message)
}

fn warn(py: Python<'_>, message: &str) -> PyResult<()> {
    let category = py.get_type::<PyUserWarning>();
    PyErr::warn(
        py,
        &category,
        &std::ffi::CString::new(message).expect("no NUL"),
        1,
    )
}

/// `autodiff.Size`, defined in Python as a tuple subclass.
fn size_object<'py>(py: Python<'py>, shape: &[usize]) -> PyResult<Bound<'py, PyAny>> {
    static SIZE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let size = SIZE.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py.import("autodiff._size")?.getattr("Size")?.unbind())
    })?;
    size.bind(py).call1((PyTuple::new(py, shape)?,))
}

/// Collects tensors from `None`, a tensor, or a sequence of tensors.
pub(crate) fn tensor_list(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Vec<Tensor>>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(None);
    };
    if let Ok(t) = obj.cast::<PyTensor>() {
        return Ok(Some(vec![t.get().inner.clone()]));
    }
    let mut out = Vec::new();
    for item in obj.try_iter()? {
        let item = item?;
        let t = item.cast::<PyTensor>().map_err(|_| {
            PyTypeError::new_err(format!(
                "expected a Tensor, got {}",
                item.get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            ))
        })?;
        out.push(t.get().inner.clone());
    }
    Ok(Some(out))
}

#[pymethods]
impl PyTensor {
    #[new]
    #[pyo3(signature = (*args))]
    fn py_new(args: &Bound<'_, PyTuple>) -> PyResult<Self> {
        if let Ok(alias) = args
            .get_item(0)
            .and_then(|a| Ok(a.cast_into::<SubclassData>()?))
        {
            return Ok(PyTensor::new(alias.get().0.clone()));
        }
        // `Tensor(data)` copies data as float32; `Tensor(2, 3)` makes an uninitialised
        // (here: zeroed) float32 tensor of that size, as in PyTorch.
        if args.len() == 1 && !args.get_item(0)?.is_instance_of::<pyo3::types::PyInt>() {
            let t = super::convert::tensor_from_data(
                &args.get_item(0)?,
                Some(crate::default_float_dtype()),
            )?;
            return Ok(PyTensor::new(t));
        }
        let size = super::convert::parse_size(args)?;
        Ok(PyTensor::new(Tensor::zeros(
            &size,
            crate::default_float_dtype(),
        )))
    }

    /// A new instance of the Tensor subclass `cls` over `data`'s storage, detached, with
    /// `requires_grad` set to `require_grad` (how `nn.Parameter` is made).
    #[staticmethod]
    #[pyo3(signature = (cls, data, require_grad = false))]
    fn _make_subclass<'py>(
        cls: &Bound<'py, pyo3::types::PyType>,
        data: &Bound<'py, PyTensor>,
        require_grad: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = cls.py();
        let data = data.get().inner.detach();
        if require_grad && !data.dtype().is_float() {
            return Err(pyo3::exceptions::PyRuntimeError::new_err(
                "Only Tensors of floating point and complex dtype can require gradients",
            ));
        }
        guard(|| data.set_requires_grad(require_grad))?;
        let marker = Py::new(py, SubclassData(data))?;
        // `Tensor.__new__(cls, ...)` builds an object of the subclass with the data above.
        py.get_type::<PyTensor>()
            .call_method1("__new__", (cls, marker))
    }

    // ---- attributes ----

    /// The size of each dimension, as `autodiff.Size`.
    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        size_object(py, self.inner.shape())
    }

    /// The size of each dimension, or of dimension `dim`.
    #[pyo3(signature = (dim=None))]
    fn size<'py>(&self, py: Python<'py>, dim: Option<i64>) -> PyResult<Bound<'py, PyAny>> {
        match dim {
            None => size_object(py, self.inner.shape()),
            Some(d) => {
                let d = guard(|| crate::layout::normalize_dim(d, self.inner.ndim()))?;
                Ok(self
                    .inner
                    .shape()
                    .get(d)
                    .copied()
                    .unwrap_or(1)
                    .into_pyobject(py)?
                    .into_any())
            }
        }
    }

    /// The number of dimensions.
    fn dim(&self) -> usize {
        self.inner.ndim()
    }

    /// The number of dimensions.
    #[getter]
    fn ndim(&self) -> usize {
        self.inner.ndim()
    }

    /// The number of elements.
    fn numel(&self) -> usize {
        self.inner.numel()
    }

    /// The element type.
    #[getter]
    fn dtype(&self, py: Python<'_>) -> Py<PyDType> {
        dtype_object(py, self.inner.dtype())
    }

    /// Always `"cpu"`: the engine runs on the CPU.
    #[getter]
    fn device(&self) -> &'static str {
        "cpu"
    }

    /// Whether gradients are recorded for this tensor.
    #[getter]
    fn get_requires_grad(&self) -> bool {
        self.inner.requires_grad()
    }

    #[setter]
    fn set_requires_grad(&self, value: bool) -> PyResult<()> {
        // PyTorch words this check differently here than in `requires_grad_()`.
        if value && self.inner.is_leaf() && !self.inner.dtype().is_float() {
            return Err(PyRuntimeError::new_err(
                "only Tensors of floating point and complex dtype can require gradients",
            ));
        }
        guard(|| self.inner.set_requires_grad(value))
    }

    /// True for tensors no recorded op produced.
    #[getter]
    fn is_leaf(&self) -> bool {
        self.inner.is_leaf()
    }

    /// The node that produced this tensor (`None` for leaves).
    #[getter]
    fn grad_fn(&self, py: Python<'_>) -> PyResult<Option<Py<PyNode>>> {
        let Some(node) = self.inner.grad_fn() else {
            return Ok(None);
        };
        let mut cache = self.cache.lock();
        let cached = cache
            .grad_fn
            .as_ref()
            .and_then(|weak| weak.bind(py).upgrade());
        if let Some(cached) = cached.and_then(|obj| obj.cast_into::<PyNode>().ok()) {
            if cached.get().node == node {
                return Ok(Some(cached.unbind()));
            }
        }
        let fresh = Bound::new(py, PyNode::new(node))?;
        cache.grad_fn = Some(PyWeakrefReference::new(&fresh)?.unbind());
        Ok(Some(fresh.unbind()))
    }

    /// The accumulated gradient; `None` until a backward reaches this tensor.
    #[getter]
    fn get_grad(&self, py: Python<'_>) -> PyResult<Option<Py<PyTensor>>> {
        let grad = self.inner.grad();
        let Some(grad) = grad else {
            if !self.inner.is_leaf() && !self.inner.retains_grad() {
                warn(py, NON_LEAF_GRAD_WARNING)?;
            }
            return Ok(None);
        };
        let mut cache = self.cache.lock();
        if let Some(cached) = &cache.grad {
            if cached.get().inner.ptr_eq(&grad) {
                return Ok(Some(cached.clone_ref(py)));
            }
        }
        let fresh = wrap(py, grad)?;
        cache.grad = Some(fresh.clone_ref(py));
        Ok(Some(fresh))
    }

    #[setter]
    fn set_grad(&self, value: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let grad = match value {
            None => None,
            Some(v) if v.is_none() => None,
            Some(v) => match v.cast::<PyTensor>() {
                Ok(t) => {
                    let mut cache = self.cache.lock();
                    cache.grad = Some(t.clone().unbind());
                    Some(t.get().inner.clone())
                }
                Err(_) => {
                    return Err(PyTypeError::new_err(format!(
                        "assigned grad expected to be a Tensor or None but got grad of type {}",
                        v.get_type().name()?
                    )))
                }
            },
        };
        guard(|| self.inner.set_grad(grad))
    }

    /// Whether this non-leaf keeps its `.grad` (see `retain_grad`).
    #[getter]
    fn retains_grad(&self) -> bool {
        self.inner.retains_grad()
    }

    /// The storage's in-place modification counter.
    #[getter]
    fn _version(&self) -> u64 {
        self.inner.version()
    }

    /// A tensor sharing this one's data, outside autograd, with its own version counter.
    #[getter]
    fn data(&self, py: Python<'_>) -> PyResult<Py<PyTensor>> {
        wrap(py, self.inner.data())
    }

    // ---- autograd ----

    /// Computes the gradient of this tensor with respect to the graph's leaves and
    /// accumulates it into their `.grad`.
    #[pyo3(signature = (gradient=None, retain_graph=None, create_graph=false, inputs=None))]
    fn backward(
        &self,
        py: Python<'_>,
        gradient: Option<&Bound<'_, PyAny>>,
        retain_graph: Option<bool>,
        create_graph: bool,
        inputs: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let gradient = match gradient.filter(|g| !g.is_none()) {
            None => None,
            Some(g) => match g.cast::<PyTensor>() {
                Ok(t) => Some(t.get().inner.clone()),
                Err(_) => {
                    return Err(PyTypeError::new_err(format!(
                        "'{}' object is not iterable",
                        g.get_type().name()?
                    )))
                }
            },
        };
        let inputs = tensor_list(inputs)?;
        if create_graph {
            static WARNED: AtomicBool = AtomicBool::new(false);
            warn_once(py, &WARNED, CREATE_GRAPH_WARNING)?;
        }
        guard(|| {
            crate::autograd::backward(
                std::slice::from_ref(&self.inner),
                &[gradient],
                retain_graph.unwrap_or(create_graph),
                create_graph,
                inputs.as_deref(),
            )
        })
    }

    /// Keeps `.grad` for this non-leaf after backward.
    fn retain_grad(&self) -> PyResult<()> {
        guard(|| self.inner.retain_grad())
    }

    /// Sets `requires_grad` in place and returns this tensor.
    #[pyo3(signature = (requires_grad=true))]
    fn requires_grad_(slf: &Bound<'_, Self>, requires_grad: bool) -> PyResult<Py<PyTensor>> {
        guard(|| slf.get().inner.set_requires_grad(requires_grad))?;
        Ok(slf.clone().unbind())
    }

    /// A new tensor sharing this one's data, detached from the graph.
    fn detach(&self, py: Python<'_>) -> PyResult<Py<PyTensor>> {
        wrap(py, self.inner.detach())
    }

    /// Detaches this tensor from the graph in place.
    fn detach_(slf: &Bound<'_, Self>) -> PyResult<Py<PyTensor>> {
        guard(|| slf.get().inner.detach_())?;
        Ok(slf.clone().unbind())
    }

    /// Zeroes in place; returns this tensor.
    fn zero_(slf: &Bound<'_, Self>) -> PyResult<Py<PyTensor>> {
        guard(|| slf.get().inner.zero_())?;
        Ok(slf.clone().unbind())
    }

    /// Fills with `value` in place; returns this tensor.
    fn fill_(slf: &Bound<'_, Self>, value: f64) -> PyResult<Py<PyTensor>> {
        guard(|| slf.get().inner.fill_(value))?;
        Ok(slf.clone().unbind())
    }

    // ---- values ----

    /// The value of a one-element tensor as a Python number.
    fn item<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let t = &self.inner;
        if t.numel() != 1 {
            return Err(PyRuntimeError::new_err(format!(
                "a Tensor with {} elements cannot be converted to Scalar",
                t.numel()
            )));
        }
        let values: Vec<f64> = t.to_vec();
        let ints: Vec<i64> = if t.dtype() == DType::I64 {
            t.to_vec()
        } else {
            Vec::new()
        };
        super::convert::py_scalar(py, t, 0, &values, &ints)
    }

    /// The values as nested Python lists.
    fn tolist<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_list(py, &self.inner)
    }

    /// The values as a NumPy array sharing this tensor's memory (with its strides), as in
    /// PyTorch. `force=True` detaches first instead of refusing a tensor that requires grad.
    #[pyo3(signature = (*, force=false))]
    fn numpy<'py>(slf: &Bound<'py, Self>, force: bool) -> PyResult<Bound<'py, PyAny>> {
        guard_py(|| {
            let t = &slf.get().inner;
            if !t.requires_grad() {
                return numpy_view(slf);
            }
            if !force {
                return Err(PyRuntimeError::new_err(
                    "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.",
                ));
            }
            numpy_view(&Bound::new(slf.py(), PyTensor::new(t.detach()))?)
        })
    }

    /// NumPy defers to `Tensor`'s operators (`np.float64(2) * t` stays a tensor).
    #[classattr]
    fn __array_priority__() -> f64 {
        1000.0
    }

    /// NumPy's conversion protocol (`np.asarray(t)`): the shared-memory `numpy()` array,
    /// converted to `dtype` if given; `copy=True` always copies, `copy=False` refuses to.
    #[pyo3(signature = (dtype=None, copy=None))]
    fn __array__<'py>(
        slf: &Bound<'py, Self>,
        dtype: Option<&Bound<'py, PyAny>>,
        copy: Option<bool>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let array = PyTensor::numpy(slf, false)?;
        let dtype = dtype.filter(|d| !d.is_none());
        if copy == Some(true) {
            let dtype = match dtype {
                Some(d) => d.clone(),
                None => array.getattr("dtype")?,
            };
            return array.call_method1("astype", (dtype,));
        }
        let Some(dtype) = dtype else {
            return Ok(array);
        };
        if copy == Some(false) && !array.getattr("dtype")?.eq(dtype)? {
            return Err(PyValueError::new_err(
                "Unable to avoid copy while creating an array as requested.",
            ));
        }
        let kwargs = PyDict::new(slf.py());
        kwargs.set_item("copy", false)?;
        array.call_method("astype", (dtype,), Some(&kwargs))
    }

    /// A copy in `dtype` (the tensor itself if it already has it).
    fn to(&self, py: Python<'_>, dtype: &Bound<'_, PyAny>) -> PyResult<Py<PyTensor>> {
        let dtype = extract_dtype(dtype)?;
        wrap(py, guard(|| self.inner.to_dtype(dtype))?)
    }

    /// `self.to(autodiff.float32)`.
    fn float(slf: &Bound<'_, Self>) -> PyResult<Py<PyTensor>> {
        convert_to(slf, DType::F32)
    }

    /// `self.to(autodiff.float64)`.
    fn double(slf: &Bound<'_, Self>) -> PyResult<Py<PyTensor>> {
        convert_to(slf, DType::F64)
    }

    /// `self.to(autodiff.int64)`.
    fn long(slf: &Bound<'_, Self>) -> PyResult<Py<PyTensor>> {
        convert_to(slf, DType::I64)
    }

    /// `self.to(autodiff.bool)`.
    fn bool(slf: &Bound<'_, Self>) -> PyResult<Py<PyTensor>> {
        convert_to(slf, DType::Bool)
    }

    /// True for float dtypes.
    fn is_floating_point(&self) -> bool {
        self.inner.dtype().is_float()
    }

    fn __hash__(slf: &Bound<'_, Self>) -> isize {
        slf.as_ptr() as isize
    }

    fn __bool__(&self) -> PyResult<bool> {
        if self.inner.numel() != 1 {
            return Err(PyRuntimeError::new_err(
                "Boolean value of Tensor with more than one value is ambiguous",
            ));
        }
        Ok(guard(|| self.inner.item())? != 0.0)
    }

    fn __float__(&self, py: Python<'_>) -> PyResult<f64> {
        if self.inner.requires_grad() {
            static WARNED: AtomicBool = AtomicBool::new(false);
            warn_once(
                py,
                &WARNED,
                "Converting a tensor with requires_grad=True to a scalar may lead to unexpected \
                 behavior.\nConsider using tensor.detach() first.",
            )?;
        }
        one_element(&self.inner)
    }

    fn __int__(&self) -> PyResult<i64> {
        Ok(one_element(&self.inner)? as i64)
    }

    fn __index__(&self) -> PyResult<i64> {
        if self.inner.dtype() != DType::I64 || self.inner.numel() != 1 {
            return Err(PyTypeError::new_err(
                "only integer tensors of a single element can be converted to an index",
            ));
        }
        Ok(self.inner.to_vec::<i64>()[0])
    }

    fn __len__(&self) -> PyResult<usize> {
        self.inner
            .shape()
            .first()
            .copied()
            .ok_or_else(|| PyTypeError::new_err("len() of a 0-d tensor"))
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let py = slf.py();
        static FORMATTER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        let formatter = FORMATTER.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
            Ok(py
                .import("autodiff._formatting")?
                .getattr("tensor_repr")?
                .unbind())
        })?;
        formatter.bind(py).call1((slf,))?.extract()
    }

    fn __format__(slf: &Bound<'_, Self>, spec: &str) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        // A 0-d tensor formats like its Python value (`f"{loss:.3f}"`), as in PyTorch.
        let value: Bound<'_, PyAny> = if slf.get().inner.ndim() == 0 {
            slf.call_method0("item")?
        } else {
            PyString::new(py, &PyTensor::__repr__(slf)?).into_any()
        };
        Ok(value.call_method1("__format__", (spec,))?.unbind())
    }
}

fn one_element(t: &Tensor) -> PyResult<f64> {
    if t.numel() != 1 {
        return Err(PyTypeError::new_err(
            "only one element tensors can be converted to Python scalars",
        ));
    }
    guard(|| t.item())
}

fn convert_to(slf: &Bound<'_, PyTensor>, dtype: DType) -> PyResult<Py<PyTensor>> {
    if slf.get().inner.dtype() == dtype {
        return Ok(slf.clone().unbind());
    }
    wrap(slf.py(), guard(|| slf.get().inner.to_dtype(dtype))?)
}
