"""topology (quick): parameter counts from the models and the formula, the equal-budget width
chosen by the code (within 2% of the 64-unit network), the gradient check of the two-layer
network, the ten-layer network, figures, and a byte-identical metrics.json for the same seed."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from chainrule.lab.check import check_run
from chainrule.lab.experiments import topology as topo
from chainrule.lab.experiments._common import bias_trick_mlp
from chainrule.lab.runner import run_experiment
from resources import require


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    with threadpool_limits(limits=1):   # tiny matmuls: one BLAS thread, also on a busy machine
        return run_experiment("topology", quick=True, seed=0,
                              out_root=tmp_path_factory.mktemp("runs"))


@pytest.mark.parametrize("hidden", [(64,), (32,), (59, 59), (7, 5, 3), (64,) * 10])
def test_param_count_matches_the_model(hidden):
    model = bias_trick_mlp(785, hidden, 10, rng=np.random.default_rng(0))
    assert topo.param_count(785, hidden, 10) == model.num_parameters()


@pytest.mark.parametrize("d_in, classes, ref", [(785, 10, 64), (785, 10, 32), (65, 10, 64),
                                                (785, 26, 128)])
def test_equal_width_is_the_closest_integer(d_in, classes, ref):
    target = topo.param_count(d_in, (ref,), classes)
    h = topo.equal_width(d_in, classes, target)
    err = {w: abs(topo.param_count(d_in, (w, w), classes) - target) for w in range(1, 400)}
    assert err[h] == min(err.values())                   # no other width does better
    assert err[h] / target < 0.02


def test_numbers(run):
    m = run.metrics
    nets = m["networks"]
    assert list(nets) == ["1×32", "1×64", "1×128", "2×59 (≈ 1×64 parameters)", "10×64"]
    assert m["target_parameters"] == nets["1×64"]["parameters"] == 785 * 64 + 64 * 10 + 10
    assert m["equal_width"] == 59
    two = nets["2×59 (≈ 1×64 parameters)"]
    assert two["parameters"] == m["two_layer_parameters"] == 785 * 59 + 59 * 59 + 59 + 590 + 10
    assert abs(m["two_layer_relative_difference"]) < 0.02
    assert nets["10×64"]["hidden"] == [64] * 10
    for r in nets.values():
        assert r["parameters"] == r["formula_parameters"]
        assert r["test_accuracy"] > 0.3
        assert 0 < r["best_step"] <= r["steps"]
    g = m["gradcheck"]
    assert g["ok"] and g["max_rel"] < 1e-6
    assert set(g["tensors"]) == {"input", "0.weight", "2.weight", "2.bias", "4.weight", "4.bias"}


def test_figures_and_report(run):
    for name in ("loss", "accuracy"):
        assert (run.path / "figures" / f"{name}.png").is_file()
    md = (run.path / "report.md").read_text()
    m = run.metrics
    assert f"h = {m['equal_width']}, gives {m['two_layer_parameters']:,}" in md
    assert f"{100 * m['two_layer_relative_difference']:+.2f}% of the target" in md
    assert "6 of 6 tensors judged by the relative test have a largest relative error" in md
    assert check_run(run.path) == []            # every claim recomputes from the saved files


def _ctx(losses=(0.30, 0.25, 0.20), two=(0.92, 0.24), deep=(0.90, 0.5), ref_acc=0.93,
         two_se=0.01):
    names = ["1×32", "1×64", "1×128", "2×59 (≈ 1×64 parameters)", "10×64"]
    hidden = [[32], [64], [128], [59, 59], [64] * 10]
    vals = [(0.9, losses[0]), (ref_acc, losses[1]), (0.9, losses[2]), two, deep]
    nets = {n: {"hidden": h, "test_accuracy": a, "best_val_loss": v}
            for n, h, (a, v) in zip(names, hidden, vals, strict=True)}
    return SimpleNamespace(metrics={
        "networks": nets, "names": {"two_layer": names[3], "deep": names[4],
                                    "reference": "1×64"},
        "resolution": {"test_accuracy_two_se": {names[3]: two_se, names[4]: two_se}}})


def test_reading_on_crafted_numbers():
    s = [c.sentence() for c in topo.reading_claims(_ctx())]
    assert s[0] == ("widening 1×32 → 1×64 lowered the best validation loss (0.3000 → 0.2500) "
                    "— better")
    assert s[1].startswith("widening 1×64 → 1×128 lowered")
    assert s[2].startswith("test accuracy: no clear difference between 2×59 (92.00%) and 1×64 "
                           "(93.00%)")
    assert s[3] == ("the best validation loss is lower for 2×59 (0.2400) than for 1×64 "
                    "(0.2500), by 0.0100")
    assert s[4].startswith("test accuracy is higher for 1×64 (93.00%) than for 10×64 (90.00%)")
    assert s[5].startswith("the best validation loss is lower for 1×64")
    s = [c.sentence() for c in topo.reading_claims(
        _ctx(losses=(0.2, 0.25, 0.25), two=(0.96, 0.3), two_se=0.02))]
    assert s[0].startswith("widening 1×32 → 1×64 raised") and s[0].endswith("— worse")
    assert s[1].startswith("widening 1×64 → 1×128: no clear difference")
    assert s[2].startswith("test accuracy is higher for 2×59 (96.00%)")


def test_same_seed_reproduces_metrics_json(run, tmp_path):
    with threadpool_limits(limits=1):
        again = run_experiment("topology", quick=True, seed=0, out_root=tmp_path)
    assert (again.path / "metrics.json").read_bytes() == (run.path / "metrics.json").read_bytes()


def test_fashion_mnist_option(tmp_path):

    require("fashion-mnist")
    with threadpool_limits(limits=1):
        res = run_experiment("topology", quick=True, seed=0, out_root=tmp_path, overrides={
            "dataset": "fashion-mnist", "n_train": "300", "n_test": "200", "max_epochs": "1",
            "widths": "16", "reference": "16", "deep_layers": "3", "deep_width": "16",
            "gradcheck_entries": "5"})
    assert any("fashion-mnist" in s for s in res.metrics["data_sources"])
    assert res.metrics["equal_width"] == topo.equal_width(785, 10, 785 * 16 + 16 * 10 + 10)
    assert res.metrics["gradcheck"]["ok"]
