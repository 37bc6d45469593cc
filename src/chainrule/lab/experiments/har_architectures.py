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
from ..claims import Best, Fact, Paired, Ratio, Threshold, measured, reading
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
          runtime={"quick": "10 s", "full": "3 min 13 s"},   # make run, 2 jobs
          source="UCL A1, question 2",
          coursework="report in a table the differences in F1 between the models under three "
                     "variations of your choice; discuss accuracy and efficiency (training time, "
                     "inference time, number of parameters)")
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
    _report(ctx, d, results, timings, best, cm)


def _report(ctx: RunContext, d: Any, results: dict, timings: dict, best: str,
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
    anchors = ", ".join(f"{m} ≈ {pct(a)}" for m, a in ANCHORS.items())
    ours = ", ".join(f"{m} {pct(results[f'{m}_base']['test_accuracy'])}" for m in ANCHORS
                     if f"{m}_base" in results)
    ctx.md(f"**Anchors** (context, not targets: UCI HAR's own windows and filtered signals): "
           f"accuracy {anchors}. Here, base variation on the subject-held-out test set: "
           f"{ours}.")
    ctx.answer(reading(ctx, reading_claims(ctx.metrics, {"models": timings})),
               figure="f1_vs_cost")


def reading_claims(m: dict, t: dict) -> list:
    """The answer from ``metrics.json`` (``m``) and ``timings.json`` (``t``): the model chosen
    by validation macro-F1 and the 0.88 bar; its most frequent confusion; the best base
    model (a lead under 0.01 macro-F1, one seed each, is no clear difference); the fastest and
    slowest base model's CPU time per epoch (beyond 20%, timer noise) and the parameter range;
    dropout's and half width's effect paired over the models (called beyond 0.005 and two
    standard errors)."""
    res, best = m["results"], m["best"]
    tags = list(res)

    def name(tag: str) -> str:
        return f"{res[tag]['model']} / {res[tag]['variation']}"

    cls = m["classes"]
    cells = [(i, j) for i in range(len(cls)) for j in range(len(cls)) if i != j]
    out = [Best("validation macro-F1 (the selection rule)", tuple(name(k) for k in tags),
                tuple(measured(m, "results", k, "val_f1") for k in tags), spec=".3f"),
           Threshold(f"the test macro-F1 of {name(best)}", measured(m, "results", best,
                                                                  "test_f1"),
                     0.88, bar_note="the bar", spec=".3f"),
           Best(f"count of test windows confused by {name(best)}",
                tuple(f"true {cls[i]} predicted as {cls[j]}" for i, j in cells),
                tuple(measured(m, "best_confusion", i, j) for i, j in cells), spec="int")]
    base = [k for k in tags if res[k]["variation"] == "base"]
    if len(base) >= 2:
        out.append(Best("test macro-F1 among the base variations",
                        tuple(res[k]["model"] for k in base),
                        tuple(measured(m, "results", k, "test_f1") for k in base),
                        resolution=0.01, resolution_note="one seed each", spec=".3f"))
        cpu = {k: t["models"][k]["train_cpu_s_per_epoch"] for k in base}
        lo, hi = min(base, key=cpu.get), max(base, key=cpu.get)
        out.append(Ratio("CPU seconds per training epoch (base variations)", res[lo]["model"],
                         measured(t, "models", lo, "train_cpu_s_per_epoch",
                                  file="timings.json"), res[hi]["model"],
                         measured(t, "models", hi, "train_cpu_s_per_epoch",
                                  file="timings.json"),
                         rel=0.2, rel_note="timer noise"))
        small = min(base, key=lambda k: res[k]["parameters"])
        big = max(base, key=lambda k: res[k]["parameters"])
        out.append(Fact(f"parameters range from {{0:,}} ({res[small]['model']}) to {{1:,}} "
                        f"({res[big]['model']})",
                        (measured(m, "results", small, "parameters"),
                         measured(m, "results", big, "parameters"))))
    for variation, names, keys in (("no dropout", ("dropout 0.5", "dropout 0"),
                                    ("val_f1", "train_f1")),
                                   ("half width", ("full width", "half width"), ("test_f1",))):
        pairs = [(k, k.replace("_base", "_" + variation.replace(" ", "_"))) for k in base]
        pairs = [(k, v) for k, v in pairs if v in res]
        for key in keys if len(pairs) >= 2 else ():
            what = {"val_f1": "validation", "train_f1": "training", "test_f1": "test"}[key]
            out.append(Paired(f"{what} macro-F1", names[0],
                              tuple(measured(m, "results", k, key) for k, _ in pairs),
                              names[1], tuple(measured(m, "results", v, key) for _, v in pairs),
                              min_diff=0.005, pairs="models", spec=".3f"))
    return out
