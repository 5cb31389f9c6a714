"""Grad-mode context managers and decorators. The flag itself is thread-local in the
engine; these only set it and restore it, also when the block raises."""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, TypeVar

from .. import _C

F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "is_grad_enabled",
    "inference_mode",
    "is_inference_mode_enabled",
]

is_grad_enabled = _C.is_grad_enabled
is_inference_mode_enabled = _C.is_inference_mode_enabled


class _GradModeContext:
    """Base of the grad-mode managers: usable as ``with``-blocks and as decorators."""

    _mode: bool

    def __enter__(self) -> None:
        self._previous = _C._set_grad_enabled(self._mode)

    def __exit__(self, *exc_info: object) -> None:
        _C._set_grad_enabled(self._previous)

    def clone(self) -> _GradModeContext:
        return self.__class__()

    def __call__(self, func: F) -> F:
        if inspect.isgeneratorfunction(func):
            return self._wrap_generator(func)  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.clone():
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    def _wrap_generator(self, func: Callable[..., Any]) -> Callable[..., Any]:
        # The mode holds while the generator body runs, not while its caller does.
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            gen = func(*args, **kwargs)
            with self.clone():
                response = gen.send(None)
            while True:
                try:
                    request = yield response
                except GeneratorExit:
                    with self.clone():
                        gen.close()
                    raise
                except BaseException as exc:  # forward throw() into the generator
                    with self.clone():
                        response = gen.throw(exc)
                else:
                    try:
                        with self.clone():
                            response = gen.send(request)
                    except StopIteration as stop:
                        return stop.value

        return wrapper


class _NoParamDecoratorContextManager(_GradModeContext):
    """Allows ``@no_grad`` as well as ``@no_grad()``."""

    def __new__(cls, orig_func: Callable[..., Any] | None = None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)


class no_grad(_NoParamDecoratorContextManager):
    """Disables gradient recording on this thread inside the block.

    >>> import autodiff
    >>> x = autodiff.tensor(1.0, requires_grad=True)
    >>> with autodiff.no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """

    _mode = False


class enable_grad(_NoParamDecoratorContextManager):
    """Enables gradient recording on this thread inside the block (inside ``no_grad``).

    >>> import autodiff
    >>> x = autodiff.tensor(1.0, requires_grad=True)
    >>> with autodiff.no_grad(), autodiff.enable_grad():
    ...     (x * 2).requires_grad
    True
    """

    _mode = True


class set_grad_enabled(_GradModeContext):
    """Sets grad mode: immediately when called, and back to the previous mode when used as a
    ``with`` block or decorator that exits.

    >>> import autodiff
    >>> with autodiff.set_grad_enabled(False):
    ...     autodiff.is_grad_enabled()
    False
    """

    def __init__(self, mode: bool) -> None:
        self._previous = _C._set_grad_enabled(mode)
        self._mode = mode

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc_info: object) -> None:
        _C._set_grad_enabled(self._previous)

    def clone(self) -> set_grad_enabled:
        return self.__class__(self._mode)

    def __call__(self, func: F) -> F:
        # Used as a decorator: the constructor's immediate effect is undone.
        _C._set_grad_enabled(self._previous)
        return super().__call__(func)


class inference_mode(_GradModeContext):
    """Inference mode: no recording, and the tensors made inside are *inference tensors*,
    which autograd may never use later (PyTorch's rules and messages). ``inference_mode(False)``
    inside re-enables recording. A context manager and a decorator, with or without ``()``.

    >>> import autodiff
    >>> x = autodiff.tensor([1.0, 2.0], requires_grad=True)
    >>> with autodiff.inference_mode():
    ...     y = x * 2
    >>> y.requires_grad, y.is_inference()
    (False, True)
    """

    def __new__(cls, mode: Any = True):
        if callable(mode) and not isinstance(mode, bool):
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True) -> None:
        self._mode = mode

    def __enter__(self) -> None:
        self._previous_state = _C._set_inference_mode(self._mode)

    def __exit__(self, *exc_info: object) -> None:
        _C._restore_inference_mode(self._previous_state)

    def clone(self) -> inference_mode:
        return self.__class__(self._mode)
