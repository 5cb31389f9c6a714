"""Indexing errors: every wrong index, ``x[...] = v``, narrow, select, gather, index_select,
masked_fill and unflatten call raises PyTorch 2.15's exception type and exact message (checked
against PyTorch itself where it is installed), and a failed assignment leaves the tensor as it
was.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest
from shape_checks import check_error, check_errors_match_torch

import autodiff as torch

# --- the error table -----------------------------------------------------------------------------


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
    check_error(exc, message, call)


def test_error_messages_are_torch_messages():
    """The table above is PyTorch's: every call raises the same with torch in autodiff's place."""
    check_errors_match_torch(ERROR_CASES)


def test_failed_setitem_leaves_tensor_unchanged():
    x = torch.zeros(3, 4)
    with pytest.raises(IndexError):
        x[[0, 9]] = 1.0
    with pytest.raises(RuntimeError):
        x[0] = torch.zeros(3)
    assert x.tolist() == [[0.0] * 4] * 3
