"""softmax, log_softmax and logsumexp: values, gradients, stability, names and errors.

Each is checked for

- its forward against NumPy, in float64 and float32, on contiguous and non-contiguous inputs,
  over every dim, and on zero-size, 0-d and integer inputs;
- its first derivatives against float64 central finite differences over hypothesis-drawn shapes
  and dims (``reduction_specs``), its second derivatives, and gradients of expanded inputs;
- stability: inputs offset by +-1000 (where a naive exp overflows or underflows) and rows with
  -inf entries or made of -inf alone give PyTorch's values and finite gradients;
- the method and function forms, PyTorch's ``grad_fn`` names and exact exception types and
  messages.

A last section compares against PyTorch itself where it is installed (``importorskip``): values
and gradients on random and on extreme inputs, ``grad_fn`` names, and every error message of this
file.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import pytest
from gradcheck_util import to_numpy, to_tensor
from hypothesis import given
from hypothesis import strategies as st
from numeric_checks import (
    DIM_RANGE_2D,
    DTYPES,
    INF,
    TORCH_TOL,
    Shapes,
    assert_close,
    check_against_torch,
    check_grad_fn_name,
    check_integer_input,
    fixed,
    ones,
    raises,
    rounded,
    tolerance,
    uniform,
)
from reduction_specs import (
    Reduction,
    by_name,
    check_expanded,
    check_forms_agree,
    check_reduction,
    check_reduction_second_order,
    check_zero_dim,
    check_zero_size,
    check_zero_size_matches_torch,
    dims,
    np_log_softmax,
    np_logsumexp,
    np_softmax,
    one_dim,
)

import autodiff as torch

# --- the table ------------------------------------------------------------------------------------

REDUCTIONS = [
    Reduction(
        "logsumexp",
        lambda x, **kw: x.logsumexp(**kw),
        np_logsumexp,
        dims,
        "LogsumexpBackward0",
        min_dims=1,
    ),
    Reduction(
        "softmax",
        lambda x, dim: x.softmax(dim),
        np_softmax,
        lambda shape: one_dim(len(shape)).map(lambda d: {"dim": d}),
        "SoftmaxBackward0",
        min_dims=1,
    ),
    Reduction(
        "log_softmax",
        lambda x, dim: x.log_softmax(dim),
        np_log_softmax,
        lambda shape: one_dim(len(shape)).map(lambda d: {"dim": d}),
        "LogSoftmaxBackward0",
        min_dims=1,
    ),
]
BY_NAME = {spec.name: spec for spec in REDUCTIONS}


@pytest.mark.parametrize("dtype", DTYPES.values(), ids=DTYPES.keys())
@by_name(REDUCTIONS)
@given(data=st.data())
def test_reduction_forward_and_gradient(spec, dtype, data):
    check_reduction(spec, dtype, data)


SECOND_ORDER = [
    BY_NAME["logsumexp"],
    BY_NAME["softmax"],
    BY_NAME["log_softmax"],
]


@by_name(SECOND_ORDER)
@given(data=st.data())
def test_reduction_second_derivative(spec, data):
    check_reduction_second_order(spec, data)


EXPANDED: list[tuple[str, dict[str, Any]]] = [
    ("logsumexp", {"dim": (0, 1)}),
    ("softmax", {"dim": 1}),
    ("log_softmax", {"dim": 0}),
]


@pytest.mark.parametrize(("name", "kw"), EXPANDED, ids=[f"{name}{kw}" for name, kw in EXPANDED])
def test_reductions_of_expanded_inputs(name, kw, rng):
    check_expanded(BY_NAME[name], kw, rng)


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


# --- zero-size and 0-d inputs ---------------------------------------------------------------------

E = np.zeros((0, 3))
ZERO_SIZE = [
    ("logsumexp-0", lambda x: x.logsumexp(0), E, np.full(3, -INF)),
    ("logsumexp-1", lambda x: x.logsumexp(1), E, np.zeros(0)),
    ("softmax-0", lambda x: x.softmax(0), E, E),
    ("log_softmax-1", lambda x: x.log_softmax(1), E, E),
]


@pytest.mark.parametrize(
    ("fn", "a", "expected"), [case[1:] for case in ZERO_SIZE], ids=[c[0] for c in ZERO_SIZE]
)
def test_zero_size_reductions(fn, a, expected):
    check_zero_size(fn, a, expected)


ZERO_D = [
    ("logsumexp", lambda x: x.logsumexp(0), -3.0),
    ("softmax", lambda x: x.softmax(0), 1.0),
    ("log_softmax", lambda x: x.log_softmax(-1), 0.0),
]


@pytest.mark.parametrize(("fn", "expected"), [c[1:] for c in ZERO_D], ids=[c[0] for c in ZERO_D])
def test_zero_dim_reductions(fn, expected):
    check_zero_dim(fn, expected)


# --- integer inputs -------------------------------------------------------------------------------

LOG2 = math.log(2.0)
INTEGER_INPUTS: list[tuple[str, Callable[[Any], Any], Any, str]] = [
    # logsumexp of integers computes in the default float dtype
    ("logsumexp", lambda m: m.tensor([[0, 0], [1, 1]]).logsumexp(1), [LOG2, 1 + LOG2], "float32"),
]


@pytest.mark.parametrize(
    ("fn", "value", "dtype"), [c[1:] for c in INTEGER_INPUTS], ids=[c[0] for c in INTEGER_INPUTS]
)
def test_integer_and_boolean_inputs(fn, value, dtype):
    out = check_integer_input(torch, fn, value, dtype)
    assert not out.requires_grad


# --- method and function forms --------------------------------------------------------------------

FORMS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "logsumexp": (lambda x: x.logsumexp(-2), lambda x: torch.logsumexp(x, -2)),
    "softmax": (lambda x: x.softmax(1), lambda x: torch.softmax(x, 1)),
    "log_softmax": (lambda x: x.log_softmax(dim=0), lambda x: torch.log_softmax(x, dim=0)),
}


@pytest.mark.parametrize("name", FORMS)
def test_method_and_function_forms_agree(name, rng):
    check_forms_agree(FORMS[name], rng)


# --- grad_fn names ------------------------------------------------------------------------------
# Each entry: (id, fn(module, *tensors), input shapes, PyTorch's grad_fn name). Every input
# requires grad; the functions take the module so that the oracle section can run them on torch.


GRAD_FN_NAMES: list[tuple[str, Callable[..., Any], Shapes, str]] = [
    ("logsumexp", lambda m, x: x.logsumexp(1), [(2, 3)], "LogsumexpBackward0"),
    ("softmax", lambda m, x: x.softmax(0), [(2, 3)], "SoftmaxBackward0"),
    ("torch.softmax", lambda m, x: m.softmax(x, -1), [(2, 3)], "SoftmaxBackward0"),
    ("log_softmax", lambda m, x: x.log_softmax(1), [(2, 3)], "LogSoftmaxBackward0"),
    ("torch.log_softmax", lambda m, x: m.log_softmax(x, 0), [(2, 3)], "LogSoftmaxBackward0"),
]
NAME_IDS = [case[0] for case in GRAD_FN_NAMES]


@pytest.mark.parametrize(("fn", "shape_list", "name"), [c[1:] for c in GRAD_FN_NAMES], ids=NAME_IDS)
def test_grad_fn_names(fn, shape_list, name, rng):
    out = check_grad_fn_name(torch, fn, shape_list, name, rng)
    assert out.requires_grad and not out.is_leaf


# --- errors -------------------------------------------------------------------------------------
# (id, fn(module), exception type, PyTorch's whole message); test_errors_match_torch re-checks
# every entry against torch itself.


ERRORS: list[tuple[str, Callable[[Any], Any], type[BaseException], str]] = [
    # PyTorch names the kernel after the dim: ..._lastdim_kernel_impl for the last one
    ("softmax-int64", lambda m: ones(m, 2, 3, dtype="int64").softmax(0), NotImplementedError,
     "\"softmax_kernel_impl\" not implemented for 'Long'"),
    ("softmax-int64-last", lambda m: m.softmax(ones(m, 2, 3, dtype="int64"), 1),
     NotImplementedError, "\"softmax_lastdim_kernel_impl\" not implemented for 'Long'"),
    ("softmax-int64-1d", lambda m: ones(m, 3, dtype="int64").softmax(0), NotImplementedError,
     "\"softmax_lastdim_kernel_impl\" not implemented for 'Long'"),
    ("softmax-bool", lambda m: ones(m, 2, 3, dtype="bool").softmax(-1), NotImplementedError,
     "\"softmax_lastdim_kernel_impl\" not implemented for 'Bool'"),
    ("log_softmax-int64", lambda m: ones(m, 2, 3, dtype="int64").log_softmax(0),
     NotImplementedError, "\"log_softmax_kernel_impl\" not implemented for 'Long'"),
    ("log_softmax-int64-last", lambda m: ones(m, 2, 3, dtype="int64").log_softmax(-1),
     NotImplementedError, "\"log_softmax_lastdim_kernel_impl\" not implemented for 'Long'"),
    ("logsumexp-dim", lambda m: ones(m, 2, 3).logsumexp(2), IndexError, DIM_RANGE_2D.format(2)),
    ("softmax-dim", lambda m: ones(m, 2, 3).softmax(2), IndexError, DIM_RANGE_2D.format(2)),
    ("log_softmax-dim", lambda m: ones(m, 2, 3).log_softmax(-3), IndexError,
     DIM_RANGE_2D.format(-3)),
    ("logsumexp-repeated", lambda m: ones(m, 2, 3).logsumexp((1, 1)), RuntimeError,
     "dim 1 appears multiple times in the list of dims"),
]  # fmt: skip
ERROR_IDS = [case[0] for case in ERRORS]


@pytest.mark.parametrize(("fn", "exc", "message"), [c[1:] for c in ERRORS], ids=ERROR_IDS)
def test_errors(fn, exc, message):
    with raises(exc, message):
        fn(torch)


@pytest.mark.parametrize(
    "fn",
    [
        lambda m: ones(m, 2, 3).softmax((0, 1)),
        lambda m: ones(m, 2, 3).softmax(),
        lambda m: ones(m, 2, 3).logsumexp(),
    ],
    ids=[
        "softmax",
        "softmax-no-dim",
        "logsumexp-no-dim",
    ],  # fmt: skip
)
def test_argument_errors_are_type_errors(fn):
    # PyTorch's argument parser: softmax's dim is an int and not optional, and logsumexp needs
    # a dim. Its wording (a list of the signatures) is not pinned; the type is.
    with pytest.raises(TypeError):
        fn(torch)


# --- against PyTorch -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def torch_ref() -> Any:
    return pytest.importorskip("torch")


ORACLE: list[tuple[str, Callable[..., Any], Callable[[np.random.Generator], list[np.ndarray]]]] = [
    ("logsumexp", lambda m, x: x.logsumexp(1), uniform((3, 4))),
    ("logsumexp-dims", lambda m, x: m.logsumexp(x, (0, -1), keepdim=True), uniform((2, 3, 4))),
    ("logsumexp-large", lambda m, x: x.logsumexp(0), uniform((5, 2), offset=1000.0)),
    ("logsumexp-neg-inf", lambda m, x: x.logsumexp(1), fixed(NEG_INF_ROWS)),
    ("softmax", lambda m, x: x.softmax(0), uniform((3, 4))),
    ("softmax-3d", lambda m, x: m.softmax(x, 1), uniform((2, 3, 4))),
    ("softmax-large", lambda m, x: x.softmax(-1), uniform((3, 4), offset=1000.0)),
    ("softmax-very-negative", lambda m, x: x.softmax(-1), uniform((3, 4), offset=-1000.0)),
    ("softmax-neg-inf", lambda m, x: x.softmax(1), fixed(NEG_INF_ROWS)),
    ("log_softmax", lambda m, x: x.log_softmax(1), uniform((3, 4))),
    ("log_softmax-3d", lambda m, x: m.log_softmax(x, 0), uniform((2, 3, 4))),
    ("log_softmax-large", lambda m, x: x.log_softmax(0), uniform((3, 4), offset=1000.0)),
    ("log_softmax-neg-inf", lambda m, x: x.log_softmax(1), fixed(NEG_INF_ROWS)),
]  # fmt: skip


@pytest.mark.parametrize("dtype", TORCH_TOL)
@pytest.mark.parametrize(("fn", "make"), [c[1:] for c in ORACLE], ids=[c[0] for c in ORACLE])
def test_against_torch(fn, make, dtype, torch_ref):
    check_against_torch(fn, make, dtype, torch_ref)


@pytest.mark.parametrize(("fn", "shape_list", "name"), [c[1:] for c in GRAD_FN_NAMES], ids=NAME_IDS)
def test_grad_fn_names_match_torch(fn, shape_list, name, torch_ref, rng):
    check_grad_fn_name(torch_ref, fn, shape_list, name, rng)


@pytest.mark.parametrize(("fn", "exc", "message"), [c[1:] for c in ERRORS], ids=ERROR_IDS)
def test_errors_match_torch(fn, exc, message, torch_ref):
    with raises(exc, message):
        fn(torch_ref)


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
