"""The default random generator: seeding for ``rand``, ``randn`` and ``randint``.

The same seed gives the same numbers on every platform (the numbers differ from PyTorch's,
whose generator is a different algorithm).

>>> import autodiff
>>> _ = autodiff.manual_seed(0)
>>> a = autodiff.rand(3)
>>> _ = autodiff.manual_seed(0)
>>> bool((a == autodiff.rand(3)).all())
True
"""

from __future__ import annotations

import time

from . import _C


class Generator:
    """The process-wide generator, as ``torch.default_generator``."""

    def manual_seed(self, seed: int) -> Generator:
        """Restarts the sequence from ``seed``; returns the generator."""
        _C._manual_seed(seed)
        return self

    def initial_seed(self) -> int:
        """The seed the sequence started from."""
        return _C._initial_seed()

    def seed(self) -> int:
        """Reseeds from the clock and returns the new seed."""
        new_seed = time.time_ns() & ((1 << 63) - 1)
        _C._manual_seed(new_seed)
        return new_seed


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seeds the default generator; returns it, as ``torch.manual_seed`` does."""
    return default_generator.manual_seed(seed)


def initial_seed() -> int:
    """The seed the default generator started from."""
    return default_generator.initial_seed()


def seed() -> int:
    """Seeds the default generator from the clock and returns that seed."""
    return default_generator.seed()


__all__ = ["Generator", "default_generator", "initial_seed", "manual_seed", "seed"]
