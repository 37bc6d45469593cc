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


def test_quick_run_claims_recompute(run):
    from chainrule.lab.check import check_run

    assert check_run(run.path) == []
    assert "no conclusion is drawn" in (run.path / "report.md").read_text()
    for r in run.metrics["distributions"]:
        assert 0 < r["mse_se"] < r["mse"] and 0 < r["loss_se"]


# ------------------------------------------------------------ the reading, on crafted numbers
def _crafted(ours=100.0, torch=100.5, mse=(0.020, 0.030, 0.025, 0.021), elbo=(128.0, 131.0),
             se=(0.3, 0.0002)):
    from chainrule.lab.experiments._vae_claims import resolutions

    names = ("bernoulli-gaussian", "cbernoulli-gaussian", "gaussian-gaussian",
             "bernoulli-laplace")
    loss = dict(zip(names, (elbo[0], -900.0, -1500.0, elbo[1])))
    rows = [{"variant": n, "loss": loss[n], "mse": v, "loss_se": se[0], "mse_se": se[1]}
            for n, v in zip(names, mse)]
    return {"comparison": {"epochs": 10, "chainrule_test_loss": ours, "torch_test_loss": torch},
            "distributions": rows, "resolution": resolutions(rows),
            "importance": {"n": 1000, "k": 100, "elbo": -113.0, "log_px": -108.0}}


def _sentences(m):
    from chainrule.lab.experiments._vae_claims import reading_claims

    return [c.sentence() for c in reading_claims(m)]


def test_reading_claims_on_both_sides_of_each_boundary():
    tol, best, lap, imp = _sentences(_crafted())
    assert tol == ("test loss per image after 10 epoch(s): within tolerance by the test "
                   "|chainrule − PyTorch| ≤ atol + rtol·|PyTorch| (atol 0, rtol 0.01): "
                   "5.00e-01 ≤ 1.01e+00")          # 0.01·100.5
    # 2·√2·0.0002 = 0.00057 < 0.001: the lowest MSE is clear
    assert best.endswith("is bernoulli-gaussian (0.0200)")
    assert lap.startswith("the test −ELBO per image (Bernoulli decoder, same scale) is lower "
                          "for the Gaussian latent (128.00) than for the Laplace latent "
                          "(131.00), by 3.00")
    assert imp == ("the log-likelihood bound on 1,000 binarised test images is higher for "
                   "importance sampling with k = 100 (-108.00) than for the ELBO (-113.00), "
                   "by 5.00")
    tol, best, lap, _ = _sentences(_crafted(torch=98.0, mse=(0.0203, 0.03, 0.025, 0.0200),
                                            elbo=(128.0, 128.5)))
    assert "outside tolerance" in tol and "2.00e+00 > 9.80e-01" in tol
    assert best.startswith("squared error of the decoder mean per pixel (comparable across "
                           "the decoders): no clear difference between the lowest two, "
                           "bernoulli-laplace (0.0200) and bernoulli-gaussian (0.0203)")
    assert lap.startswith("the test −ELBO per image (Bernoulli decoder, same scale): no clear "
                          "difference")


def test_reading_without_torch_has_no_tolerance_claim():
    m = _crafted()
    del m["comparison"]["torch_test_loss"]
    assert not any("PyTorch" in s for s in _sentences(m))
