"""Safetensors files for the ``save`` / ``load`` tests: PyTorch-style messages the module
gives, and files made byte by byte (``tests/test_serialization.py`` and
``tests/test_serialization_errors.py``)."""

from __future__ import annotations

import json
import struct

from numeric_checks import raises

ENTRY_FORM = '{"dtype": str, "shape": [int, ...], "data_offsets": [begin, end]}'
HINT = (
    "autodiff reads only safetensors (load it with torch.load and write it with "
    "safetensors.torch.save_file)"
)
UNSUPPORTED = (
    "which autodiff does not support "
    "(it reads F64, F32, I64, BOOL, F16, BF16, I32, I16, I8, U32, U16, U8)"
)
STORABLE = "tensors and dicts (str or int keys), lists, tuples, str, int, float, bool and None"


def invalid(name, reason):
    return raises(RuntimeError, f"{name} is not a valid safetensors file: {reason}")


def safetensors_bytes(header, data=b"", pad=True):
    """A file made by hand: u64 size, JSON header (dict or raw bytes), data."""
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def structure_file(text):
    """A file with no tensors whose structure metadata is ``text``."""
    return safetensors_bytes({"__metadata__": {"autodiff.structure": text}})
