"""efficiency (quick): counted costs match hand counts and summary, the pruned models are
really smaller, Han's per-layer sparsities are reached exactly, the node-pruning rows cover
every criterion, bars are computed from the numbers, and a seed reproduces metrics.json."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import plots
from chainrule.lab.runner import run_experiment


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_experiment("efficiency", quick=True, seed=0,
                          out_root=tmp_path_factory.mktemp("runs"))


def test_hand_check_and_costs(run):
    m = run.metrics
    assert m["hand_check"] == {"params_by_hand": 266_610, "params_summary": 266_610,
                               "macs_by_hand": 266_200, "macs_summary": 266_200}
    costs = {r["model"]: r for r in m["costs"]}
    lenet = costs["LeNet-300-100"]
    assert lenet["parameters"] == 266_610 and lenet["macs"] == 266_200
    assert lenet["weight_bytes"] == 4 * 266_610
    # inference keeps one layer's input + output: 784 + 300 floats is the largest pair
    assert lenet["act_inference_bytes"] == 4 * (784 + 300)
    # training keeps the input and every output: 784 + 300 + 300 + 100 + 100 + 10
    assert lenet["act_training_bytes"] == 4 * (784 + 300 + 300 + 100 + 100 + 10)
    # the dense file holds the weights and a little framing
    assert 4 * 266_610 < lenet["file_bytes"] < 4 * 266_610 + 8_000
    # CNNs reuse weights across positions: many MACs per parameter; MLPs one
    assert costs["cnn-shapes same"]["macs"] > 10 * costs["cnn-shapes same"]["parameters"]
    assert costs["MLP 784-100-50-10"]["macs"] == 784 * 100 + 100 * 50 + 50 * 10
    for r in m["costs"]:
        assert r["act_training_bytes"] >= r["act_inference_bytes"] > 0


def test_sequence_models_are_costed(run):
    from chainrule.models.har import build_har

    costs = {r["model"]: r for r in run.metrics["costs"]}
    lstm = costs["HAR lstm (sensor window 100×6)"]
    assert lstm["parameters"] == build_har("lstm", 6, rng=0).num_parameters()
    h, c = 32, 6                          # hidden, channels: 4 gates, 100 steps, then 32 → 6
    assert lstm["macs"] == 100 * 4 * h * (c + h) + h * 6
    sent = costs["sentence RNN, sheet (10 words, d = 50)"]
    assert sent["parameters"] == 20_000 * 50 + 50 * 50 + 50 * 50 + 50 * 4 + 4
    assert lstm["test_accuracy"] is None and "cost only" in lstm["trained"]


def test_han_sparsities_exact(run):
    han = run.metrics["han"]
    expected = round(0.08 * 784 * 300) + round(0.09 * 300 * 100) + round(0.26 * 100 * 10)
    assert han["nonzero"] == expected == han["rounds"][-1]["nonzero"]
    assert han["compression"] == pytest.approx(266_200 / expected)
    assert han["bar_compression"] is True
    assert han["error_increase_points"] == pytest.approx(
        100 * (han["pruned_test_error"] - han["baseline_test_error"]))
    assert han["bar_error"] == (han["error_increase_points"] <= 0.1)


def test_node_pruning_really_shrinks(run):
    m = run.metrics
    rows = m["node_rows"]
    crits = {r["criterion"] for r in rows}
    assert crits == {"weight_l2", "outgoing_l1", "mean_activation", "apoz", "taylor", "merge",
                     "magnitude"}
    for r in rows:
        if r["criterion"] == "magnitude":
            assert r["nonzero_weights"] < r["parameters"]
    lenet_half = [r for r in rows if r["model"] == "LeNet-300-100" and r["fraction"] == 0.5
                  and r["criterion"] != "magnitude"]
    # 300-100 hidden units → 150-50: 784·150 + 150 + 150·50 + 50 + 50·10 + 10
    assert {r["parameters"] for r in lenet_half} == {784 * 150 + 150 + 150 * 50 + 50 + 510}
    node = m["node"]
    assert node["file_bytes"] < node["dense_file_bytes"] / 2
    files = m["file_bytes"]
    dense, han_dense = files["dense LeNet-300-100"], files["Han-pruned, dense file"]
    assert han_dense == dense                                 # zeros cost as much as weights
    assert files["Han-pruned, CSR file"] < dense / 5
    assert node["bar_accuracy"] == (node["accuracy_loss_points"] <= 0.5)
    assert set(m["bars"]) == {"han_compression_10x", "han_error_within_0.1_points",
                              "node_removed_50pct", "node_accuracy_within_0.5_points"}
    jac = np.array(m["disagreement"]["jaccard"])
    np.testing.assert_allclose(np.diag(jac), 1.0)
    np.testing.assert_allclose(jac, jac.T)


def test_figures_and_report(run):
    for fig in ("pareto", "memory_per_layer", "node_pruning", "size_and_time"):
        assert (run.path / "figures" / f"{fig}.png").stat().st_size > 5000
    cols = plots.read_csv(run.path / "node_pruning.csv")
    assert len(cols["criterion"]) == len(run.metrics["node_rows"])
    md = (run.path / "report.md").read_text()
    assert "smoke test" in md.lower() and "1 MAC = 2 FLOPs" in md
    assert (run.path / "timings.json").exists()
    assert "latency" not in (run.path / "metrics.json").read_text()


def test_same_seed_reproduces_metrics_json(run, tmp_path):
    again = run_experiment("efficiency", quick=True, seed=0, out_root=tmp_path)
    assert (again.path / "metrics.json").read_bytes() == (run.path / "metrics.json").read_bytes()


def test_quick_run_claims_recompute(run):
    from chainrule.lab.check import check_run

    assert check_run(run.path) == []
    import json

    from chainrule.lab.experiments._common import two_se_at_half

    node, n_test = run.metrics["node"], run.metrics["n_test"]
    cfg = json.loads((run.path / "config.json").read_text())["config"]
    assert set(node["retrain_gain"]) == {"LeNet-300-100", "mnist-cnn"}
    tested = {"LeNet-300-100": n_test,
              "mnist-cnn": min(n_test, cfg["cnn_sweep_test"])}
    for model, gains in node["retrain_gain"].items():
        assert len(gains) == 6
        assert node["gain_two_se"][model] == pytest.approx(two_se_at_half(tested[model]))


# ------------------------------------------------------------ the reading, on crafted numbers
def _crafted(compression=12.0, err_up=0.05, gains=(0.1, 0.05, 0.002), loss_pts=0.3,
             files=(1000, 1000, 150, 500), b256=(2.0, 1.9, 1.9, 0.9)):
    from chainrule.lab.experiments._efficiency_reading import retrain_gains

    rows = [{"model": "LeNet-300-100", "criterion": c, "fraction": 0.5, "retrained": rt,
             "test_accuracy": 0.8 + (g if rt else 0.0)}
            for c, g in zip(("weight_l2", "apoz", "taylor"), gains) for rt in (False, True)]
    rows.append({"model": "LeNet-300-100", "criterion": "magnitude", "fraction": 0.5,
                 "retrained": True, "test_accuracy": 0.99})
    variants = ("dense LeNet-300-100", "Han-pruned, dense file", "Han-pruned, CSR file",
                "node-pruned 50% (apoz)")
    m = {"costs": [{"model": "LeNet-300-100", "macs": 266_200, "parameters": 266_610},
                   {"model": "cnn-shapes same", "macs": 10_000_000, "parameters": 200_000,
                    "act_training_bytes": 500_000, "weight_bytes": 800_000}],
         "han": {"compression": compression, "error_increase_points": err_up},
         "node": {"fraction": 0.5, "criterion": "apoz", "accuracy_loss_points": loss_pts,
                  "retrain_gain": retrain_gains(rows, 0.5),
                  "gain_two_se": {"LeNet-300-100": 0.01}},
         "node_rows": rows, "file_bytes": dict(zip(variants, files))}
    t = {"variants": {v: {"latency_b256_s": x} for v, x in zip(variants, b256)}}
    return m, t


def _sentences(**kw):
    from chainrule.lab.experiments._efficiency_reading import reading_claims

    return [c.sentence() for c in reading_claims(*_crafted(**kw))]


def test_retrain_gains_pair_each_criterion_and_skip_magnitude():
    m, _ = _crafted()
    gains = m["node"]["retrain_gain"]["LeNet-300-100"]
    assert gains == pytest.approx({"weight_l2": 0.1, "apoz": 0.05, "taylor": 0.002})


def test_reading_claims_on_both_sides_of_each_boundary():
    s = _sentences()
    assert s[0].startswith("LeNet-300-100 does 266,200 MACs per sample with 266,610 parameters")
    assert s[2] == ("for training, that CNN keeps 500,000 bytes of activations per sample "
                    "(times the batch size) against 800,000 bytes of weights")
    assert s[3].endswith("is 12.0, at or above the bar, 10.0")
    assert s[4] == "its test error increase in points is +0.05, at or below the bar, +0.10"
    assert s[5].startswith("2 of 3 node criteria gained more than two standard errors of "
                           "LeNet-300-100 test accuracy")
    assert s[6].endswith("test accuracy loss in points is +0.30, at or below the bar, +0.50")
    assert s[7] == ("the file size is lower for node-pruned 50% (apoz) (500) than for dense "
                    "LeNet-300-100 (1,000): 2.0×")
    assert s[8].startswith("the batch-256 inference time in seconds is lower for node-pruned "
                           "50% (apoz) (0.9000) than for dense LeNet-300-100 (2.0000): 2.2×")
    assert s[9].endswith("(1,000): 6.7×")
    assert s[10].startswith("the batch-256 inference time in seconds: no clear difference "
                            "between Han-pruned, dense file (1.9000) and dense")
    s = _sentences(compression=9.5, err_up=0.2, gains=(0.005, 0.0, -0.01), loss_pts=0.6,
                   files=(1000, 1000, 1000, 1000), b256=(1.0, 0.5, 0.5, 1.2))
    assert s[3].endswith("is 9.5, below the bar, 10.0")
    assert s[4].endswith("+0.20, above the bar, +0.10")
    assert s[5].startswith("0 of 3 node criteria")
    assert s[6].endswith("+0.60, above the bar, +0.50")
    assert s[7].startswith("the file size: no clear difference") and s[7].endswith("(equal)")
    assert "no clear difference" in s[8]
    assert s[10].startswith("the batch-256 inference time in seconds is lower for Han-pruned, "
                            "dense file (0.5000) than for dense LeNet-300-100 (1.0000): 2.0×")
