"""tricks-of-the-trade (quick): cumulative stages, steps to the validation-loss threshold,
report text written from the numbers, and a byte-identical metrics.json for the same seed."""

from __future__ import annotations

import pytest
from threadpoolctl import threadpool_limits

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
    st = run.metrics["stages"]
    thr = run.metrics["threshold"]
    plain, mom = st["baseline"]["steps_to_threshold"], st["+ momentum"]["steps_to_threshold"]
    assert (f"against plain SGD, '+ momentum' reached validation loss {thr:g} in {mom:,} steps, "
            f"{plain / mom:.1f}× fewer than 'baseline' ({plain:,})") in md
    for name in ("loss", "accuracy"):
        assert (run.path / "figures" / f"{name}.png").is_file()
    assert "seconds" not in (run.path / "metrics.json").read_text()


def test_comparison_text_is_conditional():
    def res(**steps):
        return {k.replace("_", " "): {"steps_to_threshold": v} for k, v in steps.items()}

    assert "never reached" in tt._compare_steps("a", "b", res(a=None, b=40), 0.4)
    assert "which 'b' never did" in tt._compare_steps("a", "b", res(a=40, b=None), 0.4)
    assert "neither" in tt._compare_steps("a", "b", res(a=None, b=None), 0.4)
    assert "2.0× fewer" in tt._compare_steps("a", "b", res(a=20, b=40), 0.4)
    assert "2.0× more" in tt._compare_steps("a", "b", res(a=80, b=40), 0.4)
    assert "as fast as" in tt._compare_steps("a", "b", res(a=40, b=40), 0.4)
    assert tt.steps_to([{"step": 5, "val_loss": 0.9}, {"step": 10, "val_loss": 0.4},
                        {"step": 15, "val_loss": 0.3}], 0.4) == 10
    assert tt.steps_to([{"step": 5, "val_loss": 0.9}], 0.4) is None


def test_same_seed_reproduces_metrics_json(run, tmp_path):
    with threadpool_limits(limits=1):
        again = run_experiment("tricks-of-the-trade", quick=True, seed=0, out_root=tmp_path)
    assert (again.path / "metrics.json").read_bytes() == (run.path / "metrics.json").read_bytes()


def test_order_note_only_when_the_threshold_decides():
    cfg = tt.Config(sensitivity=(0.5, 0.4))
    flip = {"a": {"steps_to": {"0.5": 50, "0.4": 90}}, "b": {"steps_to": {"0.5": 40, "0.4": 120}}}
    same = {"a": {"steps_to": {"0.5": 50, "0.4": 90}}, "b": {"steps_to": {"0.5": 40, "0.4": 80}}}
    assert "depends on the threshold" in tt._order_note(cfg, flip, "a", "b")
    assert tt._order_note(cfg, same, "a", "b") == ""
