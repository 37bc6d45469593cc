"""har-architectures — which architecture recognises activities best from raw smartphone
sensors, and what does each cost? (UCL A1, question 2: "report in a table the differences in F1
between the models under three variations of your choice; discuss accuracy and efficiency
(training time, inference time, number of parameters)".)

Data: UCI HAPT raw accelerometer + gyroscope signals (``hapt``), windows of 100 samples (2 s)
with stride 50 inside single-activity segments, the 6 activities, split **by subject** (test =
the official UCI HAR test users), each channel standardised with the training windows' mean
and std. Models (``chainrule.models.har``, closed-form parameter counts there): an MLP on the
flattened window, an LSTM, a 1-D CNN (two Conv1d + max-pool blocks, dense layer), DeepConvLSTM
(the same conv blocks, then an LSTM instead of the dense layer) and a ConvLSTM (Shi et al.; the
window read as 4 sub-windows of 25 samples). Each in three variations: ``base`` (dropout 0.5),
``no dropout`` (dropout 0: what dropout does to the train/validation gap) and ``half width``
(units and filters ÷ 2: capacity against cost). Adam (lr 1e-3, cosine decay), batch 64,
``epochs`` = 10 each; the best model is the one with the highest validation macro-F1. The full
preset took 3 min 33 s of CPU with one BLAS thread (8 min 20 s wall on a shared 2-core machine
at load ≈ 6).

Figures: test macro-F1 against parameters and against training seconds per epoch (one labelled
marker per model × variation); the best model's confusion matrix on the test users (sitting
and standing are the pair to watch); per-class F1 of the four coursework baselines. Times
(training: median wall seconds per epoch, and CPU seconds per epoch; inference per window at
batch 1 and 256; peak traced memory of one training step) are measured on the machine that
ran it: they go to ``timings.json`` and the report, never to ``metrics.json``.

Context, not a target (other windows and the pre-filtered signals): on UCI HAR an LSTM reaches
≈ 91.6% accuracy, a CNN ≈ 94.8%, DeepConvLSTM ≈ 95.7%. The bar here: best model's test
macro-F1 ≥ 0.88. Longer coursework-style runs: ``--set epochs=30`` (or ``batch_size=32``).
"""

from __future__ import annotations

import time
import tracemalloc
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...plots import cnn as plots_cnn
from ...plots import har as plots_har
from ..context import RunContext
from ..registry import register
from ._common import pct, write_timings
from ._har_data import counts_table, load_har

ANCHORS = {"lstm": 0.916, "cnn": 0.948, "deepconvlstm": 0.957}   # UCI HAR accuracy
BASELINES = ("mlp", "lstm", "cnn", "deepconvlstm")
VARIATIONS = {"base": "dropout 0.5", "no dropout": "dropout 0.0",
              "half width": "units and filters ÷ 2"}
HALF = {"mlp": {"hidden": 64}, "lstm": {"hidden": 16}, "cnn": {"filters": 16, "hidden": 32},
        "deepconvlstm": {"filters": 16, "hidden": 16}, "convlstm": {"filters": 8, "hidden": 32}}


@dataclass
class Config:
    models: tuple[str, ...] = ("mlp", "lstm", "cnn", "deepconvlstm", "convlstm")
    variations: tuple[str, ...] = ("base", "no dropout", "half width")
    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    cosine: bool = True
    n_train: int = 0            # 0 = every training window (quick presets subsample)
    n_eval: int = 0             # 0 = every validation and test window
    timing_repeats: int = 30    # single-window forward passes timed (median)


def variation_kwargs(kind: str, variation: str) -> dict[str, Any]:
    """The builder arguments of one variation."""
    if variation == "base":
        return {}
    if variation == "no dropout":
        return {"dropout": 0.0}
    if variation == "half width":
        return dict(HALF[kind])
    raise ValueError(f"unknown variation {variation!r}; one of {', '.join(VARIATIONS)}")


def _timings(model: Any, x: np.ndarray, y: np.ndarray, batch: int, repeats: int) -> dict:
    """Median single-window forward, per-window forward at batch 256, and the peak traced
    memory (tracemalloc, NumPy buffers included) of one training forward + backward."""
    import chainrule as cr

    one = []
    for i in range(max(repeats, 1) + 1):
        t0 = time.perf_counter()
        model.forward(x[i % len(x)][None], training=False)
        one.append(time.perf_counter() - t0)
    xb, big = x[:256], []
    for _ in range(3):
        t0 = time.perf_counter()
        model.forward(xb, training=False)
        big.append((time.perf_counter() - t0) / len(xb))
    loss = cr.SoftmaxCrossEntropy()
    tracemalloc.start()
    loss.forward(model.forward(x[:batch], training=True), y[:batch])
    model.backward(loss.backward())
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    model.zero_grad()
    return {"infer_ms_batch1": 1e3 * float(np.median(one[1:])),
            "infer_us_per_window_batch256": 1e6 * float(np.median(big)),
            "peak_train_step_mib": peak / 2 ** 20}


def _train(kind: str, variation: str, cfg: Config, d: Any, ctx: RunContext) -> tuple:
    import chainrule as cr
    from chainrule import metrics
    from chainrule.data import DataLoader
    from chainrule.models.har import build_har
    from chainrule.train import LearningRateScheduler, ModelCheckpoint, evaluate, fit, predict

    seeds = ctx.rng.integers(0, 2 ** 31, size=2)
    kw = variation_kwargs(kind, variation)
    model = build_har(kind, len(d.classes), rng=np.random.default_rng(seeds[0]), **kw)
    summ = model.summary(tuple(d.x_train.shape[1:]))
    opt = cr.optim.Adam(model.parameters(), lr=cfg.lr)
    tag = f"{kind}_{variation.replace(' ', '_')}"
    cbs = [ModelCheckpoint(ctx.path(f"checkpoints/{tag}.npz"),
                           config={"kind": kind, "kwargs": kw, "classes": list(d.classes)})]
    if cfg.cosine:
        cbs.insert(0, LearningRateScheduler(cr.optim.CosineDecay(cfg.epochs)))
    c0 = time.process_time()
    # No per-epoch validation: the scores below are computed once, after training.
    hist = fit(model, cr.SoftmaxCrossEntropy(), opt,
               DataLoader(d.x_train, d.y_train, cfg.batch_size,
                          rng=np.random.default_rng(seeds[1])), epochs=cfg.epochs,
               callbacks=cbs)
    cpu = (time.process_time() - c0) / max(cfg.epochs, 1)
    wall = float(np.median([r["seconds"] for r in hist.epoch_log]))
    k = len(d.classes)
    pred = {s: predict(model, x, 512).argmax(axis=1) for s, x in
            (("train", d.x_train), ("val", d.x_val), ("test", d.x_test))}
    truth = {"train": d.y_train, "val": d.y_val, "test": d.y_test}
    res = {"model": kind, "variation": variation, "kwargs": kw,
           "parameters": int(summ.trainable_params), "macs": int(summ.total_macs),
           "activation_bytes_per_window": int(summ.activation_bytes),
           "per_class_test_f1": [float(v) for v in
                                 metrics.precision_recall_f1(d.y_test, pred["test"], k)[2]],
           "final_train_loss": float(hist.epoch_log[-1]["loss"]),
           "final_val_loss": float(evaluate(model, cr.SoftmaxCrossEntropy(),
                                            (d.x_val, d.y_val), batch_size=512)["loss"])}
    for s in ("train", "val", "test"):
        res[f"{s}_f1"] = float(metrics.macro_f1(truth[s], pred[s], k))
        res[f"{s}_accuracy"] = float(metrics.accuracy(truth[s], pred[s]))
    timing = {"train_s_per_epoch": wall, "train_cpu_s_per_epoch": cpu,
              **_timings(model, d.x_test, d.y_test, cfg.batch_size, cfg.timing_repeats)}
    return tag, res, timing, pred["test"]


@register("har-architectures", question="Which architecture (MLP, LSTM, 1-D CNN, DeepConvLSTM, "
          "ConvLSTM) recognises activities best from raw smartphone sensors, held-out subjects, "
          "and what does each cost in parameters, training and inference time?",
          config=Config,
          quick={"epochs": 1, "n_train": 300, "n_eval": 200, "timing_repeats": 3},
          runtime={"quick": "10 s", "full": "3 min 23 s"})   # make run, 2 jobs
def run(cfg: Config, ctx: RunContext) -> None:
    from chainrule import metrics

    d = load_har(ctx, "6", n_train=cfg.n_train, n_eval=cfg.n_eval)
    results, timings, preds = {}, {}, {}
    for kind in cfg.models:
        for variation in cfg.variations:
            ctx.log(f"{kind} / {variation}: {cfg.epochs} epoch(s) on {len(d.x_train):,} windows")
            tag, res, timing, pred = _train(kind, variation, cfg, d, ctx)
            results[tag], timings[tag], preds[tag] = res, timing, pred
    np.savez_compressed(ctx.path("test_predictions.npz"), y_true=d.y_test, **preds)
    write_timings(ctx, {"note": "this machine; train_s_per_epoch: median wall seconds of the "
                                "epochs; train_cpu_s_per_epoch: process CPU seconds / epochs",
                        "models": timings})
    best = max(results, key=lambda t: (results[t]["val_f1"], -results[t]["parameters"]))
    k = len(d.classes)
    cm = metrics.confusion_matrix(d.y_test, preds[best], k)
    ctx.metrics.update(results=results, best=best, best_test_f1=results[best]["test_f1"],
                       best_confusion=cm.tolist(), counts=d.counts, users=d.users,
                       classes=list(d.classes), bar_met=bool(results[best]["test_f1"] >= 0.88))
    _report(cfg, ctx, d, results, timings, best, cm)


def _report(cfg: Config, ctx: RunContext, d: Any, results: dict, timings: dict, best: str,
            cm: np.ndarray) -> None:
    rows = [{**{k: v for k, v in r.items() if not isinstance(v, (list, dict))}, **timings[t]}
            for t, r in results.items()]
    table_csv = ctx.save_rows(rows, "har_table")
    ctx.heading("Data")
    counts_table(ctx, d)
    ctx.heading("Models × variations")
    ctx.table([[r["model"], r["variation"], f"{r['parameters']:,}", f"{r['macs']:,}",
                f"{r['train_s_per_epoch']:.2f}", f"{r['train_cpu_s_per_epoch']:.2f}",
                f"{r['infer_ms_batch1']:.2f}",
                f"{r['infer_us_per_window_batch256']:.1f}", f"{r['peak_train_step_mib']:.1f}",
                f"{r['train_f1']:.3f}", f"{r['val_f1']:.3f}", pct(r["val_accuracy"]),
                f"{r['test_f1']:.3f}", pct(r["test_accuracy"])] for r in rows],
              ["model", "variation", "parameters", "MACs/window", "train s/epoch", "CPU s/epoch",
               "infer ms (batch 1)", "infer µs/window (batch 256)", "peak MiB (train step)",
               "train F1", "val F1", "val acc", "test F1", "test acc"],
              caption="Macro-F1 over the 6 activities. Times are wall-clock on the machine that "
                      "ran this (timings.json): training = median epoch, beside the process CPU "
                      "seconds per epoch (steadier on a shared machine); parameters and MACs "
                      "come from the model's summary.")
    ctx.figure("f1_vs_cost", plots_har.f1_vs_cost, table_csv,
               title="Test macro-F1 against parameters and training time",
               caption="One marker per model × variation (colour = model, shape = variation).")
    b = results[best]
    cm_csv = plots_cnn.save_confusion_csv(cm, d.classes, ctx.path("best_confusion.csv"))
    ctx.figure("best_confusion", plots_cnn.confusion_heatmap, cm_csv, normalize=True,
               title=f"{b['model']} / {b['variation']}: test confusion matrix",
               caption="The best model's (highest validation macro-F1) confusion matrix on the "
                       "test users (counts; colour = fraction of the true class).")
    base = [t for t in results if results[t]["variation"] == "base"
            and results[t]["model"] in BASELINES]
    if base:
        pc = [{"class": c, **{results[t]["model"]: results[t]["per_class_test_f1"][i]
                              for t in base}} for i, c in enumerate(d.classes)]
        ctx.figure("per_class_f1", plots_har.per_class_f1, ctx.save_rows(pc, "per_class_f1"),
                   title="Per-class test F1 of the four baselines",
                   caption="Per-class F1 on the test users, base variation of each baseline.")
    ctx.md(_reading(cfg, ctx, results, timings, best, cm, d.classes))
    anchors = ", ".join(f"{m} ≈ {pct(a)}" for m, a in ANCHORS.items())
    ours = ", ".join(f"{m} {pct(results[f'{m}_base']['test_accuracy'])}" for m in ANCHORS
                     if f"{m}_base" in results)
    ctx.md(f"**Anchors** (context, not targets: UCI HAR's own windows and filtered signals): "
           f"accuracy {anchors}. Here, base variation on the subject-held-out test set: "
           f"{ours}.")


def _reading(cfg: Config, ctx: RunContext, results: dict, timings: dict, best: str,
             cm: np.ndarray, classes: tuple) -> str:
    b = results[best]
    off = cm - np.diag(np.diag(cm))
    i, j = np.unravel_index(int(off.argmax()), off.shape)
    bar = "meets" if b["test_f1"] >= 0.88 else "misses"
    lead = ("**Smoke test** (quick preset: a few hundred windows, one epoch — the numbers "
            "below are not meaningful). " if ctx.quick else "**Reading.** ")
    text = (f"{lead}The best model by validation macro-F1 is **{b['model']} / "
            f"{b['variation']}**: test macro-F1 **{b['test_f1']:.3f}** (accuracy "
            f"{pct(b['test_accuracy'])}), which {bar} the 0.88 bar, with {b['parameters']:,} "
            f"parameters and {timings[best]['train_cpu_s_per_epoch']:.2f} CPU s per epoch. "
            f"Its most frequent confusion is true *{classes[i]}* predicted as *{classes[j]}* "
            f"({int(off[i, j])} windows). ")
    base = {r["model"]: r for r in results.values() if r["variation"] == "base"}
    if len(base) >= 2:
        order = sorted(base, key=lambda m: -base[m]["test_f1"])
        top, low = base[order[0]], base[order[-1]]
        gap = top["test_f1"] - low["test_f1"]
        scores = ", ".join(f"{base[m]['test_f1']:.3f}" for m in order)
        text += (f"Among the base variations, {', '.join(order)} rank by test macro-F1 "
                 f"({scores}); "
                 + (f"{order[0]} leads {order[-1]} by {gap:.3f}. " if gap >= 0.01 else
                    "no clear difference (under 0.01, one seed each). "))
        cheap = min(base, key=lambda m: timings[f"{m}_base"]["train_cpu_s_per_epoch"])
        dear = max(base, key=lambda m: timings[f"{m}_base"]["train_cpu_s_per_epoch"])
        tc, td = (timings[f"{m}_base"]["train_cpu_s_per_epoch"] for m in (cheap, dear))
        text += (f"Cost (CPU time): {cheap} trains fastest ({tc:.2f} s/epoch) and {dear} slowest "
                 f"({td:.2f} s/epoch, {td / max(tc, 1e-9):.1f}×); parameters range from "
                 f"{min(r['parameters'] for r in base.values()):,} to "
                 f"{max(r['parameters'] for r in base.values()):,}. ")
        per = {m: timings[f"{m}_base"]["train_cpu_s_per_epoch"] / max(base[m]["macs"], 1) * 1e6
               for m in base}
        hi, lo = max(per, key=per.get), min(per, key=per.get)
        text += (f"Per million MACs per window, {hi} costs the most training time "
                 f"({per[hi]:.2f} s/epoch) and {lo} the least ({per[lo]:.2f}): "
                 + (f"a {per[hi] / per[lo]:.1f}× spread, so MACs alone do not predict the "
                    "training time. " if per[hi] > 2 * per[lo] else
                    "within a factor of 2, so MACs predict the training time roughly. "))
    pairs = [(m, base[m], results[f"{m}_no_dropout"]) for m in base
             if f"{m}_no_dropout" in results]
    if pairs:
        wider = [m for m, a, z in pairs
                 if z["train_f1"] - z["val_f1"] > a["train_f1"] - a["val_f1"] + 0.005]
        text += ("Dropout: the train − validation macro-F1 gap is "
                 + "; ".join(f"{m} {a['train_f1'] - a['val_f1']:+.3f} with 0.5 vs "
                             f"{z['train_f1'] - z['val_f1']:+.3f} without" for m, a, z in pairs)
                 + f". Without dropout the gap is wider for {len(wider)} of {len(pairs)} "
                 f"models{' (' + ', '.join(wider) + ')' if wider else ''}")
        helped = [m for m, a, z in pairs if a["val_f1"] > z["val_f1"] + 0.005]
        hurt = [m for m, a, z in pairs if a["val_f1"] < z["val_f1"] - 0.005]
        text += (f"; dropout 0.5 raised validation macro-F1 for {len(helped)} "
                 f"({', '.join(helped) or 'none'}) and lowered it for {len(hurt)} "
                 f"({', '.join(hurt) or 'none'}) of them (differences over 0.005)"
                 + (": at this training length dropout mostly slows fitting rather than "
                    "closing a gap (its training F1 is lower too)." if len(hurt) > len(helped)
                    and all(a["train_f1"] < z["train_f1"] for m, a, z in pairs if m in hurt)
                    else "."))
    return text
