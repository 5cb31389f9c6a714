"""``autodiff.save`` / ``autodiff.load``: safetensors files and nested structures (the errors and
atomic writes are in ``tests/test_serialization_errors.py``).

The format is checked three ways: by parsing our bytes by hand (always runs), by reading them
with the ``safetensors`` package and with torch through it (optional oracles, skipped when not
installed), and by loading files that those write or that the tests craft byte by byte.
"""

from __future__ import annotations

import io
import json
import math
import os
import pickle
import struct
from collections import OrderedDict

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numeric_checks import raises
from safetensors_files import HINT, UNSUPPORTED, invalid, safetensors_bytes

import autodiff
from autodiff.serialization import load, save

DTYPES = {
    np.dtype(np.float32): ("F32", autodiff.float32),
    np.dtype(np.float64): ("F64", autodiff.float64),
    np.dtype(np.int64): ("I64", autodiff.int64),
    np.dtype(np.bool_): ("BOOL", autodiff.bool),
}


def parse(raw):
    """Our reading of the format, independent of the module: (header, data buffer)."""
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + n].decode("utf-8")), raw[8 + n :]


def assert_tensor_equal(loaded, expected):
    """Same dtype, shape and bytes (so NaN payloads and signed zeros count too)."""
    expected = np.array(expected, order="C")  # ascontiguousarray would make 0-d 1-d
    assert isinstance(loaded, autodiff.Tensor)
    assert loaded.dtype == DTYPES[expected.dtype][1]
    assert tuple(loaded.shape) == expected.shape
    assert loaded.numpy().tobytes() == expected.tobytes()
    assert not loaded.requires_grad and loaded.grad_fn is None


def assert_same(loaded, saved):
    """Equal structure with the same container and key types, tensors compared by bytes."""
    if isinstance(saved, autodiff.Tensor):
        assert_tensor_equal(loaded, saved.detach().contiguous().numpy())
        return
    assert type(loaded) is type(saved)
    if isinstance(saved, dict):
        assert [(type(k), k) for k in loaded] == [(type(k), k) for k in saved]
        for key in saved:
            assert_same(loaded[key], saved[key])
    elif isinstance(saved, (list, tuple)):
        assert len(loaded) == len(saved)
        for a, b in zip(loaded, saved):
            assert_same(a, b)
    elif isinstance(saved, float):
        if math.isnan(saved):
            # JSON has one NaN: the sign bit of a NaN is not kept (it carries no value).
            assert math.isnan(loaded)
        else:
            assert loaded == saved
            assert math.copysign(1, loaded) == math.copysign(1, saved)  # -0.0 stays -0.0
    else:
        assert loaded == saved


def elements(dtype):
    if dtype == np.bool_:
        return st.booleans()
    if dtype == np.int64:
        return st.integers(-(2**63), 2**63 - 1)
    return st.floats(width=32 if dtype == np.float32 else 64)


@st.composite
def arrays(draw):
    dtype = draw(st.sampled_from(list(DTYPES)))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4))
    return draw(hnp.arrays(dtype, shape, elements=elements(dtype)))


@st.composite
def tensors(draw):
    """A tensor and the values it shows: sometimes a transposed or sliced view."""
    array = draw(arrays())
    tensor = autodiff.from_numpy(array)
    if array.ndim >= 2 and draw(st.booleans()):
        return tensor.transpose(0, -1), array.swapaxes(0, -1)
    if array.ndim >= 1 and array.shape[0] > 1 and draw(st.booleans()):
        return tensor[1::2], array[1::2]
    return tensor, array


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A folder for the hypothesis tests (which take no function-scoped fixtures)."""
    return tmp_path_factory.mktemp("serialization")


def round_trip(obj, path):
    save(obj, path)
    return load(path)


# ---------------------------------------------------------------- round trips


@given(tensors())
def test_single_tensor_round_trip(folder, pair):
    tensor, values = pair
    assert_tensor_equal(round_trip(tensor, folder / "t.safetensors"), values)


@given(st.lists(st.tuples(st.text(max_size=8), tensors()), max_size=5, unique_by=lambda p: p[0]))
def test_flat_dict_round_trip_keeps_keys_and_order(folder, items):
    loaded = round_trip(dict((k, t) for k, (t, _) in items), folder / "flat.safetensors")
    assert type(loaded) is OrderedDict
    assert list(loaded) == [k for k, _ in items]
    for key, (_, values) in items:
        assert_tensor_equal(loaded[key], values)


leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=4)
    | tensors().map(lambda pair: pair[0])
)
keys = st.text(max_size=4) | st.integers(-5, 5)
structures = st.recursive(
    leaves,
    lambda children: (
        st.lists(children, max_size=3)
        | st.lists(children, max_size=3).map(tuple)
        | st.dictionaries(keys, children, max_size=3)
        | st.dictionaries(keys, children, max_size=3).map(lambda d: OrderedDict(d))
    ),
    max_leaves=8,
)


@given(structures)
def test_nested_structure_round_trip(folder, obj):
    loaded = round_trip(obj, folder / "nested.safetensors")
    if type(obj) in (dict, OrderedDict) and all(
        type(k) is str and isinstance(v, autodiff.Tensor) for k, v in obj.items()
    ):
        # A flat dict of tensors is a plain safetensors file: it loads as an OrderedDict.
        obj = OrderedDict(obj)
    assert_same(loaded, obj)


def optimizer_state():
    return {
        "state": {
            0: {"step": autodiff.tensor(3.0), "exp_avg": autodiff.ones(2, 3) / 3},
            1: {"step": autodiff.tensor(3.0), "exp_avg": autodiff.zeros(3)},
        },
        "param_groups": [
            {"lr": 0.1, "betas": (0.9, 0.999), "eps": 1e-8, "foreach": None, "params": [0, 1]}
        ],
    }


def test_optimizer_state_dict_round_trip(tmp_path):
    state = optimizer_state()
    loaded = round_trip(state, tmp_path / "optim.safetensors")
    assert_same(loaded, state)
    assert loaded["param_groups"][0]["betas"] == (0.9, 0.999)
    assert list(loaded["state"]) == [0, 1]


def test_special_values_and_containers_round_trip(tmp_path):
    obj = OrderedDict(
        [
            ("floats", [math.inf, -math.inf, math.nan, -0.0, 1e-310, 0.1]),
            ("big", 2**100),
            ("size", autodiff.Size([2, 0, 3])),
            ("text", "ünïcode ✓"),
            ("empty", ([], (), {}, OrderedDict())),
            ("__metadata__", autodiff.ones(1)),
        ]
    )
    loaded = round_trip(obj, tmp_path / "special.safetensors")
    assert_same(loaded, obj)
    assert type(loaded["size"]) is autodiff.Size


def test_empty_and_zero_dim_tensors(tmp_path):
    obj = {
        "empty": autodiff.zeros(0, 3),
        "empty_int": autodiff.zeros(2, 0, dtype=autodiff.int64),
        "scalar": autodiff.tensor(2.5, dtype=autodiff.float64),
        "flag": autodiff.tensor(True),
    }
    loaded = round_trip(obj, tmp_path / "edge.safetensors")
    assert [tuple(t.shape) for t in loaded.values()] == [(0, 3), (2, 0), (), ()]
    assert loaded["scalar"].item() == 2.5 and loaded["scalar"].dtype == autodiff.float64
    assert loaded["flag"].item() is True
    assert_same(round_trip({}, tmp_path / "nothing.safetensors"), OrderedDict())


def test_views_and_graph_tensors_save_their_values(tmp_path):
    x = autodiff.arange(24.0).reshape(2, 3, 4).requires_grad_()
    y = x * 2  # has a grad_fn
    obj = {
        "leaf": x,
        "graph": y,
        "permuted": x.permute(2, 0, 1),
        "stepped": x[:, ::2, 1:],
        "expanded": autodiff.tensor([1.0, 2.0]).expand(3, 2),
    }
    loaded = round_trip(obj, tmp_path / "views.safetensors")
    for key, tensor in obj.items():
        assert loaded[key].tolist() == tensor.tolist()
        assert not loaded[key].requires_grad and loaded[key].grad_fn is None
    assert x.requires_grad and x.grad is None  # saving left the source alone


def test_loaded_tensors_own_their_memory(tmp_path):
    path = tmp_path / "own.safetensors"
    source = autodiff.ones(3)
    save({"a": source}, path)
    source.add_(1)  # after the save: the file keeps the old values
    first, second = load(path)["a"], load(path)["a"]
    first.add_(10)  # writable, and shared with nothing
    assert first.tolist() == [11.0, 11.0, 11.0]
    assert second.tolist() == [1.0, 1.0, 1.0]
    assert source.tolist() == [2.0, 2.0, 2.0]


def test_shared_tensor_is_stored_once_and_loads_as_one_object(tmp_path):
    shared = autodiff.randn(4)
    path = tmp_path / "shared.safetensors"
    save({"a": [shared, shared], "b": (shared,)}, path)
    header, _ = parse(path.read_bytes())
    assert [k for k in header if k != "__metadata__"] == ["a.0"]
    loaded = load(path)
    assert loaded["a"][0] is loaded["a"][1] is loaded["b"][0]


def test_structured_keys_are_paths_and_collisions_get_suffixes(tmp_path):
    t1, t2, t3 = autodiff.zeros(1), autodiff.ones(1), autodiff.full((1,), 2.0)
    path = tmp_path / "keys.safetensors"
    save({"a.b": t1, "a": {"b": t2}, "c": [t3]}, path)
    header, _ = parse(path.read_bytes())
    assert [k for k in header if k != "__metadata__"] == ["a.b", "a.b.1", "c.0"]
    loaded = load(path)
    assert (loaded["a.b"].item(), loaded["a"]["b"].item(), loaded["c"][0].item()) == (0, 1, 2)
    save(t3, path)
    assert [k for k in parse(path.read_bytes())[0] if k != "__metadata__"] == ["tensor"]


# ---------------------------------------------------------------- the bytes on disk


def test_file_layout_by_hand(tmp_path):
    path = tmp_path / "layout.safetensors"
    state = {
        "mask": autodiff.tensor([True, False, True]),
        "weight": autodiff.tensor([[1.5, -2.0], [0.25, 3.0]]),
        "count": autodiff.tensor([7, -9], dtype=autodiff.int64),
        "double": autodiff.tensor(0.1, dtype=autodiff.float64),
    }
    save(state, path)
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    assert n % 8 == 0 and 8 + n <= len(raw)
    text = raw[8 : 8 + n].decode("utf-8")
    assert text.rstrip(" ").endswith("}") and len(text) - len(text.rstrip(" ")) < 8  # padding
    header, data = parse(raw)
    assert header.pop("__metadata__") == {"format": "pt"}
    assert list(header) == list(state)  # saved order
    dtypes_and_shapes = [(e["dtype"], e["shape"]) for e in header.values()]
    assert dtypes_and_shapes == [("BOOL", [3]), ("F32", [2, 2]), ("I64", [2]), ("F64", [])]
    spans = sorted(tuple(e["data_offsets"]) for e in header.values())
    assert spans[0][0] == 0 and spans[-1][1] == len(data)
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))  # contiguous, no overlap
    numpy_type = {"BOOL": "?", "F32": "<f4", "I64": "<i8", "F64": "<f8"}
    for key, entry in header.items():
        begin, end = entry["data_offsets"]
        item = np.dtype(numpy_type[entry["dtype"]])
        assert begin % item.itemsize == 0  # aligned
        values = np.frombuffer(data[begin:end], dtype=item).reshape(entry["shape"])
        assert values.tolist() == state[key].tolist()


def test_nested_file_layout_by_hand(tmp_path):
    path = tmp_path / "nested.safetensors"
    save(optimizer_state(), path)
    header, data = parse(path.read_bytes())
    metadata = header.pop("__metadata__")
    assert set(metadata) == {"format", "autodiff.structure"}
    assert list(header) == ["state.0.step", "state.0.exp_avg", "state.1.step", "state.1.exp_avg"]
    assert header["state.0.exp_avg"]["shape"] == [2, 3]
    structure = json.loads(metadata["autodiff.structure"])
    group = dict(structure["dict"])["param_groups"][0]["dict"]
    assert dict(group)["betas"] == {"tuple": [0.9, 0.999]}
    assert sum(e["data_offsets"][1] - e["data_offsets"][0] for e in header.values()) == len(data)


def test_hand_written_file_loads(tmp_path):
    # Unpadded header, entries out of offset order, widened dtypes, a bool byte of 2.
    bf16 = np.array([1.0, -2.5, np.inf], np.float32).view(np.uint32) >> 16
    data = (
        np.array([1.5, -0.5], "<f2").tobytes()  # [0, 4)
        + bf16.astype("<u2").tobytes()  # [4, 10)
        + np.array([-7, 300], "<i2").tobytes()  # [10, 14)
        + bytes([0, 2, 1])  # [14, 17)
    )
    header = {
        "flags": {"dtype": "BOOL", "shape": [3], "data_offsets": [14, 17]},
        "half": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]},
        "brain": {"dtype": "BF16", "shape": [3], "data_offsets": [4, 10]},
        "short": {"dtype": "I16", "shape": [2, 1], "data_offsets": [10, 14]},
        "__metadata__": {"note": "not ours"},
    }
    path = tmp_path / "hand.safetensors"
    path.write_bytes(safetensors_bytes(header, data, pad=False))
    loaded = load(path)
    assert list(loaded) == ["flags", "half", "brain", "short"]
    assert_tensor_equal(loaded["flags"], np.array([False, True, True]))
    assert_tensor_equal(loaded["half"], np.array([1.5, -0.5], np.float32))
    assert_tensor_equal(loaded["brain"], np.array([1.0, -2.5, np.inf], np.float32))
    assert_tensor_equal(loaded["short"], np.array([[-7], [300]], np.int64))


def test_file_objects(tmp_path):
    buffer = io.BytesIO(b"prefix")
    buffer.seek(6)
    save({"x": autodiff.arange(3)}, buffer)
    assert buffer.getvalue().startswith(b"prefix")
    buffer.seek(6)  # load reads from the current position
    assert load(buffer)["x"].tolist() == [0, 1, 2]
    path = tmp_path / "via_file.safetensors"
    with open(path, "wb") as file:
        save([autodiff.ones(1)], file)
    with open(path, "rb") as file:
        assert load(file)[0].tolist() == [1.0]
    assert load(str(path))[0].tolist() == [1.0]
    assert load(os.fsencode(path))[0].tolist() == [1.0]


def test_load_accepts_pytorch_arguments(tmp_path):
    path = tmp_path / "args.safetensors"
    save({"w": autodiff.ones(2)}, path, pickle_protocol=4, _use_new_zipfile_serialization=False)
    seen = []

    def move(tensor, location):
        seen.append(location)
        return tensor * 2

    for kwargs in [
        {"map_location": "cpu"},
        {"map_location": "cpu:0", "weights_only": False},
        {"map_location": {"cpu": "cpu"}, "mmap": True},
        {"map_location": {"cuda:1": "cuda:0"}, "pickle_module": pickle, "encoding": "latin1"},
        {"map_location": lambda storage, location: None},
    ]:
        assert load(path, **kwargs)["w"].tolist() == [1.0, 1.0]
    assert load(path, map_location=move)["w"].tolist() == [2.0, 2.0]
    assert seen == ["cpu"]


CUDA_MESSAGE = (
    "Attempting to deserialize object on a CUDA device but torch.cuda.is_available() is False. "
    "If you are running on a CPU-only machine, please use torch.load with "
    "map_location=torch.device('cpu') to map your storages to the CPU."
)


@pytest.mark.parametrize("location", ["cuda", "cuda:1", {"cpu": "cuda:0"}])
def test_map_location_cuda_raises_pytorchs_error(tmp_path, location):
    path = tmp_path / "m.safetensors"
    save({"w": autodiff.ones(1)}, path)
    with raises(RuntimeError, CUDA_MESSAGE):
        load(path, map_location=location)
    with raises(
        RuntimeError, "autodiff tensors live on the CPU only; cannot load them onto 'meta'"
    ):
        load(path, map_location="meta")


# ---------------------------------------------------------------- the optional oracles


def test_our_files_read_in_safetensors_numpy(tmp_path):
    numpy_reader = pytest.importorskip("safetensors.numpy")
    state = {
        "w": autodiff.randn(3, 4),
        "b": autodiff.randn(4, dtype=autodiff.float64),
        "i": autodiff.arange(5),
        "m": autodiff.tensor([True, False]),
        "s": autodiff.tensor(1.5),
        "e": autodiff.zeros(0, 2),
    }
    path = tmp_path / "flat.safetensors"
    save(state, path)
    read = numpy_reader.load_file(str(path))
    assert set(read) == set(state)
    for key, tensor in state.items():
        expected = tensor.numpy()
        assert read[key].dtype == expected.dtype and read[key].shape == expected.shape
        assert np.array_equal(read[key], expected)
    # A nested structure reads as its tensors under their paths.
    save(optimizer_state(), path)
    read = numpy_reader.load_file(str(path))
    assert sorted(read) == sorted(
        ["state.0.step", "state.0.exp_avg", "state.1.step", "state.1.exp_avg"]
    )
    assert np.array_equal(read["state.0.exp_avg"], np.full((2, 3), 1 / 3, np.float32))


def test_flat_dict_reads_in_torch(tmp_path):
    torch = pytest.importorskip("torch")
    torch_reader = pytest.importorskip("safetensors.torch")
    state = {"w": autodiff.randn(2, 3).t(), "n": autodiff.arange(4), "m": autodiff.tensor([True])}
    path = tmp_path / "torch.safetensors"
    save(state, path)
    read = torch_reader.load_file(str(path))
    for key, tensor in state.items():
        assert torch.equal(read[key], torch.from_numpy(tensor.contiguous().numpy()))


def test_safetensors_numpy_files_load(tmp_path):
    numpy_writer = pytest.importorskip("safetensors.numpy")
    rng = np.random.default_rng(0)
    arrays = {
        "f32": rng.standard_normal((2, 3)).astype(np.float32),
        "f64": rng.standard_normal(4),
        "i64": rng.integers(-(2**62), 2**62, 5),
        "bool": rng.random(3) > 0.5,
        "f16": rng.standard_normal(3).astype(np.float16),
        "i32": rng.integers(-(2**31), 2**31, (2, 2)).astype(np.int32),
        "i8": np.array([-128, 127], np.int8),
        "u8": np.array([0, 255], np.uint8),
        "u16": np.array([65535], np.uint16),
        "u32": np.array([2**32 - 1], np.uint32),
        "scalar": np.array(3.0, np.float32),
        "empty": np.zeros((0, 4), np.float64),
    }
    path = tmp_path / "theirs.safetensors"
    numpy_writer.save_file(arrays, str(path), metadata={"source": "numpy"})
    loaded = load(path)
    assert type(loaded) is OrderedDict and set(loaded) == set(arrays)
    widened = {np.float16: np.float32, np.int32: np.int64, np.int8: np.int64}
    widened.update({np.uint8: np.int64, np.uint16: np.int64, np.uint32: np.int64})
    for key, array in arrays.items():
        assert_tensor_equal(loaded[key], array.astype(widened.get(array.dtype.type, array.dtype)))


def test_torch_bfloat16_file_loads_as_float32(tmp_path):
    torch = pytest.importorskip("torch")
    torch_writer = pytest.importorskip("safetensors.torch")
    source = torch.randn(3, 5).to(torch.bfloat16)
    path = tmp_path / "bf16.safetensors"
    torch_writer.save_file({"w": source}, str(path))
    assert_tensor_equal(load(path)["w"], source.float().numpy())


def test_torch_save_file_is_refused_with_a_hint(tmp_path):
    torch = pytest.importorskip("torch")
    zipped, legacy = tmp_path / "zip.pt", tmp_path / "legacy.pt"
    torch.save({"w": torch.ones(2)}, zipped)
    torch.save({"w": torch.ones(2)}, legacy, _use_new_zipfile_serialization=False)
    with invalid(repr(str(zipped)), f"it is a zip archive (the format torch.save writes); {HINT}"):
        load(zipped)
    with invalid(repr(str(legacy)), f"it is a pickle (torch.save's legacy format); {HINT}"):
        load(legacy)


def test_messages_match_torch(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "t.pt"
    torch.save(torch.ones(1), path)
    with pytest.raises(RuntimeError) as expected:
        torch.load(path, map_location="cuda")
    assert str(expected.value) == CUDA_MESSAGE
    missing = str(tmp_path / "no" / "x.pt")
    with pytest.raises(RuntimeError) as expected:
        torch.save({}, missing)
    with raises(RuntimeError, str(expected.value)):
        save({}, missing)


def test_unsupported_dtype_from_safetensors_names_it(tmp_path):
    numpy_writer = pytest.importorskip("safetensors.numpy")
    path = tmp_path / "u64.safetensors"
    numpy_writer.save_file({"big": np.array([2**64 - 1], np.uint64)}, str(path))
    with raises(
        RuntimeError, f"cannot load {str(path)!r}: tensor 'big' has dtype U64, {UNSUPPORTED}"
    ):
        load(path)
