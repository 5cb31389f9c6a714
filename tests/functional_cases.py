"""Shared pieces of the ``autograd.functional`` tests: float64 tensors from values, arrays back,
and the scalar- and vector-valued test functions (``tests/test_functional.py`` checks them against
finite differences, ``tests/test_functional_errors.py`` against PyTorch)."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

import autodiff

F64 = autodiff.float64


def vec(*values: float, dtype: Any = F64, requires_grad: bool = False) -> Any:
    return autodiff.tensor(list(values), dtype=dtype, requires_grad=requires_grad)


def arr(t: Any) -> np.ndarray:
    return np.array(t.detach().numpy(), dtype=np.float64)


# Scalar functions with non-diagonal Hessians (compositions of polynomials, sin, exp, sigmoid...).
SCALAR_FNS: dict[str, Callable[[Any], Any]] = {
    "cubic_plus_square_of_sum": lambda x: (x**3).sum() + 0.5 * x.sum() ** 2,
    "sin_times_exp": lambda x: (x.sin() * x.exp()).sum() + x.sum().sigmoid(),
    "log_norm_tanh_cos": lambda x: ((x * x).sum() + 1).log() + x.tanh().sum() * x.cos().sum(),
    "sigmoid_exp_sqrt": lambda x: x.sigmoid().sum().exp() - (x**2 + 1).mean().sqrt(),
    "logsumexp_softmax": lambda x: (
        x.reshape(-1).logsumexp(dim=0) + (x.reshape(-1).softmax(dim=0) * x.reshape(-1)).sum()
    ),
}

# Vector-valued functions (output shapes differ from the input's).
VECTOR_FNS: dict[str, Callable[[Any], Any]] = {
    "sin_times_sum": lambda x: x.sin() * x.sum(),
    "exp_over_norm": lambda x: x.exp() / (1 + (x**2).sum()),
    "outer_tanh": lambda x: x.reshape(-1).outer(x.reshape(-1)).tanh(),
    "softmax_flat": lambda x: x.reshape(-1).softmax(dim=0),
    "sigmoid_poly_scalar": lambda x: (x.sigmoid() * x**2).sum(),
}
