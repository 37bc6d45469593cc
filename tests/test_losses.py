"""Losses: gradient checks, closed forms, reductions, target forms, stability and errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.gradcheck import gradcheck_loss
from chainrule.losses import LOSSES, log_softmax


def _ce_closed_form(z, y):
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    return -np.log(p[np.arange(len(y)), y]).mean()


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("n", [1, 5])
def test_gradcheck_all_losses(reduction, n, rng):
    z = 2 * rng.standard_normal((n, 4))
    cases = [
        (cr.SoftmaxCrossEntropy(reduction), rng.integers(0, 4, n)),
        (cr.SoftmaxCrossEntropy(reduction), rng.dirichlet(np.ones(4), n)),
        (cr.MSELoss(reduction), rng.standard_normal((n, 4))),
        (cr.BCEWithLogits(reduction), rng.uniform(0, 1, (n, 4))),
    ]
    for loss, target in cases:
        report = gradcheck_loss(loss, z, target)
        assert report.ok, str(report)


def test_closed_forms_and_python_float(rng):
    z = rng.standard_normal((6, 3))
    y = rng.integers(0, 3, 6)
    t = rng.uniform(0, 1, (6, 3))
    ce = cr.SoftmaxCrossEntropy()
    value = ce.forward(z, y)
    assert type(value) is float
    assert value == pytest.approx(_ce_closed_form(z, y), rel=1e-12)
    mse = cr.MSELoss().forward(z, t)
    assert type(mse) is float and mse == pytest.approx(np.mean((z - t) ** 2), rel=1e-12)
    sig = 1 / (1 + np.exp(-z))
    bce = cr.BCEWithLogits().forward(z, t)
    assert type(bce) is float
    assert bce == pytest.approx(np.mean(-t * np.log(sig) - (1 - t) * np.log(1 - sig)), rel=1e-12)
    assert type(cr.SoftmaxCrossEntropy().forward(z.astype(np.float32), y)) is float


def test_reduction_sum_is_n_times_mean(rng):
    z = rng.standard_normal((5, 4))
    y = rng.integers(0, 4, 5)
    for cls, target, count in [(cr.SoftmaxCrossEntropy, y, 5),
                               (cr.MSELoss, rng.standard_normal((5, 4)), 20),
                               (cr.BCEWithLogits, rng.uniform(0, 1, (5, 4)), 20)]:
        mean, total = cls(), cls(reduction="sum")
        assert total.forward(z, target) == pytest.approx(count * mean.forward(z, target))
        np.testing.assert_allclose(total.backward(), count * mean.backward(), rtol=1e-13)
    with pytest.raises(ValueError, match="reduction must be one of"):
        cr.MSELoss(reduction="none")


def test_unnormalised_soft_targets(rng):
    """Targets whose rows do not sum to 1 (multi-hot, weighted) get the exact gradient."""
    z = rng.standard_normal((4, 3))
    t = rng.uniform(0, 2, (4, 3))
    assert gradcheck_loss(cr.SoftmaxCrossEntropy(), z, t).ok


def test_integer_and_one_hot_targets_agree(rng):
    z = rng.standard_normal((7, 5))
    y = rng.integers(0, 5, 7)
    ce = cr.SoftmaxCrossEntropy()
    a, ga = ce.forward(z, y), ce.backward().copy()
    for onehot in (np.eye(5)[y], np.eye(5, dtype=np.int64)[y], np.eye(5, dtype=bool)[y]):
        assert ce.forward(z, onehot) == pytest.approx(a, rel=1e-14)
        np.testing.assert_allclose(ce.backward(), ga, rtol=1e-14)
    assert ce.forward(z, y.astype(np.float64)) == pytest.approx(a, rel=1e-14)
    np.testing.assert_allclose(ga, (np.exp(log_softmax(z)) - np.eye(5)[y]) / 7, rtol=1e-12)


def test_float32_stays_float32(rng):
    z = rng.standard_normal((3, 4)).astype(np.float32)
    for loss, target in [(cr.SoftmaxCrossEntropy(), np.array([0, 3, 1])),
                         (cr.MSELoss(), np.zeros((3, 4))),
                         (cr.BCEWithLogits(), np.ones((3, 4)))]:
        loss.forward(z, target)
        assert loss.backward().dtype == np.float32, type(loss).__name__


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_logits_finite_and_silent(dtype):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]], dtype=dtype)
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        ce = cr.SoftmaxCrossEntropy()
        right = ce.forward(z, np.array([0, 2]))
        g_right = ce.backward().copy()
        wrong = ce.forward(z, np.array([1, 0]))
        g_wrong = ce.backward().copy()
        bce = cr.BCEWithLogits()
        b = bce.forward(z, np.array([[1, 0, 1], [1, 0, 0]], dtype=dtype))
        g_bce = bce.backward()
    assert right == 0.0 and wrong == pytest.approx(2e4)
    np.testing.assert_array_equal(g_right, 0.0)
    np.testing.assert_allclose(g_wrong, [[0.5, -0.5, 0.0], [-0.5, 0.0, 0.5]])
    # per element: 0, 0, log 2 | 1e4, 0, 1e4  (a confidently wrong logit costs |z|)
    assert np.isfinite(b) and b == pytest.approx((2e4 + np.log(2.0)) / 6, rel=1e-6)
    assert np.isfinite(g_bce).all() and np.abs(g_bce).max() <= 1 / 6 + 1e-7


def test_label_errors(rng):
    z = rng.standard_normal((3, 4))
    ce = cr.SoftmaxCrossEntropy()
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 4\); found \[-1, 4\]"):
        ce.forward(z, np.array([0, 4, -1]))
    with pytest.raises(ValueError, match=r"labels must have shape \(3,\), got \(2,\)"):
        ce.forward(z, np.array([0, 1]))
    with pytest.raises(ValueError,
                       match=r"one-hot targets must match logits \(3, 4\), got \(3, 5\)"):
        ce.forward(z, np.eye(5)[[0, 1, 2]])
    with pytest.raises(ValueError, match="whole numbers"):
        ce.forward(z, np.array([0.5, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"logits must be \(N, C\)"):
        ce.forward(z[0], np.array([0]))
    with pytest.raises(ValueError, match="MSELoss: prediction"):
        cr.MSELoss().forward(z, np.zeros((3, 5)))
    with pytest.raises(ValueError, match="BCEWithLogits: logits"):
        cr.BCEWithLogits().forward(z, np.zeros(3))
    with pytest.raises(RuntimeError, match="backward called before forward"):
        cr.MSELoss().backward()


def test_registry_and_repr():
    assert LOSSES["cross_entropy"] is cr.SoftmaxCrossEntropy
    assert repr(cr.MSELoss("sum")) == "MSELoss(reduction='sum')"
