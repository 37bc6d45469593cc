"""softmax-regression (quick): parameter count from the model, gradient check, early stopping,
curves against gradient steps, and a byte-identical metrics.json for the same seed."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import plots
from chainrule.lab.runner import run_experiment


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_experiment("softmax-regression", quick=True, seed=0,
                          out_root=tmp_path_factory.mktemp("runs"))


def test_numbers(run):
    m = run.metrics
    assert m["input_features"] == 785                       # 784 pixels + the constant 1
    hd, sm = m["models"]["hidden"], m["models"]["softmax"]
    assert hd["parameters"] == 785 * 64 + 64 * 10 + 10 == 784 * 64 + 64 + 64 * 10 + 10
    assert sm["parameters"] == 785 * 10
    assert m["gradcheck"]["ok"] and m["gradcheck"]["max_rel"] < 1e-6
    for r in (hd, sm):
        assert r["test_accuracy"] > 0.3                     # chance is 0.1
        assert 0 < r["best_step"] <= r["steps"]
        assert r["best_step"] % m["val_every"] == 0         # best weights come from a check


def test_curves_are_against_gradient_steps(run):
    cols = plots.read_csv(run.path / "history_hidden_steps.csv")
    steps, every = cols["step"], run.metrics["val_every"]
    assert steps[0] == every and (np.diff(steps) == every).all()   # one row per validation check
    assert (cols["val_loss"] > 0).all() and (cols["loss"] > 0).all()
    assert (run.path / "figures" / "curves.png").is_file()
    md = (run.path / "report.md").read_text()
    acc = run.metrics["models"]["hidden"]["test_accuracy"]
    assert f"{100 * acc:.2f}%" in md and "50,890" in md


def test_early_stopping_after_patience_checks(tmp_path):
    res = run_experiment("softmax-regression", quick=True, seed=1, out_root=tmp_path,
                         overrides={"patience": "1", "n_train": "300", "max_epochs": "20",
                                    "val_every": "2", "gradcheck_entries": "5"})
    for r in res.metrics["models"].values():
        assert r["stopped_early"]
        assert r["steps"] == r["best_step"] + 2             # one check (2 steps) without improving


def test_same_seed_reproduces_metrics_json(run, tmp_path):
    again = run_experiment("softmax-regression", quick=True, seed=0, out_root=tmp_path)
    assert (again.path / "metrics.json").read_bytes() == (run.path / "metrics.json").read_bytes()
    assert "seconds" not in (run.path / "metrics.json").read_text()
