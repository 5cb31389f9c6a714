"""``autodiff.autograd.gradcheck``: PyTorch's ``gradcheck`` and ``gradgradcheck``.

``gradcheck`` compares, for every differentiable output and every input that requires
grad, the Jacobian computed by the engine (one ``autograd.grad`` call per output element,
done twice to catch non-determinism) with a numerical Jacobian from central finite
differences, ``(f(x + eps e_k) - f(x - eps e_k)) / 2 eps``. The perturbation is written in
place into ``input.data``, which shares the input's storage but not its version counter, so
``func`` sees the very tensor objects it was given and graphs saved from them stay valid.
``gradgradcheck`` runs ``gradcheck`` on the function ``(inputs, grad_outputs) -> grad``.

Both return ``True`` or raise :class:`GradcheckError` (``False`` with
``raise_exception=False``), with PyTorch's messages. The Jacobians in a mismatch message
have one row per input element and one column per output element, as in PyTorch.

Options that need machinery ``autodiff`` does not have raise ``NotImplementedError`` when
set to ``True``: ``check_forward_ad``, ``check_batched_forward_grad`` and
``check_fwd_over_rev`` (no forward-mode AD), ``check_batched_grad`` (no vmap) and
``fast_mode``. ``check_undefined_grad`` is accepted and ignored: ``autodiff`` has no
undefined-gradient value for a backward function to receive (the all-zero ``grad_output``
check that always runs covers the zero case). ``masked`` is accepted and ignored, as there are
no sparse tensors.

>>> import autodiff
>>> from autodiff.autograd.gradcheck import gradcheck
>>> x = autodiff.tensor([0.5, 1.5], dtype=autodiff.float64, requires_grad=True)
>>> gradcheck(lambda t: (t.sin() * t).sum(), (x,))
True
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Callable, Union

from .. import _C

# NumPy is imported inside the functions that use it, so that importing this module from
# ``autodiff.autograd`` does not make ``import autodiff`` load NumPy.
if TYPE_CHECKING:
    import numpy as np

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]

Tensor = _C.Tensor
_TensorOrTensors = Union[_C.Tensor, Sequence[_C.Tensor]]
_Func = Callable[..., Any]


class GradcheckError(RuntimeError):
    """Raised by :func:`gradcheck` and :func:`gradgradcheck` when a check fails."""


_NONDET_NOTE = (
    "\n\nNOTE: if the backward pass legitimately relies on non-deterministic operations, "
    "call gradcheck/gradgradcheck with `nondet_tol=<tol>` as a keyword argument."
)


def _as_tuple(x: Any) -> tuple[Any, ...]:
    if isinstance(x, tuple):
        return x
    if isinstance(x, list):
        return tuple(x)
    return (x,)


def _differentiable_outputs(x: Any) -> tuple[Tensor, ...]:
    return tuple(o for o in _as_tuple(x) if o.requires_grad)


def _is_float_tensor(x: Any) -> bool:
    return isinstance(x, Tensor) and x.is_floating_point()


def _np_dtype(dtype: Any) -> type:
    import numpy as np

    return np.float64 if dtype == _C.float64 else np.float32


def _to_numpy(t: Tensor) -> np.ndarray:
    import numpy as np

    return np.asarray(t.detach().numpy())


def _check_inputs(tupled_inputs: tuple[Any, ...]) -> None:
    """At least one input must require grad; warn for each one that is not float64."""
    any_requiring_grad = False
    for idx, inp in enumerate(tupled_inputs):
        if not (isinstance(inp, Tensor) and inp.requires_grad):
            continue
        if inp.dtype != _C.float64:
            warnings.warn(
                f"Input #{idx} requires gradient and is not a double precision floating point "
                "or complex. This check will likely fail if all the inputs are not of double "
                "precision floating point or complex. ",
                stacklevel=3,
            )
        if not all(st > 0 or sz <= 1 for st, sz in zip(inp.stride(), inp.size())):
            raise RuntimeError(
                f"The {idx}th input has a dimension with stride 0. gradcheck only supports "
                "inputs that are non-overlapping to be able to compute the numerical gradients "
                "correctly. You should call .contiguous on the input before passing it to "
                "gradcheck."
            )
        any_requiring_grad = True
    if not any_requiring_grad:
        raise ValueError(
            "gradcheck expects at least one input tensor to require gradient, but none of "
            "them have requires_grad=True."
        )


def _check_same_dtype_and_shape(a: Tensor, b: Tensor, eps: float, idx: tuple[int, ...]) -> None:
    on_index = f"on index {idx} "
    if a.shape != b.shape:
        raise AssertionError(
            "Expected `func` to return outputs with the same shape when inputs are perturbed "
            f"{on_index}by {eps}, but got: shapes {a.shape} and {b.shape}."
        )
    if a.dtype != b.dtype:
        raise AssertionError(
            "Expected `func` to return outputs with the same dtype when inputs are perturbed "
            f"{on_index}by {eps}, but got: dtypes {a.dtype} and {b.dtype}."
        )


def _numerical_jacobian(
    func: _Func, tupled_inputs: tuple[Any, ...], func_out: tuple[Any, ...], eps: float
) -> list[list[np.ndarray | None]]:
    """``result[k][i]``: the Jacobian of output ``i`` with respect to the ``k``-th input that
    requires grad, shape ``(input.numel(), output.numel())`` in the output's dtype (None for
    an output that is not a float tensor)."""
    import numpy as np

    def evaluate() -> tuple[Any, ...]:
        return tuple(
            o.clone() if isinstance(o, Tensor) else o for o in _as_tuple(func(*tupled_inputs))
        )

    result = []
    for inp in tupled_inputs:
        if not (isinstance(inp, Tensor) and inp.requires_grad):
            continue
        columns: list[list[np.ndarray]] = [[] for _ in func_out]
        entry = inp.data  # same storage, own version counter: no version bump on `inp`
        for idx in itertools.product(*(range(n) for n in inp.shape)):
            orig = entry[idx].clone()
            try:
                entry[idx] = orig - eps
                before = evaluate()
                entry[idx] = orig + eps
                after = evaluate()
            finally:  # the input is restored even if func raises
                entry[idx] = orig
            for i, (a, b) in enumerate(zip(before, after)):
                if not _is_float_tensor(a):
                    continue
                _check_same_dtype_and_shape(a, b, eps, idx)
                columns[i].append(_to_numpy(((b - a) / (2 * eps)).reshape(-1)))
        jacobians: list[np.ndarray | None] = []
        for out, cols in zip(func_out, columns):
            if not _is_float_tensor(out):
                jacobians.append(None)
                continue
            jac = np.zeros((inp.numel(), out.numel()), dtype=_np_dtype(out.dtype))
            for row, col in enumerate(cols):
                jac[row] = col
            jacobians.append(jac)
        result.append(jacobians)
    return result


def _vjp(output: Tensor, inputs: list[Tensor], grad_output: Tensor) -> tuple[Any, ...]:
    """``grad_output^T J`` for every input (None where unused), keeping the graph."""
    from . import grad  # deferred: ``autodiff.autograd`` may import this module

    return grad(output, inputs, grad_output, retain_graph=True, allow_unused=True)


def _analytical_jacobian_once(
    output: Tensor, diff_inputs: list[Tensor]
) -> tuple[list[np.ndarray], bool, bool]:
    """The Jacobians of ``output`` with respect to each input, one backward per output
    element, with flags for whether every gradient had the input's size and dtype."""
    import numpy as np

    jacobians: list[np.ndarray] = [
        np.zeros((inp.numel(), output.numel()), dtype=_np_dtype(inp.dtype)) for inp in diff_inputs
    ]
    sizes_ok = True
    types_ok = True
    for j in range(output.numel()):
        basis = _C.zeros(output.numel(), dtype=output.dtype)
        basis[j] = 1.0
        grads = _vjp(output, diff_inputs, basis.reshape(output.shape))
        for jac, g, inp in zip(jacobians, grads, diff_inputs):
            if g is None:
                continue
            if g.size() != inp.size():
                sizes_ok = False
                continue
            if g.dtype != inp.dtype:
                types_ok = False
            jac[:, j] = _to_numpy(g).reshape(-1)
    return jacobians, sizes_ok, types_ok


def _analytical_jacobian(
    output: Tensor, diff_inputs: list[Tensor], nondet_tol: float, check_grad_dtypes: bool
) -> list[np.ndarray]:
    import numpy as np

    first, sizes_ok, types_ok = _analytical_jacobian_once(output, diff_inputs)
    second, _, _ = _analytical_jacobian_once(output, diff_inputs)
    reentrant = all(
        a.size == 0 or float(np.max(np.abs(a.astype(np.float64) - b))) <= nondet_tol
        for a, b in zip(first, second)
    )
    if not types_ok and check_grad_dtypes:
        raise GradcheckError("Gradient has dtype mismatch")
    if not sizes_ok:
        raise GradcheckError("Analytical gradient has incorrect size")
    if not reentrant:
        raise GradcheckError(
            "Backward is not reentrant, i.e., running backward with same input and "
            "grad_output multiple times gives different values, although analytical gradient "
            f"matches numerical gradient.The tolerance for nondeterminism was {nondet_tol}."
            + _NONDET_NOTE
        )
    return first


def _allclose(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> bool:
    """``torch.allclose(a, b)`` after promoting both to a common dtype."""
    import numpy as np

    common = np.result_type(a.dtype, b.dtype)
    return bool(np.allclose(a.astype(common), b.astype(common), rtol=rtol, atol=atol))


def _as_tensor(array: np.ndarray) -> Tensor:
    import numpy as np

    return _C.tensor(array, dtype=_C.float64 if array.dtype == np.float64 else _C.float32)


def _slow_gradcheck(
    func: _Func,
    func_out: Any,
    tupled_inputs: tuple[Any, ...],
    outputs: tuple[Tensor, ...],
    eps: float,
    rtol: float,
    atol: float,
    check_grad_dtypes: bool,
    nondet_tol: float,
) -> None:
    import numpy as np

    func_out = _as_tuple(func_out)
    numerical = _numerical_jacobian(func, tupled_inputs, func_out, eps)
    if not outputs:
        # Nothing is differentiable: then the function must not depend on the inputs.
        for per_input in numerical:
            for jac in per_input:
                if jac is not None and np.any(jac != 0):
                    raise GradcheckError("Numerical gradient for function expected to be zero")
        return
    # numerical_by_output[i][k]: output i (among those that require grad), input k
    numerical_by_output = [
        [per_input[i] for per_input in numerical]
        for i, o in enumerate(func_out)
        if isinstance(o, Tensor) and o.requires_grad
    ]
    diff_inputs = [x for x in tupled_inputs if isinstance(x, Tensor) and x.requires_grad]
    for i, out in enumerate(outputs):
        analytical = _analytical_jacobian(out, diff_inputs, nondet_tol, check_grad_dtypes)
        for k, (a, n) in enumerate(zip(analytical, numerical_by_output[i])):
            assert n is not None  # an output that requires grad is a float tensor
            if not _allclose(a, n, rtol, atol):
                raise GradcheckError(
                    f"Jacobian mismatch for output {i:d} with respect to input {k:d},\n"
                    f"numerical:{_as_tensor(n)}\nanalytical:{_as_tensor(a)}\n"
                )


def _test_backward_mul_by_grad_output(
    outputs: tuple[Tensor, ...], tupled_inputs: tuple[Any, ...]
) -> None:
    """Backward with all-zero ``grad_output`` must give zero gradients of the right kind."""
    import numpy as np

    from . import grad

    if not outputs:
        return
    diff_inputs = [x for x in tupled_inputs if isinstance(x, Tensor) and x.requires_grad]
    grads = grad(outputs, diff_inputs, [_C.zeros_like(o) for o in outputs], allow_unused=True)
    for g, inp in zip(grads, diff_inputs):
        if g is None:
            continue
        if np.any(_to_numpy(g) != 0):
            raise GradcheckError("backward not multiplied by grad_output")
        if g.dtype != inp.dtype:
            raise GradcheckError("grad is incorrect type")
        if g.size() != inp.size():
            raise GradcheckError("grad is incorrect size")


def _unsupported(function: str, option: str, reason: str) -> NotImplementedError:
    return NotImplementedError(
        f"{function}({option}=True) is not supported: {reason}. Pass {option}=False (the default)."
    )


def gradcheck(
    func: _Func,
    inputs: _TensorOrTensors,
    *,
    eps: float = 1e-06,
    atol: float = 1e-05,
    rtol: float = 0.001,
    raise_exception: bool = True,
    nondet_tol: float = 0.0,
    check_undefined_grad: bool = True,
    check_grad_dtypes: bool = False,
    check_batched_grad: bool = False,
    check_batched_forward_grad: bool = False,
    check_forward_ad: bool = False,
    check_backward_ad: bool = True,
    fast_mode: bool = False,
    masked: bool | None = None,
) -> bool:
    """Check the engine's gradients of ``func`` at ``inputs`` against finite differences.

    Every input that requires grad is checked (use float64: other dtypes warn, as in
    PyTorch); non-tensor inputs are passed through. A mismatch, in the sense of
    ``allclose(analytical, numerical, rtol, atol)``, raises :class:`GradcheckError` naming
    the output and input (both counted among the differentiable ones) with both Jacobians,
    or returns False if ``raise_exception=False``. The backward pass is run twice and must
    agree to ``nondet_tol``. See the module docstring for the options that are not
    supported.

    >>> import autodiff
    >>> from autodiff.autograd.gradcheck import gradcheck
    >>> a = autodiff.tensor([1.0, 2.0], dtype=autodiff.float64, requires_grad=True)
    >>> b = autodiff.tensor([3.0, 4.0], dtype=autodiff.float64, requires_grad=True)
    >>> gradcheck(lambda a, b: (a * b.exp(), a / b), (a, b))
    True
    >>> wrong = lambda t: t + (t**2 - t).detach()  # value t**2, gradient 1
    >>> gradcheck(wrong, (a,), raise_exception=False)
    False
    """
    if not (check_forward_ad or check_backward_ad):
        raise AssertionError(
            "Expected at least one of check_forward_ad or check_backward_ad to be True"
        )
    if check_batched_grad and not check_backward_ad:
        raise AssertionError(
            "Setting check_batched_grad=True requires check_backward_ad to be True"
        )
    if check_batched_forward_grad and not check_forward_ad:
        raise AssertionError(
            "Setting check_batched_forward_grad=True requires check_forward_ad to be True"
        )
    no_forward = "autodiff has no forward-mode AD"
    if check_forward_ad:
        raise _unsupported("gradcheck", "check_forward_ad", no_forward)
    if check_batched_forward_grad:
        raise _unsupported("gradcheck", "check_batched_forward_grad", no_forward)
    if check_batched_grad:
        raise _unsupported("gradcheck", "check_batched_grad", "autodiff has no vmap")
    if fast_mode:
        raise _unsupported(
            "gradcheck", "fast_mode", "autodiff only implements the full-Jacobian check"
        )
    try:
        tupled_inputs = _as_tuple(inputs)
        _check_inputs(tupled_inputs)
        func_out = func(*tupled_inputs)
        outputs = _differentiable_outputs(func_out)
        _slow_gradcheck(
            func,
            func_out,
            tupled_inputs,
            outputs,
            eps,
            rtol,
            atol,
            check_grad_dtypes,
            nondet_tol,
        )
        _test_backward_mul_by_grad_output(outputs, tupled_inputs)
    except GradcheckError:
        if raise_exception:
            raise
        return False
    return True


def _random_grad_output(like: Tensor, noncontiguous: bool) -> Tensor:
    """Uniform in [-1, 1), a leaf that requires grad (``torch.testing.make_tensor``)."""
    dtype = like.dtype if like.is_floating_point() else _C.float64
    shape = tuple(like.shape)
    from .grad_mode import no_grad

    with no_grad():
        if noncontiguous and like.numel() > 1:
            wide = shape[:-1] + (2 * shape[-1],)
            out = (_C.rand(wide, dtype=dtype) * 2 - 1)[..., ::2]
        else:
            out = _C.rand(shape, dtype=dtype) * 2 - 1
    return out.requires_grad_()


def gradgradcheck(
    func: _Func,
    inputs: _TensorOrTensors,
    grad_outputs: _TensorOrTensors | None = None,
    *,
    eps: float = 1e-06,
    atol: float = 1e-05,
    rtol: float = 0.001,
    gen_non_contig_grad_outputs: bool = False,
    raise_exception: bool = True,
    nondet_tol: float = 0.0,
    check_undefined_grad: bool = True,
    check_grad_dtypes: bool = False,
    check_batched_grad: bool = False,
    check_fwd_over_rev: bool = False,
    check_rev_over_rev: bool = True,
    fast_mode: bool = False,
    masked: bool = False,
) -> bool:
    """Check second derivatives: :func:`gradcheck` of the backward pass of ``func``.

    The checked function maps ``(inputs, grad_outputs)`` to the gradients of ``func``'s
    outputs, weighted by ``grad_outputs``, with respect to the inputs that require grad,
    computed with ``create_graph=True``; its Jacobian is checked with respect to both the
    inputs and the ``grad_outputs`` that require grad. Without ``grad_outputs``, random ones
    uniform in [-1, 1) are drawn (non-contiguous if ``gen_non_contig_grad_outputs``).

    >>> import autodiff
    >>> from autodiff.autograd.gradcheck import gradgradcheck
    >>> x = autodiff.tensor([0.5, 1.5], dtype=autodiff.float64, requires_grad=True)
    >>> gradgradcheck(lambda t: t.tanh() * t.exp(), (x,))
    True
    """
    if not (check_fwd_over_rev or check_rev_over_rev):
        raise AssertionError(
            "Expected at least one of check_fwd_over_rev or check_rev_over_rev to be True"
        )
    if check_undefined_grad and not check_rev_over_rev:
        raise AssertionError(
            "Setting check_undefined_grad=True requires check_rev_over_rev to be True"
        )
    if check_batched_grad and not check_rev_over_rev:
        raise AssertionError(
            "Setting check_batched_grad=True requires check_rev_over_rev to be True"
        )
    if check_fwd_over_rev:
        raise _unsupported("gradgradcheck", "check_fwd_over_rev", "autodiff has no forward-mode AD")
    if check_batched_grad:
        raise _unsupported("gradgradcheck", "check_batched_grad", "autodiff has no vmap")
    if fast_mode:
        raise _unsupported(
            "gradgradcheck", "fast_mode", "autodiff only implements the full-Jacobian check"
        )

    from . import grad

    tupled_inputs = _as_tuple(inputs)
    if grad_outputs is None:
        outputs = _differentiable_outputs(func(*tupled_inputs))
        tupled_grad_outputs: tuple[Any, ...] = tuple(
            _random_grad_output(o, gen_non_contig_grad_outputs) for o in outputs
        )
    else:
        tupled_grad_outputs = _as_tuple(grad_outputs)
    num_outputs = len(tupled_grad_outputs)
    diff_input_indices = {
        i for i, x in enumerate(tupled_inputs) if isinstance(x, Tensor) and x.requires_grad
    }
    diff_grad_output_indices = {
        i for i, x in enumerate(tupled_grad_outputs) if x is not None and x.requires_grad
    }

    def first_derivative(*args: Any) -> tuple[Tensor, ...]:
        input_args = tuple(
            x.requires_grad_() if i in diff_input_indices else x
            for i, x in enumerate(args[: len(args) - num_outputs])
        )
        outs = _differentiable_outputs(func(*input_args))
        grad_outs = tuple(
            x.requires_grad_() if i in diff_grad_output_indices else x
            for i, x in enumerate(args[len(args) - num_outputs :])
        )
        diff_input_args = [x for i, x in enumerate(input_args) if i in diff_input_indices]
        grads = grad(outs, diff_input_args, grad_outs, create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(
        first_derivative,
        tupled_inputs + tupled_grad_outputs,
        eps=eps,
        atol=atol,
        rtol=rtol,
        raise_exception=raise_exception,
        nondet_tol=nondet_tol,
        check_undefined_grad=check_undefined_grad,
        check_grad_dtypes=check_grad_dtypes,
        check_batched_grad=check_batched_grad,
        fast_mode=fast_mode,
        check_forward_ad=check_fwd_over_rev,
        check_backward_ad=check_rev_over_rev,
        masked=masked,
    )
