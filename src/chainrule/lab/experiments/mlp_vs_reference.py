"""mlp-vs-reference — does chainrule's hand-written backprop train exactly like a library's
autograd?

The 784-100(sigmoid)-50(ReLU)-10(softmax) network on flattened images in [0, 1], trained
with chainrule's own pieces (fused softmax cross-entropy, hand-written backward passes,
random init, ``optim.SGD``/``optim.Adam`` inside the one ``fit`` loop), and the same
architecture under a reference library: PyTorch's ``torch.optim.SGD`` and
``torch.optim.Adam`` (autograd), and Keras 3 on its PyTorch backend when ``import keras``
works. Every run starts from the **same initial weights** (chainrule's draw, copied:
chainrule's Linear weight is ``(in, out)``, the transpose of ``torch.nn.Linear.weight``
and the same layout as a Keras ``Dense`` kernel) and sees the **same mini-batches** in the
same order (each run iterates a fresh ``DataLoader`` with one shared seed).

What to look for: in the figure of per-epoch training loss, chainrule SGD and PyTorch SGD
lie on top of each other (and so do the two Adams); the second figure shows, step by step,
the absolute difference of the mini-batch losses between chainrule and the reference:
float32 rounding (~1e-7 at the first step) that training slowly amplifies, while the same
SGD pair run in float64 agrees to ~1e-15 — the same algorithm. The table gives final
train/test accuracy and wall time per epoch (timings are in the report and
``timings.json``, never in ``metrics.json``). PyTorch and Keras are optional: when absent
the chainrule runs still happen and the report says the reference was skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from ... import plots
from ...train import Callback
from ..claims import Compare, Count, Fact, Ratio, Threshold, measured, metric, reading
from ..context import RunContext
from ..registry import register
from ._common import load_splits, pct, two_se, write_timings
from ._references import _import_keras, _keras, _torch, blas_threads

TOL = 1e-5   # |loss difference| that still counts as float32 rounding


@dataclass
class Config:
    dataset: str = "mnist"
    hidden: tuple[int, ...] = (100, 50)
    activations: tuple[str, ...] = ("sigmoid", "relu")
    epochs: int = 10
    batch_size: int = 32
    lr: float = 0.05            # SGD, all libraries
    momentum: float = 0.9       # SGD: PyTorch's v = μv + g, w -= lr·v (Keras's form is the same
                                # trajectory at a constant lr); 0 = the coursework's plain SGD
    adam_lr: float = 0.001      # Adam, all libraries (betas 0.9, 0.999; eps 1e-8)
    val_size: int = 500
    n_train: int = 0            # 0 = all training images
    n_test: int = 0             # 0 = the whole test set
    keras: bool = True          # also Keras 3 (PyTorch backend) when it can be imported
    # Keras's train_on_batch costs ~7 ms a step here (chainrule ~0.3 ms): the full preset runs
    # the coursework's comparison (SGD) in Keras; add Adam with --set keras_optimizers=sgd,adam
    keras_optimizers: tuple[str, ...] = ("sgd",)
    float64_check: bool = True  # also chainrule vs PyTorch SGD in float64 (same algorithm?)


class StepLosses(Callback):
    """Records every mini-batch loss (for the step-by-step comparison)."""

    def __init__(self) -> None:
        self.losses: list[float] = []

    def on_batch_end(self, step: int, logs: dict[str, Any]) -> None:
        self.losses.append(float(logs["loss"]))


def _chainrule(opt_name: str, cfg: Config, data: dict, init_state: dict, seed: int,
               dtype: Any = np.float32) -> dict:
    import chainrule as cr
    from chainrule.data import DataLoader
    from chainrule.train import evaluate, fit

    model = cr.models.MLP(data["d_in"], cfg.hidden, cfg.activations, data["classes"],
                          dtype=dtype)   # Linear casts the float32 batches to its dtype
    model.load_state_dict(init_state)
    opt = (cr.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum)
           if opt_name == "sgd"
           else cr.optim.Adam(model.parameters(), lr=cfg.adam_lr))
    rec, loss = StepLosses(), cr.SoftmaxCrossEntropy()
    hist = fit(model, loss, opt, DataLoader(*data["train"], cfg.batch_size, rng=seed),
               epochs=cfg.epochs, callbacks=[rec])
    res = {"epoch_loss": hist["loss"], "step_loss": rec.losses, "seconds": hist["seconds"]}
    for split in ("train", "test"):
        ev = evaluate(model, loss, data[split], batch_size=1000)
        res[f"{split}_loss"], res[f"{split}_accuracy"] = ev["loss"], ev["accuracy"]
    return res


@register("mlp-vs-reference", question="Does chainrule's hand-written backprop train the "
          "784-100-50-10 network exactly like PyTorch (and Keras) from the same start?",
          config=Config, quick={"epochs": 3, "n_train": 2000, "n_test": 500, "val_size": 100,
                               "keras_optimizers": ("sgd", "adam")},
          runtime={"quick": "10 s", "full": "3 min 52 s",
                   "quick-5k": "11 s", "full-5k": "25 s"})   # measured on mnist-5k
def run(cfg: Config, ctx: RunContext) -> None:
    import chainrule as cr

    if len(cfg.activations) != len(cfg.hidden):
        raise ValueError(f"hidden={cfg.hidden} needs one activation each, got {cfg.activations}")
    s = load_splits(cfg.dataset, ctx, val_size=cfg.val_size, n_train=cfg.n_train or None,
                    n_test=cfg.n_test or None)
    xtr, _, xte = s.flat()
    data = {"train": (xtr, s.y_train), "test": (xte, s.y_test), "d_in": xtr.shape[1],
            "classes": s.num_classes}
    init_state = cr.models.MLP(data["d_in"], cfg.hidden, cfg.activations, s.num_classes,
                               rng=ctx.rng).state_dict()
    seed = int(ctx.rng.integers(2**63))    # one loader seed: every run sees the same batches
    ctx.metrics.update(input_features=data["d_in"], num_classes=s.num_classes,
                       n_train=len(xtr), n_test=len(xte))
    runs: dict[str, dict] = {}
    for opt_name, label in (("sgd", "SGD"), ("adam", "Adam")):
        ctx.log(f"chainrule {label}")
        runs[f"chainrule {label}"] = _chainrule(opt_name, cfg, data, init_state, seed)
    skipped, threads, runs64 = {}, {"NumPy BLAS": blas_threads()}, {}
    try:
        import torch
    except ImportError:
        torch, skipped["PyTorch"] = None, "PyTorch is not installed"
    if torch is not None:
        before = torch.get_num_threads()
        torch.set_num_threads(threads["NumPy BLAS"])   # the same CPU threads as chainrule
        threads["PyTorch"] = torch.get_num_threads()
        try:
            for opt_name, label in (("sgd", "SGD"), ("adam", "Adam")):
                ctx.log(f"PyTorch {label}")
                runs[f"PyTorch {label}"] = _torch(torch, opt_name, cfg, data, init_state, seed)
            if cfg.float64_check:
                ctx.log("chainrule and PyTorch SGD in float64")
                runs64 = {lib: fn("sgd", cfg, data, init_state, seed, dtype=np.float64)
                          for lib, fn in (("chainrule", _chainrule),
                                          ("PyTorch", partial(_torch, torch)))}
        finally:
            torch.set_num_threads(before)
    keras, why = _import_keras() if cfg.keras else (None, "disabled (keras=false)")
    if keras is None:
        skipped["Keras"] = why
    else:
        import torch  # Keras's backend: give it the same CPU threads too

        before = torch.get_num_threads()
        torch.set_num_threads(threads["NumPy BLAS"])
        threads["Keras (PyTorch backend)"] = torch.get_num_threads()
        try:
            for opt_name, label in (("sgd", "SGD"), ("adam", "Adam")):
                if opt_name not in cfg.keras_optimizers:
                    continue
                ctx.log(f"Keras {label}")
                runs[f"Keras {label}"] = _keras(keras, opt_name, cfg, data, init_state, seed)
        finally:
            torch.set_num_threads(before)
    _record(cfg, ctx, runs, runs64, skipped, threads)


def _compare(mine: dict, ref: dict) -> tuple[dict, np.ndarray]:
    """Differences between two runs' losses (per step and per epoch) and test accuracies."""
    d = np.abs(np.subtract(mine["step_loss"], ref["step_loss"]))
    over = np.flatnonzero(d > TOL)
    return {"max_abs_step_loss_diff": float(d.max()), "first_step_loss_diff": float(d[0]),
            "first_step_over_tolerance": int(over[0]) + 1 if len(over) else None,
            "max_abs_epoch_loss_diff": float(np.abs(np.subtract(mine["epoch_loss"],
                                                                ref["epoch_loss"])).max()),
            "test_accuracy_diff": abs(mine["test_accuracy"] - ref["test_accuracy"])}, d


def _record(cfg: Config, ctx: RunContext, runs: dict, runs64: dict, skipped: dict,
            threads: dict) -> None:
    steps = len(runs["chainrule SGD"]["step_loss"])
    diffs, diff_rows = {}, []
    pairs = [(f"{ref} {opt}", runs[f"chainrule {opt}"], runs.get(f"{ref} {opt}"))
             for ref in ("PyTorch", "Keras") for opt in ("SGD", "Adam")]
    if runs64:
        pairs.append(("PyTorch SGD float64", runs64["chainrule"], runs64["PyTorch"]))
    for key, mine, ref in pairs:
        if ref is None:
            continue
        diffs[key], d = _compare(mine, ref)
        name, opt = key.split(" ", 1)
        diff_rows += [{"pair": f"chainrule vs {name} ({opt.replace(' ', ', ')})", "step": i + 1,
                       "abs_diff": float(v)} for i, v in enumerate(d)]
    if runs64:
        f64 = diffs.pop("PyTorch SGD float64")
        diffs["PyTorch SGD"]["float64_max_abs_step_loss_diff"] = f64["max_abs_step_loss_diff"]
    ctx.metrics.update(
        steps_per_run=steps, skipped=skipped, reference_differences=diffs,
        runs={name: {k: r[k] for k in ("epoch_loss", "train_loss", "train_accuracy",
                                       "test_loss", "test_accuracy")}
              for name, r in runs.items()})
    for key, d in diffs.items():   # the resolution of a test-accuracy difference
        mine, ref = runs[f"chainrule {key.split(' ')[1]}"], runs[key]
        d["test_accuracy_two_se"] = two_se(mine["test_accuracy"], ctx.metrics["n_test"],
                                           ref["test_accuracy"], ctx.metrics["n_test"])
    timings = {"threads": threads,
               **{name: {"seconds_per_epoch": r["seconds"],
                         "mean_seconds_per_epoch": float(np.mean(r["seconds"]))}
                  for name, r in runs.items()}}
    write_timings(ctx, timings)
    _report(cfg, ctx, runs, diffs, diff_rows, threads, timings)


def _report(cfg: Config, ctx: RunContext, runs: dict, diffs: dict, diff_rows: list,
            threads: dict, timings: dict) -> None:
    rows = [{"run": name, "epoch": e + 1, "loss": v} for name, r in runs.items()
            for e, v in enumerate(r["epoch_loss"])]
    csv = ctx.save_rows(rows, "epoch_loss")
    style = {n: "--" if n.startswith("PyTorch") else ":" if n.startswith("Keras") else "-"
             for n in runs}
    m = ctx.metrics
    arch = "-".join(str(v) for v in (m["input_features"], *cfg.hidden, m["num_classes"]))
    ctx.heading("Training loss")
    ctx.figure("epoch_loss", plots.grouped_lines, csv, x="epoch", y="loss", group="run",
               xlabel="epoch", ylabel="mean training loss over the epoch's mini-batches",
               title=f"{arch} network, same init and batches", style=style,
               caption="Per-epoch training loss of every run (chainrule solid, PyTorch dashed, "
                       "Keras dotted).")
    if diff_rows:
        ctx.figure("step_loss_difference", plots.grouped_lines, ctx.save_rows(diff_rows,
                   "step_loss_difference"), x="step", y="abs_diff", group="pair",
                   xlabel="gradient step", ylabel="|loss(chainrule) − loss(reference)|",
                   title="Mini-batch loss difference, step by step", logy=True,
                   caption="Absolute difference of the mini-batch losses at every step "
                           "(log scale; exact zeros are not drawn).")
    ctx.heading("Numbers")
    ctx.table([[name, r["epoch_loss"][-1], pct(r["train_accuracy"]), pct(r["test_accuracy"]),
                f"{1000 * float(np.mean(r['seconds'])):.0f} ms"] for name, r in runs.items()],
              ["run", "last epoch's training loss", "train acc", "test acc", "time per epoch"],
              caption="Time per epoch: mean wall time of an epoch's training steps (including "
                      "batching) with " + ", ".join(f"{k} {v} thread(s)" for k, v in
                                                   threads.items()) + "; noisy on shared CPUs.")
    mine = runs["chainrule SGD"]
    sgd = f"SGD (lr {cfg.lr:g}" + (f", momentum {cfg.momentum:g})" if cfg.momentum else ")")
    m["headline"] = {"optimizer": sgd, "epochs": cfg.epochs, "n_train": m["n_train"],
                     "test_accuracy": mine["test_accuracy"]}
    ctx.md(f"**Headline.** The {arch} network trained by chainrule's hand-written backprop with "
           f"{sgd}, batch {cfg.batch_size}, for {cfg.epochs} epochs on {m['n_train']:,} "
           f"training images reaches **{pct(mine['test_accuracy'])}** test accuracy on "
           f"{m['n_test']:,} test images (sources above).")
    ctx.answer(reading(ctx, reading_claims(ctx), exact=True), figure="epoch_loss")
    keras_adam = diffs.get("Keras Adam")
    if keras_adam and keras_adam["max_abs_epoch_loss_diff"] > TOL:
        ctx.md("Why Keras's Adam differs: Keras adds ε to √v *before* the bias correction "
               "(Kingma & Ba's ε̂, Keras's documented convention), chainrule and PyTorch add it "
               "to √v̂ (Algorithm 1) — a slightly different update, so its curve is close but "
               "not float32-identical.")
    if not ctx.quick and "PyTorch SGD" in timings:
        ctx.md(reading(ctx, speed_claims(timings), label="Speed"))


START_TOL = 1e-6   # |loss difference| at step 1 (same weights, same batch): float32 rounding
F64_TOL = 1e-9     # |loss difference| in float64 at every step: the same computation


def reading_claims(ctx: Any) -> list:
    """Exact parity with the references (same weights, same batches): how many follow
    chainrule's per-epoch loss within float32 rounding (``TOL``; each one that does not is
    named with its difference) and start within ``START_TOL`` at step 1, the float64 pair
    within ``F64_TOL``, how many end with exactly chainrule's test accuracy (any other is
    compared beyond two standard errors); then what was skipped and why."""
    m, out = ctx.metrics, []
    diffs = m["reference_differences"]

    def diff(key: str, name: str) -> Any:
        return metric(ctx, "reference_differences", key, name)

    if diffs:
        out += [Count("reference runs", "follow chainrule's per-epoch training loss to float32 "
                      "rounding", tuple(diff(k, "max_abs_epoch_loss_diff") for k in diffs),
                      op="<=", bar=TOL, spec=".0e"),
                Count("reference runs", "start from chainrule's first mini-batch loss to "
                      "float32 rounding", tuple(diff(k, "first_step_loss_diff") for k in diffs),
                      op="<=", bar=START_TOL, spec=".0e")]
    out += [Threshold(f"{key} against chainrule: the largest per-epoch loss difference",
                      diff(key, "max_abs_epoch_loss_diff"), TOL, op="<=",
                      bar_note="float32 rounding", spec=".1e")
            for key, d in diffs.items() if d["max_abs_epoch_loss_diff"] > TOL]
    out += [Threshold(f"{key} against chainrule in float64 (is it the same computation?): "
                      "the largest mini-batch loss difference",
                      diff(key, "float64_max_abs_step_loss_diff"), F64_TOL, op="<=",
                      bar_note="float64 rounding", spec=".1e")
            for key, d in diffs.items() if "float64_max_abs_step_loss_diff" in d]
    if diffs:
        out.append(Count("reference runs", "end with exactly chainrule's test accuracy",
                         tuple(diff(k, "test_accuracy_diff") for k in diffs), op="==",
                         bar=0.0, show_bar=False))
    for key, d in diffs.items():
        if d["test_accuracy_diff"] != 0:
            ref, opt = key.split(" ")
            out.append(Compare(f"test accuracy ({opt})", "chainrule",
                               metric(ctx, "runs", f"chainrule {opt}", "test_accuracy"), ref,
                               metric(ctx, "runs", key, "test_accuracy"), better="higher",
                               resolution=diff(key, "test_accuracy_two_se"),
                               resolution_note="two standard errors", spec="pct"))
    if not diffs:
        out.append(Fact("no reference library ran, so nothing was compared", ()))
    out += [Fact(lib + " was skipped: {0}", (metric(ctx, "skipped", lib),))
            for lib in m["skipped"]]
    return out


def speed_claims(timings: dict) -> list:
    """Mean wall time of an SGD epoch, chainrule against PyTorch (``timings.json``); a factor
    within 25% is no clear difference on a shared machine."""
    def secs(name: str) -> Any:
        return measured(timings, name, "mean_seconds_per_epoch", file="timings.json")

    return [Ratio("the mean time per SGD epoch (s)", "chainrule", secs("chainrule SGD"),
                  "PyTorch", secs("PyTorch SGD"), better="lower", rel=0.25,
                  rel_note="wall time on a shared machine", spec=".3f")]
