//! Conversions between Python values and tensors: data ingestion (`tensor(...)`), dtypes,
//! operands, sizes and dims, and tensor values back to Python (`item`, `tolist`).

use numpy::{
    PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyFloat, PyInt, PyList, PySequence, PyString, PyTuple};

use super::tensor::PyTensor;
use crate::dtype::DType;
use crate::storage::Element;
use crate::tensor::Tensor;

/// A tensor element type, as `autodiff.float32` and friends.
#[pyclass(name = "dtype", module = "autodiff", frozen, eq, hash)]
#[derive(PartialEq, Eq, Hash)]
pub struct PyDType {
    pub(crate) dtype: DType,
}

#[pymethods]
impl PyDType {
    fn __repr__(&self) -> String {
        format!("autodiff.{}", self.dtype.name())
    }

    /// True for float32 and float64.
    #[getter]
    fn is_floating_point(&self) -> bool {
        self.dtype.is_float()
    }

    /// Bytes per element.
    #[getter]
    fn itemsize(&self) -> usize {
        self.dtype.size_of()
    }

    /// Pickles as a reference to the module attribute (`autodiff.float64`).
    fn __reduce__(&self) -> &'static str {
        self.dtype.name()
    }
}

static DTYPES: PyOnceLock<[Py<PyDType>; 4]> = PyOnceLock::new();

/// The singleton Python object of a dtype (so `t.dtype is autodiff.float32`).
pub(crate) fn dtype_object(py: Python<'_>, dtype: DType) -> Py<PyDType> {
    let all = DTYPES.get_or_init(py, || {
        [DType::Bool, DType::I64, DType::F32, DType::F64]
            .map(|dtype| Py::new(py, PyDType { dtype }).expect("allocating a dtype object"))
    });
    all[dtype as usize].clone_ref(py)
}

/// A dtype argument: an `autodiff` dtype, or Python's `float`, `int`, `bool` as PyTorch
/// accepts them.
pub(crate) fn extract_dtype(obj: &Bound<'_, PyAny>) -> PyResult<DType> {
    if let Ok(d) = obj.cast::<PyDType>() {
        return Ok(d.get().dtype);
    }
    let py = obj.py();
    if obj.is(py.get_type::<PyFloat>()) {
        return Ok(DType::F64);
    }
    if obj.is(py.get_type::<PyBool>()) {
        return Ok(DType::Bool);
    }
    if obj.is(py.get_type::<PyInt>()) {
        return Ok(DType::I64);
    }
    Err(PyTypeError::new_err(format!(
        "dtype must be autodiff.dtype, not {}",
        obj.get_type().name()?
    )))
}

/// An operand of an arithmetic op: a tensor, or a Python number as a wrapped 0-d tensor.
/// `None` for anything else (operators then return `NotImplemented`).
#[inline]
pub(crate) fn operand(obj: &Bound<'_, PyAny>) -> Option<Tensor> {
    if let Ok(t) = obj.cast::<PyTensor>() {
        return Some(t.get().inner.clone());
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Some(Tensor::wrapped_scalar(f.value()));
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Some(Tensor::wrapped_bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        return Some(match obj.extract::<i64>() {
            Ok(i) => Tensor::wrapped_int(i),
            Err(_) => Tensor::wrapped_scalar(obj.extract::<f64>().ok()?),
        });
    }
    // NumPy arrays and scalars (np.float32(2) is no Python float) take part as tensors.
    if obj.hasattr("__array_interface__").unwrap_or(false) {
        return tensor_from_data(obj, None).ok();
    }
    None
}

/// Like [`operand`], raising PyTorch's `TypeError` for a non-number.
pub(crate) fn operand_or_err(
    obj: &Bound<'_, PyAny>,
    func: &str,
    arg: &str,
    pos: usize,
) -> PyResult<Tensor> {
    operand(obj).ok_or_else(|| {
        let type_name = obj
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_default();
        PyTypeError::new_err(format!(
            "{func}(): argument '{arg}' (position {pos}) must be Tensor, not {type_name}"
        ))
    })
}

/// A tensor argument, with PyTorch's `TypeError` for anything else (numbers included).
pub(crate) fn tensor_arg<'a, 'py>(
    obj: &'a Bound<'py, PyAny>,
    func: &str,
    arg: &str,
    pos: usize,
) -> PyResult<&'a Bound<'py, super::tensor::PyTensor>> {
    obj.cast::<super::tensor::PyTensor>().map_err(|_| {
        let type_name = obj
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_default();
        PyTypeError::new_err(format!(
            "{func}(): argument '{arg}' (position {pos}) must be Tensor, not {type_name}"
        ))
    })
}

/// A size given as `f(2, 3)` or `f((2, 3))`.
pub(crate) fn parse_size(args: &Bound<'_, PyTuple>) -> PyResult<Vec<usize>> {
    let items: Vec<Bound<'_, PyAny>> =
        if args.len() == 1 && !args.get_item(0)?.is_instance_of::<PyInt>() {
            args.get_item(0)?.try_iter()?.collect::<PyResult<_>>()?
        } else {
            args.iter().collect()
        };
    let dims: Vec<i64> = items
        .iter()
        .map(|d| d.extract::<i64>())
        .collect::<PyResult<_>>()?;
    if let Some(&neg) = dims.iter().find(|&&d| d < 0) {
        return Err(PyRuntimeError::new_err(format!(
            "Trying to create tensor with negative dimension {neg}: {dims:?}"
        )));
    }
    let shape: Vec<usize> = dims.into_iter().map(|d| d as usize).collect();
    crate::layout::checked_numel(&shape, 8)?;
    Ok(shape)
}

/// A `dim` argument: `None`, an int, or a sequence of ints.
pub(crate) fn parse_dims(dim: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Vec<i64>>> {
    match dim {
        None => Ok(None),
        Some(d) if d.is_none() => Ok(None),
        Some(d) => match d.extract::<i64>() {
            Ok(single) => Ok(Some(vec![single])),
            Err(_) => Ok(Some(d.extract::<Vec<i64>>()?)),
        },
    }
}

/// One element read from nested Python data.
#[derive(Clone, Copy)]
enum Scalar {
    Bool(bool),
    Int(i64),
    Float(f64),
}

fn scalar_of(item: &Bound<'_, PyAny>) -> PyResult<Scalar> {
    if let Ok(b) = item.cast::<PyBool>() {
        return Ok(Scalar::Bool(b.is_true()));
    }
    if item.is_instance_of::<PyInt>() {
        return Ok(Scalar::Int(item.extract::<i64>()?));
    }
    if let Ok(f) = item.cast::<PyFloat>() {
        return Ok(Scalar::Float(f.value()));
    }
    if let Ok(t) = item.cast::<PyTensor>() {
        let t = &t.get().inner;
        if t.numel() != 1 {
            return Err(PyValueError::new_err(
                "only one element tensors can be converted to Python scalars",
            ));
        }
        let v = t.item()?;
        return Ok(match t.dtype() {
            DType::Bool => Scalar::Bool(v != 0.0),
            DType::I64 => Scalar::Int(t.to_vec::<i64>()[0]),
            _ => Scalar::Float(v),
        });
    }
    if item.hasattr("dtype")? && item.hasattr("item")? {
        // A NumPy scalar: go through its Python value.
        return scalar_of(&item.call_method0("item")?);
    }
    Err(PyTypeError::new_err(format!(
        "new(): invalid data type '{}'",
        item.get_type().name()?
    )))
}

fn is_nested(item: &Bound<'_, PyAny>) -> bool {
    (item.is_instance_of::<PyList>() || item.is_instance_of::<PyTuple>())
        || (item.cast::<PySequence>().is_ok()
            && !item.is_instance_of::<PyString>()
            && !item.is_instance_of::<PyTensor>()
            && !item.hasattr("dtype").unwrap_or(false))
}

/// Reads nested lists level by level (no recursion), checking that they are not ragged.
fn read_nested(data: &Bound<'_, PyAny>) -> PyResult<(Vec<usize>, Vec<Scalar>)> {
    let mut shape = Vec::new();
    let mut probe = data.clone();
    while is_nested(&probe) {
        let len = probe.len()?;
        shape.push(len);
        if len == 0 {
            break;
        }
        probe = probe.get_item(0)?;
    }
    let mut level = vec![data.clone()];
    for (dim, &expected) in shape.iter().enumerate() {
        let mut next = Vec::with_capacity(level.len() * expected);
        for seq in &level {
            if !is_nested(seq) {
                return Err(PyTypeError::new_err(format!(
                    "new(): invalid data type '{}'",
                    seq.get_type().name()?
                )));
            }
            let got = seq.len()?;
            if got != expected {
                return Err(PyValueError::new_err(format!(
                    "expected sequence of length {expected} at dim {dim} (got {got})"
                )));
            }
            for item in seq.try_iter()? {
                next.push(item?);
            }
        }
        level = next;
    }
    let scalars = level.iter().map(scalar_of).collect::<PyResult<Vec<_>>>()?;
    Ok((shape, scalars))
}

fn tensor_from_scalars(shape: &[usize], scalars: &[Scalar], dtype: Option<DType>) -> Tensor {
    let inferred = if scalars.iter().any(|s| matches!(s, Scalar::Float(_))) {
        crate::default_float_dtype()
    } else if scalars.iter().any(|s| matches!(s, Scalar::Int(_))) {
        DType::I64
    } else if scalars.is_empty() {
        crate::default_float_dtype()
    } else {
        DType::Bool
    };
    let as_f64 = |s: &Scalar| match *s {
        Scalar::Bool(b) => b as i64 as f64,
        Scalar::Int(i) => i as f64,
        Scalar::Float(f) => f,
    };
    let buffer = match dtype.unwrap_or(inferred) {
        DType::F32 => f32::into_buffer(scalars.iter().map(|s| as_f64(s) as f32).collect()),
        DType::F64 => f64::into_buffer(scalars.iter().map(as_f64).collect()),
        DType::I64 => i64::into_buffer(
            scalars
                .iter()
                .map(|s| match *s {
                    Scalar::Int(i) => i,
                    other => as_f64(&other) as i64,
                })
                .collect(),
        ),
        DType::Bool => bool::into_buffer(scalars.iter().map(|s| as_f64(s) != 0.0).collect()),
    };
    Tensor::from_buffer(buffer, shape)
}

/// A tensor from a NumPy array, copied.
fn tensor_from_numpy(array: &Bound<'_, PyUntypedArray>) -> PyResult<Tensor> {
    let kind = array.dtype().kind();
    let itemsize = array.dtype().itemsize();
    let (target, dtype) = match kind {
        b'f' if itemsize <= 4 => ("float32", DType::F32),
        b'f' => ("float64", DType::F64),
        b'i' | b'u' => ("int64", DType::I64),
        b'b' => ("bool", DType::Bool),
        _ => {
            return Err(PyTypeError::new_err(format!(
                "can't convert np.ndarray of type {}. The only supported types are: float64, \
                 float32, int64, int32, int16, int8, uint8, and bool.",
                array.dtype().str()?
            )))
        }
    };
    let converted = array.call_method1("astype", (target,))?;
    let shape: Vec<usize> = array.shape().to_vec();
    fn read<T: numpy::Element + crate::storage::Element>(
        a: &Bound<'_, PyAny>,
        shape: &[usize],
    ) -> PyResult<Tensor> {
        let values: Vec<T> = a
            .cast::<PyArrayDyn<T>>()?
            .to_owned_array()
            .iter()
            .copied()
            .collect();
        Ok(Tensor::from_buffer(T::into_buffer(values), shape))
    }
    match dtype {
        DType::F32 => read::<f32>(&converted, &shape),
        DType::F64 => read::<f64>(&converted, &shape),
        DType::I64 => read::<i64>(&converted, &shape),
        DType::Bool => read::<bool>(&converted, &shape),
    }
}

/// `autodiff.tensor(data)`'s data: numbers, nested sequences, NumPy arrays and scalars, or a
/// tensor (copied).
pub(crate) fn tensor_from_data(data: &Bound<'_, PyAny>, dtype: Option<DType>) -> PyResult<Tensor> {
    // Numbers and lists first: asking "is this a NumPy array?" imports NumPy, which costs
    // ~100 ms and starts its thread pool, for the common `tensor(3.0)`.
    let is_number = data.is_instance_of::<PyFloat>() || data.is_instance_of::<PyInt>();
    if is_number {
        return Ok(tensor_from_scalars(&[], &[scalar_of(data)?], dtype));
    }
    if data.is_instance_of::<PyList>() || data.is_instance_of::<PyTuple>() {
        let (shape, scalars) = read_nested(data)?;
        return Ok(tensor_from_scalars(&shape, &scalars, dtype));
    }
    let t = if let Ok(t) = data.cast::<PyTensor>() {
        t.get().inner.contiguous_copy()
    } else if let Ok(array) = data.cast::<PyUntypedArray>() {
        tensor_from_numpy(array)?
    } else if data.hasattr("dtype")? && data.hasattr("shape")? && data.hasattr("item")? {
        // A NumPy scalar such as np.float32(1.5): read it as a 0-d array.
        let numpy = data.py().import("numpy")?;
        tensor_from_numpy(
            numpy
                .call_method1("asarray", (data,))?
                .cast::<PyUntypedArray>()?,
        )?
    } else if is_nested(data) {
        let (shape, scalars) = read_nested(data)?;
        return Ok(tensor_from_scalars(&shape, &scalars, dtype));
    } else {
        return Ok(tensor_from_scalars(&[], &[scalar_of(data)?], dtype));
    };
    Ok(match dtype {
        Some(d) => t.cast(d),
        None => t,
    })
}

/// One element as a Python number of the tensor's kind.
pub(crate) fn py_scalar<'py>(
    py: Python<'py>,
    t: &Tensor,
    index: usize,
    values: &[f64],
    ints: &[i64],
) -> PyResult<Bound<'py, PyAny>> {
    Ok(match t.dtype() {
        DType::Bool => PyBool::new(py, values[index] != 0.0).to_owned().into_any(),
        DType::I64 => ints[index].into_pyobject(py)?.into_any(),
        _ => PyFloat::new(py, values[index]).into_any(),
    })
}

/// Nested lists of Python numbers (`tolist`), built from the innermost dimension out.
pub(crate) fn to_list<'py>(py: Python<'py>, t: &Tensor) -> PyResult<Bound<'py, PyAny>> {
    let values: Vec<f64> = t.to_vec();
    let ints: Vec<i64> = if t.dtype() == DType::I64 {
        t.to_vec()
    } else {
        Vec::new()
    };
    let mut level: Vec<Bound<'py, PyAny>> = (0..values.len())
        .map(|i| py_scalar(py, t, i, &values, &ints))
        .collect::<PyResult<_>>()?;
    let shape = t.shape();
    if shape.is_empty() {
        return Ok(level.pop().expect("a 0-d tensor has one element"));
    }
    for d in (0..shape.len()).rev() {
        let groups: usize = shape[..d].iter().product();
        let width = shape[d];
        let mut items = level.into_iter();
        level = (0..groups)
            .map(|_| PyList::new(py, items.by_ref().take(width)).map(Bound::into_any))
            .collect::<PyResult<_>>()?;
    }
    Ok(level.pop().expect("the outermost level is one list"))
}
