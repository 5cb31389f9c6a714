"""Zero-copy interop: ``Tensor.numpy()``, ``from_numpy``, ``__array__`` and DLPack.

Sharing is proven by writing on one side and reading on the other; lifetimes by dropping the
lender and reading (or writing) through the borrower after ``gc.collect()``. Messages are
PyTorch's (torch 2.15) where PyTorch has the case.
"""

from __future__ import annotations

import datetime
import gc
import re
import subprocess
import sys
import warnings
import weakref

import numpy as np
import pytest

import autodiff

DTYPES = [
    (np.float32, autodiff.float32, 1.5),
    (np.float64, autodiff.float64, 2.5),
    (np.int64, autodiff.int64, 7),
    (np.bool_, autodiff.bool, True),
]

READ_ONLY = (
    "cannot modify a tensor whose memory is read-only (it comes from a non-writable NumPy array "
    "or a read-only DLPack tensor); make a writable copy with tensor.clone()"
)
INVALID_CAPSULE = (
    "from_dlpack received an invalid capsule. Note that DLTensor capsules can be consumed only "
    "once, so you might have already constructed a tensor from it once."
)


def raises(exc, message):
    """pytest.raises for the whole, exact message."""
    return pytest.raises(exc, match=f"^{re.escape(message)}$")


def read_only_tensor(array):
    """``from_numpy`` of a non-writable array, without its once-per-process warning (which
    ``test_non_writable_array_warns_once`` checks in a fresh interpreter)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return autodiff.from_numpy(array)


class LegacyProducer:
    """A DLPack producer from before the array API's keywords: ``__dlpack__(stream=None)``."""

    def __init__(self, array):
        self.array = array

    def __dlpack__(self, stream=None):
        return self.array.__dlpack__()

    def __dlpack_device__(self):
        return self.array.__dlpack_device__()


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


# --- Tensor.numpy() ----------------------------------------------------------------------------


@pytest.mark.parametrize(("np_dtype", "dtype", "value"), DTYPES)
def test_numpy_shares_memory_both_ways(np_dtype, dtype, value):
    t = autodiff.zeros(2, 3, dtype=dtype)
    a = t.numpy()
    assert a.dtype == np_dtype and a.shape == (2, 3) and a.flags.writeable
    a[1, 2] = value
    assert t.tolist()[1][2] == value
    t.fill_(value)
    assert a.tolist() == [[value] * 3] * 2


def test_numpy_of_a_transposed_tensor_is_a_strided_view():
    t = autodiff.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=autodiff.float64)
    a = t.t().numpy()
    assert a.strides == (8, 24) and not a.flags.c_contiguous
    assert a.tolist() == [[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]
    a[2, 0] = 30.0
    assert t.tolist() == [[1.0, 2.0, 30.0], [4.0, 5.0, 6.0]]


def test_numpy_of_an_expanded_tensor_has_zero_strides():
    t = autodiff.tensor([1.0, 2.0])
    a = t.expand(3, 2).numpy()
    assert a.strides == (0, 4) and a.tolist() == [[1.0, 2.0]] * 3
    t.fill_(5.0)
    assert a.tolist() == [[5.0, 5.0]] * 3


def test_numpy_of_empty_and_zero_dim_tensors():
    e = autodiff.zeros(0, 3).numpy()
    assert e.shape == (0, 3) and e.size == 0
    t = autodiff.tensor(2.5)
    a = t.numpy()
    assert a.shape == () and a.item() == 2.5
    a[()] = 4.0
    assert t.item() == 4.0


def test_numpy_keeps_the_tensor_memory_alive():
    t = autodiff.tensor([1.0, 2.0, 3.0])
    a = t.numpy()
    assert a.base is t
    del t
    gc.collect()
    a[0] = 10.0
    assert a.tolist() == [10.0, 2.0, 3.0]
    assert a.base.tolist() == [10.0, 2.0, 3.0]


def test_numpy_force_detaches_a_tensor_that_requires_grad():
    x = autodiff.tensor([1.0, 2.0], requires_grad=True)
    a = x.numpy(force=True)
    assert a.tolist() == [1.0, 2.0]
    a[0] = 5.0
    assert x.tolist() == [5.0, 2.0]
    msg = "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."
    with raises(RuntimeError, msg):
        x.numpy()


def test_repr_is_unaffected_by_the_shared_view():
    t = autodiff.tensor([1.0, 2.0])
    assert repr(t) == "tensor([1., 2.])"
    assert t.tolist() == [1.0, 2.0]


# --- __array__ ---------------------------------------------------------------------------------


def test_asarray_shares_memory():
    t = autodiff.tensor([1.0, 2.0])
    a = np.asarray(t)
    a[1] = 20.0
    assert t.tolist() == [1.0, 20.0]


def test_array_with_another_dtype_or_copy_true_copies():
    t = autodiff.tensor([1.0, 2.0])
    converted = np.asarray(t, dtype=np.float64)
    copied = np.array(t, copy=True)
    converted[0] = 10.0
    copied[1] = 20.0
    assert converted.dtype == np.float64 and copied.dtype == np.float32
    assert t.tolist() == [1.0, 2.0]


def test_array_copy_false_shares_or_refuses():
    t = autodiff.tensor([1.0, 2.0])
    shared = np.array(t, copy=False)
    shared[0] = 3.0
    assert t.tolist() == [3.0, 2.0]
    with pytest.raises(ValueError, match="Unable to avoid copy while creating an array"):
        np.array(t, dtype=np.float64, copy=False)
    assert t.__array__(np.float32, copy=False).tolist() == [3.0, 2.0]


# --- from_numpy --------------------------------------------------------------------------------


@pytest.mark.parametrize(("np_dtype", "dtype", "value"), DTYPES)
def test_from_numpy_shares_memory_both_ways(np_dtype, dtype, value):
    a = np.zeros((2, 3), dtype=np_dtype)
    t = autodiff.from_numpy(a)
    assert t.dtype is dtype and t.shape == (2, 3) and t.stride() == (3, 1)
    a[0, 1] = value
    assert t.tolist()[0][1] == value
    t.fill_(value)
    assert a.tolist() == [[value] * 3] * 2
    assert np.shares_memory(t.numpy(), a)


def test_from_numpy_keeps_strides():
    base = np.arange(12.0).reshape(3, 4)
    t = autodiff.from_numpy(base[:, ::2])
    assert t.stride() == (4, 2) and t.tolist() == [[0.0, 2.0], [4.0, 6.0], [8.0, 10.0]]
    t.zero_()
    assert base.tolist() == [[0.0, 1.0, 0.0, 3.0], [0.0, 5.0, 0.0, 7.0], [0.0, 9.0, 0.0, 11.0]]
    f = np.asfortranarray(np.arange(6, dtype=np.int64).reshape(2, 3))
    tf = autodiff.from_numpy(f)
    assert tf.stride() == (1, 2) and tf.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert (tf + 1).tolist() == [[1, 2, 3], [4, 5, 6]]


def test_from_numpy_zero_dim_and_empty():
    a = np.array(3.0)
    t = autodiff.from_numpy(a)
    assert t.shape == () and t.item() == 3.0
    a[()] = 4.0
    assert t.item() == 4.0
    e = autodiff.from_numpy(np.zeros((0, 2), dtype=np.int64))
    assert e.shape == (0, 2) and e.tolist() == []


def test_from_numpy_keeps_the_array_alive():
    a = np.arange(5.0)
    alive = weakref.ref(a)
    t = autodiff.from_numpy(a)
    del a
    gc.collect()
    assert alive() is not None
    t.fill_(1.5)
    assert t.tolist() == [1.5] * 5
    del t
    gc.collect()
    assert alive() is None


def test_from_numpy_memory_is_never_stolen_as_a_grad():
    # A sole-owner gradient may become `.grad` as is; lent memory must not, or the next
    # accumulation would write into the user's array.
    x = autodiff.tensor([1.0, 2.0], requires_grad=True)
    g = np.array([1.0, 1.0], dtype=np.float32)
    (x * 1).backward(autodiff.from_numpy(g))
    (x * 1).backward(autodiff.from_numpy(g))
    assert x.grad.tolist() == [2.0, 2.0]
    assert g.tolist() == [1.0, 1.0]


@pytest.mark.parametrize(
    ("np_dtype", "name"),
    [
        (np.int32, "numpy.int32"),
        (np.float16, "numpy.float16"),
        (np.uint8, "numpy.uint8"),
        (np.complex64, "numpy.complex64"),
        (object, "numpy.object_"),
    ],
)
def test_from_numpy_unsupported_dtype(np_dtype, name):
    msg = (
        f"can't convert np.ndarray of type {name}. The only supported types are: float64, "
        "float32, int64, and bool."
    )
    with raises(TypeError, msg):
        autodiff.from_numpy(np.zeros(2, dtype=np_dtype))


@pytest.mark.parametrize("obj", [[1.0, 2.0], np.float64(1.0), autodiff.tensor([1.0])])
def test_from_numpy_rejects_non_arrays(obj):
    name = {list: "list", np.float64: "numpy.float64", autodiff.Tensor: "Tensor"}[type(obj)]
    with raises(TypeError, f"expected np.ndarray (got {name})"):
        autodiff.from_numpy(obj)


def test_from_numpy_negative_strides():
    msg = (
        "At least one stride in the given numpy array is negative, and tensors with negative "
        "strides are not currently supported. (You can probably work around this by making a "
        "copy of your array  with array.copy().) "
    )
    with raises(ValueError, msg):
        autodiff.from_numpy(np.arange(3.0)[::-1])


def test_from_numpy_strides_not_a_multiple_of_the_itemsize():
    a = np.lib.stride_tricks.as_strided(np.zeros(4), shape=(3,), strides=(3,))
    msg = (
        "given numpy array strides not a multiple of the element byte size. Copy the numpy "
        "array to reallocate the memory."
    )
    with raises(ValueError, msg):
        autodiff.from_numpy(a)


def test_from_numpy_non_native_byte_order():
    msg = (
        "given numpy array has byte order different from the native byte order. Conversion "
        "between byte orders is currently not supported."
    )
    swapped = ">f8" if sys.byteorder == "little" else "<f8"
    with raises(ValueError, msg):
        autodiff.from_numpy(np.zeros(2, dtype=swapped))


def test_from_numpy_misaligned():
    # PyTorch shares misaligned memory; Rust may not read through a misaligned pointer.
    a = np.zeros(17, dtype=np.uint8)[1:].view(np.float64)
    assert not a.flags.aligned
    msg = "given numpy array is not aligned to its element size. Copy it to reallocate the memory."
    with raises(ValueError, msg):
        autodiff.from_numpy(a)


def test_from_numpy_bool_with_bytes_other_than_0_and_1():
    a = np.array([0, 1, 2], dtype=np.uint8).view(np.bool_)
    msg = (
        "given numpy array of type bool holds bytes other than 0 and 1, which are not valid "
        "booleans. Normalise it first, e.g. with (array.view(numpy.uint8) != 0)."
    )
    with raises(ValueError, msg):
        autodiff.from_numpy(a)
    assert autodiff.from_numpy(a.view(np.uint8) != 0).tolist() == [False, True, True]


def test_non_writable_array_warns_once():
    # The warning is given once per process, so it is observed in a fresh interpreter.
    code = """
import warnings, numpy as np, autodiff
a = np.zeros(2)
a.flags.writeable = False
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    autodiff.from_numpy(a)
    autodiff.from_numpy(a)
for w in caught:
    print(w.category.__name__, w.filename, w.message, sep="|")
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    expected = (
        "The given NumPy array is not writable, and PyTorch does not support non-writable "
        "tensors. This means writing to this tensor will result in undefined behavior. You may "
        "want to copy the array to protect its data or make it writable before converting it to "
        "a tensor. This type of warning will be suppressed for the rest of this program."
    )
    assert out.splitlines() == [f"UserWarning|<string>|{expected}"]


def test_non_writable_array_is_shared_but_never_written():
    base = np.zeros(3)
    view = base[:]
    view.flags.writeable = False
    t = read_only_tensor(view)
    base[0] = 4.0
    assert t.tolist() == [4.0, 0.0, 0.0]
    with raises(RuntimeError, READ_ONLY):
        t.fill_(1.0)
    with raises(RuntimeError, READ_ONLY):
        t.detach().zero_()
    assert base.tolist() == [4.0, 0.0, 0.0]
    a = t.numpy()
    assert not a.flags.writeable and np.shares_memory(a, base)
    assert (t * 2).tolist() == [8.0, 0.0, 0.0]
    assert t.clone().fill_(1.0).tolist() == [1.0] * 3


def test_broadcast_array_is_read_only_with_zero_strides():
    b = np.broadcast_to(np.arange(2.0), (3, 2))
    t = read_only_tensor(b)
    assert t.stride() == (0, 1) and t.tolist() == [[0.0, 1.0]] * 3


# --- DLPack: export ----------------------------------------------------------------------------


def test_dlpack_device():
    assert autodiff.tensor([1.0]).__dlpack_device__() == (1, 0)


@pytest.mark.parametrize(("np_dtype", "dtype", "value"), DTYPES)
def test_numpy_from_dlpack_shares_memory_both_ways(np_dtype, dtype, value):
    t = autodiff.zeros(2, 2, dtype=dtype)
    a = np.from_dlpack(t)
    assert a.dtype == np_dtype and a.shape == (2, 2)
    a[1, 0] = value
    assert t.tolist()[1][0] == value
    t.fill_(value)
    assert a.tolist() == [[value] * 2] * 2


def test_dlpack_export_of_a_strided_view():
    t = autodiff.tensor([[1, 2, 3], [4, 5, 6]])
    a = np.from_dlpack(t.t())
    assert a.strides == (8, 24) and a.tolist() == [[1, 4], [2, 5], [3, 6]]
    a[0, 1] = 40
    assert t.tolist() == [[1, 2, 3], [40, 5, 6]]
    e = np.from_dlpack(autodiff.tensor([1.0, 2.0]).expand(2, 2))
    assert e.strides == (0, 4) and e.tolist() == [[1.0, 2.0]] * 2


def test_dlpack_capsules_legacy_and_versioned():
    t = autodiff.tensor([1.0, 2.0])
    legacy = t.__dlpack__()
    assert 'capsule object "dltensor"' in repr(legacy)
    assert 'capsule object "dltensor"' in repr(t.__dlpack__(max_version=(0, 8)))
    versioned = t.__dlpack__(max_version=(1, 0))
    assert 'capsule object "dltensor_versioned"' in repr(versioned)
    u = autodiff.from_dlpack(legacy)
    assert 'capsule object "used_dltensor"' in repr(legacy)
    v = autodiff.from_dlpack(versioned)
    assert 'capsule object "used_dltensor_versioned"' in repr(versioned)
    u.fill_(3.0)
    assert t.tolist() == [3.0, 3.0] and v.tolist() == [3.0, 3.0]
    with raises(RuntimeError, INVALID_CAPSULE):
        autodiff.from_dlpack(legacy)


def test_dlpack_capsule_keeps_the_storage_alive_until_consumed():
    a = np.arange(3.0)
    alive = weakref.ref(a)
    t = autodiff.from_numpy(a)
    capsule = t.__dlpack__(max_version=(1, 0))
    del a, t
    gc.collect()
    assert alive() is not None
    u = autodiff.from_dlpack(capsule)
    del capsule
    gc.collect()
    assert u.tolist() == [0.0, 1.0, 2.0] and alive() is not None
    del u
    gc.collect()
    assert alive() is None


def test_unconsumed_capsule_releases_the_storage():
    a = np.arange(3.0)
    alive = weakref.ref(a)
    capsule = autodiff.from_numpy(a).__dlpack__()
    del a
    gc.collect()
    assert alive() is not None
    del capsule
    gc.collect()
    assert alive() is None


def test_storage_lent_by_numpy_is_released_when_numpy_drops_the_export():
    # The release runs in the deleter NumPy calls, outside any call into autodiff.
    a = np.arange(3.0)
    alive = weakref.ref(a)
    n = np.from_dlpack(autodiff.from_numpy(a))
    del a
    gc.collect()
    assert alive() is not None and n.tolist() == [0.0, 1.0, 2.0]
    del n
    gc.collect()
    assert alive() is None


def test_dlpack_copy_true_does_not_share():
    t = autodiff.tensor([1.0, 2.0])
    a = np.from_dlpack(t, copy=True)
    a[0] = 9.0
    assert t.tolist() == [1.0, 2.0]
    c = autodiff.from_dlpack(t.__dlpack__(copy=True))
    c.fill_(0.0)
    assert t.tolist() == [1.0, 2.0]


def test_dlpack_export_of_read_only_memory():
    base = np.arange(3.0)
    view = base[:]
    view.flags.writeable = False
    t = read_only_tensor(view)
    msg = (
        "Cannot export a read-only tensor since signalling read-only is unsupported by DLPack "
        "(supported by newer DLPack version)."
    )
    with raises(BufferError, msg):
        t.__dlpack__()
    a = np.from_dlpack(t)  # NumPy asks for a versioned capsule, which has a read-only flag
    assert not a.flags.writeable and np.shares_memory(a, base)
    r = autodiff.from_dlpack(t)
    with raises(RuntimeError, READ_ONLY):
        r.zero_()
    assert np.from_dlpack(t, copy=True).flags.writeable


def test_dlpack_export_errors():
    with raises(BufferError, "Can't export tensors that require gradient, use tensor.detach()"):
        autodiff.tensor([1.0], requires_grad=True).__dlpack__()
    t = autodiff.tensor([1.0])
    with raises(AssertionError, "stream should be None on cpu."):
        t.__dlpack__(stream=1)
    with raises(TypeError, "stream must be ``int`` or ``none``"):
        t.__dlpack__(stream="0")
    msg = (
        "autodiff tensors live on the CPU (DLPack device (1, 0)) and cannot be exported to "
        "device (2, 0)"
    )
    with raises(BufferError, msg):
        t.__dlpack__(dl_device=(2, 0))
    assert autodiff.from_dlpack(t.__dlpack__(stream=-1, dl_device=(1, 0))).tolist() == [1.0]
    with pytest.raises(TypeError, match="takes 0 positional arguments"):
        t.__dlpack__(None)


# --- DLPack: import ----------------------------------------------------------------------------


@pytest.mark.parametrize(("np_dtype", "dtype", "value"), DTYPES)
def test_from_dlpack_of_numpy_shares_memory_both_ways(np_dtype, dtype, value):
    a = np.zeros((2, 2), dtype=np_dtype)
    t = autodiff.from_dlpack(a)
    assert t.dtype is dtype and t.shape == (2, 2)
    a[0, 1] = value
    assert t.tolist()[0][1] == value
    t.fill_(value)
    assert a.tolist() == [[value] * 2] * 2


def test_from_dlpack_of_a_strided_numpy_array():
    base = np.arange(12, dtype=np.int64).reshape(3, 4)
    t = autodiff.from_dlpack(base.T[::2])
    assert t.stride() == (2, 4) and t.tolist() == [[0, 4, 8], [2, 6, 10]]
    t.zero_()
    assert base[:, 0].tolist() == [0, 0, 0] and base[:, 1].tolist() == [1, 5, 9]


def test_from_dlpack_keeps_the_producer_alive():
    a = np.arange(4.0)
    alive = weakref.ref(a)
    t = autodiff.from_dlpack(a)
    del a
    gc.collect()
    assert alive() is not None and t.tolist() == [0.0, 1.0, 2.0, 3.0]
    del t
    gc.collect()
    assert alive() is None


def test_from_dlpack_of_an_autodiff_tensor_shares_memory():
    t = autodiff.tensor([1, 2, 3])
    u = autodiff.from_dlpack(t)
    u.fill_(0)
    assert t.tolist() == [0, 0, 0]


def test_from_dlpack_falls_back_for_legacy_producers():
    a = np.arange(3.0)
    t = autodiff.from_dlpack(LegacyProducer(a))
    t.fill_(2.0)
    assert a.tolist() == [2.0, 2.0, 2.0]
    c = autodiff.from_dlpack(LegacyProducer(a), copy=True)
    c.fill_(5.0)
    assert a.tolist() == [2.0, 2.0, 2.0] and c.tolist() == [5.0, 5.0, 5.0]


def test_from_dlpack_copy():
    a = np.arange(3.0)
    copied = autodiff.from_dlpack(a, copy=True)
    shared = autodiff.from_dlpack(a, copy=False)
    copied.fill_(7.0)
    assert a.tolist() == [0.0, 1.0, 2.0]
    shared.fill_(8.0)
    assert a.tolist() == [8.0, 8.0, 8.0]


def test_from_dlpack_of_a_read_only_numpy_array():
    a = np.arange(3.0)
    a.flags.writeable = False
    t = autodiff.from_dlpack(a)
    assert t.tolist() == [0.0, 1.0, 2.0]
    with raises(RuntimeError, READ_ONLY):
        t.fill_(1.0)


@pytest.mark.parametrize("obj", [3, object(), datetime.datetime_CAPI])
def test_from_dlpack_invalid_capsules(obj):
    with raises(RuntimeError, INVALID_CAPSULE):
        autodiff.from_dlpack(obj)


def test_from_dlpack_errors():
    msg = (
        "can't convert a DLPack tensor of type int32. The only supported types are: float64, "
        "float32, int64, and bool."
    )
    with raises(TypeError, msg):
        autodiff.from_dlpack(np.zeros(2, dtype=np.int32))
    msg = (
        "At least one stride in the given DLPack tensor is negative, and tensors with negative "
        "strides are not currently supported. (You can probably work around this by making a "
        "copy of your array with array.copy().)"
    )
    with raises(ValueError, msg):
        autodiff.from_dlpack(np.arange(3.0)[::-1])
    capsule = np.arange(2.0).__dlpack__()
    msg = "device and copy kwargs not supported when ext_tensor is already a DLPack capsule."
    with raises(AssertionError, msg):
        autodiff.from_dlpack(capsule, copy=True)
    # The failed call did not consume the capsule.
    assert autodiff.from_dlpack(capsule).tolist() == [0.0, 1.0]
    msg = "autodiff tensors live on the CPU; from_dlpack cannot place one on 'cuda'"
    with raises(ValueError, msg):
        autodiff.from_dlpack(np.arange(2.0), device="cuda")
    assert autodiff.from_dlpack(np.arange(2.0), device="cpu").tolist() == [0.0, 1.0]


def test_from_dlpack_refuses_non_cpu_producers():
    class OnGpu(LegacyProducer):
        def __dlpack_device__(self):
            return (2, 0)

    msg = "autodiff tensors live on the CPU, so it cannot import a DLPack tensor on device (2, 0)"
    with raises(BufferError, msg):
        autodiff.from_dlpack(OnGpu(np.zeros(2)))


# --- DLPack with PyTorch ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dtype", "value"),
    [("float32", 1.5), ("float64", 2.5), ("int64", 7), ("bool", True)],
)
def test_torch_from_dlpack_shares_memory_both_ways(torch, dtype, value):
    t = autodiff.zeros(2, 3, dtype=getattr(autodiff, dtype))
    tt = torch.from_dlpack(t)
    assert tt.dtype == getattr(torch, dtype) and tuple(tt.shape) == (2, 3)
    tt[1, 1] = value
    assert t.tolist()[1][1] == value
    t.fill_(value)
    assert tt.tolist() == [[value] * 3] * 2


@pytest.mark.parametrize(
    ("dtype", "value"),
    [("float32", 1.5), ("float64", 2.5), ("int64", 7), ("bool", True)],
)
def test_from_dlpack_of_torch_shares_memory_both_ways(torch, dtype, value):
    tt = torch.zeros(2, 3, dtype=getattr(torch, dtype))
    t = autodiff.from_dlpack(tt)
    assert t.dtype is getattr(autodiff, dtype) and t.shape == (2, 3)
    tt[0, 2] = value
    assert t.tolist()[0][2] == value
    t.fill_(value)
    assert tt.tolist() == [[value] * 3] * 2


def test_torch_strided_tensors_both_ways(torch):
    tt = torch.arange(6.0).reshape(2, 3)
    t = autodiff.from_dlpack(tt.t())
    assert t.stride() == (1, 3) and t.tolist() == [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]
    back = torch.from_dlpack(t.t())
    assert back.stride() == (3, 1) and back.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    back[0, 0] = 9.0
    assert tt[0, 0].item() == 9.0


def test_torch_tensors_stay_alive(torch):
    tt = torch.arange(4.0)
    t = autodiff.from_dlpack(tt)
    del tt
    gc.collect()
    assert t.tolist() == [0.0, 1.0, 2.0, 3.0]
    u = autodiff.tensor([1.0, 2.0])
    back = torch.from_dlpack(u)
    del u
    gc.collect()
    back += 1
    assert back.tolist() == [2.0, 3.0]


def test_storage_lent_by_numpy_is_released_when_torch_drops_the_export(torch):
    a = np.arange(3.0)
    alive = weakref.ref(a)
    tt = torch.from_dlpack(autodiff.from_numpy(a))
    del a
    gc.collect()
    assert alive() is not None and tt.tolist() == [0.0, 1.0, 2.0]
    del tt
    gc.collect()
    assert alive() is None


def test_torch_refuses_export_of_tensors_that_require_grad(torch):
    with raises(BufferError, "Can't export tensors that require gradient, use tensor.detach()"):
        autodiff.from_dlpack(torch.zeros(2, requires_grad=True))
    with raises(BufferError, "Can't export tensors that require gradient, use tensor.detach()"):
        torch.from_dlpack(autodiff.zeros(2, requires_grad=True))
