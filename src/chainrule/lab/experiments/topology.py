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

from ... import plots
from ..context import RunContext
from ..registry import register
from ._common import (
    EarlyStoppingConfig,
    bias_trick_data,
    bias_trick_mlp,
    check_interval,
    fit_early_stopping,
    pct,
    reading,
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
          runtime={"quick": "3 s", "full": "2 min 3 s"})
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
    xg = xtr[: cfg.gradcheck_samples]
    rep = gradcheck(models[two], xg, max_checks=cfg.gradcheck_entries, eps=cfg.gradcheck_eps)
    ctx.metrics.update(
        networks=results, input_features=d_in, n_train=len(xtr), n_val=len(xva),
        n_test=len(xte), val_every=check_interval(cfg, len(xtr)), target_parameters=target,
        equal_width=h2, two_layer_parameters=results[two]["parameters"],
        two_layer_relative_difference=(results[two]["parameters"] - target) / target,
        gradcheck={"ok": bool(rep.ok), "max_rel": float(rep.max_rel),
                   "tensors": {r.name: float(r.max_rel) for r in rep.results}})
    _report(cfg, ctx, csvs, results, two, str(rep))


def _report(cfg: Config, ctx: RunContext, csvs: dict, results: dict, two: str,
            check: str) -> None:
    m = ctx.metrics
    every = m["val_every"]
    ctx.heading("Curves")
    for metric, ylabel in (("loss", "cross-entropy loss"), ("accuracy", "accuracy")):
        ctx.figure(metric, plots.metric_curves, csvs, metric=metric, ylabel=ylabel,
                   title=f"{ylabel.capitalize()}: training (solid), validation every {every} "
                         "steps (dashed)",
                   caption=f"Training and validation {metric} against gradient steps for "
                           "every topology.")
    ctx.heading("Numbers")
    rows = [[name, r["parameters"], r["steps"], r["best_step"], r["best_val_loss"],
             pct(r["val_accuracy"]), pct(r["train_accuracy"]), pct(r["test_accuracy"]),
             f"{100 * r['gap_accuracy']:.2f} pts"] for name, r in results.items()]
    ctx.table(rows, ["hidden layers", "parameters", "steps run", "best step", "best val loss",
                     "val acc", "train acc", "test acc", "train−val acc gap"],
              caption="Accuracies use the restored best weights (early stopping).")
    rel = m["two_layer_relative_difference"]
    h, d_in, ref = m["equal_width"], m["input_features"], cfg.reference
    ctx.md(f"**Equal budget.** The one-hidden-layer network with {ref} units has "
           f"**{m['target_parameters']:,}** parameters (counted from the model). Two equal "
           f"hidden layers of width h have ({d_in})·h + h² + h + h·C + C parameters; the "
           f"closest integer is **h = {h}**, giving **{m['two_layer_parameters']:,}** "
           f"({100 * rel:+.2f}% of the target).")
    ctx.md(reading(ctx, _reading(results, two, f"1×{ref}")))
    ctx.heading("Gradient check")
    g = m["gradcheck"]
    ctx.md(f"Backward pass of the {two.split(' ')[0]} network against float64 central "
           f"differences on {cfg.gradcheck_samples} training images "
           f"({cfg.gradcheck_entries} entries per tensor, ε = {cfg.gradcheck_eps:g}): largest "
           f"relative error **{g['max_rel']:.2e}** — "
           f"{'within' if g['ok'] else 'OUTSIDE'} the 1e-6 tolerance.")
    ctx.code(check)


def _reading(results: dict, two: str, ref: str) -> str:
    best = min(results, key=lambda n: results[n]["best_val_loss"])
    one = {n: r for n, r in results.items() if len(r["hidden"]) == 1}
    widths = sorted(one, key=lambda n: one[n]["hidden"][0])
    losses = [one[n]["best_val_loss"] for n in widths]
    steps = list(itertools.pairwise(losses))
    trend = ("falls steadily" if all(b < a for a, b in steps) else
             "rises steadily" if all(b > a for a, b in steps) else
             "does not change monotonically")
    listed = ", ".join(f"{n}: {one[n]['best_val_loss']:.4f}" for n in widths)
    a, b = results[ref]["best_val_loss"], results[two]["best_val_loss"]
    cmp = "lower" if b < a else "higher" if b > a else "the same"
    deep = next(n for n, r in results.items() if len(r["hidden"]) > 2)
    d = results[deep]
    return (f"**Reading.** Among the one-hidden-layer networks the best validation loss "
            f"{trend} with width ({listed}). "
            f"At the same budget, two layers ({two.split(' ')[0]}) reach a {cmp} best "
            f"validation loss than {ref}: {b:.4f} vs {a:.4f} (test accuracy "
            f"{pct(results[two]['test_accuracy'])} vs {pct(results[ref]['test_accuracy'])}). "
            f"The {deep} network reaches {d['best_val_loss']:.4f} (test accuracy "
            f"{pct(d['test_accuracy'])}) with {d['parameters']:,} parameters. The lowest "
            f"validation loss belongs to {best}.")
