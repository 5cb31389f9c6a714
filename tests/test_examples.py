"""The scripts in ``examples/`` run with ``--quick``, reach their metric and write their files.

Each example runs in a subprocess, as a user runs it, with the working directory in
``tmp_path``; the test reads the metric back from the last line of stdout and checks it
against the threshold or against an independent closed form. The examples' own ``>>>``
examples run here too, since the scripts are not part of the package's doctest list.
"""

from __future__ import annotations

import doctest
import importlib.util
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import autodiff

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NAMES = ["logistic_regression", "digits_mlp", "torch_port"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# A finished tqdm bar: the examples show their progress on stderr.
BAR_DONE = re.compile(r"100%\|[^\n]*\| (\d+)/\1 ")


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Runs ``python *args`` in ``cwd`` with this process's autodiff first on the path."""
    env = dict(os.environ)
    package_root = str(Path(autodiff.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def run_example(name: str, cwd: Path, *args: str) -> tuple[list[str], str]:
    """Runs ``examples/<name>.py --quick *args``; returns (stdout lines, stderr)."""
    proc = run([str(EXAMPLES / f"{name}.py"), "--quick", *args], cwd)
    assert BAR_DONE.search(proc.stderr), proc.stderr
    return proc.stdout.splitlines(), proc.stderr


def import_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def last_match(pattern: str, lines: list[str]) -> re.Match[str]:
    """The last stdout line must match ``pattern`` in full."""
    match = re.fullmatch(pattern, lines[-1])
    assert match, lines
    return match


@pytest.mark.parametrize("name", NAMES)
def test_example_docstrings(name):
    result = doctest.testmod(import_example(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


@pytest.mark.parametrize("name", NAMES)
def test_example_is_documented(name):
    readme = (EXAMPLES / "README.md").read_text()
    assert f"python examples/{name}.py" in readme


def test_logistic_regression(tmp_path):
    lines, _ = run_example("logistic_regression", tmp_path)

    # The notes' check, x = 6.7, y = 0, w = 1, b = 0: dL/dw = x (sigmoid(6.7) - 0), dL/db = ...
    y_pred = 1.0 / (1.0 + math.exp(-6.7))
    expected = f"dL/dw = {6.7 * y_pred:.4f}, dL/db = {y_pred:.4f}"
    assert f"autograd:   {expected}" in lines
    assert f"chain rule: {expected}  (agree)" in lines

    bayes = float(re.search(r"Bayes rate (\d\.\d+)", "\n".join(lines))[1])
    acc, w, b = map(
        float, last_match(r"final: train accuracy (\S+), w=(\S+), b=(\S+)", lines).groups()
    )
    assert acc >= bayes - 0.02
    assert 0.85 < bayes <= 1.0
    # The data's true rule is P(placed) = 1/2 at CGPA 7.5; the fit's boundary -b/w is near it.
    assert w > 0
    assert abs(-b / w - 7.5) < 0.25


def test_digits_mlp_saves_plot_and_weights(tmp_path):
    plot, weights = tmp_path / "curve.png", tmp_path / "mlp.safetensors"
    lines, _ = run_example("digits_mlp", tmp_path, "--plot", str(plot), "--save", str(weights))

    acc = float(last_match(r"test accuracy: (0\.\d{4})", lines)[1])
    assert acc > 0.95
    assert f"weights saved to {weights}; reloaded model: test accuracy {acc:.4f}" in lines
    assert plot.read_bytes().startswith(PNG_SIGNATURE)

    # The saved weights, loaded here independently of the script, score what it printed.
    example = import_example("digits_mlp")
    model = example.make_model()
    model.load_state_dict(autodiff.load(weights))
    _, _, x_test, y_test = example.load_data()
    assert f"{example.evaluate(model, x_test, y_test)[1]:.4f}" == f"{acc:.4f}"


def test_digits_mlp_plots_to_cwd_by_default(tmp_path):
    lines, _ = run_example("digits_mlp", tmp_path)
    assert "loss curve saved to digits_loss.png" in lines
    assert (tmp_path / "digits_loss.png").read_bytes().startswith(PNG_SIGNATURE)
    assert not list(tmp_path.glob("*.safetensors"))  # nothing saved without --save


ROW_BOTH = r"\s*(\d+)  (\d\.\d{6})  (\d\.\d{6})  (\S+)"
ROW_OURS = r"\s*(\d+)  (\d\.\d{6})"


def rows(pattern: str, lines: list[str]) -> list[tuple[float, ...]]:
    found = [re.fullmatch(pattern, line) for line in lines]
    return [tuple(map(float, m.groups())) for m in found if m]


def assert_trained(losses: list[float]) -> None:
    # 20 steps of SGD with momentum on separable blobs: the loss falls far and never climbs
    # back above where it started.
    assert len(losses) == 20
    assert losses[-1] < 0.5 * losses[0]
    assert max(losses[1:]) < losses[0]


def test_torch_port_matches_pytorch(tmp_path):
    pytest.importorskip("torch")
    lines, stderr = run_example("torch_port", tmp_path)
    table = rows(ROW_BOTH, lines)
    assert [int(r[0]) for r in table] == list(range(1, 21))
    for _, theirs, ours, printed_difference in table:
        assert abs(theirs - ours) <= 1e-5
        assert printed_difference <= 1e-5
    assert_trained([r[2] for r in table])
    biggest = float(last_match(r"max difference: (\S+)", lines)[1])
    assert biggest == pytest.approx(max(r[3] for r in table))
    assert "torch:" in stderr and "autodiff:" in stderr  # one progress bar per library


def test_torch_port_without_pytorch(tmp_path):
    # Hide PyTorch whether or not it is installed: a None entry makes `import torch` fail.
    script = str(EXAMPLES / "torch_port.py")
    code = (
        "import runpy, sys; sys.modules['torch'] = None; "
        f"sys.argv = [{script!r}, '--quick']; runpy.run_path({script!r}, run_name='__main__')"
    )
    lines = run(["-c", code], tmp_path).stdout.splitlines()
    assert "PyTorch is not installed: running autodiff only" in lines
    losses = [r[1] for r in rows(ROW_OURS, lines)]
    assert_trained(losses)
    first, last = map(
        float, last_match(r"autodiff: loss (\S+) -> (\S+) in 20 steps", lines).groups()
    )
    assert (first, last) == (losses[0], losses[-1])
