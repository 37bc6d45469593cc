"""Log-mel spectrogram and MFCC in NumPy/SciPy, float32.

For a waveform ``x`` (T,) at ``rate`` Hz, frames of ``win = round(window_ms * rate / 1000)``
samples every ``hop = round(stride_ms * rate / 1000)`` (defaults 30 ms / 10 ms, as TF
speech_commands), no centring: ``F = 1 + (T - win) // hop`` frames (98 for one second).
Each frame is multiplied by a periodic Hann window ``w[n] = 0.5 - 0.5 cos(2 pi n / win)``,
zero-padded to ``n_fft`` (the next power of two ≥ win) and

    P[f, k]   = |sum_n w[n] x[f hop + n] exp(-2 pi i k n / n_fft)|^2       k = 0 … n_fft/2
    M[f, m]   = sum_k H[m, k] P[f, k]                                       m = 0 … n_mels-1
    logmel    = log(max(M, floor))
    mfcc[f,j] = DCT-II (orthonormal) of logmel[f, :], first n_mfcc coefficients

``H`` is the triangular mel filterbank: ``n_mels + 2`` points equally spaced on the HTK mel
scale ``mel(f) = 2595 log10(1 + f / 700)`` from ``fmin`` to ``fmax`` (default rate / 2);
filter ``m`` rises linearly from point ``m`` to ``m + 1`` and falls to ``m + 2`` (peak 1).
Silence gives ``log(floor)`` everywhere.

Shapes: ``log_mel(x)`` is (F, n_mels); a batch (N, T) gives (N, F, n_mels); ``mfcc`` is
(…, F, n_mfcc).
"""

from __future__ import annotations

import numpy as np
from scipy.fft import dct, rfft

FLOOR = 1e-6


def hz_to_mel(f):
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m):
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def frame_params(rate: int, window_ms: float = 30.0, stride_ms: float = 10.0
                 ) -> tuple[int, int, int]:
    """(win, hop, n_fft) in samples."""
    win = round(window_ms * rate / 1000.0)
    hop = round(stride_ms * rate / 1000.0)
    n_fft = 1 << (win - 1).bit_length()
    return win, hop, n_fft


def mel_filterbank(rate: int, n_fft: int, n_mels: int = 40, fmin: float = 20.0,
                   fmax: float | None = None) -> np.ndarray:
    """Triangular filters (n_mels, n_fft // 2 + 1), float32, peak 1."""
    fmax = rate / 2.0 if fmax is None else fmax
    pts = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    freqs = np.arange(n_fft // 2 + 1, dtype=np.float64) * rate / n_fft
    lo, mid, hi = pts[:-2, None], pts[1:-1, None], pts[2:, None]
    up = (freqs[None, :] - lo) / (mid - lo)
    down = (hi - freqs[None, :]) / (hi - mid)
    return np.maximum(0.0, np.minimum(up, down)).astype(np.float32)


def power_spectrogram(x: np.ndarray, rate: int, window_ms: float = 30.0,
                      stride_ms: float = 10.0) -> np.ndarray:
    """|STFT|^2 (…, F, n_fft // 2 + 1), float32."""
    x = np.asarray(x, dtype=np.float32)
    win, hop, n_fft = frame_params(rate, window_ms, stride_ms)
    if x.shape[-1] < win:
        raise ValueError(f"a clip of {x.shape[-1]} samples is shorter than one window ({win})")
    n_frames = 1 + (x.shape[-1] - win) // hop
    idx = np.arange(win)[None, :] + hop * np.arange(n_frames)[:, None]
    w = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(win) / win)).astype(np.float32)
    frames = x[..., idx] * w
    spec = rfft(frames, n=n_fft, axis=-1)   # SciPy keeps float32 (complex64): 2x NumPy's speed
    return (spec.real ** 2 + spec.imag ** 2).astype(np.float32)


def log_mel(x: np.ndarray, rate: int, n_mels: int = 40, window_ms: float = 30.0,
            stride_ms: float = 10.0, floor: float = FLOOR, fmin: float = 20.0,
            fmax: float | None = None) -> np.ndarray:
    """log(max(mel energies, floor)), (…, F, n_mels) float32."""
    p = power_spectrogram(x, rate, window_ms, stride_ms)
    _, _, n_fft = frame_params(rate, window_ms, stride_ms)
    h = mel_filterbank(rate, n_fft, n_mels, fmin, fmax)
    return np.log(np.maximum(p @ h.T, np.float32(floor))).astype(np.float32)


def mfcc(x: np.ndarray, rate: int, n_mfcc: int = 13, **kw) -> np.ndarray:
    """Orthonormal DCT-II of the log-mel over bands, first ``n_mfcc``: (…, F, n_mfcc)."""
    lm = log_mel(x, rate, **kw)
    return dct(lm, type=2, axis=-1, norm="ortho")[..., :n_mfcc].astype(np.float32)
