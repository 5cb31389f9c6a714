"""The kernels' thread team from Python: ``get_num_threads`` / ``set_num_threads`` with
PyTorch's checks and messages, and the same results at every thread count (products split
into per-thread blocks, elementwise kernels, reductions, softmax and optimizer updates)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numeric_checks import raises

import autodiff as torch


@pytest.fixture
def threads() -> Iterator[Callable[[int], None]]:
    """Sets the thread count for one test and restores it afterwards."""
    before = torch.get_num_threads()
    yield torch.set_num_threads
    torch.set_num_threads(before)


def at_each_count(fn: Callable[[], Any], counts: tuple[int, ...] = (1, 2, 3)) -> list[np.ndarray]:
    results = []
    for count in counts:
        torch.set_num_threads(count)
        results.append(np.asarray(fn()))
    return results


# --- the thread count --------------------------------------------------------------------------


def test_set_num_threads_round_trips(threads):
    for count in (1, 3, 2):
        threads(count)
        assert torch.get_num_threads() == count
    threads(np.int64(4))
    assert torch.get_num_threads() == 4


def run_python(code: str, **env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"} | env
    done = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_count_starts_from_omp_num_threads_else_the_cpus():
    code = "import autodiff; print(autodiff.get_num_threads())"
    assert run_python(code, OMP_NUM_THREADS="3") == "3"
    default = int(run_python(code))
    assert 0 < default <= (os.cpu_count() or 1)


BAD_COUNTS = [
    (0, RuntimeError, "set_num_threads expects a positive integer"),
    (-1, RuntimeError, "set_num_threads expects a positive integer"),
    (1.5, RuntimeError, "set_num_threads expects an int, but got float"),
    (True, RuntimeError, "set_num_threads expects an int, but got bool"),
    ("2", RuntimeError, "set_num_threads expects an int, but got str"),
    (None, RuntimeError, "set_num_threads expects an int, but got NoneType"),
]


@pytest.mark.parametrize(("value", "exc", "message"), BAD_COUNTS, ids=repr)
def test_bad_counts_are_refused_with_pytorchs_message(value, exc, message, threads):
    threads(2)
    with raises(exc, message):
        torch.set_num_threads(value)
    assert torch.get_num_threads() == 2


@pytest.mark.parametrize(("value", "exc", "message"), BAD_COUNTS, ids=repr)
def test_pytorch_refuses_the_same_counts(value, exc, message):
    torch_ref = pytest.importorskip("torch")
    with raises(exc, message):
        torch_ref.set_num_threads(value)


# --- the same numbers at every count -----------------------------------------------------------


@given(
    n=st.integers(1, 300),
    k=st.integers(1, 300),
    m=st.integers(1, 300),
    transpose_b=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_products_of_any_shape_match_numpy_at_every_count(n, k, m, transpose_b, seed):
    # Shapes on both sides of the size above which a product is split, and odd sizes whose
    # column and row blocks do not fall on the split's alignment.
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, k)).astype(np.float32)
    b = rng.standard_normal((m, k) if transpose_b else (k, m)).astype(np.float32)
    ta, tb = torch.tensor(a), torch.tensor(b)
    right = tb.t() if transpose_b else tb
    expected = a.astype(np.float64) @ (b.T if transpose_b else b).astype(np.float64)
    before = torch.get_num_threads()
    try:
        for got in at_each_count(lambda: (ta @ right).numpy()):
            np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.sqrt(k))
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("bias_shape", [(128,), (1, 128), (64, 1), (64, 128), ()], ids=str)
@pytest.mark.parametrize(("beta", "alpha"), [(1.0, 1.0), (0.5, 2.0), (-1.0, 0.25)])
def test_addmm_adds_its_bias_in_every_block(bias_shape, beta, alpha, rng, threads):
    x = rng.standard_normal((64, 784)).astype(np.float32)
    w = rng.standard_normal((128, 784)).astype(np.float32)
    bias = rng.standard_normal(bias_shape).astype(np.float32)
    expected = beta * bias.astype(np.float64) + alpha * (x.astype(np.float64) @ w.T)
    tx, tw, tbias = torch.tensor(x), torch.tensor(w), torch.tensor(bias)
    for got in at_each_count(
        lambda: torch.addmm(tbias, tx, tw.t(), beta=beta, alpha=alpha).numpy()
    ):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-3)


def test_addmm_with_zero_beta_ignores_nan_in_its_input():
    # PyTorch: "If beta is 0, then input will be ignored, and nan and inf in it will not be
    # propagated."
    bias = torch.tensor([float("nan"), float("inf")])
    out = torch.addmm(bias, torch.ones(3, 2), torch.ones(2, 2), beta=0)
    np.testing.assert_array_equal(out.numpy(), np.full((3, 2), 2.0))


def test_batched_products_split_by_batch_match_numpy(rng, threads):
    a = rng.standard_normal((8, 64, 96))
    b = rng.standard_normal((8, 96, 64))
    ta, tb = torch.tensor(a), torch.tensor(b)
    for got in at_each_count(lambda: (ta @ tb).numpy()):
        np.testing.assert_allclose(got, a @ b, rtol=1e-12, atol=1e-12)


def test_large_elementwise_reduction_and_softmax_agree_bit_for_bit(rng, threads):
    # These split into independent runs of elements or lanes: the thread count changes who
    # computes what, never the order of a sum.
    x = torch.tensor(rng.standard_normal((512, 1024)).astype(np.float32))
    kernels = {
        "exp": lambda: x.exp().numpy(),
        "mul": lambda: (x * (x + 1)).numpy(),
        "sum(1)": lambda: x.sum(1).numpy(),
        "amax(1)": lambda: x.amax(1).numpy(),
        "softmax": lambda: x.softmax(1).numpy(),
        "log_softmax(0)": lambda: x.log_softmax(0).numpy(),
    }
    for name, kernel in kernels.items():
        first, *others = at_each_count(kernel)
        for other in others:
            np.testing.assert_array_equal(other, first, err_msg=name)


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_large_cat_matches_numpy_at_every_count(dim, rng, threads):
    # Above the size at which the copy is split into ranges: the ranges cross row and block
    # boundaries; one input is a transposed view, one is empty along `dim`.
    shape = [60, 40, 80]
    parts = []
    for size in (17, 0, 29):
        part_shape = list(shape)
        part_shape[dim] = size
        parts.append(rng.standard_normal(part_shape).astype(np.float32))
    transposed = np.ascontiguousarray(parts[2].swapaxes(0, 1))
    inputs = [
        torch.tensor(parts[0]),
        torch.tensor(parts[1]),
        torch.tensor(transposed).transpose(0, 1),
    ]
    expected = np.concatenate(parts, axis=dim)
    for got in at_each_count(lambda: torch.cat(inputs, dim).numpy()):
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("make", ["SGD", "Adam"])
def test_optimizer_updates_agree_bit_for_bit(make, rng, threads):
    # 2^19 parameters: above the size at which an update is split across the team.
    start = rng.standard_normal(1 << 19).astype(np.float32)
    grads = [rng.standard_normal(1 << 19).astype(np.float32) for _ in range(3)]

    def train() -> np.ndarray:
        p = torch.nn.Parameter(torch.tensor(start))
        options = {"lr": 0.1, "momentum": 0.9} if make == "SGD" else {"lr": 0.1}
        opt = getattr(torch.optim, make)([p], **options)
        for g in grads:
            p.grad = torch.tensor(g)
            opt.step()
        return p.detach().numpy()

    first, *others = at_each_count(train)
    for other in others:
        np.testing.assert_array_equal(other, first)


def test_training_gives_the_same_losses_at_one_and_two_threads(threads):
    def losses() -> list[float]:
        torch.manual_seed(0)
        model = torch.nn.Sequential(
            torch.nn.Linear(784, 128), torch.nn.Tanh(), torch.nn.Linear(128, 10)
        )
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
        x, y = torch.randn(64, 784), torch.randint(0, 10, (64,))
        out = []
        for _ in range(5):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            out.append(loss.item())
        return out

    one, two = at_each_count(losses, counts=(1, 2))
    np.testing.assert_allclose(two, one, rtol=1e-5)
    assert two[-1] < two[0]


# --- a forked child ----------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX-only")
def test_a_forked_child_runs_products_on_its_own_thread(rng, threads):
    threads(2)
    a = torch.tensor(rng.standard_normal((200, 300)))
    b = torch.tensor(rng.standard_normal((300, 200)))
    expected = (a @ b).numpy()  # the team and its helper exist before the fork
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit status
        ok = np.allclose((a @ b).numpy(), expected) and np.allclose(
            torch.addmm(a[:, :200], a, b).numpy(), a.numpy()[:, :200] + expected
        )
        os._exit(0 if ok else 1)
    deadline = time.monotonic() + 60
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung")
        time.sleep(0.01)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
