"""Graph introspection of saved values (PYTORCH_SEMANTICS.md §2.7): ``grad_fn._saved_<name>``
and ``grad_fn._raw_saved_<name>.register_hooks(pack, unpack)``."""

from __future__ import annotations

import re

import numpy as np
import pytest

import autodiff as torch

FREED = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed)."
)
FREED_HOOKS = "Calling register_hooks on a saved tensor after it has been freed."
HOOKS_TWICE = (
    "Calling register_hooks on a saved tensor whose hooks have already been set. "
    "Hint: only one pair of hooks is allowed at a time."
)
PACK_IN_PLACE = "A saved tensor pack hook is modifying its input in place."


def leaf(*values: float) -> torch.Tensor:
    return torch.tensor(list(values), dtype=torch.float64, requires_grad=True)


def saved_names(node) -> list[str]:
    return sorted(n for n in dir(node) if n.startswith("_saved_") or n.startswith("_raw_saved_"))


def test_pow_saves_self_and_its_exponent():
    x = leaf(1.0, 2.0)
    y = x.pow(3)
    assert saved_names(y.grad_fn) == ["_raw_saved_self", "_saved_exponent", "_saved_self"]
    assert y.grad_fn._saved_exponent == 3
    assert isinstance(y.grad_fn._saved_exponent, int)
    assert np.array_equal(y.grad_fn._saved_self.detach().numpy(), x.detach().numpy())


def test_fractional_exponent_is_a_float():
    y = leaf(4.0).pow(0.5)
    assert y.grad_fn._saved_exponent == 0.5


def test_exp_saves_its_result_with_the_graph():
    x = leaf(0.0, 1.0)
    y = x.exp()
    saved = y.grad_fn._saved_result
    assert np.allclose(saved.numpy(), np.exp([0.0, 1.0]))
    assert saved_names(y.grad_fn) == ["_raw_saved_result", "_saved_result"]


def test_mm_names_its_operands_self_and_mat2():
    a = torch.randn(2, 3, requires_grad=True)
    b = torch.randn(3, 4, requires_grad=True)
    node = a.mm(b).grad_fn
    assert np.array_equal(node._saved_self.detach().numpy(), a.detach().numpy())
    assert np.array_equal(node._saved_mat2.detach().numpy(), b.detach().numpy())


def test_mul_by_a_number_saves_other_only():
    # d(x * 2)/dx needs only the 2; PyTorch shows the unneeded operand as None.
    node = (leaf(1.0) * 2).grad_fn
    assert node._saved_self is None
    assert node._saved_other.item() == 2


def test_mul_of_two_tensors_saves_both():
    x, y = leaf(1.0, 2.0), leaf(3.0, 4.0)
    node = (x * y).grad_fn
    assert np.array_equal(node._saved_self.detach().numpy(), [1.0, 2.0])
    assert np.array_equal(node._saved_other.detach().numpy(), [3.0, 4.0])


def test_losses_save_their_arguments():
    x = leaf(0.2, 0.7)
    t = torch.tensor([0.0, 1.0], dtype=torch.float64)
    node = torch._C.binary_cross_entropy(x, t, reduction="sum").grad_fn
    assert node._saved_reduction == "sum"
    assert node._saved_weight is None
    assert np.array_equal(node._saved_target.numpy(), [0.0, 1.0])
    logp = torch.randn(3, 4).log_softmax(1).requires_grad_()
    nll = torch._C.nll_loss(logp, torch.tensor([0, 1, -100])).grad_fn
    assert (nll._saved_ignore_index, nll._saved_total_weight) == (-100, 2.0)


def test_unknown_names_raise_attribute_error():
    y = leaf(1.0).pow(2)
    for name in ["_saved_foo", "_raw_saved_exponent", "_saved_", "foo"]:
        with pytest.raises(
            AttributeError, match=re.escape(f"'PowBackward0' object has no attribute '{name}'")
        ):
            getattr(y.grad_fn, name)


def test_saved_values_are_freed_by_backward():
    x = leaf(1.0, 2.0)
    y = x.pow(3)
    y.sum().backward()
    with pytest.raises(RuntimeError, match=re.escape(FREED)):
        _ = y.grad_fn._saved_self
    # Arguments that are not tensors stay readable, as in PyTorch.
    assert y.grad_fn._saved_exponent == 3


def test_saved_values_survive_retain_graph():
    x = leaf(1.0, 2.0)
    y = x.pow(3)
    y.sum().backward(retain_graph=True)
    assert np.array_equal(y.grad_fn._saved_self.detach().numpy(), [1.0, 2.0])


def test_a_saved_tensor_modified_in_place_reports_the_version():
    x = leaf(1.0, 2.0)
    a = x * 1
    y = a.sin()
    a.mul_(2)
    with pytest.raises(RuntimeError, match="is at version 1; expected version 0 instead"):
        _ = y.grad_fn._saved_self


def test_pack_and_unpack_hooks_run_once_each_and_change_nothing():
    calls = []

    def pack(t):
        calls.append("pack")
        return t.detach().numpy().copy()

    def unpack(packed):
        calls.append("unpack")
        return torch.from_numpy(packed)

    x = leaf(0.5, 1.5)
    y = x.sin()
    y.grad_fn._raw_saved_self.register_hooks(pack, unpack)
    assert calls == ["pack"]
    y.sum().backward()
    assert calls == ["pack", "unpack"]
    # d/dx sin x = cos x, computed from the unpacked copy.
    assert np.allclose(x.grad.numpy(), np.cos([0.5, 1.5]))


def test_unpack_result_is_what_backward_uses():
    x = leaf(1.0, 2.0)
    y = x.pow(2)
    # Hand backward a different saved x: d/dx x^2 = 2x is then computed at 10 and 20.
    y.grad_fn._raw_saved_self.register_hooks(lambda t: t * 10, lambda p: p)
    y.sum().backward()
    assert np.array_equal(x.grad.numpy(), [20.0, 40.0])


def test_hooks_can_be_set_once():
    y = leaf(1.0).sin()
    raw = y.grad_fn._raw_saved_self
    raw.register_hooks(lambda t: t, lambda p: p)
    with pytest.raises(RuntimeError, match=re.escape(HOOKS_TWICE)):
        raw.register_hooks(lambda t: t, lambda p: p)


def test_hooks_on_a_freed_slot_raise():
    y = leaf(1.0).sin()
    raw = y.grad_fn._raw_saved_self
    y.backward()
    with pytest.raises(RuntimeError, match=re.escape(FREED_HOOKS)):
        raw.register_hooks(lambda t: t, lambda p: p)


def test_pack_hook_may_not_modify_its_input():
    y = leaf(1.0).sin()
    with pytest.raises(RuntimeError, match=re.escape(PACK_IN_PLACE)):
        y.grad_fn._raw_saved_self.register_hooks(lambda t: t.mul_(2), lambda p: p)


def test_unpack_must_return_a_tensor():
    y = leaf(1.0).sin()
    y.grad_fn._raw_saved_self.register_hooks(lambda t: 5, lambda p: p)
    with pytest.raises(
        TypeError,
        match="Output of saved tensor unpack_hook expected to be a Tensor but got result of "
        "type int",
    ):
        y.backward()


def test_hooks_must_be_callable():
    y = leaf(1.0).sin()
    with pytest.raises(TypeError, match="expected two callables"):
        y.grad_fn._raw_saved_self.register_hooks(1, 2)


def test_an_error_in_pack_propagates_and_keeps_the_tensor():
    def pack(t):
        raise ValueError("no room")

    x = leaf(0.3)
    y = x.sin()
    with pytest.raises(ValueError, match="no room"):
        y.grad_fn._raw_saved_self.register_hooks(pack, lambda p: p)
    y.backward()
    assert np.isclose(x.grad.item(), np.cos(0.3))


def test_names_match_torch():
    real = pytest.importorskip("torch")
    cases = [
        (lambda m, x: x.pow(3), True),
        (lambda m, x: x.exp(), True),
        (lambda m, x: x * x, True),
        (lambda m, x: x.sin(), True),
        (lambda m, x: x.mm(x.t()), False),
    ]
    for build, check_values in cases:
        xs = np.random.default_rng(0).standard_normal((2, 2))
        ours = build(torch, torch.tensor(xs, requires_grad=True)).grad_fn
        theirs = build(real, real.tensor(xs, requires_grad=True)).grad_fn
        their_names = {n for n in dir(theirs) if n.startswith("_saved_")}
        # PyTorch also shows shape metadata (`_saved_self_sym_sizes`) that we do not keep.
        their_names = {n for n in their_names if "_sym_" not in n}
        assert {n for n in dir(ours) if n.startswith("_saved_")} == their_names
        if check_values:
            for name in their_names:
                a, b = getattr(ours, name), getattr(theirs, name)
                if hasattr(b, "detach"):
                    assert np.allclose(a.detach().numpy(), b.detach().numpy())
                else:
                    assert a == b
