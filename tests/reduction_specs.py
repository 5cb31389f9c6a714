"""The reduction table's machinery, shared by tests/test_reductions.py and tests/test_softmax.py.

A ``Reduction`` row names an op, how to call it, its NumPy reference, a strategy for its keyword
arguments given a shape, the ``grad_fn`` PyTorch gives it and the values it must be checked on
(jax's ``grad_test_spec`` tables, STYLE.md E10). The ``check_*`` functions are the bodies of the
table-driven tests, so that each test file runs them over its own rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pytest
from gradcheck_util import arrays_in, shapes, to_numpy, to_tensor
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numeric_checks import (
    INF,
    LAYOUTS,
    REAL,
    Layout,
    assert_close,
    check_first_order,
    check_second_order,
    data_rng,
    laid_out,
    rounded,
    tolerance,
)

import autodiff as torch

# --- reductions: references ----------------------------------------------------------------------


def _squeeze(out: np.ndarray, dim: Any, keepdim: bool) -> np.ndarray:
    return out if keepdim else np.squeeze(out, axis=dim)


def np_norm(a: np.ndarray, p: Any = "fro", dim: Any = None, keepdim: bool = False) -> np.ndarray:
    x = np.abs(a)
    if p in ("fro", 2):
        return np.sqrt(np.sum(x * x, axis=dim, keepdims=keepdim))
    if p == INF:
        return np.max(x, axis=dim, keepdims=keepdim)
    if p == -INF:
        return np.min(x, axis=dim, keepdims=keepdim)
    if p == 0:
        return np.sum(x != 0, axis=dim, keepdims=keepdim).astype(np.float64)
    with np.errstate(divide="ignore"):  # p < 0 with a zero entry: sum = inf, norm = 0
        return np.sum(x**p, axis=dim, keepdims=keepdim) ** (1.0 / p)


def np_logsumexp(a: np.ndarray, dim: Any, keepdim: bool = False) -> np.ndarray:
    m = np.max(a, axis=dim, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(a - m), axis=dim, keepdims=True)) + m
    return _squeeze(out, dim, keepdim)


def np_softmax(a: np.ndarray, dim: int) -> np.ndarray:
    e = np.exp(a - np.max(a, axis=dim, keepdims=True))
    return e / np.sum(e, axis=dim, keepdims=True)


def np_log_softmax(a: np.ndarray, dim: int) -> np.ndarray:
    shifted = a - np.max(a, axis=dim, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=dim, keepdims=True))


def ddof(kw: dict[str, Any]) -> int:
    if "correction" in kw:
        return kw["correction"]
    return int(kw.get("unbiased", True))


def np_var(a: np.ndarray, dim: Any = None, keepdim: bool = False, **kw: Any) -> np.ndarray:
    return np.var(a, axis=dim, ddof=ddof(kw), keepdims=keepdim)


def np_std(a: np.ndarray, dim: Any = None, keepdim: bool = False, **kw: Any) -> np.ndarray:
    return np.std(a, axis=dim, ddof=ddof(kw), keepdims=keepdim)


def np_arg(f: Callable[..., Any]) -> Callable[..., np.ndarray]:
    def ref(a: np.ndarray, dim: Any = None, keepdim: bool = False) -> np.ndarray:
        if dim is None:
            return np.asarray(f(a))  # the index into the flattened tensor
        return np.asarray(f(a, axis=dim, keepdims=keepdim))

    return ref


def np_reduce(f: Callable[..., Any]) -> Callable[..., np.ndarray]:
    def ref(a: np.ndarray, dim: Any = None, keepdim: bool = False) -> np.ndarray:
        return np.asarray(f(a, axis=dim, keepdims=keepdim))

    return ref


# --- reductions: arguments -----------------------------------------------------------------------


def one_dim(ndim: int) -> st.SearchStrategy[int]:
    return st.integers(-ndim, ndim - 1)


def _dim_tuple(ndim: int) -> st.SearchStrategy[tuple[int, ...]]:
    return st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).flatmap(
        lambda ds: st.tuples(*(st.sampled_from((d, d - ndim)) for d in ds))
    )


def int_dim(shape: tuple[int, ...]) -> st.SearchStrategy[dict[str, Any]]:
    """dim= an int, non-negative or negative; keepdim= either."""
    return st.fixed_dictionaries({"dim": one_dim(len(shape)), "keepdim": st.booleans()})


def int_dim_or_all(shape: tuple[int, ...]) -> st.SearchStrategy[dict[str, Any]]:
    if not shape:
        return st.just({})
    return st.one_of(st.just({}), int_dim(shape))


def dims(shape: tuple[int, ...]) -> st.SearchStrategy[dict[str, Any]]:
    """dim= an int or a tuple of distinct dims, each non-negative or negative; keepdim= either."""
    ndim = len(shape)
    return st.fixed_dictionaries(
        {"dim": st.one_of(one_dim(ndim), _dim_tuple(ndim)), "keepdim": st.booleans()}
    )


def dims_or_all(shape: tuple[int, ...]) -> st.SearchStrategy[dict[str, Any]]:
    if not shape:
        return st.just({})
    return st.one_of(st.just({}), dims(shape))


def lane_size(shape: tuple[int, ...], kw: dict[str, Any]) -> int:
    dim = kw.get("dim")
    if dim is None:
        return math.prod(shape)
    return math.prod(shape[d] for d in ((dim,) if isinstance(dim, int) else dim))


def var_kwargs(min_lane: int) -> Callable[[tuple[int, ...]], st.SearchStrategy[dict[str, Any]]]:
    """dims, plus the default, unbiased= or correction= in 0, 1, 2: always fewer than the lane
    size (PyTorch warns when the degrees of freedom are <= 0; that case is tested apart)."""

    def strategy(shape: tuple[int, ...]) -> st.SearchStrategy[dict[str, Any]]:
        def with_correction(kw: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
            n = lane_size(shape, kw)
            options: list[dict[str, Any]] = [{"unbiased": False}, {"correction": 0}]
            if n >= 2:
                options += [{}, {"unbiased": True}, {"correction": 1}]
            if n >= 3:
                options.append({"correction": 2})
            return st.sampled_from(options).map(lambda extra: {**kw, **extra})

        return (
            dims_or_all(shape)
            .filter(lambda kw: lane_size(shape, kw) >= min_lane)
            .flatmap(with_correction)
        )

    return strategy


NORM_PS: list[Any] = [1, 2, 3, INF, -INF, "fro"]


def norm_kwargs(ps: list[Any]) -> Callable[[tuple[int, ...]], st.SearchStrategy[dict[str, Any]]]:
    def strategy(shape: tuple[int, ...]) -> st.SearchStrategy[dict[str, Any]]:
        def with_p(p: Any) -> st.SearchStrategy[dict[str, Any]]:
            # 'fro' takes no dim, one dim, or two (PyTorch rejects three)
            allowed = dims_or_all(shape).filter(
                lambda kw: p != "fro" or not isinstance(kw.get("dim"), tuple) or len(kw["dim"]) <= 2
            )
            return allowed.map(lambda kw: {"p": p, **kw})

        return st.sampled_from(ps).flatmap(with_p)

    return strategy


# --- value strategies ----------------------------------------------------------------------------


@st.composite
def distinct_values(draw: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Values with distinct magnitudes in [0.3, 2], random signs: no two equal, none near 0.

    Consecutive magnitudes are at least 0.85 / size apart (>= 0.013 for 64 elements), far more
    than the finite-difference step, so max/min/norm(inf)/std are smooth around every draw."""
    n = math.prod(shape)
    order = np.array(draw(st.permutations(range(n))), dtype=np.float64).reshape(shape)
    jitter = draw(hnp.arrays(np.float64, shape, elements=st.floats(0.0, 0.5)))
    signs = draw(hnp.arrays(np.bool_, shape))
    magnitude = 0.3 + (order + jitter) * (1.7 / max(n, 1))
    return np.where(signs, magnitude, -magnitude)


# exact zeros, or magnitudes >= 0.05: a tiny nonzero float64 can round to a float32 subnormal,
# where the precision of prod's gradient is a separate matter (test_prod_gradient_precision)
ZERO_OR_SMALL = st.one_of(st.just(0.0), st.floats(-1.5, -0.05), st.floats(0.05, 1.5))
TRUTHY = st.sampled_from([0.0, 1.5, -2.0, 0.25])


def values(kind: str, shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    if kind == "real":
        return arrays_in(shape, REAL)
    if kind == "distinct":
        return distinct_values(shape)
    if kind == "zeros":  # prod: exact zeros, sometimes several in a lane
        return hnp.arrays(np.float64, shape, elements=ZERO_OR_SMALL)
    assert kind == "truthy"  # all/any: zeros and nonzeros
    return hnp.arrays(np.float64, shape, elements=TRUTHY)


# --- reductions: the table ---------------------------------------------------------------------


@dataclass(frozen=True)
class Reduction:
    name: str
    fn: Callable[..., Any]  # (tensor, **kwargs) -> tensor
    ref: Callable[..., np.ndarray]  # (float64 ndarray, **kwargs) -> ndarray
    kwargs: Callable[[tuple[int, ...]], st.SearchStrategy[dict[str, Any]]]
    grad_fn: str | None  # None: an integer or boolean result, which never requires grad
    values: str = "real"  # see `values`
    out: str = "float"  # float (the input's dtype), int64 or bool
    min_dims: int = 0


def no_kwargs(shape: tuple[int, ...]) -> st.SearchStrategy[dict[str, Any]]:
    return st.just({})


def by_name(specs: list[Reduction]) -> Any:
    return pytest.mark.parametrize("spec", specs, ids=[spec.name for spec in specs])


def expected_grad_fn(spec: Reduction, kw: dict[str, Any]) -> str | None:
    """sum and mean are SumBackward0/MeanBackward0 over everything, ...1 with dim=."""
    if spec.grad_fn in ("Sum", "Mean"):
        return f"{spec.grad_fn}Backward{int('dim' in kw)}"
    return spec.grad_fn


def out_dtype(spec: Reduction, dtype: Any) -> Any:
    return {"float": dtype, "int64": torch.int64, "bool": torch.bool}[spec.out]


def check_reduction_forward(
    spec: Reduction, a: np.ndarray, kw: dict[str, Any], dtype: Any, layout: Layout
) -> None:
    expected = np.asarray(spec.ref(a, **kw))
    fn = laid_out(layout, spec.fn)
    for requires_grad in (False, True):
        out = fn(to_tensor(layout.store(a), dtype, requires_grad), **kw)
        what = f"{spec.name}{kw} on {a.shape} ({layout.name}, requires_grad={requires_grad})"
        assert out.dtype == out_dtype(spec, dtype), what
        assert tuple(out.shape) == expected.shape, f"{what}: shape {tuple(out.shape)}"
        if spec.out == "float":
            assert_close(out, expected, tolerance(dtype).forward, what)
            assert out.requires_grad is requires_grad, what
            if requires_grad:
                assert out.grad_fn.name() == expected_grad_fn(spec, kw), what
        else:
            np.testing.assert_array_equal(out.numpy(), expected.astype(out.numpy().dtype), what)
            assert not out.requires_grad and out.grad_fn is None, what


def check_reduction(spec: Reduction, dtype: Any, data: st.DataObject) -> None:
    # The forward (values, dtype, shape, grad_fn) against NumPy on a drawn layout, then
    # backward(gradient=c) against float64 finite differences. norm(p=0) is piecewise constant:
    # its gradient is checked apart (test_norm_p0_gradient_is_undefined).
    shape = data.draw(shapes(spec.min_dims), label="shape")
    a = rounded(data.draw(values(spec.values, shape), label="x"), dtype)
    kw = data.draw(spec.kwargs(shape), label="kwargs")
    layout = data.draw(st.sampled_from(LAYOUTS), label="layout")
    check_reduction_forward(spec, a, kw, dtype, layout)
    if spec.out == "float" and spec.name != "norm_p0":
        fn = laid_out(layout, spec.fn)
        check_first_order(fn, [layout.store(a)], kw, dtype, data_rng(data), f"{spec.name}{kw}")


def check_reduction_second_order(spec: Reduction, data: st.DataObject) -> None:
    shape = data.draw(shapes(spec.min_dims), label="shape")
    a = data.draw(values(spec.values, shape), label="x")
    kw = data.draw(spec.kwargs(shape), label="kwargs")
    check_second_order(spec.fn, [a], kw, data_rng(data), f"{spec.name}{kw}")


def check_expanded(spec: Reduction, kw: dict[str, Any], rng: np.random.Generator) -> None:
    # stride-0 rows: x (1, 4) expanded to (3, 4); the gradient is summed over the copies
    a = np.array([[0.7, -1.3, 1.9, -0.4]])
    expected = spec.ref(np.broadcast_to(a, (3, 4)), **kw)

    def fn(x: Any, **kwargs: Any) -> Any:
        return spec.fn(x.expand(3, 4), **kwargs)

    out = fn(to_tensor(a, torch.float64), **kw)
    assert_close(out, np.asarray(expected), 1e-12, spec.name)
    check_first_order(fn, [a], kw, torch.float64, rng, f"{spec.name}{kw} expanded")


def check_zero_size(fn: Callable[[Any], Any], a: np.ndarray, expected: np.ndarray) -> None:
    x = to_tensor(a, torch.float64, requires_grad=True)
    out = fn(x)
    assert tuple(out.shape) == expected.shape
    got = out.detach().numpy()
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)
    # +0.0, as in PyTorch (the empty sum of squares is 0, and so is its root)
    assert not np.any(np.signbit(got[got == 0])) if got.dtype == np.float64 else True
    if out.requires_grad:
        out.backward(torch.ones_like(out))
        assert tuple(x.grad.shape) == a.shape


def check_zero_size_matches_torch(
    fn: Callable[[Any], Any], a: np.ndarray, expected: np.ndarray, torch_ref: Any
) -> None:
    got = fn(torch_ref.tensor(a)).numpy()
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)
    if got.dtype == np.float64:
        assert not np.any(np.signbit(got[got == 0]))


def check_zero_dim(fn: Callable[[Any], Any], expected: Any) -> None:
    x = torch.tensor(-3.0, dtype=torch.float64, requires_grad=True)
    out = fn(x)
    assert tuple(out.shape) == ()
    assert out.item() == expected and type(out.item()) is type(expected)


def check_forms_agree(forms: tuple[Callable[[Any], Any], Callable[[Any], Any]], rng: Any) -> None:
    """The method and the function form give the same values, grad_fn and gradient."""
    a = rng.permutation(24).reshape(2, 3, 4) * 0.125 - 1.4
    results = []
    for call in forms:
        x = to_tensor(a, torch.float64, requires_grad=True)
        out = call(x)
        grad = None
        if out.requires_grad:
            out.backward(torch.ones_like(out))
            grad = to_numpy(x.grad)
        results.append((out.detach().numpy(), out.grad_fn and out.grad_fn.name(), grad))
    (v1, n1, g1), (v2, n2, g2) = results
    assert n1 == n2
    np.testing.assert_array_equal(v1, v2)
    assert (g1 is None) == (g2 is None)
    if g1 is not None:
        np.testing.assert_array_equal(g1, g2)
