"""autoencoders (quick): parameter counts against their closed forms and the summaries, the
conv/dense ratios, what one more layer or feature map adds, trained-model results for both
datasets, saved figure inputs, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.lab.runner import run_experiment

MODELS = ("dense", "deep", "conv", "denoising")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_experiment("autoencoders", quick=True, seed=0,
                          out_root=tmp_path_factory.mktemp("runs"))


def test_parameter_counts(run):
    p = run.metrics["parameters"]
    expected = {"dense": 784 * 32 + 32 + 32 * 784 + 784,
                "deep": 784 * 128 + 128 + 128 * 32 + 32 + 32 * 128 + 128 + 128 * 784 + 784,
                "conv": 160 + 1160 + 584 + 584 + 1168 + 145,
                "denoising": 320 + 9248 + 9248 + 289}
    for name in MODELS:
        assert p[name]["closed_form"] == p[name]["summary"] == expected[name]
    r = p["ratios"]
    assert 13 < r["dense_over_conv_params"] < 14           # "~13× fewer parameters"
    assert 12 < r["conv_over_dense_macs"] < 13             # "~12× more MACs"
    assert r["deep_minus_dense"] == expected["deep"] - expected["dense"]
    assert r["one_more_first_map"] == (9 * 1 + 1) + 9 * 8  # own filter + bias, next layer's
    assert p["conv"]["macs"] == 617_984 and p["dense"]["macs"] == 784 * 32 + 32 * 784


def test_results_per_dataset(run):
    res = run.metrics["results"]
    assert set(res) == {"mnist", "fashion-mnist"}
    for r in res.values():
        assert set(r) == set(MODELS)
        for name, m in r.items():
            assert 0.0 < m["test_bce"] < 0.75               # ln 2 ≈ 0.693 is chance
            assert m["n_train"] == (128 if name in ("conv", "denoising") else 256)
            assert "seconds" not in m                        # wall times stay out of metrics
        assert set(r["denoising"]["noisy_bce"]) == {"0.3", "0.6"}


def test_saved_figure_inputs(run):
    for prefix in ("mnist", "fashion_mnist"):
        with np.load(run.path / f"{prefix}_reconstructions.npz") as f:
            assert list(f["models"]) == list(MODELS)
            assert f["originals"].shape == (6, 1, 28, 28)
            for name in MODELS:
                rec = f[f"rec_{name}"]
                assert rec.shape == (6, 1, 28, 28) and 0 <= rec.min() and rec.max() <= 1
        with np.load(run.path / f"{prefix}_denoising.npz") as f:
            assert f["noisy"].shape == f["output"].shape == (2, 6, 1, 28, 28)
            np.testing.assert_array_equal(f["levels"], [0.3, 0.6])
            assert not np.allclose(f["noisy"][0], f["clean"])
        for fig in ("reconstructions", "denoising"):
            assert (run.path / "figures" / f"{prefix}_{fig}.png").stat().st_size > 1000
    md = (run.path / "report.md").read_text()
    assert "smoke test" in md and "than for the dense one (50,992): 13.4×" in md
    claims = (run.path / "claims.json").read_text()
    assert "0.09–0.11" in claims and "no conclusion is drawn" in md      # quick: smoke line


def test_same_seed_reproduces_metrics_json(run, tmp_path):
    again = run_experiment("autoencoders", quick=True, seed=0, out_root=tmp_path)
    assert (again.path / "metrics.json").read_bytes() == (run.path / "metrics.json").read_bytes()


def test_quick_run_claims_recompute(run):
    from chainrule.lab.check import check_run

    assert check_run(run.path) == []
    res = run.metrics["resolution"]
    assert set(res) == {"mnist", "fashion_mnist"}
    for prefix, r in res.items():
        dataset = prefix.replace("_", "-")
        a, b = r["best_two"]
        bce = {n: m["test_bce"] for n, m in run.metrics["results"][dataset].items()}
        assert sorted(bce, key=bce.get)[:2] == [a, b] and r["two_se_paired"] > 0


# ------------------------------------------------------------ the reading, on crafted numbers
def test_paired_resolution_is_two_standard_errors_of_the_difference():
    from chainrule.lab.experiments._autoencoder_claims import paired_resolution

    per = {"a": np.array([0.1, 0.2, 0.3, 0.4]), "b": np.array([0.2, 0.2, 0.4, 0.4]),
           "c": np.array([0.9, 0.9, 0.9, 0.9])}
    res = {k: {"test_bce": float(v.mean())} for k, v in per.items()}
    r = paired_resolution(res, per)
    d = per["a"] - per["b"]
    assert r["best_two"] == ["a", "b"]
    assert r["two_se_paired"] == pytest.approx(2 * d.std(ddof=1) / 2)


def _crafted(bce=(0.11, 0.09, 0.10, 0.095), two_se=0.002, noisy=(0.10, 0.13)):
    res = {n: {"test_bce": v, "epochs": 5} for n, v in zip(MODELS, bce)}
    res["denoising"]["noisy_bce"] = {"0.3": noisy[0], "0.6": noisy[1]}
    return {"results": {"mnist": res}, "resolution": {"mnist": {"two_se_paired": two_se}}}


def test_reading_claims_on_both_sides_of_each_boundary():
    from chainrule.lab.experiments._autoencoder_claims import reading_claims

    best, keras, noise = (c.sentence() for c in reading_claims(_crafted()))
    assert best == "the lowest mnist test BCE per pixel is deep (0.0900)"
    assert keras.startswith("the dense model's MNIST test BCE after 5 epoch(s) is 0.1100, at "
                            "or below the top of the Keras blog's ≈ 0.09–0.11")
    assert noise == ("on mnist, input noise σ = 0.6 instead of 0.3 raised the denoiser's BCE "
                     "against the clean images (0.1000 → 0.1300) — worse")
    best, keras, noise = (c.sentence() for c in reading_claims(
        _crafted(bce=(0.12, 0.09, 0.10, 0.091), noisy=(0.12, 0.11))))
    assert best.startswith("mnist test BCE per pixel: no clear difference between the lowest "
                           "two, deep (0.0900) and denoising (0.0910), within two standard "
                           "errors of the paired per-image difference (0.0020)")
    assert keras.startswith("the dense model's MNIST test BCE after 5 epoch(s) is 0.1200, "
                            "above the top")
    assert noise.startswith("on mnist, input noise σ = 0.6 instead of 0.3 lowered")
