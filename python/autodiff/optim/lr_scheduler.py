"""Learning-rate schedulers, as ``torch.optim.lr_scheduler``: the ``LRScheduler`` base class
(and its old name ``_LRScheduler``), ``StepLR`` and ``CosineAnnealingLR``."""

from __future__ import annotations

import math
import warnings
import weakref
from functools import wraps
from typing import Any, Callable

from .._C import Tensor
from .optimizer import Optimizer

__all__ = ["LRScheduler", "StepLR", "CosineAnnealingLR"]

EPOCH_DEPRECATION_WARNING = (
    "The epoch parameter in `scheduler.step()` was not necessary and is being deprecated where "
    "possible. Please use `scheduler.step()` to step the scheduler. During the deprecation, if "
    "epoch is different from None, the closed form is used instead of the new chainable form, "
    "where available. Please open an issue if you are unable to replicate your use case: "
    "https://github.com/pytorch/pytorch/issues/new/choose."
)

_ORDER_HINT = (
    "See more details at https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate"
)


def _group_values(optimizer: Optimizer, key: str) -> list[Any]:
    # Copies, so that changing a returned tensor in place cannot change the optimizer's lr.
    return [
        g[key].clone() if isinstance(g[key], Tensor) else g[key] for g in optimizer.param_groups
    ]


def _set_group_value(group: dict[str, Any], key: str, value: Any) -> None:
    if isinstance(group[key], Tensor):
        group[key].fill_(float(value))
    else:
        group[key] = value


def _track_step_calls(optimizer: Optimizer) -> None:
    """Wrap ``optimizer.step`` so that a scheduler can tell whether it has run yet."""
    if hasattr(optimizer.step, "_wrapped_by_lr_sched"):
        return
    # A weak reference: the wrapper lives on the optimizer and must not keep it alive.
    opt_ref = weakref.ref(optimizer)
    func = optimizer.step.__func__  # type: ignore[attr-defined]

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        opt = opt_ref()
        opt._opt_called = True  # type: ignore[union-attr]
        return func.__get__(opt, type(opt))(*args, **kwargs)

    wrapper._wrapped_by_lr_sched = True  # type: ignore[attr-defined]
    optimizer.step = wrapper  # type: ignore[method-assign]


class LRScheduler:
    """Base class of the learning-rate schedulers, as ``torch.optim.lr_scheduler.LRScheduler``.

    On construction with ``last_epoch=-1`` it records each group's ``lr`` as ``initial_lr``
    (kept in ``base_lrs``) and takes the first step, to epoch 0. Each ``step()`` then moves
    ``last_epoch`` on by one and writes the values of ``get_lr()``, which subclasses implement,
    into the groups' ``lr``. Call it after ``optimizer.step()``.

    >>> import autodiff
    >>> from autodiff.optim.lr_scheduler import LRScheduler
    >>> class Halving(LRScheduler):
    ...     def get_lr(self):
    ...         return [base * 0.5**self.last_epoch for base in self.base_lrs]
    >>> w = autodiff.tensor([1.0], requires_grad=True)
    >>> opt = autodiff.optim.SGD([w], lr=1.0)
    >>> sched = Halving(opt)
    >>> opt.step(); sched.step()
    >>> sched.get_last_lr(), opt.param_groups[0]["initial_lr"]
    ([0.5], 1.0)
    """

    _get_lr_called_within_step: bool = False
    _is_initial: bool = False

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                initial_lr = group["lr"]
                if isinstance(initial_lr, Tensor):
                    initial_lr = initial_lr.clone()
                group.setdefault("initial_lr", initial_lr)
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param 'initial_lr' is not specified in param_groups[{i}] when "
                        "resuming scheduler with last_epoch >= 0.\n"
                        "This typically happens when:\n"
                        "1. You're trying to resume training from a checkpoint but haven't "
                        "properly loaded the optimizer state\n"
                        "2. You're using last_epoch >= 0 for a fresh training run (not "
                        "recommended)"
                    )
        self.base_lrs: list[Any] = _group_values(optimizer, "initial_lr")
        self.last_epoch = last_epoch
        _track_step_calls(optimizer)
        self._initial_step()

    def _initial_step(self) -> None:
        # The first step, to epoch 0, sets the starting rates; get_lr may tell it apart.
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def state_dict(self) -> dict[str, Any]:
        """Everything the scheduler holds except the optimizer.

        >>> import autodiff
        >>> w = autodiff.tensor([1.0], requires_grad=True)
        >>> sched = autodiff.optim.lr_scheduler.StepLR(autodiff.optim.SGD([w], lr=0.1), 3)
        >>> sd = sched.state_dict()
        >>> sd["step_size"], sd["last_epoch"], sd["base_lrs"]
        (3, 0, [0.1])
        """
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state saved by ``state_dict``.

        >>> import autodiff
        >>> w = autodiff.tensor([1.0], requires_grad=True)
        >>> opt = autodiff.optim.SGD([w], lr=0.1)
        >>> sched = autodiff.optim.lr_scheduler.StepLR(opt, 3)
        >>> sched.load_state_dict({"last_epoch": 7, "step_size": 2})
        >>> sched.last_epoch, sched.step_size
        (7, 2)
        """
        self.__dict__.update(state_dict)

    def get_last_lr(self) -> list[Any]:
        """The learning rates the last ``step()`` set, one per param group.

        >>> import autodiff
        >>> w = autodiff.tensor([1.0], requires_grad=True)
        >>> opt = autodiff.optim.SGD([w], lr=0.1)
        >>> autodiff.optim.lr_scheduler.StepLR(opt, 3).get_last_lr()
        [0.1]
        """
        return self._last_lr

    def get_lr(self) -> list[Any]:
        """The learning rates for the epoch ``step()`` has just moved to; subclasses implement
        it. To read the current rates, use ``get_last_lr()``.

        >>> import autodiff
        >>> w = autodiff.tensor([1.0], requires_grad=True)
        >>> autodiff.optim.lr_scheduler.LRScheduler(autodiff.optim.SGD([w]))
        Traceback (most recent call last):
        ...
        NotImplementedError
        """
        raise NotImplementedError

    def step(self, epoch: int | None = None) -> None:
        """Move to the next epoch and set the groups' ``lr``. Passing ``epoch`` is deprecated
        (as in PyTorch, with its warning): it jumps to that epoch, through the closed form where
        the scheduler has one.

        >>> import autodiff
        >>> w = autodiff.tensor([1.0], requires_grad=True)
        >>> opt = autodiff.optim.SGD([w], lr=1.0)
        >>> sched = autodiff.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
        >>> for _ in range(4):
        ...     opt.step()
        ...     sched.step()
        ...     print(sched.last_epoch, opt.param_groups[0]["lr"])
        1 1.0
        2 0.5
        3 0.5
        4 0.25
        """
        if self._step_count == 1:
            if not hasattr(self.optimizer.step, "_wrapped_by_lr_sched"):
                warnings.warn(
                    "Seems like `optimizer.step()` has been overridden after learning rate "
                    "scheduler initialization. Please, make sure to call `optimizer.step()` "
                    "before `lr_scheduler.step()`. " + _ORDER_HINT,
                    UserWarning,
                    stacklevel=2,
                )
            elif not getattr(self.optimizer, "_opt_called", False):
                warnings.warn(
                    "Detected call of `lr_scheduler.step()` before `optimizer.step()`. In "
                    "PyTorch 1.1.0 and later, you should call them in the opposite order: "
                    "`optimizer.step()` before `lr_scheduler.step()`.  Failure to do this will "
                    "result in PyTorch skipping the first value of the learning rate schedule. "
                    + _ORDER_HINT,
                    UserWarning,
                    stacklevel=2,
                )
        self._step_count += 1
        if epoch is not None:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)

        self._get_lr_called_within_step = True
        try:
            if epoch is None:
                self.last_epoch += 1
                values = self.get_lr()
            else:
                self.last_epoch = epoch
                closed_form: Callable[[], list[Any]] | None = getattr(
                    self, "_get_closed_form_lr", None
                )
                values = closed_form() if closed_form is not None else self.get_lr()
        finally:
            self._get_lr_called_within_step = False

        for group, lr in zip(self.optimizer.param_groups, values):
            _set_group_value(group, "lr", lr)
        self._last_lr: list[Any] = _group_values(self.optimizer, "lr")

    def _warn_unless_in_step(self) -> None:
        if not self._get_lr_called_within_step:
            warnings.warn(
                "To get the last learning rate computed by the scheduler, please use "
                "`get_last_lr()`.",
                UserWarning,
                stacklevel=3,
            )


class _LRScheduler(LRScheduler):
    """The old name of ``LRScheduler``, kept (as a subclass, like PyTorch's) for code that
    still derives from it.

    >>> from autodiff.optim.lr_scheduler import LRScheduler, _LRScheduler
    >>> issubclass(_LRScheduler, LRScheduler)
    True
    """


class StepLR(LRScheduler):
    """Multiply each group's learning rate by ``gamma`` every ``step_size`` epochs:
    ``lr = base_lr * gamma ** (epoch // step_size)`` when nothing else changes the rates.

    >>> import autodiff
    >>> w = autodiff.tensor([1.0], requires_grad=True)
    >>> opt = autodiff.optim.SGD([w], lr=0.5)
    >>> sched = autodiff.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.1)
    >>> lrs = []
    >>> for _ in range(7):
    ...     opt.step()
    ...     sched.step()
    ...     lrs.append(round(sched.get_last_lr()[0], 6))
    >>> lrs
    [0.5, 0.5, 0.05, 0.05, 0.05, 0.005, 0.005]
    """

    def __init__(
        self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[Any]:
        """The rates for the current epoch: the groups' current ``lr``, times ``gamma`` when
        the epoch is a non-zero multiple of ``step_size``.

        >>> import autodiff
        >>> w = autodiff.tensor([1.0], requires_grad=True)
        >>> opt = autodiff.optim.SGD([w], lr=0.5)
        >>> sched = autodiff.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
        >>> opt.step(); sched.step()
        >>> sched.get_last_lr()
        [0.25]
        """
        self._warn_unless_in_step()
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return _group_values(self.optimizer, "lr")
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[Any]:
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Anneal each group's learning rate from its initial value down to ``eta_min`` along half
    a cosine over ``T_max`` epochs, then back up, and so on:

        lr(epoch) = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2

    As in PyTorch, each step computes the new rate from the current one (so changes made to
    ``lr`` from outside carry on), which equals the closed form above when nothing else
    touches the rates. ``step(epoch)`` uses the closed form.

    >>> import autodiff
    >>> w = autodiff.tensor([1.0], requires_grad=True)
    >>> opt = autodiff.optim.SGD([w], lr=1.0)
    >>> sched = autodiff.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4, eta_min=0.0)
    >>> lrs = []
    >>> for _ in range(8):
    ...     opt.step()
    ...     sched.step()
    ...     lrs.append(round(sched.get_last_lr()[0], 6))
    >>> lrs
    [0.853553, 0.5, 0.146447, 0.0, 0.146447, 0.5, 0.853553, 1.0]
    """

    def __init__(
        self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1
    ) -> None:
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[Any]:
        """The rates for the current epoch, from the groups' current ``lr`` by PyTorch's
        recursion ``lr' = eta_min + (lr - eta_min) * (1 + cos(pi * e / T)) / (1 + cos(pi * (e
        - 1) / T))``; where the denominator vanishes (the bottom of a cycle) the step back up is
        added instead.

        >>> import autodiff
        >>> w = autodiff.tensor([1.0], requires_grad=True)
        >>> opt = autodiff.optim.SGD([w], lr=1.0)
        >>> sched = autodiff.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=2)
        >>> opt.step(); sched.step()
        >>> sched.get_last_lr()  # (1 + cos(pi / 2)) / 2
        [0.5]
        """
        self._warn_unless_in_step()
        eta_min, t_max, epoch = self.eta_min, self.T_max, self.last_epoch
        groups = self.optimizer.param_groups
        if self._is_initial:
            return _group_values(self.optimizer, "lr")
        if self._step_count == 1 and epoch > 0:
            # Resumed at a later epoch: there is no previous rate to scale, so use the closed form.
            return [
                eta_min + (base - eta_min) * (1 + math.cos(epoch * math.pi / t_max)) / 2
                for base in self.base_lrs
            ]
        if (epoch - 1 - t_max) % (2 * t_max) == 0:
            # Leaving the minimum: the ratio below would be 0 / 0.
            return [
                group["lr"] + (base - eta_min) * (1 - math.cos(math.pi / t_max)) / 2
                for base, group in zip(self.base_lrs, groups)
            ]
        return [
            (1 + math.cos(math.pi * epoch / t_max))
            / (1 + math.cos(math.pi * (epoch - 1) / t_max))
            * (group["lr"] - eta_min)
            + eta_min
            for group in groups
        ]

    def _get_closed_form_lr(self) -> list[Any]:
        return [
            self.eta_min
            + (base - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
            for base in self.base_lrs
        ]
