"""``SGD``: stochastic gradient descent with optional momentum, dampening, Nesterov momentum,
weight decay and maximisation, as ``torch.optim.SGD``."""

from __future__ import annotations

from typing import Any, Callable

from .._C import Tensor
from ..autograd.grad_mode import no_grad
from . import _kernels
from .optimizer import Optimizer, ParamsT

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent, with PyTorch's update rule and defaults.

    For each parameter ``p`` with a gradient ``g`` (negated when ``maximize``)::

        g = g + weight_decay * p
        b = g                                    on the first step, then
        b = momentum * b + (1 - dampening) * g   (kept in state[p]["momentum_buffer"])
        g = g + momentum * b  if nesterov  else  b      (only when momentum != 0)
        p = p - lr * g

    Parameters whose ``grad`` is ``None`` are left alone. The update of each param group runs
    as one native call. ``foreach``, ``fused`` and ``differentiable`` are accepted for
    PyTorch's signature, but only their defaults: asking for ``True`` raises ``RuntimeError``.

    >>> import autodiff
    >>> w = autodiff.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = autodiff.optim.SGD([w], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     opt.zero_grad()
    ...     (w * w).sum().backward()  # grad = 2 w
    ...     opt.step()
    >>> w  # w1 = 0.8 w; buffer = 2 w1 + 0.9 * 2 w; w2 = w1 - 0.1 * buffer
    tensor([ 0.4600, -0.9200], requires_grad=True)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float | Tensor = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
            "foreach": foreach,
            "differentiable": differentiable,
            "fused": fused,
        }
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)
        self._check_supported(defaults)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("nesterov", False)
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)
            group.setdefault("differentiable", False)
            group.setdefault("fused", False)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; when given, ``closure`` (which
        recomputes the loss) runs first under grad mode and its result is returned.

        >>> import autodiff
        >>> w = autodiff.tensor([3.0], requires_grad=True)
        >>> opt = autodiff.optim.SGD([w], lr=0.25)
        >>> def closure():
        ...     opt.zero_grad()
        ...     loss = (w * w).sum()
        ...     loss.backward()
        ...     return loss
        >>> opt.step(closure)  # the loss before the update; then w = 3 - 0.25 * 6
        tensor(9., grad_fn=<SumBackward0>)
        >>> w
        tensor([1.5000], requires_grad=True)
        """
        loss = self._evaluate_closure(closure)
        with no_grad():
            for group in self.param_groups:
                self._check_supported(group)
                params, grads = self._params_and_grads(group)
                if not params:
                    continue
                momentum = group["momentum"]
                # Without momentum PyTorch keeps no per-parameter state at all.
                buffers = [
                    self.state[p].get("momentum_buffer") if momentum != 0 else None for p in params
                ]
                new_buffers = _kernels.sgd_step(
                    params,
                    grads,
                    buffers,
                    lr=float(group["lr"]),
                    weight_decay=group["weight_decay"],
                    momentum=momentum,
                    dampening=group["dampening"],
                    nesterov=group["nesterov"],
                    maximize=group["maximize"],
                )
                if momentum != 0:
                    for p, buffer in zip(params, new_buffers):
                        self.state[p]["momentum_buffer"] = buffer
        return loss
