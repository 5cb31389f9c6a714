"""``autodiff.nn``: PyTorch's ``torch.nn`` names — modules, parameters, layers, losses,
``functional`` and ``init``.

>>> import autodiff
>>> import autodiff.nn as nn
>>> _ = autodiff.manual_seed(0)
>>> model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
>>> x, y = autodiff.randn(8, 3), autodiff.tensor([0, 1, 1, 0, 1, 0, 0, 1])
>>> loss = nn.CrossEntropyLoss()(model(x), y)
>>> loss.backward()
>>> [tuple(p.grad.shape) for p in model.parameters()]
[(4, 3), (4,), (2, 4), (2,)]
"""

from __future__ import annotations

from . import functional, init, modules, parameter
from .modules import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    Dropout,
    Flatten,
    Identity,
    L1Loss,
    LeakyReLU,
    Linear,
    LogSoftmax,
    Module,
    ModuleDict,
    ModuleList,
    MSELoss,
    NLLLoss,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
    Unflatten,
)
from .parameter import Parameter

__all__ = [
    "functional",
    "init",
    "modules",
    "parameter",
    "Parameter",
    "Module",
    "Sequential",
    "ModuleList",
    "ModuleDict",
    "Identity",
    "Linear",
    "Flatten",
    "Unflatten",
    "ReLU",
    "LeakyReLU",
    "Tanh",
    "Sigmoid",
    "Softmax",
    "LogSoftmax",
    "Dropout",
    "MSELoss",
    "L1Loss",
    "BCELoss",
    "BCEWithLogitsLoss",
    "NLLLoss",
    "CrossEntropyLoss",
]
