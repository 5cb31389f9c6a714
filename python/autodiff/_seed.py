"""The seed notes (``shared/seed/autograd_notes.txt``) as data: every cell they run, in order.

Each :class:`Snippet` is one notebook cell: its code, verbatim from the notes (``import torch``
included), and the text the notes show it printing. As in Jupyter, a cell whose last statement
is an expression also displays that value's ``repr`` (unless it is ``None``), so ``x.grad`` alone
shows ``tensor(6.)``. All snippets run in order in one shared namespace, as one notebook does:
the logistic-regression cells use the helper function defined two cells earlier, and the
gradient-accumulation runs keep adding into the same ``x.grad``.

The notebook export duplicated some cells; they are listed here as the notebook ran them:

- ``loss.backward()`` appears twice in a row, but the gradients printed afterwards are those of
  a single backward pass (a second one would also raise, the graph being freed), so it runs once.
- The FIRST/SECOND/THIRD RUN panels show the same ``y = x ** 2`` / ``y.backward()`` / ``x.grad``
  cells side by side: three runs, one backward per fresh ``y``, giving 4, 8 and 12.

The notes describe the three ways to disable gradient tracking in prose only; the last snippets
are short examples of each (``requires_grad_(False)``, ``detach()``, ``no_grad``), with the
output PyTorch prints for them.

A title reads ``"<section>: <step>"``; ``autodiff.demo`` prints a banner for each section.
"""

from __future__ import annotations

import textwrap
from typing import NamedTuple


class Snippet(NamedTuple):
    """One notebook cell of the seed notes."""

    title: str
    code: str
    expected_output: str


def _cell(title: str, code: str, expected_output: str = "") -> Snippet:
    return Snippet(title, textwrap.dedent(code).strip("\n"), expected_output)


def _accumulation_run(run: str, grad: str) -> list[Snippet]:
    # One FP / BP / GRAD panel of the notes: a fresh y = x**2 (dy/dx = 2x = 4 at x = 2) whose
    # backward adds 4 more into the same x.grad.
    return [
        _cell(
            f"Gradient accumulation: {run} run, forward (FP)",
            """
            y = x ** 2
            y
            """,
            "tensor(4., grad_fn=<PowBackward0>)\n",
        ),
        _cell(f"Gradient accumulation: {run} run, backward (BP)", "y.backward()"),
        _cell(f"Gradient accumulation: {run} run, gradient (GRAD)", "x.grad", grad),
    ]


SNIPPETS: list[Snippet] = [
    # --- EXAMPLE 1.1: y = x**2, dy/dx at x = 3 -----------------------------------------------
    _cell("Example 1.1 (y = x**2): import", "import torch"),
    _cell(
        "Example 1.1 (y = x**2): a scalar tensor that requires grad",
        "x = torch.tensor(3.0, requires_grad=True)",
    ),
    _cell("Example 1.1 (y = x**2): forward pass", "y = x**2"),
    _cell(
        "Example 1.1 (y = x**2): print the leaf and the result",
        """
        print(x)
        print(y)
        """,
        "tensor(3., requires_grad=True)\ntensor(9., grad_fn=<PowBackward0>)\n",
    ),
    _cell("Example 1.1 (y = x**2): backward pass", "y.backward()"),
    # dy/dx = 2x = 2(3) = 6
    _cell("Example 1.1 (y = x**2): dy/dx = 2x", "x.grad", "tensor(6.)\n"),
    # --- Logistic regression on one sample (CGPA 6.7, not placed), gradients by hand ----------
    _cell(
        "Logistic regression by hand: inputs and initial parameters",
        """
        import torch

        # Inputs
        x = torch.tensor(6.7) # Input feature
        y = torch.tensor(0.0) # True Label (binary)

        w = torch.tensor(1.0) # Weight
        b = torch.tensor(0.0) # Bias
        """,
    ),
    _cell(
        "Logistic regression by hand: binary cross-entropy loss",
        """
        # Binary Cross-Entropy Loss for scalar
        def binary_cross_entropy_loss(prediction, target):
            epsilon = 1e-8 # To prevent log(0)
            prediction = torch.clamp(prediction, epsilon, 1 - epsilon)
            return -(target * torch.log(prediction) + (1 - target) * torch.log(1 - prediction))
        """,
    ),
    # z = 6.7, y_pred = sigmoid(6.7) = 0.99877, loss = -ln(1 - y_pred) = 6.7012
    _cell(
        "Logistic regression by hand: forward pass",
        """
        # Forward pass
        z = w * x + b # Weighted sum (linear part)

        y_pred = torch.sigmoid(z) # Predicted probability

        # Compute binary cross-entropy loss
        loss = binary_cross_entropy_loss(y_pred, y)
        loss
        """,
        "tensor(6.7012)\n",
    ),
    _cell(
        "Logistic regression by hand: the chain rule",
        """
        # Derivatives:
        # 1. dL/d(y_pred): Loss with respect to the prediction (y_pred)
        dloss_dy_pred = (y_pred - y)/(y_pred*(1-y_pred))

        # 2. dy_pred/dz: Prediction (y_pred) with respect to z (sigmoid derivative)
        dy_pred_dz = y_pred * (1 - y_pred)

        # 3. dz/dw and dz/db: z with respect to w and b
        dz_dw = x # dz/dw = x
        dz_db = 1 # dz/db = 1 (bias contributes directly to z)

        dL_dw = dloss_dy_pred * dy_pred_dz * dz_dw
        dL_db = dloss_dy_pred * dy_pred_dz * dz_db
        """,
    ),
    # dL/dw = x (y_pred - y) = 6.7 * 0.99877 and dL/db = y_pred - y, in float32 arithmetic;
    # an f-string formats a 0-d tensor as its .item().
    _cell(
        "Logistic regression by hand: gradients",
        """
        print(f"Manual Gradient of loss w.r.t weight (dw): {dL_dw}")
        print(f"Manual Gradient of loss w.r.t bias (db): {dL_db}")
        """,
        "Manual Gradient of loss w.r.t weight (dw): 6.691762447357178\n"
        "Manual Gradient of loss w.r.t bias (db): 0.998770534992218\n",
    ),
    # --- The same model with autograd --------------------------------------------------------
    _cell(
        "Logistic regression with autograd: data (no grad needed)",
        """
        x = torch.tensor(6.7)
        y = torch.tensor(0.0)
        print(x)
        print(y)
        """,
        "tensor(6.7000)\ntensor(0.)\n",
    ),
    _cell(
        "Logistic regression with autograd: parameters that require grad",
        """
        w = torch.tensor(1.0, requires_grad=True)
        b = torch.tensor(0.0, requires_grad=True)
        print(w)
        print(b)
        """,
        "tensor(1., requires_grad=True)\ntensor(0., requires_grad=True)\n",
    ),
    _cell(
        "Logistic regression with autograd: Eq. 1, z = w*x + b",
        """
        z = w*x + b
        z
        """,
        "tensor(6.7000, grad_fn=<AddBackward0>)\n",
    ),
    _cell(
        "Logistic regression with autograd: Eq. 2, y_pred = sigmoid(z)",
        """
        y_pred = torch.sigmoid(z)
        y_pred
        """,
        "tensor(0.9988, grad_fn=<SigmoidBackward0>)\n",
    ),
    _cell(
        "Logistic regression with autograd: Eq. 3, the loss",
        """
        loss = binary_cross_entropy_loss(y_pred, y)
        loss
        """,
        "tensor(6.7012, grad_fn=<NegBackward0>)\n",
    ),
    # The export shows this cell twice; the gradients below are those of one backward pass.
    _cell("Logistic regression with autograd: backward pass", "loss.backward()"),
    # Same maths as the manual cells; the last float32 digits differ (different rounding order).
    _cell(
        "Logistic regression with autograd: gradients",
        """
        print(f"By using autograd function (dw): {w.grad}")
        print(f"By using autograd function (db): {b.grad}")
        """,
        "By using autograd function (dw): 6.6917619705200195\n"
        "By using autograd function (db): 0.9987704753875732\n",
    ),
    # --- Gradient accumulation: three backward passes into one x.grad -------------------------
    _cell(
        "Gradient accumulation: a fresh leaf",
        """
        x = torch.tensor(2.0, requires_grad=True)
        x
        """,
        "tensor(2., requires_grad=True)\n",
    ),
    *_accumulation_run("first", "tensor(4.)\n"),
    *_accumulation_run("second", "tensor(8.)\n"),
    *_accumulation_run("third", "tensor(12.)\n"),
    # --- Clearing gradients -------------------------------------------------------------------
    _cell(
        "Clearing gradients: a fresh leaf",
        """
        x = torch.tensor(2.0, requires_grad=True)
        x
        """,
        "tensor(2., requires_grad=True)\n",
    ),
    _cell(
        "Clearing gradients: forward pass",
        """
        y = x ** 2
        y
        """,
        "tensor(4., grad_fn=<PowBackward0>)\n",
    ),
    _cell("Clearing gradients: backward pass", "y.backward()"),
    _cell("Clearing gradients: the gradient", "x.grad", "tensor(4.)\n"),
    # zero_() works in place and returns the (now zero) gradient itself.
    _cell("Clearing gradients: x.grad.zero_()", "x.grad.zero_()", "tensor(0.)\n"),
    # --- Disabling gradient tracking (the notes' three ways, in prose there) -------------------
    _cell(
        "Disabling gradient tracking: requires_grad_(False)",
        """
        x = torch.tensor(2.0, requires_grad=True)
        print(x)
        x.requires_grad_(False)
        """,
        "tensor(2., requires_grad=True)\ntensor(2.)\n",
    ),
    _cell(
        "Disabling gradient tracking: no graph is recorded afterwards",
        """
        y = x ** 2
        y
        """,
        "tensor(4.)\n",
    ),
    _cell(
        "Disabling gradient tracking: detach()",
        """
        x = torch.tensor(2.0, requires_grad=True)
        z = x.detach()
        z
        """,
        "tensor(2.)\n",
    ),
    _cell(
        "Disabling gradient tracking: x is tracked, its detached copy is not",
        """
        y = x ** 2
        y1 = z ** 2
        print(y)
        print(y1)
        """,
        "tensor(4., grad_fn=<PowBackward0>)\ntensor(4.)\n",
    ),
    _cell(
        "Disabling gradient tracking: torch.no_grad()",
        """
        x = torch.tensor(2.0, requires_grad=True)
        with torch.no_grad():
            y = x ** 2
        print(y.requires_grad)
        y
        """,
        "False\ntensor(4.)\n",
    ),
]

# The demo prints the manual and autograd gradients side by side after this snippet. It reads
# the notes' own names from the shared namespace: dL_dw, dL_db (by hand), w.grad, b.grad.
GRADIENT_TABLE_AFTER = "Logistic regression with autograd: gradients"
