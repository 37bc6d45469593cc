"""gradient-flow — why do gradients vanish or explode in deep networks, and what does the init do?

(a) A deep *linear* network: units h_0 (input), h_1, …, h_50 = y (51 layers of units), every
one of the 50 weight matrices the same n×n ``W = U·Σ·Vᵀ`` with ``Σ = c·I`` (U, V random
orthogonal). Backprop gives ``∂E/∂h_{k−1} = ∂E/∂h_k · Wᵀ`` and ``‖v·Wᵀ‖ = c‖v‖``, so from
``‖∂E/∂y‖ = 1`` the gradient reaching h_1 has norm exactly ``c^49`` — vanishing for c < 1,
exploding for c > 1. Measured in float64 with the library's own ``Linear.backward``.

(b) Deep non-linear networks (sigmoid, tanh, ReLU; Gaussian N(0, 1/fan_in) vs orthogonal
weights) on real images: ``‖∂C/∂h_t‖`` at every hidden layer t at initialisation and over
the first training steps (trained with the library's ``fit``), against the bound
``‖∂C/∂h_t‖ ≤ ‖∂C/∂h_n‖ · ∏_{k>t} ‖D_k‖·‖W_k‖`` (D_k = diag σ'(a_k), spectral norms),
computed per sample from the same network.

What to look for: in (a) the three straight lines on a log scale with slopes log c; in (b)
sigmoid's gradient shrinking by ≥4× per layer (σ' ≤ 1/4), tanh and ReLU holding up better,
orthogonal weights keeping norms flatter than Gaussian ones, and the bound always above
the measured norm (often far above: it is loose).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from ... import plots
from ..claims import Best, Compare, Count, Tolerance, metric, reading
from ..context import RunContext
from ..registry import register
from ._common import load_splits, standardize

INITS = {"gaussian": "fan_in_normal", "orthogonal": "orthogonal"}


@dataclass
class Config:
    dataset: str = "mnist"
    width_linear: int = 32
    c_values: tuple[float, ...] = (1.0, 0.5, 2.0)
    depth: int = 20
    width: int = 64
    activations: tuple[str, ...] = ("sigmoid", "tanh", "relu")
    inits: tuple[str, ...] = ("gaussian", "orthogonal")
    depths: tuple[int, ...] = (5, 10, 20, 30, 50)
    train_steps: int = 200
    record_every: int = 20
    batch_size: int = 32
    lr: float = 0.05
    probe: int = 64


def linear_chain(cfg: Config, ctx: RunContext) -> list[dict]:
    """Part (a): per-layer ‖∂E/∂h_k‖ of the 50-matrix linear chain for each c."""
    import chainrule as cr
    from chainrule import init

    n, rows = cfg.width_linear, []
    for c in cfg.c_values:
        u, v = (init.orthogonal((n, n), ctx.rng, np.float64),
                init.orthogonal((n, n), ctx.rng, np.float64))
        w = u @ (c * np.eye(n)) @ v.T
        layers = [cr.Linear(n, n, bias=False, dtype=np.float64) for _ in range(50)]
        for lin in layers:
            lin.weight.data[...] = w
        x = ctx.rng.standard_normal((1, n))
        for lin in layers:
            x = lin(x)
        dy = ctx.rng.standard_normal((1, n))
        dy /= np.linalg.norm(dy)
        for k in range(50, 0, -1):  # dy holds ∂E/∂h_k; backward through layer k gives ∂E/∂h_{k−1}
            rows.append({"c": f"c = {c:g}", "c_value": c, "layer": k,
                         "measured": float(np.linalg.norm(dy)), "predicted": float(c ** (50 - k))})
            dy = layers[k - 1].backward(dy)
    return rows


def build_deep(act: str, init_name: str, depth: int, width: int, d_in: int, classes: int, rng):
    import chainrule as cr
    from chainrule.layers.activation import activation

    sizes = [d_in] + [width] * depth
    layers = []
    for a, b in itertools.pairwise(sizes):
        layers += [cr.Linear(a, b, init=INITS[init_name], rng=rng), activation(act)]
    layers.append(cr.Linear(width, classes, init=INITS[init_name], rng=rng))
    return cr.Sequential(*layers)


def probe_norms(model, loss, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample ``‖∂C/∂h_t‖`` and its bound for t = 1..depth, each of shape (depth, N).

    C is the per-sample loss (the batch-mean gradient times N). Parameter gradients the
    backward pass accumulates are cleared afterwards.
    """
    layers = list(model)
    n = len(x)
    loss.forward(model(x), y)
    dy = layers[-1].backward(loss.backward() * float(n))
    depth = (len(layers) - 1) // 2
    norms, bounds = np.zeros((depth, n)), np.zeros((depth, n))
    norms[-1] = bounds[-1] = np.linalg.norm(dy, axis=1)
    for t in range(depth, 1, -1):  # dy = ∂C/∂h_t; go down through act_t and linear_t to h_{t−1}
        act, lin = layers[2 * t - 1], layers[2 * t - 2]
        d_max = np.abs(act.backward(np.ones_like(dy))).max(axis=1)   # ‖D_t‖ per sample
        w_norm = np.linalg.norm(lin.weight.data.astype(np.float64), 2)  # ‖W_t‖ (spectral)
        dy = lin.backward(act.backward(dy))
        norms[t - 2] = np.linalg.norm(dy, axis=1)
        bounds[t - 2] = bounds[t - 1] * d_max * w_norm
    model.zero_grad()
    return norms, bounds


@register("gradient-flow", question="Why do gradients vanish or explode with depth, and how "
          "do the activation and the initialisation change that?", config=Config,
          quick={"width_linear": 16, "depth": 10, "width": 32, "depths": (5, 10),
                 "train_steps": 20, "record_every": 10, "probe": 32},
          runtime={"quick": "7 s", "full": "9 s", "quick-5k": "5 s", "full-5k": "8 s"})
def run(cfg: Config, ctx: RunContext) -> None:
    import chainrule as cr
    from chainrule.data import DataLoader
    from chainrule.train import fit

    lin_rows = linear_chain(cfg, ctx)
    lin_csv = ctx.save_rows(lin_rows, "linear_chain")
    ctx.metrics["linear"] = {
        f"{r['c_value']:g}": {"measured": r["measured"], "predicted": r["predicted"],
                              "rel_error": abs(r["measured"] - r["predicted"]) / r["predicted"]}
        for r in lin_rows if r["layer"] == 1}

    s = load_splits(cfg.dataset, ctx, val_size=cfg.probe, n_train=cfg.train_steps * cfg.batch_size)
    xtr, xpr = standardize(*s.flat()[:2])
    ypr = s.y_val
    loss = cr.SoftmaxCrossEntropy()
    layer_rows, step_rows, depth_rows, hist_rows, deep = [], [], [], [], {}
    for act in cfg.activations:
        for init_name in cfg.inits:
            key = f"{act}/{init_name}"
            for depth in cfg.depths:
                m = build_deep(act, init_name, depth, cfg.width, xtr.shape[1], s.num_classes,
                               ctx.rng)
                nr, _ = probe_norms(m, loss, xpr, ypr)
                depth_rows.append({"activation": act, "init": init_name, "depth": depth,
                                   "ratio": float(nr[0].mean() / nr[-1].mean())})
            model = build_deep(act, init_name, cfg.depth, cfg.width, xtr.shape[1], s.num_classes,
                               ctx.rng)
            opt = cr.optim.SGD(model.parameters(), lr=cfg.lr)
            worst, info = 0.0, {}
            for step in range(0, cfg.train_steps + 1, cfg.record_every):
                if step > 0:
                    lo = (step - cfg.record_every) * cfg.batch_size
                    # the next images in order, wrapping round a training set smaller than
                    # train_steps·batch_size (the 5,000-image fallback); full MNIST never wraps
                    seg = np.arange(lo, step * cfg.batch_size) % len(xtr)
                    hist = fit(model, loss, opt, DataLoader(xtr[seg], s.y_train[seg],
                               cfg.batch_size, shuffle=False), epochs=1)
                    hist_rows += [{"run": key, "step": step, "loss": r["loss"]}
                                  for r in hist.epoch_log]
                norms, bounds = probe_norms(model, loss, xpr, ypr)
                worst = max(worst, float((norms[:-1] / bounds[:-1]).max(initial=0.0)))
                for lvl, name in ((0, "h_1"), (cfg.depth - 1, f"h_{cfg.depth}")):
                    step_rows.append({"activation": act, "series": f"{init_name}, {name}",
                                      "step": step, "norm": float(norms[lvl].mean())})
                if step == 0:
                    info = {"h1_init": float(norms[0].mean()), "hn_init": float(norms[-1].mean()),
                            "bound_h1_init": float(bounds[0].mean())}
                    for t in range(cfg.depth):
                        for kind, arr in (("measured", norms), ("bound", bounds)):
                            layer_rows.append({"activation": act, "series": f"{init_name} ({kind})",
                                               "layer": t + 1, "norm": float(arr[t].mean())})
            deep[key] = {**info, "ratio_init": info["h1_init"] / info["hn_init"],
                         "bound_over_measured_h1_init": info["bound_h1_init"] / info["h1_init"],
                         "h1_final": float(norms[0].mean()),
                         "hn_final": float(norms[-1].mean()),
                         "max_measured_over_bound": worst,
                         "bound_holds": worst <= BOUND_SLACK}
    ctx.metrics["deep"] = deep
    ctx.metrics["depth_sweep"] = {f"{r['activation']}/{r['init']}/{r['depth']}": r["ratio"]
                                  for r in depth_rows}
    csvs = {"linear": lin_csv, "layers": ctx.save_rows(layer_rows, "layer_norms_init"),
            "steps": ctx.save_rows(step_rows, "norms_over_training"),
            "depths": ctx.save_rows(depth_rows, "depth_sweep")}
    ctx.save_rows(hist_rows, "history")
    _report(cfg, ctx, csvs)


def _report(cfg: Config, ctx: RunContext, csvs: dict) -> None:
    lin = ctx.metrics["linear"]
    ctx.heading("(a) Deep linear network: the c^49 law")
    ctx.figure("linear_chain", plots.grouped_lines, csvs["linear"], x="layer", y="measured",
               group="c", xlabel="layer k (h_k)", ylabel="‖∂E/∂h_k‖ (log scale)", logy=True,
               title="Linear chain, W = U·cI·Vᵀ, ‖∂E/∂y‖ = 1",
               caption="Measured gradient norm at every layer; the prediction is c^(50−k).")
    ctx.table([[f"c = {c}", v["measured"], v["predicted"], v["rel_error"]] for c, v in lin.items()],
              ["Σ = c·I", "measured ‖∂E/∂h₁‖", "predicted c^49", "relative error"])
    ctx.md(reading(ctx, linear_claims(ctx), label="Reading (a)", exact=True))
    deep = ctx.metrics["deep"]
    ctx.heading("(b) Deep non-linear networks")
    style = {f"{i} (bound)": "--" for i in cfg.inits}
    ctx.figure("layer_norms_init", plots.grouped_lines, csvs["layers"], x="layer", y="norm",
               group="series", panel="activation", logy=True, style=style,
               xlabel="hidden layer t", ylabel="mean ‖∂C/∂h_t‖ (log scale)",
               title=f"Depth {cfg.depth}, width {cfg.width}, at initialisation",
               caption="Per-layer gradient norm at initialisation (solid) and the bound "
                       "‖∂C/∂h_n‖·∏‖D_k‖‖W_k‖ (dashed), averaged over the probe batch.")
    ctx.figure("norms_over_training", plots.grouped_lines, csvs["steps"], x="step", y="norm",
               group="series", panel="activation", logy=True,
               xlabel="gradient steps", ylabel="mean gradient norm (log scale)",
               title="First and last hidden layer during training",
               caption=f"‖∂C/∂h_1‖ and ‖∂C/∂h_{cfg.depth}‖ over the first {cfg.train_steps} "
                       f"SGD steps (lr {cfg.lr}).")
    ctx.figure("depth_sweep", plots.grouped_lines, csvs["depths"], x="depth", y="ratio",
               group="init", panel="activation", logy=True, xlabel="number of hidden layers",
               ylabel="‖∂C/∂h_1‖ / ‖∂C/∂h_n‖ (log scale)", title="Attenuation against depth",
               caption="Ratio of the first to the last hidden layer's gradient norm at "
                       "initialisation, for each depth.")
    rows = [[k, v["h1_init"], v["hn_init"], v["h1_init"] / v["hn_init"], v["bound_h1_init"],
             v["h1_final"], v["max_measured_over_bound"]] for k, v in deep.items()]
    ctx.table(rows, ["activation/init", "‖∂C/∂h₁‖ init", f"‖∂C/∂h_{cfg.depth}‖ init",
                     "ratio", "bound on ‖∂C/∂h₁‖", f"‖∂C/∂h₁‖ after {cfg.train_steps} steps",
                     "max measured/bound below h_n"])
    ctx.md("Orthogonal weights have ‖W_k‖ = 1, Gaussian N(0, 1/n) ones ‖W_k‖ ≈ 2, so the "
           "bound should be far tighter for orthogonal weights.")
    ctx.answer(reading(ctx, deep_claims(ctx, cfg.depth)), figure="layer_norms_init")


RTOL = 1e-12   # float64 rounding over 49 products of orthogonal matrices stays far below this
BOUND_SLACK = 1 + 1e-5   # measured/bound ≤ 1 up to float32 rounding of the norms


def linear_claims(ctx: Any) -> list:
    """(a): measured ‖∂E/∂h₁‖ against c^49 for each c, by a named tolerance test."""
    return [Tolerance(f"for c = {c}, ‖∂E/∂h₁‖", "measured",
                      metric(ctx, "linear", c, "measured"), "c^49",
                      metric(ctx, "linear", c, "predicted"), atol=0.0, rtol=RTOL)
            for c in ctx.metrics["linear"]]


def deep_claims(ctx: Any, depth: int) -> list:
    """(b): which activation/init attenuates the gradient most and least across the hidden
    layers at initialisation, whether the bound held everywhere, and for each activation
    whether it is tighter (bound/measured lower) for orthogonal than for Gaussian weights."""
    deep = ctx.metrics["deep"]
    keys = tuple(deep)
    what = f"ratio ‖∂C/∂h₁‖ / ‖∂C/∂h_{depth}‖ at initialisation"
    ratios = tuple(metric(ctx, "deep", k, "ratio_init") for k in keys)
    out: list = [Best(what, keys, ratios, better="lower", spec=".2e"),
                 Best(what, keys, ratios, better="higher", spec=".2e"),
                 Count("activation/init pairs", "kept measured/bound at every sample, layer "
                       "below h_n and step",
                       tuple(metric(ctx, "deep", k, "max_measured_over_bound") for k in keys),
                       op="<=", bar=BOUND_SLACK, spec=".5f")]
    for act in sorted({k.split("/")[0] for k in keys}):
        g, o = f"{act}/gaussian", f"{act}/orthogonal"
        if g in deep and o in deep:
            out.append(Compare(f"for {act}, the bound's excess over the measured ‖∂C/∂h₁‖ at "
                               "initialisation", "orthogonal",
                               metric(ctx, "deep", o, "bound_over_measured_h1_init"), "Gaussian",
                               metric(ctx, "deep", g, "bound_over_measured_h1_init"),
                               better="lower", spec=".3g"))
    return out
