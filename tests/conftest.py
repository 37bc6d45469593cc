"""Shared fixtures. ``tests/`` is on ``sys.path`` (pytest's rootdir insertion), so test
modules import the layer harness with ``from harness import check_layer``."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")   # Keras (the reference extra) runs on torch

import resources


def pytest_sessionstart(session) -> None:
    """After ``make setup``, a resource it provisioned and that is still missing stops the
    suite at once, loudly, instead of turning into skips."""
    missing = resources.missing_expected()
    if missing:
        lines = "\n".join(f"  {n}: {resources.HOWTO.get(n, '')}" for n in missing)
        pytest.exit(f"set-up bug: provisioned resources are missing "
                    f"(CHAINRULE_EXPECT={' '.join(sorted(resources.expected()))}):\n{lines}",
                    returncode=3)


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh Generator with a fixed seed: every test sees the same numbers on every run."""
    return np.random.default_rng(12345)


@pytest.fixture(params=["one band", "1-byte bands", "2000-byte bands"])
def conv_bands(request, monkeypatch) -> str:
    """Run a Conv2d test with its default band sizes, with one output (input) row per band,
    and with bands of a few rows: the banded im2col/GEMM loops and the banded input gradient
    must give the same result however the rows are split."""
    from chainrule.layers import conv

    budget = {"1-byte bands": 1, "2000-byte bands": 2000}.get(request.param)
    if budget is not None:
        monkeypatch.setattr(conv, "_BAND_BYTES", budget)
        monkeypatch.setattr(conv, "_DX_BAND_BYTES", budget)
    return request.param
