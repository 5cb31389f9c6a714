"""Gradients of gradients: closed forms, a gradient-penalty training step checked against
float64 finite differences, and memory that stays flat in a create_graph loop."""

from __future__ import annotations

import gc
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiff
from autodiff import autograd


def derivatives(f, x0, order):
    """d^k f / dx^k at x0 for k = 1..order, each through create_graph=True."""
    x = autodiff.tensor(x0, dtype=autodiff.float64, requires_grad=True)
    out, values = f(x), []
    for k in range(order):
        (out,) = autograd.grad(out, x, create_graph=k < order - 1)
        values.append(out.item())
    return values


def test_cube_at_two():
    assert derivatives(lambda x: x**3, 2.0, 3) == [12.0, 12.0, 6.0]


@settings(max_examples=25, deadline=None)
@given(st.floats(-2.0, 2.0))
def test_closed_forms_of_sin_exp_sigmoid_to_third_order(x0):
    sin = derivatives(autodiff.Tensor.sin, x0, 4)
    assert sin == pytest.approx(
        [math.cos(x0), -math.sin(x0), -math.cos(x0), math.sin(x0)], abs=1e-12
    )
    assert derivatives(autodiff.Tensor.exp, x0, 3) == pytest.approx([math.exp(x0)] * 3)
    s = 1 / (1 + math.exp(-x0))
    expected = [s * (1 - s), s * (1 - s) * (1 - 2 * s), s * (1 - s) * (1 - 6 * s + 6 * s * s)]
    assert derivatives(autodiff.Tensor.sigmoid, x0, 3) == pytest.approx(expected, abs=1e-12)


def penalised_loss(w, x, y, lam):
    """Squared error of D(x) = tanh(x @ w) plus lam * (|dD/dx|^2 - 1)^2 per sample, the
    gradient penalty of WGAN-GP style training."""
    x = x.detach().requires_grad_()
    d = (x @ w).tanh()
    (dx,) = autograd.grad(d.sum(), x, create_graph=True)
    penalty = ((dx * dx).sum(1) - 1) ** 2
    return ((d - y) ** 2).mean() + lam * penalty.mean()


def test_gradient_penalty_step_matches_finite_differences():
    rng = np.random.default_rng(0)
    x = autodiff.tensor(rng.standard_normal((5, 3)))
    y = autodiff.tensor(rng.uniform(-0.5, 0.5, 5))
    w0 = rng.standard_normal(3) * 0.5
    w = autodiff.tensor(w0, requires_grad=True)
    penalised_loss(w, x, y, 0.3).backward()

    def loss_at(values):
        return penalised_loss(autodiff.tensor(values, requires_grad=True), x, y, 0.3).item()

    eps, numeric = 1e-6, []
    for i in range(3):
        step = np.zeros(3)
        step[i] = eps
        numeric.append((loss_at(w0 + step) - loss_at(w0 - step)) / (2 * eps))
    np.testing.assert_allclose(w.grad.tolist(), numeric, rtol=1e-6, atol=1e-8)


def test_training_with_a_gradient_penalty_keeps_the_live_node_count_flat():
    rng = np.random.default_rng(1)
    x = autodiff.tensor(rng.standard_normal((8, 3)))
    y = autodiff.tensor(rng.uniform(-0.5, 0.5, 8))
    w = autodiff.tensor(rng.standard_normal(3), requires_grad=True)
    gc.collect()
    start = autodiff._C._live_nodes()
    losses = []
    for _ in range(30):
        loss = penalised_loss(w, x, y, 0.1)
        loss.backward()
        with autodiff.no_grad():
            w -= 0.1 * w.grad
        w.grad = None
        losses.append(loss.item())
        del loss
        # Between steps only w's accumulator may remain from the last graph.
        assert autodiff._C._live_nodes() <= start + 1
    assert losses[-1] < losses[0]
    gc.collect()
    assert autodiff._C._live_nodes() <= start + 1


def test_create_graph_loop_with_grad_reset_frees_everything():
    gc.collect()
    start = autodiff._C._live_nodes()
    x = autodiff.tensor([1.0, 2.0], requires_grad=True)
    for _ in range(50):
        y = (x**3).sum()
        (g,) = autograd.grad(y, x, create_graph=True)
        (g * g).sum().backward()
        x.grad = None
    del x, y, g
    assert autodiff._C._live_nodes() == start


def test_error_mid_backward_leaves_nothing_alive():
    gc.collect()
    start = autodiff._C._live_nodes()
    x = autodiff.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    z = (y * 2).sum()
    y.add_(1)  # the saved output is now stale: backward fails half way
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.backward()
    del x, y, z
    assert autodiff._C._live_nodes() == start
