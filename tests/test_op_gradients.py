"""Forward values, gradients and second derivatives of every op in issue #2.

One declarative table, ``OPS``, drives every test (STYLE.md E10, after jax's ``grad_test_spec``):
for each op it gives the library call, a NumPy reference for the forward, the domain of each
tensor input, the tolerances, and the order of differentiability. The oracle is float64 central
finite differences (``gradcheck_util``); PyTorch is never needed.

Tests, each over hypothesis-drawn shapes (0-d to 3-d, broadcasting pairs) and in-domain values:
  forward vs NumPy (float64 and float32) · first derivatives vs finite differences (float64, and
  float32 against the float64 differences with looser tolerances) · second derivatives through
  ``backward(create_graph=True)`` · mixed float32/float64 operands · fixed broadcasting pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pytest
from gradcheck_util import (
    BROADCAST_PAIRS,
    TOL32,
    TOL64,
    Domain,
    Tol,
    arrays_in,
    avoiding,
    backward_create_graph,
    between,
    check_gradient,
    first_order_grads,
    np_dtype,
    scalarised,
    shape_tuples,
    to_numpy,
    to_tensor,
)
from hypothesis import given
from hypothesis import strategies as st

import autodiff as torch

DTYPES = {"float64": torch.float64, "float32": torch.float32}

# --- domains: where each op is smooth, with a margin of 0.1 or more around kinks and poles ------
REAL = between(-2.0, 2.0)
POSITIVE = between(0.2, 3.0)  # log, sqrt, rsqrt, x ** 0.5, base of tensor ** tensor
NONZERO = avoiding(-2.0, 2.0, 0.0, margin=0.3)  # divisors: 1/x stays within 1/0.3
NO_KINK_AT_0 = avoiding(-2.0, 2.0, 0.0)  # abs, relu, the mask of where(x > 0, ...)
NO_CLAMP_BOUND = avoiding(-2.0, 2.0, -0.5, 0.5)  # clamp(min=-0.5, max=0.5)
TAN = between(-1.3, 1.3)  # jax's domain for tan: tan(1.3) = 3.6, away from the pole at pi/2
# maximum/minimum never tie: EVEN lies in 2k + (0.1, 0.9) and ODD in 2k + 1 + (0.1, 0.9),
# so |a - b| >= 0.2 for every pair, and either argument can be the larger one.
EVEN = Domain(((-1.9, -1.1), (0.1, 0.9)))
ODD = Domain(((-0.9, -0.1), (1.1, 1.9)))


def _dims(shape: tuple[int, ...]) -> st.SearchStrategy[dict[str, Any]]:
    """dim= as an int or a tuple, each entry non-negative or negative, and keepdim=."""
    ndim = len(shape)
    one = st.integers(-ndim, ndim - 1)
    several = st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).flatmap(
        lambda ds: st.tuples(*(st.sampled_from((d, d - ndim)) for d in ds))
    )
    return st.fixed_dictionaries({"dim": st.one_of(one, several), "keepdim": st.booleans()})


@dataclass(frozen=True)
class OpSpec:
    name: str
    fn: Callable[..., Any]  # the library call, on tensors (and the kwargs below)
    domains: tuple[Domain, ...]  # one per tensor argument
    # NumPy reference for the forward; None means `fn` itself (operators work on ndarrays too)
    ref: Callable[..., Any] | None = None
    # False: piecewise constant (sign, floor, ...), the gradient must be exactly zero
    differentiable: bool = True
    # True: a nonzero second derivative, so x.grad from create_graph=True must have a grad_fn
    curved: bool = True
    kwargs: Callable[[tuple[int, ...]], st.SearchStrategy[dict[str, Any]]] | None = None
    min_dims: int = 0
    tol64: Tol = TOL64
    tol32: Tol = TOL32

    @property
    def nargs(self) -> int:
        return len(self.domains)

    def reference(self, arrays: list[np.ndarray], kwargs: dict[str, Any]) -> np.ndarray:
        return np.asarray((self.ref or self.fn)(*arrays, **kwargs), dtype=np.float64)

    def tol(self, dtype: Any) -> Tol:
        return self.tol64 if dtype == torch.float64 else self.tol32


def piecewise_linear(name: str, fn: Callable[..., Any], *domains: Domain, **kw: Any) -> OpSpec:
    """Linear between kinks: the second derivative is 0, and x.grad may or may not have a graph."""
    return OpSpec(name, fn, domains, curved=False, **kw)


def piecewise_constant(name: str, fn: Callable[..., Any], ref: Callable[..., Any]) -> OpSpec:
    return OpSpec(name, fn, (REAL,), ref, differentiable=False, curved=False)


SUM_TOL32 = Tol(forward=1e-5, grad=2e-4)  # float32 sums of up to 64 terms

OPS: list[OpSpec] = [
    # tensor (op) tensor, broadcasting
    piecewise_linear("add", lambda a, b: a + b, REAL, REAL),
    piecewise_linear("sub", lambda a, b: a - b, REAL, REAL),
    OpSpec("mul", lambda a, b: a * b, (REAL, REAL)),
    OpSpec("div", lambda a, b: a / b, (REAL, NONZERO)),
    # Exponent 0 is left out: PyTorch's pow backward masks it (for the 0**0 convention), which
    # also zeroes the mixed second derivative d2(a**b)/da db = 1/a there.
    OpSpec("pow_tensor_tensor", lambda a, b: a**b, (POSITIVE, avoiding(-2.0, 2.0, 0.0))),
    piecewise_linear("maximum", lambda a, b: torch.maximum(a, b), EVEN, ODD, ref=np.maximum),
    piecewise_linear("minimum", lambda a, b: torch.minimum(a, b), ODD, EVEN, ref=np.minimum),
    piecewise_linear(
        "where",
        lambda x, y: torch.where(x > 0, x, y),
        NO_KINK_AT_0,
        REAL,
        ref=lambda x, y: np.where(x > 0, x, y),
    ),
    # tensor (op) Python scalar, and the reflected forms
    piecewise_linear("add_scalar", lambda x: x + 2.5, REAL),
    piecewise_linear("radd_scalar", lambda x: 2.5 + x, REAL),
    piecewise_linear("sub_scalar", lambda x: x - 1.5, REAL),
    piecewise_linear("rsub_scalar", lambda x: 1 - x, REAL),
    piecewise_linear("mul_scalar", lambda x: x * -3.0, REAL),
    piecewise_linear("rmul_scalar", lambda x: 2 * x, REAL),
    piecewise_linear("div_scalar", lambda x: x / 3, REAL),
    OpSpec("rdiv_scalar", lambda x: 3 / x, (NONZERO,)),
    OpSpec("pow_scalar_2", lambda x: x**2, (REAL,)),
    OpSpec("pow_scalar_3", lambda x: x**3, (REAL,)),
    OpSpec("pow_scalar_half", lambda x: x**0.5, (POSITIVE,)),
    OpSpec("pow_scalar_negative", lambda x: x**-1.5, (POSITIVE,)),
    # d/dx x**0 = 0 everywhere, 0 included (PyTorch's convention, PYTORCH_SEMANTICS.md 2.18)
    piecewise_linear("pow_scalar_zero", lambda x: x**0, REAL),
    OpSpec("rpow_scalar", lambda x: 2**x, (REAL,)),
    OpSpec("rpow_scalar_fraction", lambda x: 0.5**x, (REAL,)),
    # unary
    piecewise_linear("neg", lambda x: -x, REAL),
    piecewise_linear("abs", lambda x: torch.abs(x), NO_KINK_AT_0, ref=np.abs),
    OpSpec("exp", lambda x: torch.exp(x), (REAL,), np.exp),
    OpSpec("log", lambda x: torch.log(x), (POSITIVE,), np.log),
    OpSpec("log1p", lambda x: torch.log1p(x), (between(-0.7, 2.0),), np.log1p),
    OpSpec("sqrt", lambda x: torch.sqrt(x), (POSITIVE,), np.sqrt),
    OpSpec("rsqrt", lambda x: torch.rsqrt(x), (POSITIVE,), lambda x: 1 / np.sqrt(x)),
    OpSpec("sin", lambda x: torch.sin(x), (between(-3.0, 3.0),), np.sin),
    OpSpec("cos", lambda x: torch.cos(x), (between(-3.0, 3.0),), np.cos),
    OpSpec("tan", lambda x: torch.tan(x), (TAN,), np.tan),
    OpSpec("tanh", lambda x: torch.tanh(x), (between(-3.0, 3.0),), np.tanh),
    OpSpec(
        "sigmoid", lambda x: torch.sigmoid(x), (between(-4.0, 4.0),), lambda x: 1 / (1 + np.exp(-x))
    ),
    piecewise_linear(
        "relu", lambda x: torch.relu(x), NO_KINK_AT_0, ref=lambda x: np.maximum(x, 0.0)
    ),
    OpSpec("reciprocal", lambda x: torch.reciprocal(x), (NONZERO,), lambda x: 1 / x),
    OpSpec("square", lambda x: torch.square(x), (REAL,), np.square),
    piecewise_linear(
        "clamp",
        lambda x: x.clamp(min=-0.5, max=0.5),
        NO_CLAMP_BOUND,
        ref=lambda x: np.clip(x, -0.5, 0.5),
    ),
    piecewise_linear(
        "clamp_min",
        lambda x: torch.clamp(x, min=-0.5),
        NO_CLAMP_BOUND,
        ref=lambda x: np.maximum(x, -0.5),
    ),
    piecewise_linear(
        "clamp_max",
        lambda x: x.clamp(max=0.5),
        NO_CLAMP_BOUND,
        ref=lambda x: np.minimum(x, 0.5),
    ),
    piecewise_constant("sign", lambda x: torch.sign(x), np.sign),
    piecewise_constant("floor", lambda x: torch.floor(x), np.floor),
    piecewise_constant("ceil", lambda x: torch.ceil(x), np.ceil),
    # half to even, as in NumPy
    piecewise_constant("round", lambda x: torch.round(x), np.round),
    # reductions
    piecewise_linear("sum", lambda x: x.sum(), REAL, ref=np.sum, tol32=SUM_TOL32),
    piecewise_linear(
        "sum_dim",
        lambda x, dim, keepdim: x.sum(dim=dim, keepdim=keepdim),
        REAL,
        ref=lambda x, dim, keepdim: np.sum(x, axis=dim, keepdims=keepdim),
        kwargs=_dims,
        min_dims=1,
        tol32=SUM_TOL32,
    ),
    piecewise_linear("mean", lambda x: x.mean(), REAL, ref=np.mean),
    piecewise_linear(
        "mean_dim",
        lambda x, dim, keepdim: x.mean(dim=dim, keepdim=keepdim),
        REAL,
        ref=lambda x, dim, keepdim: np.mean(x, axis=dim, keepdims=keepdim),
        kwargs=_dims,
        min_dims=1,
    ),
]
BINARY = [spec for spec in OPS if spec.nargs == 2]


def _by_name(specs: list[OpSpec]) -> Any:
    return pytest.mark.parametrize("spec", specs, ids=[spec.name for spec in specs])


# --- drawing a case ---------------------------------------------------------------------------


def draw_case(
    data: st.DataObject, spec: OpSpec, dtypes: list[Any]
) -> tuple[list[np.ndarray], dict[str, Any], np.random.Generator]:
    """Shapes, in-domain values (exactly representable in each input's dtype), kwargs, an rng."""
    shapes = data.draw(shape_tuples(spec.nargs, spec.min_dims), label="shapes")
    arrays = []
    for k, (shape, domain, dtype) in enumerate(zip(shapes, spec.domains, dtypes)):
        drawn = data.draw(arrays_in(shape, domain), label=f"x{k}")
        arrays.append(drawn.astype(np_dtype(dtype)).astype(np.float64))
    kwargs = data.draw(spec.kwargs(shapes[0]), label="kwargs") if spec.kwargs else {}
    # cotangents and directions only need to be generic, not shrunk
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    return arrays, kwargs, rng


def promoted(arrays: list[np.ndarray], dtypes: list[Any]) -> Any:
    # PyTorch's type promotion: a tensor with dimensions outranks a 0-d tensor of the same
    # category, so f64 of shape () (op) f32 of shape (2, 3) gives f32; otherwise f64 wins.
    dimensioned = [dt for a, dt in zip(arrays, dtypes) if a.ndim > 0]
    return torch.float64 if torch.float64 in (dimensioned or dtypes) else torch.float32


def assert_plain_grad(x: Any, what: str) -> np.ndarray:
    """x.grad exists, has exactly x's shape and dtype, and is a plain tensor (no graph)."""
    assert x.grad is not None, f"{what}: .grad is None"
    assert tuple(x.grad.shape) == tuple(x.shape), f"{what}: grad shape {x.grad.shape}"
    assert x.grad.dtype == x.dtype, f"{what}: grad dtype {x.grad.dtype}, input {x.dtype}"
    return to_numpy(x.grad)


def check_forward(spec: OpSpec, arrays, kwargs, dtypes: list[Any]) -> None:
    expected = spec.reference(arrays, kwargs)
    out_dtype = promoted(arrays, dtypes)
    tol = spec.tol(out_dtype).forward
    for requires_grad in (True, False):
        xs = [to_tensor(a, dt, requires_grad) for a, dt in zip(arrays, dtypes)]
        out = spec.fn(*xs, **kwargs)
        assert out.dtype == out_dtype
        assert tuple(out.shape) == expected.shape
        assert out.requires_grad is requires_grad
        assert (out.grad_fn is not None) is requires_grad
        np.testing.assert_allclose(to_numpy(out), expected, rtol=tol, atol=tol, err_msg=spec.name)


def check_first_order(spec: OpSpec, arrays, kwargs, dtypes: list[Any], rng) -> None:
    """backward(gradient=c) against float64 finite differences of <c, fn(x)>, per input."""
    xs = [to_tensor(a, dt, requires_grad=True) for a, dt in zip(arrays, dtypes)]
    out = spec.fn(*xs, **kwargs)
    c = np.asarray(rng.standard_normal(tuple(out.shape)))
    out.backward(gradient=to_tensor(c, out.dtype))
    phi = scalarised(spec.fn, c, kwargs)
    for k, x in enumerate(xs):
        what = f"{spec.name}: d/d(input {k})"
        grad = assert_plain_grad(x, what)
        assert x.grad.grad_fn is None and not x.grad.requires_grad
        if spec.differentiable:
            # float32 tolerance if either the input or the computation (out.dtype) is float32
            precise = x.dtype == out.dtype == torch.float64
            tol = spec.tol(torch.float64 if precise else torch.float32).grad
            check_gradient(phi, arrays, k, grad, tol, rng, what)
        else:
            assert np.all(grad == 0), f"{what}: {grad}"


# --- the tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES.values(), ids=DTYPES.keys())
@_by_name(OPS)
@given(data=st.data())
def test_forward_and_gradient(spec, dtype, data):
    # The forward against NumPy, then backward(gradient=c) against float64 finite differences;
    # float32 results are held to spec.tol32 (its gradients against the float64 differences).
    arrays, kwargs, rng = draw_case(data, spec, [dtype] * spec.nargs)
    check_forward(spec, arrays, kwargs, [dtype] * spec.nargs)
    check_first_order(spec, arrays, kwargs, [dtype] * spec.nargs, rng)


@_by_name(OPS)
@given(data=st.data())
def test_second_derivative_matches_finite_differences(spec, data):
    # s(x) = sum_k <v_k, g_k(x)> with g_k = d<c, f(x)>/dx_k; its gradient, by a second backward
    # through the graph create_graph=True recorded, against finite differences of the g_k.
    arrays, kwargs, rng = draw_case(data, spec, [torch.float64] * spec.nargs)
    xs = [to_tensor(a, torch.float64, requires_grad=True) for a in arrays]
    out = spec.fn(*xs, **kwargs)
    c = np.asarray(rng.standard_normal(tuple(out.shape)))
    vs = [rng.standard_normal(a.shape) for a in arrays]
    backward_create_graph(out, to_tensor(c, torch.float64))
    grads = [x.grad for x in xs]
    for x in xs:
        x.grad = None
    for k, g in enumerate(grads):
        assert g is not None and tuple(g.shape) == tuple(xs[k].shape) and g.dtype == torch.float64
        if spec.curved:
            assert g.requires_grad and g.grad_fn is not None, f"{spec.name}: x{k}.grad has no graph"
    s = (grads[0] * to_tensor(vs[0], torch.float64)).sum()
    for g, v in zip(grads[1:], vs[1:]):
        s = s + (g * to_tensor(v, torch.float64)).sum()
    second = [np.zeros_like(a) for a in arrays]
    if s.requires_grad:
        s.backward()
        for k, x in enumerate(xs):
            if x.grad is not None:
                second[k] = assert_plain_grad(x, f"{spec.name}: second derivative, input {k}")
    else:
        assert not spec.curved

    def s_of(arrs):
        return sum(
            float(np.sum(v * g)) for v, g in zip(vs, first_order_grads(spec.fn, arrs, kwargs, c))
        )

    for k in range(spec.nargs):
        what = f"{spec.name}: d2/d(input {k})"
        check_gradient(s_of, arrays, k, second[k], spec.tol64.grad, rng, what)


@pytest.mark.parametrize(
    "dtypes",
    [(torch.float32, torch.float64), (torch.float64, torch.float32)],
    ids=["f32-f64", "f64-f32"],
)
@_by_name(BINARY)
@given(data=st.data())
def test_mixed_dtypes_promote_forward_but_keep_grad_dtypes(spec, dtypes, data):
    # f32 (op) f64 computes in f64 (unless the f64 operand is 0-d, see `promoted`), but each
    # input's .grad keeps that input's dtype (PYTORCH_SEMANTICS.md 2.16); a float32 grad is held
    # to float32 tolerances.
    arrays, kwargs, rng = draw_case(data, spec, list(dtypes))
    check_forward(spec, arrays, kwargs, list(dtypes))
    check_first_order(spec, arrays, kwargs, list(dtypes), rng)


@pytest.mark.parametrize("shapes", BROADCAST_PAIRS, ids=[f"{a}&{b}" for a, b in BROADCAST_PAIRS])
@_by_name(BINARY)
def test_broadcasting_pairs(spec, shapes, rng):
    # Always-run cases: the gradient of each input is summed back to exactly its own shape.
    arrays = [domain.sample(rng, shape) for domain, shape in zip(spec.domains, shapes)]
    check_forward(spec, arrays, {}, [torch.float64] * 2)
    check_first_order(spec, arrays, {}, [torch.float64] * 2, rng)


UNARY_NAMES = [
    "neg", "abs", "exp", "log", "log1p", "sqrt", "rsqrt", "sin", "cos", "tan", "tanh",
    "sigmoid", "relu", "reciprocal", "square", "sign", "floor", "ceil", "round",
]  # fmt: skip


def _method(name: str) -> Callable[[Any], Any]:
    return lambda x: getattr(x, name)()


def _function(name: str) -> Callable[[Any], Any]:
    return lambda x: getattr(torch, name)(x)


# (method call, function call) pairs; the table above uses one form of each.
FORMS = {name: (_method(name), _function(name)) for name in UNARY_NAMES}
FORMS.update(
    {
        "clamp": (lambda x: x.clamp(-0.5, 0.5), lambda x: torch.clamp(x, -0.5, 0.5)),
        "clamp_min": (lambda x: x.clamp(min=0.5), lambda x: torch.clamp(x, min=0.5)),
        "sum": (lambda x: x.sum(), lambda x: torch.sum(x)),
        "sum_dim": (lambda x: x.sum(-1, True), lambda x: torch.sum(x, -1, True)),
        "sum_dims": (lambda x: x.sum((0, 1)), lambda x: torch.sum(x, dim=(0, 1))),
        "mean": (lambda x: x.mean(), lambda x: torch.mean(x)),
        "mean_dim": (lambda x: x.mean(0, keepdim=True), lambda x: torch.mean(x, 0, True)),
    }
)


@pytest.mark.parametrize("name", FORMS)
def test_method_and_function_forms_agree(name):
    # x.exp() and torch.exp(x): the same values, grad_fn and gradient. The input is positive
    # (for log, sqrt) and stays clear of the kinks of abs, relu and clamp.
    values = np.array([[0.3, 0.7, 1.6], [0.45, 1.2, 2.2]])
    results = []
    for call in FORMS[name]:
        x = to_tensor(values, torch.float64, requires_grad=True)
        out = call(x)
        out.sum().backward()
        results.append((to_numpy(out), out.grad_fn.name(), to_numpy(x.grad)))
    (v1, n1, g1), (v2, n2, g2) = results
    assert n1 == n2
    np.testing.assert_array_equal(v1, v2)
    np.testing.assert_array_equal(g1, g2)


def test_check_gradient_rejects_a_wrong_gradient(rng):
    # The oracle itself: f(x) = sum(x**3), grad 3x**2; a gradient off by 1% must fail, for the
    # element-wise comparison (size <= 8) and the directional one alike.
    def f(arrays):
        return float(np.sum(arrays[0] ** 3))

    for shape in [(2, 3), (4, 4)]:
        x = rng.uniform(0.5, 1.5, size=shape)
        check_gradient(f, [x], 0, 3 * x**2, 1e-6, rng, "exact")
        with pytest.raises(AssertionError):
            check_gradient(f, [x], 0, 3.03 * x**2, 1e-6, rng, "1% off")


def test_table_covers_issue_2():
    names = {spec.name for spec in OPS}
    assert len(names) == len(OPS)
    for op in ["add", "sub", "mul", "div", "pow_tensor_tensor", "rpow_scalar", "pow_scalar_2"]:
        assert op in names
    assert set(UNARY_NAMES) <= names
    for op in ["clamp", "clamp_min", "clamp_max", "maximum", "minimum", "where"]:
        assert op in names
    for op in ["sum", "sum_dim", "mean", "mean_dim", "rsub_scalar", "rdiv_scalar", "div_scalar"]:
        assert op in names
    assert all(not s.curved for s in OPS if not s.differentiable)
