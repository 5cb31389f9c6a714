"""A small neural network that reads handwritten digits (8x8 images, scikit-learn's copy).

A multi-layer perceptron, 64 pixels -> 128 hidden units (ReLU) -> 10 class scores, trained
with mini-batches, ``CrossEntropyLoss`` and ``Adam``. It plots the loss curve to a PNG and,
with ``--save PATH``, saves the trained weights, loads them into a fresh model and checks the
fresh model scores the same.

Run it with ``python examples/digits_mlp.py`` (add ``--quick`` for a shorter run).
The code is PyTorch code: only the import line says autodiff.
"""

from __future__ import annotations

import argparse
from typing import IO

import matplotlib

matplotlib.use("Agg")  # draw to files only: no window, works on a headless machine
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from tqdm import tqdm  # noqa: E402

import autodiff as torch  # noqa: E402
from autodiff import nn  # noqa: E402
from autodiff.utils.data import DataLoader, TensorDataset  # noqa: E402


def load_data(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The 1797 digits split 80/20, pixels standardised with the training set's statistics.

    >>> x_train, y_train, x_test, y_test = load_data()
    >>> tuple(x_train.shape), tuple(x_test.shape), y_train.dtype
    ((1437, 64), (360, 64), autodiff.int64)
    """
    images, labels = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=0.2, random_state=seed, stratify=labels
    )
    # Fit the scaler on the training images only, so nothing about the test set leaks in.
    scaler = StandardScaler().fit(x_train)
    x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)
    return (
        torch.tensor(x_train, dtype=torch.float32),
        torch.tensor(y_train),  # int64 class indices, as CrossEntropyLoss expects
        torch.tensor(x_test, dtype=torch.float32),
        torch.tensor(y_test),
    )


def make_model() -> nn.Module:
    """64 -> 128 -> 10; the output is one raw score (logit) per digit.

    >>> [tuple(p.shape) for p in make_model().parameters()]
    [(128, 64), (128,), (10, 128), (10,)]
    """
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of ``model`` on ``x``, ``y``, without building a graph.

    >>> _ = torch.manual_seed(0)
    >>> loss, acc = evaluate(make_model(), torch.randn(4, 64), torch.tensor([0, 1, 2, 3]))
    >>> 0.0 <= acc <= 1.0
    True
    """
    model.eval()  # no effect on this model, but the habit matters (Dropout, BatchNorm)
    with torch.no_grad():
        logits = model(x)
        loss = nn.functional.cross_entropy(logits, y).item()
        acc = (logits.argmax(dim=1) == y).float().mean().item()
    return loss, acc


def plot_losses(step_losses: list[float], epoch_losses: list[float], path: str | IO[bytes]) -> None:
    """Saves the loss curves as a PNG: training loss per mini-batch, test loss per epoch.

    >>> import io
    >>> png = io.BytesIO()
    >>> plot_losses([2.0, 1.0, 0.8, 0.5], [1.2, 0.6], png)
    >>> png.getvalue()[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
    """
    # Mini-batch k of n ends at epoch k / n: both curves share the epoch axis.
    step_x = np.arange(1, len(step_losses) + 1) * len(epoch_losses) / len(step_losses)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(step_x, step_losses, lw=0.8, alpha=0.6, label="train (each mini-batch)")
    ax.plot(np.arange(1, len(epoch_losses) + 1), epoch_losses, "o-", label="test (each epoch)")
    ax.set(xlabel="epoch", ylabel="cross-entropy", yscale="log", title="digits MLP")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs (CI)")
    parser.add_argument("--plot", default="digits_loss.png", help="where to save the loss curve")
    parser.add_argument("--save", metavar="PATH", help="save the trained weights here")
    args = parser.parse_args()
    epochs, batch_size = (15 if args.quick else 30), 64
    torch.manual_seed(0)  # the initial weights and the shuffles

    x_train, y_train, x_test, y_test = load_data()
    model = make_model()
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    # A fresh shuffle each epoch, cut into batches of 64 (the last one smaller).
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=batch_size, shuffle=True)

    step_losses: list[float] = []
    test_losses: list[float] = []
    progress = tqdm(range(epochs), desc="training", unit="epoch")
    for _ in progress:
        model.train()
        for x, y in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            step_losses.append(loss.item())
        test_loss, test_acc = evaluate(model, x_test, y_test)
        test_losses.append(test_loss)
        progress.set_postfix(test_loss=f"{test_loss:.3f}", test_acc=f"{test_acc:.3f}")

    plot_losses(step_losses, test_losses, args.plot)
    print(f"loss curve saved to {args.plot}")

    _, test_acc = evaluate(model, x_test, y_test)
    if args.save:
        torch.save(model.state_dict(), args.save)
        fresh = make_model()  # new random weights...
        fresh.load_state_dict(torch.load(args.save))  # ...replaced by the trained ones
        _, reloaded_acc = evaluate(fresh, x_test, y_test)
        assert reloaded_acc == test_acc, (reloaded_acc, test_acc)
        print(f"weights saved to {args.save}; reloaded model: test accuracy {reloaded_acc:.4f}")

    assert test_acc > 0.95, f"test accuracy {test_acc:.4f} should exceed 0.95"
    print(f"test accuracy: {test_acc:.4f}")


if __name__ == "__main__":
    main()
