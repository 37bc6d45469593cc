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
    assert "Smoke test (quick preset" in md and "Best validation loss" not in md
    every = run.metrics["val_every"]
    cfg = tt.Config(threshold=thr, sensitivity=tuple(map(float, st["baseline"]["steps_to"])))
    text = tt._reading(cfg, st, every, quick=False)                        # as a full run
    plain, mom = st["baseline"]["steps_to_threshold"], st["+ momentum"]["steps_to_threshold"]
    if abs(plain - mom) > every:
        assert (f"against plain SGD, '+ momentum' reached validation loss {thr:g} in {mom:,} "
                f"steps, {plain / mom:.1f}× fewer than 'baseline' ({plain:,})") in text
    else:
        assert "against plain SGD, '+ momentum' vs 'baseline': no measurable difference" in text
    for name in ("loss", "accuracy"):
        assert (run.path / "figures" / f"{name}.png").is_file()
    assert "seconds" not in (run.path / "metrics.json").read_text()


def test_comparison_text_is_conditional():
    def res(**steps):
        return {k.replace("_", " "): {"steps_to_threshold": v} for k, v in steps.items()}

    assert "never reached" in tt._compare_steps("a", "b", res(a=None, b=40), 0.4, 10)
    assert "which 'b' never did" in tt._compare_steps("a", "b", res(a=40, b=None), 0.4, 10)
    assert "neither" in tt._compare_steps("a", "b", res(a=None, b=None), 0.4, 10)
    assert "2.0× fewer" in tt._compare_steps("a", "b", res(a=20, b=40), 0.4, 10)
    assert "2.0× more" in tt._compare_steps("a", "b", res(a=80, b=40), 0.4, 10)
    same = tt._compare_steps("a", "b", res(a=40, b=40), 0.4, 10)
    assert "no measurable difference" in same and "40 vs 40 steps" in same
    # one check apart is within the check interval: no claim either way
    assert "no measurable difference" in tt._compare_steps("a", "b", res(a=30, b=40), 0.4, 10)
    # both crossed at the first check (the full run's case before this fix)
    first = tt._compare_steps("a", "b", res(a=372, b=372), 0.4, 372)
    assert "at the first check" in first and "every 372 steps" in first


def test_reading_says_which_trick_made_the_loss_worse():
    stages = {name: {"steps_to_threshold": 372, "steps_to": {}, "val_loss": v,
                     "val_accuracy": 0.9, "test_accuracy": 0.9, "gap_accuracy": 0.01}
              for name, v in (("baseline", 0.1855), ("+ fan-in init", 0.0654),
                              ("+ improved sigmoid", 0.0899), ("+ momentum", 0.1026))}
    text = tt._reading(tt.Config(sensitivity=()), stages, 372, quick=False)
    assert "'+ fan-in init' made it lower (0.1855 → 0.0654)" in text
    assert "'+ improved sigmoid' made it higher (0.0654 → 0.0899)" in text
    assert "'+ momentum' made it higher (0.0899 → 0.1026)" in text
    assert "All three together against plain SGD: lower (0.1855 → 0.1026)" in text
    assert "lowest validation loss belongs to '+ fan-in init'" in text
    assert "fewer" not in text and "as fast as" not in text
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
