"""Tensor repr layout (autodiff/_tensor_str.py) against strings printed by PyTorch.

Every expected string below was printed by torch 2.15 (``repr(t)`` with ``torch.`` replaced by
``autodiff.``). The module is loaded by path so that these tests run without the native engine.
The hypothesis tests at the end compare against a live torch when it is installed.
"""

from __future__ import annotations

import importlib.util
import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

_PATH = Path(__file__).resolve().parents[1] / "python" / "autodiff" / "_tensor_str.py"
_NAME = "_autodiff_tensor_str_under_test"


def _load():
    spec = importlib.util.spec_from_file_location(_NAME, _PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[_NAME] = module  # dataclasses looks the module up while building the class
    spec.loader.exec_module(module)
    return module


ts = _load()
format_tensor = ts.format_tensor

F32, F64, I64, B = "float32", "float64", "int64", "bool"
NP_DTYPES = {F32: np.float32, F64: np.float64, I64: np.int64, B: np.bool_}
DEFAULTS = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80, "sci_mode": None}


def fmt(values, dtype, **kwargs):
    return format_tensor(np.asarray(values, dtype=NP_DTYPES[dtype]), dtype, **kwargs)


# (id, values, dtype, repr printed by torch)
CASES = [
    ("scalar-intval", np.float32(3.0), F32, "tensor(3.)"),
    ("scalar-67", np.float32(6.7), F32, "tensor(6.7000)"),
    ("scalar-09988", np.float32(0.9988), F32, "tensor(0.9988)"),
    ("scalar-negative", np.float32(-0.5), F32, "tensor(-0.5000)"),
    ("scalar-int64", np.int64(3), I64, "tensor(3)"),
    ("scalar-bool", np.bool_(True), B, "tensor(True)"),
    ("scalar-sci", np.float32(1e-5), F32, "tensor(1.0000e-05)"),
    ("scalar-nan", np.float32(np.nan), F32, "tensor(nan)"),
    ("vec-intval", [1.0, 2.0], F32, "tensor([1., 2.])"),
    ("vec-fixed", [1.0, 2.5], F32, "tensor([1.0000, 2.5000])"),
    ("vec-negative-align", [-1.5, 2.25, 10.0], F32, "tensor([-1.5000,  2.2500, 10.0000])"),
    ("vec-intval-align", [-1.0, 100.0, 0.0], F32, "tensor([ -1., 100.,   0.])"),
    ("vec-sci-range", [1e10, 1.0], F32, "tensor([1.0000e+10, 1.0000e+00])"),
    ("vec-sci-small", [1e-5, 0.5], F32, "tensor([1.0000e-05, 5.0000e-01])"),
    ("vec-sci-negative", [-1e9, 2.0, 0.0], F32, "tensor([-1.0000e+09,  2.0000e+00,  0.0000e+00])"),
    ("vec-inf-nan", [np.inf, np.nan, 1.0], F32, "tensor([inf, nan, 1.])"),
    ("vec-inf-nan-fixed", [-np.inf, 0.25, np.nan], F32, "tensor([  -inf, 0.2500,    nan])"),
    ("vec-all-zero", [0.0, 0.0], F32, "tensor([0., 0.])"),
    ("vec-negative-zero", [-0.0, 1.0], F32, "tensor([-0., 1.])"),
    ("vec-rounding", [0.1, 0.2, 1 / 3], F32, "tensor([0.1000, 0.2000, 0.3333])"),
    ("vec-float64", [1.5], F64, "tensor([1.5000], dtype=autodiff.float64)"),
    ("vec-float64-prec", [0.1, 1 / 3], F64, "tensor([0.1000, 0.3333], dtype=autodiff.float64)"),
    ("vec-int64", [1, -20, 300], I64, "tensor([  1, -20, 300])"),
    ("vec-bool", [True, False], B, "tensor([ True, False])"),
    (
        "vec-wrap",
        np.arange(30, dtype=np.float32) * 1.5,
        F32,
        (
            "tensor([ 0.0000,  1.5000,  3.0000,  4.5000,  6.0000,  7.5000,  9.0000, 10.5000,\n"
            "        12.0000, 13.5000, 15.0000, 16.5000, 18.0000, 19.5000, 21.0000, 22.5000,\n"
            "        24.0000, 25.5000, 27.0000, 28.5000, 30.0000, 31.5000, 33.0000, 34.5000,\n"
            "        36.0000, 37.5000, 39.0000, 40.5000, 42.0000, 43.5000])"
        ),
    ),
    (
        "vec-wrap-int64",
        np.arange(-20, 20, dtype=np.int64) * 1000,
        I64,
        (
            "tensor([-20000, -19000, -18000, -17000, -16000, -15000, -14000, -13000, -12000,\n"
            "        -11000, -10000,  -9000,  -8000,  -7000,  -6000,  -5000,  -4000,  -3000,\n"
            "         -2000,  -1000,      0,   1000,   2000,   3000,   4000,   5000,   6000,\n"
            "          7000,   8000,   9000,  10000,  11000,  12000,  13000,  14000,  15000,\n"
            "         16000,  17000,  18000,  19000])"
        ),
    ),
    ("mat-2d", [[1.0, 2.0], [3.0, 4.0]], F32, ("tensor([[1., 2.],\n        [3., 4.]])")),
    (
        "mat-2d-fixed",
        np.arange(12, dtype=np.float32).reshape(2, 6) * np.float32(1.123),
        F32,
        (
            "tensor([[ 0.0000,  1.1230,  2.2460,  3.3690,  4.4920,  5.6150],\n"
            "        [ 6.7380,  7.8610,  8.9840, 10.1070, 11.2300, 12.3530]])"
        ),
    ),
    (
        "mat-2d-wrap",
        np.arange(40, dtype=np.float32).reshape(2, 20) / 7,
        F32,
        (
            "tensor([[0.0000, 0.1429, 0.2857, 0.4286, 0.5714, 0.7143, 0.8571, 1.0000, 1.1429,\n"
            "         1.2857, 1.4286, 1.5714, 1.7143, 1.8571, 2.0000, 2.1429, 2.2857, 2.4286,\n"
            "         2.5714, 2.7143],\n"
            "        [2.8571, 3.0000, 3.1429, 3.2857, 3.4286, 3.5714, 3.7143, 3.8571, 4.0000,\n"
            "         4.1429, 4.2857, 4.4286, 4.5714, 4.7143, 4.8571, 5.0000, 5.1429, 5.2857,\n"
            "         5.4286, 5.5714]])"
        ),
    ),
    (
        "mat-2d-bool",
        [[True, False], [False, True]],
        B,
        ("tensor([[ True, False],\n        [False,  True]])"),
    ),
    (
        "nd-3d",
        np.arange(24, dtype=np.float32).reshape(2, 3, 4),
        F32,
        (
            "tensor([[[ 0.,  1.,  2.,  3.],\n"
            "         [ 4.,  5.,  6.,  7.],\n"
            "         [ 8.,  9., 10., 11.]],\n"
            "\n"
            "        [[12., 13., 14., 15.],\n"
            "         [16., 17., 18., 19.],\n"
            "         [20., 21., 22., 23.]]])"
        ),
    ),
    (
        "nd-4d",
        np.arange(16, dtype=np.int64).reshape(2, 2, 2, 2),
        I64,
        (
            "tensor([[[[ 0,  1],\n"
            "          [ 2,  3]],\n"
            "\n"
            "         [[ 4,  5],\n"
            "          [ 6,  7]]],\n"
            "\n"
            "\n"
            "        [[[ 8,  9],\n"
            "          [10, 11]],\n"
            "\n"
            "         [[12, 13],\n"
            "          [14, 15]]]])"
        ),
    ),
    (
        "summary-1d",
        np.arange(2000, dtype=np.float32),
        F32,
        (
            "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n"
            "        1.9990e+03])"
        ),
    ),
    (
        "summary-1d-int64",
        np.arange(1001, dtype=np.int64),
        I64,
        "tensor([   0,    1,    2,  ...,  998,  999, 1000])",
    ),
    (
        "summary-2d",
        np.arange(2000, dtype=np.int64).reshape(40, 50),
        I64,
        (
            "tensor([[   0,    1,    2,  ...,   47,   48,   49],\n"
            "        [  50,   51,   52,  ...,   97,   98,   99],\n"
            "        [ 100,  101,  102,  ...,  147,  148,  149],\n"
            "        ...,\n"
            "        [1850, 1851, 1852,  ..., 1897, 1898, 1899],\n"
            "        [1900, 1901, 1902,  ..., 1947, 1948, 1949],\n"
            "        [1950, 1951, 1952,  ..., 1997, 1998, 1999]])"
        ),
    ),
    (
        "summary-3d-outer",
        np.arange(1001, dtype=np.float32).reshape(1001, 1, 1),
        F32,
        (
            "tensor([[[   0.]],\n"
            "\n"
            "        [[   1.]],\n"
            "\n"
            "        [[   2.]],\n"
            "\n"
            "        ...,\n"
            "\n"
            "        [[ 998.]],\n"
            "\n"
            "        [[ 999.]],\n"
            "\n"
            "        [[1000.]]])"
        ),
    ),
    (
        "summary-3d-inner",
        np.arange(1002, dtype=np.float32).reshape(2, 1, 501) / 8 - 60,
        F32,
        "tensor([[[-60.0000, -59.8750, -59.7500,  ...,   2.2500,   2.3750,   2.5000]],\n"
        "\n"
        "        [[  2.6250,   2.7500,   2.8750,  ...,  64.8750,  65.0000,  65.1250]]])",
    ),
    ("empty-1d", np.zeros(0, dtype=np.float32), F32, "tensor([])"),
    ("empty-2d", np.zeros((0, 3), dtype=np.float32), F32, "tensor([], size=(0, 3))"),
    ("empty-3d", np.zeros((2, 0, 3), dtype=np.float32), F32, "tensor([], size=(2, 0, 3))"),
    ("empty-int64", np.zeros(0, dtype=np.int64), I64, "tensor([], dtype=autodiff.int64)"),
    (
        "empty-int64-2d",
        np.zeros((3, 0), dtype=np.int64),
        I64,
        "tensor([], size=(3, 0), dtype=autodiff.int64)",
    ),
    ("empty-bool", np.zeros(0, dtype=np.bool_), B, "tensor([], dtype=autodiff.bool)"),
    ("empty-float64", np.zeros(0, dtype=np.float64), F64, "tensor([], dtype=autodiff.float64)"),
]


@pytest.mark.parametrize(
    ("values", "dtype", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_layout_matches_pytorch(values, dtype, expected):
    assert fmt(values, dtype) == expected


# (id, values, dtype, suffixes, default dtype, repr printed by torch)
SUFFIX_CASES = [
    ("leaf", 3.0, F32, ["requires_grad=True"], F32, "tensor(3., requires_grad=True)"),
    ("grad-fn", 9.0, F32, ["grad_fn=<PowBackward0>"], F32, "tensor(9., grad_fn=<PowBackward0>)"),
    (
        "2d-leaf",
        [[1.0, 2.0], [3.0, 4.0]],
        F32,
        ["requires_grad=True"],
        F32,
        "tensor([[1., 2.],\n        [3., 4.]], requires_grad=True)",
    ),
    (
        "float64-leaf",
        [1.0, 2.0],
        F64,
        ["requires_grad=True"],
        F32,
        "tensor([1., 2.], dtype=autodiff.float64, requires_grad=True)",
    ),
    (
        "float64-grad-fn",
        [2.0, 4.0],
        F64,
        ["grad_fn=<MulBackward0>"],
        F32,
        "tensor([2., 4.], dtype=autodiff.float64, grad_fn=<MulBackward0>)",
    ),
    (
        "wrap-suffix",
        np.arange(12, dtype=np.float32).reshape(2, 6) * np.float32(1.123),
        F32,
        ["grad_fn=<MulBackward0>"],
        F32,
        "tensor([[ 0.0000,  1.1230,  2.2460,  3.3690,  4.4920,  5.6150],\n"
        "        [ 6.7380,  7.8610,  8.9840, 10.1070, 11.2300, 12.3530]],\n"
        "       grad_fn=<MulBackward0>)",
    ),
    (
        "wrap-dtype-then-same-line",
        np.arange(12).reshape(2, 6) * 1.123,
        F64,
        ["grad_fn=<MulBackward0>"],
        F32,
        "tensor([[ 0.0000,  1.1230,  2.2460,  3.3690,  4.4920,  5.6150],\n"
        "        [ 6.7380,  7.8610,  8.9840, 10.1070, 11.2300, 12.3530]],\n"
        "       dtype=autodiff.float64, grad_fn=<MulBackward0>)",
    ),
    (
        "wrap-1d",
        np.arange(8) * 1.123,
        F64,
        ["grad_fn=<MulBackward0>"],
        F32,
        "tensor([0.0000, 1.1230, 2.2460, 3.3690, 4.4920, 5.6150, 6.7380, 7.8610],\n"
        "       dtype=autodiff.float64, grad_fn=<MulBackward0>)",
    ),
    ("empty-leaf", [], F32, ["requires_grad=True"], F32, "tensor([], requires_grad=True)"),
    (
        "empty-2d-float64-leaf",
        np.zeros((0, 3)),
        F64,
        ["requires_grad=True"],
        F32,
        "tensor([], size=(0, 3), dtype=autodiff.float64, requires_grad=True)",
    ),
    # torch.set_default_dtype(torch.float64): now float32 is the one that shows its dtype
    ("default64-float32", [1.5], F32, [], F64, "tensor([1.5000], dtype=autodiff.float32)"),
    ("default64-float64", [1.5], F64, [], F64, "tensor([1.5000])"),
    ("default64-empty-float64", [], F64, [], F64, "tensor([])"),
    ("default64-empty-float32", [], F32, [], F64, "tensor([], dtype=autodiff.float32)"),
    ("default64-int64", [1, 2], I64, [], F64, "tensor([1, 2])"),
]


@pytest.mark.parametrize(
    ("values", "dtype", "suffixes", "default", "expected"),
    [c[1:] for c in SUFFIX_CASES],
    ids=[c[0] for c in SUFFIX_CASES],
)
def test_suffixes_match_pytorch(values, dtype, suffixes, default, expected):
    assert fmt(values, dtype, suffixes=suffixes, default_dtype_name=default) == expected


# (id, print options, values, dtype, suffixes, repr printed by torch under those options)
OPTION_CASES = [
    ("precision", {"precision": 2}, [1.12345, 2.0], F32, [], "tensor([1.12, 2.00])"),
    ("precision-sci", {"precision": 2}, [1.12345e9, 2.0], F32, [], "tensor([1.12e+09, 2.00e+00])"),
    ("threshold", {"threshold": 5}, np.arange(10), I64, [], "tensor([0, 1, 2,  ..., 7, 8, 9])"),
    (
        "edgeitems-1",
        {"edgeitems": 1, "threshold": 5},
        np.arange(24).reshape(2, 3, 4),
        F32,
        [],
        "tensor([[[ 0.,  ...,  3.],\n"
        "         ...,\n"
        "         [ 8.,  ..., 11.]],\n"
        "\n"
        "        [[12.,  ..., 15.],\n"
        "         ...,\n"
        "         [20.,  ..., 23.]]])",
    ),
    ("edgeitems-0", {"edgeitems": 0}, [1.0, 2.0], F32, [], "tensor([1., 2.], size=(2,))"),
    ("edgeitems-0-big", {"edgeitems": 0}, np.arange(2000), F32, [], "tensor([...], size=(2000,))"),
    (
        "edgeitems-0-2d",
        {"edgeitems": 0},
        np.arange(2000).reshape(40, 50),
        F32,
        [],
        "tensor([...], size=(40, 50))",
    ),
    (
        "linewidth",
        {"linewidth": 40},
        np.arange(12) / 3,
        F32,
        [],
        "tensor([0.0000, 0.3333, 0.6667, 1.0000,\n"
        "        1.3333, 1.6667, 2.0000, 2.3333,\n"
        "        2.6667, 3.0000, 3.3333, 3.6667])",
    ),
    (
        "linewidth-each-suffix-wraps",
        {"linewidth": 40},
        [0.0, 1.0, 2.0],
        F64,
        ["requires_grad=True"],
        "tensor([0., 1., 2.],\n       dtype=autodiff.float64,\n       requires_grad=True)",
    ),
    ("sci-on", {"sci_mode": True}, [1.0, 2.5], F32, [], "tensor([1.0000e+00, 2.5000e+00])"),
    # no finite non-zero value: PyTorch keeps integer style even with sci_mode=True
    ("sci-on-zeros", {"sci_mode": True}, [0.0, 0.0], F32, [], "tensor([0., 0.])"),
    (
        "sci-off",
        {"sci_mode": False},
        [1e10, 1.5e-5],
        F32,
        [],
        "tensor([10000000000.0000,           0.0000])",
    ),
    (
        "profile-short",
        {"profile": "short"},
        np.arange(2000) / 3,
        F32,
        [],
        "tensor([0.00e+00, 3.33e-01,  ..., 6.66e+02, 6.66e+02])",
    ),
]


@pytest.mark.parametrize(
    ("options", "values", "dtype", "suffixes", "expected"),
    [c[1:] for c in OPTION_CASES],
    ids=[c[0] for c in OPTION_CASES],
)
def test_print_options_match_pytorch(options, values, dtype, suffixes, expected):
    with ts.printoptions(**options):
        assert fmt(values, dtype, suffixes=suffixes) == expected
    assert ts.get_printoptions() == DEFAULTS


def test_suffix_wraps_by_autodiff_name_length():
    # Same rule as torch, applied to our longer name: torch prints
    # "tensor([0.5000, ..., 0.5000], dtype=torch.float64)" on one line (last line 55 + 2 + 19
    # + 2 <= 80), while "dtype=autodiff.float64" is 3 columns longer and must wrap.
    assert fmt([0.5] * 6, F64) == (
        "tensor([0.5000, 0.5000, 0.5000, 0.5000, 0.5000, 0.5000],\n       dtype=autodiff.float64)"
    )


def test_threshold_is_exclusive_and_full_profile_never_summarises():
    # 1000 elements is not "above the threshold"; 1001 is
    at_threshold = fmt(np.ones(1000), F32)
    assert "..." not in at_threshold
    assert at_threshold.count("1.") == 1000
    assert at_threshold.splitlines()[1] == "        " + ", ".join(["1."] * 18) + ","
    assert "..." in fmt(np.ones(1001), F32)
    with ts.printoptions(profile="full"):
        full = fmt(np.arange(1001), I64)
    # (80 - 7) // (4 + 2) = 12 numbers per line -> ceil(1001 / 12) = 84 lines
    assert "..." not in full
    assert len(full.splitlines()) == 84
    assert full.endswith("         996,  997,  998,  999, 1000])")


def test_get_and_set_printoptions_follow_pytorch():
    try:
        assert ts.get_printoptions() == DEFAULTS
        ts.set_printoptions(profile="short", precision=3)
        short = {"precision": 3, "threshold": 1000, "edgeitems": 2, "linewidth": 80}
        assert ts.get_printoptions() == {**short, "sci_mode": None}
        ts.set_printoptions(sci_mode=True)
        assert ts.get_printoptions() == {**short, "sci_mode": True}
        # like torch, a call without sci_mode resets it to automatic
        ts.set_printoptions()
        assert ts.get_printoptions() == {**short, "sci_mode": None}
        ts.set_printoptions(profile="full")
        assert ts.get_printoptions() == {**DEFAULTS, "threshold": math.inf}
        ts.set_printoptions(**DEFAULTS)
        assert ts.get_printoptions() == DEFAULTS
    finally:
        ts.set_printoptions(profile="default")
    assert ts.get_printoptions() == DEFAULTS


def test_printoptions_context_restores_on_error():
    with pytest.raises(KeyError, match="boom"), ts.printoptions(precision=1, linewidth=20):
        assert fmt([1.25], F32) == "tensor([1.2])"
        raise KeyError("boom")
    assert ts.get_printoptions() == DEFAULTS


def test_unknown_dtype_name_is_rejected():
    msg = "unsupported dtype name: 'complex64'"
    with pytest.raises(ValueError, match=re.escape(msg)):
        format_tensor(np.zeros(2), "complex64")


@st.composite
def small_arrays(draw, max_side=6, max_float64=None):
    """Arrays small enough never to be summarised, with hypothesis-chosen element values."""
    dtype = draw(st.sampled_from([F32, F64, I64, B]))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=max_side))
    if dtype == I64:
        elements = st.integers(-(2**63), 2**63 - 1)
    elif dtype == B:
        elements = st.booleans()
    elif dtype == F32:
        elements = st.floats(width=32)
    elif max_float64 is None:
        elements = st.floats()
    else:
        bounded = st.floats(-max_float64, max_float64)
        elements = bounded | st.sampled_from([math.nan, math.inf, -math.inf])
    return draw(hnp.arrays(NP_DTYPES[dtype], shape, elements=elements)), dtype


@settings(max_examples=200, deadline=None)
@given(small_arrays(max_float64=1e307))  # 1.79769e308 prints as 1.7977e+308, which is inf
def test_printed_numbers_read_back_to_the_values(case):
    # Independent of torch: the printed body is a nested list literal that reads back to the
    # values, exactly for int64/bool, and within the printed precision for floats
    # (fixed mode: 4 decimals, only used when all magnitudes are in [1e-4, 1e8]; sci mode: 5
    # significant digits).
    data, dtype = case
    # a float dtype that is the default prints no dtype suffix, leaving only the body
    default = dtype if dtype in (F32, F64) else F32
    text = format_tensor(data, dtype, default_dtype_name=default)
    if data.size == 0:
        extra = [f"size={data.shape}"] if data.ndim != 1 else []
        extra += [f"dtype=autodiff.{dtype}"] if dtype != default else []
        assert text == "tensor(" + ", ".join(["[]", *extra]) + ")"
        return
    assert text.startswith("tensor(") and text.endswith(")")
    body = text[len("tensor(") : -1]
    parsed = np.array(eval(body, {"nan": math.nan, "inf": math.inf}))
    assert parsed.shape == data.shape
    if dtype in (I64, B):
        assert parsed.tolist() == data.tolist()
    else:
        np.testing.assert_allclose(parsed, data.astype(np.float64), rtol=1e-4, atol=5.1e-5)


# ---- live comparison with PyTorch (optional oracle) ----

SUFFIX_CHOICES = [(), ("requires_grad=True",), ("grad_fn=<MulBackward0>",)]


@st.composite
def shapes(draw, max_numel=2000):
    shape, budget = [], max_numel
    for _ in range(draw(st.integers(0, 4))):
        side = draw(st.integers(0, min(budget, 8)) | st.integers(0, budget))
        shape.append(side)
        budget //= max(side, 1)
    return tuple(shape)


@st.composite
def random_arrays(draw):
    """Up to 2000 elements filled by a seeded RNG; hypothesis picks the regime."""
    shape, dtype = draw(shapes()), draw(st.sampled_from([F32, F64, I64, B]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = math.prod(shape)
    if dtype == B:
        return rng.random(shape) < draw(st.floats(0, 1)), dtype
    if dtype == I64:
        high = 10 ** draw(st.integers(0, 18))
        return rng.integers(-high, high, shape, endpoint=True), dtype
    max_exp = 38 if dtype == F32 else 307
    low = draw(st.integers(-max_exp - 8, max_exp))
    span = draw(st.integers(0, 12))
    kind = draw(st.sampled_from(["normal", "integers", "logspace", "positive"]))
    with np.errstate(all="ignore"):
        if kind == "normal":
            data = rng.standard_normal(n) * 10.0**low
        elif kind == "integers":
            data = rng.integers(-(10**span), 10**span, n, endpoint=True).astype(np.float64)
        else:
            data = 10.0 ** rng.uniform(low, low + span, n)
            if kind == "logspace":
                data *= rng.choice([-1.0, 1.0], n)
        special_rate = draw(st.sampled_from([0.0, 0.0, 0.05, 0.5]))
        mask = rng.random(n) < special_rate
        data[mask] = rng.choice([0.0, -0.0, math.nan, math.inf, -math.inf], int(mask.sum()))
        return data.astype(NP_DTYPES[dtype]).reshape(shape), dtype


_SUFFIX_START = re.compile(r",\s+(?=(?:size|dtype|requires_grad|grad_fn)=)")


def _torch_repr(torch, data, dtype, suffixes, default):
    """torch's repr with autodiff's names.

    ``dtype=autodiff.float64`` is 3 columns longer than ``dtype=torch.float64``, which can move
    the point where suffixes wrap; so split torch's repr into body and suffixes, rename, and let
    torch's own suffix placement (``torch._tensor_str._add_suffixes``) lay them out again.
    """
    t = torch.tensor(data)
    if suffixes == ("requires_grad=True",):
        t.requires_grad_()
    elif suffixes == ("grad_fn=<MulBackward0>",):
        t = t.requires_grad_() * 1  # x * 1 == x bit for bit, including -0.0 and nan
    previous = torch.get_default_dtype()
    torch.set_default_dtype(getattr(torch, default))
    try:
        body, *parts = _SUFFIX_START.split(repr(t)[:-1])
    finally:
        torch.set_default_dtype(previous)
    parts = [part.replace("torch.", "autodiff.") for part in parts]
    return torch._tensor_str._add_suffixes(body, parts, len("tensor("), force_newline=False)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(random_arrays(), small_arrays()),
    st.sampled_from(SUFFIX_CHOICES),
    st.sampled_from([F32, F64]),
)
def test_matches_live_pytorch(case, suffixes, default):
    torch = pytest.importorskip("torch")
    data, dtype = case
    if dtype not in (F32, F64):
        suffixes = ()  # only float tensors can require grad
    expected = _torch_repr(torch, data, dtype, suffixes, default)
    got = format_tensor(data, dtype, default_dtype_name=default, suffixes=list(suffixes))
    assert got == expected


print_options = st.fixed_dictionaries(
    {
        "precision": st.integers(0, 8),
        "threshold": st.sampled_from([0, 1, 5, 50, 200, 1000, math.inf]),
        "edgeitems": st.integers(0, 5),
        "linewidth": st.integers(1, 150),
        "sci_mode": st.sampled_from([None, True, False]),
    }
)


@settings(max_examples=200, deadline=None)
@given(st.one_of(random_arrays(), small_arrays()), st.sampled_from(SUFFIX_CHOICES), print_options)
def test_matches_live_pytorch_under_print_options(case, suffixes, options):
    torch = pytest.importorskip("torch")
    data, dtype = case
    if dtype not in (F32, F64):
        suffixes = ()
    previous = torch._tensor_str.get_printoptions()
    torch.set_printoptions(**options)
    try:
        expected = _torch_repr(torch, data, dtype, suffixes, F32)
    finally:
        torch.set_printoptions(**previous)
    with ts.printoptions(**options):
        got = format_tensor(data, dtype, suffixes=list(suffixes))
    assert got == expected
