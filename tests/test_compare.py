"""``autodiff.isclose`` and ``autodiff.allclose``.

The oracle that always runs is NumPy's ``isclose``/``allclose``, which uses the same inequality
``|a - b| <= atol + rtol * |b|`` and, for float32 operands and Python-float tolerances, the same
float32 arithmetic. Integer and bool tensors are compared as PyTorch does, in the default dtype,
so their NumPy reference casts to float32 first. Where torch is installed, the same draws are
also compared with ``torch.isclose`` itself, as are the error messages.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autodiff

INF, NAN = math.inf, math.nan

# Values chosen so that equal, nearly equal (on either side of the default tolerances) and
# non-finite pairs are common; the wide range brings in everything else.
NEAR = [0.0, -0.0, 1e-8, 2e-8, 1.0, 1.0 + 1e-6, 1.0 + 1e-5, 1.0 - 2e-5, 100.0, 100.001, -1.0]
NON_FINITE = [INF, -INF, NAN]


def float_values(width: int) -> st.SearchStrategy[float]:
    dtype = np.float32 if width == 32 else np.float64
    near = [float(dtype(v)) for v in NEAR]  # rounded so that the dtype holds them exactly
    return st.one_of(st.sampled_from(near + NON_FINITE), st.floats(-1e6, 1e6, width=width))


tolerances = st.one_of(
    st.sampled_from([0.0, 1e-8, 1e-5, 1e-3, 0.1, 1.0]),
    st.floats(0.0, 1.0),
)


@st.composite
def float_pairs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=4))
    width = 32 if dtype is np.float32 else 64
    a, b = (
        draw(hnp.arrays(dtype, shape, elements=float_values(width)))
        for shape in shapes.input_shapes
    )
    return a, b


@st.composite
def integer_pairs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    dtype = draw(st.sampled_from([np.int64, np.bool_]))
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=4))
    # Magnitudes up to 2**40: exact in float64, and rounded to float32 in a way the cast shows.
    elements = st.booleans() if dtype is np.bool_ else st.integers(-(2**40), 2**40)
    a, b = (draw(hnp.arrays(dtype, shape, elements=elements)) for shape in shapes.input_shapes)
    return a, b


def t(array: np.ndarray) -> autodiff.Tensor:
    return autodiff.tensor(array)


def reference_integer(a, b, rtol, atol):
    """PyTorch's rule for integer and bool tensors: exact with zero tolerances, otherwise the
    float rule in the default dtype (float32)."""
    if rtol == 0 and atol == 0:
        return np.equal(a, b)
    return np.isclose(a.astype(np.float32), b.astype(np.float32), rtol=rtol, atol=atol)


# --- against NumPy ------------------------------------------------------------------------


@given(float_pairs(), tolerances, tolerances, st.booleans())
def test_isclose_matches_numpy_on_floats(pair, rtol, atol, equal_nan):
    a, b = pair
    got = autodiff.isclose(t(a), t(b), rtol=rtol, atol=atol, equal_nan=equal_nan)
    expected = np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)
    assert got.dtype == autodiff.bool
    assert tuple(got.shape) == expected.shape
    np.testing.assert_array_equal(got.numpy(), expected)


@given(float_pairs(), tolerances, tolerances, st.booleans())
def test_allclose_matches_numpy_on_floats(pair, rtol, atol, equal_nan):
    a, b = pair
    got = autodiff.allclose(t(a), t(b), rtol=rtol, atol=atol, equal_nan=equal_nan)
    assert type(got) is bool
    assert got == bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


@given(integer_pairs(), tolerances, tolerances, st.booleans())
def test_isclose_on_integers_and_bools_compares_in_the_default_dtype(pair, rtol, atol, equal_nan):
    a, b = pair
    got = autodiff.isclose(t(a), t(b), rtol=rtol, atol=atol, equal_nan=equal_nan)
    np.testing.assert_array_equal(got.numpy(), reference_integer(a, b, rtol, atol))
    all_close = autodiff.allclose(t(a), t(b), rtol=rtol, atol=atol, equal_nan=equal_nan)
    assert all_close == bool(reference_integer(a, b, rtol, atol).all())


# --- closed forms -----------------------------------------------------------------------------


def test_infinities_are_close_only_to_themselves_and_nan_only_with_equal_nan():
    a = autodiff.tensor([INF, -INF, INF, NAN, NAN, 1.0, INF])
    b = autodiff.tensor([INF, -INF, -INF, NAN, 1.0, INF, 1e38])
    assert autodiff.isclose(a, b).tolist() == [True, True, False, False, False, False, False]
    assert autodiff.isclose(a, b, equal_nan=True).tolist() == [
        True,
        True,
        False,
        True,
        False,
        False,
        False,
    ]
    # Even an infinite tolerance makes no finite value close to an infinite one.
    assert autodiff.isclose(a, b, atol=INF).tolist()[5:] == [False, False]


def test_the_tolerance_is_relative_to_other_so_isclose_is_not_symmetric():
    # |1 - 2| = 1 <= 0.5 * |2|, but |2 - 1| = 1 > 0.5 * |1|
    one, two = autodiff.tensor([1.0]), autodiff.tensor([2.0])
    assert autodiff.isclose(one, two, rtol=0.5, atol=0.0).tolist() == [True]
    assert autodiff.isclose(two, one, rtol=0.5, atol=0.0).tolist() == [False]
    # |2 - 1| = 1 <= 0.5 * |1| + 0.5
    assert autodiff.isclose(two, one, rtol=0.5, atol=0.5).tolist() == [True]


def test_default_tolerances_in_float64():
    # |x - 1| <= 1e-8 + 1e-5 * 1: 1 + 1e-5 is within, 1 + 2e-5 is not
    x = autodiff.tensor([1.0 + 1e-5, 1.0 + 2e-5, 1e-8, 3e-8], dtype=autodiff.float64)
    ref = autodiff.tensor([1.0, 1.0, 0.0, 0.0], dtype=autodiff.float64)
    assert autodiff.isclose(x, ref).tolist() == [True, False, True, False]


def test_inputs_broadcast_and_the_result_has_no_graph():
    a = autodiff.tensor([[1.0], [2.0], [3.0]], requires_grad=True)
    b = autodiff.tensor([1.0, 3.0])
    close = autodiff.isclose(a, b)
    assert close.tolist() == [[True, False], [False, False], [False, True]]
    assert close.dtype == autodiff.bool
    assert not close.requires_grad and close.grad_fn is None
    assert autodiff.allclose(autodiff.tensor([[2.0, 2.0]]), autodiff.tensor(2.0))


def test_zero_dim_and_empty_inputs():
    assert autodiff.isclose(autodiff.tensor(1.0), autodiff.tensor(1.0)).shape == ()
    empty = autodiff.isclose(autodiff.zeros(0, 3), autodiff.zeros(3))
    assert tuple(empty.shape) == (0, 3)
    # all() over nothing is True
    assert autodiff.allclose(autodiff.zeros(0, 3), autodiff.ones(3)) is True


def test_integers_are_compared_after_a_cast_to_the_default_dtype():
    a, b = autodiff.tensor([2**40]), autodiff.tensor([2**40 + 1])
    # float32 has a 24-bit significand: 2**40 and 2**40 + 1 round to the same float
    assert autodiff.isclose(a, b, rtol=0.0, atol=0.5).tolist() == [True]
    # zero tolerances compare the integers exactly
    assert autodiff.isclose(a, b, rtol=0.0, atol=0.0).tolist() == [False]
    previous = autodiff.get_default_dtype()
    autodiff.set_default_dtype(autodiff.float64)
    try:
        # in float64 the difference of 1 survives
        assert autodiff.isclose(a, b, rtol=0.0, atol=0.5).tolist() == [False]
        assert autodiff.isclose(a, b, rtol=0.0, atol=1.0).tolist() == [True]
    finally:
        autodiff.set_default_dtype(previous)


def test_bools_are_numbers_zero_and_one():
    a = autodiff.tensor([True, False, True])
    b = autodiff.tensor([False, False, True])
    assert autodiff.isclose(a, b).tolist() == [False, True, True]
    assert autodiff.isclose(a, b, atol=1.0).tolist() == [True, True, True]


def test_tolerances_accept_ints_bools_numpy_scalars_and_0_dim_tensors():
    # |1 - 2| = 1 and |3 - 1| = 2: close with atol 1 only for the first
    a, b = autodiff.tensor([1.0, 3.0]), autodiff.tensor([2.0, 1.0])
    assert autodiff.isclose(a, b, rtol=0, atol=1).tolist() == [True, False]
    assert autodiff.isclose(a, b, rtol=False, atol=True).tolist() == [True, False]
    assert autodiff.isclose(a, b, rtol=np.float32(0), atol=np.int64(2)).tolist() == [True, True]
    assert autodiff.isclose(a, b, rtol=0, atol=np.bool_(True)).tolist() == [True, False]
    assert autodiff.isclose(a, b, rtol=autodiff.tensor(0), atol=autodiff.tensor(2.0)).tolist() == [
        True,
        True,
    ]


# --- errors -------------------------------------------------------------------------------

F32 = autodiff.tensor([1.0])
NEGATIVE = "{} must be greater than or equal to zero, but got {}"
NOT_TENSOR = "{{f}}(): argument '{}' (position {}) must be Tensor, not {}"
NOT_A = "{{f}}(): argument '{}' must be {}, not {}"
ERRORS = [
    ((F32, F32.double()), {}, RuntimeError, "Float did not match Double"),
    ((autodiff.tensor([1]), F32), {}, RuntimeError, "Long did not match Float"),
    ((autodiff.tensor([True]), F32.double()), {}, RuntimeError, "Bool did not match Double"),
    ((F32, F32), {"rtol": -1}, RuntimeError, NEGATIVE.format("rtol", "-1")),
    ((F32, F32), {"atol": -1e-5}, RuntimeError, NEGATIVE.format("atol", "-1e-05")),
    ((F32, F32), {"rtol": NAN}, RuntimeError, NEGATIVE.format("rtol", "nan")),
    ((F32, F32), {"rtol": -1, "atol": -1}, RuntimeError, NEGATIVE.format("rtol", "-1")),
    (
        (autodiff.tensor([1.0, 2.0]), autodiff.tensor([1.0, 2.0, 3.0])),
        {},
        RuntimeError,
        "The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 0",
    ),
    ((1.0, F32), {}, TypeError, NOT_TENSOR.format("input", 1, "float")),
    ((F32, [1.0]), {}, TypeError, NOT_TENSOR.format("other", 2, "list")),
    ((F32, F32), {"rtol": "x"}, TypeError, NOT_A.format("rtol", "float", "str")),
    ((F32, F32), {"atol": None}, TypeError, NOT_A.format("atol", "float", "NoneType")),
    (
        (F32, F32),
        {"atol": autodiff.tensor([0.1])},
        TypeError,
        NOT_A.format("atol", "float", "Tensor"),
    ),
    (
        (F32, F32),
        {"atol": autodiff.tensor(0.1, requires_grad=True)},
        TypeError,
        NOT_A.format("atol", "float", "Tensor"),
    ),
    ((F32, F32), {"equal_nan": 1}, TypeError, NOT_A.format("equal_nan", "bool", "int")),
]


@pytest.mark.parametrize("name", ["isclose", "allclose"])
@pytest.mark.parametrize(("args", "kwargs", "error", "message"), ERRORS)
def test_errors(name, args, kwargs, error, message):
    with pytest.raises(error, match=re.escape(message.format(f=name))):
        getattr(autodiff, name)(*args, **kwargs)


# --- against torch, where installed ----------------------------------------------------------


def to_torch(torch, array: np.ndarray):
    return torch.from_numpy(np.ascontiguousarray(array))


@given(st.one_of(float_pairs(), integer_pairs()), tolerances, tolerances, st.booleans())
def test_isclose_matches_torch(pair, rtol, atol, equal_nan):
    torch = pytest.importorskip("torch")
    a, b = pair
    kwargs = {"rtol": rtol, "atol": atol, "equal_nan": equal_nan}
    expected = torch.isclose(to_torch(torch, a), to_torch(torch, b), **kwargs).numpy()
    np.testing.assert_array_equal(autodiff.isclose(t(a), t(b), **kwargs).numpy(), expected)
    assert autodiff.allclose(t(a), t(b), **kwargs) == torch.allclose(
        to_torch(torch, a), to_torch(torch, b), **kwargs
    )


@pytest.mark.parametrize("name", ["isclose", "allclose"])
@pytest.mark.parametrize(("args", "kwargs", "error", "message"), ERRORS)
def test_error_messages_are_torchs(name, args, kwargs, error, message):
    torch = pytest.importorskip("torch")

    def convert(value):
        if not isinstance(value, autodiff.Tensor):
            return value
        return torch.from_numpy(value.detach().numpy()).requires_grad_(value.requires_grad)

    with pytest.raises(error, match=re.escape(message.format(f=name))):
        getattr(torch, name)(*map(convert, args), **{k: convert(v) for k, v in kwargs.items()})
