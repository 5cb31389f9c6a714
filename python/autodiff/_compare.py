"""``autodiff.isclose`` and ``autodiff.allclose``: elementwise closeness with PyTorch's rules.

Two elements are close when they are equal (infinities of the same sign included) or when both
are finite and ``|input - other| <= atol + rtol * |other|``; with ``equal_nan=True`` two NaNs are
close too. The tensors broadcast against each other and must have the same dtype (PyTorch does
not promote here: ``Float did not match Double``). Integer and bool tensors are compared exactly
when both tolerances are zero and otherwise in the default dtype, as PyTorch does.

Unlike PyTorch, these are module functions only: ``Tensor.isclose`` and ``Tensor.allclose``
would have to live on the native class.

>>> import autodiff
>>> autodiff.isclose(autodiff.tensor([1.0, 2.0]), autodiff.tensor([1.0 + 1e-9, 2.1]))
tensor([ True, False])
>>> autodiff.allclose(autodiff.tensor([1.0, 2.0]), autodiff.tensor([1.0, 2.0 + 1e-6]))
True
"""

from __future__ import annotations

import numbers
import sys

from . import _C
from ._C import Tensor
from .autograd.grad_mode import no_grad

__all__ = ["allclose", "isclose"]

# The scalar-type names that PyTorch's dtype-mismatch message uses.
_TYPE_NAMES = {_C.float32: "Float", _C.float64: "Double", _C.int64: "Long", _C.bool: "Bool"}
_INF = float("inf")


def _tensor_arg(func: str, name: str, position: int, value: object) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(
            f"{func}(): argument '{name}' (position {position}) must be Tensor, "
            f"not {type(value).__name__}"
        )
    return value


def _float_arg(func: str, name: str, value: object) -> float:
    # What PyTorch's argument parser takes for a float: real numbers (NumPy's included, and
    # NumPy's bool) and a 0-dim tensor that does not require grad.
    numpy = sys.modules.get("numpy")
    if isinstance(value, numbers.Real) or (numpy is not None and isinstance(value, numpy.bool_)):
        return float(value)  # type: ignore[arg-type]
    if isinstance(value, Tensor) and value.dim() == 0 and not value.requires_grad:
        return float(value.item())
    raise TypeError(f"{func}(): argument '{name}' must be float, not {type(value).__name__}")


def _parse(
    func: str, input: object, other: object, rtol: object, atol: object, equal_nan: object
) -> tuple[Tensor, Tensor, float, float, bool]:
    """PyTorch's argument checks, in its order; returns the arguments with their types."""
    input = _tensor_arg(func, "input", 1, input)
    other = _tensor_arg(func, "other", 2, other)
    rtol = _float_arg(func, "rtol", rtol)
    atol = _float_arg(func, "atol", atol)
    if not isinstance(equal_nan, bool):
        raise TypeError(
            f"{func}(): argument 'equal_nan' must be bool, not {type(equal_nan).__name__}"
        )
    return input, other, rtol, atol, equal_nan


def _or(a: Tensor, b: Tensor) -> Tensor:
    # There are no logical ops on bool tensors yet; `where` is an elementwise select and
    # broadcasts, so it expresses both without a per-element Python loop.
    return _C.where(a, a, b)


def _and(a: Tensor, b: Tensor) -> Tensor:
    return _C.where(a, b, a)


def _isclose(input: Tensor, other: Tensor, rtol: float, atol: float, equal_nan: bool) -> Tensor:
    if input.dtype != other.dtype:
        raise RuntimeError(f"{_TYPE_NAMES[input.dtype]} did not match {_TYPE_NAMES[other.dtype]}")
    # `not x >= 0` also refuses NaN, as PyTorch does.
    if not rtol >= 0:
        raise RuntimeError(f"rtol must be greater than or equal to zero, but got {rtol:g}")
    if not atol >= 0:
        raise RuntimeError(f"atol must be greater than or equal to zero, but got {atol:g}")
    floating = input.is_floating_point()
    # The result is a bool tensor with no gradient: recording the float arithmetic behind it
    # would only grow the graph of inputs that require grad.
    with no_grad():
        close = input == other
        if equal_nan and floating:
            close = _or(close, _and(input != input, other != other))
        if rtol == 0 and atol == 0:
            return close
        if not floating:
            default = _C.get_default_dtype()
            input, other = input.to(default), other.to(default)
        allowed = atol + (rtol * other).abs()
        actual = (input - other).abs()
        # `actual < inf` is `isfinite(actual)` for a non-negative or NaN value: an infinite or
        # NaN difference is close only through the equality above.
        return _or(close, _and(actual < _INF, actual <= allowed))


def isclose(
    input: Tensor,
    other: Tensor,
    rtol: float = 1e-05,
    atol: float = 1e-08,
    equal_nan: bool = False,
) -> Tensor:
    """A bool tensor, True where ``input`` and ``other`` are close (``torch.isclose``).

    Close means ``|input - other| <= atol + rtol * |other|`` for finite elements and equality
    for infinite ones; NaN is close to NaN only with ``equal_nan=True``. The tensors broadcast
    and must share a dtype; ``rtol`` and ``atol`` must be non-negative.

    >>> import autodiff
    >>> inf, nan = float("inf"), float("nan")
    >>> a = autodiff.tensor([1.0, inf, -inf, nan, 100.0])
    >>> b = autodiff.tensor([1.000001, inf, inf, nan, 100.1])
    >>> autodiff.isclose(a, b)
    tensor([ True,  True, False, False, False])
    >>> autodiff.isclose(a, b, rtol=1e-3, equal_nan=True)
    tensor([ True,  True, False,  True,  True])
    """
    return _isclose(*_parse("isclose", input, other, rtol, atol, equal_nan))


def allclose(
    input: Tensor,
    other: Tensor,
    rtol: float = 1e-05,
    atol: float = 1e-08,
    equal_nan: bool = False,
) -> bool:
    """True if every pair of broadcast elements is close, as ``isclose`` decides
    (``torch.allclose``).

    >>> import autodiff
    >>> x = autodiff.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> autodiff.allclose(x, x + 1e-7)
    True
    >>> autodiff.allclose(x, autodiff.tensor([1.0, 2.0]))
    False
    """
    return bool(_isclose(*_parse("allclose", input, other, rtol, atol, equal_nan)).all())
