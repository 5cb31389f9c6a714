"""``Dropout``.

>>> import autodiff, autodiff.nn as nn
>>> drop = nn.Dropout(p=0.5).eval()
>>> drop(autodiff.ones(3))
tensor([1., 1., 1.])
"""

from __future__ import annotations

from ... import _C
from .. import functional as F
from .module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """In training mode, zeroes each element with probability ``p`` and scales the rest by
    ``1 / (1 - p)``; in eval mode, the identity.

    >>> import autodiff, autodiff.nn as nn
    >>> nn.Dropout(0.2)
    Dropout(p=0.2, inplace=False)
    >>> nn.Dropout(p=1.0)(autodiff.ones(2))
    tensor([0., 0.])
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        F._check_dropout_probability(p)
        self.p = p
        self.inplace = inplace

    def forward(self, input: _C.Tensor) -> _C.Tensor:
        return F.dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
