"""The question a report section opens with, and the answer it ends with.

**Question.** ``question_block(exp)`` is the first block of every report: the coursework's
own wording when it is on record (``Experiment.coursework``, quoted verbatim, with its
``source``: which assignment and question), then the question in our words. Without a
quotation the question is given in our words — naming the assignment it comes from when that
is known — and never dressed up as a quote.

**Answer.** ``RunContext.answer(text, figure=NAME)`` stores one ``answer`` block: the reading
and the name of the one figure that shows it. The report moves it to the end of the section
and ``expand_answers`` turns it into plain blocks for both renderers: an **Answer** heading,
the reading, the figure (``figures/NAME.png``) shown again, and a table of the numbers that
back the reading, read from the run's ``claims.json`` (``chainrule.lab.claims``): each
claim's sentence, its measured values and where the run saved each one (``refs``). A quick
run's answer is the smoke-test line and its figure, without claims: seconds of training
support none.

``claims.json`` is untrusted input like every run file: it is read through
``report.read_run_json`` and checked entry by entry; a missing file gives no table, and an
unreadable or malformed one gives a one-line notice instead of the table (or of the rows it
spoils), never an exception.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from .claim_values import fmt, fmt_diff, split_ref
from .claims import CLAIMS_FILE
from .context import cell_text

NUMBER_HEADERS = ["claim", "number", "value", "saved in"]


# ------------------------------------------------------------------------------- question
def question_block(exp: Any) -> dict[str, Any]:
    """The ``question`` block of ``exp`` (a registered ``Experiment``)."""
    return {"type": "question", "text": exp.question,
            "coursework": getattr(exp, "coursework", "") or "",
            "source": getattr(exp, "source", "") or ""}


def question_parts(block: dict[str, Any]) -> tuple[str, str, str]:
    """``(quotation, source, label)`` of a question block: the coursework's words (``""``
    when none), where they come from, and the label of our question's paragraph."""
    quote = str(block.get("coursework") or "").strip()
    source = str(block.get("source") or "").strip()
    if quote:
        return quote, source, "**Our question.**"
    if source:
        return "", source, f"**Question** (in our words; from {source})."
    return "", "", "**Question** (in our words)."


def question_markdown(block: dict[str, Any]) -> list[str]:
    """Markdown lines of a question block (a block quote with its source, then ours)."""
    quote, source, label = question_parts(block)
    lines = []
    if quote:
        lines += [f"> “{quote}”", ">", f"> — {source}", ""]
    return lines + [f"{label} {block.get('text', '')}", ""]


# ------------------------------------------------------------------------------- answer
def reorder(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``blocks`` with every ``answer`` block moved to the end (in their order)."""
    answers = [b for b in blocks if isinstance(b, dict) and b.get("type") == "answer"]
    return [b for b in blocks if not (isinstance(b, dict) and b.get("type") == "answer")] + answers


def read_claims(run_dir: Any) -> tuple[dict[str, Any] | None, str]:
    """``(claims.json's object, "")``, ``(None, "")`` when the run has no such file, or
    ``(None, problem)`` when it cannot be used."""
    from .report import RunFileError, read_run_json  # report imports this module

    if run_dir is None:
        return None, ""
    path = Path(run_dir) / CLAIMS_FILE
    if not path.exists() and not path.is_symlink():
        return None, ""
    try:
        doc = read_run_json(run_dir, CLAIMS_FILE)
    except RunFileError as err:
        return None, str(err)
    if not isinstance(doc.get("claims", []), list):
        return None, f"{CLAIMS_FILE}: 'claims' should be a list"
    return doc, ""


def _value(v: Any, spec: Any, *, difference: bool = False) -> str:
    """A claim's number as its sentence writes it: a rate as a percentage, and a difference
    of rates (a resolution) in percentage points."""
    if spec == "pct" and isinstance(v, (int, float)) and not isinstance(v, bool) \
            and math.isfinite(v):
        return fmt_diff(v, "pct") if difference else fmt(v, "pct")
    if v is None:
        return "n/a"
    return cell_text(v)


def _from_ref(ref: Any) -> str:
    """A label from where a number was saved: ``metrics.json#/models/hidden/steps`` →
    ``models / hidden / steps``."""
    try:
        _, keys = split_ref(ref)
    except ValueError:
        return ""
    return " / ".join(keys)


def _label(field: str, params: dict[str, Any], i: int | None, ref: Any) -> str:
    if i is not None:
        names = params.get("names")
        if isinstance(names, list) and i < len(names):
            return str(names[i])
        return _from_ref(ref) or f"{field} {i + 1}"
    named = params.get(f"{field}_name")
    if isinstance(named, str) and named:
        return named
    note = params.get(f"{field}_note")
    if isinstance(note, str) and note:
        return f"{field} ({note})"
    what = params.get("what")
    if field in ("before", "after", "value") and isinstance(what, str) and what:
        return f"{what} ({field})" if field != "value" else what
    return _from_ref(ref) or field


def claim_rows(claim: Any) -> list[list[str]]:
    """Rows ``[claim, number, value, saved in]`` for one ``claims.json`` entry (its first row
    carries the sentence); ``TypeError`` when the entry is not a claim."""
    if not isinstance(claim, dict):
        raise TypeError("an entry is not an object")
    sentence, values, refs = claim.get("sentence"), claim.get("values"), claim.get("refs")
    params = claim.get("params") if isinstance(claim.get("params"), dict) else {}
    if not isinstance(sentence, str) or not isinstance(values, dict) \
            or not isinstance(refs, dict):
        raise TypeError("an entry lacks its sentence, values or refs")
    rows = []
    for field, value in values.items():
        ref = refs.get(field)
        if isinstance(value, list):
            ref_list = ref if isinstance(ref, list) else [None] * len(value)
            pairs = [(_label(field, params, i, r), v, r)
                     for i, (v, r) in enumerate(zip(value, ref_list, strict=False))]
        else:
            pairs = [(_label(field, params, None, ref), value, ref)]
        for label, v, r in pairs:
            where = f"`{r}`" if isinstance(r, str) and r else "—"
            rows.append(["", label, _value(v, params.get("spec"),
                                            difference=field == "resolution"), where])
    if not rows:
        rows.append(["", "—", "—", "—"])
    rows[0][0] = " ".join(sentence.split())
    return rows


def _matching_reading(doc: dict[str, Any], text: str, used: set[int]) -> int | None:
    readings = doc.get("readings")
    if not isinstance(readings, list):
        return None
    for i, r in enumerate(readings):
        if i not in used and isinstance(r, dict) and str(r.get("text", "")).strip() == text:
            return i
    return None


def numbers_table(doc: dict[str, Any], text: str, used: set[int]
                  ) -> tuple[list[list[str]], list[str]]:
    """``(rows, problems)``: the numbers behind the answer ``text``. The claims of the
    reading in ``claims.json`` whose text is ``text`` (the first one not in ``used``, which
    gets it added), else every claim; an entry that is not a claim is a problem."""
    index = _matching_reading(doc, text.strip(), used)
    if index is not None:
        used.add(index)
    rows, problems = [], []
    for n, claim in enumerate(doc.get("claims") or [], 1):
        if index is not None and isinstance(claim, dict) and claim.get("reading") != index:
            continue
        try:
            rows += claim_rows(claim)
        except TypeError as err:
            problems.append(f"{CLAIMS_FILE}: claim {n}: {err}; not shown")
    return rows, problems


def _figure_caption(blocks: list[Any], path: str) -> str:
    for b in blocks:
        if isinstance(b, dict) and b.get("type") == "figure" and b.get("path") == path:
            return str(b.get("caption") or "")
    return ""


class Answers:
    """Expands the ``answer`` blocks of one run's ``blocks`` (``claims.json`` read once)."""

    def __init__(self, blocks: list[Any], run_dir: Any, *, quick: bool = False):
        self.blocks = blocks
        self.answers = [b for b in blocks if _is_answer(b)]
        # a quick run's answers show no numbers, so its claims.json is not read
        self.doc, self.problem = read_claims(run_dir) if self.answers and not quick \
            else (None, "")
        self.quick = quick
        self.used: set[int] = set()

    def expand(self, block: dict[str, Any]) -> list[dict[str, Any]]:
        """Plain blocks for one answer block: an "Answer" heading, the reading, the figure it
        names (shown again) and the table of the numbers behind it."""
        n = len(self.answers)
        title = "Answer" if n <= 1 else f"Answer ({self.answers.index(block) + 1} of {n})"
        out = [{"type": "heading", "text": title}, {"type": "text", "text": block["text"]}]
        fig = block.get("figure")
        if isinstance(fig, str) and fig:
            path = f"figures/{fig}.png"
            out.append({"type": "figure", "path": path,
                        "caption": _figure_caption(self.blocks, path) or fig})
        if self.quick:       # a smoke test states no claims, so it shows none
            return out
        if self.problem:
            out.append({"type": "notice", "text": f"Numbers not shown — {self.problem}."})
        elif self.doc is not None:
            rows, problems = numbers_table(self.doc, block["text"], self.used)
            out += [{"type": "notice", "text": p} for p in problems]
            if rows:
                out.append({"type": "table", "headers": list(NUMBER_HEADERS), "rows": rows,
                            "caption": "The numbers behind this answer: each claim's measured "
                                       "values and where the run saved them (claims.json)."})
        return out


def _is_answer(b: Any) -> bool:
    return isinstance(b, dict) and b.get("type") == "answer" and isinstance(b.get("text"), str)


def expand_answers(blocks: list[Any], run_dir: Any, *, quick: bool = False) -> list[Any]:
    """``blocks`` with each ``answer`` block replaced by ``Answers.expand``'s plain blocks
    (a malformed answer block is left as it is, for the renderer to flag)."""
    answers = Answers(blocks, run_dir, quick=quick)
    out: list[Any] = []
    for b in blocks:
        out += answers.expand(b) if _is_answer(b) else [b]
    return out
