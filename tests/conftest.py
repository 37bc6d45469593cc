"""Shared fixtures. ``tests/`` is on ``sys.path`` (pytest's rootdir insertion), so test
modules import the layer harness with ``from harness import check_layer``."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh Generator with a fixed seed: every test sees the same numbers on every run."""
    return np.random.default_rng(12345)
