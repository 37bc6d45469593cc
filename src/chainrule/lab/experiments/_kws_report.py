"""The report of ``keyword-spotting``: aggregate over folds, metrics, table, figures and the
reading (generated from the numbers; a paired per-fold rule decides what may be claimed)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...plots import audio as plots_audio
from ...plots import cnn as plots_cnn
from ..claims import reading
from ..context import RunContext
from . import _kws_parts as P
from ._common import pct
from ._kws_claims import (
    TARGET,
    effect,
    random_split_two_se,
    reading_claims,
    targets,
    technique_claim,
    where,
)

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
        random_split_clean=anchor, confusion=cm.tolist(), data=extra, targets=targets(scores),
        resolution={"random_split_two_se": random_split_two_se(
            anchor, 2 * (cfg.n_test_per_speaker or 500), [f["clean"] for f in scores["full"]])
            if anchor is not None and "full" in scores else None})
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
    _techniques(ctx, cfg, n, summ)


def _techniques(ctx, cfg, n, summ) -> None:
    m = ctx.metrics
    ctx.heading("Techniques")
    ctx.md(f"The keyword CNN has {summ.trainable_params:,} parameters and "
           f"{summ.total_macs / 1e6:.2f} M multiply-accumulates per one-second clip; "
           f"each recipe trained {cfg.steps} steps of {cfg.batch_size} clips, on {n} "
           "held-out speaker pair(s), all rows in this run. Effects below are paired over the "
           "folds: called better or worse only when at least 1 point and more than twice "
           "their standard error across folds.")
    table = []
    for t in P.TECHNIQUES:
        an, stage = ANALOGUE[t]
        price = (technique_claim(m, t, "full", f"no_{t}", "", "", conds="clean")
                 if TARGET[t] != ("clean",) else None)
        table.append([P.LABEL[t], WHAT[t], where(t),
                      effect(technique_claim(m, t, "full", f"no_{t}", "", "")), effect(price),
                      effect(technique_claim(m, t, f"only_{t}", "plain", "", "")), an, stage])
    ctx.table(table, ["technique", "what it does", "measured on",
                      "full recipe vs without it", "…on clean accuracy",
                      "added alone to the plain baseline", "outside audio",
                      "where in the pipeline"],
              caption="Mean difference over the folds in points (for false accepts, lower is "
                      "better).")
    lead = ("Each technique removed from the full recipe, on what it targets; a difference "
            "is called only when at least 1 point and more than two standard errors over "
            "the folds")
    ctx.answer(reading(ctx, reading_claims(m), lead=lead), figure="conditions_noise")
