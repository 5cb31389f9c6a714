"""Index expressions for tests/test_indexing.py: PyTorch's indexing rules computed with NumPy,
and random index expressions.

An index is written once with NumPy arrays standing for tensors (int64 arrays for index tensors,
bool arrays for masks) and converted for each library by ``to_lib``. Python lists, ints, bools,
slices, None and Ellipsis are left as they are. ``INDEX_CASES`` and ``SETITEM_CASES`` are the
fixed expressions of the table-driven tests, the first with the result shape PyTorch gives.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st


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


def is_mask(item: Any) -> bool:
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
    ellipsis_at = len(items)
    if ch.integer(0, 2) == 0:  # an Ellipsis replaces a run of items (maybe an empty one)
        i = ch.integer(0, len(items))
        j = ch.integer(i, len(items))
        items[i:j] = [(Ellipsis, 0)]
        ellipsis_at = i
    if ch.integer(0, 2) == 0:  # leave the trailing dimensions implicit
        # Only up to the Ellipsis (or with it): items after an Ellipsis count from the last
        # dimension, so dropping some of them would move the others onto other dimensions.
        del items[min(ch.integer(0, len(items)), ellipsis_at) :]
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


# --- fixed expressions ----------------------------------------------------------------------------

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
