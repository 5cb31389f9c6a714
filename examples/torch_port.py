"""One training script, two libraries: the same code under ``import torch`` and autodiff.

``train(torch, ...)`` below is ordinary PyTorch code that receives the module it runs on as
its ``torch`` argument. We call it once with PyTorch and once with ``autodiff``, from the same
initial weights and data, and print both losses step by step: they agree to float32 rounding.
Without PyTorch installed, the script runs the autodiff half alone and says so.

Run it with ``python examples/torch_port.py`` (``--quick`` uses fewer samples).
"""

from __future__ import annotations

import argparse
from types import ModuleType
from typing import Any

import numpy as np
from tqdm import tqdm

import autodiff

STEPS = 20
CLASSES = 3


def make_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three blobs of points in 4-D: float32 features and int64 class labels, as NumPy.

    >>> x, y = make_data(6)
    >>> x.shape, x.dtype.name, y.dtype.name, sorted(set(y.tolist())) <= [0, 1, 2]
    ((6, 4), 'float32', 'int64', True)
    """
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=2.0, size=(CLASSES, 4))
    y = rng.integers(0, CLASSES, size=n)
    x = centres[y] + rng.normal(size=(n, 4))
    return x.astype(np.float32), y.astype(np.int64)


def make_model(torch: ModuleType) -> Any:  # an nn.Module of whichever library is passed
    """A 4 -> 16 -> 3 MLP built from ``torch.nn``, for either library.

    >>> make_model(autodiff)
    Sequential(
      (0): Linear(in_features=4, out_features=16, bias=True)
      (1): Tanh()
      (2): Linear(in_features=16, out_features=3, bias=True)
    )
    """
    return torch.nn.Sequential(
        torch.nn.Linear(4, 16), torch.nn.Tanh(), torch.nn.Linear(16, CLASSES)
    )


def initial_weights(seed: int = 0) -> dict[str, np.ndarray]:
    """A freshly initialised model's ``state_dict`` as NumPy arrays, which both libraries read.

    >>> {name: value.shape for name, value in initial_weights().items()}
    {'0.weight': (16, 4), '0.bias': (16,), '2.weight': (3, 16), '2.bias': (3,)}
    """
    autodiff.manual_seed(seed)
    state = make_model(autodiff).state_dict()
    return {name: value.numpy().copy() for name, value in state.items()}


def train(
    torch: ModuleType, weights: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray
) -> list[float]:
    """The training script, written once: ``torch`` is PyTorch or autodiff. Returns the losses.

    >>> x, y = make_data(50)
    >>> losses = train(autodiff, initial_weights(), x, y)
    >>> losses[-1] < losses[0]
    True
    """
    torch.manual_seed(0)
    model = make_model(torch)
    # Overwrite the random initial weights with the shared ones.
    model.load_state_dict({name: torch.from_numpy(value) for name, value in weights.items()})
    inputs, targets = torch.from_numpy(x), torch.from_numpy(y)
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    losses = []
    model.train()
    for _ in tqdm(range(STEPS), desc=torch.__name__, unit="step"):
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples (CI)")
    args = parser.parse_args()

    x, y = make_data(200 if args.quick else 1000)
    weights = initial_weights()
    ours = train(autodiff, weights, x, y)

    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: running autodiff only")
        print("step  autodiff")
        for step, loss in enumerate(ours, 1):
            print(f"{step:4d}  {loss:.6f}")
        print(f"autodiff: loss {ours[0]:.6f} -> {ours[-1]:.6f} in {STEPS} steps")
        return

    theirs = train(torch, weights, x, y)
    print("step   pytorch  autodiff  |difference|")
    for step, (a, b) in enumerate(zip(theirs, ours), 1):
        print(f"{step:4d}  {a:.6f}  {b:.6f}  {abs(a - b):.1e}")
    print(f"max difference: {max(abs(a - b) for a, b in zip(theirs, ours)):.1e}")


if __name__ == "__main__":
    main()
