"""``autodiff.optim.Optimizer`` bookkeeping: param groups, ``zero_grad``, closures, ``repr``,
``state_dict``/``load_state_dict`` and every argument check, with PyTorch's exact exception types
and messages (each one also run through torch where it is installed)."""

from __future__ import annotations

import re
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autodiff as torch
import autodiff.optim  # noqa: F401 - loads torch.optim even where the package does not yet


def leaf(lib: Any, *values: float) -> Any:
    return lib.tensor(list(values), dtype=lib.float64, requires_grad=True)


def quadratic_step(opt: Any, params: list) -> None:
    """One step on sum(p^3 / 3 + p^2), whose gradient p^2 + 2p differs from step to step."""
    opt.zero_grad()
    sum((p * p * p / 3 + p * p).sum() for p in params).backward()
    opt.step()


# --- argument checks, as (build, exception, message): build(lib) must raise ----------------------

SETS = (
    "optimizer parameters need to be organized in ordered collections, but the ordering of "
    "tensors in sets will change between runs. Please use a list instead."
)


def named_then_unnamed(lib: Any) -> None:
    opt = lib.optim.SGD([("w", leaf(lib, 1.0))])
    opt.add_param_group({"params": [leaf(lib, 2.0)]})


def add_group(group: Callable[[Any, Any], Any]) -> Callable[[Any], None]:
    def build(lib: Any) -> None:
        p = leaf(lib, 1.0)
        opt = lib.optim.SGD([p])
        opt.add_param_group(group(lib, p))

    return build


def error(name: str, build: Callable[[Any], Any], exc: type, message: str) -> Any:
    return pytest.param(build, exc, message, id=name)


def adam(lib: Any, **kwargs: Any) -> Any:
    return lib.optim.Adam([leaf(lib, 1.0)], **kwargs)


def sgd(lib: Any, **kwargs: Any) -> Any:
    return lib.optim.SGD([leaf(lib, 1.0)], **kwargs)


NESTEROV = "Nesterov momentum requires a momentum and zero dampening"
NOT_ITERABLE = (
    "params argument given to the optimizer should be an iterable of Tensors or dicts, but got "
)
ERRORS = [
    error("sgd-lr", lambda m: sgd(m, lr=-1.0), ValueError, "Invalid learning rate: -1.0"),
    error(
        "sgd-momentum", lambda m: sgd(m, momentum=-0.5), ValueError, "Invalid momentum value: -0.5"
    ),
    error(
        "sgd-wd",
        lambda m: sgd(m, weight_decay=-0.1),
        ValueError,
        "Invalid weight_decay value: -0.1",
    ),
    error("nesterov-without-momentum", lambda m: sgd(m, nesterov=True), ValueError, NESTEROV),
    error(
        "nesterov-dampening",
        lambda m: sgd(m, momentum=0.9, dampening=0.1, nesterov=True),
        ValueError,
        NESTEROV,
    ),
    error(
        "tensor-lr",
        lambda m: sgd(m, lr=m.tensor([0.1, 0.2])),
        ValueError,
        "Tensor lr must be 1-element",
    ),
    error("adam-lr", lambda m: adam(m, lr=-0.1), ValueError, "Invalid learning rate: -0.1"),
    error("adam-eps", lambda m: adam(m, eps=-1e-8), ValueError, "Invalid epsilon value: -1e-08"),
    error(
        "adam-beta0",
        lambda m: adam(m, betas=(1.0, 0.999)),
        ValueError,
        "Invalid beta parameter at index 0: 1.0",
    ),
    error(
        "adam-beta1",
        lambda m: adam(m, betas=(0.9, -0.1)),
        ValueError,
        "Invalid beta parameter at index 1: -0.1",
    ),
    error(
        "adam-int-beta",
        lambda m: adam(m, betas=(0, 0.99)),
        ValueError,
        "betas must be either both floats or both Tensors",
    ),
    error(
        "adam-wd",
        lambda m: adam(m, weight_decay=-1.0),
        ValueError,
        "Invalid weight_decay value: -1.0",
    ),
    error(
        "adamw-lr",
        lambda m: m.optim.AdamW([leaf(m, 1.0)], lr=-2.0),
        ValueError,
        "Invalid learning rate: -2.0",
    ),
    error(
        "adamw-beta",
        lambda m: m.optim.AdamW([leaf(m, 1.0)], betas=(0.9, 1.5)),
        ValueError,
        "Invalid beta parameter at index 1: 1.5",
    ),
    error("empty", lambda m: m.optim.SGD([]), ValueError, "optimizer got an empty parameter list"),
    error(
        "empty-iterator",
        lambda m: m.optim.Adam(iter([])),
        ValueError,
        "optimizer got an empty parameter list",
    ),
    error(
        "a-tensor", lambda m: m.optim.SGD(m.ones(2)), TypeError, NOT_ITERABLE + "torch.FloatTensor"
    ),
    error(
        "a-double-tensor",
        lambda m: m.optim.Adam(leaf(m, 1.0)),
        TypeError,
        NOT_ITERABLE + "torch.DoubleTensor",
    ),
    error(
        "not-a-tensor",
        lambda m: m.optim.SGD([1.0]),
        TypeError,
        "optimizer can only optimize Tensors, but one of the params is float",
    ),
    error(
        "none-param",
        lambda m: m.optim.SGD([{"params": [None]}]),
        TypeError,
        "optimizer can only optimize Tensors, but one of the params is NoneType",
    ),
    error(
        "non-leaf",
        lambda m: m.optim.SGD([leaf(m, 1.0) * 2]),
        ValueError,
        "can't optimize a non-leaf Tensor",
    ),
    error(
        "names-missing",
        lambda m: m.optim.SGD([("w", leaf(m, 1.0)), leaf(m, 2.0)]),
        ValueError,
        "all optimizer params should be with/without names. Some param names are missing",
    ),
    error(
        "names-mixed-groups",
        named_then_unnamed,
        ValueError,
        "all optimizer param groups should be with/without names. cannot add param group "
        "without names to the optimizer",
    ),
    error(
        "group-not-dict",
        add_group(lambda m, p: [p]),
        TypeError,
        "param_group must be a dict, but got <class 'list'>",
    ),
    error("group-set", add_group(lambda m, p: {"params": {leaf(m, 2.0)}}), TypeError, SETS),
    error(
        "group-overlap",
        add_group(lambda m, p: {"params": [p]}),
        ValueError,
        "some parameters appear in more than one parameter group",
    ),
    error(
        "base-step", lambda m: m.optim.Optimizer([leaf(m, 1.0)], {}).step(), NotImplementedError, ""
    ),
]


@pytest.mark.parametrize(("build", "exc", "message"), ERRORS)
def test_argument_errors(build, exc, message):
    with pytest.raises(exc, match=f"^{re.escape(message)}$"):
        build(torch)


@pytest.mark.parametrize(("build", "exc", "message"), ERRORS)
def test_argument_errors_match_torch(build, exc, message):
    real = pytest.importorskip("torch")
    with pytest.raises(exc, match=f"^{re.escape(message)}$"):
        build(real)


def test_required_hyperparameter():
    from autodiff.optim.optimizer import required

    assert repr(required) == "<required parameter>"
    p = leaf(torch, 1.0)
    message = "parameter group didn't specify a value of required optimization parameter lr"
    with pytest.raises(ValueError, match=re.escape(message)):
        torch.optim.Optimizer([p], {"lr": required, "momentum": 0.0})
    opt = torch.optim.Optimizer([{"params": [p], "lr": 0.5}], {"lr": required, "momentum": 0.0})
    assert opt.param_groups[0]["lr"] == 0.5 and opt.param_groups[0]["momentum"] == 0.0


@pytest.mark.parametrize("flag", ["foreach", "fused", "differentiable"])
@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW"])
def test_accelerated_variants_are_refused(name, flag):
    message = f"autodiff.optim.{name} does not support {flag}=True"
    with pytest.raises(RuntimeError, match=re.escape(message)):
        getattr(torch.optim, name)([leaf(torch, 1.0)], **{flag: True})
    # Their defaults, and an explicit False, are accepted.
    opt = getattr(torch.optim, name)([leaf(torch, 1.0)], **{flag: False})
    assert opt.param_groups[0][flag] is False


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_capturable_is_refused(name):
    with pytest.raises(RuntimeError, match=re.escape(f"{name} does not support capturable=True")):
        getattr(torch.optim, name)([leaf(torch, 1.0)], capturable=True)


def test_a_group_asking_for_foreach_is_refused_at_step():
    p = leaf(torch, 1.0)
    opt = torch.optim.SGD([{"params": [p], "foreach": True}], lr=0.1)
    p.grad = torch.ones(1, dtype=torch.float64)
    with pytest.raises(RuntimeError, match=re.escape("SGD does not support foreach=True")):
        opt.step()
    assert p.item() == 1.0


def test_duplicate_parameters_warn():
    p = leaf(torch, 1.0)
    message = (
        "optimizer contains a parameter group with duplicate parameters; in future, this will "
        "cause an error; see github.com/pytorch/pytorch/issues/40967 for more information"
    )
    with pytest.warns(UserWarning, match=re.escape(message)):
        opt = torch.optim.SGD([p, p])
    assert opt.state_dict()["param_groups"][0]["params"] == [0, 0]


def test_a_set_of_parameters_warns():
    p = leaf(torch, 1.0)
    with pytest.warns(FutureWarning, match=re.escape("This will be an error in a future release.")):
        opt = torch.optim.SGD({p})
    assert opt.param_groups[0]["params"] == [p]


# --- param groups ------------------------------------------------------------------------------

SGD_DEFAULTS = {
    "lr": 0.001,
    "momentum": 0,
    "dampening": 0,
    "weight_decay": 0,
    "nesterov": False,
    "maximize": False,
    "foreach": None,
    "differentiable": False,
    "fused": None,
}
ADAM_DEFAULTS = {
    "lr": 0.001,
    "betas": (0.9, 0.999),
    "eps": 1e-08,
    "weight_decay": 0,
    "amsgrad": False,
    "maximize": False,
    "foreach": None,
    "capturable": False,
    "differentiable": False,
    "fused": None,
    "decoupled_weight_decay": False,
}


@pytest.mark.parametrize(
    ("name", "defaults"),
    [
        ("SGD", SGD_DEFAULTS),
        ("Adam", ADAM_DEFAULTS),
        ("AdamW", {**ADAM_DEFAULTS, "weight_decay": 0.01, "decoupled_weight_decay": True}),
    ],
)
def test_groups_hold_every_default(name, defaults):
    a, b = leaf(torch, 1.0), leaf(torch, 2.0)
    opt = getattr(torch.optim, name)([a, b])
    assert opt.defaults == defaults
    assert len(opt.param_groups) == 1
    group = opt.param_groups[0]
    assert (
        group["params"] == [a, b] and {k: v for k, v in group.items() if k != "params"} == defaults
    )


def test_params_can_be_any_iterable_and_groups_override_defaults():
    a, b, c = leaf(torch, 1.0), leaf(torch, 2.0), leaf(torch, 3.0)
    assert torch.optim.SGD(p for p in (a, b)).param_groups[0]["params"] == [a, b]
    opt = torch.optim.SGD([{"params": a}, {"params": (b, c), "lr": 0.5}], lr=0.1, momentum=0.9)
    assert [g["params"] for g in opt.param_groups] == [[a], [b, c]]
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert [g["momentum"] for g in opt.param_groups] == [0.9, 0.9]


def test_add_param_group_fills_defaults_and_takes_part_in_steps():
    a, b = leaf(torch, 1.0), leaf(torch, 1.0)
    opt = torch.optim.SGD([a], lr=0.1)
    group = {"params": b, "lr": 0.25}
    opt.add_param_group(group)
    assert opt.param_groups[1] is group and group["params"] == [b]
    assert group["momentum"] == 0 and group["nesterov"] is False
    a.grad = torch.ones(1, dtype=torch.float64)
    b.grad = torch.ones(1, dtype=torch.float64)
    opt.step()
    assert (a.item(), b.item()) == (0.9, 0.75)


def test_named_parameters():
    w, b = leaf(torch, 1.0), leaf(torch, 2.0)
    opt = torch.optim.Adam([("weight", w), ("bias", b)], lr=0.1)
    assert opt.param_groups[0]["params"] == [w, b]
    assert opt.param_groups[0]["param_names"] == ["weight", "bias"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["weight", "bias"]
    opt.add_param_group({"params": [("extra", leaf(torch, 3.0))]})
    assert opt.param_groups[1]["param_names"] == ["extra"]


# --- zero_grad, step, closure --------------------------------------------------------------------


def test_zero_grad_sets_none_by_default():
    a, b = leaf(torch, 1.0, 2.0), leaf(torch, 3.0)
    opt = torch.optim.SGD([a, b])
    (a * a).sum().backward()
    opt.zero_grad()
    assert a.grad is None and b.grad is None


def test_zero_grad_in_place_keeps_the_grad_tensor():
    a = leaf(torch, 1.0, 2.0)
    opt = torch.optim.SGD([a])
    (a * a).sum().backward()
    grad = a.grad
    opt.zero_grad(set_to_none=False)
    assert a.grad is grad and a.grad.tolist() == [0.0, 0.0]
    (a * a).sum().backward()  # accumulation starts again from zero: d(a^2)/da = 2a
    assert a.grad.tolist() == [2.0, 4.0]


def test_zero_grad_in_place_detaches_a_grad_with_history():
    # A gradient that is itself part of a graph (as backward(create_graph=True) leaves it) is
    # cut from that graph before it is zeroed.
    a = leaf(torch, 3.0)
    x = leaf(torch, 1.0)
    a.grad = x * 2
    opt = torch.optim.SGD([a])
    assert a.grad.grad_fn is not None
    opt.zero_grad(set_to_none=False)
    assert a.grad.grad_fn is None and not a.grad.requires_grad and a.grad.tolist() == [0.0]
    assert x.tolist() == [1.0]


def test_closure_runs_with_grad_and_its_loss_is_returned():
    p = leaf(torch, 2.0)
    opt = torch.optim.SGD([p], lr=0.1)
    seen = []

    def closure():
        seen.append(torch.is_grad_enabled())
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with torch.no_grad():
        loss = opt.step(closure)
    assert seen == [True]
    assert loss.item() == 4.0  # evaluated before the update
    assert p.item() == pytest.approx(2.0 - 0.1 * 4.0, abs=1e-15)
    assert opt.step() is None


def test_a_tensor_lr():
    lr = torch.tensor(0.25)
    p = leaf(torch, 2.0)
    opt = torch.optim.SGD([p], lr=lr)
    assert opt.param_groups[0]["lr"] is lr
    p.grad = torch.ones(1, dtype=torch.float64)
    opt.step()
    lr.fill_(0.5)  # the group holds the tensor itself, so changing it changes the next step
    opt.step()
    assert p.item() == 2.0 - 0.25 - 0.5


def test_step_restores_the_grad_mode():
    p = leaf(torch, 1.0)
    opt = torch.optim.Adam([p])
    p.grad = torch.ones(1, dtype=torch.float64)
    opt.step()
    assert torch.is_grad_enabled()
    with torch.no_grad():
        opt.step()
        assert not torch.is_grad_enabled()


def test_closure_errors_propagate():
    p = leaf(torch, 1.0)
    opt = torch.optim.SGD([p])

    def closure():
        raise ArithmeticError("bad loss")

    with pytest.raises(ArithmeticError, match="bad loss"):
        opt.step(closure)
    assert torch.is_grad_enabled() and p.item() == 1.0


# --- repr --------------------------------------------------------------------------------------

ADAM_REPR = """Adam (
Parameter Group 0
    amsgrad: False
    betas: (0.9, 0.999)
    capturable: False
    decoupled_weight_decay: False
    differentiable: False
    eps: 1e-08
    foreach: None
    fused: None
    lr: 0.001
    maximize: False
    weight_decay: 0

Parameter Group 1
    amsgrad: False
    betas: (0.9, 0.999)
    capturable: False
    decoupled_weight_decay: False
    differentiable: False
    eps: 1e-08
    foreach: None
    fused: None
    lr: 0.5
    maximize: False
    weight_decay: 0
)"""


def test_repr():
    opt = torch.optim.Adam(
        [{"params": [leaf(torch, 1.0)]}, {"params": [leaf(torch, 2.0)], "lr": 0.5}]
    )
    assert repr(opt) == ADAM_REPR


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
        ("Adam", {}),
        ("AdamW", {"amsgrad": True}),
    ],
)
def test_repr_matches_torch(name, kwargs):
    real = pytest.importorskip("torch")

    def text(lib):
        groups = [{"params": [leaf(lib, 1.0)]}, {"params": [leaf(lib, 2.0)], "weight_decay": 0.5}]
        opt = getattr(lib.optim, name)(groups, **kwargs)
        lr_scheduler = lib.optim.lr_scheduler.StepLR(opt, 3)  # adds initial_lr to the groups
        assert lr_scheduler.get_last_lr()
        return repr(opt)

    assert text(torch) == text(real)


# --- state_dict / load_state_dict ----------------------------------------------------------------


def test_state_dict_layout():
    a, b, c = leaf(torch, 1.0, 2.0), leaf(torch, 3.0), leaf(torch, 4.0)
    opt = torch.optim.Adam([{"params": [a, b]}, {"params": [c], "lr": 0.1}])
    a.grad = torch.ones(2, dtype=torch.float64)
    c.grad = torch.ones(1, dtype=torch.float64)
    opt.step()
    sd = opt.state_dict()
    assert sorted(sd) == ["param_groups", "state"]
    # b had no gradient, so it has no state; indices run across groups.
    assert sorted(sd["state"]) == [0, 2]
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert sd["param_groups"][1]["lr"] == 0.1
    # The live state tensors, not copies; the groups are new dicts.
    assert sd["state"][0] is opt.state[a] and sd["state"][2]["exp_avg"] is opt.state[c]["exp_avg"]
    assert sd["param_groups"][0] is not opt.param_groups[0]
    assert opt.param_groups[0]["params"] == [a, b]


def test_state_dict_layout_matches_torch():
    real = pytest.importorskip("torch")

    def layout(lib):
        a, b = leaf(lib, 1.0, 2.0), leaf(lib, 3.0)
        opt = lib.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.9)
        quadratic_step(opt, [a, b])
        quadratic_step(opt, [a, b])
        sd = opt.state_dict()
        state = {k: {n: t.detach().numpy() for n, t in v.items()} for k, v in sd["state"].items()}
        return state, sd["param_groups"]

    (state, groups), (real_state, real_groups) = layout(torch), layout(real)
    assert groups == real_groups
    assert sorted(state) == sorted(real_state) == [0, 1]
    for index, entry in real_state.items():
        assert sorted(state[index]) == sorted(entry) == ["momentum_buffer"]
        np.testing.assert_allclose(
            state[index]["momentum_buffer"], entry["momentum_buffer"], rtol=1e-12
        )


def run_steps(name: str, kwargs: dict, params: list, steps: int, opt: Any = None) -> Any:
    opt = opt or getattr(torch.optim, name)(params, **kwargs)
    for _ in range(steps):
        quadratic_step(opt, params)
    return opt


RESUME_CASES = [
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.05, "momentum": 0.5, "dampening": 0.3, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1, "maximize": True}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.1}),
]


@pytest.mark.parametrize(("name", "kwargs"), RESUME_CASES)
def test_resuming_from_a_state_dict_continues_the_same_trajectory(name, kwargs):
    # Uninterrupted: 20 steps. Interrupted: 10 steps, state_dict into a fresh optimizer built
    # with other hyperparameters, then 10 more. Same operations in the same order: equal bits.
    a, b = leaf(torch, 0.5, -1.0), leaf(torch, 2.0)
    run_steps(name, kwargs, [a, b], 20)

    c, d = leaf(torch, 0.5, -1.0), leaf(torch, 2.0)
    first = run_steps(name, kwargs, [c, d], 10)
    e, f = torch.tensor(c.tolist(), dtype=torch.float64, requires_grad=True), leaf(torch, d.item())
    second = getattr(torch.optim, name)([e, f], lr=123.0)
    second.load_state_dict(first.state_dict())
    assert second.param_groups[0]["lr"] == kwargs["lr"]
    run_steps(name, kwargs, [e, f], 10, opt=second)

    assert e.tolist() == a.tolist() and f.tolist() == b.tolist()


def test_loaded_state_is_a_copy():
    a = leaf(torch, 1.0, 2.0)
    opt = run_steps("Adam", {"lr": 0.1}, [a], 3)
    sd = opt.state_dict()
    fresh = torch.optim.Adam([a])
    fresh.load_state_dict(sd)
    for key in ("step", "exp_avg", "exp_avg_sq"):
        assert fresh.state[a][key] is not sd["state"][0][key]
        assert fresh.state[a][key].tolist() == sd["state"][0][key].tolist()
    saved_m = sd["state"][0]["exp_avg"].tolist()
    quadratic_step(fresh, [a])
    assert sd["state"][0]["exp_avg"].tolist() == saved_m  # stepping `fresh` left the dict alone
    sd["param_groups"][0]["lr"] = 5.0
    assert fresh.param_groups[0]["lr"] == 0.1 and fresh.param_groups[0] is not sd["param_groups"][0]
    assert fresh.param_groups[0]["params"] == [a]


def test_load_casts_state_to_the_parameter_dtype_but_keeps_step():
    a64 = leaf(torch, 1.0, 2.0)
    sd = run_steps("Adam", {}, [a64], 2).state_dict()
    a32 = torch.tensor([1.0, 2.0], requires_grad=True)
    opt = torch.optim.Adam([a32])
    opt.load_state_dict(sd)
    assert opt.state[a32]["exp_avg"].dtype == torch.float32
    assert opt.state[a32]["exp_avg_sq"].dtype == torch.float32
    assert opt.state[a32]["step"].dtype == torch.float32 and opt.state[a32]["step"].item() == 2.0
    np.testing.assert_allclose(
        opt.state[a32]["exp_avg"].numpy(), sd["state"][0]["exp_avg"].numpy(), rtol=1e-7
    )


def test_load_accepts_old_python_number_steps():
    a = leaf(torch, 1.0)
    sd = run_steps("Adam", {}, [a], 3).state_dict()
    sd["state"][0]["step"] = 3  # older checkpoints kept a plain number
    opt = torch.optim.Adam([a])
    opt.load_state_dict(sd)
    step = opt.state[a]["step"]
    assert isinstance(step, torch.Tensor) and step.dtype == torch.float32 and step.item() == 3.0


def test_adamw_stays_decoupled_after_loading():
    a = leaf(torch, 1.0)
    sd = torch.optim.Adam([a]).state_dict()
    opt = torch.optim.AdamW([a])
    opt.load_state_dict(sd)
    assert opt.param_groups[0]["decoupled_weight_decay"] is True
    assert opt.param_groups[0]["weight_decay"] == 0  # the loaded hyperparameter wins


def test_load_keeps_names_and_unknown_state_keys():
    a = leaf(torch, 1.0)
    opt = torch.optim.SGD([("w", a)], momentum=0.9)
    sd = run_steps("SGD", {"momentum": 0.9}, [leaf(torch, 1.0)], 1).state_dict()
    sd["state"]["note"] = {"epoch": 4}
    opt.load_state_dict(sd)
    assert opt.param_groups[0]["param_names"] == ["w"]
    assert opt.state["note"] == {"epoch": 4} and "momentum_buffer" in opt.state[a]


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        ([], "loaded state dict has a different number of parameter groups"),
        (
            [{"params": [0, 1]}, {"params": [2]}],
            "loaded state dict has a different number of parameter groups",
        ),
        (
            [{"params": [0, 1, 2]}],
            "loaded state dict contains a parameter group that doesn't match the size of "
            "optimizer's group",
        ),
    ],
)
def test_load_checks_the_groups(groups, message):
    a, b = leaf(torch, 1.0), leaf(torch, 2.0)
    opt = torch.optim.SGD([a, b], lr=0.1)
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        opt.load_state_dict({"state": {}, "param_groups": groups})
    assert opt.param_groups[0]["params"] == [a, b] and opt.param_groups[0]["lr"] == 0.1


@given(
    st.lists(st.integers(1, 3), min_size=1, max_size=3),
    st.integers(1, 4),
    st.sampled_from(["SGD", "Adam", "AdamW"]),
)
def test_state_dict_round_trip_preserves_everything(group_sizes, steps, name):
    kwargs = {"momentum": 0.9} if name == "SGD" else {"amsgrad": True}

    def build(values):
        params, groups, it = [], [], iter(values)
        for i, size in enumerate(group_sizes):
            group = [leaf(torch, next(it), next(it)) for _ in range(size)]
            params.extend(group)
            groups.append({"params": group, "lr": 0.01 * (i + 1)})
        return params, getattr(torch.optim, name)(groups, **kwargs)

    values = [0.1 * k - 0.7 for k in range(2 * sum(group_sizes))]
    params, opt = build(values)
    run_steps(name, kwargs, params, steps, opt=opt)
    sd = opt.state_dict()
    _, other = build(values)
    other.load_state_dict(sd)
    again = other.state_dict()
    assert again["param_groups"] == sd["param_groups"]
    assert sorted(again["state"]) == sorted(sd["state"]) == list(range(len(params)))
    for index, state in sd["state"].items():
        assert {k: v.tolist() for k, v in again["state"][index].items()} == {
            k: v.tolist() for k, v in state.items()
        }
