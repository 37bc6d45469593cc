"""``chainrule lab check``: every claim of a run's reading recomputed from the run's files.

``check_run(run_dir)`` reads the run's ``claims.json`` (see ``chainrule.lab.claims``) and, for
each claim, re-reads every referenced number from the file it names (``metrics.json``,
``timings.json``, ...), compares it with the value the claim was stated from, recomputes the
verdict and the sentence from the file's numbers and compares them with the stored ones. It
also rebuilds each reading paragraph from its claims' sentences and looks for it in the
run's ``report.json``. Saved runs are untrusted input: every file goes through
``report.read_run_json`` and a malformed entry is a problem, never a crash.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

from . import claims as C
from .report import RunFileError, read_run_json, report_runs, run_status, short


def same_value(a: Any, b: Any) -> bool:
    """Equal JSON values, floats within formatting noise (relative 1e-9)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-300)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    return a == b


class _Files:
    """The run's JSON files, each read once (``read_run_json``)."""

    def __init__(self, run_dir: Path):
        self.run_dir, self.docs = run_dir, {}

    def value(self, ref: Any) -> Any:
        name, keys = C.split_ref(ref)
        if name not in self.docs:
            self.docs[name] = read_run_json(self.run_dir, name)
        return C.resolve(self.docs[name], keys)


def _reread(entry: dict[str, Any], files: _Files, where: str, problems: list[str]) -> dict:
    """The entry's values re-read from the files (problems for refs that do not agree)."""
    refs, stored = entry["refs"], entry["values"]   # dicts, one value per ref: from_json checked
    fresh: dict[str, Any] = {}
    for name, ref in refs.items():
        many = isinstance(ref, list)
        got = [files.value(r) for r in ref] if many else files.value(ref)
        fresh[name] = got
        if not same_value(got, stored[name]):
            problems.append(f"{where}: {name} is {short(repr(got), 60)} in "
                            f"{short(ref, 80)} but the claim says "
                            f"{short(repr(stored.get(name)), 60)}")
    return fresh


def _check_claim(entry: Any, files: _Files, where: str, problems: list[str]) -> str | None:
    """Problems of one ``claims.json`` entry; returns its recomputed sentence."""
    if not isinstance(entry, dict):
        problems.append(f"{where}: not an object")
        return None
    try:
        own = C.from_json(entry).verdict()
        if own != entry.get("verdict"):
            problems.append(f"{where}: verdict {short(repr(entry.get('verdict')), 40)} does "
                            f"not follow from its own values ({own!r})")
        fresh = C.from_json(entry, _reread(entry, files, where, problems))
        verdict, sentence = fresh.verdict(), fresh.sentence()
    except RunFileError as err:
        problems.append(f"{where}: {err}")
        return None
    except (KeyError, TypeError, ValueError, IndexError, ArithmeticError) as err:
        problems.append(f"{where}: cannot be recomputed ({short(err, 100)})")
        return None
    if verdict != entry.get("verdict"):
        problems.append(f"{where}: the saved numbers give verdict {verdict!r}, the claim says "
                        f"{short(repr(entry.get('verdict')), 40)}")
    said = entry.get("sentence")
    if sentence != said:
        said = said if isinstance(said, str) else repr(said)
        i = next((k for k, (x, y) in enumerate(zip(sentence, said)) if x != y),
                 min(len(sentence), len(said)))
        at = max(0, i - 20)
        problems.append(f"{where}: the saved numbers give the sentence "
                        f"…{short(sentence[at:], 60)!r}, the claim says …{short(said[at:], 60)!r}")
    return sentence


def _report_texts(run_dir: Path) -> list[str]:
    blocks = read_run_json(run_dir, "report.json").get("blocks")
    return [b["text"] for b in blocks or [] if isinstance(b, dict) and isinstance(
        b.get("text"), str)] if isinstance(blocks, list) else []


def check_run(run_dir: str | Path) -> list[str]:
    """Everything in the run's ``claims.json`` that its saved numbers do not support."""
    run_dir, problems = Path(run_dir), []
    try:
        doc = read_run_json(run_dir, C.CLAIMS_FILE)
    except RunFileError as err:
        return [str(err)]
    entries, readings = doc.get("claims"), doc.get("readings")
    if not isinstance(entries, list) or not isinstance(readings, list):
        return [f"{C.CLAIMS_FILE}: 'claims' and 'readings' should be lists"]
    files = _Files(run_dir)
    sentences: dict[int, list[str | None]] = {}
    for i, entry in enumerate(entries):
        kind = entry.get("kind") if isinstance(entry, dict) else None
        s = _check_claim(entry, files, f"claim {i + 1} ({short(kind, 20)})", problems)
        idx = entry.get("reading") if isinstance(entry, dict) else None
        sentences.setdefault(idx if isinstance(idx, int) else -1, []).append(s)
    try:
        texts = _report_texts(run_dir)
    except RunFileError as err:
        problems.append(str(err))
        texts = []
    for r, rd in enumerate(readings):
        if not isinstance(rd, dict) or not isinstance(rd.get("text"), str):
            problems.append(f"reading {r + 1}: not an object with a text")
            continue
        said = sentences.get(r, [])
        want = (C.SMOKE_READING if rd.get("smoke") is True
                else C.paragraph([s for s in said if s], str(rd.get("lead", "")),
                                 str(rd.get("label", "Reading"))))
        if None not in said and rd["text"] != want:
            problems.append(f"reading {r + 1}: the text is not the paragraph its claims give")
        if not any(rd["text"] in t for t in texts):
            problems.append(f"reading {r + 1}: not found in report.json")
    return problems


def check_root(root: str | Path, out: Any = None) -> int:
    """``chainrule lab check``: one line per experiment (the run the report shows); 1 if any
    claim does not recompute, or a run that should have a reading has none, else 0."""
    out = out or sys.stdout
    runs = report_runs(root)
    if not runs:
        print(f"no runs found under {root}", file=out)
        return 1
    bad = 0
    for name, (run_dir, _newer) in runs.items():
        status = run_status(run_dir)
        if status == "skipped":
            print(f"{name:<24} skipped (missing data): nothing to check", file=out)
            continue
        problems = ([f"the run is {status}, so there is no reading to check"]
                    if status != "ok" else check_run(run_dir))
        if problems:
            bad += 1
            print(f"{name:<24} {len(problems)} problem{'s' * (len(problems) != 1)} "
                  f"({run_dir})", file=out)
            for p in problems:
                print(f"    {p}", file=out)
        else:
            print(f"{name:<24} ok ({run_dir})", file=out)
    return 1 if bad else 0
