"""``nn.Parameter``: a tensor that a :class:`~autodiff.nn.Module` registers as a parameter.

>>> import autodiff
>>> from autodiff.nn import Parameter
>>> Parameter(autodiff.zeros(2))
Parameter containing:
tensor([0., 0.], requires_grad=True)
"""

from __future__ import annotations

from typing import Any

from .. import _C

__all__ = ["Parameter"]


class Parameter(_C.Tensor):
    """A leaf tensor that requires grad by default and that a Module picks up when assigned.

    ``Parameter(data=None, requires_grad=True)`` shares ``data``'s storage; with no data it
    is an empty tensor. Operations on a parameter give plain tensors.

    >>> import autodiff
    >>> p = Parameter(autodiff.tensor([1.0, 2.0]))
    >>> p.requires_grad, p.is_leaf, type(p * 2).__name__
    (True, True, 'Tensor')
    >>> Parameter(autodiff.tensor([1.0]), requires_grad=False)
    Parameter containing:
    tensor([1.])
    """

    def __new__(cls, data: _C.Tensor | None = None, requires_grad: bool = True) -> Parameter:
        if data is None:
            data = _C.empty(0)
        return _C.Tensor._make_subclass(cls, data, requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo: dict[int, Any]) -> Parameter:
        """A parameter over a copy of the data, with the same ``requires_grad``.

        >>> import copy, autodiff
        >>> p = Parameter(autodiff.ones(1))
        >>> q = copy.deepcopy(p)
        >>> q is p, bool((q == p).all())
        (False, True)
        """
        if id(self) in memo:
            return memo[id(self)]
        result = type(self)(self.detach().clone(), self.requires_grad)
        memo[id(self)] = result
        return result
