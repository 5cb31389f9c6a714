"""Hooks (PYTORCH_SEMANTICS.md 2.6): one test per rule and message.

Tensor hooks (``register_hook`` on leaves and non-leaves, ``retain_grad`` ordering), post-
accumulate-grad hooks, node pre- and post-hooks on ``grad_fn``, the ``RemovableHandle`` each
returns, hooks under ``autograd.grad`` and ``create_graph``, exceptions raised inside hooks, and
the garbage collection of graphs whose hooks capture their own tensors.

Closed forms are written next to the numbers (STYLE.md E11) and were checked against torch 2.15.
The only import of the library is ``import autodiff as torch``; the oracle tests at the end run
the same scenarios through PyTorch (``pytest.importorskip`` inside each test) and compare.
Memory checks count live graph nodes with ``autodiff._C._live_nodes()`` (STYLE.md E12).
"""

from __future__ import annotations

import weakref

import pytest
from function_cases import Boom, MyExp, live_nodes, outcome, values, vec

import autodiff as torch

NO_GRAD_HOOK = "cannot register a hook on a tensor that doesn't require gradient"
POST_ACC_NON_LEAF = "post accumulate grad hooks cannot be registered on non-leaf tensors"


# ================================================================================================
# 2.6 Tensor hooks
# ================================================================================================


def test_leaf_hook_replaces_grad_before_accumulation():
    # y = 3x, dy/dx = 3; the hook's g*10 is what gets accumulated: 30, then 30 + 30 = 60.
    x = torch.tensor(1.0, requires_grad=True)
    handle = x.register_hook(lambda g: g * 10)
    assert hasattr(handle, "remove")
    (x * 3).backward()
    assert x.grad.item() == 30.0
    (x * 3).backward()
    assert x.grad.item() == 60.0


def test_hooks_run_in_registration_order_each_seeing_the_previous_output():
    # y = 3x: h1 sees 3 and returns 3 + 1 = 4; h2 sees 4 and returns 4 * 2 = 8.
    x = torch.tensor(1.0, requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(("h1", g.item())) or g + 1)
    x.register_hook(lambda g: seen.append(("h2", g.item())) or g * 2)
    (x * 3).backward()
    assert seen == [("h1", 3.0), ("h2", 4.0)]
    assert x.grad.item() == 8.0


def test_hook_returning_none_keeps_the_grad():
    # y = 3x: the observing hook returns None, so the next hook and .grad both get 3.
    x = torch.tensor(1.0, requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.item()))
    x.register_hook(lambda g: seen.append(g.item()))
    (x * 3).backward()
    assert seen == [3.0, 3.0]
    assert x.grad.item() == 3.0


@pytest.mark.parametrize(
    "retain_first", [True, False], ids=["retain_then_hook", "hook_then_retain"]
)
def test_retain_grad_runs_after_hooks_whatever_the_order(retain_first):
    # y = x, dy/dx = 1; the hook's g*100 is what y.grad keeps and what flows on to x.
    x = torch.tensor(1.0, requires_grad=True)
    y = x * 1
    if retain_first:
        y.retain_grad()
        y.register_hook(lambda g: g * 100)
    else:
        y.register_hook(lambda g: g * 100)
        y.retain_grad()
    y.backward()
    assert y.grad.item() == 100.0
    assert x.grad.item() == 100.0


def test_handle_remove_stops_the_hook_and_removing_twice_is_harmless():
    # y = 3x: 30 with the hook, then + 3 without it.
    x = torch.tensor(1.0, requires_grad=True)
    calls = []
    handle = x.register_hook(lambda g: calls.append(g.item()) or g * 10)
    (x * 3).backward()
    assert x.grad.item() == 30.0
    assert handle.remove() is None
    assert handle.remove() is None  # a second remove does nothing
    (x * 3).backward()
    assert x.grad.item() == 33.0
    assert calls == [3.0]


def test_removing_one_hook_keeps_the_others():
    # y = 3x: only the g+1 hook remains, 3 + 1 = 4.
    x = torch.tensor(1.0, requires_grad=True)
    h10 = x.register_hook(lambda g: g * 10)
    x.register_hook(lambda g: g + 1)
    h10.remove()
    (x * 3).backward()
    assert x.grad.item() == 4.0


def test_handle_is_a_context_manager():
    # Inside: y = x gives 1 * 10 = 10; after the block the hook is gone: 10 + 1 = 11.
    x = torch.tensor(1.0, requires_grad=True)
    with x.register_hook(lambda g: g * 10):
        (x * 1).backward()
        assert x.grad.item() == 10.0
    (x * 1).backward()
    assert x.grad.item() == 11.0


def test_non_leaf_hook_changes_the_gradient_flowing_further():
    # y = 2x, z = sum y^2: dz/dy = 2y = 4x = [4, 8]; hook * 3 -> [12, 24]; dz/dx = 2 * that.
    x = vec(1.0, 2.0, requires_grad=True)
    y = x * 2
    seen = []
    y.register_hook(lambda g: seen.append(values(g)) or g * 3)
    (y * y).sum().backward()
    assert seen == [[4.0, 8.0]]
    assert values(x.grad) == [24.0, 48.0]


def test_multiple_paths_are_summed_and_the_leaf_hook_sees_the_sum_once():
    # z = 2x + 3x, dz/dx = 5: the hook on x runs once with 5.
    x = torch.tensor(1.0, requires_grad=True)
    calls = []
    x.register_hook(lambda g: calls.append(g.item()))
    (x * 2 + x * 3).backward()
    assert calls == [5.0]
    assert x.grad.item() == 5.0


def test_hook_on_tensor_not_requiring_grad_raises():
    t = vec(1.0, 2.0)
    with pytest.raises(RuntimeError) as e:
        t.register_hook(lambda g: g)
    assert str(e.value) == NO_GRAD_HOOK


def widen(g):
    return torch.ones(3)


@pytest.mark.parametrize(
    ("hook", "name"),
    [(lambda g: torch.ones(3), "<lambda>"), (widen, "widen")],
    ids=["lambda", "named"],
)
@pytest.mark.parametrize("leaf", [True, False], ids=["leaf", "non_leaf"])
def test_hook_changing_the_size_raises(hook, name, leaf):
    x = vec(1.0, 2.0, requires_grad=True)
    target = x if leaf else x * 2
    target.register_hook(hook)
    with pytest.raises(RuntimeError) as e:
        (target * 3).sum().backward()
    assert str(e.value) == f"hook '{name}' has changed the size of value"
    assert x.grad is None


@pytest.mark.parametrize(("returned", "type_name"), [(1.5, "float"), (1, "int")])
def test_hook_returning_a_non_tensor_raises_type_error(returned, type_name):
    x = vec(1.0, 2.0, requires_grad=True)
    x.register_hook(lambda g: returned)
    with pytest.raises(TypeError) as e:
        (x * 3).sum().backward()
    assert str(e.value) == f"expected Variable, but hook returned '{type_name}'"


# --- post-accumulate-grad hooks ------------------------------------------------------------------


def test_post_accumulate_hook_gets_the_tensor_and_the_accumulated_grad():
    # y = 3x each time: .grad is 3, then 3 + 3 = 6 when the hook runs.
    x = torch.tensor(1.0, requires_grad=True)
    seen = []
    handle = x.register_post_accumulate_grad_hook(lambda p: seen.append((p is x, p.grad.item())))
    (x * 3).backward()
    (x * 3).backward()
    assert seen == [(True, 3.0), (True, 6.0)]
    handle.remove()
    (x * 3).backward()
    assert len(seen) == 2
    assert x.grad.item() == 9.0


def test_post_accumulate_hook_runs_after_tensor_hooks():
    # y = 3x, tensor hook g*10: .grad is 30 when the post-accumulate hook sees it.
    x = torch.tensor(1.0, requires_grad=True)
    seen = []
    x.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.item()))
    x.register_hook(lambda g: g * 10)
    (x * 3).backward()
    assert seen == [30.0]


def test_post_accumulate_hook_on_non_leaf_raises():
    y = vec(1.0, requires_grad=True) * 2
    with pytest.raises(RuntimeError) as e:
        y.register_post_accumulate_grad_hook(lambda p: None)
    assert str(e.value) == POST_ACC_NON_LEAF


def test_post_accumulate_hook_on_tensor_not_requiring_grad_raises():
    with pytest.raises(RuntimeError) as e:
        vec(1.0).register_post_accumulate_grad_hook(lambda p: None)
    assert str(e.value) == NO_GRAD_HOOK


# --- node hooks ---------------------------------------------------------------------------------


def test_node_prehook_replaces_grad_outputs():
    # y = 2x: the prehook turns dL/dy = 1 into 7, so dL/dx = 7 * 2 = 14.
    x = torch.tensor(1.0, requires_grad=True)
    y = x * 2
    seen = []
    y.grad_fn.register_prehook(lambda go: seen.append(go) or (go[0] * 7,))
    y.backward()
    assert isinstance(seen[0], tuple) and len(seen[0]) == 1
    assert seen[0][0].item() == 1.0
    assert x.grad.item() == 14.0


def test_node_post_hook_replaces_grad_inputs():
    # y = 2x: MulBackward0 gives (2, None) for (x, the python scalar); * 5 -> 10.
    x = torch.tensor(1.0, requires_grad=True)
    y = x * 2
    y.grad_fn.register_hook(lambda gi, go: (gi[0] * 5, None))
    y.backward()
    assert x.grad.item() == 10.0


def test_node_prehook_runs_first_and_post_hook_sees_its_result():
    # y = 2x: prehook 1 -> 7; the node computes 7 * 2 = 14; the post-hook gets ((14, None), (7,)).
    x = torch.tensor(1.0, requires_grad=True)
    y = x * 2
    order = []
    y.grad_fn.register_hook(lambda gi, go: order.append(("post", gi, go)))
    y.grad_fn.register_prehook(lambda go: order.append(("pre",)) or (go[0] * 7,))
    y.backward()
    assert [o[0] for o in order] == ["pre", "post"]
    _, gi, go = order[1]
    assert isinstance(gi, tuple) and isinstance(go, tuple)
    assert gi[0].item() == 14.0 and gi[1] is None
    assert [g.item() for g in go] == [7.0]
    assert x.grad.item() == 14.0  # the post-hook returned None: grads kept


def test_node_hook_handles_remove():
    # y = 2x: both node hooks removed, x.grad is the plain 2.
    x = torch.tensor(1.0, requires_grad=True)
    y = x * 2
    pre = y.grad_fn.register_prehook(lambda go: (go[0] * 7,))
    post = y.grad_fn.register_hook(lambda gi, go: (gi[0] * 5, None))
    pre.remove()
    post.remove()
    post.remove()
    y.backward()
    assert x.grad.item() == 2.0


def test_node_hooks_on_a_custom_function_node():
    # y = MyExp(x) at x = 0: dy/dx = e^0 = 1; prehook * 7, post-hook + 1 -> 8.
    x = torch.tensor(0.0, requires_grad=True)
    y = MyExp.apply(x)
    y.grad_fn.register_prehook(lambda go: (go[0] * 7,))
    y.grad_fn.register_hook(lambda gi, go: (gi[0] + 1,))
    y.backward()
    assert x.grad.item() == 8.0


def test_calling_a_node_applies_its_backward():
    # y = 3x: MulBackward0(g) = (3g, None) for (x, the python scalar).
    x = vec(1.0, 2.0, requires_grad=True)
    out = (x * 3).grad_fn(torch.ones(2))
    assert isinstance(out, tuple) and len(out) == 2
    assert values(out[0]) == [3.0, 3.0] and out[1] is None
    # y = x * x: (g x, g x) = ([1, 2], [1, 2]), recorded since x requires grad.
    a, b = (x * x).grad_fn(torch.ones(2))
    assert values(a) == values(b) == [1.0, 2.0]
    assert a.grad_fn.name() == "MulBackward0"
    assert x.grad is None  # calling a node accumulates nothing


# --- hooks with autograd.grad and create_graph --------------------------------------------------


def test_leaf_hook_applies_under_autograd_grad():
    # y = 3x: the leaf hook's g*10 is what grad returns; .grad stays None.
    x = torch.tensor(1.0, requires_grad=True)
    x.register_hook(lambda g: g * 10)
    (gx,) = torch.autograd.grad(x * 3, x)
    assert gx.item() == 30.0
    assert x.grad is None


def test_non_leaf_hook_applies_under_autograd_grad():
    # y = 3x, z = 2y: dz/dy = 2, hook * 10 -> 20, dz/dx = 20 * 3 = 60.
    x = torch.tensor(1.0, requires_grad=True)
    y = x * 3
    y.register_hook(lambda g: g * 10)
    (gx,) = torch.autograd.grad(y * 2, x)
    assert gx.item() == 60.0
    assert x.grad is None


def test_double_backward_through_a_hook_that_multiplies():
    # y = x^2 with hook g -> g x, z = y^2. First pass: dz/dy = 2y -> 2yx, dz/dx = 2yx * 2x,
    # so g(x, y) = 4 y x^2 = 4x^4 = 64 at x = 2. Second pass: the hook on y fires again on
    # the gradient flowing into y: dg/dx = 8 y x + (4x^2 * x) * 2x = 8x^3 + 8x^4 = 192.
    x = torch.tensor(2.0, requires_grad=True)
    y = x * x
    y.register_hook(lambda g: g * x)
    (g,) = torch.autograd.grad(y * y, x, create_graph=True)
    assert g.item() == 64.0
    assert g.requires_grad
    (gg,) = torch.autograd.grad(g, x)
    assert gg.item() == 192.0


# --- exceptions and memory ----------------------------------------------------------------------


def _register_raising(kind, x, y, exc):
    def raiser(*args):
        raise exc

    if kind == "leaf":
        x.register_hook(raiser)
    elif kind == "non_leaf":
        y.register_hook(raiser)
    elif kind == "node_prehook":
        y.grad_fn.register_prehook(raiser)
    elif kind == "node_post_hook":
        y.grad_fn.register_hook(raiser)
    elif kind == "post_accumulate":
        x.register_post_accumulate_grad_hook(raiser)


HOOK_KINDS = ["leaf", "non_leaf", "node_prehook", "node_post_hook", "post_accumulate"]


@pytest.mark.parametrize("exc_type", [Boom, ValueError, KeyError])
@pytest.mark.parametrize("kind", HOOK_KINDS)
def test_exception_from_hook_propagates_with_its_own_type(kind, exc_type):
    x = vec(1.0, 2.0, requires_grad=True)
    y = x * 2
    _register_raising(kind, x, y, exc_type("boom"))
    with pytest.raises(exc_type) as e:
        (y * 3).sum().backward()
    assert type(e.value) is exc_type
    assert e.value.args == ("boom",)


def _graph_with_self_capturing_hook(kind, fail):
    """x -> y = 2x -> z = sum y^2, with a hook whose closure holds x and y: a reference cycle
    tensor -> engine -> hook -> tensor. Built in its own frame, so that the caller's ``del``
    cannot break the cycle by clearing closure cells."""
    x = vec(1.0, 2.0, requires_grad=True)
    y = x * 2
    z = (y * y).sum()

    def check(*args):
        assert x.shape == y.shape
        if fail:
            raise Boom("mid-backward")

    if kind == "leaf":
        x.register_hook(check)
    elif kind == "non_leaf":
        y.register_hook(check)
    elif kind == "node_hook":
        y.grad_fn.register_hook(check)
    else:
        x.register_post_accumulate_grad_hook(check)
    return x, y, z


@pytest.mark.parametrize("when", ["no_backward", "after_backward", "after_hook_error"])
@pytest.mark.parametrize("kind", ["leaf", "non_leaf", "node_hook", "post_accumulate"])
def test_hook_capturing_its_own_tensor_is_collected(kind, when):
    # Stricter than PyTorch 2.15, which never frees these cycles (its weakrefs stay alive):
    # autodiff's engine lets the garbage collector see through every hook it holds.
    start = live_nodes()
    x, y, z = _graph_with_self_capturing_hook(kind, fail=when == "after_hook_error")
    assert live_nodes() > start
    if when == "after_backward":
        z.backward()
        assert values(x.grad) == [8.0, 16.0]  # d/dx sum (2x)^2 = 8x
    elif when == "after_hook_error":
        with pytest.raises(Boom):
            z.backward()
    x_ref, y_ref = weakref.ref(x), weakref.ref(y)
    del x, y, z
    assert live_nodes() == start
    assert x_ref() is None and y_ref() is None


# ================================================================================================
# Oracle: the same scenarios through PyTorch
# ================================================================================================


def scenario_hook_pipeline(m):
    out = []
    x = m.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    y.register_hook(lambda g: g + 1)
    y.register_hook(lambda g: g * 2)
    y.grad_fn.register_prehook(lambda go: (go[0] * 7,))
    y.grad_fn.register_hook(lambda gi, go: (gi[0] - 1, None))
    x.register_hook(lambda g: g * 10)
    x.register_post_accumulate_grad_hook(lambda p: out.append(p.grad.tolist()))
    (y * y).sum().backward()
    out += [y.grad.tolist(), x.grad.tolist()]
    return out


def scenario_hook_create_graph(m):
    x = m.tensor([2.0, -1.0], requires_grad=True)
    y = x * x
    y.register_hook(lambda g: g * x)
    (g,) = m.autograd.grad((y * y).sum(), x, create_graph=True)
    (gg,) = m.autograd.grad(g.sum(), x)
    return [g.tolist(), gg.tolist()]


def scenario_hook_errors(m):
    x = m.tensor([1.0, 2.0], requires_grad=True)
    out = [
        outcome(lambda: m.ones(2).register_hook(lambda g: g)),
        outcome(lambda: (x * 2).register_post_accumulate_grad_hook(lambda p: None)),
    ]
    for ret in (lambda g: m.ones(3), lambda g: 2.5):
        z = x * 1
        handle = z.register_hook(ret)
        out.append(outcome(lambda z=z: (z * 2).sum().backward()))
        handle.remove()
    return out


def scenario_hook_changes_dtype(m):
    x = m.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: g.double())
    return [outcome(lambda: (x * 3).sum().backward()), x.grad is None]


def scenario_node_call(m):
    x = m.tensor([1.0, 2.0], requires_grad=True)
    a = (x * 3).grad_fn(m.ones(2))
    b = (x * x).grad_fn(m.ones(2))
    return [[None if g is None else g.tolist() for g in r] for r in (a, b)]


SCENARIOS = [
    scenario_hook_pipeline,
    scenario_hook_create_graph,
    scenario_hook_errors,
    scenario_hook_changes_dtype,
    scenario_node_call,
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__[9:] for s in SCENARIOS])
def test_matches_torch(scenario):
    real_torch = pytest.importorskip("torch")
    assert scenario(torch) == scenario(real_torch)
