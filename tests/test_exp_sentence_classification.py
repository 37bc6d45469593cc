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


def _crafted(fine=0.80, frozen=0.74, logreg=0.71, cells=(0.60, 0.70, 0.71),
             sweep=(0.70, 0.75, 0.74), secs=(1.0, 3.0, 2.0), n_test=1000):
    """metrics.json / timings.json shaped like a full run's, with chosen numbers."""
    models = {"Kim CNN 3,4,5×100, GloVe frozen (polarity)": {"test_accuracy": frozen},
              "Kim CNN 3,4,5×100, GloVe fine-tuned (polarity)": {"test_accuracy": fine}}
    for cell, a in zip(("RNN", "LSTM", "GRU"), cells):
        models[f"{cell} (source4, ≤40 tokens, masked)"] = {"test_accuracy": a}
    for spec, a, p in zip(("1", "7", "3+4+5"), sweep, (5249, 34949, 20000)):
        models[f"sweep: sizes {spec} (polarity, frozen)"] = {"test_accuracy": a,
                                                              "parameters": p}
    m = {"models": models,
         "polarity_baselines": {"logistic regression, mean GloVe vector": logreg},
         "resolution": {"polarity_two_se": parts.two_se_at_half(n_test),
                        "source4_two_se": parts.two_se_at_half(n_test)}}
    t = {"cpu_seconds_per_epoch": {f"sweep_{s}": v for s, v in zip(("1", "7", "3+4+5"),
                                                                    secs)}}
    return m, t


def _sentences(**kw):
    return [c.sentence() for c in parts.reading_claims(*_crafted(**kw))]


def test_resolution_is_two_standard_errors_of_a_difference():
    assert parts.two_se_at_half(1000) == pytest.approx(2 * (0.5 / 1000) ** 0.5)


def test_reading_claims_on_both_sides_of_each_boundary():
    # n = 1000: two standard errors of a difference at 50% = 4.47 points
    fine, logreg, cells, sweep, params, time = _sentences()
    assert fine.startswith("movie-polarity test accuracy is higher for fine-tuned GloVe "
                           "(80.00%) than for frozen GloVe (74.00%), by 6.00 points")
    assert logreg.startswith("movie-polarity test accuracy is higher for the fine-tuned Kim "
                             "CNN (80.00%) than for logistic regression")
    assert cells.startswith("four-source test accuracy of the full-length recurrent cells: "
                            "no clear difference between the highest two, GRU (71.00%) and "
                            "LSTM (70.00%)")
    assert sweep.startswith("polarity test accuracy over filter sizes (frozen GloVe): no "
                            "clear difference between the highest two, sizes 7 (75.00%)")
    assert params == ("a size-7 filter bank has 34,949 trainable parameters against 5,249 "
                      "for size 1 (k·d + 1 weights per filter)")
    assert time.startswith("CPU seconds per epoch is lower for size 1 (1.00) than for size 7 "
                           "(3.00): 3.0×")
    fine, logreg, cells, sweep, _, time = _sentences(
        fine=0.76, frozen=0.74, logreg=0.85, cells=(0.60, 0.70, 0.80), sweep=(0.60, 0.75, 0.65),
        secs=(1.0, 1.1, 1.0))
    assert fine.startswith("movie-polarity test accuracy: no clear difference between "
                           "fine-tuned GloVe (76.00%) and frozen GloVe (74.00%)")
    assert "higher for logistic regression on the mean GloVe vector (85.00%)" in logreg
    assert cells == "the highest four-source test accuracy of the full-length recurrent " \
                    "cells is GRU (80.00%)"
    assert sweep == "the highest polarity test accuracy over filter sizes (frozen GloVe) is " \
                    "sizes 7 (75.00%)"
    assert time.startswith("CPU seconds per epoch: no clear difference between size 7 (1.10) "
                           "and size 1 (1.00)")


def test_size_claims_count_the_matches():
    m = {"data": {"dim": 50}, "sheet_cnn_sizes": {"a": {"match": True}, "b": {"match": False}},
         "sheet_rnn_sizes": {"c": {"match": True}}}
    (c,) = parts.size_claims(m)
    assert c.sentence() == "2 of 3 sizes agree with the sheet's answers (d = 50 in place of 300)"


def test_quick_run_claims_recompute(run):
    from chainrule.lab.check import check_run

    assert check_run(run.path) == []
    kinds = [c["kind"] for c in json.loads((run.path / "claims.json").read_text())["claims"]]
    assert kinds[:1] == ["count"] and "ratio" in kinds and "best" in kinds


def test_tasks_and_their_class_counts_are_reported(run):
    counts = run.metrics["class_counts"]
    assert set(counts) == {"sentiment3", "source4", "movie_polarity"}
    assert list(counts["source4"]) == ["movie", "tweet", "amazon", "nyt"]
    for task, n in (("sentiment3", "sentiment3"), ("source4", "source4"),
                    ("movie_polarity", "polarity")):
        assert sum(counts[task].values()) == run.metrics["n"][n]
    assert "mean rating < −0.5 / −0.5…0.5 / > 0.5" in (run.path / "report.md").read_text()
