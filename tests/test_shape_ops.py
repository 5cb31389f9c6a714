"""Shape and view ops: forward against NumPy, gradients against float64 finite differences,
PyTorch's grad_fn names and messages, and storage shared by views."""

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autodiff as torch

# (name, autodiff op, NumPy reference, grad_fn, minimum ndim, maximum ndim)
VIEW_OPS = [
    ("T", lambda x: x.T, lambda a: a.T, "PermuteBackward0", 0, 4),
    ("t", lambda x: x.t(), lambda a: a.T, "TBackward0", 0, 2),
    ("mT", lambda x: x.mT, lambda a: np.swapaxes(a, -1, -2), "TransposeBackward0", 2, 4),
    (
        "permute",
        lambda x: x.permute(*reversed(range(x.dim()))),
        lambda a: a.T,
        "PermuteBackward0",
        1,
        4,
    ),
    (
        "transpose",
        lambda x: x.transpose(0, -1),
        lambda a: np.swapaxes(a, 0, -1),
        "TransposeBackward0",
        1,
        4,
    ),
    ("unsqueeze0", lambda x: x.unsqueeze(0), lambda a: a[None], "UnsqueezeBackward0", 0, 4),
    ("unsqueeze-1", lambda x: x.unsqueeze(-1), lambda a: a[..., None], "UnsqueezeBackward0", 0, 4),
    (
        "squeeze",
        lambda x: x.unsqueeze(1).squeeze(),
        lambda a: np.squeeze(a[:, None]),
        "SqueezeBackward0",
        1,
        4,
    ),
    ("squeeze_dim", lambda x: x.unsqueeze(0).squeeze(0), lambda a: a, "SqueezeBackward1", 0, 4),
    ("view", lambda x: x.view(-1), lambda a: a.reshape(-1), "ViewBackward0", 0, 4),
    (
        "reshape_copy",
        lambda x: x.transpose(0, -1).reshape(-1),
        lambda a: np.swapaxes(a, 0, -1).reshape(-1),
        "UnsafeViewBackward0",
        2,
        4,
    ),
    ("flatten", lambda x: x.flatten(), lambda a: a.reshape(-1), "ViewBackward0", 2, 4),
    (
        "expand",
        lambda x: x.expand(3, *x.shape),
        lambda a: np.broadcast_to(a, (3, *a.shape)),
        "ExpandBackward0",
        0,
        3,
    ),
    (
        "contiguous",
        lambda x: x.transpose(0, -1).contiguous(),
        lambda a: np.swapaxes(a, 0, -1),
        "CloneBackward0",
        2,
        4,
    ),
    ("clone", lambda x: x.clone(), lambda a: a.copy(), "CloneBackward0", 0, 4),
]


# Ops whose grad_fn holds only when the transposed data really is non-contiguous (with size-1
# dimensions a transpose is still contiguous, and PyTorch then makes no copy either).
NEEDS_NONCONTIGUOUS = {"reshape_copy", "contiguous"}


def shapes_for(min_dims, max_dims, min_size=1):
    return st.lists(st.integers(min_size, 4), min_size=min_dims, max_size=max_dims).map(tuple)


@pytest.mark.parametrize(
    "name, op, reference, grad_fn, min_dims, max_dims", VIEW_OPS, ids=[o[0] for o in VIEW_OPS]
)
@given(data=st.data())
def test_view_op_forward_and_gradient(name, op, reference, grad_fn, min_dims, max_dims, data):
    shape = data.draw(shapes_for(min_dims, max_dims, 2 if name in NEEDS_NONCONTIGUOUS else 1))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    a = rng.standard_normal(shape)
    x = torch.tensor(a, requires_grad=True)
    y = op(x)
    expected = reference(a)
    assert y.shape == expected.shape
    np.testing.assert_array_equal(y.detach().numpy(), expected)
    assert y.grad_fn.name() == grad_fn
    # The ops are linear, so the gradient of <c, op(x)> is op's adjoint applied to c; central
    # differences are exact up to rounding for a linear map.
    c = rng.standard_normal(expected.shape)
    y.backward(torch.tensor(c))
    numerical = np.zeros_like(a)
    h = 1e-3
    for index in np.ndindex(a.shape):
        step = np.zeros_like(a)
        step[index] = h
        plus = (reference(a + step) * c).sum()
        minus = (reference(a - step) * c).sum()
        numerical[index] = (plus - minus) / (2 * h)
    assert x.grad.shape == x.shape
    np.testing.assert_allclose(x.grad.numpy(), numerical, rtol=1e-9, atol=1e-9)


def test_views_share_storage_and_version_with_their_base():
    base = torch.zeros(2, 3)
    view = base.t()
    view.fill_(5.0)
    # writing through the transposed view is seen by the base, and the counter is shared
    assert base.tolist() == [[5.0] * 3] * 2
    assert base._version == view._version == 1
    assert not view.is_contiguous() and view.stride() == (1, 3)
    base.zero_()
    assert view.tolist() == [[0.0, 0.0]] * 3


def test_reshape_infers_one_dimension():
    x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert x.reshape(3, -1).shape == (3, 2)
    assert x.view((-1,)).tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert x.expand(2, -1, -1).shape == (2, 2, 3)
    assert torch.reshape(x, (6,)).shape == (6,)
    assert x.flatten(0, 1).shape == (6,)


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda x: x.t().view(6),
            "view size is not compatible with input tensor's size and stride (at least one "
            "dimension spans across two contiguous subspaces). Use .reshape(...) instead.",
        ),
        (lambda x: x.reshape(4, -1), "shape '[4, -1]' is invalid for input of size 6"),
        (lambda x: x.reshape(-1, -1), "only one dimension can be inferred"),
        (lambda x: x.unsqueeze(0).t(), "t() expects a tensor with <= 2 dimensions, but self is 3D"),
        (
            lambda x: x.expand(2, 4),
            "The expanded size of the tensor (4) must match the existing size (3) at non-singleton "
            "dimension 1.  Target sizes: [2, 4].  Tensor sizes: [2, 3]",
        ),
    ],
)
def test_shape_errors(call, message):
    x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    with pytest.raises(RuntimeError, match=re.escape(message)):
        call(x)


def test_dimension_out_of_range():
    msg = "Dimension out of range (expected to be in range of [-2, 1], but got 2)"
    with pytest.raises(IndexError, match=re.escape(msg)):
        torch.zeros(2, 3).transpose(0, 2)


def test_views_against_torch():
    real = pytest.importorskip("torch")
    a = np.arange(24.0).reshape(2, 3, 4)
    for op in [
        lambda t: t.permute(2, 0, 1),
        lambda t: t.transpose(1, 2).reshape(2, 12),
        lambda t: t.mT.flatten(1),
        lambda t: t.unsqueeze(2).squeeze(2),
    ]:
        ours = op(torch.tensor(a))
        theirs = op(real.tensor(a))
        assert ours.tolist() == theirs.tolist()
        assert tuple(ours.shape) == tuple(theirs.shape)
        assert ours.stride() == theirs.stride()
