"""cifar10 (quick): runs on stand-in data written in the official format and says so; every
attempt is reported (failures too) and compared at the ladder's budget; numbers agree with
the saved predictions; per-layer parameter counts by hand; real-format files are used when
they resolve, and the JPEG copy (a tiny fake tree here) is named as such everywhere; the
full preset keeps the coursework's 5,000-iteration baseline; same seed, same metrics.json."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace

import numpy as np
import pytest

import chainrule as cr
from chainrule import plots
from chainrule.lab import registry
from chainrule.lab.check import check_run
from chainrule.lab.claims import SMOKE_READING
from chainrule.lab.experiments._cifar10_parts import (
    ATTEMPTS,
    BASELINE,
    FULL_ATTEMPTS,
    JPEG_NOTE,
    STAND_IN_CLASSES,
    answer_claims,
    recipe,
)
from chainrule.lab.runner import run_experiment

JPEG_LABEL = "CIFAR-10 (JPEG copy, quality ≈ 75)"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_experiment("cifar10", quick=True, seed=0,
                          out_root=tmp_path_factory.mktemp("runs"))


def test_stand_in_data_is_declared(run):
    m = run.metrics
    assert m["data"] == "stand-in" and m["data_note"] == "stand-in data (not CIFAR-10)"
    assert m["baseline_iterations"] == m["ladder_iterations"] == 12
    assert m["n_train"] + m["n_val"] == 300 and m["n_test"] == 100
    md = (run.path / "report.md").read_text()
    assert "**This run used STAND-IN DATA, not CIFAR-10.**" in md
    assert md.index("STAND-IN DATA") < md.index("## Attempts")  # at the top, before results
    assert any("stand-in" in s for s in m["data_sources"])


def test_every_attempt_is_reported_with_a_status(run):
    att = run.metrics["attempts"]
    assert list(att) == list(ATTEMPTS)
    ladder = "baseline"  # the greedy ladder: each change goes on the best configuration so far
    for name, r in att.items():
        assert r["status"] in {"ok", "no gain", "diverged"}
        if name != "baseline":
            assert r["built_on"] == (ladder if ATTEMPTS[name][0] == "best" else "baseline")
        if r["status"] == "diverged":  # stopped by a non-finite loss, or a non-finite test loss
            assert r["reason"] and (r["test_accuracy"] is None or r["steps"] == 12)
            continue
        assert r["steps"] == 12 and 0.0 <= r["test_accuracy"] <= 1.0
        if name == "baseline":  # on stand-in data the ladder's budget is the baseline's
            assert r["at_ladder_budget"] == {"steps": 12, "test_accuracy": r["test_accuracy"]}
        else:
            ref = att[r["built_on"]]["test_accuracy"]
            assert r["compared_with"] == ref
            assert r["gain_se"] == pytest.approx(np.sqrt(
                (ref * (1 - ref) + r["test_accuracy"] * (1 - r["test_accuracy"])) / 100))
            assert r["gain"] == pytest.approx(r["test_accuracy"] - ref, abs=1e-12)
            assert (r["status"] == "ok") == (r["test_accuracy"] > ref)
        if name == "baseline" or (r["status"] == "ok" and ATTEMPTS[name][0] == "best"):
            ladder = name
    md = (run.path / "report.md").read_text()
    for name, r in att.items():
        assert f"| {name} | {r['built_on']} | {r['change']} |" in md
    failed = sum(r["status"] != "ok" for n, r in att.items() if n != "baseline")
    assert f"{failed} of {len(att) - 1} ladder attempts failed" in " ".join(_said(run.path))
    assert SMOKE_READING in md and "attempts failed" not in md   # quick: no conclusion drawn
    assert check_run(run.path) == []


def test_numbers_match_saved_predictions_and_figures_exist(run):
    best = run.metrics["best"]
    for name in {"baseline", best}:
        pred = np.load(run.path / f"{name.replace('-', '_')}_predictions.npz")
        acc = float(np.mean(pred["y_true"] == pred["y_pred"]))
        assert acc == run.metrics["attempts"][name]["test_accuracy"]
        cm = np.array(run.metrics["attempts"][name]["detail"]["confusion"])
        assert cm.sum() == 100 and np.trace(cm) == round(acc * 100)
        pr = plots.read_csv(run.path / f"{name}_precision_recall.csv")
        assert list(pr["class"]) == list(STAND_IN_CLASSES)
        tp = np.diag(cm)
        assert np.allclose(pr["recall"], np.where(cm.sum(1), tp / np.maximum(cm.sum(1), 1), 0))
        for fig in ("filters", "misclassified", "confusion", "precision_recall"):
            assert (run.path / "figures" / f"{name}_{fig}.png").is_file()
    assert (run.path / "figures" / "attempts.png").is_file()
    assert (run.path / "figures" / "curves.png").is_file()
    acc = run.metrics["attempts"]["baseline"]["test_accuracy"]
    assert f"the baseline reached {100 * acc:.2f}% test accuracy" in _said(run.path)[0]


def test_layer_parameter_counts_by_hand(run):
    # quick preset: width 0.25 -> baseline channels 4, 4; wider 8, 16
    lp = run.metrics["attempts"]["baseline"]["layer_params"]
    assert lp["0 Conv2d"] == 3 * 4 * 25 + 4 and lp["3 Conv2d"] == 4 * 4 * 25 + 4
    assert lp["7 Linear"] == 4 * 8 * 8 * 10 + 10
    assert run.metrics["attempts"]["baseline"]["parameters"] == sum(lp.values()) == 3278
    wider = run.metrics["attempts"]["wider"]
    assert wider["channels"] == [2 * c for c in run.metrics["attempts"][wider["built_on"]]
                                 ["channels"]]
    bn = run.metrics["attempts"]["batchnorm"]
    c = bn["channels"][0]
    assert bn["layer_params"]["1 BatchNorm2d"] == 2 * c + 2 * c  # gamma, beta + running stats
    assert recipe("wider")["channels"] == (32, 32)                     # 2× the baseline's
    deeper = recipe("deeper", recipe("batchnorm"))
    assert deeper["channels"] == (16, 32, 64) and deeper["batchnorm"]  # builds on the best
    assert recipe("wider", deeper)["channels"] == (32, 64, 128)
    assert recipe("wider", deeper)["change"] == "wider: 2× the channels of every conv " \
                                                "(32, 64, 128)"
    assert recipe("dropout", recipe("wider"))["channels"] == (32, 32)
    assert recipe("high-lr", recipe("wider"))["channels"] == (16, 16)  # branches off baseline
    assert "widen" not in recipe("wider") and BASELINE["channels"] == (16, 16)


# The forced divergence (lr 1e30) overflows float32 on purpose; the test checks it is reported.
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning",
                            "ignore:invalid value encountered:RuntimeWarning")
def test_real_format_files_are_used_when_they_resolve(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, size=(150, 3, 32, 32), dtype=np.uint8)
    y = np.arange(150) % 10
    cr.data.write_cifar10(tmp_path / "c10", x[:120], y[:120], x[120:], y[120:], version="bin")
    res = run_experiment("cifar10", quick=True, seed=0, out_root=tmp_path / "runs",
                         overrides={"data": "auto", "data_dir": str(tmp_path / "c10"),
                                    "attempts": "baseline,high-lr", "iterations": "3",
                                    "ladder_iterations": "2", "val_size": "20",
                                    "high_lr": "1e30"})
    assert res.metrics["data"] == "cifar10" and res.metrics["data_note"] == "CIFAR-10"
    assert res.metrics["baseline_iterations"] == 3 and res.metrics["ladder_iterations"] == 2
    assert res.metrics["attempts"]["baseline"]["at_ladder_budget"]["steps"] == 2
    diverged = res.metrics["attempts"]["high-lr"]
    assert diverged["status"] == "diverged" and diverged["test_accuracy"] is None
    assert diverged["steps"] < 2 and "loss is" in diverged["reason"]
    assert any(c.startswith("'high-lr' diverged: loss is") for c in _said(res.path))
    assert res.metrics["n_train"] == 100 and res.metrics["n_test"] == 30
    assert "STAND-IN" not in (res.path / "report.md").read_text()
    # data=cifar10 and nothing there: skipped (missing data), naming what it needs
    missing = run_experiment("cifar10", quick=True, out_root=tmp_path / "runs",
                             overrides={"data": "cifar10", "data_dir": str(tmp_path / "none")})
    assert missing.status == "skipped" and "cifar10/train not found" in missing.error


def _fake_jpeg_copy(root, rng, n_train=12, n_test=3):
    """``root/cifar10-jpeg/cifar-10-images/{train,test}/<class>/NNNN.jpg``: random JPEGs."""
    from PIL import Image

    for split, n in (("train", n_train), ("test", n_test)):
        for c in cr.data.registry.SPECS["cifar10"].classes:
            d = root / "cifar10-jpeg" / "cifar-10-images" / split / c
            d.mkdir(parents=True)
            for i in range(n):
                buf = io.BytesIO()
                Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(
                    buf, format="JPEG", quality=75)
                (d / f"{i:04d}.jpg").write_bytes(buf.getvalue())


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning",
                            "ignore:invalid value encountered:RuntimeWarning")
def test_jpeg_copy_is_used_and_named_everywhere(tmp_path, monkeypatch):
    pytest.importorskip("PIL")
    assert JPEG_NOTE == cr.data.registry.SPECS["cifar10-jpeg"].note
    _fake_jpeg_copy(tmp_path / "data", np.random.default_rng(2))
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("CHAINRULE_CACHE", str(tmp_path / "cache"))
    over = {"data": "cifar10", "attempts": "baseline,batchnorm,high-lr", "iterations": "4",
            "ladder_iterations": "2", "val_size": "20", "high_lr": "1e30"}
    res = run_experiment("cifar10", quick=True, seed=0, out_root=tmp_path / "runs",
                         overrides=over)
    m = res.metrics
    assert m["data"] == "cifar10-jpeg" and m["data_note"] == JPEG_LABEL
    assert (m["n_train"], m["n_val"], m["n_test"]) == (100, 20, 30)
    assert all(JPEG_LABEL in s and "cifar-10-images.tar.gz" not in s
               for s in m["data_sources"] if not s.startswith("validation"))
    text = (res.path / "metrics.json").read_text()
    assert str(tmp_path) not in text and "/cifar10-jpeg" not in text   # no machine paths
    base = m["attempts"]["baseline"]
    assert base["steps"] == 4 and base["at_ladder_budget"]["steps"] == 2
    bn = m["attempts"]["batchnorm"]
    assert bn["steps"] == 2 and bn["compared_with"] == base["at_ladder_budget"]["test_accuracy"]
    assert m["attempts"]["high-lr"]["status"] == "diverged"
    md = (res.path / "report.md").read_text()
    assert "STAND-IN" not in md
    assert f"Data: **{JPEG_LABEL}**" in md                                  # the intro
    assert f"{JPEG_LABEL}: every attempt" in md                             # the table caption
    said = _said(res.path)                                                 # the reading's claims
    assert said[0] == (f"the baseline reached {100 * base['test_accuracy']:.2f}% test accuracy "
                       "after 4 iterations")
    assert not any("about 48%" in c for c in said)     # 4 iterations: not comparable with it
    assert f"the baseline after 2 of its iterations scored " \
           f"{100 * base['at_ladder_budget']['test_accuracy']:.2f}%" in md
    assert check_run(res.path) == []
    assert f"Attempt 'baseline' in detail (4 iterations, {JPEG_LABEL})" in md
    assert sum(JPEG_LABEL in b.get("caption", "") for b in
               json.loads((res.path / "report.json").read_text())["blocks"]
               if b["type"] == "figure") >= 3
    # like with like: the baseline's accuracy after 2 of its 4 iterations is that of a
    # baseline trained 2 iterations (constant learning rate, same seed, same batches)
    short = run_experiment("cifar10", quick=True, seed=0, out_root=tmp_path / "runs",
                           overrides={**over, "attempts": "baseline", "iterations": "2"})
    assert short.metrics["attempts"]["baseline"]["test_accuracy"] == \
        base["at_ladder_budget"]["test_accuracy"]


def _att(acc, ref, built_on, status="ok", n=10000):
    se = float(np.sqrt((acc * (1 - acc) + ref * (1 - ref)) / n))
    return {"status": status, "test_accuracy": acc, "steps": 1000, "built_on": built_on,
            "compared_with": ref, "gain": acc - ref, "gain_se": se}


def _said(run_dir) -> list[str]:
    """The sentences of a run's claims (quick runs record them without stating them)."""
    return [c["sentence"] for c in json.loads((run_dir / "claims.json").read_text())["claims"]]


def _ctx(results: dict, best: str, data: str = "cifar10") -> SimpleNamespace:
    for r in results.values():
        if "gain_se" in r:
            r["gain_two_se"] = 2 * r["gain_se"]
    return SimpleNamespace(metrics={"attempts": results, "best": best, "data": data,
                                    "coursework_baseline": 0.48})


def test_reading_follows_the_numbers():
    base = {"status": "ok", "test_accuracy": 0.5896, "steps": 5000, "built_on": "—",
            "at_ladder_budget": {"steps": 1000, "test_accuracy": 0.5257}}
    results = {"baseline": base, "batchnorm": _att(0.5279, 0.5257, "baseline"),
               "deeper": _att(0.6035, 0.5279, "batchnorm"),
               "wider": _att(0.5870, 0.6035, "deeper", "no gain"),
               "high-lr": {"status": "diverged", "test_accuracy": None, "steps": 3,
                           "built_on": "baseline", "reason": "training diverged: boom"}}
    s = [c.sentence() for c in answer_claims(_ctx(results, "deeper"))]
    assert s[0] == "the baseline reached 58.96% test accuracy after 5,000 iterations"
    assert s[1].startswith("the baseline's test accuracy is higher for this run (58.96%) than "
                           "for the coursework's \"about 48%\" (48.00%), by 10.96 points")
    assert s[2] == ("each ladder attempt trained 1,000 iterations and is compared with what it "
                    "was built on at that budget (the baseline after 1,000 iterations: 52.57%)")
    assert s[3].startswith("test accuracy: no clear difference between 'batchnorm' (52.79%) and "
                           "'baseline' at 1,000 iterations (52.57%)")       # +0.22 < 2 SE
    assert s[4].startswith("test accuracy is higher for 'deeper' (60.35%) than for 'batchnorm' "
                           "(52.79%), by 7.56 points")                     # 7.6 points ≫ 2 SE
    assert s[5].startswith("test accuracy is higher for 'deeper' (60.35%) than for 'wider'")
    assert s[6] == "'high-lr' diverged: training diverged: boom"
    assert s[7] == ("2 of 4 ladder attempts failed (diverged, or no gain over what they were "
                    "built on)")
    assert s[8] == "the best configuration at the ladder budget is 'deeper'"
    assert "whether the ladder's gains hold at 5,000" in s[9]
    near = {**base, "test_accuracy": 0.487}
    s = [c.sentence() for c in answer_claims(_ctx({"baseline": near}, "baseline"))]
    assert s[1].startswith("the baseline's test accuracy: no clear difference between this run "
                           "(48.70%) and the coursework's \"about 48%\"") and len(s) == 2
    short = {**base, "steps": 300}         # not the coursework's 5,000: not compared with 48%
    assert len(answer_claims(_ctx({"baseline": short}, "baseline"))) == 1
    assert len(answer_claims(_ctx({"baseline": base}, "baseline", data="stand-in"))) == 1


def test_full_preset_keeps_the_coursework_baseline(tmp_path):
    cfg = registry.get("cifar10").make_config()
    assert cfg.iterations == 5000 and cfg.batch_size == 32 and cfg.data == "auto"
    assert cfg.attempts == FULL_ATTEMPTS and cfg.attempts[0] == "baseline"
    assert 1 <= cfg.ladder_iterations <= cfg.iterations
    assert set(registry.get("cifar10").make_config(quick=True).attempts) == set(ATTEMPTS)
    with pytest.raises(RuntimeError, match="ladder_iterations"):
        run_experiment("cifar10", quick=True, out_root=tmp_path,
                       overrides={"stand_in_iterations": "0"})


def test_same_seed_reproduces_metrics_json(run, tmp_path):
    again = run_experiment("cifar10", quick=True, seed=0, out_root=tmp_path)
    assert (again.path / "metrics.json").read_bytes() == (run.path / "metrics.json").read_bytes()
    assert "seconds" not in json.loads((run.path / "metrics.json").read_text())
