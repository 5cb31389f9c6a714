"""Helpers shared by the losses: the ``reduction`` argument and PyTorch's message texts.

>>> from autodiff.nn._reduction import legacy_reduction
>>> legacy_reduction(None, False, emit_warning=False)
'none'
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from .. import _C

_REDUCTIONS = ("none", "mean", "sum")

_TENSOR_TYPE_NAMES = {
    "float32": "FloatTensor",
    "float64": "DoubleTensor",
    "int64": "LongTensor",
    "bool": "BoolTensor",
}


def check_reduction(reduction: str) -> str:
    """``reduction`` itself, or PyTorch's ValueError when it is not one of the three names.

    >>> check_reduction("sum")
    'sum'
    """
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def legacy_reduction(
    size_average: bool | None, reduce: bool | None, emit_warning: bool = True
) -> str:
    """The ``reduction`` that PyTorch's deprecated ``size_average``/``reduce`` pair stands for.

    >>> legacy_reduction(False, None, emit_warning=False)
    'sum'
    """
    # An unset flag counts as True, as it did before the two were deprecated.
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        reduction = "none"
    elif size_average:
        reduction = "mean"
    else:
        reduction = "sum"
    if emit_warning:
        warnings.warn(
            "size_average and reduce args will be deprecated, please use "
            f"reduction='{reduction}' instead.",
            stacklevel=3,
        )
    return reduction


def resolve_reduction(size_average: bool | None, reduce: bool | None, reduction: str) -> str:
    """``reduction``, unless one of the deprecated flags is given (then with the warning).

    >>> resolve_reduction(None, None, "mean")
    'mean'
    """
    if size_average is not None or reduce is not None:
        return legacy_reduction(size_average, reduce)
    return reduction


def size_text(shape: Sequence[int]) -> str:
    """A shape as PyTorch's messages print it (README: messages keep ``torch.Size``).

    >>> size_text((2, 3))
    'torch.Size([2, 3])'
    """
    return f"torch.Size({list(shape)})"


def tensor_type_name(tensor: _C.Tensor) -> str:
    """``tensor.type()``, e.g. ``'autodiff.FloatTensor'``.

    >>> import autodiff
    >>> tensor_type_name(autodiff.zeros(1, dtype=autodiff.float64))
    'autodiff.DoubleTensor'
    """
    method = getattr(tensor, "type", None)
    if callable(method):
        return str(method())
    dtype_name = str(tensor.dtype).rsplit(".", 1)[-1]
    return "autodiff." + _TENSOR_TYPE_NAMES.get(dtype_name, "Tensor")


def type_name(obj: Any) -> str:
    """What ``torch.typename`` gives: a tensor's type string, else the qualified class name.

    >>> type_name(3)
    'int'
    """
    if isinstance(obj, _C.Tensor):
        return tensor_type_name(obj)
    cls = type(obj)
    if cls.__module__ in ("", "builtins"):
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"
