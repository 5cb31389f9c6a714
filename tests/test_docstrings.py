"""The `>>>` examples in the package's docstrings run and print what they show."""

import doctest
import importlib

import pytest

MODULES = [
    "autodiff",
    "autodiff._size",
    "autodiff._compare",
    "autodiff._out",
    "autodiff._tensor_str",
    "autodiff.autograd",
    "autodiff.autograd.grad_mode",
    "autodiff.autograd.functional",
    "autodiff.autograd.gradcheck",
    "autodiff.autograd.function",
    "autodiff.autograd.anomaly_mode",
    "autodiff.autograd.stats",
    "autodiff.viz",
    "autodiff.optim",
    "autodiff.optim.optimizer",
    "autodiff.optim.sgd",
    "autodiff.optim.adam",
    "autodiff.optim.adamw",
    "autodiff.optim.lr_scheduler",
    "autodiff.serialization",
    "autodiff.nn",
    "autodiff.nn.parameter",
    "autodiff.nn.functional",
    "autodiff.nn._losses",
    "autodiff.nn._reduction",
    "autodiff.nn.init",
    "autodiff.nn.modules",
    "autodiff.nn.modules.module",
    "autodiff.nn.modules._state",
    "autodiff.nn.modules._hooks",
    "autodiff.nn.modules.container",
    "autodiff.nn.modules.linear",
    "autodiff.nn.modules.flatten",
    "autodiff.nn.modules.activation",
    "autodiff.nn.modules.dropout",
    "autodiff.nn.modules.loss",
    "autodiff.utils",
    "autodiff.utils.data",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
