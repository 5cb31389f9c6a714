"""Logistic regression from the seed notes: does a student's CGPA predict placement?

The notes' model, for one student with CGPA ``x`` and label ``y`` (1 = placed)::

    z = w * x + b              (1) linear part
    y_pred = sigmoid(z)        (2) probability of being placed
    L = BCE(y_pred, y)         (3) binary cross-entropy

First we repeat the notes' check that ``.backward()`` finds the gradients the chain rule
gives by hand, then we train ``w`` and ``b`` on a generated data set with ``torch.optim.SGD``.

Run it with ``python examples/logistic_regression.py`` (add ``--quick`` for a smaller run).
The code is PyTorch code: only the import line says autodiff.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from tqdm import tqdm

import autodiff as torch

# The rule the data is drawn from; training should recover something close to it.
TRUE_W, TRUE_B = 3.0, -22.5  # P(placed) = 1/2 at CGPA 7.5


def make_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draws ``n`` students: CGPA uniform in [5, 10], placed with a logistic probability.

    Returns the CGPAs, the 0/1 labels (float32, as BCELoss wants) and the true probabilities.

    >>> cgpa, placed, p = make_data(4)
    >>> cgpa.shape, placed.dtype.name, bool(((5 <= cgpa) & (cgpa <= 10)).all())
    ((4,), 'float32', True)
    """
    rng = np.random.default_rng(seed)
    cgpa = rng.uniform(5.0, 10.0, size=n).astype(np.float32)
    p = 1.0 / (1.0 + np.exp(-(TRUE_W * cgpa + TRUE_B)))
    placed = (rng.random(n) < p).astype(np.float32)
    return cgpa, placed, p


def bayes_rate(placed: np.ndarray, p: np.ndarray) -> float:
    """Accuracy of the best possible rule, "placed if the true p > 1/2", on this data.

    No model can do better on average, because the labels themselves are random.

    >>> bayes_rate(np.array([1.0, 0.0, 0.0]), np.array([0.9, 0.2, 0.6]))
    0.6666666666666666
    """
    return float(np.mean((p > 0.5) == (placed == 1.0)))


def manual_gradient_check() -> None:
    """The notes' example: CGPA 6.7, not placed, w = 1, b = 0; autograd vs the chain rule.

    >>> manual_gradient_check()
    autograd:   dL/dw = 6.6918, dL/db = 0.9988
    chain rule: dL/dw = 6.6918, dL/db = 0.9988  (agree)
    """
    x = torch.tensor(6.7)
    y = torch.tensor(0.0)
    w = torch.tensor(1.0, requires_grad=True)
    b = torch.tensor(0.0, requires_grad=True)

    y_pred = torch.sigmoid(w * x + b)
    loss = torch.nn.BCELoss()(y_pred, y)
    loss.backward()

    # By hand: dL/dy_pred * dy_pred/dz = (y_pred - y), times dz/dw = x or dz/db = 1.
    with torch.no_grad():
        dl_dw = ((y_pred - y) * x).item()
        dl_db = (y_pred - y).item()
    assert w.grad is not None and b.grad is not None  # .grad stays None until a backward
    dw, db = w.grad.item(), b.grad.item()
    print(f"autograd:   dL/dw = {dw:.4f}, dL/db = {db:.4f}")
    assert math.isclose(dw, dl_dw, rel_tol=1e-5) and math.isclose(db, dl_db, rel_tol=1e-5)
    print(f"chain rule: dL/dw = {dl_dw:.4f}, dL/db = {dl_db:.4f}  (agree)")


def accuracy(w: torch.Tensor, b: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of students whose predicted class (p > 1/2) matches the label.

    >>> x, y = torch.tensor([6.0, 9.0]), torch.tensor([0.0, 1.0])
    >>> accuracy(torch.tensor(1.0), torch.tensor(-7.5), x, y)
    1.0
    """
    with torch.no_grad():  # evaluation builds no graph
        predicted = (torch.sigmoid(w * x + b) > 0.5).float()
        return (predicted == y).float().mean().item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer students and epochs (CI)")
    args = parser.parse_args()
    n, epochs = (300, 1500) if args.quick else (1000, 3000)
    torch.manual_seed(0)

    manual_gradient_check()

    cgpa, placed, p = make_data(n)
    x, y = torch.tensor(cgpa), torch.tensor(placed)
    bayes = bayes_rate(placed, p)
    print(f"data: {n} students, {int(placed.sum())} placed; Bayes rate {bayes:.3f}")

    # The parameters, as in the notes: plain tensors that require grad.
    w = torch.tensor(1.0, requires_grad=True)
    b = torch.tensor(0.0, requires_grad=True)
    # Full-batch gradient descent. CGPA is not centred, so w and b pull against each other
    # and plain SGD crawls; momentum carries it along the long, flat valley.
    optimizer = torch.optim.SGD([w, b], lr=0.1, momentum=0.9)
    loss_fn = torch.nn.BCELoss()

    progress = tqdm(range(epochs), desc="training", unit="epoch")
    for epoch in progress:
        optimizer.zero_grad()  # .grad accumulates: clear it first
        y_pred = torch.sigmoid(w * x + b)
        loss = loss_fn(y_pred, y)
        loss.backward()
        optimizer.step()
        if epoch % 100 == 0:
            progress.set_postfix(loss=f"{loss.item():.4f}")

    acc = accuracy(w, b, x, y)
    print(f"true rule: w={TRUE_W:.3f}, b={TRUE_B:.3f}")
    assert acc >= bayes - 0.02, f"accuracy {acc:.3f} is far below the Bayes rate {bayes:.3f}"
    print(f"final: train accuracy {acc:.3f}, w={w.item():.3f}, b={b.item():.3f}")


if __name__ == "__main__":
    main()
