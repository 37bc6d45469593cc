"""topology — does the 64-unit network gain more from width or from depth at a fixed budget?

Networks on the coursework's set-up (flattened images standardised with the training mean
and std plus a constant-1 input, shuffled mini-batch SGD, validation every ``val_every``
steps, early stopping after ``patience`` checks without a lower validation loss, best
weights restored), by default with every trick of tricks-of-the-trade (fan-in normal
init, ``1.7159·tanh(2x/3)``, momentum 0.9 at lr 0.02), differing only in their hidden
layers:

* one hidden layer of 32, 64 and 128 units;
* two equal hidden layers whose width h is chosen by the code so that the parameter count
  ``(D+1)·h + h² + h + h·C + C`` comes as close as possible to the 64-unit network's
  ``(D+1)·64 + 64·C + C`` (the integer h next to the root of the quadratic, both checked);
* ten hidden layers of 64 units.

What to look for in the figures: training (solid) and validation (dashed) loss and
accuracy against gradient steps; whether a wider layer or a second layer of the same
budget lowers the validation loss, and whether the ten-layer network trains as well. The
table gives parameter counts (read from the models) and results; the two-hidden-layer
network's backward pass is checked against float64 central differences.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

from ... import plots
from ..claims import Change, Compare, Fact, metric, reading
from ..context import RunContext
from ..registry import register
from ._common import (
    EarlyStoppingConfig,
    bias_trick_data,
    bias_trick_mlp,
    check_interval,
    fit_early_stopping,
    gradcheck_claims,
    gradcheck_metrics,
    pct,
    two_se,
)


@dataclass
class Config(EarlyStoppingConfig):
    lr: float = 0.02
    momentum: float = 0.9
    activation: str = "improved_sigmoid"
    init: str = "fan_in_normal"
    widths: tuple[int, ...] = (32, 64, 128)     # one-hidden-layer networks
    reference: int = 64                         # the two-layer net matches this one's budget
    deep_layers: int = 10
    deep_width: int = 64
    gradcheck_samples: int = 4
    gradcheck_entries: int = 100                # entries checked per tensor
    gradcheck_eps: float = 1e-5


def param_count(d_in: int, hidden: tuple[int, ...], num_classes: int) -> int:
    """Parameters of ``bias_trick_mlp``: no bias on the first layer, biases on the others."""
    sizes = (d_in, *hidden, num_classes)
    return sum(a * b for a, b in itertools.pairwise(sizes)) + sum(sizes[2:])


def equal_width(d_in: int, num_classes: int, target: int) -> int:
    """Width h of two equal hidden layers whose parameter count is closest to ``target``.

    Solves ``h² + (d_in + C + 1)·h + C = target`` and compares the integers either side.
    """
    b = d_in + num_classes + 1
    root = (-b + math.sqrt(b * b + 4 * (target - num_classes))) / 2
    cands = {max(1, math.floor(root)), max(1, math.ceil(root))}
    return min(sorted(cands), key=lambda h: abs(param_count(d_in, (h, h), num_classes) - target))


@register("topology", question="At a fixed parameter budget, is one wide hidden layer better "
          "than two narrower ones, and does a ten-layer network train as well?", config=Config,
          quick={"n_train": 1000, "n_test": 500, "val_size": 300, "max_epochs": 3,
                 "val_every": 10, "gradcheck_entries": 20},
          runtime={"quick": "3 s", "full": "2 min 20 s",
                   "quick-5k": "3 s", "full-5k": "9 s"})   # measured on mnist-5k
def run(cfg: Config, ctx: RunContext) -> None:
    import chainrule as cr
    from chainrule.gradcheck import gradcheck

    s, (xtr, xva, xte) = bias_trick_data(cfg, ctx)
    d_in, classes = xtr.shape[1], s.num_classes
    target = param_count(d_in, (cfg.reference,), classes)
    h2 = equal_width(d_in, classes, target)
    nets = {f"1×{w}": (w,) for w in sorted({*cfg.widths, cfg.reference})}
    nets[f"2×{h2} (≈ 1×{cfg.reference} parameters)"] = (h2, h2)
    nets[f"{cfg.deep_layers}×{cfg.deep_width}"] = (cfg.deep_width,) * cfg.deep_layers
    loader_seed = int(ctx.rng.integers(2**63))      # every network: the same batches
    csvs, results, models = {}, {}, {}
    for i, (name, hidden) in enumerate(nets.items()):
        ctx.log(f"training {name}")
        model = bias_trick_mlp(d_in, hidden, classes, activation=cfg.activation, init=cfg.init,
                               bias_init="zeros", rng=ctx.rng)
        opt = cr.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum)
        hist, res = fit_early_stopping(
            model, opt, cfg, (xtr, s.y_train), (xva, s.y_val), loader_seed=loader_seed,
            evaluate_on={"train": (xtr, s.y_train), "val": (xva, s.y_val),
                         "test": (xte, s.y_test)})
        csvs[name] = ctx.save_history(hist, f"history_net{i}")
        res.update(hidden=list(hidden), formula_parameters=param_count(d_in, hidden, classes),
                   gap_accuracy=res["train_accuracy"] - res["val_accuracy"])
        results[name], models[name] = res, model
    two = next(n for n, h in nets.items() if h == (h2, h2))
    deep, ref = next(n for n, h in nets.items() if len(h) > 2), f"1×{cfg.reference}"
    xg = xtr[: cfg.gradcheck_samples]
    rep = gradcheck(models[two], xg, max_checks=cfg.gradcheck_entries, eps=cfg.gradcheck_eps)
    ctx.metrics.update(
        networks=results, input_features=d_in, n_train=len(xtr), n_val=len(xva),
        n_test=len(xte), val_every=check_interval(cfg, len(xtr)), target_parameters=target,
        equal_width=h2, two_layer_parameters=results[two]["parameters"],
        two_layer_relative_difference=(results[two]["parameters"] - target) / target,
        gradcheck=gradcheck_metrics(rep), names={"two_layer": two, "deep": deep,
                                                "reference": ref},
        resolution={"test_accuracy_two_se": {
            n: two_se(results[n]["test_accuracy"], len(xte), results[ref]["test_accuracy"],
                      len(xte)) for n in (two, deep)}})
    _report(cfg, ctx, csvs, results, two, str(rep))


def _report(cfg: Config, ctx: RunContext, csvs: dict, results: dict, two: str,
            check: str) -> None:
    m = ctx.metrics
    every = m["val_every"]
    ctx.heading("Curves")
    for name, ylabel in (("loss", "cross-entropy loss"), ("accuracy", "accuracy")):
        ctx.figure(name, plots.metric_curves, csvs, metric=name, ylabel=ylabel,
                   title=f"{ylabel.capitalize()}: training (solid), validation every {every} "
                         "steps (dashed)",
                   caption=f"Training and validation {name} against gradient steps for "
                           "every topology.")
    ctx.heading("Numbers")
    rows = [[name, r["parameters"], r["steps"], r["best_step"], r["best_val_loss"],
             pct(r["val_accuracy"]), pct(r["train_accuracy"]), pct(r["test_accuracy"]),
             f"{100 * r['gap_accuracy']:.2f} pts"] for name, r in results.items()]
    ctx.table(rows, ["hidden layers", "parameters", "steps run", "best step", "best val loss",
                     "val acc", "train acc", "test acc", "train−val acc gap"],
              caption="Accuracies use the restored best weights (early stopping).")
    ctx.md(reading(ctx, budget_claims(ctx), label="Equal budget", exact=True))
    ctx.answer(reading(ctx, reading_claims(ctx)), figure="loss")
    ctx.heading("Gradient check")
    ctx.md(f"Backward pass of the {two.split(' ')[0]} network against float64 central "
           f"differences on {cfg.gradcheck_samples} training images "
           f"({cfg.gradcheck_entries} entries per tensor, ε = {cfg.gradcheck_eps:g}).")
    ctx.md(reading(ctx, gradcheck_claims(ctx), label="Gradient check", exact=True))
    ctx.code(check)


def budget_claims(ctx: Any) -> list:
    """The equal-budget arithmetic, counted from the models."""
    return [Fact("the one-hidden-layer network {0} has {1:,} parameters (counted from "
                 "the model); two equal hidden layers of width h have {5}·h + h² + h + h·C + C "
                 "(the {5} inputs include the constant 1), and the closest integer, h = {2}, "
                 "gives {3:,} ({4:+.2%} of the target)",
                 (metric(ctx, "names", "reference"), metric(ctx, "target_parameters"),
                  metric(ctx, "equal_width"), metric(ctx, "two_layer_parameters"),
                  metric(ctx, "two_layer_relative_difference"),
                  metric(ctx, "input_features")))]


def reading_claims(ctx: Any) -> list:
    """The reading: how the best validation loss changes with width (one hidden layer); the
    two-layer network and the deep one against the one-layer reference of the same budget
    (test accuracy, clear only beyond two standard errors; best validation loss)."""
    m = ctx.metrics
    nets, ref = m["networks"], m["names"]["reference"]
    one = sorted((n for n, r in nets.items() if len(r["hidden"]) == 1),
                 key=lambda n: nets[n]["hidden"][0])
    out: list = [Change(f"widening {a} → {b}", "the best validation loss",
                        metric(ctx, "networks", a, "best_val_loss"),
                        metric(ctx, "networks", b, "best_val_loss"), better="lower")
                 for a, b in itertools.pairwise(one)]
    for key in ("two_layer", "deep"):
        other = m["names"][key]
        short = other.split(" ")[0]
        out += [Compare("test accuracy", short, metric(ctx, "networks", other, "test_accuracy"),
                        ref, metric(ctx, "networks", ref, "test_accuracy"), better="higher",
                        resolution=metric(ctx, "resolution", "test_accuracy_two_se", other),
                        resolution_note="two standard errors", spec="pct"),
                Compare("the best validation loss", short,
                        metric(ctx, "networks", other, "best_val_loss"), ref,
                        metric(ctx, "networks", ref, "best_val_loss"), better="lower")]
    return out
