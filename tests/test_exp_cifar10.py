"""cifar10 (quick): runs on stand-in data written in the official format and says so; every
attempt is reported (failures too); numbers agree with the saved predictions; per-layer
parameter counts by hand; real-format files are used when they resolve; same seed, same
metrics.json."""

from __future__ import annotations

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule import plots
from chainrule.lab.experiments._cifar10_parts import ATTEMPTS, STAND_IN_CLASSES, recipe
from chainrule.lab.runner import run_experiment


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_experiment("cifar10", quick=True, seed=0,
                          out_root=tmp_path_factory.mktemp("runs"))


def test_stand_in_data_is_declared(run):
    m = run.metrics
    assert m["data"] == "stand-in"
    assert m["n_train"] + m["n_val"] == 300 and m["n_test"] == 100
    md = (run.path / "report.md").read_text()
    assert "**This run used STAND-IN DATA, not CIFAR-10.**" in md
    assert md.index("STAND-IN DATA") < md.index("## Attempts")  # at the top, before results
    assert any("stand-in" in s for s in m["data_sources"])


def test_every_attempt_is_reported_with_a_status(run):
    att = run.metrics["attempts"]
    assert list(att) == list(ATTEMPTS)
    ladder = "baseline"  # the greedy ladder: each change goes on the best configuration so far
    for name, r in att.items():
        assert r["status"] in {"ok", "no gain", "diverged"}
        if name != "baseline":
            assert r["built_on"] == (ladder if ATTEMPTS[name][0] == "best" else "baseline")
        if r["status"] == "diverged":  # stopped by a non-finite loss, or a non-finite test loss
            assert r["reason"] and (r["test_accuracy"] is None or r["steps"] == 12)
            continue
        assert r["steps"] == 12 and 0.0 <= r["test_accuracy"] <= 1.0
        if name != "baseline":
            ref = att[r["built_on"]]["test_accuracy"]
            assert r["gain"] == pytest.approx(r["test_accuracy"] - ref, abs=1e-12)
            assert (r["status"] == "ok") == (r["test_accuracy"] > ref)
        if name == "baseline" or (r["status"] == "ok" and ATTEMPTS[name][0] == "best"):
            ladder = name
    md = (run.path / "report.md").read_text()
    for name, r in att.items():
        assert f"| {name} | {r['built_on']} | {r['change']} |" in md
    failed = sum(r["status"] != "ok" for n, r in att.items() if n != "baseline")
    assert f"{failed} of {len(att) - 1} attempts failed" in md


def test_numbers_match_saved_predictions_and_figures_exist(run):
    best = run.metrics["best"]
    for name in {"baseline", best}:
        pred = np.load(run.path / f"{name.replace('-', '_')}_predictions.npz")
        acc = float(np.mean(pred["y_true"] == pred["y_pred"]))
        assert acc == run.metrics["attempts"][name]["test_accuracy"]
        cm = np.array(run.metrics["attempts"][name]["detail"]["confusion"])
        assert cm.sum() == 100 and np.trace(cm) == round(acc * 100)
        pr = plots.read_csv(run.path / f"{name}_precision_recall.csv")
        assert list(pr["class"]) == list(STAND_IN_CLASSES)
        tp = np.diag(cm)
        assert np.allclose(pr["recall"], np.where(cm.sum(1), tp / np.maximum(cm.sum(1), 1), 0))
        for fig in ("filters", "misclassified", "confusion", "precision_recall"):
            assert (run.path / "figures" / f"{name}_{fig}.png").is_file()
    assert (run.path / "figures" / "attempts.png").is_file()
    assert (run.path / "figures" / "curves.png").is_file()
    md = (run.path / "report.md").read_text()
    assert f"**{100 * run.metrics['attempts']['baseline']['test_accuracy']:.2f}%**" in md


def test_layer_parameter_counts_by_hand(run):
    # quick preset: width 0.25 -> baseline channels 4, 4; wider 8, 16
    lp = run.metrics["attempts"]["baseline"]["layer_params"]
    assert lp["0 Conv2d"] == 3 * 4 * 25 + 4 and lp["3 Conv2d"] == 4 * 4 * 25 + 4
    assert lp["7 Linear"] == 4 * 8 * 8 * 10 + 10
    assert run.metrics["attempts"]["baseline"]["parameters"] == sum(lp.values()) == 3278
    assert run.metrics["attempts"]["wider"]["channels"] == [8, 16]
    bn = run.metrics["attempts"]["batchnorm"]
    c = bn["channels"][0]
    assert bn["layer_params"]["1 BatchNorm2d"] == 2 * c + 2 * c  # gamma, beta + running stats
    assert recipe("dropout", recipe("wider"))["channels"] == (32, 64)
    assert recipe("high-lr", recipe("wider"))["channels"] == (16, 16)  # branches off baseline


# The forced divergence (lr 1e30) overflows float32 on purpose; the test checks it is reported.
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning",
                            "ignore:invalid value encountered:RuntimeWarning")
def test_real_format_files_are_used_when_they_resolve(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, size=(150, 3, 32, 32), dtype=np.uint8)
    y = np.arange(150) % 10
    cr.data.write_cifar10(tmp_path / "c10", x[:120], y[:120], x[120:], y[120:], version="bin")
    res = run_experiment("cifar10", quick=True, seed=0, out_root=tmp_path / "runs",
                         overrides={"data": "auto", "data_dir": str(tmp_path / "c10"),
                                    "attempts": "baseline,high-lr", "iterations": "3",
                                    "val_size": "20", "high_lr": "1e30"})
    assert res.metrics["data"] == "cifar10" and res.metrics["iterations_per_attempt"] == 3
    diverged = res.metrics["attempts"]["high-lr"]
    assert diverged["status"] == "diverged" and diverged["test_accuracy"] is None
    assert diverged["steps"] < 3 and "loss is" in diverged["reason"]
    assert "*high-lr* diverged (loss is" in (res.path / "report.md").read_text()
    assert res.metrics["n_train"] == 100 and res.metrics["n_test"] == 30
    assert "STAND-IN" not in (res.path / "report.md").read_text()
    with pytest.raises(RuntimeError, match="cifar10/train not found"):
        run_experiment("cifar10", quick=True, out_root=tmp_path / "runs",
                       overrides={"data": "cifar10", "data_dir": str(tmp_path / "none")})


def test_same_seed_reproduces_metrics_json(run, tmp_path):
    again = run_experiment("cifar10", quick=True, seed=0, out_root=tmp_path)
    assert (again.path / "metrics.json").read_bytes() == (run.path / "metrics.json").read_bytes()
    assert "seconds" not in json.loads((run.path / "metrics.json").read_text())
