"""``AdamW``: Adam with decoupled weight decay, as ``torch.optim.AdamW``."""

from __future__ import annotations

from typing import Any

from .._C import Tensor
from .adam import Adam
from .optimizer import ParamsT

__all__ = ["AdamW"]


class AdamW(Adam):
    """Adam whose weight decay shrinks the parameters directly (``p = p * (1 - lr *
    weight_decay)`` before the Adam update) instead of entering the gradient and the moments.
    The default ``weight_decay`` is ``1e-2``; everything else is as in ``Adam``.

    >>> import autodiff
    >>> w = autodiff.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = autodiff.optim.AdamW([w], lr=0.1, weight_decay=0.5)
    >>> w.grad = autodiff.zeros(2)  # a zero gradient: only the decay moves w
    >>> opt.step()
    >>> w  # w * (1 - 0.1 * 0.5)
    tensor([ 0.9500, -1.9000], requires_grad=True)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float | Tensor = 1e-3,
        betas: tuple[float | Tensor, float | Tensor] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            foreach=foreach,
            maximize=maximize,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=True,
        )

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        # Whatever the loaded groups say, AdamW's decay stays decoupled (as in PyTorch).
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
