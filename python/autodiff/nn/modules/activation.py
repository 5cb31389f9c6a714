"""Activation layers: ``ReLU``, ``LeakyReLU``, ``Tanh``, ``Sigmoid``, ``Softmax``,
``LogSoftmax``.

>>> import autodiff, autodiff.nn as nn
>>> nn.ReLU()(autodiff.tensor([-1.0, 2.0]))
tensor([0., 2.])
"""

from __future__ import annotations

from ... import _C
from .. import functional as F
from .module import Module

__all__ = ["ReLU", "LeakyReLU", "Tanh", "Sigmoid", "Softmax", "LogSoftmax"]


class ReLU(Module):
    """``max(x, 0)`` elementwise; ``inplace=True`` overwrites the input.

    >>> import autodiff.nn as nn
    >>> nn.ReLU(inplace=True)
    ReLU(inplace=True)
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: _C.Tensor) -> _C.Tensor:
        return F.relu(input, inplace=self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """``x`` where ``x > 0``, else ``negative_slope * x``.

    >>> import autodiff, autodiff.nn as nn
    >>> nn.LeakyReLU(0.1)
    LeakyReLU(negative_slope=0.1)
    >>> nn.LeakyReLU(0.5)(autodiff.tensor([-2.0, 3.0]))
    tensor([-1.,  3.])
    """

    def __init__(self, negative_slope: float = 1e-2, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input: _C.Tensor) -> _C.Tensor:
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        inplace = ", inplace=True" if self.inplace else ""
        return f"negative_slope={self.negative_slope}{inplace}"


class Tanh(Module):
    """``tanh`` elementwise.

    >>> import autodiff, autodiff.nn as nn
    >>> nn.Tanh()(autodiff.tensor([0.0]))
    tensor([0.])
    """

    def forward(self, input: _C.Tensor) -> _C.Tensor:
        return input.tanh()


class Sigmoid(Module):
    """``1 / (1 + exp(-x))`` elementwise.

    >>> import autodiff, autodiff.nn as nn
    >>> nn.Sigmoid()(autodiff.tensor([0.0]))
    tensor([0.5000])
    """

    def forward(self, input: _C.Tensor) -> _C.Tensor:
        return input.sigmoid()


class Softmax(Module):
    """Softmax along ``dim`` (with ``dim=None``, PyTorch's deprecated implicit choice and
    its warning).

    >>> import autodiff, autodiff.nn as nn
    >>> nn.Softmax(dim=0)(autodiff.tensor([0.0, 0.0]))
    tensor([0.5000, 0.5000])
    """

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: _C.Tensor) -> _C.Tensor:
        return F.softmax(input, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """Log-softmax along ``dim`` (``dim=None`` as for :class:`Softmax`).

    >>> import autodiff, autodiff.nn as nn
    >>> nn.LogSoftmax(dim=1)
    LogSoftmax(dim=1)
    >>> nn.LogSoftmax(dim=0)(autodiff.tensor([0.0, 0.0])).exp()
    tensor([0.5000, 0.5000])
    """

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: _C.Tensor) -> _C.Tensor:
        return F.log_softmax(input, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
