"""Indexing: ``x[...]`` and ``x[...] = v``, views, and the ops that pick elements out of one
tensor (narrow, select, gather, index_select, masked_fill, unflatten).

Forward values are compared against NumPy, with PyTorch's indexing rules (an int next to index
tensors selects first, see ``index_expressions.reference_index``); gradients against float64
central differences (``gradcheck_util``); second derivatives through ``create_graph=True`` against
differences of the first-order gradient. Views are checked to share storage and the version
counter with their base. grad_fn names are PyTorch 2.15's (the errors are in
``tests/test_indexing_errors.py``). The last section compares random index expressions on random
shapes against PyTorch itself, when it is installed.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from index_expressions import (
    A345,
    INDEX_CASES,
    SETITEM_CASES,
    DataChooser,
    RngChooser,
    is_mask,
    random_index,
    reference_index,
    reference_setitem,
    to_lib,
)
from shape_checks import (
    assert_gradients,
    assert_second_derivative,
    check_grad_fn_name,
    check_grad_fn_names_match_torch,
    check_no_grad_fn,
)

import autodiff as torch

# --- 1. indexing: forward, gradients ----------------------------------------------------------


@pytest.mark.parametrize("label, index, shape", INDEX_CASES, ids=[c[0] for c in INDEX_CASES])
def test_index_forward_against_numpy(label, index, shape):
    x = torch.tensor(A345)
    y = x[to_lib(index, torch)]
    expected = reference_index(A345, index)
    assert expected.shape == shape  # the table itself follows PyTorch's rules
    assert tuple(y.shape) == shape
    assert y.dtype == torch.float64
    np.testing.assert_array_equal(y.numpy(), expected)


@pytest.mark.parametrize("label, index, shape", INDEX_CASES, ids=[c[0] for c in INDEX_CASES])
def test_index_gradient(label, index, shape, rng):
    assert_gradients(lambda x: x[to_lib(index, torch)], [rng.standard_normal((3, 4, 5))], rng)


def test_index_table_against_torch():
    real = pytest.importorskip("torch")
    for label, index, shape in INDEX_CASES:
        ours = torch.tensor(A345)[to_lib(index, torch)]
        theirs = real.tensor(A345)[to_lib(index, real)]
        assert tuple(theirs.shape) == shape, label
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), err_msg=label)


def test_index_int_among_index_tensors_follows_pytorch():
    a = np.arange(60.0).reshape(3, 4, 5)
    # NumPy's own rule puts the index dimension first when an int is among index tensors;
    # PyTorch selects with the int first, so the index dimension stays in place
    assert a[0, :, [1, 2]].shape == (2, 4)
    y = torch.tensor(a)[0, :, [1, 2]]
    assert y.shape == (4, 2)
    np.testing.assert_array_equal(y.numpy(), a[0][:, [1, 2]])


def test_index_mask_of_the_tensor_itself():
    x = torch.tensor(A345)
    np.testing.assert_array_equal(x[x > 0].numpy(), A345[A345 > 0])
    np.testing.assert_array_equal(x[x[:, 0, 0] < 0].numpy(), A345[A345[:, 0, 0] < 0])


def test_index_with_0d_tensors_and_numpy_ints():
    x = torch.tensor(A345)
    assert x[torch.tensor(1)].tolist() == A345[1].tolist()
    assert x[np.int64(2), np.int64(-1)].tolist() == A345[2, -1].tolist()
    assert x[torch.tensor(True)].shape == (1, 3, 4, 5)


def test_repeated_indices_accumulate_in_the_gradient():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 1]].backward(torch.tensor([1.0, 10.0, 100.0]))
    assert x.grad.tolist() == [11.0, 100.0, 0.0]

    m = torch.zeros(2, 3, requires_grad=True)
    m[[1, 1, 0], [2, 2, 2]].sum().backward()
    assert m.grad.tolist() == [[0.0, 0.0, 1.0], [0.0, 0.0, 2.0]]

    v = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    v[torch.tensor([[3, 3], [3, 0]])].sum().backward()
    assert v.grad.tolist() == [1.0, 0.0, 0.0, 3.0]


def test_index_gradient_float32():
    x = torch.ones(3, 4, requires_grad=True)
    y = x[[0, 0], 1:3]
    y.backward(torch.full((2, 2), 0.5))
    assert x.grad.dtype == torch.float32
    assert x.grad.tolist() == [[0.0, 1.0, 1.0, 0.0]] + [[0.0] * 4] * 2


@pytest.mark.parametrize(
    "index",
    [
        ([0, 0, 2],),
        (slice(None, None, 2), slice(1, None, 2)),
        (Ellipsis, -1),
        (1,),
        (None, slice(None), [3, 3, 0]),
        ([[0], [2]], [1, 2]),
    ],
    ids=["list", "steps", "ellipsis_int", "int", "none_list", "broadcast"],
)
def test_index_second_derivative(index, rng):
    assert_second_derivative(lambda x: x[to_lib(index, torch)], rng.standard_normal((3, 4)), rng)


def test_mask_index_second_derivative(rng):
    a = rng.standard_normal((3, 4))
    mask = np.abs(a) > 0.5
    assert_second_derivative(lambda x: x[torch.tensor(mask)], a, rng)


@given(data=st.data())
def test_random_index_forward_and_gradient(data):
    ch = DataChooser(data)
    shape = tuple(ch.integer(1, 4) for _ in range(ch.integer(1, 4)))
    index = random_index(shape, ch)
    rng = np.random.default_rng(ch.integer(0, 2**32 - 1))
    a = rng.standard_normal(shape)
    expected = reference_index(a, index)
    y = torch.tensor(a)[to_lib(index, torch)]
    assert tuple(y.shape) == expected.shape, index
    np.testing.assert_array_equal(y.numpy(), expected)
    assert_gradients(lambda x: x[to_lib(index, torch)], [a], rng)


# --- 2. views share storage and the version counter ------------------------------------------


def test_write_through_slice_is_seen_by_base_and_back():
    x = torch.zeros(3, 4)
    v = x[1:]
    v[0] = 5
    assert x.tolist() == [[0.0] * 4, [5.0] * 4, [0.0] * 4]
    assert x._version == v._version == 1
    x[2, 0] = 7
    assert v.tolist() == [[5.0] * 4, [7.0, 0.0, 0.0, 0.0]]
    assert x._version == v._version == 2


def test_stepped_slice_and_none_views_write_through():
    x = torch.zeros(6)
    x[::2].fill_(1.0)
    assert x.tolist() == [1.0, 0.0] * 3
    x[None, 1::2][0, 1] = 4.0
    assert x.tolist() == [1.0, 0.0, 1.0, 4.0, 1.0, 0.0]
    e = x[...]
    e[0] = -1.0
    assert x[0].item() == -1.0 and e._version == x._version == 3


VIEW_MAKERS: list[tuple[str, Callable[[Any], Any], Callable[[np.ndarray], np.ndarray]]] = [
    ("narrow", lambda x: x.narrow(1, 1, 2), lambda a: a[:, 1:3]),
    ("select", lambda x: x.select(0, 2), lambda a: a[2]),
    ("select_neg", lambda x: x.select(-1, -1), lambda a: a[:, -1]),
    ("t", lambda x: x.t(), lambda a: a.T),
    ("view", lambda x: x.view(12), lambda a: a.reshape(12)),
    ("unflatten", lambda x: x.unflatten(1, (2, 2)), lambda a: a.reshape(3, 2, 2)),
    ("split_piece", lambda x: x.split(2)[1], lambda a: a[2:]),
    ("split_sizes_piece", lambda x: x.split([1, 3], 1)[1], lambda a: a[:, 1:]),
    ("chunk_piece", lambda x: x.chunk(2, 1)[0], lambda a: a[:, :2]),
    ("unbind_piece", lambda x: x.unbind(1)[3], lambda a: a[:, 3]),
    ("index_int", lambda x: x[1], lambda a: a[1]),
]


@pytest.mark.parametrize("name, make, ref", VIEW_MAKERS, ids=[v[0] for v in VIEW_MAKERS])
def test_view_writes_reach_base_and_share_version(name, make, ref):
    base = torch.zeros(3, 4)
    mirror = np.zeros((3, 4))
    view = make(base)
    version = base._version
    view.fill_(2.0)
    ref(mirror)[...] = 2.0
    assert base.tolist() == mirror.tolist()
    assert base._version == view._version == version + 1
    # ... and the other way round: a write to the base shows in the view
    base.fill_(3.0)
    assert np.all(view.numpy() == 3.0)
    assert view._version == base._version == version + 2


def test_view_setitem_reaches_base():
    base = torch.zeros(3, 4)
    base.t()[0, 2] = 1.0
    base.narrow(0, 1, 1)[0, 3] = 2.0
    base.select(1, 1)[-1] = 3.0
    pieces = base.split(1)
    pieces[0][0, 1] = 4.0
    assert base.tolist() == [[0.0, 4.0, 0.0, 0.0], [0.0, 0.0, 0.0, 2.0], [1.0, 3.0, 0.0, 0.0]]
    assert base._version == 4
    assert all(p._version == 4 for p in pieces)


def test_advanced_index_result_is_a_copy():
    x = torch.zeros(3)
    y = x[[0, 1]]
    y[0] = 1.0
    z = x[x == 0]
    z.fill_(2.0)
    assert x.tolist() == [0.0, 0.0, 0.0]
    assert x._version == 0


# --- 3. __setitem__ -----------------------------------------------------------------------------


@pytest.mark.parametrize("label, index, value", SETITEM_CASES, ids=[c[0] for c in SETITEM_CASES])
def test_setitem_against_numpy(label, index, value):
    rng = np.random.default_rng(5)
    a = rng.standard_normal((3, 4, 5))
    x = torch.tensor(a)
    if isinstance(index, str):
        index = a > 0
    ours = torch.tensor(value) if isinstance(value, np.ndarray) else value
    x[to_lib(index, torch)] = ours
    assert x._version == 1
    np.testing.assert_array_equal(x.numpy(), reference_setitem(a, index, value))


def test_setitem_values_are_cast_to_the_tensor_dtype():
    x = torch.zeros(3, dtype=torch.int64)
    x[0] = 2.7
    x[1] = True
    assert x.tolist() == [2, 1, 0] and x.dtype == torch.int64
    y = torch.zeros(2, 2)
    y[0] = torch.tensor([1.5, 2.5], dtype=torch.float64)
    y[1, 1] = torch.tensor(3)
    assert y.dtype == torch.float32
    assert y.tolist() == [[1.5, 2.5], [0.0, 3.0]]


def test_setitem_zero_d_tensor_value():
    x = torch.zeros(2, 3)
    x[:, 1] = torch.tensor(4.0)
    x[x == 0] = torch.tensor(-1.0)
    assert x.tolist() == [[-1.0, 4.0, -1.0], [-1.0, 4.0, -1.0]]


VIEW_OF_LEAF = (
    "a view of a leaf Variable that requires grad is being used in an in-place operation."
)
LEAF = "a leaf Variable that requires grad is being used in an in-place operation."


# PyTorch's setitem writes into a view for basic indices, except that slices covering a whole
# dimension (and `...`) are skipped, so that x[:] = v writes into x itself; a Python bool is an
# unsqueeze, hence a view; advanced indices write into x through index_put_.
LEAF_SETITEM_CASES: list[tuple[str, Any, str]] = [
    ("int", 0, VIEW_OF_LEAF),
    ("slice", slice(0, 1), VIEW_OF_LEAF),
    ("slice_int", (slice(None), 1), VIEW_OF_LEAF),
    ("partial_slice_dim1", (slice(None), slice(0, 2)), VIEW_OF_LEAF),
    ("none_int", (None, 1), VIEW_OF_LEAF),
    ("ellipsis_int", (Ellipsis, 0), VIEW_OF_LEAF),
    ("none", None, VIEW_OF_LEAF),
    ("true", True, VIEW_OF_LEAF),
    ("full_slice", slice(None), LEAF),
    ("slice_covering_dim", slice(0, 2), LEAF),
    ("full_slices", (slice(None), slice(0, 3)), LEAF),
    ("ellipsis", Ellipsis, LEAF),
    ("list", [0, 1], LEAF),
    ("index_tensor", np.array([1]), LEAF),
    ("mask", np.array([[True, False, True]] * 2), LEAF),
    ("slice_list", (slice(None), [0, 2]), LEAF),
]


@pytest.mark.parametrize(
    "label, index, message", LEAF_SETITEM_CASES, ids=[c[0] for c in LEAF_SETITEM_CASES]
)
def test_setitem_on_leaf_requiring_grad_raises(label, index, message):
    x = torch.zeros(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError) as info:
        x[to_lib(index, torch)] = 1.0
    assert str(info.value) == message
    assert x.tolist() == [[0.0] * 3] * 2 and x._version == 0
    # under no_grad the same write goes through and the leaf stays a leaf
    with torch.no_grad():
        x[to_lib(index, torch)] = 1.0
    assert x.tolist() == reference_setitem(np.zeros((2, 3)), index, 1.0).tolist()
    assert x.is_leaf and x.requires_grad and x.grad_fn is None
    assert x._version == 1


def test_setitem_leaf_messages_are_torch_messages():
    real = pytest.importorskip("torch")
    for label, index, message in LEAF_SETITEM_CASES:
        x = real.zeros(2, 3, requires_grad=True)
        with pytest.raises(RuntimeError) as info:
            x[to_lib(index, real)] = 1.0
        assert str(info.value) == message, label


# --- 4. narrow, select, gather, index_select, masked_fill, unflatten ------------------------------

UNARY_OPS: list[tuple[str, Callable[[Any], Any], Callable[[np.ndarray], np.ndarray]]] = [
    ("narrow", lambda x: x.narrow(1, 1, 2), lambda a: a[:, 1:3]),
    ("narrow_negative_start", lambda x: torch.narrow(x, 0, -2, 2), lambda a: a[-2:]),
    ("narrow_empty", lambda x: x.narrow(0, 3, 0), lambda a: a[3:3]),
    ("select", lambda x: x.select(1, 2), lambda a: a[:, 2]),
    ("select_negative", lambda x: torch.select(x, 0, -1), lambda a: a[-1]),
    ("unflatten", lambda x: x.unflatten(1, (2, 2)), lambda a: a.reshape(3, 2, 2)),
    ("unflatten_infer", lambda x: x.unflatten(-1, (-1, 1)), lambda a: a.reshape(3, 4, 1)),
    ("unflatten_dim0", lambda x: torch.unflatten(x, 0, (1, 3)), lambda a: a.reshape(1, 3, 4)),
    (
        "gather_dim1",
        lambda x: x.gather(1, torch.tensor([[0, 0, 3], [1, 2, 1], [3, 3, 3]])),
        lambda a: np.take_along_axis(a, np.array([[0, 0, 3], [1, 2, 1], [3, 3, 3]]), 1),
    ),
    (
        "gather_dim0_smaller_index",
        lambda x: torch.gather(x, 0, torch.tensor([[2, 0], [2, 2]])),
        lambda a: np.take_along_axis(a[:, :2], np.array([[2, 0], [2, 2]]), 0),
    ),
    (
        "gather_negative_dim",
        lambda x: x.gather(-1, torch.tensor([[1], [0], [3]])),
        lambda a: np.take_along_axis(a, np.array([[1], [0], [3]]), 1),
    ),
    (
        "index_select_dim0",
        lambda x: x.index_select(0, torch.tensor([2, 0, 2])),
        lambda a: a[[2, 0, 2]],
    ),
    (
        "index_select_dim1",
        lambda x: torch.index_select(x, -1, torch.tensor([3, 3, 1, 0])),
        lambda a: a[:, [3, 3, 1, 0]],
    ),
    (
        "index_select_empty",
        lambda x: x.index_select(1, torch.zeros(0, dtype=torch.int64)),
        lambda a: a[:, :0],
    ),
    (
        "masked_fill_number",
        lambda x: x.masked_fill(torch.tensor([[True, False, False, True]] * 3), 2.5),
        lambda a: np.where([[True, False, False, True]] * 3, 2.5, a),
    ),
    (
        "masked_fill_broadcast_mask",
        lambda x: torch.masked_fill(x, torch.tensor([False, True, False, False]), -1),
        lambda a: np.where([False, True, False, False], -1.0, a),
    ),
    (
        "masked_fill_0d_tensor",
        lambda x: x.masked_fill(torch.tensor([[True], [False], [True]]), torch.tensor(7.0)),
        lambda a: np.where([[True], [False], [True]], 7.0, a),
    ),
    (
        "masked_fill_self_mask",
        lambda x: x.masked_fill(x > 0.5, 0.0),
        lambda a: np.where(a > 0.5, 0.0, a),
    ),
]


@pytest.mark.parametrize("name, op, ref", UNARY_OPS, ids=[o[0] for o in UNARY_OPS])
def test_unary_ops_forward_and_gradient(name, op, ref, rng):
    a = rng.standard_normal((3, 4))
    y = op(torch.tensor(a))
    expected = ref(a)
    assert tuple(y.shape) == expected.shape and y.dtype == torch.float64
    np.testing.assert_array_equal(y.numpy(), expected)
    assert_gradients(op, [a], rng)


@pytest.mark.parametrize(
    "name, op, ref",
    [o for o in UNARY_OPS if "empty" not in o[0]],
    ids=[o[0] for o in UNARY_OPS if "empty" not in o[0]],
)
def test_unary_ops_second_derivative(name, op, ref, rng):
    assert_second_derivative(op, rng.standard_normal((3, 4)), rng)


def test_gather_and_index_select_repeated_indices_accumulate():
    x = torch.zeros(2, 3, requires_grad=True)
    x.gather(1, torch.tensor([[2, 2, 2], [0, 1, 0]])).sum().backward()
    assert x.grad.tolist() == [[0.0, 0.0, 3.0], [2.0, 1.0, 0.0]]
    y = torch.zeros(2, 3, requires_grad=True)
    y.index_select(1, torch.tensor([1, 1, 0])).sum().backward()
    assert y.grad.tolist() == [[1.0, 2.0, 0.0], [1.0, 2.0, 0.0]]


def test_gather_and_index_select_of_non_contiguous_input(rng):
    a = rng.standard_normal((4, 3))
    x = torch.tensor(a).t()
    idx = np.array([[3, 0], [1, 1], [2, 0]])
    np.testing.assert_array_equal(
        x.gather(1, torch.tensor(idx)).numpy(), np.take_along_axis(a.T, idx, 1)
    )
    np.testing.assert_array_equal(x.index_select(1, torch.tensor([3, 0])).numpy(), a.T[:, [3, 0]])
    assert_gradients(lambda p: p.t().gather(1, torch.tensor(idx)), [a], rng)


def test_masked_fill_gradient_reaches_the_value_tensor():
    x = torch.tensor([[1.0, -2.0, 3.0], [-4.0, 5.0, -6.0]], requires_grad=True)
    value = torch.tensor(0.5, requires_grad=True)
    mask = x < 0
    y = x.masked_fill(mask, value * 2)
    assert y.tolist() == [[1.0, 1.0, 3.0], [1.0, 5.0, 1.0]]
    y.backward(torch.tensor([[1.0, 10.0, 100.0], [1000.0, 1e4, 1e5]]))
    # d y / d value = 2 at each of the masked places
    assert value.grad.item() == 2 * (10.0 + 1000.0 + 1e5)
    assert x.grad.tolist() == [[1.0, 0.0, 100.0], [0.0, 1e4, 0.0]]


def test_masked_fill_value_gradient_against_finite_differences(rng):
    a = rng.standard_normal((3, 4))
    mask = torch.tensor(a > 0)
    assert_gradients(lambda x, v: x.masked_fill(mask, v), [a, np.array(0.3)], rng)


def test_masked_fill_keeps_dtype_and_does_not_modify_input():
    x = torch.zeros(2, dtype=torch.int64)
    y = x.masked_fill(torch.tensor([True, False]), 2.7)
    assert y.dtype == torch.int64 and y.tolist() == [2, 0]
    assert x.tolist() == [0, 0] and x._version == 0


# --- 5. grad_fn names ---------------------------------------------------------------------------

GRAD_FN_CASES: list[tuple[str, Callable[[Any, Any], Any], str]] = [
    ("int", lambda t, x: x[1], "SelectBackward0"),
    ("select", lambda t, x: x.select(1, 0), "SelectBackward0"),
    ("int_int", lambda t, x: x[1, 2], "SelectBackward0"),
    ("slice", lambda t, x: x[1:], "SliceBackward0"),
    ("slice_2d", lambda t, x: x[:, 1:3], "SliceBackward0"),
    ("slice_step", lambda t, x: x[::2], "SliceBackward0"),
    ("full_slice", lambda t, x: x[:], "SliceBackward0"),
    ("slice_past_both_ends", lambda t, x: x[-9:9], "SliceBackward0"),
    # In a tuple PyTorch skips a bare `:` but records any other slice, even a whole one
    ("int_colon", lambda t, x: x[0, :], "SelectBackward0"),
    ("colon_colon", lambda t, x: x[:, :], "AliasBackward0"),
    ("int_whole_slice", lambda t, x: x[0, -9:], "SliceBackward0"),
    ("narrow", lambda t, x: x.narrow(0, 1, 2), "SliceBackward0"),
    ("narrow_whole", lambda t, x: x.narrow(0, 0, 3), "SliceBackward0"),
    ("none", lambda t, x: x[None], "UnsqueezeBackward0"),
    ("ellipsis", lambda t, x: x[...], "AliasBackward0"),
    ("list", lambda t, x: x[[0, 2]], "IndexBackward0"),
    ("index_tensor", lambda t, x: x[t.tensor([0, 2])], "IndexBackward0"),
    ("mask", lambda t, x: x[x > 0], "IndexBackward0"),
    ("true", lambda t, x: x[True], "IndexBackward0"),
    ("index_select", lambda t, x: x.index_select(0, t.tensor([1])), "IndexSelectBackward0"),
    ("gather", lambda t, x: x.gather(1, t.tensor([[0], [1], [2]])), "GatherBackward0"),
    ("masked_fill_number", lambda t, x: x.masked_fill(x > 0, 0.0), "MaskedFillBackward0"),
    (
        "masked_fill_tensor",
        lambda t, x: x.masked_fill(x > 0, t.tensor(1.0, requires_grad=True)),
        "MaskedFillBackward1",
    ),
    ("unflatten", lambda t, x: x.unflatten(1, (2, 2)), "ViewBackward0"),
]


@pytest.mark.parametrize("name, op, grad_fn", GRAD_FN_CASES, ids=[c[0] for c in GRAD_FN_CASES])
def test_grad_fn_names(name, op, grad_fn):
    check_grad_fn_name(op, grad_fn)


def test_grad_fn_names_are_torch_names():
    check_grad_fn_names_match_torch(GRAD_FN_CASES)


@pytest.mark.parametrize(
    "name, op", [(c[0], c[1]) for c in GRAD_FN_CASES if c[0] != "masked_fill_tensor"]
)
def test_no_grad_fn_without_requires_grad(name, op):
    check_no_grad_fn(op)


# --- 6. PyTorch as the oracle for random index expressions --------------------------------------


def test_random_index_expressions_against_torch():
    real = pytest.importorskip("torch")
    rng = np.random.default_rng(12345)
    ch = RngChooser(rng)
    for _ in range(300):
        shape = tuple(ch.integer(1, 4) for _ in range(ch.integer(1, 4)))
        index = random_index(shape, ch)
        a = rng.standard_normal(shape)
        ours = torch.tensor(a, requires_grad=True)
        theirs = real.tensor(a, requires_grad=True)
        y = ours[to_lib(index, torch)]
        z = theirs[to_lib(index, real)]
        assert tuple(y.shape) == tuple(z.shape), (shape, index)
        np.testing.assert_array_equal(y.detach().numpy(), z.detach().numpy())
        c = rng.standard_normal(tuple(z.shape))
        y.backward(torch.tensor(c))
        z.backward(real.tensor(c))
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_random_setitem_against_torch():
    real = pytest.importorskip("torch")
    rng = np.random.default_rng(777)
    ch = RngChooser(rng)
    for _ in range(150):
        shape = tuple(ch.integer(1, 4) for _ in range(ch.integer(1, 4)))
        index = random_index(shape, ch)
        a = rng.standard_normal(shape)
        target_shape = tuple(real.tensor(a)[to_lib(index, real)].shape)
        # a value of the full target shape, or one broadcast along its leading dimensions
        vshape = target_shape[ch.integer(0, len(target_shape)) :]
        value = rng.standard_normal(vshape)
        ours, theirs = torch.tensor(a), real.tensor(a)
        if any(isinstance(i, (list, np.ndarray)) and not is_mask(i) for i in index):
            value = np.full(vshape, 0.5)  # which of repeated writes wins is unspecified
        ours[to_lib(index, torch)] = torch.tensor(value)
        theirs[to_lib(index, real)] = real.tensor(value)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), err_msg=str(index))
