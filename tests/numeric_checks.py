"""Checks shared by tests/test_linalg.py, tests/test_reductions.py and tests/test_softmax.py.

- dtypes and tolerances: float32 results against a float64 NumPy reference (``rounded`` gives the
  values a float32 tensor really holds);
- memory layouts: a ``Layout`` stores an array in a leaf of another shape (transposed, permuted,
  or interleaved with junk) and ``view`` recovers a non-contiguous tensor equal to it;
- gradients: first derivatives in float32 or float64 against float64 central differences, and
  second derivatives (``create_graph=True`` twice) against differences of the first;
- the tables' common vocabulary: ``ones(module, ...)`` and ``leaves(module, ...)`` build inputs
  in autodiff or in torch, so that every table runs on both;
- the PyTorch oracle: ``check_against_torch`` compares values, dtypes, ``grad_fn`` names and
  every input's gradient with PyTorch's.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pytest
from gradcheck_util import (
    TOL64,
    Tol,
    between,
    check_gradient,
    first_order_grads,
    np_dtype,
    scalarised,
    to_numpy,
    to_tensor,
)
from hypothesis import strategies as st

import autodiff as torch

INF = math.inf
DTYPES = {"float64": torch.float64, "float32": torch.float32}
# float32 results against the float64 NumPy reference, and float32 gradients against float64
# finite differences: sums of up to 64 terms of size <= 2, products of up to 64 factors.
TOL32 = Tol(forward=2e-5, grad=3e-4)
REAL = between(-2.0, 2.0)


def raises(exc: type[BaseException], message: str) -> Any:
    """pytest.raises for the whole, exact message."""
    return pytest.raises(exc, match=f"^{re.escape(message)}$")


def tolerance(dtype: Any) -> Tol:
    return TOL64 if dtype == torch.float64 else TOL32


def rounded(a: np.ndarray, dtype: Any) -> np.ndarray:
    """The float64 copy of ``a`` rounded to ``dtype``: the values a tensor of that dtype holds."""
    return np.asarray(a, dtype=np_dtype(dtype)).astype(np.float64)


def assert_close(out: Any, expected: np.ndarray, tol: float, what: str = "") -> None:
    assert tuple(out.shape) == expected.shape, f"{what}: shape {tuple(out.shape)}"
    np.testing.assert_allclose(to_numpy(out), expected, rtol=tol, atol=tol, err_msg=what)


# --- memory layouts ------------------------------------------------------------------------------
# A layout stores the values of ``a`` in a leaf tensor of another shape or with extra elements,
# and ``view`` recovers a tensor equal to ``a`` that is not contiguous. Gradients flow to the
# stored array, so the finite differences see the layout as part of the function.


def _has_step_slicing() -> bool:
    try:
        return torch.zeros(4)[::2].shape == (2,)
    except (TypeError, NotImplementedError, IndexError, ValueError):
        return False


HAS_STEP_SLICING = _has_step_slicing()


@dataclass(frozen=True)
class Layout:
    name: str
    store: Callable[[np.ndarray], np.ndarray]
    view: Callable[[Any], Any]


def _interleave(a: np.ndarray) -> np.ndarray:
    """``a`` at the even positions of its last dim, junk (7.25) at the odd ones."""
    if a.ndim == 0:
        return a
    out = np.full((*a.shape[:-1], 2 * a.shape[-1]), 7.25)
    out[..., ::2] = a
    return out


LAYOUTS = [
    Layout("contiguous", lambda a: a, lambda x: x),
    # .t() for 0-d to 2-d, transpose(0, -1) above
    Layout(
        "transposed",
        lambda a: np.swapaxes(a, 0, -1) if a.ndim > 2 else a.T,
        lambda x: x.transpose(0, -1) if x.dim() > 2 else x.t(),
    ),
    Layout("permuted", lambda a: a.T, lambda x: x.permute(*reversed(range(x.dim())))),
]
if HAS_STEP_SLICING:
    LAYOUTS.append(
        Layout("sliced", _interleave, lambda x: x[..., ::2] if x.dim() > 0 else x),
    )
LAYOUT_IDS = [layout.name for layout in LAYOUTS]


def laid_out(layout: Layout, fn: Callable[..., Any]) -> Callable[..., Any]:
    """fn applied to the views of its (stored) tensor arguments."""
    return lambda *xs, **kw: fn(*(layout.view(x) for x in xs), **kw)


def data_rng(data: st.DataObject) -> np.random.Generator:
    # cotangents and directions only need to be generic, not shrunk
    return np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))


# --- gradient checks ---------------------------------------------------------------------------


def check_first_order(
    fn: Callable[..., Any],
    arrays: list[np.ndarray],
    kw: dict[str, Any],
    dtype: Any,
    rng: np.random.Generator,
    what: str,
) -> None:
    """backward(gradient=c) in ``dtype`` against float64 finite differences of <c, fn(x)>."""
    xs = [to_tensor(a, dtype, requires_grad=True) for a in arrays]
    out = fn(*xs, **kw)
    assert out.requires_grad and out.grad_fn is not None, what
    c = np.asarray(rng.standard_normal(tuple(out.shape)))
    out.backward(gradient=to_tensor(c, out.dtype))
    phi = scalarised(fn, c, kw)
    for k, x in enumerate(xs):
        where = f"{what}: d/d(input {k})"
        assert x.grad is not None, f"{where}: .grad is None"
        assert tuple(x.grad.shape) == arrays[k].shape, f"{where}: grad shape {x.grad.shape}"
        assert x.grad.dtype == dtype and x.grad.grad_fn is None, where
        check_gradient(phi, arrays, k, to_numpy(x.grad), tolerance(dtype).grad, rng, where)


def check_second_order(
    fn: Callable[..., Any],
    arrays: list[np.ndarray],
    kw: dict[str, Any],
    rng: np.random.Generator,
    what: str,
) -> None:
    """g = autograd.grad(fn(x), x, c, create_graph=True); autograd.grad(<v, g>, x) against
    float64 finite differences of x -> <v, g(x)>."""
    xs = [to_tensor(a, torch.float64, requires_grad=True) for a in arrays]
    out = fn(*xs, **kw)
    c = np.asarray(rng.standard_normal(tuple(out.shape)))
    grads = torch.autograd.grad(
        out, xs, grad_outputs=to_tensor(c, torch.float64), create_graph=True
    )
    assert len(grads) == len(xs)
    vs = [rng.standard_normal(a.shape) for a in arrays]
    s = None
    for k, (g, v) in enumerate(zip(grads, vs)):
        assert tuple(g.shape) == arrays[k].shape, what
        assert g.requires_grad and g.grad_fn is not None, f"{what}: gradient {k} has no graph"
        term = (g * to_tensor(v, torch.float64)).sum()
        s = term if s is None else s + term
    second = torch.autograd.grad(s, xs)

    def s_of(arrs: list[np.ndarray]) -> float:
        firsts = first_order_grads(fn, arrs, kw, c)
        return sum(float(np.sum(v * g)) for v, g in zip(vs, firsts))

    for k, h in enumerate(second):
        assert tuple(h.shape) == arrays[k].shape and h.grad_fn is None, what
        check_gradient(s_of, arrays, k, to_numpy(h), 1e-5, rng, f"{what}: d2/d(input {k})")


def grad_of(fn: Callable[[Any], Any], values: Any, cotangent: Any = None, dtype: Any = None) -> Any:
    """(fn(x), x.grad) after fn(x).backward(cotangent or ones)."""
    x = torch.tensor(values, dtype=dtype or torch.float64, requires_grad=True)
    out = fn(x)
    out.backward(
        torch.ones_like(out) if cotangent is None else torch.tensor(cotangent, dtype=x.dtype)
    )
    return out, x.grad


# --- inputs for the tables, in autodiff or in torch ---------------------------------------------

Shapes = list[tuple[int, ...]]


def leaves(module: Any, shape_list: Shapes, rng: np.random.Generator) -> list[Any]:
    return [
        module.tensor(rng.uniform(-2, 2, size=s), dtype=module.float64, requires_grad=True)
        for s in shape_list
    ]


def check_grad_fn_name(
    module: Any, fn: Callable[..., Any], shape_list: Shapes, name: str, rng: np.random.Generator
) -> Any:
    """``fn`` on leaves of ``module`` has PyTorch's ``grad_fn`` name; returns its output."""
    out = fn(module, *leaves(module, shape_list, rng))
    assert out.grad_fn.name() == name
    return out


def check_integer_input(module: Any, fn: Callable[[Any], Any], value: Any, dtype: str) -> Any:
    """``fn(module)`` has the dtype and value PyTorch gives; returns it."""
    out = fn(module)
    assert out.dtype == getattr(module, dtype)
    assert out.tolist() == (pytest.approx(value, rel=1e-6) if dtype == "float32" else value)
    return out


def ones(m: Any, *shape: int, dtype: str = "float32") -> Any:
    return m.ones(*shape, dtype=getattr(m, dtype))


def long_2x3(m: Any) -> Any:
    return m.tensor([[1, 5, 2], [7, 0, 3]])


DIM_RANGE_2D = "Dimension out of range (expected to be in range of [-2, 1], but got {})"


# --- against PyTorch -----------------------------------------------------------------------------
# Each oracle case: (id, fn(module, *tensors), make(rng) -> the input arrays).


def uniform(
    *shape_list: tuple[int, ...], lo: float = -2.0, hi: float = 2.0, offset: float = 0.0
) -> Callable[[np.random.Generator], list[np.ndarray]]:
    return lambda rng: [rng.uniform(lo, hi, size=s) + offset for s in shape_list]


def fixed(values: Any) -> Callable[[np.random.Generator], list[np.ndarray]]:
    return lambda rng: [np.array(values, dtype=np.float64)]


TORCH_TOL = {"float64": 1e-10, "float32": 1e-5}


def compare_arrays(ours: Any, theirs: Any, tol: float, what: str) -> None:
    a = np.asarray(ours.detach().numpy())
    b = np.asarray(theirs.detach().numpy())
    assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
    assert a.dtype == b.dtype, f"{what}: dtype {a.dtype} != {b.dtype}"
    if a.dtype.kind == "f":
        finite = b[np.isfinite(b)]
        scale = max(1.0, float(np.max(np.abs(finite)))) if finite.size else 1.0
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol * scale, err_msg=what)
    else:
        np.testing.assert_array_equal(a, b, err_msg=what)


def check_against_torch(
    fn: Callable[..., Any],
    make: Callable[[np.random.Generator], list[np.ndarray]],
    dtype: str,
    torch_ref: Any,
) -> None:
    # values, dtypes, requires_grad, grad_fn names and every input's gradient (None included),
    # for two random draws (inputs where the generator is random, and cotangents)
    for seed in (0, 1):
        rng = np.random.default_rng(seed)
        arrays = [a.astype(np_dtype(getattr(torch, dtype))) for a in make(rng)]
        outs, grads = [], []
        cotangent = None
        for m in (torch, torch_ref):
            xs = [m.tensor(a, requires_grad=True) for a in arrays]
            out = fn(m, *xs)
            outs.append(out)
            if out.requires_grad:
                if cotangent is None:
                    cotangent = rng.standard_normal(tuple(out.shape)).astype(arrays[0].dtype)
                out.backward(m.tensor(cotangent))
            grads.append([x.grad for x in xs])
        ours, theirs = outs
        tol = TORCH_TOL[dtype]
        compare_arrays(ours, theirs, tol, f"forward (seed {seed})")
        assert ours.requires_grad == theirs.requires_grad
        assert (ours.grad_fn and ours.grad_fn.name()) == (theirs.grad_fn and theirs.grad_fn.name())
        for k, (g, h) in enumerate(zip(*grads)):
            assert (g is None) == (h is None), f"input {k}: grad {g} but torch gives {h}"
            if g is not None:
                compare_arrays(g, h, tol, f"d/d(input {k}) (seed {seed})")
