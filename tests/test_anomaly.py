"""Anomaly detection: PYTORCH_SEMANTICS.md section 2.10."""

from __future__ import annotations

import math
import warnings

import pytest

import autodiff
from autodiff import autograd

ENABLED = (
    "Anomaly Detection has been enabled. This mode will increase the runtime and should only "
    "be enabled for debugging."
)


def forward_sqrt(x):
    return x.sqrt()  # the line the report must point at


@pytest.fixture(autouse=True)
def anomaly_off():
    yield
    autograd.set_detect_anomaly(False)


def test_entering_detect_anomaly_warns_and_the_mode_is_scoped():
    assert not autodiff.is_anomaly_enabled()
    with pytest.warns(UserWarning, match=ENABLED):
        mode = autograd.detect_anomaly()
    with mode:
        assert autodiff.is_anomaly_enabled()
        assert autograd.is_anomaly_check_nan_enabled()
    assert not autodiff.is_anomaly_enabled()


def test_nan_in_backward_raises_naming_the_node_and_warns_with_the_forward_stack():
    x = autodiff.tensor([-1.0], requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with autograd.detect_anomaly():
            y = forward_sqrt(x).sum()
            with pytest.raises(RuntimeError) as err:
                y.backward()
    assert str(err.value) == "Function 'SqrtBackward0' returned nan values in its 0th output."
    reports = [str(w.message) for w in caught if "Error detected" in str(w.message)]
    assert len(reports) == 1
    report = reports[0]
    assert report.startswith(
        "Error detected in SqrtBackward0. Traceback of forward call that caused the error:\n"
    )
    assert "in forward_sqrt\n    return x.sqrt()" in report
    assert "y = forward_sqrt(x).sum()" in report
    assert x.grad is None


def test_without_anomaly_mode_or_with_check_nan_false_nan_passes_silently():
    x = autodiff.tensor([-1.0], requires_grad=True)
    forward_sqrt(x).sum().backward()
    assert math.isnan(x.grad.item())
    x.grad = None
    with autograd.set_detect_anomaly(True, check_nan=False):
        assert autodiff.is_anomaly_enabled()
        assert not autodiff.is_anomaly_check_nan_enabled()
        forward_sqrt(x).sum().backward()
    assert math.isnan(x.grad.item())
    assert not autodiff.is_anomaly_enabled()


def test_set_detect_anomaly_as_a_call_persists():
    autograd.set_detect_anomaly(True)
    assert autodiff.is_anomaly_enabled()
    autograd.set_detect_anomaly(False)
    assert not autodiff.is_anomaly_enabled()


def test_detect_anomaly_as_a_decorator():
    with pytest.warns(UserWarning, match="Anomaly Detection"):

        @autograd.detect_anomaly()
        def inside():
            return autodiff.is_anomaly_enabled()

    with pytest.warns(UserWarning, match="Anomaly Detection"):
        assert inside()
    assert not autodiff.is_anomaly_enabled()


def test_version_error_hint_depends_on_the_mode():
    def failing_backward():
        a = autodiff.tensor([1.0, 2.0], requires_grad=True)
        y = a.exp()
        with autodiff.no_grad():
            y.zero_()
        with pytest.raises(RuntimeError) as err:
            y.sum().backward()
        return str(err.value)

    assert failing_backward().endswith(
        "Hint: enable anomaly detection to find the operation that failed to compute its "
        "gradient, with torch.autograd.set_detect_anomaly(True, check_nan=False)."
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with autograd.detect_anomaly():
            message = failing_backward()
    assert "which is output 0 of Exp, is at version 1; expected version 0 instead." in message
    assert message.endswith(
        "Hint: the backtrace further above shows the operation that failed to compute its "
        "gradient. The variable in question was changed in there or anywhere later. Good luck!"
    )


def test_finite_gradients_pass_the_check():
    x = autodiff.tensor([4.0, 9.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with autograd.detect_anomaly():
            forward_sqrt(x).sum().backward()
    assert x.grad.tolist() == pytest.approx([0.25, 1.0 / 6.0])
