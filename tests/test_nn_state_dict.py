"""``nn.Module.state_dict`` and ``load_state_dict``: keys in registration order, detached
values, ``keep_vars``/``prefix``/``destination``, strict and non-strict loading with PyTorch's
reports and messages, dtype conversion, ``assign``, and round trips that restore outputs.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from module_cases import Affine, shared_tree, torch_or_skip

import autodiff
import autodiff.nn as nn

# --- state_dict --------------------------------------------------------------------------------


def test_state_dict_keys_order_and_detached_values():
    m = Affine.build(autodiff)
    sd = m.state_dict()
    assert type(sd) is OrderedDict
    assert list(sd) == ["scale", "shift", "inner.weight", "inner.bias"]
    assert not sd["scale"].requires_grad and type(sd["scale"]) is autodiff.Tensor
    sd["scale"].add_(1.0)  # detached, but the same storage
    assert m.scale.tolist() == [2.0, 2.0]
    assert list(sd._metadata) == ["", "inner"]
    assert sd._metadata["inner"] == {"version": 1}


def test_state_dict_keep_vars_prefix_and_destination():
    m = Affine.build(autodiff)
    kept = m.state_dict(keep_vars=True)
    assert kept["scale"] is m.scale and kept["inner.weight"] is m.inner.weight
    dest: dict[str, Any] = {}
    out = m.state_dict(destination=dest, prefix="model.")
    assert out is dest and list(dest)[:2] == ["model.scale", "model.shift"]


def test_state_dict_positional_arguments_warn():
    m = nn.Linear(1, 1)
    with pytest.warns(FutureWarning, match=re.escape("Positional args are being deprecated")):
        out = m.state_dict(None, "p.")
    assert list(out) == ["p.weight", "p.bias"]


def test_state_dict_keys_match_torch():
    torch = torch_or_skip()
    assert list(Affine.build(autodiff).state_dict()) == list(Affine.build(torch).state_dict())
    ours, _ = shared_tree()
    shared = torch.nn.Linear(2, 2)
    theirs = torch.nn.Sequential(
        shared, torch.nn.ReLU(), torch.nn.Sequential(shared, torch.nn.Linear(2, 1))
    )
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_load_state_dict_round_trip_copies_under_no_grad():
    a, b = Affine.build(autodiff), Affine.build(autodiff)
    with autodiff.no_grad():
        b.inner.weight.fill_(0.25)
        b.shift.fill_(-1.0)
    weight = a.inner.weight
    result = a.load_state_dict(b.state_dict())
    assert repr(result) == "<All keys matched successfully>"
    assert result.missing_keys == [] and result.unexpected_keys == [] and result == ([], [])
    assert a.inner.weight is weight and weight.is_leaf and weight.grad_fn is None
    assert weight.tolist() == [[0.25, 0.25], [0.25, 0.25]] and a.shift.tolist() == [-1.0, -1.0]


def test_load_state_dict_converts_dtype_and_reads_shape_one_into_scalars():
    lin = nn.Linear(2, 1)
    lin.load_state_dict(
        {"weight": autodiff.ones(1, 2, dtype=autodiff.float64), "bias": autodiff.zeros(1)}
    )
    assert lin.weight.dtype == autodiff.float32 and lin.weight.tolist() == [[1.0, 1.0]]
    m = nn.Module()
    m.scalar = nn.Parameter(autodiff.tensor(0.0))
    m.load_state_dict({"scalar": autodiff.tensor([5.0])})
    assert m.scalar.item() == 5.0


def test_load_state_dict_assign_takes_the_tensors():
    lin = nn.Linear(2, 1)
    weight, bias = autodiff.full((1, 2), 3.0), autodiff.zeros(1)
    lin.load_state_dict({"weight": weight, "bias": bias}, assign=True)
    assert isinstance(lin.weight, nn.Parameter) and lin.weight.requires_grad
    weight.add_(1.0)  # the parameter is over the given storage
    assert lin.weight.tolist() == [[4.0, 4.0]]
    frozen = nn.Linear(2, 1).requires_grad_(False)
    frozen.load_state_dict({"weight": nn.Parameter(weight), "bias": bias}, assign=True)
    assert not frozen.weight.requires_grad


def test_non_strict_load_reports_keys():
    net = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.Linear(3, 1)))
    result = net.load_state_dict(
        {"0.weight": autodiff.zeros(3, 2), "1.5.x": autodiff.zeros(1), "y": autodiff.zeros(1)},
        strict=False,
    )
    assert result.missing_keys == ["0.bias", "1.0.weight", "1.0.bias"]
    assert result.unexpected_keys == ["y", "1.5.x"]
    assert repr(result) == (
        "_IncompatibleKeys(missing_keys=['0.bias', '1.0.weight', '1.0.bias'], "
        "unexpected_keys=['y', '1.5.x'])"
    )
    assert net[0].weight.tolist() == [[0.0, 0.0]] * 3


LOAD_ERRORS: list[tuple[str, Callable[[Any], Any], type, str]] = [
    (
        "missing",
        lambda lib: lib.nn.Linear(2, 3).load_state_dict({"weight": lib.zeros(3, 2)}),
        RuntimeError,
        'Error(s) in loading state_dict for Linear:\n\tMissing key(s) in state_dict: "bias". ',
    ),
    (
        "unexpected",
        lambda lib: lib.nn.Linear(2, 3).load_state_dict(
            {"weight": lib.zeros(3, 2), "bias": lib.zeros(3), "extra": lib.zeros(1), "n": 1}
        ),
        RuntimeError,
        "Error(s) in loading state_dict for Linear:\n\t"
        'Unexpected key(s) in state_dict: "extra", "n". ',
    ),
    (
        "size mismatch, even when not strict",
        lambda lib: lib.nn.Linear(2, 3).load_state_dict(
            {"weight": lib.zeros(3, 4), "bias": lib.zeros(2)}, strict=False
        ),
        RuntimeError,
        "Error(s) in loading state_dict for Linear:\n\tsize mismatch for weight: copying a "
        "param with shape torch.Size([3, 4]) from checkpoint, the shape in current model is "
        "torch.Size([3, 2]).\n\tsize mismatch for bias: copying a param with shape "
        "torch.Size([2]) from checkpoint, the shape in current model is torch.Size([3]).",
    ),
    (
        "all three, nested",
        lambda lib: lib.nn.Sequential(
            lib.nn.Linear(2, 3), lib.nn.ReLU(), lib.nn.Sequential(lib.nn.Linear(3, 1))
        ).load_state_dict(
            {"0.weight": lib.zeros(3, 2), "x.y": lib.zeros(1), "2.0.bias": lib.zeros(5)}
        ),
        RuntimeError,
        "Error(s) in loading state_dict for Sequential:\n\t"
        'Missing key(s) in state_dict: "0.bias", "2.0.weight". \n\t'
        'Unexpected key(s) in state_dict: "x.y". \n\t'
        "size mismatch for 2.0.bias: copying a param with shape torch.Size([5]) from "
        "checkpoint, the shape in current model is torch.Size([1]).",
    ),
    (
        "not a tensor",
        lambda lib: lib.nn.Linear(2, 3).load_state_dict({"weight": 3, "bias": lib.zeros(3)}),
        RuntimeError,
        "Error(s) in loading state_dict for Linear:\n\tWhile copying the parameter named "
        '"weight", expected torch.Tensor or Tensor-like object from checkpoint but received '
        "<class 'int'>",
    ),
    (
        "not a mapping",
        lambda lib: lib.nn.Linear(2, 3).load_state_dict([("weight", 1)]),
        TypeError,
        "Expected state_dict to be dict-like, got <class 'list'>.",
    ),
]


@pytest.mark.parametrize(
    ("load", "exc_type", "expected"),
    [case[1:] for case in LOAD_ERRORS],
    ids=[case[0] for case in LOAD_ERRORS],
)
def test_load_state_dict_errors(load, exc_type, expected):
    with pytest.raises(exc_type, match=re.escape(expected)) as info:
        load(autodiff)
    assert str(info.value) == expected


@pytest.mark.parametrize(
    ("load", "exc_type", "expected"),
    [case[1:] for case in LOAD_ERRORS],
    ids=[case[0] for case in LOAD_ERRORS],
)
def test_load_state_dict_errors_match_torch(load, exc_type, expected):
    torch = torch_or_skip()
    with pytest.raises(exc_type) as theirs:
        load(torch)
    assert str(theirs.value) == expected


@given(widths=st.lists(st.integers(1, 4), min_size=2, max_size=4), seed=st.integers(0, 2**32))
def test_state_dict_round_trip_restores_outputs(widths, seed):
    def mlp() -> nn.Sequential:
        return nn.Sequential(*[nn.Linear(i, o) for i, o in zip(widths, widths[1:])])

    autodiff.manual_seed(seed)
    source, target = mlp(), mlp()
    x = autodiff.randn(3, widths[0])
    target.load_state_dict(source.state_dict())
    np.testing.assert_array_equal(target(x).detach().numpy(), source(x).detach().numpy())
