"""``autodiff.Size``: the type of ``Tensor.shape``, a tuple of ints as ``torch.Size`` is."""

from __future__ import annotations


class Size(tuple):
    """A tensor's shape: a tuple of ints that prints as ``autodiff.Size([2, 3])``.

    >>> import autodiff
    >>> autodiff.zeros(2, 3).shape
    autodiff.Size([2, 3])
    """

    __slots__ = ()

    def numel(self) -> int:
        """The number of elements of a tensor of this shape."""
        n = 1
        for d in self:
            n *= d
        return n

    def __repr__(self) -> str:
        return f"autodiff.Size({list(self)})"

    def __getitem__(self, index):  # slices stay Sizes, as in PyTorch
        result = tuple.__getitem__(self, index)
        return Size(result) if isinstance(index, slice) else result
