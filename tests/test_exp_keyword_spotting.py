"""keyword-spotting (quick): every recipe row measured in one run, speaker-disjoint folds
(keywords and unknown words), the test conditions, the confusion matrix, the model's size,
figures, the smoke-test reading, and the same numbers for a row run alone (same seed)."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.audio.batches import place, shift
from chainrule.lab.experiments import _kws_parts as P
from chainrule.lab.runner import run_experiment
from resources import require


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    for name in ("fsdd", "espeak-ng", "flite", "asterisk-sounds"):
        require(name)
    return run_experiment("keyword-spotting", quick=True, seed=0,
                          out_root=tmp_path_factory.mktemp("runs"))


def test_recipes_are_full_each_removed_plain_each_added():
    rows = P.recipes()
    assert len(rows) == 2 + 2 * len(P.TECHNIQUES)
    on = {k: v for k, _, v in rows}
    assert on["full"] == set(P.TECHNIQUES) and on["plain"] == set()
    for t in P.TECHNIQUES:
        assert on[f"no_{t}"] == set(P.TECHNIQUES) - {t} and on[f"only_{t}"] == {t}


def test_knobs_switch_each_technique_off_as_tf_names_it():
    from chainrule.lab.experiments.keyword_spotting import Config

    c = Config()
    full, plain = P.knobs(c, frozenset(P.TECHNIQUES)), P.knobs(c, frozenset())
    assert full == {"time_shift_ms": 100.0, "pad": "zeros", "gain_range": (0.25, 2.0),
                    "background_frequency": 0.8, "background_volume": 0.1,
                    "silence_percentage": 10.0, "unknown_percentage": 10.0,
                    "balance": "uniform"}
    assert plain["time_shift_ms"] == 0.0 and plain["pad"] == "stretch"
    assert plain["gain_range"] == (1.0, 1.0) and plain["background_frequency"] == 0.0
    assert plain["silence_percentage"] == plain["unknown_percentage"] == 0.0
    assert plain["balance"] == "found"


def test_every_row_and_condition_measured_in_the_run(run):
    rows = run.metrics["rows"]
    assert list(rows) == [k for k, _, _ in P.recipes()]
    for r in rows.values():
        assert set(r) == set(P.CONDITIONS)
        for c in r.values():
            assert 0.0 <= c["mean"] <= 1.0 and len(c["folds"]) == 1


def test_folds_never_share_a_speaker(run):
    rec_speakers = {"george", "jackson", "lucas", "nicolas", "theo", "yweweler"}
    for f in run.metrics["folds"]:
        assert not set(f["train_speakers"]) & set(f["test_speakers"])
        assert set(f["train_speakers"]) | set(f["test_speakers"]) == rec_speakers
    d = run.metrics["data"]
    assert set(d["train_voices"]) <= set(d["voices"]) and len(d["train_voices"]) == 3
    pairs = P.speaker_pairs(sorted(rec_speakers))
    assert sorted(s for p in pairs for s in p) == sorted(rec_speakers)
    assert pairs[0] == ("nicolas", "lucas")                  # which_set's validation pair


def test_confusion_counts_digits_unknown_words_and_noise(run):
    cm = np.array(run.metrics["confusion"])
    f = run.metrics["folds"][0]
    assert cm.shape == (12, 12)
    assert cm[2:].sum() == f["test_clips"] == 2 * 20          # quick: 20 per test speaker
    assert cm[0].sum() == 20                                  # quick: n_silence_test
    assert cm[1].sum() == run.metrics["data"]["unknown_test_words"]
    fa = run.metrics["rows"]["full"]["unknown_fa"]["mean"]
    assert fa == pytest.approx(cm[1, 2:].sum() / cm[1].sum())


def test_model_size_reported(run):
    from chainrule.models.kws import KeywordCNN

    s = KeywordCNN((1, 98, 40), 12, (4, 4, 8), rng=0).summary((1, 98, 40))
    assert run.metrics["model"] == {"parameters": s.trainable_params, "macs": s.total_macs}
    # conv 5x5 (1->4), 3x3 (4->4), 3x3 (4->8) without bias, 3 BN (2c), linear 8*13*5 -> 12
    assert s.trainable_params == 25 * 4 + 36 * 4 + 36 * 8 + 2 * 16 + 8 * 13 * 5 * 12 + 12


def test_test_conditions_are_the_clean_clips_transformed():
    rng = np.random.default_rng(0)
    fold = P.Fold("t", ("a",), ("b",), [], np.array([]), np.array([]),
                  [rng.uniform(-0.3, 0.3, 5000).astype(np.float32) for _ in range(3)],
                  np.array([1, 2, 3]))
    unk = type("U", (), {"waves": (np.ones(3000, np.float32),)})()
    noise = [("n", rng.uniform(-1, 1, 20000).astype(np.float32))]
    s = P.test_sets(fold, unk, noise, "zeros", 4, seed=1)
    clean = s["clean"]
    np.testing.assert_array_equal(clean[0], place(fold.test_waves[0], 8000, "center"))
    np.testing.assert_array_equal(s["shift+100"][1], shift(clean[1], 800))
    np.testing.assert_array_equal(s["shift-100"][2], shift(clean[2], -800))
    np.testing.assert_allclose(s["gain-12dB"], clean * 0.25)
    for snr in (20, 10, 0):
        e = s[f"snr{snr}"] - clean
        got = 10 * np.log10((clean ** 2).mean(axis=1) / (e ** 2).mean(axis=1))
        np.testing.assert_allclose(got, snr, atol=0.1)
    assert s["silence_fa"].shape == (4, 8000) and np.abs(s["silence_fa"]).max() <= 1.0
    again = P.test_sets(fold, unk, noise, "zeros", 4, seed=1)
    assert all(np.array_equal(again[c], s[c]) for c in s)


def test_figures_and_smoke_reading(run):
    for fig in ("conditions_noise", "conditions_shift_level", "conditions_false_accepts",
                "full_confusion", "batch", "batch_generation"):
        assert (run.path / "figures" / f"{fig}.png").stat().st_size > 5000
    md = (run.path / "report.md").read_text()
    assert "smoke test" in md.lower() and "outside audio" in md
    assert "better (" not in md and "worse (" not in md      # one fold: nothing is clear
    assert "no conclusion is drawn" in md
    with np.load(run.path / "batch.npz") as f:
        assert f["x"].shape == (6, 8000) and f["features"].shape == (6, 98, 40)


def test_a_row_run_alone_reproduces_its_numbers(run, tmp_path):
    """Same seed → same batches, same weights, same scores, whichever other rows run."""
    alone = run_experiment("keyword-spotting", quick=True, seed=0, out_root=tmp_path,
                           overrides={"rows": ("no_silence",), "anchor": False})
    assert list(alone.metrics["rows"]) == ["no_silence"]
    assert alone.metrics["rows"]["no_silence"] == run.metrics["rows"]["no_silence"]


def test_quick_run_claims_recompute(run):
    from chainrule.lab.check import check_run

    assert check_run(run.path) == []
    t = run.metrics["targets"]
    assert set(t) == set(P.TECHNIQUES) and len(t["time_shift"]["full"]) == 1
    assert run.metrics["resolution"]["random_split_two_se"] is None      # one fold: no spread
    claims = (run.path / "claims.json").read_text()
    assert "random-utterance split" not in claims and "Infinity" not in claims


# ------------------------------------------------------------ the reading, on crafted numbers
def _crafted(full, without, anchor=0.86, folds=3, alone=None):
    """metrics.json with every condition of the full recipe at ``full[i]`` and of each
    ``no_*`` recipe at ``without[i]`` (fold i); ``only_*`` at ``alone``, plain at 0.5."""
    from chainrule.lab.experiments._kws_claims import random_split_two_se, targets

    def fold(v):
        return {c: v for c in P.CONDITIONS}

    scores = {"full": [fold(v) for v in full], "plain": [fold(0.5)] * folds}
    for tq in P.TECHNIQUES:
        scores[f"no_{tq}"] = [fold(v) for v in without]
        scores[f"only_{tq}"] = [fold(v) for v in (alone or [0.5] * folds)]
    rows = {k: {c: {"mean": float(np.mean([f[c] for f in v])),
                    "folds": [f[c] for f in v]} for c in P.CONDITIONS} for k, v in scores.items()}
    return {"rows": rows, "targets": targets(scores), "random_split_clean": anchor,
            "resolution": {"random_split_two_se": random_split_two_se(anchor, 500, full)}}


def _claims(**kw):
    from chainrule.lab.experiments._kws_claims import reading_claims

    return reading_claims(_crafted(**kw))


def test_reading_claims_on_both_sides_of_the_paired_rule():
    fact, split, shift, *rest = _claims(full=[0.60, 0.62, 0.64], without=[0.50, 0.51, 0.55])
    assert fact.sentence() == ("the full recipe reaches 62.0% clean accuracy on unseen "
                               "speakers (mean over the folds)")
    assert split.verdict() == "a better" and split.sentence().startswith(
        "clean accuracy is higher for a random-utterance split (speakers shared) (86.00%) than "
        "for the speaker split (62.00%)")
    assert shift.sentence().startswith("accuracy (shift −100 ms, shift +100 ms) is higher for "
                                       "the full recipe (62.00%) than for no time shift")
    silence = rest[3]             # false alarms: the same numbers are worse for the full recipe
    assert silence.sentence().startswith("noise false alarms is lower for no silence class")
    # inconsistent folds: +10, −5, +1 points → within two standard errors
    _, _, shift, *_ = _claims(full=[0.60, 0.45, 0.51], without=[0.50, 0.50, 0.50])
    assert shift.verdict() == "no clear difference"
    assert "within 2 standard errors" in shift.sentence()
    # consistent but tiny: under the 1-point minimum
    _, _, shift, *_ = _claims(full=[0.505, 0.505, 0.505], without=[0.50, 0.50, 0.50])
    assert "under 1.00 points" in shift.sentence()
    # the speaker split close to the random split: no clear gap
    _, split, *_ = _claims(full=[0.60, 0.80, 0.85], without=[0.5] * 3, anchor=0.80)
    assert split.sentence().startswith("clean accuracy: no clear difference")
    # one fold: no spread over folds, so no split claim at all and no clear technique effect
    one = _claims(full=[0.6], without=[0.1], folds=1)
    assert len(one) == 1 + len(P.TECHNIQUES)
    assert all(c.verdict() == "no clear difference" for c in one[1:])


def test_effect_cells_follow_the_same_rule():
    from chainrule.lab.experiments._kws_claims import effect, technique_claim

    m = _crafted(full=[0.6] * 3, without=[0.5] * 3, alone=[0.7, 0.72, 0.69])
    m["rows"]["full"]["clean"]["folds"] = [0.6, 0.61, 0.6]
    assert effect(technique_claim(m, "time_shift", "full", "no_time_shift", "", "")) \
        == "better (+10.0 points)"
    assert effect(technique_claim(m, "silence", "full", "no_silence", "", "")) \
        == "worse (+10.0 points)"                         # false alarms: higher is worse
    assert effect(technique_claim(m, "balancing", "only_balancing", "plain", "", "")) \
        == "better (+20.3 points)"
    one = _crafted(full=[0.9], without=[0.1], folds=1)
    assert effect(technique_claim(one, "time_shift", "full", "no_time_shift", "", "")) \
        == "no clear difference (+80.0 points)"
