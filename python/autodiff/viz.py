"""``autodiff.viz``: the autograd graph as a picture (Graphviz) and the chain rule as text.

- :func:`to_dot` gives Graphviz DOT text of the graph behind a tensor, like torchviz's
  ``make_dot``; the result displays as an image in Jupyter.
- :func:`render` writes it as SVG or PNG with Graphviz's ``dot`` program.
- :func:`explain` prints every path from an output to an input, each step's local derivative
  and their product, and the sum over paths, which is the gradient ``backward`` computes.

Every walk over the graph uses an explicit stack, so graphs of any depth work.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, Optional, cast

from ._C import Tensor, ones_like
from .autograd.grad_mode import enable_grad, no_grad
from .autograd.graph import Node

__all__ = ["Digraph", "explain", "render", "to_dot"]

_INSTALL_HINT = (
    "Graphviz's `dot` program was not found on PATH; it is needed to draw the graph. "
    "Install Graphviz with `apt install graphviz` (Debian/Ubuntu), `brew install graphviz` "
    "(macOS) or `conda install -c conda-forge graphviz` (conda), or see "
    "https://graphviz.org/download/. Without it, `autodiff.viz.to_dot(tensor)` still gives "
    "the DOT text."
)
_FORMATS = ("svg", "png", "pdf", "dot", "gv")
_NODE_ATTRS = (
    "align=left fontname=monospace fontsize=10 height=0.2 ranksep=0.1 shape=box style=filled"
)


# ---------------------------------------------------------------------------------------------
# Graph walks (iterative: a 1e6-node chain must not touch the recursion limit)


def _walk(root: Node) -> tuple[list[Node], dict[Node, tuple[Node | None, ...]]]:
    """The nodes reachable from ``root`` in depth-first preorder (the order a recursive walk
    visits them, inputs in ``next_functions`` order), and each node's input nodes."""
    order: list[Node] = []
    inputs: dict[Node, tuple[Node | None, ...]] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        if node in inputs:
            continue
        kids = tuple(fn for fn, _ in node.next_functions)
        inputs[node] = kids
        order.append(node)
        stack.extend(k for k in reversed(kids) if k is not None and k not in inputs)
    return order, inputs


def _topological(root: Node, inputs: Mapping[Node, tuple[Node | None, ...]]) -> list[Node]:
    """Reverse postorder: every node comes before the nodes it sends gradients to."""
    post: list[Node] = []
    done: set[Node] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            post.append(node)
            continue
        if node in done:
            continue
        done.add(node)
        stack.append((node, True))
        stack.extend((k, False) for k in reversed(inputs[node]) if k is not None and k not in done)
    post.reverse()
    return post


def _accumulator(t: Tensor) -> Node | None:
    """The ``AccumulateGrad`` node of a leaf that requires grad.

    The engine keeps one accumulator per leaf, but a tensor does not expose it: a throwaway
    view reaches it through its ``next_functions``. (``node.variable`` returns a new wrapper,
    so leaves cannot be matched by ``is``.)
    """
    if t.grad_fn is not None or not t.requires_grad:
        return None
    with enable_grad():
        probe = t.unsqueeze(0)
    fn = probe.grad_fn
    return None if fn is None else fn.next_functions[0][0]


def _node_names(params: Mapping[str, Tensor] | None) -> dict[Node, str]:
    """``{node: name}``: a named tensor's ``grad_fn``, or a named leaf's ``AccumulateGrad``."""
    names: dict[Node, str] = {}
    for name, t in (params or {}).items():
        if not isinstance(t, Tensor):
            continue
        node = t.grad_fn if t.grad_fn is not None else _accumulator(t)
        if node is not None:
            names.setdefault(node, name)
    return names


def _call(node: Node, grad: Tensor) -> tuple[Tensor | None, ...]:
    """Runs ``node``'s backward rule on ``grad``: one gradient per input of the node."""
    out = cast(Any, node)(grad)
    return (out,) if len(node.next_functions) == 1 else tuple(out)


def _shape(t: Tensor) -> str:
    return str(tuple(t.shape))


def _dtype(t: Tensor) -> str:
    return str(t.dtype).rsplit(".", 1)[-1]


# ---------------------------------------------------------------------------------------------
# DOT text and rendering


class Digraph(str):
    """DOT source (a ``str``) that Jupyter displays as an image, drawn by Graphviz's ``dot``.

    >>> import autodiff
    >>> from autodiff import viz
    >>> x = autodiff.tensor(2.0, requires_grad=True)
    >>> g = viz.to_dot(x * x)
    >>> g.source.splitlines()[0]
    'digraph {'
    """

    @property
    def source(self) -> str:
        """The DOT text, as graphviz's ``Digraph.source``."""
        return str(self)

    def pipe(self, format: str = "svg") -> bytes:
        """The graph drawn by ``dot`` in ``format`` (``'svg'``, ``'png'``, ``'pdf'``).

        Raises ``RuntimeError`` with installation instructions when Graphviz is missing.
        """
        return _run_dot(str(self), format)

    def render(self, path: str | os.PathLike[str], format: str | None = None) -> Path:
        """Writes the graph to ``path``; the format comes from its suffix unless given."""
        return _write(str(self), Path(path), format)

    def _repr_svg_(self) -> str:
        # Jupyter's rich display. Without Graphviz, show the install hint as the image, so the
        # cell says what to do instead of printing a traceback.
        if shutil.which("dot") is None:
            return _message_svg(_INSTALL_HINT)
        return self.pipe("svg").decode("utf-8")


def _message_svg(text: str) -> str:
    words, lines, line = text.split(), [], ""
    for word in words:
        if len(line) + len(word) > 70:
            lines.append(line)
            line = ""
        line += ("" if not line else " ") + word
    lines.append(line)
    body = "".join(
        f'<text x="8" y="{20 + 16 * i}">{_xml_escape(s)}</text>' for i, s in enumerate(lines)
    )
    height = 24 + 16 * len(lines)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="560" height="{height}" '
        f'font-family="monospace" font-size="12">{body}</svg>'
    )


def _xml_escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _quote(label: str) -> str:
    escaped = label.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _tensor_label(t: Tensor, name: str | None) -> str:
    lines = [name] if name else []
    return "\n".join([*lines, _shape(t), _dtype(t)])


def _saved_counts(
    order: list[Node], inputs: Mapping[Node, tuple[Node | None, ...]]
) -> dict[Node, int]:
    """Tensors each node saved for backward.

    The engine reports only totals over the graph reachable from a node
    (``node._graph_stats()``). Counts add up over nodes, so a node's own count is its total
    minus the counts of everything below it. Each total costs a walk of the subgraph, so this
    is quadratic in the depth of the graph: meant for pictures, not for 1e5-node graphs.
    """
    totals = {n: cast(Any, n)._graph_stats()[1] for n in order}
    own: dict[Node, int] = {}
    for node in reversed(_topological(order[0], inputs)):
        kids = {k for k in inputs[node] if k is not None}
        if len(kids) <= 1:
            below = sum(totals[k] for k in kids)
        else:  # shared subgraphs: count each node below once
            seen: set[Node] = set()
            stack = list(kids)
            while stack:
                n = stack.pop()
                if n not in seen:
                    seen.add(n)
                    stack.extend(k for k in inputs[n] if k is not None)
            below = sum(own[n] for n in seen)
        own[node] = totals[node] - below
    return own


def to_dot(
    tensor: Tensor,
    params: Mapping[str, Tensor] | None = None,
    show_saved: bool = False,
) -> Digraph:
    """Graphviz DOT text of the autograd graph behind ``tensor``, as torchviz's ``make_dot``.

    One box per ``grad_fn`` with its PyTorch name, the ``AccumulateGrad`` node of every leaf,
    each leaf in light blue with its shape and dtype, and ``tensor`` itself in green. Edges run
    the way data flows in the forward pass. ``params`` maps names to tensors: leaves (and
    ``tensor``) found there are labelled with their names, and a named intermediate's
    ``grad_fn`` shows the name in parentheses.

    ``show_saved=True`` adds each node's count of tensors saved for backward to its box, and the
    totals (tensors, bytes of distinct storages) as a caption under the graph. The engine does not expose the
    saved tensors themselves (PyTorch's ``grad_fn._saved_self``), so their shapes are not
    drawn; computing per-node counts walks the graph once per node, so keep it to small graphs.

    Node ids are ``n0`` (the output), then ``n1, n2, ...`` in depth-first order from the output,
    so the text is the same on every run.

    >>> import autodiff
    >>> from autodiff import viz
    >>> w = autodiff.tensor(1.0, requires_grad=True)
    >>> y = w * 3
    >>> print(viz.to_dot(y, params={"w": w, "y": y}), end="")
    digraph {
        graph [size="12,12"]
        node [align=left fontname=monospace fontsize=10 height=0.2 ranksep=0.1 shape=box style=filled]
        n0 [label="y\\n()\\nfloat32" fillcolor=darkolivegreen1]
        n1 [label="MulBackward0"]
        n2 [label="AccumulateGrad"]
        n3 [label="w\\n()\\nfloat32" fillcolor=lightblue]
        n1 -> n0
        n2 -> n1
        n3 -> n2
    }
    """  # noqa: E501
    names = _node_names(params)
    out_name = next((k for k, v in (params or {}).items() if v is tensor), None)
    root = tensor.grad_fn
    if out_name is None and root is not None:
        out_name = names.get(root)
    nodes = [f"    n0 [label={_quote(_tensor_label(tensor, out_name))} fillcolor=darkolivegreen1]"]
    edges: list[str] = []
    graph_attrs = 'size="12,12"'
    if root is not None:
        order, inputs = _walk(root)
        saved = _saved_counts(order, inputs) if show_saved else {}
        # Ids in DFS order, with each leaf right after its AccumulateGrad.
        ids: dict[Node, str] = {}
        counter = 1
        leaf_ids: dict[Node, str] = {}
        for node in order:
            ids[node] = f"n{counter}"
            counter += 1
            if node.variable is not None:
                leaf_ids[node] = f"n{counter}"
                counter += 1
        edges.append(f"    {ids[root]} -> n0")
        for node in order:
            cls = node._class_name
            label = cls
            if node != root and node in names and cls != "AccumulateGrad":
                label += f"\n({names[node]})"
            if saved.get(node):
                count = saved[node]
                label += f"\nsaved: {count} tensor{'s' if count != 1 else ''}"
            nodes.append(f"    {ids[node]} [label={_quote(label)}]")
            leaf = node.variable
            if leaf is not None:
                text = _tensor_label(leaf, names.get(node))
                nodes.append(f"    {leaf_ids[node]} [label={_quote(text)} fillcolor=lightblue]")
                edges.append(f"    {leaf_ids[node]} -> {ids[node]}")
            edges.extend(f"    {ids[k]} -> {ids[node]}" for k in inputs[node] if k is not None)
        if show_saved:
            _, n_saved, n_bytes = cast(Any, root)._graph_stats()
            caption = f"saved for backward: {n_saved} tensors, {n_bytes} bytes"
            graph_attrs += f" label={_quote(caption)} labelloc=b"
    lines = ["digraph {", f"    graph [{graph_attrs}]", f"    node [{_NODE_ATTRS}]"]
    return Digraph("\n".join([*lines, *nodes, *edges, "}"]) + "\n")


def _run_dot(source: str, format: str) -> bytes:
    exe = shutil.which("dot")
    if exe is None:
        raise RuntimeError(_INSTALL_HINT)
    proc = subprocess.run(
        [exe, f"-T{format}"], input=source.encode("utf-8"), capture_output=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"dot -T{format} failed: {proc.stderr.decode(errors='replace')}")
    return proc.stdout


def _write(source: str, path: Path, format: str | None) -> Path:
    fmt = (format or path.suffix.lstrip(".")).lower()
    if fmt not in _FORMATS:
        raise ValueError(
            f"cannot write a graph as {fmt!r} (from {str(path)!r}); use a path ending in "
            f"{', '.join('.' + f for f in _FORMATS)} or pass format="
        )
    if fmt in ("dot", "gv"):
        path.write_text(source, encoding="utf-8")
    else:
        path.write_bytes(_run_dot(source, fmt))
    return path


def render(
    tensor: Tensor,
    path: str | os.PathLike[str],
    format: str | None = None,
    params: Mapping[str, Tensor] | None = None,
    show_saved: bool = False,
) -> Path:
    """Draws the graph behind ``tensor`` (see :func:`to_dot`) into ``path`` and returns it.

    The format comes from the suffix (``.svg``, ``.png``, ``.pdf``; ``.dot``/``.gv`` write the
    DOT text) unless ``format`` is given. Drawing runs Graphviz's ``dot`` program; without it,
    raises ``RuntimeError`` saying how to install it.

    >>> import autodiff, shutil, tempfile, os
    >>> from autodiff import viz
    >>> x = autodiff.tensor(2.0, requires_grad=True)
    >>> out = os.path.join(tempfile.mkdtemp(), "graph.dot")
    >>> viz.render(x.exp(), out).read_text().startswith("digraph")
    True
    """
    path = Path(path)
    fmt = (format or path.suffix.lstrip(".")).lower()
    if fmt not in ("dot", "gv") and shutil.which("dot") is None:
        raise RuntimeError(_INSTALL_HINT)  # before walking a possibly large graph
    return _write(to_dot(tensor, params, show_saved), path, fmt)


# ---------------------------------------------------------------------------------------------
# The chain rule, path by path


def _fmt(v: float) -> str:
    return "0" if v == 0 else f"{v:.6g}"


def _stem(node: Node) -> str:
    cls = node._class_name
    return "leaf" if cls == "AccumulateGrad" else re.sub(r"Backward\d*$", "", cls).lower()


def _symbols(nodes: list[Node], named: Mapping[Node, str]) -> dict[Node, str]:
    """A symbol for each node's output: its name, else ``(op)`` or ``(op#k)`` in that order."""
    unnamed = [n for n in nodes if n not in named]
    counts: dict[str, int] = {}
    for n in unnamed:
        counts[_stem(n)] = counts.get(_stem(n), 0) + 1
    seen: dict[str, int] = {}
    symbols = dict(named)
    for n in unnamed:
        stem = _stem(n)
        seen[stem] = seen.get(stem, 0) + 1
        symbols[n] = f"({stem}#{seen[stem]})" if counts[stem] > 1 else f"({stem})"
    return symbols


def _first_paths(
    root: Node,
    target: Node,
    inputs: Mapping[Node, tuple[Node | None, ...]],
    relevant: set[Node],
    limit: int,
) -> list[list[tuple[Node, int, Node]]]:
    """The first ``limit`` paths in depth-first order, as ``(node, input slot, input node)``
    steps. Prefixes are shared linked lists, so deep graphs cost O(depth) per path."""
    Link = Optional[tuple[tuple[Node, int, Node], Any]]
    paths: list[list[tuple[Node, int, Node]]] = []
    stack: list[tuple[Node, Link]] = [(root, None)]
    while stack and len(paths) < limit:
        node, link = stack.pop()
        if node == target:
            steps = []
            while link is not None:
                steps.append(link[0])
                link = link[1]
            paths.append(steps[::-1])
            continue
        kids = inputs[node]
        for slot in reversed(range(len(kids))):
            k = kids[slot]
            if k is not None and k in relevant:
                stack.append((k, ((node, slot, k), link)))
    return paths


def _signed_sum(values: list[float]) -> str:
    text = _fmt(values[0])
    for v in values[1:]:
        text += f" - {_fmt(-v)}" if v < 0 else f" + {_fmt(v)}"
    return text


def explain(
    output: Tensor,
    input: Tensor,
    file: IO[str] | None = None,
    *,
    names: Mapping[str, Tensor] | None = None,
    max_paths: int = 20,
) -> float | Tensor:
    """Prints the chain rule behind ``d output / d input``, path by path, and returns it.

    Every path through the graph from ``output`` to ``input`` is a product of local derivatives
    (one per ``grad_fn`` step, got by running the node's backward rule on a gradient of 1);
    the gradient is the sum of those products over paths. The first ``max_paths`` paths are
    printed; the total is computed by dynamic programming over the graph, so it is right however
    many paths there are. When every path passes through some named tensors, the factored form
    ``dL/dw = dL/dy × dy/dz × dz/dw`` is printed as well.

    Symbols come from ``names`` (``{"L": loss, "z": z, ...}``), by default the caller's local
    variables holding tensors; unnamed values are shown by their op, e.g. ``(mul#2)``.

    For a non-scalar graph each step shows the shapes its vector-Jacobian product maps between,
    and the gradients are those of ``output.sum()``. Returns a ``float`` when ``output`` and
    ``input`` each have one element, else a tensor shaped like ``input``. The graph must not
    have been freed by a backward without ``retain_graph=True``; ``explain`` itself leaves the
    graph and every ``.grad`` untouched.

    >>> import autodiff
    >>> from autodiff import viz
    >>> x = autodiff.tensor(3.0, requires_grad=True)
    >>> y = x * x
    >>> viz.explain(y, x)
    dy/dx: 2 paths from y (MulBackward0) to x (AccumulateGrad)
      path 1 of 2:
        MulBackward0[0]  dy/dx = 3
        product                = 3
      path 2 of 2:
        MulBackward0[1]  dy/dx = 3
        product                = 3
    sum over paths: dy/dx = 3 + 3 = 6
    6.0
    """
    file = sys.stdout if file is None else file
    if names is None:
        caller = sys._getframe(1).f_locals
        names = {k: v for k, v in caller.items() if isinstance(v, Tensor) and k[:1] != "_"}
    named = _node_names(names)
    root = output.grad_fn if output.grad_fn is not None else _accumulator(output)
    target = input.grad_fn if input.grad_fn is not None else _accumulator(input)
    if target is None:
        raise RuntimeError("One of the differentiated Tensors does not require grad")
    named.setdefault(target, "input")
    if root is not None:
        named[root] = next((k for k, v in names.items() if v is output), None) or named.get(
            root, "output"
        )
    out_sym = named[root] if root is not None else "output"
    in_sym = named[target]
    scalar_io = output.numel() == 1 and input.numel() == 1

    def d(a: str, b: str) -> str:
        return f"d{a}/d{b}"

    if root is None:
        print(f"{d(out_sym, in_sym)} = 0: output has no graph", file=file)
        return 0.0 if scalar_io else input.detach() * 0

    order, inputs = _walk(root)
    topo = _topological(root, inputs)
    reaches: set[Node] = set()
    for node in reversed(topo):
        if node == target or any(k in reaches for k in inputs[node] if k is not None):
            reaches.add(node)
    topo = [n for n in topo if n in reaches]
    if not topo:
        print(f"{d(out_sym, in_sym)} = 0: no path from {out_sym} to {in_sym}", file=file)
        return 0.0 if scalar_io else input.detach() * 0

    # Vector-Jacobian products down the graph, as backward runs them: the total, and the
    # shape of the gradient each node receives.
    grads: dict[Node, Tensor] = {root: ones_like(output.detach())}
    local: dict[tuple[Node, int], Any] = {}
    with no_grad():
        for node in topo:
            if node == target:
                continue
            vjps = _call(node, grads[node])
            for k, g in zip(inputs[node], vjps):
                if k is not None and k in reaches and g is not None:
                    grads[k] = g if k not in grads else grads[k] + g
        scalar = output.numel() == 1 and all(g.numel() == 1 for g in grads.values())
        if scalar:  # local derivatives: each node's rule on a gradient of 1
            for node in topo:
                if node != target:
                    vjps = _call(node, ones_like(grads[node]))
                    for slot, g in enumerate(vjps):
                        local[(node, slot)] = 0.0 if g is None else float(g.item())

    paths_to: dict[Node, int] = {target: 1}
    for node in reversed(topo):
        if node != target:
            paths_to[node] = sum(
                paths_to[k] for k in inputs[node] if k is not None and k in reaches
            )
    paths_from: dict[Node, int] = {root: 1}
    for node in topo:
        if node != target:
            for k in inputs[node]:
                if k is not None and k in reaches:
                    paths_from[k] = paths_from.get(k, 0) + paths_from[node]
    n_paths = paths_to[root]

    symbols = _symbols([n for n in order if n in reaches], named)  # numbered as paths print
    shown = _first_paths(root, target, inputs, reaches, max_paths)
    step_rows: list[list[tuple[str, str, str]]] = []
    products: list[float] = []
    for steps in shown:
        rows, product = [], 1.0
        for node, slot, k in steps:
            name = node._class_name
            if inputs[node].count(k) > 1:
                name += f"[{slot}]"
            deriv = d(symbols[node], symbols[k])
            if scalar:
                product *= local[(node, slot)]
                rows.append((name, deriv, f"= {_fmt(local[(node, slot)])}"))
            else:
                shapes = f" VJP {_shape(grads[node])} -> {_shape(grads[k])}"
                rows.append((name, deriv, shapes))
        if scalar:
            rows.append(("product", "", f"= {_fmt(product)}"))
        step_rows.append(rows)
        products.append(product)

    kind = f" (vector-Jacobian products of {out_sym}.sum())" if output.numel() > 1 else ""
    plural = "path" if n_paths == 1 else "paths"
    print(
        f"{d(out_sym, in_sym)}{kind}: {n_paths} {plural} from {out_sym} ({root._class_name}) "
        f"to {in_sym} ({target._class_name})",
        file=file,
    )
    w1 = max((len(r[0]) for rows in step_rows for r in rows), default=0)
    w2 = max((len(r[1]) for rows in step_rows for r in rows), default=0)
    for i, rows in enumerate(step_rows, 1):
        print(f"  path {i} of {n_paths}:", file=file)
        for a, b, c in rows:
            print(f"    {a:<{w1}}  {b:<{w2}} {c}".rstrip(), file=file)
    if n_paths > len(shown):
        print(f"  ... {n_paths - len(shown)} more paths not shown", file=file)

    if not scalar:
        total_t = grads[target]
        if n_paths > len(shown):
            print("sum over all paths (dynamic programming over the graph):", file=file)
        else:
            print("sum over paths:", file=file)
        print(f"{d(out_sym, in_sym)} = {total_t!r}", file=file)
        return float(total_t.item()) if scalar_io else total_t

    # The same sum without enumerating paths: one pass over the graph in topological order.
    def chain(src: Node, dst: Node) -> float:
        val = {src: 1.0}
        for node in topo[topo.index(src) :]:
            if node == dst:
                break
            v = val.get(node)
            if v is None or node == target:
                continue
            for slot, k in enumerate(inputs[node]):
                if k is not None and k in reaches:
                    val[k] = val.get(k, 0.0) + v * local[(node, slot)]
        return val.get(dst, 0.0)

    total = chain(root, target)
    if n_paths == len(shown) and n_paths <= 6:
        print(
            f"sum over paths: {d(out_sym, in_sym)} = {_signed_sum(products)} = {_fmt(total)}",
            file=file,
        )
    else:
        print(
            f"sum over all {n_paths} paths (dynamic programming over the graph): "
            f"{d(out_sym, in_sym)} = {_fmt(total)}",
            file=file,
        )

    # Named tensors that every path passes through: the chain rule factors at them.
    gates = [
        n
        for n in topo
        if n not in (root, target)
        and not symbols[n].startswith("(")
        and paths_from[n] * paths_to[n] == n_paths
    ]
    if gates:
        stops = [root, *gates, target]
        factors = [chain(a, b) for a, b in zip(stops, stops[1:])]
        lhs = f"  {d(out_sym, in_sym)} = "
        pad = " " * (len(lhs) - 2)
        joined = " and ".join(symbols[g] for g in gates)
        print(f"every path passes through {joined}, so the chain rule factors there:", file=file)
        print(
            lhs + " × ".join(d(symbols[a], symbols[b]) for a, b in zip(stops, stops[1:])), file=file
        )
        print(f"{pad}= " + " × ".join(_fmt(f) for f in factors), file=file)
        print(f"{pad}= {_fmt(total)}", file=file)
    return total
