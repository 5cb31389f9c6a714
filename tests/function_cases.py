"""Custom ``autograd.Function`` cases and small helpers for tests/test_hooks.py and
tests/test_custom_function.py.

Each Function states its closed form in its docstring. The helpers keep the tests to the point:
``vec`` builds a 1-D tensor and ``values`` reads one back, ``live_nodes`` counts graph nodes after
a garbage collection, ``outcome`` turns a raised exception into a string the PyTorch oracle tests
can compare, and ``Boom`` is an exception type no library code raises.
"""

from __future__ import annotations

import gc
from typing import Any, Callable

import autodiff as torch

Function = torch.autograd.Function


def vec(*numbers: float, dtype: Any = None, requires_grad: bool = False) -> Any:
    return torch.tensor(list(numbers), dtype=dtype, requires_grad=requires_grad)


def values(t: Any) -> Any:
    return t.detach().tolist()


def live_nodes() -> int:
    gc.collect()  # a graph kept alive only by a reference cycle must not count
    return torch._C._live_nodes()


def outcome(fn: Callable[[], Any]) -> Any:
    """What ``fn()`` returns, or ``"<ExceptionType>: <message>"`` for what it raises."""
    try:
        result = fn()
    except Exception as e:  # noqa: BLE001 - the outcome itself is what is compared
        return f"{type(e).__name__}: {e}"
    return result


class Boom(Exception):
    pass


class MyExp(Function):
    """y = e^x, dy/dx = y (saves its own output)."""

    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y


class MySin(Function):
    """y = sin x, dy/dx = cos x; backward uses differentiable ops."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.sin()

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * x.cos()


class MyMul(Function):
    """z = x y, dz/dx = y, dz/dy = x."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return g * y, g * x


class Square(Function):
    """y = x^2 with a saved input, for the freed-buffer and version tests."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * g
