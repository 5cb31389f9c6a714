"""Edge cases found in review: sizes, NumPy operands, integer maths, NaN bounds, and
autograd corner cases. Each expectation is PyTorch's (checked against torch 2.15)."""

import math
import re

import numpy as np
import pytest

import autodiff as torch


def test_sizes_beyond_memory_raise_instead_of_aborting():
    with pytest.raises(RuntimeError, match="^DefaultCPUAllocator: not enough memory"):
        torch.zeros(2**40)
    with pytest.raises(RuntimeError, match="^DefaultCPUAllocator: not enough memory"):
        torch.zeros(2**20, 1) + torch.zeros(1, 2**20)
    with pytest.raises(RuntimeError, match="^DefaultCPUAllocator: not enough memory"):
        torch.full((2**40,), 1.0)


def test_sizes_whose_element_count_overflows_raise():
    msg = "Storage size calculation overflowed with sizes=[4294967296, 4294967296]"
    with pytest.raises(RuntimeError, match=re.escape(msg)):
        torch.zeros(2**32, 2**32)
    with pytest.raises(RuntimeError, match="^Storage size calculation overflowed"):
        torch.full((2**31, 2**31), 1.0)


def test_numpy_operands_keep_the_graph():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = np.float64(2) * x + np.float32(1)
    assert isinstance(y, torch.Tensor)
    assert y.grad_fn.name() == "AddBackward0"
    y.sum().backward()
    # d/dx sum(2x + 1) = 2
    assert x.grad.tolist() == [2.0, 2.0]
    z = torch.tensor([1.0, 2.0]) + np.array([1.0, 2.0])
    assert z.dtype is torch.float64 and z.tolist() == [2.0, 4.0]


def test_array_protocol_refuses_tensors_that_require_grad():
    x = torch.tensor([1.0], requires_grad=True)
    msg = "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."
    with pytest.raises(RuntimeError, match=re.escape(msg)):
        np.asarray(x)
    assert np.asarray(x.detach()).tolist() == [1.0]


def test_grad_with_respect_to_a_non_leaf_keeps_the_rest_of_the_graph():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    s = y.sum()
    (gy,) = torch.autograd.grad(s, y)
    assert gy.tolist() == [1.0, 1.0]
    # ExpBackward0 never ran, so its saved output is still there: d/dx sum(e^x) = e^x
    (gx,) = torch.autograd.grad(s, x)
    assert gx.tolist() == pytest.approx([math.e, math.e**2], rel=1e-6)


def test_integer_sums_are_exact_beyond_2_to_the_53():
    assert torch.tensor([2**53 + 1]).sum().item() == 2**53 + 1
    assert torch.tensor([[2**53 + 1, 0]]).sum(1).tolist() == [2**53 + 1]


def test_sum_over_no_elements_is_positive_zero():
    s = torch.zeros(0, 3).sum(0)
    assert repr(s) == "tensor([0., 0., 0.])"
    assert all(math.copysign(1.0, v) == 1.0 for v in s.tolist())


def test_empty_dim_list_reduces_everything():
    t = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert t.sum(dim=()).item() == 10.0
    assert t.mean(dim=[]).item() == 2.5


def test_two_python_numbers_promote_to_the_default_float():
    assert torch.where(torch.tensor([True]), 1.0, 0.0).dtype is torch.float32


def test_gradient_of_zero_to_the_x_is_zero():
    x = torch.tensor([0.0, 1.0, 2.0], requires_grad=True)
    (0**x).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


def test_integer_powers():
    with pytest.raises(
        RuntimeError, match="^Integers to negative integer powers are not allowed.$"
    ):
        torch.tensor([1, 2]) ** -1
    assert (torch.tensor([-1]) ** 2**32).tolist() == [1]
    sq = torch.tensor([1, 2]).square()
    assert sq.dtype is torch.int64 and sq.tolist() == [1, 4]


def test_clamp_promotion_nan_bounds_and_crossed_bounds():
    c = torch.tensor([1, 2]).clamp(min=0.0)
    assert c.dtype is torch.float32 and c.tolist() == [1.0, 2.0]
    assert all(math.isnan(v) for v in torch.tensor([1.0, 2.0]).clamp(min=float("nan")).tolist())
    # min > max: every value becomes max, as min(max(x, lo), hi) gives
    assert torch.tensor([1.0, 5.0]).clamp(3, 2).tolist() == [2.0, 2.0]


def test_more_than_32_dims_cannot_go_to_numpy():
    nested = 1.0
    for _ in range(33):
        nested = [nested]
    t = torch.tensor(nested)
    assert t.dim() == 33
    with pytest.raises(RuntimeError, match="which allows at most 32"):
        t.numpy()


def test_autograd_input_checks():
    x = torch.tensor(1.0, requires_grad=True)
    y = x * 2
    with pytest.raises(
        RuntimeError, match=re.escape("`inputs` argument to `grad()` cannot be empty.")
    ):
        torch.autograd.grad(y, [])
    with pytest.raises(
        RuntimeError, match="^One of the differentiated Tensors does not require grad$"
    ):
        y.backward(inputs=[torch.tensor(1.0)])


def test_leaf_that_stops_requiring_grad_gets_no_grad():
    x = torch.tensor(1.0, requires_grad=True)
    y = x * 2
    x.requires_grad_(False)
    y.backward()
    assert x.grad is None


def test_version_message_for_a_saved_leaf_has_no_producer_clause():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    z = (x * x).sum()
    x.detach().fill_(3.0)
    msg = (
        "one of the variables needed for gradient computation has been modified by an inplace "
        "operation: [torch.FloatTensor [2]] is at version 1; expected version 0 instead."
    )
    with pytest.raises(RuntimeError, match=re.escape(msg)):
        z.backward()


def test_data_has_its_own_version_counter():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    d = x.data
    assert d._version == 0
    d.fill_(3.0)
    # `.data` bypasses the saved-tensor check, as in PyTorch: the saved x now reads 3, so
    # d/dx sum(x * x) = 2x computes as [6, 6] (PyTorch's documented pitfall of `.data`).
    assert x._version == 0 and d._version == 1
    y.sum().backward()
    assert x.grad.tolist() == [6.0, 6.0]
    # `detach()` shares the counter instead, so the same change is caught.
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    z = (w * w).sum()
    w.detach().fill_(3.0)
    assert w._version == 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.backward()
