"""f1-vs-cross-entropy (quick): the per-epoch curves, the disagreement table and the two
confusion matrices equal what the saved checkpoints give when reloaded and scored here with
scikit-learn; the constructed example's numbers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.lab.experiments.f1_vs_cross_entropy import constructed_example
from chainrule.lab.runner import run_experiment
from resources import require


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    require("hapt")
    return run_experiment("f1-vs-cross-entropy", quick=True, seed=0,
                          out_root=tmp_path_factory.mktemp("runs"))


def _epochs(run) -> int:
    return json.loads((run.path / "config.json").read_text())["config"]["epochs"]


@pytest.fixture(scope="module")
def reloaded(run):
    """Per epoch and set: (cross-entropy, F1, confusion) from the checkpoint, via sklearn."""
    skm = pytest.importorskip("sklearn.metrics")
    with np.load(run.path / "features.npz") as f:
        sets = {"train": (f["x_train"], f["y_train"]), "val": (f["x_val"], f["y_val"])}
    model = cr.Sequential(cr.Linear(sets["train"][0].shape[1], 2, rng=0))
    out = {}
    for e in range(1, _epochs(run) + 1):
        cr.load(run.path / "checkpoints" / f"epoch-{e:03d}.npz", model)
        for s, (x, y) in sets.items():
            z = (x.astype(np.float64) @ model[0].weight.data.astype(np.float64)
                 + model[0].bias.data)
            p = np.exp(z - z.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            pred = (p[:, 1] > 0.5).astype(int)
            out[e, s] = (skm.log_loss(y, p, labels=[0, 1]),
                         skm.f1_score(y, pred, zero_division=0),
                         skm.confusion_matrix(y, pred, labels=[0, 1]))
    return out


def test_one_checkpoint_per_epoch(run):
    names = sorted(p.name for p in (run.path / "checkpoints").iterdir())
    assert names == [f"epoch-{e:03d}.npz" for e in range(1, _epochs(run) + 1)]


def test_curves_equal_reloaded_checkpoints(run, reloaded):
    for c in run.metrics["curve"]:
        for s in ("train", "val"):
            ce, f1, _ = reloaded[c["epoch"], s]
            assert c[f"{s}_ce"] == pytest.approx(ce, rel=1e-5)
            assert c[f"{s}_f1"] == pytest.approx(f1, abs=1e-12)


def test_disagreement_table_equals_reloaded_checkpoints(run, reloaded):
    rows = run.metrics["disagreements"]
    epochs = _epochs(run)
    want = [(s, e) for s in ("train", "val") for e in range(1, epochs)
            if reloaded[e + 1, s][0] < reloaded[e, s][0]
            and reloaded[e + 1, s][1] < reloaded[e, s][1]]
    assert [(r["set"], r["epoch"]) for r in rows] == want
    assert len(rows) >= 1                         # the quick run has such epochs too
    for r in rows:
        e, s = r["epoch"], r["set"]
        assert r["f1"] == pytest.approx(reloaded[e, s][1], abs=1e-12)
        assert r["next_f1"] == pytest.approx(reloaded[e + 1, s][1], abs=1e-12)
        assert r["next_ce"] < r["ce"] and r["next_f1"] < r["f1"]
    pick = run.metrics["picked"]
    before, after = run.metrics["picked_confusions"]
    np.testing.assert_array_equal(before, reloaded[pick["epoch"], pick["set"]][2])
    np.testing.assert_array_equal(after, reloaded[pick["epoch"] + 1, pick["set"]][2])


def test_constructed_example_numbers(run):
    ex = constructed_example()
    assert ex["a"]["f1"] == 1.0 and ex["b"]["f1"] == pytest.approx(2 / 3)
    assert ex["a"]["ce"] == pytest.approx(-math.log(0.6))
    assert ex["b"]["ce"] == pytest.approx(-(3 * math.log(0.95) + math.log(0.45)) / 4)
    assert ex["b"]["ce"] < ex["a"]["ce"] and ex["b"]["f1"] < ex["a"]["f1"]
    assert run.metrics["example"] == ex
    assert run.metrics["positives"]["train"] < 0.1 * run.metrics["windows"]["train"]
