"""inference-only (quick): the plain NumPy forward pass from the .npz agrees with evaluate()."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from chainrule.lab.check import check_run
from chainrule.lab.experiments.inference_only import plain_forward, reading_claims
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


def test_reading_is_exact_and_recomputes(run):
    md = (run.path / "report.md").read_text()
    acc = run.metrics["test"]["plain_accuracy"]
    assert f"and {100 * acc:.2f}% test accuracy" in md          # parity holds in quick runs too
    assert "Test accuracy: within tolerance by the test |plain − evaluate()|" in md
    assert check_run(run.path) == []


def _ctx(plain: float, lib: float, logit: float) -> SimpleNamespace:
    r = {"plain_accuracy": plain, "library_accuracy": lib, "max_abs_logit_difference": logit}
    return SimpleNamespace(metrics={"train": dict(r), "test": dict(r)})


def test_reading_claims_on_crafted_numbers():
    _, acc, logit, *_ = reading_claims(_ctx(0.97, 0.97, 2e-6))
    assert acc.verdict() == "within" and "(atol 0, rtol 0)" in acc.sentence()
    assert logit.sentence() == ("the largest train logit difference is 2.0e-06, at or below "
                                "float32 rounding, 1.0e-04")
    _, acc, logit, *_ = reading_claims(_ctx(0.9701, 0.97, 2e-3))
    assert acc.verdict() == "outside" and acc.sentence().startswith("train accuracy: outside")
    assert logit.verdict() == "misses" and "above float32 rounding" in logit.sentence()


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
