"""Reductions at ties, zeros, kinks and NaNs: the gradient rules PyTorch follows there, in
closed form, and the argument forms of var, std and norm.

Finite differences cannot check a gradient where the function is not smooth, so these cases
write the expected gradient next to the input (STYLE.md E11): max/min/amax/amin split or route
the gradient among ties, prod's gradient at zeros is the product of the other entries, norm and
std have PyTorch's values at their kinks, and a NaN takes the gradient of max/min. Around them,
hypothesis checks prod at zeros against the closed form, and the var/std/norm argument forms are
checked against NumPy and finite differences.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pytest
from gradcheck_util import shapes, to_numpy, to_tensor
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numeric_checks import (
    DTYPES,
    INF,
    assert_close,
    check_first_order,
    data_rng,
    grad_of,
    rounded,
    tolerance,
)
from reduction_specs import np_norm, one_dim

import autodiff as torch

THIRD = 1 / 3
TIES = [
    # max()/min() over everything, and amax/amin: the gradient is split evenly among the ties
    ("max", lambda x: x.max(), [1.0, 1.0], None, [0.5, 0.5]),
    ("max-3-ties", lambda x: x.max(), [[1.0, 3.0], [3.0, 3.0]], None, [[0, THIRD], [THIRD, THIRD]]),
    ("min", lambda x: x.min(), [2.0, 1.0, 1.0], None, [0.0, 0.5, 0.5]),
    ("torch.max", lambda x: torch.max(x), [4.0, 4.0, 4.0, 4.0], None, [0.25] * 4),
    ("amax", lambda x: x.amax(), [1.0, 1.0], None, [0.5, 0.5]),
    ("amin", lambda x: x.amin(), [[0.0, 2.0], [0.0, 0.0]], None, [[THIRD, 0.0], [THIRD, THIRD]]),
    (
        "amax-dim",
        lambda x: x.amax(1),
        [[1.0, 1.0, 0.0], [2.0, 5.0, 5.0]],
        [1.0, 2.0],
        [[0.5, 0.5, 0.0], [0.0, 1.0, 1.0]],
    ),
    (
        "amin-dim0-keepdim",
        lambda x: x.amin(0, keepdim=True),
        [[1.0, 1.0, 0.0], [1.0, 5.0, 0.0]],
        [[1.0, 3.0, -2.0]],
        [[0.5, 3.0, -1.0], [0.5, 0.0, -1.0]],
    ),
    (
        "amax-dims",
        lambda x: torch.amax(x, (0, -1)),
        [[2.0, 1.0], [2.0, 2.0]],
        6.0,
        [[2.0, 0.0], [2.0, 2.0]],
    ),
    # max(dim)/min(dim): the whole gradient goes to the returned index, the first occurrence
    (
        "max-dim",
        lambda x: x.max(1).values,
        [[1.0, 1.0, 0.0], [2.0, 5.0, 5.0]],
        [1.0, 2.0],
        [[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]],
    ),
    (
        "min-dim0",
        lambda x: x.min(0)[0],
        [[1.0, 1.0, 0.0], [1.0, 5.0, 0.0]],
        [1.0, 2.0, 3.0],
        [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]],
    ),
    (
        "torch.max-dim-keepdim",
        lambda x: torch.max(x, -1, keepdim=True).values,
        [[7.0, 7.0]],
        [[3.0]],
        [[3.0, 0.0]],
    ),
]


@pytest.mark.parametrize("dtype", DTYPES.values(), ids=DTYPES.keys())
@pytest.mark.parametrize(
    ("fn", "x", "cotangent", "expected"),
    [case[1:] for case in TIES],
    ids=[case[0] for case in TIES],
)
def test_max_min_tie_rules(fn, x, cotangent, expected, dtype):
    _, grad = grad_of(fn, x, cotangent, dtype)
    assert grad.dtype == dtype
    np.testing.assert_allclose(to_numpy(grad), np.array(expected), rtol=1e-7, atol=0)


def test_max_dim_and_argmax_pick_the_first_occurrence():
    x = torch.tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 0.0], [5.0, 5.0, 5.0]])
    assert x.max(1).indices.tolist() == [1, 0, 0]
    assert x.min(1).indices.tolist() == [0, 1, 0]
    assert x.max(0).indices.tolist() == [2, 2, 2]
    assert x.argmax(1).tolist() == [1, 0, 0]
    assert x.argmin(1).tolist() == [0, 1, 0]
    assert x.argmax().item() == 6 and x.argmin().item() == 4  # flattened, first occurrence
    assert torch.tensor([1.0, 3.0, 3.0]).argmax().item() == 1
    assert torch.tensor([2.0, 0.0, 0.0, 1.0]).argmin(0).item() == 1


def test_max_and_min_with_dim_return_named_tuples():
    x = torch.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]], requires_grad=True)
    for call, values, indices, grad_fn in [
        (lambda: x.max(1), [5.0, 7.0], [1, 0], "MaxBackward0"),
        (lambda: torch.max(x, dim=1), [5.0, 7.0], [1, 0], "MaxBackward0"),
        (lambda: x.min(0), [1.0, 0.0, 2.0], [0, 1, 0], "MinBackward0"),
        (lambda: torch.min(x, 0), [1.0, 0.0, 2.0], [0, 1, 0], "MinBackward0"),
        (lambda: x.max(-1), [5.0, 7.0], [1, 0], "MaxBackward0"),
    ]:
        result = call()
        assert isinstance(result, tuple) and len(result) == 2
        assert result.values is result[0] and result.indices is result[1]
        v, i = result
        assert v.tolist() == values and i.tolist() == indices
        assert v.dtype == torch.float32 and i.dtype == torch.int64
        assert v.grad_fn.name() == grad_fn
        assert not i.requires_grad and i.grad_fn is None
    assert type(x.max(1)) is torch.return_types.max
    assert type(x.min(1)) is torch.return_types.min
    kept = x.max(1, keepdim=True)
    assert tuple(kept.values.shape) == (2, 1) and tuple(kept.indices.shape) == (2, 1)
    assert kept.indices.tolist() == [[1], [0]]
    kept = torch.min(x, dim=0, keepdim=True)
    assert tuple(kept[0].shape) == (1, 3) and kept[1].tolist() == [[0, 1, 0]]


@pytest.mark.parametrize(
    ("call", "reference", "grad_fn"),
    [
        (lambda x, y: x.max(y), np.maximum, "MaximumBackward0"),
        (lambda x, y: torch.max(x, y), np.maximum, "MaximumBackward0"),
        (lambda x, y: x.min(y), np.minimum, "MinimumBackward0"),
        (lambda x, y: torch.min(x, y), np.minimum, "MinimumBackward0"),
    ],
    ids=["max-method", "max-function", "min-method", "min-function"],
)
def test_max_min_with_a_tensor_are_elementwise(call, reference, grad_fn, rng):
    # EVEN and ODD bands never meet, so there is no tie; the shapes broadcast
    def band(shape: tuple[int, ...], odd: bool) -> np.ndarray:
        k = rng.integers(-1, 1, size=shape) * 2 + odd
        return k + rng.uniform(0.1, 0.9, size=shape)

    for sa, sb in [((2, 3), (2, 3)), ((3, 1), (1, 4)), ((4,), (2, 3, 4)), ((2, 3), ())]:
        a, b = band(sa, False), band(sb, True)
        out = call(to_tensor(a, torch.float64, True), to_tensor(b, torch.float64))
        assert out.grad_fn.name() == grad_fn
        assert_close(out, reference(a, b), 0.0)
        check_first_order(call, [a, b], {}, torch.float64, rng, f"{grad_fn} {sa} {sb}")


def prod_grad_closed_form(a: np.ndarray, dim: int | None, c: np.ndarray) -> np.ndarray:
    """d/dx_i <c, prod(x, dim, keepdim=True)>: c of the lane times the product of the others."""
    moved = a.reshape(1, -1) if dim is None else np.moveaxis(a, dim, -1)
    lanes = moved.reshape(-1, moved.shape[-1])
    others = np.array([[np.prod(np.delete(row, i)) for i in range(row.size)] for row in lanes])
    cotangent = np.reshape(c, (1, 1)) if dim is None else np.moveaxis(c, dim, -1)
    grad = others.reshape(moved.shape) * cotangent
    return grad.reshape(a.shape) if dim is None else np.moveaxis(grad, -1, dim)


@pytest.mark.parametrize(
    ("x", "dim", "expected"),
    [
        ([2.0, 0.0, 3.0], None, [0.0, 6.0, 0.0]),
        ([2.0, 0.0, 0.0, 3.0], None, [0.0, 0.0, 0.0, 0.0]),
        ([0.0], None, [1.0]),
        ([[2.0, 0.0, 3.0], [0.0, 0.0, 5.0], [1.0, 2.0, 3.0]], 1, [[0, 6, 0], [0, 0, 0], [6, 3, 2]]),
        (
            [[2.0, 0.0, 3.0], [0.0, 0.0, 5.0], [1.0, 2.0, 3.0]],
            0,
            [[0, 0, 15], [2, 0, 9], [0, 0, 15]],
        ),
    ],
    ids=["one-zero", "two-zeros", "single-zero", "rows", "columns"],
)
def test_prod_gradient_with_zeros_is_the_product_of_the_others(x, dim, expected):
    fn = (lambda t: t.prod()) if dim is None else (lambda t: t.prod(dim))
    out, grad = grad_of(fn, x)
    assert out.grad_fn.name() == ("ProdBackward0" if dim is None else "ProdBackward1")
    np.testing.assert_array_equal(to_numpy(grad), np.array(expected, dtype=np.float64))


@given(data=st.data())
def test_prod_gradient_with_zeros_matches_the_closed_form(data):
    shape = data.draw(shapes(1), label="shape")
    a = data.draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([0.0, 0.5, -2.0, 3.0])))
    dim = data.draw(st.one_of(st.none(), one_dim(len(shape))), label="dim")
    rng = data_rng(data)
    x = to_tensor(a, torch.float64, requires_grad=True)
    out = x.prod() if dim is None else x.prod(dim, keepdim=True)
    c = rng.standard_normal(tuple(out.shape))
    out.backward(to_tensor(c, torch.float64))
    expected = prod_grad_closed_form(a, dim, c)
    np.testing.assert_allclose(to_numpy(x.grad), expected, rtol=1e-12, atol=1e-12)


def test_prod_second_derivative_with_two_zeros():
    # prod(x0, x1, x2) at (1, 0, 0): the gradient is 0, but d2/dx1 dx2 = x0 = 1
    x = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(x.prod(), x, create_graph=True)
    assert g.tolist() == [0.0, 0.0, 0.0]
    pick = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)
    (h,) = torch.autograd.grad((g * pick).sum(), x)
    assert h.tolist() == [0.0, 1.0, 0.0]


@pytest.mark.parametrize("dtype", DTYPES.values(), ids=DTYPES.keys())
def test_prod_gradient_precision(dtype):
    # d prod / d x0 = c * x1 exactly (4e-15 for float32, 4e-20 for float64). PyTorch computes
    # c * (prod / x0); (c * prod) / x0 goes through a subnormal c * prod and loses digits.
    x0, c = (1e-30, 1e-15) if dtype == torch.float32 else (1e-300, 1e-20)
    for reduce in (lambda t: t.prod(), lambda t: t.prod(1)):
        x = torch.tensor([[x0, 4.0]], dtype=dtype, requires_grad=True)
        out = reduce(x)
        out.backward(torch.full(tuple(out.shape), c, dtype=dtype))
        assert to_numpy(x.grad)[0, 0] == pytest.approx(4 * c, rel=1e-6, abs=0)


VAR_FORMS = [
    # (call, with {op} for var and std, ddof, dim, keepdim)
    ("x.{op}()", 1, None, False),
    ("x.{op}(False)", 0, None, False),
    ("x.{op}(True)", 1, None, False),
    ("x.{op}(unbiased=False)", 0, None, False),
    ("x.{op}(correction=0)", 0, None, False),
    ("x.{op}(correction=2)", 2, None, False),
    ("x.{op}(1)", 1, 1, False),
    ("x.{op}(1, False)", 0, 1, False),
    ("x.{op}(-1, True, True)", 1, -1, True),
    ("x.{op}(dim=(0, 1), correction=0, keepdim=True)", 0, (0, 1), True),
    ("x.{op}(dim=(-1,), correction=2)", 2, (-1,), False),
    ("x.{op}(dim=None, correction=2)", 2, None, False),
    ("torch.{op}(x, False)", 0, None, False),
    ("torch.{op}(x, 0, correction=2)", 2, 0, False),
    ("torch.{op}(x, dim=1, unbiased=False, keepdim=True)", 0, 1, True),
]


@pytest.mark.parametrize("op", ["var", "std"])
@pytest.mark.parametrize(
    ("template", "ddof", "dim", "keepdim"), VAR_FORMS, ids=[form[0] for form in VAR_FORMS]
)
def test_var_std_argument_forms(template, ddof, dim, keepdim, op, rng):
    a = rng.uniform(-2, 2, size=(3, 4))
    fn = eval(f"lambda x: {template.format(op=op)}", {"torch": torch})
    reference = np.var if op == "var" else np.std
    out = fn(to_tensor(a, torch.float64, requires_grad=True))
    assert out.grad_fn.name() == ("VarBackward0" if op == "var" else "StdBackward0")
    assert_close(out, reference(a, axis=dim, ddof=ddof, keepdims=keepdim), 1e-12)
    check_first_order(fn, [a], {}, torch.float64, rng, template.format(op=op))


NORM_P_ALL: list[Any] = [1, 2, 3, INF, -INF, 0, "fro", 4, 0.5, -1]
NORM_DIMS: list[Any] = [None, 1, -1, (0, 1), (-1, 0)]


@pytest.mark.parametrize("dtype", DTYPES.values(), ids=DTYPES.keys())
@pytest.mark.parametrize("p", NORM_P_ALL, ids=str)
def test_norm_orders_and_dims(p, dtype):
    # a zero entry so that p=0 counts, and one negative row for the absolute values
    a = rounded(np.array([[1.5, 0.0, -2.0, 0.25], [-0.5, -1.0, 3.0, 0.75]]), dtype)
    for dim in NORM_DIMS:
        for keepdim in (False, True):
            expected = np_norm(a, p, dim, keepdim)
            x = to_tensor(a, dtype, requires_grad=True)
            calls = [
                x.norm(p, dim, keepdim),
                x.norm(p=p, dim=dim, keepdim=keepdim),
                torch.norm(x, p, dim, keepdim),
            ]
            if dim is None and not keepdim:
                calls.append(x.norm(p))
            for out in calls:
                assert out.dtype == dtype
                assert out.grad_fn.name() == "LinalgVectorNormBackward0"
                assert_close(out, expected, tolerance(dtype).forward, f"norm(p={p}, dim={dim})")
    assert_close(to_tensor(a, dtype).norm(), np_norm(a), tolerance(dtype).forward)


def test_norm_p0_gradient_is_undefined():
    # PyTorch's norm backward returns an undefined gradient for p=0: x.grad stays None
    x = torch.tensor([1.5, 0.0, -2.0], dtype=torch.float64, requires_grad=True)
    y = x.norm(0)
    assert y.item() == 2.0 and y.requires_grad
    y.backward()
    assert x.grad is None


@pytest.mark.parametrize(
    ("p", "x", "expected"),
    [
        # at zero entries the gradient is 0, as in PyTorch (which masks them), for every p
        (2, [0.0, 0.0], [0.0, 0.0]),
        (1, [0.0, 2.0], [0.0, 1.0]),
        (3, [0.0, 2.0], [0.0, 1.0]),
        (3, [0.0, 0.0], [0.0, 0.0]),
        (-1, [0.0, -1.0, 2.0], [0.0, 0.0, 0.0]),
        (0.5, [0.0, -1.0, 4.0], [0.0, -3.0, 1.5]),
        (INF, [1.0, -1.0, 0.5], [0.5, -0.5, 0.0]),  # ties split evenly
        (-INF, [1.0, -1.0, 2.0], [0.5, -0.5, 0.0]),
        (-INF, [0.0, -1.0, 2.0], [0.0, 0.0, 0.0]),
        ("fro", [[3.0, 0.0], [0.0, -4.0]], [[0.6, 0.0], [0.0, -0.8]]),
    ],
)
def test_norm_gradient_closed_forms(p, x, expected):
    _, grad = grad_of(lambda t: t.norm(p), x)
    np.testing.assert_allclose(to_numpy(grad), np.array(expected), rtol=1e-12, atol=0)


def test_std_of_a_constant_lane_has_zero_gradient():
    # std is not differentiable where it is 0; PyTorch masks the gradient to 0 there
    _, grad = grad_of(lambda t: t.std(), [1.0, 1.0, 1.0])
    assert to_numpy(grad).tolist() == [0.0, 0.0, 0.0]
    _, grad = grad_of(lambda t: t.std(1), [[2.0, 2.0], [1.0, 3.0]])
    np.testing.assert_allclose(to_numpy(grad), [[0.0, 0.0], [-(0.5**0.5), 0.5**0.5]])


@pytest.mark.parametrize("reduction", ["max", "min"])
def test_max_min_of_nan_give_the_gradient_to_the_nan(reduction):
    # the result is NaN; PyTorch's evenly-distributed gradient goes to the NaN entries
    out, grad = grad_of(lambda t: getattr(t, reduction)(), [1.0, math.nan, 2.0])
    assert math.isnan(out.item())
    assert to_numpy(grad).tolist() == [0.0, 1.0, 0.0]


def test_var_std_warn_when_the_degrees_of_freedom_are_not_positive():
    # PyTorch: "var(): degrees of freedom is <= 0. ... (Triggered internally at ...)", a prefix
    for op, call, expected in [
        ("var", lambda: torch.tensor([2.0]).var(), math.nan),
        ("std", lambda: torch.tensor([2.0]).std(), math.nan),
        ("var", lambda: torch.tensor([[1.0], [2.0]]).var(1), math.nan),
        ("var", lambda: torch.tensor([2.0, 3.0]).var(correction=2), math.inf),
        # PyTorch divides the numels: 0 / 0 for an empty (0, 3) input, whatever the dim
        ("var", lambda: torch.zeros(0, 3).var(1), None),
        ("std", lambda: torch.zeros(0, 3).std(1, correction=0), None),
    ]:
        message = (
            f"{op}(): degrees of freedom is <= 0. Correction should be strictly less than the "
            "reduction factor (input numel divided by output numel)."
        )
        with pytest.warns(UserWarning, match="^" + re.escape(message)):
            out = call()
        if expected is None:
            assert tuple(out.shape) == (0,)
        else:
            np.testing.assert_array_equal(to_numpy(out), np.full(tuple(out.shape), expected))
