"""Training-step benchmarks of issue 5: autodiff against PyTorch, each in its own process.

    python benches/training.py              # all cases, PyTorch's default thread count
    python benches/training.py --threads 1  # one thread for both libraries
    python benches/training.py --quick      # fewer samples

(`python benches/compare.py --only training` runs the same.) Every case is one training
script written once against the `torch` API and run under `import torch` and
`import autodiff as torch`, each library in a fresh process with the same thread count, so
neither competes with the other's thread pool. The time is the median of several samples of
whole steps (zero_grad, forward, loss, backward, optimizer step), after warm-up.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
LIBS = ("autodiff", "torch")


def mlp_case(torch, sizes, batch, activation, optimizer):
    """A step of an MLP with `sizes`, cross-entropy on random classes."""
    torch.manual_seed(0)
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(fan_in, fan_out), activation()]
    model = torch.nn.Sequential(*layers[:-1])
    opt = optimizer(model.parameters())
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.randn(batch, sizes[0])
    y = torch.randint(0, sizes[-1], (batch,))

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def digits_case(torch, epochs):
    """The digits example's training run end to end: 64-128-10 ReLU MLP, Adam, batches of 64,
    `epochs` passes over the 1,437 training images (scikit-learn's digits)."""
    import numpy as np
    from sklearn.datasets import load_digits

    data = load_digits()
    features = (data.data - data.data.mean(0)) / (data.data.std(0) + 1e-6)
    x_all = torch.tensor(features[:1437].astype(np.float32))
    y_all = torch.tensor(data.target[:1437].astype(np.int64))
    order = np.random.default_rng(0).permutation(1437)
    batches = [torch.tensor(order[i : i + 64].astype(np.int64)) for i in range(0, 1437, 64)]

    def run():
        torch.manual_seed(0)
        model = torch.nn.Sequential(
            torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10)
        )
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        loss_fn = torch.nn.CrossEntropyLoss()
        for _ in range(epochs):
            for index in batches:
                opt.zero_grad()
                loss = loss_fn(model(x_all[index]), y_all[index])
                loss.backward()
                opt.step()
        return loss

    return run


CASES = {
    "mlp784": (
        "MLP 784-128-10 tanh, batch 64, cross-entropy, SGD: one step",
        lambda torch: mlp_case(
            torch,
            (784, 128, 10),
            64,
            torch.nn.Tanh,
            lambda p: torch.optim.SGD(p, lr=0.01),
        ),
        200,
    ),
    "mlp1024": (
        "MLP 1024-1024-1024 relu, batch 256, cross-entropy, Adam: one step",
        lambda torch: mlp_case(
            torch,
            (1024, 1024, 1024),
            256,
            torch.nn.ReLU,
            lambda p: torch.optim.Adam(p, lr=1e-3),
        ),
        10,
    ),
    "digits": (
        "digits example: 10 epochs of 23 batches, Adam (end to end)",
        lambda torch: digits_case(torch, 10),
        1,
    ),
}

# (case, least speed-up over PyTorch (its time / ours), what) -- issue 5's targets
TARGETS = (
    ("mlp784", 1.5, "MLP 784-128-10 step: >= 1.5x PyTorch's steps per second"),
    ("mlp1024", 1 / 1.25, "MLP 1024-1024-1024 step: within 1.25x of PyTorch's time"),
)


def child_main(lib: str, case: str, samples: int) -> None:
    """Times one case in this process and prints the median seconds per call."""
    if lib == "torch":
        import torch

        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    else:
        import autodiff as torch
    _, build, calls = CASES[case]
    step = build(torch)
    for _ in range(max(2, calls // 5)):
        step()
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        for _ in range(calls):
            step()
        times.append((time.perf_counter() - start) / calls)
    final = float(step().item())
    print(statistics.median(times), final)


def run_child(lib: str, case: str, samples: int, threads: int) -> tuple[float, float] | None:
    env = dict(os.environ, **{var: str(threads) for var in THREAD_VARS})
    cmd = [sys.executable, __file__, "--child", lib, case, str(samples)]
    run = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if run.returncode != 0:
        if lib == "torch" and "No module named 'torch'" in run.stderr:
            return None
        if case == "digits" and "No module named 'sklearn'" in run.stderr:
            return None
        sys.exit(f"{lib} {case} failed:\n{run.stderr}")
    seconds, loss = run.stdout.split()
    return float(seconds), float(loss)


def median_run(runs: list[tuple[float, float] | None]) -> tuple[float, float] | None:
    done = [r for r in runs if r is not None]
    if not done:
        return None
    return statistics.median(r[0] for r in done), done[0][1]


def fmt(seconds: float) -> str:
    if seconds >= 0.1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.0f} us"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer samples")
    ap.add_argument("--threads", type=int, help="threads for both libraries (default: torch's)")
    ap.add_argument("--only", choices=list(CASES), action="append", help="run just this case")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        lib, case, samples = args.child
        return child_main(lib, case, int(samples))
    threads = args.threads or os.cpu_count() or 1
    samples, rounds = (3, 1) if args.quick else (5, 3)
    print(
        f"training steps, {threads} thread(s) per library; median over {rounds} alternating "
        f"processes per library of the median of {samples} samples; load "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print(f"{'case':68} {'autodiff':>9} {'torch':>9}  speed-up")
    results = {}
    for key, (label, _, _) in CASES.items():
        if args.only and key not in args.only:
            continue
        # Alternating processes spread this machine's bursts of noise over both libraries.
        runs = {lib: [] for lib in LIBS}
        for _ in range(rounds):
            for lib in LIBS:
                runs[lib].append(run_child(lib, key, samples, threads))
        ours, theirs = (median_run(runs[lib]) for lib in LIBS)
        if ours is None:
            print(f"{label:68} {'n/a (scikit-learn missing)':>20}")
            continue
        cells = [fmt(ours[0]), fmt(theirs[0]) if theirs else "n/a"]
        ratio = f"{theirs[0] / ours[0]:.2f}x" if theirs else ""
        results[key] = (ours[0], theirs[0] if theirs else None)
        print(f"{label:68} {cells[0]:>9} {cells[1]:>9}  {ratio}")
    print("speed-up: PyTorch's time / autodiff's (above 1: autodiff is faster)")
    print("\ntargets of issue 5:")
    for key, need, text in TARGETS:
        ours_s, theirs_s = results.get(key, (None, None))
        if ours_s is None or theirs_s is None:
            print(f"  n/a    {text}")
            continue
        ratio = theirs_s / ours_s
        print(f"  {'met' if ratio >= need else 'MISSED':6} {text}: {ratio:.2f}x")


if __name__ == "__main__":
    main()
