"""``Tensor.__repr__``: the suffixes PyTorch prints after the values."""

from __future__ import annotations

from . import _C
from ._tensor_str import format_tensor


def tensor_repr(t: _C.Tensor) -> str:
    """PyTorch's repr of ``t``, e.g. ``tensor(9., grad_fn=<PowBackward0>)``."""
    suffixes = []
    grad_fn = t.grad_fn
    if grad_fn is not None:
        suffixes.append(f"grad_fn=<{grad_fn._class_name}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    text = format_tensor(
        t.detach().numpy(),
        t.dtype.__repr__().rsplit(".", 1)[1],
        default_dtype_name=_C.get_default_dtype().__repr__().rsplit(".", 1)[1],
        suffixes=suffixes,
    )
    prefix = getattr(type(t), "_repr_prefix", None)
    return f"{prefix}\n{text}" if prefix else text
