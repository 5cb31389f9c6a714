"""``nn.Module`` and ``nn.Parameter``: registration, naming, walking the tree, modes,
gradients, hooks and reprs (``state_dict``/``load_state_dict`` are in
``tests/test_nn_state_dict.py``).

Error cases and reprs are written once as functions of a library (``autodiff`` or ``torch``):
the expected text is hard-coded, and where torch is installed the same function run by torch
must give that text too (with ``torch.`` type names read as ``autodiff.``).
"""

from __future__ import annotations

import copy
import re
from typing import Any, Callable

import pytest
from gradcheck_util import backward_create_graph
from hypothesis import given
from hypothesis import strategies as st
from module_cases import Affine, as_ours, message, raised, shared_tree, torch_or_skip

import autodiff
import autodiff.nn as nn

# --- Parameter ---------------------------------------------------------------------------------


def test_parameter_requires_grad_by_default_and_shares_storage():
    data = autodiff.zeros(2)
    p = nn.Parameter(data)
    assert isinstance(p, autodiff.Tensor) and type(p) is nn.Parameter
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    data.add_(1.0)  # the same storage: the parameter sees the change
    assert p.tolist() == [1.0, 1.0]
    assert not nn.Parameter(autodiff.ones(1), requires_grad=False).requires_grad
    assert type(p * 2) is autodiff.Tensor


def test_parameter_gets_gradients():
    p = nn.Parameter(autodiff.tensor([1.0, 2.0]))
    (p * p).sum().backward()
    # d/dp sum(p^2) = 2p
    assert p.grad.tolist() == [2.0, 4.0]


PARAMETER_REPRS = [
    (
        lambda lib: lib.nn.Parameter(lib.zeros(2)),
        "Parameter containing:\ntensor([0., 0.], requires_grad=True)",
    ),
    (
        lambda lib: lib.nn.Parameter(lib.ones(2, 2, dtype=lib.float64)),
        "Parameter containing:\ntensor([[1., 1.],\n        [1., 1.]], "
        "dtype=autodiff.float64, requires_grad=True)",
    ),
    (
        lambda lib: lib.nn.Parameter(lib.zeros(1), requires_grad=False),
        "Parameter containing:\ntensor([0.])",
    ),
    (lambda lib: lib.nn.Parameter(), "Parameter containing:\ntensor([], requires_grad=True)"),
]


@pytest.mark.parametrize(
    ("make", "expected"),
    PARAMETER_REPRS,
)
def test_parameter_repr(make, expected):
    assert repr(make(autodiff)) == expected


@pytest.mark.parametrize(
    ("make", "expected"),
    PARAMETER_REPRS,
)
def test_parameter_repr_match_torch(make, expected):
    torch = torch_or_skip()
    assert repr(make(torch)).replace("torch.", "autodiff.") == expected


def test_parameter_deepcopy_copies_the_data():
    p = nn.Parameter(autodiff.tensor([1.0, 2.0]), requires_grad=False)
    q = copy.deepcopy(p)
    assert type(q) is nn.Parameter and q is not p and not q.requires_grad
    p.add_(1.0)
    assert q.tolist() == [1.0, 2.0]


# --- registration through attributes -----------------------------------------------------------


def test_attributes_register_parameters_buffers_and_children_in_order():
    m = Affine.build(autodiff)
    assert list(m._parameters) == ["scale"]
    assert list(m._buffers) == ["shift", "cache"]
    assert list(m._modules) == ["inner"]
    assert m.scale is m._parameters["scale"] and m.inner is m._modules["inner"]
    m.note = "plain"
    assert "note" in m.__dict__ and "note" not in m._parameters


def test_assigning_none_keeps_the_name_registered():
    m = Affine.build(autodiff)
    m.scale = None
    m.shift = None
    m.inner = None
    assert m._parameters == {"scale": None} and m._buffers["shift"] is None
    assert m._modules == {"inner": None}
    assert [name for name, _ in m.named_parameters()] == []


def test_a_parameter_assigned_over_a_buffer_or_child_replaces_it():
    m = Affine.build(autodiff)
    m.shift = nn.Parameter(autodiff.ones(2))
    m.inner = nn.Parameter(autodiff.ones(1))
    assert "shift" not in m._buffers and "inner" not in m._modules
    assert list(m._parameters) == ["scale", "shift", "inner"]
    m.extra = autodiff.zeros(1)
    m.extra = nn.ReLU()  # a module over a plain attribute replaces it too
    assert "extra" not in m.__dict__ and isinstance(m.extra, nn.ReLU)


def test_buffer_assignment_keeps_persistence():
    m = Affine.build(autodiff)
    m.cache = autodiff.ones(3)
    assert m.cache.tolist() == [1.0, 1.0, 1.0]
    assert "cache" not in m.state_dict()


def test_delattr_unregisters():
    m = Affine.build(autodiff)
    del m.scale, m.cache, m.inner
    assert not m._parameters and list(m._buffers) == ["shift"] and not m._modules
    assert "cache" not in m._non_persistent_buffers_set
    with pytest.raises(AttributeError):
        del m.nothing


def test_dir_lists_registered_names_but_not_numeric_ones():
    m = Affine.build(autodiff)
    names = dir(m)
    assert {"scale", "shift", "cache", "inner", "forward", "training"} <= set(names)
    assert names == sorted(names)
    assert "0" not in dir(nn.Sequential(nn.ReLU()))


ERROR_CASES: list[tuple[str, Callable[[Any], Any], type, str]] = [
    (
        "tensor as parameter",
        lambda lib: setattr(lib.nn.Linear(2, 3), "weight", lib.zeros(3, 2)),
        TypeError,
        "cannot assign 'autodiff.FloatTensor' as parameter 'weight' "
        "(torch.nn.Parameter or None expected)",
    ),
    (
        "float64 tensor as parameter",
        lambda lib: setattr(lib.nn.Linear(2, 3), "bias", lib.zeros(3, dtype=lib.float64)),
        TypeError,
        "cannot assign 'autodiff.DoubleTensor' as parameter 'bias' "
        "(torch.nn.Parameter or None expected)",
    ),
    (
        "int as parameter",
        lambda lib: setattr(lib.nn.Linear(2, 3), "weight", 3),
        TypeError,
        "cannot assign 'int' as parameter 'weight' (torch.nn.Parameter or None expected)",
    ),
    (
        "int as child",
        lambda lib: setattr(lib.nn.Sequential(lib.nn.ReLU()), "0", 3),
        TypeError,
        "cannot assign 'int' as child module '0' (torch.nn.Module or None expected)",
    ),
    (
        "int as buffer",
        lambda lib: setattr(Affine.build(lib), "shift", 3),
        TypeError,
        "cannot assign 'int' as buffer 'shift' (torch.nn.Buffer, torch.Tensor or None expected)",
    ),
    (
        "register tensor as parameter",
        lambda lib: lib.nn.Module().register_parameter("w", lib.zeros(1)),
        TypeError,
        "cannot assign 'autodiff.FloatTensor' object to parameter 'w' "
        "(torch.nn.Parameter or None required)",
    ),
    (
        "parameter name with dot",
        lambda lib: lib.nn.Module().register_parameter("a.b", None),
        KeyError,
        'parameter name can\'t contain "."',
    ),
    (
        "empty parameter name",
        lambda lib: lib.nn.Module().register_parameter("", None),
        KeyError,
        'parameter name can\'t be empty string ""',
    ),
    (
        "parameter name not a string",
        lambda lib: lib.nn.Module().register_parameter(1, None),
        TypeError,
        "parameter name should be a string. Got int",
    ),
    (
        "parameter over an attribute",
        lambda lib: lib.nn.Module().register_parameter("training", None),
        KeyError,
        "attribute 'training' already exists",
    ),
    (
        "register int as buffer",
        lambda lib: lib.nn.Module().register_buffer("b", 3),
        TypeError,
        "cannot assign 'int' object to buffer 'b' (torch Tensor or None required)",
    ),
    (
        "buffer name with dot",
        lambda lib: lib.nn.Module().register_buffer("a.b", None),
        KeyError,
        'buffer name can\'t contain "."',
    ),
    (
        "empty buffer name",
        lambda lib: lib.nn.Module().register_buffer("", None),
        KeyError,
        'buffer name can\'t be empty string ""',
    ),
    (
        "buffer name not a string",
        lambda lib: lib.nn.Module().register_buffer(2.5, None),
        TypeError,
        "buffer name should be a string. Got float",
    ),
    (
        "buffer over a parameter",
        lambda lib: lib.nn.Linear(1, 1).register_buffer("weight", None),
        KeyError,
        "attribute 'weight' already exists",
    ),
    (
        "module name with dot",
        lambda lib: lib.nn.Module().add_module("a.b", None),
        KeyError,
        'module name can\'t contain ".", got: a.b',
    ),
    (
        "empty module name",
        lambda lib: lib.nn.Module().add_module("", None),
        KeyError,
        'module name can\'t be empty string ""',
    ),
    (
        "module name not a string",
        lambda lib: lib.nn.Module().add_module(1, None),
        TypeError,
        "module name should be a string. Got int",
    ),
    (
        "add a non-module",
        lambda lib: lib.nn.Module().add_module("x", 3),
        TypeError,
        "int is not a Module subclass",
    ),
    (
        "register_module over an attribute",
        lambda lib: lib.nn.Module().register_module("forward", None),
        KeyError,
        "attribute 'forward' already exists",
    ),
    (
        "missing forward",
        lambda lib: lib.nn.Module()(lib.zeros(1)),
        NotImplementedError,
        'Module [Module] is missing the required "forward" function',
    ),
    (
        "unknown attribute",
        lambda lib: lib.nn.Linear(1, 1).nothing,
        AttributeError,
        "'Linear' object has no attribute 'nothing'",
    ),
    (
        "train with a non-bool",
        lambda lib: lib.nn.Linear(1, 1).train("yes"),
        ValueError,
        "training mode is expected to be boolean",
    ),
    (
        "positional argument to Module",
        lambda lib: lib.nn.Tanh(1),
        TypeError,
        "Tanh.__init__() takes 1 positional argument but 2 were given",
    ),
    (
        "keyword argument to Module",
        lambda lib: lib.nn.Module(size=1),
        TypeError,
        "Module.__init__() got an unexpected keyword argument 'size'",
    ),
    (
        "parameter before __init__",
        lambda lib: setattr(object.__new__(lib.nn.Module), "w", lib.nn.Parameter(lib.zeros(1))),
        AttributeError,
        "cannot assign parameters before Module.__init__() call",
    ),
    (
        "module before __init__",
        lambda lib: setattr(object.__new__(lib.nn.Module), "m", lib.nn.ReLU()),
        AttributeError,
        "cannot assign module before Module.__init__() call",
    ),
    (
        "register_buffer before __init__",
        lambda lib: object.__new__(lib.nn.Module).register_buffer("b", None),
        AttributeError,
        "cannot assign buffer before Module.__init__() call",
    ),
    (
        "register_parameter before __init__",
        lambda lib: object.__new__(lib.nn.Module).register_parameter("p", None),
        AttributeError,
        "cannot assign parameter before Module.__init__() call",
    ),
]


@pytest.mark.parametrize(
    ("make", "exc_type", "expected"),
    [case[1:] for case in ERROR_CASES],
    ids=[case[0] for case in ERROR_CASES],
)
def test_registration_errors(make, exc_type, expected):
    exc = raised(lambda: make(autodiff))
    assert type(exc) is exc_type
    assert message(exc) == expected
    if exc_type is not KeyError:
        with pytest.raises(exc_type, match=re.escape(expected)):
            make(autodiff)


@pytest.mark.parametrize(
    ("make", "exc_type", "expected"),
    [case[1:] for case in ERROR_CASES],
    ids=[case[0] for case in ERROR_CASES],
)
def test_registration_errors_match_torch(make, exc_type, expected):
    torch = torch_or_skip()
    theirs = raised(lambda: make(torch))
    assert type(theirs) is exc_type
    assert as_ours(message(theirs)) == expected


def test_plain_attribute_can_be_set_before_init_and_tensor_too():
    m = object.__new__(nn.Module)
    m.x = autodiff.zeros(1)  # PyTorch allows a plain tensor attribute here
    assert m.__dict__["x"].shape == (1,)


# --- walking the tree --------------------------------------------------------------------------


def test_named_parameters_names_and_removes_duplicates():
    net, shared = shared_tree()
    named = list(net.named_parameters())
    assert [name for name, _ in named] == ["0.weight", "0.bias", "2.1.weight", "2.1.bias"]
    assert named[0][1] is shared.weight
    all_names = [name for name, _ in net.named_parameters(remove_duplicate=False)]
    assert all_names == [
        "0.weight",
        "0.bias",
        "2.0.weight",
        "2.0.bias",
        "2.1.weight",
        "2.1.bias",
    ]
    assert len(list(net.parameters())) == 4


def test_named_parameters_prefix_and_recurse():
    m = Affine.build(autodiff)
    assert [n for n, _ in m.named_parameters(prefix="model")] == [
        "model.scale",
        "model.inner.weight",
        "model.inner.bias",
    ]
    assert [n for n, _ in m.named_parameters(recurse=False)] == ["scale"]
    assert list(m.parameters(recurse=False)) == [m.scale]


def test_a_parameter_shared_between_modules_is_listed_once():
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    b.weight = a.weight
    net = nn.Sequential(a, b)
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias", "1.bias"]


def test_named_modules_children_and_duplicates():
    net, shared = shared_tree()
    assert [n for n, _ in net.named_modules()] == ["", "0", "1", "2", "2.1"]
    names = [n for n, _ in net.named_modules(remove_duplicate=False)]
    assert names == ["", "0", "1", "2", "2.0", "2.1"]
    assert [n for n, _ in net.named_modules(prefix="net")][:2] == ["net", "net.0"]
    assert list(net.modules())[1] is shared
    assert [n for n, _ in net.named_children()] == ["0", "1", "2"]
    assert list(net.children())[0] is shared
    duplicated = nn.Sequential(shared, shared)
    assert [n for n, _ in duplicated.named_children()] == ["0"]


def test_buffers_include_non_persistent_ones():
    m = Affine.build(autodiff)
    assert [n for n, _ in m.named_buffers()] == ["shift", "cache"]
    assert [n for n, _ in m.named_buffers(prefix="m", recurse=False)] == ["m.shift", "m.cache"]
    assert len(list(m.buffers())) == 2


@given(widths=st.lists(st.integers(1, 5), min_size=2, max_size=5))
def test_parameter_count_of_an_mlp(widths):
    layers = [nn.Linear(i, o) for i, o in zip(widths, widths[1:])]
    net = nn.Sequential(*layers)
    # Each Linear(i, o) holds i * o weights and o biases.
    expected = sum(i * o + o for i, o in zip(widths, widths[1:]))
    assert sum(p.numel() for p in net.parameters()) == expected
    assert len(list(net.named_parameters())) == 2 * len(layers)


# --- modes and gradients -----------------------------------------------------------------------


def test_train_and_eval_reach_every_submodule():
    net, _ = shared_tree()
    assert net.eval() is net
    assert not any(m.training for m in net.modules(remove_duplicate=False))
    net.train()
    assert all(m.training for m in net.modules(remove_duplicate=False))
    net[2].train(False)
    assert net.training and not net[2][1].training


def test_requires_grad_sets_every_parameter():
    net, _ = shared_tree()
    assert net.requires_grad_(False) is net
    assert not any(p.requires_grad for p in net.parameters())
    net.requires_grad_()
    assert all(p.requires_grad for p in net.parameters())


def backward_through(lin: nn.Linear) -> None:
    lin(autodiff.tensor([[1.0, 2.0]])).sum().backward()


def test_zero_grad_sets_to_none_by_default():
    lin = nn.Linear(2, 1)
    backward_through(lin)
    assert lin.weight.grad is not None
    lin.zero_grad()
    assert lin.weight.grad is None and lin.bias.grad is None


def test_zero_grad_in_place_keeps_the_tensor():
    lin = nn.Linear(2, 1)
    backward_through(lin)
    grad = lin.weight.grad
    # d/dW sum(x W^T + b) = x
    assert grad.tolist() == [[1.0, 2.0]]
    lin.zero_grad(set_to_none=False)
    assert lin.weight.grad is grad and grad.tolist() == [[0.0, 0.0]]
    backward_through(lin)
    assert lin.weight.grad.tolist() == [[1.0, 2.0]]


def test_zero_grad_detaches_a_grad_with_history():
    lin = nn.Linear(1, 1)
    backward_create_graph(lin(autodiff.tensor([[3.0]])).sum() ** 2, None)
    assert lin.weight.grad.grad_fn is not None
    lin.zero_grad(set_to_none=False)
    assert lin.weight.grad.grad_fn is None and lin.weight.grad.tolist() == [[0.0]]


def test_apply_visits_children_first():
    net, _ = shared_tree()
    seen: list[str] = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    # No deduplication across the tree: the shared Linear is visited under both parents.
    assert seen == ["Linear", "ReLU", "Linear", "Linear", "Sequential", "Sequential"]


def test_double_and_float_convert_parameters_grads_and_float_buffers():
    m = Affine.build(autodiff)
    m.register_buffer("steps", autodiff.tensor([3]))
    m(autodiff.ones(1, 2)).sum().backward()
    assert m.double() is m
    for p in m.parameters():
        assert p.dtype == autodiff.float64 and p.requires_grad and isinstance(p, nn.Parameter)
    assert m.inner.weight.grad.dtype == autodiff.float64
    assert m.shift.dtype == autodiff.float64 and m.steps.dtype == autodiff.int64
    out = m(autodiff.ones(1, 2, dtype=autodiff.float64))
    assert out.dtype == autodiff.float64
    m.float()
    assert {p.dtype for p in m.parameters()} == {autodiff.float32}
    assert m.shift.dtype == autodiff.float32 and m.steps.dtype == autodiff.int64


# --- hooks -------------------------------------------------------------------------------------


def test_forward_pre_hook_replaces_the_input_and_can_be_removed():
    relu = nn.ReLU()
    handle = relu.register_forward_pre_hook(lambda m, args: -args[0])
    assert relu(autodiff.tensor([-2.0, 3.0])).tolist() == [2.0, 0.0]
    handle.remove()
    handle.remove()  # a second remove does nothing
    assert relu(autodiff.tensor([-2.0, 3.0])).tolist() == [0.0, 3.0]


def test_forward_hooks_see_inputs_and_replace_outputs_in_order():
    calls: list[str] = []
    lin = nn.Identity()
    lin.register_forward_hook(lambda m, args, out: calls.append("first"))
    lin.register_forward_hook(lambda m, args, out: calls.append("prepended"), prepend=True)
    lin.register_forward_hook(lambda m, args, out: out + args[0])
    out = lin(autodiff.tensor([1.0]))
    assert out.tolist() == [2.0] and calls == ["prepended", "first"]


def test_hooks_with_kwargs():
    class Scale(nn.Module):
        def forward(self, x, factor=1.0):
            return x * factor

    m = Scale()
    m.register_forward_pre_hook(lambda mod, args, kwargs: (args, {"factor": 3.0}), with_kwargs=True)
    seen: list[Any] = []
    m.register_forward_hook(
        lambda mod, args, kwargs, out: seen.append(kwargs["factor"]), with_kwargs=True
    )
    assert m(autodiff.tensor([2.0])).tolist() == [6.0] and seen == [3.0]
    m.register_forward_pre_hook(lambda mod, args, kwargs: "bad", with_kwargs=True)
    with pytest.raises(
        RuntimeError,
        match=re.escape(
            "forward pre-hook must return None or a tuple of (new_args, new_kwargs), but got bad."
        ),
    ):
        m(autodiff.tensor([2.0]))


def test_always_call_hook_runs_when_forward_raises():
    seen: list[str] = []
    m = nn.Module()
    m.register_forward_hook(lambda mod, args, out: seen.append("always"), always_call=True)
    m.register_forward_hook(lambda mod, args, out: seen.append("normal"))
    with pytest.raises(NotImplementedError):
        m(autodiff.zeros(1))
    assert seen == ["always"]


def test_hook_handle_as_context_manager():
    relu = nn.ReLU()
    with relu.register_forward_hook(lambda m, args, out: out * 0):
        assert relu(autodiff.tensor([1.0])).tolist() == [0.0]
    assert relu(autodiff.tensor([1.0])).tolist() == [1.0]
