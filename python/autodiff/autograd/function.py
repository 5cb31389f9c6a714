"""``autodiff.autograd.Function``: ops with a forward and a backward written in Python.

``apply`` runs ``forward`` under ``no_grad`` and records one node for the call (named
``<ClassName>Backward``) in the Rust engine; in backward that node calls back here to run
``backward`` and checks what it returns, with PyTorch's messages.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any, Callable, TypeVar

from .. import _C
from .grad_mode import is_grad_enabled, no_grad

__all__ = ["Function", "FunctionCtx", "once_differentiable"]

F = TypeVar("F", bound=Callable[..., Any])

_NO_BACKWARD = (
    "You must implement either the backward or vjp method for your custom autograd.Function "
    "to use it with backward mode AD."
)
_NO_JVP = (
    "You must implement the jvp function for custom autograd.Function to use it with forward "
    "mode AD."
)
_LEGACY_CALL = (
    "Legacy autograd function with non-static forward method is deprecated. Please use "
    "new-style autograd function with static forward method. (Example: "
    "https://pytorch.org/docs/stable/autograd.html#torch.autograd.Function)"
)
_TWICE = "trying to differentiate twice a function that was marked with @once_differentiable"


class FunctionCtx:
    """The ``ctx`` that ``forward`` and ``backward`` share: what to save, and how the outputs
    behave in the graph."""

    needs_input_grad: tuple[bool, ...]

    def __init__(self) -> None:
        self.needs_input_grad = ()
        self.materialize_grads = True
        self._to_save: tuple[_C.Tensor | None, ...] = ()
        self._non_differentiable: tuple[_C.Tensor, ...] = ()
        self._dirty: tuple[_C.Tensor, ...] = ()
        self._unpacked: tuple[_C.Tensor | None, ...] | None = None
        self._saved_handle: Any = None

    def save_for_backward(self, *tensors: _C.Tensor | None) -> None:
        """Keeps tensors for ``backward`` (read them back as ``ctx.saved_tensors``); the engine
        checks that none was modified in place before backward uses it.

        >>> import autodiff
        >>> class Square(autodiff.autograd.Function):
        ...     @staticmethod
        ...     def forward(ctx, x):
        ...         ctx.save_for_backward(x)
        ...         return x * x
        ...     @staticmethod
        ...     def backward(ctx, g):
        ...         (x,) = ctx.saved_tensors
        ...         return 2 * x * g
        >>> x = autodiff.tensor(3.0, requires_grad=True)
        >>> Square.apply(x).backward()
        >>> x.grad
        tensor(6.)
        """
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, _C.Tensor):
                raise TypeError(
                    "save_for_backward can only save variables, but argument "
                    f"{i} is of type {type(t).__name__}"
                )
        self._to_save = tensors

    @property
    def saved_tensors(self) -> tuple[_C.Tensor | None, ...]:
        """The tensors given to ``save_for_backward``, inside ``backward``."""
        if self._unpacked is not None:
            return self._unpacked
        if self._saved_handle is None:  # inside forward, or nothing was recorded
            return self._to_save
        # Outside backward: through the node, which knows whether backward freed them.
        unpacked = iter(self._saved_handle.unpack())
        return tuple(None if t is None else next(unpacked) for t in self._to_save)

    def mark_non_differentiable(self, *outputs: _C.Tensor) -> None:
        """Marks outputs that have no gradient: they do not require grad, and ``backward``
        gets zeros for them."""
        self._non_differentiable = outputs

    def mark_dirty(self, *tensors: _C.Tensor) -> None:
        """Declares inputs that ``forward`` modified in place (accepted; in-place forwards
        keep the engine's version checks)."""
        self._dirty = tensors

    def set_materialize_grads(self, value: bool) -> None:
        """With ``True`` (the default) outputs that got no gradient arrive in ``backward`` as
        zeros; with ``False``, as ``None``."""
        self.materialize_grads = value


def _trampoline(
    cls: type[Function], name: str, is_tensor: list[bool]
) -> Callable[[FunctionCtx, tuple, tuple], tuple]:
    """The callable the engine runs in backward: the user's ``backward`` with the saved
    tensors unpacked, its result checked for count and padded to one entry per argument."""

    n_args = len(is_tensor)

    def run(ctx: FunctionCtx, saved: tuple, grads: tuple) -> tuple:
        ctx._unpacked = saved
        try:
            result = cls.backward(ctx, *grads)
        finally:
            ctx._unpacked = None
        if not isinstance(result, tuple):
            result = (result,)
        if len(result) != n_args:
            extra = result[n_args:]
            if len(result) < n_args or any(g is not None for g in extra):
                raise RuntimeError(
                    f"function {name} returned an incorrect number of gradients "
                    f"(expected {n_args}, got {len(result)})"
                )
            result = result[:n_args]
        for i, g in enumerate(result):
            if g is not None and not is_tensor[i]:
                raise RuntimeError(
                    f"function {name} returned a gradient different than None at position "
                    f"{i + 1}, but the corresponding forward input was not a Variable"
                )
        return result

    return run


class FunctionMeta(type):
    """Gives each ``Function`` subclass its node name, ``<ClassName>Backward``."""

    def __init__(cls, name: str, bases: tuple, attrs: dict) -> None:
        cls._backward_name = f"{name}Backward"
        super().__init__(name, bases, attrs)


class Function(metaclass=FunctionMeta):
    """An op defined by static ``forward(ctx, *args)`` and ``backward(ctx, *grads)`` methods,
    called through ``apply``.

    >>> import autodiff
    >>> class Exp(autodiff.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         y = x.exp()
    ...         ctx.save_for_backward(y)
    ...         return y
    ...     @staticmethod
    ...     def backward(ctx, g):
    ...         (y,) = ctx.saved_tensors
    ...         return g * y
    >>> x = autodiff.tensor(0.0, requires_grad=True)
    >>> y = Exp.apply(x)
    >>> y
    tensor(1., grad_fn=<ExpBackward>)
    >>> y.backward()
    >>> x.grad
    tensor(1.)
    """

    _backward_name: str

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        warnings.warn(
            f"{self.__class__} should not be instantiated. Methods on autograd functions are "
            "all static, so you should invoke them on the class itself. Instantiating an "
            "autograd function will raise an error in a future version of PyTorch.",
            DeprecationWarning,
            stacklevel=2,
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(_LEGACY_CALL)

    @staticmethod
    def forward(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        """Computes the outputs (runs under ``no_grad``)."""
        raise NotImplementedError(
            "You must implement the forward function for custom autograd.Function."
        )

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> Any:
        """Alternative to a ``ctx`` argument of ``forward``: fills ``ctx`` from the inputs
        and the output."""
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx: Any, *grad_outputs: Any) -> Any:
        """Maps the gradients of the outputs to one gradient (or ``None``) per input of
        ``forward``."""
        raise NotImplementedError(_NO_BACKWARD)

    vjp = backward

    @staticmethod
    def jvp(ctx: Any, *grad_inputs: Any) -> Any:
        """Forward-mode rule (forward-mode AD is not supported by autodiff)."""
        raise NotImplementedError(_NO_JVP)

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Runs ``forward`` and, when an input requires grad, records one node whose backward
        is ``backward``."""
        if kwargs:
            raise TypeError("apply() does not take keyword arguments")
        ctx = FunctionCtx()
        ctx.needs_input_grad = tuple(isinstance(a, _C.Tensor) and a.requires_grad for a in args)
        uses_setup = cls.setup_context is not Function.setup_context
        with no_grad():
            if uses_setup:
                output = cls.forward(*args)
            else:
                output = cls.forward(ctx, *args)
        if uses_setup:
            cls.setup_context(ctx, args, output)
        is_tuple = isinstance(output, tuple)
        outputs = output if is_tuple else (output,)
        tensors = [o if isinstance(o, _C.Tensor) else None for o in outputs]
        marked = {id(t) for t in ctx._non_differentiable}
        recorded = _C._record_function(
            cls._backward_name,
            ctx,
            _trampoline(cls, cls._backward_name, [isinstance(a, _C.Tensor) for a in args]),
            list(args),
            tensors,
            [id(t) in marked for t in tensors],
            list(ctx._to_save),
            ctx.materialize_grads,
        )
        results = tuple(r if r is not None else o for r, o in zip(recorded, outputs))
        return results if is_tuple else results[0]


def once_differentiable(fn: F) -> F:
    """Decorates a ``backward`` that is not itself differentiable: it runs under ``no_grad``,
    and differentiating its result again raises an error."""

    @functools.wraps(fn)
    def wrapper(ctx: Any, *args: Any) -> Any:
        with no_grad():
            outputs = fn(ctx, *args)
        if not is_grad_enabled():
            return outputs
        grads = [a for a in args if isinstance(a, _C.Tensor) and a.requires_grad]
        if not grads:
            return outputs
        is_tuple = isinstance(outputs, tuple)
        items = outputs if is_tuple else (outputs,)
        tensors = [o if isinstance(o, _C.Tensor) else None for o in items]
        wrapped = _C._delayed_error(tensors, grads, _TWICE)
        results = tuple(w if w is not None else o for w, o in zip(wrapped, items))
        return results if is_tuple else results[0]

    return wrapper  # type: ignore[return-value]
