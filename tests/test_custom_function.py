"""``autograd.Function`` (PYTORCH_SEMANTICS.md 2.8): one test per rule and message.

Custom forward/backward pairs and the ``setup_context`` style, ``ctx`` (``save_for_backward``,
``saved_tensors``, ``needs_input_grad``, ``mark_non_differentiable``, ``set_materialize_grads``),
the checks on what ``backward`` returns (count, shape, broadcasting), saved-tensor version checks
and freeing, ``once_differentiable`` and the legacy-instance deprecation. Second derivatives, the
property test against the built-in ops, exceptions, memory and PyTorch's side of the same
scenarios are in ``tests/test_custom_function_oracles.py``.

Closed forms are written next to the numbers (STYLE.md E11) and were checked against torch 2.15.
The only import of the library is ``import autodiff as torch``.
"""

from __future__ import annotations

import math

import pytest
from function_cases import MyExp, Square, values, vec

import autodiff as torch

Function = torch.autograd.Function
once_differentiable = torch.autograd.function.once_differentiable

FREED = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you "
    "call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward "
    "through the graph a second time or if you need to access saved tensors after calling "
    "backward."
)
VERSION_LEAF = (
    "one of the variables needed for gradient computation has been modified by an inplace "
    "operation: [torch.FloatTensor [2]] is at version 1; expected version 0 instead. Hint: "
    "enable anomaly detection to find the operation that failed to compute its gradient, with "
    "torch.autograd.set_detect_anomaly(True, check_nan=False)."
)
TWICE = "trying to differentiate twice a function that was marked with @once_differentiable"
NO_BACKWARD = (
    "You must implement either the backward or vjp method for your custom autograd.Function "
    "to use it with backward mode AD."
)
LEGACY_CALL = (
    "Legacy autograd function with non-static forward method is deprecated. Please use "
    "new-style autograd function with static forward method. (Example: "
    "https://pytorch.org/docs/stable/autograd.html#torch.autograd.Function)"
)


# ================================================================================================
# 2.8 autograd.Function
# ================================================================================================


def test_function_forward_backward_closed_form_and_repr():
    # y = e^x at x = 0: y = 1, dy/dx = 1; at x = [0, 1, 2] the grad is e^x.
    x = torch.tensor(0.0, requires_grad=True)
    y = MyExp.apply(x)
    assert repr(y) == "tensor(1., grad_fn=<MyExpBackward>)"
    assert y.grad_fn.name() == "MyExpBackward"
    y.backward()
    assert x.grad.item() == 1.0
    xs = vec(0.0, 1.0, 2.0, dtype=torch.float64, requires_grad=True)
    MyExp.apply(xs).sum().backward()
    assert values(xs.grad) == pytest.approx([1.0, math.e, math.e**2], rel=1e-12)


def test_function_setup_context_style():
    # forward(x, k) = k x^2 with no ctx; d/dx = 2 k x = [6, 12] at x = [1, 2], k = 3.
    class ScaledSquare(Function):
        @staticmethod
        def forward(x, k):
            return x * x * k

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, k = inputs
            ctx.save_for_backward(x)
            ctx.k = k

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * ctx.k * x * g, None

    x = vec(1.0, 2.0, requires_grad=True)
    y = ScaledSquare.apply(x, 3)
    assert values(y) == [3.0, 12.0]
    assert y.grad_fn.name() == "ScaledSquareBackward"
    y.sum().backward()
    assert values(x.grad) == [6.0, 12.0]


def test_function_multiple_inputs_and_outputs():
    # (p, s) = (x y, x + y); L = sum(2p + 3s): dL/dx = 2y + 3, dL/dy = 2x + 3.
    class ProdSum(Function):
        @staticmethod
        def forward(ctx, x, y):
            ctx.save_for_backward(x, y)
            return x * y, x + y

        @staticmethod
        def backward(ctx, gp, gs):
            x, y = ctx.saved_tensors
            return gp * y + gs, gp * x + gs

    x = vec(1.0, 2.0, requires_grad=True)
    y = vec(3.0, 4.0, requires_grad=True)
    p, s = ProdSum.apply(x, y)
    assert values(p) == [3.0, 8.0] and values(s) == [4.0, 6.0]
    assert p.grad_fn.name() == s.grad_fn.name() == "ProdSumBackward"
    (2 * p + 3 * s).sum().backward()
    assert values(x.grad) == [9.0, 11.0]
    assert values(y.grad) == [5.0, 7.0]


def test_function_unused_output_gets_zeros_by_default():
    # L = sum p only: the s gradient arrives materialised as zeros; dL/dx = y.
    seen = []

    class ProdSum(Function):
        @staticmethod
        def forward(ctx, x, y):
            ctx.save_for_backward(x, y)
            return x * y, x + y

        @staticmethod
        def backward(ctx, gp, gs):
            seen.append(gs)
            x, y = ctx.saved_tensors
            return gp * y + gs, gp * x + gs

    x = vec(1.0, 2.0, requires_grad=True)
    y = vec(3.0, 4.0, requires_grad=True)
    p, _ = ProdSum.apply(x, y)
    p.sum().backward()
    assert values(seen[0]) == [0.0, 0.0]
    assert values(x.grad) == [3.0, 4.0]


def test_function_set_materialize_grads_false_gives_none():
    seen = []

    class Two(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, ga, gb):
            seen.append((ga, gb))
            return ga * 2

    x = vec(1.0, 1.0, requires_grad=True)
    a, _ = Two.apply(x)
    a.sum().backward()
    ga, gb = seen[0]
    assert values(ga) == [1.0, 1.0] and gb is None
    assert values(x.grad) == [2.0, 2.0]


def test_function_needs_input_grad_and_non_tensor_args():
    seen = []

    class Scale(Function):
        @staticmethod
        def forward(ctx, x, plain, flag):
            seen.append(ctx.needs_input_grad)
            return x * plain if flag else x

        @staticmethod
        def backward(ctx, g):
            return g * 5, None, None

    x = vec(1.0, 2.0, requires_grad=True)
    y = Scale.apply(x, vec(5.0, 5.0), True)
    assert seen == [(True, False, False)]
    y.sum().backward()
    assert values(x.grad) == [5.0, 5.0]


def test_function_non_tensor_outputs_pass_through():
    # o = (3x, "tag", 3): backward gets None for the non-tensor outputs; d/dx sum 3x = 3.
    seen = []

    class Tagged(Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k, "tag", k

        @staticmethod
        def backward(ctx, g, g_tag, g_k):
            seen.append((g_tag, g_k))
            return g * 3, None

    x = vec(1.0, 2.0, requires_grad=True)
    out = Tagged.apply(x, 3)
    assert isinstance(out, tuple) and out[1:] == ("tag", 3)
    assert out[0].grad_fn.name() == "TaggedBackward"
    out[0].sum().backward()
    assert seen == [(None, None)]
    assert values(x.grad) == [3.0, 3.0]


def test_function_none_gradient_leaves_grad_none():
    # backward returns (None, 2g): x gets nothing, w gets 2.
    class HalfGrad(Function):
        @staticmethod
        def forward(ctx, x, w):
            return x * w

        @staticmethod
        def backward(ctx, g):
            return None, g * 2

    x = vec(1.0, 1.0, requires_grad=True)
    w = vec(1.0, 1.0, requires_grad=True)
    HalfGrad.apply(x, w).sum().backward()
    assert x.grad is None
    assert values(w.grad) == [2.0, 2.0]


@pytest.mark.parametrize(
    ("n_inputs", "returns", "expected", "got"),
    [(2, "one", 2, 1), (1, "two", 1, 2)],
    ids=["too_few", "too_many"],
)
def test_function_wrong_number_of_gradients(n_inputs, returns, expected, got):
    class BadCount(Function):
        @staticmethod
        def forward(ctx, *args):
            return args[0] * 2

        @staticmethod
        def backward(ctx, g):
            return g if returns == "one" else (g, g)

    inputs = [vec(1.0, 2.0, requires_grad=True) for _ in range(n_inputs)]
    with pytest.raises(RuntimeError) as e:
        BadCount.apply(*inputs).sum().backward()
    assert str(e.value) == (
        f"function BadCountBackward returned an incorrect number of gradients "
        f"(expected {expected}, got {got})"
    )


def test_function_gradient_for_non_tensor_input_raises():
    class BadNT(Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g, g

    with pytest.raises(RuntimeError) as e:
        BadNT.apply(vec(1.0, 2.0, requires_grad=True), 3).sum().backward()
    assert str(e.value) == (
        "function BadNTBackward returned a gradient different than None at position 2, but the "
        "corresponding forward input was not a Variable"
    )


def _returning(grad_shape, name):
    def backward(ctx, g):
        return torch.ones(grad_shape)

    return type(
        name,
        (Function,),
        {"forward": staticmethod(lambda ctx, x: x * 2), "backward": staticmethod(backward)},
    )


@pytest.mark.parametrize(
    ("in_shape", "grad_shape"),
    [((2,), (5,)), ((2,), (1,)), ((2, 3), (1, 3)), ((2, 3), (3, 2))],
    ids=["5_for_2", "1_for_2", "1x3_for_2x3", "3x2_for_2x3"],
)
def test_function_wrong_gradient_shape_raises(in_shape, grad_shape):
    # The input's shape must expand to the gradient's; a smaller gradient is not broadcast up.
    BadShape = _returning(grad_shape, "BadShape")
    x = torch.ones(in_shape, requires_grad=True)
    with pytest.raises(RuntimeError) as e:
        BadShape.apply(x).sum().backward()
    assert str(e.value) == (
        f"Function BadShapeBackward returned an invalid gradient at index 0 - got "
        f"{list(grad_shape)} but expected shape compatible with {list(in_shape)}"
    )
    assert x.grad is None


@pytest.mark.parametrize(
    ("in_shape", "grad_shape", "expected"),
    [((2,), (3, 2), [3.0, 3.0]), ((2, 1), (2, 4), [[4.0], [4.0]]), ((), (2, 3), 6.0)],
    ids=["2_from_3x2", "2x1_from_2x4", "scalar_from_2x3"],
)
def test_function_broadcastable_gradient_is_summed_to_the_input_shape(
    in_shape, grad_shape, expected
):
    # An all-ones gradient of shape grad_shape, summed over the broadcast dimensions.
    Wide = _returning(grad_shape, "Wide")
    x = torch.ones(in_shape, requires_grad=True)
    Wide.apply(x).sum().backward()
    assert tuple(x.grad.shape) == in_shape
    assert x.grad.tolist() == expected


def test_function_without_backward_raises_not_implemented():
    class NoBackward(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

    x = vec(1.0, requires_grad=True)
    y = NoBackward.apply(x)
    assert y.grad_fn.name() == "NoBackwardBackward"
    with pytest.raises(NotImplementedError) as e:
        y.sum().backward()
    assert str(e.value) == NO_BACKWARD


def test_function_forward_runs_with_grad_mode_off_and_backward_per_create_graph():
    modes = {"backward": []}

    class Probe(Function):
        @staticmethod
        def forward(ctx, x):
            modes["forward"] = torch.is_grad_enabled()
            y = x * 2
            modes["inner_requires_grad"] = y.requires_grad
            return y

        @staticmethod
        def backward(ctx, g):
            modes["backward"].append(torch.is_grad_enabled())
            return g * 2

    x = vec(1.0, requires_grad=True)
    with torch.enable_grad():
        y = Probe.apply(x)
    assert modes["forward"] is False
    assert modes["inner_requires_grad"] is False
    assert y.requires_grad and y.grad_fn.name() == "ProbeBackward"
    y.sum().backward(retain_graph=True)
    torch.autograd.grad(y.sum(), x, create_graph=True)
    assert modes["backward"] == [False, True]


def test_function_records_no_graph_without_grad():
    x = vec(1.0, 2.0)
    y = MyExp.apply(x)
    assert (y.requires_grad, y.grad_fn, y.is_leaf) == (False, None, True)
    w = vec(1.0, 2.0, requires_grad=True)
    with torch.no_grad():
        z = MyExp.apply(w)
    assert (z.requires_grad, z.grad_fn, z.is_leaf) == (False, None, True)


def test_function_mark_non_differentiable():
    # a = 2x, b = 1 (marked): b does not require grad, backward gets zeros for it; dL/dx = 2.
    seen = []

    class WithIndex(Function):
        @staticmethod
        def forward(ctx, x):
            a = x * 2
            b = x * 0 + 1
            ctx.mark_non_differentiable(b)
            return a, b

        @staticmethod
        def backward(ctx, ga, gb):
            seen.append(gb)
            return ga * 2

    x = vec(1.0, 1.0, requires_grad=True)
    a, b = WithIndex.apply(x)
    assert a.requires_grad and a.grad_fn.name() == "WithIndexBackward"
    assert (b.requires_grad, b.grad_fn, b.is_leaf) == (False, None, True)
    a.sum().backward()
    assert values(seen[0]) == [0.0, 0.0]
    assert values(x.grad) == [2.0, 2.0]


@pytest.mark.parametrize(("arg", "type_name"), [(3, "int"), ("s", "str"), (1.5, "float")])
def test_save_for_backward_non_tensor_raises(arg, type_name):
    class SavesJunk(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(arg)
            return x

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(TypeError) as e:
        SavesJunk.apply(vec(1.0, requires_grad=True))
    assert str(e.value) == (
        f"save_for_backward can only save variables, but argument 0 is of type {type_name}"
    )


def test_save_for_backward_accepts_intermediates_and_none():
    # Saves e^x (neither input nor output) and None: d/dx (e^x * 1) = e^x = 1 at 0.
    class Inter(Function):
        @staticmethod
        def forward(ctx, x):
            e = x.exp()
            ctx.save_for_backward(e, None)
            return e * 1

        @staticmethod
        def backward(ctx, g):
            e, nothing = ctx.saved_tensors
            assert nothing is None
            return g * e

    x = vec(0.0, requires_grad=True)
    Inter.apply(x).sum().backward()
    assert values(x.grad) == [1.0]


MUTATIONS = {"add_": lambda t: t.add_(1), "zero_": lambda t: t.zero_()}


@pytest.mark.parametrize("mutate", list(MUTATIONS.values()), ids=list(MUTATIONS))
def test_saved_leaf_modified_in_place_raises_version_error(mutate):
    x = vec(1.0, 2.0, requires_grad=True)
    y = Square.apply(x)
    with torch.no_grad():
        mutate(x)
    assert x._version == 1
    with pytest.raises(RuntimeError) as e:
        y.sum().backward()
    assert str(e.value) == VERSION_LEAF


@pytest.mark.parametrize("mutate", list(MUTATIONS.values()), ids=list(MUTATIONS))
def test_saved_plain_tensor_modified_in_place_raises_version_error(mutate):
    class Scale(Function):
        @staticmethod
        def forward(ctx, x, p):
            ctx.save_for_backward(p)
            return x * p

        @staticmethod
        def backward(ctx, g):
            (p,) = ctx.saved_tensors
            return g * p, None

    x = vec(1.0, 2.0, requires_grad=True)
    p = vec(3.0, 4.0)
    y = Scale.apply(x, p)
    mutate(p)
    with pytest.raises(RuntimeError) as e:
        y.sum().backward()
    assert str(e.value) == VERSION_LEAF


def test_function_second_backward_without_retain_graph_raises():
    # y = x^2 at [1, 2]: 2x = [2, 4]; a second backward needs the freed saved x.
    x = vec(1.0, 2.0, requires_grad=True)
    s = Square.apply(x).sum()
    s.backward()
    assert values(x.grad) == [2.0, 4.0]
    with pytest.raises(RuntimeError) as e:
        s.backward()
    assert str(e.value) == FREED
    assert values(x.grad) == [2.0, 4.0]


def test_function_retain_graph_allows_a_second_backward():
    x = vec(1.0, 2.0, requires_grad=True)
    s = Square.apply(x).sum()
    s.backward(retain_graph=True)
    s.backward()
    assert values(x.grad) == [4.0, 8.0]  # 2x twice


def test_ctx_saved_tensors_after_free_raises():
    # In PyTorch ctx is the grad_fn; once backward freed it, reading saved_tensors raises.
    ctxs = []

    class Keeps(Function):
        @staticmethod
        def forward(ctx, x):
            ctxs.append(ctx)
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    x = vec(1.0, 2.0, requires_grad=True)
    Keeps.apply(x).sum().backward()
    with pytest.raises(RuntimeError) as e:
        _ = ctxs[0].saved_tensors
    assert str(e.value) == FREED


class OnceSquare(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    @once_differentiable
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * g


def test_once_differentiable_double_backward_raises_when_incoming_grad_requires_grad():
    # z = (x^2)^2: dz/dy = 2y requires grad under create_graph, so the result is poisoned.
    # First order is still right: dz/dx = 4x^3 = 108 at x = 3.
    x = torch.tensor(3.0, requires_grad=True)
    z = OnceSquare.apply(x)
    z = z * z
    (g,) = torch.autograd.grad(z, x, create_graph=True)
    assert g.item() == 108.0
    assert g.requires_grad is True
    with pytest.raises(RuntimeError) as e:
        g.backward()
    assert str(e.value) == TWICE


def test_once_differentiable_plain_result_otherwise():
    # y = x^2: the incoming grad 1 needs no grad, so dy/dx = 6 comes back without a grad_fn.
    x = torch.tensor(3.0, requires_grad=True)
    (g,) = torch.autograd.grad(OnceSquare.apply(x), x, create_graph=True)
    assert g.item() == 6.0
    assert (g.requires_grad, g.grad_fn) == (False, None)
    OnceSquare.apply(x).backward()
    assert x.grad.item() == 6.0
    assert x.grad.grad_fn is None


def test_instantiating_a_function_warns_and_calling_the_instance_raises():
    with pytest.warns(DeprecationWarning) as record:
        legacy = MyExp()
    assert len(record) == 1
    assert str(record[0].message) == (
        f"{MyExp} should not be instantiated. Methods on autograd functions are all static, so "
        "you should invoke them on the class itself. Instantiating an autograd function will "
        "raise an error in a future version of PyTorch."
    )
    with pytest.raises(RuntimeError) as e:
        legacy(vec(1.0, requires_grad=True))
    assert str(e.value) == LEGACY_CALL
