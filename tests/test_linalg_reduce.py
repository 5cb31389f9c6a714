"""Matrix products, reductions, softmax and log_softmax: values, gradients, names and errors.

Ops: ``matmul``/``@`` (every rank combination, broadcast batch dims), ``mm bmm mv dot outer``;
``sum mean prod amax amin max min argmax argmin var std norm logsumexp all any``; ``softmax
log_softmax``. Each is checked for

- its forward against NumPy, in float64 and float32, on contiguous and non-contiguous inputs
  (transposed, permuted, and sliced with a step), with the result dtype and shape PyTorch gives,
  and on zero-size and 0-d inputs where PyTorch allows them;
- its first derivatives against float64 central finite differences (``gradcheck_util``), over
  hypothesis-drawn shapes and values; max/min/amax/amin/norm/std get distinct, nonzero values so
  that no finite difference straddles a tie or a kink, and the tie rules have closed-form tests;
- second derivatives (``torch.autograd.grad(..., create_graph=True)`` twice) for the curved ops;
- PyTorch's ``grad_fn`` names, and ``requires_grad=False`` for integer and boolean results;
- PyTorch's exact exception types and messages.

A last section compares against PyTorch itself where it is installed (``importorskip``): values
and gradients on random and on edge-case inputs, ``grad_fn`` names, and every error message of
this file (so that the texts here are PyTorch's, re-checked on each run).
"""

from __future__ import annotations

import math
import re
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pytest
from gradcheck_util import (
    TOL64,
    Tol,
    arrays_in,
    between,
    check_gradient,
    first_order_grads,
    np_dtype,
    scalarised,
    shapes,
    to_numpy,
    to_tensor,
)
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autodiff as torch

INF = math.inf
DTYPES = {"float64": torch.float64, "float32": torch.float32}
# float32 results against the float64 NumPy reference, and float32 gradients against float64
# finite differences: sums of up to 64 terms of size <= 2, products of up to 64 factors.
TOL32 = Tol(forward=2e-5, grad=3e-4)
REAL = between(-2.0, 2.0)


def raises(exc: type[BaseException], message: str) -> Any:
    """pytest.raises for the whole, exact message."""
    return pytest.raises(exc, match=f"^{re.escape(message)}$")


def tolerance(dtype: Any) -> Tol:
    return TOL64 if dtype == torch.float64 else TOL32


def rounded(a: np.ndarray, dtype: Any) -> np.ndarray:
    """The float64 copy of ``a`` rounded to ``dtype``: the values a tensor of that dtype holds."""
    return np.asarray(a, dtype=np_dtype(dtype)).astype(np.float64)


def assert_close(out: Any, expected: np.ndarray, tol: float, what: str = "") -> None:
    assert tuple(out.shape) == expected.shape, f"{what}: shape {tuple(out.shape)}"
    np.testing.assert_allclose(to_numpy(out), expected, rtol=tol, atol=tol, err_msg=what)


# --- memory layouts ------------------------------------------------------------------------------
# A layout stores the values of ``a`` in a leaf tensor of another shape or with extra elements,
# and ``view`` recovers a tensor equal to ``a`` that is not contiguous. Gradients flow to the
# stored array, so the finite differences see the layout as part of the function.


def _has_step_slicing() -> bool:
    try:
        return torch.zeros(4)[::2].shape == (2,)
    except (TypeError, NotImplementedError, IndexError, ValueError):
        return False


HAS_STEP_SLICING = _has_step_slicing()


@dataclass(frozen=True)
class Layout:
    name: str
    store: Callable[[np.ndarray], np.ndarray]
    view: Callable[[Any], Any]


def _interleave(a: np.ndarray) -> np.ndarray:
    """``a`` at the even positions of its last dim, junk (7.25) at the odd ones."""
    if a.ndim == 0:
        return a
    out = np.full((*a.shape[:-1], 2 * a.shape[-1]), 7.25)
    out[..., ::2] = a
    return out


LAYOUTS = [
    Layout("contiguous", lambda a: a, lambda x: x),
    # .t() for 0-d to 2-d, transpose(0, -1) above
    Layout(
        "transposed",
        lambda a: np.swapaxes(a, 0, -1) if a.ndim > 2 else a.T,
        lambda x: x.transpose(0, -1) if x.dim() > 2 else x.t(),
    ),
    Layout("permuted", lambda a: a.T, lambda x: x.permute(*reversed(range(x.dim())))),
]
if HAS_STEP_SLICING:
    LAYOUTS.append(
        Layout("sliced", _interleave, lambda x: x[..., ::2] if x.dim() > 0 else x),
    )
LAYOUT_IDS = [layout.name for layout in LAYOUTS]


def laid_out(layout: Layout, fn: Callable[..., Any]) -> Callable[..., Any]:
    """fn applied to the views of its (stored) tensor arguments."""
    return lambda *xs, **kw: fn(*(layout.view(x) for x in xs), **kw)


def test_layouts_give_non_contiguous_views():
    a = np.arange(12.0).reshape(3, 4)
    for layout in LAYOUTS:
        x = layout.view(to_tensor(layout.store(a), torch.float64))
        np.testing.assert_array_equal(to_numpy(x), a)
        assert x.is_contiguous() is (layout.name == "contiguous"), layout.name


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


@given(data=st.data())
def test_distinct_values_are_distinct_and_away_from_zero(data):
    a = data.draw(distinct_values(data.draw(shapes(), label="shape")), label="values")
    magnitudes = np.sort(np.abs(a).ravel())
    assert magnitudes[0] >= 0.3 and magnitudes[-1] <= 2.0 + 1e-12
    assert np.all(np.diff(magnitudes) >= 0.85 / 64 - 1e-12)


# --- gradient checks ---------------------------------------------------------------------------


def check_first_order(
    fn: Callable[..., Any],
    arrays: list[np.ndarray],
    kw: dict[str, Any],
    dtype: Any,
    rng: np.random.Generator,
    what: str,
) -> None:
    """backward(gradient=c) in ``dtype`` against float64 finite differences of <c, fn(x)>."""
    xs = [to_tensor(a, dtype, requires_grad=True) for a in arrays]
    out = fn(*xs, **kw)
    assert out.requires_grad and out.grad_fn is not None, what
    c = np.asarray(rng.standard_normal(tuple(out.shape)))
    out.backward(gradient=to_tensor(c, out.dtype))
    phi = scalarised(fn, c, kw)
    for k, x in enumerate(xs):
        where = f"{what}: d/d(input {k})"
        assert x.grad is not None, f"{where}: .grad is None"
        assert tuple(x.grad.shape) == arrays[k].shape, f"{where}: grad shape {x.grad.shape}"
        assert x.grad.dtype == dtype and x.grad.grad_fn is None, where
        check_gradient(phi, arrays, k, to_numpy(x.grad), tolerance(dtype).grad, rng, where)


def check_second_order(
    fn: Callable[..., Any],
    arrays: list[np.ndarray],
    kw: dict[str, Any],
    rng: np.random.Generator,
    what: str,
) -> None:
    """g = autograd.grad(fn(x), x, c, create_graph=True); autograd.grad(<v, g>, x) against
    float64 finite differences of x -> <v, g(x)>."""
    xs = [to_tensor(a, torch.float64, requires_grad=True) for a in arrays]
    out = fn(*xs, **kw)
    c = np.asarray(rng.standard_normal(tuple(out.shape)))
    grads = torch.autograd.grad(
        out, xs, grad_outputs=to_tensor(c, torch.float64), create_graph=True
    )
    assert len(grads) == len(xs)
    vs = [rng.standard_normal(a.shape) for a in arrays]
    s = None
    for k, (g, v) in enumerate(zip(grads, vs)):
        assert tuple(g.shape) == arrays[k].shape, what
        assert g.requires_grad and g.grad_fn is not None, f"{what}: gradient {k} has no graph"
        term = (g * to_tensor(v, torch.float64)).sum()
        s = term if s is None else s + term
    second = torch.autograd.grad(s, xs)

    def s_of(arrs: list[np.ndarray]) -> float:
        firsts = first_order_grads(fn, arrs, kw, c)
        return sum(float(np.sum(v * g)) for v, g in zip(vs, firsts))

    for k, h in enumerate(second):
        assert tuple(h.shape) == arrays[k].shape and h.grad_fn is None, what
        check_gradient(s_of, arrays, k, to_numpy(h), 1e-5, rng, f"{what}: d2/d(input {k})")


# --- matrix products: forward ------------------------------------------------------------------

MATMUL_SHAPES = [
    ((3,), (3,)),
    ((2, 3), (3,)),
    ((3,), (3, 2)),
    ((2, 3), (3, 4)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((3,), (2, 3, 4)),
    ((2, 3, 4), (4,)),
    ((4, 2, 3), (4, 3, 2)),
    ((3, 2), (4, 2, 3)),
    ((1, 2, 3), (3, 2)),
    ((2, 2, 3), (1, 3, 2)),
    ((2, 3), (5, 1, 3, 2)),
]
ZERO_MATMUL_SHAPES = [
    ((0,), (0,)),
    ((0, 3), (3,)),
    ((2, 0), (0,)),
    ((0,), (0, 3)),
    ((0, 3), (3, 2)),
    ((2, 0), (0, 3)),
    ((2, 3), (3, 0)),
    ((0, 2, 3), (3, 4)),
    ((2, 0, 3), (3,)),
    ((3,), (0, 3, 2)),
    ((2, 1, 3, 0), (5, 0, 2)),
]
MATMUL_FORMS: dict[str, Callable[[Any, Any], Any]] = {
    "@": lambda a, b: a @ b,
    "torch.matmul": lambda a, b: torch.matmul(a, b),
    "Tensor.matmul": lambda a, b: a.matmul(b),
}


def _shape_id(pair: tuple[tuple[int, ...], tuple[int, ...]]) -> str:
    return "@".join("x".join(map(str, s)) or "0d" for s in pair)


@pytest.mark.parametrize("layout", LAYOUTS, ids=LAYOUT_IDS)
@pytest.mark.parametrize("dtype", DTYPES.values(), ids=DTYPES.keys())
@pytest.mark.parametrize("pair", MATMUL_SHAPES + ZERO_MATMUL_SHAPES, ids=_shape_id)
def test_matmul_forward(pair, dtype, layout, rng):
    a, b = (rounded(rng.uniform(-2, 2, size=s), dtype) for s in pair)
    expected = np.matmul(a, b)
    results = []
    for name, form in MATMUL_FORMS.items():
        x, y = (layout.view(to_tensor(layout.store(v), dtype)) for v in (a, b))
        out = form(x, y)
        assert out.dtype == dtype, name
        assert_close(out, expected, tolerance(dtype).forward, f"{name} {pair}")
        results.append(to_numpy(out))
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])


PRODUCTS: dict[str, tuple[tuple[int, ...], tuple[int, ...], Callable[..., np.ndarray]]] = {
    "mm": ((2, 3), (3, 4), np.matmul),
    "bmm": ((2, 2, 3), (2, 3, 4), np.matmul),
    "mv": ((2, 3), (3,), np.matmul),
    "dot": ((3,), (3,), np.matmul),
    "outer": ((3,), (4,), np.outer),
}
ZERO_PRODUCTS = {
    "mm": [((0, 3), (3, 2)), ((2, 0), (0, 3)), ((2, 3), (3, 0))],
    "bmm": [((0, 2, 3), (0, 3, 4)), ((2, 0, 3), (2, 3, 4)), ((2, 2, 0), (2, 0, 4))],
    "mv": [((0, 3), (3,)), ((2, 0), (0,))],
    "dot": [((0,), (0,))],
    "outer": [((0,), (3,)), ((2,), (0,))],
}


def product_forms(name: str) -> list[Callable[[Any, Any], Any]]:
    return [
        lambda a, b: getattr(torch, name)(a, b),
        lambda a, b: getattr(a, name)(b),
    ]


@pytest.mark.parametrize("layout", LAYOUTS, ids=LAYOUT_IDS)
@pytest.mark.parametrize("dtype", DTYPES.values(), ids=DTYPES.keys())
@pytest.mark.parametrize("name", PRODUCTS)
def test_named_products_forward(name, dtype, layout, rng):
    sa, sb, ref = PRODUCTS[name]
    cases = [(sa, sb), *ZERO_PRODUCTS[name]]
    for pair in cases:
        a, b = (rounded(rng.uniform(-2, 2, size=s), dtype) for s in pair)
        expected = ref(a, b)
        for form in product_forms(name):
            x, y = (layout.view(to_tensor(layout.store(v), dtype)) for v in (a, b))
            out = form(x, y)
            assert out.dtype == dtype
            assert_close(out, expected, tolerance(dtype).forward, f"{name} {pair}")


def test_matmul_on_expanded_operands(rng):
    # stride-0 batch and column dims: the product and the gradients summed over the expansion
    a = rng.uniform(-2, 2, size=(1, 3, 4))
    b = rng.uniform(-2, 2, size=(4, 1))
    for fn in [
        lambda x, y: x.expand(5, 3, 4) @ y.expand(4, 2),
        lambda x, y: torch.bmm(x.expand(2, 3, 4), y.expand(4, 2).unsqueeze(0).expand(2, 4, 2)),
        lambda x, y: torch.mv(y.expand(4, 3).t(), y.squeeze(1)) * x.sum(),
    ]:
        check_first_order(fn, [a, b], {}, torch.float64, rng, "expanded matmul")
    out = to_tensor(a, torch.float64).expand(5, 3, 4) @ to_tensor(b, torch.float64).expand(4, 2)
    assert_close(out, np.broadcast_to(a, (5, 3, 4)) @ np.broadcast_to(b, (4, 2)), 1e-12)


@pytest.mark.parametrize("pair", ZERO_MATMUL_SHAPES, ids=_shape_id)
def test_matmul_zero_size_gradients(pair, rng):
    # Either the contraction is empty (a zero output, empty operands) or the output is empty:
    # every output entry and every gradient entry is 0, in the operands' own shapes.
    a, b = (rng.uniform(-2, 2, size=s) for s in pair)
    x, y = (to_tensor(v, torch.float64, requires_grad=True) for v in (a, b))
    out = x @ y
    expected = np.matmul(a, b)
    assert tuple(out.shape) == expected.shape
    np.testing.assert_array_equal(to_numpy(out), np.zeros(expected.shape))
    out.backward(torch.ones_like(out))
    for leaf, shape in zip((x, y), pair):
        assert tuple(leaf.grad.shape) == shape
        np.testing.assert_array_equal(to_numpy(leaf.grad), np.zeros(shape))


# --- matrix products: gradients ------------------------------------------------------------------


@st.composite
def matmul_shapes(draw: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Operand shapes of every rank combination from 1-D up to 4-D, batch dims broadcasting."""
    m, k, n = (draw(st.integers(1, 3), label=name) for name in "mkn")
    batch_a, batch_b = draw(
        hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3), label="batch"
    ).input_shapes
    vector_a, vector_b = draw(st.booleans(), label="a 1-D"), draw(st.booleans(), label="b 1-D")
    shape_a = (k,) if vector_a else (*batch_a, m, k)
    shape_b = (k,) if vector_b else (*batch_b, k, n)
    return shape_a, shape_b


def _seed(data: st.DataObject) -> np.random.Generator:
    # cotangents and directions only need to be generic, not shrunk
    return np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))


@pytest.mark.parametrize("dtype", DTYPES.values(), ids=DTYPES.keys())
@given(data=st.data())
def test_matmul_gradient(dtype, data):
    shape_a, shape_b = data.draw(matmul_shapes(), label="shapes")
    layout = data.draw(st.sampled_from(LAYOUTS), label="layout")
    form = data.draw(st.sampled_from(sorted(MATMUL_FORMS)), label="form")
    a, b = (rounded(data.draw(arrays_in(s, REAL)), dtype) for s in (shape_a, shape_b))
    fn = laid_out(layout, MATMUL_FORMS[form])
    x, y = (to_tensor(layout.store(v), dtype) for v in (a, b))
    assert_close(fn(x, y), np.matmul(a, b), tolerance(dtype).forward, f"{shape_a}@{shape_b}")
    stored = [layout.store(a), layout.store(b)]
    check_first_order(fn, stored, {}, dtype, _seed(data), f"{form} {shape_a}@{shape_b}")


@st.composite
def named_product_case(draw: Any) -> tuple[str, tuple[int, ...], tuple[int, ...]]:
    name = draw(st.sampled_from(sorted(PRODUCTS)), label="op")
    b, m, k, n = (draw(st.integers(1, 3), label=d) for d in "bmkn")
    return name, *{
        "mm": ((m, k), (k, n)),
        "bmm": ((b, m, k), (b, k, n)),
        "mv": ((m, k), (k,)),
        "dot": ((k,), (k,)),
        "outer": ((m,), (n,)),
    }[name]


@pytest.mark.parametrize("dtype", DTYPES.values(), ids=DTYPES.keys())
@given(data=st.data())
def test_named_products_gradient(dtype, data):
    name, shape_a, shape_b = data.draw(named_product_case(), label="case")
    method = data.draw(st.booleans(), label="method form")
    layout = data.draw(st.sampled_from(LAYOUTS), label="layout")
    a, b = (rounded(data.draw(arrays_in(s, REAL)), dtype) for s in (shape_a, shape_b))
    fn = laid_out(layout, product_forms(name)[method])
    stored = [layout.store(a), layout.store(b)]
    check_first_order(fn, stored, {}, dtype, _seed(data), f"{name} {shape_a} {shape_b}")


@given(data=st.data())
def test_matmul_second_derivative(data):
    # bilinear: d2/da2 = d2/db2 = 0 but the mixed terms are not, so each gradient has a graph
    shape_a, shape_b = data.draw(matmul_shapes(), label="shapes")
    a, b = (data.draw(arrays_in(s, REAL)) for s in (shape_a, shape_b))
    check_second_order(lambda x, y: x @ y, [a, b], {}, _seed(data), f"{shape_a}@{shape_b}")


@pytest.mark.parametrize("name", PRODUCTS)
def test_named_products_second_derivative(name, rng):
    sa, sb, _ = PRODUCTS[name]
    a, b = rng.uniform(-2, 2, size=sa), rng.uniform(-2, 2, size=sb)
    for form in product_forms(name):
        check_second_order(form, [a, b], {}, rng, name)


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


def _one_dim(ndim: int) -> st.SearchStrategy[int]:
    return st.integers(-ndim, ndim - 1)


def _dim_tuple(ndim: int) -> st.SearchStrategy[tuple[int, ...]]:
    return st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).flatmap(
        lambda ds: st.tuples(*(st.sampled_from((d, d - ndim)) for d in ds))
    )


def int_dim(shape: tuple[int, ...]) -> st.SearchStrategy[dict[str, Any]]:
    """dim= an int, non-negative or negative; keepdim= either."""
    return st.fixed_dictionaries({"dim": _one_dim(len(shape)), "keepdim": st.booleans()})


def int_dim_or_all(shape: tuple[int, ...]) -> st.SearchStrategy[dict[str, Any]]:
    if not shape:
        return st.just({})
    return st.one_of(st.just({}), int_dim(shape))


def dims(shape: tuple[int, ...]) -> st.SearchStrategy[dict[str, Any]]:
    """dim= an int or a tuple of distinct dims, each non-negative or negative; keepdim= either."""
    ndim = len(shape)
    return st.fixed_dictionaries(
        {"dim": st.one_of(_one_dim(ndim), _dim_tuple(ndim)), "keepdim": st.booleans()}
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


def _no_kwargs(shape: tuple[int, ...]) -> st.SearchStrategy[dict[str, Any]]:
    return st.just({})


REDUCTIONS = [
    Reduction("sum", lambda x, **kw: x.sum(**kw), np_reduce(np.sum), dims_or_all, "Sum"),
    Reduction("mean", lambda x, **kw: x.mean(**kw), np_reduce(np.mean), dims_or_all, "Mean"),
    Reduction("prod", lambda x: x.prod(), np_reduce(np.prod), _no_kwargs, "ProdBackward0", "zeros"),
    Reduction(
        "prod_dim",
        lambda x, **kw: x.prod(**kw),
        np_reduce(np.prod),
        int_dim,
        "ProdBackward1",
        "zeros",
        min_dims=1,
    ),
    Reduction(
        "amax",
        lambda x, **kw: x.amax(**kw),
        np_reduce(np.max),
        dims_or_all,
        "AmaxBackward0",
        "distinct",
    ),
    Reduction(
        "amin",
        lambda x, **kw: x.amin(**kw),
        np_reduce(np.min),
        dims_or_all,
        "AminBackward0",
        "distinct",
    ),
    Reduction("max", lambda x: x.max(), np_reduce(np.max), _no_kwargs, "MaxBackward1", "distinct"),
    Reduction("min", lambda x: x.min(), np_reduce(np.min), _no_kwargs, "MinBackward1", "distinct"),
    Reduction(
        "max_dim.values",
        lambda x, **kw: x.max(**kw).values,
        np_reduce(np.max),
        int_dim,
        "MaxBackward0",
        "distinct",
        min_dims=1,
    ),
    Reduction(
        "min_dim.values",
        lambda x, **kw: x.min(**kw).values,
        np_reduce(np.min),
        int_dim,
        "MinBackward0",
        "distinct",
        min_dims=1,
    ),
    Reduction(
        "max_dim.indices",
        lambda x, **kw: x.max(**kw).indices,
        np_arg(np.argmax),
        int_dim,
        None,
        "distinct",
        "int64",
        min_dims=1,
    ),
    Reduction(
        "min_dim.indices",
        lambda x, **kw: x.min(**kw).indices,
        np_arg(np.argmin),
        int_dim,
        None,
        "distinct",
        "int64",
        min_dims=1,
    ),
    Reduction(
        "argmax",
        lambda x, **kw: x.argmax(**kw),
        np_arg(np.argmax),
        int_dim_or_all,
        None,
        "distinct",
        "int64",
    ),
    Reduction(
        "argmin",
        lambda x, **kw: x.argmin(**kw),
        np_arg(np.argmin),
        int_dim_or_all,
        None,
        "distinct",
        "int64",
    ),
    Reduction("var", lambda x, **kw: x.var(**kw), np_var, var_kwargs(1), "VarBackward0"),
    # std has a kink where a lane is constant: distinct values and lanes of 2 or more
    Reduction(
        "std", lambda x, **kw: x.std(**kw), np_std, var_kwargs(2), "StdBackward0", "distinct"
    ),
    Reduction(
        "norm",
        lambda x, **kw: x.norm(**kw),
        np_norm,
        norm_kwargs(NORM_PS),
        "LinalgVectorNormBackward0",
        "distinct",
    ),
    Reduction(
        "norm_p0",
        lambda x, **kw: x.norm(**kw),
        np_norm,
        norm_kwargs([0]),
        "LinalgVectorNormBackward0",
        "zeros",
    ),
    Reduction(
        "logsumexp",
        lambda x, **kw: x.logsumexp(**kw),
        np_logsumexp,
        dims,
        "LogsumexpBackward0",
        min_dims=1,
    ),
    Reduction(
        "all", lambda x, **kw: x.all(**kw), np_reduce(np.all), dims_or_all, None, "truthy", "bool"
    ),
    Reduction(
        "any", lambda x, **kw: x.any(**kw), np_reduce(np.any), dims_or_all, None, "truthy", "bool"
    ),
    Reduction(
        "softmax",
        lambda x, dim: x.softmax(dim),
        np_softmax,
        lambda shape: _one_dim(len(shape)).map(lambda d: {"dim": d}),
        "SoftmaxBackward0",
        min_dims=1,
    ),
    Reduction(
        "log_softmax",
        lambda x, dim: x.log_softmax(dim),
        np_log_softmax,
        lambda shape: _one_dim(len(shape)).map(lambda d: {"dim": d}),
        "LogSoftmaxBackward0",
        min_dims=1,
    ),
]
BY_NAME = {spec.name: spec for spec in REDUCTIONS}


def _by_name(specs: list[Reduction]) -> Any:
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


@pytest.mark.parametrize("dtype", DTYPES.values(), ids=DTYPES.keys())
@_by_name(REDUCTIONS)
@given(data=st.data())
def test_reduction_forward_and_gradient(spec, dtype, data):
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
        check_first_order(fn, [layout.store(a)], kw, dtype, _seed(data), f"{spec.name}{kw}")


SECOND_ORDER = [
    BY_NAME["prod"],
    BY_NAME["prod_dim"],
    BY_NAME["var"],
    BY_NAME["std"],
    Reduction("norm", BY_NAME["norm"].fn, np_norm, norm_kwargs([2, 3, 4, "fro"]), None, "distinct"),
    BY_NAME["logsumexp"],
    BY_NAME["softmax"],
    BY_NAME["log_softmax"],
]


@_by_name(SECOND_ORDER)
@given(data=st.data())
def test_reduction_second_derivative(spec, data):
    shape = data.draw(shapes(spec.min_dims), label="shape")
    a = data.draw(values(spec.values, shape), label="x")
    kw = data.draw(spec.kwargs(shape), label="kwargs")
    check_second_order(spec.fn, [a], kw, _seed(data), f"{spec.name}{kw}")


EXPANDED: list[tuple[str, dict[str, Any]]] = [
    ("sum", {"dim": 0}),
    ("mean", {"dim": (0, 1)}),
    ("prod_dim", {"dim": 0}),
    ("amax", {"dim": 0}),  # the three copies tie: 1/3 each, summed back to 1
    ("max_dim.values", {"dim": 0, "keepdim": True}),  # all to the first copy
    ("var", {"dim": 1, "correction": 0}),
    ("std", {"dim": 1}),
    ("norm", {"p": INF, "dim": 0}),
    ("norm", {"p": 3}),
    ("logsumexp", {"dim": (0, 1)}),
    ("softmax", {"dim": 1}),
    ("log_softmax", {"dim": 0}),
]


@pytest.mark.parametrize(("name", "kw"), EXPANDED, ids=[f"{name}{kw}" for name, kw in EXPANDED])
def test_reductions_of_expanded_inputs(name, kw, rng):
    # stride-0 rows: x (1, 4) expanded to (3, 4); the gradient is summed over the copies
    spec = BY_NAME[name]
    a = np.array([[0.7, -1.3, 1.9, -0.4]])
    expected = spec.ref(np.broadcast_to(a, (3, 4)), **kw)

    def fn(x: Any, **kwargs: Any) -> Any:
        return spec.fn(x.expand(3, 4), **kwargs)

    out = fn(to_tensor(a, torch.float64), **kw)
    assert_close(out, np.asarray(expected), 1e-12, name)
    check_first_order(fn, [a], kw, torch.float64, rng, f"{name}{kw} expanded")


# --- reductions: fixed cases -------------------------------------------------------------------


def grad_of(fn: Callable[[Any], Any], values: Any, cotangent: Any = None, dtype: Any = None) -> Any:
    """(fn(x), x.grad) after fn(x).backward(cotangent or ones)."""
    x = torch.tensor(values, dtype=dtype or torch.float64, requires_grad=True)
    out = fn(x)
    out.backward(
        torch.ones_like(out) if cotangent is None else torch.tensor(cotangent, dtype=x.dtype)
    )
    return out, x.grad


THIRD = 1 / 3
TIES = [
    # max()/min() over everything, and amax/amin: the gradient is split evenly among the ties
    ("max", lambda x: x.max(), [1.0, 1.0], None, [0.5, 0.5]),
    ("max-3-ties", lambda x: x.max(), [[1.0, 3.0], [3.0, 3.0]], None, [[0, THIRD], [THIRD, THIRD]]),
    ("min", lambda x: x.min(), [2.0, 1.0, 1.0], None, [0.0, 0.5, 0.5]),
    ("torch.max", lambda x: torch.max(x), [4.0, 4.0, 4.0, 4.0], None, [0.25] * 4),
    ("amax", lambda x: x.amax(), [1.0, 1.0], None, [0.5, 0.5]),
    ("amin", lambda x: x.amin(), [[0.0, 2.0], [0.0, 0.0]], None, [[THIRD, 0.0], [THIRD, THIRD]]),
    (
        "amax-dim",
        lambda x: x.amax(1),
        [[1.0, 1.0, 0.0], [2.0, 5.0, 5.0]],
        [1.0, 2.0],
        [[0.5, 0.5, 0.0], [0.0, 1.0, 1.0]],
    ),
    (
        "amin-dim0-keepdim",
        lambda x: x.amin(0, keepdim=True),
        [[1.0, 1.0, 0.0], [1.0, 5.0, 0.0]],
        [[1.0, 3.0, -2.0]],
        [[0.5, 3.0, -1.0], [0.5, 0.0, -1.0]],
    ),
    (
        "amax-dims",
        lambda x: torch.amax(x, (0, -1)),
        [[2.0, 1.0], [2.0, 2.0]],
        6.0,
        [[2.0, 0.0], [2.0, 2.0]],
    ),
    # max(dim)/min(dim): the whole gradient goes to the returned index, the first occurrence
    (
        "max-dim",
        lambda x: x.max(1).values,
        [[1.0, 1.0, 0.0], [2.0, 5.0, 5.0]],
        [1.0, 2.0],
        [[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]],
    ),
    (
        "min-dim0",
        lambda x: x.min(0)[0],
        [[1.0, 1.0, 0.0], [1.0, 5.0, 0.0]],
        [1.0, 2.0, 3.0],
        [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]],
    ),
    (
        "torch.max-dim-keepdim",
        lambda x: torch.max(x, -1, keepdim=True).values,
        [[7.0, 7.0]],
        [[3.0]],
        [[3.0, 0.0]],
    ),
]


@pytest.mark.parametrize("dtype", DTYPES.values(), ids=DTYPES.keys())
@pytest.mark.parametrize(
    ("fn", "x", "cotangent", "expected"),
    [case[1:] for case in TIES],
    ids=[case[0] for case in TIES],
)
def test_max_min_tie_rules(fn, x, cotangent, expected, dtype):
    _, grad = grad_of(fn, x, cotangent, dtype)
    assert grad.dtype == dtype
    np.testing.assert_allclose(to_numpy(grad), np.array(expected), rtol=1e-7, atol=0)


def test_max_dim_and_argmax_pick_the_first_occurrence():
    x = torch.tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 0.0], [5.0, 5.0, 5.0]])
    assert x.max(1).indices.tolist() == [1, 0, 0]
    assert x.min(1).indices.tolist() == [0, 1, 0]
    assert x.max(0).indices.tolist() == [2, 2, 2]
    assert x.argmax(1).tolist() == [1, 0, 0]
    assert x.argmin(1).tolist() == [0, 1, 0]
    assert x.argmax().item() == 6 and x.argmin().item() == 4  # flattened, first occurrence
    assert torch.tensor([1.0, 3.0, 3.0]).argmax().item() == 1
    assert torch.tensor([2.0, 0.0, 0.0, 1.0]).argmin(0).item() == 1


def test_max_and_min_with_dim_return_named_tuples():
    x = torch.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]], requires_grad=True)
    for call, values, indices, grad_fn in [
        (lambda: x.max(1), [5.0, 7.0], [1, 0], "MaxBackward0"),
        (lambda: torch.max(x, dim=1), [5.0, 7.0], [1, 0], "MaxBackward0"),
        (lambda: x.min(0), [1.0, 0.0, 2.0], [0, 1, 0], "MinBackward0"),
        (lambda: torch.min(x, 0), [1.0, 0.0, 2.0], [0, 1, 0], "MinBackward0"),
        (lambda: x.max(-1), [5.0, 7.0], [1, 0], "MaxBackward0"),
    ]:
        result = call()
        assert isinstance(result, tuple) and len(result) == 2
        assert result.values is result[0] and result.indices is result[1]
        v, i = result
        assert v.tolist() == values and i.tolist() == indices
        assert v.dtype == torch.float32 and i.dtype == torch.int64
        assert v.grad_fn.name() == grad_fn
        assert not i.requires_grad and i.grad_fn is None
    assert type(x.max(1)) is torch.return_types.max
    assert type(x.min(1)) is torch.return_types.min
    kept = x.max(1, keepdim=True)
    assert tuple(kept.values.shape) == (2, 1) and tuple(kept.indices.shape) == (2, 1)
    assert kept.indices.tolist() == [[1], [0]]
    kept = torch.min(x, dim=0, keepdim=True)
    assert tuple(kept[0].shape) == (1, 3) and kept[1].tolist() == [[0, 1, 0]]


@pytest.mark.parametrize(
    ("call", "reference", "grad_fn"),
    [
        (lambda x, y: x.max(y), np.maximum, "MaximumBackward0"),
        (lambda x, y: torch.max(x, y), np.maximum, "MaximumBackward0"),
        (lambda x, y: x.min(y), np.minimum, "MinimumBackward0"),
        (lambda x, y: torch.min(x, y), np.minimum, "MinimumBackward0"),
    ],
    ids=["max-method", "max-function", "min-method", "min-function"],
)
def test_max_min_with_a_tensor_are_elementwise(call, reference, grad_fn, rng):
    # EVEN and ODD bands never meet, so there is no tie; the shapes broadcast
    def band(shape: tuple[int, ...], odd: bool) -> np.ndarray:
        k = rng.integers(-1, 1, size=shape) * 2 + odd
        return k + rng.uniform(0.1, 0.9, size=shape)

    for sa, sb in [((2, 3), (2, 3)), ((3, 1), (1, 4)), ((4,), (2, 3, 4)), ((2, 3), ())]:
        a, b = band(sa, False), band(sb, True)
        out = call(to_tensor(a, torch.float64, True), to_tensor(b, torch.float64))
        assert out.grad_fn.name() == grad_fn
        assert_close(out, reference(a, b), 0.0)
        check_first_order(call, [a, b], {}, torch.float64, rng, f"{grad_fn} {sa} {sb}")


def prod_grad_closed_form(a: np.ndarray, dim: int | None, c: np.ndarray) -> np.ndarray:
    """d/dx_i <c, prod(x, dim, keepdim=True)>: c of the lane times the product of the others."""
    moved = a.reshape(1, -1) if dim is None else np.moveaxis(a, dim, -1)
    lanes = moved.reshape(-1, moved.shape[-1])
    others = np.array([[np.prod(np.delete(row, i)) for i in range(row.size)] for row in lanes])
    cotangent = np.reshape(c, (1, 1)) if dim is None else np.moveaxis(c, dim, -1)
    grad = others.reshape(moved.shape) * cotangent
    return grad.reshape(a.shape) if dim is None else np.moveaxis(grad, -1, dim)


@pytest.mark.parametrize(
    ("x", "dim", "expected"),
    [
        ([2.0, 0.0, 3.0], None, [0.0, 6.0, 0.0]),
        ([2.0, 0.0, 0.0, 3.0], None, [0.0, 0.0, 0.0, 0.0]),
        ([0.0], None, [1.0]),
        ([[2.0, 0.0, 3.0], [0.0, 0.0, 5.0], [1.0, 2.0, 3.0]], 1, [[0, 6, 0], [0, 0, 0], [6, 3, 2]]),
        (
            [[2.0, 0.0, 3.0], [0.0, 0.0, 5.0], [1.0, 2.0, 3.0]],
            0,
            [[0, 0, 15], [2, 0, 9], [0, 0, 15]],
        ),
    ],
    ids=["one-zero", "two-zeros", "single-zero", "rows", "columns"],
)
def test_prod_gradient_with_zeros_is_the_product_of_the_others(x, dim, expected):
    fn = (lambda t: t.prod()) if dim is None else (lambda t: t.prod(dim))
    out, grad = grad_of(fn, x)
    assert out.grad_fn.name() == ("ProdBackward0" if dim is None else "ProdBackward1")
    np.testing.assert_array_equal(to_numpy(grad), np.array(expected, dtype=np.float64))


@given(data=st.data())
def test_prod_gradient_with_zeros_matches_the_closed_form(data):
    shape = data.draw(shapes(1), label="shape")
    a = data.draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([0.0, 0.5, -2.0, 3.0])))
    dim = data.draw(st.one_of(st.none(), _one_dim(len(shape))), label="dim")
    rng = _seed(data)
    x = to_tensor(a, torch.float64, requires_grad=True)
    out = x.prod() if dim is None else x.prod(dim, keepdim=True)
    c = rng.standard_normal(tuple(out.shape))
    out.backward(to_tensor(c, torch.float64))
    expected = prod_grad_closed_form(a, dim, c)
    np.testing.assert_allclose(to_numpy(x.grad), expected, rtol=1e-12, atol=1e-12)


def test_prod_second_derivative_with_two_zeros():
    # prod(x0, x1, x2) at (1, 0, 0): the gradient is 0, but d2/dx1 dx2 = x0 = 1
    x = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(x.prod(), x, create_graph=True)
    assert g.tolist() == [0.0, 0.0, 0.0]
    pick = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)
    (h,) = torch.autograd.grad((g * pick).sum(), x)
    assert h.tolist() == [0.0, 1.0, 0.0]


@pytest.mark.parametrize("dtype", DTYPES.values(), ids=DTYPES.keys())
def test_prod_gradient_precision(dtype):
    # d prod / d x0 = c * x1 exactly (4e-15 for float32, 4e-20 for float64). PyTorch computes
    # c * (prod / x0); (c * prod) / x0 goes through a subnormal c * prod and loses digits.
    x0, c = (1e-30, 1e-15) if dtype == torch.float32 else (1e-300, 1e-20)
    for reduce in (lambda t: t.prod(), lambda t: t.prod(1)):
        x = torch.tensor([[x0, 4.0]], dtype=dtype, requires_grad=True)
        out = reduce(x)
        out.backward(torch.full(tuple(out.shape), c, dtype=dtype))
        assert to_numpy(x.grad)[0, 0] == pytest.approx(4 * c, rel=1e-6, abs=0)


VAR_FORMS = [
    # (call, with {op} for var and std, ddof, dim, keepdim)
    ("x.{op}()", 1, None, False),
    ("x.{op}(False)", 0, None, False),
    ("x.{op}(True)", 1, None, False),
    ("x.{op}(unbiased=False)", 0, None, False),
    ("x.{op}(correction=0)", 0, None, False),
    ("x.{op}(correction=2)", 2, None, False),
    ("x.{op}(1)", 1, 1, False),
    ("x.{op}(1, False)", 0, 1, False),
    ("x.{op}(-1, True, True)", 1, -1, True),
    ("x.{op}(dim=(0, 1), correction=0, keepdim=True)", 0, (0, 1), True),
    ("x.{op}(dim=(-1,), correction=2)", 2, (-1,), False),
    ("x.{op}(dim=None, correction=2)", 2, None, False),
    ("torch.{op}(x, False)", 0, None, False),
    ("torch.{op}(x, 0, correction=2)", 2, 0, False),
    ("torch.{op}(x, dim=1, unbiased=False, keepdim=True)", 0, 1, True),
]


@pytest.mark.parametrize("op", ["var", "std"])
@pytest.mark.parametrize(
    ("template", "ddof", "dim", "keepdim"), VAR_FORMS, ids=[form[0] for form in VAR_FORMS]
)
def test_var_std_argument_forms(template, ddof, dim, keepdim, op, rng):
    a = rng.uniform(-2, 2, size=(3, 4))
    fn = eval(f"lambda x: {template.format(op=op)}", {"torch": torch})
    reference = np.var if op == "var" else np.std
    out = fn(to_tensor(a, torch.float64, requires_grad=True))
    assert out.grad_fn.name() == ("VarBackward0" if op == "var" else "StdBackward0")
    assert_close(out, reference(a, axis=dim, ddof=ddof, keepdims=keepdim), 1e-12)
    check_first_order(fn, [a], {}, torch.float64, rng, template.format(op=op))


NORM_P_ALL: list[Any] = [1, 2, 3, INF, -INF, 0, "fro", 4, 0.5, -1]
NORM_DIMS: list[Any] = [None, 1, -1, (0, 1), (-1, 0)]


@pytest.mark.parametrize("dtype", DTYPES.values(), ids=DTYPES.keys())
@pytest.mark.parametrize("p", NORM_P_ALL, ids=str)
def test_norm_orders_and_dims(p, dtype):
    # a zero entry so that p=0 counts, and one negative row for the absolute values
    a = rounded(np.array([[1.5, 0.0, -2.0, 0.25], [-0.5, -1.0, 3.0, 0.75]]), dtype)
    for dim in NORM_DIMS:
        for keepdim in (False, True):
            expected = np_norm(a, p, dim, keepdim)
            x = to_tensor(a, dtype, requires_grad=True)
            calls = [
                x.norm(p, dim, keepdim),
                x.norm(p=p, dim=dim, keepdim=keepdim),
                torch.norm(x, p, dim, keepdim),
            ]
            if dim is None and not keepdim:
                calls.append(x.norm(p))
            for out in calls:
                assert out.dtype == dtype
                assert out.grad_fn.name() == "LinalgVectorNormBackward0"
                assert_close(out, expected, tolerance(dtype).forward, f"norm(p={p}, dim={dim})")
    assert_close(to_tensor(a, dtype).norm(), np_norm(a), tolerance(dtype).forward)


def test_norm_p0_gradient_is_undefined():
    # PyTorch's norm backward returns an undefined gradient for p=0: x.grad stays None
    x = torch.tensor([1.5, 0.0, -2.0], dtype=torch.float64, requires_grad=True)
    y = x.norm(0)
    assert y.item() == 2.0 and y.requires_grad
    y.backward()
    assert x.grad is None


@pytest.mark.parametrize(
    ("p", "x", "expected"),
    [
        # at zero entries the gradient is 0, as in PyTorch (which masks them), for every p
        (2, [0.0, 0.0], [0.0, 0.0]),
        (1, [0.0, 2.0], [0.0, 1.0]),
        (3, [0.0, 2.0], [0.0, 1.0]),
        (3, [0.0, 0.0], [0.0, 0.0]),
        (-1, [0.0, -1.0, 2.0], [0.0, 0.0, 0.0]),
        (0.5, [0.0, -1.0, 4.0], [0.0, -3.0, 1.5]),
        (INF, [1.0, -1.0, 0.5], [0.5, -0.5, 0.0]),  # ties split evenly
        (-INF, [1.0, -1.0, 2.0], [0.5, -0.5, 0.0]),
        (-INF, [0.0, -1.0, 2.0], [0.0, 0.0, 0.0]),
        ("fro", [[3.0, 0.0], [0.0, -4.0]], [[0.6, 0.0], [0.0, -0.8]]),
    ],
)
def test_norm_gradient_closed_forms(p, x, expected):
    _, grad = grad_of(lambda t: t.norm(p), x)
    np.testing.assert_allclose(to_numpy(grad), np.array(expected), rtol=1e-12, atol=0)


def test_std_of_a_constant_lane_has_zero_gradient():
    # std is not differentiable where it is 0; PyTorch masks the gradient to 0 there
    _, grad = grad_of(lambda t: t.std(), [1.0, 1.0, 1.0])
    assert to_numpy(grad).tolist() == [0.0, 0.0, 0.0]
    _, grad = grad_of(lambda t: t.std(1), [[2.0, 2.0], [1.0, 3.0]])
    np.testing.assert_allclose(to_numpy(grad), [[0.0, 0.0], [-(0.5**0.5), 0.5**0.5]])


@pytest.mark.parametrize("reduction", ["max", "min"])
def test_max_min_of_nan_give_the_gradient_to_the_nan(reduction):
    # the result is NaN; PyTorch's evenly-distributed gradient goes to the NaN entries
    out, grad = grad_of(lambda t: getattr(t, reduction)(), [1.0, math.nan, 2.0])
    assert math.isnan(out.item())
    assert to_numpy(grad).tolist() == [0.0, 1.0, 0.0]


def test_var_std_warn_when_the_degrees_of_freedom_are_not_positive():
    # PyTorch: "var(): degrees of freedom is <= 0. ... (Triggered internally at ...)", a prefix
    for op, call, expected in [
        ("var", lambda: torch.tensor([2.0]).var(), math.nan),
        ("std", lambda: torch.tensor([2.0]).std(), math.nan),
        ("var", lambda: torch.tensor([[1.0], [2.0]]).var(1), math.nan),
        ("var", lambda: torch.tensor([2.0, 3.0]).var(correction=2), math.inf),
        # PyTorch divides the numels: 0 / 0 for an empty (0, 3) input, whatever the dim
        ("var", lambda: torch.zeros(0, 3).var(1), None),
        ("std", lambda: torch.zeros(0, 3).std(1, correction=0), None),
    ]:
        message = (
            f"{op}(): degrees of freedom is <= 0. Correction should be strictly less than the "
            "reduction factor (input numel divided by output numel)."
        )
        with pytest.warns(UserWarning, match="^" + re.escape(message)):
            out = call()
        if expected is None:
            assert tuple(out.shape) == (0,)
        else:
            np.testing.assert_array_equal(to_numpy(out), np.full(tuple(out.shape), expected))


# --- softmax, log_softmax, logsumexp: stability --------------------------------------------------


SOFTMAX_FORMS: dict[str, Callable[[Any, int], Any]] = {
    "softmax": lambda x, d: x.softmax(d),
    "torch.softmax": lambda x, d: torch.softmax(x, d),
    "softmax(dim=)": lambda x, d: torch.softmax(x, dim=d),
    "log_softmax": lambda x, d: x.log_softmax(d),
    "torch.log_softmax": lambda x, d: torch.log_softmax(x, d),
    "log_softmax(dim=)": lambda x, d: x.log_softmax(dim=d),
}


def softmax_reference(name: str) -> Callable[[np.ndarray, int], np.ndarray]:
    return np_log_softmax if "log" in name else np_softmax


@pytest.mark.parametrize("dtype", DTYPES.values(), ids=DTYPES.keys())
@pytest.mark.parametrize("name", SOFTMAX_FORMS)
@pytest.mark.parametrize("offset", [1000.0, -1000.0, 80.0, 0.0])
def test_softmax_is_stable_for_large_inputs(name, offset, dtype, rng):
    # softmax(x + k) = softmax(x): with k = 1000, exp overflows (and with -1000 underflows)
    # unless the maximum is subtracted first
    base = rng.uniform(-3, 3, size=(3, 4))
    a = rounded(base + offset, dtype)
    for d in range(-2, 2):
        out = SOFTMAX_FORMS[name](to_tensor(a, dtype, requires_grad=True), d)
        expected = softmax_reference(name)(a - offset, d)
        assert out.dtype == dtype
        assert np.all(np.isfinite(to_numpy(out)))
        # float32: a - offset loses the low bits of a, which the reference also sees
        assert_close(out, expected, tolerance(dtype).forward, f"{name} dim {d}")
        out.backward(torch.ones_like(out))


@pytest.mark.parametrize("dtype", DTYPES.values(), ids=DTYPES.keys())
def test_logsumexp_is_stable_for_large_inputs(dtype):
    for a, dim, expected in [
        ([1000.0, 1000.0], 0, 1000.0 + math.log(2)),
        ([-1000.0, -1000.0], 0, -1000.0 + math.log(2)),
        (
            [[88.0, 89.0], [89.5, 90.0]],
            (0, 1),
            90.0 + math.log(1 + sum(math.exp(-v) for v in (2, 1, 0.5))),
        ),
        ([1000.0, 0.0], -1, 1000.0),
    ]:
        x = torch.tensor(a, dtype=dtype, requires_grad=True)
        out = x.logsumexp(dim)
        assert out.dtype == dtype
        np.testing.assert_allclose(out.item(), expected, rtol=tolerance(dtype).forward)
        out.backward()
        # the gradient exp(x - out) sums to 1 up to the rounding of out (1 ulp of 1000 in
        # float32 is 6e-5, and PyTorch gives 0.4999855 twice for [1000, 1000])
        grad = to_numpy(x.grad)
        assert np.all(np.isfinite(grad))
        assert abs(grad.sum() - 1.0) < (1e-12 if dtype == torch.float64 else 1e-4)


NEG_INF_ROWS = np.array([[-INF, 0.0, 1.0], [2.0, -INF, -INF], [-INF, -INF, -INF]])


def test_softmax_family_with_minus_infinity():
    # -inf entries get probability 0 and gradient 0 (softmax, logsumexp); a row of -inf alone
    # gives NaN (softmax, log_softmax) and -inf (logsumexp), as in PyTorch
    c = np.array([[1.0, 2.0, 3.0], [0.0, 1.0, -1.0], [1.0, 1.0, 1.0]])
    p = np.array([[0.0, 1 / (1 + math.e), math.e / (1 + math.e)], [1.0, 0.0, 0.0]])
    for dtype in DTYPES.values():
        x = torch.tensor(NEG_INF_ROWS, dtype=dtype, requires_grad=True)
        s = x.softmax(1)
        s.backward(torch.tensor(c, dtype=dtype))
        out, grad = to_numpy(s), to_numpy(x.grad)
        tol = tolerance(dtype).forward
        np.testing.assert_allclose(out[:2], p, rtol=tol, atol=tol)
        assert np.all(np.isnan(out[2]))
        expected = p * (c[:2] - np.sum(p * c[:2], axis=1, keepdims=True))
        np.testing.assert_allclose(grad[:2], expected, rtol=tol, atol=tol)

        x = torch.tensor(NEG_INF_ROWS, dtype=dtype, requires_grad=True)
        ls = x.log_softmax(1)
        ls.backward(torch.tensor(c, dtype=dtype))
        out, grad = to_numpy(ls), to_numpy(x.grad)
        with np.errstate(divide="ignore"):
            np.testing.assert_allclose(out[:2], np.log(p), rtol=tol, atol=tol)
        assert np.all(np.isnan(out[2]))
        expected = c[:2] - p * np.sum(c[:2], axis=1, keepdims=True)
        np.testing.assert_allclose(grad[:2], expected, rtol=tol, atol=tol)

        x = torch.tensor(NEG_INF_ROWS, dtype=dtype, requires_grad=True)
        lse = x.logsumexp(1)
        lse.backward(torch.tensor([1.0, 2.0, 3.0], dtype=dtype))
        out, grad = to_numpy(lse), to_numpy(x.grad)
        np.testing.assert_allclose(out[:2], [math.log(1 + math.e), 2.0], rtol=tol)
        assert out[2] == -INF
        np.testing.assert_allclose(grad[:2], p * np.array([[1.0], [2.0]]), rtol=tol, atol=tol)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_on_every_dim_of_a_3d_tensor(name, rng):
    a = rng.uniform(-3, 3, size=(2, 3, 4))
    for d in range(-3, 3):
        out = SOFTMAX_FORMS[name](to_tensor(a, torch.float64), d)
        assert_close(out, softmax_reference(name)(a, d), 1e-12, f"{name} dim {d}")
        if name == "softmax":
            np.testing.assert_allclose(to_numpy(out).sum(axis=d), 1.0, rtol=1e-12)


# --- zero-size and 0-d inputs ------------------------------------------------------------------

E = np.zeros((0, 3))
ZERO_SIZE = [
    # (id, call, input, expected)
    ("sum-0", lambda x: x.sum(0), E, np.zeros(3)),
    ("sum-1", lambda x: x.sum(1), E, np.zeros(0)),
    ("sum-all", lambda x: x.sum(), E, np.array(0.0)),
    ("mean-0", lambda x: x.mean(0), E, np.full(3, math.nan)),
    ("mean-all", lambda x: x.mean(), E, np.array(math.nan)),
    ("prod-0", lambda x: x.prod(0), E, np.ones(3)),
    ("prod-all", lambda x: x.prod(), E, np.array(1.0)),
    ("amax-1", lambda x: x.amax(1), E, np.zeros(0)),
    ("amin-1-keepdim", lambda x: x.amin(1, keepdim=True), E, np.zeros((0, 1))),
    ("max-dim-1", lambda x: x.max(1).values, E, np.zeros(0)),
    ("min-dim-1", lambda x: x.min(1).indices, E, np.zeros(0, dtype=np.int64)),
    ("argmax-1", lambda x: x.argmax(1), E, np.zeros(0, dtype=np.int64)),
    ("norm-0", lambda x: x.norm(dim=0), E, np.zeros(3)),
    ("norm-1-0", lambda x: x.norm(1, dim=0), E, np.zeros(3)),
    ("norm-all", lambda x: x.norm(), E, np.array(0.0)),
    ("logsumexp-0", lambda x: x.logsumexp(0), E, np.full(3, -INF)),
    ("logsumexp-1", lambda x: x.logsumexp(1), E, np.zeros(0)),
    ("softmax-0", lambda x: x.softmax(0), E, E),
    ("log_softmax-1", lambda x: x.log_softmax(1), E, E),
    ("all-0", lambda x: x.all(0), E, np.ones(3, dtype=bool)),
    ("any-0", lambda x: x.any(0), E, np.zeros(3, dtype=bool)),
    ("all", lambda x: x.all(), E, np.array(True)),
    ("any", lambda x: x.any(), E, np.array(False)),
]


@pytest.mark.parametrize(
    ("fn", "a", "expected"), [case[1:] for case in ZERO_SIZE], ids=[c[0] for c in ZERO_SIZE]
)
def test_zero_size_reductions(fn, a, expected):
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


ZERO_D = [
    # a 0-d tensor takes dim 0 and -1, and reduces over its single element
    ("sum", lambda x: x.sum(0), -3.0),
    ("mean", lambda x: x.mean(-1, keepdim=True), -3.0),
    ("prod", lambda x: x.prod(0), -3.0),
    ("amax", lambda x: x.amax(0), -3.0),
    ("amin", lambda x: x.amin(), -3.0),
    ("max", lambda x: x.max(), -3.0),
    ("max-dim", lambda x: x.max(0).values, -3.0),
    ("min-dim", lambda x: x.min(-1).indices, 0),
    ("argmax", lambda x: x.argmax(0), 0),
    ("argmin", lambda x: x.argmin(), 0),
    ("var", lambda x: x.var(0, correction=0), 0.0),
    ("norm", lambda x: x.norm(dim=0), 3.0),
    ("norm-inf", lambda x: x.norm(INF), 3.0),
    ("logsumexp", lambda x: x.logsumexp(0), -3.0),
    ("softmax", lambda x: x.softmax(0), 1.0),
    ("log_softmax", lambda x: x.log_softmax(-1), 0.0),
    ("all", lambda x: x.all(0), True),
    ("any", lambda x: x.any(), True),
]


@pytest.mark.parametrize(("fn", "expected"), [c[1:] for c in ZERO_D], ids=[c[0] for c in ZERO_D])
def test_zero_dim_reductions(fn, expected):
    x = torch.tensor(-3.0, dtype=torch.float64, requires_grad=True)
    out = fn(x)
    assert tuple(out.shape) == ()
    assert out.item() == expected and type(out.item()) is type(expected)


def test_matmul_of_two_vectors_is_zero_dim():
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    out = a @ a
    assert tuple(out.shape) == () and out.item() == 5.0
    out.backward()
    assert a.grad.tolist() == [2.0, 4.0]


# --- integer and boolean inputs ------------------------------------------------------------------


def _long(m: Any) -> Any:
    return m.tensor([[1, 5, 2], [7, 0, 3]])


def _bool(m: Any) -> Any:
    return m.tensor([[True, False, True], [True, True, True]])


LOG2 = math.log(2.0)
INTEGER_INPUTS: list[tuple[str, Callable[[Any], Any], Any, str]] = [
    # (id, fn(module), value, dtype): integer results stay int64, bool sums and products count
    ("sum", lambda m: _long(m).sum(), 18, "int64"),
    ("sum-dim", lambda m: _long(m).sum(1), [8, 10], "int64"),
    ("prod", lambda m: _long(m).prod(), 0, "int64"),
    ("prod-dim", lambda m: m.prod(_long(m), 0), [7, 0, 6], "int64"),
    ("amax", lambda m: _long(m).amax(1), [5, 7], "int64"),
    ("amin", lambda m: m.amin(_long(m)), 0, "int64"),
    ("max", lambda m: _long(m).max(), 7, "int64"),
    ("max-dim", lambda m: _long(m).max(1).values, [5, 7], "int64"),
    ("argmax", lambda m: _long(m).argmax(), 3, "int64"),
    ("all", lambda m: _long(m).all(1), [True, False], "bool"),
    ("any", lambda m: m.any(_long(m)), True, "bool"),
    ("matmul", lambda m: _long(m) @ _long(m).t(), [[30, 13], [13, 58]], "int64"),
    ("mm", lambda m: m.mm(_long(m), _long(m).t()), [[30, 13], [13, 58]], "int64"),
    (
        "bmm",
        lambda m: m.bmm(_long(m).unsqueeze(0), _long(m).t().unsqueeze(0)),
        [[[30, 13], [13, 58]]],
        "int64",
    ),  # fmt: skip
    ("mv", lambda m: _long(m).mv(m.tensor([1, 2, 3])), [17, 16], "int64"),
    ("dot", lambda m: m.dot(m.tensor([1, 5, 2]), m.tensor([1, 1, 1])), 8, "int64"),
    ("outer", lambda m: m.outer(m.tensor([1, 2]), m.tensor([3, 4])), [[3, 4], [6, 8]], "int64"),
    ("bool-sum", lambda m: _bool(m).sum(0), [2, 1, 2], "int64"),
    ("bool-prod", lambda m: _bool(m).prod(), 0, "int64"),
    ("bool-amax", lambda m: _bool(m).amax(0), [True, True, True], "bool"),
    ("bool-min-dim", lambda m: _bool(m).min(1).values, [False, True], "bool"),
    ("bool-min-dim-indices", lambda m: _bool(m).min(1).indices, [1, 0], "int64"),
    ("bool-all", lambda m: _bool(m).all(0), [True, False, True], "bool"),
    # all/any over dim=() reduce nothing (unlike sum(()), which reduces everything)
    ("bool-all-no-dims", lambda m: _bool(m).all(()), [[True, False, True], [True] * 3], "bool"),
    ("any-no-dims", lambda m: m.any(_long(m), dim=()), [[True] * 3, [True, False, True]], "bool"),
    # logsumexp of integers computes in the default float dtype
    ("logsumexp", lambda m: m.tensor([[0, 0], [1, 1]]).logsumexp(1), [LOG2, 1 + LOG2], "float32"),
]


@pytest.mark.parametrize(
    ("fn", "value", "dtype"), [c[1:] for c in INTEGER_INPUTS], ids=[c[0] for c in INTEGER_INPUTS]
)
def test_integer_and_boolean_inputs(fn, value, dtype):
    out = fn(torch)
    assert out.dtype == getattr(torch, dtype)
    assert not out.requires_grad
    assert out.tolist() == (pytest.approx(value, rel=1e-6) if dtype == "float32" else value)


# --- method and function forms -------------------------------------------------------------------

FORMS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "sum": (lambda x: x.sum((0, -1), True), lambda x: torch.sum(x, (0, -1), True)),
    "mean": (lambda x: x.mean(dim=1), lambda x: torch.mean(x, dim=1)),
    "prod": (lambda x: x.prod(), lambda x: torch.prod(x)),
    "prod_dim": (lambda x: x.prod(1, keepdim=True), lambda x: torch.prod(x, 1, True)),
    "amax": (lambda x: x.amax((0, 2)), lambda x: torch.amax(x, dim=(0, 2))),
    "amin": (lambda x: x.amin(-1, True), lambda x: torch.amin(x, -1, keepdim=True)),
    "max": (lambda x: x.max(), lambda x: torch.max(x)),
    "min": (lambda x: x.min(), lambda x: torch.min(x)),
    "max_dim": (lambda x: x.max(2)[0], lambda x: torch.max(x, 2).values),
    "min_dim": (lambda x: x.min(dim=0).values, lambda x: torch.min(x, dim=0)[0]),
    "var": (lambda x: x.var(1, keepdim=True), lambda x: torch.var(x, 1, keepdim=True)),
    "std": (lambda x: x.std(correction=0), lambda x: torch.std(x, correction=0)),
    "norm": (lambda x: x.norm(3, (1, 2)), lambda x: torch.norm(x, 3, (1, 2))),
    "logsumexp": (lambda x: x.logsumexp(-2), lambda x: torch.logsumexp(x, -2)),
    "softmax": (lambda x: x.softmax(1), lambda x: torch.softmax(x, 1)),
    "log_softmax": (lambda x: x.log_softmax(dim=0), lambda x: torch.log_softmax(x, dim=0)),
    "argmax": (lambda x: x.argmax(1), lambda x: torch.argmax(x, 1)),
    "argmin": (lambda x: x.argmin(), lambda x: torch.argmin(x)),
    "all": (lambda x: (x > 0).all(1), lambda x: torch.all(x > 0, 1)),
    "any": (lambda x: (x > 1).any((0, 1)), lambda x: torch.any(x > 1, dim=(0, 1))),
}


@pytest.mark.parametrize("name", FORMS)
def test_method_and_function_forms_agree(name, rng):
    a = rng.permutation(24).reshape(2, 3, 4) * 0.125 - 1.4
    results = []
    for call in FORMS[name]:
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


# --- grad_fn names ------------------------------------------------------------------------------
# Each entry: (id, fn(module, *tensors), input shapes, PyTorch's grad_fn name). Every input
# requires grad; the functions take the module so that the oracle section can run them on torch.

Shapes = list[tuple[int, ...]]
GRAD_FN_NAMES: list[tuple[str, Callable[..., Any], Shapes, str]] = [
    ("matmul-1D@1D", lambda m, a, b: a @ b, [(3,), (3,)], "DotBackward0"),
    ("matmul-2D@1D", lambda m, a, b: m.matmul(a, b), [(2, 3), (3,)], "MvBackward0"),
    ("matmul-1D@2D", lambda m, a, b: a @ b, [(3,), (3, 2)], "SqueezeBackward4"),
    ("matmul-2D@2D", lambda m, a, b: a.matmul(b), [(2, 3), (3, 4)], "MmBackward0"),
    ("matmul-3D@2D", lambda m, a, b: a @ b, [(4, 2, 3), (3, 2)], "UnsafeViewBackward0"),
    ("matmul-3D@1D", lambda m, a, b: a @ b, [(2, 3, 4), (4,)], "UnsafeViewBackward0"),
    ("matmul-1D@3D", lambda m, a, b: a @ b, [(3,), (2, 3, 4)], "UnsafeViewBackward0"),
    ("matmul-3D@3D", lambda m, a, b: a @ b, [(4, 2, 3), (4, 3, 2)], "UnsafeViewBackward0"),
    ("matmul-4D@3D", lambda m, a, b: a @ b, [(2, 1, 3, 4), (5, 4, 2)], "UnsafeViewBackward0"),
    # 2-D @ >=3-D with the 2-D operand requiring grad: PyTorch folds the batch into rows of the
    # transposed product and returns output.mT.contiguous(), so the last node is a clone
    ("matmul-2D@3D", lambda m, a, b: a @ b, [(3, 2), (4, 2, 3)], "CloneBackward0"),
    ("matmul-2D@4D", lambda m, a, b: a @ b, [(3, 2), (5, 4, 2, 3)], "CloneBackward0"),
    (
        "matmul-2D(no grad)@3D",
        lambda m, a, b: a.detach() @ b,
        [(3, 2), (4, 2, 3)],
        "UnsafeViewBackward0",
    ),
    ("mm", lambda m, a, b: m.mm(a, b), [(2, 3), (3, 4)], "MmBackward0"),
    ("bmm", lambda m, a, b: a.bmm(b), [(2, 2, 3), (2, 3, 4)], "BmmBackward0"),
    ("mv", lambda m, a, b: a.mv(b), [(2, 3), (3,)], "MvBackward0"),
    ("dot", lambda m, a, b: m.dot(a, b), [(3,), (3,)], "DotBackward0"),
    ("outer", lambda m, a, b: m.outer(a, b), [(3,), (4,)], "MulBackward0"),
    ("outer-method", lambda m, a, b: a.outer(b), [(3,), (4,)], "MulBackward0"),
    ("sum", lambda m, x: x.sum(), [(2, 3)], "SumBackward0"),
    ("sum-dims", lambda m, x: x.sum((0, 1)), [(2, 3)], "SumBackward1"),
    ("mean", lambda m, x: m.mean(x), [(2, 3)], "MeanBackward0"),
    ("mean-dim", lambda m, x: x.mean(-1), [(2, 3)], "MeanBackward1"),
    ("prod", lambda m, x: x.prod(), [(2, 3)], "ProdBackward0"),
    ("prod-dim", lambda m, x: m.prod(x, 1), [(2, 3)], "ProdBackward1"),
    ("max", lambda m, x: x.max(), [(2, 3)], "MaxBackward1"),
    ("min", lambda m, x: m.min(x), [(2, 3)], "MinBackward1"),
    ("max-dim.values", lambda m, x: x.max(1).values, [(2, 3)], "MaxBackward0"),
    ("min-dim.values", lambda m, x: m.min(x, 0)[0], [(2, 3)], "MinBackward0"),
    ("max-other", lambda m, a, b: a.max(b), [(2, 3), (3,)], "MaximumBackward0"),
    ("min-other", lambda m, a, b: m.min(a, b), [(2, 3), (3,)], "MinimumBackward0"),
    ("amax", lambda m, x: x.amax(), [(2, 3)], "AmaxBackward0"),
    ("amax-dims", lambda m, x: m.amax(x, (0, 1)), [(2, 3)], "AmaxBackward0"),
    ("amin", lambda m, x: x.amin(0), [(2, 3)], "AminBackward0"),
    ("var", lambda m, x: x.var(), [(2, 3)], "VarBackward0"),
    ("var-dim", lambda m, x: m.var(x, 1, correction=0), [(2, 3)], "VarBackward0"),
    ("std", lambda m, x: x.std(0), [(2, 3)], "StdBackward0"),
    ("norm", lambda m, x: x.norm(), [(2, 3)], "LinalgVectorNormBackward0"),
    ("norm-inf-dim", lambda m, x: x.norm(INF, 1), [(2, 3)], "LinalgVectorNormBackward0"),
    ("norm-fro", lambda m, x: m.norm(x, "fro"), [(2, 3)], "LinalgVectorNormBackward0"),
    ("norm-1", lambda m, x: x.norm(1), [(2, 3)], "LinalgVectorNormBackward0"),
    ("logsumexp", lambda m, x: x.logsumexp(1), [(2, 3)], "LogsumexpBackward0"),
    ("softmax", lambda m, x: x.softmax(0), [(2, 3)], "SoftmaxBackward0"),
    ("torch.softmax", lambda m, x: m.softmax(x, -1), [(2, 3)], "SoftmaxBackward0"),
    ("log_softmax", lambda m, x: x.log_softmax(1), [(2, 3)], "LogSoftmaxBackward0"),
    ("torch.log_softmax", lambda m, x: m.log_softmax(x, 0), [(2, 3)], "LogSoftmaxBackward0"),
]
NAME_IDS = [case[0] for case in GRAD_FN_NAMES]


def leaves(module: Any, shape_list: Shapes, rng: np.random.Generator) -> list[Any]:
    return [
        module.tensor(rng.uniform(-2, 2, size=s), dtype=module.float64, requires_grad=True)
        for s in shape_list
    ]


@pytest.mark.parametrize(("fn", "shape_list", "name"), [c[1:] for c in GRAD_FN_NAMES], ids=NAME_IDS)
def test_grad_fn_names(fn, shape_list, name, rng):
    out = fn(torch, *leaves(torch, shape_list, rng))
    assert out.grad_fn.name() == name
    assert out.requires_grad and not out.is_leaf


NO_GRAD_RESULTS: list[tuple[str, Callable[..., Any], Any]] = [
    ("argmax", lambda m, x: x.argmax(), "int64"),
    ("argmax-dim", lambda m, x: m.argmax(x, 1, keepdim=True), "int64"),
    ("argmin", lambda m, x: x.argmin(0), "int64"),
    ("all", lambda m, x: x.all(), "bool"),
    ("all-dims", lambda m, x: m.all(x, (0, 1)), "bool"),
    ("any", lambda m, x: x.any(1), "bool"),
    ("max-dim.indices", lambda m, x: x.max(1).indices, "int64"),
    ("min-dim.indices", lambda m, x: m.min(x, 0)[1], "int64"),
]


@pytest.mark.parametrize(
    ("fn", "dtype"), [c[1:] for c in NO_GRAD_RESULTS], ids=[c[0] for c in NO_GRAD_RESULTS]
)
def test_integer_and_boolean_results_do_not_require_grad(fn, dtype, rng):
    (x,) = leaves(torch, [(2, 3)], rng)
    out = fn(torch, x)
    assert out.dtype == getattr(torch, dtype)
    assert not out.requires_grad and out.grad_fn is None and out.is_leaf
    with raises(
        RuntimeError, "element 0 of tensors does not require grad and does not have a grad_fn"
    ):
        out.sum().backward()


# --- errors -------------------------------------------------------------------------------------
# (id, fn(module), exception type, PyTorch's whole message); test_errors_match_torch re-checks
# every entry against torch itself.


def _ones(m: Any, *shape: int, dtype: str = "float32") -> Any:
    return m.ones(*shape, dtype=getattr(m, dtype))


DIM_RANGE_2D = "Dimension out of range (expected to be in range of [-2, 1], but got {})"
EMPTY_ALL = (
    "{}(): Expected reduction dim to be specified for input.numel() == 0. "
    "Specify the reduction dim with the 'dim' argument."
)
DOF = "std and var only support floating point and complex dtypes"
VECTOR_NORM_DTYPE = (
    "linalg.vector_norm: Expected a floating point or complex tensor as input. Got {}"
)
ERRORS: list[tuple[str, Callable[[Any], Any], type[BaseException], str]] = [
    # matrix products
    ("mm-shapes", lambda m: m.mm(_ones(m, 3, 4), _ones(m, 3, 4)), RuntimeError,
     "mm: mat1 and mat2 shapes cannot be multiplied (3x4 and 3x4)"),
    ("mm-1d", lambda m: m.mm(_ones(m, 3), _ones(m, 3, 4)), RuntimeError,
     "mm: self must be a matrix, got 1-D tensor"),
    ("mm-3d", lambda m: _ones(m, 2, 3, 4).mm(_ones(m, 4, 2)), RuntimeError,
     "mm: self must be a matrix, got 3-D tensor"),
    ("mm-dtypes", lambda m: m.mm(_ones(m, 2, 3), _ones(m, 3, 2, dtype="float64")), RuntimeError,
     "expected m1 and m2 to have the same dtype, but got: float != double"),
    ("mm-dtypes-reversed", lambda m: m.mm(_ones(m, 2, 3, dtype="float64"), _ones(m, 3, 2)),
     RuntimeError, "expected m1 and m2 to have the same dtype, but got: double != float"),
    ("mm-bool", lambda m: m.mm(_ones(m, 2, 2, dtype="bool"), _ones(m, 2, 2, dtype="bool")),
     NotImplementedError, "\"addmm_impl_cpu_\" not implemented for 'Bool'"),
    ("matmul-bool", lambda m: _ones(m, 2, 2, dtype="bool") @ _ones(m, 2, 2, dtype="bool"),
     NotImplementedError, "\"addmm_impl_cpu_\" not implemented for 'Bool'"),
    ("matmul-long-float", lambda m: _ones(m, 2, 2, dtype="int64") @ _ones(m, 2, 2), RuntimeError,
     "expected m1 and m2 to have the same dtype, but got: long int != float"),
    ("bmm-2d", lambda m: m.bmm(_ones(m, 2, 3), _ones(m, 2, 3, 4)), RuntimeError,
     "batch1 must be a 3D tensor"),
    ("bmm-2d-second", lambda m: _ones(m, 2, 3, 4).bmm(_ones(m, 4, 3)), RuntimeError,
     "batch2 must be a 3D tensor"),
    ("bmm-batch", lambda m: m.bmm(_ones(m, 2, 3, 4), _ones(m, 3, 4, 5)), RuntimeError,
     "Expected size for first two dimensions of batch2 tensor to be: [2, 4] but got: [3, 4]."),
    ("bmm-inner", lambda m: m.bmm(_ones(m, 2, 3, 4), _ones(m, 2, 3, 5)), RuntimeError,
     "Expected size for first two dimensions of batch2 tensor to be: [2, 4] but got: [2, 3]."),
    ("bmm-dtypes", lambda m: m.bmm(_ones(m, 2, 3, 4), _ones(m, 2, 4, 5, dtype="float64")),
     RuntimeError, "expected scalar type Float but found Double"),
    ("mv-shapes", lambda m: m.mv(_ones(m, 3, 4), _ones(m, 3)), RuntimeError,
     "size mismatch, got input (3), mat (3x4), vec (3)"),
    ("mv-1d", lambda m: m.mv(_ones(m, 3), _ones(m, 3)), RuntimeError,
     "vector + matrix @ vector expected, got 1, 1, 1"),
    ("mv-2d-vector", lambda m: _ones(m, 3, 4).mv(_ones(m, 4, 1)), RuntimeError,
     "vector + matrix @ vector expected, got 1, 2, 2"),
    ("dot-1d-2d", lambda m: m.dot(_ones(m, 3), _ones(m, 3, 4)), RuntimeError,
     "1D tensors expected, but got 1D and 2D tensors"),
    ("dot-sizes", lambda m: _ones(m, 3).dot(_ones(m, 4)), RuntimeError,
     "inconsistent tensor size, expected tensor [3] and src [4] to have the same number of "
     "elements, but got 3 and 4 elements respectively"),
    ("dot-dtypes", lambda m: m.dot(_ones(m, 3), _ones(m, 3, dtype="float64")), RuntimeError,
     "dot : expected both vectors to have same dtype, but found Float and Double"),
    ("outer-2d", lambda m: m.outer(_ones(m, 3, 2), _ones(m, 4)), RuntimeError,
     "outer: Expected 1-D argument self, but got 2-D"),
    ("matmul-0d", lambda m: m.matmul(m.tensor(1.0), _ones(m, 3)), RuntimeError,
     "both arguments to matmul need to be at least 1D, but they are 0D and 1D"),
    ("matmul-0d-right", lambda m: _ones(m, 3) @ m.tensor(1.0), RuntimeError,
     "both arguments to matmul need to be at least 1D, but they are 1D and 0D"),
    ("matmul-1d-sizes", lambda m: _ones(m, 3) @ _ones(m, 4), RuntimeError,
     "inconsistent tensor size, expected tensor [3] and src [4] to have the same number of "
     "elements, but got 3 and 4 elements respectively"),
    ("matmul-2d@1d", lambda m: _ones(m, 2, 3) @ _ones(m, 4), RuntimeError,
     "size mismatch, got input (2), mat (2x3), vec (4)"),
    ("matmul-1d@2d", lambda m: _ones(m, 3) @ _ones(m, 4, 2), RuntimeError,
     "mm: mat1 and mat2 shapes cannot be multiplied (1x3 and 4x2)"),
    ("matmul-2d@2d", lambda m: _ones(m, 2, 3) @ _ones(m, 4, 2), RuntimeError,
     "mm: mat1 and mat2 shapes cannot be multiplied (2x3 and 4x2)"),
    ("matmul-batch", lambda m: _ones(m, 2, 3, 4) @ _ones(m, 3, 4, 2), RuntimeError,
     "The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 0"),
    ("matmul-dtypes", lambda m: _ones(m, 2, 3) @ _ones(m, 3, 2, dtype="float64"), RuntimeError,
     "expected m1 and m2 to have the same dtype, but got: float != double"),
    ("matmul-dtypes-1d", lambda m: _ones(m, 3) @ _ones(m, 3, dtype="float64"), RuntimeError,
     "dot : expected both vectors to have same dtype, but found Float and Double"),
    # reductions of empty tensors
    ("max-empty", lambda m: m.zeros(0).max(), RuntimeError, EMPTY_ALL.format("max")),
    ("min-empty", lambda m: m.zeros(0, 3).min(), RuntimeError, EMPTY_ALL.format("min")),
    ("amax-empty", lambda m: m.zeros(0, 3).amax(), RuntimeError, EMPTY_ALL.format("amax")),
    ("amax-empty-dim", lambda m: m.zeros(0, 3).amax(0), IndexError,
     "amax(): Expected reduction dim 0 to have non-zero size."),
    ("amin-empty-dim", lambda m: m.amin(m.zeros(0, 3), (0, 1)), IndexError,
     "amin(): Expected reduction dim 0 to have non-zero size."),
    ("max-empty-dim", lambda m: m.zeros(0, 3).max(0), IndexError,
     "max(): Expected reduction dim 0 to have non-zero size."),
    ("min-empty-dim", lambda m: m.min(m.zeros(0, 3), 0), IndexError,
     "min(): Expected reduction dim 0 to have non-zero size."),
    ("argmax-empty", lambda m: m.zeros(0).argmax(), IndexError,
     "argmax(): Expected reduction dim to be specified for input.numel() == 0."),
    ("argmin-empty", lambda m: m.argmin(m.zeros(0, 2)), IndexError,
     "argmin(): Expected reduction dim to be specified for input.numel() == 0."),
    ("argmax-empty-dim", lambda m: m.zeros(0, 3).argmax(0), IndexError,
     "argmax(): Expected reduction dim 0 to have non-zero size."),
    ("norm-inf-empty", lambda m: m.zeros(0).norm(INF), RuntimeError,
     "linalg.vector_norm cannot compute the inf norm on an empty tensor because the operation "
     "does not have an identity"),
    ("norm-minus-inf-empty", lambda m: m.zeros(0, 2).norm(-INF), RuntimeError,
     "linalg.vector_norm cannot compute the -inf norm on an empty tensor because the operation "
     "does not have an identity"),
    # (sic: no space before "because")
    ("norm-inf-empty-dim", lambda m: m.zeros(0, 3).norm(INF, dim=0), RuntimeError,
     "linalg.vector_norm cannot compute the inf norm on the dimension 0because this dimension is "
     "empty and the operation does not have an identity"),
    # dtypes
    ("var-int64", lambda m: _ones(m, 3, dtype="int64").var(), NotImplementedError, DOF),
    ("std-int64", lambda m: m.std(_ones(m, 3, dtype="int64"), 0), NotImplementedError, DOF),
    ("var-bool", lambda m: _ones(m, 3, dtype="bool").var(), NotImplementedError, DOF),
    ("norm-int64", lambda m: _ones(m, 3, dtype="int64").norm(), NotImplementedError,
     VECTOR_NORM_DTYPE.format("Long")),
    ("norm-int64-p1", lambda m: m.norm(_ones(m, 3, dtype="int64"), 1), NotImplementedError,
     VECTOR_NORM_DTYPE.format("Long")),
    ("norm-bool", lambda m: _ones(m, 3, dtype="bool").norm(), NotImplementedError,
     VECTOR_NORM_DTYPE.format("Bool")),
    ("mean-int64", lambda m: _ones(m, 3, dtype="int64").mean(), NotImplementedError,
     "mean(): could not infer output dtype. Input dtype must be either a floating point or "
     "complex dtype. Got: Long"),
    ("argmax-bool", lambda m: _ones(m, 3, dtype="bool").argmax(), NotImplementedError,
     "argmax(): does not support bool input"),
    (
        "argmin-bool",
        lambda m: m.argmin(_ones(m, 2, 2, dtype="bool"), 1),
        NotImplementedError,
        "argmin(): does not support bool input",
    ),
    # PyTorch names the kernel after the dim: ..._lastdim_kernel_impl for the last one
    ("softmax-int64", lambda m: _ones(m, 2, 3, dtype="int64").softmax(0), NotImplementedError,
     "\"softmax_kernel_impl\" not implemented for 'Long'"),
    ("softmax-int64-last", lambda m: m.softmax(_ones(m, 2, 3, dtype="int64"), 1),
     NotImplementedError, "\"softmax_lastdim_kernel_impl\" not implemented for 'Long'"),
    ("softmax-int64-1d", lambda m: _ones(m, 3, dtype="int64").softmax(0), NotImplementedError,
     "\"softmax_lastdim_kernel_impl\" not implemented for 'Long'"),
    ("softmax-bool", lambda m: _ones(m, 2, 3, dtype="bool").softmax(-1), NotImplementedError,
     "\"softmax_lastdim_kernel_impl\" not implemented for 'Bool'"),
    ("log_softmax-int64", lambda m: _ones(m, 2, 3, dtype="int64").log_softmax(0),
     NotImplementedError, "\"log_softmax_kernel_impl\" not implemented for 'Long'"),
    ("log_softmax-int64-last", lambda m: _ones(m, 2, 3, dtype="int64").log_softmax(-1),
     NotImplementedError, "\"log_softmax_lastdim_kernel_impl\" not implemented for 'Long'"),
    # dims
    ("sum-dim", lambda m: _ones(m, 2, 3).sum(2), IndexError, DIM_RANGE_2D.format(2)),
    ("mean-dims", lambda m: _ones(m, 2, 3).mean((0, 2)), IndexError, DIM_RANGE_2D.format(2)),
    ("prod-dim", lambda m: _ones(m, 2, 3).prod(2), IndexError, DIM_RANGE_2D.format(2)),
    ("amax-dim", lambda m: _ones(m, 2, 3).amax(2), IndexError, DIM_RANGE_2D.format(2)),
    ("amin-dim", lambda m: _ones(m, 2, 3).amin(-3), IndexError, DIM_RANGE_2D.format(-3)),
    ("max-dim", lambda m: _ones(m, 2, 3).max(2), IndexError, DIM_RANGE_2D.format(2)),
    ("min-dim", lambda m: m.min(_ones(m, 2, 3), -3), IndexError, DIM_RANGE_2D.format(-3)),
    ("argmax-dim", lambda m: _ones(m, 2, 3).argmax(2), IndexError, DIM_RANGE_2D.format(2)),
    ("argmin-dim", lambda m: _ones(m, 2, 3).argmin(-3), IndexError, DIM_RANGE_2D.format(-3)),
    ("var-dim", lambda m: _ones(m, 2, 3).var(2), IndexError, DIM_RANGE_2D.format(2)),
    ("std-dim", lambda m: _ones(m, 2, 3).std((0, 2)), IndexError, DIM_RANGE_2D.format(2)),
    ("norm-dim", lambda m: _ones(m, 2, 3).norm(dim=2), IndexError, DIM_RANGE_2D.format(2)),
    ("logsumexp-dim", lambda m: _ones(m, 2, 3).logsumexp(2), IndexError, DIM_RANGE_2D.format(2)),
    ("softmax-dim", lambda m: _ones(m, 2, 3).softmax(2), IndexError, DIM_RANGE_2D.format(2)),
    ("log_softmax-dim", lambda m: _ones(m, 2, 3).log_softmax(-3), IndexError,
     DIM_RANGE_2D.format(-3)),
    ("all-dim", lambda m: _ones(m, 2, 3).all(2), IndexError, DIM_RANGE_2D.format(2)),
    ("any-dim", lambda m: _ones(m, 2, 3).any(-3), IndexError, DIM_RANGE_2D.format(-3)),
    ("sum-dim-0d", lambda m: m.tensor(1.0).sum(1), IndexError,
     "Dimension out of range (expected to be in range of [-1, 0], but got 1)"),
    ("max-dim-0d", lambda m: m.tensor(1.0).max(-2), IndexError,
     "Dimension out of range (expected to be in range of [-1, 0], but got -2)"),
    ("amax-repeated", lambda m: _ones(m, 2, 3).amax((0, 0)), RuntimeError,
     "dim 0 appears multiple times in the list of dims"),
    ("amax-repeated-negative", lambda m: _ones(m, 2, 3).amax((1, -1)), RuntimeError,
     "dim 1 appears multiple times in the list of dims"),
    ("amin-repeated", lambda m: m.amin(_ones(m, 2, 3), (0, -2)), RuntimeError,
     "dim 0 appears multiple times in the list of dims"),
    ("sum-repeated", lambda m: _ones(m, 2, 3).sum((0, 0)), RuntimeError,
     "dim 0 appears multiple times in the list of dims"),
    ("mean-repeated", lambda m: _ones(m, 2, 3).mean((1, -1)), RuntimeError,
     "dim 1 appears multiple times in the list of dims"),
    ("var-repeated", lambda m: _ones(m, 2, 3).var((0, 0)), RuntimeError,
     "dim 0 appears multiple times in the list of dims"),
    ("norm-repeated", lambda m: _ones(m, 2, 3).norm(dim=(0, 0)), RuntimeError,
     "dim 0 appears multiple times in the list of dims"),
    ("logsumexp-repeated", lambda m: _ones(m, 2, 3).logsumexp((1, 1)), RuntimeError,
     "dim 1 appears multiple times in the list of dims"),
    ("all-repeated", lambda m: _ones(m, 2, 3).all((0, 0)), RuntimeError,
     "dim 0 appears multiple times in the list of dims"),
    ("norm-fro-3-dims", lambda m: _ones(m, 2, 3, 4).norm("fro", dim=(0, 1, 2)), RuntimeError,
     "linalg.matrix_norm: dim must be a 2-tuple. Got 0 1 2"),
]  # fmt: skip
ERROR_IDS = [case[0] for case in ERRORS]


@pytest.mark.parametrize(("fn", "exc", "message"), [c[1:] for c in ERRORS], ids=ERROR_IDS)
def test_errors(fn, exc, message):
    with raises(exc, message):
        fn(torch)


@pytest.mark.parametrize(
    "fn",
    [
        lambda m: _ones(m, 2, 3).prod((0, 1)),
        lambda m: _ones(m, 2, 3).max((0, 1)),
        lambda m: _ones(m, 2, 3).min((0, 1)),
        lambda m: _ones(m, 2, 3).argmax((0, 1)),
        lambda m: m.argmin(_ones(m, 2, 3), dim=(0,)),
        lambda m: _ones(m, 2, 3).softmax((0, 1)),
        lambda m: _ones(m, 2, 3).softmax(),
        lambda m: _ones(m, 2, 3).logsumexp(),
        lambda m: _ones(m, 2, 3).var(unbiased=False, correction=1),
    ],
    ids=[
        "prod",
        "max",
        "min",
        "argmax",
        "argmin",
        "softmax",
        "softmax-no-dim",
        "logsumexp-no-dim",
        "var-unbiased-and-correction",
    ],  # fmt: skip
)
def test_argument_errors_are_type_errors(fn):
    # PyTorch's argument parser: int-only dims reject tuples, dim is required for softmax and
    # logsumexp, unbiased= and correction= are different overloads. Its wording (a list of the
    # signatures) is not pinned; the type is.
    with pytest.raises(TypeError):
        fn(torch)


# --- float32 accuracy and the GIL ----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["uniform", "offset-normal", "lognormal"])
def test_float32_sum_and_mean_of_a_million_values(kind):
    # A float32 accumulator loses ~log2(1e6) bits on a naive left-to-right sum; PyTorch (cascade
    # summation) stays within a few ulps of the exactly rounded result, and so must we.
    rng = np.random.default_rng(7)
    v = {
        "uniform": lambda: rng.random(10**6),
        "offset-normal": lambda: rng.normal(10.0, 1.0, 10**6),
        "lognormal": lambda: rng.lognormal(0.0, 2.0, 10**6),
    }[kind]().astype(np.float32)
    exact = v.astype(np.float64)
    x = torch.tensor(v)
    assert x.dtype == torch.float32

    def check(got: np.ndarray, reference: np.ndarray, what: str) -> None:
        reference = reference.astype(np.float32)
        ulps = np.abs(got.astype(np.float64) - reference) / np.spacing(reference)
        assert got.dtype == np.float32 and np.max(ulps) <= 4, f"{what}: {np.max(ulps)} ulps"

    check(x.sum().numpy(), exact.sum(), "sum")
    check(x.mean().numpy(), exact.mean(), "mean")
    for shape, dim in [((2, 500_000), 1), ((500_000, 2), 0), ((1000, 1000), 0)]:
        m = x.reshape(*shape)
        check(m.sum(dim).numpy(), exact.reshape(shape).sum(dim), f"sum{shape} dim {dim}")
        check(m.mean(dim).numpy(), exact.reshape(shape).mean(dim), f"mean{shape} dim {dim}")
    check(x.reshape(1000, 1000).t().sum(1).numpy(), exact.reshape(1000, 1000).sum(0), "t().sum")


def test_large_matmul_releases_the_gil():
    # With a 1 s switch interval the main thread never hands the GIL over on its own during the
    # test; the counting thread (which gives it back at every time.sleep(0)) runs during a
    # product only if the product releases the GIL. A builtin that holds the GIL (sorting a
    # list) shows that the counter would otherwise stand still.
    rng = np.random.default_rng(3)
    a = torch.tensor(rng.standard_normal((512, 512)))
    b = torch.tensor(rng.standard_normal((512, 512)))
    big_list = list(range(10**6))
    count = 0
    stop = threading.Event()

    def counter() -> None:
        nonlocal count
        while not stop.is_set():
            count += 1
            time.sleep(0)

    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1.0)
    thread = threading.Thread(target=counter, daemon=True)
    thread.start()
    try:
        while count == 0:
            time.sleep(0.001)
        during_products: list[int] = []
        while len(during_products) < 20 and not any(during_products):
            before = count
            out = a @ b
            during_products.append(count - before)
        before = count
        sorted(big_list, reverse=True)
        during_sort = count - before
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(old_interval)
    assert tuple(out.shape) == (512, 512)
    assert during_sort == 0, "the GIL-holding control advanced the counter: the test is unsound"
    assert any(n > 0 for n in during_products), f"counter advances per product: {during_products}"


# --- against PyTorch -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def torch_ref() -> Any:
    return pytest.importorskip("torch")


def _gen(*shape_list: tuple[int, ...], lo: float = -2.0, hi: float = 2.0, offset: float = 0.0):
    return lambda rng: [rng.uniform(lo, hi, size=s) + offset for s in shape_list]


def _with(values: Any) -> Callable[[np.random.Generator], list[np.ndarray]]:
    return lambda rng: [np.array(values, dtype=np.float64)]


def _with_zeros(shape: tuple[int, ...]) -> Callable[[np.random.Generator], list[np.ndarray]]:
    def make(rng: np.random.Generator) -> list[np.ndarray]:
        a = rng.uniform(-2, 2, size=shape)
        a[rng.random(shape) < 0.35] = 0.0
        return [a]

    return make


ORACLE: list[tuple[str, Callable[..., Any], Callable[[np.random.Generator], list[np.ndarray]]]] = [
    ("matmul-1D@1D", lambda m, a, b: a @ b, _gen((4,), (4,))),
    ("matmul-2D@1D", lambda m, a, b: a @ b, _gen((3, 4), (4,))),
    ("matmul-1D@2D", lambda m, a, b: a @ b, _gen((4,), (4, 3))),
    ("matmul-2D@2D", lambda m, a, b: m.matmul(a, b), _gen((3, 4), (4, 5))),
    ("matmul-4D@3D", lambda m, a, b: a @ b, _gen((2, 1, 3, 4), (5, 4, 2))),
    ("matmul-1D@3D", lambda m, a, b: a @ b, _gen((3,), (2, 3, 4))),
    ("matmul-3D@1D", lambda m, a, b: a.matmul(b), _gen((2, 3, 4), (4,))),
    ("matmul-2D@3D", lambda m, a, b: a @ b, _gen((3, 2), (4, 2, 3))),
    ("matmul-transposed", lambda m, a, b: a.t() @ b.transpose(0, 1), _gen((4, 3), (5, 4))),
    ("mm", lambda m, a, b: m.mm(a, b), _gen((3, 4), (4, 2))),
    ("bmm", lambda m, a, b: a.bmm(b), _gen((2, 3, 4), (2, 4, 5))),
    ("mv", lambda m, a, b: m.mv(a, b), _gen((3, 4), (4,))),
    ("dot", lambda m, a, b: a.dot(b), _gen((5,), (5,))),
    ("outer", lambda m, a, b: m.outer(a, b), _gen((3,), (4,))),
    ("sum", lambda m, x: x.sum((0, -1), keepdim=True), _gen((2, 3, 4))),
    ("mean", lambda m, x: m.mean(x, 1), _gen((2, 3, 4))),
    ("prod", lambda m, x: x.prod(), _gen((2, 3))),
    ("prod-dim", lambda m, x: x.prod(-1, keepdim=True), _gen((3, 4))),
    ("prod-zeros", lambda m, x: x.prod(1), _with([[2.0, 0, 3], [0, 0, 5], [1, 2, 3]])),
    ("prod-zeros-random", lambda m, x: x.prod(0), _with_zeros((4, 5))),
    ("amax", lambda m, x: x.amax((0, 2)), _gen((2, 3, 4))),
    ("amin", lambda m, x: m.amin(x, -1, keepdim=True), _gen((2, 3, 4))),
    ("max", lambda m, x: x.max(), _gen((3, 4))),
    ("min", lambda m, x: m.min(x), _gen((3, 4))),
    ("max-dim", lambda m, x: x.max(1).values, _gen((3, 4))),
    ("min-dim-keepdim", lambda m, x: m.min(x, 0, keepdim=True)[0], _gen((3, 4))),
    ("max-other", lambda m, a, b: a.max(b), _gen((3, 4), (4,))),
    ("max-ties", lambda m, x: x.max(), _with([[1.0, 3.0], [3.0, 3.0]])),
    ("min-ties", lambda m, x: x.min(), _with([2.0, 1.0, 1.0])),
    ("amax-ties", lambda m, x: x.amax(1), _with([[1.0, 1.0, 0.0], [2.0, 5.0, 5.0]])),
    ("max-dim-ties", lambda m, x: x.max(1)[0], _with([[1.0, 1.0, 0.0], [2.0, 5.0, 5.0]])),
    ("max-nan", lambda m, x: x.max(), _with([1.0, math.nan, 2.0])),
    ("min-nan", lambda m, x: x.min(), _with([1.0, math.nan, 2.0])),
    ("amax-nan", lambda m, x: x.amax(0), _with([1.0, math.nan, 2.0])),
    ("var", lambda m, x: x.var(), _gen((3, 4))),
    ("var-dims", lambda m, x: m.var(x, (0, 2), correction=2, keepdim=True), _gen((2, 3, 4))),
    ("var-biased", lambda m, x: x.var(1, False), _gen((3, 4))),
    ("std", lambda m, x: x.std(0), _gen((3, 4))),
    ("std-biased", lambda m, x: m.std(x, unbiased=False), _gen((3, 4))),
    ("std-constant-lane", lambda m, x: x.std(1), _with([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]])),
    ("norm-2", lambda m, x: x.norm(), _gen((3, 4))),
    ("norm-1-dim", lambda m, x: x.norm(1, 1), _gen((3, 4))),
    ("norm-3-dims", lambda m, x: m.norm(x, 3, (0, 2), True), _gen((2, 3, 4))),
    ("norm-inf", lambda m, x: x.norm(INF), _gen((3, 4))),
    ("norm-minus-inf-dim", lambda m, x: x.norm(-INF, dim=0), _gen((3, 4))),
    ("norm-fro-dim", lambda m, x: x.norm("fro", dim=(0, 1)), _gen((2, 3, 4))),
    ("norm-0.5", lambda m, x: x.norm(0.5), _gen((3, 4))),
    ("norm-minus-1", lambda m, x: x.norm(-1, 1), _gen((3, 4))),
    ("norm-2-zero", lambda m, x: x.norm(), _with([0.0, 0.0])),
    ("norm-1-zero", lambda m, x: x.norm(1), _with([0.0, 2.0, -1.0])),
    ("norm-3-zero", lambda m, x: x.norm(3), _with([0.0, 2.0, -1.0])),
    ("norm-0.5-zero", lambda m, x: x.norm(0.5), _with([0.0, 2.0, -1.0])),
    ("norm-minus-1-zero", lambda m, x: x.norm(-1), _with([0.0, 2.0, -1.0])),
    ("norm-inf-ties", lambda m, x: x.norm(INF), _with([1.0, -1.0, 0.5])),
    ("norm-0", lambda m, x: x.norm(0), _with([0.0, 2.0, -1.0])),
    ("logsumexp", lambda m, x: x.logsumexp(1), _gen((3, 4))),
    ("logsumexp-dims", lambda m, x: m.logsumexp(x, (0, -1), keepdim=True), _gen((2, 3, 4))),
    ("logsumexp-large", lambda m, x: x.logsumexp(0), _gen((5, 2), offset=1000.0)),
    ("logsumexp-neg-inf", lambda m, x: x.logsumexp(1), _with(NEG_INF_ROWS)),
    ("softmax", lambda m, x: x.softmax(0), _gen((3, 4))),
    ("softmax-3d", lambda m, x: m.softmax(x, 1), _gen((2, 3, 4))),
    ("softmax-large", lambda m, x: x.softmax(-1), _gen((3, 4), offset=1000.0)),
    ("softmax-very-negative", lambda m, x: x.softmax(-1), _gen((3, 4), offset=-1000.0)),
    ("softmax-neg-inf", lambda m, x: x.softmax(1), _with(NEG_INF_ROWS)),
    ("log_softmax", lambda m, x: x.log_softmax(1), _gen((3, 4))),
    ("log_softmax-3d", lambda m, x: m.log_softmax(x, 0), _gen((2, 3, 4))),
    ("log_softmax-large", lambda m, x: x.log_softmax(0), _gen((3, 4), offset=1000.0)),
    ("log_softmax-neg-inf", lambda m, x: x.log_softmax(1), _with(NEG_INF_ROWS)),
    ("argmax", lambda m, x: x.argmax(1), _gen((3, 4))),
    ("argmin", lambda m, x: m.argmin(x), _gen((3, 4))),
    ("max-dim-indices", lambda m, x: x.max(0).indices, _gen((3, 4))),
    ("all", lambda m, x: (x > -1.5).all(1), _gen((3, 4))),
    ("any", lambda m, x: m.any(x > 1.5, (0, 1), keepdim=True), _gen((3, 4))),
    ("chain", lambda m, a, b: (a @ b).softmax(1).log().norm(3, 0).logsumexp(0),
     _gen((3, 4), (4, 5))),
]  # fmt: skip
TORCH_TOL = {"float64": 1e-10, "float32": 1e-5}


def _compare(ours: Any, theirs: Any, tol: float, what: str) -> None:
    a = np.asarray(ours.detach().numpy())
    b = np.asarray(theirs.detach().numpy())
    assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
    assert a.dtype == b.dtype, f"{what}: dtype {a.dtype} != {b.dtype}"
    if a.dtype.kind == "f":
        finite = b[np.isfinite(b)]
        scale = max(1.0, float(np.max(np.abs(finite)))) if finite.size else 1.0
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol * scale, err_msg=what)
    else:
        np.testing.assert_array_equal(a, b, err_msg=what)


@pytest.mark.parametrize("dtype", TORCH_TOL)
@pytest.mark.parametrize(("fn", "make"), [c[1:] for c in ORACLE], ids=[c[0] for c in ORACLE])
def test_against_torch(fn, make, dtype, torch_ref):
    # values, dtypes, requires_grad, grad_fn names and every input's gradient (None included),
    # for two random draws (inputs where the generator is random, and cotangents)
    for seed in (0, 1):
        rng = np.random.default_rng(seed)
        arrays = [a.astype(np_dtype(getattr(torch, dtype))) for a in make(rng)]
        outs, grads = [], []
        cotangent = None
        for m in (torch, torch_ref):
            xs = [m.tensor(a, requires_grad=True) for a in arrays]
            out = fn(m, *xs)
            outs.append(out)
            if out.requires_grad:
                if cotangent is None:
                    cotangent = rng.standard_normal(tuple(out.shape)).astype(arrays[0].dtype)
                out.backward(m.tensor(cotangent))
            grads.append([x.grad for x in xs])
        ours, theirs = outs
        tol = TORCH_TOL[dtype]
        _compare(ours, theirs, tol, f"forward (seed {seed})")
        assert ours.requires_grad == theirs.requires_grad
        assert (ours.grad_fn and ours.grad_fn.name()) == (theirs.grad_fn and theirs.grad_fn.name())
        for k, (g, h) in enumerate(zip(*grads)):
            assert (g is None) == (h is None), f"input {k}: grad {g} but torch gives {h}"
            if g is not None:
                _compare(g, h, tol, f"d/d(input {k}) (seed {seed})")


@pytest.mark.parametrize(("fn", "shape_list", "name"), [c[1:] for c in GRAD_FN_NAMES], ids=NAME_IDS)
def test_grad_fn_names_match_torch(fn, shape_list, name, torch_ref, rng):
    out = fn(torch_ref, *leaves(torch_ref, shape_list, rng))
    assert out.grad_fn.name() == name


@pytest.mark.parametrize(
    ("fn", "dtype"), [c[1:] for c in NO_GRAD_RESULTS], ids=[c[0] for c in NO_GRAD_RESULTS]
)
def test_integer_and_boolean_results_match_torch(fn, dtype, torch_ref, rng):
    (x,) = leaves(torch_ref, [(2, 3)], rng)
    out = fn(torch_ref, x)
    assert out.dtype == getattr(torch_ref, dtype)
    assert not out.requires_grad and out.grad_fn is None and out.is_leaf
    with raises(
        RuntimeError, "element 0 of tensors does not require grad and does not have a grad_fn"
    ):
        out.sum().backward()


@pytest.mark.parametrize(("fn", "exc", "message"), [c[1:] for c in ERRORS], ids=ERROR_IDS)
def test_errors_match_torch(fn, exc, message, torch_ref):
    with raises(exc, message):
        fn(torch_ref)


@pytest.mark.parametrize(
    ("fn", "a", "expected"), [c[1:] for c in ZERO_SIZE], ids=[c[0] for c in ZERO_SIZE]
)
def test_zero_size_reductions_match_torch(fn, a, expected, torch_ref):
    got = fn(torch_ref.tensor(a)).numpy()
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)
    if got.dtype == np.float64:
        assert not np.any(np.signbit(got[got == 0]))


@pytest.mark.parametrize(
    ("fn", "value", "dtype"), [c[1:] for c in INTEGER_INPUTS], ids=[c[0] for c in INTEGER_INPUTS]
)
def test_integer_and_boolean_inputs_match_torch(fn, value, dtype, torch_ref):
    out = fn(torch_ref)
    assert out.dtype == getattr(torch_ref, dtype)
    assert out.tolist() == (pytest.approx(value, rel=1e-6) if dtype == "float32" else value)


def test_reductions_over_an_empty_dimension_with_kept_rows() -> None:
    """Lanes of length 0 beside kept dimensions: each output is the reduction's identity."""
    x = torch.zeros(3, 0, requires_grad=True)
    np.testing.assert_array_equal(x.sum(1).detach().numpy(), np.zeros(3, np.float32))
    np.testing.assert_array_equal(x.prod(1).detach().numpy(), np.ones(3, np.float32))
    assert np.isnan(x.mean(1).detach().numpy()).all()
    assert np.isneginf(x.logsumexp(1).detach().numpy()).all()
    assert tuple(x.sum(1, keepdim=True).shape) == (3, 1)
    (x * x).sum(1).sum().backward()
    assert tuple(x.grad.shape) == (3, 0)
