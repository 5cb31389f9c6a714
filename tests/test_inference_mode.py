"""inference_mode: PYTORCH_SEMANTICS.md section 2.5."""

from __future__ import annotations

import threading

import pytest

import autodiff
from autodiff import autograd

SAVED = (
    "Inference tensors cannot be saved for backward. Please do not use Tensors created in "
    "inference mode in computation tracked by autograd. To work around this, you can make a "
    "clone to get a normal tensor and use it in autograd, or use `torch.no_grad()` instead of "
    "`torch.inference_mode()`."
)
IN_PLACE = (
    "Inplace update to inference tensor outside InferenceMode is not allowed.You can make a "
    "clone to get a normal tensor before doing inplace update.See "
    "https://github.com/pytorch/rfcs/pull/17 for more details."
)
REQUIRES_GRAD = (
    "Setting requires_grad=True on inference tensor outside InferenceMode is not allowed."
)


def leaf():
    return autodiff.tensor([1.0, 2.0], requires_grad=True)


def test_inside_no_recording_and_outputs_are_inference_tensors():
    x = leaf()
    with autodiff.inference_mode():
        assert not autodiff.is_grad_enabled()
        assert autodiff.is_inference_mode_enabled()
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None and y.is_inference()
    assert not x.is_inference()
    assert autodiff.is_grad_enabled() and not autodiff.is_inference_mode_enabled()
    assert repr(y) == "tensor([2., 4.])"


def test_same_objects_in_autograd_and_top_level():
    assert autodiff.inference_mode is autograd.inference_mode
    assert autodiff.is_inference_mode_enabled is autograd.is_inference_mode_enabled


def test_nested_inference_mode_false_re_enables_recording():
    x = leaf()
    with autodiff.inference_mode():
        with autodiff.inference_mode(False):
            assert autodiff.is_grad_enabled() and not autodiff.is_inference_mode_enabled()
            z = x * 2
        assert not autodiff.is_grad_enabled()
    assert z.requires_grad and not z.is_inference()


def test_saving_an_inference_tensor_for_backward_raises():
    x = leaf()
    with autodiff.inference_mode():
        y = autodiff.tensor([3.0, 4.0])
    with pytest.raises(RuntimeError) as e:
        y * x  # MulBackward0 would save y
    assert str(e.value) == SAVED
    # An op that saves nothing may use it.
    (y + x).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]


def test_in_place_on_an_inference_tensor_outside_raises_inside_works():
    with autodiff.inference_mode():
        y = autodiff.ones(2)
        y.add_(1)
    assert y.tolist() == [2.0, 2.0]
    for op in (lambda: y.add_(1), lambda: y.zero_(), lambda: y.__setitem__(0, 5.0)):
        with pytest.raises(RuntimeError) as e:
            op()
        assert str(e.value) == IN_PLACE
    with autodiff.no_grad(), pytest.raises(RuntimeError, match="^Inplace update"):
        y.mul_(2)
    assert y.tolist() == [2.0, 2.0]


def test_requires_grad_on_an_inference_tensor_outside_raises():
    with autodiff.inference_mode():
        y = autodiff.ones(2)
    with pytest.raises(RuntimeError) as e:
        y.requires_grad_()
    assert str(e.value) == REQUIRES_GRAD
    clone = y.clone()
    assert not clone.is_inference()
    clone.requires_grad_()
    assert clone.requires_grad


def test_decorator_with_and_without_parentheses_and_restored_on_error():
    @autodiff.inference_mode
    def bare():
        return autodiff.is_inference_mode_enabled()

    @autodiff.inference_mode()
    def called():
        return autodiff.is_inference_mode_enabled()

    @autodiff.inference_mode()
    def failing():
        raise ValueError("boom")

    assert bare() and called()
    with pytest.raises(ValueError):
        failing()
    assert autodiff.is_grad_enabled() and not autodiff.is_inference_mode_enabled()


def test_inference_mode_is_per_thread():
    seen = []
    with autodiff.inference_mode():
        worker = threading.Thread(target=lambda: seen.append(autodiff.is_inference_mode_enabled()))
        worker.start()
        worker.join()
    assert seen == [False]


def test_matches_torch():
    torch = pytest.importorskip("torch")
    for lib in (torch, autodiff):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        with lib.inference_mode():
            y = x * 2
        assert y.is_inference() and not y.requires_grad
        with pytest.raises(RuntimeError) as e:
            y * x
        assert str(e.value) == SAVED
        with pytest.raises(RuntimeError) as e:
            y.add_(1)
        assert str(e.value) == IN_PLACE
