"""tricks-of-the-trade — how much faster and better does the 64-unit network train with
LeCun's tricks?

Starts from softmax-regression's hidden network (flattened images standardised with the
training mean and std plus a constant-1 input, ``(D+1) → 64`` sigmoid ``→ C``, weights
U(-1, 1), shuffled mini-batch SGD at lr 0.1, validation every ``val_every`` steps, early
stopping after ``patience`` checks without a lower validation loss, best weights restored)
and adds, one at a time and cumulatively (from *Efficient BackProp*, LeCun et al. 1998):

1. **fan-in init** — weights N(0, 1/fan_in), i.e. std 1/√fan-in (output bias 0), so every
   pre-activation starts with unit variance instead of ~fan_in/3;
2. **improved sigmoid** — ``1.7159·tanh(2x/3)`` instead of the logistic sigmoid
   (zero-centred outputs, f(±1) = ±1);
3. **momentum** — μ = 0.9 with the learning rate reduced to 0.02 (PyTorch's convention
   ``v = μv + g; w −= lr·v``, so the long-run step is lr/(1 − μ) = 0.2·g).

Every stage sees the same training batches in the same order. What to look for in the two
figures: each stage's validation loss (dashed) should fall faster than the previous
stage's; the table gives the number of steps until the validation loss first drops to
``threshold``, the best validation loss/accuracy (the restored weights) and the
train–validation gap (over-fitting).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from ... import plots
from ..claims import Change, Compare, metric, reading
from ..context import RunContext
from ..registry import register
from ._common import (
    EarlyStoppingConfig,
    bias_trick_data,
    bias_trick_mlp,
    check_interval,
    fit_early_stopping,
    pct,
    two_se,
)


@dataclass
class Config(EarlyStoppingConfig):
    hidden: int = 64
    momentum: float = 0.9
    momentum_lr: float = 0.02   # learning rate of the momentum stage
    threshold: float = 0.4      # validation loss whose first crossing is counted in steps
    sensitivity: tuple[float, ...] = (0.5, 0.45, 0.4, 0.35, 0.3)   # other thresholds, reported


def stages(cfg: Config) -> list[tuple[str, dict[str, Any]]]:
    """The cumulative stages: (name, settings), each adding one trick to the previous."""
    s: dict[str, Any] = {"init": "uniform", "bias_init": "uniform", "activation": "sigmoid",
                         "lr": cfg.lr, "momentum": 0.0}
    out = [("baseline", dict(s))]
    s.update(init="fan_in_normal", bias_init="zeros")
    out.append(("+ fan-in init", dict(s)))
    s.update(activation="improved_sigmoid")
    out.append(("+ improved sigmoid", dict(s)))
    s.update(lr=cfg.momentum_lr, momentum=cfg.momentum)
    out.append(("+ momentum", dict(s)))
    return out


def steps_to(step_log: list[dict], threshold: float) -> int | None:
    """The step of the first validation check with ``val_loss <= threshold`` (None: never)."""
    return next((int(r["step"]) for r in step_log if r["val_loss"] <= threshold), None)


@register("tricks-of-the-trade", question="How much do fan-in init, LeCun's improved sigmoid "
          "and momentum speed up and improve the 64-unit network, added one at a time?",
          config=Config,
          quick={"n_train": 1000, "n_test": 500, "val_size": 300, "max_epochs": 5,
                 "val_every": 10, "threshold": 2.0, "sensitivity": (2.0, 1.0, 0.5)},
          runtime={"quick": "3 s", "full": "1 min 59 s",
                   "quick-5k": "4 s", "full-5k": "9 s"})   # measured on mnist-5k
def run(cfg: Config, ctx: RunContext) -> None:
    import chainrule as cr

    s, (xtr, xva, xte) = bias_trick_data(cfg, ctx)
    loader_seed = int(ctx.rng.integers(2**63))      # every stage: the same batches
    init_seed = int(ctx.rng.integers(2**63))        # and the same random stream for weights
    csvs, results = {}, {}
    for i, (name, st) in enumerate(stages(cfg)):
        ctx.log(f"training stage {name}")
        model = bias_trick_mlp(xtr.shape[1], (cfg.hidden,), s.num_classes,
                               activation=st["activation"], init=st["init"],
                               bias_init=st["bias_init"], rng=np.random.default_rng(init_seed))
        opt = cr.optim.SGD(model.parameters(), lr=st["lr"], momentum=st["momentum"])
        hist, res = fit_early_stopping(
            model, opt, cfg, (xtr, s.y_train), (xva, s.y_val), loader_seed=loader_seed,
            evaluate_on={"train": (xtr, s.y_train), "val": (xva, s.y_val),
                         "test": (xte, s.y_test)})
        csvs[name] = ctx.save_history(hist, f"history_stage{i}")
        res.update(st, steps_to_threshold=steps_to(hist.step_log, cfg.threshold),
                   steps_to={f"{t:g}": steps_to(hist.step_log, t) for t in cfg.sensitivity},
                   gap_accuracy=res["train_accuracy"] - res["val_accuracy"],
                   gap_loss=res["val_loss"] - res["train_loss"])
        results[name] = res
    ctx.metrics.update(stages=results, threshold=cfg.threshold, n_train=len(xtr),
                       n_val=len(xva), n_test=len(xte), val_every=check_interval(cfg, len(xtr)))
    first, last = results[next(iter(results))], results[list(results)[-1]]
    ctx.metrics["resolution"] = {"test_accuracy_two_se": two_se(
        first["test_accuracy"], len(xte), last["test_accuracy"], len(xte))}
    _report(cfg, ctx, csvs, results)


def _report(cfg: Config, ctx: RunContext, csvs: dict, results: dict) -> None:
    every = ctx.metrics["val_every"]
    ctx.heading("Curves")
    ctx.figure("loss", plots.metric_curves, csvs, metric="loss", ylabel="cross-entropy loss",
               logx=True,
               hline=cfg.threshold, hline_label=f"threshold {cfg.threshold:g}",
               title=f"Loss per stage: training (solid), validation every {every} steps (dashed)",
               caption="Training and validation loss against gradient steps, every stage "
                       "overlaid; the dotted line is the validation-loss threshold.")
    ctx.figure("accuracy", plots.metric_curves, csvs, metric="accuracy", ylabel="accuracy",
               logx=True,
               title=f"Accuracy per stage: training (solid), validation every {every} steps "
                     "(dashed)",
               caption="Training and validation accuracy against gradient steps.")
    ctx.heading("Numbers")
    rows = [[name, r["init"], r["activation"], f"{r['lr']:g}", f"{r['momentum']:g}",
             _steps(r["steps_to_threshold"]), r["best_step"], r["steps"], r["val_loss"],
             pct(r["val_accuracy"]), pct(r["test_accuracy"]),
             f"{100 * r['gap_accuracy']:.2f} pts", r["gap_loss"]]
            for name, r in results.items()]
    ctx.table(rows, ["stage", "init", "activation", "lr", "momentum",
                     f"steps to val loss ≤ {cfg.threshold:g}", "best step", "steps run",
                     "val loss", "val acc", "test acc", "train−val acc gap",
                     "val−train loss gap"],
              caption="Validation, training and test numbers use the restored best weights "
                      "(early stopping).")
    ctx.table([[name, *(_steps(r["steps_to"][f"{t:g}"]) for t in cfg.sensitivity)]
               for name, r in results.items()],
              ["stage", *(f"val loss ≤ {t:g}" for t in cfg.sensitivity)],
              caption="Sensitivity: gradient steps until the validation loss first reaches each "
                      f"value (checked every {every} steps, so counts are multiples of it).")
    ctx.answer(reading(ctx, reading_claims(ctx)), figure="loss")


def _steps(n: int | None) -> str:
    return f"{n:,}" if n is not None else "not reached"


def reading_claims(ctx: Any) -> list:
    """The reading: for each trick, whether it reached the validation-loss threshold in fewer
    steps than the stage before (a difference of one check interval or less is no measurable
    difference: both may have crossed anywhere inside it) and which way it moved the best
    validation loss; then all three against plain SGD (validation loss, and test accuracy
    beyond two standard errors)."""
    st, thr = ctx.metrics["stages"], ctx.metrics["threshold"]
    names = list(st)
    every = metric(ctx, "val_every")
    out: list = [
        Compare(f"gradient steps to validation loss ≤ {thr:g}", repr(new),
                metric(ctx, "stages", new, "steps_to_threshold"), repr(old),
                metric(ctx, "stages", old, "steps_to_threshold"), better="lower",
                resolution=every, resolution_note="one check interval", spec="int",
                none_is_worst=True, none_text="never")
        for old, new in itertools.pairwise(names)]
    out += [Change(repr(new), "the best validation loss", metric(ctx, "stages", old, "val_loss"),
                   metric(ctx, "stages", new, "val_loss"), better="lower")
            for old, new in itertools.pairwise(names)]
    first, last = names[0], names[-1]
    out += [Change("all three tricks together", "the best validation loss",
                   metric(ctx, "stages", first, "val_loss"),
                   metric(ctx, "stages", last, "val_loss"), better="lower"),
            Change("all three tricks together", "test accuracy",
                   metric(ctx, "stages", first, "test_accuracy"),
                   metric(ctx, "stages", last, "test_accuracy"), better="higher",
                   resolution=metric(ctx, "resolution", "test_accuracy_two_se"),
                   resolution_note="two standard errors", spec="pct")]
    return out
