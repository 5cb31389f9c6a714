"""Shared pytest configuration: hypothesis profiles and common fixtures.

The profile comes from the HYPOTHESIS_PROFILE environment variable, as in pydantic-core's
``tests/conftest.py`` (STYLE.md E10):

- ``ci`` (default): 25 examples per property, no deadline (timings on shared runners are noise);
- ``dev``: 10 examples, for a quick edit-and-run loop;
- ``thorough``: 500 examples, for a run before a release or after touching an op.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=25, deadline=None, print_blob=True)
settings.register_profile("dev", max_examples=10, deadline=None)
settings.register_profile(
    "thorough",
    max_examples=500,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def rng() -> np.random.Generator:
    """A fixed-seed generator for the tests that are not driven by hypothesis."""
    return np.random.default_rng(20240602)
