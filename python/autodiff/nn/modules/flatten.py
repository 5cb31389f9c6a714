"""``Flatten`` and ``Unflatten``.

>>> import autodiff, autodiff.nn as nn
>>> x = autodiff.zeros(2, 3, 4)
>>> nn.Flatten()(x).shape, nn.Unflatten(1, (3, 1))(x).shape
(autodiff.Size([2, 12]), autodiff.Size([2, 3, 1, 4]))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ... import _C
from .module import Module

__all__ = ["Flatten", "Unflatten"]


class Flatten(Module):
    """Flattens dims ``start_dim`` to ``end_dim`` into one (by default all but the batch dim).

    >>> import autodiff, autodiff.nn as nn
    >>> nn.Flatten(0, 1)
    Flatten(start_dim=0, end_dim=1)
    >>> nn.Flatten(0, 1)(autodiff.zeros(2, 3, 4)).shape
    autodiff.Size([6, 4])
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: _C.Tensor) -> _C.Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


def _check_sizes(sizes: Any) -> None:
    if not isinstance(sizes, (tuple, list)):
        raise TypeError(
            f"unflattened_size must be a tuple of ints, but found type {type(sizes).__name__}"
        )
    for position, size in enumerate(sizes):
        if not isinstance(size, int):
            raise TypeError(
                "unflattened_size must be tuple of ints, but found element of type "
                f"{type(size).__name__} at pos {position}"
            )


class Unflatten(Module):
    """Splits dim ``dim`` into the shape ``unflattened_size`` (one entry may be -1).

    >>> import autodiff, autodiff.nn as nn
    >>> nn.Unflatten(1, (2, 5))
    Unflatten(dim=1, unflattened_size=(2, 5))
    >>> nn.Unflatten(-1, (2, -1))(autodiff.zeros(3, 10)).shape
    autodiff.Size([3, 2, 5])
    """

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        super().__init__()
        if isinstance(dim, int):
            _check_sizes(unflattened_size)
        self.dim = dim
        self.unflattened_size = unflattened_size

    def forward(self, input: _C.Tensor) -> _C.Tensor:
        return input.unflatten(self.dim, tuple(self.unflattened_size))

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
