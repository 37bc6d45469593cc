"""σ and BCE-with-logits' gradient: relative accuracy over the whole range, both tails.

The reference is ``scipy.special.expit`` in float64 (accurate to ~1 ulp there). The old
``½(1 + tanh(x/2))`` returned exactly 0 for x ≤ −20 in float32 (and lost digits below −30
in float64), and BCE's gradient inherited it: these tests fail for any formulation that
subtracts two numbers near 1.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.layers.activation import sigmoid

sp = pytest.importorskip("scipy.special")
F32 = np.finfo(np.float32)
F64 = np.finfo(np.float64)


def _float32_range() -> np.ndarray:
    """A dense grid where σ is non-trivial, plus magnitudes from the smallest subnormal to
    the largest float32, both signs, and the special values."""
    mags = np.logspace(-45, 38.5, 4001).astype(np.float32)
    special = np.array([0.0, -0.0, F32.tiny, -F32.tiny, F32.max, -F32.max, np.inf, -np.inf],
                       dtype=np.float32)
    return np.concatenate([np.linspace(-104, 104, 200001, dtype=np.float32), mags, -mags,
                           special])


def _relative_ulps(y: np.ndarray, ref: np.ndarray, eps: float, tiny: float) -> float:
    """Worst |y − ref|/ref in units of eps, where ref is a normal number."""
    normal = ref >= tiny
    err = np.abs(y.astype(np.float64) - ref)[normal] / ref[normal]
    return float(err.max() / eps)


def test_sigmoid_float32_relative_accuracy_whole_range():
    x = _float32_range()
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        y = cr.Sigmoid().forward(x)
    assert y.dtype == np.float32
    ref = sp.expit(x.astype(np.float64))
    assert _relative_ulps(y, ref, F32.eps, F32.tiny) <= 4.0
    # Subnormal results (x below about −87) are within a few of the smallest subnormals.
    sub = ref < F32.tiny
    assert np.abs(y.astype(np.float64) - ref)[sub].max() <= 4 * F32.smallest_subnormal
    assert np.all((y >= 0) & (y <= 1))
    np.testing.assert_array_equal(sigmoid(np.array([-np.inf, np.inf, 0.0], np.float32)),
                                  [0.0, 1.0, 0.5])


@pytest.mark.parametrize("x,expected", [(-15.0, 3.059022e-07), (-20.0, 2.0611537e-09),
                                        (-30.0, 9.357623e-14), (-80.0, 1.8048514e-35)])
def test_sigmoid_float32_negative_tail_is_not_zero(x, expected):
    y = cr.Sigmoid().forward(np.array([x], dtype=np.float32))
    assert y[0] == pytest.approx(expected, rel=1e-6)


def test_sigmoid_float64_relative_accuracy_down_to_minus_700():
    x = np.concatenate([np.linspace(-700, 40, 400001), -np.logspace(-300, np.log10(700), 2001),
                        np.logspace(-300, np.log10(40), 2001)])
    y = sigmoid(x)
    assert y.dtype == np.float64
    assert _relative_ulps(y, sp.expit(x), F64.eps, F64.tiny) <= 4.0
    assert sigmoid(np.array([-700.0]))[0] == pytest.approx(9.8597e-305, rel=1e-4)


def test_sigmoid_nan_propagates_and_integers_become_float32():
    y = sigmoid(np.array([np.nan, 1.0]))
    assert np.isnan(y[0]) and y[1] == pytest.approx(0.7310585786300049, rel=1e-15)
    assert sigmoid(np.array([0, 3])).dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("t", [0.0, 1.0])
def test_bce_with_logits_gradient_relative_accuracy_both_tails(dtype, t):
    """∂ℓ/∂z = σ(z) − t: for t = 0 it is σ(z), for t = 1 it is −σ(−z); both tails count."""
    info = np.finfo(dtype)
    lim = 100.0 if dtype == np.float32 else 700.0
    z = np.linspace(-lim, lim, 100001).astype(dtype)
    loss = cr.BCEWithLogits("sum")
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value = loss.forward(z, np.full_like(z, t))
        g = loss.backward()
    assert np.isfinite(value) and g.dtype == dtype
    z64 = z.astype(np.float64)
    ref = sp.expit(z64) if t == 0.0 else -sp.expit(-z64)
    assert _relative_ulps(np.abs(g), np.abs(ref), info.eps, info.tiny) <= 4.0


def test_bce_with_logits_gradient_soft_targets_absolute():
    rng = np.random.default_rng(0)
    z = rng.uniform(-40, 40, 5000)
    t = rng.uniform(0, 1, 5000)
    loss = cr.BCEWithLogits("sum")
    loss.forward(z, t)
    np.testing.assert_allclose(loss.backward(), sp.expit(z) - t, rtol=0, atol=4 * F64.eps)
