"""tricks-of-the-trade (quick): cumulative stages, steps to the validation-loss threshold,
report text written from the numbers, and a byte-identical metrics.json for the same seed."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from threadpoolctl import threadpool_limits

from chainrule.lab.check import check_run
from chainrule.lab.claims import SMOKE_READING
from chainrule.lab.experiments import tricks_of_the_trade as tt
from chainrule.lab.runner import run_experiment

STAGES = ["baseline", "+ fan-in init", "+ improved sigmoid", "+ momentum"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    with threadpool_limits(limits=1):   # tiny matmuls: one BLAS thread, also on a busy machine
        return run_experiment("tricks-of-the-trade", quick=True, seed=0,
                              out_root=tmp_path_factory.mktemp("runs"))


def test_stages_are_cumulative():
    stages = dict(tt.stages(tt.Config()))
    assert list(stages) == STAGES
    assert stages["baseline"] == {"init": "uniform", "bias_init": "uniform",
                                  "activation": "sigmoid", "lr": 0.1, "momentum": 0.0}
    assert stages["+ fan-in init"]["init"] == "fan_in_normal"
    assert stages["+ fan-in init"]["activation"] == "sigmoid"
    assert stages["+ improved sigmoid"]["init"] == "fan_in_normal"          # kept
    assert stages["+ improved sigmoid"]["activation"] == "improved_sigmoid"
    assert stages["+ momentum"] == {**stages["+ improved sigmoid"], "lr": 0.02, "momentum": 0.9}


def test_numbers(run):
    m = run.metrics
    st = m["stages"]
    assert list(st) == STAGES
    thr = m["threshold"]
    plain, mom = st["baseline"]["steps_to_threshold"], st["+ momentum"]["steps_to_threshold"]
    assert plain is not None and mom is not None
    assert mom < plain                                   # momentum gets there in fewer steps
    assert mom % m["val_every"] == 0 and plain % m["val_every"] == 0
    assert st["+ momentum"]["steps_to"][f"{thr:g}"] == mom
    for name in STAGES[1:]:                              # every trick stack beats the baseline
        assert st[name]["val_loss"] < st["baseline"]["val_loss"]
    for r in st.values():
        assert r["parameters"] == 785 * 64 + 64 * 10 + 10
        assert r["test_accuracy"] > 0.3
        assert r["val_loss"] == pytest.approx(r["best_val_loss"], rel=1e-6)   # restored weights
        assert r["gap_accuracy"] == pytest.approx(r["train_accuracy"] - r["val_accuracy"])


def test_report_is_written_from_the_numbers(run):
    md = (run.path / "report.md").read_text()
    doc = json.loads((run.path / "claims.json").read_text())
    assert doc["readings"][0]["text"] == SMOKE_READING and SMOKE_READING in md  # no conclusion
    assert check_run(run.path) == []                       # claims.json recomputes
    claims = doc["claims"]
    thr, every = run.metrics["threshold"], run.metrics["val_every"]
    plain, mom = (run.metrics["stages"][k]["steps_to_threshold"]
                  for k in ("+ improved sigmoid", "+ momentum"))
    speed = next(c for c in claims if c["refs"]["a"].endswith("/+ momentum/steps_to_threshold"))
    if plain is not None and mom is not None and abs(plain - mom) <= every:
        assert speed["verdict"] == "no clear difference"
    assert speed["sentence"].startswith(f"gradient steps to validation loss ≤ {thr:g}")
    for name in ("loss", "accuracy"):
        assert (run.path / "figures" / f"{name}.png").is_file()
    assert "seconds" not in (run.path / "metrics.json").read_text()


def _ctx(steps: dict, losses: dict, acc=(0.9724, 0.9697), every=372):
    stages = {name: {"steps_to_threshold": steps[name], "val_loss": losses[name],
                     "test_accuracy": 0.97} for name in steps}
    stages["baseline"]["test_accuracy"], stages["+ momentum"]["test_accuracy"] = acc
    return SimpleNamespace(metrics={"stages": stages, "threshold": 0.4, "val_every": every,
                                    "resolution": {"test_accuracy_two_se": 0.0066}})


NAMES = ("baseline", "+ fan-in init", "+ improved sigmoid", "+ momentum")


def _sentences(steps, losses, **kw):
    return [c.sentence() for c in tt.reading_claims(
        _ctx(dict(zip(NAMES, steps, strict=True)), dict(zip(NAMES, losses, strict=True)),
             **kw))]


def test_speed_needs_more_than_one_check_interval():
    loss = (0.1855, 0.0654, 0.0899, 0.1026)
    s = _sentences((372, 372, 744, 1116), loss)
    # both crossed at the first check: equal only to within the check interval
    assert s[0] == ("gradient steps to validation loss ≤ 0.4: no clear difference between "
                    "'+ fan-in init' (372) and 'baseline' (372) (equal to within one check "
                    "interval (372))")
    # one check apart: within the interval, no claim either way
    assert "no clear difference" in s[1] and "within one check interval (372)" in s[1]
    s = _sentences((2000, 1000, 1000, None), loss, every=100)
    assert s[0].startswith("gradient steps to validation loss ≤ 0.4 is lower for '+ fan-in "
                           "init' (1,000) than for 'baseline' (2,000), by 1,000")
    assert s[2] == ("gradient steps to validation loss ≤ 0.4 is lower for '+ improved sigmoid' "
                    "(1,000) than for '+ momentum' (never)")
    assert "faster" not in " ".join(s) and "as fast as" not in " ".join(s)


def test_reading_says_which_trick_made_the_loss_worse():
    s = _sentences((372,) * 4, (0.1855, 0.0654, 0.0899, 0.1026))
    assert s[3] == "'+ fan-in init' lowered the best validation loss (0.1855 → 0.0654) — better"
    assert s[4] == ("'+ improved sigmoid' raised the best validation loss (0.0654 → 0.0899) — "
                    "worse")
    assert s[5] == "'+ momentum' raised the best validation loss (0.0899 → 0.1026) — worse"
    assert s[6] == ("all three tricks together lowered the best validation loss "
                    "(0.1855 → 0.1026) — better")
    assert s[7] == ("all three tricks together: no clear difference in test accuracy "
                    "(97.24% → 96.97%, within two standard errors (0.66 points))")
    s = _sentences((372,) * 4, (0.1855,) * 4, acc=(0.95, 0.97))
    assert s[3].startswith("'+ fan-in init': no clear difference in the best validation loss")
    assert s[7] == ("all three tricks together raised test accuracy (95.00% → 97.00%) — better")
    assert tt.steps_to([{"step": 5, "val_loss": 0.9}, {"step": 10, "val_loss": 0.4},
                        {"step": 15, "val_loss": 0.3}], 0.4) == 10
    assert tt.steps_to([{"step": 5, "val_loss": 0.9}], 0.4) is None


def test_same_seed_reproduces_metrics_json(run, tmp_path):
    with threadpool_limits(limits=1):
        again = run_experiment("tricks-of-the-trade", quick=True, seed=0, out_root=tmp_path)
    assert (again.path / "metrics.json").read_bytes() == (run.path / "metrics.json").read_bytes()
