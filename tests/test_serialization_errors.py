"""``autodiff.save`` / ``autodiff.load`` when things go wrong: invalid, truncated, foreign and
missing files name the file and the fault; unstorable objects are refused before anything is
written; and a failed save leaves the old file whole and no temporary behind.
"""

from __future__ import annotations

import io
import os
import pickle
import struct
import zipfile

import numpy as np
import pytest
from numeric_checks import raises
from safetensors_files import (
    ENTRY_FORM,
    HINT,
    STORABLE,
    UNSUPPORTED,
    invalid,
    safetensors_bytes,
    structure_file,
)

import autodiff
from autodiff import serialization
from autodiff.serialization import load, save

# ---------------------------------------------------------------- errors while loading

ENTRY = {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}
ENTRY2 = {**ENTRY, "shape": [2]}  # needs 8 bytes, spans 4
ENTRY8 = {**ENTRY, "shape": [2], "data_offsets": [0, 8]}
AT_4 = {**ENTRY, "data_offsets": [4, 8]}
MALFORMED = "its 'autodiff.structure' metadata is malformed "


def tensor_file(data_size, **entries):
    return safetensors_bytes(entries, bytes(data_size))


BAD_FILES = [
    (b"", "it is 0 bytes long, too short for the 8-byte header size"),
    (b"\x10\x00\x00", "it is 3 bytes long, too short for the 8-byte header size"),
    (
        b"hello world 12345",
        "its header size is 8031924123371070824 bytes but only 9 bytes follow (is it truncated?)",
    ),
    (
        struct.pack("<Q", 100) + b"{}",
        "its header size is 100 bytes but only 2 bytes follow (is it truncated?)",
    ),
    (safetensors_bytes(b'{"\xff": 1}'), "its header is not valid UTF-8"),
    (
        safetensors_bytes(b'{"a": '),
        "its header is not valid JSON (Expecting value at character 8)",
    ),
    (safetensors_bytes(b"[1, 2]"), "its header is not a JSON object"),
    (safetensors_bytes(b'{"a": 1, "a": 2}'), "its header lists 'a' twice"),
    (
        safetensors_bytes({"__metadata__": {"a": 1}}),
        "its '__metadata__' is not an object of strings",
    ),
    (
        tensor_file(4, a=ENTRY2),
        "tensor 'a' of dtype F32 and shape [2] needs 8 bytes but its data_offsets [0, 4] span 4",
    ),
    (
        tensor_file(4, a=ENTRY8),
        "tensor 'a' has data_offsets [0, 8] beyond the end of the 4-byte data buffer "
        "(is the file truncated?)",
    ),
    (tensor_file(8, a=ENTRY8, b=AT_4), "tensors 'a' and 'b' overlap in the data buffer"),
    (tensor_file(8, a=AT_4), "the data buffer has unused bytes [0, 4)"),
    (tensor_file(8, a=ENTRY), "the data buffer has unused bytes [4, 8)"),
    (structure_file('{"set": []}'), MALFORMED + """(unexpected {"set": []})"""),
    (
        structure_file('{"dict": [["k"]]}'),
        MALFORMED + "(a dict entry is not a list of [key, value] pairs)",
    ),
    (
        structure_file("{"),
        MALFORMED + "(Expecting property name enclosed in double quotes: line 1 column 2 (char 1))",
    ),
    (
        structure_file('[{"tensor": "w"}]'),
        MALFORMED + "(it names tensor 'w', which the file does not have)",
    ),
    (
        pickle.dumps({"w": [1.0]}, protocol=2),
        f"it is a pickle (torch.save's legacy format); {HINT}",
    ),
]


@pytest.mark.parametrize(("raw", "reason"), BAD_FILES)
def test_invalid_files_name_the_file_and_the_fault(tmp_path, raw, reason):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(raw)
    with invalid(repr(str(path)), reason):
        load(path)
    with invalid("the BytesIO object", reason):
        load(io.BytesIO(raw))


@pytest.mark.parametrize(
    "entry",
    [
        [1, 2],
        {"dtype": "F32", "shape": [1]},
        {**ENTRY, "extra": 1},
        {**ENTRY, "dtype": 5},
        {**ENTRY, "shape": [-1]},
        {**ENTRY, "shape": [True]},
        {**ENTRY, "shape": 1},
        {**ENTRY, "data_offsets": [0, 4, 8]},
        {**ENTRY, "data_offsets": [4, 0]},
        {**ENTRY, "data_offsets": [-4, 0]},
        {**ENTRY, "data_offsets": [0.0, 4.0]},
    ],
)
def test_malformed_entries(entry):
    raw = safetensors_bytes({"a": entry}, bytes(4))
    with invalid("the BytesIO object", f"the header entry of 'a' is not of the form {ENTRY_FORM}"):
        load(io.BytesIO(raw))


def test_zip_archive_and_truncated_file(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("data.pkl", b"not a tensor")
    with invalid(
        "the BytesIO object", f"it is a zip archive (the format torch.save writes); {HINT}"
    ):
        load(io.BytesIO(buffer.getvalue()))
    path = tmp_path / "cut.safetensors"
    save({"a": autodiff.ones(4, dtype=autodiff.float64)}, path)
    raw = path.read_bytes()
    path.write_bytes(raw[:-3])
    with invalid(
        repr(str(path)),
        "tensor 'a' has data_offsets [0, 32] beyond the end of the 29-byte data buffer "
        "(is the file truncated?)",
    ):
        load(path)


def test_file_that_shrinks_while_read():
    class Shrinking(io.BytesIO):
        def readinto(self, buffer):
            return super().readinto(memoryview(buffer)[:-1])

    raw = safetensors_bytes({"a": ENTRY}, bytes(4))
    with invalid("the Shrinking object", "tensor 'a' ends early (did the file change while read?)"):
        load(Shrinking(raw))


def test_unknown_dtype_names_it():
    raw = safetensors_bytes({"a": {**ENTRY, "dtype": "F8_E4M3"}}, bytes(4))
    message = "cannot load the BytesIO object: tensor 'a' has dtype F8_E4M3, " + UNSUPPORTED
    with raises(RuntimeError, message):
        load(io.BytesIO(raw))


def test_missing_file_and_directory(tmp_path):
    missing = tmp_path / "missing.safetensors"
    with raises(FileNotFoundError, f"[Errno 2] No such file or directory: {str(missing)!r}"):
        load(missing)
    with pytest.raises(IsADirectoryError):
        load(tmp_path)


# ---------------------------------------------------------------- errors while saving


class Opaque:
    pass


def unstorable(kind, where):
    return f"cannot save an object of type {kind!r} (at {where}): autodiff.save stores {STORABLE}"


def bad_key(kind, where):
    return (
        f"cannot save a dict key of type {kind!r} (at {where}): "
        "autodiff.save stores dicts with str or int keys"
    )


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({1, 2}, unstorable("set", "obj")),
        ({"a": [1, Opaque()]}, unstorable(f"{__name__}.Opaque", "obj['a'][1]")),
        ([{0: np.float64(1.0)}], unstorable("numpy.float64", "obj[0][0]")),
        ({"w": autodiff.ones(1), (1, 2): 3}, bad_key("tuple", "obj")),
        ({"g": {1.5: 0}}, bad_key("float", "obj['g']")),
    ],
)
def test_unstorable_objects_raise_before_writing(tmp_path, obj, message):
    fresh, existing = tmp_path / "fresh.safetensors", tmp_path / "existing.safetensors"
    existing.write_bytes(b"old contents")
    for path in (fresh, existing):
        with raises(TypeError, message):
            save(obj, path)
    buffer = io.BytesIO()
    with raises(TypeError, message):
        save(obj, buffer)
    assert buffer.getvalue() == b""
    assert sorted(os.listdir(tmp_path)) == ["existing.safetensors"]
    assert existing.read_bytes() == b"old contents"


def test_self_containing_structure_and_bad_target(tmp_path):
    loop = [autodiff.ones(1)]
    loop.append({"again": loop})
    with raises(ValueError, "cannot save a structure that contains itself (at obj[1]['again'])"):
        save(loop, tmp_path / "loop.safetensors")
    with raises(TypeError, "f must be a path or a binary file object, not 'int'"):
        save({}, 3)
    missing = tmp_path / "no" / "such" / "x.safetensors"
    with raises(RuntimeError, f"Parent directory {missing.parent} does not exist."):
        save({}, missing)
    with pytest.raises(IsADirectoryError):
        save({}, tmp_path)
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------- atomic writes


def fail_midway(monkeypatch, error):
    """Makes the writer put part of the file on disk, then raise ``error``."""
    real = serialization._write_payload

    def write_then_fail(file, payload):
        real(file, payload[:2])
        file.flush()
        raise error

    monkeypatch.setattr(serialization, "_write_payload", write_then_fail)


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_failed_save_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch, error):
    target, fresh = tmp_path / "model.safetensors", tmp_path / "new.safetensors"
    save({"w": autodiff.ones(2)}, target)
    before = target.read_bytes()
    fail_midway(monkeypatch, error)
    for path in (target, fresh):
        with pytest.raises(type(error)):
            save({"w": autodiff.zeros(1000)}, path)
    assert os.listdir(tmp_path) == ["model.safetensors"]
    assert target.read_bytes() == before


def test_failed_rename_leaves_no_temporary(tmp_path, monkeypatch):
    def refuse(source, target):
        raise PermissionError("no")

    monkeypatch.setattr(os, "replace", refuse)
    with raises(PermissionError, "no"):
        save({"w": autodiff.ones(2)}, tmp_path / "x.safetensors")
    assert os.listdir(tmp_path) == []


def test_save_syncs_before_renaming(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append("fsync")
        real_fsync(fd)

    def replace(source, target):
        assert os.path.dirname(source) == str(tmp_path)  # same folder: the rename is atomic
        events.append("replace")
        real_replace(source, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    target = tmp_path / "x.safetensors"
    target.write_bytes(b"old")
    save({"w": autodiff.ones(2)}, target)
    assert events[:2] == ["fsync", "replace"]
    assert load(target)["w"].tolist() == [1.0, 1.0]


def test_saved_file_gets_ordinary_permissions_and_follows_symlinks(tmp_path):
    ordinary = tmp_path / "ordinary"
    ordinary.write_bytes(b"")
    path = tmp_path / "x.safetensors"
    save({"w": autodiff.ones(1)}, path)
    assert path.stat().st_mode == ordinary.stat().st_mode
    real = tmp_path / "real.safetensors"
    link = tmp_path / "link.safetensors"
    link.symlink_to(real)
    save([autodiff.ones(3)], link)
    assert link.is_symlink() and load(real)[0].tolist() == [1.0, 1.0, 1.0]
