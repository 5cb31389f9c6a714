"""The `>>>` examples in the package's docstrings run and print what they show."""

import doctest
import importlib

import pytest

MODULES = [
    "autodiff",
    "autodiff._size",
    "autodiff._tensor_str",
    "autodiff.autograd",
    "autodiff.autograd.grad_mode",
    "autodiff.autograd.functional",
    "autodiff.autograd.gradcheck",
    "autodiff.autograd.function",
    "autodiff.autograd.anomaly_mode",
    "autodiff.autograd.stats",
    "autodiff.viz",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
