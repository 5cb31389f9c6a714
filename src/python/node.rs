//! `grad_fn` objects: read-only views of tape nodes for Python.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::error::guard;
use super::tensor::{wrap, PyTensor};
use crate::autograd::NodeRef;

/// A node of the autograd graph (PyTorch's `torch.autograd.graph.Node`).
#[pyclass(name = "Node", module = "autodiff.autograd.graph", frozen, weakref)]
pub struct PyNode {
    pub(crate) node: NodeRef,
}

impl PyNode {
    pub(crate) fn new(node: NodeRef) -> Self {
        PyNode { node }
    }
}

#[pymethods]
impl PyNode {
    /// The node's name, e.g. `'MulBackward0'`; leaves' accumulators give PyTorch's
    /// `'torch::autograd::AccumulateGrad'`.
    fn name(&self) -> String {
        // PyTorch's nodes written in C++ by hand report a namespaced name.
        match self.node.name() {
            name @ ("AccumulateGrad" | "CopyBackwards" | "CopySlices") => {
                format!("torch::autograd::{name}")
            }
            name => name.to_string(),
        }
    }

    /// The node's class name as PyTorch prints it in a tensor's repr (`CopyBackwards`).
    #[getter]
    fn _class_name(&self) -> &'static str {
        self.node.name()
    }

    /// One `(node, input_nr)` pair per input of the op; `(None, 0)` for inputs that need no
    /// gradient.
    #[getter]
    fn next_functions<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let pairs: Vec<Bound<'py, PyTuple>> = self
            .node
            .next_functions()
            .into_iter()
            .map(|edge| match edge {
                Some((node, nr)) => PyTuple::new(
                    py,
                    [
                        Py::new(py, PyNode::new(node))?.into_any(),
                        nr.into_pyobject(py)?.into_any().unbind(),
                    ],
                ),
                None => PyTuple::new(py, [py.None(), 0u32.into_pyobject(py)?.into_any().unbind()]),
            })
            .collect::<PyResult<_>>()?;
        PyTuple::new(py, pairs)
    }

    /// For an `AccumulateGrad` node: the leaf it accumulates into.
    #[getter]
    fn variable(&self, py: Python<'_>) -> PyResult<Option<Py<PyTensor>>> {
        self.node.variable().map(|t| wrap(py, t)).transpose()
    }

    /// Runs the node's backward rule on one gradient per output, as in PyTorch: a single
    /// input's gradient comes back alone, several as a tuple (`None` for inputs that need
    /// no gradient).
    #[pyo3(signature = (*grads))]
    fn __call__(
        &self,
        py: Python<'_>,
        grads: Vec<Option<PyRef<'_, PyTensor>>>,
    ) -> PyResult<Py<PyAny>> {
        let grads: Vec<Option<crate::tensor::Tensor>> = grads
            .iter()
            .map(|g| g.as_ref().map(|g| g.inner.clone()))
            .collect();
        let out = guard(|| crate::autograd::call_node(&self.node, &grads))?;
        let wrapped: Vec<Py<PyAny>> = out
            .into_iter()
            .map(|g| match g {
                Some(t) => wrap(py, t).map(Py::into_any),
                None => Ok(py.None()),
            })
            .collect::<PyResult<_>>()?;
        match wrapped.len() {
            0 => Ok(py.None()),
            1 => Ok(wrapped.into_iter().next().expect("one element")),
            _ => Ok(PyTuple::new(py, wrapped)?.into_any().unbind()),
        }
    }

    /// `(nodes, saved_tensors, saved_bytes)` of the graph reachable from this node.
    fn _graph_stats(&self) -> (usize, usize, usize) {
        let stats = self.node.graph_stats();
        (stats.nodes, stats.saved_tensors, stats.saved_bytes)
    }

    /// A dict for user annotations, as in PyTorch.
    #[getter]
    fn metadata<'py>(&self, py: Python<'py>) -> Bound<'py, PyDict> {
        PyDict::new(py)
    }

    fn __repr__(slf: &Bound<'_, Self>) -> String {
        format!(
            "<{} object at {:#x}>",
            slf.get().node.name(),
            slf.as_ptr() as usize
        )
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<PyNode>()
            .is_ok_and(|o| o.get().node == self.node)
    }

    fn __hash__(&self) -> u64 {
        let id = self.node.id();
        (u64::from(id.idx) << 32) | u64::from(id.gen.get())
    }
}
