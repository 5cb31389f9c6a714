"""``autodiff.save`` and ``autodiff.load``: tensors and state dicts as safetensors files.

The file is a safetensors file (https://github.com/huggingface/safetensors), so other frameworks
read it: an 8-byte little-endian size N, N bytes of UTF-8 JSON (padded with spaces to a
multiple of 8) giving each tensor's ``dtype``, ``shape`` and ``data_offsets`` into the byte
buffer that follows, and an optional ``"__metadata__"`` object of strings. The buffer holds the
tensors row-major and little-endian, back to back; within it, wider dtypes come first so that
every tensor is aligned to its item size, as the reference writer does.

A flat ``dict[str, Tensor]`` (a model's ``state_dict``) is written with exactly its keys.
Anything else (a single tensor, an optimizer's ``state_dict``, nested dicts, lists and tuples)
is written with its tensors under keys made from their paths (``"state.0.exp_avg"``) and the
shape of the structure as JSON under the metadata key ``"autodiff.structure"``.

Unlike ``torch.save`` this never pickles: a file holds data only, and ``load`` runs no code.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import struct
from collections import OrderedDict
from typing import IO, TYPE_CHECKING, Any, Union

from ._C import Tensor
from ._size import Size

if TYPE_CHECKING:
    import numpy as np

__all__ = ["load", "save"]

FileLike = Union[str, "os.PathLike[str]", IO[bytes]]

STRUCTURE_KEY = "autodiff.structure"
_METADATA = "__metadata__"
_WRITE_CODES = {"float64": "F64", "float32": "F32", "int64": "I64", "bool": "BOOL"}
# safetensors dtype -> the little-endian NumPy dtype of its bytes and their item size. The ones
# autodiff lacks are widened exactly: F16 and BF16 to float32, the smaller integers to int64.
_READ_DTYPES = {
    "F64": ("<f8", 8),
    "F32": ("<f4", 4),
    "I64": ("<i8", 8),
    "BOOL": ("u1", 1),
    "F16": ("<f2", 2),
    "BF16": ("<u2", 2),
    "I32": ("<i4", 4),
    "I16": ("<i2", 2),
    "I8": ("i1", 1),
    "U32": ("<u4", 4),
    "U16": ("<u2", 2),
    "U8": ("u1", 1),
}
_CUDA_MESSAGE = (
    "Attempting to deserialize object on a CUDA device but torch.cuda.is_available() is False. "
    "If you are running on a CPU-only machine, please use torch.load with "
    "map_location=torch.device('cpu') to map your storages to the CPU."
)
_STORABLE = "tensors and dicts (str or int keys), lists, tuples, str, int, float, bool and None"


def save(
    obj: object,
    f: FileLike,
    pickle_module: Any = None,
    pickle_protocol: int = 2,
    _use_new_zipfile_serialization: bool = True,
    _disable_byteorder_record: bool = False,
) -> None:
    """Saves a tensor, a state dict or a nested structure of them to ``f`` as safetensors.

    ``obj`` may hold tensors, dicts with str or int keys (``OrderedDict`` stays one), lists,
    tuples, ``autodiff.Size``, str, int, float (inf and nan too), bool and None, nested to
    any depth; anything else raises ``TypeError`` naming its type before the file is touched.
    Tensors are saved by value: a view or a non-contiguous tensor saves the elements it shows,
    a tensor that requires grad saves its data. A tensor object that appears twice is stored
    once and loads as one object.

    ``f`` is a path (str or ``os.PathLike``) or a binary file object. A path is written
    atomically: to a temporary file in the same directory, flushed to disk, then renamed over
    the target (through a symlink, as ``open`` would), so on any error an existing file keeps
    its old contents and no partial file is left. A file object is written from its current
    position, without that guarantee. ``pickle_module``,
    ``pickle_protocol`` and the underscored arguments are accepted for PyTorch compatibility
    and ignored: nothing is pickled.

    >>> import os, tempfile, autodiff
    >>> from autodiff.serialization import load, save
    >>> d = tempfile.TemporaryDirectory()
    >>> path = os.path.join(d.name, "model.safetensors")
    >>> save({"weight": autodiff.ones(2, 2), "bias": autodiff.zeros(2)}, path)
    >>> state = load(path)
    >>> list(state), state["bias"]
    (['weight', 'bias'], tensor([0., 0.]))
    >>> save({"step": 3, "betas": (0.9, 0.999), "m": autodiff.tensor([0.5])}, path)
    >>> load(path)
    {'step': 3, 'betas': (0.9, 0.999), 'm': tensor([0.5000])}
    >>> d.cleanup()
    """
    tensors, metadata = _flatten(obj)
    payload = _serialize(tensors, metadata)
    if isinstance(f, (str, bytes, os.PathLike)):
        _write_atomic(os.fsdecode(f), payload)
    elif hasattr(f, "write"):
        _write_payload(f, payload)
    else:
        raise TypeError(f"f must be a path or a binary file object, not {_type_name(f)}")


def load(
    f: FileLike,
    map_location: Any = None,
    pickle_module: Any = None,
    *,
    weights_only: bool | None = None,
    mmap: bool | None = None,
    **pickle_load_args: Any,
) -> Any:
    """Loads what :func:`save` wrote, or any safetensors file, from ``f``.

    A file written by ``save`` comes back as the structure saved (tuples as tuples, int keys
    as ints). A file with no ``"autodiff.structure"`` metadata (a flat dict saved here, or a
    file from ``safetensors.torch.save_file`` or ``safetensors.numpy.save_file``) comes back
    as an ``OrderedDict`` of its tensors in header order. Loaded tensors own their memory and
    do not require grad. Dtypes autodiff lacks are widened exactly: F16 and BF16 to float32,
    I32, I16, I8, U32, U16 and U8 to int64; others (U64, F8 formats, ...) raise
    ``RuntimeError`` naming the dtype.

    ``f`` is a path or a seekable binary file object, read from its current position. A missing file
    raises ``FileNotFoundError`` as ``open`` does; a file that is not valid safetensors (a
    truncated one, a zip or pickle written by ``torch.save``, inconsistent header) raises
    ``RuntimeError`` naming the file and what is wrong.

    Every tensor lives on the CPU, so ``map_location`` may be None, ``"cpu"``, a cpu device,
    a dict of locations or a ``fn(tensor, "cpu")`` whose non-None result replaces each
    tensor; other devices raise ``RuntimeError``. ``weights_only``, ``mmap``, ``pickle_module``
    and the pickle arguments change nothing: the format holds data only and is read eagerly.

    >>> import io, autodiff
    >>> from autodiff.serialization import load, save
    >>> buffer = io.BytesIO()
    >>> save([autodiff.tensor(2.0), {"n": 1}], buffer)
    >>> _ = buffer.seek(0)
    >>> load(buffer, map_location="cpu")
    [tensor(2.), {'n': 1}]
    """
    _check_map_location(map_location)
    if isinstance(f, (str, bytes, os.PathLike)):
        name = repr(os.fsdecode(f))
        with open(f, "rb") as file:
            tensors, metadata = _read(file, name)
    else:
        file_name = getattr(f, "name", None)
        name = repr(file_name) if isinstance(file_name, str) else f"the {type(f).__name__} object"
        tensors, metadata = _read(f, name)
    if callable(map_location):
        for key, tensor in tensors.items():
            moved = map_location(tensor, "cpu")
            tensors[key] = tensor if moved is None else moved
    if STRUCTURE_KEY not in metadata:
        return tensors
    try:
        return _unflatten(json.loads(metadata[STRUCTURE_KEY]), tensors)
    except ValueError as error:
        raise RuntimeError(
            f"{name} is not a valid safetensors file: its {STRUCTURE_KEY!r} metadata is "
            f"malformed ({error})"
        ) from None


def _type_name(obj: object) -> str:
    cls = type(obj)
    return repr(
        cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    )


# ---------------------------------------------------------------- structure <-> flat tensors


def _is_flat(obj: Any) -> bool:
    """A ``dict[str, Tensor]``, written as a plain safetensors file with exactly its keys."""
    return (
        type(obj) in (dict, OrderedDict)
        and _METADATA not in obj
        and all(type(k) is str and isinstance(v, Tensor) for k, v in obj.items())
    )


def _flatten(obj: object) -> tuple[dict[str, Tensor], dict[str, str]]:
    """The tensors to store under their keys, and the metadata that rebuilds ``obj``."""
    if _is_flat(obj):
        return dict(obj), {"format": "pt"}  # type: ignore[call-overload]
    tensors: dict[str, Tensor] = {}
    keys_by_id: dict[int, str] = {}
    open_containers: set[int] = set()

    def tensor_key(path: tuple[str, ...]) -> str:
        # The path names the tensor for other readers; ".1", ".2" settle collisions such as
        # {"a.b": x, "a": {"b": y}}.
        base = key = ".".join(path) or "tensor"
        n = 0
        while key in tensors or key == _METADATA:
            n += 1
            key = f"{base}.{n}"
        return key

    def encode(node: Any, path: tuple[str, ...], where: str) -> Any:
        kind = type(node)
        if node is None or kind in (bool, int, str):
            return node
        if kind is float:
            return node if math.isfinite(node) else {"float": repr(node)}
        if isinstance(node, Tensor):
            if id(node) not in keys_by_id:
                keys_by_id[id(node)] = key = tensor_key(path)
                tensors[key] = node
            return {"tensor": keys_by_id[id(node)]}
        if kind is Size:
            return {"size": list(node)}
        if kind not in (list, tuple, dict, OrderedDict):
            raise TypeError(
                f"cannot save an object of type {_type_name(node)} (at {where}): "
                f"autodiff.save stores {_STORABLE}"
            )
        if id(node) in open_containers:
            raise ValueError(f"cannot save a structure that contains itself (at {where})")
        open_containers.add(id(node))
        if kind in (list, tuple):
            items = [encode(x, (*path, str(i)), f"{where}[{i}]") for i, x in enumerate(node)]
            encoded: Any = items if kind is list else {"tuple": items}
        else:
            pairs = []
            for k, v in node.items():
                if type(k) not in (str, int):
                    raise TypeError(
                        f"cannot save a dict key of type {_type_name(k)} (at {where}): "
                        "autodiff.save stores dicts with str or int keys"
                    )
                pairs.append([k, encode(v, (*path, str(k)), f"{where}[{k!r}]")])
            encoded = {"dict" if kind is dict else "odict": pairs}
        open_containers.discard(id(node))
        return encoded

    structure = encode(obj, (), "obj")
    return tensors, {
        "format": "pt",
        STRUCTURE_KEY: json.dumps(structure, separators=(",", ":"), allow_nan=False),
    }


def _unflatten(node: Any, tensors: dict[str, Tensor]) -> Any:
    if node is None or type(node) in (bool, int, float, str):
        return node
    if type(node) is list:
        return [_unflatten(x, tensors) for x in node]
    if type(node) is dict and len(node) == 1:
        ((tag, value),) = node.items()
        if tag == "tensor" and type(value) is str:
            if value not in tensors:
                raise ValueError(f"it names tensor {value!r}, which the file does not have")
            return tensors[value]
        if tag == "float" and value in ("nan", "inf", "-inf"):
            return float(value)
        if tag == "size" and type(value) is list and all(type(x) is int for x in value):
            return Size(value)
        if tag == "tuple" and type(value) is list:
            return tuple(_unflatten(x, tensors) for x in value)
        if tag in ("dict", "odict") and type(value) is list:
            if not all(type(p) is list and len(p) == 2 and type(p[0]) in (str, int) for p in value):
                raise ValueError(f"a {tag} entry is not a list of [key, value] pairs")
            pairs = [(k, _unflatten(v, tensors)) for k, v in value]
            return dict(pairs) if tag == "dict" else OrderedDict(pairs)
    raise ValueError(f"unexpected {json.dumps(node)[:60]}")


# ---------------------------------------------------------------- writing


def _serialize(tensors: dict[str, Tensor], metadata: dict[str, str]) -> list[Any]:
    """The file's pieces in order: size, header, then the tensors' bytes."""
    arrays = {}
    for key, tensor in tensors.items():
        array = tensor.detach().contiguous().numpy()
        arrays[key] = array.astype(array.dtype.newbyteorder("<"), copy=False)
    # Widest items first, so each tensor starts at a multiple of its item size.
    order = sorted(arrays, key=lambda k: -arrays[k].dtype.itemsize)
    offsets, end = {}, 0
    for key in order:
        offsets[key] = [end, end + arrays[key].nbytes]
        end += arrays[key].nbytes
    header: dict[str, Any] = {_METADATA: metadata}
    for key, array in arrays.items():
        header[key] = {
            "dtype": _WRITE_CODES[array.dtype.name],
            "shape": list(array.shape),
            "data_offsets": offsets[key],
        }
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
    text += b" " * (-len(text) % 8)
    return [struct.pack("<Q", len(text)), text] + [arrays[k].data for k in order if arrays[k].size]


def _write_payload(file: IO[bytes], payload: list[Any]) -> None:
    for piece in payload:
        file.write(piece)


def _write_atomic(path: str, payload: list[Any]) -> None:
    parent = os.path.dirname(path)
    if parent and not os.path.isdir(parent):
        raise RuntimeError(f"Parent directory {parent} does not exist.")
    if os.path.islink(path):
        # Replace the file the link points to, as writing through it would, not the link.
        path = os.path.realpath(path)
        parent = os.path.dirname(path)
    temp = os.path.join(parent, f".{os.path.basename(path)}.{secrets.token_hex(8)}.tmp")
    # os.open with mode 0o666 (not mkstemp's 0o600) gives the file the permissions under the
    # umask that open(path, "wb") would.
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as file:
            _write_payload(file, payload)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    if hasattr(os, "O_DIRECTORY"):
        # The rename itself is durable only once the directory is synced.
        with contextlib.suppress(OSError):
            dir_fd = os.open(parent or ".", os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)


# ---------------------------------------------------------------- reading


class _Invalid(Exception):
    """Why the bytes are not a safetensors file; ``_read`` adds the file's name."""


def _check_map_location(map_location: Any) -> None:
    if map_location is None or callable(map_location):
        return
    target = map_location.get("cpu", "cpu") if isinstance(map_location, dict) else map_location
    device = str(target)
    if device == "cpu" or device.startswith("cpu:"):
        return
    if device.startswith("cuda"):
        raise RuntimeError(_CUDA_MESSAGE)
    raise RuntimeError(f"autodiff tensors live on the CPU only; cannot load them onto {device!r}")


def _read(file: IO[bytes], name: str) -> tuple[dict[str, Tensor], dict[str, str]]:
    try:
        return _read_tensors(file, name)
    except _Invalid as error:
        raise RuntimeError(f"{name} is not a valid safetensors file: {error}") from None


def _read_tensors(file: IO[bytes], name: str) -> tuple[dict[str, Tensor], dict[str, str]]:
    import numpy as np

    from ._C import from_numpy

    start = file.tell()
    size = file.seek(0, os.SEEK_END) - start
    file.seek(start)
    head = file.read(8)
    if head.startswith(b"PK\x03\x04"):
        raise _Invalid("it is a zip archive (the format torch.save writes); " + _CONVERT_HINT)
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        raise _Invalid("it is a pickle (torch.save's legacy format); " + _CONVERT_HINT)
    if size < 8:
        raise _Invalid(f"it is {size} bytes long, too short for the 8-byte header size")
    (header_size,) = struct.unpack("<Q", head)
    if header_size > size - 8:
        raise _Invalid(
            f"its header size is {header_size} bytes but only {size - 8} bytes follow "
            "(is it truncated?)"
        )
    metadata, entries = _parse_header(file.read(header_size), size - 8 - header_size)
    tensors: dict[str, Tensor] = OrderedDict()
    for key, code, shape, begin, end in entries:
        if code not in _READ_DTYPES:
            raise RuntimeError(
                f"cannot load {name}: tensor {key!r} has dtype {code}, which autodiff does not "
                f"support (it reads {', '.join(_READ_DTYPES)})"
            )
        raw = np.empty(shape, dtype=_READ_DTYPES[code][0])
        if raw.size:
            file.seek(start + 8 + header_size + begin)
            if file.readinto(raw.data.cast("B")) != end - begin:  # type: ignore[attr-defined]
                raise _Invalid(f"tensor {key!r} ends early (did the file change while read?)")
        tensors[key] = from_numpy(_widen(code, raw))
    return tensors, metadata


_CONVERT_HINT = (
    "autodiff reads only safetensors (load it with torch.load and write it with "
    "safetensors.torch.save_file)"
)
_ENTRY_FORM = '{"dtype": str, "shape": [int, ...], "data_offsets": [begin, end]}'


def _parse_header(raw: bytes, buffer_size: int) -> tuple[dict[str, str], list[tuple]]:
    """The metadata and ``(key, dtype, shape, begin, end)`` per tensor, in header order, after
    checking that the tensors tile the ``buffer_size`` bytes of data exactly."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _Invalid("its header is not valid UTF-8") from None

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for k, v in pairs:
            if k in result:
                raise _Invalid(f"its header lists {k!r} twice")
            result[k] = v
        return result

    try:
        header = json.loads(text, object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as error:
        raise _Invalid(
            f"its header is not valid JSON ({error.msg} at character {error.pos})"
        ) from None
    if type(header) is not dict:
        raise _Invalid("its header is not a JSON object")
    metadata = header.pop(_METADATA, {})
    if type(metadata) is not dict or not all(type(v) is str for v in metadata.values()):
        raise _Invalid(f"its {_METADATA!r} is not an object of strings")
    entries = []
    for key, entry in header.items():
        if not _well_formed(entry):
            raise _Invalid(f"the header entry of {key!r} is not of the form {_ENTRY_FORM}")
        code, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        begin, end = offsets
        if code in _READ_DTYPES:
            need = math.prod(shape) * _READ_DTYPES[code][1]
            if end - begin != need:
                raise _Invalid(
                    f"tensor {key!r} of dtype {code} and shape {shape} needs {need} bytes but "
                    f"its data_offsets {offsets} span {end - begin}"
                )
        if end > buffer_size:
            raise _Invalid(
                f"tensor {key!r} has data_offsets {offsets} beyond the end of the "
                f"{buffer_size}-byte data buffer (is the file truncated?)"
            )
        entries.append((key, code, shape, begin, end))
    covered, last = 0, None
    for key, _, _, begin, end in sorted(entries, key=lambda e: (e[3], e[4])):
        if begin < covered:
            raise _Invalid(f"tensors {last!r} and {key!r} overlap in the data buffer")
        if begin > covered:
            raise _Invalid(f"the data buffer has unused bytes [{covered}, {begin})")
        covered, last = end, key
    if covered != buffer_size:
        raise _Invalid(f"the data buffer has unused bytes [{covered}, {buffer_size})")
    return metadata, entries


def _well_formed(entry: Any) -> bool:
    if type(entry) is not dict or set(entry) != {"dtype", "shape", "data_offsets"}:
        return False
    shape, offsets = entry["shape"], entry["data_offsets"]
    return (
        type(entry["dtype"]) is str
        and type(shape) is list
        and all(type(n) is int and n >= 0 for n in shape)
        and type(offsets) is list
        and len(offsets) == 2
        and all(type(n) is int for n in offsets)
        and 0 <= offsets[0] <= offsets[1]
    )


def _widen(code: str, raw: np.ndarray) -> np.ndarray:
    """``raw`` as one of autodiff's dtypes, in native byte order, owning its memory."""
    import numpy as np

    if code == "BOOL":
        return raw.astype(np.bool_)
    if code == "BF16":
        # bfloat16 is the top half of a float32: shifting the bits up converts exactly.
        wide = raw.astype(np.uint32)
        wide <<= 16
        return wide.view(np.float32)
    if code == "F16":
        return raw.astype(np.float32)
    if code not in ("F64", "F32", "I64"):
        return raw.astype(np.int64)
    return raw if raw.dtype.isnative else raw.astype(raw.dtype.newbyteorder("="))
