"""autoencoders — how many parameters do four autoencoders have, why, and how well do they
reconstruct?

Answers UCL COMP0197 A1 question 4 (count the trainable parameters of four autoencoder
architectures and explain how the count grows as layers or features are added), and trains
each one. The models (``chainrule.models.autoencoders``): (1) dense 784 → 32 → 784; (2) deep
784 → 128 → 32 → 128 → 784; (3) convolutional: ZeroPad2d(2) to 32×32, [conv 3×3 same +
max-pool 2] with 16, 8, 8 filters to a 4×4×8 code, three stride-2 3×3 transposed
convolutions (8, 16, 1 filters) back to 32×32, Cropping2d(2) to 28×28; (4) denoising:
Gaussian noise (training only), two [conv 3×3 32 + pool] blocks, two stride-2 transposed
convolutions (32, 1). Transposed convolutions follow PyTorch (``padding=1,
output_padding=1``); Keras' ``"same"`` gives the same shapes shifted by one pixel.

Each is trained on MNIST and on Fashion-MNIST with per-pixel binary cross-entropy (the
output sigmoid fused into the loss) and Adam. The report gives every model's summary table,
the per-layer formulas (dense ``in·out + out``, conv ``k·k·C_in·C_out + C_out``; padding,
pooling, cropping and noise add none) checked against the summaries, what one more layer or
feature map adds (computed by building the larger model), and per dataset the test loss per
pixel, parameters, MACs per image and training time, beside the Keras blog's anchor for the
dense model (≈ 0.09–0.11 test BCE after 50 epochs).

Figures: originals over each model's reconstructions of the same test images (blurrier for
the 32-number dense code, sharper for the deep and denoising models; the small conv model,
given the fewest gradient steps, is still blotchy in the full preset); the denoiser's noisy
input / output / clean target at two noise levels (strokes recovered at σ = 0.3, thinner
and broken at σ = 0.6, above the training noise).

The full preset trains the dense and deep models ``epochs`` epochs on all 60,000 training
images and, the conv models being ~12–50× more expensive per image, ``conv_epochs`` on
``conv_n_train`` of them. The coursework's/Keras blog's settings: ``--set epochs=50
conv_epochs=50 conv_n_train=0`` (hours on 2 cores).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...plots import reconstruction as plots_rec
from ..claims import reading
from ..context import RunContext
from ..registry import register
from ._autoencoder_claims import (
    paired_resolution,
    parameter_claims,
    per_image_bce,
    reading_claims,
)
from ._common import load_splits, write_timings

MODELS = ("dense", "deep", "conv", "denoising")


@dataclass
class Config:
    datasets: tuple[str, ...] = ("mnist", "fashion-mnist")
    epochs: int = 5               # dense and deep, on every training image
    conv_epochs: int = 2          # conv and denoising
    conv_n_train: int = 20000     # training images for the conv models (0 = all)
    batch_size: int = 64
    lr: float = 1e-3
    noise_std: float = 0.5        # the denoiser's training noise
    noise_levels: tuple[float, ...] = (0.3, 0.6)
    n_train: int = 0              # 0 = all 60,000
    n_test: int = 0               # 0 = the whole test set
    n_shown: int = 10


def _parameter_discussion(ctx: RunContext, summaries: dict) -> None:
    from ...models.autoencoders import (
        closed_form_params,
        conv_autoencoder,
        deep_autoencoder,
        layer_formulas,
    )

    rows, out = [], {}
    for name in MODELS:
        forms = layer_formulas(name)
        counted = [r for r in summaries[name].rows if r.params]
        for (layer, formula, p), r in zip(forms, counted):
            rows.append([name, layer, formula, p, r.params, "yes" if p == r.params else "NO"])
        out[name] = {"closed_form": closed_form_params(name),
                     "summary": summaries[name].trainable_params,
                     "macs": summaries[name].total_macs}
    ctx.table(rows, ["model", "layer", "formula", "formula value", "summary()", "equal"],
              caption="Trainable parameters per layer: closed form against the model's "
              "summary (layers without parameters — padding, pooling, cropping, noise, "
              "activations, reshapes — add none).")
    d, c = out["dense"], out["conv"]
    extra_layer = deep_autoencoder(hidden=128, code=32).summary((1, 28, 28)).trainable_params
    one_map = conv_autoencoder((17, 8, 8)).summary((1, 28, 28)).trainable_params
    out["ratios"] = {"dense_over_conv_params": d["summary"] / c["summary"],
                     "conv_over_dense_macs": c["macs"] / d["macs"],
                     "deep_minus_dense": extra_layer - d["summary"],
                     "one_more_first_map": one_map - c["summary"]}
    ctx.metrics["parameters"] = out
    ctx.md(reading(ctx, parameter_claims(ctx.metrics), label="Parameters", exact=True,
                   lead="Each layer's count is its formula (table)"))
    return out


@register("autoencoders", question="How many parameters do the dense, deep, convolutional and "
          "denoising autoencoders have, and how well does each reconstruct MNIST and "
          "Fashion-MNIST?", config=Config,
          quick={"epochs": 1, "conv_epochs": 1, "n_train": 256, "conv_n_train": 128,
                 "n_test": 64, "n_shown": 6},
          runtime={"quick": "6 s", "full": "2 min 51 s",   # make run, 2 jobs
                   "quick-5k": "5 s", "full-5k": "1 min 44 s"},   # measured on mnist-5k
          source="UCL COMP0197 A1, question 4")
def run(cfg: Config, ctx: RunContext) -> None:
    import chainrule as cr
    from chainrule.data import DataLoader
    from chainrule.train import evaluate, fit

    from ...models.autoencoders import AUTOENCODERS, reconstruct

    note = " (quick preset: a smoke test, numbers not meaningful)" if ctx.quick else ""
    summaries = {n: AUTOENCODERS[n](rng=0).summary((1, 28, 28)) for n in MODELS}
    ctx.heading("Parameter counts")
    for name in MODELS:
        s = summaries[name]
        ctx.table([[f"{r.name} {r.type}", " × ".join(map(str, r.output_shape)), r.params]
                   for r in s.rows], ["layer", "output shape", "parameters"],
                  caption=f"{name}: total {s.trainable_params:,} trainable parameters, "
                  f"{s.total_macs:,} MACs per image.")
    _parameter_discussion(ctx, summaries)
    results, timings, resolution = {}, {}, {}
    for dataset in cfg.datasets:
        s = load_splits(dataset, ctx, val_size=0, n_train=cfg.n_train or None,
                        n_test=cfg.n_test or None)
        prefix, xtr, xte = dataset.replace("-", "_"), s.x_train, s.x_test
        sub = ctx.rng.permutation(len(xtr))[:cfg.conv_n_train] if cfg.conv_n_train else None
        shown, res, recs, per_image = xte[:cfg.n_shown], {}, {}, {}
        for name in MODELS:
            conv = name in ("conv", "denoising")
            kw = {"noise_std": cfg.noise_std} if name == "denoising" else {}
            model = AUTOENCODERS[name](rng=int(ctx.rng.integers(2**31)), **kw)
            x = xtr[np.sort(sub)] if conv and sub is not None else xtr
            epochs = cfg.conv_epochs if conv else cfg.epochs
            loss = cr.BCEWithLogits()
            hist = fit(model, loss, cr.optim.Adam(model.parameters(), lr=cfg.lr),
                       DataLoader(x, None, cfg.batch_size, rng=int(ctx.rng.integers(2**31))),
                       epochs=epochs, metrics=None)
            per_image[name] = per_image_bce(model, xte)
            test = float(per_image[name].mean())
            secs = float(sum(r["seconds"] for r in hist.epoch_log))
            timings[f"{prefix}_{name}_train_seconds"] = secs
            res[name] = {"test_bce": test, "train_bce": float(hist.epoch_log[-1]["loss"]),
                         "epochs": epochs, "n_train": len(x),
                         "parameters": summaries[name].trainable_params,
                         "macs": summaries[name].total_macs, "seconds": secs}
            recs[name] = reconstruct(model, shown)
            if name == "denoising":
                gen = np.random.default_rng(int(ctx.rng.integers(2**31)))
                noisy = np.stack([shown + gen.normal(0.0, lv, shown.shape).astype(np.float32)
                                  for lv in cfg.noise_levels])
                outs = np.stack([reconstruct(model, nz) for nz in noisy])
                den = ctx.path(f"{prefix}_denoising.npz")
                np.savez_compressed(den, clean=shown, noisy=noisy, output=outs,
                                    levels=np.array(cfg.noise_levels, dtype=np.float64))
                res[name]["noisy_bce"] = {f"{lv:g}": float(evaluate(
                    model, loss, (xte + gen.normal(0.0, lv, xte.shape).astype(np.float32),
                                  xte), batch_size=500)["loss"]) for lv in cfg.noise_levels}
        rec = ctx.path(f"{prefix}_reconstructions.npz")
        np.savez_compressed(rec, originals=shown, models=np.array(MODELS),
                            **{f"rec_{k}": v for k, v in recs.items()})
        ctx.heading(f"{dataset}: trained on {s.train_name}, tested on {s.test_name}{note}")
        ctx.table([[n, r["epochs"], r["n_train"], r["test_bce"], r["parameters"], r["macs"],
                    f"{r['seconds']:.1f} s"] for n, r in res.items()],
                  ["model", "epochs", "training images", "test BCE per pixel", "parameters",
                   "MACs per image", "training time"],
                  caption=f"{dataset}: Adam (lr {cfg.lr}), batch {cfg.batch_size}; test BCE "
                  f"on {len(xte):,} images (the denoiser's on clean inputs). Times measured "
                  "on a shared machine, one BLAS thread.")
        ctx.figure(f"{prefix}_reconstructions", plots_rec.reconstruction_grid, rec,
                   title=f"{dataset}: test images and reconstructions",
                   caption=f"{dataset}: the same test images (top) reconstructed by each model.")
        ctx.figure(f"{prefix}_denoising", plots_rec.denoising_grid, den,
                   title=f"{dataset}: denoising",
                   caption=f"{dataset}: noisy input, the denoiser's output and the clean "
                   f"target at noise σ = {', '.join(f'{v:g}' for v in cfg.noise_levels)}.")
        resolution[prefix] = paired_resolution(res, per_image)
        results[dataset] = res
    ctx.metrics["results"] = {d: {n: {k: v for k, v in r.items() if k != "seconds"}
                                  for n, r in res.items()} for d, res in results.items()}
    ctx.metrics["resolution"] = resolution
    write_timings(ctx, timings)
    ctx.answer(reading(ctx, reading_claims(ctx.metrics)),
               figure=f"{cfg.datasets[0].replace('-', '_')}_reconstructions")
