"""``Identity`` and ``Linear``.

>>> import autodiff, autodiff.nn as nn
>>> nn.Linear(3, 2)(autodiff.ones(5, 3)).shape
autodiff.Size([5, 2])
"""

from __future__ import annotations

import math
from typing import Any

from ... import _C
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module

__all__ = ["Identity", "Linear"]


class Identity(Module):
    """Returns its input unchanged; any constructor arguments are ignored.

    >>> import autodiff, autodiff.nn as nn
    >>> x = autodiff.ones(2)
    >>> nn.Identity(54, unused="argument")(x) is x
    True
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: _C.Tensor) -> _C.Tensor:
        return input


class Linear(Module):
    """``y = x @ weight.T + bias``, with ``weight`` of shape (out_features, in_features).

    Initialised as PyTorch does: ``kaiming_uniform_(weight, a=sqrt(5))``, which draws from
    U(-1/sqrt(in_features), 1/sqrt(in_features)), and the bias from the same interval.
    ``device`` may only be the CPU.

    >>> import autodiff, autodiff.nn as nn
    >>> lin = nn.Linear(2, 1, bias=False, dtype=autodiff.float64)
    >>> lin
    Linear(in_features=2, out_features=1, bias=False)
    >>> _ = nn.init.ones_(lin.weight)
    >>> lin(autodiff.tensor([[1.0, 2.0]], dtype=autodiff.float64))
    tensor([[3.]], dtype=autodiff.float64, grad_fn=<MmBackward0>)
    """

    in_features: int
    out_features: int
    weight: Parameter
    bias: Parameter | None

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(_C.empty((out_features, in_features), dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(_C.empty((out_features,), dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draws new weights and bias with the default initialisation.

        >>> import autodiff.nn as nn
        >>> lin = nn.Linear(4, 2)
        >>> lin.reset_parameters()
        >>> bool((lin.weight.abs() <= 0.5).all())
        True
        """
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: _C.Tensor) -> _C.Tensor:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )
