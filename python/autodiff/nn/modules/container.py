"""Containers: ``Sequential``, ``ModuleList`` and ``ModuleDict``.

>>> import autodiff.nn as nn
>>> blocks = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
>>> len(blocks), len(list(blocks.parameters()))
(3, 6)
"""

from __future__ import annotations

import itertools
import operator
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, overload

from .module import Module, _indent

__all__ = ["Sequential", "ModuleList", "ModuleDict"]


def _normalise_index(index: Any, size: int) -> int:
    """``index`` as a position in ``range(size)``, with PyTorch's IndexError otherwise."""
    position = operator.index(index)
    if not -size <= position < size:
        raise IndexError(f"index {position} is out of range")
    return position % size


class Sequential(Module):
    """Calls its modules in order, each on the previous one's output.

    Built from modules (named ``"0"``, ``"1"``, ...) or from one OrderedDict of named
    modules. Indexing gives a module, slicing a new Sequential of the same modules.

    >>> import autodiff, autodiff.nn as nn
    >>> net = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    >>> net.append(nn.Linear(3, 1))[2]
    Linear(in_features=3, out_features=1, bias=True)
    >>> len(net), net[:1]
    (3, Sequential(
      (0): Linear(in_features=2, out_features=3, bias=True)
    ))
    >>> net(autodiff.ones(4, 2)).shape
    autodiff.Size([4, 1])
    """

    @overload
    def __init__(self, *args: Module) -> None: ...

    @overload
    def __init__(self, arg: OrderedDict[str, Module], /) -> None: ...

    def __init__(self, *args: Any) -> None:
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for position, module in enumerate(args):
                self.add_module(str(position), module)

    @overload
    def __getitem__(self, index: slice) -> Sequential: ...

    @overload
    def __getitem__(self, index: int) -> Module: ...

    def __getitem__(self, index: int | slice) -> Module | Sequential:
        if isinstance(index, slice):
            entries = list(self._modules.items())[index]
            return type(self)(OrderedDict(entries))  # type: ignore[arg-type]
        position = _normalise_index(index, len(self))
        return next(itertools.islice(self._modules.values(), position, None))  # type: ignore[return-value]

    def _key_at(self, index: int) -> str:
        position = _normalise_index(index, len(self))
        return next(itertools.islice(self._modules.keys(), position, None))

    def __setitem__(self, index: int, module: Module) -> None:
        setattr(self, self._key_at(index), module)

    def __delitem__(self, index: int | slice) -> None:
        if isinstance(index, slice):
            for key in list(self._modules.keys())[index]:
                delattr(self, key)
        else:
            delattr(self, self._key_at(index))
        # What is left is renumbered "0", "1", ... as PyTorch does, OrderedDict names too.
        modules = list(self._modules.values())
        self._modules.clear()
        self._modules.update((str(i), m) for i, m in enumerate(modules))

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())  # type: ignore[arg-type]

    def append(self, module: Module) -> Sequential:
        """Adds ``module`` at the end (named by its position); returns self.

        >>> import autodiff.nn as nn
        >>> len(nn.Sequential().append(nn.ReLU()))
        1
        """
        self.add_module(str(len(self)), module)
        return self

    def extend(self, sequential: Iterable[Module]) -> Sequential:
        """Appends every module of ``sequential``; returns self.

        >>> import autodiff.nn as nn
        >>> len(nn.Sequential(nn.ReLU()).extend([nn.Tanh(), nn.Sigmoid()]))
        3
        """
        for module in sequential:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> Sequential:
        """Puts ``module`` at position ``index``, shifting the later ones; returns self.

        >>> import autodiff.nn as nn
        >>> nn.Sequential(nn.ReLU()).insert(0, nn.Tanh())[0]
        Tanh()
        """
        if not isinstance(module, Module):
            raise AssertionError(f"module should be of type: {Module}")
        size = len(self)
        if not -size <= index <= size:
            raise IndexError(f"Index out of range: {index}")
        if index < 0:
            index += size
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._modules.clear()
        self._modules.update((str(i), m) for i, m in enumerate(modules))
        return self

    def forward(self, input: Any) -> Any:
        for module in self:
            input = module(input)
        return input


class ModuleList(Module):
    """A list of modules that registers them (named ``"0"``, ``"1"``, ...); it has no forward.

    >>> import autodiff.nn as nn
    >>> layers = nn.ModuleList([nn.ReLU(), nn.ReLU(), nn.Tanh()])
    >>> layers
    ModuleList(
      (0-1): 2 x ReLU()
      (2): Tanh()
    )
    >>> layers[-1], len(layers[:2])
    (Tanh(), 2)
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    @overload
    def __getitem__(self, index: slice) -> ModuleList: ...

    @overload
    def __getitem__(self, index: int) -> Module: ...

    def __getitem__(self, index: int | slice) -> Module | ModuleList:
        if isinstance(index, slice):
            return type(self)(list(self._modules.values())[index])  # type: ignore[arg-type]
        return self._modules[str(_normalise_index(index, len(self)))]  # type: ignore[return-value]

    def __setitem__(self, index: int, module: Module) -> None:
        setattr(self, str(_normalise_index(index, len(self))), module)

    def __delitem__(self, index: int | slice) -> None:
        if isinstance(index, slice):
            for position in range(len(self))[index]:
                delattr(self, str(position))
        else:
            delattr(self, str(_normalise_index(index, len(self))))
        modules = list(self._modules.values())
        self._modules.clear()
        self._modules.update((str(i), m) for i, m in enumerate(modules))

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())  # type: ignore[arg-type]

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)

    def __add__(self, other: Iterable[Module]) -> ModuleList:
        return type(self)(itertools.chain(self, other))

    def append(self, module: Module) -> ModuleList:
        """Adds ``module`` at the end; returns self.

        >>> import autodiff.nn as nn
        >>> len(nn.ModuleList().append(nn.ReLU()))
        1
        """
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Appends every module of the iterable ``modules``; returns self.

        >>> import autodiff.nn as nn
        >>> len(nn.ModuleList([nn.ReLU()]).extend([nn.Tanh()]))
        2
        """
        if not isinstance(modules, Iterable):
            raise TypeError(
                "ModuleList.extend should be called with an iterable, but got "
                + type(modules).__name__
            )
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Puts ``module`` before position ``index``.

        >>> import autodiff.nn as nn
        >>> layers = nn.ModuleList([nn.ReLU()])
        >>> layers.insert(0, nn.Tanh())
        >>> layers[0]
        Tanh()
        """
        modules = list(self._modules.values())
        modules.insert(index, module)
        for position, entry in enumerate(modules):
            self.add_module(str(position), entry)

    def pop(self, key: int | slice) -> Module:
        """Removes and returns the module at ``key``.

        >>> import autodiff.nn as nn
        >>> layers = nn.ModuleList([nn.ReLU(), nn.Tanh()])
        >>> layers.pop(0), len(layers)
        (ReLU(), 1)
        """
        module = self[key]
        del self[key]
        return module

    def __repr__(self) -> str:
        reprs = [repr(module) for module in self]
        if not reprs:
            return self._get_name() + "()"
        lines = []
        start = 0
        # Runs of identical reprs print once, as "(start-end): count x repr".
        for text, run in itertools.groupby(reprs):
            count = len(list(run))
            if count == 1:
                line = f"({start}): {text}"
            else:
                line = f"({start}-{start + count - 1}): {count} x {text}"
            lines.append(_indent(line, 2))
            start += count
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"


class ModuleDict(Module):
    """A dict of modules that registers them under their keys, in insertion order.

    >>> import autodiff.nn as nn
    >>> heads = nn.ModuleDict({"cls": nn.Linear(4, 2), "act": nn.ReLU()})
    >>> list(heads.keys()), heads["act"], "cls" in heads
    (['cls', 'act'], ReLU(), True)
    """

    def __init__(self, modules: Mapping[str, Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]  # type: ignore[return-value]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def clear(self) -> None:
        """Removes every module.

        >>> import autodiff.nn as nn
        >>> d = nn.ModuleDict({"a": nn.ReLU()})
        >>> d.clear()
        >>> len(d)
        0
        """
        self._modules.clear()

    def pop(self, key: str) -> Module:
        """Removes the module under ``key`` and returns it.

        >>> import autodiff.nn as nn
        >>> nn.ModuleDict({"a": nn.ReLU()}).pop("a")
        ReLU()
        """
        module = self[key]
        del self[key]
        return module

    def keys(self) -> Iterable[str]:
        """The keys.

        >>> import autodiff.nn as nn
        >>> list(nn.ModuleDict({"a": nn.ReLU()}).keys())
        ['a']
        """
        return self._modules.keys()

    def items(self) -> Iterable[tuple[str, Module]]:
        """The ``(key, module)`` pairs.

        >>> import autodiff.nn as nn
        >>> list(nn.ModuleDict({"a": nn.ReLU()}).items())
        [('a', ReLU())]
        """
        return self._modules.items()  # type: ignore[return-value]

    def values(self) -> Iterable[Module]:
        """The modules.

        >>> import autodiff.nn as nn
        >>> list(nn.ModuleDict({"a": nn.ReLU()}).values())
        [ReLU()]
        """
        return self._modules.values()  # type: ignore[return-value]

    def update(self, modules: Any) -> None:
        """Adds the modules of a mapping or of an iterable of ``(key, module)`` pairs.

        >>> import autodiff.nn as nn
        >>> d = nn.ModuleDict()
        >>> d.update([("a", nn.ReLU()), ("b", nn.Tanh())])
        >>> list(d)
        ['a', 'b']
        """
        if not isinstance(modules, Iterable):
            raise TypeError(
                "ModuleDict.update should be called with an iterable of key/value pairs, "
                "but got " + type(modules).__name__
            )
        if isinstance(modules, Mapping):
            for key, module in modules.items():
                self[key] = module
            return
        for position, pair in enumerate(modules):
            if not isinstance(pair, Iterable):
                raise TypeError(
                    f"ModuleDict update sequence element #{position} should be Iterable; is"
                    + type(pair).__name__
                )
            pair = tuple(pair)
            if len(pair) != 2:
                raise ValueError(
                    f"ModuleDict update sequence element #{position} has length {len(pair)}; "
                    "2 is required"
                )
            self[pair[0]] = pair[1]
