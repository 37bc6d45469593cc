"""The batch generator: fractions, time shift, noise volume bounds, reproducibility."""

from __future__ import annotations

import numpy as np

from chainrule.audio import noise
from chainrule.audio.batches import AudioProcessor, shift


def make(seed=0, **kw):
    rng = np.random.default_rng(0)
    waves = [np.full(6000 + 100 * i, 0.5, np.float32) for i in range(20)]
    labels = np.arange(20) % 5
    bg = [noise.colored("pink", 20000, rng)]
    return AudioProcessor(waves, labels, (0, 1, 2), src_rate=8000, rate=8000, backgrounds=bg,
                          seed=seed, **kw)


def test_silence_and_unknown_fractions_match():
    p = make(silence_percentage=20, unknown_percentage=30)
    _, y, _ = p.get_data(4000)
    assert abs(np.mean(y == 0) - 0.20) < 0.03 and abs(np.mean(y == 1) - 0.30) < 0.03
    assert set(np.unique(y)) == {0, 1, 2, 3, 4}


def test_shift_pads_zeros_and_keeps_length():
    x = np.arange(1, 11, dtype=np.float32)
    np.testing.assert_array_equal(shift(x, 3), [0, 0, 0, 1, 2, 3, 4, 5, 6, 7])
    np.testing.assert_array_equal(shift(x, -2), [3, 4, 5, 6, 7, 8, 9, 10, 0, 0])
    p = make(background_frequency=0.0, time_shift_ms=100, silence_percentage=0,
             unknown_percentage=0)
    x, _, app = p.get_data(50)
    assert x.shape == (50, 8000)
    for xi, a in zip(x, app):
        assert abs(a["shift"]) <= 800
        if a["shift"] > 0:
            assert np.all(xi[:a["shift"]] == 0) and xi[a["shift"]] == 0.5


def test_noise_volume_bounds_hold():
    p = make(background_volume=0.2, silence_volume=0.5, silence_percentage=50)
    x, y, app = p.get_data(500)
    vol = np.array([a["background_volume"] for a in app])
    assert np.all((vol >= 0.0) & (vol <= np.where(y == 0, 0.5, 0.2)))
    assert vol[y == 0].max() > 0.3 and vol[y != 0].max() <= 0.2   # TF: silence louder
    assert np.abs(x[y == 0]).max() <= 0.5 + 1e-6


def test_same_seed_same_batches():
    a = make(seed=3).get_data(64)
    b = make(seed=3).get_data(64)
    c = make(seed=4).get_data(64)
    np.testing.assert_array_equal(a[0], b[0])
    assert a[2] == b[2] and not np.array_equal(a[0], c[0])


def test_mix_snr_hits_the_snr():
    rng = np.random.default_rng(0)
    clean = (0.1 * np.sin(np.arange(8000) / 5)).astype(np.float32)
    n = noise.colored("white", 8000, rng)
    m = noise.mix_snr(clean, n, 10.0)
    snr = 10 * np.log10(np.mean(clean ** 2) / np.mean((m - clean) ** 2))
    assert abs(snr - 10.0) < 0.05
