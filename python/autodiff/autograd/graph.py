"""``autodiff.autograd.graph``: the node type behind ``Tensor.grad_fn``."""

from .._C import Node

__all__ = ["Node"]
