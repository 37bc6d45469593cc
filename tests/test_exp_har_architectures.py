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


# ------------------------------------------------------------ the reading, on crafted numbers
def _crafted(test_f1=(0.90, 0.85, 0.80), cpu=(0.2, 1.0, 2.0), val_drop=(0.0, 0.0, 0.0),
             train_drop=(0.0, 0.0, 0.0), half=(0.0, 0.0, 0.0)):
    """metrics.json / timings.json of three models × three variations with chosen numbers:
    ``*_drop`` is what dropout 0.5 adds to the validation / training F1, ``half`` what half
    width takes from the test F1."""
    res, t = {}, {"models": {}}
    for i, mdl in enumerate(("mlp", "cnn", "lstm")):
        for var, dv, dt, dh in (("base", val_drop[i], train_drop[i], 0.0),
                                ("no dropout", 0.0, 0.0, 0.0), ("half width", 0.0, 0.0, half[i])):
            tag = f"{mdl}_{var.replace(' ', '_')}"
            res[tag] = {"model": mdl, "variation": var, "parameters": 1000 * (i + 1),
                        "val_f1": (0.8 + dv - 0.1 * i - 0.001 * (var == "no dropout")
                                   - 0.01 * (var == "half width")),
                        "train_f1": 0.9 + dt,
                        "test_f1": (test_f1[i] if var != "half width" else test_f1[i] - dh)}
            t["models"][tag] = {"train_cpu_s_per_epoch": cpu[i]}
    cm = [[10, 1, 0], [7, 20, 2], [0, 3, 30]]
    return {"results": res, "best": "mlp_base", "classes": ["SIT", "STAND", "LIE"],
            "best_confusion": cm}, t


def _sentences(**kw):
    from chainrule.lab.experiments.har_architectures import reading_claims

    return [c.sentence() for c in reading_claims(*_crafted(**kw))]


def test_reading_claims_on_both_sides_of_each_boundary():
    sel, bar, conf, top, cpu, params, val, train, half = _sentences()
    assert sel.startswith("the highest validation macro-F1 (the selection rule) is mlp / "
                          "base")
    assert bar == "the test macro-F1 of mlp / base is 0.900, at or above the bar, 0.880"
    assert conf == ("the highest count of test windows confused by mlp / base is true STAND "
                    "predicted as SIT (7)")
    assert top == "the highest test macro-F1 among the base variations is mlp (0.900)"
    assert cpu.startswith("CPU seconds per training epoch (base variations) is lower for mlp "
                          "(0.20) than for lstm (2.00): 10.0×")
    assert params == "parameters range from 1,000 (mlp) to 3,000 (lstm)"
    assert val.startswith("validation macro-F1: no clear difference between dropout 0.5")
    assert train.startswith("training macro-F1: no clear difference")
    assert half.startswith("test macro-F1: no clear difference between full width")
    # the other side: bar missed, a lead under 0.01, times within 20%, dropout and half width
    # consistently lower
    _, bar, _, top, cpu, _, val, train, half = _sentences(
        test_f1=(0.87, 0.865, 0.80), cpu=(1.0, 1.1, 1.15), val_drop=(-0.02, -0.03, -0.025),
        train_drop=(-0.05, -0.04, -0.06), half=(0.03, 0.02, 0.025))
    assert bar == "the test macro-F1 of mlp / base is 0.870, below the bar, 0.880"
    assert top.startswith("test macro-F1 among the base variations: no clear difference "
                          "between the highest two, mlp (0.870) and cnn (0.865)")
    assert cpu.startswith("CPU seconds per training epoch (base variations): no clear "
                          "difference")
    assert val.startswith("validation macro-F1 is higher for dropout 0")
    assert train.startswith("training macro-F1 is higher for dropout 0")
    assert half.startswith("test macro-F1 is higher for full width")


def test_quick_run_claims_recompute(run):
    from chainrule.lab.check import check_run

    assert check_run(run.path) == []
    md = (run.path / "report.md").read_text()
    assert "no conclusion is drawn" in md and "meets the 0.88 bar" not in md
