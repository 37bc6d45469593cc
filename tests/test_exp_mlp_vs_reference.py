"""mlp-vs-reference (quick): chainrule trains, PyTorch from the same weights and batches gives
the same losses to float32 precision (float64: to rounding), timings stay out of metrics.json,
the experiment still runs without PyTorch, and the same seed reproduces metrics.json."""

from __future__ import annotations

import json
import sys
from types import SimpleNamespace

import pytest
from threadpoolctl import threadpool_limits

from chainrule.lab.check import check_run
from chainrule.lab.experiments import mlp_vs_reference as mvr
from chainrule.lab.runner import run_experiment


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    with threadpool_limits(limits=1):   # tiny matmuls: one BLAS thread, also on a busy machine
        return run_experiment("mlp-vs-reference", quick=True, seed=0,
                              out_root=tmp_path_factory.mktemp("runs"))


def test_chainrule_trains(run):
    m = run.metrics
    assert m["input_features"] == 784 and m["num_classes"] == 10
    for name in ("chainrule SGD", "chainrule Adam"):
        r = m["runs"][name]
        assert len(r["epoch_loss"]) == 3
        assert r["epoch_loss"][-1] < r["epoch_loss"][0]          # the loss falls
        assert r["test_accuracy"] > 0.2                          # chance is 0.1
    assert m["steps_per_run"] == 3 * -(-m["n_train"] // 32)


def test_pytorch_coincides_to_float32_precision(run):
    pytest.importorskip("torch")
    m = run.metrics
    for key in ("PyTorch SGD", "PyTorch Adam"):
        d = m["reference_differences"][key]
        assert d["first_step_loss_diff"] <= 1e-6                 # same weights, same batch
        assert d["max_abs_step_loss_diff"] <= 1e-5               # every step, float32
        assert d["max_abs_epoch_loss_diff"] <= 1e-5
        assert d["first_step_over_tolerance"] is None
    assert m["reference_differences"]["PyTorch SGD"]["float64_max_abs_step_loss_diff"] <= 1e-12
    md = (run.path / "report.md").read_text()
    f64 = m["reference_differences"]["PyTorch SGD"]["float64_max_abs_step_loss_diff"]
    assert f"the largest mini-batch loss difference is {f64:.1e}, at or below float64" in md
    assert "4 of 4 reference runs start from chainrule's first mini-batch loss" in md
    assert check_run(run.path) == []


def test_keras_is_a_real_comparison(run):
    pytest.importorskip("keras")   # installed by `make test` (the reference extra)
    m = run.metrics
    assert "Keras" not in m["skipped"]
    for key in ("Keras SGD", "Keras Adam"):
        assert len(m["runs"][key]["epoch_loss"]) == 3
        assert m["reference_differences"][key]["first_step_loss_diff"] <= 1e-6  # same start
    sgd, adam = m["reference_differences"]["Keras SGD"], m["reference_differences"]["Keras Adam"]
    assert sgd["max_abs_step_loss_diff"] <= 1e-5                 # the same algorithm
    assert 1e-5 < adam["max_abs_epoch_loss_diff"] < 1e-2         # ε placed elsewhere: close
    md = (run.path / "report.md").read_text()
    assert "3 of 4 reference runs follow chainrule's per-epoch training loss" in md
    assert "Keras Adam against chainrule: the largest per-epoch loss difference is" in md
    assert "Keras adds ε to √v *before* the bias correction" in md
    assert m["headline"]["optimizer"] == "SGD (lr 0.05, momentum 0.9)"


def test_outputs(run):
    assert (run.path / "figures" / "epoch_loss.png").is_file()
    text = (run.path / "metrics.json").read_text()
    assert "seconds" not in text
    timings = json.loads((run.path / "timings.json").read_text())
    assert len(timings["chainrule SGD"]["seconds_per_epoch"]) == 3
    assert timings["threads"]["NumPy BLAS"] == 1
    if "Keras SGD" not in run.metrics["runs"]:
        assert "Keras was skipped" in (run.path / "report.md").read_text()


def test_runs_without_pytorch(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)              # `import torch` raises
    with threadpool_limits(limits=1):
        res = run_experiment("mlp-vs-reference", quick=True, seed=0, out_root=tmp_path,
                             overrides={"n_train": "200", "epochs": "1", "keras": "false"})
    assert set(res.metrics["runs"]) == {"chainrule SGD", "chainrule Adam"}
    assert res.metrics["skipped"]["PyTorch"] == "PyTorch is not installed"
    assert res.metrics["reference_differences"] == {}
    md = (res.path / "report.md").read_text()
    assert "PyTorch was skipped: PyTorch is not installed" in md
    assert "No reference library ran, so nothing was compared" in md
    assert check_run(res.path) == []


def _ctx(epoch=(1e-8, 2e-3), first=(1e-7, 1e-7), acc=((0.9, 0.9), (0.9, 0.95)),
         skipped=None) -> SimpleNamespace:
    diffs, runs = {}, {}
    for i, (key, opt) in enumerate((("PyTorch SGD", "SGD"), ("Keras Adam", "Adam"))):
        mine, ref = acc[i]
        runs[f"chainrule {opt}"], runs[key] = {"test_accuracy": mine}, {"test_accuracy": ref}
        diffs[key] = {"max_abs_epoch_loss_diff": epoch[i], "first_step_loss_diff": first[i],
                      "test_accuracy_diff": abs(mine - ref), "test_accuracy_two_se": 0.02}
    diffs["PyTorch SGD"]["float64_max_abs_step_loss_diff"] = 1e-15
    return SimpleNamespace(metrics={"reference_differences": diffs, "runs": runs,
                                    "skipped": skipped or {}})


def test_reading_claims_on_crafted_numbers():
    s = [c.sentence() for c in mvr.reading_claims(_ctx())]
    assert s[0] == ("1 of 2 reference runs follow chainrule's per-epoch training loss to float32 "
                    "rounding (at or below 1e-05)")
    assert s[1].startswith("2 of 2 reference runs start from chainrule's first mini-batch loss")
    assert s[2] == ("Keras Adam against chainrule: the largest per-epoch loss difference is "
                    "2.0e-03, above float32 rounding, 1.0e-05")
    assert s[3].endswith("is 1.0e-15, at or below float64 rounding, 1.0e-09")
    assert s[4] == "1 of 2 reference runs end with exactly chainrule's test accuracy"
    assert s[5].startswith("test accuracy (Adam) is higher for Keras (95.00%) than for "
                           "chainrule (90.00%), by 5.00 points")
    s = [c.sentence() for c in mvr.reading_claims(
        _ctx(epoch=(1e-8, 1e-8), acc=((0.9, 0.9), (0.9, 0.91)), skipped={"Keras": "off"}))]
    assert s[0].startswith("2 of 2") and not any("above float32" in x for x in s)
    assert s[4].startswith("test accuracy (Adam): no clear difference")
    assert s[-1] == "Keras was skipped: off"


def test_same_seed_reproduces_metrics_json(run, tmp_path):
    with threadpool_limits(limits=1):
        again = run_experiment("mlp-vs-reference", quick=True, seed=0, out_root=tmp_path)
    assert (again.path / "metrics.json").read_bytes() == (run.path / "metrics.json").read_bytes()
