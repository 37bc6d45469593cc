"""efficiency's report: tables, figures, metrics and the reading, all from measured numbers."""

from __future__ import annotations

import itertools
from typing import Any

from ...plots import efficiency as plots_eff
from ..context import RunContext
from ._common import pct, two_se_at_half
from ._efficiency_reading import HAN_COMPRESSION_BAR, HAN_ERROR_BAR, NODE_LOSS_BAR, retrain_gains

CONVENTIONS = (
    "**Counting conventions.** Parameters are weights and biases. MACs are multiply-"
    "accumulates for one sample's forward pass (Linear in·out, Conv2d O·C·kh·kw·Ho·Wo); bias "
    "additions, activations, pooling, softmax and the loss are not counted; 1 MAC = 2 FLOPs. "
    "Inference activation memory is the largest input + output of any one layer (a chain keeps "
    "only those alive); training activation memory is the input plus every layer's output "
    "(what backward needs kept, roughly: im2col workspaces and dropout masks are not counted). "
    "Bytes are float32, per sample. File sizes are the `.npz` files chainrule writes (dense "
    "`cr.save`, `prune.save_pruned`, or CSR `prune.save_sparse`). Times are wall-clock medians "
    "on the machine that ran this report, one process; they are in `timings.json`, not in "
    "`metrics.json`.")


def _kib(b: Any) -> str:
    return "—" if b is None else f"{b / 1024:,.1f}"


def _ms(s: float) -> str:
    return f"{1000 * s:.3g}"


def hand_check(base: Any) -> dict[str, int]:
    """LeNet-300-100 counted by hand against ``summary``."""
    sizes = (784, 300, 100, 10)
    by_hand_p = sum(a * b + b for a, b in itertools.pairwise(sizes))
    by_hand_m = sum(a * b for a, b in itertools.pairwise(sizes))
    s = base.summary((784,))
    return {"params_by_hand": by_hand_p, "params_summary": int(s.trainable_params),
            "macs_by_hand": by_hand_m, "macs_summary": int(s.total_macs)}


def _cost_section(ctx: RunContext, cfg: Any, table: list, tab_times: dict, memory_rows: list,
                  memory_model: str) -> None:
    ctx.heading("What each architecture costs")
    ctx.md(CONVENTIONS)
    rows = []
    for r in table:
        t = tab_times.get(r["model"])
        nz = r.get("nonzero_weights")
        rows.append([r["model"], f"{r['parameters']:,}", "—" if nz is None else f"{nz:,}",
                     _kib(r["file_bytes"]),
                     f"{r['macs']:,}", f"{r['macs'] / max(1, r['parameters']):.1f}",
                     _kib(r["act_inference_bytes"]), _kib(r["act_training_bytes"]),
                     *(["—"] * 3 if t is None else [_ms(t["latency_b1_s"]),
                                                    _ms(t["latency_b256_s"]),
                                                    _ms(t["train_step_s"])]),
                     "—" if r["test_accuracy"] is None else pct(r["test_accuracy"]),
                     r["trained"]])
    ctx.table(rows, ["model", "params", "non-zero params", "file KiB (dense)", "MACs/sample",
                     "MACs/param", "act. KiB inference", "act. KiB training", "ms batch 1",
                     "ms batch 256",
                     f"ms/train step (batch {cfg.batch_size})", "test acc.", "trained"],
              caption="Counted costs per sample and measured times. Training activation "
                      "memory is per sample: multiply by the batch size.")
    csv = ctx.save_rows([r for r in table if r["test_accuracy"] is not None], "costs")
    ctx.figure("pareto", plots_eff.pareto, csv, title="Accuracy against compute and size",
               caption="Test accuracy against MACs per sample (left) and parameters (right); "
                       "the orange steps join the models no cheaper model beats.")
    mem = ctx.save_rows(memory_rows, "memory_per_layer")
    ctx.figure("memory_per_layer", plots_eff.memory_per_layer, mem, batch=256,
               title=f"{memory_model}: memory per layer",
               caption=f"{memory_model}: each layer's output for a batch of 256 (what training "
                       "keeps for backward) against its weights.")


def _han_section(ctx: RunContext, base_acc: float, control_acc: float, han_rows: list,
                 nonzero: int, weights: int) -> dict[str, Any]:
    ctx.heading("Han et al. (2015): magnitude pruning of LeNet-300-100")
    ctx.table([[r["round"], f"{r['nonzero']:,}", f"{r['weights'] / r['nonzero']:.1f}×",
                pct(r["pruned_test_accuracy"]), pct(r["retrained_test_accuracy"])]
               for r in han_rows],
              ["round", "non-zero weights", "compression", "test acc. pruned",
               "test acc. retrained"],
              caption="Each round prunes to the next per-layer sparsity, then retrains with the "
                      "pruned weights held at zero.")
    final = han_rows[-1]["retrained_test_accuracy"]
    err_up = 100 * (base_acc - final)
    res = {"baseline_test_error": 1 - base_acc, "pruned_test_error": 1 - final,
           "control_test_error": 1 - control_acc, "weights": weights, "nonzero": nonzero,
           "compression": weights / nonzero, "error_increase_points": err_up,
           "rounds": han_rows}
    res["bar_compression"] = bool(res["compression"] >= HAN_COMPRESSION_BAR)
    res["bar_error"] = bool(err_up <= HAN_ERROR_BAR)
    ctx.md(f"Dense LeNet-300-100: test error **{100 * (1 - base_acc):.2f}%** "
           f"(Han et al.: 1.64%). Pruned to **{nonzero:,}** of {weights:,} weights "
           f"(**{res['compression']:.1f}×** fewer; Han et al.: 12×, 267k → 22k) and retrained: "
           f"test error **{100 * (1 - final):.2f}%** (Han et al.: 1.59%), "
           f"{err_up:+.2f} points against the dense baseline; the dense control, retrained the "
           f"same way without pruning, has {100 * (1 - control_acc):.2f}%. The bar (≥ 10×, "
           f"≤ +0.1 points) is judged in the answer below.")
    return res


def _node_section(ctx: RunContext, cfg: Any, mlp_rows: list, cnn_rows: list, chosen: dict,
                  base_acc: float, size_rows: list, disagreement: dict,
                  n_test: int) -> dict[str, Any]:
    ctx.heading("Node pruning: remove units, retrain, measure")
    csv = ctx.save_rows(mlp_rows + cnn_rows, "node_pruning")
    ctx.figure("node_pruning", plots_eff.pruning_curves, csv,
               title="Accuracy against the fraction of units removed",
               caption="Test accuracy after removing a fraction of every hidden layer's units "
                       "(filters) by each criterion, without (dashed) and with (solid) "
                       "retraining; 'magnitude' removes that fraction of weights instead "
                       f"(unstructured). CNN accuracies on {cfg.cnn_sweep_test:,} test images.")
    f = chosen["fraction"]
    at = {(r["model"], r["criterion"], r["retrained"]): r for r in mlp_rows + cnn_rows
          if r["fraction"] == f}
    crits = list(dict.fromkeys(r["criterion"] for r in mlp_rows))
    ctx.table([[c, *[pct(at[(m, c, rt)]["test_accuracy"]) if (m, c, rt) in at else "—"
                     for m in ("LeNet-300-100", "mnist-cnn") for rt in (False, True)]]
               for c in crits],
              ["criterion", "LeNet not retrained", "LeNet retrained", "CNN not retrained",
               "CNN retrained"], caption=f"Test accuracy with {f:.0%} of the units removed.")
    loss_pts = 100 * (base_acc - chosen["test_accuracy"])
    sz = {r["variant"]: r for r in size_rows}
    dense, node = size_rows[0], size_rows[-1]
    res = {"criterion": chosen["criterion"], "fraction": f, "test_accuracy":
           chosen["test_accuracy"], "baseline_test_accuracy": base_acc,
           "accuracy_loss_points": loss_pts, "parameters": chosen["parameters"],
           "file_bytes": node["file_bytes"], "dense_file_bytes": dense["file_bytes"],
           "file_reduction": dense["file_bytes"] / node["file_bytes"],
           "bar_removed": bool(f >= 0.5), "bar_accuracy": bool(loss_pts <= NODE_LOSS_BAR),
           "retrain_gain": retrain_gains(mlp_rows + cnn_rows, f),
           "gain_two_se": {name: two_se_at_half(n) for name, n in
                           (("LeNet-300-100", n_test),
                            ("mnist-cnn", min(n_test, cfg.cnn_sweep_test)))}}
    ctx.md(f"The bar model: LeNet-300-100 with **{f:.0%}** of its hidden units removed by "
           f"**{chosen['criterion']}** (chosen by validation accuracy) and retrained "
           f"{cfg.sweep_epochs} epoch(s): test accuracy **{pct(chosen['test_accuracy'])}** "
           f"against {pct(base_acc)} dense ({-loss_pts:+.2f} points; bar: at most 0.5 points "
           f"lost, judged in the answer); {chosen['parameters']:,} parameters, file "
           f"{_kib(node['file_bytes'])} KiB against {_kib(dense['file_bytes'])} KiB; inference "
           f"{_ms(node['latency_b256_s'])} ms against {_ms(dense['latency_b256_s'])} ms at "
           f"batch 256 and {_ms(node['latency_b1_s'])} against {_ms(dense['latency_b1_s'])} ms "
           f"at batch 1 (wall-clock on a shared machine; whether that is faster is judged "
           f"beyond 25% in the answer).")
    ctx.table([[r["variant"], _kib(r["file_bytes"]), _ms(r["latency_b1_s"]),
                _ms(r["latency_b256_s"])] for r in sz.values()],
              ["variant", "file KiB", "ms batch 1", "ms batch 256"],
              caption="Which pruning shrinks files and which shrinks time.")
    csv2 = ctx.save_rows(size_rows, "size_and_time")
    ctx.figure("size_and_time", plots_eff.size_and_time, csv2,
               title="Pruned LeNet-300-100: file size and inference time",
               caption="Model file size and median inference time (batch 256) of the dense, "
                       "magnitude-pruned (stored dense, and CSR) and node-pruned networks.")
    names, jac = disagreement["criteria"], disagreement["jaccard"]
    ctx.table([[a, *[f"{v:.2f}" for v in row]] for a, row in zip(names, jac)],
              ["", *names], caption=f"Overlap (Jaccard) of the first hidden layer's units "
              f"each pair of criteria removes at {f:.0%}, before retraining.")
    return res


def report(ctx: RunContext, cfg: Any, **r: Any) -> None:
    """Write the report sections and ``ctx.metrics``."""
    from ..claims import reading
    from ._efficiency_parts import accuracy
    from ._efficiency_reading import reading_claims

    flat = r["flat"]
    base_acc = accuracy(r["base"], flat["xte"], flat["yte"])
    control_acc = accuracy(r["control"], flat["xte"], flat["yte"])
    weights = sum(int(m.size) for m in r["masks"].values())
    nonzero = sum(int(m.sum()) for m in r["masks"].values())
    check = hand_check(r["base"]) if flat["xtr"].shape[1] == 784 else {}
    _cost_section(ctx, cfg, r["table"], r["tab_times"], r["memory_rows"], r["memory_model"])
    if check:
        ctx.md(f"Checked by hand on LeNet-300-100: parameters 784·300 + 300 + 300·100 + 100 + "
               f"100·10 + 10 = {check['params_by_hand']:,} (summary: "
               f"{check['params_summary']:,}); MACs 784·300 + 300·100 + 100·10 = "
               f"{check['macs_by_hand']:,} (summary: {check['macs_summary']:,}).")
    han = _han_section(ctx, base_acc, control_acc, r["han_rows"], nonzero, weights)
    node = _node_section(ctx, cfg, r["mlp_rows"], r["cnn_rows"], r["chosen"], base_acc,
                         r["size_rows"], r["disagreement"], len(flat["xte"]))
    ctx.metrics.update(
        hand_check=check, costs=r["table"], han=han, node=node,
        node_rows=r["mlp_rows"] + r["cnn_rows"], disagreement=r["disagreement"],
        file_bytes={x["variant"]: x["file_bytes"] for x in r["size_rows"]},
        bars={"han_compression_10x": han["bar_compression"],
              "han_error_within_0.1_points": han["bar_error"],
              "node_removed_50pct": node["bar_removed"],
              "node_accuracy_within_0.5_points": node["bar_accuracy"]},
        n_train=len(flat["xtr"]), n_test=len(flat["xte"]))
    ctx.answer(reading(ctx, reading_claims(ctx.metrics, r["timings"])), figure="size_and_time")
