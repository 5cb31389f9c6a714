"""In-place ops under autograd: PYTORCH_SEMANTICS.md section 2.9."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiff
from autodiff import no_grad

LEAF = "a leaf Variable that requires grad is being used in an in-place operation."
VIEW_OF_LEAF = (
    "a view of a leaf Variable that requires grad is being used in an in-place operation."
)


def t(*values, requires_grad=False):
    return autodiff.tensor(list(values), requires_grad=requires_grad)


def test_version_counts_in_place_ops_and_is_shared_with_views_and_detach():
    x = t(1.0, 2.0)
    view, detached = x[:1], x.detach()
    assert x._version == 0
    x.add_(1)
    x.mul_(2)
    x[0] = 5
    assert x._version == 3
    assert view._version == 3 and detached._version == 3
    assert x.tolist() == [5.0, 6.0]


@pytest.mark.parametrize(
    "op",
    [
        lambda x: x.add_(1),
        lambda x: x.sub_(1),
        lambda x: x.mul_(2),
        lambda x: x.div_(2),
        lambda x: x.zero_(),
        lambda x: x.fill_(3),
        lambda x: x.copy_(autodiff.ones(2)),
        lambda x: x.clamp_(0, 1),
    ],
)
def test_in_place_on_a_leaf_that_requires_grad_raises(op):
    x = t(1.0, 2.0, requires_grad=True)
    with pytest.raises(RuntimeError) as e:
        op(x)
    assert str(e.value) == LEAF
    assert x._version == 0


def test_augmented_assignment_on_a_leaf_raises_and_is_allowed_under_no_grad():
    x = t(1.0, 2.0, requires_grad=True)
    with pytest.raises(RuntimeError, match="^a leaf Variable"):
        x += 1
    with no_grad():
        x -= 1
        x *= 4
        x /= 2
    assert x.tolist() == [0.0, 2.0]
    assert x.requires_grad and x.is_leaf and x.grad_fn is None


@pytest.mark.parametrize(
    "op", [lambda x: x.__setitem__(0, 5.0), lambda x: x[:2].add_(1)], ids=["setitem", "view"]
)
def test_in_place_through_a_view_of_a_leaf_raises(op):
    x = t(1.0, 2.0, 3.0, requires_grad=True)
    with pytest.raises(RuntimeError) as e:
        op(x)
    assert str(e.value) == VIEW_OF_LEAF


def test_chain_of_in_place_ops_on_a_non_leaf_gives_pytorch_gradients():
    x = t(1.0, 2.0, 3.0, requires_grad=True)
    y = x * 2
    y.add_(1)
    assert y.grad_fn.name() == "AddBackward0"
    y.mul_(2)
    assert y.grad_fn.name() == "MulBackward0"
    y[0] = 0
    assert y.grad_fn.name() == "torch::autograd::CopySlices"
    assert y.tolist() == [0.0, 10.0, 14.0]
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 4.0, 4.0]


def test_in_place_on_a_plain_tensor_with_a_grad_operand_makes_it_a_non_leaf():
    a = t(1.0, 2.0)
    b = t(3.0, 4.0, requires_grad=True)
    a.add_(b)
    assert a.grad_fn.name() == "AddBackward0" and not a.is_leaf and a.requires_grad
    a.mul_(b)  # a = (a0 + b) * b
    a.sum().backward()
    # d/db of (a0 + b) b = a0 + 2b
    assert b.grad.tolist() == [7.0, 10.0]


def test_mul_reads_the_old_value_for_the_other_operand():
    x = t(2.0, 3.0, requires_grad=True)
    w = t(5.0, 7.0, requires_grad=True)
    y = x * 1
    y.mul_(w)
    y.div_(w)  # back to x * 1, through two recorded ops
    y.mul_(w)
    y.sum().backward()
    assert x.grad.tolist() == pytest.approx([5.0, 7.0])
    assert w.grad.tolist() == pytest.approx([2.0, 3.0])


def test_saved_non_leaf_modified_in_place_raises_the_version_error():
    x = t(1.0, 2.0, requires_grad=True)
    y = x + 1
    z = y * y
    y.add_(1)
    with pytest.raises(RuntimeError) as e:
        z.sum().backward()
    assert str(e.value) == (
        "one of the variables needed for gradient computation has been modified by an inplace "
        "operation: [torch.FloatTensor [2]], which is output 0 of Add, is at version 1; "
        "expected version 0 instead. Hint: enable anomaly detection to find the operation "
        "that failed to compute its gradient, with torch.autograd.set_detect_anomaly(True, "
        "check_nan=False)."
    )


@pytest.mark.parametrize(("op", "name"), [("exp", "Exp"), ("sigmoid", "Sigmoid"), ("tanh", "Tanh")])
def test_saved_output_modified_in_place_names_the_producer(op, name):
    x = t(1.0, 2.0, requires_grad=True)
    y = getattr(x, op)()
    y.add_(1)
    with pytest.raises(RuntimeError, match=f"which is output 0 of {name}, is at version 1;"):
        y.sum().backward()


def test_in_place_on_an_intermediate_nobody_saved_is_allowed():
    x = t(1.0, 2.0, requires_grad=True)
    y = x * 1
    z = y + 3
    y.add_(1)
    z.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]


def test_in_place_through_a_view_of_a_non_leaf_rebases_the_base():
    x = t(1.0, 2.0, 3.0, requires_grad=True)
    y = x * 1
    y[1:].mul_(10)
    assert y.grad_fn.name() == "torch::autograd::CopySlices"
    assert y.tolist() == [1.0, 20.0, 30.0]
    (y * t(1.0, 2.0, 3.0)).sum().backward()
    assert x.grad.tolist() == [1.0, 20.0, 30.0]


def test_view_of_a_non_leaf_after_its_in_place_change_has_the_new_history():
    x = t(1.0, 2.0, requires_grad=True)
    y = x * 1
    v = y[:1]
    v.mul_(3)
    assert v.grad_fn.name() == "AsStridedBackward0"
    v.sum().backward()
    assert x.grad.tolist() == [3.0, 0.0]


def test_setitem_with_a_value_that_requires_grad_sends_it_the_gradient():
    y = autodiff.zeros(3)
    v = autodiff.tensor(2.0, requires_grad=True)
    y[1] = v
    assert y.grad_fn.name() == "torch::autograd::CopySlices"
    (y * t(1.0, 5.0, 1.0)).sum().backward()
    assert v.grad.item() == 5.0


def test_copy_sends_the_gradient_to_the_source_summed_to_its_shape():
    y = t(1.0, 2.0, 3.0, requires_grad=True) * 1
    src = autodiff.tensor(4.0, requires_grad=True)
    y.copy_(src)
    assert y.grad_fn.name() == "torch::autograd::CopyBackwards"
    assert y.tolist() == [4.0, 4.0, 4.0]
    y.sum().backward()
    assert src.grad.item() == 3.0


def test_zero_and_fill_cut_the_gradient_to_the_old_values():
    x = t(1.0, 2.0, requires_grad=True)
    y = x * 3
    y.zero_()
    assert y.grad_fn.name() == "ZeroBackward0"
    y.fill_(2.0)
    assert y.grad_fn.name() == "FillBackward0"
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]


def test_multi_output_views_refuse_in_place_changes():
    x = t(1.0, 2.0, 3.0, 4.0, requires_grad=True)
    first, _ = (x * 1).split(2)
    with pytest.raises(RuntimeError) as e:
        first.add_(1)
    assert str(e.value) == (
        "Output 0 of Split is a view and is being modified inplace. This view is the output of "
        "a function that returns multiple views. Such functions do not allow the output views "
        "to be modified inplace. You should replace the inplace operation by an out-of-place "
        "one."
    )


def test_view_made_under_no_grad_refuses_recorded_in_place_changes():
    y = t(1.0, 2.0, requires_grad=True) * 1
    with no_grad():
        v = y[:1]
    with pytest.raises(RuntimeError, match="^A view was created in no_grad mode"):
        v.add_(1)


def test_in_place_result_must_fit_the_tensor_dtype():
    i = autodiff.tensor([1, 2])
    with pytest.raises(RuntimeError) as e:
        i.add_(1.5)
    assert str(e.value) == "result type Float can't be cast to the desired output type Long"
    i.add_(2)
    assert i.tolist() == [3, 4]


def test_broadcast_that_would_grow_the_tensor_raises():
    x = t(1.0, 2.0)
    with pytest.raises(RuntimeError) as e:
        x.add_(autodiff.ones(3, 2))
    assert str(e.value) == "output with shape [2] doesn't match the broadcast shape [3, 2]"


def test_in_place_methods_return_the_same_object():
    x = t(1.0, 2.0)
    assert x.add_(1) is x and x.mul_(2) is x and x.clamp_(0, 3) is x and x.copy_(x) is x
    assert x.tolist() == [3.0, 3.0]


def test_retained_grad_follows_the_new_history():
    x = t(1.0, 2.0, requires_grad=True)
    y = x * 2
    y.retain_grad()
    y.mul_(3)
    y.sum().backward()
    assert y.grad.tolist() == [1.0, 1.0]
    assert x.grad.tolist() == [6.0, 6.0]


def test_second_order_through_in_place_ops():
    x = autodiff.tensor(2.0, requires_grad=True)
    y = x * 1
    y.mul_(x)  # x^2
    y.mul_(x)  # x^3
    (g,) = autodiff.autograd.grad(y, x, create_graph=True)
    assert g.item() == pytest.approx(12.0)
    (h,) = autodiff.autograd.grad(g, x)
    assert h.item() == pytest.approx(12.0)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-3, 3), min_size=1, max_size=6),
    st.lists(st.sampled_from(["add", "sub", "mul", "div", "clamp"]), min_size=1, max_size=5),
)
def test_in_place_sequences_match_out_of_place(values, ops):
    """The gradient through a sequence of in-place ops equals the out-of-place one."""
    w0 = np.linspace(0.5, 1.5, len(values))

    def run(in_place):
        x = autodiff.tensor(values, dtype=autodiff.float64, requires_grad=True)
        w = autodiff.tensor(w0, requires_grad=True)
        y = x * 1
        for op in ops:
            if op == "clamp":
                y = y.clamp_(-2, 2) if in_place else y.clamp(-2, 2)
            elif in_place:
                getattr(y, f"{op}_")(w)
            else:
                y = getattr(y, op)(w)
        (y * y).sum().backward()
        zeros = [0.0] * len(values)
        grads = [zeros if g is None else g.tolist() for g in (x.grad, w.grad)]
        return [y.tolist(), *grads]

    for got, want in zip(run(True), run(False)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_matches_torch_on_the_notes_example():
    torch = pytest.importorskip("torch")
    for lib in (torch, autodiff):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x * 2
        y.add_(1)
        y.mul_(2)
        y[0] = 0
        y.sum().backward()
        assert x.grad.tolist() == [0.0, 4.0, 4.0]
        assert y.grad_fn.name() == "torch::autograd::CopySlices"


def test_setitem_through_advanced_indices_on_a_graph_tensor():
    x = t(1.0, 2.0, 3.0, 4.0, requires_grad=True)
    v = autodiff.tensor([10.0, 20.0], requires_grad=True)
    y = x * 2
    y[autodiff.tensor([0, 2])] = v
    assert y.grad_fn.name() == "IndexPutBackward0"
    assert y.tolist() == [10.0, 4.0, 20.0, 8.0]
    (y * t(1.0, 2.0, 3.0, 4.0)).sum().backward()
    assert x.grad.tolist() == [0.0, 4.0, 0.0, 8.0]
    assert v.grad.tolist() == [1.0, 3.0]


def test_setitem_through_a_mask_with_a_number_cuts_the_gradient_there():
    x = t(1.0, -2.0, 3.0, -4.0, requires_grad=True)
    y = x * 1
    y[y < 0] = 0.0
    assert y.tolist() == [1.0, 0.0, 3.0, 0.0]
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, 1.0, 0.0]


def test_setitem_through_advanced_indices_matches_torch():
    torch = pytest.importorskip("torch")
    results = []
    for lib in (torch, autodiff):
        x = lib.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], requires_grad=True)
        v = lib.tensor([7.0, 8.0], requires_grad=True)
        y = x * 3
        y[lib.tensor([2, 0])] = v
        (y * y).sum().backward()
        results.append((y.tolist(), x.grad.tolist(), v.grad.tolist(), y.grad_fn.name()))
    assert results[0] == results[1]


def test_detach_in_place_refuses_views_and_works_on_non_leaves():
    y = t(1.0, 2.0, requires_grad=True) * 2
    view = y[:1]
    with pytest.raises(RuntimeError) as e:
        view.detach_()
    assert str(e.value).startswith(
        "Can't detach views in-place. Use detach() instead. If you are using "
        "DistributedDataParallel (DDP) for training,"
    )
    assert y.detach_() is y
    assert y.is_leaf and not y.requires_grad and y.grad_fn is None


def test_integer_in_place_arithmetic_is_exact_beyond_float_precision():
    big = 2**53 + 1
    i = autodiff.tensor([big, -big])
    i.add_(2)
    assert i.tolist() == [big + 2, -big + 2]
    i.sub_(1, alpha=3)
    assert i.tolist() == [big - 1, -big - 1]
    i.mul_(3)
    assert i.tolist() == [3 * (big - 1), -3 * (big + 1)]


OUT_MESSAGE = (
    "add(): functions with out=... arguments don't support automatic differentiation, "
    "but one of the arguments requires grad."
)


def test_out_argument_refuses_operands_that_require_grad():
    x = autodiff.tensor([1.0, 2.0], requires_grad=True)
    out = autodiff.zeros(2)
    with pytest.raises(RuntimeError, match=re.escape(OUT_MESSAGE)):
        autodiff.add(x, 1, out=out)
    with pytest.raises(RuntimeError, match=re.escape(OUT_MESSAGE.replace("add()", "mul()"))):
        autodiff.mul(autodiff.ones(2), 2, out=autodiff.zeros(2, requires_grad=True))
    assert out.tolist() == [0.0, 0.0]


def test_out_argument_writes_into_out():
    out = autodiff.zeros(2, dtype=autodiff.float64)
    result = autodiff.add(autodiff.tensor([1.0, 2.0]), autodiff.tensor([3.0, 4.0]), out=out)
    assert result is out
    assert out.tolist() == [4.0, 6.0] and out.dtype == autodiff.float64
    with autodiff.no_grad():
        x = autodiff.tensor([1.0, 2.0], requires_grad=True)
        assert autodiff.sub(x, 1, out=out).tolist() == [0.0, 1.0]
    m = autodiff.zeros(2, 2)
    autodiff.matmul(autodiff.eye(2), autodiff.ones(2, 2), out=m)
    assert m.tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_out_argument_of_another_shape_is_refused():
    with pytest.raises(RuntimeError, match=r"div\(\): out= must have the result's shape \[2\]"):
        autodiff.div(autodiff.ones(2), 2, out=autodiff.zeros(3))
