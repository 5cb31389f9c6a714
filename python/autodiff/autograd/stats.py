"""``autodiff.autograd.graph_stats``: how much graph, and saved memory, a tensor keeps alive."""

from __future__ import annotations

from typing import Any, NamedTuple, cast

from .._C import Node, Tensor, _live_nodes

__all__ = ["GraphStats", "graph_stats"]


class GraphStats(NamedTuple):
    """What :func:`graph_stats` counts."""

    nodes: int
    """Graph nodes reachable from the tensor's ``grad_fn``, its own and leaves'
    ``AccumulateGrad`` nodes included."""
    saved_tensors: int
    """Tensors those nodes saved for backward (Python numbers saved by value excluded)."""
    saved_bytes: int
    """Bytes of the storages behind the saved tensors, each storage counted once."""
    live_nodes: int
    """Graph nodes alive in the whole process, in any graph (``autodiff._C._live_nodes()``)."""


def graph_stats(tensor: Tensor | Node) -> GraphStats:
    """Counts the autograd graph behind ``tensor`` (or behind a ``grad_fn`` node) and the
    memory its saved tensors hold. Not in PyTorch.

    A tensor without ``grad_fn`` (a leaf, whether or not it requires grad, or a result
    computed under ``no_grad``) keeps no graph alive: ``nodes == 0``. A leaf's
    ``AccumulateGrad`` node exists only while some graph uses the leaf, and is counted in
    that graph. Saved tensors stay counted until a backward without ``retain_graph=True``
    frees them. The walk uses an explicit stack: any depth works.

    >>> import autodiff
    >>> from autodiff.autograd.stats import graph_stats
    >>> x = autodiff.ones(4, requires_grad=True)
    >>> y = x.exp().sum()  # SumBackward0 -> ExpBackward0 -> AccumulateGrad
    >>> s = graph_stats(y)
    >>> s.nodes, s.saved_tensors, s.saved_bytes  # exp saves its output: 4 float32
    (3, 1, 16)
    >>> graph_stats(x).nodes
    0
    """
    node = tensor if isinstance(tensor, Node) else tensor.grad_fn
    if node is None:
        nodes = saved = saved_bytes = 0
    else:
        nodes, saved, saved_bytes = cast(Any, node)._graph_stats()
    return GraphStats(nodes, saved, saved_bytes, _live_nodes())
