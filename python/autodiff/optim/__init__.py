"""``autodiff.optim``: PyTorch's ``torch.optim`` names over native update kernels.

``SGD``, ``Adam`` and ``AdamW`` keep PyTorch's signatures, defaults, param groups, per-parameter
``state`` and ``state_dict`` layout; each ``step()`` updates a whole param group in one call
into the engine. ``lr_scheduler`` holds ``StepLR`` and ``CosineAnnealingLR``.

>>> import autodiff
>>> w = autodiff.tensor([2.0, -1.0], requires_grad=True)
>>> opt = autodiff.optim.SGD([w], lr=0.1)
>>> for _ in range(3):
...     opt.zero_grad()
...     loss = (w * w).sum()
...     loss.backward()
...     opt.step()
>>> w  # each step multiplies w by 1 - 0.1 * 2
tensor([ 1.0240, -0.5120], requires_grad=True)
"""

from __future__ import annotations

from . import lr_scheduler
from .adam import Adam
from .adamw import AdamW
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["Adam", "AdamW", "Optimizer", "SGD", "lr_scheduler"]
