"""f1-vs-cross-entropy — can minimising cross-entropy make F1 worse? (UCL A1, question 3:
"describe a case where minimising cross-entropy does not improve F1; verify it empirically with
per-epoch checkpoints".)

Task: a highly imbalanced one-vs-rest problem from the HAPT windows (``hapt``, 12 activities,
subject-wise split): the six short **postural transitions** (STAND_TO_SIT … LIE_TO_STAND,
≈ 5% of the windows) against everything else. Classifier: the simplest one, softmax
regression (one ``Linear`` to 2 logits, fused softmax cross-entropy) on a summary of each window
(per-channel mean, standard deviation, minimum and maximum: 24 features, standardised with the
training set's statistics; ``--set features=flat`` uses the 600 raw values). Plain SGD,
``epochs`` = 60, with a **checkpoint saved every epoch** (``ModelCheckpoint``). The curves are
then computed from the reloaded checkpoints, not from memory: per epoch, the mean
cross-entropy and the F1 of the minority class (predicted when its probability > 0.5) on the
training and the validation set.

Table: every epoch e where cross-entropy fell from e to e + 1 while F1 fell too, per set, and
the two confusion matrices (reloaded from checkpoints e and e + 1) around the validation step
with the largest F1 drop (the training set's when validation has none). The reading splits
that step's cross-entropy change into the majority and the minority windows' parts.

Figures: cross-entropy and F1 per epoch for both sets with those steps shaded; the two
confusion matrices. A constructed example (two predictions on four windows, explicit numbers)
shows the mechanism: cross-entropy averages log-probabilities over every window, F1 counts
threshold crossings of the minority class only, so probability mass gained on
confidently-correct windows can outweigh one positive slipping under 0.5.

Longer or richer runs: ``--set epochs=200`` (more late-training steps), ``--set features=flat``
(softmax regression on the raw 600 values), ``--set lr=0.01`` (smaller steps, smoother curves).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...plots import cnn as plots_cnn
from ...plots import har as plots_har
from ..claims import Change, Count, measured, reading
from ..context import RunContext
from ..registry import register
from ._har_data import counts_table, load_har

TRANSITIONS = tuple(range(6, 12))     # 0-based labels of the 12-activity set


@dataclass
class Config:
    features: str = "summary"   # "summary" (24 per-channel statistics) | "flat" (600 values)
    epochs: int = 60
    batch_size: int = 256
    lr: float = 0.05
    n_train: int = 0            # 0 = every training window (quick presets subsample)
    n_eval: int = 0


def summarise(x: np.ndarray) -> np.ndarray:
    """Per-channel mean, std, min and max of windows ``(N, T, C)`` → ``(N, 4C)`` float32."""
    return np.concatenate([x.mean(1), x.std(1), x.min(1), x.max(1)], axis=1).astype(np.float32)


def binary_scores(p1: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Mean cross-entropy of ``p(class 1)`` and F1 / confusion of the rule ``p > 0.5``, plus the
    summed cross-entropy over the negatives and the positives (their split of the mean)."""
    p1 = np.clip(np.asarray(p1, np.float64), 1e-12, 1 - 1e-12)
    y = np.asarray(y, np.int64)
    ce = np.where(y == 1, -np.log(p1), -np.log1p(-p1))
    pred = (p1 > 0.5).astype(np.int64)
    tp, fp = int(((pred == 1) & (y == 1)).sum()), int(((pred == 1) & (y == 0)).sum())
    fn, tn = int(((pred == 0) & (y == 1)).sum()), int(((pred == 0) & (y == 0)).sum())
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return {"ce": float(ce.mean()), "f1": float(f1), "confusion": [[tn, fp], [fn, tp]],
            "ce_sum_neg": float(ce[y == 0].sum()), "ce_sum_pos": float(ce[y == 1].sum())}


def constructed_example() -> dict[str, Any]:
    """Two predictions for the same four windows (2 minority, 2 majority): B has the lower
    cross-entropy and the lower F1."""
    y = np.array([1, 1, 0, 0])
    a, b = np.array([0.6, 0.6, 0.4, 0.4]), np.array([0.95, 0.45, 0.05, 0.05])
    return {"y": y.tolist(), "p_a": a.tolist(), "p_b": b.tolist(),
            "a": binary_scores(a, y), "b": binary_scores(b, y)}


def disagreements(curve: list[dict], s: str) -> list[dict]:
    """Epochs e where ``<s>_ce`` fell from e to e + 1 while ``<s>_f1`` fell too."""
    rows = []
    for r, q in itertools.pairwise(curve):
        if q[f"{s}_ce"] < r[f"{s}_ce"] and q[f"{s}_f1"] < r[f"{s}_f1"]:
            rows.append({"set": s, "epoch": r["epoch"], "f1": r[f"{s}_f1"],
                         "next_f1": q[f"{s}_f1"], "ce": r[f"{s}_ce"], "next_ce": q[f"{s}_ce"]})
    return rows


def checkpoint_scores(path: Any, model: Any, sets: dict[str, tuple]) -> dict[str, dict]:
    """Reload ``path`` into ``model`` and score every ``{name: (x, y)}`` set."""
    import chainrule as cr
    from chainrule.train import predict

    cr.load(path, model)
    out = {}
    for name, (x, y) in sets.items():
        z = predict(model, x, 4096).astype(np.float64)
        p1 = 1.0 / (1.0 + np.exp(z[:, 0] - z[:, 1]))        # softmax of 2 logits
        out[name] = binary_scores(p1, y)
    return out


@register("f1-vs-cross-entropy", question="Can minimising cross-entropy make F1 worse? "
          "Per-epoch checkpoints of softmax regression on an imbalanced one-vs-rest task "
          "(postural transitions vs the rest of HAPT).",
          config=Config, quick={"epochs": 12, "n_train": 1500, "n_eval": 800},
          runtime={"quick": "8 s", "full": "6 s"},
          source="UCL A1, question 3",
          coursework="describe a case where minimising cross-entropy does not improve F1; verify "
                     "it empirically with per-epoch checkpoints")
def run(cfg: Config, ctx: RunContext) -> None:
    import chainrule as cr
    from chainrule.data import DataLoader
    from chainrule.train import ModelCheckpoint, fit

    if cfg.features not in ("summary", "flat"):
        raise ValueError(f"features must be 'summary' or 'flat', got {cfg.features!r}")
    d = load_har(ctx, "12", n_train=cfg.n_train, n_eval=cfg.n_eval)
    feat = summarise if cfg.features == "summary" else (lambda a: a.reshape(len(a), -1))
    xtr, xva = feat(d.x_train), feat(d.x_val)
    mu, sd = xtr.mean(0), np.maximum(xtr.std(0), 1e-6)
    xtr, xva = ((xtr - mu) / sd).astype(np.float32), ((xva - mu) / sd).astype(np.float32)
    ytr = np.isin(d.y_train, TRANSITIONS).astype(np.int64)
    yva = np.isin(d.y_val, TRANSITIONS).astype(np.int64)
    np.savez_compressed(ctx.path("features.npz"), x_train=xtr, y_train=ytr, x_val=xva, y_val=yva)
    seeds = ctx.rng.integers(0, 2 ** 31, size=2)
    model = cr.Sequential(cr.Linear(xtr.shape[1], 2, rng=np.random.default_rng(seeds[0])))
    ckpt = "checkpoints/epoch-{epoch:03d}.npz"
    (ctx.out / "checkpoints").mkdir(parents=True, exist_ok=True)
    fit(model, cr.SoftmaxCrossEntropy(), cr.optim.SGD(model.parameters(), lr=cfg.lr),
        DataLoader(xtr, ytr, cfg.batch_size, rng=np.random.default_rng(seeds[1])),
        epochs=cfg.epochs, callbacks=[ModelCheckpoint(ctx.out / ckpt)])
    sets = {"train": (xtr, ytr), "val": (xva, yva)}
    curve, scores = [], {}
    for e in range(1, cfg.epochs + 1):
        sc = checkpoint_scores(ctx.out / ckpt.format(epoch=e), model, sets)
        scores[e] = sc
        curve.append({"epoch": e, **{f"{s}_{k}": sc[s][k] for s in sets
                                     for k in ("ce", "f1", "ce_sum_neg", "ce_sum_pos")}})
    rows = disagreements(curve, "train") + disagreements(curve, "val")
    for s in sets:
        marked = {r["epoch"] for r in rows if r["set"] == s}
        for c in curve:
            c[f"{s}_disagree"] = int(c["epoch"] in marked)
    pick = max((r for r in rows if r["set"] == "val"), default=None,
               key=lambda r: r["f1"] - r["next_f1"])
    pick = pick or max((r for r in rows), default=None, key=lambda r: r["f1"] - r["next_f1"])
    ex = constructed_example()
    ctx.metrics.update(
        task="postural transitions (6 classes) vs the other 6 activities",
        features=cfg.features, positives={"train": int(ytr.sum()), "val": int(yva.sum())},
        windows={"train": len(ytr), "val": len(yva)}, curve=curve, disagreements=rows,
        picked=pick, example=ex,
        picked_confusions=None if pick is None else
        [scores[pick["epoch"]][pick["set"]]["confusion"],
         scores[pick["epoch"] + 1][pick["set"]]["confusion"]])
    _report(cfg, ctx, d, curve, rows, pick, scores, ex)


def _report(cfg, ctx, d, curve, rows, pick, scores, ex) -> None:
    m = ctx.metrics
    counts_table(ctx, d)
    ctx.md(f"Minority class: {m['positives']['train']:,} of {m['windows']['train']:,} training "
           f"windows ({100 * m['positives']['train'] / m['windows']['train']:.1f}%), "
           f"{m['positives']['val']:,} of {m['windows']['val']:,} validation windows.")
    csv = ctx.save_rows(curve, "curves")
    ctx.figure("f1_ce_curves", plots_har.f1_ce_curves, csv,
               title="Softmax regression, transitions vs rest: per-epoch checkpoints",
               caption="Cross-entropy (blue) and minority-class F1 (orange) per epoch, both "
                       "computed from the reloaded checkpoints; shaded: epoch → epoch + 1 "
                       "where cross-entropy fell and F1 fell.")
    ctx.table([[r["set"], r["epoch"], f"{r['f1']:.4f}", f"{r['next_f1']:.4f}",
                f"{r['ce']:.5f}", f"{r['next_ce']:.5f}"] for r in rows],
              ["set", "epoch e", "F1 at e", "F1 at e + 1", "CE at e", "CE at e + 1"],
              caption=f"Every epoch where cross-entropy decreased while F1 decreased "
                      f"({len(rows)} rows), from the saved checkpoints.")
    if pick is not None:
        e, s = pick["epoch"], pick["set"]
        names = ("rest", "transition")
        for i, ep in enumerate((e, e + 1)):
            cm = np.array(scores[ep][s]["confusion"])
            ctx.figure(f"confusion_{'before' if i == 0 else 'after'}", plots_cnn.confusion_heatmap,
                       plots_cnn.save_confusion_csv(cm, names, ctx.path(f"confusion_{ep}.csv")),
                       title=f"{s} set, checkpoint of epoch {ep}",
                       caption=f"Confusion matrix on the {s} set from the checkpoint of epoch "
                               f"{ep} (reloaded).")
    _reading(ctx, ex)


def example_claims(m: dict) -> list:
    """The constructed example (exact numbers, stated in quick runs too): B lowers the
    cross-entropy and the F1."""
    return [Change("prediction B instead of A", what, measured(m, "example", "a", k),
                   measured(m, "example", "b", k), better=better, spec=".3f")
            for what, k, better in (("the mean cross-entropy", "ce", "lower"),
                                    ("the minority-class F1", "f1", "higher"))]


SET_NAME = {"train": "training", "val": "validation"}


def reading_claims(m: dict) -> list:
    """The answer from ``metrics.json``: on each set, how many epoch steps lowered both the
    cross-entropy and the F1; at the step with the largest F1 drop, the two numbers and the
    majority and minority windows' shares of the cross-entropy change; how many such steps
    come after the first quarter of training (validation set)."""
    curve, steps = m["curve"], len(m["curve"]) - 1
    out = [Count("epoch steps (e → e + 1)", f"lowered both the cross-entropy and the F1 on "
                 f"the {SET_NAME[s]} set",
                 tuple(measured(m, "curve", i, f"{s}_disagree") for i in range(steps)))
           for s in ("train", "val")]
    pick = m.get("picked")
    if pick is not None:
        i, s = pick["epoch"] - 1, pick["set"]
        where = (f"epoch {pick['epoch']} → {pick['epoch'] + 1} on the {SET_NAME[s]} set (the "
                 "largest F1 drop)")
        for cause, what, key, better, spec in (
                (where, "the cross-entropy", "ce", "lower", ".5f"),
                (where, "the F1", "f1", "higher", ".4f"),
                ("that step", "the summed cross-entropy of the majority windows", "ce_sum_neg",
                 "lower", ".1f"),
                ("that step", "the summed cross-entropy of the minority windows", "ce_sum_pos",
                 "lower", ".1f")):
            out.append(Change(cause, what, measured(m, "curve", i, f"{s}_{key}"),
                              measured(m, "curve", i + 1, f"{s}_{key}"), better=better,
                              spec=spec))
    q = max(len(curve) // 4, 1)
    if q < steps:
        out.append(Count(f"epoch steps after epoch {q}", "still lowered both on the "
                         "validation set", tuple(measured(m, "curve", i, "val_disagree")
                                                for i in range(q, steps))))
    return out


def _reading(ctx: RunContext, ex: dict) -> None:
    a, b = ex["p_a"], ex["p_b"]
    ctx.md(reading(ctx, example_claims(ctx.metrics), label="Constructed example", exact=True,
                   lead=f"Two minority and two majority windows: prediction A gives "
                        f"p(minority) = {a}, every window on the right side of 0.5; "
                        f"prediction B gives {b}, three windows confidently right and one "
                        f"minority window slipped under 0.5"))
    ctx.answer(reading(ctx, reading_claims(ctx.metrics),
                       lead="Per-epoch checkpoints, reloaded and scored"),
               figure="f1_ce_curves")
