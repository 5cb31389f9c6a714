"""Layers and their functional forms: ``Linear``, activations, ``Dropout``, ``Flatten``,
``Unflatten``, ``Identity``, ``one_hot``, and the containers.

Forward values are checked against closed forms in NumPy, gradients against float64 central
finite differences (tests/gradcheck_util.py), and, where torch is installed, both against
PyTorch run with the same weights.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from typing import Any, Callable

import numpy as np
import pytest
from gradcheck_util import (
    TOL64,
    avoiding,
    check_gradient,
    first_order_grads,
    scalarised,
    to_numpy,
    to_tensor,
)
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autodiff
import autodiff.nn as nn
import autodiff.nn.functional as F


def torch_or_skip() -> Any:
    return pytest.importorskip("torch")


def assert_gradients(
    fn: Callable[..., Any], arrays: list[np.ndarray], rng: np.random.Generator
) -> None:
    """Every input's gradient of ``fn`` against float64 central differences."""
    out = fn(*(to_tensor(a, autodiff.float64) for a in arrays))
    c = rng.standard_normal(tuple(out.shape))
    grads = first_order_grads(fn, arrays, {}, c)
    phi = scalarised(fn, c, {})
    for k, grad in enumerate(grads):
        check_gradient(phi, arrays, k, grad, TOL64.grad, rng, f"input {k}")


def linear_with(weight: np.ndarray, bias: np.ndarray | None, lib: Any = autodiff) -> Any:
    """A Linear of ``lib`` holding exactly these weights."""
    out_features, in_features = weight.shape
    layer = lib.nn.Linear(in_features, out_features, bias=bias is not None, dtype=lib.float64)
    with lib.no_grad():
        layer.weight.copy_(lib.tensor(weight))
        if bias is not None:
            layer.bias.copy_(lib.tensor(bias))
    return layer


# --- Linear ------------------------------------------------------------------------------------


def test_linear_shapes_dtype_and_registration():
    lin = nn.Linear(3, 5)
    assert lin.weight.shape == (5, 3) and lin.bias.shape == (5,)
    assert lin.weight.dtype == autodiff.float32
    assert [n for n, _ in lin.named_parameters()] == ["weight", "bias"]
    no_bias = nn.Linear(3, 5, bias=False, dtype=autodiff.float64, device="cpu")
    assert no_bias.bias is None and no_bias.weight.dtype == autodiff.float64
    assert [n for n, _ in no_bias.named_parameters()] == ["weight"]


def test_linear_default_init_statistics():
    autodiff.manual_seed(3)
    fan_in = 64
    lin = nn.Linear(fan_in, 512)
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform_(a=sqrt(5)) gives the same bound as the bias
    w = lin.weight.detach().numpy()
    b = lin.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    # U(-B, B) has mean 0 and standard deviation B / sqrt(3).
    assert abs(w.mean()) < 0.01 * bound
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.01)
    assert np.abs(w).max() > 0.99 * bound


def test_linear_zero_in_features_warns_and_keeps_zero_bias():
    with pytest.warns(UserWarning, match=re.escape("Initializing zero-element tensors is a no-op")):
        lin = nn.Linear(0, 3)
    assert lin.bias.tolist() == [0.0, 0.0, 0.0]
    assert lin(autodiff.zeros(2, 0)).tolist() == [[0.0, 0.0, 0.0]] * 2


@given(
    batch=hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3),
    sizes=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    bias=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_linear_forward_is_x_wt_plus_b(batch, sizes, bias, seed):
    rng = np.random.default_rng(seed)
    in_features, out_features = sizes
    w = rng.standard_normal((out_features, in_features))
    b = rng.standard_normal(out_features) if bias else None
    x = rng.standard_normal((*batch, in_features))
    out = linear_with(w, b)(to_tensor(x, autodiff.float64))
    expected = x @ w.T + (b if bias else 0.0)
    assert out.shape == expected.shape
    np.testing.assert_allclose(to_numpy(out), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("x_shape", [(3,), (2, 3), (2, 2, 3)])
def test_linear_gradients(x_shape, rng):
    arrays = [rng.standard_normal(x_shape), rng.standard_normal((4, 3)), rng.standard_normal(4)]
    assert_gradients(F.linear, arrays, rng)
    assert_gradients(lambda x, w: F.linear(x, w), arrays[:2], rng)


def test_linear_layer_backward_fills_parameter_grads(rng):
    x = rng.standard_normal((5, 3))
    w, b = rng.standard_normal((2, 3)), rng.standard_normal(2)
    lin = linear_with(w, b)
    c = rng.standard_normal((5, 2))
    lin(to_tensor(x, autodiff.float64)).backward(to_tensor(c, autodiff.float64))
    # y = x W^T + b: dL/dW = c^T x, dL/db = sum over the batch of c
    np.testing.assert_allclose(to_numpy(lin.weight.grad), c.T @ x, rtol=1e-12)
    np.testing.assert_allclose(to_numpy(lin.bias.grad), c.sum(0), rtol=1e-12)


def test_linear_against_torch(rng):
    torch = torch_or_skip()
    x = rng.standard_normal((4, 3))
    w, b = rng.standard_normal((2, 3)), rng.standard_normal(2)
    ours, theirs = linear_with(w, b), linear_with(w, b, torch)
    xo = autodiff.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    np.testing.assert_allclose(to_numpy(yo), yt.detach().numpy(), rtol=1e-12)
    (yo**2).sum().backward()
    (yt**2).sum().backward()
    for a, t in [(xo, xt), (ours.weight, theirs.weight), (ours.bias, theirs.bias)]:
        np.testing.assert_allclose(to_numpy(a.grad), t.grad.numpy(), rtol=1e-12)


# --- activations -------------------------------------------------------------------------------


def np_softmax(x: np.ndarray, dim: int) -> np.ndarray:
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


# (layer, functional form, NumPy closed form, input domain away from kinks)
ACTIVATIONS: list[tuple[str, Callable[[], Any], Callable[..., Any], Callable[..., Any]]] = [
    ("ReLU", nn.ReLU, F.relu, lambda x: np.maximum(x, 0)),
    ("Tanh", nn.Tanh, F.tanh, np.tanh),
    ("Sigmoid", nn.Sigmoid, F.sigmoid, lambda x: 1 / (1 + np.exp(-x))),
    (
        "LeakyReLU",
        lambda: nn.LeakyReLU(0.2),
        lambda x: F.leaky_relu(x, 0.2),
        lambda x: np.where(x > 0, x, 0.2 * x),
    ),
    ("Softmax", lambda: nn.Softmax(dim=1), lambda x: F.softmax(x, 1), lambda x: np_softmax(x, 1)),
    (
        "LogSoftmax",
        lambda: nn.LogSoftmax(dim=0),
        lambda x: F.log_softmax(x, 0),
        lambda x: np.log(np_softmax(x, 0)),
    ),
]


@pytest.mark.parametrize(
    ("make", "functional", "closed_form"),
    [case[1:] for case in ACTIVATIONS],
    ids=[case[0] for case in ACTIVATIONS],
)
@given(x=hnp.arrays(np.float64, (3, 4), elements=avoiding(-3.0, 3.0, 0.0).elements()))
def test_activation_values_and_gradients(make, functional, closed_form, x):
    expected = closed_form(x)
    np.testing.assert_allclose(to_numpy(make()(to_tensor(x, autodiff.float64))), expected, 1e-12)
    np.testing.assert_allclose(
        to_numpy(functional(to_tensor(x, autodiff.float64))), expected, 1e-12
    )
    assert_gradients(functional, [x], np.random.default_rng(0))


@pytest.mark.parametrize(
    ("make", "functional"),
    [(case[1], case[2]) for case in ACTIVATIONS],
    ids=[case[0] for case in ACTIVATIONS],
)
def test_activations_against_torch(make, functional, rng):
    torch = torch_or_skip()
    name = make().__class__.__name__
    theirs = {
        "ReLU": torch.nn.ReLU(),
        "Tanh": torch.nn.Tanh(),
        "Sigmoid": torch.nn.Sigmoid(),
        "LeakyReLU": torch.nn.LeakyReLU(0.2),
        "Softmax": torch.nn.Softmax(dim=1),
        "LogSoftmax": torch.nn.LogSoftmax(dim=0),
    }[name]
    # Exact zeros included: ReLU's and LeakyReLU's gradients at 0 must be torch's.
    x = np.concatenate([rng.standard_normal(10), np.zeros(2)]).reshape(3, 4)
    xo, xt = autodiff.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yo, yt = make()(xo), theirs(xt)
    np.testing.assert_allclose(to_numpy(yo), yt.detach().numpy(), rtol=1e-12, atol=1e-15)
    c = rng.standard_normal((3, 4))
    yo.backward(autodiff.tensor(c))
    yt.backward(torch.tensor(c))
    np.testing.assert_allclose(to_numpy(xo.grad), xt.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_relu_and_leaky_relu_gradients_at_zero():
    x = autodiff.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    F.relu(x).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 1.0]
    x.grad = None
    F.leaky_relu(x, 0.1).sum().backward()
    # PyTorch's rule: slope 1 only where x > 0, so x = 0 gets the negative slope.
    assert x.grad.tolist() == pytest.approx([0.1, 0.1, 1.0])


@pytest.mark.parametrize(
    ("functional", "expected", "expected_grad"),
    [
        (lambda y: F.relu(y, inplace=True), [0.0, 0.0, 2.0], [0.0, 0.0, 1.0]),
        (lambda y: F.leaky_relu(y, 0.5, inplace=True), [-0.5, 0.0, 2.0], [0.5, 0.5, 1.0]),
        (lambda y: nn.ReLU(inplace=True)(y), [0.0, 0.0, 2.0], [0.0, 0.0, 1.0]),
        (lambda y: nn.LeakyReLU(0.5, inplace=True)(y), [-0.5, 0.0, 2.0], [0.5, 0.5, 1.0]),
    ],
)
def test_inplace_activations_write_into_the_input(functional, expected, expected_grad):
    x = autodiff.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    y = x * 1.0
    out = functional(y)
    assert out is y and y.tolist() == expected
    out.sum().backward()
    assert x.grad.tolist() == expected_grad


def test_inplace_relu_on_a_leaf_that_requires_grad_is_refused():
    with pytest.raises(
        RuntimeError,
        match=re.escape(
            "a leaf Variable that requires grad is being used in an in-place operation."
        ),
    ):
        F.relu(autodiff.ones(2, requires_grad=True), inplace=True)


@pytest.mark.parametrize(
    ("ndim", "dim"), [(0, 0), (1, 0), (2, 1), (3, 0), (4, 1)], ids=lambda v: str(v)
)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_implicit_softmax_dim_warns_and_follows_pytorch(name, ndim, dim, rng):
    x = to_tensor(rng.standard_normal((2,) * ndim), autodiff.float64)
    message = (
        f"Implicit dimension choice for {name} has been deprecated. "
        "Change the call to include dim=X as an argument."
    )
    with pytest.warns(UserWarning, match=re.escape(message)):
        implicit = getattr(F, name)(x)
    np.testing.assert_array_equal(to_numpy(implicit), to_numpy(getattr(F, name)(x, dim)))
    layer = nn.Softmax() if name == "softmax" else nn.LogSoftmax()
    with pytest.warns(UserWarning, match=re.escape(message)):
        layer(x)


def test_softmax_dtype_argument():
    out = F.softmax(autodiff.zeros(2, 2), 1, dtype=autodiff.float64)
    assert out.dtype == autodiff.float64 and out.tolist() == [[0.5, 0.5], [0.5, 0.5]]


# --- Dropout -----------------------------------------------------------------------------------


def test_dropout_is_the_identity_in_eval_mode_and_for_p_zero():
    x = autodiff.ones(5)
    drop = nn.Dropout(0.5).eval()
    assert drop(x) is x
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_dropout_mask_statistics_and_scale(p):
    autodiff.manual_seed(11)
    n = 40_000
    x = autodiff.ones(n, dtype=autodiff.float64, requires_grad=True)
    out = nn.Dropout(p)(x)
    values = to_numpy(out)
    scale = 1 / (1 - p)
    kept = values != 0
    np.testing.assert_allclose(values[kept], scale, rtol=1e-12)
    # A kept-fraction estimate has standard deviation sqrt(p (1 - p) / n) < 0.0025.
    assert abs(kept.mean() - (1 - p)) < 0.0125
    out.sum().backward()
    # d out_i / d x_i is the same mask times the same scale.
    np.testing.assert_array_equal(to_numpy(x.grad), values)


def test_dropout_with_p_one_gives_zeros_and_zero_gradient():
    x = autodiff.ones(4, requires_grad=True)
    out = F.dropout(x, p=1.0)
    assert out.tolist() == [0.0] * 4
    out.sum().backward()
    assert x.grad.tolist() == [0.0] * 4


def test_dropout_inplace_and_fresh_masks():
    autodiff.manual_seed(5)
    y = autodiff.ones(1000)
    out = F.dropout(y, 0.5, inplace=True)
    assert out is y and set(y.tolist()) == {0.0, 2.0}
    a, b = F.dropout(autodiff.ones(1000)), F.dropout(autodiff.ones(1000))
    assert not bool((a == b).all())


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_probability_out_of_range(p):
    expected = f"dropout probability has to be between 0 and 1, but got {p}"
    with pytest.raises(ValueError, match=re.escape(expected)):
        nn.Dropout(p)
    with pytest.raises(ValueError, match=re.escape(expected)):
        F.dropout(autodiff.ones(1), p)


# --- shapes: Flatten, Unflatten, Identity ------------------------------------------------------


@given(shape=hnp.array_shapes(min_dims=2, max_dims=4, min_side=1, max_side=3))
def test_flatten_then_unflatten_restores_the_shape(shape):
    x = autodiff.arange(math.prod(shape)).reshape(shape)
    flat = nn.Flatten()(x)
    assert tuple(flat.shape) == (shape[0], math.prod(shape[1:]))
    back = nn.Unflatten(1, tuple(shape[1:]))(flat)
    assert tuple(back.shape) == shape and back.tolist() == x.tolist()
    assert tuple(nn.Flatten(0, -1)(x).shape) == (math.prod(shape),)
    assert tuple(F.flatten(x).shape) == (math.prod(shape),)


def test_flatten_gradient(rng):
    assert_gradients(lambda x: nn.Flatten()(x) * 2.0, [rng.standard_normal((2, 3, 2))], rng)


def test_unflatten_accepts_a_list_and_minus_one():
    assert nn.Unflatten(1, [2, -1])(autodiff.zeros(3, 6)).shape == (3, 2, 3)


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (
            [2, "a"],
            "unflattened_size must be tuple of ints, but found element of type str at pos 1",
        ),
        (3, "unflattened_size must be a tuple of ints, but found type int"),
    ],
)
def test_unflatten_size_errors(size, expected):
    with pytest.raises(TypeError, match=re.escape(expected)):
        nn.Unflatten(1, size)


def test_identity_ignores_arguments_and_returns_its_input():
    x = autodiff.ones(2)
    assert nn.Identity(3, some="thing")(x) is x


# --- one_hot -----------------------------------------------------------------------------------


@given(
    values=hnp.arrays(
        np.int64, hnp.array_shapes(min_dims=0, max_dims=2), elements=st.integers(0, 4)
    )
)
def test_one_hot_rows(values):
    out = F.one_hot(autodiff.tensor(values))
    classes = int(values.max()) + 1
    assert out.dtype == autodiff.int64 and tuple(out.shape) == (*values.shape, classes)
    np.testing.assert_array_equal(out.numpy(), np.eye(classes, dtype=np.int64)[values])
    assert tuple(F.one_hot(autodiff.tensor(values), 6).shape) == (*values.shape, 6)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (
            lambda: F.one_hot(autodiff.tensor([1.0])),
            "one_hot is only applicable to index tensor of type LongTensor.",
        ),
        (lambda: F.one_hot(autodiff.tensor([-1])), "Class values must be non-negative."),
        (
            lambda: F.one_hot(autodiff.tensor([3]), 3),
            "Class values must be smaller than num_classes.",
        ),
        (
            lambda: F.one_hot(autodiff.tensor([], dtype=autodiff.int64)),
            "Can not infer total number of classes from empty tensor.",
        ),
    ],
)
def test_one_hot_errors(make, expected):
    with pytest.raises(RuntimeError, match=re.escape(expected)):
        make()


def test_one_hot_of_an_empty_tensor_with_a_class_count():
    assert F.one_hot(autodiff.tensor([], dtype=autodiff.int64), 3).shape == (0, 3)


# --- containers --------------------------------------------------------------------------------


def test_sequential_runs_in_order_and_indexes():
    double = nn.Linear(1, 1, bias=False)
    nn.init.constant_(double.weight, 2.0)
    net = nn.Sequential(double, nn.ReLU(), double)
    # relu(2x) * 2
    assert net(autodiff.tensor([[-1.0], [3.0]])).tolist() == [[0.0], [12.0]]
    assert net[0] is double and net[-1] is double and len(net) == 3
    assert list(net) == [double, net[1], double]
    sub = net[1:]
    assert type(sub) is nn.Sequential and list(sub._modules) == ["1", "2"] and sub[1] is double
    with pytest.raises(IndexError, match=re.escape("index 3 is out of range")):
        net[3]
    with pytest.raises(IndexError, match=re.escape("index -4 is out of range")):
        net[-4]


def test_sequential_from_an_ordered_dict_and_mutation():
    relu, tanh = nn.ReLU(), nn.Tanh()
    net = nn.Sequential(OrderedDict([("act", relu), ("squash", tanh)]))
    assert net.act is relu and list(net._modules) == ["act", "squash"]
    assert list(net[1:]._modules) == ["squash"]
    net.append(nn.Sigmoid())
    assert list(net._modules) == ["act", "squash", "2"]
    net[0] = nn.Identity()
    assert isinstance(net.act, nn.Identity)
    del net[0]
    # What remains is renumbered from 0, as in PyTorch.
    assert list(net._modules) == ["0", "1"] and net[0] is tanh
    net.insert(0, relu).extend([nn.Tanh()])
    assert [type(m).__name__ for m in net] == ["ReLU", "Tanh", "Sigmoid", "Tanh"]
    del net[1:3]
    assert [type(m).__name__ for m in net] == ["ReLU", "Tanh"]


def test_module_list():
    layers = nn.ModuleList([nn.Linear(2, 2), nn.ReLU()])
    layers.append(nn.Tanh())
    layers += [nn.Sigmoid()]
    layers.insert(1, nn.Identity())
    assert [type(m).__name__ for m in layers] == ["Linear", "Identity", "ReLU", "Tanh", "Sigmoid"]
    assert len(layers[1:3]) == 2 and isinstance(layers[-1], nn.Sigmoid)
    assert len(list(layers.parameters())) == 2
    popped = layers.pop(0)
    assert isinstance(popped, nn.Linear) and list(layers._modules) == ["0", "1", "2", "3"]
    layers[0] = nn.Tanh()
    assert isinstance(layers[0], nn.Tanh) and len(layers + [nn.ReLU()]) == 5
    with pytest.raises(IndexError, match=re.escape("index 4 is out of range")):
        layers[4]
    with pytest.raises(
        TypeError,
        match=re.escape("ModuleList.extend should be called with an iterable, but got int"),
    ):
        nn.ModuleList(3)
    with pytest.raises(NotImplementedError):
        layers(autodiff.zeros(1))


def test_module_dict():
    heads = nn.ModuleDict({"a": nn.ReLU()})
    heads["b"] = nn.Tanh()
    heads.update([("c", nn.Sigmoid())])
    assert list(heads) == ["a", "b", "c"] and "b" in heads and len(heads) == 3
    assert [k for k, _ in heads.items()] == list(heads.keys())
    assert isinstance(heads.pop("a"), nn.ReLU) and list(heads) == ["b", "c"]
    del heads["b"]
    assert [type(m).__name__ for m in heads.values()] == ["Sigmoid"]
    heads.clear()
    assert len(heads) == 0


@pytest.mark.parametrize(
    ("make", "exc_type", "expected"),
    [
        (
            lambda: nn.ModuleDict(3),
            TypeError,
            "ModuleDict.update should be called with an iterable of key/value pairs, but got int",
        ),
        (
            lambda: nn.ModuleDict([3]),
            TypeError,
            "ModuleDict update sequence element #0 should be Iterable; isint",
        ),
        (
            lambda: nn.ModuleDict([("a", nn.ReLU(), 1)]),
            ValueError,
            "ModuleDict update sequence element #0 has length 3; 2 is required",
        ),
        (lambda: nn.Sequential(3), TypeError, "int is not a Module subclass"),
        (lambda: nn.ModuleList([3]), TypeError, "int is not a Module subclass"),
    ],
)
def test_container_errors(make, exc_type, expected):
    with pytest.raises(exc_type, match=re.escape(expected)):
        make()


# --- module reprs ------------------------------------------------------------------------------


def custom_repr_module(lib: Any) -> Any:
    class WithSettings(lib.nn.Module):
        def __init__(self, child: bool) -> None:
            super().__init__()
            if child:
                self.body = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.Tanh())

        def extra_repr(self) -> str:
            return "a=1\nb=2"

    return lib.nn.ModuleDict({"plain": WithSettings(False), "nested": WithSettings(True)})


REPRS: list[tuple[Callable[[Any], Any], str]] = [
    (
        lambda lib: lib.nn.Sequential(
            lib.nn.Linear(2, 3), lib.nn.ReLU(), lib.nn.Sequential(lib.nn.Linear(3, 1, bias=False))
        ),
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Sequential(\n"
        "    (0): Linear(in_features=3, out_features=1, bias=False)\n"
        "  )\n"
        ")",
    ),
    (lambda lib: lib.nn.Module(), "Module()"),
    (lambda lib: lib.nn.Sequential(), "Sequential()"),
    (
        custom_repr_module,
        "ModuleDict(\n"
        "  (plain): WithSettings(\n"
        "    a=1\n"
        "    b=2\n"
        "  )\n"
        "  (nested): WithSettings(\n"
        "    a=1\n"
        "    b=2\n"
        "    (body): Sequential(\n"
        "      (0): Linear(in_features=2, out_features=2, bias=True)\n"
        "      (1): Tanh()\n"
        "    )\n"
        "  )\n"
        ")",
    ),
]


@pytest.mark.parametrize(("make", "expected"), REPRS)
def test_module_repr(make, expected):
    assert repr(make(autodiff)) == expected


@pytest.mark.parametrize(("make", "expected"), REPRS)
def test_module_repr_match_torch(make, expected):
    torch = torch_or_skip()
    assert repr(make(torch)) == expected


def test_repr_of_a_none_child():
    m = nn.Sequential(nn.ReLU())
    m[0] = None
    assert repr(m) == "Sequential(\n  (0): None\n)"


# --- reprs -------------------------------------------------------------------------------------


def layer_zoo(lib: Any) -> Any:
    n = lib.nn
    return n.Sequential(
        n.Linear(2, 3),
        n.ReLU(),
        n.ReLU(inplace=True),
        n.Dropout(0.2),
        n.Dropout(inplace=True),
        n.Softmax(dim=1),
        n.LogSoftmax(),
        n.Flatten(),
        n.Unflatten(1, (2, 3)),
        n.Identity(),
        n.Tanh(),
        n.Sigmoid(),
        n.LeakyReLU(),
        n.LeakyReLU(0.2, True),
        n.ModuleList([n.ReLU(), n.ReLU(), n.Tanh(), n.ReLU()]),
        n.ModuleList(),
        n.ModuleDict({"head": n.Linear(3, 1, bias=False)}),
        n.MSELoss(),
        n.CrossEntropyLoss(label_smoothing=0.1),
    )


ZOO_REPR = """Sequential(
  (0): Linear(in_features=2, out_features=3, bias=True)
  (1): ReLU()
  (2): ReLU(inplace=True)
  (3): Dropout(p=0.2, inplace=False)
  (4): Dropout(p=0.5, inplace=True)
  (5): Softmax(dim=1)
  (6): LogSoftmax(dim=None)
  (7): Flatten(start_dim=1, end_dim=-1)
  (8): Unflatten(dim=1, unflattened_size=(2, 3))
  (9): Identity()
  (10): Tanh()
  (11): Sigmoid()
  (12): LeakyReLU(negative_slope=0.01)
  (13): LeakyReLU(negative_slope=0.2, inplace=True)
  (14): ModuleList(
    (0-1): 2 x ReLU()
    (2): Tanh()
    (3): ReLU()
  )
  (15): ModuleList()
  (16): ModuleDict(
    (head): Linear(in_features=3, out_features=1, bias=False)
  )
  (17): MSELoss()
  (18): CrossEntropyLoss()
)"""


def test_layer_reprs():
    assert repr(layer_zoo(autodiff)) == ZOO_REPR


def test_layer_reprs_match_torch():
    torch = torch_or_skip()
    assert repr(layer_zoo(torch)) == ZOO_REPR


def test_module_list_groups_identical_multiline_reprs():
    block = nn.Sequential(nn.Linear(1, 1))
    text = repr(nn.ModuleList([block, block]))
    assert text == (
        "ModuleList(\n"
        "  (0-1): 2 x Sequential(\n"
        "    (0): Linear(in_features=1, out_features=1, bias=True)\n"
        "  )\n"
        ")"
    )
