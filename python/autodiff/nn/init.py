"""``autodiff.nn.init``: in-place initialisation of parameters, as ``torch.nn.init``.

Every function fills its tensor under ``no_grad`` (so it works on parameters that require
grad) and returns the tensor. The random fills draw from autodiff's generator, so a seed
gives the same values on every platform but not PyTorch's values.

>>> import autodiff
>>> from autodiff import nn
>>> w = nn.Parameter(autodiff.empty(3, 5))
>>> _ = nn.init.xavier_uniform_(w)
>>> bool((w.abs() <= (6 / (3 + 5)) ** 0.5).all()), w.requires_grad
(True, True)
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from .. import _C
from ..autograd.grad_mode import no_grad

__all__ = [
    "calculate_gain",
    "uniform_",
    "normal_",
    "constant_",
    "zeros_",
    "ones_",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
]

Tensor = _C.Tensor

_LINEAR_GAIN_NAMES = (
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "sigmoid",
)


def calculate_gain(nonlinearity: str, param: int | float | None = None) -> float:
    """The factor that keeps activations' variance stable through ``nonlinearity``:
    1 for linear layers and sigmoid, 5/3 for tanh, sqrt(2) for relu,
    sqrt(2 / (1 + negative_slope ** 2)) for leaky_relu (``param``, default 0.01), 3/4 for selu.

    >>> calculate_gain("tanh")
    1.6666666666666667
    >>> calculate_gain("leaky_relu", 0)
    1.4142135623730951
    """
    if nonlinearity in _LINEAR_GAIN_NAMES:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            negative_slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope**2))
    if nonlinearity == "selu":
        # Chosen (rather than derived) by PyTorch, for self-normalising networks.
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight (out, in, *kernel): in and out times the kernel size.

    >>> import autodiff
    >>> _calculate_fan_in_and_fan_out(autodiff.empty(4, 3, 5))
    (15, 20)
    """
    if tensor.dim() < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"
        )
    receptive_field = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    valid_modes = ["fan_in", "fan_out"]
    if mode not in valid_modes:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid_modes}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Any = None) -> Tensor:
    """Fills ``tensor`` from the uniform distribution U(a, b).

    >>> import autodiff
    >>> t = uniform_(autodiff.empty(1000), -2.0, 2.0)
    >>> bool((t >= -2).all() and (t < 2).all())
    True
    """
    with no_grad():
        return tensor.uniform_(a, b, generator=generator)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Tensor:
    """Fills ``tensor`` from the normal distribution N(mean, std ** 2).

    >>> import autodiff
    >>> t = normal_(autodiff.empty(10000), mean=3.0, std=0.5)
    >>> abs(t.mean().item() - 3.0) < 0.05
    True
    """
    with no_grad():
        return tensor.normal_(mean, std, generator=generator)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fills ``tensor`` with ``val``.

    >>> import autodiff
    >>> constant_(autodiff.empty(2), 0.5)
    tensor([0.5000, 0.5000])
    """
    with no_grad():
        return tensor.fill_(val)


def zeros_(tensor: Tensor) -> Tensor:
    """Fills ``tensor`` with zeros.

    >>> import autodiff
    >>> zeros_(autodiff.ones(2))
    tensor([0., 0.])
    """
    with no_grad():
        return tensor.zero_()


def ones_(tensor: Tensor) -> Tensor:
    """Fills ``tensor`` with ones.

    >>> import autodiff
    >>> ones_(autodiff.zeros(2))
    tensor([1., 1.])
    """
    with no_grad():
        return tensor.fill_(1.0)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """Glorot initialisation: U(-a, a) with ``a = gain * sqrt(6 / (fan_in + fan_out))``.

    >>> import autodiff
    >>> w = xavier_uniform_(autodiff.empty(50, 50))
    >>> bool((w.abs() <= (6 / 100) ** 0.5).all())
    True
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std  # a uniform on (-b, b) has standard deviation b / sqrt(3)
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """Glorot initialisation: N(0, std ** 2) with ``std = gain * sqrt(2 / (fan_in + fan_out))``.

    >>> import autodiff
    >>> w = xavier_normal_(autodiff.empty(200, 200))
    >>> abs(w.std().item() - (2 / 400) ** 0.5) < 0.005
    True
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def _zero_element_no_op(tensor: Tensor) -> bool:
    if 0 in tuple(tensor.shape):
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return True
    return False


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Any = None,
) -> Tensor:
    """He initialisation: U(-b, b) with ``b = gain * sqrt(3 / fan)``, the gain from
    :func:`calculate_gain` (``a`` is leaky_relu's negative slope) and ``fan`` chosen by
    ``mode``. A tensor with no elements is left alone, with PyTorch's warning.

    >>> import autodiff
    >>> w = kaiming_uniform_(autodiff.empty(30, 12), nonlinearity="relu")
    >>> bool((w.abs() <= (6 / 12) ** 0.5).all())
    True
    """
    if _zero_element_no_op(tensor):
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(
    tensor: Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Any = None,
) -> Tensor:
    """He initialisation: N(0, std ** 2) with ``std = gain / sqrt(fan)``.

    >>> import autodiff
    >>> w = kaiming_normal_(autodiff.empty(300, 200), mode="fan_out", nonlinearity="relu")
    >>> abs(w.std().item() - (2 / 300) ** 0.5) < 0.005
    True
    """
    if _zero_element_no_op(tensor):
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std, generator)
