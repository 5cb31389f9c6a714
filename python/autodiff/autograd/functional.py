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

from typing import Any, Callable, Union

from .. import _C
from .grad_mode import enable_grad, is_grad_enabled, set_grad_enabled

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]

Tensor = _C.Tensor
_TensorOrTensors = Union[_C.Tensor, tuple[_C.Tensor, ...]]
# A result: a tensor, a tuple of tensors, or a tuple of tuples of tensors (jacobian, hessian).
_Result = Any
_Func = Callable[..., Any]


# --- helpers (the same contracts as PyTorch's private helpers of the same names) -------------


def _as_tuple_nocheck(x: Any) -> tuple[Any, ...]:
    if isinstance(x, tuple):
        return x
    if isinstance(x, list):
        return tuple(x)
    return (x,)


def _as_tuple(inp: Any, arg_name: str, fn_name: str) -> tuple[bool, tuple[Tensor, ...]]:
    """``(was_a_tuple, inp as a tuple)``; anything but a tensor or a tuple of them is a
    ``TypeError`` (a list counts as a single non-tensor value, as in PyTorch)."""
    is_tuple = isinstance(inp, tuple)
    items: tuple[Any, ...] = inp if is_tuple else (inp,)
    for index, item in enumerate(items):
        if isinstance(item, Tensor):
            continue
        where = f"the value at index {index}" if is_tuple else f"the given {arg_name}"
        raise TypeError(
            f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of Tensors "
            f"but {where} has type {type(item)}."
        )
    return is_tuple, items


def _tuple_postprocess(res: Any, to_unpack: bool | tuple[bool, bool]) -> Any:
    """Undo ``_as_tuple``: unwrap the levels of nesting that were not tuples for the caller.

    With a pair ``(outer, inner)``, ``res`` is a tuple (outer) of tuples (inner).
    """
    if isinstance(to_unpack, tuple):
        outer, inner = to_unpack
        if not inner:
            res = tuple(el[0] for el in res)
        if not outer:
            res = res[0]
        return res
    return res if to_unpack else res[0]


def _grad_preprocess(
    inputs: tuple[Tensor, ...], create_graph: bool, need_graph: bool
) -> tuple[Tensor, ...]:
    """Fresh tensor objects for the user function, so that tensors it captures by closure
    are told apart from the ones we differentiate with respect to.

    With ``create_graph`` a differentiable view keeps the link back to the caller's tensor;
    otherwise a detached alias that requires grad iff ``need_graph``.
    """
    fresh = []
    for inp in inputs:
        if create_graph and inp.requires_grad:
            fresh.append(inp.view(inp.shape))
        else:
            fresh.append(inp.detach().requires_grad_(need_graph))
    return tuple(fresh)


def _grad_postprocess(results: Any, create_graph: bool) -> Any:
    """Detach the results (recursively through tuples) unless the caller wants a graph."""
    if isinstance(results[0], Tensor):
        return results if create_graph else tuple(r.detach() for r in results)
    return tuple(_grad_postprocess(r, create_graph) for r in results)


def _validate_v(v: tuple[Tensor, ...], other: tuple[Tensor, ...], is_other_tuple: bool) -> None:
    """``v`` must match ``other`` in length and in every shape."""
    if len(v) != len(other):
        if is_other_tuple:
            raise RuntimeError(
                f"v is a tuple of invalid length: should be {len(other)} but got {len(v)}."
            )
        raise RuntimeError("The given v should contain a single Tensor.")
    for index, (el_v, el_other) in enumerate(zip(v, other)):
        if el_v.size() != el_other.size():
            prefix = f"Entry {index} in " if is_other_tuple else ""
            raise RuntimeError(
                f"{prefix}v has invalid size: should be {el_other.size()} but got {el_v.size()}."
            )


def _check_requires_grad(inputs: tuple[Any, ...], input_type: str, strict: bool) -> None:
    """In strict mode, every tensor of ``inputs`` must require grad (and exist)."""
    if not strict:
        return
    for i, inp in enumerate(inputs):
        if inp is None:  # only possible for "grad_inputs"
            raise RuntimeError(
                f"The output of the user-provided function is independent of input {i}. "
                "This is not allowed in strict mode."
            )
        if inp.requires_grad:
            continue
        if input_type == "hessian":
            raise RuntimeError(
                f"The hessian of the user-provided function with respect to input {i} is "
                "independent of the input. This is not allowed in strict mode. You should "
                "ensure that your function is thrice differentiable and that the hessian "
                "depends on the inputs."
            )
        if input_type == "jacobian":
            raise RuntimeError(
                "While computing the hessian, found that the jacobian of the user-provided "
                f"function with respect to input {i} is independent of the input. This is not "
                "allowed in strict mode. You should ensure that your function is twice "
                "differentiable and that the jacobian depends on the inputs (this would be "
                "violated by a linear function for example)."
            )
        if input_type == "grad_inputs":
            raise RuntimeError(
                f"The gradient with respect to input {i} is independent of the inputs of the "
                "user-provided function. This is not allowed in strict mode."
            )
        raise RuntimeError(
            f"Output {i} of the user-provided function does not require gradients. The "
            "outputs must be computed in a differentiable manner from the input when "
            "running in strict mode."
        )


def _autograd_grad(
    outputs: tuple[Tensor | None, ...],
    inputs: tuple[Tensor, ...],
    grad_outputs: tuple[Tensor | None, ...] | None = None,
    create_graph: bool = False,
    retain_graph: bool | None = None,
) -> tuple[Tensor | None, ...]:
    """``autograd.grad`` that skips outputs which are None or do not require grad, and
    returns None for every input when no output is left (or an input is unused)."""
    from . import grad  # deferred: ``autodiff.autograd`` may import this module

    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    kept_outputs = []
    kept_grads = []
    for out, grad_out in zip(outputs, grad_outputs):
        if out is not None and out.requires_grad:
            kept_outputs.append(out)
            kept_grads.append(grad_out)
    if not kept_outputs:
        return (None,) * len(inputs)
    return grad(
        kept_outputs,
        inputs,
        kept_grads,
        allow_unused=True,
        create_graph=create_graph,
        retain_graph=retain_graph,
    )


_FILL_MESSAGES = {
    "back": "The output of the user-provided function is independent of input {i}. "
    "This is not allowed in strict mode.",
    "back_trick": "The gradient with respect to the input is independent of entry {i} in the "
    "grad_outputs when using the double backward trick to compute forward mode gradients. "
    "This is not allowed in strict mode.",
    "double_back": "The jacobian of the user-provided function is independent of input {i}. "
    "This is not allowed in strict mode.",
    "double_back_trick": "The hessian of the user-provided function is independent of entry "
    "{i} in the grad_jacobian. This is not allowed in strict mode as it prevents from using "
    "the double backward trick to replace forward mode AD.",
}


def _fill_in_zeros(
    grads: tuple[Tensor | None, ...],
    refs: tuple[Tensor, ...],
    strict: bool,
    create_graph: bool,
    stage: str,
) -> tuple[Tensor, ...]:
    """Replace the None gradients by zeros shaped like ``refs`` (or raise in strict mode)."""
    filled = []
    for i, grad_i in enumerate(grads):
        if grad_i is None:
            if strict:
                raise RuntimeError(_FILL_MESSAGES[stage].format(i=i))
            grad_i = _C.zeros_like(refs[i])
        elif strict and create_graph and not grad_i.requires_grad:
            what = "hessian" if "double" in stage else "jacobian"
            raise RuntimeError(
                f"The {what} of the user-provided function is independent of input {i}. "
                "This is not allowed in strict mode when create_graph=True."
            )
        filled.append(grad_i)
    return tuple(filled)


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
        is_inputs_tuple, tupled_inputs = _as_tuple(inputs, "inputs", "vjp")
        tupled_inputs = _grad_preprocess(tupled_inputs, create_graph=create_graph, need_graph=True)

        is_outputs_tuple, outputs = _as_tuple(
            func(*tupled_inputs), "outputs of the user-provided function", "vjp"
        )
        _check_requires_grad(outputs, "outputs", strict=strict)

        tupled_v: tuple[Tensor, ...] | None = None
        if v is not None:
            _, tupled_v = _as_tuple(v, "v", "vjp")
            tupled_v = _grad_preprocess(tupled_v, create_graph=create_graph, need_graph=False)
            _validate_v(tupled_v, outputs, is_outputs_tuple)
        elif len(outputs) != 1 or outputs[0].numel() != 1:
            raise RuntimeError(
                "The vector v can only be None if the user-provided function returns a "
                "single Tensor with a single element."
            )

    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        grad_res = _autograd_grad(outputs, tupled_inputs, tupled_v, create_graph=create_graph)
        result = _fill_in_zeros(grad_res, tupled_inputs, strict, create_graph, "back")

    outputs = _grad_postprocess(outputs, create_graph)
    result = _grad_postprocess(result, create_graph)
    return _tuple_postprocess(outputs, is_outputs_tuple), _tuple_postprocess(
        result, is_inputs_tuple
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
        is_inputs_tuple, tupled_inputs = _as_tuple(inputs, "inputs", "jvp")
        tupled_inputs = _grad_preprocess(tupled_inputs, create_graph=create_graph, need_graph=True)

        tupled_v: tuple[Tensor, ...] | None = None
        if v is not None:
            _, tupled_v = _as_tuple(v, "v", "jvp")
            tupled_v = _grad_preprocess(tupled_v, create_graph=create_graph, need_graph=False)
            _validate_v(tupled_v, tupled_inputs, is_inputs_tuple)
        elif len(tupled_inputs) != 1 or tupled_inputs[0].numel() != 1:
            raise RuntimeError(
                "The vector v can only be None if the input to the user-provided function is "
                "a single Tensor with a single element."
            )

        is_outputs_tuple, outputs = _as_tuple(
            func(*tupled_inputs), "outputs of the user-provided function", "jvp"
        )
        _check_requires_grad(outputs, "outputs", strict=strict)
        # Backward is linear in the cotangent, so its value does not matter (zeros are finite).
        cotangents = tuple(_C.zeros_like(out, requires_grad=True) for out in outputs)
        grad_inputs = _autograd_grad(outputs, tupled_inputs, cotangents, create_graph=True)
        _check_requires_grad(grad_inputs, "grad_inputs", strict=strict)

    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        grad_res = _autograd_grad(grad_inputs, cotangents, tupled_v, create_graph=create_graph)
        result = _fill_in_zeros(grad_res, outputs, strict, create_graph, "back_trick")

    outputs = _grad_postprocess(outputs, create_graph)
    result = _grad_postprocess(result, create_graph)
    return _tuple_postprocess(outputs, is_outputs_tuple), _tuple_postprocess(
        result, is_outputs_tuple
    )


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
        return _jacfwd(func, inputs, strict, vectorize)

    with enable_grad():
        is_inputs_tuple, tupled_inputs = _as_tuple(inputs, "inputs", "jacobian")
        tupled_inputs = _grad_preprocess(tupled_inputs, create_graph=create_graph, need_graph=True)

        is_outputs_tuple, outputs = _as_tuple(
            func(*tupled_inputs), "outputs of the user-provided function", "jacobian"
        )
        _check_requires_grad(outputs, "outputs", strict=strict)

        if vectorize and strict:
            raise RuntimeError(
                "torch.autograd.functional.jacobian: `strict=True` and `vectorized=True` are "
                "not supported together. Please either set `strict=False` or "
                "`vectorize=False`."
            )

        rows_per_output = []
        for i, out in enumerate(outputs):
            # rows[k]: the rows d out.flatten()[j] / d inputs[k], for j in order
            rows: tuple[list[Tensor], ...] = tuple([] for _ in tupled_inputs)
            for j in range(out.numel()):
                row = _autograd_grad(
                    (out.reshape(-1)[j],),
                    tupled_inputs,
                    retain_graph=True,
                    create_graph=create_graph,
                )
                for k, (rows_k, row_k, inp) in enumerate(zip(rows, row, tupled_inputs)):
                    if row_k is None:
                        if strict:
                            raise RuntimeError(
                                f"Output {i} of the user-provided function is independent of "
                                f"input {k}. This is not allowed in strict mode."
                            )
                        row_k = _C.zeros_like(inp)
                    elif strict and create_graph and not row_k.requires_grad:
                        # PyTorch's message names the output index here.
                        raise RuntimeError(
                            "The jacobian of the user-provided function is independent of "
                            f"input {i}. This is not allowed in strict mode when "
                            "create_graph=True."
                        )
                    rows_k.append(row_k)
            rows_per_output.append(
                tuple(
                    _C.stack(rows_k, dim=0).view(tuple(out.shape) + tuple(inp.shape))
                    for rows_k, inp in zip(rows, tupled_inputs)
                )
            )

        result = _grad_postprocess(tuple(rows_per_output), create_graph)
        return _tuple_postprocess(result, (is_outputs_tuple, is_inputs_tuple))


def _jacfwd(func: _Func, inputs: _TensorOrTensors, strict: bool, vectorize: bool) -> _Result:
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
    is_inputs_tuple, tupled_inputs = _as_tuple(inputs, "inputs", "jacobian")
    if not vectorize:
        # PyTorch's message, with its missing space ("isonly").
        raise NotImplementedError(
            "Computing Jacobian using forward-AD or forward-over-reverse Hessian is"
            "only implemented for `vectorize=True`."
        )
    output_dtypes: list[Any] = []
    returned_tuple: list[bool] = []

    def recording_func(*inp: Tensor) -> Any:
        out = func(*inp)
        returned_tuple.append(isinstance(out, tuple))
        output_dtypes.extend(o.dtype for o in _as_tuple_nocheck(out))
        return out

    # The inputs are passed as a tuple, so ``jac`` keeps the inner level of nesting.
    jac = jacobian(recording_func, tupled_inputs)
    is_outputs_tuple = returned_tuple[0]
    per_output = jac if is_outputs_tuple else (jac,)
    cast = tuple(tuple(j.to(dtype) for j in row) for row, dtype in zip(per_output, output_dtypes))
    return _tuple_postprocess(cast, (is_outputs_tuple, is_inputs_tuple))


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
    is_inputs_tuple, tupled_inputs = _as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode".')

    def ensure_single_output_function(*inp: Tensor) -> Tensor:
        out = func(*inp)
        is_out_tuple, t_out = _as_tuple(out, "outputs of the user-provided function", "hessian")
        _check_requires_grad(t_out, "outputs", strict=strict)
        if is_out_tuple or not isinstance(out, Tensor):
            raise RuntimeError("The function given to hessian should return a single Tensor")
        if out.numel() != 1:
            raise RuntimeError(
                "The Tensor returned by the function given to hessian should contain a single "
                "element"
            )
        return out.squeeze()

    def jac_func(*inp: Tensor) -> Any:
        jac = jacobian(ensure_single_output_function, inp, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict=strict)
        return jac

    res = jacobian(
        jac_func,
        tupled_inputs,
        create_graph=create_graph,
        strict=strict,
        vectorize=vectorize,
        strategy=outer_jacobian_strategy,
    )
    return _tuple_postprocess(res, (is_inputs_tuple, is_inputs_tuple))


def _scalar_output(
    func: _Func, tupled_inputs: tuple[Tensor, ...], strict: bool, fn_name: str
) -> tuple[bool, tuple[Tensor, ...]]:
    """Call ``func`` for vhp/hvp and check that it returns a single one-element tensor."""
    is_outputs_tuple, outputs = _as_tuple(
        func(*tupled_inputs), "outputs of the user-provided function", fn_name
    )
    _check_requires_grad(outputs, "outputs", strict=strict)
    if is_outputs_tuple or not isinstance(outputs[0], Tensor):
        raise RuntimeError(f"The function given to {fn_name} should return a single Tensor")
    if outputs[0].numel() != 1:
        raise RuntimeError(
            f"The Tensor returned by the function given to {fn_name} should contain a single "
            "element"
        )
    return is_outputs_tuple, outputs


def _preprocess_hessian_v(
    v: _TensorOrTensors | None,
    tupled_inputs: tuple[Tensor, ...],
    is_inputs_tuple: bool,
    create_graph: bool,
    fn_name: str,
) -> tuple[Tensor, ...] | None:
    if v is None:
        if len(tupled_inputs) != 1 or tupled_inputs[0].numel() != 1:
            raise RuntimeError(
                "The vector v can only be None if the input to the user-provided function is "
                "a single Tensor with a single element."
            )
        return None
    _, tupled_v = _as_tuple(v, "v", fn_name)
    tupled_v = _grad_preprocess(tupled_v, create_graph=create_graph, need_graph=False)
    _validate_v(tupled_v, tupled_inputs, is_inputs_tuple)
    return tupled_v


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
        is_inputs_tuple, tupled_inputs = _as_tuple(inputs, "inputs", "vhp")
        tupled_inputs = _grad_preprocess(tupled_inputs, create_graph=create_graph, need_graph=True)
        tupled_v = _preprocess_hessian_v(v, tupled_inputs, is_inputs_tuple, create_graph, "vhp")
        is_outputs_tuple, outputs = _scalar_output(func, tupled_inputs, strict, "vhp")

        jac = _autograd_grad(outputs, tupled_inputs, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict=strict)

    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        grad_res = _autograd_grad(jac, tupled_inputs, tupled_v, create_graph=create_graph)
        result = _fill_in_zeros(grad_res, tupled_inputs, strict, create_graph, "double_back")

    outputs = _grad_postprocess(outputs, create_graph)
    result = _grad_postprocess(result, create_graph)
    return _tuple_postprocess(outputs, is_outputs_tuple), _tuple_postprocess(
        result, is_inputs_tuple
    )


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
        is_inputs_tuple, tupled_inputs = _as_tuple(inputs, "inputs", "hvp")
        tupled_inputs = _grad_preprocess(tupled_inputs, create_graph=create_graph, need_graph=True)
        tupled_v = _preprocess_hessian_v(v, tupled_inputs, is_inputs_tuple, create_graph, "hvp")
        is_outputs_tuple, outputs = _scalar_output(func, tupled_inputs, strict, "hvp")

        jac = _autograd_grad(outputs, tupled_inputs, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict=strict)

        grad_jac = tuple(_C.zeros_like(inp, requires_grad=True) for inp in tupled_inputs)
        double_back = _autograd_grad(jac, tupled_inputs, grad_jac, create_graph=True)
        # As in PyTorch, this strict check looks at ``jac`` (already checked above).
        _check_requires_grad(jac, "hessian", strict=strict)

    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        grad_res = _autograd_grad(double_back, grad_jac, tupled_v, create_graph=create_graph)
        result = _fill_in_zeros(grad_res, tupled_inputs, strict, create_graph, "double_back_trick")

    outputs = _grad_postprocess(outputs, create_graph)
    result = _grad_postprocess(result, create_graph)
    return _tuple_postprocess(outputs, is_outputs_tuple), _tuple_postprocess(
        result, is_inputs_tuple
    )
