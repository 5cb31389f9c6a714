"""Every error and warning of issue #2, with PyTorch's exact exception type and message.

The texts are PYTORCH_SEMANTICS.md's, each re-checked against torch 2.15: replacing
``import autodiff as torch`` with ``import torch`` runs this file unchanged against PyTorch.
Warnings raised from C++ in PyTorch end with `` (Triggered internally at ...)``, so warning texts
are matched as prefixes.
"""

from __future__ import annotations

import re
import warnings

import pytest

import autodiff as torch


def raises(exc, message):
    """pytest.raises for the whole, exact message."""
    return pytest.raises(exc, match=f"^{re.escape(message)}$")


def leaf(*values, dtype=None):
    return torch.tensor(list(values), dtype=dtype, requires_grad=True)


# --- backward() -------------------------------------------------------------------------------

NO_GRAD_FN = "element 0 of tensors does not require grad and does not have a grad_fn"


@pytest.mark.parametrize(
    "make",
    [
        lambda x: torch.tensor(1.0),
        lambda x: torch.tensor(3),
        lambda x: x.detach().sum(),
        lambda x: (x * 2).detach().sum(),
    ],
    ids=["plain", "int64", "detached-leaf", "detached-result"],
)
def test_backward_on_tensor_without_grad(make):
    x = leaf(1.0, 2.0)
    with raises(RuntimeError, NO_GRAD_FN):
        make(x).backward()


def test_backward_on_result_computed_under_no_grad():
    x = leaf(1.0, 2.0)
    with torch.no_grad():
        y = (x * 2).sum()
    with raises(RuntimeError, NO_GRAD_FN):
        y.backward()
    assert x.grad is None


def test_backward_implicit_gradient_needs_a_scalar():
    x = leaf(1.0, 2.0, 3.0)
    with raises(RuntimeError, "grad can be implicitly created only for scalar outputs"):
        (x * 2).backward()
    with raises(RuntimeError, "grad can be implicitly created only for scalar outputs"):
        torch.ones(2, 3, requires_grad=True).backward()
    assert x.grad is None


def mismatch(grad_shape, out_shape):
    return (
        f"Mismatch in shape: grad_output[0] has a shape of torch.Size({grad_shape}) "
        f"and output[0] has a shape of torch.Size({out_shape})."
    )


@pytest.mark.parametrize(
    ("out_shape", "grad_shape"),
    [((3,), (2,)), ((3,), (1,)), ((2,), (1, 2)), ((), (1,)), ((2, 3), (3, 2))],
    ids=["3-vs-2", "broadcastable-1", "extra-dim", "scalar-vs-1", "2d-transposed"],
)
def test_backward_gradient_shape_mismatch(out_shape, grad_shape):
    x = torch.ones(out_shape, requires_grad=True)
    with raises(RuntimeError, mismatch(list(grad_shape), list(out_shape))):
        (x * 2).backward(torch.ones(grad_shape))
    assert x.grad is None


def test_mismatch_message_spelled_as_pytorch_prints_it():
    assert mismatch([2], [3]) == (
        "Mismatch in shape: grad_output[0] has a shape of torch.Size([2]) and output[0] has a "
        "shape of torch.Size([3])."
    )


FREED = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
    "graph a second time or if you need to access saved tensors after calling backward."
)


@pytest.mark.parametrize(
    "fn",
    [lambda x: (x * x).sum(), lambda x: x.exp().sum(), lambda x: (x**2).mean()],
    ids=["mul-saves-inputs", "exp-saves-result", "pow-saves-base"],
)
def test_second_backward_through_freed_saved_tensors(fn):
    x = leaf(1.0, 2.0)
    y = fn(x)
    y.backward()
    first = x.grad.tolist()
    with raises(RuntimeError, FREED):
        y.backward()
    assert x.grad.tolist() == first  # the failed backward accumulated nothing


def test_backward_with_empty_inputs():
    x = leaf(1.0)
    with raises(RuntimeError, "`inputs` argument to `backward()` cannot be empty."):
        (x * 2).sum().backward(inputs=[])


# --- requires_grad ----------------------------------------------------------------------------

NON_LEAF_FLAG = (
    "you can only change requires_grad flags of leaf variables. If you want to use a computed "
    "variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach()."
)


def test_requires_grad_false_on_non_leaf():
    y = leaf(1.0, 2.0) * 2
    with raises(RuntimeError, NON_LEAF_FLAG):
        y.requires_grad_(False)
    with raises(RuntimeError, NON_LEAF_FLAG):
        y.requires_grad = False
    assert y.requires_grad is True


INT_FACTORY = "Only Tensors of floating point and complex dtype can require gradients"


@pytest.mark.parametrize(
    "make",
    [
        lambda: torch.tensor([1, 2], requires_grad=True),
        lambda: torch.tensor([True, False], requires_grad=True),
        lambda: torch.tensor(3, requires_grad=True),
        lambda: torch.zeros(2, dtype=torch.int64, requires_grad=True),
        lambda: torch.ones(2, dtype=torch.int64, requires_grad=True),
        lambda: torch.full((2,), 1, dtype=torch.int64, requires_grad=True),
        lambda: torch.tensor([1.0, 2.0], dtype=torch.bool, requires_grad=True),
    ],
    ids=["tensor-int", "tensor-bool", "tensor-0d-int", "zeros", "ones", "full", "float-to-bool"],
)
def test_int_tensor_factory_requires_grad(make):
    # Capital O and "and complex": the factory kwarg's message differs from requires_grad_()'s.
    with raises(RuntimeError, INT_FACTORY):
        make()


@pytest.mark.parametrize("dtype", ["int64", "bool"])
def test_int_tensor_requires_grad_method_and_attribute(dtype):
    t = torch.zeros(2, dtype=getattr(torch, dtype))
    with raises(RuntimeError, "only Tensors of floating point dtype can require gradients"):
        t.requires_grad_()
    # The attribute setter has a third spelling: lower-case "only", with "and complex".
    with raises(
        RuntimeError, "only Tensors of floating point and complex dtype can require gradients"
    ):
        t.requires_grad = True
    assert t.requires_grad is False
    t.requires_grad_(False)  # asking for no grad is fine
    assert t.requires_grad is False


def test_retain_grad_without_requires_grad():
    message = "can't retain_grad on Tensor that has requires_grad=False"
    with raises(RuntimeError, message):
        torch.tensor([1.0, 2.0]).retain_grad()
    with torch.no_grad():
        y = leaf(1.0) * 2
    with raises(RuntimeError, message):
        y.retain_grad()


# --- .grad assignment -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "grad_shape"),
    [((2,), (3,)), ((2, 3), (3, 2)), ((2, 3), ())],
    ids=["vector", "transposed", "scalar"],
)
def test_grad_assignment_wrong_size(shape, grad_shape):
    x = torch.zeros(shape, requires_grad=True)
    size = lambda s: "[" + ", ".join(map(str, s)) + "]"  # noqa: E731
    message = (
        f"attempting to assign a gradient of size '{size(grad_shape)}' to a tensor of size "
        f"'{size(shape)}'. Please ensure that the gradient and the tensor are the same size"
    )
    with raises(RuntimeError, message):
        x.grad = torch.ones(grad_shape)
    assert x.grad is None


@pytest.mark.parametrize(
    ("dtype", "grad_dtype", "grad_name", "tensor_name"),
    [
        ("float32", "float64", "double", "Float"),
        ("float64", "float32", "float", "Double"),
        ("float32", "int64", "long int", "Float"),
        ("float32", "bool", "bool", "Float"),
    ],
)
def test_grad_assignment_wrong_dtype(dtype, grad_dtype, grad_name, tensor_name):
    x = torch.zeros(2, dtype=getattr(torch, dtype), requires_grad=True)
    message = (
        f"attempting to assign a gradient with dtype '{grad_name}' to a tensor with grad_dtype "
        f"'{tensor_name}'. The gradient must match the tensor's grad_dtype (defaults to the "
        "tensor's dtype). You can set the tensor's grad_dtype attribute with a specific dtype, "
        "or None to allow any dtype. Set grad_dtype with caution. Diverging the dtypes of a "
        "tensor and its gradient may break downstream systems that assume they match."
    )
    with raises(RuntimeError, message):
        x.grad = torch.zeros(2, dtype=getattr(torch, grad_dtype))
    assert x.grad is None


@pytest.mark.parametrize(
    ("value", "type_name"), [([1.0, 2.0], "list"), (3.0, "float"), ("ab", "str")]
)
def test_grad_assignment_non_tensor(value, type_name):
    x = leaf(1.0, 2.0)
    message = f"assigned grad expected to be a Tensor or None but got grad of type {type_name}"
    with raises(TypeError, message):
        x.grad = value
    x.grad = torch.ones(2)  # a matching tensor, and None, are accepted
    assert x.grad.tolist() == [1.0, 1.0]
    x.grad = None
    assert x.grad is None


def test_grad_zero_when_grad_is_none():
    x = leaf(1.0)
    with raises(AttributeError, "'NoneType' object has no attribute 'zero_'"):
        x.grad.zero_()


# --- the non-leaf .grad warning ---------------------------------------------------------------

NON_LEAF_GRAD = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
    "attribute won't be populated during autograd.backward(). If you indeed want the .grad field "
    "to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. If you "
    "access the non-leaf Tensor by mistake, make sure you access the leaf Tensor instead. See "
    "github.com/pytorch/pytorch/pull/30531 for more information."
)


def test_reading_grad_of_non_leaf_warns_before_and_after_backward():
    x = leaf(1.0, 2.0)
    y = x * 2
    with pytest.warns(UserWarning, match="^" + re.escape(NON_LEAF_GRAD)) as caught:
        assert y.grad is None
    assert len(caught) == 1
    y.sum().backward()
    with pytest.warns(UserWarning, match="^" + re.escape(NON_LEAF_GRAD)):
        assert y.grad is None


def test_no_warning_when_non_leaf_grad_is_defined_or_tensor_is_a_leaf():
    x = leaf(1.0, 2.0)
    y = x * 2
    y.retain_grad()
    h = x * 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert x.grad is None
        assert torch.tensor(1.0).grad is None
        assert y.grad is None  # retained, not yet populated
        (y * h).sum().backward(inputs=[h])  # fills h.grad = y = [2, 4]
        assert h.grad.tolist() == [2.0, 4.0]


# --- construction -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([[1, 2], [3, 4, 5]], "expected sequence of length 2 at dim 1 (got 3)"),
        ([[1.0, 2.0], [3.0]], "expected sequence of length 2 at dim 1 (got 1)"),
        ([[[1.0], [2.0]], [[3.0], [4.0, 5.0]]], "expected sequence of length 1 at dim 2 (got 2)"),
    ],
    ids=["longer", "shorter", "dim-2"],
)
def test_ragged_nested_lists(data, message):
    with raises(ValueError, message):
        torch.tensor(data)


# --- operands ---------------------------------------------------------------------------------


def broadcast_error(a, b, dim):
    return (
        f"The size of tensor a ({a}) must match the size of tensor b ({b}) "
        f"at non-singleton dimension {dim}"
    )


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (lambda: torch.ones(3) + torch.ones(4), broadcast_error(3, 4, 0)),
        (lambda: torch.ones(3) * leaf(1.0, 2.0, 3.0, 4.0), broadcast_error(3, 4, 0)),
        (lambda: torch.ones(2, 3) - torch.ones(4), broadcast_error(3, 4, 1)),
        (lambda: torch.ones(2, 1) / torch.ones(3, 4), broadcast_error(2, 3, 0)),
        (lambda: torch.maximum(torch.ones(3), torch.ones(4)), broadcast_error(3, 4, 0)),
        (lambda: torch.ones(3) < torch.ones(4), broadcast_error(3, 4, 0)),
        (lambda: torch.ones(3) ** torch.ones(2), broadcast_error(3, 2, 0)),
    ],
    ids=["add", "mul-requires-grad", "sub-2d", "div-2d", "maximum", "lt", "pow"],
)
def test_non_broadcastable_operands(fn, message):
    with raises(RuntimeError, message):
        fn()


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (lambda x: x + "a", "unsupported operand type(s) for +: 'Tensor' and 'str'"),
        (lambda x: x - "a", "unsupported operand type(s) for -: 'Tensor' and 'str'"),
        (lambda x: x / "a", "unsupported operand type(s) for /: 'Tensor' and 'str'"),
        (lambda x: x ** "a", "unsupported operand type(s) for ** or pow(): 'Tensor' and 'str'"),
        (lambda x: x + None, "unsupported operand type(s) for +: 'Tensor' and 'NoneType'"),
        (lambda x: "a" + x, 'can only concatenate str (not "Tensor") to str'),
        (lambda x: x < "a", "'<' not supported between instances of 'Tensor' and 'str'"),
        (lambda x: x >= [1], "'>=' not supported between instances of 'Tensor' and 'list'"),
    ],
    ids=["add", "sub", "div", "pow", "add-none", "radd", "lt", "ge-list"],
)
def test_non_number_operands(fn, message):
    with raises(TypeError, message):
        fn(leaf(1.0, 2.0))


def test_non_number_equality_is_false_not_an_error():
    x = leaf(1.0, 2.0)
    assert (x == "a") is False
    assert (x != "a") is True


@pytest.mark.parametrize(
    "fn",
    [torch.exp, torch.sin, torch.relu, torch.sigmoid, lambda s: torch.sum(s)],
    ids=["exp", "sin", "relu", "sigmoid", "sum"],
)
def test_function_forms_reject_non_tensors(fn):
    # PyTorch: "exp(): argument 'input' (position 1) must be Tensor, not str"; the wording
    # comes from its argument parser, so only the type and the offending type's name are pinned.
    with pytest.raises(TypeError, match="str"):
        fn("a")


# --- numpy(), read-only attributes ------------------------------------------------------------


def test_numpy_on_tensor_requiring_grad():
    message = (
        "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."
    )
    x = leaf(1.0, 2.0)
    with raises(RuntimeError, message):
        x.numpy()
    with raises(RuntimeError, message):
        (x * 2).numpy()
    assert x.detach().numpy().tolist() == [1.0, 2.0]


@pytest.mark.parametrize(
    ("attr", "value"), [("grad_fn", None), ("is_leaf", False), ("retains_grad", True)]
)
def test_read_only_attributes(attr, value):
    # PyTorch names its base class ('torch._C.TensorBase'); ours may say 'autodiff.Tensor'.
    y = leaf(1.0) * 2
    before = getattr(y, attr)
    with pytest.raises(
        AttributeError, match=rf"^attribute '{attr}' of '[\w.]+' objects is not writable$"
    ):
        setattr(y, attr, value)
    assert getattr(y, attr) == before


def test_set_grad_enabled_needs_a_bool():
    message = "set_grad_enabled(): argument 'enabled' (position 1) must be bool, not str"
    with raises(TypeError, message):
        torch.set_grad_enabled("yes")
    assert torch.is_grad_enabled() is True
