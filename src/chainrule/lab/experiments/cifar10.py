"""cifar10 — how far does a small CNN get on CIFAR-10, and which improvements actually help?

The baseline: conv 5×5×16 ("same") → ReLU → max-pool 2 → conv 5×5×16 → ReLU → max-pool 2 →
flatten (16·8·8 = 1,024) → linear, trained with SGD (momentum 0.9, PyTorch form) at a
constant learning rate for 5,000 iterations of 32 images — the coursework's baseline, for
which it quotes "about 48%" test accuracy; the report puts the measured number next to it.
Then a greedy ladder of attempts, each trained through the same ``fit`` loop from the same
seed and each reported, failures included: each attempt adds one change to the best
configuration so far; a change that does not help is reported and dropped. A deliberately
too-large learning rate branches off the baseline and stops at the step where the loss
diverges (its 10-step mean above twice the untrained model's loss; see ``DIVERGENCE``).
An attempt *fails* when training diverges or when it does not beat the configuration it was
built on; the reading also says which gains are smaller than two standard errors of the
difference on the test set (≈ 1.4 points for 10,000 images), i.e. within noise.

Budget. The full preset (``make run``) must fit in about 8 minutes on 2 cores, and the
baseline keeps its 5,000 iterations. So each ladder attempt trains ``ladder_iterations``
(1,000) iterations and is compared *at that budget*: with the baseline's test accuracy
after 1,000 of its iterations (its learning rate is constant, so that is exactly a 1,000-
iteration run), or with the attempt it was built on. The full ladder is batch norm → deeper
(three 3×3 blocks 16, 32, 64) → wider (2× channels) → cosine schedule with weight decay,
plus the high-lr failure. The coursework's exact, longer settings — every attempt 5,000
iterations, dropout and augmentation included (25–40 minutes on 2 cores, estimated from the
full preset's per-attempt times; more when ``wider`` is kept) — are::

    chainrule lab run cifar10 --set ladder_iterations=5000 \\
        --set attempts=baseline,batchnorm,deeper,wider,dropout,augment,schedule,high-lr

Data: real CIFAR-10 when it resolves (``--data-dir`` / ``CHAINRULE_DATA`` / the cache): an
official distribution first, else the registry's JPEG copy (``cifar10-jpeg``, JPEG quality
≈ 75), in which case every result says "CIFAR-10 (JPEG copy, quality ≈ 75)" and
``metrics.json`` has ``"data": "cifar10-jpeg"``. Otherwise (the quick preset, tests) the run
uses **stand-in data**: a synthetic 10-class set of 32×32 colour images (class = colour pair
× grating orientation × frequency, random phase and heavy noise), generated from the seed,
written in the official Python-version format with ``chainrule.data.write_cifar10`` and read
back through ``cr.data.load("cifar10", ...)`` — the same loader path as real data. The report
and ``metrics.json`` (``"data": "stand-in"``) say so plainly; stand-in numbers say nothing
about CIFAR-10, and every stand-in attempt runs ``stand_in_iterations``.

What to look for: the attempts table and bar chart (which changes beat what they were built
on, which failed); the curves of every attempt against gradient steps; for the baseline and
the best attempt, the first layer's filters as RGB images (colour blobs and oriented edges),
the misclassified test images with true and predicted labels, the confusion matrix,
per-class precision/recall (table and bars) and the parameter count of every layer. On
stand-in data the flips of the augmentation attempt change the class (orientation θ →
180° − θ), a failure the report points out; on CIFAR-10 flips preserve the label.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from typing import Any

import numpy as np

from ... import plots
from ...plots import cnn as plots_cnn
from ..claims import Fact, metric, reading
from ..context import RunContext
from ..registry import register
from ._cifar10_parts import (
    ATTEMPTS,
    COURSEWORK_BASELINE,
    FULL_ATTEMPTS,
    StopAfter,
    TestAt,
    answer_claims,
    build,
    load_data,
    recipe,
)
from ._common import pct, two_se

# An attempt has diverged when its 10-step mean training loss exceeds twice the untrained
# model's (first-step) loss and twice its best: stricter than fit's default (1000×, 10×),
# because lr 1.0 can blow the loss up to ~5–20 and then leave it at chance (≈ ln 10) for
# good — measured on the JPEG copy, where the default rule let it run all its iterations.
DIVERGENCE = {"factor": 2.0, "ceiling": 2.0, "window": 10}


@dataclass
class Config:
    data: str = "auto"              # "auto": real CIFAR-10 if it resolves, else stand-in;
                                    # "cifar10" (real or an error); "stand-in"
    data_dir: str = ""              # a folder holding CIFAR-10 ("" = the registry's resolution)
    attempts: tuple[str, ...] = FULL_ATTEMPTS
    iterations: int = 5000          # the baseline's, on real data (the coursework's definition)
    ladder_iterations: int = 1000   # every other attempt's, on real data (coursework: 5000)
    stand_in_iterations: int = 300  # every attempt's, on stand-in data
    batch_size: int = 32
    width: float = 1.0              # multiplies every conv's channel count (quick preset: less)
    val_size: int = 1000            # carved out of the training split
    val_checks: int = 5             # validation checks per ladder attempt (same spacing for all)
    n_train: int = 0                # 0 = all (real data); subsample otherwise
    n_test: int = 0
    stand_in_train: int = 2500      # stand-in images (before the validation split)
    stand_in_test: int = 500
    max_misclassified: int = 25
    high_lr: float = 1.0            # the learning rate of the "high-lr" attempt


@register("cifar10", question="How accurate is a small CNN on CIFAR-10 after 5,000 iterations, "
          "and which of batch norm, deeper/wider layers, a learning-rate schedule (and, with "
          "--set, dropout and augmentation) improve it?", config=Config,
          quick={"data": "stand-in", "attempts": tuple(ATTEMPTS), "stand_in_iterations": 12,
                 "stand_in_train": 300, "stand_in_test": 100, "val_size": 60, "width": 0.25,
                 "batch_size": 16, "val_checks": 2, "max_misclassified": 10},
          runtime={"quick": "5 s", "full": "4 min 56 s"},
          source="the coursework's expected test accuracy of the baseline CNN after 5,000 "
                 "iterations (assignment not named in the issues)",
          coursework="about 48%")
def run(cfg: Config, ctx: RunContext) -> None:
    import chainrule as cr
    from chainrule.data import DataLoader, transforms
    from chainrule.train import Divergence, LearningRateScheduler, NonFiniteLossError, fit, predict

    unknown = [a for a in cfg.attempts if a not in ATTEMPTS]
    if unknown or not cfg.attempts or cfg.attempts[0] != "baseline":
        raise ValueError(f"attempts must start with 'baseline' and name known attempts "
                         f"{sorted(ATTEMPTS)}; unknown: {unknown}")
    with tempfile.TemporaryDirectory(prefix="cifar10-stand-in-") as tmp:
        d = load_data(cfg, ctx, tmp)
    stand_in = d["kind"] == "stand-in"
    base_iters = cfg.stand_in_iterations if stand_in else cfg.iterations
    ladder_iters = cfg.stand_in_iterations if stand_in else cfg.ladder_iterations
    if not 1 <= ladder_iters <= base_iters:
        raise ValueError(f"ladder_iterations ({ladder_iters}) must be between 1 and the "
                         f"baseline's iterations ({base_iters})")
    mean = d["x_train"].mean(axis=(0, 2, 3), keepdims=True, dtype=np.float64).astype(np.float32)
    std = d["x_train"].std(axis=(0, 2, 3), keepdims=True, dtype=np.float64).astype(np.float32)
    xtr, xva = d.pop("x_train"), d.pop("x_val")   # standardised in place (600 MB for real data)
    for a in (xtr, xva):
        a -= mean
        a /= std
    xte = (d["x_test"] - mean) / std              # d["x_test"] stays as shown to a reader
    ytr, yva, yte, classes = d["y_train"], d["y_val"], d["y_test"], d["classes"]
    ctx.metrics.update(data=d["kind"], data_note=d["label"], baseline_iterations=base_iters,
                       coursework_baseline=COURSEWORK_BASELINE,
                       ladder_iterations=ladder_iters, batch_size=cfg.batch_size,
                       n_train=len(xtr), n_val=len(xva), n_test=len(xte))
    _intro(cfg, ctx, d["label"], stand_in, base_iters, ladder_iters)

    steps_per_epoch = -(-len(xtr) // cfg.batch_size)
    val_every = max(1, ladder_iters // max(1, cfg.val_checks))
    loss = cr.SoftmaxCrossEntropy()
    results, csvs, kept = {}, {}, {}
    best_name, best_recipe = "baseline", None
    for name in cfg.attempts:
        r = recipe(name, best_recipe)
        if name == "high-lr":
            r.update(lr=cfg.high_lr, change=f"baseline at lr {cfg.high_lr:g} (expected to fail)")
        iters = base_iters if name == "baseline" else ladder_iters
        ctx.log(f"attempt {name} ({iters:,} iterations): {r['change']}")
        model = build(r, cfg.width, len(classes), ctx.rng)
        opt = cr.optim.SGD(model.parameters(), lr=r["lr"], momentum=0.9,
                           weight_decay=r["weight_decay"])
        cbs: list[Any] = [StopAfter(iters)]
        snap = TestAt(ladder_iters, xte, yte) if iters > ladder_iters else None
        if snap is not None:
            cbs.append(snap)
        if r["schedule"]:
            cbs.append(LearningRateScheduler(cr.optim.CosineDecay(iters), per="step"))
        aug = transforms.cifar_augment if r["augment"] else None
        train = DataLoader(xtr, ytr, cfg.batch_size, rng=ctx.rng, transform=aug)
        summ = model.summary(tuple(xtr.shape[1:]))
        built_on = "—" if name == "baseline" else \
            (best_name if ATTEMPTS[name][0] == "best" else "baseline")
        res: dict[str, Any] = {"change": r["change"], "built_on": built_on,
                               "channels": [int(m.weight.shape[0]) for m in model
                                            if type(m).__name__ == "Conv2d"],
                               "parameters": int(summ.trainable_params),
                               "layer_params": {f"{w.name} {w.type}": w.params
                                                for w in summ.rows}}
        try:
            hist = fit(model, loss, opt, train, DataLoader(xva, yva, 500, shuffle=False),
                       epochs=math.ceil(iters / steps_per_epoch), callbacks=cbs,
                       val_every=val_every, divergence=Divergence(**DIVERGENCE))
        except NonFiniteLossError as err:   # includes DivergenceError: stopped at that step
            res.update(status="diverged", steps=int(err.step) - 1, test_accuracy=None,
                       reason=str(err.args[0]).split(";")[0])
            results[name] = res
            continue
        csvs[name] = ctx.save_history(hist, f"history_{name}")
        logits = predict(model, xte, 500)      # one pass over the test set: accuracy and loss
        y_pred = logits.argmax(axis=1)
        with np.errstate(all="ignore"):
            test_loss = float(loss.forward(logits, yte))
        last = hist.step_log[-1] if hist.step_log else hist.epoch_log[-1]
        res.update(status="ok", steps=int(hist.epoch_log[-1]["step"]),
                   test_accuracy=float(np.mean(y_pred == yte)), test_loss=test_loss,
                   val_accuracy=float(last["val_accuracy"]),
                   train_accuracy=float(hist.epoch_log[-1]["accuracy"]))
        if name == "baseline":
            res["at_ladder_budget"] = {"steps": ladder_iters, "test_accuracy":
                                       snap.accuracy if snap else res["test_accuracy"]}
        ref = _reference(results, built_on)
        if not math.isfinite(res["test_loss"]):  # finished, but the weights blew up
            res.update(status="diverged", reason=f"test loss is {res['test_loss']}")
        elif ref is not None:
            res["compared_with"] = ref
            res["gain"] = res["test_accuracy"] - ref
            # the difference of two accuracies on len(yte) test images
            res["gain_two_se"] = two_se(ref, len(yte), res["test_accuracy"], len(yte))
            res["gain_se"] = res["gain_two_se"] / 2
            if res["gain"] <= 0:
                res["status"] = "no gain"
        results[name] = res
        # Keep predictions, first-layer filters and summary only (models hold big caches).
        kept[name] = (model[0].weight.data.copy(), y_pred, summ)
        if name == "baseline" or (res["status"] == "ok" and ATTEMPTS[name][0] == "best"):
            best_name, best_recipe = name, r  # the ladder goes on from here
    ctx.metrics["attempts"] = results
    cands = {n: (_reference(results, "baseline") if n == "baseline" else r["test_accuracy"])
             for n, r in results.items() if r["status"] == "ok" or n == "baseline"}
    best = max(cands, key=lambda n: cands[n] if cands[n] is not None else -1.0)
    ctx.metrics["best"] = best
    _report_attempts(ctx, d["label"], results, csvs, stand_in)
    for name in dict.fromkeys(["baseline", best]):
        if name not in kept:
            continue
        first_weight, y_pred, summ = kept[name]
        steps = results[name]["steps"]
        ctx.heading(f"Attempt '{name}' in detail ({steps:,} iterations, {d['label']})")
        from .mnist_cnn import report_classifier  # the same outputs as mnist-cnn

        det = report_classifier(ctx, f"{name.replace('-', '_')}", y_true=yte, y_pred=y_pred,
                                images=d["x_test"], classes=classes,
                                first_weight=first_weight, label=f"{name}, {d['label']}",
                                max_misclassified=cfg.max_misclassified)
        results[name].update(detail={k: det[k] for k in ("precision", "recall", "confusion",
                                                          "top_confusion", "weakest_recall")})
        ctx.table([[f"{w.name} {w.type}", " × ".join(map(str, w.output_shape)), w.params]
                   for w in summ.rows], ["layer", "output shape", "parameters"],
                  caption=f"'{name}': parameters per layer (total {summ.trainable_params:,}).")
        if not ctx.quick:   # a quick run's numbers are a smoke test: no paragraph
            ctx.md(reading(ctx, detail_claims(ctx, name), label=name))


def detail_claims(ctx: RunContext, name: str) -> list:
    """One attempt in detail: its test accuracy, most frequent confusion, lowest recall."""
    def at(*keys: Any) -> Any:
        return metric(ctx, "attempts", name, *keys)

    return [Fact("{0:.2%} of {1:,} test images right after {2:,} iterations",
                 (at("test_accuracy"), metric(ctx, "n_test"), at("steps"))),
            Fact("most frequent confusion: true {0} predicted as {1} ({2} times)",
                 tuple(at("detail", "top_confusion", i) for i in range(3))),
            Fact("lowest recall: {0}", (at("detail", "weakest_recall"),))]


def _reference(results: dict, name: str) -> float | None:
    """The test accuracy a ladder attempt built on ``name`` is compared with (same budget)."""
    r = results.get(name, {})
    if name == "baseline":
        return r.get("at_ladder_budget", {}).get("test_accuracy")
    return r.get("test_accuracy")


def _intro(cfg: Config, ctx: RunContext, label: str, stand_in: bool, base_iters: int,
           ladder_iters: int) -> None:
    m = ctx.metrics
    if stand_in:
        ctx.md(f"**This run used STAND-IN DATA, not CIFAR-10.** Real CIFAR-10 did not resolve "
               f"(or `data=stand-in` was set), so {m['n_train']:,} training, {m['n_val']:,} "
               f"validation and {m['n_test']:,} test images "
               "of a synthetic 10-class set (colour × grating orientation × frequency, random "
               "phase, heavy noise) were generated from the seed, written in the official "
               "CIFAR-10 Python format and loaded through `cr.data.load('cifar10', ...)`. Its "
               "numbers test the code path and the relative effect of each change on this "
               "task; they say nothing about CIFAR-10 accuracy. Each attempt ran "
               f"{base_iters:,} iterations here instead of the {cfg.iterations:,} defined for "
               "real data, to fit in minutes on 2 CPU cores.")
        return
    copy = (" These are the real CIFAR-10 images, stored as JPEG (quality ≈ 75): pixels differ "
            "slightly from the official files, so accuracies are close to, not identical "
            "with, those on the official distribution." if "JPEG" in label else "")
    ladder = (f"every other attempt {ladder_iters:,} iterations (the 8-minute budget of "
              f"`make run`; `--set ladder_iterations={base_iters}` for the coursework's)"
              if ladder_iters < base_iters else f"every other attempt {ladder_iters:,} too")
    ctx.md(f"Data: **{label}** — {m['n_train']:,} training, {m['n_val']:,} validation and "
           f"{m['n_test']:,} test images.{copy} Batches of {cfg.batch_size}; the baseline "
           f"trained {base_iters:,} iterations, {ladder}.")


def _report_attempts(ctx: RunContext, label: str, results: dict, csvs: dict,
                     stand_in: bool) -> None:
    ctx.heading("Attempts")
    b0 = results["baseline"]
    base, steps0 = b0.get("test_accuracy"), b0.get("steps", 0)
    at = b0.get("at_ladder_budget", {})
    rows, bars = [], [{"attempt": f"baseline ({steps0:,} it)",
                       "test_accuracy": base if base is not None else 0.0}]
    if at and at["steps"] < steps0:
        bars.append({"attempt": f"baseline ({at['steps']:,} it)", "test_accuracy":
                     at["test_accuracy"]})
    for name, r in results.items():
        acc = r.get("test_accuracy")
        delta = f"{100 * r['gain']:+.2f}" if "gain" in r else ""
        rows.append([name, r["built_on"], r["change"], r["parameters"], r["steps"],
                     "—" if acc is None else pct(acc), delta, r["status"]])
        if name != "baseline":
            bars.append({"attempt": f"{name} ({r['steps']:,} it)",
                         "test_accuracy": acc if acc is not None else 0.0})
    budget = (f" Ladder attempts are compared at their budget: the baseline after "
              f"{at['steps']:,} of its iterations scored {pct(at['test_accuracy'])}."
              if at and at["steps"] < steps0 else "")
    ctx.table(rows, ["attempt", "built on", "change", "parameters", "steps", "test acc",
                     "Δ vs built on (points)", "status"],
              caption=f"{label}: every attempt, in the order run, each adding its change to the "
                      "best configuration so far ('built on'); 'diverged' and 'no gain' (not "
                      "better than what it was built on; dropped from the ladder) are "
                      f"failures.{budget}")
    bar_csv = ctx.save_rows(bars, "attempts")
    ctx.figure("attempts", plots_cnn.ablation_bars, bar_csv, x="attempt", y="test_accuracy",
               targets=() if stand_in else (COURSEWORK_BASELINE,), xlabel="test accuracy",
               title=f"Test accuracy per attempt — {label}", ylabel="attempt (iterations)",
               target_label="coursework's baseline", legend_outside=True,
               caption=f"{label}: test accuracy of every attempt after the iterations shown (a "
                       "diverged attempt shows 0)."
               + ("" if stand_in else " Dashed: the coursework's 48% for the baseline after "
                  "5,000 iterations."))
    if csvs:
        ctx.figure("curves", plots.training_curves, csvs, x="step",
                   title=f"Training (solid) and validation (dashed) — {label}",
                   caption=f"{label}: loss and accuracy against gradient steps for every "
                           "attempt that finished.")
    ctx.answer(reading(ctx, answer_claims(ctx), lead="On stand-in data, not CIFAR-10"
                       if stand_in else ""), figure="attempts")
    if stand_in and results.get("augment", {}).get("status") in ("no gain", "diverged"):
        ctx.md("On the stand-in data a horizontal flip changes the class — a grating at θ "
               "becomes one at 180° − θ (36° ↔ 144°, 72° ↔ 108°) — so flip augmentation "
               "teaches wrong labels there; on CIFAR-10 flips preserve the label.")
