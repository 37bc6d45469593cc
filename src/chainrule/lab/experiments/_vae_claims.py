"""vae's answer as claims, from metrics.json alone (tests feed them crafted numbers):
chainrule's test loss against PyTorch's by the 1% test, the variant with the lowest
reconstruction error and the Laplace against the Gaussian latent (each beyond two standard
errors of a difference of two test means), and the importance-sampled log p(x) against the
ELBO."""

from __future__ import annotations

import math

from ..claims import Best, Compare, Tolerance, measured

NOTE = "two standard errors of a difference of two test means"


def _two_se(a: dict, b: dict, key: str) -> float:
    return 2.0 * math.sqrt(a[f"{key}_se"] ** 2 + b[f"{key}_se"] ** 2)


def resolutions(rows: list[dict]) -> dict[str, float]:
    """The resolutions the reading uses: for the two variants with the lowest squared error
    of the decoder mean, and for the Bernoulli decoder's Laplace vs Gaussian latent (−ELBO)."""
    by = {r["variant"]: r for r in rows}
    lo = sorted(rows, key=lambda r: r["mse"])[:2]
    out = {"mse_best_two": _two_se(lo[0], lo[-1], "mse")}
    if {"bernoulli-gaussian", "bernoulli-laplace"} <= set(by):
        out["elbo_laplace_vs_gaussian"] = _two_se(by["bernoulli-laplace"],
                                                  by["bernoulli-gaussian"], "loss")
    return out


def reading_claims(m: dict) -> list:
    """The answer's claims (``m`` = metrics.json)."""
    out = []
    c = m["comparison"]
    if "torch_test_loss" in c:
        out.append(Tolerance(f"test loss per image after {c['epochs']} epoch(s)", "chainrule",
                             measured(m, "comparison", "chainrule_test_loss"), "PyTorch",
                             measured(m, "comparison", "torch_test_loss"), rtol=0.01))
    rows = m["distributions"]
    idx = {r["variant"]: i for i, r in enumerate(rows)}
    out.append(Best("squared error of the decoder mean per pixel (comparable across the "
                    "decoders)", tuple(r["variant"] for r in rows),
                    tuple(measured(m, "distributions", i, "mse") for i in range(len(rows))),
                    better="lower", resolution=measured(m, "resolution", "mse_best_two"),
                    resolution_note=NOTE))
    if "elbo_laplace_vs_gaussian" in m["resolution"]:
        out.append(Compare("the test −ELBO per image (Bernoulli decoder, same scale)",
                           "the Laplace latent", measured(m, "distributions",
                                                          idx["bernoulli-laplace"], "loss"),
                           "the Gaussian latent", measured(m, "distributions",
                                                           idx["bernoulli-gaussian"], "loss"),
                           better="lower",
                           resolution=measured(m, "resolution", "elbo_laplace_vs_gaussian"),
                           resolution_note=NOTE, spec=".2f"))
    imp = m["importance"]
    out.append(Compare(f"the log-likelihood bound on {imp['n']:,} binarised test images",
                       f"importance sampling with k = {imp['k']}",
                       measured(m, "importance", "log_px"), "the ELBO",
                       measured(m, "importance", "elbo"), better="higher", spec=".2f"))
    return out
