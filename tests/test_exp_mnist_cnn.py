"""mnist-cnn (quick): per-layer parameter counts, confusion matrix and precision/recall that
agree with scikit-learn on the saved predictions, saved figure inputs, reproducibility."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from chainrule import plots
from chainrule.lab.check import check_run
from chainrule.lab.claims import SMOKE_READING
from chainrule.lab.experiments.mnist_cnn import answer_claims
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
    assert SMOKE_READING in md and check_run(run.path) == []
    for d, r in run.metrics["results"].items():
        lin = list(r["layer_params"].values())[-1]
        assert f"**{d}: parameters.** The linear layer holds {lin:,} of the " in md


def _results(acc: float, train_name: str = "mnist", recall=(0.99, 0.95, 0.97)):
    r = {"accuracy": acc, "n_test": 10000, "errors": round(10000 * (1 - acc)), "epochs": 3,
         "n_train": 59500, "train_name": train_name, "top_confusion": ["4", "9", 17],
         "classes": ["0", "4", "9"], "recall": list(recall)}
    return SimpleNamespace(metrics={"results": {"mnist": r}, "coursework_target": 0.98})


def test_answer_claims_on_crafted_numbers():
    fact, target, confusion, weakest = (c.sentence() for c in answer_claims(_results(0.9891)))
    assert fact == ("MNIST: test accuracy 98.91% on 10,000 test images (109 errors) after 3 "
                    "epochs on 59,500 training images")
    assert target == ("the MNIST test accuracy is 98.91%, at or above the coursework's \"about "
                      "98%\", 98.00%")
    assert confusion == "MNIST: the most frequent confusion is true 4 predicted as 9 (17 times)"
    assert weakest == "the lowest MNIST recall is 4 (95.00%)"
    below = [c.sentence() for c in answer_claims(_results(0.9790))][1]
    assert below.startswith("the MNIST test accuracy is 97.90%, below the coursework's")
    # the 5k fallback is not the set-up the 98% is for: no claim against it
    assert len(answer_claims(_results(0.97, train_name="mnist-5k"))) == 3
    tie = answer_claims(_results(0.99, recall=(0.95, 0.95, 0.97)))[-1]
    assert tie.verdict() == "no clear difference"
    assert tie.sentence() == ("MNIST recall: no clear difference between the lowest two, "
                              "0 (95.00%) and 4 (95.00%) (equal)")


def test_same_seed_reproduces_metrics_json(run, tmp_path):
    again = run_experiment("mnist-cnn", quick=True, seed=0, out_root=tmp_path)
    assert (again.path / "metrics.json").read_bytes() == (run.path / "metrics.json").read_bytes()
