"""log-mel / MFCC against slow direct formulas and closed forms."""

from __future__ import annotations

import math

import numpy as np

from chainrule.audio import features as F


def slow_log_mel(x, rate, n_mels=40, floor=1e-6):
    win, hop, n_fft = 240, 80, 256            # 30 ms / 10 ms at 8 kHz, written out
    out = []
    mel = [2595 * math.log10(1 + f / 700) for f in (20.0, rate / 2)]
    pts = [700 * (10 ** ((mel[0] + (mel[1] - mel[0]) * i / (n_mels + 1)) / 2595) - 1)
           for i in range(n_mels + 2)]
    for start in range(0, len(x) - win + 1, hop):
        power = []
        for k in range(n_fft // 2 + 1):
            re = im = 0.0
            for n in range(win):
                v = float(x[start + n]) * (0.5 - 0.5 * math.cos(2 * math.pi * n / win))
                re += v * math.cos(2 * math.pi * k * n / n_fft)
                im -= v * math.sin(2 * math.pi * k * n / n_fft)
            power.append(re * re + im * im)
        row = []
        for m in range(n_mels):
            e = 0.0
            for k, p in enumerate(power):
                f = k * rate / n_fft
                if pts[m] < f <= pts[m + 1]:
                    e += p * (f - pts[m]) / (pts[m + 1] - pts[m])
                elif pts[m + 1] < f < pts[m + 2]:
                    e += p * (pts[m + 2] - f) / (pts[m + 2] - pts[m + 1])
            row.append(math.log(max(e, floor)))
        out.append(row)
    return np.array(out)


def test_log_mel_matches_slow_formula():
    rng = np.random.default_rng(0)
    x = (0.3 * rng.standard_normal(480)).astype(np.float32)
    got = F.log_mel(x, 8000)
    assert got.shape == (4, 40) and got.dtype == np.float32
    np.testing.assert_allclose(got, slow_log_mel(x, 8000), rtol=1e-3, atol=1e-3)


def test_mfcc_is_orthonormal_dct_of_log_mel():
    rng = np.random.default_rng(1)
    x = (0.3 * rng.standard_normal(800)).astype(np.float32)
    lm = F.log_mel(x, 8000).astype(np.float64)
    n = lm.shape[1]
    basis = np.array([[math.sqrt((1 if j == 0 else 2) / n) * math.cos(math.pi * j * (2 * m + 1)
                                                                      / (2 * n))
                       for m in range(n)] for j in range(13)])
    np.testing.assert_allclose(F.mfcc(x, 8000), lm @ basis.T, rtol=1e-4, atol=1e-3)


def test_one_second_gives_98_frames_and_batches_work():
    x = np.zeros((3, 8000), np.float32)
    assert F.log_mel(x, 8000).shape == (3, 98, 40)
    assert F.mfcc(x, 16000 // 2, n_mfcc=10).shape == (3, 98, 10)


def test_silence_gives_the_floor():
    lm = F.log_mel(np.zeros(8000, np.float32), 8000, floor=1e-4)
    np.testing.assert_allclose(lm, math.log(1e-4), rtol=1e-6)


def test_pure_tone_lands_in_its_mel_band():
    rate = 8000
    t = np.arange(8000) / rate
    pts = F.mel_to_hz(np.linspace(F.hz_to_mel(20.0), F.hz_to_mel(4000.0), 42))
    for band in (5, 20, 33):
        f0 = pts[band + 1]                      # the centre (peak) of filter ``band``
        x = (0.5 * np.sin(2 * np.pi * f0 * t)).astype(np.float32)
        lm = F.log_mel(x, rate)
        assert np.all(lm.argmax(axis=1) == band)


def test_filterbank_peaks_at_one_and_is_triangular():
    h = F.mel_filterbank(8000, 256)
    assert h.shape == (40, 129) and h.dtype == np.float32
    assert h.max() <= 1.0 + 1e-6 and np.all(h >= 0)
    assert np.all((h > 0).sum(axis=1) >= 1)
