"""Creation ops and the random generator: arange, linspace, eye, rand, randn, randint, the
``*_like`` factories, manual_seed / initial_seed.

Values are compared against NumPy, dtypes and messages against PyTorch 2.15 (checked against
torch itself when it is installed). The generator is checked for exact repetition under a seed,
within one process and across processes, and for loose statistical sanity with a fixed seed.
The numbers themselves differ from PyTorch's (a different algorithm), so only their
distribution is tested.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any, Callable

import numpy as np
import pytest

import autodiff as torch

# PyTorch's default seed, which a process starts from until manual_seed is called.
DEFAULT_SEED = 67280421310721


def run_python(code: str) -> str:
    """Run ``code`` in a fresh interpreter and return what it prints."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


# --- arange -------------------------------------------------------------------------------------

ARANGE_CASES: list[tuple[str, Callable[[Any], Any], Any, np.ndarray]] = [
    ("end_int", lambda t: t.arange(5), "int64", np.arange(5)),
    ("start_end_int", lambda t: t.arange(1, 4), "int64", np.arange(1, 4)),
    ("int_step", lambda t: t.arange(1, 10, 3), "int64", np.arange(1, 10, 3)),
    ("negative_int_step", lambda t: t.arange(5, 0, -1), "int64", np.arange(5, 0, -1)),
    ("negative_step_past", lambda t: t.arange(5, -4, -3), "int64", np.arange(5, -4, -3)),
    ("empty_int", lambda t: t.arange(0, 0), "int64", np.arange(0, 0)),
    ("end_float", lambda t: t.arange(5.0), "float32", np.arange(5.0)),
    ("float_start", lambda t: t.arange(0.5, 3), "float32", np.arange(0.5, 3)),
    ("float_step", lambda t: t.arange(0, 1, 0.25), "float32", np.arange(0, 1, 0.25)),
    ("float_step_inexact", lambda t: t.arange(0, 1, 0.1), "float32", np.arange(0, 1, 0.1)),
    ("negative_float_step", lambda t: t.arange(5, 0, -1.5), "float32", np.arange(5, 0, -1.5)),
    ("dtype_float64", lambda t: t.arange(5, dtype=t.float64), "float64", np.arange(5.0)),
    (
        "dtype_float64_step",
        lambda t: t.arange(-1, 1, 0.3, dtype=t.float64),
        "float64",
        np.arange(-1, 1, 0.3),
    ),
    ("dtype_int64_from_floats", lambda t: t.arange(0.0, 5, dtype=t.int64), "int64", np.arange(5)),
    ("dtype_float32_from_ints", lambda t: t.arange(3, dtype=t.float32), "float32", np.arange(3.0)),
    ("keywords", lambda t: t.arange(start=1, end=5, step=2), "int64", np.arange(1, 5, 2)),
    ("end_keyword_only", lambda t: t.arange(end=4), "int64", np.arange(4)),
    ("0d_tensor_end", lambda t: t.arange(t.tensor(3)), "int64", np.arange(3)),
]


@pytest.mark.parametrize(
    "name, call, dtype, expected", ARANGE_CASES, ids=[c[0] for c in ARANGE_CASES]
)
def test_arange(name, call, dtype, expected):
    y = call(torch)
    assert y.dtype == getattr(torch, dtype)
    assert tuple(y.shape) == expected.shape
    assert not y.requires_grad and y.is_leaf
    if dtype == "int64":
        assert y.tolist() == expected.tolist()
    else:
        tol = 1e-6 if dtype == "float32" else 1e-14
        np.testing.assert_allclose(y.numpy(), expected, rtol=tol, atol=tol)


@pytest.mark.parametrize(
    "name, call, dtype, expected", ARANGE_CASES, ids=[c[0] for c in ARANGE_CASES]
)
def test_arange_against_torch(name, call, dtype, expected):
    real = pytest.importorskip("torch")
    theirs = call(real)
    assert str(theirs.dtype) == f"torch.{dtype}"
    assert tuple(theirs.shape) == expected.shape
    ours = call(torch)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-6)


def test_arange_length_follows_ceil_of_the_span():
    rng = np.random.default_rng(3)
    for _ in range(200):
        start = round(float(rng.uniform(-10, 10)), 2)
        step = float(rng.choice([-1, 1])) * round(float(rng.uniform(0.05, 3)), 3)
        end = round(start + step * float(rng.integers(0, 30)) + float(rng.uniform(-0.5, 0.5)), 3)
        if (end - start) * step < 0:
            continue
        y = torch.arange(start, end, step, dtype=torch.float64)
        expected = np.arange(start, end, step)
        assert y.shape == expected.shape, (start, end, step)
        np.testing.assert_allclose(y.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_arange_requires_grad():
    y = torch.arange(3.0, requires_grad=True)
    assert y.requires_grad and y.is_leaf and y.grad_fn is None
    (y * y).sum().backward()
    assert y.grad.tolist() == [0.0, 2.0, 4.0]


ARANGE_ERRORS: list[tuple[str, type, str, Callable[[Any], Any]]] = [
    ("zero_step", RuntimeError, "step must be nonzero", lambda t: t.arange(0, 5, 0)),
    ("zero_float_step", RuntimeError, "step must be nonzero", lambda t: t.arange(0.0, 1.0, 0.0)),
    (
        "negative_step_upward",
        RuntimeError,
        "upper bound and lower bound inconsistent with step sign",
        lambda t: t.arange(0, 5, -1),
    ),
    (
        "positive_step_downward",
        RuntimeError,
        "upper bound and lower bound inconsistent with step sign",
        lambda t: t.arange(5.0, 0.0, 0.5),
    ),
    (
        "infinite_end",
        RuntimeError,
        "unsupported range: 0 -> inf",
        lambda t: t.arange(0, float("inf")),
    ),
    (
        "int_requires_grad",
        RuntimeError,
        "Only Tensors of floating point and complex dtype can require gradients",
        lambda t: t.arange(5, requires_grad=True),
    ),
]


@pytest.mark.parametrize(
    "name, exc, message, call", ARANGE_ERRORS, ids=[c[0] for c in ARANGE_ERRORS]
)
def test_arange_errors(name, exc, message, call):
    with pytest.raises(exc) as info:
        call(torch)
    assert type(info.value) is exc
    assert str(info.value) == message


@pytest.mark.parametrize(
    "name, exc, message, call", ARANGE_ERRORS, ids=[c[0] for c in ARANGE_ERRORS]
)
def test_arange_errors_against_torch(name, exc, message, call):
    real = pytest.importorskip("torch")
    with pytest.raises(exc) as info:
        call(real)
    assert type(info.value) is exc and str(info.value) == message


# --- linspace -----------------------------------------------------------------------------------

LINSPACE_CASES = [
    (0, 1, 5),
    (1, 0, 5),
    (-1, 1, 7),
    (-3.7, 11.2, 13),
    (2.5, 2.5, 4),
    (0, 1, 2),
    (1e-3, 1e3, 50),
    (-5, 5, 100),
]


@pytest.mark.parametrize("start, end, steps", LINSPACE_CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_linspace_values_and_exact_endpoints(start, end, steps, dtype):
    y = torch.linspace(start, end, steps, dtype=getattr(torch, dtype))
    assert y.dtype == getattr(torch, dtype) and y.shape == (steps,)
    nd = np.dtype(dtype).type
    expected = np.linspace(start, end, steps)
    scale = max(abs(start), abs(end))
    tol = 2e-7 if dtype == "float32" else 1e-15
    np.testing.assert_allclose(y.numpy(), expected, rtol=0, atol=tol * scale)
    values = y.tolist()
    assert values[0] == float(nd(start)) and values[-1] == float(nd(end))
    # monotone in the direction of travel
    diffs = np.diff(y.numpy())
    assert np.all(diffs >= 0) if end >= start else np.all(diffs <= 0)


def test_linspace_defaults_to_float32():
    y = torch.linspace(0, 10, steps=3)
    assert y.dtype == torch.float32 and y.tolist() == [0.0, 5.0, 10.0]


def test_linspace_zero_and_one_steps():
    empty = torch.linspace(0, 1, 0)
    assert empty.shape == (0,) and empty.dtype == torch.float32
    # one step gives the start, as in PyTorch and NumPy
    assert torch.linspace(0, 1, 1).tolist() == [0.0]
    assert torch.linspace(2.0, 3.0, 1).tolist() == [2.0]
    assert torch.linspace(-4, 9, 1, dtype=torch.float64).tolist() == [-4.0]
    assert np.linspace(2.0, 3.0, 1).tolist() == [2.0]


def test_linspace_int64_and_requires_grad():
    assert torch.linspace(0, 10, 4, dtype=torch.int64).tolist() == [0, 3, 6, 10]
    y = torch.linspace(0, 1, 3, requires_grad=True)
    assert y.requires_grad and y.is_leaf


def test_linspace_negative_steps():
    with pytest.raises(RuntimeError) as info:
        torch.linspace(0, 1, -1)
    assert str(info.value) == "number of steps must be non-negative"


@pytest.mark.parametrize("start, end, steps", [*LINSPACE_CASES, (0, 1, 0), (0, 1, 1), (3, -2, 1)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_linspace_against_torch(start, end, steps, dtype):
    real = pytest.importorskip("torch")
    ours = torch.linspace(start, end, steps, dtype=getattr(torch, dtype))
    theirs = real.linspace(start, end, steps, dtype=getattr(real, dtype))
    # the same up to rounding (PyTorch fills the second half backwards from the end)
    tol = (2e-7 if dtype == "float32" else 1e-15) * max(abs(start), abs(end), 1)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=0, atol=tol)


def test_linspace_negative_steps_message_is_torch_message():
    real = pytest.importorskip("torch")
    with pytest.raises(RuntimeError, match="^number of steps must be non-negative$"):
        real.linspace(0, 1, -1)


# --- eye ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [(0,), (1,), (3,), (2, 3), (3, 2), (4, 0), (0, 4)])
def test_eye(args):
    y = torch.eye(*args)
    assert y.dtype == torch.float32
    np.testing.assert_array_equal(y.numpy(), np.eye(*args))


def test_eye_dtypes_and_requires_grad():
    assert torch.eye(2, dtype=torch.int64).tolist() == [[1, 0], [0, 1]]
    assert torch.eye(2, 3, dtype=torch.bool).tolist() == [
        [True, False, False],
        [False, True, False],
    ]
    assert torch.eye(3, dtype=torch.float64).dtype == torch.float64
    y = torch.eye(2, requires_grad=True)
    assert y.requires_grad and y.is_leaf
    (y * 3).sum().backward()
    assert y.grad.tolist() == [[3.0, 3.0], [3.0, 3.0]]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda t: t.eye(-1), "n must be greater or equal to 0, got -1"),
        (lambda t: t.eye(2, -1), "m must be greater or equal to 0, got -1"),
    ],
)
def test_eye_errors(call, message):
    with pytest.raises(RuntimeError) as info:
        call(torch)
    assert str(info.value) == message


def test_eye_error_messages_are_torch_messages():
    real = pytest.importorskip("torch")
    for n, m, which in ((-1, 2, "n"), (2, -1, "m")):
        with pytest.raises(RuntimeError) as info:
            real.eye(n, m)
        assert str(info.value) == f"{which} must be greater or equal to 0, got -1"


# --- rand, randn, randint -----------------------------------------------------------------------


@pytest.mark.parametrize("factory", ["rand", "randn"])
def test_rand_randn_shapes_and_dtypes(factory):
    f = getattr(torch, factory)
    assert f(2, 3).shape == (2, 3)
    assert f((2, 3)).shape == (2, 3)
    assert f([4]).shape == (4,)
    assert f(0).shape == (0,)
    assert f(2, 0, 3).shape == (2, 0, 3)
    assert f(5).dtype == torch.float32
    assert f(2, 2, dtype=torch.float64).dtype == torch.float64
    assert f(3, dtype=torch.float32).dtype == torch.float32
    y = f(2, requires_grad=True)
    assert y.requires_grad and y.is_leaf and y.grad_fn is None
    assert not f(2).requires_grad


@pytest.mark.parametrize(
    "call, shape",
    [
        (lambda t: t.rand(size=(2, 3)), (2, 3)),
        (lambda t: t.randn(size=(4,)), (4,)),
        (lambda t: t.randint(0, 10, size=(3,)), (3,)),
        (lambda t: t.randint(10, size=(2, 2)), (2, 2)),
    ],
    ids=["rand", "randn", "randint_low_high", "randint_high"],
)
def test_size_keyword(call, shape):
    assert tuple(call(torch).shape) == shape


def test_randint_forms_and_dtypes():
    a = torch.randint(5, (3, 4))
    assert a.shape == (3, 4) and a.dtype == torch.int64
    assert all(0 <= v < 5 for v in a.flatten().tolist())
    b = torch.randint(-3, 2, (50,))
    assert b.dtype == torch.int64
    assert set(b.tolist()) <= {-3, -2, -1, 0, 1}
    c = torch.randint(2, 5, [7])
    assert c.shape == (7,) and set(c.tolist()) <= {2, 3, 4}
    f = torch.randint(4, (100,), dtype=torch.float32)
    assert f.dtype == torch.float32
    assert all(v == int(v) and 0 <= v < 4 for v in f.tolist())
    d = torch.randint(0, 3, (2,), dtype=torch.float64, requires_grad=True)
    assert d.requires_grad and d.dtype == torch.float64
    assert torch.randint(1, (4,)).tolist() == [0, 0, 0, 0]
    big = torch.randint(-(2**62), 2**62, (200,)).numpy()
    assert big.min() < -(2**60) and big.max() > 2**60  # the whole 64-bit range is reachable


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_rand_values_in_unit_interval(dtype):
    torch.manual_seed(11)
    u = torch.rand(100_000, dtype=getattr(torch, dtype)).numpy()
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.01
    assert abs(u.var() - 1 / 12) < 0.005
    # all the bits of the mantissa are used, not a coarse grid
    assert len(np.unique(u)) > 99_000


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_randn_moments(dtype):
    torch.manual_seed(12)
    z = torch.randn(100_000, dtype=getattr(torch, dtype)).numpy().astype(np.float64)
    assert abs(z.mean()) < 0.02
    assert abs(z.std() - 1) < 0.02
    assert abs(np.mean(z**3)) < 0.05  # symmetric
    assert abs(np.mean(z**4) - 3) < 0.15  # normal tails
    assert np.mean(np.abs(z) < 1) == pytest.approx(0.6827, abs=0.01)


def test_randint_covers_its_range_uniformly():
    torch.manual_seed(13)
    low, high, n = 3, 10, 70_000
    values = torch.randint(low, high, (n,)).numpy()
    assert values.min() == low and values.max() == high - 1
    counts = np.bincount(values - low, minlength=high - low)
    expected = n / (high - low)
    chi2 = float(np.sum((counts - expected) ** 2 / expected))
    # 6 degrees of freedom: P(chi2 > 30) is about 4e-5
    assert chi2 < 30, counts


RANDOM_ERRORS: list[tuple[Callable[[Any], Any], type, str]] = [
    (
        lambda t: t.rand(2, dtype=t.int64),
        NotImplementedError,
        "\"check_uniform_bounds\" not implemented for 'Long'",
    ),
    (
        lambda t: t.rand(2, dtype=t.bool),
        NotImplementedError,
        "\"check_uniform_bounds\" not implemented for 'Bool'",
    ),
    (
        lambda t: t.randn(2, dtype=t.int64),
        NotImplementedError,
        "\"normal_kernel_cpu\" not implemented for 'Long'",
    ),
    (
        lambda t: t.rand_like(t.zeros(2, dtype=t.int64)),
        NotImplementedError,
        "\"check_uniform_bounds\" not implemented for 'Long'",
    ),
    (
        lambda t: t.randint(5, 5, (2,)),
        RuntimeError,
        "random_ expects 'from' to be less than 'to', but got from=5 >= to=5",
    ),
    (
        lambda t: t.randint(0, (3,)),
        RuntimeError,
        "random_ expects 'from' to be less than 'to', but got from=0 >= to=0",
    ),
    (
        lambda t: t.randint(5, (3,), requires_grad=True),
        RuntimeError,
        "Only Tensors of floating point and complex dtype can require gradients",
    ),
    (
        lambda t: t.rand(-1),
        RuntimeError,
        "Trying to create tensor with negative dimension -1: [-1]",
    ),
]


@pytest.mark.parametrize("call, exc, message", RANDOM_ERRORS)
def test_random_factory_errors(call, exc, message):
    with pytest.raises(exc) as info:
        call(torch)
    assert type(info.value) is exc
    assert str(info.value) == message


def test_random_factory_errors_against_torch():
    real = pytest.importorskip("torch")
    for call, exc, message in RANDOM_ERRORS:
        with pytest.raises(exc) as info:
            call(real)
        assert type(info.value) is exc and str(info.value) == message


# --- *_like -------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_like_factories_keep_shape_and_dtype(dtype):
    src = torch.zeros(2, 3, dtype=getattr(torch, dtype), requires_grad=True)
    for make in (
        torch.rand_like,
        torch.randn_like,
        torch.empty_like,
        torch.zeros_like,
        torch.ones_like,
        lambda s: torch.full_like(s, 7),
    ):
        y = make(src)
        assert y.shape == (2, 3) and y.dtype == src.dtype
        # the source's requires_grad is not copied
        assert not y.requires_grad and y.is_leaf
    assert torch.zeros_like(src).tolist() == [[0.0] * 3] * 2
    assert torch.ones_like(src).tolist() == [[1.0] * 3] * 2
    assert torch.full_like(src, 7).tolist() == [[7.0] * 3] * 2
    u = torch.rand_like(src).numpy()
    assert np.all((u >= 0) & (u < 1))


def test_like_factories_dtype_and_requires_grad_arguments():
    src = torch.zeros(4, dtype=torch.int64)
    assert torch.ones_like(src).tolist() == [1, 1, 1, 1]
    assert torch.ones_like(src, dtype=torch.float32).dtype == torch.float32
    assert torch.zeros_like(src, dtype=torch.float64).dtype == torch.float64
    assert torch.rand_like(src, dtype=torch.float32).dtype == torch.float32
    assert torch.randn_like(src, dtype=torch.float64).dtype == torch.float64
    assert torch.empty_like(src).dtype == torch.int64
    assert torch.full_like(src, 2.7).tolist() == [2, 2, 2, 2]  # cast to the source's dtype
    assert torch.full_like(src, 2, dtype=torch.float32).tolist() == [2.0] * 4
    assert torch.full_like(torch.zeros(2, dtype=torch.bool), 2).tolist() == [True, True]
    y = torch.full_like(torch.zeros(2), 1.5, requires_grad=True)
    assert y.requires_grad and y.is_leaf and y.tolist() == [1.5, 1.5]
    z = torch.zeros_like(torch.zeros(2, 0, 3))
    assert z.shape == (2, 0, 3)


def test_like_factories_of_0d_and_non_contiguous_sources():
    assert torch.ones_like(torch.tensor(3.0)).shape == ()
    assert torch.rand_like(torch.tensor(3.0)).shape == ()
    src = torch.zeros(2, 3).t()
    for make in (torch.rand_like, torch.zeros_like, torch.empty_like, lambda s: torch.ones_like(s)):
        assert make(src).shape == (3, 2)


def test_like_factories_preserve_the_strides_of_a_dense_source():
    # PyTorch's default memory_format=torch.preserve_format keeps a transposed layout
    src = torch.zeros(2, 3).t()
    for make in (
        torch.rand_like,
        torch.randn_like,
        torch.zeros_like,
        torch.ones_like,
        torch.empty_like,
        lambda s: torch.full_like(s, 1.0),
    ):
        assert make(src).stride() == (1, 3)


def test_like_strides_against_torch():
    real = pytest.importorskip("torch")
    src = real.zeros(2, 3).t()
    for make in (real.rand_like, real.zeros_like, real.empty_like, real.ones_like):
        assert make(src).stride() == (1, 3)


# --- manual_seed and initial_seed ---------------------------------------------------------------


def _draw_all() -> list[Any]:
    """One of each random factory, in a fixed order."""
    return [
        torch.rand(5).tolist(),
        torch.randn(2, 3).tolist(),
        torch.randint(0, 100, (6,)).tolist(),
        torch.rand(3, dtype=torch.float64).tolist(),
        torch.randn_like(torch.zeros(4, dtype=torch.float64)).tolist(),
        torch.rand_like(torch.zeros(2)).tolist(),
        torch.randint(7, (2, 2), dtype=torch.float32).tolist(),
    ]


def test_manual_seed_repeats_the_sequence_exactly():
    torch.manual_seed(2024)
    first = _draw_all()
    torch.manual_seed(2024)
    assert _draw_all() == first
    # the sequence goes on: a second draw differs from the first
    assert _draw_all() != first


def test_different_seeds_give_different_numbers():
    draws = []
    for seed in (0, 1, 2, 2**40, -1):
        torch.manual_seed(seed)
        draws.append(torch.rand(8).tolist())
    assert len({tuple(d) for d in draws}) == len(draws)


def test_reseeding_mid_stream_restarts():
    torch.manual_seed(5)
    a = torch.rand(10).tolist()
    torch.manual_seed(5)
    b = torch.rand(4).tolist() + torch.rand(6).tolist()
    assert a == b


def test_initial_seed_and_the_returned_generator():
    g = torch.manual_seed(123)
    assert torch.initial_seed() == 123
    assert g.initial_seed() == 123
    assert isinstance(torch.initial_seed(), int)
    assert torch.manual_seed(2**63 + 5).initial_seed() == 2**63 + 5
    # negative seeds wrap to unsigned 64 bits, as in PyTorch
    assert torch.manual_seed(-1).initial_seed() == 2**64 - 1
    # manual_seed returns the default generator, which can seed itself again
    assert g.manual_seed(9).initial_seed() == 9 and torch.initial_seed() == 9


def test_initial_seed_against_torch():
    real = pytest.importorskip("torch")
    for seed in (0, 123, 2**63 + 5, -1):
        assert real.manual_seed(seed).initial_seed() == torch.manual_seed(seed).initial_seed()


def test_fresh_process_starts_from_the_default_seed():
    out = run_python(
        """
        import json
        import autodiff as torch
        first = torch.rand(4).tolist()
        seed = torch.initial_seed()
        torch.manual_seed(seed)
        print(json.dumps([seed, first, torch.rand(4).tolist()]))
        """
    )
    seed, first, again = json.loads(out)
    assert seed == DEFAULT_SEED
    assert first == again


def test_same_seed_same_numbers_across_processes():
    out = run_python(
        """
        import json
        import autodiff as torch
        torch.manual_seed(4321)
        print(json.dumps([
            torch.rand(5).tolist(),
            torch.randn(3, dtype=torch.float64).tolist(),
            torch.randint(-50, 50, (8,)).tolist(),
        ]))
        """
    )
    torch.manual_seed(4321)
    here = [
        torch.rand(5).tolist(),
        torch.randn(3, dtype=torch.float64).tolist(),
        torch.randint(-50, 50, (8,)).tolist(),
    ]
    assert json.loads(out) == here
    # and again in this process, after other draws
    torch.rand(100)
    torch.manual_seed(4321)
    assert torch.rand(5).tolist() == here[0]


def test_randperm_is_a_permutation_reproducible_by_seed():
    torch.manual_seed(5)
    first = torch.randperm(50)
    torch.manual_seed(5)
    second = torch.randperm(50)
    assert first.dtype == torch.int64 and first.shape == (50,)
    assert sorted(first.tolist()) == list(range(50))
    assert first.tolist() == second.tolist()
    assert torch.randperm(0).shape == (0,)
    assert torch.randperm(4, dtype=torch.float64).dtype == torch.float64


def test_randperm_draws_every_order():
    # Fisher-Yates gives each of the 3! orders of three items; 600 draws see all of them.
    torch.manual_seed(0)
    orders = {tuple(torch.randperm(3).tolist()) for _ in range(600)}
    assert len(orders) == 6


def test_randperm_rejects_negative_sizes():
    with pytest.raises(RuntimeError, match=r"negative dimension -1: \[-1\]"):
        torch.randperm(-1)
