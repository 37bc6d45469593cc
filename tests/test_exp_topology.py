"""topology (quick): parameter counts from the models and the formula, the equal-budget width
chosen by the code (within 2% of the 64-unit network), the gradient check of the two-layer
network, the ten-layer network, figures, and a byte-identical metrics.json for the same seed."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

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
    assert f"**h = {m['equal_width']}**" in md and f"**{m['two_layer_parameters']:,}**" in md
    assert f"{100 * m['two_layer_relative_difference']:+.2f}%" in md
    assert f"**{m['gradcheck']['max_rel']:.2e}**" in md


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
