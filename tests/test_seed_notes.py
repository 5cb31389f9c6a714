"""The seed notes run unchanged under ``import autodiff as torch`` and print what they print.

The notes' cells and the text they show are data in ``autodiff._seed``; ``autodiff.demo``
runs them (``python -m autodiff``). The comparison is exact, as text: reprs, ``grad_fn`` names
and the float32 digits of the f-string-formatted gradients all have to match.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

import autodiff
from autodiff import demo
from autodiff._seed import GRADIENT_TABLE_AFTER, SNIPPETS


def _run_all(module: str) -> tuple[dict[str, Any], list[str | Exception]]:
    # One shared namespace, in order, as in the notebook. A failing cell is recorded, not
    # raised, so that every later cell still gets its own verdict.
    namespace: dict[str, Any] = {"__name__": "__seed__"}
    outputs: list[str | Exception] = []
    for snippet in SNIPPETS:
        try:
            outputs.append(demo.run_snippet(snippet.code, namespace, module))
        except Exception as exc:
            outputs.append(exc)
    return namespace, outputs


@pytest.fixture(scope="module")
def seed_run() -> tuple[dict[str, Any], list[str | Exception]]:
    return _run_all("autodiff")


def test_notes_import_torch_binds_autodiff(seed_run):
    # Guards against the cells silently running on a real PyTorch installed next to us.
    namespace, _ = seed_run
    assert namespace["torch"] is autodiff


@pytest.mark.parametrize(
    "index", range(len(SNIPPETS)), ids=[f"{i:02d}-{s.title}" for i, s in enumerate(SNIPPETS)]
)
def test_snippet_prints_what_the_notes_show(seed_run, index):
    _, outputs = seed_run
    output = outputs[index]
    if isinstance(output, Exception):
        raise output
    assert output == SNIPPETS[index].expected_output


def test_notes_cover_the_walkthrough():
    # Closed forms behind the expected texts: y = x**2 at 2 gives dy/dx = 4 per backward,
    # accumulated 4, 8, 12, then zero_() gives 0.
    grads = [s.expected_output for s in SNIPPETS if s.code == "x.grad"]
    assert grads == [
        "tensor(6.)\n",
        "tensor(4.)\n",
        "tensor(8.)\n",
        "tensor(12.)\n",
        "tensor(4.)\n",
    ]
    assert [s.code for s in SNIPPETS].count("loss.backward()") == 1
    titles = [s.title for s in SNIPPETS]
    assert len(set(titles)) == len(titles)
    assert GRADIENT_TABLE_AFTER in titles


def test_run_snippet_displays_the_last_expression_like_jupyter():
    namespace: dict[str, Any] = {}
    assert demo.run_snippet("x = 1\nx + 1", namespace) == "2\n"
    assert demo.run_snippet("print('a')\n'b'", namespace) == "a\n'b'\n"
    assert demo.run_snippet("x", namespace) == "1\n"  # the namespace is shared
    assert demo.run_snippet("None", namespace) == ""
    assert demo.run_snippet("y = [x]", namespace) == ""
    assert demo.run_snippet("import torch\ntorch.__name__", namespace) == "'autodiff'\n"
    with pytest.raises(NameError, match="name 'undefined' is not defined"):
        demo.run_snippet("undefined", namespace)


def test_format_code_uses_interactive_prompts():
    code = "# f\ndef f():\n    return 1\n\nf()"
    assert demo.format_code(code) == ">>> # f\n>>> def f():\n...     return 1\n>>>\n>>> f()"


def test_python_m_autodiff_walks_through_the_notes():
    proc = subprocess.run(
        [sys.executable, "-m", "autodiff"], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # every block the notes show, in the notes' order
    position = 0
    for snippet in SNIPPETS:
        found = proc.stdout.find(snippet.expected_output, position)
        assert found >= 0, f"{snippet.title}: {snippet.expected_output!r} not in the demo's output"
        position = found + len(snippet.expected_output)
    assert f"All {len(SNIPPETS)} snippets printed what the notes show." in proc.stdout
    assert "parameter  manual" in proc.stdout  # the side-by-side gradient table


def test_snippets_print_the_same_under_pytorch():
    # Optional oracle: the expected texts are PyTorch's own output.
    torch = pytest.importorskip("torch")
    namespace, outputs = _run_all("torch")
    assert namespace["torch"] is torch
    assert outputs == [s.expected_output for s in SNIPPETS]
