"""har-architectures (quick): every row's parameters equal the closed form of its builder, the
scores and the best model's confusion matrix agree with scikit-learn on the saved predictions,
subject-wise splits, times kept out of metrics.json."""

from __future__ import annotations

import json

import numpy as np
import pytest

from chainrule.data import hapt
from chainrule.lab.experiments.har_architectures import VARIATIONS, variation_kwargs
from chainrule.lab.runner import run_experiment
from resources import require
from test_models_har import closed_form


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    require("hapt")
    return run_experiment("har-architectures", quick=True, seed=0,
                          out_root=tmp_path_factory.mktemp("runs"))


def test_every_model_and_variation_with_closed_form_parameters(run):
    res = run.metrics["results"]
    assert len(res) == 15
    for r in res.values():
        assert r["variation"] in VARIATIONS
        assert r["kwargs"] == variation_kwargs(r["model"], r["variation"])
        assert r["parameters"] == closed_form(r["model"], **r["kwargs"]), r
        assert r["macs"] > 0
    # dropout leaves the parameters alone, half width cuts them
    for m in ("mlp", "lstm", "cnn", "deepconvlstm", "convlstm"):
        assert res[f"{m}_no_dropout"]["parameters"] == res[f"{m}_base"]["parameters"]
        assert res[f"{m}_half_width"]["parameters"] < res[f"{m}_base"]["parameters"]


def test_scores_agree_with_sklearn_on_saved_predictions(run):
    skm = pytest.importorskip("sklearn.metrics")
    res = run.metrics["results"]
    with np.load(run.path / "test_predictions.npz") as f:
        y = f["y_true"]
        preds = {k: f[k] for k in f.files if k != "y_true"}
    assert set(preds) == set(res) and len(y) == 200             # quick: n_eval = 200
    for tag, r in res.items():
        assert r["test_f1"] == pytest.approx(skm.f1_score(y, preds[tag], average="macro",
                                                          labels=list(range(6)),
                                                          zero_division=0), abs=1e-12)
        assert r["test_accuracy"] == pytest.approx(float((preds[tag] == y).mean()))
    best = run.metrics["best"]
    assert res[best]["val_f1"] == max(r["val_f1"] for r in res.values())
    cm = skm.confusion_matrix(y, preds[best], labels=list(range(6)))
    np.testing.assert_array_equal(np.array(run.metrics["best_confusion"]), cm)
    assert run.metrics["best_test_f1"] == res[best]["test_f1"]


def test_subject_wise_counts_and_times_outside_metrics(run):
    m = run.metrics
    assert [sum(m["counts"][s]) for s in ("train", "validation", "test")] == [300, 200, 200]
    for s in hapt.SPLITS:
        assert set(m["users"][s]) <= set(hapt.split_users(s))
    text = (run.path / "metrics.json").read_text()
    assert "s_per_epoch" not in text and "infer" not in text
    t = json.loads((run.path / "timings.json").read_text())["models"]
    assert set(t) == set(m["results"])
    assert all(v["train_s_per_epoch"] > 0 and v["peak_train_step_mib"] > 0 for v in t.values())
    for name in ("f1_vs_cost", "best_confusion", "per_class_f1"):
        assert (run.path / "figures" / f"{name}.png").stat().st_size > 1000
    assert "Smoke test" in (run.path / "report.md").read_text()
