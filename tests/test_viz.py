"""Graph pictures (``autodiff.viz.to_dot``/``render``), the chain rule printed path by path
(``autodiff.viz.explain``) and graph memory (``autodiff.autograd.stats.graph_stats``).

The running example is the seed notes' logistic regression: one student with CGPA ``x = 6.7``
who was not placed (``y = 0``), ``z = w*x + b``, ``y_pred = sigmoid(z)`` and the
binary cross-entropy loss, whose gradient the notes derive by hand as
``dL/dw = dL/dy_pred × dy_pred/dz × dz/dw = x (y_pred - y)``.
"""

from __future__ import annotations

import doctest
import gc
import io
import math
import re
import shutil
import sys

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import autodiff as torch
from autodiff import viz
from autodiff.autograd.stats import GraphStats, graph_stats

HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed")

NODE = re.compile(r'^    (n\d+) \[label="((?:[^"\\]|\\.)*)"(?: fillcolor=(\w+))?\]$')
EDGE = re.compile(r"^    (n\d+) -> (n\d+)$")


def seed_graph(dtype=None):
    """The notes' forward pass, cell by cell."""
    x = torch.tensor(6.7, dtype=dtype)  # input feature (CGPA)
    y = torch.tensor(0.0, dtype=dtype)  # true label: not placed
    w = torch.tensor(1.0, dtype=dtype, requires_grad=True)
    b = torch.tensor(0.0, dtype=dtype, requires_grad=True)

    def binary_cross_entropy_loss(prediction, target):
        epsilon = 1e-8  # to prevent log(0)
        prediction = torch.clamp(prediction, epsilon, 1 - epsilon)
        return -(target * torch.log(prediction) + (1 - target) * torch.log(1 - prediction))

    z = w * x + b  # Eq. 1
    y_pred = torch.sigmoid(z)  # Eq. 2
    loss = binary_cross_entropy_loss(y_pred, y)  # Eq. 3
    return {"x": x, "y": y, "w": w, "b": b, "z": z, "y_pred": y_pred, "loss": loss}


def parse_dot(text: str) -> tuple[dict[str, tuple[str, str | None]], list[tuple[str, str]]]:
    """``{id: (label, fillcolor)}`` and the edges, in order; fails on any other line."""
    lines = text.splitlines()
    assert lines[0] == "digraph {" and lines[-1] == "}"
    assert lines[1].startswith("    graph [size=") and lines[2].startswith("    node [")
    nodes: dict[str, tuple[str, str | None]] = {}
    edges: list[tuple[str, str]] = []
    for line in lines[3:-1]:
        if m := NODE.match(line):
            assert m[1] not in nodes, f"node {m[1]} declared twice"
            nodes[m[1]] = (m[2].replace("\\n", "\n"), m[3])
        elif m := EDGE.match(line):
            edges.append((m[1], m[2]))
        else:
            raise AssertionError(f"unexpected DOT line: {line!r}")
    assert {n for e in edges for n in e} <= nodes.keys()
    return nodes, edges


# --------------------------------------------------------------------------------------------
# to_dot

SEED_NODES = {
    "n0": ("loss\n()\nfloat32", "darkolivegreen1"),
    "n1": ("NegBackward0", None),  # -( ... )
    "n2": ("AddBackward0", None),  # target*log(p) + (1-target)*log(1-p)
    "n3": ("MulBackward0", None),  # target * log(p)
    "n4": ("LogBackward0", None),
    "n5": ("ClampBackward1", None),  # p = clamp(y_pred, eps, 1-eps)
    "n6": ("SigmoidBackward0", None),  # y_pred
    "n7": ("AddBackward0", None),  # z = w*x + b
    "n8": ("MulBackward0", None),  # w * x
    "n9": ("AccumulateGrad", None),
    "n10": ("w\n()\nfloat32", "lightblue"),
    "n11": ("AccumulateGrad", None),
    "n12": ("b\n()\nfloat32", "lightblue"),
    "n13": ("MulBackward0", None),  # (1-target) * log(1-p)
    "n14": ("LogBackward0", None),
    "n15": ("RsubBackward1", None),  # 1 - p
}
SEED_EDGES = [
    ("n1", "n0"),
    ("n2", "n1"),
    ("n3", "n2"),
    ("n13", "n2"),
    ("n4", "n3"),
    ("n5", "n4"),
    ("n6", "n5"),
    ("n7", "n6"),
    ("n8", "n7"),
    ("n11", "n7"),
    ("n9", "n8"),
    ("n10", "n9"),
    ("n12", "n11"),
    ("n14", "n13"),
    ("n15", "n14"),
    ("n5", "n15"),  # clamp's output feeds both logs
]


def test_seed_dot_node_by_node():
    g = seed_graph()
    dot = viz.to_dot(g["loss"], params={"w": g["w"], "b": g["b"], "loss": g["loss"]})
    nodes, edges = parse_dot(dot)
    assert nodes == SEED_NODES
    assert edges == SEED_EDGES


def test_seed_dot_matches_pytorch_graph():
    # The same DFS over PyTorch's own graph gives the same boxes and arrows.
    real = pytest.importorskip("torch")
    x, y = real.tensor(6.7), real.tensor(0.0)
    w = real.tensor(1.0, requires_grad=True)
    b = real.tensor(0.0, requires_grad=True)
    p = real.clamp(real.sigmoid(w * x + b), 1e-8, 1 - 1e-8)
    loss = -(y * real.log(p) + (1 - y) * real.log(1 - p))
    names = {id(w): "w", id(b): "b"}
    labels, edges, ids = {"n0": "loss\n()\nfloat32"}, [], {}
    order, stack, counter = [], [loss.grad_fn], 1
    while stack:
        fn = stack.pop()
        if fn in ids:
            continue
        ids[fn] = f"n{counter}"
        counter += 2 if hasattr(fn, "variable") else 1  # the leaf comes next
        order.append(fn)
        stack.extend(f for f, _ in reversed(fn.next_functions) if f is not None and f not in ids)
    edges.append((ids[loss.grad_fn], "n0"))
    for fn in order:
        labels[ids[fn]] = type(fn).__name__
        if hasattr(fn, "variable"):
            leaf = f"n{int(ids[fn][1:]) + 1}"
            labels[leaf] = f"{names[id(fn.variable)]}\n()\nfloat32"
            edges.append((leaf, ids[fn]))
        edges.extend((ids[f], ids[fn]) for f, _ in fn.next_functions if f is not None)
    assert labels == {k: label for k, (label, _) in SEED_NODES.items()}
    assert edges == SEED_EDGES


def test_to_dot_is_deterministic_and_addresses_free():
    texts = {viz.to_dot(seed_graph()["loss"]) for _ in range(3)}
    assert len(texts) == 1
    (text,) = texts
    assert "0x" not in text
    assert re.findall(r"\bn(\d+) \[", text) == [str(i) for i in range(16)]


def test_to_dot_labels_shapes_dtypes_and_names():
    w = torch.ones(2, 3, dtype=torch.float64, requires_grad=True)
    v = torch.ones(3, requires_grad=True)  # not in params: shape and dtype only
    h = (w * 2.0).sum(0)
    out = h * v  # float64, by type promotion
    nodes, edges = parse_dot(viz.to_dot(out, params={"weight": w, "h": h}))
    leaves = sorted(label for label, color in nodes.values() if color == "lightblue")
    assert leaves == ["(3,)\nfloat32", "weight\n(2, 3)\nfloat64"]
    assert nodes["n0"] == ("(3,)\nfloat64", "darkolivegreen1")  # the unnamed output
    assert ("SumBackward1\n(h)", None) in nodes.values()  # a named intermediate


def test_to_dot_of_leaf_and_of_constant():
    leaf = torch.tensor([1.0, 2.0], requires_grad=True)
    nodes, edges = parse_dot(viz.to_dot(leaf, params={"a": leaf}))
    assert nodes == {"n0": ("a\n(2,)\nfloat32", "darkolivegreen1")}
    assert edges == []
    with torch.no_grad():
        c = leaf * 2
    nodes, edges = parse_dot(viz.to_dot(c))
    assert list(nodes) == ["n0"] and edges == []


def test_to_dot_repeated_input_draws_two_arrows():
    x = torch.tensor(3.0, requires_grad=True)
    nodes, edges = parse_dot(viz.to_dot(x * x))
    assert [label for label, _ in nodes.values()] == [
        "()\nfloat32",
        "MulBackward0",
        "AccumulateGrad",
        "()\nfloat32",
    ]
    assert edges == [("n1", "n0"), ("n2", "n1"), ("n2", "n1"), ("n3", "n2")]


def test_show_saved_counts_per_node_and_totals():
    g = seed_graph()
    dot = viz.to_dot(g["loss"], show_saved=True)
    assert 'label="saved for backward: 7 tensors, 24 bytes"' in dot.splitlines()[1]
    nodes, _ = parse_dot(dot)
    saved = {k: label.split("\n")[-1] for k, (label, _) in nodes.items() if "saved" in label}
    # mul saves its other factor (x; target; 1 - target), log its input, clamp its input,
    # sigmoid its output; neg, add and rsub save nothing.
    assert saved == {k: "saved: 1 tensor" for k in ["n3", "n4", "n5", "n6", "n8", "n13", "n14"]}
    x = torch.ones(3, requires_grad=True)
    nodes, _ = parse_dot(viz.to_dot((x * x).sum(), show_saved=True))
    assert nodes["n2"] == ("MulBackward0\nsaved: 2 tensors", None)


def test_to_dot_chain_of_100k_nodes_needs_no_recursion():
    x = torch.tensor(1.0, requires_grad=True)
    y = x
    for i in range(100_000):
        y = y * 1.0001 if i % 2 == 0 else y + 1.0
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)  # a recursive walk would fail at once
    try:
        text = viz.to_dot(y)
    finally:
        sys.setrecursionlimit(limit)
    lines = text.splitlines()
    assert sum(" -> " in line for line in lines) == 100_002  # chain + leaf + output
    assert lines[-2] == "    n100002 -> n100001"  # the leaf, last in DFS order
    assert graph_stats(y).nodes == 100_001


# --------------------------------------------------------------------------------------------
# Digraph and render


def test_digraph_is_a_string_with_source():
    g = viz.to_dot(seed_graph()["loss"])
    assert isinstance(g, str) and isinstance(g, viz.Digraph)
    assert g.source == str(g) and type(g.source) is str


@needs_dot
def test_repr_svg_draws_with_dot():
    svg = viz.to_dot(seed_graph()["loss"])._repr_svg_()
    assert "<svg" in svg and "SigmoidBackward0" in svg and "AccumulateGrad" in svg


def test_repr_svg_without_dot_shows_how_to_install(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda *a, **k: None)
    svg = viz.to_dot(seed_graph()["loss"])._repr_svg_()
    assert svg.startswith("<svg") and "apt install graphviz" in svg


@needs_dot
@pytest.mark.parametrize("suffix", ["svg", "png"])
def test_render_writes_svg_and_png(tmp_path, suffix):
    g = seed_graph()
    out = viz.render(g["loss"], tmp_path / f"seed.{suffix}", params={"w": g["w"]})
    data = out.read_bytes()
    if suffix == "svg":
        text = data.decode()
        assert text.lstrip().startswith("<?xml") and "</svg>" in text
        assert text.count("MulBackward0") == 3 and ">w</text>" in text
    else:
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 1000


@needs_dot
def test_render_format_argument_overrides_suffix(tmp_path):
    out = viz.render(seed_graph()["loss"], tmp_path / "graph.img", format="svg")
    assert "<svg" in out.read_text()


@pytest.mark.parametrize("how", ["which", "PATH"])
def test_render_without_dot_says_how_to_install(tmp_path, monkeypatch, how):
    if how == "which":
        monkeypatch.setattr(shutil, "which", lambda *a, **k: None)
    else:
        monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory
    loss = seed_graph()["loss"]
    for call in (
        lambda: viz.render(loss, tmp_path / "g.svg"),
        lambda: viz.render(loss, tmp_path / "g.png"),
        lambda: viz.to_dot(loss).pipe("svg"),
    ):
        with pytest.raises(RuntimeError) as info:
            call()
        message = str(info.value)
        for hint in ("dot", "apt install graphviz", "brew install graphviz", "conda install"):
            assert hint in message
    assert not (tmp_path / "g.svg").exists()
    # DOT text needs no Graphviz.
    assert viz.render(loss, tmp_path / "g.dot").read_text() == viz.to_dot(loss)


def test_render_rejects_unknown_format(tmp_path):
    with pytest.raises(ValueError, match="cannot write a graph as 'jpeg2'"):
        viz.render(seed_graph()["loss"], tmp_path / "g.jpeg2")


# --------------------------------------------------------------------------------------------
# explain

SEED_EXPLAIN = """\
dL/dw: 2 paths from L (NegBackward0) to w (AccumulateGrad)
  path 1 of 2:
    NegBackward0      dL/d(add)         = -1
    AddBackward0      d(add)/d(mul#1)   = 1
    MulBackward0      d(mul#1)/d(log#1) = 0
    LogBackward0      d(log#1)/d(clamp) = 1.00123
    ClampBackward1    d(clamp)/dy_pred  = 1
    SigmoidBackward0  dy_pred/dz        = 0.00122795
    AddBackward0      dz/d(mul#2)       = 1
    MulBackward0      d(mul#2)/dw       = 6.7
    product                             = 0
  path 2 of 2:
    NegBackward0      dL/d(add)         = -1
    AddBackward0      d(add)/d(mul#3)   = 1
    MulBackward0      d(mul#3)/d(log#2) = 1
    LogBackward0      d(log#2)/d(rsub)  = 813.362
    RsubBackward1     d(rsub)/d(clamp)  = -1
    ClampBackward1    d(clamp)/dy_pred  = 1
    SigmoidBackward0  dy_pred/dz        = 0.00122795
    AddBackward0      dz/d(mul#2)       = 1
    MulBackward0      d(mul#2)/dw       = 6.7
    product                             = 6.69176
sum over paths: dL/dw = 0 + 6.69176 = 6.69176
every path passes through y_pred and z, so the chain rule factors there:
  dL/dw = dL/dy_pred × dy_pred/dz × dz/dw
        = 813.362 × 0.00122795 × 6.7
        = 6.69176
"""

NUMBER = re.compile(r"(?<![\w#])-?\d+(?:\.\d+)?(?:e[-+]\d+)?")


def numbers(text: str) -> list[float]:
    return [float(s) for s in NUMBER.findall(text)]


def test_explain_seed_reads_like_the_notes():
    g = seed_graph()
    out = io.StringIO()
    names = {"L": g["loss"], "y_pred": g["y_pred"], "z": g["z"], "w": g["w"]}
    total = viz.explain(g["loss"], g["w"], file=out, names=names)
    text = out.getvalue()
    # The layout exactly; the numbers within float32 noise (they are checked below).
    assert NUMBER.sub("#", text) == NUMBER.sub("#", SEED_EXPLAIN)
    assert numbers(text) == pytest.approx(numbers(SEED_EXPLAIN), rel=1e-4)
    # The notes' derivatives, from the same float32 forward values.
    x, y, p = 6.7, 0.0, g["y_pred"].item()
    factors = numbers(text.split("\n")[-3])
    dl_dy_pred = (p - y) / (p * (1 - p))  # from eq. 3 (clamp is inactive)
    dy_pred_dz = p * (1 - p)  # from eq. 2
    dz_dw = x  # from eq. 1
    assert factors == pytest.approx([dl_dy_pred, dy_pred_dz, dz_dw], rel=1e-5)
    assert isinstance(total, float)
    assert total == pytest.approx(x * (p - y), rel=1e-6)  # dL/dw = x (y_pred - y)
    assert g["w"].grad is None  # explain does not accumulate
    g["loss"].backward()
    assert total == pytest.approx(g["w"].grad.item(), rel=1e-6)  # the notes: 6.6917619705...


def test_explain_names_default_to_the_callers_variables():
    g = seed_graph()
    loss, b, z = g["loss"], g["b"], g["z"]
    out = io.StringIO()
    total = viz.explain(loss, b, file=out)
    first = out.getvalue().splitlines()[0]
    assert first == "dloss/db: 2 paths from loss (NegBackward0) to b (AccumulateGrad)"
    assert "  dloss/db = dloss/dz × dz/db" in out.getvalue()
    loss.backward()
    assert total == pytest.approx(b.grad.item(), rel=1e-6)  # the notes: 0.99877047...
    del z


def test_explain_caps_printed_paths_but_not_the_sum():
    # y = x^(2^40) by squaring: 2^40 paths, dy/dx = 2^40 at x = 1, exactly.
    x = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    y = x
    for _ in range(40):
        y = y * y
    out = io.StringIO()
    total = viz.explain(y, x, file=out, names={"y": y, "x": x})
    lines = out.getvalue().splitlines()
    assert lines[0] == f"dy/dx: {2**40} paths from y (MulBackward0) to x (AccumulateGrad)"
    assert sum(line.startswith("  path ") for line in lines) == 20
    assert f"  ... {2**40 - 20} more paths not shown" in lines
    assert lines[-1] == f"sum over all {2**40} paths (dynamic programming over the graph): " + (
        "dy/dx = 1.09951e+12"
    )
    assert total == 2.0**40


def test_explain_tensors_shows_vjp_shapes():
    w = torch.tensor([[0.1, -0.2, 0.3], [0.0, 0.5, -0.1]], requires_grad=True)
    x = torch.tensor([1.0, 2.0, 3.0])
    h = torch.tanh(w @ x)
    loss = (h * h).sum()
    out = io.StringIO()
    total = viz.explain(loss, w, file=out, names={"L": loss, "h": h, "w": w})
    text = out.getvalue()
    assert text.splitlines()[0] == "dL/dw: 2 paths from L (SumBackward0) to w (AccumulateGrad)"
    assert "SumBackward0     dL/d(mul)  VJP () -> (2,)" in text
    assert "MvBackward0      d(mv)/dw   VJP (2,) -> (2, 3)" in text
    (expected,) = torch.autograd.grad(loss, w)
    assert isinstance(total, torch.Tensor) and tuple(total.shape) == (2, 3)
    assert total.flatten().tolist() == pytest.approx(expected.flatten().tolist(), rel=1e-6)


def test_explain_edge_cases():
    a = torch.tensor(2.0, requires_grad=True)
    c = torch.tensor(5.0, requires_grad=True)
    out = io.StringIO()
    assert viz.explain(a * 3, c, file=out, names={}) == 0.0  # c is not in the graph
    assert out.getvalue() == "doutput/dinput = 0: no path from output to input\n"
    with pytest.raises(RuntimeError, match="does not require grad"):
        viz.explain(a * 3, torch.tensor(1.0), file=out)
    z = a * a
    assert viz.explain(z, z, file=out) == 1.0  # a non-leaf input: d z / d z
    assert viz.explain(a, a, file=out) == 1.0
    y = (a * 2).exp()
    y.backward()  # frees the saved tensors
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        viz.explain(y, a, file=out)


OPS = {
    "add": (2, lambda a, b: a + b),
    "sub": (2, lambda a, b: a - b),
    "mul": (2, lambda a, b: a * b),
    "div": (2, lambda a, b: a / (b * b + 0.5)),
    "exp": (1, torch.exp),
    "log": (1, lambda a: torch.log(a * a + 0.5)),
    "sin": (1, torch.sin),
    "tanh": (1, torch.tanh),
    "sigmoid": (1, torch.sigmoid),
    "pow": (1, lambda a: a**3),  # PowBackward0
    "powt": (2, lambda a, b: (a * a + 0.5) ** b),  # PowBackward1
}


def count_paths(fn, target, memo) -> int:
    """Paths from fn to target, by plain recursion (small graphs only)."""
    if fn == target:
        return 1
    if fn not in memo:
        memo[fn] = sum(count_paths(f, target, memo) for f, _ in fn.next_functions if f is not None)
    return memo[fn]


@given(st.data())
def test_explain_equals_backward_on_random_scalar_graphs(data):
    n_leaves = data.draw(st.integers(1, 3), label="leaves")
    values = data.draw(st.lists(st.floats(-2, 2), min_size=n_leaves, max_size=n_leaves))
    leaves = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]
    pool = list(leaves)
    for _ in range(data.draw(st.integers(1, 8), label="ops")):
        name = data.draw(st.sampled_from(sorted(OPS)))
        arity, f = OPS[name]
        # Operands drawn from everything so far: shared subexpressions are the rule.
        args = [pool[data.draw(st.integers(0, len(pool) - 1))] for _ in range(arity)]
        pool.append(f(*args))
    out = pool[-1]
    x = leaves[data.draw(st.integers(0, n_leaves - 1), label="input")]
    assume(math.isfinite(out.item()))
    text = io.StringIO()
    total = viz.explain(out, x, file=text, names={"y": out, "x": x})
    if out.grad_fn is None:  # the output is a leaf
        assert total == (1.0 if out is x else 0.0)
        return
    (grad,) = torch.autograd.grad(out, x, retain_graph=True, allow_unused=True)
    expected = 0.0 if grad is None else grad.item()
    assume(math.isfinite(expected))
    assert isinstance(total, float)
    assert total == pytest.approx(expected, rel=1e-9, abs=1e-12)

    lines = text.getvalue().splitlines()
    target = (x * 1).grad_fn.next_functions[0][0]
    n_paths = count_paths(out.grad_fn, target, {})
    if n_paths == 0:
        assert lines == ["dy/dx = 0: no path from y to x"] and total == 0.0
        return
    assert lines[0].startswith(f"dy/dx: {n_paths} path")
    products = [float(line.rsplit("= ", 1)[1]) for line in lines if "product " in line]
    assert len(products) == min(n_paths, 20)
    if n_paths <= 20:  # the printed products add up to the total (6 printed digits)
        scale = sum(abs(p) for p in products)
        assert sum(products) == pytest.approx(total, rel=1e-5, abs=1e-5 * scale + 1e-12)


# --------------------------------------------------------------------------------------------
# graph_stats


def live_nodes() -> int:
    gc.collect()
    return torch._C._live_nodes()


def test_graph_stats_on_known_graphs():
    x = torch.ones(4, requires_grad=True)
    s = graph_stats(x.exp().sum())  # SumBackward0 -> ExpBackward0 -> AccumulateGrad
    assert isinstance(s, GraphStats) and (s.nodes, s.saved_tensors, s.saved_bytes) == (3, 1, 16)
    # A leaf keeps no graph (its AccumulateGrad lives only inside graphs); no_grad neither.
    assert graph_stats(x)[:3] == (0, 0, 0)
    with torch.no_grad():
        assert graph_stats(x * 2)[:3] == (0, 0, 0)
    assert graph_stats(torch.ones(2))[:3] == (0, 0, 0)
    # The seed graph: 13 nodes; mul saves x, target and 1 - target, log its input twice,
    # clamp its input, sigmoid its output: 7 tensors of 4 bytes on 6 storages (clamp's input
    # is sigmoid's output).
    loss = seed_graph()["loss"]
    assert graph_stats(loss)[:3] == (13, 7, 24)
    assert graph_stats(loss.grad_fn) == graph_stats(loss)  # a node works too


def test_graph_stats_bytes_are_the_saved_storages():
    a = torch.ones(3, 4, dtype=torch.float64, requires_grad=True)  # 96 bytes a tensor
    e = a.exp()  # saves its output e
    s = e.sin()  # saves its input e: the same storage, counted once
    y = e * s  # saves e and s
    stats = graph_stats(y)
    assert (stats.nodes, stats.saved_tensors, stats.saved_bytes) == (4, 4, 2 * 3 * 4 * 8)
    b = torch.ones(3, 4, dtype=torch.float64) * 2
    assert graph_stats(e * b)[:3] == (3, 2, 192)  # mul saves only b: e needs no gradient
    m = a * a  # the same leaf saved twice: one storage
    assert graph_stats(m)[:3] == (2, 2, 96)
    y.sum().backward()  # frees the saved tensors; the nodes stay while y holds them
    assert graph_stats(y)[:3] == (4, 0, 0)


def test_graph_stats_live_nodes_return_to_start():
    start = live_nodes()
    assert graph_stats(torch.ones(1)).live_nodes == start
    g = seed_graph()
    s = graph_stats(g["loss"])
    assert s.live_nodes == start + 13
    with io.StringIO() as out:
        viz.explain(g["loss"], g["w"], file=out, names={})
        viz.to_dot(g["loss"], params=g, show_saved=True)
    del g, s
    assert live_nodes() == start  # viz keeps nothing alive


# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("module", [viz, sys.modules["autodiff.autograd.stats"]])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
