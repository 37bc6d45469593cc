"""The report of ``keyword-spotting``: aggregate over folds, metrics, table, figures and the
reading (generated from the numbers; a paired per-fold rule decides what may be claimed)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...plots import audio as plots_audio
from ...plots import cnn as plots_cnn
from ..context import RunContext
from . import _kws_parts as P
from ._common import pct

# What each technique is measured on (a condition, or the mean of several), and its place.
TARGET = {"time_shift": ("shift-100", "shift+100"), "zero_padding": ("clean", "shift-100",
          "shift+100"), "amplitude_scaling": ("gain-12dB", "gain+6dB"),
          "background_noise": ("snr20", "snr10", "snr0"), "silence": ("silence_fa",),
          "unknown": ("unknown_fa",), "balancing": ("clean",)}
WHAT = {
    "time_shift": "moves each clip by a random offset (zero fill), so the word need not sit "
                  "where it sat in the recordings; the model becomes invariant to where in "
                  "the window the word falls — as it must be when a streaming detector slides "
                  "over audio",
    "zero_padding": "makes every clip exactly one second without changing its speed or pitch "
                    "(silence, not speech, fills the rest), so short and long words share one "
                    "input shape and one time scale",
    "amplitude_scaling": "multiplies each clip by a random gain, so loudness (microphone "
                         "distance, speaker) is not a cue; the log-mel turns a gain into a "
                         "constant offset that an unnormalised CNN must learn to ignore",
    "background_noise": "mixes a random second of recorded or generated noise into most clips "
                        "at a small random volume, so the model hears keywords in noise "
                        "(different noise files at test time)",
    "silence": "adds a `_silence_` class of noise-only clips, so the detector has somewhere "
               "to put input with no speech instead of the nearest digit",
    "unknown": "adds an `_unknown_` class of other words, so words that are not keywords are "
               "rejected instead of mapped to the closest keyword",
    "balancing": "draws keywords uniformly per class rather than as found, so rare keywords "
                 "are not out-voted by frequent ones",
}
ANALOGUE = {
    "time_shift": ("image translation / random crops", ("batch generation (per clip, every "
                   "step)")),
    "zero_padding": (("padding images to a fixed size instead of resizing (letterboxing), "
                     "padding sequences in NLP"), ("data preparation (and again inside the "
                     "shift)")),
    "amplitude_scaling": ("brightness / contrast jitter; input scaling in any sensor data",
                          "batch generation"),
    "background_noise": (("additive-noise augmentation (Gaussian noise on images, sensor "
                         "noise, denoising autoencoders)"), "batch generation"),
    "silence": ("the background class of object detectors", ("data preparation (a class in "
                "the label set) realised in batch generation (a fraction of each batch)")),
    "unknown": ("open-set rejection / an 'other' class in classification",
                "data preparation (label set) and batch generation (fraction per batch)"),
    "balancing": ("class-balanced sampling or loss re-weighting for any imbalanced data",
                  ("batch generation (the sampler); the alternative is a weighted loss in "
                  "training")),
}


def _value(fold_scores: dict, conds) -> float:
    return float(np.mean([fold_scores[c] for c in conds]))


def _paired(a: list[dict], b: list[dict], conds) -> tuple[float, bool]:
    """Mean over folds of a − b on ``conds``, and whether it is clear: ≥ 1 point and more
    than twice its standard error over folds (needs ≥ 2 folds)."""
    d = np.array([_value(x, conds) - _value(y, conds) for x, y in zip(a, b)])
    if len(d) < 2:
        return float(d.mean()), False
    se = float(d.std(ddof=1)) / np.sqrt(len(d))
    return float(d.mean()), abs(d.mean()) >= 0.01 and abs(d.mean()) > 2 * se


def _effect(delta: float, clear: bool, lower_better: bool) -> str:
    if not clear:
        return f"no clear difference ({100 * delta:+.1f} points)"
    good = (delta < 0) if lower_better else (delta > 0)
    return f"{'better' if good else 'worse'} by {abs(100 * delta):.1f} points"


def report(ctx: RunContext, cfg: Any, rows, scores, losses, cm, fold_info, anchor,
           extra: dict) -> None:
    from ...models.kws import KeywordCNN

    summ = KeywordCNN((1, 98, 40), len(P.NAMES), cfg.channels, rng=0).summary((1, 98, 40))
    agg = {k: {c: (float(np.mean([s[c] for s in scores[k]])),
                   float(np.std([s[c] for s in scores[k]]))) for c in P.CONDITIONS}
           for k, _, _ in rows}
    ctx.metrics.update(
        rows={k: {c: {"mean": m, "std": s, "folds": [f[c] for f in scores[k]]}
                  for c, (m, s) in agg[k].items()} for k, _, _ in rows},
        final_train_loss={k: v for k, v in losses.items()}, folds=fold_info,
        model={"parameters": int(summ.trainable_params), "macs": int(summ.total_macs)},
        random_split_clean=anchor, confusion=cm.tolist(), data=extra)
    out = [{"key": k, "recipe": label, "condition": c, "mean": agg[k][c][0],
            "std": agg[k][c][1]} for k, label, _ in rows for c in P.CONDITIONS]
    csv = ctx.save_rows(out, "results")
    n = len(fold_info)
    ctx.heading("Technique × condition (held-out speakers)")
    ctx.table([[label] + [pct(agg[k][c][0]) + (f" ± {100 * agg[k][c][1]:.1f}" if n > 1 else "")
                          for c in P.CONDITIONS] for k, label, _ in rows],
              ["recipe"] + [P.COND_LABEL[c] for c in P.CONDITIONS],
              caption=f"Mean over {n} held-out speaker pair(s) ± std over folds. Keyword "
                      "columns: accuracy over 12 classes (higher is better); the last two: "
                      "fraction called a digit (lower is better).")
    titles = {"noise": "Keyword accuracy in test noise", "shift_level":
              "Keyword accuracy under shift and level change", "false_accepts":
              "False accepts (lower is better)"}
    for fam, conds in P.FAMILIES.items():
        ctx.figure(f"conditions_{fam}", plots_audio.condition_bars, csv, conditions=conds,
                   labels=[P.COND_LABEL[c] for c in conds], title=titles[fam],
                   caption=f"{titles[fam]}: one bar per recipe and condition, whiskers = "
                           f"std over {n} fold(s).")
    if "full" in agg:
        cm_csv = plots_cnn.save_confusion_csv(cm, P.NAMES, ctx.path("full_confusion.csv"))
        ctx.figure("full_confusion", plots_cnn.confusion_heatmap, cm_csv, normalize=True,
                   title="Full recipe: held-out speakers",
                   caption="Full recipe, summed over folds: clean digits of held-out "
                           "speakers, Allison's unknown words (true `_unknown_`) and test "
                           "noise alone (true `_silence_`).")
        ctx.figure("batch", plots_audio.batch_grid, ctx.path("batch.npz"),
                   caption="One training batch of the full recipe: waveform and log-mel of "
                           "each clip, with its label and what the generator applied.")
    ctx.figure("batch_generation", plots_audio.batch_diagram,
               caption="How `AudioProcessor.get_data` forms each clip of a mini-batch.")
    _reading(ctx, cfg, rows, scores, agg, n, summ, anchor)


def _reading(ctx, cfg, rows, scores, agg, n, summ, anchor) -> None:
    keys = {k for k, _, _ in rows}
    ctx.heading("Reading")
    ctx.md(f"The keyword CNN has {summ.trainable_params:,} parameters and "
           f"{summ.total_macs / 1e6:.2f} M multiply-accumulates per one-second clip; "
           f"each recipe trained {cfg.steps} steps of {cfg.batch_size} clips, on {n} "
           "held-out speaker pair(s), all rows in this run.")
    if ctx.quick:
        ctx.md("**Quick run: a smoke test** (a few steps, few clips): the numbers below are "
               "not meaningful and no technique's effect is claimed.")
    if "full" in agg:
        m, s = agg["full"]["clean"]
        ctx.md(f"**Full recipe on unseen speakers:** clean accuracy **{pct(m)}** (± "
               f"{100 * s:.1f} over {n} fold(s)); at SNR 0 dB {pct(agg['full']['snr0'][0])}; "
               f"unknown words called a digit {pct(agg['full']['unknown_fa'][0])}; noise "
               f"alone called a digit {pct(agg['full']['silence_fa'][0])}.")
        if anchor is not None:
            gap = (f"a gap of {100 * (anchor - m):.1f} points, which is the lesson: a random "
                   "split measures memorised voices" if anchor - m >= 0.01 and not ctx.quick
                   else "no clear gap in this run")
            ctx.md(f"**Speaker split vs random-utterance split.** The same recipe on a random "
                   f"split of FSDD's utterances (every speaker in training and test) scores "
                   f"{pct(anchor)} clean, against {pct(m)} on unseen speakers: {gap}. TF's "
                   "tutorial `conv` model reports 85–90% on Speech Commands' 12 classes "
                   "(thousands of speakers; not measured here).")
    for t in P.TECHNIQUES:
        conds, lower = TARGET[t], t in ("silence", "unknown")
        where = ", ".join(P.COND_LABEL[c] for c in conds)
        parts = [f"**{P.LABEL[t].capitalize()}** {WHAT[t]}."]
        if not ctx.quick and "full" in keys and f"no_{t}" in keys:
            d, ok = _paired(scores["full"], scores[f"no_{t}"], conds)
            parts.append(f"Measured on {where}: the full recipe vs without it — "
                         f"{_effect(d, ok, lower)}.")
            if conds != ("clean",):
                d, ok = _paired(scores["full"], scores[f"no_{t}"], ("clean",))
                parts.append(f"Its price or bonus on clean accuracy (full recipe vs without "
                             f"it): {_effect(d, ok, False)}.")
        if not ctx.quick and "plain" in keys and f"only_{t}" in keys:
            d, ok = _paired(scores[f"only_{t}"], scores["plain"], conds)
            parts.append(f"Added alone to the plain baseline — {_effect(d, ok, lower)}.")
        an, where_in = ANALOGUE[t]
        parts.append(f"Outside audio: {an}. In the pipeline: {where_in}.")
        ctx.md(" ".join(parts))
    ctx.md("Claims use a paired rule over folds: a difference is called better/worse only if "
           "it is at least 1 point and more than twice its standard error across folds; "
           "otherwise the reading says there is no clear difference.")
