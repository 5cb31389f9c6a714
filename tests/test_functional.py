"""``autodiff.autograd.functional``: vjp jvp jacobian hessian vhp hvp (PYTORCH_SEMANTICS.md 2.11).

Closed forms with the maths written next to the numbers; Jacobians and Hessians of random
compositions against float64 finite differences; hypothesis properties tying the six functions
together (``vjp = v^T J``, ``jvp = J v``, ``vhp = v^T H``, ``hvp = H v``, ``H = H^T``); the
tuple-or-tensor structure of every result; and ``create_graph``. The errors, and the comparison
with ``torch.autograd.functional``, are in ``tests/test_functional_errors.py``.
"""

from __future__ import annotations

import doctest
from typing import Any, Callable

import numpy as np
import pytest
from functional_cases import F64, SCALAR_FNS, VECTOR_FNS, arr, vec
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autodiff
from autodiff.autograd import functional
from autodiff.autograd.functional import hessian, hvp, jacobian, jvp, vhp, vjp

# --- finite differences (float64, evaluated by autodiff without a graph) -------------------------


def evaluate(fn: Callable[..., Any], *arrays: np.ndarray) -> np.ndarray:
    with autodiff.no_grad():
        out = fn(*(autodiff.tensor(a, dtype=F64) for a in arrays))
    return arr(out)


def fd_jacobian(fn: Callable[..., Any], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """d fn(x) / d x, shape ``out.shape + x.shape``, by central differences."""
    out_shape = evaluate(fn, x).shape
    jac = np.zeros(out_shape + x.shape)
    for idx in np.ndindex(x.shape):
        step = np.zeros(x.shape)
        step[idx] = h
        jac[(...,) + idx] = (evaluate(fn, x + step) - evaluate(fn, x - step)) / (2 * h)
    return jac


def fd_hessian(fn: Callable[..., Any], x: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """Second central differences of a scalar fn: error O(h^2) + O(1e-16 / h^2) ~ 1e-8."""
    n = x.size
    flat = x.reshape(-1)

    def f(v: np.ndarray) -> float:
        return float(evaluate(fn, v.reshape(x.shape)))

    hess = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            ei = np.zeros(n)
            ej = np.zeros(n)
            ei[i] = h
            ej[j] = h
            hess[i, j] = (
                f(flat + ei + ej) - f(flat + ei - ej) - f(flat - ei + ej) + f(flat - ei - ej)
            ) / (4 * h * h)
    return hess.reshape(x.shape + x.shape)


small_shapes = hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3)
unit_values = st.floats(-1.5, 1.5, allow_subnormal=False)


@st.composite
def points(draw: Any) -> np.ndarray:
    shape = draw(small_shapes)
    return draw(hnp.arrays(np.float64, shape, elements=unit_values))


# --- closed forms -------------------------------------------------------------------------------


def test_jacobian_of_elementwise_square_is_diagonal():
    # d(3 x_i^2)/dx_j = 6 x_i delta_ij = diag(6, 12) at x = [1, 2].
    jac = jacobian(lambda x: 3 * x**2, autodiff.tensor([1.0, 2.0]))
    assert jac.tolist() == [[6.0, 0.0], [0.0, 12.0]]
    assert (jac.dtype, jac.requires_grad, jac.grad_fn) == (autodiff.float32, False, None)


def test_jacobian_shape_is_output_shape_then_input_shape():
    # f(x) = sum_j x_ij exp: out shape (2,), in shape (2, 3) -> jacobian (2, 2, 3);
    # J[i, k, l] = delta_ik exp(x_kl).
    x = autodiff.zeros(2, 3, dtype=F64)
    jac = jacobian(lambda t: t.exp().sum(dim=1), x)
    assert tuple(jac.shape) == (2, 2, 3)
    assert jac.tolist() == [[[1.0] * 3, [0.0] * 3], [[0.0] * 3, [1.0] * 3]]
    assert jac.dtype == F64


def test_jacobian_structure_follows_tuples_of_inputs_and_outputs():
    a, b = vec(1.0, 2.0), vec(3.0)
    # one tensor in, one out: a tensor
    assert isinstance(jacobian(lambda x: x * 2, a), autodiff.Tensor)
    # tuple in, one out: a tuple over inputs; d(a*b)/da = diag(b), d(a*b)/db = a (as a column)
    ja, jb = jacobian(lambda x, y: x * y, (a, b))
    assert (ja.tolist(), jb.tolist()) == ([[3.0, 0.0], [0.0, 3.0]], [[1.0], [2.0]])
    # one in, tuple out: a tuple over outputs; d(2a)/da = 2I, d(sum a)/da = [1, 1]
    j_out = jacobian(lambda x: (2 * x, x.sum()), a)
    assert isinstance(j_out, tuple) and len(j_out) == 2
    assert (j_out[0].tolist(), j_out[1].tolist()) == ([[2.0, 0.0], [0.0, 2.0]], [1.0, 1.0])
    # tuple in, tuple out: jac[i][j] is output i by input j, shape out_i.shape + in_j.shape
    jac = jacobian(lambda x, y: (x + y, (x * y).sum()), (a, b))
    assert [[tuple(j.shape) for j in row] for row in jac] == [[(2, 2), (2, 1)], [(2,), (1,)]]
    assert jac[1][1].tolist() == [3.0]  # d(sum a*b)/db = sum a = 3
    # a 1-tuple is kept as a tuple
    (single,) = jacobian(lambda x: x * 2, (a,))
    assert single.tolist() == [[2.0, 0.0], [0.0, 2.0]]


def test_jacobian_of_output_independent_of_an_input_is_zeros():
    # y does not reach the output: its block is zeros of shape (2, 3) (strict=False default).
    x, y = vec(1.0, 2.0), autodiff.ones(3, dtype=F64)
    jx, jy = jacobian(lambda p, q: p * 5, (x, y))
    assert jx.tolist() == [[5.0, 0.0], [0.0, 5.0]]
    assert jy.tolist() == [[0.0] * 3] * 2
    # an output that does not depend on anything: all zeros
    assert jacobian(lambda p: autodiff.ones(2, dtype=F64), x).tolist() == [[0.0, 0.0]] * 2


def test_jacobian_of_a_zero_dim_input_and_output():
    # f(x) = x^3 at 2: f' = 12, shape () + () = ().
    jac = jacobian(lambda x: x**3, autodiff.tensor(2.0, dtype=F64))
    assert (jac.shape, jac.item()) == (autodiff.Size([]), 12.0)


def test_hessian_closed_forms():
    # sum x^3: H = diag(6 x) = diag(6, 12)
    hess = hessian(lambda x: (x**3).sum(), vec(1.0, 2.0))
    assert hess.tolist() == [[6.0, 0.0], [0.0, 12.0]]
    assert hess.requires_grad is False
    # x^T A x: H = A + A^T
    a = autodiff.tensor([[1.0, 2.0], [0.5, -1.0]], dtype=F64)
    hess = hessian(lambda x: x @ a @ x, vec(0.3, -0.7))
    assert hess.tolist() == [[2.0, 2.5], [2.5, -2.0]]
    # a b: tuple of tuples ((d2/da2, d2/dadb), (d2/dbda, d2/db2)) = ((0, 1), (1, 0))
    (haa, hab), (hba, hbb) = hessian(lambda p, q: p * q, (vec(2.0), vec(5.0)))
    assert [h.tolist() for h in (haa, hab, hba, hbb)] == [[[0.0]], [[1.0]], [[1.0]], [[0.0]]]


def test_hessian_blocks_have_shapes_of_input_pairs():
    # f(x, y) = sum(x)^2 * sum(y): H_xx = 2 sum(y) 1, H_xy = 2 sum(x) 1, H_yy = 0.
    x, y = autodiff.ones(2, dtype=F64), autodiff.ones(3, dtype=F64)
    h = hessian(lambda p, q: p.sum() ** 2 * q.sum(), (x, y))
    assert [[tuple(b.shape) for b in row] for row in h] == [[(2, 2), (2, 3)], [(3, 2), (3, 3)]]
    assert h[0][0].tolist() == [[6.0, 6.0], [6.0, 6.0]]  # 2 * sum(y) = 6
    assert h[0][1].tolist() == [[4.0] * 3] * 2  # 2 * sum(x) = 4
    assert h[1][1].tolist() == [[0.0] * 3] * 3


def test_hessian_of_one_element_non_scalar_output():
    # func may return shape [1]: it is squeezed. f = (x^2 y) summed to [1]; H = [[2y, 2x], [2x, 0]].
    h = hessian(lambda v: (v[:1] ** 2 * v[1:]).sum(dim=0, keepdim=True), vec(1.0, 3.0))
    assert h.tolist() == [[6.0, 2.0], [2.0, 0.0]]


def test_vjp_closed_forms_and_structure():
    # f = x^2: v^T J = 2 x v = [2*1*1, 2*2*10]
    out, prod = vjp(lambda x: x**2, vec(1.0, 2.0), vec(1.0, 10.0))
    assert (out.tolist(), prod.tolist()) == ([1.0, 4.0], [2.0, 40.0])
    # scalar output: v may be omitted (v = 1); d(sum a*b) = (b, a)
    out, (ga, gb) = vjp(lambda a, b: (a * b).sum(), (vec(1.0, 2.0), vec(3.0, 4.0)))
    assert (out.item(), ga.tolist(), gb.tolist()) == (11.0, [3.0, 4.0], [1.0, 2.0])
    # one-element non-scalar output also works without v
    _, g = vjp(lambda x: x[:1] * 3, vec(1.0, 2.0))
    assert g.tolist() == [3.0, 0.0]
    # tuple outputs need a tuple v: v1 * 2 + v2 * 3 per element
    outs, g = vjp(lambda x: (2 * x, 3 * x), vec(1.0, 2.0), (vec(1.0, 1.0), vec(1.0, -1.0)))
    assert isinstance(outs, tuple) and [o.tolist() for o in outs] == [[2.0, 4.0], [3.0, 6.0]]
    assert g.tolist() == [5.0, -1.0]


def test_jvp_closed_forms_use_the_double_backward_trick():
    # f = x^3: J v = 3 x^2 v = [3, 12] for v = 1
    out, prod = jvp(lambda x: x**3, vec(1.0, 2.0), vec(1.0, 1.0))
    assert (out.tolist(), prod.tolist()) == ([1.0, 8.0], [3.0, 12.0])
    # f(a, b) = 2a + 3b: J (va, vb) = 2 va + 3 vb
    out, prod = jvp(
        lambda a, b: 2 * a + 3 * b, (vec(1.0, 2.0), vec(3.0, 4.0)), (vec(1.0, 0.0), vec(0.0, 1.0))
    )
    assert (out.tolist(), prod.tolist()) == ([11.0, 16.0], [2.0, 3.0])
    # one-element input: v may be omitted; tuple outputs give a tuple: (cos x, 2x) at 0
    outs, prods = jvp(lambda x: (x.sin(), x * x), autodiff.tensor(0.0, dtype=F64))
    assert [o.item() for o in outs] == [0.0, 0.0]
    assert [p.item() for p in prods] == [1.0, 0.0]


def test_vhp_and_hvp_closed_forms():
    # f = sum x^3 at [1, 2]: f = 9, H = diag(6, 12), H v = v^T H = [6, 12] for v = 1.
    for product in (vhp, hvp):
        out, prod = product(lambda x: (x**3).sum(), vec(1.0, 2.0), vec(1.0, 1.0))
        assert (out.item(), prod.tolist()) == (9.0, [6.0, 12.0])
        assert (out.requires_grad, prod.requires_grad) == (False, False)
    # non-symmetric mixed example: f = a^2 b; H = [[2b, 2a], [2a, 0]] at a=1, b=3
    # H (1, 0) = (2b, 2a) = (6, 2), as a tuple over the two inputs
    out, (pa, pb) = hvp(lambda a, b: (a * a * b).sum(), (vec(1.0), vec(3.0)), (vec(1.0), vec(0.0)))
    assert (out.item(), pa.tolist(), pb.tolist()) == (3.0, [6.0], [2.0])
    # one-element input: v may be omitted. f = x^4 at 1: H = 12
    assert vhp(lambda x: x**4, autodiff.tensor(1.0, dtype=F64))[1].item() == 12.0
    assert hvp(lambda x: x**4, autodiff.tensor(1.0, dtype=F64))[1].item() == 12.0


def test_products_of_functions_independent_of_an_input_are_zeros():
    x, y = vec(1.0, 2.0), vec(3.0)
    f = lambda p, q: (p**2).sum()  # noqa: E731 - q unused
    assert vjp(f, (x, y))[1][1].tolist() == [0.0]
    assert jvp(lambda p, q: p * 2, (x, y), (x, y))[1].tolist() == [2.0, 4.0]
    assert vhp(f, (x, y), (x, y))[1][1].tolist() == [0.0]
    assert hvp(f, (x, y), (x, y))[1][1].tolist() == [0.0]
    assert hessian(f, (x, y))[1][1].tolist() == [[0.0]]
    # a linear function: its Hessian is zeros
    assert hessian(lambda p: (3 * p).sum(), x).tolist() == [[0.0, 0.0], [0.0, 0.0]]


def test_inputs_are_fresh_copies_captured_tensors_are_constants():
    # jacobian w.r.t. the argument only: f(t) = t * x with x captured gives diag(x), not 2 diag(x).
    x = vec(1.0, 2.0, requires_grad=True)
    assert jacobian(lambda t: t * x, x).tolist() == [[1.0, 0.0], [0.0, 2.0]]
    # and nothing is accumulated into the caller's tensors
    hessian(lambda t: (t**3).sum(), x)
    vjp(lambda t: (t**3).sum(), x)
    assert x.grad is None
    assert x.tolist() == [1.0, 2.0]


def test_results_do_not_require_grad_without_create_graph():
    x = vec(1.0, 2.0, requires_grad=True)
    results = [
        jacobian(lambda t: t**2, x),
        hessian(lambda t: (t**3).sum(), x),
        *vjp(lambda t: t**2, x, x),
        *jvp(lambda t: t**2, x, x),
        *vhp(lambda t: (t**3).sum(), x, x),
        *hvp(lambda t: (t**3).sum(), x, x),
    ]
    assert [(r.requires_grad, r.grad_fn) for r in results] == [(False, None)] * len(results)


def test_create_graph_results_are_differentiable_again():
    x = vec(1.0, 2.0, requires_grad=True)
    # J = diag(3 x^2); d(sum J)/dx = 6x = [6, 12]
    jac = jacobian(lambda t: t**3, x, create_graph=True)
    assert jac.requires_grad and jac.grad_fn is not None
    (g,) = autodiff.autograd.grad(jac.sum(), x)
    assert g.tolist() == [6.0, 12.0]
    # H = diag(12 x^2) for sum x^4; d(sum H)/dx = 24 x = [24, 48] (third derivative)
    hess = hessian(lambda t: (t**4).sum(), x, create_graph=True)
    assert hess.tolist() == [[12.0, 0.0], [0.0, 48.0]]
    (g,) = autodiff.autograd.grad(hess.sum(), x)
    assert g.tolist() == [24.0, 48.0]
    # vjp of x^3 with v = 1: 3x^2, derivative 6x; the output keeps its graph too
    out, prod = vjp(lambda t: t**3, x, vec(1.0, 1.0), create_graph=True)
    assert out.requires_grad and prod.requires_grad
    assert autodiff.autograd.grad(prod.sum(), x)[0].tolist() == [6.0, 12.0]
    # jvp of x^3 with v = 1: 3x^2, derivative 6x (through the double-backward trick)
    _, prod = jvp(lambda t: t**3, x, vec(1.0, 1.0), create_graph=True)
    assert autodiff.autograd.grad(prod.sum(), x)[0].tolist() == [6.0, 12.0]
    # hvp/vhp of sum x^4 with v = 1: 12x^2, derivative 24x
    for product in (vhp, hvp):
        _, prod = product(lambda t: (t**4).sum(), x, vec(1.0, 1.0), create_graph=True)
        assert autodiff.autograd.grad(prod.sum(), x)[0].tolist() == [24.0, 48.0]
    # the gradient also flows into v when v requires grad: d(v^T J)/dv = J^T 1 = 3x^2
    v = vec(1.0, 1.0, requires_grad=True)
    _, prod = vjp(lambda t: t**3, x, v, create_graph=True)
    assert autodiff.autograd.grad(prod.sum(), v)[0].tolist() == [3.0, 12.0]


def test_create_graph_works_inside_no_grad():
    x = vec(1.0, 2.0, requires_grad=True)
    with autodiff.no_grad():
        plain = jacobian(lambda t: t**2, x)
        graph = jacobian(lambda t: t**2, x, create_graph=True)
        _, prod = vjp(lambda t: t**2, x, vec(1.0, 1.0), create_graph=True)
    assert plain.tolist() == graph.tolist() == [[2.0, 0.0], [0.0, 4.0]]
    assert (plain.requires_grad, graph.requires_grad, prod.requires_grad) == (False, True, True)


def test_vectorize_true_gives_the_same_jacobian_and_hessian():
    x = vec(0.3, -1.2, 0.7)
    f = SCALAR_FNS["sin_times_exp"]
    assert np.array_equal(
        arr(jacobian(VECTOR_FNS["outer_tanh"], x, vectorize=True)),
        arr(jacobian(VECTOR_FNS["outer_tanh"], x)),
    )
    assert np.array_equal(arr(hessian(f, x, vectorize=True)), arr(hessian(f, x)))


def test_forward_mode_with_vectorize_gives_the_jacobian_in_the_output_dtype():
    # f(x) = float32(x)^2 for a float64 x: forward mode gives float32 (the output's dtype).
    x = vec(1.0, 2.0)
    jac = jacobian(lambda t: t.float() ** 2, x, vectorize=True, strategy="forward-mode")
    assert (jac.dtype, jac.tolist()) == (autodiff.float32, [[2.0, 0.0], [0.0, 4.0]])
    assert jacobian(lambda t: t.float() ** 2, x).dtype == F64  # reverse mode: the input's
    # structure: tuple in, tuple out
    jac = jacobian(lambda a, b: (a * b, a), (x, vec(3.0)), vectorize=True, strategy="forward-mode")
    assert [[j.tolist() for j in row] for row in jac] == [
        [[[3.0, 0.0], [0.0, 3.0]], [[1.0], [2.0]]],
        [[[1.0, 0.0], [0.0, 1.0]], [[0.0], [0.0]]],
    ]
    hess = hessian(
        lambda t: (t**3).sum(), x, vectorize=True, outer_jacobian_strategy="forward-mode"
    )
    assert hess.tolist() == [[6.0, 0.0], [0.0, 12.0]]


def test_docstring_examples_run():
    result = doctest.testmod(functional, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 10
    assert result.failed == 0


# --- finite differences -----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SCALAR_FNS))
def test_hessian_matches_second_finite_differences(name, rng):
    fn = SCALAR_FNS[name]
    x = rng.uniform(-1.2, 1.2, size=(2, 2))
    hess = arr(hessian(fn, autodiff.tensor(x, dtype=F64)))
    np.testing.assert_allclose(hess, fd_hessian(fn, x), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(hess.reshape(4, 4), hess.reshape(4, 4).T, atol=1e-12)


@pytest.mark.parametrize("name", sorted(VECTOR_FNS))
def test_jacobian_matches_finite_differences(name, rng):
    fn = VECTOR_FNS[name]
    x = rng.uniform(-1.2, 1.2, size=(3,))
    jac = arr(jacobian(fn, autodiff.tensor(x, dtype=F64)))
    np.testing.assert_allclose(jac, fd_jacobian(fn, x), rtol=1e-6, atol=1e-7)


def test_hessian_of_two_inputs_matches_finite_differences(rng):
    # f(x, y) = sum(sin(x) * exp(y)) * sigmoid(sum(x)) with x, y of shape (2,): compare the
    # four blocks against the Hessian of the function of the concatenated vector.
    def f(x, y):
        return (x.sin() * y.exp()).sum() * x.sum().sigmoid()

    xy = rng.uniform(-1.0, 1.0, size=4)
    blocks = hessian(f, (autodiff.tensor(xy[:2], dtype=F64), autodiff.tensor(xy[2:], dtype=F64)))
    full = np.block([[arr(b) for b in row] for row in blocks])
    expected = fd_hessian(lambda v: f(v[:2], v[2:]), xy)
    np.testing.assert_allclose(full, expected, rtol=1e-5, atol=1e-5)


@given(x=points(), name=st.sampled_from(sorted(SCALAR_FNS)))
def test_hessian_property_finite_differences_and_symmetry(x, name):
    fn = SCALAR_FNS[name]
    hess = arr(hessian(fn, autodiff.tensor(x, dtype=F64)))
    assert hess.shape == x.shape + x.shape
    n = x.size
    np.testing.assert_allclose(hess.reshape(n, n), hess.reshape(n, n).T, atol=1e-10)
    np.testing.assert_allclose(hess, fd_hessian(fn, x), rtol=1e-4, atol=1e-4)


@given(x=points(), name=st.sampled_from(sorted(VECTOR_FNS)))
def test_jacobian_property_finite_differences(x, name):
    fn = VECTOR_FNS[name]
    jac = arr(jacobian(fn, autodiff.tensor(x, dtype=F64)))
    np.testing.assert_allclose(jac, fd_jacobian(fn, x), rtol=1e-5, atol=1e-6)


@given(x=points(), name=st.sampled_from(sorted(VECTOR_FNS)), data=st.data())
def test_vjp_and_jvp_are_products_with_the_jacobian(x, name, data):
    fn = VECTOR_FNS[name]
    xt = autodiff.tensor(x, dtype=F64)
    jac = arr(jacobian(fn, xt))
    out_shape = jac.shape[: jac.ndim - x.ndim]
    u = data.draw(hnp.arrays(np.float64, out_shape, elements=unit_values), label="u")
    t = data.draw(hnp.arrays(np.float64, x.shape, elements=unit_values), label="t")
    out, left = vjp(fn, xt, autodiff.tensor(u, dtype=F64))
    np.testing.assert_allclose(arr(out), evaluate(fn, x), rtol=1e-12, atol=1e-12)
    # (u^T J)_l = sum_k u_k J_kl ; (J t)_k = sum_l J_kl t_l
    n_out, n_in = int(np.prod(out_shape)), x.size
    j2 = jac.reshape(n_out, n_in)
    np.testing.assert_allclose(arr(left).reshape(-1), u.reshape(-1) @ j2, atol=1e-10)
    _, right = jvp(fn, xt, autodiff.tensor(t, dtype=F64))
    assert tuple(right.shape) == out_shape
    np.testing.assert_allclose(arr(right).reshape(-1), j2 @ t.reshape(-1), atol=1e-10)


@given(x=points(), name=st.sampled_from(sorted(SCALAR_FNS)), data=st.data())
def test_vhp_and_hvp_are_products_with_the_hessian(x, name, data):
    fn = SCALAR_FNS[name]
    xt = autodiff.tensor(x, dtype=F64)
    n = x.size
    hess = arr(hessian(fn, xt)).reshape(n, n)
    v = data.draw(hnp.arrays(np.float64, x.shape, elements=unit_values), label="v")
    out, left = vhp(fn, xt, autodiff.tensor(v, dtype=F64))
    _, right = hvp(fn, xt, autodiff.tensor(v, dtype=F64))
    np.testing.assert_allclose(arr(out), evaluate(fn, x), rtol=1e-12, atol=1e-12)
    assert left.shape == right.shape == xt.shape
    np.testing.assert_allclose(arr(left).reshape(-1), v.reshape(-1) @ hess, atol=1e-10)
    np.testing.assert_allclose(arr(right).reshape(-1), hess @ v.reshape(-1), atol=1e-10)
    # the Hessian is the Jacobian of the gradient
    grad_fn = lambda t: vjp(fn, t, create_graph=True)[1]  # noqa: E731
    np.testing.assert_allclose(arr(jacobian(grad_fn, xt)).reshape(n, n), hess, atol=1e-10)


@given(
    shapes=st.lists(small_shapes, min_size=1, max_size=3), as_tuple=st.booleans(), data=st.data()
)
def test_structure_property_over_random_input_tuples(shapes, as_tuple, data):
    # f(x_1..x_k) = sum_i sum(x_i^3) * (i + 1): H[i][j] = 0 off the diagonal, diag(6 (i+1) x_i)
    xs = tuple(
        autodiff.tensor(data.draw(hnp.arrays(np.float64, s, elements=unit_values)), dtype=F64)
        for s in shapes
    )
    if not as_tuple:
        xs = xs[:1]

    def f(*ts):
        return sum((t**3).sum() * (i + 1) for i, t in enumerate(ts))

    inputs = xs if as_tuple else xs[0]
    hess = hessian(f, inputs)
    _, grads = vjp(f, inputs)
    if not as_tuple:
        hess, grads = ((hess,),), (grads,)
    assert isinstance(hess, tuple) and isinstance(grads, tuple)
    for i, (xi, row, gi) in enumerate(zip(xs, hess, grads)):
        assert tuple(gi.shape) == tuple(xi.shape)
        np.testing.assert_allclose(arr(gi), 3 * (i + 1) * arr(xi) ** 2, atol=1e-12)
        for j, (xj, block) in enumerate(zip(xs, row)):
            assert tuple(block.shape) == tuple(xi.shape) + tuple(xj.shape)
            expected = np.zeros((xi.numel(), xj.numel()))
            if i == j:
                expected = np.diag(6 * (i + 1) * arr(xi).reshape(-1))
            np.testing.assert_allclose(arr(block).reshape(expected.shape), expected, atol=1e-12)
