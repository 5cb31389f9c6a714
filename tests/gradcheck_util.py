"""Finite-difference gradient checks and input generators for the op tests (STYLE.md E10).

The oracle is jax's ``check_grads``: float64 central differences of a *scalarised* function.
For an op ``f`` and a random cotangent ``c`` (what ``backward(gradient=c)`` feeds in),

    phi(x) = <c, f(x)>,     grad phi = J^T c  (= x.grad after ``f(x).backward(gradient=c)``).

Small inputs compare J^T c element by element against (phi(x + eps e_i) - phi(x - eps e_i)) / 2eps,
which gives readable failures once hypothesis has shrunk an example. Larger inputs compare one
random direction t, <J^T c, t> = <c, J t>, which costs two evaluations whatever the size.

Values cross between NumPy and the library only through ``to_tensor`` and ``to_numpy``.
The one import of the library is ``import autodiff as torch``; replacing that line with
``import torch`` runs the same checks against PyTorch.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autodiff as torch

# Central differences: truncation error ~ EPS**2 * f''' / 6, rounding error ~ 1e-16 * |phi| / EPS,
# both far below 1e-7 for the O(1) values and derivatives the domains below allow.
EPS = 1e-6
# Up to this many elements an input gets its full finite-difference gradient, element by element.
FULL_GRADIENT_MAX = 8

MAX_SIDE = 4
MAX_DIMS = 3
# Broadcasting pairs that must come up (PYTORCH_SEMANTICS.md 2.16), both ways round.
BROADCAST_PAIRS: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...] = (
    ((3, 1), (1, 4)),
    ((), (2, 3)),
    ((2, 3), ()),
    ((4,), (2, 3, 4)),
    ((2, 3, 4), (4,)),
    ((2, 1, 4), (3, 1)),
    ((1,), (3,)),
)


@dataclass(frozen=True)
class Tol:
    """rtol = atol, as the values and derivatives in the op domains are all O(1)."""

    forward: float  # output against the float64 NumPy reference
    grad: float  # analytic gradient against float64 finite differences


TOL64 = Tol(forward=1e-12, grad=1e-6)
TOL32 = Tol(forward=2e-6, grad=2e-4)


def np_dtype(dtype: Any) -> type:
    return np.float64 if dtype == torch.float64 else np.float32


def to_tensor(array: Any, dtype: Any, requires_grad: bool = False) -> Any:
    return torch.tensor(
        np.asarray(array, dtype=np_dtype(dtype)), dtype=dtype, requires_grad=requires_grad
    )


def to_numpy(tensor: Any) -> np.ndarray:
    """A float64 copy, so that later in-place accumulation into ``.grad`` cannot alias it.

    The ``+ 0`` materialises PyTorch's lazy zero tensors (the double-backward of abs returns
    one), which refuse ``.numpy()``.
    """
    return np.array((tensor.detach() + 0).numpy(), dtype=np.float64)


def backward_create_graph(out: Any, gradient: Any) -> None:
    """``out.backward(gradient, create_graph=True)`` without PyTorch's reference-cycle warning.

    PyTorch emits that UserWarning once per process (PYTORCH_SEMANTICS.md 2.3), so no single
    test can ``pytest.warns`` it; its own test belongs with the backward() semantics tests.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore",
            message=re.escape("Using backward() with create_graph=True"),
            category=UserWarning,
        )
        out.backward(gradient=gradient, create_graph=True)


# --- input domains ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Domain:
    """A union of open intervals that inputs are drawn from (jax's ``rng_factory``)."""

    intervals: tuple[tuple[float, float], ...]

    @functools.cache  # noqa: B019 (a few module-level domains, kept forever)
    def elements(self) -> st.SearchStrategy[float]:
        return st.one_of(
            *(
                st.floats(lo, hi, exclude_min=True, exclude_max=True, allow_subnormal=False)
                for lo, hi in self.intervals
            )
        )

    def sample(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        lo, hi = np.array(self.intervals).T
        pick = rng.integers(len(self.intervals), size=shape)
        return np.asarray(rng.uniform(lo[pick], hi[pick]), dtype=np.float64)


def between(lo: float, hi: float) -> Domain:
    return Domain(((lo, hi),))


def avoiding(lo: float, hi: float, *points: float, margin: float = 0.1) -> Domain:
    """(lo, hi) without a band of +-margin around each point (kinks, poles, clamp bounds)."""
    edges = [lo]
    for p in sorted(points):
        edges += [p - margin, p + margin]
    edges.append(hi)
    return Domain(tuple(zip(edges[::2], edges[1::2])))


# Strategies are cached: hypothesis validates each new strategy object on its first draw, which
# costs more than the draw itself.


@functools.cache
def arrays_in(shape: tuple[int, ...], domain: Domain) -> st.SearchStrategy[np.ndarray]:
    """float64 arrays of the given shape with every element in the domain."""
    return hnp.arrays(np.float64, shape, elements=domain.elements())


@functools.cache
def shapes(min_dims: int = 0) -> st.SearchStrategy[tuple[int, ...]]:
    return hnp.array_shapes(min_dims=min_dims, max_dims=MAX_DIMS, min_side=1, max_side=MAX_SIDE)


@functools.cache
def shape_tuples(nargs: int, min_dims: int = 0) -> st.SearchStrategy[tuple[tuple[int, ...], ...]]:
    """One shape per tensor input; several inputs are mutually broadcastable."""
    if nargs == 1:
        return shapes(min_dims).map(lambda s: (s,))
    drawn = hnp.mutually_broadcastable_shapes(
        num_shapes=nargs, min_dims=0, max_dims=MAX_DIMS, min_side=1, max_side=MAX_SIDE
    ).map(lambda r: r.input_shapes)
    if nargs == 2:
        return st.one_of(st.sampled_from(BROADCAST_PAIRS), drawn)
    return drawn


# --- finite differences -----------------------------------------------------------------------

ArrayFn = Callable[[Sequence[np.ndarray]], float]


def scalarised(fn: Callable[..., Any], c: np.ndarray, kwargs: dict[str, Any]) -> ArrayFn:
    """phi(arrays) = <c, fn(arrays)>, evaluated by the library in float64."""

    def phi(arrays: Sequence[np.ndarray]) -> float:
        out = fn(*(to_tensor(a, torch.float64) for a in arrays), **kwargs)
        return float(np.sum(to_numpy(out) * c))

    return phi


def first_order_grads(
    fn: Callable[..., Any], arrays: Sequence[np.ndarray], kwargs: dict[str, Any], c: np.ndarray
) -> list[np.ndarray]:
    """J^T c for each input, by one float64 ``backward(gradient=c)``; an unreached input gives 0."""
    xs = [to_tensor(a, torch.float64, requires_grad=True) for a in arrays]
    out = fn(*xs, **kwargs)
    out.backward(gradient=to_tensor(c, out.dtype))
    return [np.zeros_like(a) if x.grad is None else to_numpy(x.grad) for x, a in zip(xs, arrays)]


def _shifted(arrays: Sequence[np.ndarray], k: int, step: np.ndarray) -> list[np.ndarray]:
    out = list(arrays)
    out[k] = arrays[k] + step
    return out


def central_difference(f: ArrayFn, arrays: Sequence[np.ndarray], k: int, t: np.ndarray) -> float:
    """d/ds f(arrays with arrays[k] + s t) at s = 0, by central differences in float64."""
    return (f(_shifted(arrays, k, EPS * t)) - f(_shifted(arrays, k, -EPS * t))) / (2 * EPS)


def numerical_gradient(f: ArrayFn, arrays: Sequence[np.ndarray], k: int) -> np.ndarray:
    """The full gradient of f with respect to arrays[k], one element at a time."""
    x = arrays[k]
    grad = np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        unit = np.zeros(x.shape)
        unit[index] = 1.0
        grad[index] = central_difference(f, arrays, k, unit)
    return grad


def check_gradient(
    f: ArrayFn,
    arrays: Sequence[np.ndarray],
    k: int,
    grad: np.ndarray,
    tol: float,
    rng: np.random.Generator,
    what: str,
) -> None:
    """Assert that ``grad`` is the gradient of f with respect to arrays[k]."""
    if arrays[k].size <= FULL_GRADIENT_MAX:
        expected = numerical_gradient(f, arrays, k)
        np.testing.assert_allclose(grad, expected, rtol=tol, atol=tol, err_msg=what)
        return
    t = rng.standard_normal(arrays[k].shape)
    numeric = central_difference(f, arrays, k, t)
    analytic = float(np.sum(grad * t))
    # Each element may be off by tol * (1 + |g_i|); weighted by |t_i| and summed.
    bound = tol * float(np.sum(np.abs(t)) + np.sum(np.abs(grad * t)))
    assert abs(analytic - numeric) <= bound, (
        f"{what}: <grad, t> = {analytic!r} but finite differences give {numeric!r} "
        f"(allowed {bound:.3g}, input shape {arrays[k].shape})"
    )
