"""Matrix products: ``matmul``/``@`` (every rank combination, broadcast batch dims) and
``mm bmm mv dot outer``.

Each is checked for

- its forward against NumPy, in float64 and float32, on contiguous and non-contiguous inputs
  (transposed, permuted, and sliced with a step, see ``numeric_checks.LAYOUTS``), with the result
  dtype and shape PyTorch gives, on zero-size operands and on integer operands;
- its first derivatives against float64 central finite differences (``gradcheck_util``), over
  hypothesis-drawn shapes and values, and on expanded (stride-0) operands;
- second derivatives (``torch.autograd.grad(..., create_graph=True)`` twice): the products are
  bilinear, so only the mixed terms are nonzero;
- PyTorch's ``grad_fn`` names and exact exception types and messages;
- that a large product releases the GIL.

A last section compares against PyTorch itself where it is installed (``importorskip``): values
and gradients, ``grad_fn`` names, and every error message of this file.
"""

from __future__ import annotations

import re
import sys
import threading
import time
from typing import Any, Callable

import numpy as np
import pytest
from gradcheck_util import arrays_in, to_numpy, to_tensor
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numeric_checks import (
    DTYPES,
    LAYOUT_IDS,
    LAYOUTS,
    REAL,
    TORCH_TOL,
    Shapes,
    assert_close,
    check_against_torch,
    check_first_order,
    check_grad_fn_name,
    check_integer_input,
    check_second_order,
    data_rng,
    laid_out,
    long_2x3,
    ones,
    raises,
    rounded,
    tolerance,
    uniform,
)

import autodiff as torch

# --- memory layouts -------------------------------------------------------------------------------


def test_layouts_give_non_contiguous_views():
    a = np.arange(12.0).reshape(3, 4)
    for layout in LAYOUTS:
        x = layout.view(to_tensor(layout.store(a), torch.float64))
        np.testing.assert_array_equal(to_numpy(x), a)
        assert x.is_contiguous() is (layout.name == "contiguous"), layout.name


# --- matrix products: forward ------------------------------------------------------------------

MATMUL_SHAPES = [
    ((3,), (3,)),
    ((2, 3), (3,)),
    ((3,), (3, 2)),
    ((2, 3), (3, 4)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((3,), (2, 3, 4)),
    ((2, 3, 4), (4,)),
    ((4, 2, 3), (4, 3, 2)),
    ((3, 2), (4, 2, 3)),
    ((1, 2, 3), (3, 2)),
    ((2, 2, 3), (1, 3, 2)),
    ((2, 3), (5, 1, 3, 2)),
]
ZERO_MATMUL_SHAPES = [
    ((0,), (0,)),
    ((0, 3), (3,)),
    ((2, 0), (0,)),
    ((0,), (0, 3)),
    ((0, 3), (3, 2)),
    ((2, 0), (0, 3)),
    ((2, 3), (3, 0)),
    ((0, 2, 3), (3, 4)),
    ((2, 0, 3), (3,)),
    ((3,), (0, 3, 2)),
    ((2, 1, 3, 0), (5, 0, 2)),
]
MATMUL_FORMS: dict[str, Callable[[Any, Any], Any]] = {
    "@": lambda a, b: a @ b,
    "torch.matmul": lambda a, b: torch.matmul(a, b),
    "Tensor.matmul": lambda a, b: a.matmul(b),
}


def _shape_id(pair: tuple[tuple[int, ...], tuple[int, ...]]) -> str:
    return "@".join("x".join(map(str, s)) or "0d" for s in pair)


@pytest.mark.parametrize("layout", LAYOUTS, ids=LAYOUT_IDS)
@pytest.mark.parametrize("dtype", DTYPES.values(), ids=DTYPES.keys())
@pytest.mark.parametrize("pair", MATMUL_SHAPES + ZERO_MATMUL_SHAPES, ids=_shape_id)
def test_matmul_forward(pair, dtype, layout, rng):
    a, b = (rounded(rng.uniform(-2, 2, size=s), dtype) for s in pair)
    expected = np.matmul(a, b)
    results = []
    for name, form in MATMUL_FORMS.items():
        x, y = (layout.view(to_tensor(layout.store(v), dtype)) for v in (a, b))
        out = form(x, y)
        assert out.dtype == dtype, name
        assert_close(out, expected, tolerance(dtype).forward, f"{name} {pair}")
        results.append(to_numpy(out))
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])


PRODUCTS: dict[str, tuple[tuple[int, ...], tuple[int, ...], Callable[..., np.ndarray]]] = {
    "mm": ((2, 3), (3, 4), np.matmul),
    "bmm": ((2, 2, 3), (2, 3, 4), np.matmul),
    "mv": ((2, 3), (3,), np.matmul),
    "dot": ((3,), (3,), np.matmul),
    "outer": ((3,), (4,), np.outer),
}
ZERO_PRODUCTS = {
    "mm": [((0, 3), (3, 2)), ((2, 0), (0, 3)), ((2, 3), (3, 0))],
    "bmm": [((0, 2, 3), (0, 3, 4)), ((2, 0, 3), (2, 3, 4)), ((2, 2, 0), (2, 0, 4))],
    "mv": [((0, 3), (3,)), ((2, 0), (0,))],
    "dot": [((0,), (0,))],
    "outer": [((0,), (3,)), ((2,), (0,))],
}


def product_forms(name: str) -> list[Callable[[Any, Any], Any]]:
    return [
        lambda a, b: getattr(torch, name)(a, b),
        lambda a, b: getattr(a, name)(b),
    ]


@pytest.mark.parametrize("layout", LAYOUTS, ids=LAYOUT_IDS)
@pytest.mark.parametrize("dtype", DTYPES.values(), ids=DTYPES.keys())
@pytest.mark.parametrize("name", PRODUCTS)
def test_named_products_forward(name, dtype, layout, rng):
    sa, sb, ref = PRODUCTS[name]
    cases = [(sa, sb), *ZERO_PRODUCTS[name]]
    for pair in cases:
        a, b = (rounded(rng.uniform(-2, 2, size=s), dtype) for s in pair)
        expected = ref(a, b)
        for form in product_forms(name):
            x, y = (layout.view(to_tensor(layout.store(v), dtype)) for v in (a, b))
            out = form(x, y)
            assert out.dtype == dtype
            assert_close(out, expected, tolerance(dtype).forward, f"{name} {pair}")


def test_matmul_on_expanded_operands(rng):
    # stride-0 batch and column dims: the product and the gradients summed over the expansion
    a = rng.uniform(-2, 2, size=(1, 3, 4))
    b = rng.uniform(-2, 2, size=(4, 1))
    for fn in [
        lambda x, y: x.expand(5, 3, 4) @ y.expand(4, 2),
        lambda x, y: torch.bmm(x.expand(2, 3, 4), y.expand(4, 2).unsqueeze(0).expand(2, 4, 2)),
        lambda x, y: torch.mv(y.expand(4, 3).t(), y.squeeze(1)) * x.sum(),
    ]:
        check_first_order(fn, [a, b], {}, torch.float64, rng, "expanded matmul")
    out = to_tensor(a, torch.float64).expand(5, 3, 4) @ to_tensor(b, torch.float64).expand(4, 2)
    assert_close(out, np.broadcast_to(a, (5, 3, 4)) @ np.broadcast_to(b, (4, 2)), 1e-12)


@pytest.mark.parametrize("pair", ZERO_MATMUL_SHAPES, ids=_shape_id)
def test_matmul_zero_size_gradients(pair, rng):
    # Either the contraction is empty (a zero output, empty operands) or the output is empty:
    # every output entry and every gradient entry is 0, in the operands' own shapes.
    a, b = (rng.uniform(-2, 2, size=s) for s in pair)
    x, y = (to_tensor(v, torch.float64, requires_grad=True) for v in (a, b))
    out = x @ y
    expected = np.matmul(a, b)
    assert tuple(out.shape) == expected.shape
    np.testing.assert_array_equal(to_numpy(out), np.zeros(expected.shape))
    out.backward(torch.ones_like(out))
    for leaf, shape in zip((x, y), pair):
        assert tuple(leaf.grad.shape) == shape
        np.testing.assert_array_equal(to_numpy(leaf.grad), np.zeros(shape))


def test_matmul_of_two_vectors_is_zero_dim():
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    out = a @ a
    assert tuple(out.shape) == () and out.item() == 5.0
    out.backward()
    assert a.grad.tolist() == [2.0, 4.0]


# --- matrix products: gradients ------------------------------------------------------------------


@st.composite
def matmul_shapes(draw: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Operand shapes of every rank combination from 1-D up to 4-D, batch dims broadcasting."""
    m, k, n = (draw(st.integers(1, 3), label=name) for name in "mkn")
    batch_a, batch_b = draw(
        hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3), label="batch"
    ).input_shapes
    vector_a, vector_b = draw(st.booleans(), label="a 1-D"), draw(st.booleans(), label="b 1-D")
    shape_a = (k,) if vector_a else (*batch_a, m, k)
    shape_b = (k,) if vector_b else (*batch_b, k, n)
    return shape_a, shape_b


@pytest.mark.parametrize("dtype", DTYPES.values(), ids=DTYPES.keys())
@given(data=st.data())
def test_matmul_gradient(dtype, data):
    shape_a, shape_b = data.draw(matmul_shapes(), label="shapes")
    layout = data.draw(st.sampled_from(LAYOUTS), label="layout")
    form = data.draw(st.sampled_from(sorted(MATMUL_FORMS)), label="form")
    a, b = (rounded(data.draw(arrays_in(s, REAL)), dtype) for s in (shape_a, shape_b))
    fn = laid_out(layout, MATMUL_FORMS[form])
    x, y = (to_tensor(layout.store(v), dtype) for v in (a, b))
    assert_close(fn(x, y), np.matmul(a, b), tolerance(dtype).forward, f"{shape_a}@{shape_b}")
    stored = [layout.store(a), layout.store(b)]
    check_first_order(fn, stored, {}, dtype, data_rng(data), f"{form} {shape_a}@{shape_b}")


@st.composite
def named_product_case(draw: Any) -> tuple[str, tuple[int, ...], tuple[int, ...]]:
    name = draw(st.sampled_from(sorted(PRODUCTS)), label="op")
    b, m, k, n = (draw(st.integers(1, 3), label=d) for d in "bmkn")
    return name, *{
        "mm": ((m, k), (k, n)),
        "bmm": ((b, m, k), (b, k, n)),
        "mv": ((m, k), (k,)),
        "dot": ((k,), (k,)),
        "outer": ((m,), (n,)),
    }[name]


@pytest.mark.parametrize("dtype", DTYPES.values(), ids=DTYPES.keys())
@given(data=st.data())
def test_named_products_gradient(dtype, data):
    name, shape_a, shape_b = data.draw(named_product_case(), label="case")
    method = data.draw(st.booleans(), label="method form")
    layout = data.draw(st.sampled_from(LAYOUTS), label="layout")
    a, b = (rounded(data.draw(arrays_in(s, REAL)), dtype) for s in (shape_a, shape_b))
    fn = laid_out(layout, product_forms(name)[method])
    stored = [layout.store(a), layout.store(b)]
    check_first_order(fn, stored, {}, dtype, data_rng(data), f"{name} {shape_a} {shape_b}")


@given(data=st.data())
def test_matmul_second_derivative(data):
    # bilinear: d2/da2 = d2/db2 = 0 but the mixed terms are not, so each gradient has a graph
    shape_a, shape_b = data.draw(matmul_shapes(), label="shapes")
    a, b = (data.draw(arrays_in(s, REAL)) for s in (shape_a, shape_b))
    check_second_order(lambda x, y: x @ y, [a, b], {}, data_rng(data), f"{shape_a}@{shape_b}")


@pytest.mark.parametrize("name", PRODUCTS)
def test_named_products_second_derivative(name, rng):
    sa, sb, _ = PRODUCTS[name]
    a, b = rng.uniform(-2, 2, size=sa), rng.uniform(-2, 2, size=sb)
    for form in product_forms(name):
        check_second_order(form, [a, b], {}, rng, name)


# --- integer inputs -------------------------------------------------------------------------------

INTEGER_INPUTS: list[tuple[str, Callable[[Any], Any], Any, str]] = [
    ("matmul", lambda m: long_2x3(m) @ long_2x3(m).t(), [[30, 13], [13, 58]], "int64"),
    ("mm", lambda m: m.mm(long_2x3(m), long_2x3(m).t()), [[30, 13], [13, 58]], "int64"),
    (
        "bmm",
        lambda m: m.bmm(long_2x3(m).unsqueeze(0), long_2x3(m).t().unsqueeze(0)),
        [[[30, 13], [13, 58]]],
        "int64",
    ),  # fmt: skip
    ("mv", lambda m: long_2x3(m).mv(m.tensor([1, 2, 3])), [17, 16], "int64"),
    ("dot", lambda m: m.dot(m.tensor([1, 5, 2]), m.tensor([1, 1, 1])), 8, "int64"),
    ("outer", lambda m: m.outer(m.tensor([1, 2]), m.tensor([3, 4])), [[3, 4], [6, 8]], "int64"),
]


@pytest.mark.parametrize(
    ("fn", "value", "dtype"), [c[1:] for c in INTEGER_INPUTS], ids=[c[0] for c in INTEGER_INPUTS]
)
def test_integer_and_boolean_inputs(fn, value, dtype):
    out = check_integer_input(torch, fn, value, dtype)
    assert not out.requires_grad


# --- grad_fn names ------------------------------------------------------------------------------
# Each entry: (id, fn(module, *tensors), input shapes, PyTorch's grad_fn name). Every input
# requires grad; the functions take the module so that the oracle section can run them on torch.


GRAD_FN_NAMES: list[tuple[str, Callable[..., Any], Shapes, str]] = [
    ("matmul-1D@1D", lambda m, a, b: a @ b, [(3,), (3,)], "DotBackward0"),
    ("matmul-2D@1D", lambda m, a, b: m.matmul(a, b), [(2, 3), (3,)], "MvBackward0"),
    ("matmul-1D@2D", lambda m, a, b: a @ b, [(3,), (3, 2)], "SqueezeBackward4"),
    ("matmul-2D@2D", lambda m, a, b: a.matmul(b), [(2, 3), (3, 4)], "MmBackward0"),
    ("matmul-3D@2D", lambda m, a, b: a @ b, [(4, 2, 3), (3, 2)], "UnsafeViewBackward0"),
    ("matmul-3D@1D", lambda m, a, b: a @ b, [(2, 3, 4), (4,)], "UnsafeViewBackward0"),
    ("matmul-1D@3D", lambda m, a, b: a @ b, [(3,), (2, 3, 4)], "UnsafeViewBackward0"),
    ("matmul-3D@3D", lambda m, a, b: a @ b, [(4, 2, 3), (4, 3, 2)], "UnsafeViewBackward0"),
    ("matmul-4D@3D", lambda m, a, b: a @ b, [(2, 1, 3, 4), (5, 4, 2)], "UnsafeViewBackward0"),
    # 2-D @ >=3-D with the 2-D operand requiring grad: PyTorch folds the batch into rows of the
    # transposed product and returns output.mT.contiguous(), so the last node is a clone
    ("matmul-2D@3D", lambda m, a, b: a @ b, [(3, 2), (4, 2, 3)], "CloneBackward0"),
    ("matmul-2D@4D", lambda m, a, b: a @ b, [(3, 2), (5, 4, 2, 3)], "CloneBackward0"),
    (
        "matmul-2D(no grad)@3D",
        lambda m, a, b: a.detach() @ b,
        [(3, 2), (4, 2, 3)],
        "UnsafeViewBackward0",
    ),
    ("mm", lambda m, a, b: m.mm(a, b), [(2, 3), (3, 4)], "MmBackward0"),
    ("bmm", lambda m, a, b: a.bmm(b), [(2, 2, 3), (2, 3, 4)], "BmmBackward0"),
    ("mv", lambda m, a, b: a.mv(b), [(2, 3), (3,)], "MvBackward0"),
    ("dot", lambda m, a, b: m.dot(a, b), [(3,), (3,)], "DotBackward0"),
    ("outer", lambda m, a, b: m.outer(a, b), [(3,), (4,)], "MulBackward0"),
    ("outer-method", lambda m, a, b: a.outer(b), [(3,), (4,)], "MulBackward0"),
]
NAME_IDS = [case[0] for case in GRAD_FN_NAMES]


@pytest.mark.parametrize(("fn", "shape_list", "name"), [c[1:] for c in GRAD_FN_NAMES], ids=NAME_IDS)
def test_grad_fn_names(fn, shape_list, name, rng):
    out = check_grad_fn_name(torch, fn, shape_list, name, rng)
    assert out.requires_grad and not out.is_leaf


# --- errors -------------------------------------------------------------------------------------
# (id, fn(module), exception type, PyTorch's whole message); test_errors_match_torch re-checks
# every entry against torch itself.


ERRORS: list[tuple[str, Callable[[Any], Any], type[BaseException], str]] = [
    # matrix products
    ("mm-shapes", lambda m: m.mm(ones(m, 3, 4), ones(m, 3, 4)), RuntimeError,
     "mm: mat1 and mat2 shapes cannot be multiplied (3x4 and 3x4)"),
    ("mm-1d", lambda m: m.mm(ones(m, 3), ones(m, 3, 4)), RuntimeError,
     "mm: self must be a matrix, got 1-D tensor"),
    ("mm-3d", lambda m: ones(m, 2, 3, 4).mm(ones(m, 4, 2)), RuntimeError,
     "mm: self must be a matrix, got 3-D tensor"),
    ("mm-dtypes", lambda m: m.mm(ones(m, 2, 3), ones(m, 3, 2, dtype="float64")), RuntimeError,
     "expected m1 and m2 to have the same dtype, but got: float != double"),
    ("mm-dtypes-reversed", lambda m: m.mm(ones(m, 2, 3, dtype="float64"), ones(m, 3, 2)),
     RuntimeError, "expected m1 and m2 to have the same dtype, but got: double != float"),
    ("mm-bool", lambda m: m.mm(ones(m, 2, 2, dtype="bool"), ones(m, 2, 2, dtype="bool")),
     NotImplementedError, "\"addmm_impl_cpu_\" not implemented for 'Bool'"),
    ("matmul-bool", lambda m: ones(m, 2, 2, dtype="bool") @ ones(m, 2, 2, dtype="bool"),
     NotImplementedError, "\"addmm_impl_cpu_\" not implemented for 'Bool'"),
    ("matmul-long-float", lambda m: ones(m, 2, 2, dtype="int64") @ ones(m, 2, 2), RuntimeError,
     "expected m1 and m2 to have the same dtype, but got: long int != float"),
    ("bmm-2d", lambda m: m.bmm(ones(m, 2, 3), ones(m, 2, 3, 4)), RuntimeError,
     "batch1 must be a 3D tensor"),
    ("bmm-2d-second", lambda m: ones(m, 2, 3, 4).bmm(ones(m, 4, 3)), RuntimeError,
     "batch2 must be a 3D tensor"),
    ("bmm-batch", lambda m: m.bmm(ones(m, 2, 3, 4), ones(m, 3, 4, 5)), RuntimeError,
     "Expected size for first two dimensions of batch2 tensor to be: [2, 4] but got: [3, 4]."),
    ("bmm-inner", lambda m: m.bmm(ones(m, 2, 3, 4), ones(m, 2, 3, 5)), RuntimeError,
     "Expected size for first two dimensions of batch2 tensor to be: [2, 4] but got: [2, 3]."),
    ("bmm-dtypes", lambda m: m.bmm(ones(m, 2, 3, 4), ones(m, 2, 4, 5, dtype="float64")),
     RuntimeError, "expected scalar type Float but found Double"),
    ("mv-shapes", lambda m: m.mv(ones(m, 3, 4), ones(m, 3)), RuntimeError,
     "size mismatch, got input (3), mat (3x4), vec (3)"),
    ("mv-1d", lambda m: m.mv(ones(m, 3), ones(m, 3)), RuntimeError,
     "vector + matrix @ vector expected, got 1, 1, 1"),
    ("mv-2d-vector", lambda m: ones(m, 3, 4).mv(ones(m, 4, 1)), RuntimeError,
     "vector + matrix @ vector expected, got 1, 2, 2"),
    ("dot-1d-2d", lambda m: m.dot(ones(m, 3), ones(m, 3, 4)), RuntimeError,
     "1D tensors expected, but got 1D and 2D tensors"),
    ("dot-sizes", lambda m: ones(m, 3).dot(ones(m, 4)), RuntimeError,
     "inconsistent tensor size, expected tensor [3] and src [4] to have the same number of "
     "elements, but got 3 and 4 elements respectively"),
    ("dot-dtypes", lambda m: m.dot(ones(m, 3), ones(m, 3, dtype="float64")), RuntimeError,
     "dot : expected both vectors to have same dtype, but found Float and Double"),
    ("outer-2d", lambda m: m.outer(ones(m, 3, 2), ones(m, 4)), RuntimeError,
     "outer: Expected 1-D argument self, but got 2-D"),
    ("matmul-0d", lambda m: m.matmul(m.tensor(1.0), ones(m, 3)), RuntimeError,
     "both arguments to matmul need to be at least 1D, but they are 0D and 1D"),
    ("matmul-0d-right", lambda m: ones(m, 3) @ m.tensor(1.0), RuntimeError,
     "both arguments to matmul need to be at least 1D, but they are 1D and 0D"),
    ("matmul-1d-sizes", lambda m: ones(m, 3) @ ones(m, 4), RuntimeError,
     "inconsistent tensor size, expected tensor [3] and src [4] to have the same number of "
     "elements, but got 3 and 4 elements respectively"),
    ("matmul-2d@1d", lambda m: ones(m, 2, 3) @ ones(m, 4), RuntimeError,
     "size mismatch, got input (2), mat (2x3), vec (4)"),
    ("matmul-1d@2d", lambda m: ones(m, 3) @ ones(m, 4, 2), RuntimeError,
     "mm: mat1 and mat2 shapes cannot be multiplied (1x3 and 4x2)"),
    ("matmul-2d@2d", lambda m: ones(m, 2, 3) @ ones(m, 4, 2), RuntimeError,
     "mm: mat1 and mat2 shapes cannot be multiplied (2x3 and 4x2)"),
    ("matmul-batch", lambda m: ones(m, 2, 3, 4) @ ones(m, 3, 4, 2), RuntimeError,
     "The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 0"),
    ("matmul-dtypes", lambda m: ones(m, 2, 3) @ ones(m, 3, 2, dtype="float64"), RuntimeError,
     "expected m1 and m2 to have the same dtype, but got: float != double"),
    ("matmul-dtypes-1d", lambda m: ones(m, 3) @ ones(m, 3, dtype="float64"), RuntimeError,
     "dot : expected both vectors to have same dtype, but found Float and Double"),
]  # fmt: skip
ERROR_IDS = [case[0] for case in ERRORS]


@pytest.mark.parametrize(("fn", "exc", "message"), [c[1:] for c in ERRORS], ids=ERROR_IDS)
def test_errors(fn, exc, message):
    with raises(exc, message):
        fn(torch)


# --- the GIL --------------------------------------------------------------------------------------


def test_large_matmul_releases_the_gil():
    # With a 1 s switch interval the main thread never hands the GIL over on its own during the
    # test; the counting thread (which gives it back at every time.sleep(0)) runs during a
    # product only if the product releases the GIL. A builtin that holds the GIL (sorting a
    # list) shows that the counter would otherwise stand still.
    rng = np.random.default_rng(3)
    a = torch.tensor(rng.standard_normal((512, 512)))
    b = torch.tensor(rng.standard_normal((512, 512)))
    big_list = list(range(10**6))
    count = 0
    stop = threading.Event()

    def counter() -> None:
        nonlocal count
        while not stop.is_set():
            count += 1
            time.sleep(0)

    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1.0)
    thread = threading.Thread(target=counter, daemon=True)
    thread.start()
    try:
        while count == 0:
            time.sleep(0.001)
        during_products: list[int] = []
        while len(during_products) < 20 and not any(during_products):
            before = count
            out = a @ b
            during_products.append(count - before)
        before = count
        sorted(big_list, reverse=True)
        during_sort = count - before
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(old_interval)
    assert tuple(out.shape) == (512, 512)
    assert during_sort == 0, "the GIL-holding control advanced the counter: the test is unsound"
    assert any(n > 0 for n in during_products), f"counter advances per product: {during_products}"


# --- against PyTorch -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def torch_ref() -> Any:
    return pytest.importorskip("torch")


ORACLE: list[tuple[str, Callable[..., Any], Callable[[np.random.Generator], list[np.ndarray]]]] = [
    ("matmul-1D@1D", lambda m, a, b: a @ b, uniform((4,), (4,))),
    ("matmul-2D@1D", lambda m, a, b: a @ b, uniform((3, 4), (4,))),
    ("matmul-1D@2D", lambda m, a, b: a @ b, uniform((4,), (4, 3))),
    ("matmul-2D@2D", lambda m, a, b: m.matmul(a, b), uniform((3, 4), (4, 5))),
    ("matmul-4D@3D", lambda m, a, b: a @ b, uniform((2, 1, 3, 4), (5, 4, 2))),
    ("matmul-1D@3D", lambda m, a, b: a @ b, uniform((3,), (2, 3, 4))),
    ("matmul-3D@1D", lambda m, a, b: a.matmul(b), uniform((2, 3, 4), (4,))),
    ("matmul-2D@3D", lambda m, a, b: a @ b, uniform((3, 2), (4, 2, 3))),
    ("matmul-transposed", lambda m, a, b: a.t() @ b.transpose(0, 1), uniform((4, 3), (5, 4))),
    ("mm", lambda m, a, b: m.mm(a, b), uniform((3, 4), (4, 2))),
    ("bmm", lambda m, a, b: a.bmm(b), uniform((2, 3, 4), (2, 4, 5))),
    ("mv", lambda m, a, b: m.mv(a, b), uniform((3, 4), (4,))),
    ("dot", lambda m, a, b: a.dot(b), uniform((5,), (5,))),
    ("outer", lambda m, a, b: m.outer(a, b), uniform((3,), (4,))),
]  # fmt: skip


@pytest.mark.parametrize("dtype", TORCH_TOL)
@pytest.mark.parametrize(("fn", "make"), [c[1:] for c in ORACLE], ids=[c[0] for c in ORACLE])
def test_against_torch(fn, make, dtype, torch_ref):
    check_against_torch(fn, make, dtype, torch_ref)


@pytest.mark.parametrize(("fn", "shape_list", "name"), [c[1:] for c in GRAD_FN_NAMES], ids=NAME_IDS)
def test_grad_fn_names_match_torch(fn, shape_list, name, torch_ref, rng):
    check_grad_fn_name(torch_ref, fn, shape_list, name, rng)


@pytest.mark.parametrize(("fn", "exc", "message"), [c[1:] for c in ERRORS], ids=ERROR_IDS)
def test_errors_match_torch(fn, exc, message, torch_ref):
    with raises(exc, message):
        fn(torch_ref)


@pytest.mark.parametrize(
    ("fn", "value", "dtype"), [c[1:] for c in INTEGER_INPUTS], ids=[c[0] for c in INTEGER_INPUTS]
)
def test_integer_and_boolean_inputs_match_torch(fn, value, dtype, torch_ref):
    check_integer_input(torch_ref, fn, value, dtype)


def test_addmm_matches_its_definition_and_gradients():
    rng = np.random.default_rng(11)
    bias, a, b = rng.standard_normal(3), rng.standard_normal((2, 4)), rng.standard_normal((4, 3))
    out = torch.addmm(torch.tensor(bias), torch.tensor(a), torch.tensor(b), beta=0.5, alpha=2.0)
    np.testing.assert_allclose(out.numpy(), 0.5 * bias + 2.0 * a @ b, rtol=1e-12)
    leaves = [torch.tensor(v, requires_grad=True) for v in (bias, a, b)]
    y = torch.addmm(*leaves, beta=0.5, alpha=2.0)
    assert y.grad_fn.name() == "AddmmBackward0"
    assert (y.grad_fn._saved_alpha, y.grad_fn._saved_beta) == (2.0, 0.5)
    y.backward(torch.ones(2, 3, dtype=torch.float64))
    # d/dbias = beta * column sums of ones; d/da = alpha * ones @ b^T; d/db = alpha * a^T @ ones
    np.testing.assert_allclose(leaves[0].grad.numpy(), np.full(3, 0.5 * 2))
    np.testing.assert_allclose(leaves[1].grad.numpy(), 2.0 * np.ones((2, 3)) @ b.T)
    np.testing.assert_allclose(leaves[2].grad.numpy(), 2.0 * a.T @ np.ones((2, 3)))
    assert torch.autograd.gradgradcheck(torch.addmm, tuple(leaves))


def test_addmm_checks_shapes_like_mm():
    with pytest.raises(
        RuntimeError, match=re.escape("mat1 and mat2 shapes cannot be multiplied (2x3 and 2x3)")
    ):
        torch.addmm(torch.zeros(3), torch.zeros(2, 3), torch.zeros(2, 3))


def test_linear_weight_grad_is_contiguous():
    # The weight enters as weight.t(); its gradient is computed in the weight's own layout
    # so that .grad (and the optimizer reading it) gets a contiguous tensor.
    x = torch.randn(5, 3)
    w = torch.randn(4, 3, requires_grad=True)
    torch.nn.functional.linear(x, w, torch.zeros(4)).sum().backward()
    assert w.grad.is_contiguous()
    # The engine hands that buffer to .grad without copying it; .grad is not left a view of
    # an engine-internal tensor.
    assert w.grad._base is None
    np.testing.assert_allclose(w.grad.numpy(), np.ones((5, 4)).T @ x.numpy(), rtol=1e-5)
