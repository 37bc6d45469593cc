"""A speech_commands-style batch generator (TF ``input_data.py`` ``AudioProcessor.get_data``).

Labels are ``("_silence_", "_unknown_", *wanted)``. Each clip of a batch is drawn as TF does:
with probability ``silence_percentage / 100`` a silence clip (zeros, then background noise at a
volume uniform in [0, ``silence_volume``] — TF uses [0, 1] — label ``_silence_``), else
with probability ``unknown_percentage / 100`` a clip of a non-wanted label (``_unknown_``),
else a wanted clip, uniformly per class (``balance="uniform"``) or as found (``"found"``).
Every speech clip is resampled to ``rate`` with ``scipy.signal.resample_poly``, zero-padded
(or cut) to one second, scaled by a random gain in ``gain_range``, shifted by a uniform
``[-time_shift_ms, time_shift_ms]`` with zero padding, and with probability
``background_frequency`` gets a random second of a background waveform at volume uniform in
[0, ``background_volume``].
``align="center"`` centres a short clip in its second instead of starting it at 0 (FSDD's
clips are trimmed, so a shift to the left would otherwise cut the word). ``pad="stretch"``
is the ablation of zero padding: each clip is interpolated to exactly one second (a resize,
as one resizes images) and shifts wrap around (``np.roll``) instead of filling with zeros.
Seeded: the same seed gives the same batches. ``get_data`` returns ``(x (N, rate) float32, y
int64, applied)`` where ``applied`` records for each clip what was done.
"""

from __future__ import annotations

from math import gcd

import numpy as np
from scipy.signal import resample_poly

SILENCE, UNKNOWN = "_silence_", "_unknown_"


def fit_length(x: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n, dtype=np.float32)
    out[:min(n, len(x))] = x[:n]
    return out


def place(x: np.ndarray, n: int, align: str = "start", pad: str = "zeros") -> np.ndarray:
    """A clip as exactly ``n`` samples: zero-padded at the end (``start``) or both sides
    (``center``), or linearly interpolated to ``n`` (``pad="stretch"``, a resize)."""
    x = np.asarray(x, np.float32)
    if pad == "stretch":
        if len(x) == n or len(x) < 2:
            return fit_length(x, n)
        return np.interp(np.linspace(0.0, len(x) - 1.0, n), np.arange(len(x)),
                         x).astype(np.float32)
    if pad != "zeros":
        raise ValueError(f"pad must be 'zeros' or 'stretch', got {pad!r}")
    if align == "start":
        return fit_length(x, n)
    if align != "center":
        raise ValueError(f"align must be 'start' or 'center', got {align!r}")
    out = np.zeros(n, dtype=np.float32)
    if len(x) >= n:
        s = (len(x) - n) // 2
        out[:] = x[s:s + n]
    else:
        s = (n - len(x)) // 2
        out[s:s + len(x)] = x
    return out


def shift(x: np.ndarray, k: int) -> np.ndarray:
    """Shift right by k samples (left if negative), zero padding, same length."""
    out = np.zeros_like(x)
    if k >= 0:
        out[k:] = x[:len(x) - k]
    else:
        out[:k] = x[-k:]
    return out


class AudioProcessor:
    def __init__(self, waves, labels, wanted, *, src_rate: int, rate: int = 8000,
                 backgrounds=(), silence_percentage: float = 10.0,
                 unknown_percentage: float = 10.0, time_shift_ms: float = 100.0,
                 background_frequency: float = 0.8, background_volume: float = 0.1,
                 silence_volume: float = 1.0,
                 gain_range=(1.0, 1.0), balance: str = "uniform", align: str = "start",
                 pad: str = "zeros", seed: int = 0):
        self.wanted = tuple(wanted)
        self.names = (SILENCE, UNKNOWN, *self.wanted)
        g = gcd(rate, src_rate)
        self.waves = [place(resample_poly(w, rate // g, src_rate // g).astype(np.float32)
                            if rate != src_rate else w, rate, align, pad) for w in waves]
        self.pad = pad
        labels = np.asarray(labels)
        self.by_class = [np.flatnonzero(labels == c) for c in self.wanted]
        self.unknown = np.flatnonzero(~np.isin(labels, self.wanted))
        self.wanted_idx = np.flatnonzero(np.isin(labels, self.wanted))
        self.backgrounds = [np.asarray(b, np.float32) for b in backgrounds]
        self.rate, self.balance = rate, balance
        self.silence_p, self.unknown_p = silence_percentage / 100.0, unknown_percentage / 100.0
        self.shift_n = int(time_shift_ms * rate / 1000.0)
        self.bg_freq, self.bg_vol, self.gain = background_frequency, background_volume, gain_range
        self.silence_vol = silence_volume
        self.rng = np.random.default_rng(seed)

    def _background(self):
        b = self.backgrounds[self.rng.integers(len(self.backgrounds))]
        if len(b) <= self.rate:
            return fit_length(b, self.rate)
        s = int(self.rng.integers(len(b) - self.rate))
        return b[s:s + self.rate]

    def get_data(self, n: int):
        x = np.zeros((n, self.rate), np.float32)
        y = np.zeros(n, np.int64)
        applied = []
        r = self.rng
        for i in range(n):
            u = r.random()
            rec: dict = {}
            if u < self.silence_p:
                y[i] = 0
                vol = float(r.uniform(0, self.silence_vol)) if self.backgrounds else 0.0
                if self.backgrounds:
                    x[i] = vol * self._background()
                rec = {"kind": "silence", "background_volume": vol}
            else:
                if u < self.silence_p + self.unknown_p and len(self.unknown):
                    j = int(r.choice(self.unknown))
                    y[i], kind = 1, "unknown"
                elif self.balance == "uniform":
                    c = int(r.integers(len(self.wanted)))
                    j, kind = int(r.choice(self.by_class[c])), "wanted"
                    y[i] = 2 + c
                else:
                    j, kind = int(r.choice(self.wanted_idx)), "wanted"
                    y[i] = -1
                w = self.waves[j]
                gain = float(r.uniform(*self.gain))
                k = int(r.integers(-self.shift_n, self.shift_n + 1)) if self.shift_n else 0
                w = w * np.float32(gain)
                w = shift(w, k) if self.pad == "zeros" else np.roll(w, k)
                vol = 0.0
                if self.backgrounds and r.random() < self.bg_freq:
                    vol = float(r.uniform(0, self.bg_vol))
                    w = w + np.float32(vol) * self._background()
                x[i] = np.clip(w, -1.0, 1.0)
                rec = {"kind": kind, "clip": j, "gain": gain, "shift": k,
                       "background_volume": vol}
                if y[i] == -1:
                    y[i] = 2 + self._label_of(j)
            applied.append(rec)
        return x, y, applied

    def _label_of(self, j: int) -> int:
        for c, idx in enumerate(self.by_class):
            if j in idx:
                return c
        raise KeyError(j)
