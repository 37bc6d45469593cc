"""Generated background noise (white, pink, brown) and mixing at a volume or an SNR.

``colored(kind, n, rng)``: Gaussian white noise shaped in the frequency domain by
``|H(f)| = f^(-beta/2)`` (beta 0 white, 1 pink, 2 brown), scaled to peak 1, float32.
``mix_snr(clean, noise, snr_db)`` scales noise so that ``10 log10(P_clean / P_noise) = snr_db``.
"""

from __future__ import annotations

import numpy as np

BETA = {"white": 0.0, "pink": 1.0, "brown": 2.0}


def colored(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    beta = BETA[kind]
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    x = np.fft.irfft(spec * f ** (-beta / 2.0), n=n)
    x -= x.mean()
    return (x / max(np.abs(x).max(), 1e-12)).astype(np.float32)


def mix_snr(clean: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    pc = float(np.mean(np.asarray(clean, np.float64) ** 2))
    pn = max(float(np.mean(np.asarray(noise, np.float64) ** 2)), 1e-20)
    scale = np.sqrt(pc / (pn * 10.0 ** (snr_db / 10.0)))
    return np.clip(clean + scale * noise, -1.0, 1.0).astype(np.float32)
