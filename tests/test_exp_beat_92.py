"""beat-92 (quick): the Keras starter is stage 1, every ablation stage runs on notMNIST and then
Fashion-MNIST, the notMNIST split is the stated one, and each technique changes the model the
way it claims — measured on the trained stage models by the experiment itself."""

from __future__ import annotations

import hashlib
import json
from types import SimpleNamespace

import numpy as np
import pytest

from chainrule import plots
from chainrule.lab.check import check_run
from chainrule.lab.claims import SMOKE_READING
from chainrule.lab.experiments import beat_92
from chainrule.lab.runner import run_experiment
from resources import require

DATASETS = ["notmnist", "fashion-mnist"]
H = 128                                                     # the starter's units (quick too)
STARTER_PARAMS = 784 * H + H + H * H + H + H * 10 + 10      # 118,282


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    require("notmnist")
    require("fashion-mnist")
    return run_experiment("beat-92", quick=True, seed=0, out_root=tmp_path_factory.mktemp("runs"))


def test_both_datasets_notmnist_first(run):
    assert run.metrics["datasets"] == DATASETS
    assert all(name in run.metrics for name in DATASETS)
    md = (run.path / "report.md").read_text()
    assert 0 < md.index("## notMNIST") < md.index("## Fashion-MNIST")


def test_notmnist_split_is_the_stated_one(run):
    m = run.metrics["notmnist"]
    # 1,000 held out first, then 70/30 of the remaining 9,000
    assert m["split"]["test"] == 1000 and m["n_test"] == 1000
    assert m["split"]["val"] == 2700 and m["split"]["train"] == 6300
    assert m["n_train_full"] == m["n_train_mlp"] == 600      # quick preset: a subsample
    assert m["classes"] == list("ABCDEFGHIJ")


def test_notmnist_splits_partition_the_dataset():
    require("notmnist")
    from chainrule import data

    cfg = beat_92.Config()
    ctx = SimpleNamespace(seed=0, add_source=lambda _: None)
    s, _info, (n_mlp, epochs), _ = beat_92.load_dataset("notmnist", cfg, ctx)
    assert (len(s.x_train), len(s.x_val), len(s.x_test)) == (6300, 2700, 1000)
    assert (n_mlp, epochs) == (6300, 20)                     # the starter's 20 epochs on all

    def digests(x, y):
        return sorted(hashlib.sha1(a.tobytes() + bytes([int(b)])).hexdigest()
                      for a, b in zip(x, y))
    full = data.load("notmnist")
    parts = [(s.x_train, s.y_train), (s.x_val, s.y_val), (s.x_test, s.y_test)]
    assert digests(np.concatenate([p[0] for p in parts]),
                   np.concatenate([p[1] for p in parts])) == digests(full.x, full.y)
    again = beat_92.load_dataset("notmnist", cfg, ctx)[0]    # seeded: the same split again
    assert np.array_equal(again.y_val, s.y_val) and np.array_equal(again.x_test, s.x_test)


def test_starter_is_the_keras_starter(run):
    for name in DATASETS:
        m = run.metrics[name]
        assert m["stages"][0]["stage"] == "starter"
        assert m["stages"][0]["parameters"] == STARTER_PARAMS
        c = m["checks"]["starter"]
        assert c["layers"] == ["Flatten", "Linear", "Sigmoid", "Linear", "Sigmoid", "Linear"]
        assert c["units"] == [H, H, 10]
        # Glorot-uniform: |w| ≤ √(6/(fan_in+fan_out)) and the bound is nearly reached
        assert all(0.99 < r <= 1.0 for r in c["glorot_max_abs_over_bound"])
        assert c["initial_biases_zero"]
        assert c["optimizer"] == "SGD" and c["lr"] == pytest.approx(0.01)
        assert c["momentum"] == 0.0 and not c["nesterov"] and c["weight_decay"] == 0.0


def test_stages_in_order_with_their_layers(run):
    for name in DATASETS:
        m = run.metrics[name]
        rows = m["stages"]
        assert [r["stage"] for r in rows] == [*beat_92.STAGES[:6], beat_92.BRIDGE,
                                              *beat_92.STAGES[6:]]
        for r in rows:
            assert 0.0 <= r["val_accuracy"] <= 1.0 and r["parameters"] > 0
        by = {r["stage"]: r for r in rows}
        # batch norm replaces the linear biases with γ and β: +H parameters per hidden layer
        assert by["+ batch norm"]["parameters"] == STARTER_PARAMS + 2 * H
        c1, c2 = 4, 8                                        # quick preset: channels (4, 8)
        conv = (9 * c1 + 2 * c1 + 9 * c1 * c2 + 2 * c2 + 7 * 7 * c2 * H + 2 * H + H * H
                + 2 * H + H * 10 + 10)
        assert by["+ conv layers"]["parameters"] == conv
        assert by["+ conv layers"]["macs"] > by["+ Adam"]["macs"]
        assert 0.0 <= m["final_test_accuracy"] <= 1.0


def test_final_model_and_targets_from_validation(run):
    for name in DATASETS:
        m = run.metrics[name]
        best = max(m["stages"], key=lambda r: r["val_accuracy"])
        assert m["final_stage"] == best["stage"]
        assert m["final_val_accuracy"] == best["val_accuracy"]
        assert m["target_reached"] == (m["final_val_accuracy"] > 0.92)
        assert m["bonus_reached"] == (m["final_val_accuracy"] > 0.95)


def test_dropout_only_in_training(run):
    c = run.metrics["notmnist"]["checks"]["dropout"]
    assert c["eval_is_identity"] and c["eval_deterministic"] and c["train_differs"]
    assert abs(c["train_zero_fraction"] - 0.2) < 0.03       # p = 0.2 of units dropped
    assert c["train_kept_scale"] == pytest.approx(1 / 0.8)  # survivors scaled by 1/(1 − p)


def test_batchnorm_uses_running_statistics_in_evaluation(run):
    c = run.metrics["notmnist"]["checks"]["batchnorm"]
    assert c["eval_uses_running_stats"] and c["sample_independent_in_eval"]
    assert c["eval_differs_from_batch_stats"] > 1e-3
    assert c["running_mean_moved"] > 0 and c["batches_tracked"] == 2 * 10   # 600/64 → 10 steps


def test_relu_he_adam_schedule_conv_shift(run):
    c = run.metrics["fashion-mnist"]["checks"]
    assert abs(c["relu_he"]["he_std_ratio"] - 1) < 0.05     # std ≈ √(2/fan_in)
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
    md = (run.path / "report.md").read_text()
    claims = json.loads((run.path / "claims.json").read_text())["claims"]
    said = " ".join(c["sentence"] for c in claims)      # recorded, not stated: a smoke test
    assert md.count(SMOKE_READING) == 1 and "What mattered" not in md
    assert check_run(run.path) == []
    for name in DATASETS:
        m = run.metrics[name]
        cols = plots.read_csv(run.path / f"ablation_{name}.csv")
        np.testing.assert_allclose(cols["val_accuracy"], [r["val_accuracy"] for r in m["stages"]])
        assert f"its validation accuracy is {100 * m['final_val_accuracy']:.2f}%" in said
        assert f"its test accuracy is {100 * m['final_test_accuracy']:.2f}%" in said
        for fig in ("ablation", "curves", "train_loss"):
            assert (run.path / "figures" / f"{fig}_{name}.png").stat().st_size > 1000
    assert "95% bonus" in md and "1,000 were held out first" in md


def _rows(val: list, train: list) -> list:
    names = [*beat_92.STAGES[:6], beat_92.BRIDGE, *beat_92.STAGES[6:]]
    return [{"stage": n, "val_accuracy": v, "train_accuracy": t, "gap": t - v}
            for n, v, t in zip(names, val, train, strict=True)]


def test_what_mattered_on_crafted_numbers():
    from chainrule.lab.experiments._beat_92_reading import mattered_claims

    val = [0.80, 0.81, 0.83, 0.86, 0.90, 0.905, 0.91, 0.93, 0.925]
    train = [0.85, 0.84, 0.86, 0.90, 0.95, 0.96, 0.96, 0.99, 0.94]
    m = {"stages": _rows(val, train), "swing": {"starter": 0.004, "+ Adam": 0.008},
         "swing_max": 0.008}
    s = [c.sentence() for c in mattered_claims(SimpleNamespace(metrics={"x": m}), "x")]
    assert s[0] == ("the highest validation-accuracy swing over the last 5 epochs is '+ Adam' "
                    "(0.80%)")
    assert s[1] == "'+ dropout' raised validation accuracy (80.00% → 81.00%) — better"
    assert s[5] == ("'+ cosine schedule': no clear difference in validation accuracy "
                    "(90.00% → 90.50%, within the largest swing over 5 epochs (0.80 points))")
    # the conv stage is measured against the bridge row (same images and epochs), not stage 6
    assert s[6] == ("'+ conv layers' (against the MLP on the same images and epochs) raised "
                    "validation accuracy (91.00% → 93.00%) — better")
    assert s[7].startswith("'+ random shifts': no clear difference")
    assert s[8] == ("random shifts lowered the train−validation accuracy gap (6.00% → 1.50%) — "
                    "better")
    assert len(s) == 9                                   # the bridge itself is not a technique


def test_answer_on_crafted_numbers():
    from chainrule.lab.experiments._beat_92_reading import answer_claims

    def ctx(v):
        return SimpleNamespace(metrics={"datasets": ["notmnist"], "notmnist": {
            "final_stage": "+ Adam", "final_val_accuracy": v, "final_test_accuracy": 0.9,
            "n_test": 1000, "target": 0.92, "bonus": 0.95}})

    fact, target, bonus, test = (c.sentence() for c in answer_claims(ctx(0.9312), {
        "notmnist": "notMNIST"}))
    assert fact == ("on notMNIST, the final model is the stage with the best validation "
                    "accuracy, '+ Adam'")
    assert target == ("on notMNIST, its validation accuracy is 93.12%, above the coursework's "
                      "target, 92.00%")
    assert bonus == ("on notMNIST, its validation accuracy is 93.12%, at or below the bonus, "
                     "95.00%")
    assert test == "on notMNIST, its test accuracy is 90.00% on 1,000 test images"
    assert answer_claims(ctx(0.92), {})[1].verdict() == "misses"   # exceed: 92.00% is not enough


def test_same_seed_reproduces_metrics_json(run, tmp_path):
    again = run_experiment("beat-92", quick=True, seed=0, out_root=tmp_path)
    assert (again.path / "metrics.json").read_bytes() == (run.path / "metrics.json").read_bytes()
