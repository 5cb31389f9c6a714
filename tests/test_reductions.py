"""Reductions: ``sum mean prod amax amin max min argmax argmin var std norm all any``, and
``max``/``min`` with a second tensor (elementwise).

Each is checked for

- its forward against NumPy, in float64 and float32, on contiguous and non-contiguous inputs,
  with the result dtype and shape PyTorch gives (int64 and bool where it gives them), and on
  zero-size, 0-d, integer and boolean inputs;
- its first derivatives against float64 central finite differences, over hypothesis-drawn shapes,
  dims and values (``reduction_specs``); max/min/amax/amin/norm/std get distinct, nonzero values
  so that no finite difference straddles a tie or a kink (the rules at ties, zeros and kinks have
  closed-form tests in tests/test_reduction_rules.py);
- second derivatives for the curved ops, and gradients of expanded (stride-0) inputs;
- the method and function forms, PyTorch's ``grad_fn`` names and ``requires_grad=False`` for
  integer and boolean results (the exceptions and their messages are in
  tests/test_reduction_errors.py);
- float32 sums of a million values to within a few ulps.

A last section compares against PyTorch itself where it is installed (``importorskip``): values
and gradients on random and on edge-case inputs, and ``grad_fn`` names.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import pytest
from gradcheck_util import shapes
from hypothesis import given
from hypothesis import strategies as st
from numeric_checks import (
    DTYPES,
    INF,
    TORCH_TOL,
    Shapes,
    check_against_torch,
    check_grad_fn_name,
    check_integer_input,
    fixed,
    leaves,
    long_2x3,
    raises,
    uniform,
)
from reduction_specs import (
    NORM_PS,
    Reduction,
    by_name,
    check_expanded,
    check_forms_agree,
    check_reduction,
    check_reduction_second_order,
    check_zero_dim,
    check_zero_size,
    check_zero_size_matches_torch,
    dims_or_all,
    distinct_values,
    int_dim,
    int_dim_or_all,
    no_kwargs,
    norm_kwargs,
    np_arg,
    np_norm,
    np_reduce,
    np_std,
    np_var,
    var_kwargs,
)

import autodiff as torch

# --- value strategies -----------------------------------------------------------------------------


@given(data=st.data())
def test_distinct_values_are_distinct_and_away_from_zero(data):
    a = data.draw(distinct_values(data.draw(shapes(), label="shape")), label="values")
    magnitudes = np.sort(np.abs(a).ravel())
    assert magnitudes[0] >= 0.3 and magnitudes[-1] <= 2.0 + 1e-12
    assert np.all(np.diff(magnitudes) >= 0.85 / 64 - 1e-12)


# --- the table ------------------------------------------------------------------------------------

REDUCTIONS = [
    Reduction("sum", lambda x, **kw: x.sum(**kw), np_reduce(np.sum), dims_or_all, "Sum"),
    Reduction("mean", lambda x, **kw: x.mean(**kw), np_reduce(np.mean), dims_or_all, "Mean"),
    Reduction("prod", lambda x: x.prod(), np_reduce(np.prod), no_kwargs, "ProdBackward0", "zeros"),
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
    Reduction("max", lambda x: x.max(), np_reduce(np.max), no_kwargs, "MaxBackward1", "distinct"),
    Reduction("min", lambda x: x.min(), np_reduce(np.min), no_kwargs, "MinBackward1", "distinct"),
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
        "all", lambda x, **kw: x.all(**kw), np_reduce(np.all), dims_or_all, None, "truthy", "bool"
    ),
    Reduction(
        "any", lambda x, **kw: x.any(**kw), np_reduce(np.any), dims_or_all, None, "truthy", "bool"
    ),
]
BY_NAME = {spec.name: spec for spec in REDUCTIONS}


@pytest.mark.parametrize("dtype", DTYPES.values(), ids=DTYPES.keys())
@by_name(REDUCTIONS)
@given(data=st.data())
def test_reduction_forward_and_gradient(spec, dtype, data):
    check_reduction(spec, dtype, data)


SECOND_ORDER = [
    BY_NAME["prod"],
    BY_NAME["prod_dim"],
    BY_NAME["var"],
    BY_NAME["std"],
    Reduction("norm", BY_NAME["norm"].fn, np_norm, norm_kwargs([2, 3, 4, "fro"]), None, "distinct"),
]


@by_name(SECOND_ORDER)
@given(data=st.data())
def test_reduction_second_derivative(spec, data):
    check_reduction_second_order(spec, data)


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
]


@pytest.mark.parametrize(("name", "kw"), EXPANDED, ids=[f"{name}{kw}" for name, kw in EXPANDED])
def test_reductions_of_expanded_inputs(name, kw, rng):
    check_expanded(BY_NAME[name], kw, rng)


# --- zero-size and 0-d inputs ---------------------------------------------------------------------

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
    ("all-0", lambda x: x.all(0), E, np.ones(3, dtype=bool)),
    ("any-0", lambda x: x.any(0), E, np.zeros(3, dtype=bool)),
    ("all", lambda x: x.all(), E, np.array(True)),
    ("any", lambda x: x.any(), E, np.array(False)),
]


@pytest.mark.parametrize(
    ("fn", "a", "expected"), [case[1:] for case in ZERO_SIZE], ids=[c[0] for c in ZERO_SIZE]
)
def test_zero_size_reductions(fn, a, expected):
    check_zero_size(fn, a, expected)


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
    ("all", lambda x: x.all(0), True),
    ("any", lambda x: x.any(), True),
]


@pytest.mark.parametrize(("fn", "expected"), [c[1:] for c in ZERO_D], ids=[c[0] for c in ZERO_D])
def test_zero_dim_reductions(fn, expected):
    check_zero_dim(fn, expected)


# --- integer and boolean inputs -------------------------------------------------------------------


def _bool(m: Any) -> Any:
    return m.tensor([[True, False, True], [True, True, True]])


INTEGER_INPUTS: list[tuple[str, Callable[[Any], Any], Any, str]] = [
    # (id, fn(module), value, dtype): integer results stay int64, bool sums and products count
    ("sum", lambda m: long_2x3(m).sum(), 18, "int64"),
    ("sum-dim", lambda m: long_2x3(m).sum(1), [8, 10], "int64"),
    ("prod", lambda m: long_2x3(m).prod(), 0, "int64"),
    ("prod-dim", lambda m: m.prod(long_2x3(m), 0), [7, 0, 6], "int64"),
    ("amax", lambda m: long_2x3(m).amax(1), [5, 7], "int64"),
    ("amin", lambda m: m.amin(long_2x3(m)), 0, "int64"),
    ("max", lambda m: long_2x3(m).max(), 7, "int64"),
    ("max-dim", lambda m: long_2x3(m).max(1).values, [5, 7], "int64"),
    ("argmax", lambda m: long_2x3(m).argmax(), 3, "int64"),
    ("all", lambda m: long_2x3(m).all(1), [True, False], "bool"),
    ("any", lambda m: m.any(long_2x3(m)), True, "bool"),
    ("bool-sum", lambda m: _bool(m).sum(0), [2, 1, 2], "int64"),
    ("bool-prod", lambda m: _bool(m).prod(), 0, "int64"),
    ("bool-amax", lambda m: _bool(m).amax(0), [True, True, True], "bool"),
    ("bool-min-dim", lambda m: _bool(m).min(1).values, [False, True], "bool"),
    ("bool-min-dim-indices", lambda m: _bool(m).min(1).indices, [1, 0], "int64"),
    ("bool-all", lambda m: _bool(m).all(0), [True, False, True], "bool"),
    # all/any over dim=() reduce nothing (unlike sum(()), which reduces everything)
    ("bool-all-no-dims", lambda m: _bool(m).all(()), [[True, False, True], [True] * 3], "bool"),
    (
        "any-no-dims",
        lambda m: m.any(long_2x3(m), dim=()),
        [[True] * 3, [True, False, True]],
        "bool",
    ),
]


@pytest.mark.parametrize(
    ("fn", "value", "dtype"), [c[1:] for c in INTEGER_INPUTS], ids=[c[0] for c in INTEGER_INPUTS]
)
def test_integer_and_boolean_inputs(fn, value, dtype):
    out = check_integer_input(torch, fn, value, dtype)
    assert not out.requires_grad


# --- method and function forms --------------------------------------------------------------------

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
    "argmax": (lambda x: x.argmax(1), lambda x: torch.argmax(x, 1)),
    "argmin": (lambda x: x.argmin(), lambda x: torch.argmin(x)),
    "all": (lambda x: (x > 0).all(1), lambda x: torch.all(x > 0, 1)),
    "any": (lambda x: (x > 1).any((0, 1)), lambda x: torch.any(x > 1, dim=(0, 1))),
}


@pytest.mark.parametrize("name", FORMS)
def test_method_and_function_forms_agree(name, rng):
    check_forms_agree(FORMS[name], rng)


# --- grad_fn names ------------------------------------------------------------------------------
# Each entry: (id, fn(module, *tensors), input shapes, PyTorch's grad_fn name). Every input
# requires grad; the functions take the module so that the oracle section can run them on torch.


GRAD_FN_NAMES: list[tuple[str, Callable[..., Any], Shapes, str]] = [
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
]
NAME_IDS = [case[0] for case in GRAD_FN_NAMES]


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


@pytest.mark.parametrize(("fn", "shape_list", "name"), [c[1:] for c in GRAD_FN_NAMES], ids=NAME_IDS)
def test_grad_fn_names(fn, shape_list, name, rng):
    out = check_grad_fn_name(torch, fn, shape_list, name, rng)
    assert out.requires_grad and not out.is_leaf


# --- float32 accuracy -----------------------------------------------------------------------------


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


# --- against PyTorch -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def torch_ref() -> Any:
    return pytest.importorskip("torch")


def _with_zeros(shape: tuple[int, ...]) -> Callable[[np.random.Generator], list[np.ndarray]]:
    def make(rng: np.random.Generator) -> list[np.ndarray]:
        a = rng.uniform(-2, 2, size=shape)
        a[rng.random(shape) < 0.35] = 0.0
        return [a]

    return make


ORACLE: list[tuple[str, Callable[..., Any], Callable[[np.random.Generator], list[np.ndarray]]]] = [
    ("sum", lambda m, x: x.sum((0, -1), keepdim=True), uniform((2, 3, 4))),
    ("mean", lambda m, x: m.mean(x, 1), uniform((2, 3, 4))),
    ("prod", lambda m, x: x.prod(), uniform((2, 3))),
    ("prod-dim", lambda m, x: x.prod(-1, keepdim=True), uniform((3, 4))),
    ("prod-zeros", lambda m, x: x.prod(1), fixed([[2.0, 0, 3], [0, 0, 5], [1, 2, 3]])),
    ("prod-zeros-random", lambda m, x: x.prod(0), _with_zeros((4, 5))),
    ("amax", lambda m, x: x.amax((0, 2)), uniform((2, 3, 4))),
    ("amin", lambda m, x: m.amin(x, -1, keepdim=True), uniform((2, 3, 4))),
    ("max", lambda m, x: x.max(), uniform((3, 4))),
    ("min", lambda m, x: m.min(x), uniform((3, 4))),
    ("max-dim", lambda m, x: x.max(1).values, uniform((3, 4))),
    ("min-dim-keepdim", lambda m, x: m.min(x, 0, keepdim=True)[0], uniform((3, 4))),
    ("max-other", lambda m, a, b: a.max(b), uniform((3, 4), (4,))),
    ("max-ties", lambda m, x: x.max(), fixed([[1.0, 3.0], [3.0, 3.0]])),
    ("min-ties", lambda m, x: x.min(), fixed([2.0, 1.0, 1.0])),
    ("amax-ties", lambda m, x: x.amax(1), fixed([[1.0, 1.0, 0.0], [2.0, 5.0, 5.0]])),
    ("max-dim-ties", lambda m, x: x.max(1)[0], fixed([[1.0, 1.0, 0.0], [2.0, 5.0, 5.0]])),
    ("max-nan", lambda m, x: x.max(), fixed([1.0, math.nan, 2.0])),
    ("min-nan", lambda m, x: x.min(), fixed([1.0, math.nan, 2.0])),
    ("amax-nan", lambda m, x: x.amax(0), fixed([1.0, math.nan, 2.0])),
    ("var", lambda m, x: x.var(), uniform((3, 4))),
    ("var-dims", lambda m, x: m.var(x, (0, 2), correction=2, keepdim=True), uniform((2, 3, 4))),
    ("var-biased", lambda m, x: x.var(1, False), uniform((3, 4))),
    ("std", lambda m, x: x.std(0), uniform((3, 4))),
    ("std-biased", lambda m, x: m.std(x, unbiased=False), uniform((3, 4))),
    ("std-constant-lane", lambda m, x: x.std(1), fixed([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]])),
    ("norm-2", lambda m, x: x.norm(), uniform((3, 4))),
    ("norm-1-dim", lambda m, x: x.norm(1, 1), uniform((3, 4))),
    ("norm-3-dims", lambda m, x: m.norm(x, 3, (0, 2), True), uniform((2, 3, 4))),
    ("norm-inf", lambda m, x: x.norm(INF), uniform((3, 4))),
    ("norm-minus-inf-dim", lambda m, x: x.norm(-INF, dim=0), uniform((3, 4))),
    ("norm-fro-dim", lambda m, x: x.norm("fro", dim=(0, 1)), uniform((2, 3, 4))),
    ("norm-0.5", lambda m, x: x.norm(0.5), uniform((3, 4))),
    ("norm-minus-1", lambda m, x: x.norm(-1, 1), uniform((3, 4))),
    ("norm-2-zero", lambda m, x: x.norm(), fixed([0.0, 0.0])),
    ("norm-1-zero", lambda m, x: x.norm(1), fixed([0.0, 2.0, -1.0])),
    ("norm-3-zero", lambda m, x: x.norm(3), fixed([0.0, 2.0, -1.0])),
    ("norm-0.5-zero", lambda m, x: x.norm(0.5), fixed([0.0, 2.0, -1.0])),
    ("norm-minus-1-zero", lambda m, x: x.norm(-1), fixed([0.0, 2.0, -1.0])),
    ("norm-inf-ties", lambda m, x: x.norm(INF), fixed([1.0, -1.0, 0.5])),
    ("norm-0", lambda m, x: x.norm(0), fixed([0.0, 2.0, -1.0])),
    ("argmax", lambda m, x: x.argmax(1), uniform((3, 4))),
    ("argmin", lambda m, x: m.argmin(x), uniform((3, 4))),
    ("max-dim-indices", lambda m, x: x.max(0).indices, uniform((3, 4))),
    ("all", lambda m, x: (x > -1.5).all(1), uniform((3, 4))),
    ("any", lambda m, x: m.any(x > 1.5, (0, 1), keepdim=True), uniform((3, 4))),
    ("chain", lambda m, a, b: (a @ b).softmax(1).log().norm(3, 0).logsumexp(0),
     uniform((3, 4), (4, 5))),
]  # fmt: skip


@pytest.mark.parametrize("dtype", TORCH_TOL)
@pytest.mark.parametrize(("fn", "make"), [c[1:] for c in ORACLE], ids=[c[0] for c in ORACLE])
def test_against_torch(fn, make, dtype, torch_ref):
    check_against_torch(fn, make, dtype, torch_ref)


@pytest.mark.parametrize(("fn", "shape_list", "name"), [c[1:] for c in GRAD_FN_NAMES], ids=NAME_IDS)
def test_grad_fn_names_match_torch(fn, shape_list, name, torch_ref, rng):
    check_grad_fn_name(torch_ref, fn, shape_list, name, rng)


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


@pytest.mark.parametrize(
    ("fn", "a", "expected"), [c[1:] for c in ZERO_SIZE], ids=[c[0] for c in ZERO_SIZE]
)
def test_zero_size_reductions_match_torch(fn, a, expected, torch_ref):
    check_zero_size_matches_torch(fn, a, expected, torch_ref)


@pytest.mark.parametrize(
    ("fn", "value", "dtype"), [c[1:] for c in INTEGER_INPUTS], ids=[c[0] for c in INTEGER_INPUTS]
)
def test_integer_and_boolean_inputs_match_torch(fn, value, dtype, torch_ref):
    check_integer_input(torch_ref, fn, value, dtype)


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
