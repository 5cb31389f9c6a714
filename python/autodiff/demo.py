"""Walk through the seed notes with ``torch`` bound to ``autodiff``: ``python -m autodiff``.

Every cell of the notes (``autodiff._seed``) is shown as an interactive session, run, and its
output compared with what the notes show. The cells are the notes' own code, ``import torch``
included: :func:`run_snippet` rewrites that statement to ``import autodiff as torch`` before
running it, so nothing is aliased in ``sys.modules`` and a real PyTorch, if installed, stays
untouched.
"""

from __future__ import annotations

import ast
import contextlib
import io
import sys
import traceback
from typing import Any

from ._seed import GRADIENT_TABLE_AFTER, SNIPPETS


class _BindTorch(ast.NodeTransformer):
    """Rewrites ``import torch`` to ``import <module> as torch``."""

    def __init__(self, module: str) -> None:
        self.module = module

    def visit_Import(self, node: ast.Import) -> ast.Import:
        for alias in node.names:
            if alias.name == "torch" and alias.asname is None:
                alias.name, alias.asname = self.module, "torch"
        return node


def run_snippet(
    code: str, namespace: dict[str, Any], module: str = "autodiff", filename: str = "<seed>"
) -> str:
    """Run one notebook cell in ``namespace`` and return what it printed.

    ``import torch`` binds ``module`` instead. As in Jupyter, when the last statement is an
    expression its value's ``repr`` is printed too, unless the value is ``None``. Exceptions
    propagate.
    """
    tree = _BindTorch(module).visit(ast.parse(code, filename, "exec"))
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(tree, filename, "exec"), namespace)
        if last is not None:
            value = eval(compile(last, filename, "eval"), namespace)
            if value is not None:
                print(repr(value))
    return out.getvalue()


def format_code(code: str) -> str:
    """``code`` as at the interactive prompt: ``>>> `` starts a statement, ``... `` goes on."""
    continued: set[int] = set()
    for stmt in ast.parse(code).body:
        end = stmt.end_lineno or stmt.lineno
        continued.update(range(stmt.lineno + 1, end + 1))
    return "\n".join(
        (("... " if number in continued else ">>> ") + line).rstrip()
        for number, line in enumerate(code.splitlines(), start=1)
    )


def _gradient_table(namespace: dict[str, Any]) -> str:
    # The notes' names: dL_dw, dL_db from the chain-rule cells, w.grad, b.grad from backward.
    rows = [
        ("w", namespace["dL_dw"].item(), namespace["w"].grad.item()),
        ("b", namespace["dL_db"].item(), namespace["b"].grad.item()),
    ]
    lines = [
        "Gradients of the loss, by hand (chain rule) and by autograd (loss.backward()):",
        f"  {'parameter':<10} {'manual':<20} {'autograd':<20} |difference|",
    ]
    for name, manual, auto in rows:
        lines.append(f"  {name:<10} {manual!r:<20} {auto!r:<20} {abs(manual - auto):.1e}")
    lines.append(
        "  (the same maths in float32, rounded in a different order: hence the last digits)"
    )
    return "\n".join(lines)


def main(module: str = "autodiff") -> int:
    """Run the seed notes with ``torch`` bound to ``module``; 0 if every output matches."""
    binding = "import torch" if module == "torch" else f"import {module} as torch"
    print(f"The seed notes on autograd, cell by cell, run with `{binding}`.")
    namespace: dict[str, Any] = {"__name__": "__seed__"}
    section = None
    failures = 0
    for number, snippet in enumerate(SNIPPETS, start=1):
        title, _, step = snippet.title.partition(": ")
        if title != section:
            section = title
            print(f"\n=== {title} " + "=" * max(3, 72 - len(title)))
        print(f"\n[{number}/{len(SNIPPETS)}] {step}")
        print(format_code(snippet.code))
        sys.stdout.flush()
        try:
            output = run_snippet(snippet.code, namespace, module, f"<seed {number}>")
        except Exception:
            traceback.print_exc()
            sys.stderr.flush()
            failures += 1
            continue
        sys.stdout.write(output)
        if output != snippet.expected_output:
            # repr, so that the expected text itself never appears in our output
            print(f"!! differs from the notes, which show {snippet.expected_output!r}")
            failures += 1
        if snippet.title == GRADIENT_TABLE_AFTER:
            print()
            print(_gradient_table(namespace))
    print()
    if failures:
        print(f"{failures} of {len(SNIPPETS)} snippets did not print what the notes show.")
        return 1
    print(f"All {len(SNIPPETS)} snippets printed what the notes show.")
    return 0
