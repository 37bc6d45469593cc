"""sentence-classification (quick, on the real GloVe and VADER files): the sheet's sizes equal
the built models', parameter counts equal their closed forms, baselines and readings follow
the numbers; the size tables and reading claims on crafted inputs."""

from __future__ import annotations

import json

import pytest

from chainrule.lab.experiments import _sentence_parts as parts
from chainrule.lab.runner import run_experiment
from chainrule.models.sentence import SentenceCNN, SentenceRNN
from chainrule.summary import summary
from resources import require


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    require("glove")
    require("vader")
    return run_experiment("sentence-classification", quick=True, seed=0,
                          out_root=tmp_path_factory.mktemp("runs"))


def test_sheet_sizes_agree_with_the_models(run):
    for table in ("sheet_cnn_sizes", "sheet_rnn_sizes"):
        rows = run.metrics[table]
        assert len(rows) == 7 and all(r["match"] for r in rows.values())
    assert run.metrics["sheet_cnn_sizes"]["conv output"]["ours"] == "10×1×5"
    assert run.metrics["sheet_rnn_sizes"]["U (input → state)"]["ours"] == "50×50"   # d = 50
    assert "14 of 14 sizes agree" in (run.path / "report.md").read_text()


def test_parameter_counts_are_the_closed_forms(run):
    d = run.metrics["data"]["dim"]
    assert d == 50
    models = run.metrics["models"]
    f = 20                                                   # quick: 20 filters per size
    kim = sum(k * d * f + f for k in (3, 4, 5)) + 3 * f * 2 + 2
    assert models["Kim CNN 3,4,5×20, GloVe frozen (polarity)"]["parameters"] == kim
    fine = models["Kim CNN 3,4,5×20, GloVe fine-tuned (polarity)"]["parameters"]
    assert fine - kim > 0 and (fine - kim) % d == 0         # + the embedding table, V×d
    for spec, per in (("1", 12), ("3", 12), ("3+4+5", 4)):  # quick: 12 filters in total
        ks = [int(k) for k in spec.split("+")]
        want = sum(k * d * per + per for k in ks) + per * len(ks) * 2 + 2
        assert models[f"sweep: sizes {spec} (polarity, frozen)"]["parameters"] == want


def test_accuracies_baselines_and_smoke_reading(run):
    m = run.metrics
    for r in m["models"].values():
        assert 0.0 <= r["test_accuracy"] <= 1.0 and r["epochs"] == 1
    base = m["polarity_baselines"]
    assert 0.3 < base["majority class"] < 0.7                # two roughly balanced classes
    assert base["logistic regression, mean GloVe vector"] > base["majority class"]
    assert 0.9 < m["coverage"]["token_coverage"] < 1.0
    text = (run.path / "report.md").read_text()
    assert "Smoke test" in text and "higher accuracy" not in text
    for ex in m["argmax_examples"]:
        words = ex["text"].lower()
        assert all(w in words for w in ex["words"])           # argmax words are the sentence's


def test_timings_stay_out_of_metrics(run):
    text = (run.path / "metrics.json").read_text()
    assert "seconds" not in text
    timings = json.loads((run.path / "timings.json").read_text())["cpu_seconds_per_epoch"]
    assert set(timings) >= {"sheet_cnn", "sheet_rnn", "kim_frozen", "sweep_1"}


def test_size_tables_flag_a_model_that_is_not_the_sheets():
    ok = SentenceCNN(30, 50, 3, sizes=(3,), filters=5, padding=1, mask=False, rng=0)
    assert all(r[4] for r in parts.sheet_cnn_sizes(ok, 50, summary))
    wrong = SentenceCNN(30, 50, 3, sizes=(5,), filters=4, padding=2, mask=False, rng=0)
    bad = {r[0] for r in parts.sheet_cnn_sizes(wrong, 50, summary) if not r[4]}
    assert bad == {"kernel (one filter)", "number of filters", "conv output",
                   "after max-pool", "FC weights + biases"}
    rnn = SentenceRNN(30, 50, 4, cell="rnn", hidden=50, bias=True, rng=0)
    bad = {r[0] for r in parts.sheet_rnn_sizes(rnn, 50, summary) if not r[4]}
    assert bad == {"recurrent bias"}


def test_claims_need_more_than_the_resolution():
    res = parts.resolution(400)                              # 2·0.5/√400 = 0.05
    assert res == pytest.approx(0.05)
    assert parts.difference(0.80, 0.76, res).startswith("no clear difference")
    assert parts.difference(0.82, 0.76, res).startswith("higher")
    assert parts.difference(0.70, 0.76, res).startswith("lower")
    assert parts.faster(1.0, 1.1).startswith("no clear difference")
    assert parts.faster(0.5, 1.0).startswith("faster")
    assert parts.faster(2.0, 1.0).startswith("slower")


def test_filter_reading_follows_the_sweep():
    rows = [{"sizes": "1", "test_accuracy": 0.70, "parameters": 100, "seconds_per_epoch": 1.0},
            {"sizes": "7", "test_accuracy": 0.78, "parameters": 700, "seconds_per_epoch": 3.0},
            {"sizes": "3+4+5", "test_accuracy": 0.77, "parameters": 400,
             "seconds_per_epoch": 2.0}]
    text = parts.filter_reading(rows, 0.05, 50)
    assert "Best sizes 7, worst 1: higher accuracy (78.00% vs 70.00%)" in text
    assert "Size 7 has 700 trainable parameters against 100 for size 1 and is slower" in text
    rows[1]["test_accuracy"], rows[2]["test_accuracy"] = 0.72, 0.73     # all within 0.05
    assert "no clear difference in accuracy" in parts.filter_reading(rows, 0.05, 50)


def test_tasks_and_their_class_counts_are_reported(run):
    counts = run.metrics["class_counts"]
    assert set(counts) == {"sentiment3", "source4", "movie_polarity"}
    assert list(counts["source4"]) == ["movie", "tweet", "amazon", "nyt"]
    for task, n in (("sentiment3", "sentiment3"), ("source4", "source4"),
                    ("movie_polarity", "polarity")):
        assert sum(counts[task].values()) == run.metrics["n"][n]
    assert "mean rating < −0.5 / −0.5…0.5 / > 0.5" in (run.path / "report.md").read_text()
