"""gradient-flow (quick): the c^49 law to 1e-8, the bound holds, sigmoid attenuates most."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from chainrule.lab.check import check_run
from chainrule.lab.claims import SMOKE_READING
from chainrule.lab.experiments.gradient_flow import (
    build_deep,
    deep_claims,
    linear_claims,
    probe_norms,
)
from chainrule.lab.runner import run_experiment


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_experiment("gradient-flow", quick=True, seed=0,
                          out_root=tmp_path_factory.mktemp("runs"))


def test_linear_chain_follows_c_to_the_49(run):
    lin = run.metrics["linear"]
    assert set(lin) == {"1", "0.5", "2"}
    for c, v in lin.items():
        assert v["predicted"] == float(c) ** 49
        assert abs(v["measured"] - v["predicted"]) <= 1e-8 * v["predicted"]


def test_bound_holds_and_sigmoid_vanishes_fastest(run):
    deep = run.metrics["deep"]
    assert set(deep) == {f"{a}/{i}" for a in ("sigmoid", "tanh", "relu")
                         for i in ("gaussian", "orthogonal")}
    for key, v in deep.items():
        assert v["bound_holds"] and v["max_measured_over_bound"] <= 1 + 1e-5, key
        assert v["bound_h1_init"] >= v["h1_init"] * (1 - 1e-5), key
    ratio = {k: v["h1_init"] / v["hn_init"] for k, v in deep.items()}
    # σ' ≤ 1/4: nine sigmoid layers shrink the gradient by far more than tanh does
    assert max(ratio["sigmoid/gaussian"], ratio["sigmoid/orthogonal"]) < 1e-3
    assert min(ratio["tanh/gaussian"], ratio["tanh/orthogonal"]) > 1e-2
    sweep = run.metrics["depth_sweep"]
    assert sweep["sigmoid/gaussian/10"] < sweep["sigmoid/gaussian/5"]


def test_outputs_and_report(run):
    for name in ("linear_chain", "layer_norms_init", "norms_over_training", "depth_sweep"):
        assert (run.path / "figures" / f"{name}.png").is_file()
    md = (run.path / "report.md").read_text()
    assert md.count("within tolerance by the test |measured − c^49| ≤ atol + rtol·|c^49| "
                    "(atol 0, rtol 1e-12)") == 3                 # (a): exact, stated even in quick
    assert SMOKE_READING in md and check_run(run.path) == []


def _deep(ratio: dict, slack: dict, worst: float = 0.9):
    return SimpleNamespace(metrics={"deep": {
        k: {"ratio_init": ratio[k], "bound_over_measured_h1_init": slack[k],
            "max_measured_over_bound": worst} for k in ratio}})


def test_reading_on_crafted_numbers():
    keys = ("sigmoid/gaussian", "sigmoid/orthogonal", "relu/gaussian", "relu/orthogonal")
    ctx = _deep(dict(zip(keys, (1e-6, 2e-6, 0.04, 0.06), strict=True)),
                dict(zip(keys, (800.0, 1.7, 8000.0, 1.0), strict=True)))
    lo, hi, bound, relu, sig = (c.sentence() for c in deep_claims(ctx, 10))
    assert lo == "the lowest ratio ‖∂C/∂h₁‖ / ‖∂C/∂h_10‖ at initialisation is sigmoid/gaussian " \
                 "(1.00e-06)"
    assert hi.startswith("the highest ratio") and hi.endswith("is relu/orthogonal (6.00e-02)")
    assert bound == ("4 of 4 activation/init pairs kept measured/bound at every sample, layer "
                     "below h_n and step (at or below 1.00001)")
    assert relu.startswith("for relu, the bound's excess over the measured ‖∂C/∂h₁‖ at "
                           "initialisation is lower for orthogonal (1) than for Gaussian (8e+03)")
    assert sig.startswith("for sigmoid, the bound's excess")
    ctx = _deep(dict(zip(keys, (1e-6, 1e-6, 0.04, 0.04), strict=True)),
                dict(zip(keys, (1.0, 1.7, 1.0, 1.0), strict=True)), worst=1.01)
    lo, hi, bound, relu, sig = (c.sentence() for c in deep_claims(ctx, 10))
    assert lo.startswith("ratio ‖∂C/∂h₁‖ / ‖∂C/∂h_10‖ at initialisation: no clear difference")
    assert bound.startswith("0 of 4 activation/init pairs")
    assert "no clear difference" in relu and "(equal)" in relu
    assert "higher for orthogonal" not in sig and "lower for Gaussian (1)" in sig


def test_linear_claims_fail_outside_the_tolerance():
    ctx = SimpleNamespace(metrics={"linear": {"2": {"measured": 2.0 ** 49 * (1 + 1e-11),
                                                    "predicted": 2.0 ** 49}}})
    (claim,) = linear_claims(ctx)
    assert claim.verdict() == "outside"
    assert claim.sentence().startswith("for c = 2, ‖∂E/∂h₁‖: outside")


def test_probe_norms_match_a_direct_backward(rng):
    """The per-layer norms come from the layers' own backward: check one against autograd-free
    math."""
    import chainrule as cr

    model = build_deep("tanh", "gaussian", 3, 8, 5, 4, rng)
    x = rng.standard_normal((6, 5)).astype(np.float32)
    y = rng.integers(0, 4, 6)
    norms, bounds = probe_norms(model, cr.SoftmaxCrossEntropy(), x, y)
    assert norms.shape == bounds.shape == (3, 6)
    # recompute ∂C/∂h_3 by hand: logits = h_3·W + b, per-sample dC/dlogits = softmax − onehot
    layers = list(model)
    h = x
    for layer in layers[:-1]:
        h = layer(h)
    z = layers[-1](h).astype(np.float64)
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p[np.arange(6), y] -= 1
    dh3 = p @ layers[-1].weight.data.T.astype(np.float64)
    np.testing.assert_allclose(norms[-1], np.linalg.norm(dh3, axis=1), rtol=1e-5)
    assert not any(q.grad.any() for q in model.parameters())  # probing leaves no gradients



def test_metrics_name_their_data_sources(run):
    sources = json.loads((run.path / "metrics.json").read_text())["data_sources"]
    assert any(s.startswith("train: mnist") for s in sources)
