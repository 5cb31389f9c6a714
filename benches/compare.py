"""autodiff against PyTorch, micrograd and NumPy: median times and ratios from one run.

    python benches/compare.py            # full run, 1 to 2 minutes on 2 cores
    python benches/compare.py --quick    # fewer and shorter samples, under a minute
    python benches/compare.py --only algebra   # just the tensor-algebra tables

Each case first asserts that the libraries compute the same numbers, then warms up and reports
the median of repeated samples timed with time.perf_counter_ns. "vs X" columns are X's value
divided by autodiff's ("5.00x faster": X takes 5 times as long). Memory and import time are
measured in fresh subprocesses. A library that is not installed gets an empty column.
The tensor-algebra tables (matmul, reductions and softmax, indexing and cat) show an op that
autodiff does not have yet as "n/a (not implemented)" and carry on.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import glob
import importlib
import math
import os
import statistics
import subprocess
import sys
import textwrap
import time
import zipfile
import zlib
from functools import partial
from typing import Callable, NamedTuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIBS = ("autodiff", "torch", "micrograd", "numpy")
TAPES = ("autodiff", "torch", "micrograd")
ALGEBRA_LIBS = ("autodiff", "torch", "numpy")
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
MATMUL_SIZES = (32, 128, 512, 1024)
NOT_IMPLEMENTED, WRONG = "n/a (not implemented)", "n/a (wrong result)"
TARGETS = (  # issue 2: (row label prefix, library, least ratio, what)
    ("logreg step, the seed", "torch", 10, "seed logreg step >= 10x faster than torch"),
    ("logreg step, squared", "micrograd", 2, "logreg step >= 2x faster than micrograd"),
    ("1e4-node chain: fwd + bwd", "torch", 5, "1e4 chain fwd + bwd >= 5x faster than torch"),
    ("100 elementwise", "torch", 3, "100 ops on (16,) >= 3x faster than torch"),
    ("1e6 float32 add", "torch", 1 / 1.2, "1e6 add within 1.2x of torch (both thread counts)"),
    ("bytes per", "torch", 3, "bytes per node <= 1/3 of torch's"),
)


def _unary(f, df):
    """A micrograd-style op: one node, a closure adding the local derivative times out.grad."""

    def op(self):
        out = type(self)(f(self.data), (self,), f.__name__)

        def _backward():
            self.grad += df(self.data, out.data) * out.grad

        out._backward = _backward
        return out

    return op


def load(name):
    """The library, or None when it is not installed. autodiff must import; a failure is
    retried, since another process may be reinstalling it."""
    for attempt in range(4):
        try:
            if name != "micrograd":
                return importlib.import_module(name)
            from micrograd.engine import Value  # PyPI's 0.1.0 lacks the lecture's exp and tanh

            ops = {"exp": (math.exp, lambda x, y: y), "tanh": (math.tanh, lambda x, y: 1 - y * y)}
            Value.added = [k for k in ops if not hasattr(Value, k)]
            for k in Value.added:
                setattr(Value, k, _unary(*ops[k]))
            return Value
        except ImportError:
            if name != "autodiff":
                return None
            if attempt == 3:
                raise
            time.sleep(30)


def median_ns(fn, reps, sample_s):
    """Median ns per call: warm up, size each sample to about sample_s, time reps samples."""
    for _ in range(3):
        fn()
    t0 = time.perf_counter_ns()
    fn()
    inner = max(1, int(sample_s * 1e9 / max(time.perf_counter_ns() - t0, 1)))
    samples = []
    for _ in range(reps):
        gc.collect()  # garbage of earlier samples is not charged to this one; gc stays on
        t0 = time.perf_counter_ns()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter_ns() - t0) / inner)
    return statistics.median(samples)


# The workloads. Each takes (lib, name) and returns (step, check): check() gives the numbers
# compared across libraries (float32 tensors against micrograd's float64, hence the rtols).


def logreg(lib, name, kind):
    """The seed notes' logistic-regression step: forward, loss, backward, zeroing the grads."""
    if name == "micrograd":
        w, b, x, y = lib(1.0), lib(0.0), 6.7, 0.0

        def step():
            z = w * x + b
            loss = (1 / (1 + (-z).exp()) - y) ** 2  # no sigmoid: 1/(1+exp(-z)) from its ops
            loss.backward()
            out = (loss.data, w.grad, b.grad)
            w.grad = b.grad = 0.0
            return out

        return step, step
    x, y = lib.tensor(6.7), lib.tensor(0.0)
    w, b = lib.tensor(1.0, requires_grad=True), lib.tensor(0.0, requires_grad=True)

    def step():
        z = w * x + b
        y_pred = lib.sigmoid(z)
        if kind == "bce":  # binary_cross_entropy_loss from the notes, verbatim
            p = lib.clamp(y_pred, 1e-8, 1 - 1e-8)
            loss = -(y * lib.log(p) + (1 - y) * lib.log(1 - p))
        else:
            loss = (y_pred - y) ** 2
        loss.backward()
        out = (loss.item(), w.grad.item(), b.grad.item())
        w.grad = None
        b.grad = None
        return out

    return step, step


def chain_row(lib, name, n, reps, gc_on):
    """A scalar chain of n nodes, one op per node (y = y * 1.0001), then y.backward() and
    dropping y. Returns medians (forward, backward + free, total) and the checked numbers."""
    x = lib(1.0) if name == "micrograd" else lib.tensor(1.0, requires_grad=True)
    fwd, bwd = [], []
    for i in range(reps + 2):  # the first two are warm-up
        gc.collect()
        (gc.enable if gc_on else gc.disable)()
        t0 = time.perf_counter_ns()
        y = x
        for _ in range(n):
            y = y * 1.0001
        t1 = time.perf_counter_ns()
        y.backward()
        out = (y.data, x.grad) if name == "micrograd" else (y.item(), x.grad.item())
        del y
        t2 = time.perf_counter_ns()
        gc.enable()
        x.grad = 0.0 if name == "micrograd" else None
        if i >= 2:
            fwd.append(t1 - t0)
            bwd.append(t2 - t1)
    med = statistics.median
    return (med(fwd), med(bwd), med(a + b for a, b in zip(fwd, bwd))), out


def elementwise16(lib, name, x0, n_ops=100):
    """n_ops elementwise ops on a (16,) tensor that requires grad, cycling through y*x, y+x,
    tanh(y), y-0.5; then sum() and backward(). micrograd: a list of 16 Values per tensor."""
    if name == "micrograd":
        xs = [lib(float(v)) for v in x0]
        ops = (
            lambda y: [a * b for a, b in zip(y, xs)],
            lambda y: [a + b for a, b in zip(y, xs)],
            lambda y: [a.tanh() for a in y],
            lambda y: [a - 0.5 for a in y],
        )
        loss_of, grads = sum, lambda: [v.grad for v in xs]
    else:
        x = lib.tensor(x0.tolist(), requires_grad=True)
        ops = (lambda y: y * x, lambda y: y + x, lambda y: y.tanh(), lambda y: y - 0.5)
        loss_of, grads = (lambda y: y.sum()), (lambda: x.grad.tolist())

    def step():
        y = xs if name == "micrograd" else x
        for i in range(n_ops):
            y = ops[i % 4](y)
        loss = loss_of(y)
        loss.backward()
        out = [loss.data if name == "micrograd" else loss.item(), *grads()]
        if name == "micrograd":
            for v in xs:
                v.grad = 0.0
        else:
            x.grad = None
        return out

    return step, step


def big_op(lib, name, a0, b0, op):
    """One elementwise op on 1e6 float32 elements that do not require grad."""
    a, b = (a0, b0) if name == "numpy" else (lib.tensor(a0), lib.tensor(b0))
    step = (lambda: a + b) if op == "add" else (lambda: a * b)
    return step, (lambda: step() if name == "numpy" else step().numpy())


# The tensor-algebra tables: autodiff, torch and NumPy (micrograd has no tensors).


class Case(NamedTuple):
    """One row pair (forward; forward + backward) of a tensor-algebra table."""

    label: str
    fn: Callable  # fn(lib, *arrays, *consts), written once for autodiff and torch
    np_fn: Callable | None  # NumPy's spelling of the same forward; None: NumPy sits out
    arrays: tuple  # float32 inputs; they require grad in the forward + backward row
    consts: tuple = ()  # other inputs: indices, masks, one-hot targets
    loss: Callable | None = None  # replaces fn in the forward + backward row
    tol: float = 1e-4  # rtol, and atol relative to the reference's largest magnitude


def to_numpy(t):
    return t if type(t).__module__ == "numpy" else t.detach().numpy()


def algebra(lib, name, case, backward):
    """(step, check) for one case, or None when the library sits it out. Forward: the inputs
    do not require grad. Forward + backward: they do; y.backward(g) with a fixed g of y's
    shape (a scalar y: y.backward()), then every input's .grad = None. NumPy: forward only."""
    if name == "numpy":
        if backward or case.np_fn is None:
            return None
        step = partial(case.np_fn, lib, *case.arrays, *case.consts)
        return step, lambda: [step()]
    xs = [lib.tensor(a, requires_grad=backward) for a in case.arrays]
    cs = [lib.tensor(c) for c in case.consts]
    if not backward:
        step = partial(case.fn, lib, *xs, *cs)
        return step, lambda: [to_numpy(step())]
    fn = partial(case.loss or case.fn, lib, *xs, *cs)
    shape = tuple(fn().shape)
    for x in xs:
        x.grad = None
    g, np = None, sys.modules["numpy"]
    if shape:  # the same fixed upstream gradient in every library
        g = lib.tensor(np.random.default_rng(7).standard_normal(shape, dtype=np.float32))

    def step(keep=False):  # keep: return the numbers to check (not while timed)
        y = fn()
        y.backward() if g is None else y.backward(g)
        out = [to_numpy(y), *(to_numpy(x.grad) for x in xs)] if keep else None
        for x in xs:
            x.grad = None
        return out

    return step, partial(step, keep=True)


def np_softmax(np, x, log=False):
    s = x - x.max(1, keepdims=True)
    e = np.exp(s)
    return s - np.log(e.sum(1, keepdims=True)) if log else e / e.sum(1, keepdims=True)


def np_logsumexp(np, x):
    m = x.max(1, keepdims=True)
    return (m + np.log(np.exp(x - m).sum(1, keepdims=True)))[:, 0]


def algebra_cases(np):
    """The three tables: [(title, [Case, ...]), ...]."""
    rng = np.random.default_rng(3)
    matmul = [
        Case(
            f"matmul n={n}",
            lambda lib, a, b: a @ b,
            lambda np, a, b: a @ b,
            tuple(rng.standard_normal((2, n, n), dtype=np.float32)),
            loss=lambda lib, a, b: (a @ b).sum(),
            tol=1e-3,
        )
        for n in MATMUL_SIZES
    ]

    x = rng.standard_normal((256, 1000), dtype=np.float32)
    target = rng.integers(0, 1000, 256)
    onehot = np.eye(1000, dtype=np.float32)[target]
    softmax = [
        Case("sum(1)", lambda lib, x: x.sum(1), lambda np, x: x.sum(1), (x,)),
        Case("mean()", lambda lib, x: x.mean(), lambda np, x: x.mean(), (x,)),
        Case("amax(1)", lambda lib, x: x.amax(1), lambda np, x: x.max(1), (x,)),
        Case("var(1)", lambda lib, x: x.var(1), lambda np, x: x.var(1, ddof=1), (x,)),
        Case("logsumexp(1)", lambda lib, x: x.logsumexp(1), np_logsumexp, (x,)),
        Case("softmax(1)", lambda lib, x: x.softmax(1), np_softmax, (x,)),
        Case(
            "log_softmax(1)", lambda lib, x: x.log_softmax(1), partial(np_softmax, log=True), (x,)
        ),
        Case(
            "cross-entropy, one-hot",
            lambda lib, x, oh: -(x.log_softmax(1) * oh).sum(1).mean(),
            lambda np, x, oh: -(np_softmax(np, x, log=True) * oh).sum(1).mean(),
            (x,),
            (onehot,),
        ),
        Case(
            "cross-entropy, logp[arange, t]",
            lambda lib, x, t: -x.log_softmax(1)[lib.arange(256), t].mean(),
            lambda np, x, t: -np_softmax(np, x, log=True)[np.arange(256), t].mean(),
            (x,),
            (target,),
        ),
    ]

    x = rng.standard_normal((1000, 100), dtype=np.float32)
    idx = rng.integers(0, 1000, 500)  # with repeats: the backward accumulates
    mask = rng.random(1000) < 0.5
    indexing = [
        Case("x[::2]", lambda lib, x: x[::2], lambda np, x: x[::2], (x,)),
        Case("x[:, 10:20]", lambda lib, x: x[:, 10:20], lambda np, x: x[:, 10:20], (x,)),
        Case("x[idx], 500 rows", lambda lib, x, i: x[i], lambda np, x, i: x[i], (x,), (idx,)),
        Case(
            f"x[mask], {mask.sum()} rows",
            lambda lib, x, m: x[m],
            lambda np, x, m: x[m],
            (x,),
            (mask,),
        ),
        Case(
            "cat([x, x], 0)",
            lambda lib, x: lib.cat([x, x], 0),
            lambda np, x: np.concatenate([x, x], 0),
            (x,),
        ),
        Case(
            "cat([x, x], 1)",
            lambda lib, x: lib.cat([x, x], 1),
            lambda np, x: np.concatenate([x, x], 1),
            (x,),
        ),
    ]
    return [
        ("matmul, float32 (n, n) @ (n, n); fwd + bwd: (a @ b).sum().backward()", matmul),
        ("reductions and softmax, float32 (256, 1000)", softmax),
        ("indexing and cat, float32 (1000, 100)", indexing),
    ]


def measure_algebra(libs, case, backward, reps, sample_s, notes):
    """Medians of one case per library. An op autodiff lacks (any exception while building or
    first running it), or a result that disagrees with the reference (torch; NumPy without
    torch), becomes an n/a cell and a note, and the run goes on. Other libraries' errors raise."""
    np = sys.modules["numpy"]
    vals, built, what = {}, {}, f"{case.label}, {'fwd + bwd' if backward else 'forward'}"
    for name in (n for n in ALGEBRA_LIBS if libs[n] is not None):
        try:
            pair = algebra(libs[name], name, case, backward)
            if pair is not None:
                built[name] = (pair[0], pair[1]())
        except Exception as e:
            if name != "autodiff":
                raise
            vals[name] = NOT_IMPLEMENTED
            notes.append(f"{what}: {type(e).__name__}: {str(e).splitlines()[0][:80]}")
    ref = next((built[n][1] for n in ("torch", "numpy", "autodiff") if n in built), None)
    for name, (step, got) in built.items():
        try:
            assert len(got) == len(ref), "a different number of outputs"
            for g, r in zip(got, ref):
                atol = case.tol * max(1.0, float(np.abs(r).max(initial=0)))
                np.testing.assert_allclose(g, r, rtol=case.tol, atol=atol, err_msg=what)
        except AssertionError as e:
            if name != "autodiff":
                raise
            vals[name] = WRONG
            lines = [line.strip() for line in str(e).splitlines() if line.strip()]
            notes.append(f"{what}: {' '.join(lines[:3])[:160]}")
            continue
        vals[name] = median_ns(step, reps, sample_s)
    return vals


def algebra_tables(libs, reps, sample_s):
    """Measures and prints the tensor-algebra tables, the notes on their n/a cells and the
    GEMM rates at the largest n."""
    notes, gemm, load_start = [], {}, os.getloadavg()[0]
    for title, cases in algebra_cases(sys.modules["numpy"]):
        rows = []
        for case in cases:
            for backward in (False, True):
                vals = measure_algebra(libs, case, backward, reps, sample_s, notes)
                rows.append(
                    (f"{case.label}, {'fwd + bwd' if backward else 'forward'}", vals, "time")
                )
                if case.label == f"matmul n={MATMUL_SIZES[-1]}" and not backward:
                    gemm = vals
        print(f"\n{title}")
        print_table(rows, ALGEBRA_LIBS)
    print("forward: inputs without grad; fwd + bwd: inputs with requires_grad, y.backward(g) with")
    print("a fixed g of y's shape (y.backward() for a scalar y), then .grad = None for each input.")
    print("NumPy: forward only, with its own spelling (max for amax, var(ddof=1), softmax and")
    print("logsumexp from exp/max/sum/log). x[mask]: a (1000,) bool mask of rows; idx has repeats.")
    for note in notes:
        print(f"  n/a: {note}")
    n = MATMUL_SIZES[-1]
    rates = {k: 2 * n**3 / v for k, v in gemm.items() if isinstance(v, (int, float))}
    if rates:  # flops per ns are GFLOP/s
        listed = ", ".join(f"{k} {r:.1f}" for k, r in rates.items())
        print(f"\nGEMM rate, float32 n={n}, 2n^3 / median forward, GFLOP/s: {listed}")
        best = max(rates, key=rates.get)
        if "autodiff" in rates:
            share = rates["autodiff"] / rates[best]
            print(f"autodiff reaches {share:.0%} of the best measured rate ({best})")
    load_end = os.getloadavg()[0]
    if max(load_start, load_end) > os.cpu_count():
        print(
            f"WARNING: load average {load_start:.1f} -> {load_end:.1f} on {os.cpu_count()} CPUs"
            " during these tables:\nother processes compete with them; multi-threaded rows"
            " suffer most."
        )


MEMORY_CHILD = r"""
import gc, json, os, sys
name, n = sys.argv[1], int(sys.argv[2])
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
if name == "micrograd":
    from micrograd.engine import Value as leaf
else:
    lib = __import__(name)
    leaf = lambda v: lib.tensor(v, requires_grad=True)
x = leaf(1.0)
def build(k):
    y = x
    for _ in range(k):
        y = y * 1.0001  # the previous y goes out of scope; only the graph keeps it alive
    return y
build(1000)
gc.collect()
before = rss()
y = build(n)
gc.collect()
print(json.dumps((rss() - before) / n), flush=True)
os._exit(0)  # do not spend time tearing a deep graph down
"""
IMPORT_CHILD = """import sys, time
t = time.perf_counter_ns()
import {}
print((time.perf_counter_ns() - t) / 1e6, "numpy" in sys.modules)"""


def child(args, threads):
    env = dict(os.environ, **{var: str(threads) for var in THREAD_VARS})
    for attempt in range(3):  # autodiff may be mid-reinstall: retry before giving up
        run = subprocess.run([sys.executable, "-c", *args], cwd=ROOT, env=env, capture_output=True)
        if run.returncode == 0:
            return run.stdout.decode().split()
        time.sleep(20 * (attempt < 2))
    sys.exit(f"subprocess {args[1:]} failed:\n{run.stderr.decode()}")


def wheel_lines():
    """Each wheel found, and the size of the first one that holds the native module."""
    lines, native = [], None
    found = glob.glob(f"{ROOT}/target/wheels/autodiff-*.whl") + glob.glob(f"{ROOT}/dist/*.whl")
    for path in sorted(found, key=os.path.getmtime, reverse=True):
        with zipfile.ZipFile(path) as zf:
            has_ext = any(f.endswith((".so", ".pyd")) for f in zf.namelist())
        size = os.path.getsize(path) / 1e6
        kind = "with the native module" if has_ext else "editable (no native module inside)"
        lines.append(f"{os.path.relpath(path, ROOT)}: {size:.2f} MB, {kind}")
        if has_ext and native is None:
            native = size
    if native is None:
        lines.append("no wheel with the native module: `maturin build --release` writes one to")
        lines.append("target/wheels/; run this script again afterwards")
    pkg = os.path.dirname(sys.modules["autodiff"].__file__)
    so = sys.modules["autodiff._C"].__file__
    files = [os.path.join(pkg, f) for f in os.listdir(pkg) if f.endswith((".py", ".pyi", ".so"))]
    est = sum(len(zlib.compress(open(f, "rb").read(), 6)) for f in files) / 1e6
    lines.append(f"installed {os.path.basename(so)}: {os.path.getsize(so) / 1e6:.2f} MB;")
    lines.append(f"the installed package deflated, an estimate of a wheel: {est:.2f} MB")
    return lines, native


def blas_threads():
    """Threads of the OpenBLAS that NumPy's matmul calls, read from the loaded library (Linux
    only), or "?" when it cannot be found."""
    try:
        with open("/proc/self/maps") as f:
            paths = {ln.split()[-1] for ln in f if "openblas" in ln.lower() and "/" in ln}
    except OSError:
        return "?"
    names = ("openblas_get_num_threads", "scipy_openblas_get_num_threads64_")
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for fn in (getattr(lib, n, None) for n in (*names, "openblas_get_num_threads64_")):
            if fn is not None:
                return fn()
    return "?"


def fmt_time(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3), ("ns", 1)):
        if ns >= scale or unit == "ns":
            return f"{ns / scale:.3g} {unit}"


def fmt_ratio(other, ours, unit):
    if not isinstance(other, (int, float)) or not isinstance(ours, (int, float)):
        return "-"  # missing, or an n/a string
    r, (more, fewer) = other / ours, (("faster", "slower") if unit == "time" else ("less", "more"))
    return f"{r:.2f}x {more}" if r >= 1 else f"{1 / r:.2f}x {fewer}"


def print_table(rows, libs=LIBS):
    head = ["case", *libs, *(f"vs {lib}" for lib in libs[1:])]
    body = []
    for label, vals, unit in rows:
        fmt = fmt_time if unit == "time" else (lambda v, u=unit: u % v)
        cells = [
            "-"
            if vals.get(lib) is None
            else vals[lib]
            if isinstance(vals[lib], str)
            else fmt(vals[lib])
            for lib in libs
        ]
        ratios = [fmt_ratio(vals.get(lib), vals.get("autodiff"), unit) for lib in libs[1:]]
        body.append([label, *cells, *ratios])
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    rule = "  ".join("-" * w for w in widths)
    print(rule, "  ".join(h.ljust(w) for h, w in zip(head, widths)), rule, sep="\n")
    for r in body:
        print("  ".join([r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:])]))
    print(rule)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer and shorter samples")
    ap.add_argument(
        "--threads", type=int, help="threads of torch, OpenMP, BLAS and autodiff (default: torch's)"
    )
    ap.add_argument(
        "--only",
        choices=("seed", "algebra", "training"),
        help="seed: the issue-2 table alone; algebra: the tensor-algebra tables alone; "
        "training: the training-step table alone (benches/training.py)",
    )
    args = ap.parse_args()
    if args.only == "training":
        return training_tables(args)
    if args.threads:  # before numpy and torch are imported
        os.environ.update({var: str(args.threads) for var in THREAD_VARS})
    reps, sample_s = (5, 0.005) if args.quick else (15, 0.02)
    mem_n, import_runs = (20_000, 3) if args.quick else (100_000, 7)
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 50_000))  # micrograd's recursive topo sort
    import numpy as np

    libs = {name: load(name) for name in LIBS}
    have = [name for name in LIBS if libs[name] is not None]
    torch, rows = libs["torch"], []
    threads = torch.get_num_threads() if torch else os.cpu_count()
    if torch:
        torch.set_num_threads(threads)
    load_start = os.getloadavg()[0]
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {load_start:.1f}; "
        f"installed: {', '.join(have)}"
    )
    origin = "--threads" if args.threads else "its default"
    line = (
        f"threads: {f'torch {threads} ({origin}; the 1e6 add also runs with 1); ' * bool(torch)}"
        f"autodiff {libs['autodiff'].get_num_threads()} (its thread team, for elementwise"
        " kernels of >= 65,536 elements, reductions of >= 2^20, softmax of >= 32,768,"
        " products of >= 2^21 multiply-adds);"
        f" numpy 1 for ufuncs, {blas_threads()} for matmul (OpenBLAS)"
    )
    print(textwrap.fill(line, 96))
    print(f"subprocesses: {'/'.join(THREAD_VARS)}={threads}")
    print(f"median of {reps} samples of >= {sample_s * 1e3:g} ms each, after warm-up, gc on")

    def measure(label, names, build, rtol):
        vals, ref = {}, None
        for name in (n for n in names if libs[n] is not None):
            step, check = build(libs[name], name)
            got = check()
            ref = got if ref is None else ref
            np.testing.assert_allclose(got, ref, rtol=rtol, atol=1e-6, err_msg=f"{label}: {name}")
            vals[name] = median_ns(step, reps, sample_s)
        rows.append((label, vals, "time"))

    if args.only == "algebra":
        return algebra_tables(libs, reps, sample_s)

    measure(
        "logreg step, the seed's BCE (clamp, log)", TAPES[:2], partial(logreg, kind="bce"), 1e-5
    )
    measure("logreg step, squared-error loss", TAPES, partial(logreg, kind="mse"), 1e-4)

    for gc_on in (True, False):
        res = {n: chain_row(libs[n], n, 10_000, reps, gc_on) for n in TAPES if libs[n]}
        for name, (_, out) in res.items():
            np.testing.assert_allclose(out, res["autodiff"][1], rtol=1e-3, err_msg=name)
        picks = ((0, "forward"), (1, "backward + free"), (2, "fwd + bwd")) if gc_on else ()
        for i, part in picks or ((2, "fwd + bwd"),):
            vals = {name: times[i] for name, (times, _) in res.items()}
            rows.append((f"1e4-node chain{'' if gc_on else ', gc off'}: {part}", vals, "time"))

    x0 = np.random.default_rng(0).uniform(0.5, 1.0, 16).astype(np.float32)
    measure("100 elementwise ops on (16,), fwd + bwd", TAPES, partial(elementwise16, x0=x0), 1e-4)

    a0, b0 = np.random.default_rng(1).standard_normal((2, 1_000_000), dtype=np.float32)
    one_thread = (("add", 1),) if torch and threads > 1 else ()
    for op, n_threads in (("add", threads), ("mul", threads), *one_thread):
        if torch:
            torch.set_num_threads(n_threads)
        label = f"1e6 float32 {op}, no grad" + (f", torch {n_threads} thr." if torch else "")
        measure(label, LIBS[:2] + LIBS[3:], partial(big_op, a0=a0, b0=b0, op=op), 1e-6)
    if torch:
        torch.set_num_threads(threads)

    mem = {n: float(child([MEMORY_CHILD, n, str(mem_n)], threads)[0]) for n in TAPES if libs[n]}
    rows.append((f"bytes per scalar node, RSS of a {mem_n:.0e} chain", mem, "%.0f B"))
    imports, numpy_too = {}, False
    for name in have:
        runs = [
            child([IMPORT_CHILD.format(name.replace("micrograd", "micrograd.engine"))], threads)
            for _ in range(import_runs)
        ]
        imports[name] = statistics.median(float(ms) for ms, _ in runs)
        numpy_too |= name == "autodiff" and runs[0][1] == "True"
    rows.append((f"import time, median of {import_runs} processes", imports, "%.1f ms"))

    print()
    print_table(rows)
    print("micrograd has no log or clamp, so it sits out the BCE row; in the squared-error row")
    print("it builds sigmoid as 1/(1+(-z).exp()): 5 recorded ops where the others record 1.")
    print("Chain: y = x, then y = y * 1.0001 10,000 times (one op, one node each); its backward")
    print("includes dropping the graph. gc off: CPython's cycle collector is disabled while timed.")
    print("Zeroing grads: `.grad = None` for tensors, `.grad = 0.0` for micrograd. In the (16,)")
    print("row micrograd holds 16 Values per tensor (16 nodes per op; sum() adds 16 more).")
    if libs["micrograd"] is not None and libs["micrograd"].added:
        added = " and ".join(libs["micrograd"].added)
        print(f"This micrograd lacks {added}: added in its own style (one node and a closure),")
        print("as in the lecture version of micrograd.")
    print(f"`import autodiff` {'imports' if numpy_too else 'does not import'} numpy.")
    load_end = os.getloadavg()[0]
    if max(load_start, load_end) > os.cpu_count():
        print(
            f"WARNING: load average {load_start:.1f} -> {load_end:.1f} on {os.cpu_count()} CPUs:"
            " other processes compete with this run;\nmulti-threaded rows suffer most."
        )

    lines, wheel_mb = wheel_lines()
    print("\nwheel:", *lines, sep="\n  ")

    print("\ntargets of issue 2 (ratio: the other library's time or bytes / autodiff's):")
    for prefix, other, need, text in TARGETS:
        found = [v for label, v, _ in rows if label.startswith(prefix) and other in v]
        r = min((v[other] / v["autodiff"] for v in found), default=None)
        verdict = "n/a" if r is None else ("met" if r >= need else "MISSED")
        print(f"  {verdict:6} {text}" + ("" if r is None else f": {r:.2f}x"))
    ok = imports["autodiff"] <= 50
    print(f"  {'met' if ok else 'MISSED':6} import autodiff <= 50 ms: {imports['autodiff']:.1f} ms")
    verdict = "n/a" if wheel_mb is None else ("met" if wheel_mb <= 5 else "MISSED")
    print(f"  {verdict:6} wheel <= 5 MB" + ("" if wheel_mb is None else f": {wheel_mb:.2f} MB"))

    if args.only != "seed":
        algebra_tables(libs, reps, sample_s)
        print()
        training_tables(args)


def training_tables(args):
    """Issue 5's training steps, each library in its own process (benches/training.py)."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import training

    training.main(["--quick"] * args.quick + ["--threads", str(args.threads)] * bool(args.threads))


if __name__ == "__main__":
    main()
