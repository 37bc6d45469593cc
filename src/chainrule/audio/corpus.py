"""The keyword-spotting corpus besides FSDD: synthetic words, real "unknown" words, noise.

* ``synthetic_words(words, voices)``: each word spoken by each voice (``synth``), labelled
  with the voice's name as speaker and ``synthetic=True``.
* ``asterisk_words(root)``: Debian's ``asterisk-core-sounds-en-wav`` prompts (one real
  speaker, ``Allison``) that last at most one second once trimmed, **minus every keyword**
  (``digits/0``…``digits/9``, ``digits/oh``, ``phonetic/9_p`` "niner") and the tones
  (beeps, two-tone sweeps). The speaker's split is ``which_set("Allison")`` — the same
  speaker hash as FSDD's, which puts her in ``test``: her words are never trained on.
* ``noise_bank(root, moh)``: background waveforms with **separate files for train and
  test**: generated white, pink and brown noise (different seeds per split), Debian's
  ``asterisk-moh-opsound-wav`` music (sorted tracks, the first three for train, the last two
  for test, a 30 s excerpt each) and babble (train: 5 overlapping voices of espeak-ng reading
  German, French, Spanish, Italian, Dutch and Polish sentences; test: 5 overlapping streams
  of Allison's longer prompts — a test-only speaker).

All waveforms are float32 at ``rate`` (8 kHz), resampled with ``resample_poly``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from math import gcd
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from . import noise, synth

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# Non-keywords for the synthetic unknown set: Speech Commands' other words, and near misses.
NON_KEYWORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "bed",
                "bird", "cat", "dog", "happy", "house", "tree", "wow", "ten", "fine", "night",
                "none", "sticks", "heaven")
KEYWORD_FILES = {"digits/0", "digits/1", "digits/2", "digits/3", "digits/4", "digits/5",
                 "digits/6", "digits/7", "digits/8", "digits/9", "digits/oh", "phonetic/9_p"}
BABBLE_TEXT = {
    "de": "Der Zug nach Berlin fährt heute eine Stunde später ab als geplant.",
    "fr": "Nous allons au marché demain matin pour acheter des légumes frais.",
    "es": "El concierto de esta noche empieza a las ocho en la plaza mayor.",
    "it": "La biblioteca resta chiusa durante il fine settimana per lavori.",
    "nl": "De fietsen staan achter het station naast de grote parkeerplaats.",
    "pl": "Jutro rano pojedziemy nad jezioro, jeżeli pogoda będzie ładna.",
}
ALLISON = "Allison"
# Where Debian's asterisk-core-sounds-en-wav and asterisk-moh-opsound-wav install.
ASTERISK_SOUNDS = "/usr/share/asterisk/sounds/en_US_f_Allison"
ASTERISK_MOH = "/usr/share/asterisk/moh"


@dataclass(frozen=True)
class Clips:
    """Variable-length clips with the word said, the speaker (or voice) and a synthetic flag."""

    waves: tuple[np.ndarray, ...]
    words: tuple[str, ...]
    speakers: tuple[str, ...]
    synthetic: np.ndarray          # bool (N,)

    def __len__(self) -> int:
        return len(self.waves)


def resample(x: np.ndarray, src: int, rate: int) -> np.ndarray:
    if src == rate:
        return np.asarray(x, np.float32)
    g = gcd(src, rate)
    return resample_poly(x, rate // g, src // g).astype(np.float32)


def read_wav(path: str | os.PathLike, rate: int) -> np.ndarray:
    from ..data.fsdd import read_wav_bytes

    src, x = read_wav_bytes(Path(path).read_bytes(), str(path))
    return resample(x, src, rate)


def synthetic_words(words, voices, rate: int = 8000, folder=None) -> Clips:
    """Every word spoken by every voice (synthetic, cached)."""
    pairs = [(v, w) for v in voices for w in words]
    waves = synth.synthesize_many(pairs, rate, folder)
    return Clips(tuple(waves), tuple(w for _, w in pairs), tuple(v.name for v, _ in pairs),
                 np.ones(len(pairs), bool))


def _prompt_files(root: Path):
    for p in sorted(root.rglob("*.wav")):
        rel = p.relative_to(root).with_suffix("").as_posix()
        if rel.startswith("silence/") or "tone" in rel or "beep" in rel:
            continue
        yield rel, p


def asterisk_words(root: str | os.PathLike, rate: int = 8000, max_s: float = 1.0
                   ) -> Clips:
    """Allison's non-keyword prompts lasting ≤ ``max_s`` once trimmed (real speech)."""
    out = []
    for rel, p in _prompt_files(Path(root)):
        if rel in KEYWORD_FILES:
            continue
        x = synth.trim(read_wav(p, rate), rate)
        if 0.15 * rate <= len(x) <= max_s * rate:
            out.append((rel, x))
    return Clips(tuple(x for _, x in out), tuple(r for r, _ in out), (ALLISON,) * len(out),
                 np.zeros(len(out), bool))


def _babble(streams: list[np.ndarray], n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` simultaneous talkers: each a random concatenation of ``streams``; peak 1."""
    out = np.zeros(n, np.float64)
    for _ in range(k):
        parts, total = [], 0
        while total < n:
            s = streams[int(rng.integers(len(streams)))]
            parts.append(s)
            total += len(s)
        talk = np.concatenate(parts)
        start = int(rng.integers(len(talk) - n + 1))
        out += talk[start:start + n] / max(float(np.abs(talk).max()), 1e-9)
    return (out / max(float(np.abs(out).max()), 1e-9)).astype(np.float32)


def noise_bank(root: str | os.PathLike, moh: str | os.PathLike, rate: int = 8000,
               seconds: float = 30.0, folder=None) -> dict[str, list[tuple[str, np.ndarray]]]:
    """``{"train": [(name, wave)], "test": [(name, wave)]}``: no file is in both."""
    n = int(seconds * rate)
    bank: dict[str, list[tuple[str, np.ndarray]]] = {"train": [], "test": []}
    for split, seed in (("train", 1000), ("test", 2000)):
        rng = np.random.default_rng(seed)
        bank[split] += [(f"{kind} noise", noise.colored(kind, n, rng))
                        for kind in ("white", "pink", "brown")]
    tracks = sorted(Path(moh).glob("*.wav"))
    for i, p in enumerate(tracks):
        x = read_wav(p, rate)
        start = min(len(x) - n, len(x) // 3) if len(x) > n else 0
        x = x[start:start + n]
        x = x / max(float(np.abs(x).max()), 1e-9)
        bank["train" if i < 3 else "test"].append((f"music: {p.stem}", x.astype(np.float32)))
    speakers = [synth.Voice("espeak-ng", lang, 160 + 10 * i, 40 + 8 * i)
                for i, lang in enumerate(BABBLE_TEXT)]
    foreign = synth.synthesize_many([(v, BABBLE_TEXT[v.voice]) for v in speakers], rate, folder)
    bank["train"].append(("babble: espeak-ng de/fr/es/it/nl/pl",
                          _babble(foreign, n, 5, np.random.default_rng(3000))))
    long_prompts = []
    for rel, p in _prompt_files(Path(root)):
        x = read_wav(p, rate)
        if len(x) > 1.5 * rate:
            long_prompts.append(x)
    bank["test"].append(("babble: asterisk prompts (Allison)",
                         _babble(long_prompts, n, 5, np.random.default_rng(4000))))
    return bank
