"""Parts of ``keyword-spotting``: the corpus, speaker folds, the recipes (full, one technique
removed, one added alone), the batch stream that feeds ``fit``, and the test conditions.

Labels: 0 ``_silence_``, 1 ``_unknown_``, 2 + d for the digit d (``AudioProcessor.names``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...audio import corpus
from ...audio.batches import AudioProcessor, place, shift
from ...audio.features import log_mel
from ...audio.noise import mix_snr

RATE = 8000
WANTED = tuple(str(d) for d in range(10))
NAMES = ("_silence_", "_unknown_", *WANTED)
TECHNIQUES = ("time_shift", "zero_padding", "amplitude_scaling", "background_noise", "silence",
              "unknown", "balancing")
LABEL = {"time_shift": "time shift", "zero_padding": "zero padding",
         "amplitude_scaling": "amplitude scaling", "background_noise": "background noise",
         "silence": "silence class", "unknown": "unknown class", "balancing": "class balancing"}
CONDITIONS = ("clean", "snr20", "snr10", "snr0", "shift-100", "shift+100", "gain-12dB",
              "gain+6dB", "unknown_fa", "silence_fa")
COND_LABEL = {"clean": "clean", "snr20": "SNR 20 dB", "snr10": "SNR 10 dB", "snr0": "SNR 0 dB",
              "shift-100": "shift −100 ms", "shift+100": "shift +100 ms",
              "gain-12dB": "level −12 dB", "gain+6dB": "level +6 dB",
              "unknown_fa": "unknown-word false accepts", "silence_fa": "noise false alarms"}
FAMILIES = {"noise": ("clean", "snr20", "snr10", "snr0"),
            "shift_level": ("clean", "shift-100", "shift+100", "gain-12dB", "gain+6dB"),
            "false_accepts": ("unknown_fa", "silence_fa")}


def recipes() -> list[tuple[str, str, frozenset]]:
    """``(key, label, techniques on)``: full, each removed, plain, each added alone."""
    full = frozenset(TECHNIQUES)
    rows = [("full", "full recipe", full)]
    rows += [(f"no_{t}", f"− {LABEL[t]}", full - {t}) for t in TECHNIQUES]
    rows += [("plain", "plain (none)", frozenset())]
    rows += [(f"only_{t}", f"+ {LABEL[t]}", frozenset({t})) for t in TECHNIQUES]
    return rows


def knobs(cfg: Any, on: frozenset) -> dict[str, Any]:
    """``AudioProcessor`` keyword arguments with the techniques in ``on`` switched on."""
    return {"time_shift_ms": cfg.time_shift_ms if "time_shift" in on else 0.0,
                "pad": "zeros" if "zero_padding" in on else "stretch",
                "gain_range": (cfg.gain_low, cfg.gain_high) if "amplitude_scaling" in on
                else (1.0, 1.0),
                "background_frequency": cfg.background_frequency if "background_noise" in on
                else 0.0,
                "background_volume": cfg.background_volume,
                "silence_percentage": cfg.silence_percentage if "silence" in on else 0.0,
                "unknown_percentage": cfg.unknown_percentage if "unknown" in on else 0.0,
                "balance": "uniform" if "balancing" in on else "found"}


def speaker_pairs(speakers) -> list[tuple[str, ...]]:
    """Speakers sorted by their hash percentage, in consecutive pairs (3 folds for FSDD);
    the first pair is ``which_set``'s validation speakers."""
    from ...data.fsdd import speaker_percentage

    order = sorted(set(speakers), key=speaker_percentage)
    return [tuple(order[i:i + 2]) for i in range(0, len(order), 2)]


def imbalance_keep(labels: np.ndarray, ratio: float, rng: np.random.Generator) -> np.ndarray:
    """Indices kept so that digit d keeps a fraction ``ratio ** (d / 9)`` of its clips."""
    keep = []
    for d in range(10):
        idx = np.flatnonzero(labels == d)
        k = max(1, round(len(idx) * ratio ** (d / 9.0)))
        keep.append(np.sort(rng.permutation(idx)[:k]))
    return np.sort(np.concatenate(keep))


@dataclass
class Fold:
    """One speaker-disjoint train/test cut: training clips and their string labels."""

    name: str
    test_speakers: tuple[str, ...]
    train_speakers: tuple[str, ...]
    waves: list[np.ndarray]
    labels: np.ndarray            # str: "0".."9" or a non-keyword word
    synthetic: np.ndarray         # bool
    test_waves: list[np.ndarray]  # real keyword clips of the test speakers
    test_digits: np.ndarray


def make_fold(name, rec, train_idx, test_idx, kw: corpus.Clips, unk: corpus.Clips,
              ratio: float, n_test_per_speaker: int, rng: np.random.Generator) -> Fold:
    """Training pool (FSDD train clips + synthetic keywords, imbalanced by ``ratio``; synthetic
    non-keywords) and the test speakers' clips (``n_test_per_speaker`` each, all digits)."""
    kw_digits = np.array([corpus.DIGIT_WORDS.index(w) for w in kw.words], np.int64)
    digits = np.concatenate([rec.labels[train_idx], kw_digits])
    waves = [rec.waves[i] for i in train_idx] + list(kw.waves)
    synthetic = np.concatenate([np.zeros(len(train_idx), bool), np.ones(len(kw), bool)])
    keep = imbalance_keep(digits, ratio, rng)
    waves = [waves[i] for i in keep] + list(unk.waves)
    labels = np.array([str(d) for d in digits[keep]] + list(unk.words), dtype=object)
    synthetic = np.concatenate([synthetic[keep], unk.synthetic])
    test_speakers = tuple(sorted({rec.speakers[i] for i in test_idx}))
    sel = []
    for s in test_speakers:     # the first takes of every digit, so all digits are tested
        idx = [i for i in test_idx if rec.speakers[i] == s]
        per = max(1, n_test_per_speaker // 10) if n_test_per_speaker else 10 ** 9
        sel += [i for i in idx if rec.takes[i] < per]
    return Fold(name, test_speakers, tuple(sorted({rec.speakers[i] for i in train_idx})),
                waves, labels, synthetic, [rec.waves[i] for i in sel], rec.labels[sel])


class Featurizer:
    """Log-mel (30 ms / 10 ms / 40 bands), standardised by one mean and std → (N, 1, F, M)."""

    def __init__(self, clips: np.ndarray) -> None:
        lm = log_mel(clips, RATE)
        self.mean, self.std = float(lm.mean()), float(lm.std())

    def __call__(self, x: np.ndarray) -> np.ndarray:
        lm = log_mel(x, RATE)
        return ((lm - np.float32(self.mean)) / np.float32(self.std))[:, None]


class BatchStream:
    """``steps`` mini-batches from ``AudioProcessor.get_data``, as features (fit's loader)."""

    def __init__(self, proc: AudioProcessor, steps: int, batch_size: int, feat: Featurizer):
        self.proc, self.steps, self.batch_size, self.feat = proc, steps, batch_size, feat

    def __len__(self) -> int:
        return self.steps

    def __iter__(self):
        for _ in range(self.steps):
            x, y, _ = self.proc.get_data(self.batch_size)
            yield self.feat(x), y


def processor(fold: Fold, backgrounds, cfg: Any, on: frozenset, seed: int) -> AudioProcessor:
    return AudioProcessor(fold.waves, fold.labels, WANTED, src_rate=RATE, rate=RATE,
                          backgrounds=[b for _, b in backgrounds], align="center",
                          silence_volume=cfg.silence_volume, seed=seed, **knobs(cfg, on))


def test_sets(fold: Fold, unknown: corpus.Clips, test_noise, pad: str, n_silence: int,
              seed: int) -> dict[str, np.ndarray]:
    """Waveforms (N, RATE) of every condition: keyword clips clean, in test noise at SNR
    20/10/0 dB, shifted ±100 ms, at −12/+6 dB; Allison's non-keywords; test noise alone at
    a volume uniform in [0, 1] (TF's silence). Same seed → same sets."""
    rng = np.random.default_rng(seed)
    clean = np.stack([place(w, RATE, "center", pad) for w in fold.test_waves])
    noises = [b for _, b in test_noise]

    def piece():
        b = noises[int(rng.integers(len(noises)))]
        s = int(rng.integers(len(b) - RATE))
        return b[s:s + RATE]

    k = RATE // 10
    move = (lambda x, n: shift(x, n)) if pad == "zeros" else (lambda x, n: np.roll(x, n))
    sets = {"clean": clean}
    for snr in (20, 10, 0):
        sets[f"snr{snr}"] = np.stack([mix_snr(c, piece(), float(snr)) for c in clean])
    sets["shift-100"] = np.stack([move(c, -k) for c in clean])
    sets["shift+100"] = np.stack([move(c, k) for c in clean])
    sets["gain-12dB"] = clean * np.float32(0.25)
    sets["gain+6dB"] = np.clip(clean * np.float32(2.0), -1.0, 1.0)
    sets["unknown_fa"] = np.stack([place(w, RATE, "center", pad) for w in unknown.waves])
    sets["silence_fa"] = np.stack([np.float32(rng.uniform(0, 1)) * piece()
                                   for _ in range(n_silence)])
    return {c: np.asarray(v, np.float32) for c, v in sets.items()}


def score(pred: np.ndarray, cond: str, digits: np.ndarray) -> float:
    """Accuracy on keyword conditions; the fraction predicted as a keyword on the others."""
    if cond in ("unknown_fa", "silence_fa"):
        return float(np.mean(pred >= 2))
    return float(np.mean(pred == digits + 2))
