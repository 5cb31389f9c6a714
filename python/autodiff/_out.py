"""``out=`` for the module-level arithmetic functions (``autodiff.add(a, b, out=o)``).

PyTorch writes the result into ``out`` and refuses when autograd would have to record it.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from ._C import Tensor, is_grad_enabled


def with_out(name: str, method: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """``method`` as a module function that also takes ``out=``.

    >>> import autodiff
    >>> out = autodiff.zeros(2)
    >>> autodiff.add(autodiff.ones(2), 1, out=out) is out
    True
    >>> out
    tensor([2., 2.])
    """

    @functools.wraps(method)
    def function(input: Tensor, *args: Any, out: Tensor | None = None, **kwargs: Any) -> Tensor:
        if out is None:
            return method(input, *args, **kwargs)
        operands = (input, *args, *kwargs.values(), out)
        if is_grad_enabled() and any(getattr(t, "requires_grad", False) for t in operands):
            raise RuntimeError(
                f"{name}(): functions with out=... arguments don't support automatic "
                "differentiation, but one of the arguments requires grad."
            )
        result = method(input, *args, **kwargs)
        if out.shape != result.shape:
            # PyTorch resizes `out`; autodiff tensors cannot change size in place.
            raise RuntimeError(
                f"{name}(): out= must have the result's shape {list(result.shape)} in "
                f"autodiff (it cannot be resized), got {list(out.shape)}"
            )
        return out.copy_(result)

    return function
