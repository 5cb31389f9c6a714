"""Anomaly detection: ``detect_anomaly`` and ``set_detect_anomaly``, as in PyTorch.

While it is on, every recorded op keeps the Python stack of its forward call; a backward
rule that returns NaN raises ``RuntimeError: Function 'SqrtBackward0' returned nan values in
its 0th output.``, and any failing rule is reported with a warning that shows that stack.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any, Callable, TypeVar

from .. import _C

__all__ = ["detect_anomaly", "set_detect_anomaly"]

F = TypeVar("F", bound=Callable[..., Any])

_ENABLED_WARNING = (
    "Anomaly Detection has been enabled. This mode will increase the runtime and should only "
    "be enabled for debugging."
)


class detect_anomaly:
    """Context manager (or decorator) that turns anomaly detection on for its block.

    >>> import autodiff
    >>> x = autodiff.tensor([-1.0], requires_grad=True)
    >>> with autodiff.autograd.detect_anomaly():  # doctest: +SKIP
    ...     x.sqrt().sum().backward()
    Traceback (most recent call last):
    RuntimeError: Function 'SqrtBackward0' returned nan values in its 0th output.
    """

    def __init__(self, check_nan: bool = True) -> None:
        self.prev = _C.is_anomaly_enabled()
        self.check_nan = check_nan
        self.prev_check_nan = _C.is_anomaly_check_nan_enabled()
        warnings.warn(_ENABLED_WARNING, stacklevel=2)

    def __enter__(self) -> None:
        _C._set_detect_anomaly(True, self.check_nan)

    def __exit__(self, *exc_info: object) -> None:
        _C._set_detect_anomaly(self.prev, self.prev_check_nan)

    def __call__(self, func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.__class__(self.check_nan):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class set_detect_anomaly:
    """Sets anomaly detection on or off: for good as a call, or for a block as a context
    manager.

    >>> import autodiff
    >>> with autodiff.autograd.set_detect_anomaly(True):
    ...     autodiff.is_anomaly_enabled()
    True
    >>> autodiff.is_anomaly_enabled()
    False
    """

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self.prev = _C.is_anomaly_enabled()
        self.prev_check_nan = _C.is_anomaly_check_nan_enabled()
        _C._set_detect_anomaly(mode, check_nan)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc_info: object) -> None:
        _C._set_detect_anomaly(self.prev, self.prev_check_nan)
