"""Readings as checked claims: each claim kind on both sides of its boundary (crafted numbers →
verdict and wording), the paragraph and claims.json, and the checker (``chainrule lab check``)
catching a tampered number, verdict or reading."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from chainrule.lab import claims as C
from chainrule.lab.check import check_root, check_run
from chainrule.lab.cli import main as lab_main


def n(v, key="x"):
    return C.Num(f"metrics.json#/{key}", v)


# ------------------------------------------------------------------ each kind, both sides
@pytest.mark.parametrize("a, b, verdict, word", [
    (0.95, 0.90, "a better", "higher for A (95.00%) than for B (90.00%), by 5.00 points"),
    (0.90, 0.95, "b better", "higher for B (95.00%) than for A (90.00%), by 5.00 points"),
    (0.905, 0.90, C.NO_CLEAR, ("no clear difference between A (90.50%) and B (90.00%) — the "
                               "difference, 0.50 points, is within two standard errors "
                               "(1.00 points)")),
])
def test_compare_needs_more_than_the_resolution(a, b, verdict, word):
    c = C.Compare("test accuracy", "A", n(a, "a"), "B", n(b, "b"), better="higher",
                  resolution=0.01, resolution_note="two standard errors", spec="pct")
    assert c.verdict() == verdict
    assert word in c.sentence()


def test_compare_lower_is_better_and_exact_ties():
    low = C.Compare("val loss", "A", n(0.10), "B", n(0.20), better="lower")
    assert low.verdict() == "a better" and "val loss is lower for A (0.1000)" in low.sentence()
    tie = C.Compare("val loss", "A", n(0.2), "B", n(0.2), better="lower")
    assert tie.verdict() == C.NO_CLEAR and tie.sentence().endswith("(equal)")
    # just over the resolution is a difference; exactly at it is not
    over = C.Compare("steps", "A", n(100), "B", n(201), better="lower", resolution=100,
                     spec="int")
    at = C.Compare("steps", "A", n(100), "B", n(200), better="lower", resolution=100,
                   spec="int")
    assert over.verdict() == "a better" and at.verdict() == C.NO_CLEAR
    # 0.93 − 0.92 is 0.010000000000000009 in floats: still exactly at the resolution
    assert C.Compare("acc", "A", n(0.93), "B", n(0.92), resolution=0.01).verdict() == C.NO_CLEAR


def test_compare_none_is_worst_for_never_reached():
    c = C.Compare("steps to loss 0.1", "A", n(None), "B", n(500), better="lower",
                  none_is_worst=True, none_text="never", spec="int")
    assert c.verdict() == "b better"
    assert c.sentence() == "steps to loss 0.1 is lower for B (500) than for A (never)"
    both = C.Compare("steps", "A", n(None), "B", n(None), better="lower", none_is_worst=True)
    assert both.verdict() == C.NO_CLEAR and "not both measured" in both.sentence()


@pytest.mark.parametrize("before, after, verdict, text", [
    (0.0654, 0.0899, "higher", "'+ fan-in' raised the best val loss (0.0654 → 0.0899) — worse"),
    (0.0899, 0.0654, "lower", "'+ fan-in' lowered the best val loss (0.0899 → 0.0654) — better"),
    (0.0654, 0.0655, C.NO_CLEAR, ("'+ fan-in': no clear difference in the best val loss "
                                  "(0.0654 → 0.0655, within the resolution (0.0010))")),
])
def test_change_says_which_way_the_number_went(before, after, verdict, text):
    c = C.Change("'+ fan-in'", "the best val loss", n(before, "b"), n(after, "a"),
                 better="lower", resolution=0.001)
    assert c.verdict() == verdict and c.sentence() == text


def test_threshold_on_both_sides_and_each_op():
    hit = C.Threshold("test accuracy", n(0.9201), 0.92, op=">=", bar_note="the target",
                      spec="pct")
    miss = C.Threshold("test accuracy", n(0.9199), 0.92, op=">=", bar_note="the target",
                       spec="pct")
    assert hit.verdict() == "meets" and hit.sentence() == (
        "test accuracy is 92.01%, at or above the target, 92.00%")
    assert miss.verdict() == "misses" and miss.sentence() == (
        "test accuracy is 91.99%, below the target, 92.00%")
    err = C.Threshold("largest relative error", n(2e-7), 1e-6, op="<=", spec=".1e")
    assert err.verdict() == "meets" and "at or below 1.0e-06" in err.sentence()
    assert C.Threshold("x", n(2e-6), 1e-6, op="<=").verdict() == "misses"


def test_tolerance_names_the_test_and_its_constants():
    args = ("loss", "ours", n(1.0 + 2e-6, "a"), "reference", n(1.0, "b"))
    inside = C.Tolerance(*args, atol=1e-8, rtol=1e-5)
    outside = C.Tolerance(*args, atol=1e-8, rtol=1e-6)
    assert inside.verdict() == "within" and outside.verdict() == "outside"
    assert "|ours − reference| ≤ atol + rtol·|reference| (atol 1e-08, rtol 1e-05)" in (
        inside.sentence())
    assert "within tolerance" in inside.sentence()
    assert outside.sentence().startswith("loss: outside tolerance") and " > " in (
        outside.sentence())


def test_count_over_items():
    items = tuple(n(v, f"acc/{i}") for i, v in enumerate([0.1, 0.1, 0.5, 0.09]))
    c = C.Count("attempts", "stayed at chance level", items, op="<=", bar=0.11, spec="pct")
    assert c.verdict() == "3 of 4"
    assert c.sentence() == "3 of 4 attempts stayed at chance level (at or below 11.00%)"
    flags = C.Count("tensors", "passed", (n(True), n(False), n(True)))
    assert flags.verdict() == "2 of 3" and flags.sentence() == "2 of 3 tensors passed"


def test_best_needs_a_margin_over_the_runner_up():
    items = (n(0.91, "a"), n(0.93, "b"), n(0.925, "c"))
    clear = C.Best("test accuracy", ("a", "b", "c"), items, resolution=0.001, spec="pct")
    assert clear.verdict() == "b" and clear.sentence() == "the highest test accuracy is b (93.00%)"
    close = C.Best("test accuracy", ("a", "b", "c"), items, resolution=0.01, spec="pct")
    assert close.verdict() == C.NO_CLEAR
    assert "between the highest two, b (93.00%) and c (92.50%)" in close.sentence()
    low = C.Best("val loss", ("a", "b", "c"), items, better="lower")
    assert low.verdict() == "a"


def test_fact_and_round_trip_of_every_kind():
    fact = C.Fact("the network has {0:,} parameters", (n(52650),))
    assert fact.sentence() == "the network has 52,650 parameters" and fact.verdict() == "stated"
    kinds = [fact, C.Count("x", "y", (n(1), n(2)), op=">", bar=1),
             C.Best("v", ("a", "b"), (n(1, "a"), n(2, "b")), resolution=n(0.5, "se")),
             C.Compare("v", "A", n(1, "a"), "B", n(2, "b"), resolution=n(0.1, "se"))]
    for claim in kinds:
        back = C.from_json(json.loads(json.dumps(claim.to_json())))
        assert back == claim and back.sentence() == claim.sentence()


def test_refs_escape_keys_and_resolve():
    ref = C.metric(SimpleNamespace(metrics={"r": {"1/64~": [0.5, 0.25]}}), "r", "1/64~", 1)
    assert ref == C.Num("metrics.json#/r/1~164~0/1", 0.25)
    name, keys = C.split_ref(ref.ref)
    assert name == "metrics.json" and C.resolve({"r": {"1/64~": [0.5, 0.25]}}, keys) == 0.25
    with pytest.raises(ValueError):
        C.split_ref("metrics.json/r")


# ------------------------------------------------------------------ the paragraph and the file
def _ctx(tmp_path: Path, quick: bool = False) -> SimpleNamespace:
    def path(name):
        return tmp_path / name
    return SimpleNamespace(out=tmp_path, quick=quick, path=path,
                           metrics={"a": {"acc": 0.95}, "b": {"acc": 0.90}})


def _claims(ctx):
    return [C.Compare("test accuracy", "A", C.metric(ctx, "a", "acc"), "B",
                      C.metric(ctx, "b", "acc"), resolution=0.01, spec="pct")]


def _fake_run(root: Path, quick: bool = False) -> Path:
    """A run folder as the runner writes it, with a reading made of claims."""
    run = root / "demo" / "20260101-000000"
    run.mkdir(parents=True)
    ctx = _ctx(run, quick)
    text = C.reading(ctx, _claims(ctx), lead="one lead sentence")
    for name, obj in {"config.json": {"experiment": "demo", "quick": quick},
                      "metrics.json": ctx.metrics,
                      "timing.json": {"status": "ok", "seconds": 1.0, "started": "x"},
                      "report.json": {"title": "demo", "status": "ok",
                                      "blocks": [{"type": "text", "text": text}]}}.items():
        (run / name).write_text(json.dumps(obj))
    return run


def test_reading_paragraph_and_claims_file(tmp_path):
    run = _fake_run(tmp_path)
    doc = json.loads((run / "claims.json").read_text())
    text = doc["readings"][0]["text"]
    assert text == ("**Reading.** One lead sentence. Test accuracy is higher for A (95.00%) "
                    "than for B (90.00%), by 5.00 points, more than the resolution "
                    "(1.00 points).")
    (claim,) = doc["claims"]
    assert claim["refs"] == {"a": "metrics.json#/a/acc", "b": "metrics.json#/b/acc"}
    assert claim["verdict"] == "a better" and claim["reading"] == 0
    assert check_run(run) == []


def test_exact_claims_are_stated_in_quick_runs_too(tmp_path):
    ctx = _ctx(tmp_path, quick=True)
    text = C.reading(ctx, [C.Fact("{0:,} parameters", (C.metric(ctx, "a", "acc"),))],
                     label="Shapes", exact=True)
    assert text == "**Shapes.** 0.95 parameters."
    doc = json.loads((tmp_path / "claims.json").read_text())
    assert doc["readings"] == [{"lead": "", "label": "Shapes", "text": text, "smoke": False}]


def test_quick_runs_record_claims_but_draw_no_conclusion(tmp_path):
    run = _fake_run(tmp_path, quick=True)
    doc = json.loads((run / "claims.json").read_text())
    assert doc["readings"][0]["text"] == C.SMOKE_READING and len(doc["claims"]) == 1
    assert check_run(run) == []


def test_the_checker_catches_a_tampered_number(tmp_path):
    run = _fake_run(tmp_path)
    (run / "metrics.json").write_text(json.dumps({"a": {"acc": 0.85}, "b": {"acc": 0.90}}))
    problems = check_run(run)
    assert any("a is 0.85 in metrics.json#/a/acc but the claim says 0.95" in p
               for p in problems)
    assert any("give verdict 'b better'" in p for p in problems)


def test_the_checker_catches_a_tampered_verdict_and_sentence(tmp_path):
    run = _fake_run(tmp_path)
    doc = json.loads((run / "claims.json").read_text())
    doc["claims"][0]["verdict"] = "b better"
    (run / "claims.json").write_text(json.dumps(doc))
    assert any("does not follow from its own values" in p for p in check_run(run))
    doc["claims"][0]["verdict"] = "a better"
    doc["claims"][0]["sentence"] = "B is better"
    (run / "claims.json").write_text(json.dumps(doc))
    assert any("give the sentence" in p for p in check_run(run))


def test_the_checker_catches_a_reading_missing_from_the_report_and_bad_files(tmp_path):
    run = _fake_run(tmp_path)
    (run / "report.json").write_text(json.dumps({"blocks": [{"type": "text", "text": "hi"}]}))
    assert check_run(run) == ["reading 1: not found in report.json"]
    (run / "claims.json").write_text(json.dumps({"claims": [{"kind": "nope"}, 3],
                                                 "readings": []}))
    problems = check_run(run)
    assert any("unknown claim kind 'nope'" in p for p in problems)
    assert any("not an object" in p for p in problems)
    (run / "claims.json").unlink()
    assert check_run(run) == ["claims.json: missing (or a broken link)"]


def test_cli_exit_code(tmp_path, capsys):
    run = _fake_run(tmp_path)
    assert lab_main(["check", str(tmp_path)]) == 0
    assert "demo" in capsys.readouterr().out
    (run / "metrics.json").write_text(json.dumps({"a": {"acc": 0.5}, "b": {"acc": 0.90}}))
    assert lab_main(["check", str(tmp_path)]) == 1
    assert "problems" in capsys.readouterr().out
    assert check_root(tmp_path / "empty") == 1
