"""Dropout and GaussianNoise: semantics, seeding, gradients."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from chainrule.gradcheck import gradcheck
from chainrule.layers.dropout import Dropout
from chainrule.layers.noise import GaussianNoise
from harness import check_layer


@pytest.mark.parametrize("p", [0.0, 0.3, 0.5, 1.0])
def test_dropout_gradcheck_training(rng, p):
    x = rng.standard_normal((4, 7))
    report = check_layer(lambda: Dropout(p, rng=1), x, training=True)
    assert report["input"].max_rel < 1e-8


def test_dropout_identity_in_eval(rng):
    x = rng.standard_normal((3, 5)).astype(np.float32)
    layer = Dropout(0.5, rng=0)
    y = layer.forward(x)
    assert y is x
    dy = rng.standard_normal((3, 5)).astype(np.float32)
    np.testing.assert_array_equal(layer.backward(dy), dy)
    check_layer(lambda: Dropout(0.5, rng=1), x.astype(np.float64), lambda x, p: x)


def test_dropout_scaling_and_fraction():
    p = 0.3
    layer = Dropout(p, rng=0)
    x = np.ones((200, 500), dtype=np.float32)
    y = layer.forward(x, training=True)
    assert y.dtype == np.float32
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1.0 / (1.0 - p), rtol=1e-6)
    # 100k Bernoulli draws: the dropped fraction is within ~5 standard deviations of p.
    assert abs((~kept).mean() - p) < 5 * np.sqrt(p * (1 - p) / x.size)
    assert abs(y.mean() - 1.0) < 0.01  # inverted dropout keeps the expectation
    dy = np.full_like(x, 2.0)
    np.testing.assert_allclose(layer.backward(dy), np.where(kept, 2.0 / (1.0 - p), 0.0), rtol=1e-6)


def test_dropout_edge_cases(rng):
    x = rng.standard_normal((4, 6))
    with np.errstate(all="raise"):
        y1 = Dropout(1.0, rng=0).forward(x, training=True)
    np.testing.assert_array_equal(y1, np.zeros_like(x))
    np.testing.assert_array_equal(Dropout(0.0, rng=0).forward(x, training=True), x)
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="Dropout"):
            Dropout(bad)


def test_dropout_seeded_reproducible(rng):
    x = rng.standard_normal((8, 16)).astype(np.float32)
    a, b = Dropout(0.5, rng=42), Dropout(0.5, rng=42)
    ya1, yb1 = a.forward(x, training=True), b.forward(x, training=True)
    np.testing.assert_array_equal(ya1, yb1)
    ya2 = a.forward(x, training=True)
    assert not np.array_equal(ya1, ya2)  # the Generator advances: a new mask each call
    assert isinstance(a.rng, np.random.Generator)
    c = copy.deepcopy(a)  # checkpoints restore self.rng; a copy continues the same stream
    np.testing.assert_array_equal(c.forward(x, training=True), a.forward(x, training=True))
    gen = np.random.default_rng(3)
    assert Dropout(0.5, rng=gen).rng is gen


def test_noise_training_only(rng):
    x = rng.standard_normal((400, 250)).astype(np.float32)
    layer = GaussianNoise(0.5, rng=0)
    assert layer.forward(x) is x
    y = layer.forward(x, training=True)
    assert y.dtype == np.float32
    noise = (y - x).astype(np.float64)
    assert abs(noise.mean()) < 5 * 0.5 / np.sqrt(x.size)
    assert abs(noise.std() - 0.5) < 0.01
    np.testing.assert_array_equal(layer.backward(x), x)
    y2 = GaussianNoise(0.5, rng=0).forward(x, training=True)
    np.testing.assert_array_equal(y, y2)
    with pytest.raises(ValueError, match="GaussianNoise"):
        GaussianNoise(-1.0)


@pytest.mark.parametrize("training", [True, False])
def test_noise_gradcheck(rng, training):
    x = rng.standard_normal((3, 2, 4))
    check_layer(lambda: GaussianNoise(0.3, rng=5), x, training=training)
    report = gradcheck(GaussianNoise(0.3, rng=5), x, training=training)
    assert report.ok
