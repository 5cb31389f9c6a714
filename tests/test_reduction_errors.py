"""Reduction errors: every wrong call of ``sum mean prod amax amin max min argmax argmin var std
norm all any`` raises PyTorch's exception type with its whole message, and where PyTorch is
installed the same table runs through it, so the texts here are PyTorch's, re-checked on each run.
Argument-parser refusals (tuples where an int is taken, ``unbiased=`` with ``correction=``) are
checked for their type only.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest
from numeric_checks import DIM_RANGE_2D, INF, ones, raises

import autodiff as torch


@pytest.fixture(scope="module")
def torch_ref() -> Any:
    return pytest.importorskip("torch")


# --- errors -------------------------------------------------------------------------------------
# (id, fn(module), exception type, PyTorch's whole message); test_errors_match_torch re-checks
# every entry against torch itself.


EMPTY_ALL = (
    "{}(): Expected reduction dim to be specified for input.numel() == 0. "
    "Specify the reduction dim with the 'dim' argument."
)
DOF = "std and var only support floating point and complex dtypes"
VECTOR_NORM_DTYPE = (
    "linalg.vector_norm: Expected a floating point or complex tensor as input. Got {}"
)
ERRORS: list[tuple[str, Callable[[Any], Any], type[BaseException], str]] = [
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
    ("var-int64", lambda m: ones(m, 3, dtype="int64").var(), NotImplementedError, DOF),
    ("std-int64", lambda m: m.std(ones(m, 3, dtype="int64"), 0), NotImplementedError, DOF),
    ("var-bool", lambda m: ones(m, 3, dtype="bool").var(), NotImplementedError, DOF),
    ("norm-int64", lambda m: ones(m, 3, dtype="int64").norm(), NotImplementedError,
     VECTOR_NORM_DTYPE.format("Long")),
    ("norm-int64-p1", lambda m: m.norm(ones(m, 3, dtype="int64"), 1), NotImplementedError,
     VECTOR_NORM_DTYPE.format("Long")),
    ("norm-bool", lambda m: ones(m, 3, dtype="bool").norm(), NotImplementedError,
     VECTOR_NORM_DTYPE.format("Bool")),
    ("mean-int64", lambda m: ones(m, 3, dtype="int64").mean(), NotImplementedError,
     "mean(): could not infer output dtype. Input dtype must be either a floating point or "
     "complex dtype. Got: Long"),
    ("argmax-bool", lambda m: ones(m, 3, dtype="bool").argmax(), NotImplementedError,
     "argmax(): does not support bool input"),
    (
        "argmin-bool",
        lambda m: m.argmin(ones(m, 2, 2, dtype="bool"), 1),
        NotImplementedError,
        "argmin(): does not support bool input",
    ),
    # dims
    ("sum-dim", lambda m: ones(m, 2, 3).sum(2), IndexError, DIM_RANGE_2D.format(2)),
    ("mean-dims", lambda m: ones(m, 2, 3).mean((0, 2)), IndexError, DIM_RANGE_2D.format(2)),
    ("prod-dim", lambda m: ones(m, 2, 3).prod(2), IndexError, DIM_RANGE_2D.format(2)),
    ("amax-dim", lambda m: ones(m, 2, 3).amax(2), IndexError, DIM_RANGE_2D.format(2)),
    ("amin-dim", lambda m: ones(m, 2, 3).amin(-3), IndexError, DIM_RANGE_2D.format(-3)),
    ("max-dim", lambda m: ones(m, 2, 3).max(2), IndexError, DIM_RANGE_2D.format(2)),
    ("min-dim", lambda m: m.min(ones(m, 2, 3), -3), IndexError, DIM_RANGE_2D.format(-3)),
    ("argmax-dim", lambda m: ones(m, 2, 3).argmax(2), IndexError, DIM_RANGE_2D.format(2)),
    ("argmin-dim", lambda m: ones(m, 2, 3).argmin(-3), IndexError, DIM_RANGE_2D.format(-3)),
    ("var-dim", lambda m: ones(m, 2, 3).var(2), IndexError, DIM_RANGE_2D.format(2)),
    ("std-dim", lambda m: ones(m, 2, 3).std((0, 2)), IndexError, DIM_RANGE_2D.format(2)),
    ("norm-dim", lambda m: ones(m, 2, 3).norm(dim=2), IndexError, DIM_RANGE_2D.format(2)),
    ("all-dim", lambda m: ones(m, 2, 3).all(2), IndexError, DIM_RANGE_2D.format(2)),
    ("any-dim", lambda m: ones(m, 2, 3).any(-3), IndexError, DIM_RANGE_2D.format(-3)),
    ("sum-dim-0d", lambda m: m.tensor(1.0).sum(1), IndexError,
     "Dimension out of range (expected to be in range of [-1, 0], but got 1)"),
    ("max-dim-0d", lambda m: m.tensor(1.0).max(-2), IndexError,
     "Dimension out of range (expected to be in range of [-1, 0], but got -2)"),
    ("amax-repeated", lambda m: ones(m, 2, 3).amax((0, 0)), RuntimeError,
     "dim 0 appears multiple times in the list of dims"),
    ("amax-repeated-negative", lambda m: ones(m, 2, 3).amax((1, -1)), RuntimeError,
     "dim 1 appears multiple times in the list of dims"),
    ("amin-repeated", lambda m: m.amin(ones(m, 2, 3), (0, -2)), RuntimeError,
     "dim 0 appears multiple times in the list of dims"),
    ("sum-repeated", lambda m: ones(m, 2, 3).sum((0, 0)), RuntimeError,
     "dim 0 appears multiple times in the list of dims"),
    ("mean-repeated", lambda m: ones(m, 2, 3).mean((1, -1)), RuntimeError,
     "dim 1 appears multiple times in the list of dims"),
    ("var-repeated", lambda m: ones(m, 2, 3).var((0, 0)), RuntimeError,
     "dim 0 appears multiple times in the list of dims"),
    ("norm-repeated", lambda m: ones(m, 2, 3).norm(dim=(0, 0)), RuntimeError,
     "dim 0 appears multiple times in the list of dims"),
    ("all-repeated", lambda m: ones(m, 2, 3).all((0, 0)), RuntimeError,
     "dim 0 appears multiple times in the list of dims"),
    ("norm-fro-3-dims", lambda m: ones(m, 2, 3, 4).norm("fro", dim=(0, 1, 2)), RuntimeError,
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
        lambda m: ones(m, 2, 3).prod((0, 1)),
        lambda m: ones(m, 2, 3).max((0, 1)),
        lambda m: ones(m, 2, 3).min((0, 1)),
        lambda m: ones(m, 2, 3).argmax((0, 1)),
        lambda m: m.argmin(ones(m, 2, 3), dim=(0,)),
        lambda m: ones(m, 2, 3).var(unbiased=False, correction=1),
    ],
    ids=[
        "prod",
        "max",
        "min",
        "argmax",
        "argmin",
        "var-unbiased-and-correction",
    ],  # fmt: skip
)
def test_argument_errors_are_type_errors(fn):
    # PyTorch's argument parser: int-only dims reject tuples, unbiased= and correction= are
    # different overloads. Its wording (a list of the signatures) is not pinned; the type is.
    with pytest.raises(TypeError):
        fn(torch)


@pytest.mark.parametrize(("fn", "exc", "message"), [c[1:] for c in ERRORS], ids=ERROR_IDS)
def test_errors_match_torch(fn, exc, message, torch_ref):
    with raises(exc, message):
        fn(torch_ref)
