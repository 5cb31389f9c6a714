"""``autodiff.utils.data``: datasets, samplers, collation and ``DataLoader``.

Batches are checked against the data they came from (every sample exactly once per epoch, in
order unless shuffled), shuffling against ``autodiff.manual_seed``, collation against PyTorch's
documented rules, and errors against PyTorch's exact messages (and, where torch is installed,
against torch itself).
"""

from __future__ import annotations

import re
from collections import Counter, OrderedDict, namedtuple

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autodiff
from autodiff.utils.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    RandomSampler,
    Sampler,
    SequentialSampler,
    TensorDataset,
    default_collate,
    default_convert,
)

Point = namedtuple("Point", "x y")


def make_dataset(n: int) -> TensorDataset:
    """Row ``i`` of the features is ``[i, -i]`` and its label is ``10 * i``: a batch names its
    samples."""
    index = autodiff.arange(n)
    features = autodiff.stack([index, -index], dim=1).to(autodiff.float32)
    return TensorDataset(features, index * 10)


def sample_ids(loader: DataLoader) -> list[int]:
    """The sample indices of one epoch, in the order the loader produced them."""
    ids: list[int] = []
    for features, labels in loader:
        batch_ids = features[:, 0].long().tolist()
        assert features[:, 1].long().tolist() == [-i for i in batch_ids]
        assert labels.tolist() == [10 * i for i in batch_ids]
        ids += batch_ids
    return ids


class RowsDataset(Dataset):
    """The same samples as ``make_dataset`` through ``__getitem__``: the per-sample path."""

    def __init__(self, n: int) -> None:
        self.inner = make_dataset(n)
        self.calls = 0

    def __getitem__(self, i):
        self.calls += 1
        return self.inner[i]

    def __len__(self) -> int:
        return len(self.inner)


# --- TensorDataset and the base classes -------------------------------------------------------


def test_tensor_dataset_indexes_every_tensor():
    x = autodiff.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    y = autodiff.tensor([7, 8, 9])
    ds = TensorDataset(x, y)
    assert len(ds) == 3
    assert ds.tensors == (x, y)
    xs, ys = ds[1]
    assert xs.tolist() == [3.0, 4.0] and ys.item() == 8
    xs, ys = ds[autodiff.tensor([2, 0])]
    assert xs.tolist() == [[5.0, 6.0], [1.0, 2.0]] and ys.tolist() == [9, 7]
    assert [t.tolist() for t in ds[1:]] == [[[3.0, 4.0], [5.0, 6.0]], [8, 9]]


def test_tensor_dataset_size_mismatch():
    with pytest.raises(AssertionError, match=re.escape("Size mismatch between tensors")):
        TensorDataset(autodiff.zeros(3, 2), autodiff.zeros(4))


def test_base_classes_leave_the_work_to_subclasses():
    with pytest.raises(
        NotImplementedError, match=re.escape("Subclasses of Dataset should implement __getitem__.")
    ):
        Dataset()[0]
    with pytest.raises(NotImplementedError):
        iter(Sampler())


# --- batching ---------------------------------------------------------------------------------


@given(st.integers(0, 30), st.integers(1, 8), st.booleans())
def test_sequential_batches_cover_the_data_in_order(n, batch_size, drop_last):
    loader = DataLoader(make_dataset(n), batch_size=batch_size, drop_last=drop_last)
    sizes = [len(labels) for _, labels in loader]
    full, rest = divmod(n, batch_size)
    expected_sizes = [batch_size] * full + ([rest] if rest and not drop_last else [])
    assert sizes == expected_sizes
    assert len(loader) == len(expected_sizes)
    assert sample_ids(loader) == list(range(sum(expected_sizes)))


@given(st.integers(1, 30), st.integers(1, 8), st.booleans(), st.integers(0, 2**32))
def test_shuffled_epochs_hold_every_sample_exactly_once(n, batch_size, drop_last, seed):
    autodiff.manual_seed(seed)
    loader = DataLoader(make_dataset(n), batch_size=batch_size, shuffle=True, drop_last=drop_last)
    ids = sample_ids(loader)
    kept = n - n % batch_size if drop_last else n
    assert len(ids) == kept
    assert len(set(ids)) == kept and set(ids) <= set(range(n))
    if not drop_last:
        assert sorted(ids) == list(range(n))


@given(st.integers(2, 30), st.integers(0, 2**32))
def test_shuffling_repeats_under_manual_seed(n, seed):
    loader = DataLoader(make_dataset(n), batch_size=3, shuffle=True)
    autodiff.manual_seed(seed)
    first, second = sample_ids(loader), sample_ids(loader)
    autodiff.manual_seed(seed)
    assert sample_ids(loader) == first
    assert sample_ids(loader) == second


def test_shuffling_permutes_and_each_epoch_draws_afresh():
    autodiff.manual_seed(0)
    loader = DataLoader(make_dataset(50), batch_size=7, shuffle=True)
    first, second = sample_ids(loader), sample_ids(loader)
    # For a fixed seed these are fixed; a sampler that did not shuffle, or reused one
    # permutation, fails them (the chance that a correct one does is 1/50! each).
    assert first != list(range(50))
    assert first != second


def test_tensor_dataset_batches_equal_the_per_sample_path():
    fast = list(DataLoader(make_dataset(11), batch_size=4))
    rows = RowsDataset(11)
    slow = list(DataLoader(rows, batch_size=4))
    assert rows.calls == 11
    assert len(fast) == len(slow) == 3
    for fast_batch, slow_batch in zip(fast, slow):
        assert isinstance(fast_batch, list) and isinstance(slow_batch, list)
        for a, b in zip(fast_batch, slow_batch):
            assert a.dtype == b.dtype and a.shape == b.shape
            assert a.tolist() == b.tolist()


def test_tensor_dataset_batch_is_one_index_op_that_carries_gradients():
    x = autodiff.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], requires_grad=True)
    loader = DataLoader(TensorDataset(x), batch_size=2, shuffle=True)
    autodiff.manual_seed(3)
    for (batch,) in loader:
        # one gather per tensor, not a stack of rows
        assert batch.grad_fn.name() == "IndexBackward0"
        (batch**2).sum().backward()
    # every row is used once per epoch: d/dx sum(x^2) = 2x
    assert x.grad.tolist() == [[2.0, 4.0], [6.0, 8.0], [10.0, 12.0]]


def test_tensor_dataset_subclass_with_its_own_getitem_goes_through_it():
    class Doubled(TensorDataset):
        def __getitem__(self, i):
            return tuple(2 * t[i] for t in self.tensors)

    (batch,) = next(iter(DataLoader(Doubled(autodiff.arange(4)), batch_size=4)))
    assert batch.tolist() == [0, 2, 4, 6]


def test_datasets_with_getitems_fetch_a_batch_in_one_call():
    class Batched(Dataset):
        def __init__(self):
            self.requests = []

        def __getitem__(self, i):
            raise AssertionError("not used when __getitems__ exists")

        def __getitems__(self, indices):
            self.requests.append(list(indices))
            return [float(i) for i in indices]

        def __len__(self):
            return 5

    ds = Batched()
    batches = [b.tolist() for b in DataLoader(ds, batch_size=2)]
    assert ds.requests == [[0, 1], [2, 3], [4]]
    assert batches == [[0.0, 1.0], [2.0, 3.0], [4.0]]


def test_batch_size_none_yields_converted_samples():
    loader = DataLoader(make_dataset(3), batch_size=None)
    items = list(loader)
    assert len(loader) == 3
    # a tuple sample comes back as a list, as PyTorch's default_convert gives it
    assert all(isinstance(item, list) for item in items)
    assert [item[1].item() for item in items] == [0, 10, 20]
    assert loader.batch_sampler is None and loader.collate_fn is default_convert


def test_custom_sampler_batch_sampler_and_collate_fn():
    ds = make_dataset(6)
    loader = DataLoader(ds, batch_size=2, sampler=[5, 3, 1])
    assert sample_ids(loader) == [5, 3, 1]
    loader = DataLoader(ds, batch_sampler=[[4, 0], [2]])
    assert loader.batch_size is None and not loader.drop_last
    assert sample_ids(loader) == [4, 0, 2] and len(loader) == 2
    loader = DataLoader(ds, batch_size=4, collate_fn=lambda samples: len(samples))
    assert list(loader) == [4, 2]


def test_loader_attributes_and_iterator_length():
    ds = make_dataset(5)
    loader = DataLoader(ds, batch_size=2)
    assert loader.dataset is ds and loader.batch_size == 2 and loader.num_workers == 0
    assert isinstance(loader.sampler, SequentialSampler)
    assert isinstance(loader.batch_sampler, BatchSampler)
    assert loader.collate_fn is default_collate
    assert isinstance(DataLoader(ds, shuffle=True).sampler, RandomSampler)
    iterator = iter(loader)
    assert len(iterator) == 3 and iter(iterator) is iterator
    assert len(list(iterator)) == 3


# --- samplers ---------------------------------------------------------------------------------


@given(st.integers(0, 40), st.integers(1, 9), st.booleans())
def test_batch_sampler_groups_and_counts(n, batch_size, drop_last):
    batches = list(BatchSampler(SequentialSampler(range(n)), batch_size, drop_last))
    kept = n - n % batch_size if drop_last else n
    assert [i for batch in batches for i in batch] == list(range(kept))
    assert all(len(b) == batch_size for b in batches[:-1])
    assert len(BatchSampler(range(n), batch_size, drop_last)) == len(batches)
    assert len(batches) == (n // batch_size if drop_last else -(-n // batch_size))


@given(st.integers(1, 12), st.integers(1, 40), st.integers(0, 2**32))
def test_random_sampler_without_replacement_draws_whole_permutations(n, num_samples, seed):
    autodiff.manual_seed(seed)
    sampler = RandomSampler(range(n), num_samples=num_samples)
    drawn = list(sampler)
    assert len(sampler) == len(drawn) == num_samples
    full, rest = divmod(num_samples, n)
    for k in range(full):
        assert sorted(drawn[k * n : (k + 1) * n]) == list(range(n))
    tail = drawn[full * n :]
    assert len(tail) == rest and len(set(tail)) == rest


@given(st.integers(1, 12), st.integers(1, 40), st.integers(0, 2**32))
def test_random_sampler_with_replacement(n, num_samples, seed):
    autodiff.manual_seed(seed)
    drawn = list(RandomSampler(range(n), replacement=True, num_samples=num_samples))
    assert len(drawn) == num_samples and all(0 <= i < n for i in drawn)
    autodiff.manual_seed(seed)
    assert list(RandomSampler(range(n), replacement=True, num_samples=num_samples)) == drawn


def test_random_sampler_with_replacement_repeats_indices():
    autodiff.manual_seed(0)
    counts = Counter(RandomSampler(range(3), replacement=True, num_samples=300))
    # 300 uniform draws from 3 values: each count is 100 +- 8.2 (one standard deviation)
    assert set(counts) == {0, 1, 2}
    assert all(50 < c < 150 for c in counts.values())


# --- collation --------------------------------------------------------------------------------


def test_collate_numbers_to_pytorchs_dtypes():
    ints, floats, bools = (default_collate(b) for b in ([1, 2, 3], [1.5, 2.0], [True, False]))
    assert ints.dtype == autodiff.int64 and ints.tolist() == [1, 2, 3]
    assert floats.dtype == autodiff.float64 and floats.tolist() == [1.5, 2.0]
    assert bools.dtype == autodiff.bool and bools.tolist() == [True, False]
    # the first element's type decides: an int first gives the default float dtype
    assert default_collate([1, 2.5]).dtype == autodiff.float32


def test_collate_stacks_tensors_and_numpy():
    stacked = default_collate([autodiff.tensor([1.0, 2.0]), autodiff.tensor([3.0, 4.0])])
    assert stacked.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    arrays = default_collate([np.array([1.0, 2.0]), np.array([3.0, 4.0])])
    assert arrays.dtype == autodiff.float64 and arrays.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    scalars = default_collate([np.float32(1.5), np.float32(2.5)])
    assert scalars.dtype == autodiff.float32 and scalars.tolist() == [1.5, 2.5]


def test_collate_tuples_lists_dicts_and_named_tuples_field_by_field():
    pairs = default_collate([(1, 2.0), (3, 4.0)])
    assert isinstance(pairs, list)  # a tuple comes back as a list
    assert pairs[0].tolist() == [1, 3] and pairs[1].tolist() == [2.0, 4.0]
    nested = default_collate([[[1, 2]], [[3, 4]]])
    assert [[t.tolist() for t in inner] for inner in nested] == [[[1, 3], [2, 4]]]
    batch = default_collate([{"x": 1, "name": "a"}, {"x": 2, "name": "b"}])
    assert batch["x"].tolist() == [1, 2] and batch["name"] == ["a", "b"]
    ordered = default_collate([OrderedDict(b=1, a=2), OrderedDict(b=3, a=4)])
    assert type(ordered) is OrderedDict and list(ordered) == ["b", "a"]
    point = default_collate([Point(1, 2.0), Point(3, 4.0)])
    assert type(point) is Point and point.x.tolist() == [1, 3] and point.y.tolist() == [2.0, 4.0]
    # strings inside a sample stay the tuple that zip makes
    assert default_collate([(1, "a"), (2, "b")])[1] == ("a", "b")
    assert default_collate(["a", "b"]) == ["a", "b"]


def test_collate_errors():
    with pytest.raises(
        RuntimeError, match=re.escape("each element in list of batch should be of equal size")
    ):
        default_collate([(1, 2), (3,)])
    found = (
        "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
        "found {}"
    )
    with pytest.raises(TypeError, match=re.escape(found.format("<class 'NoneType'>"))):
        default_collate([None, None])
    with pytest.raises(TypeError, match=re.escape(found.format("<U1"))):
        default_collate([np.array(["a"]), np.array(["b"])])
    unequal = (
        "stack expects each tensor to be equal size, but got [1] at entry 0 and [2] at entry 1"
    )
    with pytest.raises(RuntimeError, match=re.escape(unequal)):
        default_collate([autodiff.tensor([1.0]), autodiff.tensor([1.0, 2.0])])


def test_default_convert_turns_numpy_into_tensors_and_leaves_the_rest():
    converted = default_convert([1, "s", np.array([1.0]), (np.float64(2.0),), {"a": np.array([3])}])
    assert converted[:2] == [1, "s"]
    assert converted[2].dtype == autodiff.float64 and converted[2].tolist() == [1.0]
    assert isinstance(converted[3], list) and converted[3][0].item() == 2.0
    assert converted[4]["a"].tolist() == [3]
    point = default_convert(Point(np.array([1]), 2))
    assert type(point) is Point and point.x.tolist() == [1] and point.y == 2
    text = np.array(["a"])
    assert default_convert(text) is text


# --- errors -------------------------------------------------------------------------------

EXCLUSIVE = (
    "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last"
)
POSITIVE = "{0} should be a positive integer value, but got {0}={1}"
LOADER_ERRORS = [
    (
        {"num_workers": -1},
        "num_workers option should be non-negative; use num_workers=0 to disable multiprocessing.",
    ),
    ({"timeout": -1}, "timeout option should be non-negative"),
    (
        {"prefetch_factor": 2},
        "prefetch_factor option could only be specified in multiprocessing.let num_workers > 0 "
        "to enable multiprocessing, otherwise set prefetch_factor to None.",
    ),
    ({"persistent_workers": True}, "persistent_workers option needs num_workers > 0"),
    ({"sampler": [0, 1], "shuffle": True}, "sampler option is mutually exclusive with shuffle"),
    ({"batch_sampler": [[0]], "batch_size": 2}, EXCLUSIVE),
    ({"batch_sampler": [[0]], "shuffle": True}, EXCLUSIVE),
    ({"batch_sampler": [[0]], "sampler": [0]}, EXCLUSIVE),
    ({"batch_sampler": [[0]], "drop_last": True}, EXCLUSIVE),
    (
        {"batch_size": None, "drop_last": True},
        "batch_size=None option disables auto-batching and is mutually exclusive with drop_last",
    ),
    (
        {"multiprocessing_context": "spawn"},
        "multiprocessing_context can only be used with multi-process loading (num_workers > 0), "
        "but got num_workers=0",
    ),
    ({"batch_size": 0}, POSITIVE.format("batch_size", 0)),
    ({"batch_size": 2.0}, POSITIVE.format("batch_size", 2.0)),
    ({"batch_size": True}, POSITIVE.format("batch_size", True)),
    ({"drop_last": 1}, "drop_last should be a boolean value, but got drop_last=1"),
]

SAMPLER_ERRORS = [
    ({"replacement": 1}, TypeError, "replacement should be a boolean value, but got replacement=1"),
    ({"num_samples": 0}, ValueError, POSITIVE.format("num_samples", 0)),
    ({"num_samples": 2.0}, ValueError, POSITIVE.format("num_samples", 2.0)),
]


@pytest.mark.parametrize(("kwargs", "message"), LOADER_ERRORS)
def test_loader_argument_errors(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        DataLoader(make_dataset(2), **kwargs)


@pytest.mark.parametrize(("kwargs", "error", "message"), SAMPLER_ERRORS)
def test_random_sampler_argument_errors(kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        RandomSampler(range(3), **kwargs)


def test_random_sampler_of_nothing():
    with pytest.raises(ValueError, match=re.escape(POSITIVE.format("num_samples", 0))):
        DataLoader(make_dataset(0), shuffle=True)


def test_workers_are_not_supported():
    message = (
        "num_workers=2: autodiff's DataLoader loads every batch in the main process; "
        "use num_workers=0"
    )
    with pytest.raises(NotImplementedError, match=re.escape(message)):
        DataLoader(make_dataset(2), num_workers=2)


def test_only_the_default_generator():
    message = "autodiff has one generator: leave out `generator=` and seed it with manual_seed()"
    loader = DataLoader(make_dataset(4), shuffle=True, generator=object())
    with pytest.raises(TypeError, match=re.escape(message)):
        next(iter(loader))


@pytest.mark.parametrize("name", ["batch_size", "batch_sampler", "sampler", "drop_last", "dataset"])
def test_fixed_attributes_cannot_be_set_after_init(name):
    loader = DataLoader(make_dataset(2))
    message = f"{name} attribute should not be set after DataLoader is initialized"
    with pytest.raises(ValueError, match=re.escape(message)):
        setattr(loader, name, None)
    loader.collate_fn = len  # not one of them
    assert loader.collate_fn is len


def test_pin_memory_warns_that_nothing_is_pinned():
    loader = DataLoader(make_dataset(2), pin_memory=True)
    message = (
        "'pin_memory' argument is set as true but no accelerator is found, then device pinned "
        "memory won't be used."
    )
    with pytest.warns(UserWarning, match=re.escape(message)):
        batches = list(loader)
    assert len(batches) == 2


# --- against torch, where installed ----------------------------------------------------------


@pytest.mark.parametrize(("kwargs", "message"), LOADER_ERRORS)
def test_loader_errors_are_torchs(kwargs, message):
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader as TorchLoader
    from torch.utils.data import TensorDataset as TorchDataset

    with pytest.raises(ValueError, match=re.escape(message)):
        TorchLoader(TorchDataset(torch.zeros(2)), **kwargs)


@pytest.mark.parametrize(("kwargs", "error", "message"), SAMPLER_ERRORS)
def test_sampler_errors_are_torchs(kwargs, error, message):
    pytest.importorskip("torch")
    from torch.utils.data import RandomSampler as TorchSampler

    with pytest.raises(error, match=re.escape(message)):
        TorchSampler(range(3), **kwargs)


SAMPLES = [
    [1, 2, 3],
    [1.5, 2.0],
    [True, False],
    [1, 2.5],
    [(1, 2.0), (3, 4.0)],
    [[[1, 2]], [[3, 4]]],
    [{"x": 1, "y": [0.5, 1.5]}, {"x": 2, "y": [2.5, 3.5]}],
    [Point(1, 2.0), Point(3, 4.0)],
    [(1, "a"), (2, "b")],
    [np.array([1.0, 2.0]), np.array([3.0, 4.0])],
    [np.float32(1.5), np.float32(2.5)],
]


def plain(value, tensor_type):
    """A collated batch as nested Python values, tensors as ``(dtype name, values)``."""
    if isinstance(value, tensor_type):
        return (str(value.dtype).split(".")[-1], value.tolist())
    if isinstance(value, dict):
        return {key: plain(v, tensor_type) for key, v in value.items()}
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [plain(v, tensor_type) for v in value])
    return value


@pytest.mark.parametrize("batch", SAMPLES)
def test_collation_is_torchs(batch):
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_collate as torch_collate

    assert plain(default_collate(batch), autodiff.Tensor) == plain(
        torch_collate(batch), torch.Tensor
    )


@given(st.integers(1, 20), st.integers(1, 6), st.booleans())
def test_sequential_batches_are_torchs(n, batch_size, drop_last):
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader as TorchLoader
    from torch.utils.data import TensorDataset as TorchDataset

    values = np.arange(2 * n, dtype=np.float32).reshape(n, 2)
    ours = DataLoader(
        TensorDataset(autodiff.tensor(values)), batch_size=batch_size, drop_last=drop_last
    )
    theirs = TorchLoader(
        TorchDataset(torch.from_numpy(values)), batch_size=batch_size, drop_last=drop_last
    )
    assert len(ours) == len(theirs)
    assert [plain(b, autodiff.Tensor) for b in ours] == [plain(b, torch.Tensor) for b in theirs]
