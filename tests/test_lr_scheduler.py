"""``autodiff.optim.lr_scheduler``: ``StepLR`` and ``CosineAnnealingLR`` step by step against their
closed forms (and against torch's schedulers where torch is installed), the ``LRScheduler`` base
class's bookkeeping, state dicts, warnings and errors."""

from __future__ import annotations

import gc
import math
import re
import weakref
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import autodiff as torch
import autodiff.optim  # noqa: F401 - loads torch.optim even where the package does not yet

lr_scheduler = torch.optim.lr_scheduler

ORDER = (
    "Detected call of `lr_scheduler.step()` before `optimizer.step()`. In PyTorch 1.1.0 and "
    "later, you should call them in the opposite order: `optimizer.step()` before "
    "`lr_scheduler.step()`.  Failure to do this will result in PyTorch skipping the first value "
    "of the learning rate schedule. See more details at "
    "https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate"
)
OVERRIDDEN = (
    "Seems like `optimizer.step()` has been overridden after learning rate scheduler "
    "initialization. Please, make sure to call `optimizer.step()` before `lr_scheduler.step()`. "
    "See more details at https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate"
)
GET_LR = "To get the last learning rate computed by the scheduler, please use `get_last_lr()`."
EPOCH = (
    "The epoch parameter in `scheduler.step()` was not necessary and is being deprecated where "
    "possible. Please use `scheduler.step()` to step the scheduler. During the deprecation, if "
    "epoch is different from None, the closed form is used instead of the new chainable form, "
    "where available. Please open an issue if you are unable to replicate your use case: "
    "https://github.com/pytorch/pytorch/issues/new/choose."
)
RESUME = (
    "param 'initial_lr' is not specified in param_groups[0] when resuming scheduler with "
    "last_epoch >= 0.\nThis typically happens when:\n1. You're trying to resume training from a "
    "checkpoint but haven't properly loaded the optimizer state\n2. You're using last_epoch >= 0 "
    "for a fresh training run (not recommended)"
)


def optimizer(lib: Any = torch, lrs: tuple[float, ...] = (0.1,)) -> Any:
    groups = [{"params": [lib.tensor([1.0], requires_grad=True)], "lr": lr} for lr in lrs]
    return lib.optim.SGD(groups, lr=lrs[0])


def schedule(sched: Any, epochs: int) -> list[list[float]]:
    """The groups' rates after each of ``epochs`` steps (optimizer first, as PyTorch asks)."""
    out = []
    for _ in range(epochs):
        sched.optimizer.step()
        sched.step()
        out.append([g["lr"] for g in sched.optimizer.param_groups])
        assert sched.get_last_lr() == out[-1]
    return out


def step_closed_form(base: float, gamma: float, step_size: int, epoch: int) -> float:
    return base * gamma ** (epoch // step_size)


def cosine_closed_form(base: float, eta_min: float, t_max: int, epoch: int) -> float:
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * epoch / t_max)) / 2


# --- StepLR ------------------------------------------------------------------------------------


def test_step_lr_follows_its_closed_form():
    opt = optimizer(lrs=(0.5, 0.02))
    sched = lr_scheduler.StepLR(opt, step_size=4, gamma=0.3)
    assert sched.last_epoch == 0 and sched.get_last_lr() == [0.5, 0.02]
    for epoch, lrs in enumerate(schedule(sched, 25), start=1):
        expected = [step_closed_form(base, 0.3, 4, epoch) for base in (0.5, 0.02)]
        assert lrs == pytest.approx(expected, rel=1e-13)
    assert sched.last_epoch == 25


@given(st.integers(1, 6), st.floats(0.05, 1.0), st.floats(1e-3, 1.0), st.integers(1, 30))
def test_step_lr_property(step_size, gamma, base, epochs):
    sched = lr_scheduler.StepLR(optimizer(lrs=(base,)), step_size=step_size, gamma=gamma)
    got = [lrs[0] for lrs in schedule(sched, epochs)]
    expected = [step_closed_form(base, gamma, step_size, e) for e in range(1, epochs + 1)]
    assert got == pytest.approx(expected, rel=1e-12)


def test_step_lr_keeps_changes_made_from_outside():
    # The rule is recursive, like PyTorch's: a rate set by hand is carried on and decayed.
    opt = optimizer()
    sched = lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    schedule(sched, 1)
    opt.param_groups[0]["lr"] = 1.0
    assert [lrs[0] for lrs in schedule(sched, 3)] == [0.5, 0.5, 0.25]


# --- CosineAnnealingLR ---------------------------------------------------------------------------


def test_cosine_follows_its_closed_form_through_two_cycles():
    opt = optimizer(lrs=(0.1, 1.0))
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=10, eta_min=0.001)
    got = schedule(sched, 40)
    for epoch, lrs in enumerate(got, start=1):
        expected = [cosine_closed_form(base, 0.001, 10, epoch) for base in (0.1, 1.0)]
        assert lrs == pytest.approx(expected, rel=1e-12, abs=1e-15)
    # The landmarks: eta_min at T_max and 3 T_max, back to the initial rates at 2 T_max.
    for index, expected in ((9, [0.001, 0.001]), (19, [0.1, 1.0]), (29, [0.001, 0.001])):
        assert got[index] == pytest.approx(expected, rel=1e-12)


@given(
    st.integers(1, 25),
    st.floats(1e-3, 1.0),
    st.floats(0.0, 0.9),
    st.integers(1, 3),
)
def test_cosine_property(t_max, base, eta_fraction, cycles):
    eta_min = base * eta_fraction
    sched = lr_scheduler.CosineAnnealingLR(optimizer(lrs=(base,)), T_max=t_max, eta_min=eta_min)
    epochs = 2 * t_max * cycles
    for epoch, lrs in enumerate(schedule(sched, epochs), start=1):
        assert lrs[0] == pytest.approx(cosine_closed_form(base, eta_min, t_max, epoch), abs=1e-12)


def test_cosine_values_written_out():
    # T_max = 2, eta_min = 0: lr = (1 + cos(pi e / 2)) / 2 = 0.5, 0, 0.5, 1, 0.5, ...
    sched = lr_scheduler.CosineAnnealingLR(optimizer(lrs=(1.0,)), T_max=2)
    got = [lrs[0] for lrs in schedule(sched, 6)]
    assert got == pytest.approx([0.5, 0.0, 0.5, 1.0, 0.5, 0.0], abs=1e-15)


def test_schedule_drives_the_parameter_updates():
    # SGD on f(p) = p^2 / 2 multiplies p by (1 - lr_t) at each step, with the scheduled lr_t.
    p = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.5)
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=5, eta_min=0.1)
    expected = 2.0
    for epoch in range(12):
        opt.zero_grad()
        (0.5 * p * p).sum().backward()
        opt.step()
        expected *= 1 - cosine_closed_form(0.5, 0.1, 5, epoch)
        sched.step()
        assert p.item() == pytest.approx(expected, rel=1e-12)


# --- the base class ------------------------------------------------------------------------------


def test_initial_lr_and_base_lrs():
    opt = optimizer(lrs=(0.1, 0.2))
    sched = lr_scheduler.StepLR(opt, 3)
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.2]
    assert sched.base_lrs == [0.1, 0.2] and sched.last_epoch == 0
    # A second scheduler on the same optimizer starts from the recorded initial rates.
    schedule(sched, 3)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.01)
    other = lr_scheduler.CosineAnnealingLR(opt, T_max=4)
    assert other.base_lrs == [0.1, 0.2]


def test_resuming_needs_initial_lr():
    with pytest.raises(KeyError) as info:
        lr_scheduler.StepLR(optimizer(), 3, last_epoch=4)
    assert info.value.args == (RESUME,)


def test_resuming_with_last_epoch():
    opt = optimizer(lrs=(1.0,))
    opt.param_groups[0]["initial_lr"] = 1.0
    sched = lr_scheduler.StepLR(opt, step_size=2, gamma=0.5, last_epoch=4)
    assert sched.last_epoch == 5 and sched.base_lrs == [1.0]
    assert [lrs[0] for lrs in schedule(sched, 2)] == [0.5, 0.5]


def test_not_an_optimizer():
    with pytest.raises(TypeError, match="^object is not an Optimizer$"):
        lr_scheduler.StepLR(object(), 3)


def test_base_class_get_lr_is_abstract():
    with pytest.raises(NotImplementedError):
        lr_scheduler.LRScheduler(optimizer())
    assert issubclass(lr_scheduler._LRScheduler, lr_scheduler.LRScheduler)
    assert lr_scheduler._LRScheduler.__name__ == "_LRScheduler"


def test_a_subclass_of_the_old_name():
    class Constant(lr_scheduler._LRScheduler):
        def get_lr(self):
            return list(self.base_lrs)

    sched = Constant(optimizer(lrs=(0.3,)))
    assert schedule(sched, 2) == [[0.3], [0.3]]


def test_state_dict_round_trip_continues_the_schedule():
    whole = lr_scheduler.CosineAnnealingLR(optimizer(lrs=(0.1, 0.4)), T_max=6, eta_min=0.01)
    expected = schedule(whole, 15)

    first = lr_scheduler.CosineAnnealingLR(optimizer(lrs=(0.1, 0.4)), T_max=6, eta_min=0.01)
    head = schedule(first, 7)
    opt = optimizer(lrs=(0.1, 0.4))
    second = lr_scheduler.CosineAnnealingLR(opt, T_max=6, eta_min=0.01)
    opt.load_state_dict(first.optimizer.state_dict())
    second.load_state_dict(first.state_dict())
    assert second.last_epoch == 7
    assert head + schedule(second, 8) == expected


def test_state_dict_holds_everything_but_the_optimizer():
    sched = lr_scheduler.StepLR(optimizer(), step_size=3, gamma=0.5)
    schedule(sched, 2)
    assert sched.state_dict() == {
        "step_size": 3,
        "gamma": 0.5,
        "base_lrs": [0.1],
        "last_epoch": 2,
        "_step_count": 3,
        "_is_initial": False,
        "_get_lr_called_within_step": False,
        "_last_lr": [0.1],
    }


def test_tensor_lr_is_updated_in_place():
    lr = torch.tensor(0.5)
    opt = torch.optim.SGD([torch.tensor([1.0], requires_grad=True)], lr=lr)
    sched = lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    assert opt.param_groups[0]["initial_lr"] is not lr  # a copy, not the live rate
    schedule(sched, 2)
    assert opt.param_groups[0]["lr"] is lr and lr.item() == 0.125
    last = sched.get_last_lr()[0]
    assert last is not lr and last.item() == 0.125


def test_the_wrapped_step_does_not_keep_the_optimizer_alive():
    opt = optimizer()
    sched = lr_scheduler.StepLR(opt, 3)
    lr_scheduler.CosineAnnealingLR(opt, 3)  # a second scheduler does not wrap step again
    assert opt.step._wrapped_by_lr_sched and not hasattr(opt.step.__wrapped__, "__wrapped__")
    ref = weakref.ref(opt)
    del opt, sched
    gc.collect()
    assert ref() is None


# --- warnings ----------------------------------------------------------------------------------


def test_scheduler_step_before_optimizer_step_warns():
    sched = lr_scheduler.StepLR(optimizer(), 3)
    with pytest.warns(UserWarning, match=f"^{re.escape(ORDER)}$"):
        sched.step()
    assert sched.last_epoch == 1


def test_replacing_optimizer_step_warns():
    opt = optimizer()
    sched = lr_scheduler.StepLR(opt, 3)
    opt.step = lambda closure=None: None
    with pytest.warns(UserWarning, match=f"^{re.escape(OVERRIDDEN)}$"):
        sched.step()


def test_get_lr_outside_step_warns():
    sched = lr_scheduler.StepLR(optimizer(), 3)
    with pytest.warns(UserWarning, match=f"^{re.escape(GET_LR)}$"):
        assert sched.get_lr() == [0.1]


@pytest.mark.parametrize(
    ("make", "closed_form"),
    [
        (lambda opt: lr_scheduler.StepLR(opt, 3, gamma=0.5), lambda e: 0.1 * 0.5 ** (e // 3)),
        (
            lambda opt: lr_scheduler.CosineAnnealingLR(opt, 8),
            lambda e: cosine_closed_form(0.1, 0, 8, e),
        ),
    ],
)
def test_step_with_an_epoch_uses_the_closed_form(make, closed_form):
    opt = optimizer()
    sched = make(opt)
    opt.step()
    with pytest.warns(UserWarning, match=f"^{re.escape(EPOCH)}$"):
        sched.step(7)
    assert sched.last_epoch == 7
    assert sched.get_last_lr()[0] == pytest.approx(closed_form(7), rel=1e-14)


# --- against torch.optim.lr_scheduler ----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kwargs", "epochs"),
    [
        ("StepLR", {"step_size": 3}, 20),
        ("StepLR", {"step_size": 5, "gamma": 0.7}, 30),
        ("CosineAnnealingLR", {"T_max": 10}, 45),
        ("CosineAnnealingLR", {"T_max": 7, "eta_min": 0.003}, 50),
        ("CosineAnnealingLR", {"T_max": 1, "eta_min": 0.01}, 6),
    ],
)
def test_schedule_matches_torch_step_by_step(name, kwargs, epochs):
    real = pytest.importorskip("torch")

    def run(lib):
        sched = getattr(lib.optim.lr_scheduler, name)(optimizer(lib, (0.1, 0.05)), **kwargs)
        return schedule(sched, epochs), sched.state_dict()

    (got, state), (expected, real_state) = run(torch), run(real)
    for epoch, (g, e) in enumerate(zip(got, expected), start=1):
        assert g == pytest.approx(e, rel=1e-14, abs=1e-17), f"epoch {epoch}"
    assert list(state) == list(real_state)
    assert state["last_epoch"] == real_state["last_epoch"] == epochs


def test_resumed_cosine_matches_torch():
    real = pytest.importorskip("torch")

    def run(lib):
        opt = optimizer(lib, (0.2,))
        opt.param_groups[0]["initial_lr"] = 0.4
        sched = lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=6, last_epoch=3)
        return [lrs[0] for lrs in schedule(sched, 10)]

    assert run(torch) == pytest.approx(run(real), rel=1e-14, abs=1e-17)
