"""Checks shared by tests/test_indexing.py and tests/test_join.py.

Gradients against float64 central differences (``gradcheck_util``), for one output, for an op
returning several pieces, and to second order; and the bodies of the table-driven tests of
``grad_fn`` names and error messages, run on autodiff or, for the oracle tests, on PyTorch.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from gradcheck_util import (
    EPS,
    TOL64,
    check_gradient,
    first_order_grads,
    scalarised,
    to_numpy,
    to_tensor,
)

import autodiff as torch

GradFnCase = tuple[str, Callable[[Any, Any], Any], str]
ErrorCase = tuple[str, type, str, Callable[[Any], Any]]


def assert_gradients(fn: Callable[..., Any], arrays: list[np.ndarray], rng: np.random.Generator):
    """The gradient of <c, fn(*arrays)> for every input against float64 finite differences."""
    out = fn(*(to_tensor(a, torch.float64) for a in arrays))
    c = rng.standard_normal(tuple(out.shape))
    grads = first_order_grads(fn, arrays, {}, c)
    phi = scalarised(fn, c, {})
    for k, grad in enumerate(grads):
        assert grad.shape == arrays[k].shape
        check_gradient(phi, arrays, k, grad, TOL64.grad, rng, f"input {k}")


def assert_pieces_gradient(
    fn: Callable[[Any], Any], a: np.ndarray, rng: np.random.Generator
) -> list[np.ndarray]:
    """For an op returning several tensors: autograd.grad with one cotangent per piece, against
    finite differences of sum_i <c_i, piece_i>. Returns the pieces as arrays."""
    x = to_tensor(a, torch.float64, requires_grad=True)
    pieces = fn(x)
    cs = [rng.standard_normal(tuple(p.shape)) for p in pieces]
    (grad,) = torch.autograd.grad(
        list(pieces), x, grad_outputs=[to_tensor(c, torch.float64) for c in cs]
    )

    def phi(arrays: list[np.ndarray]) -> float:
        outs = fn(to_tensor(arrays[0], torch.float64))
        return float(sum(np.sum(to_numpy(p) * c) for p, c in zip(outs, cs)))

    check_gradient(phi, [a], 0, to_numpy(grad), TOL64.grad, rng, "pieces")
    return [to_numpy(p) for p in pieces]


def assert_second_derivative(fn: Callable[[Any], Any], a: np.ndarray, rng: np.random.Generator):
    """d/dx <grad phi(x), w> for phi(x) = <c, fn(x)**3>, by backward through a gradient made
    with create_graph=True, against central differences of the first-order gradient."""
    out_shape = tuple(fn(to_tensor(a, torch.float64)).shape)
    c = to_tensor(rng.standard_normal(out_shape), torch.float64)
    w = rng.standard_normal(a.shape)
    t = rng.standard_normal(a.shape)

    def grad_at(array: np.ndarray, create_graph: bool) -> tuple[Any, Any]:
        x = to_tensor(array, torch.float64, requires_grad=True)
        (g,) = torch.autograd.grad((fn(x) ** 3 * c).sum(), x, create_graph=create_graph)
        return x, g

    x, g = grad_at(a, create_graph=True)
    assert g.grad_fn is not None, "the gradient has no graph of its own"
    (hessian_w,) = torch.autograd.grad((g * to_tensor(w, torch.float64)).sum(), x)
    analytic = float(np.sum(to_numpy(hessian_w) * t))

    def gw(array: np.ndarray) -> float:
        return float(np.sum(to_numpy(grad_at(array, create_graph=False)[1]) * w))

    numeric = (gw(a + EPS * t) - gw(a - EPS * t)) / (2 * EPS)
    assert abs(analytic - numeric) <= 1e-6 * (1 + abs(numeric)), (analytic, numeric)


def grad_fn_input(lib: Any) -> Any:
    """The 3x4 leaf every ``grad_fn`` case runs on: both signs, so masks select something."""
    return lib.tensor([[1.0, -2.0, 3.0, -4.0]] * 3, requires_grad=True)


def check_grad_fn_name(op: Callable[[Any, Any], Any], grad_fn: str) -> None:
    y = op(torch, grad_fn_input(torch))
    assert y.requires_grad and not y.is_leaf
    assert y.grad_fn is not None and y.grad_fn.name() == grad_fn


def check_grad_fn_names_match_torch(cases: list[GradFnCase]) -> None:
    real = pytest.importorskip("torch")
    for name, op, grad_fn in cases:
        assert op(real, grad_fn_input(real)).grad_fn.name() == grad_fn, name


def check_no_grad_fn(op: Callable[[Any, Any], Any]) -> None:
    """No graph when the input does not require grad, nor under ``no_grad``."""
    y = op(torch, torch.ones(3, 4))
    assert y.grad_fn is None and not y.requires_grad
    with torch.no_grad():
        z = op(torch, torch.ones(3, 4, requires_grad=True))
    assert z.grad_fn is None and not z.requires_grad


def check_error(exc: type, message: str, call: Callable[[Any], Any]) -> None:
    with pytest.raises(exc) as info:
        call(torch)
    assert type(info.value) is exc
    assert str(info.value) == message


def check_errors_match_torch(cases: list[ErrorCase]) -> None:
    """Every call of the table raises the same with torch in autodiff's place."""
    real = pytest.importorskip("torch")
    for name, exc, message, call in cases:
        with pytest.raises(exc) as info:
            call(real)
        assert str(info.value) == message, name
