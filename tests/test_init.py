"""Initialisers: statistics within sampling tolerance, fans, orthogonality, seeding, dtype."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import init

DENSE = (400, 300)        # (in, out): fan_in 400, fan_out 300
CONV = (64, 32, 3, 3)     # (out, in, kh, kw): fan_in 288, fan_out 576
Z = 5.0                   # tolerance in standard errors: a false alarm has probability < 1e-6

UNIFORM_KURTOSIS = 1.8    # E[x⁴]/σ⁴ for a uniform distribution
NORMAL_KURTOSIS = 3.0


def expected(name: str, shape: tuple[int, ...]) -> tuple[str, float]:
    """(distribution, bound for uniform / std for normal) as the init module's table says."""
    fi, fo = init.fans(shape)
    return {
        "fan_in_uniform": ("uniform", 1 / math.sqrt(fi)),
        "fan_in_normal": ("normal", 1 / math.sqrt(fi)),
        "glorot_uniform": ("uniform", math.sqrt(6 / (fi + fo))),
        "glorot_normal": ("normal", math.sqrt(2 / (fi + fo))),
        "he_normal": ("normal", math.sqrt(2 / fi)),
    }[name]


def assert_moments(w: np.ndarray, std: float, kurtosis: float) -> None:
    """Mean 0 and the given std, each within Z standard errors for this sample size."""
    n = w.size
    x = w.astype(np.float64)
    se_mean = std / math.sqrt(n)
    se_std = std * math.sqrt((kurtosis - 1) / (4 * n))  # delta method for the sample std
    assert abs(x.mean()) < Z * se_mean, f"mean {x.mean():.3g} vs 0 ± {Z * se_mean:.2g}"
    assert abs(x.std() - std) < Z * se_std, f"std {x.std():.5g} vs {std:.5g} ± {Z * se_std:.2g}"


def test_fans():
    assert init.fans((7,)) == (7, 7)
    assert init.fans(DENSE) == (400, 300)
    assert init.fans(CONV) == (32 * 9, 64 * 9)
    assert init.fans((4, 2, 5)) == (10, 20)
    with pytest.raises(ValueError, match="scalar"):
        init.fans(())


@pytest.mark.parametrize("shape", [DENSE, CONV], ids=["dense", "conv"])
@pytest.mark.parametrize("name", ["fan_in_uniform", "fan_in_normal", "glorot_uniform",
                                  "glorot_normal", "he_normal"])
def test_fan_based_statistics(name, shape):
    w = init.get(name)(shape, np.random.default_rng(0))
    assert w.shape == shape and w.dtype == np.float32
    kind, value = expected(name, shape)
    if kind == "uniform":
        n = w.size
        assert np.abs(w).max() <= value * (1 + 1e-7)
        # the extremes come within a few n-ths of the bounds (P(miss) = e^-20)
        assert w.max() > value * (1 - 40 / n) and w.min() < -value * (1 - 40 / n)
        assert_moments(w, value / math.sqrt(3), UNIFORM_KURTOSIS)
    else:
        assert_moments(w, value, NORMAL_KURTOSIS)


def test_uniform_and_normal_statistics():
    w = init.uniform((500, 200), 1, a=-0.5, b=1.5)
    assert w.min() >= -0.5 and w.max() <= 1.5
    assert_moments(w - 0.5, 2 / math.sqrt(12), UNIFORM_KURTOSIS)
    assert_moments(init.uniform((300, 300), 2), 1 / math.sqrt(3), UNIFORM_KURTOSIS)
    assert_moments(init.normal((400, 250), 3, std=0.3), 0.3, NORMAL_KURTOSIS)
    assert not init.zeros((3, 2)).any() and (init.ones((3, 2)) == 1).all()


@pytest.mark.parametrize("shape", [(50, 20), (20, 50), (30, 30), (8, 2, 3, 3), (6, 40, 1, 1)])
@pytest.mark.parametrize("gain", [1.0, math.sqrt(2)])
def test_orthogonal(shape, gain):
    w = init.orthogonal(shape, np.random.default_rng(4), dtype=np.float64, gain=gain)
    assert w.shape == shape
    q = w.reshape(shape[0], -1)
    gram = q.T @ q if q.shape[0] >= q.shape[1] else q @ q.T  # tall: QᵀQ, wide: QQᵀ
    np.testing.assert_allclose(gram, gain**2 * np.eye(len(gram)), atol=1e-12)


def test_orthogonal_float32_and_errors():
    q = init.orthogonal((40, 10), 0)
    assert q.dtype == np.float32
    np.testing.assert_allclose(q.T @ q, np.eye(10), atol=1e-5)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.orthogonal((5,), 0)


@pytest.mark.parametrize("name", init.names())
def test_seeded_reproducibility_and_dtype(name):
    f = init.get(name)
    a = f((6, 5, 3, 3), np.random.default_rng(42))
    b = f((6, 5, 3, 3), np.random.default_rng(42))
    np.testing.assert_array_equal(a, b)
    assert a.tobytes() == b.tobytes()
    assert a.dtype == np.float32
    assert f((4, 3), 0, np.float64).dtype == np.float64
    if name not in ("zeros", "ones"):
        assert not np.array_equal(a, f((6, 5, 3, 3), np.random.default_rng(43)))
    with pytest.raises(TypeError, match="floating point"):
        f((2, 2), 0, np.int32)


def test_generator_is_advanced_not_reseeded():
    g = np.random.default_rng(0)
    assert not np.array_equal(init.normal((3,), g), init.normal((3,), g))


def test_get_names_and_errors():
    assert init.get("xavier_uniform") is init.glorot_uniform
    assert init.get("kaiming_normal") is init.he_normal
    assert init.get("lecun_normal") is init.fan_in_normal

    def custom(shape, rng, dtype):
        return np.full(shape, 0.5, dtype=dtype)

    assert init.get(custom) is custom
    with pytest.raises(ValueError, match="unknown initialiser 'bogus'.*glorot_uniform"):
        init.get("bogus")
    with pytest.raises(ValueError, match="a < b"):
        init.uniform((2,), 0, a=1.0, b=1.0)
    with pytest.raises(ValueError, match="non-negative"):
        init.normal((2,), 0, std=-1.0)


def test_linear_uses_its_initialisers():
    layer = cr.Linear(400, 30, rng=0)
    assert np.abs(layer.weight.data).max() <= 1 / 20 and not layer.bias.data.any()
    same = cr.Linear(400, 30, rng=0)
    assert layer.weight.data.tobytes() == same.weight.data.tobytes()
    custom = cr.Linear(3, 2, init="orthogonal", bias_init="ones", rng=1, dtype=np.float64)
    np.testing.assert_allclose(custom.weight.data.T @ custom.weight.data, np.eye(2), atol=1e-12)
    assert (custom.bias.data == 1).all() and custom.weight.dtype == np.float64
