"""Typed entry points to the native update kernels in ``autodiff._C``.

Each optimizer step makes one call per param group with lists of tensors; the per-element
arithmetic runs in the engine, never in Python.
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import _C
from .._C import Tensor


def sgd_step(
    params: Sequence[Tensor],
    grads: Sequence[Tensor],
    momentum_buffers: Sequence[Tensor | None],
    *,
    lr: float,
    weight_decay: float,
    momentum: float,
    dampening: float,
    nesterov: bool,
    maximize: bool,
) -> list[Tensor | None]:
    """PyTorch's single-tensor SGD, in place on ``params``; returns the momentum buffers
    (a new tensor where ``None`` came in, ``None`` throughout when ``momentum == 0``)."""
    kernel = _C._sgd_step
    result: list[Tensor | None] = kernel(
        list(params),
        list(grads),
        list(momentum_buffers),
        float(lr),
        float(weight_decay),
        float(momentum),
        float(dampening),
        bool(nesterov),
        bool(maximize),
    )
    return result


def adam_step(
    params: Sequence[Tensor],
    grads: Sequence[Tensor],
    exp_avgs: Sequence[Tensor],
    exp_avg_sqs: Sequence[Tensor],
    max_exp_avg_sqs: Sequence[Tensor],
    steps: Sequence[float],
    *,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    amsgrad: bool,
    maximize: bool,
    decoupled_weight_decay: bool,
) -> None:
    """PyTorch's single-tensor Adam (AdamW when ``decoupled_weight_decay``), in place on
    ``params`` and the moment tensors; ``steps`` are the counts after this step's increment."""
    kernel = _C._adam_step
    kernel(
        list(params),
        list(grads),
        list(exp_avgs),
        list(exp_avg_sqs),
        list(max_exp_avg_sqs),
        [float(s) for s in steps],
        float(lr),
        float(beta1),
        float(beta2),
        float(eps),
        float(weight_decay),
        bool(amsgrad),
        bool(maximize),
        bool(decoupled_weight_decay),
    )
