"""Loss layers: ``MSELoss``, ``L1Loss``, ``BCELoss``, ``BCEWithLogitsLoss``, ``NLLLoss``,
``CrossEntropyLoss``. Each takes ``reduction`` (``'mean'``, ``'sum'`` or ``'none'``) and
PyTorch's deprecated ``size_average``/``reduce``; class weights are registered as buffers.

>>> import autodiff, autodiff.nn as nn
>>> nn.MSELoss()(autodiff.tensor([1.0, 2.0]), autodiff.tensor([1.0, 4.0]))
tensor(2.)
"""

from __future__ import annotations

from ... import _C
from .. import functional as F
from .._reduction import legacy_reduction
from .module import Module

__all__ = ["MSELoss", "L1Loss", "BCELoss", "BCEWithLogitsLoss", "NLLLoss", "CrossEntropyLoss"]


class _Loss(Module):
    reduction: str

    def __init__(
        self,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        if size_average is not None or reduce is not None:
            self.reduction = legacy_reduction(size_average, reduce)
        else:
            self.reduction = reduction


class _WeightedLoss(_Loss):
    weight: _C.Tensor | None

    def __init__(
        self,
        weight: _C.Tensor | None = None,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class MSELoss(_Loss):
    """Squared error ``(input - target) ** 2``, reduced.

    >>> import autodiff, autodiff.nn as nn
    >>> nn.MSELoss(reduction="none")(autodiff.tensor([1.0, 2.0]), autodiff.tensor([0.0, 0.0]))
    tensor([1., 4.])
    """

    def forward(self, input: _C.Tensor, target: _C.Tensor) -> _C.Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Absolute error ``|input - target|``, reduced.

    >>> import autodiff, autodiff.nn as nn
    >>> nn.L1Loss(reduction="sum")(autodiff.tensor([1.0, 2.0]), autodiff.tensor([0.0, 0.0]))
    tensor(3.)
    """

    def forward(self, input: _C.Tensor, target: _C.Tensor) -> _C.Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy of probabilities ``input`` against ``target`` in [0, 1].

    >>> import autodiff, autodiff.nn as nn
    >>> nn.BCELoss()(autodiff.tensor([0.5]), autodiff.tensor([1.0]))
    tensor(0.6931)
    """

    def forward(self, input: _C.Tensor, target: _C.Tensor) -> _C.Tensor:
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of ``sigmoid(input)``, computed stably from the logits;
    ``pos_weight`` weighs the positive term of each class.

    >>> import autodiff, autodiff.nn as nn
    >>> nn.BCEWithLogitsLoss()(autodiff.tensor([0.0]), autodiff.tensor([1.0]))
    tensor(0.6931)
    """

    weight: _C.Tensor | None
    pos_weight: _C.Tensor | None

    def __init__(
        self,
        weight: _C.Tensor | None = None,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: str = "mean",
        pos_weight: _C.Tensor | None = None,
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: _C.Tensor, target: _C.Tensor) -> _C.Tensor:
        return F.binary_cross_entropy_with_logits(
            input, target, self.weight, pos_weight=self.pos_weight, reduction=self.reduction
        )


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities ``input`` (N, C, ...) at the class
    indices ``target`` (N, ...); entries equal to ``ignore_index`` do not count.

    >>> import autodiff, autodiff.nn as nn
    >>> logp = autodiff.tensor([[-0.5, -1.0], [-2.0, -0.1]])
    >>> nn.NLLLoss()(logp, autodiff.tensor([0, 1]))
    tensor(0.3000)
    """

    def __init__(
        self,
        weight: _C.Tensor | None = None,
        size_average: bool | None = None,
        ignore_index: int = -100,
        reduce: bool | None = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: _C.Tensor, target: _C.Tensor) -> _C.Tensor:
        return F.nll_loss(
            input,
            target,
            weight=self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
        )


class CrossEntropyLoss(_WeightedLoss):
    """Cross-entropy of the logits ``input`` (N, C, ...) against class indices (N, ...) or
    class probabilities (the shape of ``input``), with optional ``label_smoothing``.

    >>> import autodiff, autodiff.nn as nn
    >>> nn.CrossEntropyLoss()(autodiff.zeros(1, 4), autodiff.tensor([2])).exp()
    tensor(4.)
    """

    def __init__(
        self,
        weight: _C.Tensor | None = None,
        size_average: bool | None = None,
        ignore_index: int = -100,
        reduce: bool | None = None,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: _C.Tensor, target: _C.Tensor) -> _C.Tensor:
        return F.cross_entropy(
            input,
            target,
            weight=self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
        )
