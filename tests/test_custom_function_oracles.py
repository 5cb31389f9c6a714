"""``autograd.Function`` against outside references: second derivatives through custom
backwards against finite differences and ``gradgradcheck``, a property test against the built-in
ops, exceptions raised in ``backward`` keeping their type, Functions that save their output being
collected, and, where PyTorch is installed (``pytest.importorskip`` inside each test), the same
scenarios run by PyTorch. Memory checks count live graph nodes with
``autodiff._C._live_nodes()`` (STYLE.md E12).
"""

from __future__ import annotations

import weakref

import numpy as np
import pytest
from function_cases import Boom, MyExp, MyMul, MySin, live_nodes, outcome, vec
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autodiff as torch

Function = torch.autograd.Function
once_differentiable = torch.autograd.function.once_differentiable

# --- second derivatives and a property test -------------------------------------------------------


class ScaledCube(Function):
    """f(x, w) = x^3 w; backward in differentiable ops: (3 x^2 w g, x^3 g)."""

    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        return x * x * x * w

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        return 3 * x * x * w * g, x * x * x * g


def test_custom_function_second_derivatives_match_finite_differences(rng):
    # gradgradcheck-style: s(x, w, c) = <u, J^T c>_x + <t, J^T c>_w with J^T c from backward;
    # the analytic grad of s (double backward) against float64 central differences.
    f64 = torch.float64
    x0, w0, c0, u, t = (rng.uniform(-1.5, 1.5, 3) for _ in range(5))

    def s_value(x_np, w_np, c_np, create_graph=False):
        x = torch.tensor(x_np, dtype=f64, requires_grad=True)
        w = torch.tensor(w_np, dtype=f64, requires_grad=True)
        c = torch.tensor(c_np, dtype=f64, requires_grad=True)
        gx, gw = torch.autograd.grad(ScaledCube.apply(x, w), (x, w), c, create_graph=create_graph)
        s = (gx * torch.tensor(u, dtype=f64)).sum() + (gw * torch.tensor(t, dtype=f64)).sum()
        return s, (x, w, c)

    s, inputs = s_value(x0, w0, c0, create_graph=True)
    analytic = [g.detach().numpy() for g in torch.autograd.grad(s, inputs)]
    eps = 1e-6
    point = [x0, w0, c0]
    for k in range(3):
        numeric = np.zeros(3)
        for i in range(3):
            plus = [p.copy() for p in point]
            minus = [p.copy() for p in point]
            plus[k][i] += eps
            minus[k][i] -= eps
            numeric[i] = (s_value(*plus)[0].item() - s_value(*minus)[0].item()) / (2 * eps)
        np.testing.assert_allclose(analytic[k], numeric, rtol=1e-6, atol=1e-6)
    # And the closed form: d2f/dx2 = 6 x w, d2f/dxdw = 3 x^2.
    np.testing.assert_allclose(analytic[0], u * 6 * x0 * w0 * c0 + t * 3 * x0**2 * c0, rtol=1e-12)


def test_custom_function_passes_gradgradcheck():
    from autodiff.autograd.gradcheck import gradcheck, gradgradcheck

    f64 = torch.float64
    x = torch.tensor([0.3, -1.2, 0.7], dtype=f64, requires_grad=True)
    w = torch.tensor([1.1, 0.4, -0.5], dtype=f64, requires_grad=True)
    assert gradcheck(ScaledCube.apply, (x, w)) is True
    assert gradgradcheck(ScaledCube.apply, (x, w)) is True
    assert gradgradcheck(MySin.apply, (x,)) is True


SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
FLOATS = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False)


@given(data=st.data())
def test_custom_function_matches_builtin_ops(data):
    f64 = torch.float64
    shape = data.draw(SHAPES, label="shape")
    arrays = [data.draw(hnp.arrays(np.float64, shape, elements=FLOATS), label=n) for n in "xyc"]
    xa, ya, ca = (torch.tensor(a, dtype=f64) for a in arrays)
    for custom, builtin, n_in in [
        (MySin.apply, lambda a: a.sin(), 1),
        (MyMul.apply, lambda a, b: a * b, 2),
        (MyExp.apply, lambda a: a.exp(), 1),
    ]:
        results = []
        for fn in (custom, builtin):
            leaves = [t.detach().requires_grad_() for t in (xa, ya)[:n_in]]
            out = fn(*leaves)
            out.backward(ca)
            results.append((out.detach().numpy(), [leaf.grad.numpy() for leaf in leaves]))
        (out_c, grads_c), (out_b, grads_b) = results
        np.testing.assert_allclose(out_c, out_b, rtol=1e-12, atol=1e-12)
        for gc_, gb in zip(grads_c, grads_b):
            assert gc_.shape == tuple(shape)
            np.testing.assert_allclose(gc_, gb, rtol=1e-12, atol=1e-12)


# --- exceptions and memory ----------------------------------------------------------------------


@pytest.mark.parametrize("exc_type", [Boom, ValueError, KeyError])
def test_exception_from_function_backward_propagates_with_its_own_type(exc_type):
    class Raises(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            raise exc_type("boom")

    x = vec(1.0, requires_grad=True)
    with pytest.raises(exc_type) as e:
        Raises.apply(x).sum().backward()
    assert type(e.value) is exc_type
    assert e.value.args == ("boom",)


def test_function_saving_its_output_is_collected():
    # MyExp saves its own output: output -> node -> saved output is a cycle in the engine.
    start = live_nodes()
    x = vec(0.0, 1.0, requires_grad=True)
    y = MyExp.apply(x)
    y_ref = weakref.ref(y)
    assert live_nodes() > start
    del y
    assert y_ref() is None
    assert live_nodes() == start
    y = MyExp.apply(x)
    y.sum().backward()
    del y, x
    assert live_nodes() == start


# ================================================================================================
# Oracle: the same scenarios through PyTorch
# ================================================================================================


def scenario_function(m):
    log = []

    class Multi(m.autograd.Function):
        @staticmethod
        def forward(ctx, x, p, flag):
            log.append(ctx.needs_input_grad)
            ctx.save_for_backward(x, p)
            i = x * 0
            ctx.mark_non_differentiable(i)
            return x * p, x + p, i

        @staticmethod
        def backward(ctx, ga, gb, gi):
            log.append([None if g is None else g.tolist() for g in (ga, gb, gi)])
            x, p = ctx.saved_tensors
            return ga * p + gb, None, None

    x = m.tensor([1.0, 2.0], requires_grad=True)
    a, b, i = Multi.apply(x, m.tensor([3.0, 4.0]), True)
    log.append([repr(a), i.requires_grad])
    (a * 2).sum().backward()
    log.append(x.grad.tolist())
    return log


def scenario_once_differentiable(m):
    class Once(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @m.autograd.function.once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    x = m.tensor(3.0, requires_grad=True)
    y = Once.apply(x)
    (g1,) = m.autograd.grad(y, x, create_graph=True, retain_graph=True)
    (g2,) = m.autograd.grad(y * y, x, create_graph=True)
    return [g1.item(), g1.requires_grad, g2.item(), g2.requires_grad, outcome(g2.backward)]


def scenario_function_grad_shapes(m):
    out = []
    for in_shape, grad_shape in [((2,), (3, 2)), ((2,), (1,)), ((2, 1), (2, 4)), ((3,), (2,))]:

        class Shaped(m.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g, gs=grad_shape):
                return m.ones(*gs)

        x = m.ones(*in_shape, requires_grad=True)
        out.append(outcome(lambda f=Shaped, x=x: f.apply(x).sum().backward()))
        out.append(None if x.grad is None else x.grad.tolist())
    return out


SCENARIOS = [
    scenario_function,
    scenario_once_differentiable,
    scenario_function_grad_shapes,
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__[9:] for s in SCENARIOS])
def test_matches_torch(scenario):
    real_torch = pytest.importorskip("torch")
    assert scenario(torch) == scenario(real_torch)
