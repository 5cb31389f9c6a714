"""The join and split ops: cat/concat, stack, split, chunk, unbind.

Forward values against NumPy (``concatenate``, ``stack``, slices), over hypothesis-drawn shapes
including zero sizes; dtype promotion across the joined tensors; gradients against float64
central differences (``gradcheck_util``), with one cotangent per piece for the ops that return
several; second derivatives through ``create_graph=True``; PyTorch 2.15's grad_fn names and error
messages; and a comparison with PyTorch itself, when it is installed, on expressions that mix
these ops with indexing.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from shape_checks import (
    assert_gradients,
    assert_pieces_gradient,
    assert_second_derivative,
    check_error,
    check_errors_match_torch,
    check_grad_fn_name,
    check_grad_fn_names_match_torch,
    check_no_grad_fn,
)

import autodiff as torch

# --- 1. split and join ops ----------------------------------------------------------------------


@st.composite
def cat_inputs(draw):
    """One to three shapes, equal except along dim, where sizes may be zero."""
    ndim = draw(st.integers(1, 3))
    shape = [draw(st.integers(1, 3)) for _ in range(ndim)]
    dim = draw(st.integers(-ndim, ndim - 1))
    sizes = draw(st.lists(st.integers(0, 3), min_size=1, max_size=3))
    shapes = []
    for size in sizes:
        s = list(shape)
        s[dim] = size
        shapes.append(tuple(s))
    return shapes, dim, draw(st.integers(0, 2**32 - 1))


@given(cat_inputs())
def test_cat_forward_and_gradient(args):
    shapes, dim, seed = args
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s) for s in shapes]
    y = torch.cat([torch.tensor(a) for a in arrays], dim)
    np.testing.assert_array_equal(y.numpy(), np.concatenate(arrays, dim))
    z = torch.concat([torch.tensor(a) for a in arrays], dim=dim)
    np.testing.assert_array_equal(z.numpy(), y.numpy())
    assert_gradients(lambda *xs: torch.cat(list(xs), dim), arrays, rng)


@given(
    shape=st.lists(st.integers(0, 3), max_size=3).map(tuple),
    n=st.integers(1, 3),
    seed=st.integers(0, 2**32 - 1),
    data=st.data(),
)
def test_stack_forward_and_gradient(shape, n, seed, data):
    dim = data.draw(st.integers(-len(shape) - 1, len(shape)))
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(shape) for _ in range(n)]
    y = torch.stack([torch.tensor(a) for a in arrays], dim=dim)
    np.testing.assert_array_equal(y.numpy(), np.stack(arrays, dim))
    assert_gradients(lambda *xs: torch.stack(list(xs), dim), arrays, rng)


def test_cat_and_stack_dtype_promotion():
    f32 = torch.ones(2, dtype=torch.float32)
    f64 = torch.ones(2, dtype=torch.float64)
    i64 = torch.ones(2, dtype=torch.int64)
    b = torch.ones(2, dtype=torch.bool)
    for join in (torch.cat, torch.stack):
        assert join([f32, f64]).dtype == torch.float64
        assert join([f64, f32]).dtype == torch.float64
        assert join([f32, i64]).dtype == torch.float32
        assert join([i64, b]).dtype == torch.int64
        assert join([b, b]).dtype == torch.bool
    assert torch.cat([i64, f32]).tolist() == [1.0] * 4


def test_cat_mixed_dtype_gradients_keep_each_input_dtype():
    a = torch.ones(2, dtype=torch.float32, requires_grad=True)
    b = torch.ones(3, dtype=torch.float64, requires_grad=True)
    y = torch.cat([a, b])
    assert y.dtype == torch.float64
    y.backward(torch.arange(5.0, dtype=torch.float64))
    assert a.grad.dtype == torch.float32 and a.grad.tolist() == [0.0, 1.0]
    assert b.grad.dtype == torch.float64 and b.grad.tolist() == [2.0, 3.0, 4.0]


def test_cat_zero_size_pieces_and_legacy_empty():
    assert torch.cat([torch.zeros(2, 0), torch.ones(2, 3)], 1).shape == (2, 3)
    # PyTorch skips 1-d tensors of size 0 whatever the other shapes
    assert torch.cat([torch.zeros(0), torch.ones(2, 3)]).shape == (2, 3)
    x = torch.ones(2, requires_grad=True)
    y = torch.cat([torch.zeros(0, requires_grad=True), x])
    y.backward(torch.tensor([3.0, 4.0]))
    assert x.grad.tolist() == [3.0, 4.0]


def test_stack_of_empty_tensors_backward():
    a = torch.zeros(0, requires_grad=True)
    b = torch.zeros(0, requires_grad=True)
    y = torch.stack([a, b])
    assert y.shape == (2, 0)
    y.backward(torch.zeros(2, 0))
    assert a.grad.shape == (0,) and b.grad.shape == (0,)


def test_cat_of_empty_tensors_backward():
    c = torch.zeros(2, 0, requires_grad=True)
    torch.cat([c, c], 1).backward(torch.zeros(2, 0))
    assert c.grad.shape == (2, 0)


def test_cat_and_stack_of_non_contiguous_inputs(rng):
    a = rng.standard_normal((3, 4))
    b = rng.standard_normal((4, 3))
    xa, xb = torch.tensor(a), torch.tensor(b)
    assert not xb.t().is_contiguous()
    np.testing.assert_array_equal(torch.cat([xa, xb.t()], 1).numpy(), np.concatenate([a, b.T], 1))
    np.testing.assert_array_equal(
        torch.stack([xa[:, ::2], xb.t()[:, 1::2]], 2).numpy(),
        np.stack([a[:, ::2], b.T[:, 1::2]], 2),
    )
    assert_gradients(lambda p, q: torch.cat([p.t(), q[::2]], 0), [a, b], rng)


SPLIT_OPS: list[tuple[str, Callable[[Any], Any], Callable[[np.ndarray], list[np.ndarray]]]] = [
    ("split_int", lambda x: x.split(2), lambda a: [a[0:2], a[2:4], a[4:5]]),
    ("split_int_dim1", lambda x: x.split(3, dim=1), lambda a: [a[:, :3], a[:, 3:]]),
    ("split_larger", lambda x: x.split(9), lambda a: [a]),
    ("split_list", lambda x: x.split([1, 0, 4]), lambda a: [a[:1], a[1:1], a[1:]]),
    ("split_list_dim", lambda x: x.split([2, 2], -1), lambda a: [a[:, :2], a[:, 2:]]),
    ("torch_split", lambda x: torch.split(x, [3, 2]), lambda a: [a[:3], a[3:]]),
    ("chunk", lambda x: x.chunk(3), lambda a: [a[:2], a[2:4], a[4:]]),
    ("chunk_uneven", lambda x: x.chunk(4, 1), lambda a: [a[:, :1], a[:, 1:2], a[:, 2:3], a[:, 3:]]),
    (
        "chunk_more_than_size",
        lambda x: torch.chunk(x, 9),
        lambda a: [a[i : i + 1] for i in range(5)],
    ),
    ("unbind", lambda x: x.unbind(), lambda a: list(a)),
    ("unbind_dim", lambda x: torch.unbind(x, dim=-1), lambda a: list(a.T)),
]


@pytest.mark.parametrize("name, op, ref", SPLIT_OPS, ids=[o[0] for o in SPLIT_OPS])
def test_split_ops_forward_and_gradient(name, op, ref, rng):
    a = rng.standard_normal((5, 4))
    pieces = assert_pieces_gradient(op, a, rng)
    expected = ref(a)
    assert len(pieces) == len(expected)
    for piece, e in zip(pieces, expected):
        assert piece.shape == e.shape
        np.testing.assert_array_equal(piece, e)


def test_split_ops_of_non_contiguous_and_empty_tensors(rng):
    a = rng.standard_normal((4, 5))
    x = torch.tensor(a).t()
    for piece, e in zip(x.split(2, 1), [a.T[:, :2], a.T[:, 2:]]):
        np.testing.assert_array_equal(piece.numpy(), e)
    assert [p.tolist() for p in torch.tensor(a)[:, ::2].unbind(1)] == [
        a[:, i].tolist() for i in (0, 2, 4)
    ]
    assert [tuple(p.shape) for p in torch.zeros(0, 2).split(2)] == [(0, 2)]
    assert [tuple(p.shape) for p in torch.zeros(0).split(0)] == [(0,)]
    assert [tuple(p.shape) for p in torch.zeros(6).chunk(4)] == [(2,), (2,), (2,)]
    assert torch.zeros(0, 3).unbind() == ()


def test_chunk_of_an_empty_dimension_gives_as_many_empty_pieces_as_asked():
    assert [tuple(p.shape) for p in torch.zeros(0, 3).chunk(3)] == [(0, 3)] * 3
    assert [tuple(p.shape) for p in torch.zeros(2, 0).chunk(2, 1)] == [(2, 0)] * 2


@pytest.mark.parametrize(
    "name, op",
    [
        ("cat", lambda x: torch.cat([x, x[:1] * x[1:2]], 0)),
        ("stack", lambda x: torch.stack([x, x.t().t() * x], 1)),
        ("split", lambda x: x.split([1, 3], 1)[1]),
        ("chunk", lambda x: x.chunk(2, 1)[0] * x.chunk(2, 1)[1]),
        ("unbind", lambda x: x.unbind(1)[0] * x.unbind(1)[3]),
    ],
)
def test_join_ops_second_derivative(name, op, rng):
    assert_second_derivative(op, rng.standard_normal((3, 4)), rng)


# --- 2. grad_fn names ---------------------------------------------------------------------------

GRAD_FN_CASES: list[tuple[str, Callable[[Any, Any], Any], str]] = [
    ("cat", lambda t, x: t.cat([x, x]), "CatBackward0"),
    ("cat_one", lambda t, x: t.cat([x]), "CatBackward0"),
    ("concat", lambda t, x: t.concat([x, x], 1), "CatBackward0"),
    ("stack", lambda t, x: t.stack([x, x]), "StackBackward0"),
    ("split_int", lambda t, x: x.split(2)[0], "SplitBackward0"),
    ("split_int_whole", lambda t, x: x.split(3)[0], "SplitBackward0"),
    ("split_larger", lambda t, x: x.split(7)[0], "SplitBackward0"),
    ("chunk", lambda t, x: x.chunk(2, 1)[1], "SplitBackward0"),
    ("chunk_one", lambda t, x: x.chunk(1)[0], "SplitBackward0"),
    ("split_list", lambda t, x: x.split([1, 2])[1], "SplitWithSizesBackward0"),
    ("split_list_whole", lambda t, x: x.split([3])[0], "SplitWithSizesBackward0"),
    ("unbind", lambda t, x: x.unbind()[0], "UnbindBackward0"),
]


@pytest.mark.parametrize("name, op, grad_fn", GRAD_FN_CASES, ids=[c[0] for c in GRAD_FN_CASES])
def test_grad_fn_names(name, op, grad_fn):
    check_grad_fn_name(op, grad_fn)


@pytest.mark.parametrize("name, op", [(c[0], c[1]) for c in GRAD_FN_CASES])
def test_no_grad_fn_without_requires_grad(name, op):
    check_no_grad_fn(op)


# --- 3. errors -----------------------------------------------------------------------------------


ERROR_CASES: list[tuple[str, type, str, Callable[[Any], Any]]] = [
    (
        "cat_empty_list",
        ValueError,
        "torch.cat(): expected a non-empty list of Tensors",
        lambda t: t.cat([]),
    ),
    (
        "cat_size_mismatch",
        RuntimeError,
        "Sizes of tensors must match except in dimension 2. Expected size 4 but got size 5 for "
        "tensor number 1 in the list.",
        lambda t: t.cat([t.zeros(2, 4, 3), t.zeros(2, 5, 3)], dim=2),
    ),
    (
        "cat_ndim_mismatch",
        RuntimeError,
        "Tensors must have same number of dimensions: got 2 and 3",
        lambda t: t.cat([t.zeros(2, 3), t.zeros(2, 3, 1)]),
    ),
    (
        "cat_zero_dim",
        RuntimeError,
        "zero-dimensional tensor (at position 0) cannot be concatenated",
        lambda t: t.cat([t.tensor(1.0), t.tensor(2.0)]),
    ),
    (
        "cat_dim_out_of_range",
        IndexError,
        "Dimension out of range (expected to be in range of [-2, 1], but got 2)",
        lambda t: t.cat([t.zeros(2, 3), t.zeros(2, 3)], dim=2),
    ),
    (
        "stack_unequal",
        RuntimeError,
        "stack expects each tensor to be equal size, but got [2, 3] at entry 0 and [3, 2] at "
        "entry 1",
        lambda t: t.stack([t.zeros(2, 3), t.zeros(3, 2)]),
    ),
    (
        "stack_empty_list",
        RuntimeError,
        "stack expects a non-empty TensorList",
        lambda t: t.stack([]),
    ),
    (
        "split_zero",
        RuntimeError,
        "split_size can only be 0 if dimension size is 0, but got dimension size of 3",
        lambda t: t.zeros(3).split(0),
    ),
    (
        "split_sizes_sum",
        RuntimeError,
        "split_with_sizes expects split_sizes to sum exactly to 3 (input tensor's size at "
        "dimension 0), but got split_sizes=[1, 1]",
        lambda t: t.zeros(3).split([1, 1]),
    ),
    (
        "chunk_zero",
        RuntimeError,
        "chunk expects `chunks` to be greater than 0, got: 0",
        lambda t: t.zeros(3).chunk(0),
    ),
    (
        "unbind_0d",
        IndexError,
        "Dimension specified as 0 but tensor has no dimensions",
        lambda t: t.tensor(1.0).unbind(),
    ),
]


@pytest.mark.parametrize("name, exc, message, call", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_errors(name, exc, message, call):
    check_error(exc, message, call)


# --- 4. PyTorch as the oracle ---------------------------------------------------------------------


def test_join_ops_against_torch(rng):
    real = pytest.importorskip("torch")
    a = rng.standard_normal((3, 4))
    b = rng.standard_normal((3, 2))
    ops = [
        lambda t, p, q: t.cat([p, q], 1),
        lambda t, p, q: t.stack([p[:, :2], q], -1),
        lambda t, p, q: p.split([1, 3], 1)[1] * q.sum(),
        lambda t, p, q: p.chunk(2, 1)[1] + q,
        lambda t, p, q: p.unbind(1)[2] * q.unbind(1)[0],
        lambda t, p, q: p.gather(1, t.tensor([[1, 1], [0, 3], [2, 2]])) * q,
        lambda t, p, q: p.index_select(1, t.tensor([3, 0])) - q,
        lambda t, p, q: p.masked_fill(p > 0, 1.5)[:, :2] + q.narrow(0, 0, 3),
        lambda t, p, q: p.unflatten(1, (2, 2)).select(2, 1) * q,
        lambda t, p, q: p[[0, 2], 1::2] + q[1:, :],
    ]
    for k, op in enumerate(ops):
        results = []
        for lib in (torch, real):
            p = lib.tensor(a, requires_grad=True)
            q = lib.tensor(b, requires_grad=True)
            y = op(lib, p, q)
            y.backward(lib.tensor(np.ones(tuple(y.shape))))
            results.append(
                (y.detach().numpy().copy(), p.grad.numpy().copy(), q.grad.numpy().copy())
            )
        for ours, theirs in zip(*results):
            np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12, err_msg=f"op {k}")
    # the grad_fn names and error messages of this file's tables are PyTorch's too
    check_grad_fn_names_match_torch(GRAD_FN_CASES)
    check_errors_match_torch(ERROR_CASES)
