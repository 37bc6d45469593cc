"""efficiency's reading paragraph: the coursework's questions answered from the numbers."""

from __future__ import annotations

from typing import Any

import numpy as np


def _mean_gain(rows: list, fraction: float) -> float | None:
    """Mean (retrained − not retrained) test accuracy over the node criteria at ``fraction``."""
    by = {}
    for r in rows:
        if r["fraction"] == fraction and r["criterion"] != "magnitude":
            by.setdefault(r["criterion"], {})[r["retrained"]] = r["test_accuracy"]
    gains = [v[True] - v[False] for v in by.values() if True in v and False in v]
    return float(np.mean(gains)) if gains else None


def _best(rows: list, fraction: float, retrained: bool) -> dict | None:
    c = [r for r in rows if r["fraction"] == fraction and r["retrained"] == retrained
         and r["criterion"] != "magnitude"]
    return max(c, key=lambda r: r["test_accuracy"]) if c else None


def _ratio(a: float, b: float, what: str) -> str:
    """'1.8× faster' or 'no clear difference' (within 25%: timings on a shared machine
    differ by that much between two measurements of one model)."""
    q = a / b
    if q > 1.25:
        return f"{q:.1f}× {what}"
    if q < 1 / 1.25:
        return f"{1 / q:.1f}× slower"
    return "no clear difference"


def reading(ctx: Any, table: list, han: dict, node: dict, mlp_rows: list, cnn_rows: list,
            size_rows: list, dis: dict, tab_times: dict) -> str:
    if ctx.quick:
        return ("**Reading.** Quick preset: a smoke test on a few hundred images and one or two "
                "epochs — the numbers are not meaningful and no conclusion is drawn from them. "
                "Run the full preset (`chainrule lab run efficiency`) for the answers.")
    byname = {r["model"]: r for r in table}
    mlp, cnn = byname.get("LeNet-300-100"), byname.get("cnn-shapes same")
    parts = ["**Reading.**"]
    if mlp and cnn:
        parts.append(
            f"*Which constraint.* LeNet-300-100 does {mlp['macs'] / mlp['parameters']:.1f} MACs "
            f"per parameter — every weight is used once per sample — so its cost is the weights "
            f"themselves ({mlp['weight_bytes'] / 1024:,.0f} KiB to store and to stream from "
            f"memory at each inference), while its activations are small "
            f"({mlp['act_training_bytes'] / 1024:.1f} KiB per sample for training). The "
            f"cnn-shapes CNN reuses each weight {cnn['macs'] / cnn['parameters']:,.0f} times "
            f"({cnn['macs']:,} MACs from {cnn['parameters']:,} parameters): compute is its "
            f"constraint, and for training at batch 256 its activations take "
            f"{cnn['act_training_bytes'] * 256 / 2**20:,.0f} MiB against "
            f"{cnn['weight_bytes'] / 2**20:.2f} MiB of weights — memory during training is "
            f"activations, not weights.")
        t1, t2 = tab_times.get("LeNet-300-100"), tab_times.get("cnn-shapes same")
        if t1 and t2:
            parts.append(f"Measured, the CNN's batch-256 inference takes "
                         f"{t2['latency_b256_s'] / t1['latency_b256_s']:.0f}× the MLP's for "
                         f"{cnn['macs'] / mlp['macs']:.0f}× the MACs.")
    lstm, sent = byname.get("HAR lstm (sensor window 100×6)"), byname.get(
        "sentence RNN, sheet (10 words, d = 50)")
    if lstm and sent:
        parts.append(
            f"Recurrent layers reuse their weights at every time step: the HAR LSTM does "
            f"{lstm['macs'] / lstm['parameters']:.0f} MACs per parameter over its 100 steps "
            f"(compute, and a serial time loop), while the sentence RNN's parameters are "
            f"{sent['parameters']:,}, almost all of them the embedding table read one row per "
            f"word ({sent['macs']:,} MACs per sentence): its constraint is memory.")
    parts.append(
        f"*Inefficiency.* Magnitude pruning leaves LeNet-300-100 with {han['nonzero']:,} of its "
        f"{han['weights']:,} weights ({han['compression']:.1f}× fewer) at "
        f"{han['error_increase_points']:+.2f} points of test error: most of the trained "
        "network's weights were not needed, which is what \"inefficient\" means.")
    f = node["fraction"]
    g_mlp, g_cnn = _mean_gain(mlp_rows, f), _mean_gain(cnn_rows, f)
    fmax = max(r["fraction"] for r in mlp_rows)
    g_max = _mean_gain(mlp_rows, fmax)
    if g_mlp is not None:
        txt = (f"*Retraining.* With {f:.0%} of the units removed, retraining raises test "
               f"accuracy by {100 * g_mlp:+.2f} points on average over the criteria for the MLP")
        if g_cnn is not None:
            txt += f" and {100 * g_cnn:+.2f} for the CNN"
        if g_max is not None and fmax != f:
            txt += f" ({100 * g_max:+.2f} for the MLP at {fmax:.0%})"
        parts.append(txt + ": the surviving weights were fit to inputs that included the "
                     "removed units; a few epochs let them take over their contribution.")
    b0, b1 = _best(mlp_rows, f, False), _best(mlp_rows, f, True)
    names, jac = dis["criteria"], np.array(dis["jaccard"])
    off = [(jac[i, j], names[i], names[j]) for i in range(len(names))
           for j in range(i + 1, len(names))]
    if b0 and b1 and off:
        lo, hi = min(off), max(off)
        parts.append(
            f"*Heuristics.* Without retraining the best criterion at {f:.0%} is {b0['criterion']}"
            f" ({100 * b0['test_accuracy']:.2f}%), after retraining {b1['criterion']} "
            f"({100 * b1['test_accuracy']:.2f}%). They disagree on which units go: "
            f"{lo[1]} and {lo[2]} share {lo[0]:.0%} of the removed first-layer units (Jaccard), "
            f"{hi[1]} and {hi[2]} {hi[0]:.0%}.")
    dense = size_rows[0]
    han_dense = next(r for r in size_rows if "dense file" in r["variant"])
    han_csr = next(r for r in size_rows if "CSR" in r["variant"])
    nodev = size_rows[-1]
    parts.append(
        f"*Smaller and faster?* Node pruning: file {dense['file_bytes'] / nodev['file_bytes']:.1f}"
        f"× smaller, batch-256 inference "
        f"{_ratio(dense['latency_b256_s'], nodev['latency_b256_s'], 'faster')}. Magnitude "
        f"pruning stored dense: file {dense['file_bytes'] / han_dense['file_bytes']:.2f}× "
        f"(the zeros are stored), inference "
        f"{_ratio(dense['latency_b256_s'], han_dense['latency_b256_s'], 'faster')}; stored as "
        f"CSR the file is {dense['file_bytes'] / han_csr['file_bytes']:.1f}× smaller, but the "
        f"dense matrix product costs the same. Timings were measured on a shared machine.")
    return " ".join(parts)
