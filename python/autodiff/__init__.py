"""autodiff: PyTorch's autograd with a Rust engine.

Use it as ``import autodiff as torch``: tensors, ``requires_grad``, ``.backward()``,
``.grad`` that accumulates, ``grad_fn``, ``retain_grad()``, ``no_grad()`` and ``.detach()``
behave as in PyTorch.

>>> import autodiff as torch
>>> x = torch.tensor(3.0, requires_grad=True)
>>> y = x ** 2
>>> y
tensor(9., grad_fn=<PowBackward0>)
>>> y.backward()
>>> x.grad
tensor(6.)
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

from . import _C, autograd, random, return_types
from ._C import (
    Tensor,
    addmm,
    arange,
    cat,
    dtype,
    empty,
    empty_like,
    eye,
    from_dlpack,
    from_numpy,
    full,
    full_like,
    get_default_dtype,
    get_num_threads,
    is_anomaly_check_nan_enabled,
    is_anomaly_enabled,
    is_grad_enabled,
    linspace,
    ones,
    ones_like,
    pow,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    set_default_dtype,
    set_num_threads,
    stack,
    tensor,
    where,
    zeros,
    zeros_like,
)
from ._compare import allclose, isclose
from ._out import with_out
from ._size import Size
from .autograd.grad_mode import (
    enable_grad,
    inference_mode,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .random import default_generator, initial_seed, manual_seed, seed

float32 = _C.float32
float64 = _C.float64
int64 = _C.int64
bool = _C.bool  # noqa: A001 - PyTorch's name
float = float32  # noqa: A001
double = float64
long = int64

# Functions that PyTorch offers both as `torch.f(x, ...)` and `x.f(...)`: the method is the
# implementation, so the two can never disagree.
abs = Tensor.abs  # noqa: A001
add = with_out("add", Tensor.add)
ceil = Tensor.ceil
clamp = Tensor.clamp
clip = Tensor.clip
cos = Tensor.cos
div = with_out("div", Tensor.div)
exp = Tensor.exp
floor = Tensor.floor
log = Tensor.log
log1p = Tensor.log1p
maximum = Tensor.maximum
mean = Tensor.mean
minimum = Tensor.minimum
mul = with_out("mul", Tensor.mul)
neg = Tensor.neg
reciprocal = Tensor.reciprocal
relu = Tensor.relu
round = Tensor.round  # noqa: A001
rsqrt = Tensor.rsqrt
sigmoid = Tensor.sigmoid
sign = Tensor.sign
sin = Tensor.sin
sqrt = Tensor.sqrt
square = Tensor.square
sub = with_out("sub", Tensor.sub)
sum = Tensor.sum  # noqa: A001
tan = Tensor.tan
tanh = Tensor.tanh
reshape = Tensor.reshape
flatten = Tensor.flatten
squeeze = Tensor.squeeze
unsqueeze = Tensor.unsqueeze
transpose = Tensor.transpose
permute = Tensor.permute
t = Tensor.t
broadcast_to = Tensor.broadcast_to
clone = Tensor.clone
matmul = with_out("matmul", Tensor.matmul)
mm = Tensor.mm
bmm = Tensor.bmm
mv = Tensor.mv
dot = Tensor.dot
outer = Tensor.outer
prod = Tensor.prod
amax = Tensor.amax
amin = Tensor.amin
max = Tensor.max  # noqa: A001
min = Tensor.min  # noqa: A001
argmax = Tensor.argmax
argmin = Tensor.argmin
var = Tensor.var
std = Tensor.std
norm = Tensor.norm
logsumexp = Tensor.logsumexp
all = Tensor.all  # noqa: A001
any = Tensor.any  # noqa: A001
softmax = Tensor.softmax
log_softmax = Tensor.log_softmax
narrow = Tensor.narrow
select = Tensor.select
split = Tensor.split
chunk = Tensor.chunk
unbind = Tensor.unbind
unflatten = Tensor.unflatten
gather = Tensor.gather
index_select = Tensor.index_select
masked_fill = Tensor.masked_fill
concat = cat
eq = Tensor.__eq__
ne = Tensor.__ne__
lt = Tensor.__lt__
le = Tensor.__le__
gt = Tensor.__gt__
ge = Tensor.__ge__


def set_printoptions(*args, **kwargs) -> None:
    """PyTorch's print options (``precision``, ``threshold``, ``edgeitems``, ``linewidth``,
    ``profile``, ``sci_mode``) for tensor reprs.

    >>> import autodiff
    >>> autodiff.set_printoptions(precision=2)
    >>> autodiff.tensor([1.2345])
    tensor([1.23])
    >>> autodiff.set_printoptions(profile="default")
    """
    # Imported on first use: the formatter needs NumPy, which `import autodiff` avoids.
    from ._tensor_str import set_printoptions as _set

    _set(*args, **kwargs)


def get_printoptions() -> dict:
    """The current print options, as ``set_printoptions`` takes them."""
    from ._tensor_str import get_printoptions as _get

    return _get()


def is_tensor(obj: object) -> builtins.bool:
    """True if ``obj`` is an autodiff tensor."""
    return isinstance(obj, Tensor)


__all__ = [
    "allclose",
    "isclose",
    "utils",
    "addmm",
    "nn",
    "optim",
    "save",
    "load",
    "arange",
    "linspace",
    "eye",
    "rand",
    "rand_like",
    "randn",
    "randn_like",
    "randint",
    "randperm",
    "full_like",
    "empty_like",
    "random",
    "default_generator",
    "initial_seed",
    "manual_seed",
    "seed",
    "get_num_threads",
    "set_num_threads",
    "narrow",
    "select",
    "split",
    "chunk",
    "unbind",
    "unflatten",
    "gather",
    "index_select",
    "masked_fill",
    "cat",
    "concat",
    "stack",
    "prod",
    "amax",
    "amin",
    "max",
    "min",
    "argmax",
    "argmin",
    "var",
    "std",
    "norm",
    "logsumexp",
    "all",
    "any",
    "softmax",
    "log_softmax",
    "return_types",
    "matmul",
    "mm",
    "bmm",
    "mv",
    "dot",
    "outer",
    "clone",
    "broadcast_to",
    "t",
    "permute",
    "transpose",
    "unsqueeze",
    "squeeze",
    "flatten",
    "reshape",
    "Size",
    "Tensor",
    "abs",
    "add",
    "autograd",
    "bool",
    "ceil",
    "clamp",
    "clip",
    "cos",
    "div",
    "double",
    "dtype",
    "empty",
    "enable_grad",
    "eq",
    "exp",
    "float",
    "float32",
    "float64",
    "floor",
    "from_dlpack",
    "from_numpy",
    "full",
    "ge",
    "get_default_dtype",
    "get_printoptions",
    "gt",
    "int64",
    "is_anomaly_check_nan_enabled",
    "is_anomaly_enabled",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "inference_mode",
    "is_tensor",
    "le",
    "log",
    "log1p",
    "long",
    "lt",
    "maximum",
    "mean",
    "minimum",
    "mul",
    "ne",
    "neg",
    "no_grad",
    "ones",
    "ones_like",
    "pow",
    "reciprocal",
    "relu",
    "round",
    "rsqrt",
    "set_default_dtype",
    "set_grad_enabled",
    "set_printoptions",
    "sigmoid",
    "sign",
    "sin",
    "sqrt",
    "square",
    "sub",
    "sum",
    "tan",
    "tanh",
    "tensor",
    "viz",
    "where",
    "zeros",
    "zeros_like",
]


# Submodules that load on first use, so that `import autodiff` stays a few milliseconds:
# `viz` needs subprocess, `nn` and `optim` are a few dozen modules, `save`/`load` need
# tempfile and json.
_LAZY_MODULES = ("nn", "optim", "utils", "viz")
_LAZY_FUNCTIONS = {"save": ".serialization", "load": ".serialization"}


def __getattr__(name: str) -> object:
    import importlib

    if name in _LAZY_MODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _LAZY_FUNCTIONS:
        return getattr(importlib.import_module(_LAZY_FUNCTIONS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if TYPE_CHECKING:  # what the lazy names are, for type checkers and IDEs
    from . import nn, optim, utils, viz
    from .serialization import load, save
