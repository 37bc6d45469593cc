"""Synthetic speech from espeak-ng and flite (Debian), for **training only**, cached on disk.

A ``Voice`` is one engine with fixed arguments: espeak-ng's voice (language + variant such as
``en-us+f2``), speed (words per minute, ``-s``) and pitch (0–99, ``-p``); or flite's voice
(``kal``, ``awb``, ``rms``, ``slt``), a duration stretch (``--setf duration_stretch``, >1 is
slower) and a mean pitch in Hz (``--setf int_f0_target_mean``). Both engines are
deterministic for fixed arguments (same text, same samples), so ``synthesize`` caches the
result — resampled to ``rate`` with ``scipy.signal.resample_poly``, silence trimmed (first to
last sample above 2% of the peak, with a 20 ms margin) and scaled to peak ``PEAK`` — as a
``.npy`` file named by the SHA-1 of the engine's version and every argument, under
``cache_root()/synth`` (``~/.cache/chainrule/synth``) or a folder the caller names (a run
folder). Nothing is ever written inside the repository.

Voices are split like speakers: ``voice_split(voice)`` is ``which_set`` of the voice's name
(``speaker hash``), and every voice that is not ``train`` is *held out*: never used for
training and never mixed into the (real-speech) test sets (the experiment reports how many
voices were held out; it does not evaluate them). Every synthetic clip is labelled
``synthetic`` by its voice name (``espeak-ng:…`` / ``flite:…``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from math import gcd
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

PEAK = 0.5


@dataclass(frozen=True)
class Voice:
    """One synthetic voice: engine, voice id, speed and pitch (engine units, see module)."""

    engine: str      # "espeak-ng" | "flite"
    voice: str
    speed: float
    pitch: float

    @property
    def name(self) -> str:
        return f"{self.engine}:{self.voice}:s{self.speed:g}:p{self.pitch:g}"


# Several accents, sexes (espeak-ng's +f/+m variants), speeds and pitches.
VOICES: tuple[Voice, ...] = (
    Voice("espeak-ng", "en-us+m1", 150, 45), Voice("espeak-ng", "en-us+f2", 165, 70),
    Voice("espeak-ng", "en-gb+m3", 135, 35), Voice("espeak-ng", "en-gb+f4", 155, 80),
    Voice("espeak-ng", "en-gb-scotland+m2", 145, 50),
    Voice("espeak-ng", "en-gb-x-rp+f1", 125, 60), Voice("espeak-ng", "en-029+m4", 170, 40),
    Voice("espeak-ng", "en-us-nyc+f3", 140, 65), Voice("espeak-ng", "en-gb-x-gbclan+m7", 160, 55),
    Voice("espeak-ng", "en-gb-x-gbcwmd+f5", 150, 75),
    Voice("flite", "kal", 1.0, 105), Voice("flite", "awb", 1.15, 95),
    Voice("flite", "rms", 0.9, 110), Voice("flite", "slt", 1.05, 170),
    Voice("flite", "slt", 0.85, 200), Voice("flite", "rms", 1.2, 85),
)


def voice_split(voice: Voice) -> str:
    """``"train"`` or ``"held-out"``: the speaker hash of the voice's name."""
    from ..data.fsdd import which_set

    return "train" if which_set(voice.name) == "train" else "held-out"


def available(engine: str) -> bool:
    return shutil.which(engine) is not None


@lru_cache(maxsize=4)
def engine_version(engine: str) -> str:
    """The engine's version output (part of the cache key)."""
    out = subprocess.run([engine, "--version"], capture_output=True, text=True, check=False)
    text = (out.stdout or out.stderr).strip()
    return text or engine


def command(voice: Voice, text: str, wav: str) -> list[str]:
    """The engine's command line that writes ``text`` spoken by ``voice`` to ``wav``."""
    if voice.engine == "espeak-ng":
        return ["espeak-ng", "-v", voice.voice, "-s", f"{voice.speed:g}", "-p",
                f"{voice.pitch:g}", "-w", wav, text]
    if voice.engine == "flite":
        return ["flite", "-voice", voice.voice, "-t", text, "-o", wav, "--setf",
                f"duration_stretch={voice.speed:g}", "--setf",
                f"int_f0_target_mean={voice.pitch:g}"]
    raise ValueError(f"unknown speech engine {voice.engine!r}")


def trim(x: np.ndarray, rate: int, rel: float = 0.02, margin_ms: float = 20.0) -> np.ndarray:
    """From the first to the last sample above ``rel`` × peak, with a margin, float32."""
    a = np.abs(x)
    peak = float(a.max()) if len(a) else 0.0
    if peak <= 0.0:
        return np.zeros(0, np.float32)
    on = np.flatnonzero(a > rel * peak)
    m = int(margin_ms * rate / 1000.0)
    return np.asarray(x[max(0, on[0] - m):on[-1] + m + 1], np.float32)


def cache_dir(folder: str | os.PathLike | None = None) -> Path:
    if folder is not None:
        return Path(folder)
    from ..data.sources import cache_root

    return cache_root() / "synth"


def _key(voice: Voice, text: str, rate: int) -> str:
    s = f"{engine_version(voice.engine)}|{voice.name}|{text}|{rate}|{PEAK}"
    return hashlib.sha1(s.encode("utf-8")).hexdigest()[:20]


def _render(voice: Voice, text: str, rate: int) -> np.ndarray:
    from ..data.fsdd import read_wav_bytes

    with tempfile.TemporaryDirectory(prefix="chainrule-synth-") as tmp:
        wav = os.path.join(tmp, "out.wav")
        subprocess.run(command(voice, text, wav), check=True, capture_output=True)
        src, x = read_wav_bytes(Path(wav).read_bytes(), wav)
    if src != rate:
        g = gcd(src, rate)
        x = resample_poly(x, rate // g, src // g).astype(np.float32)
    x = trim(x, rate)
    peak = float(np.abs(x).max()) if len(x) else 0.0
    return (x * np.float32(PEAK / peak) if peak > 0 else x).astype(np.float32)


def synthesize(voice: Voice, text: str, rate: int = 8000,
               folder: str | os.PathLike | None = None) -> np.ndarray:
    """``text`` spoken by ``voice`` at ``rate`` Hz, trimmed, peak ``PEAK``, float32 (cached)."""
    d = cache_dir(folder)
    path = d / f"{voice.engine}-{_key(voice, text, rate)}.npy"
    if path.exists():
        return np.load(path, allow_pickle=False)
    x = _render(voice, text, rate)
    d.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, suffix=".npy.tmp")
    with os.fdopen(fd, "wb") as f:
        np.save(f, x, allow_pickle=False)
    os.replace(tmp, path)
    return x


def synthesize_many(pairs: list[tuple[Voice, str]], rate: int = 8000,
                    folder: str | os.PathLike | None = None, workers: int = 2
                    ) -> list[np.ndarray]:
    """``synthesize`` for each ``(voice, text)``, in order (uncached ones in ``workers``
    threads, each running one engine process)."""
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(lambda p: synthesize(p[0], p[1], rate, folder), pairs))
