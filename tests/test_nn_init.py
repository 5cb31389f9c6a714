"""``autodiff.nn.init``: gains, fans, and the statistics of every fill.

The fills are checked over large tensors with a fixed seed: bounds exactly, mean and standard
deviation within a few standard errors of the distribution's (with n = 200,000 samples the
standard error of a mean is std / 447, and of a standard deviation about std / 632).
"""

from __future__ import annotations

import math
import re
import warnings
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autodiff
import autodiff.nn as nn
from autodiff.nn import init

N = 200_000
# Five standard errors of a mean and of a standard deviation, relative to the std.
MEAN_TOL = 5 / math.sqrt(N)
STD_TOL = 5 / math.sqrt(2 * N)


def torch_or_skip() -> Any:
    return pytest.importorskip("torch")


def sample(fill: Callable[[Any], Any], shape: tuple[int, ...] = (400, 500)) -> np.ndarray:
    autodiff.manual_seed(1234)
    tensor = autodiff.empty(*shape, dtype=autodiff.float64)
    assert fill(tensor) is tensor
    return tensor.numpy().ravel()


def assert_uniform(values: np.ndarray, low: float, high: float) -> None:
    assert values.min() >= low and values.max() < high
    # U(a, b): mean (a + b) / 2, standard deviation (b - a) / sqrt(12); both ends reached.
    std = (high - low) / math.sqrt(12)
    assert abs(values.mean() - (low + high) / 2) < MEAN_TOL * std
    assert abs(values.std() - std) < STD_TOL * std
    assert values.min() < low + 1e-3 * (high - low) and values.max() > high - 1e-3 * (high - low)


def assert_normal(values: np.ndarray, mean: float, std: float) -> None:
    assert abs(values.mean() - mean) < MEAN_TOL * std
    assert abs(values.std() - std) < STD_TOL * std
    # About 68.3% of N(mean, std^2) lies within one std of the mean.
    assert abs(np.mean(np.abs(values - mean) < std) - 0.6827) < 0.005


# --- gains and fans ----------------------------------------------------------------------------


GAINS = [
    ("linear", None, 1.0),
    ("conv1d", None, 1.0),
    ("conv2d", None, 1.0),
    ("conv3d", None, 1.0),
    ("conv_transpose1d", None, 1.0),
    ("conv_transpose2d", None, 1.0),
    ("conv_transpose3d", None, 1.0),
    ("sigmoid", None, 1.0),
    ("tanh", None, 5 / 3),
    ("relu", None, math.sqrt(2)),
    ("leaky_relu", None, math.sqrt(2 / (1 + 0.01**2))),
    ("leaky_relu", 0, math.sqrt(2)),
    ("leaky_relu", 0.2, math.sqrt(2 / 1.04)),
    ("leaky_relu", math.sqrt(5), math.sqrt(1 / 3)),
    ("selu", None, 0.75),
]


@pytest.mark.parametrize(
    ("nonlinearity", "param", "expected"),
    GAINS,
)
def test_calculate_gain(nonlinearity, param, expected):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize(
    ("nonlinearity", "param", "expected"),
    GAINS,
)
def test_calculate_gain_match_torch(nonlinearity, param, expected):
    torch = torch_or_skip()
    assert torch.nn.init.calculate_gain(nonlinearity, param) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("leaky_relu", True), "negative_slope True not a valid number"),
        (("leaky_relu", "0.1"), "negative_slope 0.1 not a valid number"),
        (("swish",), "Unsupported nonlinearity swish"),
    ],
)
def test_calculate_gain_errors(args, expected):
    with pytest.raises(ValueError, match=re.escape(expected)):
        init.calculate_gain(*args)


@given(shape=hnp.array_shapes(min_dims=2, max_dims=5, min_side=1, max_side=4))
def test_fans_are_in_and_out_times_the_receptive_field(shape):
    receptive_field = math.prod(shape[2:])
    fans = init._calculate_fan_in_and_fan_out(autodiff.empty(*shape))
    assert fans == (shape[1] * receptive_field, shape[0] * receptive_field)


@pytest.mark.parametrize("shape", [(), (5,)])
def test_fans_need_two_dimensions(shape):
    message = "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"
    for fn in (
        init._calculate_fan_in_and_fan_out,
        init.xavier_uniform_,
        init.xavier_normal_,
        init.kaiming_uniform_,
        init.kaiming_normal_,
    ):
        with pytest.raises(ValueError, match=re.escape(message)):
            fn(autodiff.empty(*shape))


@pytest.mark.parametrize("fn", [init.kaiming_uniform_, init.kaiming_normal_])
def test_kaiming_mode_errors_and_case(fn):
    with pytest.raises(
        ValueError,
        match=re.escape("Mode fan_avg not supported, please use one of ['fan_in', 'fan_out']"),
    ):
        fn(autodiff.empty(3, 4), mode="fan_avg")
    with pytest.raises(ValueError, match=re.escape("Unsupported nonlinearity swish")):
        fn(autodiff.empty(3, 4), nonlinearity="swish")
    fn(autodiff.empty(3, 4), mode="FAN_OUT")  # the mode is case-insensitive


# --- the fills ---------------------------------------------------------------------------------


def test_uniform_fill():
    assert_uniform(sample(lambda t: init.uniform_(t, -2.0, 3.0)), -2.0, 3.0)
    assert_uniform(sample(init.uniform_), 0.0, 1.0)


def test_normal_fill():
    assert_normal(sample(lambda t: init.normal_(t, mean=1.5, std=0.25)), 1.5, 0.25)
    assert_normal(sample(init.normal_), 0.0, 1.0)


def test_constant_zeros_and_ones():
    t = autodiff.empty(3, 2)
    assert init.constant_(t, 0.3) is t and np.all(t.numpy() == np.float32(0.3))
    assert init.zeros_(t) is t and t.tolist() == [[0.0, 0.0]] * 3
    assert init.ones_(t) is t and t.tolist() == [[1.0, 1.0]] * 3


@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_xavier_uniform(gain):
    # fans of (400, 500): fan_in 500, fan_out 400; bound = gain * sqrt(6 / (fan_in + fan_out))
    bound = gain * math.sqrt(6 / 900)
    assert_uniform(sample(lambda t: init.xavier_uniform_(t, gain=gain)), -bound, bound)


@pytest.mark.parametrize("gain", [1.0, 0.5])
def test_xavier_normal(gain):
    assert_normal(sample(lambda t: init.xavier_normal_(t, gain)), 0.0, gain * math.sqrt(2 / 900))


@pytest.mark.parametrize(
    ("a", "mode", "nonlinearity", "fan"),
    [
        (0, "fan_in", "leaky_relu", 500),
        (math.sqrt(5), "fan_in", "leaky_relu", 500),
        (0, "fan_out", "relu", 400),
        (0.3, "fan_out", "tanh", 400),
    ],
)
def test_kaiming_fills(a, mode, nonlinearity, fan):
    std = init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    bound = math.sqrt(3) * std
    kwargs = {"a": a, "mode": mode, "nonlinearity": nonlinearity}
    assert_uniform(sample(lambda t: init.kaiming_uniform_(t, **kwargs)), -bound, bound)
    assert_normal(sample(lambda t: init.kaiming_normal_(t, **kwargs)), 0.0, std)


def test_kaiming_default_is_leaky_relu_with_slope_zero_over_fan_in():
    values = sample(init.kaiming_uniform_, (40, 30, 5))
    bound = math.sqrt(2) * math.sqrt(3 / 150)  # gain sqrt(2 / (1 + 0^2)), fan_in 30 * 5
    assert values.min() >= -bound and values.max() < bound and values.max() > 0.99 * bound


@pytest.mark.parametrize("fn", [init.kaiming_uniform_, init.kaiming_normal_])
def test_zero_element_tensors_are_left_alone_with_a_warning(fn):
    t = autodiff.empty(0, 3)
    with pytest.warns(UserWarning, match=re.escape("Initializing zero-element tensors is a no-op")):
        assert fn(t) is t


def test_xavier_on_zero_elements_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert init.xavier_uniform_(autodiff.empty(0, 3)).shape == (0, 3)


ALL_FILLS: list[Callable[[Any], Any]] = [
    init.uniform_,
    init.normal_,
    lambda t: init.constant_(t, 2.0),
    init.zeros_,
    init.ones_,
    init.xavier_uniform_,
    init.xavier_normal_,
    init.kaiming_uniform_,
    init.kaiming_normal_,
]


@pytest.mark.parametrize("fill", ALL_FILLS)
def test_fills_work_in_place_on_parameters_without_recording(fill):
    p = nn.Parameter(autodiff.zeros(4, 3))
    assert fill(p) is p
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    # The parameter is still usable: its gradient accumulates as usual.
    (p * 2.0).sum().backward()
    assert p.grad.tolist() == [[2.0] * 3] * 4


@pytest.mark.parametrize(
    "fill", [init.uniform_, init.normal_, init.xavier_uniform_, init.kaiming_normal_]
)
def test_same_seed_same_values(fill):
    np.testing.assert_array_equal(sample(fill, (20, 10)), sample(fill, (20, 10)))
    autodiff.manual_seed(1)
    a = fill(autodiff.empty(20, 10))
    b = fill(autodiff.empty(20, 10))
    assert not bool((a == b).all())


@given(low=st.floats(-5, 5), width=st.floats(0.01, 5))
def test_uniform_bounds_for_any_interval(low, width):
    t = init.uniform_(autodiff.empty(1000, dtype=autodiff.float64), low, low + width)
    values = t.numpy()
    assert values.min() >= low and values.max() <= low + width


def test_float32_fills_keep_their_dtype():
    t = init.kaiming_normal_(autodiff.empty(10, 10))
    assert t.dtype == autodiff.float32
