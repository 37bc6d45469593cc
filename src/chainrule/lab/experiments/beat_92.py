"""beat-92 — which techniques lift a plain sigmoid MLP past 92% on Fashion-MNIST, and by how much?

A cumulative ablation on Fashion-MNIST's validation split (held out of the training set).
Every stage adds one technique to the one before and is trained from the same seed (same
initial-weight stream, same batch order), so the difference between consecutive rows is
that technique's measured contribution:

1. ``baseline`` — flatten → 128 sigmoid → 128 sigmoid → softmax, PyTorch-default init
   (U(±1/√fan_in)), plain SGD, batch 128;
2. ``+ dropout`` — dropout after each hidden layer;
3. ``+ batch norm`` — BatchNorm1d between each linear layer and its activation;
4. ``+ ReLU, He init`` — ReLU units with He-normal weights (N(0, 2/fan_in));
5. ``+ Adam`` — Adam instead of plain SGD;
6. ``+ cosine schedule`` — cosine learning-rate decay over the epochs;
7. ``+ conv layers`` — two conv 3×3 → batch norm → ReLU → max-pool 2 blocks in front of the
   same 128-unit head (with everything above);
8. ``+ random shifts`` — training images shifted by up to ``max_shift`` pixels each batch.

Compute budget (2 CPU cores): the MLP stages (1–6) train on a ``n_train_mlp``-image subset
for ``mlp_epochs`` epochs; the convolutional stages (7–8) and a bridge run of stage 6 train on
the full training split for ``cnn_epochs`` epochs, so stage 7 is compared with the bridge,
not with stage 6. The report says what was run. The final model is the stage with the
highest validation accuracy (model selection on validation only); it alone is evaluated on the
test set.

What to look for: the ablation bar chart (which step adds the most — usually the move to
adaptive/normalised training and the conv layers; dropout alone can cost accuracy in a short
run), the validation curves of every stage, and the checks that each technique does what it
claims (dropout only in training, batch norm's running statistics used in evaluation, He
weights' spread, Adam's moment buffers, the learning rate falling, shifted images).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ... import plots, plots_cnn
from ..context import RunContext
from ..registry import register
from ._beat_92_checks import technique_checks
from ._common import load_splits, pct

STAGES = ("baseline", "+ dropout", "+ batch norm", "+ ReLU, He init", "+ Adam",
          "+ cosine schedule", "+ conv layers", "+ random shifts")
BRIDGE = "+ cosine schedule (full data)"


@dataclass
class Config:
    dataset: str = "fashion-mnist"
    hidden: int = 128
    batch_size: int = 128
    sgd_lr: float = 0.1
    adam_lr: float = 2e-3
    dropout: float = 0.2
    channels: tuple[int, ...] = (16, 32)
    max_shift: int = 1
    mlp_epochs: int = 20
    n_train_mlp: int = 10000     # MLP stages train on this many images (0 = all)
    cnn_epochs: int = 8
    n_train: int = 0             # conv stages (and the bridge): 0 = the whole training split
    val_size: int = 6000
    n_test: int = 0              # 0 = the whole test set
    bridge: bool = True          # also train stage 6 on the conv stages' data and epochs


def flags(stage: int) -> dict[str, bool]:
    """Which techniques are on at ``stage`` (0-based index into ``STAGES``)."""
    names = ("dropout", "batchnorm", "relu", "adam", "schedule", "conv", "augment")
    return {n: stage >= i + 1 for i, n in enumerate(names)}


def build(f: dict[str, bool], cfg: Config, in_shape: tuple[int, ...], num_classes: int,
          rng: np.random.Generator):
    """The stage's model.

    [conv blocks →] flatten → 2 × (linear [→ BN] → act [→ dropout]) → linear.
    """
    import chainrule as cr

    init = "he_normal" if f["relu"] else "fan_in_uniform"
    layers, c, h, w = [], *in_shape
    if f["conv"]:
        for i, out_c in enumerate(cfg.channels):
            layers += [cr.Conv2d(c, out_c, 3, padding=1, bias=False, init=init,
                                 input_grad=i > 0, rng=rng),
                       cr.BatchNorm2d(out_c), cr.ReLU(), cr.MaxPool2d(2)]
            c, h, w = out_c, h // 2, w // 2
    layers.append(cr.Flatten())
    d = c * h * w
    for _ in range(2):
        layers.append(cr.Linear(d, cfg.hidden, bias=not f["batchnorm"], init=init, rng=rng))
        if f["batchnorm"]:
            layers.append(cr.BatchNorm1d(cfg.hidden))
        layers.append(cr.ReLU() if f["relu"] else cr.Sigmoid())
        if f["dropout"]:
            layers.append(cr.Dropout(cfg.dropout, rng=rng))
        d = cfg.hidden
    layers.append(cr.Linear(d, num_classes, init=init, rng=rng))
    return cr.Sequential(*layers)


def train_stage(name: str, f: dict[str, bool], cfg: Config, ctx: RunContext, data: tuple,
                epochs: int, tag: str) -> tuple:
    """Build and train one stage from the run's seed; return (model, optimizer, loader, row)."""
    import chainrule as cr
    from chainrule.data import DataLoader, transforms
    from chainrule.train import LearningRateScheduler, fit

    xtr, ytr, xva, yva, classes = data
    rng = np.random.default_rng([ctx.seed, 92])       # the same stream for every stage
    model = build(f, cfg, tuple(xtr.shape[1:]), len(classes), rng)
    opt = (cr.optim.Adam(model.parameters(), lr=cfg.adam_lr) if f["adam"]
           else cr.optim.SGD(model.parameters(), lr=cfg.sgd_lr))
    cbs = [LearningRateScheduler(cr.optim.CosineDecay(epochs))] if f["schedule"] else []
    # Shifted-in pixels get the background value (a raw 0 after normalisation), not 0.0.
    shift = (functools.partial(transforms.random_shift, max_shift=cfg.max_shift,
                               fill=float(xtr.min())) if f["augment"] else None)
    loader = DataLoader(xtr, ytr, cfg.batch_size, rng=np.random.default_rng([ctx.seed, 7]),
                        transform=shift)
    ctx.log(f"stage {name}: {epochs} epochs on {len(xtr):,} images")
    hist = fit(model, cr.SoftmaxCrossEntropy(), opt, loader,
               DataLoader(xva, yva, 1000, shuffle=False), epochs=epochs, callbacks=cbs)
    csv = ctx.save_history(hist, f"history_{tag}")
    last = hist.epoch_log[-1]
    row = {"stage": name, "val_accuracy": float(last["val_accuracy"]),
           "val_loss": float(last["val_loss"]), "train_accuracy": float(last["accuracy"]),
           "best_val_accuracy": float(max(r["val_accuracy"] for r in hist.epoch_log)),
           "epochs": epochs, "n_train": len(xtr), "parameters": model.num_parameters(),
           "macs": int(model.summary(tuple(xtr.shape[1:])).total_macs),
           "lr_first": float(hist.epoch_log[0]["lr"]), "lr_last": float(last["lr"])}
    return model, opt, loader, row, csv


@register("beat-92", question="Which techniques take a plain sigmoid MLP past 92% validation "
          "accuracy on Fashion-MNIST, and what does each contribute?", config=Config,
          quick={"n_train_mlp": 600, "n_train": 600, "val_size": 300, "n_test": 300,
                 "mlp_epochs": 2, "cnn_epochs": 1, "channels": (4, 8), "hidden": 32,
                 "batch_size": 64},
          runtime={"quick": "2 s", "full": "5 min"})
def run(cfg: Config, ctx: RunContext) -> None:
    import chainrule as cr
    from chainrule.train import evaluate

    s = load_splits(cfg.dataset, ctx, val_size=cfg.val_size, n_train=cfg.n_train or None,
                    n_test=cfg.n_test or None)
    mean, std = float(s.x_train.mean()), float(s.x_train.std())
    xtr, xva, xte = ((a - mean) / std for a in (s.x_train, s.x_val, s.x_test))
    n_mlp = min(cfg.n_train_mlp or len(xtr), len(xtr))
    sub = np.sort(np.random.default_rng([ctx.seed, 5]).permutation(len(xtr))[:n_mlp])
    mlp_data = (xtr[sub], s.y_train[sub], xva, s.y_val, s.classes)
    full_data = (xtr, s.y_train, xva, s.y_val, s.classes)
    rows, curves, trained = [], {}, {}
    plan = [(i, name, mlp_data, cfg.mlp_epochs, f"stage{i}") for i, name in
            enumerate(STAGES) if not flags(i)["conv"]]
    if cfg.bridge:
        plan.append((5, BRIDGE, full_data, cfg.cnn_epochs, "bridge"))
    plan += [(i, name, full_data, cfg.cnn_epochs, f"stage{i}") for i, name in
             enumerate(STAGES) if flags(i)["conv"]]
    for i, name, data, epochs, tag in plan:
        model, opt, loader, row, csv = train_stage(name, flags(i), cfg, ctx, data, epochs, tag)
        rows.append(row)
        curves[name] = csv
        trained[name] = (model, opt, loader)
    best = max(rows, key=lambda r: r["val_accuracy"])   # the first of equals: the simpler
    test = evaluate(trained[best["stage"]][0], cr.SoftmaxCrossEntropy(), (xte, s.y_test),
                    batch_size=1000)
    ctx.metrics.update(stages=rows, final_stage=best["stage"],
                       final_val_accuracy=best["val_accuracy"],
                       final_test_accuracy=float(test["accuracy"]),
                       last_stage_val_accuracy=rows[-1]["val_accuracy"],
                       normalisation={"mean": mean, "std": std}, n_train_mlp=n_mlp,
                       n_train_full=len(xtr), n_test=len(xte),
                       checks=technique_checks(trained, cfg, xva, ctx.seed))
    write_report(cfg, ctx, rows, curves, ctx.save_rows(rows, "ablation"))


def write_report(cfg: Config, ctx: RunContext, rows: list, curves: dict, csv) -> None:
    """Ablation table and figures, and the reading, all from the measured rows."""
    ctx.heading("Ablation")
    ctx.figure("ablation", plots_cnn.ablation_bars, csv, x="stage", y="val_accuracy",
               targets=(0.92, 0.94), title=f"Fashion-MNIST validation accuracy by stage "
               f"(seed {ctx.seed})",
               caption="Validation accuracy after the last epoch of each stage; dashed lines "
                       "at the 92% target and the 94% stretch goal.")
    prev, table = {}, []
    by_name = {r["stage"]: r for r in rows}
    for r in rows:
        ref = by_name[STAGES[5]] if r["stage"] == BRIDGE else (
            by_name.get(BRIDGE, by_name[STAGES[5]]) if r["stage"] == STAGES[6] else prev)
        r["delta"] = r["val_accuracy"] - ref["val_accuracy"] if ref else 0.0
        r["delta_best"] = r["best_val_accuracy"] - ref["best_val_accuracy"] if ref else 0.0
        table.append([r["stage"], f"{r['n_train']:,} × {r['epochs']}", r["parameters"],
                      r["macs"], pct(r["train_accuracy"]), pct(r["val_accuracy"]),
                      pct(r["best_val_accuracy"]), f"{100 * r['delta']:+.2f}" if ref else "—"])
        prev = r
    ctx.table(table, ["stage", "images × epochs", "params", "MACs/sample", "train acc",
                      "val acc", "best epoch's val acc", "Δ val (points)"],
              caption="Each stage adds one technique to the previous row and starts from the "
                      f"same seed ({ctx.seed}). Δ of the conv stage is measured against the "
                      "bridge row (same data and epochs), Δ of the bridge against stage 6.")
    # How much the last-epoch number moves between epochs, read from the saved curves.
    swing = {n: np.ptp(plots.read_csv(p)["val_accuracy"][-5:]) for n, p in curves.items()}
    noisy = max(swing, key=swing.get)
    ctx.md(f"Δ compares last-epoch validation accuracies. That number is noisy where the "
           f"learning rate stays large: over the last 5 epochs *{noisy}* swings by "
           f"{100 * swing[noisy]:.2f} points, *{STAGES[5]}* (learning rate decayed to ~0) by "
           f"{100 * swing[STAGES[5]]:.2f}. Differences of a few points between the constant-"
           f"rate stages are within that noise; the best-epoch column shows their potential.")
    ctx.figure("curves", plots_cnn.series_lines, curves, y="val_accuracy", x="epoch",
               title="Validation accuracy per epoch, every stage",
               caption="Validation accuracy after each epoch of every stage (MLP stages: "
                       f"{cfg.mlp_epochs} epochs on the subset; bridge and conv stages: "
                       f"{cfg.cnn_epochs} epochs on all training images).")
    ctx.figure("train_loss", plots_cnn.series_lines, curves, y="loss", x="epoch",
               ylabel="training cross-entropy (epoch mean)",
               title="Training loss per epoch, every stage",
               caption="Mean training loss per epoch of every stage (dropout and shifts make "
                       "it higher than the loss of the same weights on clean inputs).")
    m = ctx.metrics
    gains = sorted((r for r in rows if r["stage"] not in (STAGES[0], BRIDGE)),
                   key=lambda r: r["delta"], reverse=True)
    hurt = [r["stage"] for r in gains if r["delta"] < 0]
    v, t = m["final_val_accuracy"], m["final_test_accuracy"]
    verdict = ("exceeds the 94% stretch goal" if v > 0.94 else "exceeds 92%" if v > 0.92
               else "does NOT reach 92%")
    ctx.md(f"**Result.** The stage with the best validation accuracy, *{m['final_stage']}*, "
           f"is the final model. It reaches **{pct(v)}** validation "
           f"accuracy — it {verdict} — and **{pct(t)}** on the {m['n_test']:,}-image "
           f"Fashion-MNIST test set (seed {ctx.seed}). The baseline reached "
           f"{pct(rows[0]['val_accuracy'])}"
           + (f"; the last stage, *{rows[-1]['stage']}*, {pct(m['last_stage_val_accuracy'])}."
              if m["final_stage"] != rows[-1]["stage"] else "."))
    conv, shift = by_name[STAGES[6]], by_name[STAGES[7]]
    best_gains = ", ".join(f"{r['stage']} {100 * r['delta_best']:+.2f}" for r in rows[1:6])
    gap = {r["stage"]: r["train_accuracy"] - r["val_accuracy"] for r in (rows[0], conv, shift)}
    opt = max(rows[2:6], key=lambda r: r["delta_best"])
    d = rows[1]["delta_best"]
    drop_txt = (f"Dropout (p = {cfg.dropout}) only regularises; with a train–validation gap of "
                f"{100 * gap[rows[0]['stage']]:+.2f} points at the baseline there was little "
                f"over-fitting to remove, and it {'cost' if d < 0 else 'changed'} "
                f"{100 * d:+.2f} points." if d <= 0.005 else
                f"Dropout (p = {cfg.dropout}) helped ({100 * d:+.2f} points): the baseline "
                f"over-fits (train–validation gap {100 * gap[rows[0]['stage']]:+.2f} points).")
    ctx.md(f"**What mattered.** By last-epoch validation accuracy the largest gains came from "
           f"*{gains[0]['stage']}* ({100 * gains[0]['delta']:+.2f} points) and "
           f"*{gains[1]['stage']}* ({100 * gains[1]['delta']:+.2f})"
           + (f"; *{', '.join(hurt)}* cost accuracy in this short run. " if hurt else ". ")
           + f"By each stage's best epoch (less noisy) the MLP techniques gave: {best_gains} "
             f"points. {drop_txt} Batch normalisation, ReLU with He init, Adam and the "
             "schedule are optimisation fixes (for slow, badly scaled steps through saturating "
             f"sigmoids at one fixed learning rate); of them *{opt['stage']}* helped most. "
             "The conv layers change what the model can represent (local, translation-"
             "equivariant features from few weights): against the MLP trained on the same "
             f"data and epochs they add {100 * conv['delta']:+.2f} points. Random shifts move "
             f"the train–validation gap from {100 * gap[conv['stage']]:+.2f} to "
             f"{100 * gap[shift['stage']]:+.2f} points"
             f"{' (less over-fitting)' if gap[shift['stage']] < gap[conv['stage']] else ''} "
             f"and validation accuracy by {100 * shift['delta']:+.2f}.")
    ctx.md(f"**What was run.** MLP stages: {m['n_train_mlp']:,} training images, "
           f"{cfg.mlp_epochs} epochs; bridge and conv stages: all {m['n_train_full']:,} "
           f"training images, {cfg.cnn_epochs} epochs; validation: {cfg.val_size:,} images "
           f"held out of the training set; batch {cfg.batch_size}; plain SGD lr {cfg.sgd_lr}, "
           f"Adam lr {cfg.adam_lr}, dropout p = {cfg.dropout}, shifts up to {cfg.max_shift} px.")
