"""``Adam``: adaptive moment estimation, with optional AMSGrad, L2 or decoupled weight decay and
maximisation, as ``torch.optim.Adam``."""

from __future__ import annotations

from typing import Any, Callable

from .._C import Tensor, float32, tensor, zeros_like
from ..autograd.grad_mode import no_grad
from . import _kernels
from .optimizer import Optimizer, ParamsT

__all__ = ["Adam"]


def _check_beta(beta: float | Tensor, index: int) -> None:
    if isinstance(beta, Tensor) and beta.numel() != 1:
        raise ValueError(f"Tensor betas[{index}] must be 1-element")


class Adam(Optimizer):
    """Adam, with PyTorch's update rule and defaults.

    For each parameter ``p`` with a gradient ``g`` (negated when ``maximize``), at step ``t``::

        g = g + weight_decay * p          (p = p * (1 - lr * weight_decay) instead when
                                           decoupled_weight_decay, which is AdamW)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        v_max = max(v_max, v)             (amsgrad only; then v_max replaces v below)
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    ``state[p]`` holds ``step`` (a float32 scalar tensor), ``exp_avg`` (m), ``exp_avg_sq`` (v)
    and, with amsgrad, ``max_exp_avg_sq``. Parameters whose ``grad`` is ``None`` are left alone.
    The update of each param group runs as one native call. ``foreach``, ``fused``,
    ``capturable`` and ``differentiable`` are accepted for PyTorch's signature, but only their
    defaults: asking for ``True`` raises ``RuntimeError``.

    >>> import autodiff
    >>> w = autodiff.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = autodiff.optim.Adam([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()  # the first step moves each entry by about lr against its gradient's sign
    >>> w
    tensor([ 0.9000, -1.9000], requires_grad=True)
    >>> opt.state[w]["step"]
    tensor(1.)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float | Tensor = 1e-3,
        betas: tuple[float | Tensor, float | Tensor] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not (
            (isinstance(betas[0], float) and isinstance(betas[1], float))
            or (isinstance(betas[0], Tensor) and isinstance(betas[1], Tensor))
        ):
            raise ValueError("betas must be either both floats or both Tensors")
        _check_beta(betas[0], 0)
        _check_beta(betas[1], 1)
        defaults = {
            "lr": lr,
            "betas": (betas[0], betas[1]),
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "differentiable": differentiable,
            "fused": fused,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)
        self._check_supported(defaults)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("amsgrad", False)
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)
            group.setdefault("capturable", False)
            group.setdefault("differentiable", False)
            group.setdefault("decoupled_weight_decay", False)
            group.setdefault("fused", None)
            # Older checkpoints stored the step count as a Python number.
            for p in group["params"]:
                p_state = self.state.get(p, {})
                if p_state and not isinstance(p_state["step"], Tensor):
                    p_state["step"] = tensor(float(p_state["step"]), dtype=float32)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; when given, ``closure`` (which
        recomputes the loss) runs first under grad mode and its result is returned.

        >>> import autodiff
        >>> w = autodiff.tensor([0.5], requires_grad=True)
        >>> opt = autodiff.optim.Adam([w], lr=0.01)
        >>> def closure():
        ...     opt.zero_grad()
        ...     loss = (w * w).sum()
        ...     loss.backward()
        ...     return loss
        >>> opt.step(closure)
        tensor(0.2500, grad_fn=<SumBackward0>)
        >>> w
        tensor([0.4900], requires_grad=True)
        """
        loss = self._evaluate_closure(closure)
        with no_grad():
            for group in self.param_groups:
                self._check_supported(group)
                self._step_group(group)
        return loss

    def _step_group(self, group: dict[str, Any]) -> None:
        params, grads = self._params_and_grads(group)
        if not params:
            return
        amsgrad = group["amsgrad"]
        exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps = [], [], [], []
        for p in params:
            state = self.state[p]
            if len(state) == 0:
                state["step"] = tensor(0.0, dtype=float32)
                state["exp_avg"] = zeros_like(p)
                state["exp_avg_sq"] = zeros_like(p)
                if amsgrad:
                    state["max_exp_avg_sq"] = zeros_like(p)
            exp_avgs.append(state["exp_avg"])
            exp_avg_sqs.append(state["exp_avg_sq"])
            if amsgrad:
                max_exp_avg_sqs.append(state["max_exp_avg_sq"])
            step_t = state["step"]
            step_t.add_(1)
            steps.append(float(step_t))
        beta1, beta2 = group["betas"]
        _kernels.adam_step(
            params,
            grads,
            exp_avgs,
            exp_avg_sqs,
            max_exp_avg_sqs,
            steps,
            lr=float(group["lr"]),
            beta1=float(beta1),
            beta2=float(beta2),
            eps=group["eps"],
            weight_decay=group["weight_decay"],
            amsgrad=amsgrad,
            maximize=group["maximize"],
            decoupled_weight_decay=group["decoupled_weight_decay"],
        )
