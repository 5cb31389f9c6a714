"""Graph memory is released, checked by counting rather than eyeballing (STYLE.md E12).

``autodiff._C._live_nodes()`` counts the autograd nodes alive in the process; every test here
brings it back to its starting value. Tensors support weak references, so an intermediate's
lifetime is checked directly. Million-node chains run in a subprocess, so that a stack overflow
in a recursive drop or backward kills that interpreter only, not the test run.

Replacing ``import autodiff as torch`` with ``import torch`` (plus a stub ``torch._C._live_nodes``
returning 0) runs this file against PyTorch; only ``test_live_node_counter_counts_graph_nodes``
then cannot pass, and it is the test that keeps the others from passing vacuously.
"""

from __future__ import annotations

import gc
import math
import re
import subprocess
import sys
import textwrap
import warnings
import weakref

import pytest

import autodiff as torch

LIB = torch.__name__

FREED = "Trying to backward through the graph a second time"


def live_nodes() -> int:
    gc.collect()  # a tensor kept alive only by a reference cycle must not count
    return torch._C._live_nodes()


def chain(x, n):
    """n alternating mul/add nodes: y = (...((x * 1.5) + 1) * 1.5 ...)."""
    y = x
    for i in range(n):
        y = y * 1.5 if i % 2 == 0 else y + 1.0
    return y


def test_live_node_counter_counts_graph_nodes():
    start = live_nodes()
    x = torch.tensor(1.0, requires_grad=True)
    with torch.no_grad():
        z = chain(x, 10)  # nothing is recorded under no_grad
    assert live_nodes() == start
    assert z.grad_fn is None
    y = chain(x, 10)
    assert live_nodes() >= start + 10  # at least one node per recorded op
    del y, x
    assert live_nodes() == start


def test_training_loop_returns_to_start():
    # loss = (sum_i w_i u_i + b - 2)^2 for a fixed u; 100 steps of SGD by hand.
    start = live_nodes()
    w = torch.tensor([0.5, -0.5, 0.25], dtype=torch.float64, requires_grad=True)
    b = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    u = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    per_step = []
    for step in range(100):
        loss = ((w * u).sum() + b - 2.0) ** 2
        loss.backward()
        r = ((w * u).sum() + b - 2.0).item()
        # d loss/dw_i = 2 r u_i, d loss/db = 2 r
        assert w.grad.tolist() == pytest.approx([2 * r * 1.0, 2 * r * 2.0, 2 * r * 3.0])
        assert b.grad.item() == pytest.approx(2 * r)
        with torch.no_grad():
            w_new = w - 0.01 * w.grad
            b_new = b - 0.01 * b.grad
        w = w_new.requires_grad_()
        b = b_new.requires_grad_()
        del loss
        if step % 10 == 9:
            per_step.append(live_nodes())
    assert len(set(per_step)) == 1  # no growth from one step to the next
    # the loop did train: r = w.u + b - 2 shrinks by 1 - 0.02 (|u|^2 + 1) = 0.7 a step from -1.75
    assert abs(r) < 1e-6
    del w, b, u
    gc.collect()
    assert live_nodes() == start


def test_zeroing_grads_in_a_loop_returns_to_start():
    # The same leaves across steps, with grad.zero_() (in place) and grad = None (set_to_none).
    start = live_nodes()
    w = torch.ones(4, requires_grad=True)
    for step in range(100):
        out = (w * w * 0.5).sum()  # d/dw = w = 1
        out.backward()
        assert w.grad.tolist() == [1.0] * 4
        if step % 2:
            w.grad.zero_()
        else:
            w.grad = None
    del out, w
    assert live_nodes() == start


def used_leaf():
    """A leaf that has been used once, so that whatever a used leaf keeps (say, its
    gradient accumulator) is counted before a test takes its base line."""
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    warm = x * 2
    del warm
    return x


def test_dropping_an_unbackwarded_graph_frees_it():
    start = live_nodes()
    x = used_leaf()
    base = live_nodes()
    y = chain(x, 1000).sum()
    mid = x * 2
    branch = (mid * mid).exp().sum()
    del y, mid, branch
    assert live_nodes() == base
    del x
    assert live_nodes() == start


def test_retained_and_freed_graphs_return_to_start_after_backward():
    start = live_nodes()
    x = used_leaf()
    base = live_nodes()
    y = (chain(x, 200) * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    del y
    assert live_nodes() == base
    z = chain(x, 200).sum()
    z.backward()
    del z
    assert live_nodes() == base
    del x
    assert live_nodes() == start


def test_intermediate_dies_after_backward_and_del():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    z = (y * y).sum()  # MulBackward0 saves y (both operands)
    ref = weakref.ref(y)
    z.backward()
    del y
    gc.collect()
    assert ref() is None
    assert x.grad.tolist() == [8.0, 16.0]  # d/dx sum (2x)^2 = 8x


def test_intermediate_dies_when_its_graph_is_dropped_without_backward():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    z = (y * y).sum()
    refs = [weakref.ref(y), weakref.ref(z)]
    del y, z
    gc.collect()
    assert [r() for r in refs] == [None, None]


def test_saved_buffers_are_released_after_backward():
    # Without retain_graph the saved tensors are gone: the second backward raises, while a
    # retained graph can run again and then frees its buffers on the last, non-retained call.
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    z = (y * y).sum()
    ref = weakref.ref(y)
    del y
    z.backward()
    gc.collect()
    assert ref() is None
    with pytest.raises(RuntimeError, match=re.escape(FREED)):
        z.backward()
    assert x.grad.tolist() == [18.0, 36.0]  # d/dx sum (3x)^2 = 18x, accumulated once
    x.grad = None
    w = (x.exp() * x).sum()
    w.backward(retain_graph=True)
    w.backward()
    with pytest.raises(RuntimeError, match=re.escape(FREED)):
        w.backward()
    # d/dx sum x e^x = (1 + x) e^x, twice
    assert x.grad.tolist() == pytest.approx([2 * 2 * math.e, 2 * 3 * math.e**2])


def test_create_graph_cycle_is_broken_by_resetting_grad():
    # backward(create_graph=True) links x -> x.grad -> its graph -> x; PyTorch documents that
    # setting x.grad = None breaks the cycle, after which everything is freed. (The warning
    # itself is checked in test_semantics, in a fresh interpreter.)
    start = live_nodes()
    x = torch.tensor(2.0, requires_grad=True)
    y = x**3
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=re.escape("Using backward() with create_graph"))
        y.backward(create_graph=True)
    assert x.grad.item() == 12.0  # 3x^2
    assert x.grad.grad_fn is not None
    del y
    x.grad = None
    del x
    assert live_nodes() == start


# --- million-node chains, each in a fresh interpreter ------------------------------------------

N = 1_000_000
C = 1 + 1e-7


def run_python(body: str) -> list[str]:
    code = f"import {LIB} as torch\n" + textwrap.dedent(body)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.split()


def test_million_node_chain_backward_and_free():
    # y = (...((x c) + 1) c + 1 ...): N/2 muls and N/2 adds, so dy/dx = c^(N/2).
    out = run_python(
        f"""
        start = torch._C._live_nodes()
        x = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
        y = x
        for _ in range({N // 2}):
            y = y * {C!r} + 1.0
        y.backward()
        print(repr(x.grad.item()))
        del y
        print(torch._C._live_nodes() - start)
        """
    )
    assert float(out[0]) == pytest.approx(C ** (N // 2), rel=1e-9)  # c^(N/2) ~ e^0.05 = 1.0513
    assert int(out[1]) == 0


def test_million_node_chain_dropped_without_backward():
    out = run_python(
        f"""
        start = torch._C._live_nodes()
        x = torch.tensor([1.0, 2.0], requires_grad=True)
        y = x
        for _ in range({N}):
            y = y * 1.0
        print(y.grad_fn.name())
        del y
        print(torch._C._live_nodes() - start, x.grad is None)
        """
    )
    assert out == ["MulBackward0", "0", "True"]
