"""Forward hooks: ``Module.__call__``, ``register_forward_pre_hook``,
``register_forward_hook`` and the handle they return, as a mixin that ``module.py`` builds
Module from.

>>> from collections import OrderedDict
>>> hooks = OrderedDict()
>>> handle = RemovableHandle(hooks)
>>> hooks[handle.id] = print
>>> handle.remove()
>>> len(hooks)
0
"""

from __future__ import annotations

import itertools
import weakref
from collections import OrderedDict
from typing import Any, Callable

__all__ = ["RemovableHandle", "HooksMixin"]

# Ids are unique across all modules, so one handle can also clear the same id from the
# side tables (with_kwargs, always_call) that accompany a hook dict.
_next_id = itertools.count()


class RemovableHandle:
    """Removes a hook from the dicts it was registered in; also a context manager.

    >>> from collections import OrderedDict
    >>> hooks = OrderedDict()
    >>> with RemovableHandle(hooks) as handle:
    ...     hooks[handle.id] = print
    >>> len(hooks)
    0
    """

    def __init__(
        self, hooks_dict: OrderedDict[int, Any], *extra_dicts: OrderedDict[int, Any]
    ) -> None:
        self.id = next(_next_id)
        # Weak references: a handle kept by the user must not keep a deleted module's hooks.
        self._dicts = [weakref.ref(hooks_dict)] + [weakref.ref(d) for d in extra_dicts]

    def remove(self) -> None:
        """Unregisters the hook; calling it again does nothing."""
        for ref in self._dicts:
            hooks = ref()
            if hooks is not None:
                hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.remove()


class HooksMixin:
    """The calling machinery of :class:`~autodiff.nn.Module` (which see): ``module(x)`` runs
    the pre-hooks, ``forward`` and the forward hooks.

    >>> import autodiff, autodiff.nn as nn
    >>> seen = []
    >>> relu = nn.ReLU()
    >>> with relu.register_forward_hook(lambda m, args, out: seen.append(out.tolist())):
    ...     _ = relu(autodiff.tensor([-1.0, 1.0]))
    >>> seen
    [[0.0, 1.0]]
    """

    forward: Callable[..., Any]
    _forward_pre_hooks: OrderedDict[int, Callable[..., Any]]
    _forward_hooks: OrderedDict[int, Callable[..., Any]]

    def register_forward_pre_hook(
        self, hook: Callable[..., Any], *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        """Calls ``hook(module, args)`` before each forward; a non-None result replaces the
        positional inputs (with ``with_kwargs=True``: ``hook(module, args, kwargs)`` returning
        ``(args, kwargs)``).

        >>> import autodiff, autodiff.nn as nn
        >>> relu = nn.ReLU()
        >>> handle = relu.register_forward_pre_hook(lambda m, args: (-args[0],))
        >>> relu(autodiff.tensor([-2.0]))
        tensor([2.])
        >>> handle.remove()
        """
        handle = RemovableHandle(
            self._forward_pre_hooks, self.__dict__["_forward_pre_hooks_with_kwargs"]
        )
        self._forward_pre_hooks[handle.id] = hook
        if with_kwargs:
            self.__dict__["_forward_pre_hooks_with_kwargs"][handle.id] = True
        if prepend:
            self._forward_pre_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_forward_hook(
        self,
        hook: Callable[..., Any],
        *,
        prepend: bool = False,
        with_kwargs: bool = False,
        always_call: bool = False,
    ) -> RemovableHandle:
        """Calls ``hook(module, args, output)`` after each forward; a non-None result replaces
        the output (``hook(module, args, kwargs, output)`` with ``with_kwargs=True``).
        ``always_call=True`` runs it even when forward raises.

        >>> import autodiff, autodiff.nn as nn
        >>> tanh = nn.Tanh()
        >>> handle = tanh.register_forward_hook(lambda m, args, out: out * 0)
        >>> tanh(autodiff.tensor([1.0]))
        tensor([0.])
        >>> handle.remove()
        """
        with_kwargs_table = self.__dict__["_forward_hooks_with_kwargs"]
        always_table = self.__dict__["_forward_hooks_always_called"]
        handle = RemovableHandle(self._forward_hooks, with_kwargs_table, always_table)
        self._forward_hooks[handle.id] = hook
        if with_kwargs:
            with_kwargs_table[handle.id] = True
        if always_call:
            always_table[handle.id] = True
        if prepend:
            self._forward_hooks.move_to_end(handle.id, last=False)
        return handle

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not (self._forward_pre_hooks or self._forward_hooks):
            return self.forward(*args, **kwargs)
        d = self.__dict__
        for hook_id, hook in list(self._forward_pre_hooks.items()):
            if hook_id in d["_forward_pre_hooks_with_kwargs"]:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError(
                            "forward pre-hook must return None or a tuple of (new_args, "
                            f"new_kwargs), but got {result}."
                        )
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        try:
            output = self.forward(*args, **kwargs)
        except Exception:
            for hook_id, hook in list(self._forward_hooks.items()):
                if hook_id in d["_forward_hooks_always_called"]:
                    try:
                        self._run_forward_hook(hook_id, hook, args, kwargs, None)
                    except Exception:  # noqa: S110 - the forward's error is the one to report
                        pass
            raise
        for hook_id, hook in list(self._forward_hooks.items()):
            result = self._run_forward_hook(hook_id, hook, args, kwargs, output)
            if result is not None:
                output = result
        return output

    def _run_forward_hook(
        self, hook_id: int, hook: Callable[..., Any], args: Any, kwargs: Any, output: Any
    ) -> Any:
        if hook_id in self.__dict__["_forward_hooks_with_kwargs"]:
            return hook(self, args, kwargs, output)
        return hook(self, args, output)
