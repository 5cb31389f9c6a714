"""``autodiff.autograd``: PyTorch's ``torch.autograd`` entry points over the Rust engine."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Union

from .. import _C
from .._C import is_anomaly_check_nan_enabled, is_anomaly_enabled
from . import functional, graph
from .anomaly_mode import detect_anomaly, set_detect_anomaly
from .function import Function, FunctionCtx, once_differentiable
from .grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .stats import GraphStats, graph_stats

__all__ = [
    "Function",
    "FunctionCtx",
    "once_differentiable",
    "detect_anomaly",
    "set_detect_anomaly",
    "is_anomaly_enabled",
    "is_anomaly_check_nan_enabled",
    "functional",
    "gradcheck",
    "gradgradcheck",
    "GradcheckError",
    "GraphStats",
    "graph_stats",
    "backward",
    "grad",
    "graph",
    "no_grad",
    "inference_mode",
    "is_inference_mode_enabled",
    "enable_grad",
    "set_grad_enabled",
    "is_grad_enabled",
]

_TensorOrTensors = Union[_C.Tensor, Sequence[_C.Tensor]]


def _as_tuple(x) -> tuple:
    if isinstance(x, _C.Tensor):
        return (x,)
    return tuple(x)


def backward(
    tensors: _TensorOrTensors,
    grad_tensors=None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    grad_variables=None,
    inputs=None,
) -> None:
    """Accumulates the gradients of ``tensors`` into the leaves' ``.grad``.

    >>> import autodiff
    >>> a = autodiff.tensor(1.0, requires_grad=True)
    >>> autodiff.autograd.backward([a * 2, a * 3])
    >>> a.grad
    tensor(5.)
    """
    if grad_variables is not None:
        grad_tensors = grad_variables
    roots = _as_tuple(tensors)
    if grad_tensors is not None and not isinstance(grad_tensors, (int, float)):
        grad_tensors = _as_tuple(grad_tensors)
        if len(grad_tensors) != len(roots):
            raise RuntimeError(f"got {len(roots)} tensors and {len(grad_tensors)} gradients")
    wanted = None if inputs is None else _as_tuple(inputs)
    if retain_graph is None:
        retain_graph = create_graph
    _C._run_backward(roots, grad_tensors, retain_graph, create_graph, wanted)


def grad(
    outputs: _TensorOrTensors,
    inputs: _TensorOrTensors,
    grad_outputs=None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    only_inputs: bool = True,
    allow_unused: bool | None = None,
    is_grads_batched: bool = False,
    materialize_grads: bool = False,
):
    """Returns the gradients of ``outputs`` with respect to ``inputs`` (a tuple), leaving
    every ``.grad`` untouched.

    >>> import autodiff
    >>> x = autodiff.tensor(2.0, requires_grad=True)
    >>> (g,) = autodiff.autograd.grad(x ** 3, x, create_graph=True)
    >>> g
    tensor(12., grad_fn=<MulBackward0>)
    """
    if materialize_grads and allow_unused is False:
        raise ValueError(
            "Expected allow_unused to be True or not passed when materialize_grads=True, "
            "but got: allow_unused=False."
        )
    if allow_unused is None:
        allow_unused = materialize_grads
    if is_grads_batched:
        raise NotImplementedError("is_grads_batched=True is not supported yet")
    roots = _as_tuple(outputs)
    wanted = _as_tuple(inputs)
    if not wanted:
        raise RuntimeError("`inputs` argument to `grad()` cannot be empty.")
    if grad_outputs is not None:
        grad_outputs = _as_tuple(grad_outputs)
        if len(grad_outputs) != len(roots):
            raise RuntimeError(f"got {len(roots)} tensors and {len(grad_outputs)} gradients")
    if retain_graph is None:
        retain_graph = create_graph
    results = _C._run_grad(roots, wanted, grad_outputs, retain_graph, create_graph)
    for index, (g, x) in enumerate(zip(results, wanted)):
        if g is None:
            if materialize_grads:
                from .. import zeros_like

                results[index] = zeros_like(x)
            elif not allow_unused:
                raise RuntimeError(
                    f"The differentiated Tensor at index {index} appears to not have been used "
                    "in the graph. Set allow_unused=True if this is the desired behavior."
                )
    return tuple(results)
