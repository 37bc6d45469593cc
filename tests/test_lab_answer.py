"""Each report section opens with the question (the coursework's words, quoted with their
source, when on record) and ends with the answer: the reading, its figure, and the numbers
behind it from ``claims.json`` (untrusted: missing or malformed files never break a page)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pytest

from chainrule import plots
from chainrule.lab import registry
from chainrule.lab.answer import claim_rows, question_markdown
from chainrule.lab.html import dataset_line, render_html
from chainrule.lab.runner import run_experiment

READING = "**Reading.** The mean 0.1 is above the bar 0.05."
CLAIMS = {"claims": [
    {"kind": "threshold", "refs": {"value": "metrics.json#/mean"}, "values": {"value": 0.1},
     "params": {"what": "mean", "spec": ".4f"}, "verdict": "above",
     "sentence": "The mean 0.1000 is above 0.05.", "reading": 0},
    {"kind": "best", "refs": {"items": ["metrics.json#/acc/0", "metrics.json#/acc/1"]},
     "values": {"items": [0.91234, 0.8]}, "params": {"names": ["wide", "deep"], "spec": "pct"},
     "verdict": "wide", "sentence": "wide is best (91.23%).", "reading": 0},
    {"kind": "fact", "refs": {"value": "metrics.json#/other"}, "values": {"value": 3},
     "params": {}, "verdict": "true", "sentence": "Belongs to another reading.", "reading": 1}],
    "readings": [{"lead": "", "text": READING, "smoke": False},
                 {"lead": "", "text": "Other.", "smoke": False}]}


@dataclass
class AnswerConfig:
    n: int = 4
    claims: str = "good"     # good | none | broken | partial


def _answering(cfg: AnswerConfig, ctx) -> None:
    rows = [{"step": i, "value": float(i), "series": "a"} for i in range(cfg.n)]
    ctx.answer(READING, figure="curve")             # before its figure is drawn: fine
    ctx.figure("curve", plots.grouped_lines, ctx.save_rows(rows, "curve"), x="step",
               y="value", group="series", xlabel="step", ylabel="value", title="t",
               caption="The curve")
    ctx.md("A paragraph that comes after the answer in the code.")
    ctx.metrics["mean"] = 0.1
    if cfg.claims == "good":
        ctx.path("claims.json").write_text(json.dumps(CLAIMS))
    elif cfg.claims == "broken":
        ctx.path("claims.json").write_text("{not json")
    elif cfg.claims == "partial":
        doc = json.loads(json.dumps(CLAIMS))
        doc["claims"].insert(0, "not a claim")
        ctx.path("claims.json").write_text(json.dumps(doc))


@pytest.fixture
def answering():
    registry.load_all()
    registry.register("toy-answer", question="Is the mean above the bar?", config=AnswerConfig,
                      source="Cambridge L42, the Keras starter pack",
                      coursework="exceed 92% validation accuracy")(_answering)
    registry.register("toy-ours", question="Our own question?", config=AnswerConfig,
                      source="UCL COMP0197 A1, question 4")(_answering)
    yield
    for name in ("toy-answer", "toy-ours"):
        registry._REGISTRY.pop(name, None)


def _run(tmp_path, name="toy-answer", claims="good"):
    return run_experiment(name, out_root=tmp_path, overrides={"claims": claims}).path


def test_report_md_opens_with_the_quoted_question_and_ends_with_the_answer(tmp_path,
                                                                           answering):
    md = (_run(tmp_path) / "report.md").read_text()
    assert md.index("> “exceed 92% validation accuracy”") < md.index("## Set-up")
    assert "> — Cambridge L42, the Keras starter pack" in md
    assert "**Our question.** Is the mean above the bar?" in md
    answer = md[md.index("## Answer"):]
    assert md.index("A paragraph that comes after") < md.index("## Answer")
    assert answer.startswith(f"## Answer\n\n{READING}\n\n![The curve](figures/curve.png)")
    # the numbers of this reading's claims only, each with where it was saved
    assert "| The mean 0.1000 is above 0.05. | mean | 0.1000 | `metrics.json#/mean` |" in answer
    assert "| wide is best (91.23%). | wide | 91.23% | `metrics.json#/acc/0` |" in answer
    assert "|  | deep | 80.00% | `metrics.json#/acc/1` |" in answer
    assert "Belongs to another reading" not in answer


def test_a_question_without_coursework_wording_is_ours_never_a_quote(tmp_path, answering):
    md = (_run(tmp_path, "toy-ours") / "report.md").read_text()
    assert "**Question** (in our words; from UCL COMP0197 A1, question 4). Our own question?" \
        in md
    assert "“" not in md and "\n> " not in md
    assert question_markdown({"text": "Q?"}) == ["**Question** (in our words). Q?", ""]
    with pytest.raises(ValueError, match="needs its source"):
        registry.register("toy-bad", question="?", config=AnswerConfig, coursework="words")


def test_html_answer_box_shows_reading_figure_again_and_numbers(tmp_path, answering):
    run = _run(tmp_path)
    page = render_html({"toy-answer": run})
    assert '<blockquote class="coursework"><p>“exceed 92% validation accuracy”</p>' in page
    assert page.index('class="coursework"') < page.index("<b>Seed:</b>")   # the section opens
    box = page[page.index('<div class="answer">'):]
    assert box.startswith('<div class="answer"><h3>Answer</h3>\n<p><strong>Reading.</strong>')
    png = re.findall(r'<img alt="The curve" src="([^"]+)"', page)
    assert len(png) == 2 and png[0] == png[1]             # the figure, and again in the answer
    assert "<td>`metrics.json#/mean`</td>" not in box and "<code>metrics.json#/mean</code>" in box
    assert page.index("A paragraph that comes after") < page.index('<div class="answer">')


@pytest.mark.parametrize("claims,notice", [
    ("none", None),
    ("broken", "Numbers not shown — claims.json: not valid JSON"),
    ("partial", "claims.json: claim 1: an entry is not an object; not shown"),
])
def test_missing_or_bad_claims_json_never_breaks_the_answer(tmp_path, answering, claims,
                                                            notice):
    run = _run(tmp_path, claims=claims)
    md = (run / "report.md").read_text()
    page = render_html({"toy-answer": run})
    assert "figures/curve.png" in md
    for text in (md, page):
        assert "Answer" in text and "Reading." in text
    if notice is None:
        assert "saved in" not in md and "Numbers not shown" not in page
    else:
        assert notice in md and notice in page
    assert ("The mean 0.1000 is above 0.05." in md) == (claims == "partial")


def test_a_quick_run_answers_with_its_figure_but_states_no_claims(tmp_path, answering):
    run = run_experiment("toy-answer", quick=True, out_root=tmp_path).path
    md = (run / "report.md").read_text()
    answer = md[md.index("## Answer"):]
    assert "figures/curve.png" in answer
    assert "saved in" not in answer and "is above 0.05" not in answer


def test_claim_rows_label_each_number_and_refuse_non_claims():
    rows = claim_rows({"sentence": "s", "values": {"a": 0.5, "b": None},
                       "refs": {"a": "metrics.json#/x", "b": "metrics.json#/y"},
                       "params": {"a_name": "chainrule", "spec": "pct"}})
    assert rows == [["s", "chainrule", "50.00%", "`metrics.json#/x`"],
                    ["", "y", "n/a", "`metrics.json#/y`"]]   # unnamed: where it was saved
    fact = claim_rows({"sentence": "f", "values": {"values": [80, 96]}, "params": {},
                       "refs": {"values": ["metrics.json#/models/soft~1max/best_step",
                                           "metrics.json#/steps"]}})
    assert [r[1] for r in fact] == ["models / soft/max / best_step", "steps"]
    note = claim_rows({"sentence": "n", "values": {"resolution": 0.1}, "refs": {},
                       "params": {"resolution_note": "two standard errors"}})
    assert note == [["n", "resolution (two standard errors)", "0.1000", "—"]]
    rate = claim_rows({"sentence": "r", "values": {"a": 0.9, "resolution": 0.0287},
                       "refs": {}, "params": {"spec": "pct", "a_name": "model"}})
    assert [r[2] for r in rate] == ["90.00%", "2.87 points"]   # a difference of rates
    with pytest.raises(TypeError):
        claim_rows({"sentence": "s", "values": [1], "refs": {}})


def test_answer_figure_must_be_a_name():
    from pathlib import Path

    from chainrule.lab.context import RunContext

    ctx = RunContext(Path("unused"), seed=0, quick=False, config=None)
    for bad in ("figures/curve.png", "../x", ""):
        with pytest.raises(ValueError, match="figure name"):
            ctx.answer("text", figure=bad)
    ctx.answer(" text ")
    assert ctx.blocks == [{"type": "answer", "text": "text", "figure": None}]


def test_dataset_line_says_what_the_run_read():
    assert dataset_line({"dataset": "mnist"}, {"data_sources": ["train: a"]}) == \
        "mnist — train: a"
    assert dataset_line({}, {"data_sources": ["train: hapt", "test: hapt"]}) == \
        "train: hapt; test: hapt"
    assert dataset_line({}, {"data_sources": []}) == \
        "none (synthetic data: no data file was read)"
    assert dataset_line({}, {}) == "not recorded (metrics.json has no data_sources)"


def test_crafted_claims_link_and_answer_figure_are_refused(tmp_path, answering):
    run = _run(tmp_path, claims="none")
    outside = tmp_path / "secret.json"
    outside.write_text(json.dumps(CLAIMS))
    (run / "claims.json").symlink_to(outside)
    report = json.loads((run / "report.json").read_text())
    [answer] = [b for b in report["blocks"] if b["type"] == "answer"]
    answer["figure"] = "../../secret"
    (run / "report.json").write_text(json.dumps(report))
    page = render_html({"toy-answer": run})
    assert "Numbers not shown — claims.json: a link that leads out of the run folder" in page
    assert "Figure not shown — figures/../../secret.png: leads out of the run folder" in page
    assert "The mean 0.1000 is above 0.05." not in page
    answer["figure"] = 3
    (run / "report.json").write_text(json.dumps(report))
    assert "(answer): &#x27;figure&#x27; should be a string, not a number; not shown" in \
        render_html({"toy-answer": run})
