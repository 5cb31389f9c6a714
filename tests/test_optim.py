"""``autodiff.optim`` update rules: SGD, Adam and AdamW trajectories against NumPy references.

The problem is least squares with two parameters, ``L(W, c) = 0.5 * ||X W + c - Y||^2``, whose
gradients are ``dL/dW = X^T R`` and ``dL/dc = sum_rows(R)`` with ``R = X W + c - Y``. The library
computes them by backward; the references below take them from these formulas and apply
PyTorch's documented update rules written out in NumPy, so the two share no code. Every one of
20 steps is compared: float64 to 1e-10, float32 to the float32 rounding accumulated over the run.
Where torch is installed the same runs go through ``torch.optim`` as well.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autodiff as torch
import autodiff.optim  # noqa: F401 - loads torch.optim even where the package does not yet

STEPS = 20
RNG = np.random.default_rng(7)
X = RNG.normal(size=(8, 3))
Y = RNG.normal(size=(8, 2))
W0 = RNG.normal(size=(3, 2))
C0 = RNG.normal(size=(2,))

# (rtol, atol) between a run and its float64 reference.
TOL = {"float64": (1e-10, 1e-12), "float32": (2e-4, 2e-5)}

Trajectory = list[list[np.ndarray]]


def np_grads(params: list[np.ndarray], sign: float) -> list[np.ndarray]:
    """Closed-form gradients of ``sign * L`` at ``params = [W, c]``."""
    w, c = params
    r = X @ w + c - Y
    return [sign * (X.T @ r), sign * r.sum(axis=0)]


def run(lib: Any, name: str, kwargs: dict, dtype: str, sign: float = 1.0) -> Trajectory:
    """``STEPS`` steps of ``lib.optim.<name>`` on ``sign * L``; ``lib`` is autodiff or torch."""
    dt = getattr(lib, dtype)
    w = lib.tensor(W0, dtype=dt, requires_grad=True)
    c = lib.tensor(C0, dtype=dt, requires_grad=True)
    x, y = lib.tensor(X, dtype=dt), lib.tensor(Y, dtype=dt)
    opt = getattr(lib.optim, name)([w, c], **kwargs)
    out = []
    for _ in range(STEPS):
        opt.zero_grad()
        r = x @ w + c - y
        (sign * 0.5 * (r * r).sum()).backward()
        opt.step()
        out.append([w.detach().numpy().astype(np.float64), c.detach().numpy().astype(np.float64)])
    return out


def start(dtype: str) -> list[np.ndarray]:
    # The float32 runs start from the float32-rounded values; the references then run in float64.
    return [W0.astype(dtype).astype(np.float64), C0.astype(dtype).astype(np.float64)]


def sgd_reference(
    params: list[np.ndarray],
    sign: float,
    lr: float,
    momentum: float = 0.0,
    dampening: float = 0.0,
    weight_decay: float = 0.0,
    nesterov: bool = False,
    maximize: bool = False,
) -> Trajectory:
    params = [p.copy() for p in params]
    buffers: list[np.ndarray | None] = [None] * len(params)
    out = []
    for _ in range(STEPS):
        grads = np_grads(params, sign)
        for i, (p, g) in enumerate(zip(params, grads)):
            g = -g if maximize else g
            g = g + weight_decay * p
            if momentum != 0:
                b = buffers[i]
                b = g.copy() if b is None else momentum * b + (1 - dampening) * g
                buffers[i] = b
                g = g + momentum * b if nesterov else b
            params[i] = p - lr * g
        out.append([p.copy() for p in params])
    return out


def adam_reference(
    params: list[np.ndarray],
    sign: float,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    amsgrad: bool = False,
    maximize: bool = False,
    decoupled: bool = False,
) -> Trajectory:
    b1, b2 = betas
    params = [p.copy() for p in params]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    v_max = [np.zeros_like(p) for p in params]
    out = []
    for t in range(1, STEPS + 1):
        grads = np_grads(params, sign)
        for i, (p, g) in enumerate(zip(params, grads)):
            g = -g if maximize else g
            if decoupled:
                p = p * (1 - lr * weight_decay)
            else:
                g = g + weight_decay * p
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            v_max[i] = np.maximum(v_max[i], v[i])
            v_hat = (v_max[i] if amsgrad else v[i]) / (1 - b2**t)
            params[i] = p - lr * (m[i] / (1 - b1**t)) / (np.sqrt(v_hat) + eps)
        out.append([p.copy() for p in params])
    return out


def assert_trajectories_close(got: Trajectory, expected: Trajectory, dtype: str) -> None:
    rtol, atol = TOL[dtype]
    assert len(got) == len(expected) == STEPS
    for step, (g, e) in enumerate(zip(got, expected), start=1):
        for name, a, b in zip(("W", "c"), g, e):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"{name}, step {step}")


# (optimizer, kwargs, sign of the objective). maximize=True runs ascend -L, so they converge too.
SGD_CASES = [
    ({"lr": 0.05}, 1.0),
    ({"lr": 0.05, "momentum": 0.9}, 1.0),
    ({"lr": 0.05, "momentum": 0.9, "dampening": 0.5}, 1.0),
    ({"lr": 0.05, "momentum": 0.9, "nesterov": True}, 1.0),
    ({"lr": 0.05, "weight_decay": 0.1}, 1.0),
    ({"lr": 0.05, "momentum": 0.5, "weight_decay": 0.1, "nesterov": True}, 1.0),
    ({"lr": 0.05, "maximize": True}, -1.0),
    ({"lr": 0.03, "momentum": 0.8, "dampening": 0.2, "weight_decay": 0.05, "maximize": True}, -1.0),
]
ADAM_CASES = [
    ("Adam", {"lr": 0.05}, 1.0),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6}, 1.0),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1}, 1.0),
    ("Adam", {"lr": 0.05, "amsgrad": True}, 1.0),
    ("Adam", {"lr": 0.05, "maximize": True}, -1.0),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}, 1.0),
    ("AdamW", {"lr": 0.05}, 1.0),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True}, 1.0),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.2, "maximize": True}, -1.0),
]


def adam_reference_for(name: str, kwargs: dict, dtype: str, sign: float) -> Trajectory:
    kwargs = dict(kwargs)
    decoupled = name == "AdamW" or kwargs.pop("decoupled_weight_decay", False)
    if name == "AdamW":
        kwargs.setdefault("weight_decay", 1e-2)  # AdamW's default, unlike Adam's 0
    return adam_reference(start(dtype), sign, decoupled=decoupled, **kwargs)


def case_id(case: tuple) -> str:
    *name, kwargs, _ = case
    return "-".join([*name, *(f"{k}={v}" for k, v in kwargs.items())])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", SGD_CASES, ids=case_id)
def test_sgd_trajectory_matches_reference(case, dtype):
    kwargs, sign = case
    got = run(torch, "SGD", kwargs, dtype, sign)
    assert_trajectories_close(got, sgd_reference(start(dtype), sign, **kwargs), dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", ADAM_CASES, ids=case_id)
def test_adam_trajectory_matches_reference(case, dtype):
    name, kwargs, sign = case
    got = run(torch, name, kwargs, dtype, sign)
    assert_trajectories_close(got, adam_reference_for(name, kwargs, dtype, sign), dtype)


def final_loss(trajectory: Trajectory) -> float:
    w, c = trajectory[-1]
    r = X @ w + c - Y
    return 0.5 * float((r * r).sum())


@pytest.mark.parametrize("case", SGD_CASES + ADAM_CASES, ids=case_id)
def test_every_configuration_descends(case):
    # Guards the references themselves: each run lowers the loss it was meant to lower.
    *name, kwargs, sign = case
    got = run(torch, name[0] if name else "SGD", kwargs, "float64", sign)
    assert final_loss(got) < final_loss([[W0, C0]])


def test_options_change_the_trajectory():
    # Each option takes part: switching it on moves the run off the plain one.
    def last(name, **kwargs):
        return run(torch, name, kwargs, "float64")[-1][0]

    plain_sgd = last("SGD", lr=0.05, momentum=0.9)
    for extra in ({"dampening": 0.5}, {"nesterov": True}, {"weight_decay": 0.1}):
        assert not np.allclose(last("SGD", lr=0.05, momentum=0.9, **extra), plain_sgd)
    plain_adam = last("Adam", lr=0.05)
    assert not np.allclose(last("Adam", lr=0.05, amsgrad=True), plain_adam)
    assert not np.allclose(last("AdamW", lr=0.05), plain_adam)


def test_amsgrad_keeps_the_running_maximum():
    w = torch.tensor([1.0, -1.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([w], lr=0.1, betas=(0.9, 0.5), amsgrad=True)
    # The gradient shrinks from 4 to 0.5 and beta2 = 0.5 forgets fast: v falls from its first
    # value 8 down to 1.875, while v_max keeps the largest v seen.
    for g in (4.0, 2.0, 1.0, 0.5):
        w.grad = torch.full((2,), g, dtype=torch.float64)
        opt.step()
    state = opt.state[w]
    v, v_max = state["exp_avg_sq"].numpy(), state["max_exp_avg_sq"].numpy()
    expected_v, expected_max = 0.0, 0.0
    for g in (4.0, 2.0, 1.0, 0.5):
        expected_v = 0.5 * expected_v + 0.5 * g * g
        expected_max = max(expected_max, expected_v)
    np.testing.assert_allclose(v, expected_v, rtol=1e-12)
    np.testing.assert_allclose(v_max, expected_max, rtol=1e-12)
    assert expected_max > expected_v


# --- one step, closed forms, over random shapes and values (hypothesis) ------------------------

values = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=0, max_dims=3, max_side=4),
    elements=st.floats(-10, 10),
)


@given(values, st.floats(1e-3, 1.0), st.floats(0.0, 0.99), st.booleans())
def test_first_sgd_step_is_p_minus_lr_g(p0, lr, momentum, nesterov):
    # On the first step the momentum buffer is the gradient itself, so
    # p1 = p0 - lr * g (plain), and p0 - lr * (1 + momentum) * g with Nesterov momentum.
    g0 = np.cos(p0) + 0.5
    p = torch.tensor(p0, dtype=torch.float64, requires_grad=True)
    p.grad = torch.tensor(g0, dtype=torch.float64)
    nesterov = nesterov and momentum > 0
    torch.optim.SGD([p], lr=lr, momentum=momentum, nesterov=nesterov).step()
    factor = 1 + momentum if nesterov else 1.0
    np.testing.assert_allclose(p.detach().numpy(), p0 - lr * factor * g0, rtol=1e-13, atol=1e-13)


@given(values, st.floats(1e-3, 1.0), st.floats(0.0, 0.99), st.floats(0.0, 0.999))
def test_first_adam_step_moves_lr_against_the_gradient(p0, lr, beta1, beta2):
    # After one step m/(1 - b1) = g and sqrt(v/(1 - b2)) = |g|: p1 = p0 - lr * g / (|g| + eps).
    g0 = np.sin(3 * p0) * 2
    p = torch.tensor(p0, dtype=torch.float64, requires_grad=True)
    p.grad = torch.tensor(g0, dtype=torch.float64)
    torch.optim.Adam([p], lr=lr, betas=(beta1, beta2), eps=1e-8).step()
    expected = p0 - lr * g0 / (np.abs(g0) + 1e-8)
    np.testing.assert_allclose(p.detach().numpy(), expected, rtol=1e-9, atol=1e-12)


@given(values, st.floats(1e-3, 1.0), st.floats(0.0, 1.0))
def test_adamw_decay_alone_scales_the_parameter(p0, lr, weight_decay):
    # A zero gradient leaves m = v = 0, so only the decoupled decay acts: p1 = p0 (1 - lr wd).
    p = torch.tensor(p0, dtype=torch.float64, requires_grad=True)
    p.grad = torch.zeros_like(p)
    torch.optim.AdamW([p], lr=lr, weight_decay=weight_decay).step()
    np.testing.assert_allclose(p.detach().numpy(), p0 * (1 - lr * weight_decay), rtol=1e-14)


# --- what a step touches ---------------------------------------------------------------------


def leaf(*values: float, dtype=torch.float64):
    return torch.tensor(list(values), dtype=dtype, requires_grad=True)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW"])
def test_parameters_without_grad_are_skipped(name):
    a, b = leaf(1.0, 2.0), leaf(3.0, 4.0)
    opt = getattr(torch.optim, name)([a, b], lr=0.1, **({"momentum": 0.9} if name == "SGD" else {}))
    a.grad = torch.ones(2, dtype=torch.float64)
    opt.step()
    assert b.tolist() == [3.0, 4.0]
    assert b not in opt.state
    assert a.tolist() != [1.0, 2.0]


def test_param_groups_use_their_own_hyperparameters():
    a, b = leaf(1.0), leaf(1.0)
    opt = torch.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5, "momentum": 0.9}], lr=0.1)
    for _ in range(2):
        a.grad = torch.ones(1, dtype=torch.float64)
        b.grad = torch.ones(1, dtype=torch.float64)
        opt.step()
    # a: two plain steps of 0.1; b: buffers 1 then 1.9, so 1 - 0.5 * (1 + 1.9).
    assert a.item() == pytest.approx(0.8, abs=1e-15)
    assert b.item() == pytest.approx(1 - 0.5 * 2.9, abs=1e-15)
    assert "momentum_buffer" not in opt.state[a] and "momentum_buffer" in opt.state[b]


def test_plain_sgd_keeps_no_state():
    p = leaf(1.0)
    opt = torch.optim.SGD([p], lr=0.1)
    p.grad = torch.ones(1, dtype=torch.float64)
    opt.step()
    assert dict(opt.state) == {}


def test_adam_state_is_created_lazily_with_a_float32_step():
    p = leaf(1.0, 2.0)
    opt = torch.optim.Adam([p], amsgrad=True)
    assert dict(opt.state) == {}
    p.grad = torch.ones(2, dtype=torch.float64)
    opt.step()
    opt.step()
    state = opt.state[p]
    assert sorted(state) == ["exp_avg", "exp_avg_sq", "max_exp_avg_sq", "step"]
    assert state["step"].dtype == torch.float32 and state["step"].shape == ()
    assert state["step"].item() == 2.0
    for key in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
        assert state[key].dtype == torch.float64 and state[key].shape == (2,)
        assert not state[key].requires_grad


def test_step_keeps_parameters_leaves_outside_any_graph():
    p = leaf(1.0, 2.0)
    opt = torch.optim.Adam([p], lr=0.1)
    (p * p).sum().backward()
    opt.step()
    assert p.is_leaf and p.requires_grad and p.grad_fn is None


class KernelSpy:
    """Wraps a native kernel to count its calls and record the grad mode they ran under."""

    def __init__(self, kernel: Callable[..., Any]) -> None:
        self.kernel = kernel
        self.calls: list[tuple[int, bool]] = []

    def __call__(self, params, *args):
        self.calls.append((len(params), torch.is_grad_enabled()))
        return self.kernel(params, *args)


@pytest.mark.parametrize(("name", "kernel"), [("SGD", "_sgd_step"), ("Adam", "_adam_step")])
def test_one_native_call_per_param_group_under_no_grad(monkeypatch, name, kernel):
    spy = KernelSpy(getattr(torch._C, kernel))
    monkeypatch.setattr(torch._C, kernel, spy)
    a, b, c, d = leaf(1.0), leaf(2.0), leaf(3.0), leaf(4.0)
    opt = getattr(torch.optim, name)([{"params": [a, b, c]}, {"params": [d], "lr": 0.5}], lr=0.1)
    for p in (a, b, c, d):
        p.grad = torch.ones(1, dtype=torch.float64)
    opt.step()
    assert spy.calls == [(3, False), (1, False)]
    # A group in which no parameter has a gradient costs no call at all.
    d.grad = None
    opt.step()
    assert spy.calls[2:] == [(3, False)]


# --- against torch.optim ----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "case",
    [("SGD", kwargs, sign) for kwargs, sign in SGD_CASES] + ADAM_CASES,
    ids=case_id,
)
def test_trajectory_matches_torch(case, dtype):
    real = pytest.importorskip("torch")
    name, kwargs, sign = case
    got = run(torch, name, kwargs, dtype, sign)
    expected = run(real, name, kwargs, dtype, sign)
    rtol, atol = {"float64": (1e-10, 1e-12), "float32": (1e-5, 1e-6)}[dtype]
    for step, (g, e) in enumerate(zip(got, expected), start=1):
        for a, b in zip(g, e):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"step {step}")


def test_two_groups_and_a_missing_grad_match_torch():
    real = pytest.importorskip("torch")

    def trajectory(lib):
        a = lib.tensor([1.0, -2.0], dtype=lib.float64, requires_grad=True)
        b = lib.tensor([0.5], dtype=lib.float64, requires_grad=True)
        opt = lib.optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.3, "amsgrad": True}])
        out = []
        for step in range(6):
            opt.zero_grad()
            loss = (a * a).sum() + (b * b * b).sum() if step % 3 else (a * a).sum()
            loss.backward()  # every third step b gets no gradient and must not move
            opt.step()
            out.append([a.tolist(), b.tolist()])
        return out

    got, expected = trajectory(torch), trajectory(real)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(np.concatenate(g), np.concatenate(e), rtol=1e-12)


def test_lr_and_momentum_match_math():
    # One closed form written next to the numbers: SGD with momentum on f(x) = x^2 / 2 is the
    # linear recurrence b_t = mu b_{t-1} + x_{t-1}, x_t = x_{t-1} - lr b_t.
    x = leaf(1.0)
    opt = torch.optim.SGD([x], lr=0.1, momentum=0.5)
    expected_x, buffer = 1.0, 0.0
    for _ in range(5):
        opt.zero_grad()
        (0.5 * x * x).sum().backward()
        opt.step()
        buffer = 0.5 * buffer + expected_x
        expected_x -= 0.1 * buffer
        assert math.isclose(x.item(), expected_x, rel_tol=1e-14)
