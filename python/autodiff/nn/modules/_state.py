"""``Module``'s state methods: ``state_dict``, ``load_state_dict`` and the dtype
conversions ``float``/``double``, as a mixin that ``module.py`` builds Module from.

>>> import autodiff.nn as nn
>>> sorted(nn.Linear(2, 1).state_dict())
['bias', 'weight']
"""

from __future__ import annotations

import warnings
from collections import OrderedDict, namedtuple
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Callable, TypeVar, cast

from ... import _C
from ...autograd.grad_mode import no_grad
from .._reduction import size_text
from ..parameter import Parameter

if TYPE_CHECKING:
    from .module import Module

__all__ = ["_IncompatibleKeys", "StateMixin"]

S = TypeVar("S", bound="StateMixin")


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: the keys it missed and the keys it did not use.

    >>> _IncompatibleKeys([], [])
    <All keys matched successfully>
    >>> _IncompatibleKeys(["bias"], [])
    _IncompatibleKeys(missing_keys=['bias'], unexpected_keys=[])
    """

    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _local_state(module: StateMixin) -> dict[str, _C.Tensor]:
    """The module's own parameters and persistent buffers, by name, without the ``None`` ones."""
    state: dict[str, _C.Tensor] = {k: v for k, v in module._parameters.items() if v is not None}
    for name, buf in module._buffers.items():
        if buf is not None and name not in module._non_persistent_buffers_set:
            state[name] = buf
    return state


def _save(module: StateMixin, destination: dict[str, Any], prefix: str, keep_vars: bool) -> None:
    for name, tensor in _local_state(module).items():
        destination[prefix + name] = tensor if keep_vars else tensor.detach()


def _state_dict(
    module: StateMixin, destination: Any, prefix: str, keep_vars: bool
) -> dict[str, Any]:
    if destination is None:
        destination = OrderedDict()
        destination._metadata = OrderedDict()
    metadata = getattr(destination, "_metadata", None)
    if metadata is not None:
        metadata[prefix[:-1]] = {"version": module._version}
    module._save_to_state_dict(destination, prefix, keep_vars)
    for name, child in module._modules.items():
        if child is not None:
            child.state_dict(
                destination=destination, prefix=f"{prefix}{name}.", keep_vars=keep_vars
            )
    return destination


def _load_own(
    module: StateMixin,
    state_dict: Mapping[str, Any],
    prefix: str,
    local_metadata: dict[str, Any],
    strict: bool,
    missing_keys: list[str],
    unexpected_keys: list[str],
    error_msgs: list[str],
) -> None:
    """Copies this module's own entries of ``state_dict`` and records what went wrong."""
    own = _local_state(module)
    assign = local_metadata.get("assign_to_params_buffers", False)
    for name, current in own.items():
        key = prefix + name
        if key not in state_dict:
            if strict:
                missing_keys.append(key)
            continue
        given = state_dict[key]
        if not isinstance(given, _C.Tensor):
            error_msgs.append(
                f'While copying the parameter named "{key}", expected torch.Tensor or '
                f"Tensor-like object from checkpoint but received {type(given)}"
            )
            continue
        # Checkpoints from before 0-d tensors existed hold a scalar parameter as shape (1,).
        if current.dim() == 0 and given.dim() == 1:
            given = given[0]
        if tuple(given.shape) != tuple(current.shape):
            error_msgs.append(
                f"size mismatch for {key}: copying a param with shape {size_text(given.shape)} "
                f"from checkpoint, the shape in current model is {size_text(current.shape)}."
            )
            continue
        try:
            with no_grad():
                if assign:
                    _assign(module, name, current, given)
                else:
                    current.copy_(given)
        except Exception as ex:
            error_msgs.append(
                f'While copying the parameter named "{key}", whose dimensions in the model are '
                f"{size_text(current.shape)} and whose dimensions in the checkpoint are "
                f"{size_text(given.shape)}, an exception occurred : {ex.args}."
            )
    if strict:
        for key in state_dict:
            if not key.startswith(prefix):
                continue
            head = key[len(prefix) :].split(".", 1)[0]
            if head not in module._modules and head not in own:
                unexpected_keys.append(key)


def _assign(module: StateMixin, name: str, current: _C.Tensor, given: _C.Tensor) -> None:
    """``load_state_dict(assign=True)``: the module takes the checkpoint's tensor itself."""
    if isinstance(current, Parameter):
        if isinstance(given, Parameter):
            given.requires_grad_(current.requires_grad)
        else:
            given = Parameter(given, requires_grad=current.requires_grad)
    setattr(module, name, given)


def _load(
    module: StateMixin, state_dict: Mapping[str, Any], strict: bool, assign: bool
) -> _IncompatibleKeys:
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
    missing: list[str] = []
    unexpected: list[str] = []
    errors: list[str] = []
    metadata = getattr(state_dict, "_metadata", None)
    # Explicit stack, children pushed in reverse: the keys come out in the order of a
    # recursive walk, parent before children.
    stack: list[tuple[StateMixin, Mapping[str, Any], str]] = [(module, state_dict, "")]
    while stack:
        current, entries, prefix = stack.pop()
        local_metadata = dict(metadata.get(prefix[:-1], {})) if metadata is not None else {}
        if assign:
            local_metadata["assign_to_params_buffers"] = True
        # strict=True always: missing and unexpected keys are collected either way, and
        # load_state_dict's own `strict` decides whether they are errors.
        current._load_from_state_dict(
            entries, prefix, local_metadata, True, missing, unexpected, errors
        )
        children = []
        for name, child in current._modules.items():
            if child is not None:
                child_prefix = f"{prefix}{name}."
                subset = {k: v for k, v in entries.items() if k.startswith(child_prefix)}
                children.append((child, subset, child_prefix))
        stack.extend(reversed(children))
    if strict:
        if unexpected:
            keys = ", ".join(f'"{k}"' for k in unexpected)
            errors.insert(0, f"Unexpected key(s) in state_dict: {keys}. ")
        if missing:
            keys = ", ".join(f'"{k}"' for k in missing)
            errors.insert(0, f"Missing key(s) in state_dict: {keys}. ")
    if errors:
        raise RuntimeError(
            f"Error(s) in loading state_dict for {type(module).__name__}:\n\t" + "\n\t".join(errors)
        )
    return _IncompatibleKeys(missing, unexpected)


def _convert(module: StateMixin, fn: Callable[[_C.Tensor], _C.Tensor]) -> None:
    """Applies ``fn`` to every parameter, gradient and buffer of ``module`` and below.

    A parameter keeps its identity where the tensor lets ``.data`` be replaced; otherwise a
    new Parameter (same ``requires_grad``, converted ``.grad``) takes its place.
    """
    for child in module.children():
        _convert(child, fn)
    with no_grad():
        for key, param in module._parameters.items():
            if param is None:
                continue
            new_data = fn(param)
            if new_data is param:
                continue
            new_grad = None if param.grad is None else fn(param.grad)
            try:
                param.data = new_data  # type: ignore[misc]
                if new_grad is not None:
                    param.grad = new_grad
            except AttributeError:
                replacement = Parameter(new_data, param.requires_grad)
                replacement.grad = new_grad
                module._parameters[key] = replacement
        for key, buf in module._buffers.items():
            if buf is not None:
                module._buffers[key] = fn(buf)


class StateMixin:
    """The state methods of :class:`~autodiff.nn.Module` (which see): training mode,
    gradients, ``state_dict`` and dtype.

    >>> import autodiff.nn as nn
    >>> nn.Linear(1, 1).load_state_dict(nn.Linear(1, 1).state_dict())
    <All keys matched successfully>
    """

    _version: int = 1
    _parameters: dict[str, Parameter | None]
    _buffers: dict[str, _C.Tensor | None]
    _non_persistent_buffers_set: set[str]
    _modules: dict[str, Module | None]

    training: bool

    if TYPE_CHECKING:

        def children(self) -> Iterator[Module]: ...

        def parameters(self, recurse: bool = True) -> Iterator[Parameter]: ...

    def state_dict(
        self, *args: Any, destination: Any = None, prefix: str = "", keep_vars: bool = False
    ) -> dict[str, Any]:
        """An OrderedDict of the parameters and persistent buffers by dotted name, detached
        unless ``keep_vars=True``.

        >>> import autodiff.nn as nn
        >>> list(nn.Sequential(nn.Linear(2, 1)).state_dict())
        ['0.weight', '0.bias']
        """
        if args:
            warnings.warn(
                "Positional args are being deprecated, use kwargs instead. Refer to "
                "https://pytorch.org/docs/main/generated/torch.nn.Module.html"
                "#torch.nn.Module.state_dict for details.",
                FutureWarning,
                stacklevel=2,
            )
            destination = args[0]
            prefix = args[1] if len(args) > 1 else prefix
            keep_vars = args[2] if len(args) > 2 else keep_vars
        return _state_dict(self, destination, prefix, keep_vars)

    def _save_to_state_dict(
        self, destination: dict[str, Any], prefix: str, keep_vars: bool
    ) -> None:
        _save(self, destination, prefix, keep_vars)

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False
    ) -> _IncompatibleKeys:
        """Copies ``state_dict`` into the parameters and buffers (under no_grad), or with
        ``assign=True`` takes its tensors; returns ``(missing_keys, unexpected_keys)``.

        >>> import autodiff.nn as nn
        >>> a, b = nn.Linear(2, 1), nn.Linear(2, 1)
        >>> a.load_state_dict(b.state_dict())
        <All keys matched successfully>
        >>> bool((a.weight == b.weight).all())
        True
        """
        return _load(self, state_dict, strict, assign)

    def _load_from_state_dict(
        self,
        state_dict: Mapping[str, Any],
        prefix: str,
        local_metadata: dict[str, Any],
        strict: bool,
        missing_keys: list[str],
        unexpected_keys: list[str],
        error_msgs: list[str],
    ) -> None:
        _load_own(
            self,
            state_dict,
            prefix,
            local_metadata,
            strict,
            missing_keys,
            unexpected_keys,
            error_msgs,
        )

    def _apply(self: S, fn: Callable[[_C.Tensor], _C.Tensor]) -> S:
        _convert(self, fn)
        return self

    def float(self: S) -> S:
        """Converts floating-point parameters and buffers to float32; returns self.

        >>> import autodiff, autodiff.nn as nn
        >>> nn.Linear(1, 1, dtype=autodiff.float64).float().weight.dtype
        autodiff.float32
        """
        return self._apply(lambda t: t.float() if t.is_floating_point() else t)

    def double(self: S) -> S:
        """Converts floating-point parameters and buffers to float64; returns self.

        >>> import autodiff.nn as nn
        >>> nn.Linear(1, 1).double().weight.dtype
        autodiff.float64
        """
        return self._apply(lambda t: t.double() if t.is_floating_point() else t)

    def train(self: S, mode: bool = True) -> S:
        """Sets training mode (``mode=True``) or evaluation mode here and below; returns self.

        >>> import autodiff.nn as nn
        >>> nn.Dropout().train(False).training
        False
        """
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.training = mode
        for child in self.children():
            child.train(mode)
        return self

    def eval(self: S) -> S:
        """``train(False)``.

        >>> import autodiff.nn as nn
        >>> nn.Dropout().eval().training
        False
        """
        return self.train(False)

    def requires_grad_(self: S, requires_grad: bool = True) -> S:
        """Sets ``requires_grad`` of every parameter; returns self.

        >>> import autodiff.nn as nn
        >>> [p.requires_grad for p in nn.Linear(1, 1).requires_grad_(False).parameters()]
        [False, False]
        """
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clears the parameters' ``.grad``: to None (default) or to zeros in place.

        >>> import autodiff, autodiff.nn as nn
        >>> lin = nn.Linear(2, 1)
        >>> lin(autodiff.ones(2)).sum().backward()
        >>> lin.zero_grad(set_to_none=False)
        >>> lin.bias.grad
        tensor([0.])
        """
        for param in self.parameters():
            grad = param.grad
            if grad is None:
                continue
            if set_to_none:
                param.grad = None
                continue
            if grad.grad_fn is not None:
                grad.detach_()
            else:
                grad.requires_grad_(False)
            grad.zero_()

    def apply(self: S, fn: Callable[[Module], None]) -> S:
        """Calls ``fn`` on every submodule (children first) and then on self; returns self.

        >>> import autodiff.nn as nn
        >>> names = []
        >>> _ = nn.Sequential(nn.ReLU()).apply(lambda m: names.append(type(m).__name__))
        >>> names
        ['ReLU', 'Sequential']
        """
        for child in self.children():
            child.apply(fn)
        fn(cast("Module", self))
        return self
