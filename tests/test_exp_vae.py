"""vae (quick): chainrule and the PyTorch examples' VAE on the same weights, batches and ε;
the distribution table, the importance-sampled bound, saved figure inputs, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import plots
from chainrule.lab.runner import run_experiment


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_experiment("vae", quick=True, seed=0, out_root=tmp_path_factory.mktemp("runs"))


def test_comparison_with_torch(run):
    pytest.importorskip("torch")
    c = run.metrics["comparison"]
    assert c["n_train"] == 600 and c["n_test"] == 200 and c["epochs"] == 2
    assert c["parameters"] == (784 * 400 + 400) + (400 * 40 + 40) + (20 * 400 + 400) \
        + (400 * 784 + 784)
    ours = plots.read_csv(run.path / "comparison_chainrule.csv")
    theirs = plots.read_csv(run.path / "comparison_torch.csv")
    # same weights, batches and ε: the curves agree far inside the 1% bar
    np.testing.assert_allclose(ours["train_loss"], theirs["train_loss"], rtol=1e-3)
    np.testing.assert_allclose(ours["test_loss"], theirs["test_loss"], rtol=1e-3)
    assert abs(c["gap_percent"]) < 0.1 and c["within_1_percent"]
    assert ours["test_loss"][-1] < ours["test_loss"][0]       # it learns
    np.testing.assert_allclose(ours["test_recon"] + ours["test_kl"], ours["test_loss"],
                               rtol=1e-9)
    assert np.all(ours["test_kl"] > 0)


def test_distribution_table(run):
    rows = {r["variant"]: r for r in run.metrics["distributions"]}
    assert set(rows) == {"bernoulli-gaussian", "cbernoulli-gaussian", "gaussian-gaussian",
                         "bernoulli-laplace"}
    for r in rows.values():
        assert r["kl"] > 0 and 0 < r["mse"] < 0.5
        assert r["loss"] == pytest.approx(r["recon"] + r["kl"])
    # probabilities: a Bernoulli −log p(x|z) is positive; densities may go negative
    assert rows["bernoulli-gaussian"]["recon"] > 0 and rows["bernoulli-laplace"]["recon"] > 0


def test_importance_sampling_above_elbo(run):
    imp = run.metrics["importance"]
    assert imp["k"] == 10 and imp["n"] == 50
    assert imp["log_px"] > imp["elbo"]
    assert imp["log_px"] < 0


def test_figures_and_inputs(run):
    for fig in ("comparison", "elbo_terms", "prior_samples", "distributions_terms",
                "distributions_recon", "manifold", "latent_scatter"):
        assert (run.path / "figures" / f"{fig}.png").stat().st_size > 1000
    with np.load(run.path / "manifold.npz") as f:
        assert f["images"].shape == (15, 15, 28, 28)
        assert 0 <= f["images"].min() and f["images"].max() <= 1
    with np.load(run.path / "latent2.npz") as f:
        assert f["z"].shape == (200, 2) and len(f["y"]) == 200
    md = (run.path / "report.md").read_text()
    assert "smoke test" in md and "105.6" in md


def test_same_seed_reproduces_metrics_json(run, tmp_path):
    again = run_experiment("vae", quick=True, seed=0, out_root=tmp_path)
    assert (again.path / "metrics.json").read_bytes() == (run.path / "metrics.json").read_bytes()
