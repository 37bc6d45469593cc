"""inference-only — is a trained network anything more than a few arrays and a formula?

Trains the 784-100-50-10 network (sigmoid, then ReLU hidden units) with the library's
``fit``, exports its weights to a plain ``.npz`` of named arrays (``W1, b1, W2, b2, W3, b3``
plus the activation names), and evaluates train and test accuracy with a forward pass
written only from matrix products and elementwise NumPy functions — no Module objects,
just the file. The accuracies must equal those of the library's ``evaluate``.

What to look for: the accuracies table (library vs plain forward, identical), the
largest logit difference between the two (rounding only), the training curves, and the
per-class test accuracy of the plain forward pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ... import plots
from ..claims import Fact, Threshold, Tolerance, metric, reading
from ..context import RunContext
from ..registry import register
from ._common import load_splits, pct

ACT = {"sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)), "tanh": np.tanh,
       "relu": lambda z: np.maximum(z, 0.0), "identity": lambda z: z}


@dataclass
class Config:
    dataset: str = "mnist"
    hidden: tuple[int, ...] = (100, 50)
    activations: tuple[str, ...] = ("sigmoid", "relu")
    epochs: int = 10
    batch_size: int = 32
    lr: float = 0.1
    val_size: int = 500
    n_train: int = 0   # 0 = all training images
    n_test: int = 0    # 0 = the whole test set


def export_npz(model, activations: tuple[str, ...], path: Path) -> list[str]:
    """Write every Linear's weight and bias as ``W1, b1, …`` plus ``activations``; return names."""
    from chainrule.layers.linear import Linear

    arrays: dict[str, np.ndarray] = {}
    for i, lin in enumerate((m for m in model.modules() if isinstance(m, Linear)), start=1):
        arrays[f"W{i}"] = lin.weight.data
        arrays[f"b{i}"] = lin.bias.data
    arrays["activations"] = np.array(list(activations))  # a unicode array: no pickle needed
    np.savez(path, **arrays)
    return sorted(arrays)


def plain_forward(weights: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """Logits from the exported arrays: h ← f(h·W + b) per hidden layer, then h·W + b."""
    acts = [str(a) for a in weights["activations"]]
    h = x.reshape(len(x), -1).astype(np.float64)
    n_layers = len(acts) + 1
    for i in range(1, n_layers + 1):
        h = h @ weights[f"W{i}"].astype(np.float64) + weights[f"b{i}"].astype(np.float64)
        if i < n_layers:
            h = ACT[acts[i - 1]](h)
    return h


@register("inference-only", question="Can the trained 784-100-50-10 network be evaluated from "
          "an exported .npz with nothing but matrix products and elementwise functions?",
          config=Config, quick={"epochs": 3, "n_train": 2000, "n_test": 2000, "val_size": 300},
          runtime={"quick": "4 s", "full": "17 s",
                   "quick-5k": "3 s", "full-5k": "4 s"})   # measured on mnist-5k
def run(cfg: Config, ctx: RunContext) -> None:
    import chainrule as cr
    from chainrule.data import DataLoader
    from chainrule.models import MLP
    from chainrule.train import evaluate, fit

    s = load_splits(cfg.dataset, ctx, val_size=cfg.val_size, n_train=cfg.n_train or None,
                    n_test=cfg.n_test or None)
    xtr, xva, xte = s.flat()
    model = MLP(xtr.shape[1], cfg.hidden, cfg.activations, s.num_classes, rng=ctx.rng)
    loss = cr.SoftmaxCrossEntropy()
    opt = cr.optim.SGD(model.parameters(), lr=cfg.lr)
    hist = fit(model, loss, opt, DataLoader(xtr, s.y_train, cfg.batch_size, rng=ctx.rng),
               DataLoader(xva, s.y_val, 512, shuffle=False), epochs=cfg.epochs)
    hist_csv = ctx.save_history(hist, "history")

    path = ctx.path("weights.npz")
    names = export_npz(model, cfg.activations, path)
    with np.load(path, allow_pickle=False) as f:
        weights = {k: f[k] for k in f.files}
    rows, results = [], {}
    for split, x, y in (("train", xtr, s.y_train), ("test", xte, s.y_test)):
        lib = evaluate(model, loss, DataLoader(x, y, 512, shuffle=False))
        logits = plain_forward(weights, x)
        pred = logits.argmax(axis=1)
        lib_logits = cr.Sequential(*model)(x).astype(np.float64)
        results[split] = {
            "library_accuracy": float(lib["accuracy"]), "library_loss": float(lib["loss"]),
            "plain_accuracy": float((pred == y).mean()), "n": len(y),
            "prediction_disagreements": int((pred != lib_logits.argmax(axis=1)).sum()),
            "max_abs_logit_difference": float(np.abs(logits - lib_logits).max())}
        if split == "test":
            for c in range(s.num_classes):
                m = y == c
                rows.append({"class": s.classes[c], "accuracy": float((pred[m] == c).mean())})
    ctx.metrics.update(results, exported_arrays=names,
                       exported_shapes={k: list(v.shape) for k, v in weights.items()},
                       parameters=model.num_parameters(),
                       accuracies_equal=all(r["library_accuracy"] == r["plain_accuracy"]
                                            for r in results.values()))
    class_csv = ctx.save_rows(rows, "per_class_test_accuracy")
    _report(cfg, ctx, hist_csv, class_csv, results)


def _report(cfg: Config, ctx: RunContext, hist_csv: Path, class_csv: Path, res: dict) -> None:
    arch = "-".join(str(v) for v in (ctx.metrics["exported_shapes"]["W1"][0], *cfg.hidden, 10))
    ctx.heading("Training")
    ctx.figure("curves", plots.training_curves, {arch: hist_csv}, x="epoch",
               title=f"{arch} network ({', '.join(cfg.activations)})",
               caption="Training and validation loss and accuracy per epoch.")
    ctx.heading("Plain forward pass from the .npz")
    shapes = ctx.metrics["exported_shapes"]
    ctx.md("Exported arrays: " + ", ".join(f"`{k}` {tuple(v)}" for k, v in shapes.items())
           + f" — {ctx.metrics['parameters']:,} parameters.")
    ctx.code("h = x\nfor i in 1..L-1:  h = f_i(h @ W_i + b_i)     # f = sigmoid, relu, ...\n"
             "logits = h @ W_L + b_L;  prediction = argmax(logits)")
    ctx.table([[split, pct(r["library_accuracy"]), pct(r["plain_accuracy"]),
                r["prediction_disagreements"], r["max_abs_logit_difference"], r["n"]]
               for split, r in res.items()],
              ["split", "evaluate()", "plain forward", "disagreements", "max |Δ logit|", "images"])
    ctx.figure("per_class", plots.bars, class_csv, x="class", y="accuracy", ylim=(0.0, 1.0),
               xlabel="class", ylabel="test accuracy", series_label="plain forward pass",
               title="Per-class test accuracy of the plain forward pass",
               caption="Per-class test accuracy computed from the exported arrays alone.")
    ctx.answer(reading(ctx, reading_claims(ctx), lead="Nothing beyond the arrays and the "
                       "activation names is needed to run the model", exact=True),
               figure="per_class")


LOGIT_TOL = 1e-4   # float32 (library) against float64 (plain) logits of size ~10: rounding only


def reading_claims(ctx: Any) -> list:
    """Exact parity: per split, the plain forward pass's accuracy against ``evaluate``'s (the
    test: exactly equal) and the largest logit difference (at most ``LOGIT_TOL``)."""
    out: list = [Fact("the plain forward pass gives {0:.2%} train and {1:.2%} test accuracy",
                      (metric(ctx, "train", "plain_accuracy"),
                       metric(ctx, "test", "plain_accuracy")))]
    for split in ("train", "test"):
        out += [Tolerance(f"{split} accuracy", "plain", metric(ctx, split, "plain_accuracy"),
                          "evaluate()", metric(ctx, split, "library_accuracy")),
                Threshold(f"the largest {split} logit difference", metric(
                    ctx, split, "max_abs_logit_difference"), LOGIT_TOL, op="<=",
                    bar_note="float32 rounding", spec=".1e")]
    return out
