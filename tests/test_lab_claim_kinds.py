"""The claim kinds the newer experiments need beyond Compare: ``Ratio`` (a factor beyond a
relative resolution, e.g. timings on a shared machine) and ``Paired`` (a mean paired difference
over folds or criteria beyond k standard errors), each on both sides of its boundary, and both
through claims.json and back (``from_json``)."""

from __future__ import annotations

import pytest

from chainrule.lab import claims as C


def n(v, key="x"):
    return C.Num(f"timings.json#/{key}", v)


@pytest.mark.parametrize("a, b, verdict, text", [
    (1.0, 2.0, "a better", ("time is lower for A (1.00) than for B (2.00): 2.0×, beyond the "
                            "resolution (timer noise, ±25%)")),
    (2.0, 1.0, "b better", "time is lower for B (1.00) than for A (2.00): 2.0×"),
    (1.2, 1.0, C.NO_CLEAR, ("time: no clear difference between A (1.20) and B (1.00) — a "
                            "factor of 1.20, within the resolution (timer noise, ±25%)")),
    (1.0, 1.25, C.NO_CLEAR, "a factor of 1.25, within"),          # exactly at the resolution
])
def test_ratio_needs_more_than_the_relative_resolution(a, b, verdict, text):
    c = C.Ratio("time", "A", n(a, "a"), "B", n(b, "b"), better="lower", rel=0.25,
                rel_note="timer noise")
    assert c.verdict() == verdict
    assert text in c.sentence()


def test_ratio_exact_quantities_and_missing_values():
    files = C.Ratio("file size", "CSR", n(100), "dense", n(750), rel=0.0, spec="int")
    assert files.verdict() == "a better"
    assert files.sentence() == "file size is lower for CSR (100) than for dense (750): 7.5×"
    same = C.Ratio("file size", "A", n(750), "B", n(750), rel=0.0, spec="int")
    assert same.verdict() == C.NO_CLEAR and same.sentence().endswith("(equal)")
    higher = C.Ratio("throughput", "A", n(3.0), "B", n(1.0), better="higher", rel=0.0)
    assert higher.verdict() == "a better"
    gone = C.Ratio("time", "A", n(None), "B", n(1.0))
    assert gone.verdict() == C.NO_CLEAR and "not both measured" in gone.sentence()


def _paired(a, b, **kw):
    return C.Paired("accuracy", "full", tuple(n(v, f"a/{i}") for i, v in enumerate(a)),
                    "without", tuple(n(v, f"b/{i}") for i, v in enumerate(b)),
                    pairs="folds", spec="pct", **kw)


def test_paired_rule_both_sides():
    # d = (0.10, 0.12, 0.08): mean 0.10, sd 0.02, SE 0.0115 → clear
    up = _paired([0.9, 0.92, 0.88], [0.8, 0.8, 0.8], min_diff=0.01)
    assert up.verdict() == "a better"
    assert up.sentence() == ("accuracy is higher for full (90.00%) than for without (80.00%), "
                             "by 10.00 points on average over 3 folds (standard error "
                             "1.15 points)")
    # d = (0.10, −0.05, 0.01): mean 0.02, SE 0.044 → within two standard errors
    noisy = _paired([0.9, 0.75, 0.81], [0.8, 0.8, 0.8], min_diff=0.01)
    assert noisy.verdict() == C.NO_CLEAR
    assert "a mean difference of +2.00 points over 3 folds, within 2 standard errors" \
        in noisy.sentence()
    # tiny but perfectly consistent: under the minimum difference
    tiny = _paired([0.805, 0.805, 0.805], [0.8, 0.8, 0.8], min_diff=0.01)
    assert tiny.verdict() == C.NO_CLEAR and "under 1.00 points" in tiny.sentence()
    # lower is better: the full recipe's false accepts fall
    fa = _paired([0.1, 0.12, 0.11], [0.5, 0.55, 0.52], better="lower", min_diff=0.01)
    assert fa.verdict() == "a better" and "lower for full (11.00%)" in fa.sentence()
    worse = _paired([0.5, 0.55, 0.52], [0.1, 0.12, 0.11], better="lower", min_diff=0.01)
    assert worse.verdict() == "b better"


def test_paired_single_pair_is_never_clear():
    one = _paired([0.9], [0.1])
    assert one.verdict() == C.NO_CLEAR
    assert "from a single pair, no standard error" in one.sentence()
    assert _paired([None, 0.9], [0.1, 0.1]).verdict() == C.NO_CLEAR


@pytest.mark.parametrize("claim", [
    C.Ratio("time", "A", n(1.0, "a"), "B", n(2.0, "b"), rel=0.2, rel_note="timer noise"),
    _paired([0.9, 0.92, 0.88], [0.8, 0.8, 0.8], min_diff=0.01),
])
def test_round_trip_through_claims_json(claim):
    entry = claim.to_json()
    again = C.from_json(entry)
    assert again.verdict() == entry["verdict"] and again.sentence() == entry["sentence"]
    assert C.KINDS[entry["kind"]] is type(claim)
