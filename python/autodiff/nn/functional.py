"""``autodiff.nn.functional``: the layers and losses as functions (``import ... as F``).

>>> import autodiff
>>> import autodiff.nn.functional as F
>>> F.relu(autodiff.tensor([-1.0, 1.0]))
tensor([0., 1.])
>>> F.mse_loss(autodiff.tensor([1.0]), autodiff.tensor([3.0]))
tensor(4.)
"""

from __future__ import annotations

import warnings
from typing import Any

from .. import _C
from ._losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    l1_loss,
    mse_loss,
    nll_loss,
)

__all__ = [
    "linear",
    "relu",
    "leaky_relu",
    "tanh",
    "sigmoid",
    "softmax",
    "log_softmax",
    "dropout",
    "flatten",
    "one_hot",
    "mse_loss",
    "l1_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "nll_loss",
    "cross_entropy",
]

Tensor = _C.Tensor


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias``: the affine map of :class:`~autodiff.nn.Linear`.

    >>> import autodiff
    >>> w = autodiff.tensor([[1.0, 1.0], [0.0, 2.0]])
    >>> linear(autodiff.tensor([[1.0, 2.0]]), w, autodiff.tensor([0.5, 0.5]))
    tensor([[3.5000, 4.5000]])
    """
    if input.dim() == 2 and bias is not None:
        # One AddmmBackward0 node, the bias added inside the product's pass, as in PyTorch.
        return _C.addmm(bias, input, weight.t())
    output = input.matmul(weight.t())
    if bias is not None:
        output = output + bias
    return output


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(input, 0)``; with ``inplace=True`` the result is written into ``input``.

    >>> import autodiff
    >>> relu(autodiff.tensor([-2.0, 0.5]))
    tensor([0.0000, 0.5000])
    """
    if inplace:
        return input.copy_(input.relu())
    return input.relu()


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``input`` where positive, else ``negative_slope * input``.

    The gradient is 1 where ``input > 0`` and ``negative_slope`` elsewhere (0 included), as
    in PyTorch.

    >>> import autodiff
    >>> leaky_relu(autodiff.tensor([-1.0, 2.0]), 0.2)
    tensor([-0.2000,  2.0000])
    """
    # One multiplication by a per-element factor: its gradient is the factor itself.
    factor = _C.where(input > 0, _C.ones_like(input), _C.full_like(input, negative_slope))
    if inplace:
        return input.mul_(factor)
    return input * factor


def tanh(input: Tensor) -> Tensor:
    """``tanh`` elementwise.

    >>> import autodiff
    >>> tanh(autodiff.tensor([0.0]))
    tensor([0.])
    """
    return input.tanh()


def sigmoid(input: Tensor) -> Tensor:
    """``1 / (1 + exp(-input))`` elementwise.

    >>> import autodiff
    >>> sigmoid(autodiff.tensor([0.0]))
    tensor([0.5000])
    """
    return input.sigmoid()


def _implicit_dim(name: str, ndim: int, stacklevel: int) -> int:
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. "
        "Change the call to include dim=X as an argument.",
        stacklevel=stacklevel,
    )
    return 0 if ndim in (0, 1, 3) else 1


def softmax(
    input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None
) -> Tensor:
    """``exp(input)`` normalised to sum to 1 along ``dim``, computed in ``dtype`` if given.

    Without ``dim``, PyTorch's deprecated choice (0 for 0-, 1- and 3-d input, else 1) with
    its UserWarning.

    >>> import autodiff
    >>> softmax(autodiff.tensor([[0.0, 0.0]]), dim=1)
    tensor([[0.5000, 0.5000]])
    """
    if dim is None:
        dim = _implicit_dim("softmax", input.dim(), _stacklevel)
    return input.softmax(dim, dtype=dtype)


def log_softmax(
    input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None
) -> Tensor:
    """``log(softmax(input, dim))``, computed stably.

    >>> import autodiff
    >>> log_softmax(autodiff.tensor([0.0, 0.0]), dim=0).exp()
    tensor([0.5000, 0.5000])
    """
    if dim is None:
        dim = _implicit_dim("log_softmax", input.dim(), _stacklevel)
    return input.log_softmax(dim, dtype=dtype)


def _check_dropout_probability(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zeroes each element with probability ``p`` (a mask from ``autodiff.rand_like``) and
    scales the rest by ``1 / (1 - p)``. With ``training=False`` or ``p=0`` it returns
    ``input`` itself; ``p=1`` gives zeros.

    The gradient is the same mask and scale (``MulBackward0``, where PyTorch records
    ``NativeDropoutBackward0``).

    >>> import autodiff
    >>> x = autodiff.ones(4)
    >>> dropout(x, p=0.5, training=False) is x
    True
    >>> set(dropout(autodiff.ones(100), p=0.5).tolist()) <= {0.0, 2.0}
    True
    """
    _check_dropout_probability(p)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        scale = _C.zeros_like(input)
    else:
        # P(u >= p) = 1 - p for u uniform on [0, 1).
        scale = (_C.rand_like(input) >= p).to(input.dtype) * (1.0 / (1.0 - p))
    if inplace:
        return input.mul_(scale)
    return input * scale


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """``input.flatten(start_dim, end_dim)``.

    >>> import autodiff
    >>> flatten(autodiff.zeros(2, 3)).shape
    autodiff.Size([6])
    """
    return input.flatten(start_dim, end_dim)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot rows: ``out[..., c] = 1`` where ``tensor[...] == c``; the shape gains a
    last dim of ``num_classes`` (by default ``tensor.max() + 1``).

    >>> import autodiff
    >>> one_hot(autodiff.tensor([0, 2]), 3)
    tensor([[1, 0, 0],
            [0, 0, 1]])
    """
    if tensor.dtype != _C.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if tensor.numel() == 0:
        if num_classes == -1:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
    else:
        if int(tensor.min()) < 0:
            raise RuntimeError("Class values must be non-negative.")
        if num_classes == -1:
            num_classes = int(tensor.max()) + 1
        elif int(tensor.max()) >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    return (tensor.unsqueeze(-1) == _C.arange(num_classes)).long()
