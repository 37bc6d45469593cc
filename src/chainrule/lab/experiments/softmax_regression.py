"""softmax-regression — how far does one linear layer get, and what does a 64-unit hidden layer add?

Two models on flattened images, inputs normalised by the training set's mean and standard
deviation with a constant-1 input appended (the bias trick), weights drawn uniformly from
[-1, 1], plain mini-batch SGD with shuffling, validation every ``val_every`` gradient steps
and early stopping after ``patience`` validation checks without a lower validation loss
(the best weights are restored before testing):

* softmax regression: ``(D+1) → C`` linear map, softmax cross-entropy;
* one hidden layer: ``(D+1) → 64`` (sigmoid) ``→ C`` (the output layer's bias plays the
  role of the hidden layer's constant-1 unit).

What to look for in the figure: training and validation loss/accuracy against gradient
steps for both models; the gap between the training and validation curves (over-fitting)
and where early stopping ended each run. The report also gives the hidden network's
parameter count, read from the model, and a float64 central-difference check of its
backward pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ... import plots
from ..claims import Compare, Fact, metric, reading
from ..context import RunContext
from ..registry import register
from ._common import (
    EarlyStoppingConfig,
    add_bias,
    check_interval,
    fit_early_stopping,
    gradcheck_claims,
    gradcheck_metrics,
    load_splits,
    pct,
    standardize,
    two_se,
)


@dataclass
class Config(EarlyStoppingConfig):
    hidden: int = 64
    normalise: str = "global"   # training-set mean/std: "global" (scalars) or "per_feature"
    gradcheck_samples: int = 4
    gradcheck_entries: int = 100  # entries checked per tensor
    gradcheck_eps: float = 1e-5   # pre-activations reach tens here; 1e-6 is rounding-bound


def build(kind: str, d_in: int, cfg: Config, num_classes: int, rng: np.random.Generator):
    """``"softmax"`` or ``"hidden"``: Linear layers with weights U(-1, 1)."""
    import chainrule as cr

    if kind == "softmax":
        return cr.Sequential(cr.Linear(d_in, num_classes, bias=False, init="uniform", rng=rng))
    return cr.Sequential(
        cr.Linear(d_in, cfg.hidden, bias=False, init="uniform", rng=rng), cr.Sigmoid(),
        cr.Linear(cfg.hidden, num_classes, init="uniform", bias_init="uniform", rng=rng))


@register("softmax-regression", question="How far does single-layer softmax regression get, "
          "and what does one hidden layer of 64 sigmoid units add?", config=Config,
          quick={"n_train": 1000, "n_test": 1000, "max_epochs": 3, "val_every": 10, "val_size": 300,
                     "gradcheck_entries": 30},
          runtime={"quick": "2 s", "full": "1 min 0 s",
                   "quick-5k": "3 s", "full-5k": "6 s"})   # measured on mnist-5k
def run(cfg: Config, ctx: RunContext) -> None:
    import chainrule as cr
    from chainrule.gradcheck import gradcheck, gradcheck_loss

    s = load_splits(cfg.dataset, ctx, val_size=cfg.val_size, n_train=cfg.n_train or None,
                    n_test=cfg.n_test or None)
    xtr, xva, xte = (add_bias(a) for a in standardize(*s.flat(), mode=cfg.normalise))
    ctx.metrics.update(input_features=xtr.shape[1], n_train=len(xtr), n_val=len(xva),
                       n_test=len(xte), val_every=check_interval(cfg, len(xtr)))
    csvs, results, models = {}, {}, {}
    for kind, label in (("softmax", "softmax regression"), ("hidden", f"{cfg.hidden} sigmoid")):
        ctx.log(f"training {label}")
        model = build(kind, xtr.shape[1], cfg, s.num_classes, ctx.rng)
        opt = cr.optim.SGD(model.parameters(), lr=cfg.lr)
        hist, res = fit_early_stopping(
            model, opt, cfg, (xtr, s.y_train), (xva, s.y_val),
            loader_seed=int(ctx.rng.integers(2**31)),
            evaluate_on={"train": (xtr, s.y_train), "test": (xte, s.y_test)})
        csvs[label] = ctx.save_history(hist, f"history_{kind}")
        res["gap_accuracy"] = res["train_accuracy"] - res["test_accuracy"]
        results[kind], models[kind] = res, model
    ctx.metrics["models"] = results
    sm, hd = results["softmax"], results["hidden"]
    ctx.metrics["resolution"] = {"test_accuracy_two_se": two_se(
        sm["test_accuracy"], len(xte), hd["test_accuracy"], len(xte))}

    # Gradient check of the hidden network's backward pass (float64 central differences).
    model = models["hidden"]
    xg = xtr[: cfg.gradcheck_samples]
    rep = gradcheck(model, xg, max_checks=cfg.gradcheck_entries, eps=cfg.gradcheck_eps)
    # The loss is checked at an untrained network's logits: the trained one predicts these
    # images so confidently that ∂L/∂z ≈ p − y is ~1e-7, below what central differences of a
    # loss of size ~1 resolve in float64 (round-off ~1e-16·L/ε), so the check would test nothing.
    fresh = build("hidden", xtr.shape[1], cfg, s.num_classes, np.random.default_rng([ctx.seed, 1]))
    rep_loss = gradcheck_loss(cr.SoftmaxCrossEntropy(), fresh(xg).astype(np.float64),
                              s.y_train[: cfg.gradcheck_samples], eps=cfg.gradcheck_eps)
    ctx.metrics["gradcheck"] = {**gradcheck_metrics(rep, rep_loss),
                                "loss_max_rel": float(rep_loss.max_rel)}
    _write_report(cfg, ctx, csvs, results, str(rep) + "\n" + str(rep_loss), s.num_classes)


def _write_report(cfg: Config, ctx: RunContext, csvs: dict, results: dict, check: str,
                  num_classes: int) -> None:
    ctx.heading("Curves")
    ctx.figure("curves", plots.training_curves, csvs, x="step",
               title=f"Training (solid) and validation (dashed), validation every "
                     f"{ctx.metrics['val_every']} steps",
               caption="Loss and accuracy against gradient steps for both models.")
    ctx.heading("Numbers")
    rows = [[name, r["parameters"], r["steps"], r["best_step"], r["best_val_loss"],
             pct(r["best_val_accuracy"]), pct(r["train_accuracy"]), pct(r["test_accuracy"])]
            for name, r in (("softmax regression", results["softmax"]),
                            (f"hidden ({cfg.hidden} sigmoid)", results["hidden"]))]
    ctx.table(rows, ["model", "parameters", "steps", "best step", "best val loss",
                     "best val acc", "train acc", "test acc"],
              caption="Train and test accuracy use the restored best weights.")
    hd = results["hidden"]
    d_in = ctx.metrics["input_features"]
    ctx.md(f"The hidden-layer network has **{hd['parameters']:,}** trainable parameters, "
           f"counted from the model: ({d_in} inputs incl. the constant 1) × {cfg.hidden} "
           f"+ {cfg.hidden} × {num_classes} weights + {num_classes} output biases — the same "
           f"count as {d_in - 1}·{cfg.hidden} + {cfg.hidden} + {cfg.hidden}·{num_classes} + "
           f"{num_classes} with ordinary biases.")
    ctx.answer(reading(ctx, reading_claims(ctx)), figure="curves")
    ctx.heading("Gradient check")
    ctx.md(f"Backward pass of the hidden network against float64 central differences on "
           f"{cfg.gradcheck_samples} training images ({cfg.gradcheck_entries} entries per tensor, "
           f"ε = {cfg.gradcheck_eps:g}); the loss's own gradient is checked at an untrained "
           "network's logits.")
    ctx.md(reading(ctx, gradcheck_claims(ctx), label="Gradient check", exact=True))
    ctx.code(check)


def reading_claims(ctx: RunContext) -> list:
    """The reading: test accuracy and the train–test gap of the two models (a difference is
    clear only beyond two standard errors, ``metrics["resolution"]``), and where early
    stopping found each model's best weights."""
    res = metric(ctx, "resolution", "test_accuracy_two_se")
    note = "two standard errors"
    return [
        Compare("test accuracy", "the hidden network", metric(ctx, "models", "hidden",
                "test_accuracy"), "softmax regression", metric(ctx, "models", "softmax",
                "test_accuracy"), better="higher", resolution=res, resolution_note=note,
                spec="pct"),
        Compare("the train−test accuracy gap", "the hidden network",
                metric(ctx, "models", "hidden", "gap_accuracy"), "softmax regression",
                metric(ctx, "models", "softmax", "gap_accuracy"), better="lower",
                resolution=res, resolution_note=note, spec="pct"),
        Fact("the lowest validation loss came at step {0:,} of {1:,} for softmax regression "
             "and at step {2:,} of {3:,} for the hidden network",
             tuple(metric(ctx, "models", k, f) for k in ("softmax", "hidden")
                   for f in ("best_step", "steps"))),
    ]

