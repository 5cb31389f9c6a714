"""Indexing (``x[...]`` and ``x[...] = v``) and the split/join ops: narrow, select, gather,
index_select, masked_fill, cat/concat, stack, split, chunk, unbind, unflatten.

Forward values are compared against NumPy, with PyTorch's indexing rules (an int next to index
tensors selects first, see ``reference_index``); gradients against float64 central differences
(``gradcheck_util``); second derivatives through ``create_graph=True`` against differences of the
first-order gradient. Views are checked to share storage and the version counter with their
base. grad_fn names and error messages are PyTorch 2.15's. The last section compares random
index expressions on random shapes against PyTorch itself, when it is installed.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from gradcheck_util import (
    EPS,
    TOL64,
    check_gradient,
    first_order_grads,
    scalarised,
    to_numpy,
    to_tensor,
)
from hypothesis import given
from hypothesis import strategies as st

import autodiff as torch

# --- index expressions ------------------------------------------------------------------------
#
# An index is written once with NumPy arrays standing for tensors (int64 arrays for index
# tensors, bool arrays for masks) and converted for each library by ``to_lib``. Python lists,
# ints, bools, slices, None and Ellipsis are left as they are.


def to_lib(index: Any, lib: Any) -> Any:
    """The index with every NumPy array replaced by a tensor of ``lib`` (autodiff or torch)."""
    if isinstance(index, tuple):
        return tuple(to_lib(item, lib) for item in index)
    if isinstance(index, np.ndarray):
        dtype = lib.bool if index.dtype == np.bool_ else lib.int64
        return lib.tensor(index.tolist(), dtype=dtype)
    return index


def _consumed(item: Any) -> int:
    """How many dimensions of the indexed tensor an index item uses up."""
    if item is None or item is Ellipsis or isinstance(item, bool):
        return 0
    if isinstance(item, np.ndarray) and item.dtype == np.bool_:
        return item.ndim
    return 1


def _two_steps(ndim: int, index: Any) -> tuple[tuple[Any, ...], tuple[Any, ...] | None]:
    """PyTorch's reading of an index: the basic items (ints select, slices, None, Ellipsis),
    applied first as a view, then the advanced ones (lists, index tensors, masks, Python bools)
    applied to that view; None when there are no advanced ones."""
    if not isinstance(index, tuple):
        index = (index,)
    ellipsis_dims = ndim - sum(_consumed(item) for item in index)
    basic: list[Any] = []
    advanced: list[Any] = []  # one entry per dimension (a mask: per run of dims) of the view
    for item in index:
        if item is None:
            basic.append(None)
            advanced.append(slice(None))
        elif item is Ellipsis:
            basic.append(Ellipsis)
            advanced.extend([slice(None)] * ellipsis_dims)
        elif isinstance(item, bool):  # a new dimension of size 1, kept (True) or emptied (False)
            basic.append(None)
            advanced.append(np.zeros(1 if item else 0, dtype=np.int64))
        elif isinstance(item, (int, slice)):
            basic.append(item)
            if isinstance(item, slice):
                advanced.append(slice(None))
        else:
            array = np.asarray(item)
            basic.extend([slice(None)] * _consumed(array))
            advanced.append(array)
    if all(isinstance(item, slice) for item in advanced):
        return tuple(basic), None
    return tuple(basic), tuple(advanced)


def reference_index(a: np.ndarray, index: Any) -> np.ndarray:
    """``a[index]`` under PyTorch's rules, computed by NumPy in two steps (``_two_steps``).

    The two rules differ only where an int sits among advanced indices: for ``x`` of shape
    (3, 4, 5), ``x[0, :, [1, 2]]`` is (4, 2) in PyTorch and (2, 4) in NumPy.
    """
    basic, advanced = _two_steps(a.ndim, index)
    view = a[basic]
    return np.array(view if advanced is None else view[advanced])


def reference_setitem(a: np.ndarray, index: Any, value: Any) -> np.ndarray:
    """A copy of ``a`` after ``a[index] = value`` under PyTorch's rules."""
    out = a.copy()
    basic, advanced = _two_steps(a.ndim, index)
    view = out[basic]
    if advanced is None:
        view[...] = value
    else:
        view[advanced] = value
    return out


def _is_mask(item: Any) -> bool:
    return isinstance(item, np.ndarray) and item.dtype == np.bool_


class RngChooser:
    """Choices from a NumPy generator (for the PyTorch-oracle section)."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def integer(self, lo: int, hi: int) -> int:
        return int(self.rng.integers(lo, hi + 1))


class DataChooser:
    """Choices drawn by hypothesis, so that failing index expressions shrink."""

    def __init__(self, data: st.DataObject):
        self.data = data

    def integer(self, lo: int, hi: int) -> int:
        return self.data.draw(st.integers(lo, hi))


INDEX_TENSOR_SHAPES = [(1,), (2,), (3,), (2, 1), (1, 2)]


def _random_item(shape: tuple[int, ...], d: int, ch: Any) -> tuple[Any, int]:
    """One index item for the dimensions from d on, and how many it uses up."""
    n = shape[d]
    kind = ch.integer(0, 6)
    if kind == 0:
        return ch.integer(-n, n - 1), 1
    if kind == 1:
        bounds = [None, *range(-n - 1, n + 2)]
        start = bounds[ch.integer(0, len(bounds) - 1)]
        stop = bounds[ch.integer(0, len(bounds) - 1)]
        return slice(start, stop, [None, 1, 2, 3][ch.integer(0, 3)]), 1
    if kind == 2:
        return [ch.integer(-n, n - 1) for _ in range(ch.integer(1, 3))], 1
    if kind == 3:
        tshape = INDEX_TENSOR_SHAPES[ch.integer(0, len(INDEX_TENSOR_SHAPES) - 1)]
        values = [ch.integer(-n, n - 1) for _ in range(int(np.prod(tshape)))]
        return np.array(values, dtype=np.int64).reshape(tshape), 1
    if kind == 4:
        k = ch.integer(1, min(2, len(shape) - d))
        mshape = shape[d : d + k]
        bits = [ch.integer(0, 1) == 1 for _ in range(int(np.prod(mshape)))]
        return np.array(bits, dtype=bool).reshape(mshape), k
    return slice(None), 1


def _index_shape(item: Any) -> tuple[int, ...] | None:
    if isinstance(item, list):
        return (len(item),)
    if isinstance(item, np.ndarray):
        return (int(item.sum()),) if item.dtype == np.bool_ else item.shape
    return None


def random_index(shape: tuple[int, ...], ch: Any) -> tuple[Any, ...]:
    """A valid index for a tensor of ``shape``: every kind of item, an Ellipsis standing for a
    run of items, implicit trailing dimensions, Nones anywhere."""
    items: list[tuple[Any, int]] = []
    d = 0
    while d < len(shape):
        item, k = _random_item(shape, d, ch)
        items.append((item, k))
        d += k
    if ch.integer(0, 2) == 0:  # an Ellipsis replaces a run of items (maybe an empty one)
        i = ch.integer(0, len(items))
        j = ch.integer(i, len(items))
        items[i:j] = [(Ellipsis, 0)]
    if ch.integer(0, 2) == 0:  # leave the trailing dimensions implicit
        del items[ch.integer(0, len(items)) :]
    for _ in range(ch.integer(0, 2)):
        items.insert(ch.integer(0, len(items)), (None, 0))
    # Index tensors must broadcast together: an item that does not becomes full slices.
    index: list[Any] = []
    broadcast: tuple[int, ...] = ()
    for item, k in items:
        ishape = _index_shape(item)
        if ishape is not None:
            try:
                broadcast = np.broadcast_shapes(broadcast, ishape)
            except ValueError:
                index.extend([slice(None)] * k)
                continue
        index.append(item)
    return tuple(index)


# --- gradient helpers -------------------------------------------------------------------------


def assert_gradients(fn: Callable[..., Any], arrays: list[np.ndarray], rng: np.random.Generator):
    """The gradient of <c, fn(*arrays)> for every input against float64 finite differences."""
    out = fn(*(to_tensor(a, torch.float64) for a in arrays))
    c = rng.standard_normal(tuple(out.shape))
    grads = first_order_grads(fn, arrays, {}, c)
    phi = scalarised(fn, c, {})
    for k, grad in enumerate(grads):
        assert grad.shape == arrays[k].shape
        check_gradient(phi, arrays, k, grad, TOL64.grad, rng, f"input {k}")


def assert_pieces_gradient(
    fn: Callable[[Any], Any], a: np.ndarray, rng: np.random.Generator
) -> list[np.ndarray]:
    """For an op returning several tensors: autograd.grad with one cotangent per piece, against
    finite differences of sum_i <c_i, piece_i>. Returns the pieces as arrays."""
    x = to_tensor(a, torch.float64, requires_grad=True)
    pieces = fn(x)
    cs = [rng.standard_normal(tuple(p.shape)) for p in pieces]
    (grad,) = torch.autograd.grad(
        list(pieces), x, grad_outputs=[to_tensor(c, torch.float64) for c in cs]
    )

    def phi(arrays: list[np.ndarray]) -> float:
        outs = fn(to_tensor(arrays[0], torch.float64))
        return float(sum(np.sum(to_numpy(p) * c) for p, c in zip(outs, cs)))

    check_gradient(phi, [a], 0, to_numpy(grad), TOL64.grad, rng, "pieces")
    return [to_numpy(p) for p in pieces]


def assert_second_derivative(fn: Callable[[Any], Any], a: np.ndarray, rng: np.random.Generator):
    """d/dx <grad phi(x), w> for phi(x) = <c, fn(x)**3>, by backward through a gradient made
    with create_graph=True, against central differences of the first-order gradient."""
    out_shape = tuple(fn(to_tensor(a, torch.float64)).shape)
    c = to_tensor(rng.standard_normal(out_shape), torch.float64)
    w = rng.standard_normal(a.shape)
    t = rng.standard_normal(a.shape)

    def grad_at(array: np.ndarray, create_graph: bool) -> tuple[Any, Any]:
        x = to_tensor(array, torch.float64, requires_grad=True)
        (g,) = torch.autograd.grad((fn(x) ** 3 * c).sum(), x, create_graph=create_graph)
        return x, g

    x, g = grad_at(a, create_graph=True)
    assert g.grad_fn is not None, "the gradient has no graph of its own"
    (hessian_w,) = torch.autograd.grad((g * to_tensor(w, torch.float64)).sum(), x)
    analytic = float(np.sum(to_numpy(hessian_w) * t))

    def gw(array: np.ndarray) -> float:
        return float(np.sum(to_numpy(grad_at(array, create_graph=False)[1]) * w))

    numeric = (gw(a + EPS * t) - gw(a - EPS * t)) / (2 * EPS)
    assert abs(analytic - numeric) <= 1e-6 * (1 + abs(numeric)), (analytic, numeric)


# --- 1. indexing: forward, gradients ----------------------------------------------------------

A345 = np.arange(60.0).reshape(3, 4, 5) - 29.5  # no zeros, both signs

INDEX_CASES: list[tuple[str, Any, tuple[int, ...]]] = [
    ("int", 1, (4, 5)),
    ("negative_int", -1, (4, 5)),
    ("int_int", (2, -3), (5,)),
    ("all_ints", (2, 3, -1), ()),
    ("step_2", slice(None, None, 2), (2, 4, 5)),
    ("start_1_step_3", (slice(None), slice(1, None, 3)), (3, 1, 5)),
    ("start_1_step_3_last", (Ellipsis, slice(1, None, 3)), (3, 4, 2)),
    ("negative_bounds", (slice(None), slice(-3, -1)), (3, 2, 5)),
    ("slice_past_end", slice(1, 10), (2, 4, 5)),
    ("empty_slice", slice(2, 1), (0, 4, 5)),
    ("none", None, (1, 3, 4, 5)),
    ("none_int", (None, 0), (1, 4, 5)),
    ("int_none_middle", (0, None, slice(1, 3)), (1, 2, 5)),
    ("ellipsis", Ellipsis, (3, 4, 5)),
    ("ellipsis_int", (Ellipsis, 2), (3, 4)),
    ("int_ellipsis_int", (1, Ellipsis, -1), (4,)),
    ("ellipsis_none", (Ellipsis, None), (3, 4, 5, 1)),
    ("true", True, (1, 3, 4, 5)),
    ("false", False, (0, 3, 4, 5)),
    ("list", [0, 2], (2, 4, 5)),
    ("list_negative", [-1, 0, -3], (3, 4, 5)),
    ("list_repeated", [0, 0, 1], (3, 4, 5)),
    ("index_tensor", np.array([2, 0]), (2, 4, 5)),
    ("index_tensor_2d", np.array([[0, 1], [2, 2]]), (2, 2, 4, 5)),
    ("index_tensor_dim1", (slice(None), np.array([3, 1])), (3, 2, 5)),
    ("two_lists", ([0, 1], [1, 2]), (2, 5)),
    ("broadcast_lists", (slice(None), [[0], [1]], [1, 2]), (3, 2, 2)),
    ("int_slice_list", (0, slice(None), [1, 2]), (4, 2)),  # PyTorch: int selects first
    ("list_slice_list", ([0, 1], slice(None), [1, 2]), (2, 4)),  # non-adjacent: index dims first
    ("list_int", ([0, 1], 0), (2, 5)),
    ("list_int_list", ([0, 1], 0, [1, 2]), (2,)),
    ("slice_list_ellipsis", (slice(1, None), [0, 3], Ellipsis), (2, 2, 5)),
    ("none_list", (None, [1, 2]), (1, 2, 4, 5)),
    ("mask_full", A345 > 0, (30,)),
    ("mask_leading_1", np.array([True, False, True]), (2, 4, 5)),
    ("mask_leading_2", (A345[:, :, 0] > -20), (10, 5)),
    ("mask_dim1", (slice(None), np.array([False, True, True, False])), (3, 2, 5)),
    ("mask_all_false", np.zeros((3, 4), dtype=bool), (0, 5)),
    ("mask_and_list", (np.array([True, False, True]), slice(None), [4, 0]), (2, 4)),
    ("true_list", (True, [0, 1]), (2, 4, 5)),
]


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

SETITEM_CASES: list[tuple[str, Any, Any]] = [
    ("int_number", 1, 7.0),
    ("negative_int_int_number", -1, 2),
    ("int_int_broadcast_row", (0, 1), np.arange(5.0)),
    ("slice_step_broadcast", slice(None, None, 2), np.arange(5.0)),
    ("slice_int", (slice(1, None), 2), 3.5),
    ("ellipsis_column", (Ellipsis, 1), np.ones((3, 1))),
    ("none_int", (None, 0), np.full((1, 4, 5), -2.0)),
    ("mask_full", "positive", -1.0),  # the mask a > 0 of the tensor itself
    ("mask_leading", np.array([True, False, True]), np.arange(5.0)),
    ("mask_2d", np.array([[True, False, True, False]] * 3), 0.25),
    ("list", [0, 2], np.arange(20.0).reshape(4, 5)),
    ("index_tensor", np.array([2]), 9),
    ("two_lists_broadcast_value", ([0, 2], [1, 1]), np.array([[1.0], [2.0]]).reshape(2, 1)),
    ("int_slice_list", (0, slice(None), [1, 2]), np.ones((4, 2))),
    ("list_slice_list", ([0, 1], slice(None), [1, 2]), np.arange(8.0).reshape(2, 4)),
    ("broadcast_lists", (slice(None), [[0], [1]], [1, 2]), 3.0),
    ("steps_2d", (1, slice(1, 3), slice(None, None, 2)), np.arange(6.0).reshape(2, 3)),
    ("true", True, 1.5),
    ("false", False, 1.5),
    ("ellipsis_all", Ellipsis, 4.0),
]


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


# --- 4. split and join ops ----------------------------------------------------------------------


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
    x = torch.tensor([[1.0, -2.0, 3.0, -4.0]] * 3, requires_grad=True)
    y = op(torch, x)
    assert y.requires_grad and not y.is_leaf
    assert y.grad_fn is not None and y.grad_fn.name() == grad_fn


def test_grad_fn_names_are_torch_names():
    real = pytest.importorskip("torch")
    for name, op, grad_fn in GRAD_FN_CASES:
        x = real.tensor([[1.0, -2.0, 3.0, -4.0]] * 3, requires_grad=True)
        assert op(real, x).grad_fn.name() == grad_fn, name


@pytest.mark.parametrize(
    "name, op", [(c[0], c[1]) for c in GRAD_FN_CASES if c[0] != "masked_fill_tensor"]
)
def test_no_grad_fn_without_requires_grad(name, op):
    y = op(torch, torch.ones(3, 4))
    assert y.grad_fn is None and not y.requires_grad
    with torch.no_grad():
        z = op(torch, torch.ones(3, 4, requires_grad=True))
    assert z.grad_fn is None and not z.requires_grad


# --- 6. errors -----------------------------------------------------------------------------------


ERROR_CASES: list[tuple[str, type, str, Callable[[Any], Any]]] = [
    (
        "int_out_of_bounds",
        IndexError,
        "index 3 is out of bounds for dimension 0 with size 3",
        lambda t: t.zeros(3)[3],
    ),
    (
        "negative_int_out_of_bounds",
        IndexError,
        "index -4 is out of bounds for dimension 0 with size 3",
        lambda t: t.zeros(3)[-4],
    ),
    (
        "int_out_of_bounds_dim2",
        IndexError,
        "index 5 is out of bounds for dimension 2 with size 5",
        lambda t: t.zeros(3, 4, 5)[0, 0, 5],
    ),
    (
        "second_int_out_of_bounds",
        IndexError,
        "index 4 is out of bounds for dimension 1 with size 4",
        lambda t: t.zeros(3, 4, 5)[1, 4],
    ),
    (
        "int_after_slice_out_of_bounds",
        IndexError,
        "index 4 is out of bounds for dimension 1 with size 4",
        lambda t: t.zeros(3, 4, 5)[:, 4],
    ),
    (
        "list_out_of_bounds",
        IndexError,
        "index 3 is out of bounds for dimension 0 with size 3",
        lambda t: t.zeros(3)[[0, 3]],
    ),
    (
        "tensor_out_of_bounds",
        IndexError,
        "index -4 is out of bounds for dimension 0 with size 3",
        lambda t: t.zeros(3)[t.tensor([0, -4])],
    ),
    (
        "too_many_indices",
        IndexError,
        "too many indices for tensor of dimension 3",
        lambda t: t.zeros(3, 4, 5)[0, 0, 0, 0],
    ),
    (
        "index_0d",
        IndexError,
        "invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` "
        "in C++ to convert a 0-dim tensor to a number",
        lambda t: t.tensor(1.0)[0],
    ),
    (
        "mask_shape",
        IndexError,
        "The shape of the mask [4] at index 0 does not match the shape of the indexed tensor "
        "[3, 4, 5] at index 0",
        lambda t: t.zeros(3, 4, 5)[t.zeros(4, dtype=t.bool)],
    ),
    (
        "mask_shape_2d",
        IndexError,
        "The shape of the mask [3, 5] at index 1 does not match the shape of the indexed tensor "
        "[3, 4, 5] at index 1",
        lambda t: t.zeros(3, 4, 5)[t.zeros(3, 5, dtype=t.bool)],
    ),
    (
        "float_index_tensor",
        IndexError,
        "tensors used as indices must be long, int, byte or bool tensors",
        lambda t: t.zeros(3, 4, 5)[t.tensor([0.0, 1.0])],
    ),
    (
        "float_python_index",
        IndexError,
        "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are "
        "valid indices (got float)",
        lambda t: t.zeros(3)[1.5],
    ),
    (
        "index_shapes_do_not_broadcast",
        IndexError,
        "shape mismatch: indexing tensors could not be broadcast together with shapes [2], [3]",
        lambda t: t.zeros(3, 4, 5)[[0, 1], [0, 1, 2]],
    ),
    ("negative_step", ValueError, "step must be greater than zero", lambda t: t.zeros(3)[::-1]),
    ("zero_step", ValueError, "slice step cannot be zero", lambda t: t.zeros(3)[::0]),
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
        "gather_out_of_bounds",
        RuntimeError,
        "index 5 is out of bounds for dimension 1 with size 4",
        lambda t: t.zeros(3, 4).gather(1, t.tensor([[0, 5]])),
    ),
    (
        "gather_negative_index",
        RuntimeError,
        "index -1 is out of bounds for dimension 1 with size 4",
        lambda t: t.zeros(3, 4).gather(1, t.tensor([[0, -1]])),
    ),
    (
        "gather_ndim_mismatch",
        RuntimeError,
        "Index tensor must have the same number of dimensions as input tensor",
        lambda t: t.zeros(3, 4).gather(1, t.tensor([0, 1])),
    ),
    (
        "gather_index_too_large",
        RuntimeError,
        "Size does not match at dimension 0 expected index [4, 1] to be no larger than self "
        "[3, 4] apart from dimension 1",
        lambda t: t.zeros(3, 4).gather(1, t.zeros(4, 1, dtype=t.int64)),
    ),
    (
        "gather_float_index",
        RuntimeError,
        "gather(): Expected dtype int32/int64 for index",
        lambda t: t.zeros(3, 4).gather(1, t.tensor([[0.0, 1.0]])),
    ),
    (
        "index_select_out_of_range",
        IndexError,
        "index out of range in self",
        lambda t: t.zeros(3, 4).index_select(0, t.tensor([0, 3])),
    ),
    (
        "index_select_2d_index",
        IndexError,
        "index_select(): Index is supposed to be a vector",
        lambda t: t.zeros(3, 4).index_select(0, t.tensor([[0, 1]])),
    ),
    (
        "index_select_float_index",
        RuntimeError,
        "index_select(): Expected dtype int32 or int64 for index",
        lambda t: t.zeros(3, 4).index_select(0, t.tensor([0.0])),
    ),
    (
        "masked_fill_float_mask",
        RuntimeError,
        "masked_fill_ only supports boolean masks, but got mask with dtype float",
        lambda t: t.zeros(3).masked_fill(t.zeros(3), 1.0),
    ),
    (
        "masked_fill_1d_value",
        RuntimeError,
        "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with 1 "
        "dimension(s).",
        lambda t: t.zeros(3).masked_fill(t.zeros(3, dtype=t.bool), t.zeros(3)),
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
        "narrow_past_end",
        RuntimeError,
        "start (2) + length (2) exceeds dimension size (3).",
        lambda t: t.zeros(3).narrow(0, 2, 2),
    ),
    (
        "narrow_negative_length",
        RuntimeError,
        "narrow(): length must be non-negative.",
        lambda t: t.zeros(3).narrow(0, 0, -1),
    ),
    (
        "narrow_start_out_of_range",
        IndexError,
        "start out of range (expected to be in range of [-3, 3], but got 4)",
        lambda t: t.zeros(3).narrow(0, 4, 0),
    ),
    (
        "select_out_of_range",
        IndexError,
        "select(): index 4 out of range for tensor of size [3, 4] at dimension 1",
        lambda t: t.zeros(3, 4).select(1, 4),
    ),
    (
        "select_0d",
        IndexError,
        "select() cannot be applied to a 0-dim tensor.",
        lambda t: t.tensor(1.0).select(0, 0),
    ),
    (
        "unbind_0d",
        IndexError,
        "Dimension specified as 0 but tensor has no dimensions",
        lambda t: t.tensor(1.0).unbind(),
    ),
    (
        "unflatten_bad_sizes",
        RuntimeError,
        "unflatten: Provided sizes [4, 2] don't multiply up to the size of dim 0 (6) in the "
        "input tensor",
        lambda t: t.zeros(6).unflatten(0, (4, 2)),
    ),
    (
        "unflatten_empty_sizes",
        RuntimeError,
        "unflatten: sizes must be non-empty",
        lambda t: t.zeros(6).unflatten(0, ()),
    ),
    (
        "setitem_value_shape",
        RuntimeError,
        "The expanded size of the tensor (4) must match the existing size (3) at non-singleton "
        "dimension 0.  Target sizes: [4].  Tensor sizes: [3]",
        lambda t: t.zeros(3, 4).__setitem__(0, t.zeros(3)),
    ),
    (
        "setitem_out_of_bounds",
        IndexError,
        "index 3 is out of bounds for dimension 0 with size 3",
        lambda t: t.zeros(3, 4).__setitem__(3, 1.0),
    ),
    (
        "index_put_dtype_mismatch",
        RuntimeError,
        "Index put requires the source and destination dtypes match, got Float for the "
        "destination and Double for the source.",
        lambda t: t.zeros(3).__setitem__(t.tensor([0, 1]), t.tensor(2.0, dtype=t.float64)),
    ),
]


@pytest.mark.parametrize("name, exc, message, call", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_errors(name, exc, message, call):
    with pytest.raises(exc) as info:
        call(torch)
    assert type(info.value) is exc
    assert str(info.value) == message


def test_error_messages_are_torch_messages():
    """The table above is PyTorch's: every call raises the same with torch in autodiff's place."""
    real = pytest.importorskip("torch")
    for name, exc, message, call in ERROR_CASES:
        with pytest.raises(exc) as info:
            call(real)
        assert str(info.value) == message, name


def test_failed_setitem_leaves_tensor_unchanged():
    x = torch.zeros(3, 4)
    with pytest.raises(IndexError):
        x[[0, 9]] = 1.0
    with pytest.raises(RuntimeError):
        x[0] = torch.zeros(3)
    assert x.tolist() == [[0.0] * 4] * 3


# --- 7. PyTorch as the oracle for random index expressions --------------------------------------


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
        if any(isinstance(i, (list, np.ndarray)) and not _is_mask(i) for i in index):
            value = np.full(vshape, 0.5)  # which of repeated writes wins is unspecified
        ours[to_lib(index, torch)] = torch.tensor(value)
        theirs[to_lib(index, real)] = real.tensor(value)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), err_msg=str(index))


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
