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


# ------------------------------------------------------------ the reading, on crafted numbers
def _curve(ce, f1, neg, pos):
    """A validation-only curve (training = validation) with the disagreement flags."""
    from chainrule.lab.experiments.f1_vs_cross_entropy import disagreements

    curve = [{"epoch": e + 1, **{f"{s}_{k}": v[e] for s in ("train", "val")
                                 for k, v in (("ce", ce), ("f1", f1), ("ce_sum_neg", neg),
                                              ("ce_sum_pos", pos))}} for e in range(len(ce))]
    rows = disagreements(curve, "val")
    for c in curve:
        c["train_disagree"] = c["val_disagree"] = int(c["epoch"] in {r["epoch"] for r in rows})
    pick = max(rows, default=None, key=lambda r: r["f1"] - r["next_f1"])
    return {"curve": curve, "picked": pick}


def _sentences(m):
    from chainrule.lab.experiments.f1_vs_cross_entropy import reading_claims

    return [c.sentence() for c in reading_claims(m)]


def test_example_claims_say_lower_cross_entropy_and_lower_f1():
    from chainrule.lab.experiments.f1_vs_cross_entropy import example_claims

    ce, f1 = example_claims({"example": constructed_example()})
    assert ce.verdict() == "lower" and f1.verdict() == "lower"
    assert ce.sentence() == ("prediction B instead of A lowered the mean cross-entropy "
                             "(0.511 → 0.238) — better")
    assert f1.sentence() == ("prediction B instead of A lowered the minority-class F1 "
                             "(1.000 → 0.667) — worse")


def test_reading_claims_follow_the_curve():
    # 8 epochs; steps 2→3 and 6→7 lower both (F1 drops 0.1 and 0.05); the majority windows
    # pay at the larger drop: their summed CE falls while the minority windows' rises
    m = _curve(ce=[0.5, 0.4, 0.3, 0.35, 0.3, 0.25, 0.2, 0.21],
               f1=[0.5, 0.6, 0.5, 0.55, 0.6, 0.62, 0.57, 0.6],
               neg=[50, 40, 20, 25, 20, 18, 15, 16], pos=[10, 9, 12, 11, 10, 8, 9, 8])
    s = _sentences(m)
    assert s[0] == ("2 of 7 epoch steps (e → e + 1) lowered both the cross-entropy and the F1 "
                    "on the training set")
    assert s[2] == ("epoch 2 → 3 on the validation set (the largest F1 drop) lowered the "
                    "cross-entropy (0.40000 → 0.30000) — better")
    assert s[3].endswith("lowered the F1 (0.6000 → 0.5000) — worse")
    assert s[4] == ("that step lowered the summed cross-entropy of the majority windows "
                    "(40.0 → 20.0) — better")
    assert s[5] == ("that step raised the summed cross-entropy of the minority windows "
                    "(9.0 → 12.0) — worse")
    assert s[6] == "1 of 5 epoch steps after epoch 2 still lowered both on the validation set"
    # the minority windows improve too: the sentence says so
    m["curve"][2]["val_ce_sum_pos"] = 8.0
    assert _sentences(m)[5].startswith("that step lowered the summed cross-entropy of the "
                                       "minority windows")
    # F1 never falls with the cross-entropy: counts of 0 and no step to dissect
    calm = _curve(ce=[0.5, 0.4, 0.3, 0.2], f1=[0.5, 0.6, 0.7, 0.8], neg=[4, 3, 2, 1],
                  pos=[4, 3, 2, 1])
    s = _sentences(calm)
    assert len(s) == 3 and s[1].startswith("0 of 3 epoch steps") and "F1 drop" not in str(s)


def test_quick_run_claims_recompute(run):
    from chainrule.lab.check import check_run

    assert check_run(run.path) == []
    md = (run.path / "report.md").read_text()
    assert "**Constructed example.** Two minority" in md and "no conclusion is drawn" in md
