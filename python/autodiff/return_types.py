"""Named tuples that some functions return, as ``torch.return_types`` has them.

>>> import autodiff
>>> autodiff.tensor([[1.0, 5.0], [7.0, 2.0]]).max(dim=1).indices
tensor([1, 0])
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from ._C import Tensor


class _ValuesIndices(NamedTuple):
    values: Tensor
    indices: Tensor


def _named(name: str) -> type:
    def __repr__(self: _ValuesIndices) -> str:
        return f"autodiff.return_types.{name}(\nvalues={self.values!r},\nindices={self.indices!r})"

    return type(name, (_ValuesIndices,), {"__repr__": __repr__, "__module__": __name__})


if TYPE_CHECKING:
    # What `_named` builds, as classes that mypy can use as types (`Tensor.max`'s return type).
    class max(_ValuesIndices): ...  # noqa: A001 - PyTorch's name

    class min(_ValuesIndices): ...  # noqa: A001

else:
    max = _named("max")  # noqa: A001 - PyTorch's name
    min = _named("min")  # noqa: A001

__all__ = ["max", "min"]
