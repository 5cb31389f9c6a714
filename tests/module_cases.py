"""Shared pieces of the ``nn.Module`` tests: PyTorch as an optional oracle, its messages read
with our type names, and a module class with every kind of member, built for either library
(``tests/test_nn_module.py``, ``tests/test_nn_state_dict.py``)."""

from __future__ import annotations

import re
from typing import Any, Callable

import pytest

import autodiff.nn as nn


def torch_or_skip() -> Any:
    return pytest.importorskip("torch")


def as_ours(text: str) -> str:
    """torch's text with its tensor type names as ours ('torch.FloatTensor' -> 'autodiff....')."""
    return re.sub(r"'torch\.(\w+Tensor)'", r"'autodiff.\1'", text)


def raised(fn: Callable[[], Any]) -> BaseException:
    with pytest.raises(Exception) as info:
        fn()
    return info.value


def message(exc: BaseException) -> str:
    # str() of a KeyError is the repr of its message; the message itself is args[0].
    return exc.args[0] if isinstance(exc, KeyError) else str(exc)


class Affine:
    """A module class with a parameter, a buffer, a non-persistent buffer and a child,
    built for either library."""

    @staticmethod
    def build(lib: Any) -> Any:
        class Affine(lib.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.scale = lib.nn.Parameter(lib.ones(2))
                self.register_buffer("shift", lib.zeros(2))
                self.register_buffer("cache", lib.zeros(1), persistent=False)
                self.inner = lib.nn.Linear(2, 2)

            def forward(self, x: Any) -> Any:
                return self.inner(x * self.scale + self.shift)

        return Affine()


def shared_tree() -> tuple[nn.Module, nn.Linear]:
    """A tree holding one Linear in two places: (the tree, the shared Linear)."""
    shared = nn.Linear(2, 2)
    net = nn.Sequential(shared, nn.ReLU(), nn.Sequential(shared, nn.Linear(2, 1)))
    return net, shared
