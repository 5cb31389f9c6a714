"""Tensor repr/str, laid out character for character as PyTorch lays it out.

The engine hands us the tensor's data as a numpy array plus its dtype name; everything about the
layout (number style, column width, summarisation, line wrapping, suffixes) is decided here.

Rules reproduced from PyTorch (observed on torch 2.13-2.15, default print options):

* One number style per tensor, chosen from the finite non-zero values of the (summarised) data:
  scientific when max/min > 1000, max > 1e8 or min < 1e-4 (absolute values); otherwise "integer"
  style (``3.``) when every such value is integral; otherwise fixed point with ``precision`` digits.
* Every element is right-aligned to the widest *finite non-zero* element, so ``inf``/``nan``/zeros
  never widen a column but may overflow it.
* Floats are formatted from their Python ``float`` value (float32 widened exactly to double).
* 1-d rows wrap so that ``(width + 2) * n`` fits in ``linewidth - indent``; rows of n-d tensors are
  separated by ``dim - 1`` newlines; above ``threshold`` elements only ``edgeitems`` items are kept
  at each end of every dimension, with ``...`` in between.
* Suffixes (``dtype=``, ``requires_grad=True``, ``grad_fn=<...>``) go on the last line unless that
  would pass ``linewidth``, in which case they start a new line indented under ``tensor(``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

__all__ = ["format_tensor", "get_printoptions", "printoptions", "set_printoptions"]

_NUMPY_DTYPES = {
    "float32": np.float32,
    "float64": np.float64,
    "int64": np.int64,
    "bool": np.bool_,
}
_FLOAT_DTYPES = ("float32", "float64")
_PREFIX = "tensor("


@dataclasses.dataclass
class _PrintOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


_OPTS = _PrintOptions()

# profile name -> (precision, threshold, edgeitems, linewidth); sci_mode is not part of a profile.
_PROFILES = {
    "default": (4, 1000, 3, 80),
    "short": (2, 1000, 2, 80),
    "full": (4, math.inf, 3, 80),
}


def set_printoptions(
    precision: int | None = None,
    threshold: float | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    profile: str | None = None,
    sci_mode: bool | None = None,
) -> None:
    """Set the options used to print tensors, as ``torch.set_printoptions`` does.

    ``profile`` (``"default"``, ``"short"`` or ``"full"``) is applied first, then any explicit
    option overrides it. As in PyTorch, ``sci_mode`` is always assigned, so calling this without
    ``sci_mode`` switches back to automatic scientific notation.

    >>> set_printoptions(precision=2)
    >>> format_tensor(np.array([1.12345], dtype=np.float32), "float32")
    'tensor([1.12])'
    >>> set_printoptions(profile="default")
    >>> format_tensor(np.array([1.12345], dtype=np.float32), "float32")
    'tensor([1.1235])'
    """
    if profile in _PROFILES:
        (_OPTS.precision, _OPTS.threshold, _OPTS.edgeitems, _OPTS.linewidth) = _PROFILES[profile]
    if precision is not None:
        _OPTS.precision = precision
    if threshold is not None:
        _OPTS.threshold = threshold
    if edgeitems is not None:
        _OPTS.edgeitems = edgeitems
    if linewidth is not None:
        _OPTS.linewidth = linewidth
    _OPTS.sci_mode = sci_mode


def get_printoptions() -> dict[str, Any]:
    """Return the current print options as a dict that ``set_printoptions(**d)`` accepts.

    >>> get_printoptions()["precision"]
    4
    """
    return dataclasses.asdict(_OPTS)


@contextlib.contextmanager
def printoptions(**kwargs: Any) -> Iterator[None]:
    """Temporarily change the print options (same arguments as ``set_printoptions``)."""
    saved = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**saved)


class _Formatter:
    """Chooses one number style and one column width for all elements of a tensor."""

    def __init__(self, data: np.ndarray, is_float: bool) -> None:
        self.is_float = is_float
        self.int_mode = True
        self.sci_mode = False
        self.width = 1
        flat = data.reshape(-1)
        if not is_float:
            for value in flat.tolist():
                self.width = max(self.width, len(str(value)))
            return

        finite = flat[np.isfinite(flat) & (flat != 0)]
        if finite.size == 0:
            # Nothing to measure: zeros, infs and nans keep the defaults (integer style, width 1).
            return
        magnitudes = np.abs(finite).astype(np.float64)
        lo, hi = float(magnitudes.min()), float(magnitudes.max())
        self.int_mode = bool(np.all(np.ceil(finite) == finite))
        if _OPTS.sci_mode is None:
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
        else:
            self.sci_mode = _OPTS.sci_mode

        precision = _OPTS.precision
        for value in finite.tolist():
            if self.sci_mode:
                text = f"{value:.{precision}e}"
            elif self.int_mode:
                text = f"{value:.0f}."  # the trailing "." counts towards the width
            else:
                text = f"{value:.{precision}f}"
            self.width = max(self.width, len(text))

    def format(self, value: float | int | bool) -> str:
        if not self.is_float:
            text = str(value)
        elif self.sci_mode:
            text = f"{value:.{_OPTS.precision}e}"
        elif self.int_mode:
            text = f"{value:.0f}"
            if math.isfinite(value):
                text += "."
        else:
            text = f"{value:.{_OPTS.precision}f}"
        return text.rjust(self.width)


def _edge_indices(n: int) -> range | list[int]:
    """Indices kept along a dimension of length ``n`` when summarising."""
    e = _OPTS.edgeitems
    if n > 2 * e:
        return list(range(e)) + list(range(n - e, n))
    return range(n)


def _summarized(data: np.ndarray) -> np.ndarray:
    """The elements that a summarised print shows; the formatter is measured on these only."""
    if data.ndim == 0:
        return data
    if data.ndim == 1:
        # With edgeitems=0 PyTorch keeps the whole vector here (x[-0:] is all of x); the printed
        # row is "[...]" either way, so this only mirrors which values get measured.
        if _OPTS.edgeitems == 0:
            return data
        return data[list(_edge_indices(data.shape[0]))]
    if _OPTS.edgeitems == 0:
        return data[:0]
    rows = [_summarized(data[i]) for i in _edge_indices(data.shape[0])]
    return np.stack(rows)


def _vector_str(data: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    n = data.shape[0]
    e = _OPTS.edgeitems
    if summarize and not e:
        items = ["..."]
    elif summarize and n > 2 * e:
        head = [fmt.format(v) for v in data[:e].tolist()]
        tail = [fmt.format(v) for v in data[n - e :].tolist()]
        items = [*head, " ...", *tail]
    else:
        items = [fmt.format(v) for v in data.tolist()]

    # Each element costs its width plus ", "; at least one element per line.
    per_line = max(1, math.floor((_OPTS.linewidth - indent) / (fmt.width + 2)))
    lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _array_str(data: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    if data.ndim == 0:
        return fmt.format(data.item())
    if data.ndim == 1:
        return _vector_str(data, indent, summarize, fmt)

    n = data.shape[0]
    e = _OPTS.edgeitems
    if summarize and n > 2 * e:
        parts = [_array_str(data[i], indent + 1, summarize, fmt) for i in range(e)]
        parts.append("...")
        parts += [_array_str(data[i], indent + 1, summarize, fmt) for i in range(n - e, n)]
    else:
        parts = [_array_str(data[i], indent + 1, summarize, fmt) for i in range(n)]
    # A 2-d tensor puts one row per line; each extra dimension adds a blank line between blocks.
    separator = "," + "\n" * (data.ndim - 1) + " " * (indent + 1)
    return "[" + separator.join(parts) + "]"


def _add_suffixes(text: str, suffixes: Iterable[str], indent: int) -> str:
    pieces = [text]
    # PyTorch measures the last line as two columns longer than it is (len - rfind("\n") + 1);
    # keep the same arithmetic so wrapping happens at exactly the same lengths.
    line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if line_len + len(suffix) + 2 > _OPTS.linewidth:
            pieces.append(",\n" + " " * indent + suffix)
            line_len = indent + len(suffix)
        else:
            pieces.append(", " + suffix)
            line_len += len(suffix) + 2
    pieces.append(")")
    return "".join(pieces)


def format_tensor(
    values: np.ndarray,
    dtype_name: str,
    *,
    default_dtype_name: str = "float32",
    suffixes: Iterable[str] = (),
) -> str:
    """Return PyTorch's repr of a tensor holding ``values`` with dtype ``dtype_name``.

    ``dtype_name`` is one of ``"float32"``, ``"float64"``, ``"int64"``, ``"bool"``. A
    ``dtype=autodiff.<name>`` suffix is added when the dtype is not the default float dtype,
    int64 or bool (for empty tensors: whenever it is not the default float dtype). ``suffixes``
    (e.g. ``"requires_grad=True"``, ``"grad_fn=<MulBackward0>"``) follow it in order.

    >>> format_tensor(np.array([1.0, 2.5], dtype=np.float32), "float32")
    'tensor([1.0000, 2.5000])'
    >>> format_tensor(np.array(3.0), "float64", suffixes=["requires_grad=True"])
    'tensor(3., dtype=autodiff.float64, requires_grad=True)'
    >>> format_tensor(np.zeros((0, 3), dtype=np.int64), "int64")
    'tensor([], size=(0, 3), dtype=autodiff.int64)'
    """
    if dtype_name not in _NUMPY_DTYPES:
        raise ValueError(f"unsupported dtype name: {dtype_name!r}")
    data: np.ndarray = np.asarray(values, dtype=_NUMPY_DTYPES[dtype_name])
    indent = len(_PREFIX)
    dtype_suffix = f"dtype=autodiff.{dtype_name}"
    extra: list[str] = []

    if data.size == 0:
        body = "[]"
        if data.ndim != 1:
            extra.append(f"size={tuple(data.shape)}")
        # An empty int64/bool tensor has no elements that could reveal its dtype, so show it.
        if dtype_name != default_dtype_name:
            extra.append(dtype_suffix)
    else:
        if not _OPTS.edgeitems:
            extra.append(f"size={tuple(data.shape)}")
        if dtype_name not in (default_dtype_name, "int64", "bool"):
            extra.append(dtype_suffix)
        summarize = data.size > _OPTS.threshold
        fmt = _Formatter(_summarized(data) if summarize else data, dtype_name in _FLOAT_DTYPES)
        body = _array_str(data, indent, summarize, fmt)

    return _add_suffixes(_PREFIX + body, [*extra, *suffixes], indent)
