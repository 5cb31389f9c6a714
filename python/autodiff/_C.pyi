"""Type stub for ``autodiff._C``, the native module built from ``src/python/*.rs``.

Hand-written, as pydantic-core's ``_pydantic_core.pyi`` is; ``python -m mypy.stubtest
autodiff._C --allowlist .mypy-stubtest-allowlist`` checks it against the compiled module.
Python numbers are typed ``float``, which also admits ``int`` and ``bool`` (PEP 484's numeric
tower).
"""

import builtins
from collections.abc import Callable, Iterable, Sequence
from types import EllipsisType
from typing import Any, ClassVar, Final, Literal, TypeVar, final, overload

import numpy as np
import numpy.typing as npt
from typing_extensions import Self, TypeAlias, disjoint_base

from autodiff import return_types
from autodiff._size import Size

# The module exports a dtype named `bool`, and `Tensor` has methods named `bool`, `float` and
# `long`: inside this stub those names hide the builtins, so annotations use these aliases.
_bool: TypeAlias = builtins.bool
_float: TypeAlias = builtins.float
_int: TypeAlias = builtins.int
_T = TypeVar("_T")

# PyO3 builds this list from everything the module registers.
__all__ = [
    "Tensor",
    "Node",
    "RemovableHandle",
    "is_anomaly_enabled",
    "is_anomaly_check_nan_enabled",
    "is_inference_mode_enabled",
    "dtype",
    "float32",
    "float64",
    "int64",
    "bool",
    "tensor",
    "zeros",
    "ones",
    "empty",
    "full",
    "zeros_like",
    "ones_like",
    "where",
    "pow",
    "is_grad_enabled",
    "_set_grad_enabled",
    "_live_nodes",
    "get_default_dtype",
    "set_default_dtype",
    "_run_backward",
    "_run_grad",
    "_record_function",
    "_delayed_error",
    "_set_detect_anomaly",
    "_set_inference_mode",
    "_restore_inference_mode",
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
    "_manual_seed",
    "_initial_seed",
    "get_num_threads",
    "set_num_threads",
    "cat",
    "stack",
    "from_numpy",
    "from_dlpack",
    "addmm",
    "mse_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "nll_loss",
    "_sgd_step",
    "_adam_step",
    "SavedTensor",
]

@final
class dtype:
    """A tensor element type, as ``autodiff.float32`` and friends (PyTorch's ``torch.dtype``)."""

    @property
    def is_floating_point(self) -> _bool:
        """True for float32 and float64."""
    @property
    def itemsize(self) -> _int:
        """Bytes per element."""
    def __eq__(self, other: object, /) -> _bool:
        """True for the same dtype; dtypes are singletons, so ``is`` works too."""
    def __hash__(self) -> _int:
        """A hash consistent with ``==``."""
    def __reduce__(self) -> str:
        """Pickles as a reference to the module attribute, e.g. ``'float64'``."""

# `Tensor` has a property named `dtype`, which hides the class inside its body.
_dtype: TypeAlias = dtype
# A dtype argument: an autodiff dtype, or Python's `float`, `int` or `bool` as PyTorch accepts.
_DTypeLike: TypeAlias = dtype | type[_float] | type[_int] | type[_bool]
# An operand of an arithmetic op: a tensor, or a Python number (a wrapped 0-d tensor).
_TensorOrNumber: TypeAlias = Tensor | _float
# A `dim` argument: one dimension or several.
_Dims: TypeAlias = _int | Sequence[_int]
# One entry of an index expression: an int, a slice, `...`, `None` (a new axis), or a bool, a
# tensor, nested sequences or a NumPy array (an int64 index or a bool mask).
_IndexItem: TypeAlias = (
    _int | slice | EllipsisType | None | Tensor | Sequence[Any] | npt.NDArray[Any]
)
# A whole index expression, as `x[...]` takes it: one entry, or a tuple of several.
_Index: TypeAlias = _IndexItem | tuple[_IndexItem, ...]

float32: Final[dtype]
"""32-bit float, the default dtype."""
float64: Final[dtype]
"""64-bit float."""
int64: Final[dtype]
"""64-bit signed integer."""
bool: Final[dtype]  # noqa: A001 - PyTorch's name
"""Boolean."""

@final
class Node:
    """A node of the autograd graph, a tensor's ``grad_fn`` (``torch.autograd.graph.Node``)."""

    def name(self) -> str:
        """The node's name, e.g. ``'MulBackward0'`` or ``'torch::autograd::AccumulateGrad'``."""
    @property
    def _class_name(self) -> str:
        """The name a tensor's repr prints: ``name()`` without the ``torch::autograd::``."""
    @property
    def next_functions(self) -> tuple[tuple[Node | None, _int], ...]:
        """One ``(node, input_nr)`` pair per input of the op; ``(None, 0)`` for no gradient."""
    @property
    def variable(self) -> Tensor | None:
        """For an ``AccumulateGrad`` node, the leaf it accumulates into; otherwise ``None``."""
    def __call__(self, *grads: Tensor | None) -> Tensor | tuple[Tensor | None, ...] | None:
        """Runs the node's backward rule on one gradient per output: the input gradient alone
        for a one-input node, else a tuple (``None`` where an input needs no gradient)."""
    def _graph_stats(self) -> tuple[_int, _int, _int]:
        """``(nodes, saved_tensors, saved_bytes)`` of the graph reachable from this node."""
    def register_prehook(self, hook: Callable[[tuple[Tensor | None, ...]], Any]) -> RemovableHandle:
        """Registers ``hook(grad_outputs)``, run before the node's rule; a returned tuple
        replaces the gradients of its outputs."""
    def register_hook(
        self, hook: Callable[[tuple[Tensor | None, ...], tuple[Tensor | None, ...]], Any]
    ) -> RemovableHandle:
        """Registers ``hook(grad_inputs, grad_outputs)``, run after the node's rule; a
        returned tuple replaces the gradients of its inputs."""
    @property
    def metadata(self) -> dict[Any, Any]:
        """A dict for user annotations; unlike PyTorch's, a new empty dict on each access."""
    def __eq__(self, other: object, /) -> _bool:
        """True if both objects view the same graph node."""
    def __hash__(self) -> _int:
        """A hash of the graph node, consistent with ``==``."""
    def __getattr__(self, name: str) -> Any:
        """``_saved_<name>``: a tensor or argument the node saved for backward (PyTorch's
        names, e.g. ``_saved_self``, ``_saved_exponent``); ``_raw_saved_<name>``: that
        tensor's ``SavedTensor`` slot."""
    def __dir__(self) -> list[str]:
        """The attributes, with the node's ``_saved_*`` and ``_raw_saved_*`` names."""

@final
class SavedTensor:
    """One saved-tensor slot of a node (``grad_fn._raw_saved_self``)."""

    def register_hooks(
        self, pack_hook: Callable[[Tensor], Any], unpack_hook: Callable[[Any], Tensor]
    ) -> None:
        """Calls ``pack_hook(tensor)`` now and keeps its result in place of the tensor;
        backward gets the tensor back from ``unpack_hook(packed)``. Once per slot."""

# Subclassable (`nn.Parameter`), but its instance layout is native: no multiple inheritance
# with another native base.
@disjoint_base
class Tensor:
    """An array that records the ops applied to it for ``backward()`` (``torch.Tensor``)."""

    @overload
    def __new__(cls, *size: _int) -> Self:
        """``Tensor(2, 3)``: a zero-filled tensor of that size in the default dtype."""
    @overload
    def __new__(cls, data: Any, /) -> Self:
        """``Tensor(data)``: a copy of ``data`` in the default float dtype."""

    # ---- attributes ----

    @property
    def shape(self) -> Size:
        """The size of each dimension, as ``autodiff.Size``."""
    @overload
    def size(self, dim: None = None) -> Size:
        """The size of each dimension, as ``autodiff.Size``."""
    @overload
    def size(self, dim: _int) -> _int:
        """The size of dimension ``dim`` (negative counts from the end)."""
    def dim(self) -> _int:
        """The number of dimensions."""
    @property
    def ndim(self) -> _int:
        """The number of dimensions."""
    def numel(self) -> _int:
        """The number of elements."""
    @property
    def dtype(self) -> _dtype:
        """The element type."""
    @property
    def device(self) -> str:
        """Always ``"cpu"``: unlike PyTorch's ``torch.device``, a plain string."""
    @property
    def requires_grad(self) -> _bool:
        """Whether ops on this tensor are recorded for autograd; settable on leaves."""
    @requires_grad.setter
    def requires_grad(self, value: _bool) -> None: ...
    @property
    def is_leaf(self) -> _bool:
        """True for tensors that no recorded op produced."""
    @property
    def grad_fn(self) -> Node | None:
        """The node that produced this tensor; ``None`` for leaves."""
    @property
    def grad(self) -> Tensor | None:
        """The accumulated gradient; ``None`` until a backward reaches this tensor."""
    @grad.setter
    def grad(self, value: Tensor | None) -> None: ...
    @property
    def retains_grad(self) -> _bool:
        """Whether this non-leaf keeps its ``.grad`` (see ``retain_grad``)."""
    @property
    def _version(self) -> _int:
        """The storage's in-place modification counter."""
    @property
    def data(self) -> Tensor:
        """A tensor sharing this one's data, outside autograd, with its own version counter;
        unlike PyTorch's, not settable."""

    # ---- autograd ----

    def backward(
        self,
        gradient: Tensor | None = None,
        retain_graph: _bool | None = None,
        create_graph: _bool = False,
        inputs: Tensor | Sequence[Tensor] | None = None,
    ) -> None:
        """Accumulates the gradient of this tensor into the ``.grad`` of the graph's leaves."""
    def retain_grad(self) -> None:
        """Makes this non-leaf keep its ``.grad`` after backward."""
    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
        """Registers ``hook(grad)``, run on this tensor's gradient each time it is computed; a
        returned tensor replaces the gradient."""
    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], None]) -> RemovableHandle:
        """Registers ``hook(tensor)``, run after this leaf's ``.grad`` was updated."""
    def requires_grad_(self, requires_grad: _bool = True) -> Self:
        """Sets ``requires_grad`` in place and returns this tensor."""
    def detach(self) -> Tensor:
        """A new tensor sharing this one's data, detached from the graph."""
    def detach_(self) -> Self:
        """Detaches this tensor from the graph in place and returns it."""
    def zero_(self) -> Self:
        """Fills with zeros in place and returns this tensor."""
    def addmm(
        self, mat1: Tensor, mat2: Tensor, *, beta: _float = 1.0, alpha: _float = 1.0
    ) -> Tensor:
        """``beta * self + alpha * (mat1 @ mat2)`` as one ``AddmmBackward0`` node."""
    def uniform_(self, a: _float = 0.0, b: _float = 1.0, *, generator: None = None) -> Self:
        """Fills with samples uniform in ``[a, b)`` in place and returns this tensor."""
    def normal_(self, mean: _float = 0.0, std: _float = 1.0, *, generator: None = None) -> Self:
        """Fills with normal samples (``mean``, ``std``) in place and returns this tensor."""
    @staticmethod
    def _make_subclass(cls: type[_T], data: Tensor, require_grad: _bool = False) -> _T:
        """A new instance of the Tensor subclass ``cls`` sharing ``data``'s storage."""
    def fill_(self, value: _float) -> Self:
        """Fills with ``value`` in place and returns this tensor."""
    def add_(self, other: Tensor | _float, *, alpha: _float | None = None) -> Self:
        """``self += alpha * other`` in place (recorded under grad mode); returns this tensor."""
    def sub_(self, other: Tensor | _float, *, alpha: _float | None = None) -> Self:
        """``self -= alpha * other`` in place; returns this tensor."""
    def mul_(self, other: Tensor | _float) -> Self:
        """``self *= other`` in place; returns this tensor."""
    def div_(self, other: Tensor | _float) -> Self:
        """``self /= other`` in place (true division); returns this tensor."""
    def copy_(self, src: Tensor | _float, non_blocking: _bool = False) -> Self:
        """Copies ``src`` (broadcast, cast) into this tensor; returns this tensor."""
    def clamp_(self, min: _float | None = None, max: _float | None = None) -> Self:
        """Clamps in place to ``[min, max]``; returns this tensor."""
    def __iadd__(self, other: Tensor | _float, /) -> Self: ...
    def __isub__(self, other: Tensor | _float, /) -> Self: ...
    def __imul__(self, other: Tensor | _float, /) -> Self: ...
    def __itruediv__(self, other: Tensor | _float, /) -> Self: ...
    @property
    def _base(self) -> Tensor | None:
        """The tensor this view shares its data with; ``None`` if it is not a view."""
    def _is_view(self) -> _bool:
        """Whether this tensor is a view of another."""
    def is_inference(self) -> _bool:
        """Whether this tensor was made in inference mode."""

    # ---- values ----

    def item(self) -> _float | _int | _bool:
        """The value of a one-element tensor as a Python number of the tensor's kind."""
    def tolist(self) -> Any:
        """The values as nested Python lists (a Python number for a 0-d tensor)."""
    def numpy(self, *, force: _bool = False) -> npt.NDArray[Any]:
        """A NumPy array sharing this tensor's memory and strides; ``force=True`` detaches a
        tensor that requires grad instead of raising."""
    def permute(self, *dims: _int | Sequence[_int]) -> Tensor:
        """The dimensions reordered (``PermuteBackward0``)."""
    def transpose(self, dim0: _int, dim1: _int) -> Tensor:
        """Dimensions ``dim0`` and ``dim1`` swapped (``TransposeBackward0``)."""
    def t(self) -> Tensor:
        """The transpose of a tensor of at most 2 dimensions (``TBackward0``)."""
    @property
    def T(self) -> Tensor:
        """All dimensions reversed."""
    @property
    def mT(self) -> Tensor:
        """The last two dimensions swapped."""
    def unsqueeze(self, dim: _int) -> Tensor:
        """A view with a size-1 dimension inserted at ``dim``."""
    def squeeze(self, dim: _int | Sequence[_int] | None = None) -> Tensor:
        """A view without size-1 dimensions (all, or those in ``dim``)."""
    def view(self, *shape: _int | Sequence[_int]) -> Tensor:
        """The same elements in a new shape, sharing storage (contiguous tensors only)."""
    def reshape(self, *shape: _int | Sequence[_int]) -> Tensor:
        """The same elements in a new shape: a view when possible, else a copy."""
    def flatten(self, start_dim: _int = 0, end_dim: _int = -1) -> Tensor:
        """Dimensions ``start_dim..end_dim`` merged into one."""
    def expand(self, *sizes: _int | Sequence[_int]) -> Tensor:
        """A view broadcast to ``sizes`` (``-1`` keeps a dimension)."""
    def expand_as(self, other: Tensor) -> Tensor:
        """``self.expand(other.shape)``."""
    def broadcast_to(self, size: Sequence[_int]) -> Tensor:
        """A view broadcast to ``size``."""
    def contiguous(self) -> Self:
        """This tensor if contiguous, else a contiguous copy (``CloneBackward0``)."""
    def clone(self) -> Tensor:
        """A copy of the data that stays in the graph (``CloneBackward0``)."""
    def is_contiguous(self) -> _bool:
        """Whether the elements are laid out row-major without gaps."""
    def stride(self) -> tuple[_int, ...]:
        """Elements to step in storage per index along each dimension."""
    __array_priority__: ClassVar[_float]
    """Makes NumPy defer to ``Tensor``'s operators (``np.float64(2) * t`` is a tensor)."""
    def __array__(
        self, dtype: npt.DTypeLike | None = None, copy: _bool | None = None
    ) -> np.ndarray[Any, Any]:
        """``numpy()`` (shared memory), converted to ``dtype`` if given; ``copy=True`` always
        copies and ``copy=False`` raises ``ValueError`` if a copy is needed."""
    def __dlpack__(
        self,
        *,
        stream: _int | None = None,
        max_version: tuple[_int, _int] | None = None,
        dl_device: tuple[_int, _int] | None = None,
        copy: _bool | None = None,
    ) -> Any:
        """A DLPack capsule lending this tensor's memory: versioned (``dltensor_versioned``)
        when ``max_version >= (1, 0)``, else legacy (``dltensor``)."""
    def __dlpack_device__(self) -> tuple[_int, _int]:
        """``(1, 0)``: DLPack's kDLCPU, device 0."""
    def to(self, dtype: _DTypeLike) -> Tensor:
        """A copy in ``dtype``, or this tensor if it already has it; no device argument."""
    def float(self) -> Tensor:
        """``self.to(autodiff.float32)``."""
    def double(self) -> Tensor:
        """``self.to(autodiff.float64)``."""
    def long(self) -> Tensor:
        """``self.to(autodiff.int64)``."""
    def bool(self) -> Tensor:
        """``self.to(autodiff.bool)``."""
    def is_floating_point(self) -> _bool:
        """True for float dtypes."""

    # ---- elementwise ops ----

    def exp(self) -> Tensor:
        """Elementwise ``e ** x``."""
    def log(self) -> Tensor:
        """Elementwise natural logarithm."""
    def log1p(self) -> Tensor:
        """Elementwise ``ln(1 + x)``."""
    def sqrt(self) -> Tensor:
        """Elementwise square root."""
    def rsqrt(self) -> Tensor:
        """Elementwise ``1 / sqrt(x)``."""
    def sin(self) -> Tensor:
        """Elementwise sine."""
    def cos(self) -> Tensor:
        """Elementwise cosine."""
    def tan(self) -> Tensor:
        """Elementwise tangent."""
    def tanh(self) -> Tensor:
        """Elementwise hyperbolic tangent."""
    def sigmoid(self) -> Tensor:
        """Elementwise logistic sigmoid ``1 / (1 + e ** -x)``."""
    def relu(self) -> Tensor:
        """Elementwise ``max(x, 0)``."""
    def reciprocal(self) -> Tensor:
        """Elementwise ``1 / x``."""
    def square(self) -> Tensor:
        """Elementwise ``x * x``, recorded as ``pow(x, 2)`` (``PowBackward0``)."""
    def sign(self) -> Tensor:
        """Elementwise sign: -1, 0 or 1; its gradient is zero."""
    def floor(self) -> Tensor:
        """Elementwise floor; its gradient is zero."""
    def ceil(self) -> Tensor:
        """Elementwise ceiling; its gradient is zero."""
    def round(self) -> Tensor:
        """Elementwise rounding, half to even; its gradient is zero."""
    def neg(self) -> Tensor:
        """Elementwise negation."""
    def abs(self) -> Tensor:
        """Elementwise absolute value."""
    def pow(self, exponent: _TensorOrNumber) -> Tensor:
        """``self ** exponent``, broadcasting."""
    def add(self, other: _TensorOrNumber) -> Tensor:
        """``self + other``, broadcasting; no ``alpha`` argument, unlike PyTorch."""
    def sub(self, other: _TensorOrNumber) -> Tensor:
        """``self - other``, broadcasting; no ``alpha`` argument, unlike PyTorch."""
    def mul(self, other: _TensorOrNumber) -> Tensor:
        """``self * other``, broadcasting."""
    def div(self, other: _TensorOrNumber) -> Tensor:
        """``self / other`` (true division), broadcasting; no ``rounding_mode``, unlike PyTorch."""
    def maximum(self, other: Tensor) -> Tensor:
        """Elementwise maximum with the tensor ``other``, broadcasting."""
    def minimum(self, other: Tensor) -> Tensor:
        """Elementwise minimum with the tensor ``other``, broadcasting."""
    def clamp(
        self, min: _TensorOrNumber | None = None, max: _TensorOrNumber | None = None
    ) -> Tensor:
        """Limits values to ``[min, max]``; either bound may be omitted, a number or a tensor."""
    def clip(
        self, min: _TensorOrNumber | None = None, max: _TensorOrNumber | None = None
    ) -> Tensor:
        """Alias of ``clamp``."""

    # ---- reductions ----

    def sum(
        self, dim: _Dims | None = None, keepdim: _bool = False, *, dtype: _DTypeLike | None = None
    ) -> Tensor:
        """Sum of all elements, or over ``dim``; ``dtype`` converts the input first."""
    def mean(self, dim: _Dims | None = None, keepdim: _bool = False) -> Tensor:
        """Mean of all elements, or over ``dim``."""
    def prod(
        self, dim: _int | None = None, keepdim: _bool = False, *, dtype: _DTypeLike | None = None
    ) -> Tensor:
        """Product of all elements, or along ``dim``; ``dtype`` converts the input first."""
    @overload
    def max(self, dim: None = None, keepdim: _bool = False) -> Tensor:
        """The largest element."""
    @overload
    def max(self, dim: _int, keepdim: _bool = False) -> return_types.max:
        """``(values, indices)`` of the largest elements along ``dim``."""
    # The runtime names the tensor argument `dim` too (PyTorch's `other=` keyword is a
    # TypeError here), so its overload does as well.
    @overload
    def max(self, dim: Tensor) -> Tensor:
        """The elementwise maximum with the tensor passed as ``dim``, broadcasting."""
    @overload
    def min(self, dim: None = None, keepdim: _bool = False) -> Tensor:
        """The smallest element."""
    @overload
    def min(self, dim: _int, keepdim: _bool = False) -> return_types.min:
        """``(values, indices)`` of the smallest elements along ``dim``."""
    @overload
    def min(self, dim: Tensor) -> Tensor:
        """The elementwise minimum with the tensor passed as ``dim``, broadcasting."""
    def amax(self, dim: _Dims | None = None, keepdim: _bool = False) -> Tensor:
        """The largest elements over ``dim`` (all dimensions when ``None`` or empty)."""
    def amin(self, dim: _Dims | None = None, keepdim: _bool = False) -> Tensor:
        """The smallest elements over ``dim`` (all dimensions when ``None`` or empty)."""
    def argmax(self, dim: _int | None = None, keepdim: _bool = False) -> Tensor:
        """Index of the largest element, of the flattened tensor or along ``dim`` (int64)."""
    def argmin(self, dim: _int | None = None, keepdim: _bool = False) -> Tensor:
        """Index of the smallest element, of the flattened tensor or along ``dim`` (int64)."""
    # `dim` may also be `unbiased` itself (`x.var(False)`): a bool is an int, so `_Dims` has it.
    def var(
        self,
        dim: _Dims | None = None,
        unbiased: _bool | None = None,
        keepdim: _bool = False,
        *,
        correction: _float | None = None,
    ) -> Tensor:
        """Variance over ``dim`` (all elements by default), with Bessel's correction unless
        ``unbiased=False`` or ``correction=`` says otherwise."""
    def std(
        self,
        dim: _Dims | None = None,
        unbiased: _bool | None = None,
        keepdim: _bool = False,
        *,
        correction: _float | None = None,
    ) -> Tensor:
        """Standard deviation over ``dim`` (see ``var``)."""
    def norm(
        self,
        p: _float | Literal["fro"] | None = None,
        dim: _Dims | None = None,
        keepdim: _bool = False,
        dtype: _DTypeLike | None = None,
    ) -> Tensor:
        """The vector ``p``-norm (default 2, also ``"fro"``) of all elements, or over ``dim``."""
    def logsumexp(self, dim: _Dims, keepdim: _bool = False) -> Tensor:
        """``log(sum(exp(x)))`` over ``dim``, computed without overflow."""
    def all(self, dim: _Dims | None = None, keepdim: _bool = False) -> Tensor:
        """Whether all elements (over ``dim``) are non-zero, as a bool tensor."""
    def any(self, dim: _Dims | None = None, keepdim: _bool = False) -> Tensor:
        """Whether any element (over ``dim``) is non-zero, as a bool tensor."""
    def softmax(self, dim: _int, dtype: _DTypeLike | None = None) -> Tensor:
        """Softmax along ``dim``; ``dtype`` converts the input first."""
    def log_softmax(self, dim: _int, dtype: _DTypeLike | None = None) -> Tensor:
        """Log-softmax along ``dim``; ``dtype`` converts the input first."""

    # ---- matrix products ----
    # The argument is named `other` in each (PyTorch's are `mat2`, `vec`, `tensor`, `vec2`).

    def matmul(self, other: Tensor) -> Tensor:
        """The matrix product with NumPy's broadcasting rules (``self @ other``)."""
    def mm(self, other: Tensor) -> Tensor:
        """The product of two matrices."""
    def bmm(self, other: Tensor) -> Tensor:
        """The batched product of two 3-d tensors."""
    def mv(self, other: Tensor) -> Tensor:
        """The product of a matrix and a vector."""
    def dot(self, other: Tensor) -> Tensor:
        """The inner product of two vectors."""
    def outer(self, other: Tensor) -> Tensor:
        """The outer product of two vectors."""

    # ---- indexing, joining and splitting ----

    def __getitem__(self, index: _Index, /) -> Tensor:
        """``self[index]``: a view for ints, slices, ``...`` and ``None``; a copy when the index
        holds a tensor (an int64 index or a bool mask)."""
    def __setitem__(self, index: _Index, value: _TensorOrNumber, /) -> None:
        """``self[index] = value`` in place, broadcasting ``value``."""
    def narrow(self, dim: _int, start: _int, length: _int) -> Tensor:
        """``length`` elements from ``start`` along ``dim`` (a view)."""
    def select(self, dim: _int, index: _int) -> Tensor:
        """The slice at ``index`` along ``dim``, without that dimension (a view)."""
    def split(self, split_size: _int | Sequence[_int], dim: _int = 0) -> tuple[Tensor, ...]:
        """Views of ``split_size`` elements along ``dim``, or of the sizes in a list."""
    def chunk(self, chunks: _int, dim: _int = 0) -> tuple[Tensor, ...]:
        """``chunks`` views of (nearly) equal size along ``dim``."""
    def unbind(self, dim: _int = 0) -> tuple[Tensor, ...]:
        """The slices along ``dim``, each without that dimension."""
    def unflatten(self, dim: _int, sizes: Sequence[_int]) -> Tensor:
        """Dimension ``dim`` split into ``sizes``."""
    def gather(self, dim: _int, index: Tensor) -> Tensor:
        """Values along ``dim`` picked by the int64 tensor ``index``."""
    def index_select(self, dim: _int, index: Tensor) -> Tensor:
        """The slices at the int64 vector ``index`` along ``dim``."""
    def masked_fill(self, mask: Tensor, value: _TensorOrNumber) -> Tensor:
        """``value`` where the bool tensor ``mask`` holds, else this tensor's elements."""

    # ---- operators ----

    def __add__(self, other: _TensorOrNumber, /) -> Tensor:
        """``self + other``."""
    def __radd__(self, other: _TensorOrNumber, /) -> Tensor:
        """``other + self``."""
    def __sub__(self, other: _TensorOrNumber, /) -> Tensor:
        """``self - other``."""
    def __rsub__(self, other: _TensorOrNumber, /) -> Tensor:
        """``other - self``."""
    def __mul__(self, other: _TensorOrNumber, /) -> Tensor:
        """``self * other``."""
    def __rmul__(self, other: _TensorOrNumber, /) -> Tensor:
        """``other * self``."""
    def __truediv__(self, other: _TensorOrNumber, /) -> Tensor:
        """``self / other``."""
    def __rtruediv__(self, other: _TensorOrNumber, /) -> Tensor:
        """``other / self``, recorded as ``reciprocal(self) * other`` as in PyTorch."""
    def __pow__(self, exponent: _TensorOrNumber, modulo: None = None, /) -> Tensor:
        """``self ** exponent``: ``PowBackward0`` for a number, ``PowBackward1`` for a tensor."""
    def __rpow__(self, base: _TensorOrNumber, modulo: None = None, /) -> Tensor:
        """``base ** self``."""
    def __matmul__(self, other: Tensor, /) -> Tensor:
        """``self @ other``."""
    def __rmatmul__(self, other: Tensor, /) -> Tensor:
        """``other @ self``."""
    def __neg__(self) -> Tensor:
        """``-self``."""
    def __pos__(self) -> Self:
        """``+self``: this tensor itself."""
    def __abs__(self) -> Tensor:
        """``abs(self)``."""
    # Comparisons give bool tensors, not Python bools: hence the ignored overrides.
    def __eq__(self, other: _TensorOrNumber, /) -> Tensor:  # type: ignore[override]
        """Elementwise ``self == other``, as a bool tensor."""
    def __ne__(self, other: _TensorOrNumber, /) -> Tensor:  # type: ignore[override]
        """Elementwise ``self != other``, as a bool tensor."""
    def __lt__(self, other: _TensorOrNumber, /) -> Tensor:
        """Elementwise ``self < other``, as a bool tensor."""
    def __le__(self, other: _TensorOrNumber, /) -> Tensor:
        """Elementwise ``self <= other``, as a bool tensor."""
    def __gt__(self, other: _TensorOrNumber, /) -> Tensor:
        """Elementwise ``self > other``, as a bool tensor."""
    def __ge__(self, other: _TensorOrNumber, /) -> Tensor:
        """Elementwise ``self >= other``, as a bool tensor."""
    def __hash__(self) -> _int:
        """The object's identity, as PyTorch's tensors hash."""
    def __bool__(self) -> _bool:
        """The truth of a one-element tensor; ``RuntimeError`` for more elements."""
    def __float__(self) -> _float:
        """The value of a one-element tensor as a float."""
    def __int__(self) -> _int:
        """The value of a one-element tensor as an int (truncated)."""
    def __index__(self) -> _int:
        """The value of a one-element int64 tensor, for use as an index."""
    def __len__(self) -> _int:
        """The size of the first dimension; ``TypeError`` for a 0-d tensor."""
    def __format__(self, spec: str) -> str:
        """A 0-d tensor formats as its Python value (``f"{loss:.3f}"``); others as the repr."""

# ---- tensor creation ----

def tensor(
    data: Any,
    *,
    dtype: _DTypeLike | None = None,
    device: str | None = None,
    requires_grad: _bool = False,
) -> Tensor:
    """A new tensor copied from a number, nested sequences, a NumPy array or a tensor."""

@overload
def zeros(
    *size: _int,
    dtype: _DTypeLike | None = None,
    device: str | None = None,
    requires_grad: _bool = False,
) -> Tensor:
    """Zeros of the given size, e.g. ``zeros(2, 3)``."""

@overload
def zeros(
    size: Sequence[_int],
    /,
    *,
    dtype: _DTypeLike | None = None,
    device: str | None = None,
    requires_grad: _bool = False,
) -> Tensor:
    """Zeros of the given size, e.g. ``zeros((2, 3))``."""

@overload
def ones(
    *size: _int,
    dtype: _DTypeLike | None = None,
    device: str | None = None,
    requires_grad: _bool = False,
) -> Tensor:
    """Ones of the given size, e.g. ``ones(2, 3)``."""

@overload
def ones(
    size: Sequence[_int],
    /,
    *,
    dtype: _DTypeLike | None = None,
    device: str | None = None,
    requires_grad: _bool = False,
) -> Tensor:
    """Ones of the given size, e.g. ``ones((2, 3))``."""

@overload
def empty(
    *size: _int,
    dtype: _DTypeLike | None = None,
    device: str | None = None,
    requires_grad: _bool = False,
) -> Tensor:
    """An uninitialised tensor of the given size; here always zero-filled."""

@overload
def empty(
    size: Sequence[_int],
    /,
    *,
    dtype: _DTypeLike | None = None,
    device: str | None = None,
    requires_grad: _bool = False,
) -> Tensor:
    """An uninitialised tensor of the given size; here always zero-filled."""

def full(
    size: _Dims,
    fill_value: _TensorOrNumber,
    *,
    dtype: _DTypeLike | None = None,
    device: str | None = None,
    requires_grad: _bool = False,
) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value``; the dtype follows the value's kind."""

def zeros_like(
    input: Tensor,
    *,
    dtype: _DTypeLike | None = None,
    device: str | None = None,
    requires_grad: _bool = False,
) -> Tensor:
    """Zeros with the shape (and by default the dtype) of ``input``."""

def ones_like(
    input: Tensor,
    *,
    dtype: _DTypeLike | None = None,
    device: str | None = None,
    requires_grad: _bool = False,
) -> Tensor:
    """Ones with the shape (and by default the dtype) of ``input``."""

def full_like(
    input: Tensor,
    fill_value: _TensorOrNumber,
    *,
    dtype: _DTypeLike | None = None,
    device: str | None = None,
    requires_grad: _bool = False,
) -> Tensor:
    """A tensor with the shape (and by default the dtype) of ``input``, filled with
    ``fill_value``."""

def empty_like(
    input: Tensor,
    *,
    dtype: _DTypeLike | None = None,
    device: str | None = None,
    requires_grad: _bool = False,
) -> Tensor:
    """An uninitialised tensor shaped like ``input``; here always zero-filled."""

# Numbers here may also be one-element tensors. Integer bounds give int64, as in PyTorch.
def arange(
    start: _TensorOrNumber | None = None,
    end: _TensorOrNumber | None = None,
    step: _TensorOrNumber | None = None,
    *,
    dtype: _DTypeLike | None = None,
    device: str | None = None,
    requires_grad: _bool = False,
) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``; ``arange(end)`` starts at 0."""

def linspace(
    start: _TensorOrNumber,
    end: _TensorOrNumber,
    steps: _int,
    *,
    dtype: _DTypeLike | None = None,
    device: str | None = None,
    requires_grad: _bool = False,
) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""

def eye(
    n: _int,
    m: _int | None = None,
    *,
    dtype: _DTypeLike | None = None,
    device: str | None = None,
    requires_grad: _bool = False,
) -> Tensor:
    """The identity matrix with ``n`` rows and ``m`` (default ``n``) columns."""

# ---- random tensors (one default generator: `generator=` must be left out or `None`) ----

@overload
def rand(
    *args: _int,
    generator: None = None,
    dtype: _DTypeLike | None = None,
    device: str | None = None,
    requires_grad: _bool = False,
) -> Tensor:
    """Uniform samples in ``[0, 1)`` of the given size, e.g. ``rand(2, 3)``."""

@overload
def rand(
    shape: Sequence[_int],
    /,
    *,
    generator: None = None,
    dtype: _DTypeLike | None = None,
    device: str | None = None,
    requires_grad: _bool = False,
) -> Tensor:
    """Uniform samples in ``[0, 1)`` of the given size, e.g. ``rand((2, 3))``."""

@overload
def rand(
    *,
    size: Sequence[_int] | None = None,
    generator: None = None,
    dtype: _DTypeLike | None = None,
    device: str | None = None,
    requires_grad: _bool = False,
) -> Tensor:
    """Uniform samples in ``[0, 1)`` of the given size, e.g. ``rand(size=(2, 3))``."""

def rand_like(
    input: Tensor,
    *,
    dtype: _DTypeLike | None = None,
    device: str | None = None,
    requires_grad: _bool = False,
) -> Tensor:
    """Uniform samples in ``[0, 1)`` with the shape (and by default the dtype) of ``input``."""

@overload
def randn(
    *args: _int,
    generator: None = None,
    dtype: _DTypeLike | None = None,
    device: str | None = None,
    requires_grad: _bool = False,
) -> Tensor:
    """Standard normal samples of the given size, e.g. ``randn(2, 3)``."""

@overload
def randn(
    shape: Sequence[_int],
    /,
    *,
    generator: None = None,
    dtype: _DTypeLike | None = None,
    device: str | None = None,
    requires_grad: _bool = False,
) -> Tensor:
    """Standard normal samples of the given size, e.g. ``randn((2, 3))``."""

@overload
def randn(
    *,
    size: Sequence[_int] | None = None,
    generator: None = None,
    dtype: _DTypeLike | None = None,
    device: str | None = None,
    requires_grad: _bool = False,
) -> Tensor:
    """Standard normal samples of the given size, e.g. ``randn(size=(2, 3))``."""

def randn_like(
    input: Tensor,
    *,
    dtype: _DTypeLike | None = None,
    device: str | None = None,
    requires_grad: _bool = False,
) -> Tensor:
    """Standard normal samples with the shape (and by default the dtype) of ``input``."""

@overload
def randint(
    high: _int,
    shape: _Dims,
    /,
    *,
    generator: None = None,
    dtype: _DTypeLike | None = None,
    device: str | None = None,
    requires_grad: _bool = False,
) -> Tensor:
    """Integers uniform in ``[0, high)`` (int64 by default), e.g. ``randint(10, (2, 3))``."""

@overload
def randint(
    low: _int,
    high: _int,
    shape: _Dims,
    /,
    *,
    generator: None = None,
    dtype: _DTypeLike | None = None,
    device: str | None = None,
    requires_grad: _bool = False,
) -> Tensor:
    """Integers uniform in ``[low, high)`` (int64 by default), e.g. ``randint(3, 10, (2,))``."""

@overload
def randint(
    high: _int,
    /,
    *,
    size: _Dims | None = None,
    generator: None = None,
    dtype: _DTypeLike | None = None,
    device: str | None = None,
    requires_grad: _bool = False,
) -> Tensor:
    """Integers uniform in ``[0, high)``, e.g. ``randint(10, size=(2, 3))``."""

@overload
def randint(
    low: _int,
    high: _int,
    /,
    *,
    size: _Dims | None = None,
    generator: None = None,
    dtype: _DTypeLike | None = None,
    device: str | None = None,
    requires_grad: _bool = False,
) -> Tensor:
    """Integers uniform in ``[low, high)``, e.g. ``randint(3, 10, size=(2,))``."""

def randperm(
    n: _int,
    *,
    generator: None = None,
    dtype: _DTypeLike | None = None,
    device: Any = None,
    requires_grad: _bool = False,
) -> Tensor:
    """A random permutation of ``0, ..., n - 1`` from the default generator."""

def _manual_seed(seed: _int) -> None:
    """Restarts the default generator from ``seed`` (``autodiff.manual_seed`` wraps this)."""

def _initial_seed() -> _int:
    """The seed the default generator started from."""

# ---- joining ----

# A list or a tuple, as PyTorch takes them; not any sequence.
def cat(tensors: tuple[Tensor, ...] | list[Tensor], dim: _int = 0) -> Tensor:
    """Joins tensors along an existing dimension."""

def stack(tensors: tuple[Tensor, ...] | list[Tensor], dim: _int = 0) -> Tensor:
    """Joins same-shaped tensors along a new dimension."""

# ---- functions whose first argument may be a number ----

def where(condition: Tensor, input: _TensorOrNumber, other: _TensorOrNumber) -> Tensor:
    """``input`` where the bool tensor ``condition`` holds, else ``other``, broadcasting."""

def pow(input: _TensorOrNumber, exponent: _TensorOrNumber) -> Tensor:
    """``input ** exponent``, where either side may be a number."""

# ---- grad mode and dtypes ----

def is_grad_enabled() -> _bool:
    """Whether ops on this thread record graphs."""

def _set_grad_enabled(enabled: _bool) -> _bool:
    """Sets this thread's grad mode and returns the previous one."""

def _live_nodes() -> _int:
    """The number of autograd graph nodes alive in the process (for memory tests)."""

@final
class RemovableHandle:
    """Removes the hook it was returned for (``torch.utils.hooks.RemovableHandle``)."""

    def remove(self) -> None:
        """Removes the hook; doing it again does nothing."""
    @property
    def id(self) -> _int:
        """The hook's id, unique in the process."""
    def __enter__(self) -> RemovableHandle: ...
    def __exit__(self, exc_type: object, exc: object, tb: object) -> None: ...

def _record_function(
    name: str,
    ctx: Any,
    trampoline: Callable[..., tuple[Tensor | None, ...]],
    args: list[Any],
    outputs: list[Tensor | None],
    non_differentiable: list[_bool],
    saved: list[Tensor | None],
    materialize: _bool,
) -> list[Tensor | None]:
    """Attaches a custom function's outputs to a new graph node (``Function.apply``)."""

def _delayed_error(
    outputs: list[Tensor | None], inputs: list[Tensor], message: str
) -> list[Tensor | None]:
    """Outputs whose differentiation raises ``message`` (``once_differentiable``)."""

def _set_detect_anomaly(mode: _bool, check_nan: _bool = True) -> None:
    """Turns anomaly detection on or off."""

def is_inference_mode_enabled() -> _bool:
    """Whether this thread is in inference mode."""

def _set_inference_mode(enabled: _bool) -> tuple[_bool, _bool]:
    """Enters (or leaves) inference mode; returns the previous (inference, grad) modes."""

def _restore_inference_mode(previous: tuple[_bool, _bool]) -> None:
    """Restores what ``_set_inference_mode`` returned."""

def is_anomaly_enabled() -> _bool:
    """Whether anomaly detection is on."""

def is_anomaly_check_nan_enabled() -> _bool:
    """Whether anomaly detection checks backward's gradients for NaN."""

def get_num_threads() -> _int:
    """Threads the kernels use, the calling thread included (``OMP_NUM_THREADS``, else every
    CPU this process may use)."""

def set_num_threads(threads: _int) -> None:
    """Sets the threads the kernels use; ``RuntimeError`` unless a positive integer."""

def get_default_dtype() -> dtype:
    """The default float dtype, ``float32`` unless changed."""

def set_default_dtype(dtype: _DTypeLike) -> None:
    """Sets the default float dtype (``float32`` or ``float64``)."""

# ---- autograd entry points (`autodiff.autograd.backward` and `.grad` wrap these) ----

def _run_backward(
    tensors: Tensor | Iterable[Tensor],
    grad_tensors: Tensor | Iterable[Tensor | None] | None,
    retain_graph: _bool,
    create_graph: _bool,
    inputs: Tensor | Iterable[Tensor] | None,
) -> None:
    """Accumulates the gradients of ``tensors`` into the leaves' (or ``inputs``') ``.grad``."""

def _run_grad(
    outputs: Tensor | Iterable[Tensor],
    inputs: Tensor | Iterable[Tensor],
    grad_outputs: Tensor | Iterable[Tensor | None] | None,
    retain_graph: _bool,
    create_graph: _bool,
) -> list[Tensor | None]:
    """The gradients of ``outputs`` with respect to ``inputs``: one tensor or ``None`` each."""

# ---- interop: memory shared with NumPy and DLPack producers/consumers ----

def from_numpy(ndarray: np.ndarray[Any, Any], /) -> Tensor:
    """A tensor sharing ``ndarray``'s memory (float32, float64, int64 or bool), keeping the
    array alive."""

def from_dlpack(ext_tensor: Any, *, device: Any = None, copy: _bool | None = None) -> Tensor:
    """A tensor sharing the memory of an object with ``__dlpack__`` or of a DLPack capsule."""

# ---- losses and optimizer updates (autodiff.nn, autodiff.optim) ----

def addmm(
    input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: _float = 1.0, alpha: _float = 1.0
) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)`` as one ``AddmmBackward0`` node."""

def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Mean squared error as one ``MseLossBackward0`` node."""

def binary_cross_entropy(
    input: Tensor, target: Tensor, weight: Tensor | None = None, reduction: str = "mean"
) -> Tensor:
    """Binary cross-entropy of probabilities (``BinaryCrossEntropyBackward0``)."""

def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    pos_weight: Tensor | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Binary cross-entropy of logits (``BinaryCrossEntropyWithLogitsBackward0``)."""

def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    ignore_index: _int = -100,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of class indices, input ``(N, C)`` or ``(C,)``."""

def _sgd_step(
    params: list[Tensor],
    grads: list[Tensor],
    momentum_buffers: list[Tensor | None],
    lr: _float,
    weight_decay: _float,
    momentum: _float,
    dampening: _float,
    nesterov: _bool,
    maximize: _bool,
) -> list[Tensor | None]:
    """One SGD step over a parameter group, in place; returns the momentum buffers."""

def _adam_step(
    params: list[Tensor],
    grads: list[Tensor],
    exp_avgs: list[Tensor],
    exp_avg_sqs: list[Tensor],
    max_exp_avg_sqs: list[Tensor],
    steps: list[_float],
    lr: _float,
    beta1: _float,
    beta2: _float,
    eps: _float,
    weight_decay: _float,
    amsgrad: _bool,
    maximize: _bool,
    decoupled_weight_decay: _bool,
) -> None:
    """One Adam (AdamW with ``decoupled_weight_decay``) step over a parameter group."""
