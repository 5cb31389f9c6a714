"""Utilities under PyTorch's ``torch.utils`` names: ``autodiff.utils.data`` (datasets, samplers
and ``DataLoader``).

>>> from autodiff.utils.data import DataLoader, TensorDataset
>>> import autodiff
>>> loader = DataLoader(TensorDataset(autodiff.arange(4)), batch_size=2)
>>> [batch for (batch,) in loader]
[tensor([0, 1]), tensor([2, 3])]
"""

from __future__ import annotations

from . import data

__all__ = ["data"]
