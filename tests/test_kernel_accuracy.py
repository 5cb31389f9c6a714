"""Accuracy of the vectorised float32 kernels against float64 references, in ulps.

The fast paths (``exp``, ``tanh``) replace libm's scalar functions; these tests bound what
that costs over the whole input range, at the edges, and near zero where ``tanh`` switches
from its series to the exponential form.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import autodiff as torch

TINY = np.float32(np.finfo(np.float32).tiny)


def ulps(ours: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """Distance from the exact value in units of the float32 spacing there."""
    spacing = np.spacing(np.maximum(np.abs(exact).astype(np.float32), TINY))
    return np.abs(ours.astype(np.float64) - exact) / spacing


def float32_tanh(values: np.ndarray) -> np.ndarray:
    return torch.tensor(values.astype(np.float32)).tanh().numpy()


def test_tanh_float32_is_within_three_ulps_across_the_range():
    rng = np.random.default_rng(7)
    x = np.concatenate(
        [
            rng.standard_normal(50_000) * 4,
            np.linspace(-1, 1, 20_001),
            # both sides of the switch between the series and the exponential form
            np.nextafter(np.float32(0.5), np.float32([0, 1])),
            np.float32([0.5, -0.5, 1e-30, -1e-30, 9.0, -9.0, 88.0, -88.0]),
        ]
    ).astype(np.float32)
    exact = np.tanh(x.astype(np.float64))
    assert ulps(float32_tanh(x), exact).max() <= 3


def test_tanh_special_values():
    x = np.float32([0.0, -0.0, np.inf, -np.inf, np.nan, 1e4, -1e4])
    y = float32_tanh(x)
    assert np.array_equal(y[:4], [0.0, 0.0, 1.0, -1.0])
    assert np.signbit(y[1]) and not np.signbit(y[0])
    assert np.isnan(y[4])
    assert np.array_equal(y[5:], [1.0, -1.0])


def test_tanh_float64_keeps_libm_accuracy():
    x = np.random.default_rng(3).standard_normal(10_000) * 3
    ours = torch.tensor(x).tanh().numpy()
    assert np.max(np.abs(ours - np.tanh(x)) / np.maximum(np.abs(np.tanh(x)), 1e-300)) < 5e-16


@given(st.floats(-20, 20, allow_nan=False, width=32))
def test_tanh_float32_property(value):
    x = np.float32([value])
    assert ulps(float32_tanh(x), np.tanh(x.astype(np.float64))).max() <= 3


@given(st.floats(-87, 88, allow_nan=False, width=32))
def test_exp_float32_property(value):
    x = np.float32([value])
    exact = np.exp(x.astype(np.float64))
    assert ulps(torch.tensor(x).exp().numpy(), exact).max() <= 3
