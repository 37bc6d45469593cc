"""autoencoders' claims: the parameter counts (exact, stated in quick runs too) and the answer
(which model reconstructs best per dataset, beyond two standard errors of the paired per-image
difference; the dense model against the Keras blog's figure; the denoiser at two noise levels),
built from metrics.json alone so tests can feed them crafted numbers. Also the per-image test
BCE the resolution comes from."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..claims import Best, Change, Fact, Ratio, Threshold, measured
from ._common import sem

KERAS_TOP = 0.11        # the Keras blog's dense autoencoder: ≈ 0.09–0.11 test BCE, 50 epochs


def per_image_bce(model: Any, x: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Each image's mean per-pixel binary cross-entropy of ``σ(model(x))`` against ``x``
    (evaluation mode, float64: ``max(z, 0) − z·t + log(1 + e^{−|z|})``)."""
    out = []
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size]
        z = model.forward(xb, training=False).astype(np.float64).reshape(len(xb), -1)
        t = xb.reshape(len(xb), -1).astype(np.float64)
        out.append((np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))).mean(axis=1))
    return np.concatenate(out) if out else np.zeros(0)


def paired_resolution(res: dict, per_image: dict[str, np.ndarray]) -> dict[str, Any]:
    """The two lowest-BCE models and two standard errors of their per-image difference (the
    same test images: a paired comparison) — below it the reading calls no difference."""
    a, b = sorted(per_image, key=lambda k: res[k]["test_bce"])[:2]
    d = per_image[a] - per_image[b]
    return {"best_two": [a, b], "two_se_paired": 2.0 * sem(d)}


def parameter_claims(m: dict) -> list:
    """What one more layer or feature map adds, and conv against dense (exact counts)."""
    return [
        Fact("going from the dense to the deep model (two 128-unit layers around the 32-unit "
             "code) adds {0:,} parameters: 784·128 + 128·32 + 32·128 + 128·784 weights plus "
             "biases replace 784·32 + 32·784", (measured(m, "parameters", "ratios",
                                                       "deep_minus_dense"),)),
        Fact("one more feature map in the conv model's first layer adds {0} parameters: its "
             "own 3·3·1 weights and bias (10) plus one more input channel to the next layer "
             "(3·3·8 = 72)", (measured(m, "parameters", "ratios", "one_more_first_map"),)),
        Ratio("the parameter count", "the conv autoencoder", measured(m, "parameters", "conv",
                                                                      "summary"),
              "the dense one", measured(m, "parameters", "dense", "summary"), rel=0.0,
              spec="int"),
        Ratio("the multiply-accumulates per image", "the dense autoencoder",
              measured(m, "parameters", "dense", "macs"), "the conv one",
              measured(m, "parameters", "conv", "macs"), rel=0.0, spec="int"),
    ]


def reading_claims(m: dict) -> list:
    """Per dataset: the lowest test BCE (beyond the paired two standard errors in
    ``m["resolution"]``) and the denoiser's BCE from noise σ 0.3 to 0.6; on MNIST, the dense
    model against the top of the Keras blog's range."""
    out = []
    for dataset, res in m["results"].items():
        prefix = dataset.replace("-", "_")
        names = tuple(res)
        out.append(Best(f"{dataset} test BCE per pixel", names,
                        tuple(measured(m, "results", dataset, n, "test_bce") for n in names),
                        better="lower",
                        resolution=measured(m, "resolution", prefix, "two_se_paired"),
                        resolution_note="two standard errors of the paired per-image "
                                        "difference"))
        if dataset == "mnist" and "dense" in res:
            out.append(Threshold(f"the dense model's MNIST test BCE after "
                                 f"{res['dense']['epochs']} epoch(s)",
                                 measured(m, "results", dataset, "dense", "test_bce"),
                                 KERAS_TOP, op="<=", bar_note="the top of the Keras blog's "
                                 "≈ 0.09–0.11 after 50 epochs"))
        noisy = res.get("denoising", {}).get("noisy_bce", {})
        if len(noisy) >= 2:
            lo, hi = min(noisy, key=float), max(noisy, key=float)
            out.append(Change(f"on {dataset}, input noise σ = {hi} instead of {lo}",
                              "the denoiser's BCE against the clean images",
                              measured(m, "results", dataset, "denoising", "noisy_bce", lo),
                              measured(m, "results", dataset, "denoising", "noisy_bce", hi),
                              better="lower"))
    return out
