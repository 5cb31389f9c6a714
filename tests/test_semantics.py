"""Closed-form tests, one per semantic rule of issue #2 (STYLE.md E11; PYTORCH_SEMANTICS.md 2).

Each test writes the maths next to the numbers. Every expected value and name was checked against
torch 2.15: the only import of the library is ``import autodiff as torch``, and replacing that
line with ``import torch`` runs this file unchanged against PyTorch.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import pytest

import autodiff as torch

LIB = torch.__name__  # the module under test, for subprocesses


def vec(*values, dtype=None, requires_grad=False):
    return torch.tensor(list(values), dtype=dtype, requires_grad=requires_grad)


def values(t):
    return t.detach().tolist()


# --- accumulation and zeroing (2.17) ----------------------------------------------------------


def test_grad_accumulates_in_place_across_backward_calls():
    # y = x^2, dy/dx = 2x = 4 at x = 2; each backward adds 4: 4, 8, 12.
    x = torch.tensor(2.0, requires_grad=True)
    assert x.grad is None
    (x**2).backward()
    first = x.grad
    assert first.item() == 4.0
    (x**2).backward()
    assert x.grad.item() == 8.0
    (x**2).backward()
    assert x.grad.item() == 12.0
    assert x.grad is first  # the same tensor object, updated in place


def test_grad_zero_resets_in_place_and_accumulation_restarts():
    # y = 3x, dy/dx = 3: after zero_() the next backward gives 3 again, not 6.
    x = vec(1.0, 2.0, requires_grad=True)
    (x * 3).sum().backward()
    g = x.grad
    assert g.zero_() is g
    assert x.grad is g
    assert values(x.grad) == [0.0, 0.0]
    (x * 3).sum().backward()
    assert values(x.grad) == [3.0, 3.0]
    assert x.grad is g


def test_assigned_grad_is_accumulated_into():
    # x.grad = [100, 100], then y = 2x adds dy/dx = 2: [102, 102], same object.
    x = vec(1.0, 2.0, requires_grad=True)
    assigned = vec(100.0, 100.0)
    x.grad = assigned
    (2 * x).sum().backward()
    assert values(x.grad) == [102.0, 102.0]
    assert x.grad is assigned
    x.grad = None
    assert x.grad is None


def test_grad_is_a_plain_leaf_of_the_input_dtype():
    x = vec(1.0, 2.0, dtype=torch.float64, requires_grad=True)
    off_path = torch.tensor(1.0, requires_grad=True)
    (x * x).sum().backward()
    assert values(x.grad) == [2.0, 4.0]  # d/dx sum x^2 = 2x
    g = x.grad
    assert (g.dtype, g.requires_grad, g.is_leaf, g.grad_fn) == (torch.float64, False, True, None)
    assert off_path.grad is None  # leaves not on the path keep None


# --- retain_grad (2.1) --------------------------------------------------------------------------


def test_retain_grad_keeps_non_leaf_grad_and_it_accumulates():
    # y = 2x, z = sum y^2: dz/dy = 2y = 4x = [4, 8]; dz/dx = 8x = [8, 16].
    x = vec(1.0, 2.0, requires_grad=True)
    y = x * 2
    assert y.retains_grad is False
    assert y.retain_grad() is None
    assert y.retains_grad is True
    z = (y * y).sum()
    z.backward(retain_graph=True)
    assert values(y.grad) == [4.0, 8.0]
    assert values(x.grad) == [8.0, 16.0]
    z.backward()
    assert values(y.grad) == [8.0, 16.0]
    assert values(x.grad) == [16.0, 32.0]
    x.retain_grad()  # a no-op on a leaf
    assert x.retains_grad is False


def test_backward_inputs_accumulates_only_there():
    # y = a b: dy/da = b = 3; b is not in inputs, so b.grad stays None.
    a = torch.tensor(2.0, requires_grad=True)
    b = torch.tensor(3.0, requires_grad=True)
    (a * b).backward(inputs=[a])
    assert (a.grad.item(), b.grad) == (3.0, None)
    # A non-leaf input is filled and retained: h = 2x, z = sum h^2, dz/dh = 2h = [4, 8].
    x = vec(1.0, 2.0, requires_grad=True)
    h = x * 2
    (h * h).sum().backward(inputs=[h])
    assert values(h.grad) == [4.0, 8.0]
    assert h.retains_grad is True
    assert x.grad is None


# --- detach, detach_, requires_grad_ (2.1) ------------------------------------------------------


def test_detach_shares_storage_and_version_counter():
    x = vec(1.0, 2.0, requires_grad=True)
    d = x.detach()
    assert d.requires_grad is False
    assert d.is_leaf is True
    assert d.grad_fn is None
    assert values(d) == [1.0, 2.0]
    assert x._version == 0
    d.zero_()  # writes through the detached tensor into x's storage
    assert values(x) == [0.0, 0.0]
    assert x._version == d._version == 1
    y = x + 3
    y.detach().zero_()  # the same for a non-leaf, which stays in the graph
    assert values(y) == [0.0, 0.0]
    assert y.grad_fn.name() == "AddBackward0"


def test_detach_in_place_turns_non_leaf_into_leaf():
    x = vec(1.0, 2.0, requires_grad=True)
    y = x * 2
    assert y.detach_() is y
    assert y.is_leaf is True
    assert y.requires_grad is False
    assert y.grad_fn is None
    assert values(y) == [2.0, 4.0]


def test_requires_grad_underscore_returns_self():
    t = vec(1.0, 2.0)
    assert t.requires_grad_() is t
    assert t.requires_grad is True
    assert t.requires_grad_(False) is t
    assert t.requires_grad is False
    x = vec(1.0, requires_grad=True)
    y = x * 2
    assert y.requires_grad_(True) is y  # a no-op on a non-leaf that already requires grad
    assert y.grad_fn.name() == "MulBackward0"
    assert +x is x
    plain = t * 2 + 1  # ops on tensors that need no grad give leaves
    assert (plain.requires_grad, plain.is_leaf, plain.grad_fn) == (False, True, None)


# --- grad modes (2.5) ---------------------------------------------------------------------------


def test_no_grad_results_are_leaves():
    x = vec(1.0, 2.0, requires_grad=True)
    assert torch.is_grad_enabled() is True
    with torch.no_grad():
        assert torch.is_grad_enabled() is False
        y = (x * 2).exp().sum()
    assert torch.is_grad_enabled() is True
    assert (y.requires_grad, y.is_leaf, y.grad_fn) == (False, True, None)


@pytest.mark.parametrize(
    "make",
    [
        lambda: torch.tensor([1.0, 2.0], requires_grad=True),
        lambda: torch.zeros(2, requires_grad=True),
        lambda: torch.ones(2, 3, requires_grad=True),
        lambda: torch.full((2,), 7.0, requires_grad=True),
        lambda: torch.zeros_like(torch.ones(2), requires_grad=True),
        lambda: torch.ones_like(torch.ones(2), requires_grad=True),
        lambda: torch.ones(2).requires_grad_(),
    ],
    ids=["tensor", "zeros", "ones", "full", "zeros_like", "ones_like", "requires_grad_"],
)
def test_factories_under_no_grad_still_make_leaves_requiring_grad(make):
    with torch.no_grad():
        t = make()
    assert (t.requires_grad, t.is_leaf, t.grad_fn) == (True, True, None)
    t.sum().backward()  # d/dt sum t = 1 everywhere
    assert t.grad.shape == t.shape
    assert t.grad.sum().item() == t.numel()
    assert t.grad.dtype == t.dtype


def test_enable_grad_nested_in_no_grad_records():
    x = torch.tensor(2.0, requires_grad=True)
    with torch.no_grad():
        with torch.enable_grad():
            assert torch.is_grad_enabled() is True
            y = x * x
        assert torch.is_grad_enabled() is False
        z = x * x
    assert y.grad_fn.name() == "MulBackward0"
    assert z.grad_fn is None
    with torch.no_grad():
        y.backward()  # backward works inside no_grad: dy/dx = 2x = 4
    assert x.grad.item() == 4.0


def test_set_grad_enabled_as_context_manager():
    x = torch.tensor(2.0, requires_grad=True)
    with torch.set_grad_enabled(False):
        assert torch.is_grad_enabled() is False
        assert (x * 2).grad_fn is None
        with torch.set_grad_enabled(True):
            assert torch.is_grad_enabled() is True
            assert (x * 2).grad_fn.name() == "MulBackward0"
        assert torch.is_grad_enabled() is False
    assert torch.is_grad_enabled() is True


def test_set_grad_enabled_as_plain_call_persists():
    x = torch.tensor(2.0, requires_grad=True)
    try:
        torch.set_grad_enabled(False)
        assert torch.is_grad_enabled() is False
        assert (x * 2).grad_fn is None
    finally:
        torch.set_grad_enabled(True)
    assert torch.is_grad_enabled() is True
    assert (x * 2).grad_fn.name() == "MulBackward0"


def grad_enabled_here():
    return torch.is_grad_enabled()


@pytest.mark.parametrize(
    ("decorate", "outer", "expected"),
    [
        (torch.no_grad(), True, False),  # @torch.no_grad()
        (torch.no_grad, True, False),  # @torch.no_grad
        (torch.enable_grad(), False, True),
        (torch.enable_grad, False, True),
        (lambda f: torch.set_grad_enabled(False)(f), True, False),
        (lambda f: torch.set_grad_enabled(True)(f), False, True),
    ],
    ids=["no_grad()", "no_grad", "enable_grad()", "enable_grad", "set(False)", "set(True)"],
)
def test_grad_mode_decorators(decorate, outer, expected):
    f = decorate(grad_enabled_here)
    assert torch.is_grad_enabled() is True  # decorating leaves the caller's mode alone
    assert f.__name__ == "grad_enabled_here"
    with torch.set_grad_enabled(outer):
        assert f() is expected
        assert torch.is_grad_enabled() is outer


def test_decorated_generator_stays_in_no_grad_across_yields():
    x = torch.tensor(2.0, requires_grad=True)

    @torch.no_grad()
    def gen():
        for _ in range(3):
            yield torch.is_grad_enabled(), x * 2

    @torch.no_grad
    def gen_bare():
        yield torch.is_grad_enabled()

    it = gen()
    for _ in range(3):
        enabled, y = next(it)
        assert enabled is False
        assert y.grad_fn is None
        assert torch.is_grad_enabled() is True  # the caller's mode between yields
        assert (x * 2).grad_fn.name() == "MulBackward0"
    assert list(gen_bare()) == [False]


def test_grad_mode_restored_when_the_block_raises():
    with pytest.raises(ValueError, match="inside"):
        with torch.no_grad():
            raise ValueError("inside")
    assert torch.is_grad_enabled() is True

    @torch.no_grad()
    def fails():
        raise KeyError("decorated")

    with pytest.raises(KeyError):
        fails()
    assert torch.is_grad_enabled() is True

    with torch.no_grad():
        with pytest.raises(ValueError, match="nested"):
            with torch.enable_grad():
                raise ValueError("nested")
        assert torch.is_grad_enabled() is False
    assert torch.is_grad_enabled() is True


def _run_in_thread(fn):
    result = {}

    def target():
        try:
            result["value"] = fn()
        except BaseException as exc:  # re-raised in the calling thread
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive()
    if "error" in result:
        raise result["error"]
    return result["value"]


def test_grad_mode_is_thread_local():
    # The worker sits inside no_grad while the main thread records a graph, then vice versa.
    x = torch.tensor(3.0, requires_grad=True)
    inside, release = threading.Event(), threading.Event()
    seen = {}

    def worker():
        with torch.no_grad():
            inside.set()
            assert release.wait(30)
            seen["enabled"] = torch.is_grad_enabled()
            seen["y"] = x * 2
        seen["after"] = torch.is_grad_enabled()

    thread = threading.Thread(target=worker)
    thread.start()
    assert inside.wait(30)
    main_enabled = torch.is_grad_enabled()
    y = x * x
    release.set()
    thread.join(timeout=60)
    assert main_enabled is True
    assert y.grad_fn.name() == "MulBackward0"
    assert (seen["enabled"], seen["after"]) == (False, True)
    assert seen["y"].grad_fn is None
    y.backward()  # dy/dx = 2x = 6
    assert x.grad.item() == 6.0


def test_new_threads_start_with_grad_enabled():
    x = torch.tensor(3.0, requires_grad=True)

    def probe():
        return torch.is_grad_enabled(), (x * 2).grad_fn is not None

    with torch.no_grad():
        assert _run_in_thread(probe) == (True, True)
    try:
        torch.set_grad_enabled(False)
        assert _run_in_thread(probe) == (True, True)
        assert torch.is_grad_enabled() is False  # the worker did not change the main thread
    finally:
        torch.set_grad_enabled(True)


def test_backward_in_threads_sharing_a_leaf_sums_exactly():
    # 4 threads x 25 backwards of sum(2w): each adds 2 to every element, 4 * 25 * 2 = 200.
    w = vec(1.0, 1.0, requires_grad=True)

    def work():
        for _ in range(25):
            (w * 2).sum().backward()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert values(w.grad) == [200.0, 200.0]


# --- broadcasting and dtypes (2.16) ------------------------------------------------------------


def test_broadcast_gradients_are_summed_to_each_input_shape():
    # out = sum_ij a_i b_j s + v_j, over i < 3, j < 4. With everything ones:
    # d/da_i = s sum_j b_j = 4, d/db_j = s sum_i a_i = 3, d/ds = sum_ij a_i b_j = 12, d/dv_j = 3.
    a = torch.ones(3, 1, requires_grad=True)
    b = torch.ones(1, 4, requires_grad=True)
    s = torch.ones((), requires_grad=True)
    v = torch.ones(4, requires_grad=True)
    (a * b * s + v).sum().backward()
    assert (a.grad.shape, b.grad.shape, s.grad.shape, v.grad.shape) == ((3, 1), (1, 4), (), (4,))
    assert values(a.grad) == [[4.0], [4.0], [4.0]]
    assert values(b.grad) == [[3.0, 3.0, 3.0, 3.0]]
    assert s.grad.item() == 12.0
    assert values(v.grad) == [3.0, 3.0, 3.0, 3.0]

    # Distinct values: a = [1,2,3]^T, b = [1,2,3,4], s = 2:
    # d/da_i = s sum b = 20, d/db_j = s sum a = 12, d/ds = sum a sum b = 60.
    a = torch.tensor([[1.0], [2.0], [3.0]], requires_grad=True)
    b = torch.tensor([[1.0, 2.0, 3.0, 4.0]], requires_grad=True)
    s = torch.tensor(2.0, requires_grad=True)
    (a * b * s).sum().backward()
    assert values(a.grad) == [[20.0], [20.0], [20.0]]
    assert values(b.grad) == [[12.0, 12.0, 12.0, 12.0]]
    assert s.grad.item() == 60.0


def test_python_scalars_broadcast_and_get_no_grad():
    # y = 2 - x * 3 + x / 4: dy/dx = -3 + 1/4 = -2.75.
    x = vec(1.0, 5.0, requires_grad=True)
    (2 - x * 3 + x / 4).sum().backward()
    assert values(x.grad) == [-2.75, -2.75]


def test_grad_dtype_follows_input_dtype():
    # f32 * f64 -> f64 output; d/dxf (xf xd) = xd = 3, d/dxd = xf = 2, each in its own dtype.
    xf = torch.tensor(2.0, dtype=torch.float32, requires_grad=True)
    xd = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    y = xf * xd
    assert y.dtype == torch.float64
    y.backward()
    assert xf.grad.dtype == torch.float32
    assert xd.grad.dtype == torch.float64
    assert (xf.grad.item(), xd.grad.item()) == (3.0, 2.0)


# --- backward() arguments (2.3) ----------------------------------------------------------------


def test_gradients_from_multiple_paths_are_summed():
    # y = 2x + 3x: dy/dx = 5.  Diamond: a = 2x, b = 3x, z = ab = 6x^2, dz/dx = 12x = 12 at 1.
    x = torch.tensor(1.0, requires_grad=True)
    (x * 2 + x * 3).backward()
    assert x.grad.item() == 5.0
    x.grad = None
    a, b = x * 2, x * 3
    (a * b).backward()
    assert x.grad.item() == 12.0


def test_retain_graph_twice_accumulates():
    # y = x * x at 2: dy/dx = 4, twice -> 8.
    x = torch.tensor(2.0, requires_grad=True)
    y = x * x
    y.backward(retain_graph=True)
    assert x.grad.item() == 4.0
    y.backward()
    assert x.grad.item() == 8.0


def test_second_backward_through_nodes_that_saved_nothing():
    # y = sum(x + 2): AddBackward0 and SumBackward0 save no tensors; dy/dx = 1, twice -> 2.
    x = vec(1.0, 2.0, requires_grad=True)
    y = (x + 2).sum()
    y.backward()
    y.backward()
    assert values(x.grad) == [2.0, 2.0]


def test_backward_on_a_leaf_itself():
    s = torch.tensor(5.0, requires_grad=True)
    s.backward()  # ds/ds = 1
    assert s.grad.item() == 1.0
    v = vec(1.0, 2.0, requires_grad=True)
    v.backward(vec(3.0, 4.0))  # the gradient is copied into v.grad
    assert values(v.grad) == [3.0, 4.0]


@pytest.mark.parametrize("gdtype", ["float64", "int64"])
def test_gradient_of_another_dtype_is_cast(gdtype):
    # y = 3x (float32), gradient g = [1, 2]: x.grad = 3g = [3, 6] in float32.
    x = vec(1.0, 2.0, requires_grad=True)
    g = torch.tensor([1, 2], dtype=getattr(torch, gdtype))
    (x * 3).backward(g)
    assert x.grad.dtype == torch.float32
    assert values(x.grad) == [3.0, 6.0]


def test_one_element_non_scalar_output_needs_no_gradient():
    # y = 2x with shape [1]: the implicit gradient is ones([1]), so x.grad = [2].
    x = vec(4.0, requires_grad=True)
    y = x * 2
    assert y.shape == (1,)
    y.backward()
    assert values(x.grad) == [2.0]


def test_create_graph_gives_differentiable_grad_and_warns():
    # y = x^3 at 2: dy/dx = 3x^2 = 12 with a graph; d/dx (3x^2) = 6x = 12.
    # PyTorch warns once per process, so the check runs in a fresh interpreter.
    code = textwrap.dedent(
        f"""
        import warnings
        import {LIB} as torch
        x = torch.tensor(2.0, requires_grad=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            (x ** 3).backward(create_graph=True)
        g = x.grad
        print(len(caught))
        print(caught[0].category.__name__)
        print(str(caught[0].message))
        print(g.item(), g.requires_grad, repr(g), g.grad_fn.name())
        x.grad = None
        g.backward()
        print(x.grad.item())
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    count, category, message, grad_line, second = proc.stdout.splitlines()
    assert (count, category) == ("1", "UserWarning")
    assert message.startswith(
        "Using backward() with create_graph=True will create a reference cycle between the "
        "parameter and its gradient which can cause a memory leak. We recommend using "
        "autograd.grad when creating the graph to avoid this. If you have to use this function, "
        "make sure to reset the .grad fields of your parameters to None after use to break the "
        "cycle and avoid the leak."
    )
    # CopyBackwards is a C++ node in PyTorch: its name() is namespaced, as AccumulateGrad's is
    assert grad_line == (
        "12.0 True tensor(12., grad_fn=<CopyBackwards>) torch::autograd::CopyBackwards"
    )
    assert second == "12.0"


# --- graph structure: grad_fn.name() and next_functions (2.1, 2.2) ----------------------------


def test_next_functions_structure():
    x = torch.tensor(2.0, requires_grad=True)
    y = x * x
    assert y.grad_fn.name() == "MulBackward0"
    (n0, i0), (n1, i1) = y.grad_fn.next_functions
    assert (i0, i1) == (0, 0)
    assert n0.name() == n1.name() == "torch::autograd::AccumulateGrad"
    assert n0.next_functions == ()
    # an input that does not require grad gives (None, 0)
    z = x * torch.tensor(2.0)
    (acc, nr), (missing, missing_nr) = z.grad_fn.next_functions
    assert (acc.name(), nr, missing, missing_nr) == ("torch::autograd::AccumulateGrad", 0, None, 0)
    # a Python scalar operand is a (None, 0) edge of a binary node; rsub and pow have one edge
    assert [e is None for e, _ in (x + 1).grad_fn.next_functions] == [False, True]
    assert [e is None for e, _ in (x * 2).grad_fn.next_functions] == [False, True]
    assert len((1 - x).grad_fn.next_functions) == 1
    assert len((x**2).grad_fn.next_functions) == 1
    assert len((2**x).grad_fn.next_functions) == 1
    # 2 / x is recorded as reciprocal(x) * 2
    (rec, _), (scalar, _) = (2 / x).grad_fn.next_functions
    assert (rec.name(), scalar) == ("ReciprocalBackward0", None)
    # a chain: exp(2x) -> ExpBackward0 -> MulBackward0 -> AccumulateGrad
    e = (x * 2).exp()
    ((mul, _),) = e.grad_fn.next_functions
    assert (e.grad_fn.name(), mul.name()) == ("ExpBackward0", "MulBackward0")
    assert x.grad_fn is None


X = [1.5, -0.5]
P = [0.5, 2.0]  # positive, for log/sqrt and bases of tensor exponents
GRAD_FN_NAMES = [
    ("x ** 2", lambda x, p: x**2, "PowBackward0"),
    ("x.pow(3)", lambda x, p: x.pow(3), "PowBackward0"),
    ("x.square()", lambda x, p: x.square(), "PowBackward0"),
    ("torch.square(x)", lambda x, p: torch.square(x), "PowBackward0"),
    ("p ** 0.5", lambda x, p: p**0.5, "PowBackward0"),
    ("p ** x", lambda x, p: p**x, "PowBackward1"),
    ("2 ** x", lambda x, p: 2**x, "PowBackward2"),
    ("x + p", lambda x, p: x + p, "AddBackward0"),
    ("x + 1", lambda x, p: x + 1, "AddBackward0"),
    ("1 + x", lambda x, p: 1 + x, "AddBackward0"),
    ("x - p", lambda x, p: x - p, "SubBackward0"),
    ("x - 1", lambda x, p: x - 1, "SubBackward0"),
    ("1 - x", lambda x, p: 1 - x, "RsubBackward1"),
    ("x * p", lambda x, p: x * p, "MulBackward0"),
    ("x * 2", lambda x, p: x * 2, "MulBackward0"),
    ("2 * x", lambda x, p: 2 * x, "MulBackward0"),
    ("x / p", lambda x, p: x / p, "DivBackward0"),
    ("x / 2", lambda x, p: x / 2, "DivBackward0"),
    ("2 / x", lambda x, p: 2 / x, "MulBackward0"),
    ("-x", lambda x, p: -x, "NegBackward0"),
    ("x.neg()", lambda x, p: x.neg(), "NegBackward0"),
    ("abs(x)", lambda x, p: abs(x), "AbsBackward0"),
    ("x.abs()", lambda x, p: x.abs(), "AbsBackward0"),
    ("exp", lambda x, p: torch.exp(x), "ExpBackward0"),
    ("log", lambda x, p: torch.log(p), "LogBackward0"),
    ("log1p", lambda x, p: torch.log1p(p), "Log1PBackward0"),
    ("sqrt", lambda x, p: torch.sqrt(p), "SqrtBackward0"),
    ("rsqrt", lambda x, p: torch.rsqrt(p), "RsqrtBackward0"),
    ("sin", lambda x, p: torch.sin(x), "SinBackward0"),
    ("cos", lambda x, p: torch.cos(x), "CosBackward0"),
    ("tan", lambda x, p: torch.tan(x), "TanBackward0"),
    ("tanh", lambda x, p: torch.tanh(x), "TanhBackward0"),
    ("sigmoid", lambda x, p: torch.sigmoid(x), "SigmoidBackward0"),
    ("relu", lambda x, p: torch.relu(x), "ReluBackward0"),
    ("clamp(min=0)", lambda x, p: x.clamp(min=0), "ClampBackward1"),
    ("clamp(max=0)", lambda x, p: x.clamp(max=0), "ClampBackward1"),
    ("clamp(-1, 1)", lambda x, p: torch.clamp(x, -1, 1), "ClampBackward1"),
    ("clip(-1, 1)", lambda x, p: x.clip(-1, 1), "ClampBackward1"),
    ("maximum", lambda x, p: torch.maximum(x, p), "MaximumBackward0"),
    ("minimum", lambda x, p: torch.minimum(x, p), "MinimumBackward0"),
    ("where", lambda x, p: torch.where(x > 0, x, p), "WhereBackward0"),
    ("reciprocal", lambda x, p: torch.reciprocal(x), "ReciprocalBackward0"),
    ("sign", lambda x, p: torch.sign(x), "SignBackward0"),
    ("floor", lambda x, p: torch.floor(x), "FloorBackward0"),
    ("ceil", lambda x, p: torch.ceil(x), "CeilBackward0"),
    ("round", lambda x, p: torch.round(x), "RoundBackward0"),
    ("sum()", lambda x, p: x.sum(), "SumBackward0"),
    ("sum(0)", lambda x, p: x.sum(0), "SumBackward1"),
    ("sum((0,), keepdim)", lambda x, p: torch.sum(x, (0,), keepdim=True), "SumBackward1"),
    ("mean()", lambda x, p: x.mean(), "MeanBackward0"),
    ("mean(0)", lambda x, p: torch.mean(x, 0), "MeanBackward1"),
]


@pytest.mark.parametrize(
    ("fn", "name"), [c[1:] for c in GRAD_FN_NAMES], ids=[c[0] for c in GRAD_FN_NAMES]
)
def test_grad_fn_name(fn, name):
    x = torch.tensor(X, requires_grad=True)
    p = torch.tensor(P, requires_grad=True)
    y = fn(x, p)
    assert y.requires_grad is True
    assert y.is_leaf is False
    assert y.grad_fn.name() == name
    assert repr(y).endswith(f"grad_fn=<{name}>)")


def test_comparisons_give_bool_results_without_grad():
    x = torch.tensor(X, requires_grad=True)
    p = torch.tensor(P, requires_grad=True)
    for r in (x == p, x != p, x < p, x <= p, x > p, x >= p, x > 0):
        assert r.dtype == torch.bool
        assert r.requires_grad is False
        assert r.grad_fn is None
    assert values(x < p) == [False, True]
