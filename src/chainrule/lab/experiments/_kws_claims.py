"""keyword-spotting's answer as claims, from metrics.json alone (tests feed crafted numbers):
what removing each technique from the full recipe does to the condition it targets, paired
over the folds (called only when at least 1 point and more than two standard errors of the
per-fold differences), and the random-utterance split against the speaker split."""

from __future__ import annotations

import math

import numpy as np

from ..claims import Compare, Fact, Paired, measured
from . import _kws_parts as P

# What each technique is measured on (a condition, or the mean of several); lower is better
# for the two false-accept conditions.
TARGET = {"time_shift": ("shift-100", "shift+100"), "zero_padding": ("clean", "shift-100",
          "shift+100"), "amplitude_scaling": ("gain-12dB", "gain+6dB"),
          "background_noise": ("snr20", "snr10", "snr0"), "silence": ("silence_fa",),
          "unknown": ("unknown_fa",), "balancing": ("clean",)}
LOWER = ("silence", "unknown")
RULE = {"min_diff": 0.01, "k": 2.0, "pairs": "folds", "spec": "pct"}


def targets(scores: dict[str, list[dict]]) -> dict[str, dict[str, list[float]]]:
    """Per technique and recipe: each fold's mean over the technique's target conditions
    (what the paired claims compare; stored in ``metrics["targets"]``)."""
    return {t: {k: [float(np.mean([f[c] for c in conds])) for f in scores[k]]
                for k in ("full", f"no_{t}", "plain", f"only_{t}") if k in scores}
            for t, conds in TARGET.items()}


def random_split_two_se(anchor: float, n_anchor: int, folds: list[float]) -> float | None:
    """Two standard errors of (random-split accuracy − mean speaker-split accuracy): the
    anchor's binomial error on its ``n_anchor`` clips and the spread of the folds (None with
    one fold: no spread to measure, and the reading makes no claim)."""
    if len(folds) < 2:
        return None
    var = anchor * (1 - anchor) / n_anchor + float(np.var(folds, ddof=1)) / len(folds)
    return 2.0 * math.sqrt(var)


def where(t: str) -> str:
    """The technique's target, e.g. ``"accuracy at SNR 20 dB, SNR 10 dB, SNR 0 dB"``."""
    conds = ", ".join(P.COND_LABEL[c] for c in TARGET[t])
    return conds if t in LOWER else f"accuracy ({conds})"


def technique_claim(m: dict, t: str, a: str, b: str, a_name: str, b_name: str,
                    conds: str = "") -> Paired | None:
    """Recipe ``a`` against ``b`` on ``t``'s target (or on ``conds``), paired over folds."""
    tg = m["targets"][t]
    if a not in tg or b not in tg:
        return None
    if conds:
        return Paired(f"{conds} accuracy", a_name, tuple(
            measured(m, "rows", a, conds, "folds", i) for i in range(len(tg[a]))), b_name,
            tuple(measured(m, "rows", b, conds, "folds", i) for i in range(len(tg[b]))),
            **RULE)
    return Paired(where(t), a_name, tuple(measured(m, "targets", t, a, i)
                                          for i in range(len(tg[a]))),
                  b_name, tuple(measured(m, "targets", t, b, i) for i in range(len(tg[b]))),
                  better="lower" if t in LOWER else "higher", **RULE)


def reading_claims(m: dict) -> list:
    """The full recipe's clean accuracy on unseen speakers, the random-utterance split against
    it, and each technique removed from the full recipe on its target."""
    out = []
    if "full" in m["rows"]:
        out.append(Fact("the full recipe reaches {0:.1%} clean accuracy on unseen speakers "
                        "(mean over the folds)", (measured(m, "rows", "full", "clean",
                                                           "mean"),)))
        if m.get("random_split_clean") is not None and \
                m["resolution"].get("random_split_two_se") is not None:
            out.append(Compare("clean accuracy", "a random-utterance split (speakers shared)",
                               measured(m, "random_split_clean"), "the speaker split",
                               measured(m, "rows", "full", "clean", "mean"), spec="pct",
                               resolution=measured(m, "resolution", "random_split_two_se"),
                               resolution_note="two standard errors"))
    for t in P.TECHNIQUES:
        c = technique_claim(m, t, "full", f"no_{t}", "the full recipe", f"no {P.LABEL[t]}")
        if c is not None:
            out.append(c)
    return out


def effect(c: Paired | None) -> str:
    """A table cell for a paired claim: the verdict and the mean difference in points."""
    if c is None:
        return "—"
    s = c.stats()
    if s is None:
        return "not measured"
    d = f"{100 * s[2]:+.1f} points"
    v = c.verdict()
    if v == "no clear difference":
        return f"no clear difference ({d})"
    return f"{'better' if v == 'a better' else 'worse'} ({d})"
