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
from ..context import RunContext
from ..registry import register
from ._common import add_bias, load_splits, pct, standardize


@dataclass
class Config:
    dataset: str = "mnist"
    hidden: int = 64
    normalise: str = "global"   # training-set mean/std: "global" (scalars) or "per_feature"
    lr: float = 0.1
    batch_size: int = 32
    max_epochs: int = 50
    val_every: int = 0          # gradient steps between validation checks; 0 = a fifth of an epoch
    patience: int = 50          # validation checks without improvement before stopping
    val_size: int = 500
    n_train: int = 0            # 0 = all training images
    n_test: int = 0             # 0 = the whole test set
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
          runtime={"quick": "2 s", "full": "9 s"})
def run(cfg: Config, ctx: RunContext) -> None:
    import chainrule as cr
    from chainrule.data import DataLoader
    from chainrule.gradcheck import gradcheck, gradcheck_loss
    from chainrule.train import EarlyStopping, evaluate, fit

    s = load_splits(cfg.dataset, ctx, val_size=cfg.val_size, n_train=cfg.n_train or None,
                    n_test=cfg.n_test or None)
    xtr, xva, xte = (add_bias(a) for a in standardize(*s.flat(), mode=cfg.normalise))
    steps_per_epoch = -(-len(xtr) // cfg.batch_size)
    val_every = cfg.val_every or max(1, steps_per_epoch // 5)
    ctx.metrics.update(input_features=xtr.shape[1], n_train=len(xtr), n_val=len(xva), n_test=len(xte), val_every=val_every)
    loss = cr.SoftmaxCrossEntropy()
    csvs, results, models = {}, {}, {}
    for kind, label in (("softmax", "softmax regression"), ("hidden", f"{cfg.hidden} sigmoid")):
        ctx.log(f"training {label}")
        model = build(kind, xtr.shape[1], cfg, s.num_classes, ctx.rng)
        opt = cr.optim.SGD(model.parameters(), lr=cfg.lr)
        train = DataLoader(xtr, s.y_train, cfg.batch_size, shuffle=True, rng=ctx.rng)
        val = DataLoader(xva, s.y_val, 512, shuffle=False)
        stop = EarlyStopping(monitor="val_loss", patience=cfg.patience, restore_best=True)
        hist = fit(model, loss, opt, train, val, epochs=cfg.max_epochs, callbacks=[stop],
                   val_every=val_every)
        csvs[label] = ctx.save_history(hist, f"history_{kind}")
        checks = {r["step"]: r for r in hist.step_log}
        best = checks[stop.best_step]
        res = {"parameters": model.num_parameters(), "steps": int(hist.epoch_log[-1]["step"]),
               "stopped_early": stop.stopped_step is not None, "best_step": int(stop.best_step),
               "best_val_loss": float(best["val_loss"]),
               "best_val_accuracy": float(best["val_accuracy"]), "checks": len(hist.step_log)}
        for split, x, y in (("train", xtr, s.y_train), ("test", xte, s.y_test)):
            ev = evaluate(model, loss, DataLoader(x, y, 512, shuffle=False))
            res[f"{split}_loss"], res[f"{split}_accuracy"] = float(ev["loss"]), float(ev["accuracy"])
        results[kind], models[kind] = res, model
    ctx.metrics["models"] = results

    # Gradient check of the hidden network's backward pass (float64 central differences).
    model = models["hidden"]
    xg = xtr[: cfg.gradcheck_samples]
    rep = gradcheck(model, xg, max_checks=cfg.gradcheck_entries, eps=cfg.gradcheck_eps)
    rep_loss = gradcheck_loss(cr.SoftmaxCrossEntropy(), model(xg).astype(np.float64),
                              s.y_train[: cfg.gradcheck_samples], eps=cfg.gradcheck_eps)
    ctx.metrics["gradcheck"] = {"ok": bool(rep.ok and rep_loss.ok), "max_rel": float(rep.max_rel),
                                "loss_max_rel": float(rep_loss.max_rel),
                                "tensors": {r.name: float(r.max_rel) for r in rep.results}}
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
    sm, hd = results["softmax"], results["hidden"]
    d_in = ctx.metrics["input_features"]
    ctx.md(f"The hidden-layer network has **{hd['parameters']:,}** trainable parameters, "
           f"counted from the model: ({d_in} inputs incl. the constant 1) × {cfg.hidden} "
           f"+ {cfg.hidden} × {num_classes} weights + {num_classes} output biases — the same "
           f"count as {d_in - 1}·{cfg.hidden} + {cfg.hidden} + {cfg.hidden}·{num_classes} + "
           f"{num_classes} with ordinary biases.")
    gain = hd["test_accuracy"] - sm["test_accuracy"]
    better = "raises" if gain > 0 else "does not raise"
    gaps = {k: r["train_accuracy"] - r["test_accuracy"] for k, r in results.items()}
    stops = [f"{name} {'stopped early' if r['stopped_early'] else 'ran all epochs'} after "
             f"{r['steps']:,} steps (best validation loss at step {r['best_step']:,})"
             for name, r in (("softmax regression", sm), ("the hidden network", hd))]
    ctx.md(f"**Reading.** The hidden layer {better} test accuracy: {pct(sm['test_accuracy'])} "
           f"→ {pct(hd['test_accuracy'])} ({100 * gain:+.2f} points). The train–test gap is "
           f"{100 * gaps['softmax']:.2f} points for softmax regression and "
           f"{100 * gaps['hidden']:.2f} for the hidden network"
           f"{' — the larger model over-fits more' if gaps['hidden'] > gaps['softmax'] else ''}. "
           f"{'; '.join(stops)}.")
    ctx.heading("Gradient check")
    g = ctx.metrics["gradcheck"]
    ctx.md(f"Backward pass of the hidden network against float64 central differences on "
           f"{cfg.gradcheck_samples} training images ({cfg.gradcheck_entries} entries per tensor, "
           f"ε = {cfg.gradcheck_eps:g}): "
           f"largest relative error **{g['max_rel']:.2e}** (loss: {g['loss_max_rel']:.2e}) — "
           f"{'within' if g['ok'] else 'OUTSIDE'} the 1e-6 tolerance.")
    ctx.code(check)
