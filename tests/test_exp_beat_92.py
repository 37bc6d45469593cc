"""beat-92 (quick): every ablation stage runs, and each technique changes the model the way it
claims — measured on the trained stage models by the experiment itself."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import plots
from chainrule.lab.experiments import beat_92
from chainrule.lab.runner import run_experiment


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_experiment("beat-92", quick=True, seed=0, out_root=tmp_path_factory.mktemp("runs"))


def test_stages_in_order_with_their_layers(run):
    rows = run.metrics["stages"]
    names = [r["stage"] for r in rows]
    assert names == [*beat_92.STAGES[:6], beat_92.BRIDGE, *beat_92.STAGES[6:]]
    for r in rows:
        assert 0.0 <= r["val_accuracy"] <= 1.0 and r["parameters"] > 0
    by = {r["stage"]: r for r in rows}
    h = 32                                                   # quick preset: hidden 32
    assert by["baseline"]["parameters"] == 784 * h + h + h * h + h + h * 10 + 10
    # batch norm replaces the linear biases with γ and β: +h parameters per hidden layer
    assert by["+ batch norm"]["parameters"] == by["baseline"]["parameters"] + 2 * h
    assert by["+ conv layers"]["macs"] > 2 * by["+ Adam"]["macs"]
    assert 0.0 <= run.metrics["final_test_accuracy"] <= 1.0


def test_dropout_only_in_training(run):
    c = run.metrics["checks"]["dropout"]
    assert c["eval_is_identity"] and c["eval_deterministic"] and c["train_differs"]
    assert abs(c["train_zero_fraction"] - 0.2) < 0.03       # p = 0.2 of units dropped
    assert c["train_kept_scale"] == pytest.approx(1 / 0.8)  # survivors scaled by 1/(1 − p)


def test_batchnorm_uses_running_statistics_in_evaluation(run):
    c = run.metrics["checks"]["batchnorm"]
    assert c["eval_uses_running_stats"] and c["sample_independent_in_eval"]
    assert c["eval_differs_from_batch_stats"] > 1e-3
    assert c["running_mean_moved"] > 0 and c["batches_tracked"] == 2 * 10   # 600/64 → 10 steps


def test_relu_he_adam_schedule_conv_shift(run):
    c = run.metrics["checks"]
    assert abs(c["relu_he"]["he_std_ratio"] - 1) < 0.05     # std ≈ √(2/fan_in)
    assert c["relu_he"]["baseline_max_abs_times_sqrt_fan_in"] <= 1.0   # U(±1/√fan_in)
    assert c["relu_he"]["relu_layers"] == 2 and c["relu_he"]["sigmoid_layers"] == 0
    assert c["adam"]["optimizer"] == "Adam" and c["adam"]["moment_buffers_nonzero"]
    s = c["schedule"]
    assert s["final_lr"] == pytest.approx(s["expected_final_lr"])
    assert s["final_lr"] < s["initial_lr"]
    assert c["conv"]["conv_layers"] == 2
    a = c["augment"]
    assert a["all_are_shifts"] and a["shifted_images"] >= a["checked"] // 2


def test_flags_are_cumulative():
    on = [sum(beat_92.flags(i).values()) for i in range(len(beat_92.STAGES))]
    assert on == list(range(len(beat_92.STAGES)))


def test_report_and_figures(run):
    cols = plots.read_csv(run.path / "ablation.csv")
    np.testing.assert_allclose(cols["val_accuracy"],
                               [r["val_accuracy"] for r in run.metrics["stages"]])
    md = (run.path / "report.md").read_text()
    assert f"**{100 * run.metrics['final_val_accuracy']:.2f}%**" in md
    assert f"**{100 * run.metrics['final_test_accuracy']:.2f}%**" in md
    for fig in ("ablation", "curves"):
        assert (run.path / "figures" / f"{fig}.png").stat().st_size > 1000


def test_same_seed_reproduces_metrics_json(run, tmp_path):
    again = run_experiment("beat-92", quick=True, seed=0, out_root=tmp_path)
    assert (again.path / "metrics.json").read_bytes() == (run.path / "metrics.json").read_bytes()
