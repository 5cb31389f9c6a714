"""The loss functions of ``autodiff.nn.functional``.

``mse_loss``, ``binary_cross_entropy``, ``binary_cross_entropy_with_logits`` and
``nll_loss`` are single native ops with their own backward (``MseLossBackward0``, ...);
this layer adds PyTorch's Python-side checks, broadcasting and the deprecated
``size_average``/``reduce`` flags. ``l1_loss``, the weighted forms of ``mse_loss`` and
``l1_loss``, and ``cross_entropy`` are composed from other ops, as PyTorch composes them.

>>> import autodiff
>>> import autodiff.nn.functional as F
>>> F.l1_loss(autodiff.tensor([1.0, -1.0]), autodiff.zeros(2))
tensor(1.)
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from .. import _C
from ._reduction import check_reduction, resolve_reduction, size_text

__all__ = [
    "mse_loss",
    "l1_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "nll_loss",
    "cross_entropy",
]

Tensor = _C.Tensor

_SCALAR_TYPE_NAMES = {"float32": "Float", "float64": "Double", "int64": "Long", "bool": "Bool"}


def _scalar_type(tensor: Tensor) -> str:
    name = str(tensor.dtype).rsplit(".", 1)[-1]
    return _SCALAR_TYPE_NAMES.get(name, name)


def _broadcast_shape(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...]:
    ndim = max(len(a), len(b))
    a = (1,) * (ndim - len(a)) + tuple(a)
    b = (1,) * (ndim - len(b)) + tuple(b)
    shape = []
    for dim, (x, y) in enumerate(zip(a, b)):
        if x != y and x != 1 and y != 1:
            raise RuntimeError(
                f"The size of tensor a ({x}) must match the size of tensor b ({y}) at "
                f"non-singleton dimension {dim}"
            )
        shape.append(y if x == 1 else x)
    return tuple(shape)


def _warn_size_mismatch(input: Tensor, target: Tensor) -> None:
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(
            f"Using a target size ({size_text(target.shape)}) that is different to the input "
            f"size ({size_text(input.shape)}). This will likely lead to incorrect results due "
            "to broadcasting. Please ensure they have the same size.",
            stacklevel=3,
        )


def _broadcast_pair(input: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    if tuple(input.shape) == tuple(target.shape):
        return input, target
    shape = _broadcast_shape(input.shape, target.shape)
    return input.expand(shape), target.expand(shape)


def _weighted_elementwise(errors: Tensor, weight: Tensor, input: Tensor, reduction: str) -> Tensor:
    """The ``weight=`` form of mse_loss and l1_loss: 'mean' divides by the sum of weights."""
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError("Weights and input must have the same size.")
    weighted = errors * weight
    if reduction == "none":
        return weighted
    if reduction == "sum":
        return weighted.sum()
    if reduction == "mean":
        return weighted.sum() / weight.sum()
    raise ValueError(f"Invalid reduction mode: {reduction}. Expected one of 'none', 'mean', 'sum'.")


def mse_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """``(input - target) ** 2``, reduced by ``reduction`` (``'mean'``, ``'sum'``, ``'none'``);
    with ``weight``, each error is weighted and ``'mean'`` divides by ``weight.sum()``.

    >>> import autodiff
    >>> x = autodiff.tensor([1.0, 2.0], requires_grad=True)
    >>> mse_loss(x, autodiff.tensor([0.0, 0.0]))
    tensor(2.5000, grad_fn=<MseLossBackward0>)
    """
    _warn_size_mismatch(input, target)
    reduction = resolve_reduction(size_average, reduce, reduction)
    input, target = _broadcast_pair(input, target)
    if weight is not None:
        return _weighted_elementwise((input - target) ** 2, weight, input, reduction)
    return _C.mse_loss(input, target, reduction)


def l1_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """``|input - target|``, reduced; ``weight`` as for :func:`mse_loss`.

    >>> import autodiff
    >>> l1_loss(autodiff.tensor([1.0, -3.0]), autodiff.zeros(2), reduction="none")
    tensor([1., 3.])
    """
    _warn_size_mismatch(input, target)
    reduction = resolve_reduction(size_average, reduce, reduction)
    input, target = _broadcast_pair(input, target)
    if weight is not None:
        return _weighted_elementwise((input - target).abs(), weight, input, reduction)
    errors = (input - target).abs()
    if check_reduction(reduction) == "mean":
        return errors.mean()
    return errors.sum() if reduction == "sum" else errors


def binary_cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """``-w * (target * log(input) + (1 - target) * log(1 - input))`` for probabilities
    ``input``, each log clamped at -100; ``weight`` broadcasts to the target's shape.

    >>> import autodiff
    >>> binary_cross_entropy(autodiff.tensor([0.5, 0.5]), autodiff.tensor([0.0, 1.0]))
    tensor(0.6931)
    """
    reduction = check_reduction(resolve_reduction(size_average, reduce, reduction))
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"Using a target size ({size_text(target.shape)}) that is different to the input "
            f"size ({size_text(input.shape)}) is deprecated. Please ensure they have the same "
            "size."
        )
    if weight is not None and tuple(weight.shape) != tuple(target.shape):
        weight = weight.expand(_broadcast_shape(target.shape, weight.shape))
    return _C.binary_cross_entropy(input, target, weight, reduction)


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """Binary cross-entropy of ``sigmoid(input)``, computed from the logits without
    overflow; ``pos_weight`` (broadcast along the last dim) weighs the positive term.

    >>> import autodiff
    >>> binary_cross_entropy_with_logits(autodiff.tensor([0.0]), autodiff.tensor([1.0]))
    tensor(0.6931)
    """
    reduction = check_reduction(resolve_reduction(size_average, reduce, reduction))
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"Target size ({size_text(target.shape)}) must be the same as input size "
            f"({size_text(input.shape)})"
        )
    return _C.binary_cross_entropy_with_logits(input, target, weight, pos_weight, reduction)


def _check_spatial_target(input: Tensor, target: Tensor) -> None:
    """PyTorch's checks of a (N, d1, ...) target against a (N, C, d1, ...) input."""
    # A 0-d target has batch size 0 in PyTorch's message.
    target_batch = target.shape[0] if target.dim() > 0 else 0
    if input.shape[0] != target_batch:
        raise ValueError(
            f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
            f"({target_batch})."
        )
    expected = [input.shape[0], *input.shape[2:]]
    if input.dim() == 4:
        # The 2-d spatial case has its own kernel in PyTorch, with its own messages.
        if target.dim() != 3:
            raise RuntimeError(
                "only batches of spatial targets supported (3D tensors) but got targets of "
                f"dimension: {target.dim()}"
            )
        if list(target.shape) != expected:
            raise RuntimeError(
                f"size mismatch (got input: {list(input.shape)} , target: {list(target.shape)}"
            )
    elif list(target.shape) != expected:
        raise RuntimeError(f"Expected target size {expected}, got {list(target.shape)}")


def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """``-weight[t] * input[n, t]`` for ``t = target[n]``: the negative log-likelihood of
    log-probabilities ``input`` (C), (N, C) or (N, C, d1, ...). 'mean' divides by the sum of
    the weights used; targets equal to ``ignore_index`` count for nothing.

    >>> import autodiff
    >>> logp = autodiff.tensor([[-1.0, -2.0], [-3.0, -4.0]], requires_grad=True)
    >>> nll_loss(logp, autodiff.tensor([1, 0]))
    tensor(2.5000, grad_fn=<NllLossBackward0>)
    """
    reduction = check_reduction(resolve_reduction(size_average, reduce, reduction))
    if input.dim() < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {input.dim()})")
    if input.dim() <= 2:
        return _C.nll_loss(input, target, weight, ignore_index, reduction)
    _check_spatial_target(input, target)
    # The class dim goes last, so each (n, d1, ...) position becomes one row of a 2-d problem.
    classes = input.shape[1]
    order = [0, *range(2, input.dim()), 1]
    rows = input.permute(order).reshape(-1, classes)
    loss = _C.nll_loss(rows, target.reshape(-1), weight, ignore_index, reduction)
    if reduction == "none":
        return loss.reshape(target.shape)
    return loss


def _check_label_smoothing(label_smoothing: float) -> None:
    # Only the upper bound is checked, as in PyTorch: a negative value means no smoothing.
    if label_smoothing > 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing:g}")


def _class_weight_view(weight: Tensor, ndim: int, class_dim: int) -> Tensor:
    """``weight`` (C,) shaped to broadcast along the class dim of an ``ndim``-d input."""
    shape = [1] * ndim
    shape[class_dim] = weight.shape[0]
    return weight.reshape(shape)


def _cross_entropy_probabilities(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None,
    ignore_index: int,
    reduction: str,
    label_smoothing: float,
    class_dim: int,
) -> Tensor:
    if not target.is_floating_point():
        raise RuntimeError(
            "Expected floating point type for target with class probabilities, got "
            + _scalar_type(target)
        )
    if ignore_index >= 0:
        raise RuntimeError("ignore_index is not supported for floating point target")
    classes = input.shape[class_dim]
    if weight is not None and weight.numel() != classes:
        raise RuntimeError(
            f"cross_entropy: weight tensor should be defined either for all {classes} "
            f"classes or no classes but got weight tensor of shape: {list(weight.shape)}"
        )
    logp = input.log_softmax(class_dim)
    if label_smoothing > 0.0:
        target = target * (1.0 - label_smoothing) + label_smoothing / classes
    terms = logp * target
    if weight is not None:
        terms = terms * _class_weight_view(weight, logp.dim(), class_dim)
    if reduction == "none":
        return -terms.sum(class_dim)
    if reduction == "sum":
        return -terms.sum()
    # The mean is over the positions (batch and spatial), not over the weights.
    return -terms.sum() / (logp.numel() / classes)


def _cross_entropy_smoothed(
    logp: Tensor,
    target: Tensor,
    weight: Tensor | None,
    ignore_index: int,
    reduction: str,
    label_smoothing: float,
    class_dim: int,
) -> Tensor:
    """(1 - eps) * nll + eps * (the loss against the uniform distribution over classes)."""
    classes = logp.shape[class_dim]
    nll = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if weight is not None:
        uniform = -(logp * _class_weight_view(weight, logp.dim(), class_dim)).sum(class_dim)
    else:
        uniform = -logp.sum(class_dim)
    uniform = uniform.masked_fill(target == ignore_index, 0.0)
    if reduction == "sum":
        uniform = uniform.sum()
    elif reduction == "mean":
        # Normalised as nll_loss's mean is: by the weights of the counted targets.
        kept = target != ignore_index
        if weight is not None:
            denominator = weight.index_select(0, target[kept].reshape(-1)).sum()
        else:
            denominator = kept.sum()
        uniform = uniform.sum() / denominator
    return nll * (1.0 - label_smoothing) + uniform * (label_smoothing / classes)


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy of logits ``input`` ((C), (N, C) or (N, C, d1, ...)): ``log_softmax``
    over the class dim, then ``nll_loss`` for int64 class indices, or
    ``-sum(target * log_softmax)`` for class probabilities (a target shaped like ``input``).
    ``label_smoothing`` mixes the target with the uniform distribution.

    >>> import autodiff
    >>> logits = autodiff.tensor([[2.0, 0.0], [0.0, 2.0]])
    >>> cross_entropy(logits, autodiff.tensor([0, 1]))
    tensor(0.1269)
    >>> cross_entropy(logits, autodiff.tensor([[1.0, 0.0], [0.0, 1.0]]))
    tensor(0.1269)
    """
    reduction = check_reduction(resolve_reduction(size_average, reduce, reduction))
    _check_label_smoothing(label_smoothing)
    class_dim = 0 if input.dim() == 1 else 1
    if tuple(input.shape) == tuple(target.shape):
        return _cross_entropy_probabilities(
            input, target, weight, ignore_index, reduction, label_smoothing, class_dim
        )
    logp = input.log_softmax(class_dim)
    if label_smoothing > 0.0:
        return _cross_entropy_smoothed(
            logp, target, weight, ignore_index, reduction, label_smoothing, class_dim
        )
    return nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
