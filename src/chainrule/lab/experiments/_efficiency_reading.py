"""efficiency's answer as claims, from metrics.json (``m``) and timings.json (``t``) alone so
tests can feed them crafted numbers: which constraint each architecture meets (exact counts),
how inefficient the trained MLP is (Han et al.'s bars), what retraining after node pruning
does (criteria counted whose gain exceeds two standard errors), and whether pruning makes the
network smaller and faster (file sizes exact; times called only beyond 25%, the spread
between two measurements of one model on a shared machine)."""

from __future__ import annotations

from ..claims import Count, Fact, Ratio, Threshold, measured

# The issue's bars: Han et al.'s ≥ 10× fewer weights at ≤ 0.1 points more test error; node
# pruning at ≤ 0.5 points of test accuracy lost (the metrics' flags and the claims use these).
HAN_COMPRESSION_BAR, HAN_ERROR_BAR, NODE_LOSS_BAR = 10.0, 0.1, 0.5

TIMER = "two timings of one model on a shared machine"


def retrain_gains(rows: list, fraction: float) -> dict[str, dict[str, float]]:
    """Per model and node criterion at ``fraction``: retrained − not retrained test accuracy
    (what the reading counts; stored in ``metrics["node"]["retrain_gain"]``)."""
    at = {(r["model"], r["criterion"], r["retrained"]): r["test_accuracy"] for r in rows
          if r["fraction"] == fraction and r["criterion"] != "magnitude"}
    out: dict[str, dict[str, float]] = {}
    for (model, crit, rt), acc in at.items():
        if rt and (model, crit, False) in at:
            out.setdefault(model, {})[crit] = acc - at[model, crit, False]
    return out


def reading_claims(m: dict, t: dict) -> list:
    """The answer's claims (see the module docstring)."""
    out = []
    costs = {r["model"]: i for i, r in enumerate(m["costs"])}
    for name, label, note in (
            ("LeNet-300-100", "LeNet-300-100", ("each weight used once per sample: storing "
                                                "and streaming the weights is its cost")),
            ("cnn-shapes same", "the cnn-shapes CNN", ("each weight reused across positions: "
                                                       "compute is its cost"))):
        if name in costs:
            out.append(Fact(f"{label} does {{0:,}} MACs per sample with {{1:,}} parameters "
                            f"({note})", (measured(m, "costs", costs[name], "macs"),
                                          measured(m, "costs", costs[name], "parameters"))))
    if "cnn-shapes same" in costs:
        i = costs["cnn-shapes same"]
        out.append(Fact("for training, that CNN keeps {0:,} bytes of activations per sample "
                        "(times the batch size) against {1:,} bytes of weights",
                        (measured(m, "costs", i, "act_training_bytes"),
                         measured(m, "costs", i, "weight_bytes"))))
    out += [Threshold("Han et al.'s magnitude pruning: the compression of LeNet-300-100's "
                      "weights", measured(m, "han", "compression"), HAN_COMPRESSION_BAR,
                      bar_note="the bar",
                      spec=".1f"),
            Threshold("its test error increase in points", measured(m, "han",
                                                                   "error_increase_points"),
                      HAN_ERROR_BAR, op="<=", bar_note="the bar", spec="+.2f")]
    f = m["node"]["fraction"]
    for model, gains in m["node"].get("retrain_gain", {}).items():
        out.append(Count("node criteria", f"gained more than two standard errors of {model} "
                         f"test accuracy from retraining after {f:.0%} of the units were "
                         "removed", tuple(measured(m, "node", "retrain_gain", model, c)
                                          for c in gains), op=">",
                         bar=measured(m, "node", "gain_two_se", model), spec="pct"))
    out.append(Threshold(f"the bar model's ({m['node']['criterion']}, {f:.0%} of the units "
                         "removed, retrained) test accuracy loss in points",
                         measured(m, "node", "accuracy_loss_points"), NODE_LOSS_BAR, op="<=",
                         bar_note="the bar", spec="+.2f"))
    files = list(m["file_bytes"])
    dense = next(v for v in files if v.startswith("dense"))
    han_dense = next(v for v in files if "dense file" in v)
    han_csr = next(v for v in files if "CSR" in v)
    node = next(v for v in files if v.startswith("node-pruned"))
    for what, a, b, rel, src, key in (
            ("the file size", node, dense, 0.0, "metrics.json", ()),
            ("the batch-256 inference time in seconds", node, dense, 0.25, "timings.json",
             ("latency_b256_s",)),
            ("the file size", han_csr, dense, 0.0, "metrics.json", ()),
            ("the batch-256 inference time in seconds", han_dense, dense, 0.25, "timings.json",
             ("latency_b256_s",))):
        doc, keys = (m, ("file_bytes",)) if src == "metrics.json" else (t, ("variants",))
        out.append(Ratio(what, a, measured(doc, *keys, a, *key, file=src), b,
                         measured(doc, *keys, b, *key, file=src), rel=rel,
                         rel_note=TIMER if rel else "", spec="int" if not rel else ".4f"))
    return out
