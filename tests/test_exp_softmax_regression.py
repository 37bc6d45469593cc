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


# ------------------------------------------------------------ the reading, on crafted numbers
def _crafted(hidden_acc: float, soft_acc: float, gaps=(0.02, 0.01), two_se=0.006):
    from types import SimpleNamespace

    models = {k: {"test_accuracy": acc, "gap_accuracy": gap, "best_step": 100 * (i + 1),
                  "steps": 1000} for i, (k, acc, gap) in
              enumerate((("softmax", soft_acc, gaps[1]), ("hidden", hidden_acc, gaps[0])))}
    return SimpleNamespace(metrics={"models": models,
                                    "resolution": {"test_accuracy_two_se": two_se}})


def _sentences(ctx):
    from chainrule.lab.experiments.softmax_regression import reading_claims

    return [c.sentence() for c in reading_claims(ctx)]


def test_reading_says_higher_only_beyond_two_standard_errors():
    acc, gap, steps = _sentences(_crafted(0.97, 0.92))
    assert acc.startswith("test accuracy is higher for the hidden network (97.00%) than for "
                          "softmax regression (92.00%), by 5.00 points")
    assert gap.startswith("the train−test accuracy gap is lower for softmax regression (1.00%)")
    assert steps == ("the lowest validation loss came at step 100 of 1,000 for softmax "
                     "regression and at step 200 of 1,000 for the hidden network")
    acc, gap, _ = _sentences(_crafted(0.923, 0.92, gaps=(0.012, 0.01)))
    assert acc.startswith("test accuracy: no clear difference") and "higher" not in acc
    assert gap.startswith("the train−test accuracy gap: no clear difference")
    acc, *_ = _sentences(_crafted(0.90, 0.92))
    assert acc.startswith("test accuracy is higher for softmax regression")


def test_gradcheck_claims_name_the_test_that_decided_each_tensor():
    from types import SimpleNamespace

    from chainrule.lab.experiments._common import gradcheck_claims

    ctx = SimpleNamespace(metrics={"gradcheck": {"tol": 1e-6, "tensors": {
        "w": {"max_rel": 2e-7, "max_abs": 1e-9, "test": "rel"},
        "v": {"max_rel": 2.4e-6, "max_abs": 1e-9, "test": "rel"},
        "b": {"max_rel": 0.5, "max_abs": 1e-12, "test": "abs"}}}})
    rel, zero = gradcheck_claims(ctx)
    assert rel.verdict() == "1 of 2" and rel.sentence() == (
        "1 of 2 tensors judged by the relative test have a largest relative error "
        "|a − n| / max(|a|, |n|, 1e-3·scale) (at or below 1e-06)")
    assert zero.verdict() == "1 of 1" and zero.sentence().startswith(
        "1 of 1 tensors with a zero gradient, judged by the absolute test, have a largest "
        "absolute error |a − n| (at or below 1e-09)")
    ctx.metrics["gradcheck"]["tensors"]["v"]["max_rel"] = 1e-6      # at the tolerance passes
    assert gradcheck_claims(ctx)[0].verdict() == "2 of 2"


def test_quick_run_claims_recompute(run):
    from chainrule.lab.check import check_run

    assert check_run(run.path) == []
    assert "no conclusion is drawn" in (run.path / "report.md").read_text()
