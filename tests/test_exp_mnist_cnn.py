"""mnist-cnn (quick): per-layer parameter counts, confusion matrix and precision/recall that
agree with scikit-learn on the saved predictions, saved figure inputs, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import plots
from chainrule.lab.runner import run_experiment
from chainrule.plots import cnn as plots_cnn


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_experiment("mnist-cnn", quick=True, seed=0,
                          out_root=tmp_path_factory.mktemp("runs"))


def test_layer_parameters(run):
    for r in run.metrics["results"].values():
        params = list(r["layer_params"].values())
        c = 8                                                # quick preset: channels (8, 8)
        assert params == [c * 25 + c, 0, 0, c * c * 25 + c, 0, 0, 0, c * 7 * 7 * 10 + 10]
        assert r["parameters"] == sum(params)


@pytest.mark.parametrize("prefix", ["mnist", "fashion_mnist"])
def test_metrics_agree_with_sklearn(run, prefix):
    skm = pytest.importorskip("sklearn.metrics")
    name = {"mnist": "mnist", "fashion_mnist": "fashion-mnist"}[prefix]
    r = run.metrics["results"][name]
    with np.load(run.path / f"{prefix}_predictions.npz") as f:
        y_true, y_pred = f["y_true"], f["y_pred"]
    assert len(y_true) == r["n_test"] == 300
    labels = list(range(10))
    cm = skm.confusion_matrix(y_true, y_pred, labels=labels)
    np.testing.assert_array_equal(np.array(r["confusion"]), cm)
    saved, names = plots_cnn.read_confusion_csv(run.path / f"{prefix}_confusion.csv")
    np.testing.assert_array_equal(saved, cm)
    assert len(names) == 10
    p, rc, f1, sup = skm.precision_recall_fscore_support(y_true, y_pred, labels=labels,
                                                         zero_division=0)
    np.testing.assert_allclose(r["precision"], p, rtol=0, atol=1e-12)
    np.testing.assert_allclose(r["recall"], rc, rtol=0, atol=1e-12)
    np.testing.assert_allclose(r["f1"], f1, rtol=0, atol=1e-12)
    cols = plots.read_csv(run.path / f"{prefix}_precision_recall.csv")
    np.testing.assert_allclose(cols["precision"], p, atol=1e-12)
    np.testing.assert_array_equal(cols["support"], sup)
    assert r["accuracy"] == pytest.approx(skm.accuracy_score(y_true, y_pred))
    assert r["accuracy"] > 0.3                               # chance is 0.1
    assert r["errors"] == int((y_true != y_pred).sum())


def test_saved_figure_inputs(run):
    with np.load(run.path / "mnist_misclassified.npz") as f:
        assert (f["y_true"] != f["y_pred"]).all() and f["images"].shape[1:] == (1, 28, 28)
        assert len(f["images"]) == min(25, run.metrics["results"]["mnist"]["errors"])
    with np.load(run.path / "mnist_filters.npz") as f:
        assert f["weight"].shape == (8, 1, 5, 5)
    for prefix in ("mnist", "fashion_mnist"):
        for fig in ("filters", "misclassified", "confusion", "precision_recall", "curves"):
            assert (run.path / "figures" / f"{prefix}_{fig}.png").stat().st_size > 1000
    md = (run.path / "report.md").read_text()
    for r in run.metrics["results"].values():
        assert f"**{100 * r['accuracy']:.2f}%**" in md


def test_same_seed_reproduces_metrics_json(run, tmp_path):
    again = run_experiment("mnist-cnn", quick=True, seed=0, out_root=tmp_path)
    assert (again.path / "metrics.json").read_bytes() == (run.path / "metrics.json").read_bytes()
