"""``autodiff.autograd.gradcheck``: gradcheck and gradgradcheck (PYTORCH_SEMANTICS.md 2.13).

Both pass on the engine's ops (first and second derivatives); both fail, with PyTorch's exact
message, on functions whose gradient is deliberately wrong. A legitimate way to get a wrong
gradient without custom autograd functions is the straight-through trick:
``t + (g(t) - t).detach()`` has the value ``g(t)`` but the gradient of ``t``. The checks of
gradcheck that the engine can never trip (non-determinism, gradient dtype and size) are driven
by replacing the backward call with ``monkeypatch``. Where PyTorch is installed, the same calls
are run by ``torch.autograd.gradcheck`` and the results and messages compared.
"""

from __future__ import annotations

import doctest
import importlib
import re
import warnings
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autodiff
from autodiff.autograd.gradcheck import GradcheckError, gradcheck, gradgradcheck

# The module itself: ``autodiff.autograd.gradcheck`` is meant to name the function, as in PyTorch.
gradcheck_module = importlib.import_module("autodiff.autograd.gradcheck")

F64 = autodiff.float64

FLOAT32_WARNING = (
    "Input #{} requires gradient and is not a double precision floating point or complex. "
    "This check will likely fail if all the inputs are not of double precision floating point "
    "or complex. "
)
NO_INPUT_REQUIRES_GRAD = (
    "gradcheck expects at least one input tensor to require gradient, but none of them have "
    "requires_grad=True."
)


def vec(*values: float, dtype: Any = F64, requires_grad: bool = True) -> Any:
    return autodiff.tensor(list(values), dtype=dtype, requires_grad=requires_grad)


def leaf(array: np.ndarray) -> Any:
    return autodiff.tensor(array, dtype=F64, requires_grad=True)


def raises(exc: type[BaseException], message: str) -> Any:
    return pytest.raises(exc, match="^" + re.escape(message) + "$")


def straight_through(g: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """The value of g(t) with the gradient of t (identity Jacobian)."""
    return lambda t: t + (g(t) - t).detach()


def cube_over_three_with_frozen_hessian(t: Any) -> Any:
    """Value t^3 / 3 and the right gradient t^2, but that gradient is built from a detached t,
    so its own derivative (the second derivative) is 0 instead of 2t."""
    frozen = t * t.detach() ** 2
    return (t**3 / 3).detach() + frozen - frozen.detach()


# --- gradcheck and gradgradcheck pass on the engine's ops -----------------------------------------


def sym(rng: np.random.Generator, *shape: int) -> Any:
    return leaf(rng.uniform(-1.0, 1.0, size=shape))


def pos(rng: np.random.Generator, *shape: int) -> Any:
    return leaf(rng.uniform(0.5, 2.0, size=shape))


# name -> (function, input factory); inputs avoid kinks (abs, relu, clamp, max) and poles.
OPS: dict[str, tuple[Callable[..., Any], Callable[[np.random.Generator], tuple[Any, ...]]]] = {
    "add_broadcast": (lambda a, b: a + b, lambda r: (sym(r, 2, 3), sym(r, 3))),
    "sub": (lambda a, b: a - b, lambda r: (sym(r, 2, 3), sym(r, 2, 3))),
    "mul_broadcast": (lambda a, b: a * b, lambda r: (sym(r, 2, 3), sym(r, 2, 1))),
    "div": (lambda a, b: a / b, lambda r: (sym(r, 2, 3), pos(r, 2, 3))),
    "pow_int": (lambda a: a**3, lambda r: (sym(r, 3),)),
    "pow_fractional": (lambda a: a**2.5, lambda r: (pos(r, 3),)),
    "pow_tensor": (lambda a, b: a**b, lambda r: (pos(r, 3), sym(r, 3))),
    "rpow": (lambda b: 2.0**b, lambda r: (sym(r, 3),)),
    "exp": (lambda a: a.exp(), lambda r: (sym(r, 2, 2),)),
    "log": (lambda a: a.log(), lambda r: (pos(r, 3),)),
    "log1p": (lambda a: a.log1p(), lambda r: (pos(r, 3),)),
    "sqrt": (lambda a: a.sqrt(), lambda r: (pos(r, 3),)),
    "rsqrt": (lambda a: a.rsqrt(), lambda r: (pos(r, 3),)),
    "sin": (lambda a: a.sin(), lambda r: (sym(r, 3),)),
    "cos": (lambda a: a.cos(), lambda r: (sym(r, 3),)),
    "tan": (lambda a: a.tan(), lambda r: (sym(r, 3),)),
    "tanh": (lambda a: a.tanh(), lambda r: (sym(r, 3),)),
    "sigmoid": (lambda a: a.sigmoid(), lambda r: (sym(r, 3),)),
    "reciprocal": (lambda a: a.reciprocal(), lambda r: (pos(r, 3),)),
    "square": (lambda a: a.square(), lambda r: (sym(r, 3),)),
    "neg": (lambda a: -a, lambda r: (sym(r, 3),)),
    "abs": (lambda a: a.abs(), lambda r: (pos(r, 3),)),
    "relu": (lambda a: a.relu(), lambda r: (pos(r, 3),)),
    "clamp": (lambda a: a.clamp(-2.0, 0.0), lambda r: (leaf(np.array([-1.0, 0.5, -3.0])),)),
    "maximum": (lambda a, b: a.maximum(b), lambda r: (vec(1.0, -1.0), vec(0.0, 0.0))),
    "where": (lambda a, b: autodiff.where(a > 0, a * b, b), lambda r: (sym(r, 4), sym(r, 4))),
    "matmul": (lambda a, b: a @ b, lambda r: (sym(r, 2, 3), sym(r, 3, 2))),
    "matmul_vector_matrix": (lambda a, b: a @ b, lambda r: (sym(r, 3), sym(r, 3, 2))),
    "bmm": (lambda a, b: a.bmm(b), lambda r: (sym(r, 2, 2, 3), sym(r, 2, 3, 2))),
    "mv": (lambda a, b: a.mv(b), lambda r: (sym(r, 2, 3), sym(r, 3))),
    "dot": (lambda a, b: a.dot(b), lambda r: (sym(r, 3), sym(r, 3))),
    "outer": (lambda a, b: a.outer(b), lambda r: (sym(r, 2), sym(r, 3))),
    "sum": (lambda a: a.sum(), lambda r: (sym(r, 2, 3),)),
    "sum_dim_keepdim": (lambda a: a.sum(dim=1, keepdim=True), lambda r: (sym(r, 2, 3),)),
    "mean": (lambda a: a.mean(dim=0), lambda r: (sym(r, 2, 3),)),
    "prod": (lambda a: a.prod(), lambda r: (pos(r, 4),)),
    "var": (lambda a: a.var(dim=1), lambda r: (sym(r, 2, 3),)),
    "std": (lambda a: a.std(), lambda r: (sym(r, 4),)),
    "norm": (lambda a: a.norm(), lambda r: (pos(r, 4),)),
    "logsumexp": (lambda a: a.logsumexp(dim=1), lambda r: (sym(r, 2, 3),)),
    "amax": (lambda a: a.amax(dim=1), lambda r: (leaf(np.array([[0.1, 0.9, 0.3]])),)),
    "softmax": (lambda a: a.softmax(dim=1), lambda r: (sym(r, 2, 3),)),
    "log_softmax": (lambda a: a.log_softmax(dim=-1), lambda r: (sym(r, 2, 3),)),
    "reshape": (lambda a: (a * a).reshape(3, 2), lambda r: (sym(r, 2, 3),)),
    "transpose": (lambda a: (a * a).transpose(0, 1), lambda r: (sym(r, 2, 3),)),
    "permute": (lambda a: (a**3).permute(2, 0, 1), lambda r: (sym(r, 2, 1, 3),)),
    "expand": (lambda a: (a * a).expand(2, 3), lambda r: (sym(r, 1, 3),)),
    "getitem_step": (lambda a: (a * a)[1, ::2], lambda r: (sym(r, 2, 3),)),
    "cat": (lambda a, b: autodiff.cat([a * a, b.exp()], dim=0), lambda r: (sym(r, 2), sym(r, 3))),
    "stack": (lambda a, b: autodiff.stack([a * b, b], dim=1), lambda r: (sym(r, 2), sym(r, 2))),
    "gather": (
        lambda a: (a * a).gather(1, autodiff.tensor([[0, 2], [1, 1]])),
        lambda r: (sym(r, 2, 3),),
    ),
    "index_select": (
        lambda a: (a**3).index_select(0, autodiff.tensor([1, 0, 1])),
        lambda r: (sym(r, 2, 3),),
    ),
    "masked_fill": (
        lambda a: (a * a).masked_fill(autodiff.tensor([True, False, True]), 0.0),
        lambda r: (sym(r, 3),),
    ),
    "tuple_outputs": (lambda a, b: (a * b, (a.exp() * b).sum()), lambda r: (sym(r, 2), sym(r, 2))),
}


@pytest.mark.parametrize("name", list(OPS))
def test_gradcheck_and_gradgradcheck_pass_on_ops(name, rng):
    fn, make_inputs = OPS[name]
    inputs = make_inputs(rng)
    assert gradcheck(fn, inputs) is True
    assert gradgradcheck(fn, inputs) is True


def test_non_tensor_inputs_are_passed_through():
    # x^n with n = 3 an int argument
    assert gradcheck(lambda t, n: t**n, (vec(0.5, 1.5), 3)) is True
    assert gradgradcheck(lambda t, n: t**n, (vec(0.5, 1.5), 3)) is True


def test_inputs_that_do_not_require_grad_are_constants():
    # only b is checked; a is a constant (float32 even: no warning, as it does not require grad)
    a = autodiff.tensor([1.0, 2.0], requires_grad=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gradcheck(lambda p, q: p.double() * q.sin(), (a, vec(0.1, 0.2))) is True


def test_a_single_tensor_or_a_list_of_inputs_is_accepted():
    x = vec(0.3, 0.7)
    assert gradcheck(lambda t: t.exp(), x) is True
    assert gradcheck(lambda p, q: p * q, [x, vec(1.0, 2.0)]) is True


def test_gradcheck_leaves_inputs_and_their_grads_untouched():
    x = vec(0.3, 0.7)
    version = x._version
    assert gradcheck(lambda t: (t**3).sum(), (x,)) is True
    assert x.tolist() == [0.3, 0.7]  # restored bit for bit after the perturbations
    assert (x.grad, x._version) == (None, version)


def test_inputs_are_restored_when_func_raises_during_perturbation():
    x = vec(0.25, 0.5)

    def fn(t):
        if t[1].item() != 0.5:
            raise ZeroDivisionError("perturbed")
        return t * 2

    with pytest.raises(ZeroDivisionError, match="perturbed"):
        gradcheck(fn, (x,))
    assert x.tolist() == [0.25, 0.5]


def test_gradcheck_on_a_non_contiguous_input():
    base = autodiff.tensor([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]], dtype=F64)
    x = base.t()  # shape (3, 2), strides (1, 3)
    assert not x.is_contiguous()
    x.requires_grad_()
    assert gradcheck(lambda t: t.exp() * t.sum(), (x,)) is True


def test_functions_without_differentiable_outputs():
    x = vec(1.0, 2.0)
    # constant in x: the numerical Jacobian is zero, which is the expectation
    assert gradcheck(lambda t: t.detach() * 0, (x,)) is True
    # a non-differentiable output beside a differentiable one is ignored
    assert gradcheck(lambda t: (t.detach() * 3, t * 2, t.argmax()), (x,)) is True
    # but an output that changes with x while claiming no gradient is caught
    with raises(GradcheckError, "Numerical gradient for function expected to be zero"):
        gradcheck(lambda t: t.detach() ** 2, (x,))
    assert gradcheck(lambda t: t.detach() ** 2, (x,), raise_exception=False) is False


def test_docstring_examples_run():
    result = doctest.testmod(gradcheck_module, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 8
    assert result.failed == 0


# --- failures and their messages ----------------------------------------------------------------

WRONG_SQUARE_MESSAGE = (
    "Jacobian mismatch for output 0 with respect to input 0,\n"
    "numerical:tensor([[ 2.0000,  0.0000,  0.0000],\n"
    "        [ 0.0000,  4.0000,  0.0000],\n"
    "        [ 0.0000,  0.0000, -1.0000]], dtype=autodiff.float64)\n"
    "analytical:tensor([[1., 0., 0.],\n"
    "        [0., 1., 0.],\n"
    "        [0., 0., 1.]], dtype=autodiff.float64)\n"
)


def test_wrong_gradient_fails_with_pytorchs_message():
    # value x^2, so the numerical Jacobian is diag(2x) = diag(2, 4, -1); the gradient is I.
    x = vec(1.0, 2.0, -0.5)
    with raises(GradcheckError, WRONG_SQUARE_MESSAGE):
        gradcheck(straight_through(lambda t: t**2), (x,))
    assert gradcheck(straight_through(lambda t: t**2), (x,), raise_exception=False) is False
    assert issubclass(GradcheckError, RuntimeError)


def test_tolerances_decide_a_near_miss():
    # value 1.0001 t, gradient 1: |1 - 1.0001| = 1e-4 <= atol + rtol * 1.0001 only if loose.
    fn = straight_through(lambda t: t * 1.0001)
    x = vec(0.5)
    assert gradcheck(fn, (x,), raise_exception=False) is True  # 1e-4 <= 1e-5 + 1e-3
    assert gradcheck(fn, (x,), rtol=1e-5, raise_exception=False) is False
    assert gradcheck(fn, (x,), rtol=0.0, atol=2e-4, raise_exception=False) is True


def test_mismatch_indices_count_only_differentiable_outputs_and_inputs():
    # c does not require grad, so a and b are inputs 0 and 1; c * 1 does not require grad, so
    # a * 2 and wrong(b) are outputs 0 and 1. Numerical d(b^3)/db = 3 b^2 = 12; analytical 1.
    c, a, b = vec(5.0, requires_grad=False), vec(1.0), vec(2.0)

    def fn(p, q, r):
        return p * 1, q * 2, straight_through(lambda t: t**3)(r)

    with pytest.raises(GradcheckError) as info:
        gradcheck(fn, (c, a, b))
    message = str(info.value)
    assert message.startswith("Jacobian mismatch for output 1 with respect to input 1,\n")
    assert message.endswith("\nanalytical:tensor([[1.]], dtype=autodiff.float64)\n")
    numerical = re.search(r"numerical:tensor\(\[\[(.*)\]\]", message)
    assert numerical is not None and abs(float(numerical.group(1)) - 12.0) < 1e-4


def test_gradgradcheck_catches_a_wrong_second_derivative():
    # first derivative right (t^2), second derivative wrong (0 instead of 2t * grad_output)
    x = vec(1.0, 2.0)
    assert gradcheck(cube_over_three_with_frozen_hessian, (x,)) is True
    expected = (
        "Jacobian mismatch for output 0 with respect to input 0,\n"
        "numerical:tensor([[2.0000, 0.0000],\n"
        "        [0.0000, 4.0000]], dtype=autodiff.float64)\n"
        "analytical:tensor([[0., 0.],\n"
        "        [0., 0.]], dtype=autodiff.float64)\n"
    )
    grad_out = autodiff.ones(2, dtype=F64, requires_grad=True)
    with raises(GradcheckError, expected):
        gradgradcheck(cube_over_three_with_frozen_hessian, (x,), (grad_out,))
    assert gradgradcheck(cube_over_three_with_frozen_hessian, (x,), raise_exception=False) is False


def test_gradgradcheck_checks_grad_outputs_too():
    # grad(x * y) . g = (g y, g x): its Jacobian w.r.t. g is diag(y), diag(x); a grad_output
    # that does not require grad is a constant and is not checked.
    x, y = vec(0.5, -1.0), vec(2.0, 3.0)
    assert gradgradcheck(lambda a, b: a * b, (x, y), (vec(1.0, -1.0),)) is True
    assert gradgradcheck(lambda a, b: a * b, (x, y), vec(1.0, -1.0, requires_grad=False)) is True
    assert gradgradcheck(lambda a, b: a * b, (x, y), gen_non_contig_grad_outputs=True) is True


def test_generated_grad_outputs_are_uniform_leaves_and_optionally_non_contiguous():
    like = autodiff.zeros(3, 4, dtype=F64)
    for noncontiguous in (False, True):
        g = gradcheck_module._random_grad_output(like, noncontiguous)
        assert (tuple(g.shape), g.dtype, g.requires_grad, g.is_leaf) == ((3, 4), F64, True, True)
        assert g.is_contiguous() is not noncontiguous
        values = np.array(g.detach().numpy())
        assert values.min() >= -1.0 and values.max() < 1.0
    assert gradcheck_module._random_grad_output(like.float(), False).dtype == autodiff.float32


def test_float32_inputs_warn_and_the_check_fails_on_sin():
    x = autodiff.tensor([0.5, 1.0], requires_grad=True)
    with pytest.warns(UserWarning, match=re.escape(FLOAT32_WARNING.format(0))):
        assert gradcheck(lambda t: t.sin(), (x,), raise_exception=False) is False
    # the index is the input's position in the tuple
    with pytest.warns(UserWarning, match=re.escape(FLOAT32_WARNING.format(1))):
        gradcheck(lambda a, b: a + b.double(), (vec(1.0), x), raise_exception=False)


def test_no_input_requiring_grad_is_a_value_error_even_without_raise_exception():
    x = vec(1.0, requires_grad=False)
    with raises(ValueError, NO_INPUT_REQUIRES_GRAD):
        gradcheck(lambda t: t * 2, (x,))
    with raises(ValueError, NO_INPUT_REQUIRES_GRAD):
        gradcheck(lambda t, n: t * n, (x, 2), raise_exception=False)
    with raises(ValueError, NO_INPUT_REQUIRES_GRAD):
        gradgradcheck(lambda t: t * 2, (x,))  # no differentiable output: no grad_outputs


def test_gradgradcheck_without_differentiable_inputs_but_with_grad_outputs():
    # PyTorch's grad rejects empty `inputs` before it counts the grad_outputs.
    with raises(RuntimeError, "`inputs` argument to `grad()` cannot be empty."):
        gradgradcheck(lambda t: t * 2, (vec(1.0, requires_grad=False),), (vec(1.0),))


def test_stride_zero_input_is_rejected():
    x = autodiff.tensor([1.0], dtype=F64).expand(3)
    x.requires_grad_()
    message = (
        "The 1th input has a dimension with stride 0. gradcheck only supports inputs that are "
        "non-overlapping to be able to compute the numerical gradients correctly. You should "
        "call .contiguous on the input before passing it to gradcheck."
    )
    with raises(RuntimeError, message):
        gradcheck(lambda a, b: a * b, (vec(1.0, 2.0, 3.0), x))


def test_outputs_changing_shape_or_dtype_under_perturbation():
    x = vec(1.0, 2.0)
    with raises(
        AssertionError,
        "Expected `func` to return outputs with the same shape when inputs are perturbed on "
        "index (0,) by 1e-06, but got: shapes autodiff.Size([1]) and autodiff.Size([2]).",
    ):
        gradcheck(lambda t: t if t[0].item() > 1.0 else t[:1], (x,))
    with raises(
        AssertionError,
        "Expected `func` to return outputs with the same dtype when inputs are perturbed on "
        "index (1,) by 1e-06, but got: dtypes autodiff.float32 and autodiff.float64.",
    ):
        gradcheck(lambda t: t if t[1].item() > 2.0 else t.float(), (x,))


OPTION_ERRORS: list[tuple[str, Callable[..., Any], dict[str, Any], type[Exception], str]] = [
    (
        "no mode",
        gradcheck,
        {"check_backward_ad": False},
        AssertionError,
        "Expected at least one of check_forward_ad or check_backward_ad to be True",
    ),
    (
        "batched without backward",
        gradcheck,
        {"check_batched_grad": True, "check_backward_ad": False, "check_forward_ad": True},
        AssertionError,
        "Setting check_batched_grad=True requires check_backward_ad to be True",
    ),
    (
        "batched forward without forward",
        gradcheck,
        {"check_batched_forward_grad": True},
        AssertionError,
        "Setting check_batched_forward_grad=True requires check_forward_ad to be True",
    ),
    (
        "forward ad",
        gradcheck,
        {"check_forward_ad": True},
        NotImplementedError,
        "gradcheck(check_forward_ad=True) is not supported: autodiff has no forward-mode AD. "
        "Pass check_forward_ad=False (the default).",
    ),
    (
        "batched forward",
        gradcheck,
        {"check_forward_ad": True, "check_batched_forward_grad": True},
        NotImplementedError,
        "gradcheck(check_forward_ad=True) is not supported: autodiff has no forward-mode AD. "
        "Pass check_forward_ad=False (the default).",
    ),
    (
        "batched grad",
        gradcheck,
        {"check_batched_grad": True},
        NotImplementedError,
        "gradcheck(check_batched_grad=True) is not supported: autodiff has no vmap. "
        "Pass check_batched_grad=False (the default).",
    ),
    (
        "fast mode",
        gradcheck,
        {"fast_mode": True},
        NotImplementedError,
        "gradcheck(fast_mode=True) is not supported: autodiff only implements the "
        "full-Jacobian check. Pass fast_mode=False (the default).",
    ),
    (
        "gg no mode",
        gradgradcheck,
        {"check_rev_over_rev": False, "check_undefined_grad": False},
        AssertionError,
        "Expected at least one of check_fwd_over_rev or check_rev_over_rev to be True",
    ),
    (
        "gg undefined without rev",
        gradgradcheck,
        {"check_rev_over_rev": False, "check_fwd_over_rev": True},
        AssertionError,
        "Setting check_undefined_grad=True requires check_rev_over_rev to be True",
    ),
    (
        "gg batched without rev",
        gradgradcheck,
        {
            "check_rev_over_rev": False,
            "check_fwd_over_rev": True,
            "check_undefined_grad": False,
            "check_batched_grad": True,
        },
        AssertionError,
        "Setting check_batched_grad=True requires check_rev_over_rev to be True",
    ),
    (
        "gg fwd over rev",
        gradgradcheck,
        {"check_fwd_over_rev": True},
        NotImplementedError,
        "gradgradcheck(check_fwd_over_rev=True) is not supported: autodiff has no forward-mode "
        "AD. Pass check_fwd_over_rev=False (the default).",
    ),
    (
        "gg batched grad",
        gradgradcheck,
        {"check_batched_grad": True},
        NotImplementedError,
        "gradgradcheck(check_batched_grad=True) is not supported: autodiff has no vmap. "
        "Pass check_batched_grad=False (the default).",
    ),
    (
        "gg fast mode",
        gradgradcheck,
        {"fast_mode": True},
        NotImplementedError,
        "gradgradcheck(fast_mode=True) is not supported: autodiff only implements the "
        "full-Jacobian check. Pass fast_mode=False (the default).",
    ),
]


@pytest.mark.parametrize(
    ("check", "options", "exc", "message"),
    [e[1:] for e in OPTION_ERRORS],
    ids=[e[0] for e in OPTION_ERRORS],
)
def test_option_errors(check, options, exc, message):
    with raises(exc, message):
        check(lambda t: t * 2, (vec(1.0),), **options)


def test_options_without_effect_are_accepted():
    # check_undefined_grad and masked are accepted (no undefined grads, no sparse tensors);
    # check_grad_dtypes passes as the engine's gradients have the inputs' dtypes.
    x = vec(0.2, 0.4)
    for options in (
        {"check_undefined_grad": False},
        {"masked": True},
        {"check_grad_dtypes": True},
        {"nondet_tol": 1e-3},
    ):
        assert gradcheck(lambda t: t.tanh(), (x,), **options) is True
        assert gradgradcheck(lambda t: t.tanh(), (x,), **options) is True


# --- gradcheck's own checks, driven through a replaced backward ---------------------------------


def test_non_deterministic_backward_is_reported(monkeypatch):
    real_vjp = gradcheck_module._vjp
    calls = [0]

    def noisy_vjp(output, inputs, grad_output):
        calls[0] += 1
        return tuple(g + 1e-9 * calls[0] for g in real_vjp(output, inputs, grad_output))

    monkeypatch.setattr(gradcheck_module, "_vjp", noisy_vjp)
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda t: t.exp(), (vec(0.1, 0.2),))
    assert str(info.value).startswith(
        "Backward is not reentrant, i.e., running backward with same input and grad_output "
        "multiple times gives different values, although analytical gradient matches "
        "numerical gradient.The tolerance for nondeterminism was 0.0."
    )
    assert "nondet_tol=<tol>" in str(info.value)
    assert gradcheck(lambda t: t.exp(), (vec(0.1, 0.2),), nondet_tol=1e-6) is True


def test_wrong_gradient_dtype_or_size_is_reported(monkeypatch):
    real_vjp = gradcheck_module._vjp
    x = vec(0.1, 0.2)
    monkeypatch.setattr(
        gradcheck_module, "_vjp", lambda o, i, g: tuple(r.float() for r in real_vjp(o, i, g))
    )
    assert gradcheck(lambda t: t.exp(), (x,)) is True  # only checked on request
    with raises(GradcheckError, "Gradient has dtype mismatch"):
        gradcheck(lambda t: t.exp(), (x,), check_grad_dtypes=True)
    monkeypatch.setattr(
        gradcheck_module,
        "_vjp",
        lambda o, i, g: tuple(r.reshape(1, -1) for r in real_vjp(o, i, g)),
    )
    with raises(GradcheckError, "Analytical gradient has incorrect size"):
        gradcheck(lambda t: t.exp(), (x,))


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        (lambda g: g + 1, "backward not multiplied by grad_output"),
        (lambda g: g.float(), "grad is incorrect type"),
        (lambda g: g.reshape(1, -1), "grad is incorrect size"),
    ],
    ids=["not multiplied", "type", "size"],
)
def test_backward_with_zero_grad_output_is_checked(monkeypatch, corrupt, message):
    # The engine's grad, except when every grad_output is zero: then corrupted.
    real_grad = autodiff.autograd.grad

    def fake_grad(outputs, inputs, grad_outputs=None, **kwargs):
        grads = real_grad(outputs, inputs, grad_outputs, **kwargs)
        grad_outputs = gradcheck_module._as_tuple(grad_outputs)
        if all(not np.any(np.array(g.numpy())) for g in grad_outputs):
            return tuple(corrupt(g) for g in grads)
        return grads

    monkeypatch.setattr(autodiff.autograd, "grad", fake_grad)
    with raises(GradcheckError, message):
        gradcheck(lambda t: t.exp(), (vec(0.1, 0.2),))
    assert gradcheck(lambda t: t.exp(), (vec(0.1, 0.2),), raise_exception=False) is False


# --- properties -----------------------------------------------------------------------------------

shapes = hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3)
values = st.floats(-1.5, 1.5, allow_subnormal=False)

COMPOSITIONS: dict[str, Callable[[Any], Any]] = {
    "poly": lambda t: t**3 - 2 * t**2 + t.sum(),
    "sin_exp": lambda t: t.sin() * t.exp(),
    "sigmoid_tanh": lambda t: t.sigmoid() * t.tanh().sum(),
    "softmax_log": lambda t: t.reshape(-1).softmax(dim=0) * (t * t + 1).log().reshape(-1),
}


@given(
    x=hnp.arrays(np.float64, shapes, elements=values), name=st.sampled_from(sorted(COMPOSITIONS))
)
def test_correct_functions_pass_for_random_shapes_and_values(x, name):
    fn = COMPOSITIONS[name]
    assert gradcheck(fn, (leaf(x),)) is True
    assert gradgradcheck(fn, (leaf(x),)) is True


@given(x=hnp.arrays(np.float64, shapes, elements=values))
def test_a_wrong_gradient_always_fails(x):
    # value 3t, gradient 1: numerical 3 I against analytical I, whatever the shape and values.
    n = x.size
    with pytest.raises(GradcheckError) as info:
        gradcheck(straight_through(lambda t: 3 * t), (leaf(x),))
    match = re.fullmatch(
        r"Jacobian mismatch for output 0 with respect to input 0,\n"
        r"numerical:(tensor\(.*\))\nanalytical:(tensor\(.*\))\n",
        str(info.value),
        flags=re.DOTALL,
    )
    assert match is not None
    numerical = [float(v) for v in re.findall(r"-?\d+\.\d*", match.group(1).split("dtype")[0])]
    np.testing.assert_allclose(numerical, (3 * np.eye(n)).reshape(-1), atol=1e-6)
    assert match.group(2) == str(autodiff.eye(n, dtype=F64))


# --- PyTorch as the oracle -----------------------------------------------------------------------


def normalise(text: str) -> str:
    return text.replace("torch.Size", "autodiff.Size").replace("torch.float", "autodiff.float")


def run_both(call: Callable[[Any, Any], Any]) -> tuple[str, str]:
    """``call(lib, gradcheck_module)`` in torch and in autodiff: the result, the exception
    and any warnings, as text."""
    real = pytest.importorskip("torch")
    import sys

    torch_gradcheck = sys.modules["torch.autograd.gradcheck"]
    texts = []
    for lib, module in ((real, torch_gradcheck), (autodiff, gradcheck_module)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                text = repr(call(lib, module))
            except Exception as e:  # noqa: BLE001 - the type is part of what is compared
                text = f"{type(e).__name__}: {e}"
        texts.append(text + "".join(f"\nW: {w.message}" for w in caught))
    return normalise(texts[0]), texts[1]


def _x(lib: Any, requires_grad: bool = True) -> Any:
    return lib.tensor([0.5, -1.25, 2.0], dtype=lib.float64, requires_grad=requires_grad)


def _go(lib: Any) -> Any:
    return lib.tensor([1.0, -0.5, 0.25], dtype=lib.float64, requires_grad=True)


ORACLE_CALLS: dict[str, Callable[[Any, Any], Any]] = {
    "passes": lambda lib, m: m.gradcheck(lambda t: (t.sin() * t.exp()).sum(), (_x(lib),)),
    "wrong square": lambda lib, m: m.gradcheck(straight_through(lambda t: t**2), (_x(lib),)),
    "wrong, no raise": lambda lib, m: m.gradcheck(
        straight_through(lambda t: t**2), (_x(lib),), raise_exception=False
    ),
    "second output wrong": lambda lib, m: m.gradcheck(
        lambda a, b: (a * b, straight_through(lambda t: t.exp())(b)), (_x(lib), _x(lib))
    ),
    "float32 sin": lambda lib, m: m.gradcheck(
        lambda t: t.sin(), (lib.tensor([0.5, 1.0], requires_grad=True),), raise_exception=False
    ),
    "no input requires grad": lambda lib, m: m.gradcheck(lambda t: t, (_x(lib, False),)),
    "non-differentiable output": lambda lib, m: m.gradcheck(lambda t: t.detach() ** 2, (_x(lib),)),
    "shape changes": lambda lib, m: m.gradcheck(
        lambda t: t if t[0].item() > 0.5 else t[:1], (_x(lib),)
    ),
    "stride zero": lambda lib, m: m.gradcheck(
        lambda t: t * 2, (lib.tensor([1.0], dtype=lib.float64).expand(2).requires_grad_(),)
    ),
    "gradgrad passes": lambda lib, m: m.gradgradcheck(
        lambda t: t.tanh() * t.exp(), (_x(lib),), (_go(lib),)
    ),
    "gradgrad wrong": lambda lib, m: m.gradgradcheck(
        cube_over_three_with_frozen_hessian, (_x(lib),), (_go(lib),)
    ),
    "gradgrad wrong, no raise": lambda lib, m: m.gradgradcheck(
        cube_over_three_with_frozen_hessian, (_x(lib),), (_go(lib),), raise_exception=False
    ),
    "option assertion": lambda lib, m: m.gradcheck(
        lambda t: t, (_x(lib),), check_backward_ad=False
    ),
}


@pytest.mark.parametrize("name", list(ORACLE_CALLS))
def test_same_result_message_and_warnings_as_torch(name):
    expected, actual = run_both(ORACLE_CALLS[name])
    assert actual == expected
