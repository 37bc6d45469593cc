"""inference-only (quick): the plain NumPy forward pass from the .npz agrees with evaluate()."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.lab.experiments.inference_only import plain_forward
from chainrule.lab.runner import run_experiment
from resources import require


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_experiment("inference-only", quick=True, seed=0,
                          out_root=tmp_path_factory.mktemp("runs"))


def test_plain_forward_accuracy_equals_evaluate(run):
    m = run.metrics
    assert m["accuracies_equal"] is True
    for split in ("train", "test"):
        r = m[split]
        assert r["plain_accuracy"] == r["library_accuracy"]
        assert r["prediction_disagreements"] == 0
        assert r["max_abs_logit_difference"] < 1e-4
    assert m["test"]["plain_accuracy"] > 0.2          # well above chance (0.1) after three epochs
    assert m["parameters"] == 784 * 100 + 100 + 100 * 50 + 50 + 50 * 10 + 10


def test_export_is_a_plain_npz_of_named_arrays(run):
    with np.load(run.path / "weights.npz", allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    assert sorted(arrays) == ["W1", "W2", "W3", "activations", "b1", "b2", "b3"]
    assert arrays["W1"].shape == (784, 100) and arrays["W3"].shape == (50, 10)
    assert list(arrays["activations"]) == ["sigmoid", "relu"]
    for name in ("figures/curves.png", "figures/per_class.png", "history.csv", "report.md"):
        assert (run.path / name).is_file()


def test_plain_forward_by_hand():
    w = {"W1": np.array([[1.0, -1.0]]), "b1": np.array([0.0, 0.5]),
         "W2": np.array([[2.0], [3.0]]), "b2": np.array([-1.0]),
         "activations": np.array(["relu"])}
    out = plain_forward(w, np.array([[2.0], [-1.0]]))
    # x=2: h=(2, max(-1.5,0)=0) → 4−1=3;  x=−1: h=(0, 1.5) → 4.5−1=3.5
    np.testing.assert_allclose(out, [[3.0], [3.5]])


def test_fashion_mnist_option(tmp_path):

    require("fashion-mnist")
    res = run_experiment("inference-only", quick=True, seed=0, out_root=tmp_path,
                         overrides={"dataset": "fashion-mnist", "n_train": "500",
                                    "n_test": "500", "epochs": "1"})
    assert res.metrics["accuracies_equal"] is True
    assert any("fashion-mnist" in s for s in res.metrics["data_sources"])
