"""``autodiff.autograd.functional``: every error with its exact type and message
(PYTORCH_SEMANTICS.md 2.11), the checks ``strict=True`` makes, and, where PyTorch is installed,
the same calls run by ``torch.autograd.functional`` with the same results or the same errors,
PyTorch's quirks included.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from functional_cases import F64, SCALAR_FNS, VECTOR_FNS, arr, vec
from numeric_checks import raises

import autodiff
from autodiff.autograd import functional
from autodiff.autograd.functional import hessian, hvp, jacobian, jvp, vhp, vjp

# --- errors -------------------------------------------------------------------------------------

X = vec(1.0, 2.0)
Y = vec(3.0)


def independent_leaf(_: Any) -> Any:
    return autodiff.ones(2, dtype=F64, requires_grad=True)


ERRORS: list[tuple[str, Callable[[], Any], type[BaseException], str]] = [
    (
        "inputs a list",
        lambda: vjp(lambda t: t, [X], X),
        TypeError,
        "The inputs given to vjp must be either a Tensor or a tuple of Tensors but the given "
        "inputs has type <class 'list'>.",
    ),
    (
        "inputs tuple with a float",
        lambda: jacobian(lambda a, b: a, (X, 2.0)),
        TypeError,
        "The inputs given to jacobian must be either a Tensor or a tuple of Tensors but the "
        "value at index 1 has type <class 'float'>.",
    ),
    (
        "output a list",
        lambda: jvp(lambda t: [t], X, X),
        TypeError,
        "The outputs of the user-provided function given to jvp must be either a Tensor or a "
        "tuple of Tensors but the given outputs of the user-provided function has type "
        "<class 'list'>.",
    ),
    (
        "output tuple with None",
        lambda: hessian(lambda t: (t.sum(), None), X),
        TypeError,
        "The outputs of the user-provided function given to hessian must be either a Tensor or "
        "a tuple of Tensors but the value at index 1 has type <class 'NoneType'>.",
    ),
    (
        "v not a tensor",
        lambda: vhp(lambda t: t.sum(), X, 1.0),
        TypeError,
        "The v given to vhp must be either a Tensor or a tuple of Tensors but the given v has "
        "type <class 'float'>.",
    ),
    (
        "vjp v None for a vector output",
        lambda: vjp(lambda t: t * 2, X),
        RuntimeError,
        "The vector v can only be None if the user-provided function returns a single Tensor "
        "with a single element.",
    ),
    (
        "jvp v None for a vector input",
        lambda: jvp(lambda t: t * 2, X),
        RuntimeError,
        "The vector v can only be None if the input to the user-provided function is a single "
        "Tensor with a single element.",
    ),
    (
        "vhp v None",
        lambda: vhp(lambda t: t.sum(), X),
        RuntimeError,
        "The vector v can only be None if the input to the user-provided function is a single "
        "Tensor with a single element.",
    ),
    (
        "hvp v None",
        lambda: hvp(lambda t: t.sum(), (X, Y)),
        RuntimeError,
        "The vector v can only be None if the input to the user-provided function is a single "
        "Tensor with a single element.",
    ),
    (
        "v tuple of wrong length",
        lambda: vjp(lambda t: (t, t), X, (X,)),
        RuntimeError,
        "v is a tuple of invalid length: should be 2 but got 1.",
    ),
    (
        "v two tensors for one",
        lambda: jvp(lambda t: t, X, (X, X)),
        RuntimeError,
        "The given v should contain a single Tensor.",
    ),
    (
        "v wrong size",
        lambda: vjp(lambda t: t, X, vec(1.0, 2.0, 3.0)),
        RuntimeError,
        "v has invalid size: should be autodiff.Size([2]) but got autodiff.Size([3]).",
    ),
    (
        "v entry wrong size",
        lambda: hvp(lambda a, b: (a * b).sum(), (X, Y), (X, X)),
        RuntimeError,
        "Entry 1 in v has invalid size: should be autodiff.Size([1]) but got autodiff.Size([2]).",
    ),
    (
        "strict output without grad",
        lambda: jacobian(lambda t: autodiff.ones(2), X, strict=True),
        RuntimeError,
        "Output 0 of the user-provided function does not require gradients. The outputs must "
        "be computed in a differentiable manner from the input when running in strict mode.",
    ),
    (
        "strict vjp unused input",
        lambda: vjp(lambda a, b: (a * 2).sum(), (X, Y), strict=True),
        RuntimeError,
        "The output of the user-provided function is independent of input 1. This is not "
        "allowed in strict mode.",
    ),
    (
        "strict jacobian unused input",
        lambda: jacobian(lambda a, b: a * 2, (X, Y), strict=True),
        RuntimeError,
        "Output 0 of the user-provided function is independent of input 1. This is not "
        "allowed in strict mode.",
    ),
    (
        "strict jacobian create_graph linear",
        lambda: jacobian(lambda t: t * 2, X, strict=True, create_graph=True),
        RuntimeError,
        "The jacobian of the user-provided function is independent of input 0. This is not "
        "allowed in strict mode when create_graph=True.",
    ),
    (
        "strict jvp grad_inputs unused",
        lambda: jvp(lambda a, b: independent_leaf(a) * 1 + a, (X, Y), (X, Y), strict=True),
        RuntimeError,
        "The output of the user-provided function is independent of input 1. This is not "
        "allowed in strict mode.",
    ),
    (
        "strict jvp sign",
        lambda: jvp(lambda t: t.sign(), X, X, strict=True),
        RuntimeError,
        "The gradient with respect to input 0 is independent of the inputs of the "
        "user-provided function. This is not allowed in strict mode.",
    ),
    (
        "strict jvp back trick",
        lambda: jvp(lambda t: (t * 2, t.sign()), X, X, strict=True),
        RuntimeError,
        "The gradient with respect to the input is independent of entry 1 in the grad_outputs "
        "when using the double backward trick to compute forward mode gradients. This is not "
        "allowed in strict mode.",
    ),
    (
        "strict jvp create_graph linear",
        lambda: jvp(lambda t: t * 2, X, X, strict=True, create_graph=True),
        RuntimeError,
        "The jacobian of the user-provided function is independent of input 0. This is not "
        "allowed in strict mode when create_graph=True.",
    ),
    (
        "strict vjp create_graph linear",
        lambda: vjp(lambda t: (t * 2).sum(), X, strict=True, create_graph=True),
        RuntimeError,
        "The jacobian of the user-provided function is independent of input 0. This is not "
        "allowed in strict mode when create_graph=True.",
    ),
    (
        "strict hessian linear",
        lambda: hessian(lambda t: (t * 2).sum(), X, strict=True),
        RuntimeError,
        "While computing the hessian, found that the jacobian of the user-provided function "
        "with respect to input 0 is independent of the input. This is not allowed in strict "
        "mode. You should ensure that your function is twice differentiable and that the "
        "jacobian depends on the inputs (this would be violated by a linear function for "
        "example).",
    ),
    (
        "strict vhp linear",
        lambda: vhp(lambda t: (t * 2).sum(), X, X, strict=True),
        RuntimeError,
        "While computing the hessian, found that the jacobian of the user-provided function "
        "with respect to input 0 is independent of the input. This is not allowed in strict "
        "mode. You should ensure that your function is twice differentiable and that the "
        "jacobian depends on the inputs (this would be violated by a linear function for "
        "example).",
    ),
    (
        "strict vhp unused input",
        lambda: vhp(lambda a, b: (a**3).sum(), (X, Y), (X, Y), strict=True),
        RuntimeError,
        "The output of the user-provided function is independent of input 1. This is not "
        "allowed in strict mode.",
    ),
    (
        "strict vhp create_graph quadratic",
        lambda: vhp(lambda t: (t * t).sum(), X, X, strict=True, create_graph=True),
        RuntimeError,
        "The hessian of the user-provided function is independent of input 0. This is not "
        "allowed in strict mode when create_graph=True.",
    ),
    (
        "strict hvp create_graph quadratic",
        lambda: hvp(lambda t: (t * t).sum(), X, X, strict=True, create_graph=True),
        RuntimeError,
        "The hessian of the user-provided function is independent of input 0. This is not "
        "allowed in strict mode when create_graph=True.",
    ),
    (
        "hessian of a tuple",
        lambda: hessian(lambda t: (t.sum(),), X),
        RuntimeError,
        "The function given to hessian should return a single Tensor",
    ),
    (
        "hessian of a vector",
        lambda: hessian(lambda t: t * 2, X),
        RuntimeError,
        "The Tensor returned by the function given to hessian should contain a single element",
    ),
    (
        "vhp of a tuple",
        lambda: vhp(lambda t: (t.sum(),), X, X),
        RuntimeError,
        "The function given to vhp should return a single Tensor",
    ),
    (
        "hvp of a vector",
        lambda: hvp(lambda t: t * 2, X, X),
        RuntimeError,
        "The Tensor returned by the function given to hvp should contain a single element",
    ),
    (
        "jacobian bad strategy",
        lambda: jacobian(lambda t: t, X, strategy="forward"),
        AssertionError,
        'Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your '
        'function has more outputs than inputs, "forward-mode" tends to be more performant. '
        'Otherwise, prefer to use "reverse-mode".',
    ),
    (
        "hessian bad strategy",
        lambda: hessian(lambda t: t.sum(), X, outer_jacobian_strategy="reverse"),
        AssertionError,
        'Expected strategy to be either "forward-mode" or "reverse-mode".',
    ),
    (
        "forward-mode create_graph",
        lambda: jacobian(lambda t: t, X, create_graph=True, strategy="forward-mode"),
        NotImplementedError,
        "torch.autograd.functional.jacobian: `create_graph=True` and "
        '`strategy="forward-mode"` are not supported together (yet). Please either set '
        '`create_graph=False` or `strategy="reverse-mode"`.',
    ),
    (
        "forward-mode strict",
        lambda: jacobian(lambda t: t, X, strict=True, strategy="forward-mode"),
        RuntimeError,
        'torch.autograd.functional.jacobian: `strict=True` and `strategy="forward-mode"` are '
        "not supported together (yet). Please either set `strict=False` or "
        '`strategy="reverse-mode"`.',
    ),
    (
        "forward-mode without vectorize",
        lambda: jacobian(lambda t: t, X, strategy="forward-mode"),
        NotImplementedError,
        "Computing Jacobian using forward-AD or forward-over-reverse Hessian is"
        "only implemented for `vectorize=True`.",
    ),
    (
        "hessian forward-mode without vectorize",
        lambda: hessian(lambda t: t.sum(), X, outer_jacobian_strategy="forward-mode"),
        NotImplementedError,
        "Computing Jacobian using forward-AD or forward-over-reverse Hessian is"
        "only implemented for `vectorize=True`.",
    ),
    (
        "vectorize with strict",
        lambda: jacobian(lambda t: t * t, X, strict=True, vectorize=True),
        RuntimeError,
        "torch.autograd.functional.jacobian: `strict=True` and `vectorized=True` are not "
        "supported together. Please either set `strict=False` or `vectorize=False`.",
    ),
]


@pytest.mark.parametrize(
    ("call", "exc", "message"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS]
)
def test_error_type_and_exact_message(call, exc, message):
    with raises(exc, message):
        call()


def test_strict_passes_when_everything_is_connected():
    # the strict checks do not fire for a function that depends on every input non-linearly
    x, y = vec(1.0, 2.0), vec(3.0)
    f = lambda a, b: (a**2 * b**2).sum()  # noqa: E731
    # H = [[2 b^2 I, 4 a b], [4 a b^T, 2 |a|^2]] at a = (1, 2), b = 3
    h = hessian(f, (x, y), strict=True, create_graph=True)
    assert h[0][0].tolist() == [[18.0, 0.0], [0.0, 18.0]]
    assert h[0][1].tolist() == [[12.0], [24.0]]
    assert h[1][1].tolist() == [[10.0]]
    _, (pa, pb) = hvp(f, (x, y), (x, y), strict=True)
    # H (a, b) = (2 b^2 a + 4 a b b, 4 b a.a + 2 |a|^2 b) = (18a + 36a, 60 + 30) = (54a, 90)
    assert (pa.tolist(), pb.tolist()) == ([54.0, 108.0], [90.0])


def test_hessian_of_relu_is_zeros_even_in_strict_mode():
    # As in PyTorch, grad(relu(x).sum(), x, create_graph=True) requires grad (its second
    # derivative is zero but connected), so strict mode passes and gives zeros.
    h = hessian(lambda t: t.relu().sum(), vec(1.0, -2.0), strict=True)
    assert h.tolist() == [[0.0, 0.0], [0.0, 0.0]]


# --- PyTorch as the oracle -----------------------------------------------------------------------


def normalise(text: str) -> str:
    """PyTorch's text with this library's names for dtypes and sizes (as autodiff prints)."""
    return text.replace("torch.Size", "autodiff.Size").replace("dtype=torch.", "dtype=autodiff.")


def run_both(call: Callable[[Any, Any], Any]) -> tuple[str, str]:
    real = pytest.importorskip("torch")
    import torch.autograd.functional as torch_functional

    results = []
    for lib, module in ((real, torch_functional), (autodiff, functional)):
        try:
            value = call(lib, module)
            results.append(repr(value))
        except Exception as e:  # noqa: BLE001 - the type is part of what is compared
            results.append(f"{type(e).__name__}: {e}")
    return normalise(results[0]), results[1]


def _x(lib: Any) -> Any:
    return lib.tensor([0.5, -1.25], dtype=lib.float64)


def _y(lib: Any) -> Any:
    return lib.tensor([[0.25, 2.0, -0.5]], dtype=lib.float64)


ORACLE_CALLS: dict[str, Callable[[Any, Any], Any]] = {
    "jacobian": lambda lib, m: m.jacobian(lambda a: a.exp() * a.sum(), _x(lib)),
    "jacobian tuple in out": lambda lib, m: m.jacobian(
        lambda a, b: (a.sum() * b, (a**2).sum()), (_x(lib), _y(lib))
    ),
    "jacobian float32": lambda lib, m: m.jacobian(lambda a: a.sin(), lib.tensor([0.5, 1.0])),
    "jacobian create_graph": lambda lib, m: (
        m.jacobian(lambda a: a**3, _x(lib), create_graph=True).requires_grad
    ),
    "hessian": lambda lib, m: m.hessian(lambda a: (a.sin() * a.exp()).sum(), _x(lib)),
    "hessian tuple": lambda lib, m: m.hessian(
        lambda a, b: (a.sum() * b**2).sum(), (_x(lib), _y(lib))
    ),
    "vjp": lambda lib, m: m.vjp(lambda a: a.tanh() * 2, _x(lib), _x(lib)),
    "vjp tuple": lambda lib, m: m.vjp(
        lambda a, b: (a * b.sum(), b.exp()), (_x(lib), _y(lib)), (_x(lib), _y(lib))
    ),
    "jvp": lambda lib, m: m.jvp(lambda a: a.sigmoid(), _x(lib), _x(lib)),
    "jvp tuple": lambda lib, m: m.jvp(
        lambda a, b: (a * b.sum(), b.exp()), (_x(lib), _y(lib)), (_x(lib), _y(lib))
    ),
    "vhp": lambda lib, m: m.vhp(lambda a: (a**3).sum() * a.sum(), _x(lib), _x(lib)),
    "hvp tuple": lambda lib, m: m.hvp(
        lambda a, b: (a.sum() * b**2).sum(), (_x(lib), _y(lib)), (_x(lib), _y(lib))
    ),
    "non-strict zeros": lambda lib, m: m.vjp(lambda a, b: a.sum(), (_x(lib), _y(lib))),
    "jvp of sign": lambda lib, m: m.jvp(lambda a: (a * 2, a.sign()), _x(lib), _x(lib)),
    "vectorize": lambda lib, m: m.jacobian(lambda a: a.exp(), _x(lib), vectorize=True),
    "err list inputs": lambda lib, m: m.hessian(lambda a: a.sum(), [_x(lib)]),
    "err v size": lambda lib, m: m.vjp(lambda a: a, _x(lib), _y(lib)),
    "err v entry": lambda lib, m: m.jvp(lambda a, b: a, (_x(lib), _y(lib)), (_x(lib), _x(lib))),
    "err v length": lambda lib, m: m.vhp(lambda a, b: a.sum(), (_x(lib), _y(lib)), (_x(lib),)),
    "err v none": lambda lib, m: m.vjp(lambda a: a, _x(lib)),
    "err strict output": lambda lib, m: m.jvp(lambda a: a.detach(), _x(lib), _x(lib), strict=True),
    "err strict input": lambda lib, m: m.jacobian(lambda a, b: a, (_x(lib), _y(lib)), strict=True),
    "err strict linear hessian": lambda lib, m: m.hessian(lambda a: a.sum(), _x(lib), strict=True),
    "err strict back trick": lambda lib, m: m.jvp(
        lambda a: (a * 2, a.sign()), _x(lib), _x(lib), strict=True
    ),
    "err strict vhp create_graph": lambda lib, m: m.vhp(
        lambda a: (a * a).sum(), _x(lib), _x(lib), strict=True, create_graph=True
    ),
    "err hessian vector": lambda lib, m: m.hessian(lambda a: a, _x(lib)),
    "err hvp tuple": lambda lib, m: m.hvp(lambda a: (a.sum(),), _x(lib), _x(lib)),
    "err strategy": lambda lib, m: m.jacobian(lambda a: a, _x(lib), strategy="x"),
    "err forward no vectorize": lambda lib, m: m.jacobian(
        lambda a: a, _x(lib), strategy="forward-mode"
    ),
    "err forward create_graph": lambda lib, m: m.jacobian(
        lambda a: a, _x(lib), strategy="forward-mode", create_graph=True
    ),
    "err vectorize strict": lambda lib, m: m.jacobian(
        lambda a: a * a, _x(lib), strict=True, vectorize=True
    ),
}


@pytest.mark.parametrize("name", list(ORACLE_CALLS))
def test_same_result_or_error_as_torch(name):
    expected, actual = run_both(ORACLE_CALLS[name])
    assert actual == expected


def test_random_jacobians_and_hessians_agree_with_torch(rng):
    real = pytest.importorskip("torch")
    import torch.autograd.functional as torch_functional

    for name, fn in {**SCALAR_FNS, **VECTOR_FNS}.items():
        x = rng.uniform(-1.5, 1.5, size=(2, 3))
        mine = arr(jacobian(fn, autodiff.tensor(x, dtype=F64)))
        theirs = torch_functional.jacobian(fn, real.tensor(x, dtype=real.float64)).numpy()
        np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=1e-12, err_msg=name)
    for name, fn in SCALAR_FNS.items():
        x = rng.uniform(-1.5, 1.5, size=(3,))
        mine = arr(hessian(fn, autodiff.tensor(x, dtype=F64)))
        theirs = torch_functional.hessian(fn, real.tensor(x, dtype=real.float64)).numpy()
        np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=1e-12, err_msg=name)


# --- PyTorch's quirks that the implementation must keep -------------------------------------------


def output_two_is_linear(a: Any, b: Any) -> Any:
    # d(a * sum b)/da and /db depend on the inputs; d(2a)/da = 2 has no graph of its own
    return a * b.sum(), a * 2


def test_strict_create_graph_jacobian_error_names_the_output_not_the_input():
    # The constant block is d(output 1)/d(input 0); PyTorch's message says "input 1".
    with raises(
        RuntimeError,
        "The jacobian of the user-provided function is independent of input 1. This is not "
        "allowed in strict mode when create_graph=True.",
    ):
        jacobian(output_two_is_linear, (X, Y), strict=True, create_graph=True)


def test_strict_create_graph_jacobian_error_is_torchs():
    expected, actual = run_both(
        lambda lib, m: m.jacobian(
            output_two_is_linear, (_x(lib), _y(lib)), strict=True, create_graph=True
        )
    )
    assert actual == expected
