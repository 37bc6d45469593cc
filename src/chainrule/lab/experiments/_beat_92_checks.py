"""The stages, technique checks and report section of the ``beat-92`` experiment.

``STAGES`` (with the ``BRIDGE`` row's name and the ``TARGET`` and ``BONUS`` accuracies) live
here, below ``beat_92``, which imports them. ``technique_checks`` measures, on the trained
stage models, that each technique does what it claims: the starter has Keras's defaults
(Glorot-uniform kernels, zero biases, plain SGD at lr 0.01), dropout acts only in training
(and rescales), batch norm uses its running statistics in evaluation, He-normal weights have
the right spread, Adam's moment buffers fill, the cosine learning rate falls to its expected
final value, and the random shifts produce shifted images. ``write_section`` writes one
dataset's part of the report: table, figures and its reading (``_beat_92_reading``'s claims),
built from the measured rows only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..claims import reading
from ..context import RunContext
from ._common import pct

if TYPE_CHECKING:
    from .beat_92 import Config

STAGES = ("starter", "+ dropout", "+ batch norm", "+ ReLU, He init", "+ Adam",
          "+ cosine schedule", "+ conv layers", "+ random shifts")
BRIDGE = "+ cosine schedule (conv budget)"
TARGET, BONUS = 0.92, 0.95     # the coursework's target and its bonus


def technique_checks(trained: dict, cfg: Config, x: np.ndarray, seed: int, *,
                     schedule_epochs: int) -> dict:
    """Measure, on the trained stage models, that each technique does what it claims
    (``schedule_epochs``: the epochs of the cosine stage)."""
    import chainrule as cr
    from chainrule.optim import CosineDecay

    # beat_92 imports this module while loading, so its names are looked up at call time.
    from .beat_92 import build, flags

    xb, out = x[:64], {}
    model, opt, _ = trained[STAGES[0]]
    fresh0 = build(flags(0), cfg, tuple(x.shape[1:]), 10, np.random.default_rng([seed, 92]))
    lins = [m for m in fresh0 if isinstance(m, cr.Linear)]
    out["starter"] = {
        "layers": [type(m).__name__ for m in model],
        "units": [m.out_features for m in lins],
        "glorot_max_abs_over_bound": [float(np.abs(m.weight.data).max() / np.sqrt(
            6.0 / sum(m.weight.data.shape))) for m in lins],
        "initial_biases_zero": all(not np.any(m.bias.data) for m in lins),
        "optimizer": type(opt).__name__, "lr": float(opt.lr), "momentum": opt.momentum,
        "nesterov": opt.nesterov, "weight_decay": opt.weight_decay}
    model = trained[STAGES[1]][0]
    drop = next(m for m in model if isinstance(m, cr.Dropout))
    ones = np.ones((200, cfg.hidden), np.float32)
    masked = drop.forward(ones, training=True)
    out["dropout"] = {
        "eval_is_identity": bool(np.array_equal(drop.forward(ones, training=False), ones)),
        "train_zero_fraction": float(np.mean(masked == 0)),
        "train_kept_scale": float(masked.max()),
        "eval_deterministic": bool(np.array_equal(model.forward(xb), model.forward(xb))),
        "train_differs": bool(not np.allclose(model.forward(xb, training=True), model.forward(xb)))}
    model = trained[STAGES[2]][0]
    i_bn = next(i for i, m in enumerate(model) if isinstance(m, cr.BatchNorm1d))
    h = xb
    for m in list(model)[:i_bn]:
        h = m.forward(h)
    bn = model[i_bn]
    rm, rv = bn.running_mean, bn.running_var
    by_running = (h - rm) / np.sqrt(rv + bn.eps) * bn.weight.data + bn.bias.data
    by_batch = (h - h.mean(0)) / np.sqrt(h.var(0) + bn.eps) * bn.weight.data + bn.bias.data
    y_eval = bn.forward(h)
    out["batchnorm"] = {
        "eval_uses_running_stats": bool(np.allclose(y_eval, by_running, atol=1e-4)),
        "eval_differs_from_batch_stats": float(np.abs(y_eval - by_batch).max()),
        "running_mean_moved": float(np.abs(rm).max()),
        "batches_tracked": int(bn.num_batches_tracked),
        "sample_independent_in_eval": bool(np.allclose(model.forward(xb[:1]),
                                                       model.forward(xb)[:1], atol=1e-5))}
    fresh3 = build(flags(3), cfg, tuple(x.shape[1:]), 10, np.random.default_rng([seed, 92]))
    w3 = next(m for m in fresh3 if isinstance(m, cr.Linear)).weight.data
    fan_in = w3.shape[0]
    out["relu_he"] = {"he_std_ratio": float(w3.std() / np.sqrt(2.0 / fan_in)),
                      "relu_layers": sum(isinstance(m, cr.ReLU) for m in trained[STAGES[3]][0]),
                      "sigmoid_layers": sum(isinstance(m, cr.Sigmoid)
                                            for m in trained[STAGES[3]][0])}
    _, opt, _ = trained[STAGES[4]]
    state = opt.state_dict()
    out["adam"] = {"optimizer": type(opt).__name__,
                   "moment_buffers_nonzero": bool(any(np.abs(v).max() > 0 for k, v in state.items()
                                                      if "exp_avg" in k))}
    _, opt, _ = trained[STAGES[5]]
    sched = CosineDecay(schedule_epochs)
    out["schedule"] = {"initial_lr": float(opt.initial_lr), "final_lr": float(opt.lr),
                       "expected_final_lr": sched.lr(opt.initial_lr, schedule_epochs - 1)}
    model, _, loader = trained[STAGES[7]]
    out["conv"] = {"conv_layers": sum(isinstance(m, cr.Conv2d) for m in model)}
    imgs = loader.x[:16]
    moved = loader.transform(imgs, np.random.default_rng(0))
    m, fill, shifts = cfg.max_shift, float(loader.x.min()), []
    for a, b in zip(imgs, moved):
        pad = np.pad(a, ((0, 0), (m, m), (m, m)), constant_values=fill)
        hit = [(dy - m, dx - m) for dy in range(2 * m + 1) for dx in range(2 * m + 1)
               if np.array_equal(pad[:, dy:dy + a.shape[1], dx:dx + a.shape[2]], b)]
        shifts.append(hit[0] if hit else None)
    out["augment"] = {"all_are_shifts": all(v is not None for v in shifts),
                      "shifted_images": sum(v not in (None, (0, 0)) for v in shifts),
                      "checked": len(shifts)}
    return out


def what_was_run(name: str, title: str, cfg: Config, m: dict) -> str:
    """The splits and budgets actually used, in words."""
    sp = m["split"]
    if name == "notmnist":
        rest, f = sp["train"] + sp["val"], cfg.notmnist_val_fraction
        txt = (f"{title}: of its {sp['test'] + rest:,} images, {sp['test']:,} were held out "
               f"first (seeded permutation) as the test set, then a seeded "
               f"{100 * (1 - f):g}/{100 * f:g} train/validation split of the remaining "
               f"{rest:,} gave {sp['train']:,} training and {sp['val']:,} validation images")
    else:
        txt = (f"{title}: {sp['val']:,} validation images held out of the training set, "
               f"{sp['train']:,} left for training; test: its official test split")
    conv = (f"all {m['n_train_full']:,}" if m["n_train_full"] == sp["train"]
            else f"{m['n_train_full']:,} of the {sp['train']:,}")
    test = (f"{m['n_test']:,} test images" if m["n_test"] == sp["test"]
            else f"{m['n_test']:,} of the {sp['test']:,} test images")
    bridge = " and the bridge" if any(r["stage"] == BRIDGE for r in m["stages"]) else ""
    return (f"{txt}. MLP stages: {m['n_train_mlp']:,} training images × "
            f"{_n(m['mlp_epochs'], 'epoch')}; conv stages{bridge}: {conv} training images × "
            f"{_n(m['cnn_epochs'], 'epoch')}; "
            f"{test} (used once, for the final model). Batch {cfg.batch_size}, pixels in "
            f"[0, 1]; SGD lr {cfg.sgd_lr} without momentum (stages 1–4), Adam lr "
            f"{cfg.adam_lr}; dropout p = {cfg.dropout}; conv channels "
            f"{', '.join(map(str, cfg.channels))}; shifts up to {cfg.max_shift} px.")


def _n(k: int, word: str) -> str:
    """``3 epochs``, ``1 epoch``."""
    return f"{k} {word}{'' if k == 1 else 's'}"


def _deltas(rows: list) -> dict:
    """Each row's reference row (the previous stage; the bridge for the conv stage)."""
    by, prev, ref = {r["stage"]: r for r in rows}, None, {}
    for r in rows:
        ref[r["stage"]] = (by[STAGES[5]] if r["stage"] == BRIDGE else
                           by.get(BRIDGE, by[STAGES[5]]) if r["stage"] == STAGES[6] else prev)
        prev = r
    for r in rows:
        q = ref[r["stage"]]
        r["delta"] = r["val_accuracy"] - q["val_accuracy"] if q else 0.0
        r["delta_best"] = r["best_val_accuracy"] - q["best_val_accuracy"] if q else 0.0
    return ref


def write_section(cfg: Config, ctx: RunContext, name: str, title: str, m: dict, rows: list,
                  curves: dict, csv) -> None:
    """One dataset's ablation table, figures and reading, all from the measured rows."""
    from ...plots import cnn as plots_cnn
    from ._beat_92_reading import mattered_claims, record_swing

    ctx.heading(f"{title}")
    ctx.md("**What was run.** " + what_was_run(name, title, cfg, m))
    ctx.figure(f"ablation_{name}", plots_cnn.ablation_bars, csv, x="stage", y="val_accuracy",
               targets=(TARGET, BONUS), title=f"{title} validation accuracy by stage "
               f"(seed {ctx.seed})",
               caption=f"{title}: validation accuracy after the last epoch of each stage; "
                       "dashed lines at the 92% target and the coursework's 95% bonus.")
    ref, table = _deltas(rows), []
    for r in rows:
        table.append([r["stage"], f"{r['n_train']:,} × {r['epochs']}", r["parameters"],
                      r["macs"], pct(r["train_accuracy"]), pct(r["val_accuracy"]),
                      pct(r["best_val_accuracy"]),
                      f"{100 * r['delta']:+.2f}" if ref[r["stage"]] else "—"])
    bridged = any(r["stage"] == BRIDGE for r in rows)
    ctx.table(table, ["stage", "images × epochs", "params", "MACs/sample", "train acc",
                      "val acc", "best epoch's val acc", "Δ val (points)"],
              caption=f"{title}. Each stage adds one technique to the previous row and starts "
                      f"from the same seed ({ctx.seed})."
                      + (" Δ of the conv stage is measured against the bridge row (same data "
                         "and epochs), Δ of the bridge against stage 6." if bridged else ""))
    record_swing(m, curves)
    ctx.figure(f"curves_{name}", plots_cnn.series_lines, curves, y="val_accuracy", x="epoch",
               title=f"{title}: validation accuracy per epoch, every stage",
               caption=f"{title}: validation accuracy after each epoch of every stage.")
    ctx.figure(f"train_loss_{name}", plots_cnn.series_lines, curves, y="loss", x="epoch",
               ylabel="training cross-entropy (epoch mean)",
               title=f"{title}: training loss per epoch, every stage",
               caption=f"{title}: mean training loss per epoch of every stage (dropout and "
                       "shifts make it higher than the loss of the same weights on clean "
                       "inputs).")
    text = reading(ctx, mattered_claims(ctx, name), label=f"What mattered ({title})",
                   lead="Δ compares last-epoch validation accuracies; a change within the "
                        "largest epoch-to-epoch swing is no clear difference")
    if not ctx.quick:   # a quick run says it is a smoke test once, in its answer
        ctx.md(text)
