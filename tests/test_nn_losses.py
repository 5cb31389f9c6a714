"""Losses: ``mse_loss l1_loss binary_cross_entropy binary_cross_entropy_with_logits nll_loss
cross_entropy`` and their Module forms.

Each loss is compared with its closed form written in NumPy below, for every reduction and
option (weights, ``pos_weight``, ``ignore_index``, ``label_smoothing``, probability targets,
the K-dimensional case); gradients with float64 central finite differences; and, where torch
is installed, values, gradients and error messages with PyTorch's.
"""

from __future__ import annotations

import itertools
import re
from typing import Any, Callable

import numpy as np
import pytest
from gradcheck_util import (
    TOL64,
    check_gradient,
    first_order_grads,
    scalarised,
    shapes,
    to_numpy,
    to_tensor,
)
from hypothesis import given
from hypothesis import strategies as st

import autodiff
import autodiff.nn as nn
import autodiff.nn.functional as F

REDUCTIONS = ["mean", "sum", "none"]


def torch_or_skip() -> Any:
    return pytest.importorskip("torch")


def t64(a: Any) -> Any:
    return to_tensor(a, autodiff.float64)


def apply_reduction(loss: np.ndarray, reduction: str) -> np.ndarray:
    if reduction == "none":
        return loss
    return np.asarray(loss.sum() if reduction == "sum" else loss.mean())


def assert_gradients(
    fn: Callable[..., Any], arrays: list[np.ndarray], rng: np.random.Generator
) -> None:
    """Every input's gradient of ``fn`` against float64 central differences."""
    out = fn(*(t64(a) for a in arrays))
    c = rng.standard_normal(tuple(out.shape))
    grads = first_order_grads(fn, arrays, {}, c)
    phi = scalarised(fn, c, {})
    for k, grad in enumerate(grads):
        check_gradient(phi, arrays, k, grad, TOL64.grad, rng, f"input {k}")


def softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


# --- closed forms ------------------------------------------------------------------------------


def np_bce(p: np.ndarray, t: np.ndarray, w: Any = 1.0) -> np.ndarray:
    # Each log is clamped at -100, as PyTorch does, so that p = 0 or 1 stays finite.
    log_p = np.maximum(np.log(p), -100.0)
    log_q = np.maximum(np.log1p(-p), -100.0)
    return -w * (t * log_p + (1 - t) * log_q)


def np_bce_logits(x: np.ndarray, t: np.ndarray, w: Any = 1.0, pw: Any = 1.0) -> np.ndarray:
    # -w [pw t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))], with log sigmoid(x) = -softplus(-x)
    # and log(1 - sigmoid(x)) = -x - softplus(-x).
    return w * ((1 - t) * x + (1 + (pw - 1) * t) * softplus(-x))


def np_nll(
    logp: np.ndarray, target: np.ndarray, w: np.ndarray | None, ignore: int, reduction: str
) -> np.ndarray:
    """logp (N, C, ...) or (C,), target (N, ...) or ()."""
    if logp.ndim == 1:
        logp, target = logp[None], target[None]
    classes = logp.shape[1]
    weights = np.ones(classes) if w is None else w
    kept = target != ignore
    safe = np.where(kept, target, 0)
    picked = np.take_along_axis(logp, safe[:, None], axis=1)[:, 0]
    wt = weights[safe] * kept
    loss = -wt * picked
    if reduction == "none":
        return loss.reshape(target.shape) if logp.ndim > 1 else loss
    if reduction == "sum":
        return np.asarray(loss.sum())
    with np.errstate(invalid="ignore"):
        return np.asarray(loss.sum() / wt.sum())


def np_cross_entropy(
    x: np.ndarray,
    target: np.ndarray,
    w: np.ndarray | None,
    ignore: int,
    reduction: str,
    smoothing: float,
) -> np.ndarray:
    axis = 0 if x.ndim == 1 else 1
    classes = x.shape[axis]
    logp = log_softmax(x, axis)
    shape = [1] * x.ndim
    shape[axis] = classes
    weights = np.ones(classes) if w is None else w
    wb = weights.reshape(shape)
    if target.shape == x.shape:  # class probabilities
        q = target * (1 - smoothing) + smoothing / classes
        loss = -(logp * q * wb).sum(axis)
        if reduction == "mean":
            return np.asarray(loss.sum() / (x.size / classes))
        return apply_reduction(loss, reduction)
    nll = np_nll(logp, target, w, ignore, reduction)
    if smoothing == 0:
        return nll
    kept = target != ignore
    uniform = np.where(kept, -(logp * wb).sum(axis), 0.0)
    if reduction == "mean":
        with np.errstate(invalid="ignore"):
            uniform = np.asarray(uniform.sum() / weights[np.where(kept, target, 0)][kept].sum())
    elif reduction == "sum":
        uniform = np.asarray(uniform.sum())
    return (1 - smoothing) * nll + smoothing / classes * uniform


# --- the elementwise losses --------------------------------------------------------------------


@given(
    shape=shapes(),
    reduction=st.sampled_from(REDUCTIONS),
    seed=st.integers(0, 2**32 - 1),
)
def test_elementwise_losses_match_closed_forms(shape, reduction, seed):
    rng = np.random.default_rng(seed)
    x, t = rng.standard_normal(shape), rng.standard_normal(shape)
    p, q = rng.uniform(0.05, 0.95, shape), rng.uniform(0, 1, shape)
    w, pw = rng.uniform(0.5, 2, shape), rng.uniform(0.5, 2, shape[-1:])
    cases = [
        (F.mse_loss(t64(x), t64(t), reduction=reduction), (x - t) ** 2),
        (F.l1_loss(t64(x), t64(t), reduction=reduction), np.abs(x - t)),
        (F.binary_cross_entropy(t64(p), t64(q), reduction=reduction), np_bce(p, q)),
        (
            F.binary_cross_entropy(t64(p), t64(q), weight=t64(w), reduction=reduction),
            np_bce(p, q, w),
        ),
        (
            F.binary_cross_entropy_with_logits(t64(x), t64(q), reduction=reduction),
            np_bce_logits(x, q),
        ),
        (
            F.binary_cross_entropy_with_logits(
                t64(x), t64(q), t64(w), pos_weight=t64(pw), reduction=reduction
            ),
            np_bce_logits(x, q, w, pw),
        ),
    ]
    for got, elementwise in cases:
        expected = apply_reduction(elementwise, reduction)
        assert tuple(got.shape) == expected.shape
        np.testing.assert_allclose(to_numpy(got), expected, rtol=1e-12, atol=1e-12)


def test_weighted_mse_and_l1_divide_the_mean_by_the_weights():
    x, t = t64([1.0, 2.0, 4.0]), t64([0.0, 0.0, 0.0])
    w = t64([1.0, 0.5, 0.0])
    # sum(w (x - t)^2) / sum(w) = (1 + 2 + 0) / 1.5
    assert F.mse_loss(x, t, weight=w).item() == pytest.approx(2.0)
    assert F.mse_loss(x, t, weight=w, reduction="sum").item() == pytest.approx(3.0)
    # sum(w |x - t|) / sum(w) = (1 + 1 + 0) / 1.5
    assert F.l1_loss(x, t, weight=w).item() == pytest.approx(4 / 3)
    assert F.l1_loss(x, t, weight=w, reduction="none").tolist() == [1.0, 1.0, 0.0]


def test_bce_clamps_the_log_at_minus_100():
    # p = 0 with target 1: -log(0) would be inf; PyTorch clamps the log at -100.
    assert F.binary_cross_entropy(t64([0.0, 1.0]), t64([1.0, 0.0]), reduction="none").tolist() == [
        100.0,
        100.0,
    ]


def test_bce_with_logits_is_finite_for_large_logits():
    out = F.binary_cross_entropy_with_logits(
        t64([1000.0, -1000.0]), t64([0.0, 1.0]), reduction="none"
    )
    assert out.tolist() == [1000.0, 1000.0]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    ("name", "fn", "domains"),
    [
        ("mse", lambda r: lambda x, t: F.mse_loss(x, t, reduction=r), ("normal", "normal")),
        ("l1", lambda r: lambda x, t: F.l1_loss(x, t, reduction=r), ("normal", "normal")),
        (
            "weighted mse",
            lambda r: lambda x, t, w: F.mse_loss(x, t, reduction=r, weight=w),
            ("normal", "normal", "positive"),
        ),
        (
            "bce",
            lambda r: lambda p, t: F.binary_cross_entropy(p, t, reduction=r),
            ("probability", "probability"),
        ),
        (
            "bce with logits",
            lambda r: (
                lambda x, t: F.binary_cross_entropy_with_logits(
                    x,
                    t,
                    autodiff.tensor([0.5, 2.0], dtype=autodiff.float64),
                    pos_weight=autodiff.tensor([3.0, 1.0], dtype=autodiff.float64),
                    reduction=r,
                )
            ),
            ("normal", "probability"),
        ),
    ],
)
def test_elementwise_loss_gradients(name, fn, domains, reduction, rng):
    draw = {
        "normal": lambda: rng.standard_normal((3, 2)),
        "positive": lambda: rng.uniform(0.5, 2.0, (3, 2)),
        "probability": lambda: rng.uniform(0.1, 0.9, (3, 2)),
    }
    arrays = [draw[d]() for d in domains]
    if name == "l1":
        arrays[1] = arrays[0] + np.sign(rng.standard_normal((3, 2))) * rng.uniform(0.1, 1, (3, 2))
    assert_gradients(fn(reduction), arrays, rng)


def test_grad_fn_names():
    x = autodiff.tensor([[0.2, 0.7]], requires_grad=True)
    t = autodiff.tensor([[0.0, 1.0]])
    assert F.mse_loss(x, t).grad_fn.name() == "MseLossBackward0"
    assert F.binary_cross_entropy(x, t).grad_fn.name() == "BinaryCrossEntropyBackward0"
    logits_loss = F.binary_cross_entropy_with_logits(x, t)
    assert logits_loss.grad_fn.name() == "BinaryCrossEntropyWithLogitsBackward0"
    assert F.nll_loss(x, autodiff.tensor([1])).grad_fn.name() == "NllLossBackward0"
    assert F.cross_entropy(x, autodiff.tensor([1])).grad_fn.name() == "NllLossBackward0"
    # l1_loss is composed, as in PyTorch: abs, then the reduction.
    assert F.l1_loss(x, t).grad_fn.name() == "MeanBackward0"
    assert F.l1_loss(x, t, reduction="sum").grad_fn.name() == "SumBackward0"
    assert F.l1_loss(x, t, reduction="none").grad_fn.name() == "AbsBackward0"


# --- nll_loss and cross_entropy ----------------------------------------------------------------

# input shape, class count: 1-d (a single sample), 2-d, and the K-dimensional cases 3-d to 5-d.
CLASS_SHAPES = [(4,), (5, 3), (2, 3, 4), (2, 3, 2, 2), (2, 3, 2, 1, 2)]


def class_problem(shape: tuple[int, ...], rng: np.random.Generator) -> dict[str, np.ndarray]:
    classes = shape[0] if len(shape) == 1 else shape[1]
    target_shape = () if len(shape) == 1 else (shape[0], *shape[2:])
    target = rng.integers(0, classes, target_shape)
    axis = 0 if len(shape) == 1 else 1
    probs = rng.uniform(0.1, 1.0, shape)
    return {
        "x": rng.standard_normal(shape),
        "target": target,
        "probs": probs / probs.sum(axis=axis, keepdims=True),
        "weight": rng.uniform(0.5, 2.0, classes),
    }


OPTIONS = list(itertools.product(REDUCTIONS, [False, True], [-100, 1], [0.0, 0.3]))


@pytest.mark.parametrize("shape", CLASS_SHAPES, ids=str)
@pytest.mark.parametrize(("reduction", "weighted", "ignore_index", "smoothing"), OPTIONS)
def test_cross_entropy_and_nll_match_closed_forms(
    shape, reduction, weighted, ignore_index, smoothing, rng
):
    data = class_problem(shape, rng)
    x, target, probs = data["x"], data["target"], data["probs"]
    w = data["weight"] if weighted else None
    weight = None if w is None else t64(w)
    tgt = autodiff.tensor(target)
    got = F.cross_entropy(t64(x), tgt, weight, None, ignore_index, None, reduction, smoothing)
    expected = np_cross_entropy(x, target, w, ignore_index, reduction, smoothing)
    np.testing.assert_allclose(to_numpy(got), expected, rtol=1e-12, atol=1e-12)
    got = F.cross_entropy(
        t64(x), t64(probs), weight, reduction=reduction, label_smoothing=smoothing
    )
    expected = np_cross_entropy(x, probs, w, -100, reduction, smoothing)
    np.testing.assert_allclose(to_numpy(got), expected, rtol=1e-12, atol=1e-12)
    logp = log_softmax(x, 0 if len(shape) == 1 else 1)
    got = F.nll_loss(t64(logp), tgt, weight, ignore_index=ignore_index, reduction=reduction)
    expected = np_nll(logp, target, w, ignore_index, reduction)
    np.testing.assert_allclose(to_numpy(got), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", CLASS_SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_gradients(shape, reduction, rng):
    data = class_problem(shape, rng)
    weight, target = t64(data["weight"]), autodiff.tensor(data["target"])
    x, probs = data["x"], data["probs"]

    def with_indices(x):
        return F.cross_entropy(
            x, target, weight, ignore_index=1, reduction=reduction, label_smoothing=0.2
        )

    def with_probabilities(x, p):
        return F.cross_entropy(x, p, weight, reduction=reduction, label_smoothing=0.1)

    assert_gradients(with_indices, [x], rng)
    assert_gradients(with_probabilities, [x, probs], rng)
    assert_gradients(lambda lp: F.nll_loss(lp, target, weight, reduction=reduction), [x], rng)


def test_nll_loss_closed_form_by_hand():
    logp = t64([[-1.0, -2.0, -3.0], [-0.5, -1.5, -2.5]])
    target = autodiff.tensor([2, 0])
    w = t64([1.0, 2.0, 4.0])
    # mean: (4 * 3 + 1 * 0.5) / (4 + 1)
    assert F.nll_loss(logp, target, w).item() == pytest.approx(2.5)
    assert F.nll_loss(logp, target, w, reduction="none").tolist() == [12.0, 0.5]
    assert F.nll_loss(logp, target, ignore_index=2).item() == pytest.approx(0.5)


def test_all_targets_ignored_gives_nan_for_the_mean():
    x, target = t64([[1.0, 2.0], [0.0, 0.0]]), autodiff.tensor([-100, -100])
    assert np.isnan(F.cross_entropy(x, target).item())
    assert np.isnan(F.cross_entropy(x, target, label_smoothing=0.1).item())
    assert F.cross_entropy(x, target, reduction="sum").item() == 0.0


def test_negative_label_smoothing_means_none():
    x, target = t64([[1.0, 2.0, 0.5]]), autodiff.tensor([0])
    assert (
        F.cross_entropy(x, target, label_smoothing=-0.5).item() == F.cross_entropy(x, target).item()
    )


@pytest.mark.parametrize("shape", CLASS_SHAPES, ids=str)
def test_cross_entropy_against_torch(shape, rng):
    torch = torch_or_skip()
    data = class_problem(shape, rng)
    for reduction, weighted, ignore_index, smoothing in OPTIONS:
        for probabilities in (False, True):
            kwargs: dict[str, Any] = {"reduction": reduction, "label_smoothing": smoothing}
            if not probabilities:
                kwargs["ignore_index"] = ignore_index
            outs = []
            for lib, fn in (
                (autodiff, F.cross_entropy),
                (torch, torch.nn.functional.cross_entropy),
            ):
                x = lib.tensor(data["x"], requires_grad=True)
                target = lib.tensor(data["probs" if probabilities else "target"])
                weight = lib.tensor(data["weight"]) if weighted else None
                out = fn(x, target, weight, **kwargs)
                out.backward(lib.tensor(np.ones(tuple(out.shape))))
                outs.append((out.detach().numpy(), x.grad.numpy()))
            np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_elementwise_losses_against_torch(reduction, rng):
    torch = torch_or_skip()
    x, t = rng.standard_normal((4, 3)), rng.uniform(0, 1, (4, 3))
    w, pw = rng.uniform(0.5, 2, (4, 3)), rng.uniform(0.5, 2, 3)
    calls = [
        ("mse_loss", lambda f, lib, a, b: f.mse_loss(a, b, reduction=reduction)),
        ("l1_loss", lambda f, lib, a, b: f.l1_loss(a, b, reduction=reduction)),
        (
            "weighted mse",
            lambda f, lib, a, b: f.mse_loss(a, b, reduction=reduction, weight=lib.tensor(w)),
        ),
        (
            "bce",
            lambda f, lib, a, b: f.binary_cross_entropy(
                a.sigmoid(), b, lib.tensor(w), reduction=reduction
            ),
        ),
        (
            "bce logits",
            lambda f, lib, a, b: f.binary_cross_entropy_with_logits(
                a, b, lib.tensor(w), reduction=reduction, pos_weight=lib.tensor(pw)
            ),
        ),
    ]
    for name, call in calls:
        results = []
        for lib, f in ((autodiff, F), (torch, torch.nn.functional)):
            a, b = lib.tensor(x, requires_grad=True), lib.tensor(t, requires_grad=True)
            out = call(f, lib, a, b)
            out.backward(lib.tensor(np.ones(tuple(out.shape))))
            results.append([out.detach().numpy(), a.grad.numpy(), b.grad.numpy()])
        for ours, theirs in zip(*results):
            np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12, err_msg=name)


# --- errors and warnings -----------------------------------------------------------------------

ERRORS: list[tuple[str, Callable[[Any, Any], Any], type, str]] = [
    (
        "mse reduction",
        lambda f, lib: f.mse_loss(lib.ones(2), lib.ones(2), reduction="avg"),
        ValueError,
        "avg is not a valid value for reduction",
    ),
    (
        "l1 reduction",
        lambda f, lib: f.l1_loss(lib.ones(2), lib.ones(2), reduction="avg"),
        ValueError,
        "avg is not a valid value for reduction",
    ),
    (
        "bce reduction",
        lambda f, lib: f.binary_cross_entropy(lib.ones(2), lib.ones(2), reduction="x"),
        ValueError,
        "x is not a valid value for reduction",
    ),
    (
        "nll reduction",
        lambda f, lib: f.nll_loss(lib.zeros(2, 3), lib.zeros(2, dtype=lib.int64), reduction="x"),
        ValueError,
        "x is not a valid value for reduction",
    ),
    (
        "weighted reduction",
        lambda f, lib: f.mse_loss(lib.ones(2), lib.ones(2), reduction="avg", weight=lib.ones(2)),
        ValueError,
        "Invalid reduction mode: avg. Expected one of 'none', 'mean', 'sum'.",
    ),
    (
        "weight size",
        lambda f, lib: f.l1_loss(lib.ones(2), lib.ones(2), weight=lib.ones(3)),
        ValueError,
        "Weights and input must have the same size.",
    ),
    (
        "bce sizes",
        lambda f, lib: f.binary_cross_entropy(lib.ones(2), lib.ones(2, 1)),
        ValueError,
        "Using a target size (torch.Size([2, 1])) that is different to the input size "
        "(torch.Size([2])) is deprecated. Please ensure they have the same size.",
    ),
    (
        "bce logits sizes",
        lambda f, lib: f.binary_cross_entropy_with_logits(lib.ones(2), lib.ones(3)),
        ValueError,
        "Target size (torch.Size([3])) must be the same as input size (torch.Size([2]))",
    ),
    (
        "bce range",
        lambda f, lib: f.binary_cross_entropy(lib.ones(1) * 1.5, lib.ones(1)),
        RuntimeError,
        "all elements of input should be between 0 and 1",
    ),
    (
        "0-d nll input",
        lambda f, lib: f.nll_loss(lib.zeros(()), lib.zeros((), dtype=lib.int64)),
        ValueError,
        "Expected 1 or more dimensions (got 0)",
    ),
    (
        "batch sizes",
        lambda f, lib: f.nll_loss(lib.zeros(2, 3, 4), lib.zeros(3, 4, dtype=lib.int64)),
        ValueError,
        "Expected input batch_size (2) to match target batch_size (3).",
    ),
    (
        "K-dim target",
        lambda f, lib: f.nll_loss(lib.zeros(2, 3, 4), lib.zeros(2, 5, dtype=lib.int64)),
        RuntimeError,
        "Expected target size [2, 4], got [2, 5]",
    ),
    (
        "5-d target",
        lambda f, lib: f.cross_entropy(
            lib.zeros(2, 3, 4, 5, 6), lib.zeros(2, 4, 5, dtype=lib.int64)
        ),
        RuntimeError,
        "Expected target size [2, 4, 5, 6], got [2, 4, 5]",
    ),
    (
        "4-d target dims",
        lambda f, lib: f.nll_loss(lib.zeros(2, 3, 4, 5), lib.zeros(2, 4, dtype=lib.int64)),
        RuntimeError,
        "only batches of spatial targets supported (3D tensors) but got targets of dimension: 2",
    ),
    (
        "4-d target size",
        lambda f, lib: f.nll_loss(lib.zeros(2, 3, 4, 5), lib.zeros(2, 4, 6, dtype=lib.int64)),
        RuntimeError,
        "size mismatch (got input: [2, 3, 4, 5] , target: [2, 4, 6]",
    ),
    (
        "float class target",
        lambda f, lib: f.nll_loss(lib.zeros(2, 3, 4), lib.zeros(2, 4)),
        RuntimeError,
        "expected target dtype to be Long or Byte, but got Float",
    ),
    (
        "target out of range",
        lambda f, lib: f.cross_entropy(lib.zeros(2, 3), lib.tensor([0, 3])),
        IndexError,
        "Target 3 is out of bounds.",
    ),
    (
        "class weight size",
        lambda f, lib: f.cross_entropy(
            lib.zeros(2, 3), lib.tensor([0, 1]), lib.ones(4), label_smoothing=0.1
        ),
        RuntimeError,
        "weight tensor should be defined either for all 3 classes or no classes but got "
        "weight tensor of shape: [4]",
    ),
    (
        "probability weight size",
        lambda f, lib: f.cross_entropy(lib.zeros(2, 3), lib.zeros(2, 3), lib.ones(4)),
        RuntimeError,
        "cross_entropy: weight tensor should be defined either for all 3 classes or no "
        "classes but got weight tensor of shape: [4]",
    ),
    (
        "integer probabilities",
        lambda f, lib: f.cross_entropy(lib.zeros(2, 3), lib.zeros(2, 3, dtype=lib.int64)),
        RuntimeError,
        "Expected floating point type for target with class probabilities, got Long",
    ),
    (
        "ignore_index with probabilities",
        lambda f, lib: f.cross_entropy(lib.zeros(2, 3), lib.zeros(2, 3), ignore_index=0),
        RuntimeError,
        "ignore_index is not supported for floating point target",
    ),
    (
        "label smoothing",
        lambda f, lib: f.cross_entropy(lib.zeros(2, 3), lib.tensor([0, 1]), label_smoothing=1.5),
        RuntimeError,
        "label_smoothing must be between 0.0 and 1.0. Got: 1.5",
    ),
    (
        "cross entropy reduction first",
        lambda f, lib: f.cross_entropy(lib.zeros(2, 3), lib.tensor([0, 3]), reduction="x"),
        ValueError,
        "x is not a valid value for reduction",
    ),
]


@pytest.mark.parametrize(
    ("call", "exc_type", "expected"),
    [case[1:] for case in ERRORS],
    ids=[case[0] for case in ERRORS],
)
def test_loss_errors(call, exc_type, expected):
    with pytest.raises(exc_type, match=re.escape(expected)) as info:
        call(F, autodiff)
    assert str(info.value) == expected


@pytest.mark.parametrize(
    ("call", "exc_type", "expected"),
    [case[1:] for case in ERRORS],
    ids=[case[0] for case in ERRORS],
)
def test_loss_errors_match_torch(call, exc_type, expected):
    torch = torch_or_skip()
    with pytest.raises(exc_type) as theirs:
        call(torch.nn.functional, torch)
    assert str(theirs.value) == expected


@pytest.mark.parametrize("fn", [F.mse_loss, F.l1_loss])
def test_size_mismatch_warns_then_broadcasts(fn):
    expected = (
        "Using a target size (torch.Size([3])) that is different to the input size "
        "(torch.Size([2, 3])). This will likely lead to incorrect results due to broadcasting. "
        "Please ensure they have the same size."
    )
    with pytest.warns(UserWarning, match=re.escape(expected)):
        out = fn(t64(np.zeros((2, 3))), t64([1.0, 2.0, 3.0]), reduction="sum")
    # |0 - t| and (0 - t)^2 summed over two broadcast rows
    assert out.item() == (12.0 if fn is F.l1_loss else 28.0)


@pytest.mark.parametrize(
    ("size_average", "reduce", "expected"),
    [(None, None, "mean"), (False, None, "sum"), (True, False, "none"), (None, True, "mean")],
)
def test_legacy_reduction_flags(size_average, reduce, expected):
    x, t = t64([1.0, 3.0]), t64([0.0, 0.0])
    message = f"size_average and reduce args will be deprecated, please use reduction='{expected}'"
    if size_average is None and reduce is None:
        assert nn.MSELoss(size_average, reduce).reduction == "mean"
        return
    with pytest.warns(UserWarning, match=re.escape(message)):
        loss = nn.MSELoss(size_average, reduce)
    assert loss.reduction == expected
    with pytest.warns(UserWarning, match=re.escape(message)):
        functional = F.mse_loss(x, t, size_average, reduce)
    np.testing.assert_allclose(
        to_numpy(functional), apply_reduction(np.array([1.0, 9.0]), expected)
    )


# --- the Module forms --------------------------------------------------------------------------


def test_loss_modules_call_their_functions_with_their_settings(rng):
    x = t64(rng.standard_normal((4, 3)))
    target = autodiff.tensor([0, 2, 1, 2])
    probs = t64(rng.uniform(0.1, 0.9, (4, 3)))
    w = t64(rng.uniform(0.5, 2, 3))
    pairs = [
        (nn.MSELoss(reduction="sum")(x, probs), F.mse_loss(x, probs, reduction="sum")),
        (nn.L1Loss(reduction="none")(x, probs), F.l1_loss(x, probs, reduction="none")),
        (nn.BCELoss(w)(x.sigmoid(), probs), F.binary_cross_entropy(x.sigmoid(), probs, w)),
        (
            nn.BCEWithLogitsLoss(pos_weight=w)(x, probs),
            F.binary_cross_entropy_with_logits(x, probs, pos_weight=w),
        ),
        (
            nn.NLLLoss(w, ignore_index=2)(x.log_softmax(1), target),
            F.nll_loss(x.log_softmax(1), target, w, ignore_index=2),
        ),
        (
            nn.CrossEntropyLoss(w, ignore_index=0, label_smoothing=0.2)(x, target),
            F.cross_entropy(x, target, w, ignore_index=0, label_smoothing=0.2),
        ),
    ]
    for module_out, functional_out in pairs:
        np.testing.assert_array_equal(to_numpy(module_out), to_numpy(functional_out))


def test_loss_weights_are_buffers():
    w = autodiff.ones(3)
    ce = nn.CrossEntropyLoss(weight=w)
    assert ce.weight is w and list(ce.state_dict()) == ["weight"]
    assert list(nn.BCEWithLogitsLoss(pos_weight=w).state_dict()) == ["pos_weight"]
    assert nn.NLLLoss().weight is None and list(nn.NLLLoss().state_dict()) == []
    assert nn.CrossEntropyLoss().ignore_index == -100
    assert list(nn.CrossEntropyLoss(weight=w).double().state_dict().values())[0].dtype == (
        autodiff.float64
    )


@given(
    logits=st.lists(st.floats(-5, 5), min_size=2, max_size=6),
    label=st.integers(0, 5),
)
def test_cross_entropy_is_minus_log_softmax_at_the_label(logits, label):
    label = label % len(logits)
    x = np.array(logits)
    got = nn.CrossEntropyLoss()(t64(x[None]), autodiff.tensor([label])).item()
    assert got == pytest.approx(-log_softmax(x, 0)[label], rel=1e-12, abs=1e-12)
    # one-hot probabilities give the same loss as the class index
    probs = np.eye(len(logits))[label][None]
    assert nn.CrossEntropyLoss()(t64(x[None]), t64(probs)).item() == pytest.approx(got, abs=1e-12)


@given(p=st.floats(0.01, 0.99), target=st.floats(0, 1))
def test_bce_with_logits_equals_bce_of_the_sigmoid(p, target):
    logit = float(np.log(p / (1 - p)))
    a = F.binary_cross_entropy_with_logits(t64([logit]), t64([target])).item()
    b = F.binary_cross_entropy(t64([p]), t64([target])).item()
    assert a == pytest.approx(b, rel=1e-9, abs=1e-12)
