"""Datasets, samplers and ``DataLoader`` under PyTorch's ``torch.utils.data`` names.

A ``DataLoader`` asks its batch sampler for lists of indices, fetches those samples from the
dataset and collates them into a batch (``default_collate`` stacks tensors and turns numbers
into tensors, recursing into tuples, lists and dicts). ``shuffle=True`` draws each epoch's
permutation from autodiff's default generator, so ``autodiff.manual_seed`` makes it repeat.

Differences from PyTorch: batches are always loaded in the main process (``num_workers`` must
be 0); there is one generator, so ``generator=`` must be left out or ``None``; there is no
``IterableDataset``, ``Subset`` or ``random_split``.

>>> import autodiff
>>> from autodiff.utils.data import DataLoader, TensorDataset
>>> x = autodiff.arange(6.0).reshape(3, 2)
>>> y = autodiff.tensor([0, 1, 0])
>>> for xb, yb in DataLoader(TensorDataset(x, y), batch_size=2):
...     print(xb.shape, yb)
autodiff.Size([2, 2]) tensor([0, 1])
autodiff.Size([1, 2]) tensor([0])
"""

from __future__ import annotations

import collections.abc
import copy
import sys
import warnings
from collections.abc import Iterable, Iterator, Sized
from itertools import islice
from typing import Any, Callable, Generic, TypeVar

from .. import _C
from .._C import Tensor

__all__ = [
    "BatchSampler",
    "DataLoader",
    "Dataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "TensorDataset",
    "default_collate",
    "default_convert",
]

T_co = TypeVar("T_co", covariant=True)


class Dataset(Generic[T_co]):
    """Base class of map-style datasets: subclasses implement ``__getitem__`` (and usually
    ``__len__``, which the default samplers need).

    >>> from autodiff.utils.data import Dataset
    >>> class Squares(Dataset):
    ...     def __getitem__(self, i):
    ...         return i * i
    ...     def __len__(self):
    ...         return 4
    >>> Squares()[3]
    9
    """

    def __getitem__(self, index: Any) -> T_co:
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")


class TensorDataset(Dataset[tuple[Tensor, ...]]):
    """Sample ``i`` is ``tuple(t[i] for t in tensors)``; all tensors share their first size.

    >>> import autodiff
    >>> from autodiff.utils.data import TensorDataset
    >>> ds = TensorDataset(autodiff.tensor([[1.0, 2.0], [3.0, 4.0]]), autodiff.tensor([7, 8]))
    >>> len(ds), ds[1]
    (2, (tensor([3., 4.]), tensor(8)))
    """

    tensors: tuple[Tensor, ...]

    def __init__(self, *tensors: Tensor) -> None:
        # PyTorch's check is an `assert`; raising keeps it under `python -O` too.
        if not all(tensors[0].size(0) == t.size(0) for t in tensors):
            raise AssertionError("Size mismatch between tensors")
        self.tensors = tensors

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].size(0)


class Sampler(Generic[T_co]):
    """Base class of samplers: an iterable over dataset indices (or lists of them).

    >>> from autodiff.utils.data import Sampler
    >>> class Backwards(Sampler):
    ...     def __init__(self, n):
    ...         self.n = n
    ...     def __iter__(self):
    ...         return iter(range(self.n - 1, -1, -1))
    >>> list(Backwards(3))
    [2, 1, 0]
    """

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError


class SequentialSampler(Sampler[int]):
    """The indices ``0, 1, ..., len(data_source) - 1`` in order.

    >>> from autodiff.utils.data import SequentialSampler
    >>> list(SequentialSampler("abc"))
    [0, 1, 2]
    """

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler[int]):
    """Random indices from the default generator: a fresh permutation (``autodiff.randperm``)
    per pass over the data, or ``num_samples`` draws with replacement.

    Unlike PyTorch, ``generator=`` must be ``None``: autodiff has one generator.

    >>> import autodiff
    >>> from autodiff.utils.data import RandomSampler
    >>> _ = autodiff.manual_seed(0)
    >>> first = list(RandomSampler(range(5)))
    >>> sorted(first)
    [0, 1, 2, 3, 4]
    >>> _ = autodiff.manual_seed(0)
    >>> list(RandomSampler(range(5))) == first
    True
    """

    def __init__(
        self,
        data_source: Sized,
        replacement: bool = False,
        num_samples: int | None = None,
        generator: None = None,
    ) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.replacement, bool):
            raise TypeError(
                f"replacement should be a boolean value, but got replacement={self.replacement}"
            )
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(
                f"num_samples should be a positive integer value, but got "
                f"num_samples={self.num_samples}"
            )

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n = len(self.data_source)
        if self.replacement:
            yield from _C.randint(0, n, (self.num_samples,), generator=self.generator).tolist()
            return
        for _ in range(self.num_samples // n):
            yield from _C.randperm(n, generator=self.generator).tolist()
        rest = self.num_samples % n
        if rest:
            yield from _C.randperm(n, generator=self.generator).tolist()[:rest]

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler[list[int]]):
    """Groups another sampler's indices into lists of ``batch_size``; the last, shorter list is
    dropped when ``drop_last`` is True.

    >>> from autodiff.utils.data import BatchSampler, SequentialSampler
    >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
    [[0, 1], [2, 3], [4]]
    >>> len(BatchSampler(range(5), batch_size=2, drop_last=True))
    2
    """

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(
                f"batch_size should be a positive integer value, but got batch_size={batch_size}"
            )
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        indices = iter(self.sampler)
        while batch := list(islice(indices, self.batch_size)):
            if len(batch) < self.batch_size and self.drop_last:
                return
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        if self.drop_last:
            return n // self.batch_size
        return -(-n // self.batch_size)


_COLLATE_ERROR = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"
)
# NumPy dtype kinds that hold text or objects, which have no tensor form.
_TEXT_DTYPE_CHARS = "SaUO"


def _numpy() -> Any:
    # A NumPy value can only reach us once NumPy is imported; looking it up instead of importing
    # it keeps `import autodiff` from paying for NumPy.
    return sys.modules.get("numpy")


def _rebuild_mapping(elem: collections.abc.Mapping, values: dict) -> Any:
    # Keep the sample's own mapping type (OrderedDict, a user's subclass with extra state) where
    # it can be copied or rebuilt; fall back to a plain dict where it cannot.
    try:
        if isinstance(elem, collections.abc.MutableMapping):
            clone = copy.copy(elem)
            clone.update(values)
            return clone
        return type(elem)(values)  # type: ignore[call-arg]
    except TypeError:
        return values


def _rebuild_sequence(elem: collections.abc.Sequence, values: list) -> Any:
    try:
        if isinstance(elem, collections.abc.MutableSequence):
            clone = copy.copy(elem)
            for i, value in enumerate(values):
                clone[i] = value
            return clone
        return type(elem)(values)  # type: ignore[call-arg]
    except TypeError:
        return values


def default_collate(batch: Any) -> Any:
    """Merges a list of samples into a batch, as ``torch.utils.data.default_collate``.

    Tensors are stacked along a new first dimension; NumPy arrays and scalars become tensors
    first; Python floats become a float64 tensor and ints (bools) an int64 (bool) tensor;
    strings and bytes stay a list. Dicts, named tuples and other sequences are collated field by
    field (a plain tuple comes back as a list, as in PyTorch).

    >>> import autodiff
    >>> from autodiff.utils.data import default_collate
    >>> default_collate([(autodiff.tensor([1.0, 2.0]), 0), (autodiff.tensor([3.0, 4.0]), 1)])
    [tensor([[1., 2.],
            [3., 4.]]), tensor([0, 1])]
    >>> default_collate([{"w": 0.5, "name": "a"}, {"w": 1.5, "name": "b"}])
    {'w': tensor([0.5000, 1.5000], dtype=autodiff.float64), 'name': ['a', 'b']}
    """
    elem = batch[0]
    np = _numpy()
    if isinstance(elem, Tensor):
        return _C.stack(list(batch))
    if np is not None and isinstance(elem, np.ndarray):
        if elem.dtype.char in _TEXT_DTYPE_CHARS:
            raise TypeError(_COLLATE_ERROR.format(elem.dtype))
        return _C.stack([_C.tensor(b) for b in batch])
    if np is not None and isinstance(elem, (np.bool_, np.number)):
        return _C.tensor(np.asarray(batch))
    if isinstance(elem, float):
        return _C.tensor(list(batch), dtype=_C.float64)
    if isinstance(elem, int):
        return _C.tensor(list(batch))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        return _rebuild_mapping(
            elem, {key: default_collate([d[key] for d in batch]) for key in elem}
        )
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # a named tuple
        return type(elem)(*(default_collate(field) for field in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(sample) != size for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        fields = [default_collate(field) for field in zip(*batch)]
        return fields if isinstance(elem, tuple) else _rebuild_sequence(elem, fields)
    raise TypeError(_COLLATE_ERROR.format(type(elem)))


def default_convert(data: Any) -> Any:
    """Turns NumPy arrays and scalars into tensors, recursing into dicts and sequences; the
    ``collate_fn`` of a loader with ``batch_size=None``. Unlike PyTorch, which shares the
    array's memory, the tensor is a copy.

    >>> import numpy as np
    >>> from autodiff.utils.data import default_convert
    >>> default_convert({"x": np.array([1.0, 2.0]), "label": "cat"})
    {'x': tensor([1., 2.], dtype=autodiff.float64), 'label': 'cat'}
    """
    np = _numpy()
    if np is not None and isinstance(data, np.ndarray):
        return data if data.dtype.char in _TEXT_DTYPE_CHARS else _C.tensor(data)
    if np is not None and isinstance(data, (np.bool_, np.number)):
        return _C.tensor(np.asarray(data))
    if isinstance(data, (Tensor, str, bytes)):
        return data
    if isinstance(data, collections.abc.Mapping):
        return _rebuild_mapping(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence):
        return _rebuild_sequence(data, [default_convert(d) for d in data])
    return data


# PyTorch refuses to change these once the loader exists: the iterator would disagree with them.
_FIXED_AFTER_INIT = frozenset(
    {"batch_size", "batch_sampler", "sampler", "drop_last", "dataset", "persistent_workers"}
)


class DataLoader(Generic[T_co]):
    """Iterates over a dataset in batches (``torch.utils.data.DataLoader``).

    Each batch is ``collate_fn([dataset[i] for i in indices])`` for the next list of indices
    from ``batch_sampler`` (by default ``batch_size`` indices from a ``SequentialSampler``, or
    from a ``RandomSampler`` with ``shuffle=True``). With ``batch_size=None`` each item is one
    sample passed through ``default_convert``. ``len(loader)`` is the number of batches.

    A ``TensorDataset`` with the default ``collate_fn`` is batched with one index op per
    tensor, ``t[indices]``, instead of a ``stack`` of per-sample rows; the values are the same.

    Unlike PyTorch, batches are always loaded in the main process: ``num_workers`` must be 0
    (``NotImplementedError`` otherwise) and the worker options (``timeout``,
    ``worker_init_fn``, ``prefetch_factor``, ...) are accepted only at their defaults or
    ignored. ``generator=`` must be ``None``: shuffling draws from the default generator, so
    ``autodiff.manual_seed`` makes the order repeat.

    >>> import autodiff
    >>> from autodiff.utils.data import DataLoader, TensorDataset
    >>> ds = TensorDataset(autodiff.arange(5), autodiff.arange(5) * 10)
    >>> loader = DataLoader(ds, batch_size=2, drop_last=True)
    >>> len(loader), [xb.tolist() for xb, yb in loader]
    (2, [[0, 1], [2, 3]])
    >>> _ = autodiff.manual_seed(0)
    >>> sorted(i for xb, _ in DataLoader(ds, batch_size=2, shuffle=True) for i in xb.tolist())
    [0, 1, 2, 3, 4]
    """

    _initialized = False

    def __init__(
        self,
        dataset: Any,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Iterable | None = None,
        batch_sampler: Iterable[list] | None = None,
        num_workers: int = 0,
        collate_fn: Callable[[Any], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None,
        multiprocessing_context: Any = None,
        generator: None = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
    ) -> None:
        if num_workers < 0:
            raise ValueError(
                "num_workers option should be non-negative; "
                "use num_workers=0 to disable multiprocessing."
            )
        if num_workers > 0:
            raise NotImplementedError(
                f"num_workers={num_workers}: autodiff's DataLoader loads every batch in the main "
                "process; use num_workers=0"
            )
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if prefetch_factor is not None:
            raise ValueError(
                "prefetch_factor option could only be specified in multiprocessing."
                "let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor "
                "to None."
            )
        if persistent_workers:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, "
                    "sampler, and drop_last"
                )
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError(
                "batch_size=None option disables auto-batching and is mutually exclusive with "
                "drop_last"
            )
        if multiprocessing_context is not None:
            raise ValueError(
                "multiprocessing_context can only be used with multi-process loading "
                "(num_workers > 0), but got num_workers=0"
            )
        if sampler is None:
            sampler = (
                RandomSampler(dataset, generator=generator)
                if shuffle
                else SequentialSampler(dataset)
            )
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator = generator
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        if collate_fn is None:
            collate_fn = default_collate if batch_sampler is not None else default_convert
        self.collate_fn = collate_fn
        self._initialized = True

    def __setattr__(self, name: str, value: Any) -> None:
        if self._initialized and name in _FIXED_AFTER_INIT:
            raise ValueError(
                f"{name} attribute should not be set after {type(self).__name__} is initialized"
            )
        super().__setattr__(name, value)

    @property
    def _index_sampler(self) -> Iterable:
        return self.sampler if self.batch_sampler is None else self.batch_sampler

    def __len__(self) -> int:
        return len(self._index_sampler)  # type: ignore[arg-type]

    def __iter__(self) -> _SingleProcessDataLoaderIter:
        return _SingleProcessDataLoaderIter(self)

    def _fetch(self, index: Any) -> Any:
        dataset = self.dataset
        if self.batch_sampler is None:
            return self.collate_fn(dataset[index])
        if (
            self.collate_fn is default_collate
            and isinstance(dataset, TensorDataset)
            and type(dataset).__getitem__ is TensorDataset.__getitem__
        ):
            # One gather per tensor instead of `len(index)` row views and a `stack`: the
            # per-sample path is what makes PyTorch's DataLoader slow for small tensors, where
            # Python overhead per row dwarfs copying the row.
            rows = index if isinstance(index, Tensor) else _C.tensor(index, dtype=_C.int64)
            return [t[rows] for t in dataset.tensors]
        # PyTorch's batched-fetch protocol: a dataset may fetch a whole batch in one call.
        getitems = getattr(dataset, "__getitems__", None)
        samples = getitems(index) if getitems else [dataset[i] for i in index]
        return self.collate_fn(samples)


class _SingleProcessDataLoaderIter:
    """One pass over a ``DataLoader``: PyTorch's iterator name, ``next`` and ``len``."""

    def __init__(self, loader: DataLoader) -> None:
        if loader.pin_memory:
            warnings.warn(
                "'pin_memory' argument is set as true but no accelerator is found, then device "
                "pinned memory won't be used.",
                stacklevel=3,
            )
        self._loader = loader
        self._indices = iter(loader._index_sampler)

    def __iter__(self) -> _SingleProcessDataLoaderIter:
        return self

    def __next__(self) -> Any:
        return self._loader._fetch(next(self._indices))

    def __len__(self) -> int:
        return len(self._loader)
