"""``autodiff.autograd.functional``: PyTorch's ``torch.autograd.functional`` API.

Higher-level derivatives of a Python function of tensors, built on
:func:`autodiff.autograd.grad`: vector-Jacobian and Jacobian-vector products (``vjp``,
``jvp``), full Jacobians (``jacobian``), Hessians (``hessian``) and Hessian-vector products
(``vhp``, ``hvp``). Signatures, defaults, the tuple-or-tensor structure of the results, the
``strict`` checks and every error type and message follow PyTorch.

How ``autodiff`` differs:

- There is no forward-mode AD, so ``jvp`` and ``hvp`` use the double-backward trick (as
  PyTorch's versions do), and ``jacobian(..., strategy="forward-mode", vectorize=True)``
  raises ``NotImplementedError`` (PyTorch's own errors for the other forward-mode cases are
  kept).
- There is no ``vmap``: ``vectorize=True`` computes the Jacobian row by row, exactly as
  ``vectorize=False`` does, so the results are identical; it only keeps PyTorch's
  ``strict=True`` and ``vectorize=True`` error.

>>> import autodiff
>>> from autodiff.autograd import functional
>>> functional.jacobian(lambda x: 3 * x**2, autodiff.tensor([1.0, 2.0]))
tensor([[ 6.,  0.],
        [ 0., 12.]])
"""

from __future__ import annotations

import functools
from typing import Any, Callable, NamedTuple, Optional, Union

from .. import _C
from .grad_mode import enable_grad, is_grad_enabled, set_grad_enabled

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]

Tensor = _C.Tensor
_TensorOrTensors = Union[_C.Tensor, tuple[_C.Tensor, ...]]
# A result: a tensor, a tuple of tensors, or a tuple of tuples of tensors (jacobian, hessian).
_Result = Any
_Func = Callable[..., Any]
_Message = Callable[[int], str]  # the text of a strict-mode error, given the offending index
_Grads = tuple[Optional[_C.Tensor], ...]


# --- tensors in, tensors out ------------------------------------------------------------------


class _Packed(NamedTuple):
    """The caller's tensor or tuple of tensors, as a tuple, and which of the two it was."""

    tensors: tuple[Tensor, ...]
    was_tuple: bool

    def mirror(self, results: tuple[Any, ...]) -> Any:
        """One result per tensor, given back in the caller's form: a tuple or a lone result."""
        return results if self.was_tuple else results[0]


def _pack(value: Any, what: str, fn_name: str) -> _Packed:
    # A list is one non-tensor value, not a sequence of tensors (PyTorch's rule).
    was_tuple = isinstance(value, tuple)
    tensors: tuple[Any, ...] = value if was_tuple else (value,)
    for index, item in enumerate(tensors):
        if not isinstance(item, Tensor):
            culprit = f"the value at index {index}" if was_tuple else f"the given {what}"
            raise TypeError(
                f"The {what} given to {fn_name} must be either a Tensor or a tuple of Tensors "
                f"but {culprit} has type {type(item)}."
            )
    return _Packed(tensors, was_tuple)


def _fresh(
    tensors: tuple[Tensor, ...], create_graph: bool, requires_grad: bool
) -> tuple[Tensor, ...]:
    """New tensor objects with the same values, so that the ones we differentiate with respect
    to are not the ones ``func`` may have captured. Under ``create_graph`` a view keeps the
    caller's graph; otherwise a detached alias that requires grad iff ``requires_grad``."""
    return tuple(
        t.view(t.shape)
        if create_graph and t.requires_grad
        else t.detach().requires_grad_(requires_grad)
        for t in tensors
    )


def _packed_inputs(inputs: Any, fn_name: str, create_graph: bool) -> _Packed:
    packed = _pack(inputs, "inputs", fn_name)
    return _Packed(_fresh(packed.tensors, create_graph, requires_grad=True), packed.was_tuple)


def _call(func: _Func, args: _Packed, fn_name: str, strict: bool) -> _Packed:
    outputs = _pack(func(*args.tensors), "outputs of the user-provided function", fn_name)
    if strict:
        for index, out in enumerate(outputs.tensors):
            if not out.requires_grad:
                raise RuntimeError(
                    f"Output {index} of the user-provided function does not require gradients. "
                    "The outputs must be computed in a differentiable manner from the input "
                    "when running in strict mode."
                )
    return outputs


def _call_scalar(func: _Func, args: _Packed, fn_name: str, strict: bool) -> _Packed:
    """``_call`` for the Hessian family, whose ``func`` must return one one-element tensor."""
    outputs = _call(func, args, fn_name, strict)
    if outputs.was_tuple:
        raise RuntimeError(f"The function given to {fn_name} should return a single Tensor")
    if outputs.tensors[0].numel() != 1:
        raise RuntimeError(
            f"The Tensor returned by the function given to {fn_name} should contain a single "
            "element"
        )
    return outputs


# What ``v`` is shaped like, in the words of PyTorch's message for a missing ``v``.
_ROLE_OF_OUTPUT = "the user-provided function returns"
_ROLE_OF_INPUT = "the input to the user-provided function is"


def _vector(
    v: Any, like: _Packed, fn_name: str, create_graph: bool, like_role: str
) -> tuple[Tensor, ...] | None:
    """``v`` as a tuple shaped as ``like``; ``None`` only stands for 1 when ``like`` is a single
    one-element tensor (``like_role`` says in PyTorch's words what ``like`` is)."""
    if v is None:
        if len(like.tensors) != 1 or like.tensors[0].numel() != 1:
            raise RuntimeError(
                f"The vector v can only be None if {like_role} a single Tensor with a single "
                "element."
            )
        return None
    vs = _fresh(_pack(v, "v", fn_name).tensors, create_graph, requires_grad=False)
    if len(vs) != len(like.tensors):
        if like.was_tuple:
            raise RuntimeError(
                f"v is a tuple of invalid length: should be {len(like.tensors)} but got {len(vs)}."
            )
        raise RuntimeError("The given v should contain a single Tensor.")
    for index, (v_i, like_i) in enumerate(zip(vs, like.tensors)):
        if v_i.size() != like_i.size():
            where = f"Entry {index} in " if like.was_tuple else ""
            raise RuntimeError(
                f"{where}v has invalid size: should be {like_i.size()} but got {v_i.size()}."
            )
    return vs


# --- strict mode ---------------------------------------------------------------------------------
# PyTorch's texts, as templates of the offending index.

_INDEPENDENT_OUTPUT = (
    "The output of the user-provided function is independent of input {}. This is not allowed "
    "in strict mode."
)
_CONSTANT_UNDER_CREATE_GRAPH = (
    "The {} of the user-provided function is independent of input {}. This is not allowed in "
    "strict mode when create_graph=True."
)
# What strict mode reports when the final product of each function misses a tensor, and which
# derivative a product without a graph of its own is said to be under ``create_graph``.
_PRODUCTS: dict[str, tuple[str, str]] = {
    "vjp": (_INDEPENDENT_OUTPUT, "jacobian"),
    "jvp": (
        "The gradient with respect to the input is independent of entry {} in the grad_outputs "
        "when using the double backward trick to compute forward mode gradients. This is not "
        "allowed in strict mode.",
        "jacobian",
    ),
    "vhp": (
        "The jacobian of the user-provided function is independent of input {}. This is not "
        "allowed in strict mode.",
        "hessian",
    ),
    "hvp": (
        "The hessian of the user-provided function is independent of entry {} in the "
        "grad_jacobian. This is not allowed in strict mode as it prevents from using the double "
        "backward trick to replace forward mode AD.",
        "hessian",
    ),
}
# An intermediate gradient that the next pass differentiates again must depend on the inputs.
_CONSTANT_GRADIENT = (
    "The gradient with respect to input {} is independent of the inputs of the user-provided "
    "function. This is not allowed in strict mode."
)
_CONSTANT_JACOBIAN = (
    "While computing the hessian, found that the jacobian of the user-provided function with "
    "respect to input {} is independent of the input. This is not allowed in strict mode. You "
    "should ensure that your function is twice differentiable and that the jacobian depends on "
    "the inputs (this would be violated by a linear function for example)."
)


def _check_differentiable_again(grads: Any, strict: bool, constant: str) -> None:
    if not strict:
        return
    for index, grad in enumerate(grads):
        if grad is None:
            raise RuntimeError(_INDEPENDENT_OUTPUT.format(index))
        if not grad.requires_grad:
            raise RuntimeError(constant.format(index))


def _always(message: str) -> _Message:
    return lambda _index: message


# --- differentiation ----------------------------------------------------------------------------


def _differentiate(
    outputs: Any,
    wrt: tuple[Tensor, ...],
    cotangents: tuple[Tensor | None, ...] | None = None,
    *,
    create_graph: bool,
    retain_graph: bool | None = None,
) -> _Grads:
    """``autograd.grad`` of the outputs that are in a graph at all (None entries and constants
    are left out), with None for each tensor of ``wrt`` that none of them reaches."""
    from . import grad  # deferred: ``autodiff.autograd`` imports this module

    if cotangents is None:
        cotangents = (None,) * len(outputs)
    live = [
        (out, cot) for out, cot in zip(outputs, cotangents) if out is not None and out.requires_grad
    ]
    if not live:
        return (None,) * len(wrt)
    return grad(
        [out for out, _ in live],
        wrt,
        [cot for _, cot in live],
        retain_graph=retain_graph,
        create_graph=create_graph,
        allow_unused=True,
    )


def _grads_or_zeros(
    outputs: Any,
    wrt: tuple[Tensor, ...],
    cotangents: tuple[Tensor | None, ...] | None = None,
    *,
    create_graph: bool,
    retain_graph: bool | None = None,
    strict: bool,
    unreached: _Message,
    constant: _Message,
) -> tuple[Tensor, ...]:
    """``_differentiate`` with zeros for the tensors of ``wrt`` that the outputs do not reach.

    In strict mode such a tensor raises ``unreached(index)`` instead, and so does, with
    ``create_graph``, a gradient that has no graph of its own (``constant(index)``).
    """
    grads = _differentiate(
        outputs, wrt, cotangents, create_graph=create_graph, retain_graph=retain_graph
    )
    filled = []
    for index, (grad, ref) in enumerate(zip(grads, wrt)):
        if grad is None:
            if strict:
                raise RuntimeError(unreached(index))
            grad = _C.zeros_like(ref)
        elif strict and create_graph and not grad.requires_grad:
            raise RuntimeError(constant(index))
        filled.append(grad)
    return tuple(filled)


def _detached(results: tuple[Any, ...], create_graph: bool) -> tuple[Any, ...]:
    """``results`` (tensors, or tuples of them) cut from the graph unless ``create_graph``.
    The first entry tells the nesting apart, so an empty tuple fails as in PyTorch."""
    if not isinstance(results[0], Tensor):
        return tuple(_detached(r, create_graph) for r in results)
    return results if create_graph else tuple(r.detach() for r in results)


def _output_and_product(
    fn_name: str,
    outputs: _Packed,
    of: Any,
    wrt: tuple[Tensor, ...],
    v: tuple[Tensor, ...] | None,
    product_like: _Packed,
    create_graph: bool,
    strict: bool,
) -> tuple[_Result, _Result]:
    """The last pass of vjp, jvp, vhp and hvp: the gradient of ``of`` with respect to ``wrt``
    against ``v``, run in the caller's grad mode (or with one, for ``create_graph``). Returns
    ``(outputs, product)``, each in the caller's form."""
    unreached, derivative = _PRODUCTS[fn_name]
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        product = _grads_or_zeros(
            of,
            wrt,
            v,
            create_graph=create_graph,
            strict=strict,
            unreached=unreached.format,
            constant=functools.partial(_CONSTANT_UNDER_CREATE_GRAPH.format, derivative),
        )
    return (
        outputs.mirror(_detached(outputs.tensors, create_graph)),
        product_like.mirror(_detached(product, create_graph)),
    )


# --- public API ---------------------------------------------------------------------------------


def vjp(
    func: _Func,
    inputs: _TensorOrTensors,
    v: _TensorOrTensors | None = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[_Result, _Result]:
    """The product ``v^T J`` of a vector with the Jacobian of ``func`` at ``inputs``.

    Returns ``(func(*inputs), vjp)``; ``vjp`` has the structure and shapes of ``inputs``
    (a tensor, or a tuple if ``inputs`` is a tuple). ``v`` matches the outputs of ``func``
    and may be omitted when ``func`` returns a single one-element tensor. Without
    ``create_graph`` both results are detached; with ``strict`` an input that no output
    depends on is an error instead of a zero vjp.

    >>> import autodiff
    >>> from autodiff.autograd.functional import vjp
    >>> x = autodiff.tensor([1.0, 2.0])
    >>> vjp(lambda x: x**2, x, autodiff.tensor([1.0, 10.0]))
    (tensor([1., 4.]), tensor([ 2., 40.]))
    >>> vjp(lambda a, b: (a * b).sum(), (x, autodiff.tensor([3.0, 4.0])))
    (tensor(11.), (tensor([3., 4.]), tensor([1., 2.])))
    """
    with enable_grad():
        ins = _packed_inputs(inputs, "vjp", create_graph)
        outs = _call(func, ins, "vjp", strict)
        vs = _vector(v, outs, "vjp", create_graph, _ROLE_OF_OUTPUT)
    return _output_and_product(
        "vjp", outs, outs.tensors, ins.tensors, vs, ins, create_graph, strict
    )


def jvp(
    func: _Func,
    inputs: _TensorOrTensors,
    v: _TensorOrTensors | None = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[_Result, _Result]:
    """The product ``J v`` of the Jacobian of ``func`` at ``inputs`` with a vector.

    Returns ``(func(*inputs), jvp)``; ``jvp`` has the structure and shapes of the outputs.
    ``v`` matches ``inputs`` and may be omitted when the input is a single one-element
    tensor. It is computed, as in PyTorch, by the double-backward trick: ``J v`` is the
    gradient of ``u -> (J^T u) . v`` with respect to the cotangent ``u``.

    >>> import autodiff
    >>> from autodiff.autograd.functional import jvp
    >>> x = autodiff.tensor([1.0, 2.0])
    >>> jvp(lambda x: x**3, x, autodiff.tensor([1.0, 1.0]))
    (tensor([1., 8.]), tensor([ 3., 12.]))
    >>> jvp(lambda a, b: 2 * a + 3 * b, (x, x), (autodiff.ones(2), autodiff.ones(2)))
    (tensor([ 5., 10.]), tensor([5., 5.]))
    """
    with enable_grad():
        ins = _packed_inputs(inputs, "jvp", create_graph)
        vs = _vector(v, ins, "jvp", create_graph, _ROLE_OF_INPUT)
        outs = _call(func, ins, "jvp", strict)
        # J^T u is linear in u, so any u gives the same J v: zeros are finite.
        u = tuple(_C.zeros_like(out, requires_grad=True) for out in outs.tensors)
        jt_u = _differentiate(outs.tensors, ins.tensors, u, create_graph=True)
        _check_differentiable_again(jt_u, strict, _CONSTANT_GRADIENT)
    return _output_and_product("jvp", outs, jt_u, u, vs, outs, create_graph, strict)


def jacobian(
    func: _Func,
    inputs: _TensorOrTensors,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    strategy: str = "reverse-mode",
) -> _Result:
    """The Jacobian of ``func`` at ``inputs``, one reverse-mode pass per output element.

    ``jacobian[i][j]`` has shape ``outputs[i].shape + inputs[j].shape`` and the dtype of
    ``inputs[j]``; a level of the nesting is dropped when the outputs (outer) or the inputs
    (inner) are a single tensor rather than a tuple.

    ``vectorize=True`` is accepted and computes the same rows one by one (``autodiff`` has no
    vmap), so its results are identical to ``vectorize=False``; combined with ``strict=True``
    it raises PyTorch's error. ``strategy="forward-mode"`` raises PyTorch's errors where
    PyTorch cannot do it (``create_graph=True``, ``strict=True`` or ``vectorize=False``) and
    ``NotImplementedError`` otherwise, as ``autodiff`` has no forward-mode AD.

    >>> import autodiff
    >>> from autodiff.autograd.functional import jacobian
    >>> jacobian(lambda x: x.exp().sum(dim=0), autodiff.zeros(2, 2))
    tensor([[[1., 0.],
             [1., 0.]],
    <BLANKLINE>
            [[0., 1.],
             [0., 1.]]])
    >>> jacobian(lambda a, b: a * b, (autodiff.tensor(2.0), autodiff.tensor(5.0)))
    (tensor(5.), tensor(2.))
    """
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError(
            'Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your '
            'function has more outputs than inputs, "forward-mode" tends to be more '
            'performant. Otherwise, prefer to use "reverse-mode".'
        )
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError(
                "torch.autograd.functional.jacobian: `create_graph=True` and "
                '`strategy="forward-mode"` are not supported together (yet). Please either '
                'set `create_graph=False` or `strategy="reverse-mode"`.'
            )
        return _forward_mode_jacobian(func, inputs, strict, vectorize)

    with enable_grad():
        ins = _packed_inputs(inputs, "jacobian", create_graph)
        outs = _call(func, ins, "jacobian", strict)
        if vectorize and strict:
            raise RuntimeError(
                "torch.autograd.functional.jacobian: `strict=True` and `vectorized=True` are "
                "not supported together. Please either set `strict=False` or "
                "`vectorize=False`."
            )
        blocks = tuple(
            _jacobian_blocks(index, out, ins.tensors, create_graph, strict)
            for index, out in enumerate(outs.tensors)
        )
        blocks = _detached(blocks, create_graph)
        return outs.mirror(tuple(ins.mirror(row) for row in blocks))


def _jacobian_blocks(
    index: int, out: Tensor, wrt: tuple[Tensor, ...], create_graph: bool, strict: bool
) -> tuple[Tensor, ...]:
    """d out / d wrt[k] for every k, each of shape ``out.shape + wrt[k].shape``: one backward
    pass per element of ``out``, stacked."""
    unreached = functools.partial(
        "Output {} of the user-provided function is independent of input {}. This is not "
        "allowed in strict mode.".format,
        index,
    )
    # PyTorch's message names the output here, not the input.
    constant = _always(_CONSTANT_UNDER_CREATE_GRAPH.format("jacobian", index))
    flat = out.reshape(-1)
    rows = [
        _grads_or_zeros(
            (flat[j],),
            wrt,
            create_graph=create_graph,
            retain_graph=True,
            strict=strict,
            unreached=unreached,
            constant=constant,
        )
        for j in range(out.numel())
    ]
    return tuple(
        _C.stack([row[k] for row in rows], dim=0).view(tuple(out.shape) + tuple(w.shape))
        for k, w in enumerate(wrt)
    )


def _forward_mode_jacobian(
    func: _Func, inputs: _TensorOrTensors, strict: bool, vectorize: bool
) -> _Result:
    """``jacobian(strategy="forward-mode")``: PyTorch's errors where PyTorch has them; for
    ``vectorize=True`` the same Jacobian computed in reverse mode, in each output's dtype
    (PyTorch's forward-mode Jacobians take the output's dtype, reverse-mode ones the
    input's)."""
    if strict:
        raise RuntimeError(
            "torch.autograd.functional.jacobian: `strict=True` and "
            '`strategy="forward-mode"` are not supported together (yet). Please either set '
            '`strict=False` or `strategy="reverse-mode"`.'
        )
    ins = _pack(inputs, "inputs", "jacobian")
    if not vectorize:
        # PyTorch's message, with its missing space ("isonly").
        raise NotImplementedError(
            "Computing Jacobian using forward-AD or forward-over-reverse Hessian is"
            "only implemented for `vectorize=True`."
        )
    seen: dict[str, Any] = {}

    def watched(*args: Tensor) -> Any:
        out = func(*args)
        seen["was_tuple"] = isinstance(out, tuple)
        seen["dtypes"] = [o.dtype for o in (out if isinstance(out, (tuple, list)) else (out,))]
        return out

    # Passing a tuple keeps the inner level of nesting in ``jac``.
    jac = jacobian(watched, ins.tensors)
    was_tuple = seen["was_tuple"]
    per_output = jac if was_tuple else (jac,)
    rows = tuple(
        ins.mirror(tuple(block.to(dtype) for block in row))
        for row, dtype in zip(per_output, seen["dtypes"])
    )
    return rows if was_tuple else rows[0]


def hessian(
    func: _Func,
    inputs: _TensorOrTensors,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    outer_jacobian_strategy: str = "reverse-mode",
) -> _Result:
    """The Hessian of a scalar function: the Jacobian of its gradient.

    ``func`` must return a single tensor with one element. With one input tensor of shape
    ``s`` the result has shape ``s + s``; with a tuple of inputs it is a tuple of tuples,
    ``hessian[i][j]`` of shape ``inputs[i].shape + inputs[j].shape``. ``vectorize`` and
    ``outer_jacobian_strategy`` are passed to the outer :func:`jacobian` (see there).

    >>> import autodiff
    >>> from autodiff.autograd.functional import hessian
    >>> hessian(lambda x: (x**3).sum(), autodiff.tensor([1.0, 2.0]))
    tensor([[ 6.,  0.],
            [ 0., 12.]])
    >>> hessian(lambda a, b: a * b, (autodiff.tensor(2.0), autodiff.tensor(5.0)))
    ((tensor(0.), tensor(1.)), (tensor(1.), tensor(0.)))
    """
    ins = _pack(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode".')

    def scalar(*args: Tensor) -> Tensor:
        return _call_scalar(func, _Packed(args, True), "hessian", strict).tensors[0].squeeze()

    def gradient(*args: Tensor) -> Any:
        grads = jacobian(scalar, args, create_graph=True)
        _check_differentiable_again(grads, strict, _CONSTANT_JACOBIAN)
        return grads

    blocks = jacobian(
        gradient,
        ins.tensors,
        create_graph=create_graph,
        strict=strict,
        vectorize=vectorize,
        strategy=outer_jacobian_strategy,
    )
    return ins.mirror(tuple(ins.mirror(row) for row in blocks))


def _gradient_of_scalar(
    func: _Func, inputs: Any, v: Any, fn_name: str, create_graph: bool, strict: bool
) -> tuple[_Packed, tuple[Tensor, ...] | None, _Packed, _Grads]:
    """The common start of vhp and hvp: ``(inputs, v, outputs, gradient)``, the gradient with
    a graph, to be differentiated once more. Call it under ``enable_grad``."""
    ins = _packed_inputs(inputs, fn_name, create_graph)
    vs = _vector(v, ins, fn_name, create_graph, _ROLE_OF_INPUT)
    outs = _call_scalar(func, ins, fn_name, strict)
    grads = _differentiate(outs.tensors, ins.tensors, create_graph=True)
    _check_differentiable_again(grads, strict, _CONSTANT_JACOBIAN)
    return ins, vs, outs, grads


def vhp(
    func: _Func,
    inputs: _TensorOrTensors,
    v: _TensorOrTensors | None = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[_Result, _Result]:
    """The product ``v^T H`` of a vector with the Hessian of a scalar function.

    Returns ``(func(*inputs), vhp)``; ``vhp`` has the structure and shapes of ``inputs``.
    ``v`` may be omitted when the input is a single one-element tensor.

    >>> import autodiff
    >>> from autodiff.autograd.functional import vhp
    >>> vhp(lambda x: (x**3).sum(), autodiff.tensor([1.0, 2.0]), autodiff.ones(2))
    (tensor(9.), tensor([ 6., 12.]))
    """
    with enable_grad():
        ins, vs, outs, grads = _gradient_of_scalar(func, inputs, v, "vhp", create_graph, strict)
    return _output_and_product("vhp", outs, grads, ins.tensors, vs, ins, create_graph, strict)


def hvp(
    func: _Func,
    inputs: _TensorOrTensors,
    v: _TensorOrTensors | None = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[_Result, _Result]:
    """The product ``H v`` of the Hessian of a scalar function with a vector.

    Returns ``(func(*inputs), hvp)``; ``hvp`` has the structure and shapes of ``inputs``.
    Computed with the double-backward trick, as in PyTorch; for a twice continuously
    differentiable function it equals :func:`vhp`, which is cheaper.

    >>> import autodiff
    >>> from autodiff.autograd.functional import hvp
    >>> hvp(lambda x: (x**3).sum(), autodiff.tensor([1.0, 2.0]), autodiff.ones(2))
    (tensor(9.), tensor([ 6., 12.]))
    """
    with enable_grad():
        ins, vs, outs, grads = _gradient_of_scalar(func, inputs, v, "hvp", create_graph, strict)
        # H^T u is linear in u, so any u gives the same H v: zeros are finite. (PyTorch checks
        # the gradient once more here in strict mode; it was checked above, so that cannot fail.)
        u = tuple(_C.zeros_like(t, requires_grad=True) for t in ins.tensors)
        ht_u = _differentiate(grads, ins.tensors, u, create_graph=True)
    return _output_and_product("hvp", outs, ht_u, u, vs, ins, create_graph, strict)
