"""``Optimizer``: PyTorch's base class for the optimizers, with its param-group bookkeeping,
``zero_grad`` and ``state_dict`` layout. The per-element updates live in the engine
(``autodiff._C``); this layer only gathers the tensors of each param group for one native call.
"""

from __future__ import annotations

import copy
import warnings
from collections import defaultdict
from collections.abc import Iterable
from itertools import chain
from typing import Any, Callable, Union

from .._C import Tensor
from ..autograd.grad_mode import enable_grad

__all__ = ["Optimizer", "ParamsT", "required"]

ParamsT = Union[Iterable[Tensor], Iterable[dict[str, Any]], Iterable[tuple[str, Tensor]]]

# The accelerated code paths of PyTorch: asking for them must fail loudly, because silently
# running the single-tensor path would hide that the request had no effect.
_UNSUPPORTED_FLAGS = ("foreach", "fused", "capturable", "differentiable")

# PyTorch's legacy type names, which its messages print for tensors (as src/dtype.rs does).
_LEGACY_TENSOR_NAMES = {
    "float32": "torch.FloatTensor",
    "float64": "torch.DoubleTensor",
    "int64": "torch.LongTensor",
    "bool": "torch.BoolTensor",
}


class _RequiredParameter:
    """Marks a hyperparameter that every param group must set itself."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def _typename(obj: object) -> str:
    # Mirrors torch.typename, whose output the optimizer's TypeErrors contain.
    if isinstance(obj, Tensor):
        return _LEGACY_TENSOR_NAMES.get(str(obj.dtype).rpartition(".")[2], "torch.Tensor")
    module = getattr(obj, "__module__", "") or ""
    if hasattr(obj, "__qualname__"):
        qualname = obj.__qualname__
    elif hasattr(obj, "__name__"):
        qualname = obj.__name__
    else:
        module = type(obj).__module__ or ""
        qualname = type(obj).__qualname__
    return qualname if module in ("", "builtins") else f"{module}.{qualname}"


def _copy_state_value(value: Any, param: Tensor, key: Any = None) -> Any:
    """A copy of one loaded state entry that shares no tensor with the loaded dict; floating
    state follows the parameter's dtype, while ``step`` counters keep their own."""
    if isinstance(value, Tensor):
        copied = value.detach().clone()
        if key != "step" and param.is_floating_point() and copied.dtype != param.dtype:
            copied = copied.to(param.dtype)
        return copied
    if isinstance(value, dict):
        return {k: _copy_state_value(v, param, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copy_state_value(v, param) for v in value)
    return copy.deepcopy(value)


def _deepcopy(value: Any) -> Any:
    # copy.deepcopy cannot copy native tensors (they do not pickle), so they are cloned here.
    if isinstance(value, Tensor):
        return value.detach().clone()
    if isinstance(value, dict):
        return {k: _deepcopy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_deepcopy(v) for v in value)
    return copy.deepcopy(value)


class Optimizer:
    """Base class of all optimizers, as ``torch.optim.Optimizer``.

    ``params`` is an iterable of tensors, of ``(name, tensor)`` pairs, or of dicts (param groups)
    whose ``"params"`` entry holds the tensors and whose other entries override ``defaults``
    for that group. ``param_groups`` holds each group with every default filled in, and
    ``state`` maps each parameter to its per-parameter state (a ``defaultdict(dict)``).
    Subclasses implement ``step``.

    >>> import autodiff
    >>> w = autodiff.tensor([1.0, 2.0], requires_grad=True)
    >>> b = autodiff.tensor(0.5, requires_grad=True)
    >>> opt = autodiff.optim.SGD([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=0.1)
    >>> [(len(g["params"]), g["lr"]) for g in opt.param_groups]
    [(1, 0.1), (1, 0.5)]
    >>> opt.state_dict()["param_groups"][1]["params"]
    [1]
    """

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                "dicts, but got " + _typename(params)
            )
        if isinstance(params, set):
            warnings.warn(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list "
                "instead. This will be an error in a future release.",
                FutureWarning,
                stacklevel=2,
            )
        self.state: defaultdict[Tensor, Any] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []

        param_groups: list[Any] = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    def __getstate__(self) -> dict[str, Any]:
        # Only the optimizer's data: a scheduler's wrapper around `step` does not pickle.
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.defaults.setdefault("differentiable", False)

    def __repr__(self) -> str:
        text = f"{type(self).__name__} ("
        for i, group in enumerate(self.param_groups):
            text += f"\nParameter Group {i}\n"
            text += "".join(f"    {k}: {group[k]}\n" for k in sorted(group) if k != "params")
        return text + ")"

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Append a param group (a dict with ``"params"`` and optional hyperparameters) to
        ``param_groups``, filling in every hyperparameter it leaves out from ``defaults``.

        >>> import autodiff
        >>> a = autodiff.tensor([1.0], requires_grad=True)
        >>> b = autodiff.tensor([2.0], requires_grad=True)
        >>> opt = autodiff.optim.SGD([a], lr=0.1, momentum=0.9)
        >>> opt.add_param_group({"params": b, "lr": 0.01})
        >>> opt.param_groups[1]["lr"], opt.param_groups[1]["momentum"]
        (0.01, 0.9)
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")

        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list instead."
            )
        else:
            params = list(params)

        # Named parameters come as (name, tensor) pairs; the names are kept beside the tensors.
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        param_group["params"] = params
        if names:
            if len(names) != len(params):
                raise ValueError(
                    "all optimizer params should be with/without names. Some param names are "
                    "missing"
                )
            param_group["param_names"] = names

        for param in params:
            if not isinstance(param, Tensor):
                raise TypeError(
                    "optimizer can only optimize Tensors, but one of the params is "
                    + _typename(param)
                )
            if not self.defaults.get("differentiable", None) and not (
                param.is_leaf or param.retains_grad
            ):
                raise ValueError("can't optimize a non-leaf Tensor")

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(
                    "parameter group didn't specify a value of required optimization "
                    f"parameter {name}"
                )
            param_group.setdefault(name, default)

        if len(params) != len(set(params)):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in future, "
                "this will cause an error; see github.com/pytorch/pytorch/issues/40967 for "
                "more information",
                stacklevel=3,
            )

        seen: set[Tensor] = set()
        for group in self.param_groups:
            seen.update(group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                kind = "with names" if "param_names" in param_group else "without names"
                raise ValueError(
                    "all optimizer param groups should be with/without names. cannot add "
                    f"param group {kind} to the optimizer"
                )
        if not seen.isdisjoint(params):
            raise ValueError("some parameters appear in more than one parameter group")

        self.param_groups.append(param_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters: to ``None`` (the default), or to zeros in
        place with ``set_to_none=False``.

        >>> import autodiff
        >>> w = autodiff.tensor([1.0, 2.0], requires_grad=True)
        >>> opt = autodiff.optim.SGD([w])
        >>> (w * w).sum().backward()
        >>> opt.zero_grad(set_to_none=False)
        >>> w.grad
        tensor([0., 0.])
        >>> opt.zero_grad()
        >>> print(w.grad)
        None
        """
        for group in self.param_groups:
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                    continue
                # A grad built with create_graph=True is cut from its graph before zeroing.
                if grad.grad_fn is not None:
                    grad.detach_()
                else:
                    grad.requires_grad_(False)
                grad.zero_()

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one optimization step; subclasses implement it.

        >>> import autodiff
        >>> w = autodiff.tensor([1.0], requires_grad=True)
        >>> autodiff.optim.Optimizer([w], {}).step()
        Traceback (most recent call last):
        ...
        NotImplementedError
        """
        raise NotImplementedError

    def _evaluate_closure(self, closure: Callable[[], Any] | None) -> Any:
        # The closure recomputes the loss, so it needs grad mode whatever the caller's mode is.
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def _check_supported(self, group: dict[str, Any]) -> None:
        for flag in _UNSUPPORTED_FLAGS:
            if group.get(flag):
                raise RuntimeError(
                    f"autodiff.optim.{type(self).__name__} does not support {flag}=True: "
                    "the update always runs as one native call per parameter group"
                )

    def _params_and_grads(self, group: dict[str, Any]) -> tuple[list[Tensor], list[Tensor]]:
        # Parameters without a gradient are skipped, as in PyTorch (not updated as if it were 0).
        params: list[Tensor] = []
        grads: list[Tensor] = []
        for p in group["params"]:
            grad = p.grad
            if grad is not None:
                params.append(p)
                grads.append(grad)
        return params, grads

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as PyTorch lays it out: ``{"state": {index: {...}},
        "param_groups": [{..., "params": [indices]}]}``. Parameters are replaced by their
        position across all groups; the state tensors are the live ones, not copies.

        >>> import autodiff
        >>> w = autodiff.tensor([1.0, 2.0], requires_grad=True)
        >>> opt = autodiff.optim.SGD([w], lr=0.1, momentum=0.9)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> sd = opt.state_dict()
        >>> sd["state"]
        {0: {'momentum_buffer': tensor([2., 4.])}}
        >>> sd["param_groups"][0]["params"], sd["param_groups"][0]["lr"]
        ([0], 0.1)
        """
        index_of: dict[int, int] = {}
        packed_groups = []
        start = 0
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            # Numbered by position, so a duplicated parameter leaves a gap, as in PyTorch.
            for i, p in enumerate(group["params"], start):
                index_of.setdefault(id(p), i)
            packed["params"] = [index_of[id(p)] for p in group["params"]]
            start += len(packed["params"])
            packed_groups.append(packed)
        packed_state = {
            (index_of[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()
        }
        return {"state": packed_state, "param_groups": packed_groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state saved by ``state_dict``: the hyperparameters of each group and the
        per-parameter state, matched to this optimizer's parameters by position.

        Deviation from PyTorch: every loaded tensor is copied, so this optimizer never shares
        state with the dict (PyTorch aliases the tensors whose dtype already matches).

        >>> import autodiff
        >>> w = autodiff.tensor([1.0, 2.0], requires_grad=True)
        >>> opt = autodiff.optim.SGD([w], lr=0.1, momentum=0.9)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> fresh = autodiff.optim.SGD([w], lr=0.5)
        >>> fresh.load_state_dict(opt.state_dict())
        >>> fresh.param_groups[0]["lr"], fresh.state[w]["momentum_buffer"]
        (0.1, tensor([2., 4.]))
        """
        groups = self.param_groups
        saved_groups = _deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError(
                "loaded state dict contains a parameter group that doesn't match the size of "
                "optimizer's group"
            )

        param_of = dict(
            zip(
                chain.from_iterable(s["params"] for s in saved_groups),
                chain.from_iterable(g["params"] for g in groups),
            )
        )
        state: defaultdict[Any, Any] = defaultdict(dict)
        for key, value in state_dict["state"].items():
            if key in param_of:
                param = param_of[key]
                state[param] = _copy_state_value(value, param)
            else:
                state[key] = _deepcopy(value)

        for group, saved in zip(groups, saved_groups):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
        self.__setstate__({"state": state, "param_groups": saved_groups})
