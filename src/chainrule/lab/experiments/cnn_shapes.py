"""cnn-shapes — what does zero ("same") padding versus valid padding do to a CNN's shapes and cost?

``cr.models.CNN`` with conv kernel 5, pooling kernel 2, stride 1 for every convolution and
pooling layer, and max pooling, built twice: once with "same" zero padding, once with
"valid" (no) padding. For each, the model's own summary (``Module.summary``, computed from
the layers' ``output_shape``/``macs``/``shape_arithmetic`` — no hand-written shape table)
gives every layer's output shape (depth × height × width), the arithmetic behind each
spatial size, parameter counts, multiply-accumulates and the length of the flattened vector
that feeds the linear layer. Both models are then trained briefly on MNIST with the same
optimizer and compared on test accuracy, parameters, MACs and measured time per epoch.

What to look for: in the shape figure, "same" convolutions keep the side and each stride-1
pooling layer takes exactly one pixel off it (kernel − 1), while "valid" convolutions also
take kernel − 1 = 4 pixels off; the flattened vector, and so the linear layer, is what
differs most in parameter count. In the curves, both models learn at similar speed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ... import plots
from ..claims import Compare, Fact, Ratio, measured, metric, reading
from ..context import RunContext
from ..registry import register
from ._common import load_splits, pct, two_se, write_timings

PADDINGS = (("same", True), ("valid", False))


@dataclass
class Config:
    dataset: str = "mnist"
    conv_kernel_size: int = 5
    pooling_kernel_size: int = 2
    stride_size: int = 1
    max_pooling: bool = True
    channels: tuple[int, ...] = (16, 32)
    epochs: int = 1             # one pass over the 59,500 full-MNIST images (~100 s a model)
    batch_size: int = 64
    lr: float = 0.05
    momentum: float = 0.9
    val_size: int = 500
    n_train: int = 0            # 0 = every training image
    n_test: int = 0             # 0 = the whole test set


def _shape(s) -> str:
    return " × ".join(map(str, s))


@register("cnn-shapes", question="How do same vs valid padding change a stride-1 CNN's layer "
          "shapes, parameters, cost and accuracy?", config=Config,
          quick={"epochs": 1, "n_train": 300, "n_test": 300, "val_size": 100,
                 "channels": (4, 8)},
          runtime={"quick": "2 s", "full": "3 min 9 s",
                   "quick-5k": "3 s", "full-5k": "13 s"})   # measured on mnist-5k
def run(cfg: Config, ctx: RunContext) -> None:
    import chainrule as cr
    from chainrule.data import DataLoader
    from chainrule.train import evaluate, fit

    s = load_splits(cfg.dataset, ctx, val_size=cfg.val_size, n_train=cfg.n_train or None,
                    n_test=cfg.n_test or None)
    in_shape = tuple(s.x_train.shape[1:])
    loss = cr.SoftmaxCrossEntropy()
    models, curves, layer_rows, timing = {}, {}, [], {}
    for name, same in PADDINGS:
        model = cr.models.CNN(cfg.conv_kernel_size, cfg.pooling_kernel_size, cfg.stride_size,
                              zero_padding=same, max_pooling=cfg.max_pooling,
                              channels=cfg.channels, in_shape=in_shape,
                              num_classes=s.num_classes, rng=ctx.rng)
        summ = model.summary(in_shape)
        ctx.log(str(summ))
        ctx.path(f"summary_{name}.txt").write_text(str(summ) + "\n")
        for i, r in enumerate(summ.rows):
            layer_rows.append({"padding": name, "index": i, "layer": f"{r.name} {r.type}",
                               "output_shape": _shape(r.output_shape),
                               "side": r.output_shape[-1] if len(r.output_shape) == 3 else "",
                               "params": r.params, "macs": r.macs,
                               "arithmetic": r.arithmetic or ""})
        ctx.log(f"training the {name}-padding CNN")
        opt = cr.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum)
        train = DataLoader(s.x_train, s.y_train, cfg.batch_size, shuffle=True, rng=ctx.rng)
        val = DataLoader(s.x_val, s.y_val, 500, shuffle=False)
        hist = fit(model, loss, opt, train, val, epochs=cfg.epochs)
        curves[f"{name} padding"] = ctx.save_history(hist, f"history_{name}")
        timing[name] = sum(r["seconds"] for r in hist.epoch_log) / len(hist.epoch_log)
        test = evaluate(model, loss, DataLoader(s.x_test, s.y_test, 500, shuffle=False))
        models[name] = {
            "flat_features": int(model.flat_features),
            "flat_features_from_summary": int(math.prod(summ.rows[-2].output_shape)),
            "shapes": [list(r.output_shape) for r in summ.rows],
            "layers": [r.type for r in summ.rows],
            "layer_params": [r.params for r in summ.rows],
            "arithmetic": [r.arithmetic for r in summ.rows],
            "parameters": int(summ.trainable_params), "macs": int(summ.total_macs),
            "conv_parameters": int(sum(r.params for r in summ.rows if r.type != "Linear")),
            "conv_linear_macs": int(sum(r.macs for r in summ.rows
                                        if r.type in ("Conv2d", "Linear"))),
            "val_accuracy": float(hist.epoch_log[-1]["val_accuracy"]),
            "test_accuracy": float(test["accuracy"]), "test_loss": float(test["loss"]),
        }
        ctx.heading(f"Summary: {name} padding")
        ctx.code(str(summ))
    ctx.metrics.update(input_shape=list(in_shape), n_train=len(s.x_train),
                       n_test=len(s.x_test), models=models)
    layers_csv = ctx.save_rows(layer_rows, "layers")
    timings = {"seconds_per_epoch": timing}
    write_timings(ctx, timings)
    ctx.metrics["resolution"] = {"test_accuracy_two_se": two_se(
        models["same"]["test_accuracy"], len(s.x_test), models["valid"]["test_accuracy"],
        len(s.x_test))}
    _write_report(cfg, ctx, models, timings, curves, layers_csv)


def _write_report(cfg: Config, ctx: RunContext, models: dict, timings: dict, curves: dict,
                  layers_csv) -> None:
    timing = timings["seconds_per_epoch"]
    k, p = cfg.conv_kernel_size, cfg.pooling_kernel_size
    ctx.heading("Shapes")
    ctx.figure("shapes", plots.grouped_lines, layers_csv, x="index", y="side", group="padding",
               xlabel="layer index (conv, activation, pool, …)",
               ylabel="feature-map side (pixels)",
               title=(f"Side after each layer\n(conv {k}×{k}, pool {p}×{p}, "
                      f"stride {cfg.stride_size})"),
               caption="Height (= width) of the feature map after each layer, for both paddings.")
    rows = []
    for name, m in models.items():
        for lt, shp, prm, ar in zip(m["layers"], m["shapes"], m["layer_params"], m["arithmetic"]):
            rows.append([name, lt, _shape(shp), ar or "", prm])
    ctx.table(rows, ["padding", "layer", "output (depth × H × W)", "arithmetic", "params"],
              caption="Read from each model's summary (layers' output_shape and "
                      "shape_arithmetic).")
    sm, va = models["same"], models["valid"]
    ctx.md(reading(ctx, shape_claims(ctx), label="Shapes", exact=True))
    ctx.heading("Comparison")
    ctx.table([[n, m["flat_features"], m["parameters"], m["macs"], m["conv_linear_macs"],
                f"{timing[n]:.2f} s", pct(m["val_accuracy"]), pct(m["test_accuracy"])]
               for n, m in models.items()],
              ["padding", "flat features", "parameters", "MACs (all)", "MACs (conv + linear)",
               "time / epoch", "val acc", "test acc"],
              caption=f"{cfg.epochs} epoch(s) of SGD (lr {cfg.lr}, momentum {cfg.momentum}, "
                      f"batch {cfg.batch_size}) on {ctx.metrics['n_train']:,} training images. "
                      "MACs per sample; 'all' counts pooling comparisons too (summary "
                      "convention). Times are wall-clock on a shared machine.")
    ctx.figure("curves", plots.training_curves, curves, x="epoch",
               title="Same vs valid padding: training (solid) and validation (dashed)",
               caption="Loss and accuracy per epoch for both models.")
    ctx.answer(reading(ctx, reading_claims(ctx, timings), lead=f"After {cfg.epochs} epoch(s) of "
                       "training"), figure="shapes")
    # Why stride-1 pooling shrinks each side by only kernel − 1, from the measured first pool.
    i_pool = next(i for i, t in enumerate(sm["layers"]) if t.endswith("Pool2d"))
    h_in, h_out = sm["shapes"][i_pool - 1][-1], sm["shapes"][i_pool][-1]
    ctx.heading("Why stride-1 pooling shrinks each side by only kernel − 1")
    ctx.md(f"A pooling window of side k = {p} placed with stride s starts at positions 0, s, "
           f"2s, … and the last start must leave room for the whole window, so the output side "
           f"is ⌊(H − k)/s⌋ + 1. With s = {cfg.stride_size} every one of the H − k + 1 start "
           f"positions is used: the windows overlap and the map loses only the k − 1 = {p - 1} "
           f"positions at the end where a window would stick out — here the first pool maps "
           f"{h_in} → {h_out} ({sm['arithmetic'][i_pool].split(';')[0]}). Halving needs s = k "
           f"(non-overlapping windows), which gives ⌊(H − k)/k⌋ + 1 = ⌊H/k⌋. Stride-1 pooling "
           f"therefore adds some translation invariance but barely reduces the feature map, "
           f"which is why the flattened vector stays large ({sm['flat_features']:,} / "
           f"{va['flat_features']:,}) and the linear layer holds most of the parameters.")


TIME_RESOLUTION = 0.25   # one timed epoch per model on a shared machine: a closer factor is noise


def shape_claims(ctx: Any) -> list:
    """Exact facts from the two models' summaries: the flattened vector, the parameter counts
    (and whether the conv layers' differ), and the MACs per sample."""
    def both(*keys: str) -> tuple:
        return metric(ctx, "models", "same", *keys), metric(ctx, "models", "valid", *keys)

    return [Fact("the flattened vector before the linear layer has {0:,} entries with same "
                 "padding and {1:,} with valid padding", both("flat_features")),
            Compare("the parameter count", "same padding", both("parameters")[0],
                    "valid padding", both("parameters")[1], better="lower", spec="int"),
            Compare("the conv layers' parameter count", "same padding",
                    both("conv_parameters")[0], "valid padding", both("conv_parameters")[1],
                    better="lower", spec="int"),
            Compare("MACs per sample", "same padding", both("macs")[0], "valid padding",
                    both("macs")[1], better="lower", spec="int")]


def reading_claims(ctx: Any, timings: dict) -> list:
    """Trained models: test accuracy (clear beyond two standard errors) and measured time per
    epoch (``timings``, saved as ``timings.json``; a factor of at most 1 + ``TIME_RESOLUTION``
    is no clear difference)."""
    def secs(name: str) -> Any:
        return measured(timings, "seconds_per_epoch", name, file="timings.json")

    return [Compare("test accuracy", "same padding",
                    metric(ctx, "models", "same", "test_accuracy"), "valid padding",
                    metric(ctx, "models", "valid", "test_accuracy"), better="higher",
                    resolution=metric(ctx, "resolution", "test_accuracy_two_se"),
                    resolution_note="two standard errors", spec="pct"),
            Ratio("the measured time per epoch (s)", "same padding", secs("same"),
                  "valid padding", secs("valid"), better="lower", rel=TIME_RESOLUTION,
                  rel_note="one timed epoch each on a shared machine", spec=".2f")]
