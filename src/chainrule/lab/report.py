"""Per-run reports: ``report.md`` (and ``report.json``) written from the run's blocks, and
helpers to find and load saved runs (used by the HTML report).

``report.md`` holds, in order: the question (the coursework's words, quoted with their
source, when on record; then ours — ``chainrule.lab.answer``); the set-up (configuration,
data sources, seed, library version, run time); the experiment's own blocks — figures,
tables; and last the **Answer**: the reading, the one figure that shows it, and the numbers
that back it (from the run's ``claims.json``).

**Saved runs are untrusted input.** A run folder may have been edited, truncated, copied
from elsewhere or crafted, so everything read back from it goes through ``run_file``:

* a reference (``report.json``'s figure paths, and the fixed names ``config.json``,
  ``metrics.json``, ``timing.json``, ``report.json``, ``error.txt``, ``skipped.txt``) must be
  a relative path without ``..``, and must resolve — links followed — to a *regular file*
  inside the run folder (itself resolved). A link that stays inside is fine; an absolute
  path, a ``..``, a link leading out, a folder, a device or a pipe is refused, and so is a
  file over ``MAX_JSON_BYTES`` / ``MAX_FIGURE_BYTES``;
* ``load_run`` never raises for a bad file: each missing, unreadable, non-UTF-8, non-JSON,
  non-object file, each missing required key and each value of the wrong type becomes one
  line in ``run["problems"]`` naming the file relative to the run folder (never an absolute
  path), and the value falls back to its default, so the rest of the run still renders.

**Which run of an experiment the HTML report shows** (``report_runs``). A folder is a run
when it holds ``report.json``, or a ``config.json`` naming its ``"experiment"``; the name is
that field, else the folder's parent's name. Runs are ordered by folder name (the runner's
timestamp, ``-N`` suffixes compared as numbers). A run's status is ``timing.json``'s
``"status"``, else ``report.json``'s, else ``"incomplete"`` when neither file exists (still
running, or killed), else ``"unknown"``. The report shows the newest run whose status is
``"ok"``; every run newer than it (failed, skipped, incomplete, unknown) is listed in that
section as a newer attempt with its status and a one-line reason: the last line of
``error.txt`` for a failed run, ``skipped.txt`` for a skipped one. When no run is ok, the
newest run is shown as it is (its own report says why it failed) and nothing is listed.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from . import tables
from .answer import expand_answers, question_block, question_markdown, reorder
from .context import RunContext, jsonable


def _setup_blocks(exp: Any, ctx: RunContext, seconds: float) -> list[dict[str, Any]]:
    from .runner import library_version

    cfg = dataclasses.asdict(ctx.config)
    rows = [[k, _fmt_cfg(v)] for k, v in cfg.items()]
    blocks: list[dict[str, Any]] = [
        question_block(exp),
        {"type": "heading", "text": "Set-up"},
        {"type": "text", "text": (
            f"Preset: **{'quick' if ctx.quick else 'full'}**; seed **{ctx.seed}**; "
            f"chainrule **{library_version()}**; run time **{seconds:.1f} s**.")},
    ]
    if ctx.sources:
        blocks.append({"type": "text", "text": "Data sources: " + "; ".join(ctx.sources) + "."})
    blocks.append({"type": "table", "headers": ["setting", "value"], "rows": rows, "caption": ""})
    return blocks


def _fmt_cfg(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v)
    return str(v)


def write_report(out: Path, exp: Any, ctx: RunContext, *, seconds: float, error: str = "",
                 status: str = "") -> Path:
    """Write ``report.md`` and ``report.json`` into the run directory ``out``.

    ``status`` is ``"ok"``, ``"failed"`` or ``"skipped"`` (default: failed when ``error``).
    """
    status = status or ("failed" if error else "ok")
    blocks = _setup_blocks(exp, ctx, seconds) + reorder(list(ctx.blocks))
    if status == "skipped":
        blocks.append({"type": "heading", "text": "Skipped"})
        blocks.append({"type": "text", "text": error[0].upper() + error[1:]})
    elif error:
        last = error.strip().splitlines()[-1]
        blocks.append({"type": "heading", "text": "Failure"})
        blocks.append({"type": "text", "text": f"The run failed: {last} (see error.txt)."})
    doc = {"name": exp.name, "question": exp.question, "doc": exp.doc, "blocks": blocks,
           "status": status}
    (out / "report.json").write_text(json.dumps(jsonable(doc), indent=1) + "\n")
    path = out / "report.md"
    path.write_text(to_markdown(exp.name, expand_answers(blocks, out, quick=ctx.quick)))
    return path


def to_markdown(title: str, blocks: list[dict[str, Any]]) -> str:
    """Render report blocks as Markdown. Expects ``answer`` blocks already expanded
    (``answer.expand_answers``, as ``write_report`` does); an unexpanded one prints as text."""
    lines = [f"# {title}", ""]
    for b in blocks:
        kind = b["type"]
        if kind == "heading":
            lines += [f"## {b['text']}", ""]
        elif kind in ("text", "answer"):
            lines += [b["text"], ""]
        elif kind == "question":
            lines += question_markdown(b)
        elif kind == "notice":
            lines += [f"*{b['text']}*", ""]
        elif kind == "code":
            lines += ["```", b["text"], "```", ""]
        elif kind == "figure":
            lines += [f"![{b['caption']}]({b['path']})", "", f"*{b['caption']}*", ""]
        elif kind == "table":
            lines += [tables.to_markdown(b["headers"], b["rows"], b.get("caption", "")), ""]
    return "\n".join(lines)


# ---------------------------------------------------------------- reading saved runs back

MAX_JSON_BYTES = 64 << 20      # a run's JSON files are kilobytes; refuse anything absurd
MAX_FIGURE_BYTES = 32 << 20    # each figure is embedded in the page
STATUSES = ("ok", "failed", "skipped")
RUN_JSON = ("config.json", "metrics.json", "timing.json", "report.json")

# Keys the page reads: (type, required). A wrong type is a problem and the key is dropped.
_FIELDS: dict[str, dict[str, tuple[Any, bool]]] = {
    "config.json": {"experiment": (str, True), "question": (str, False), "seed": (int, True),
                    "quick": (bool, True), "config": (dict, True),
                    "library_version": (str, False), "numpy_version": (str, False)},
    "metrics.json": {"data_sources": (list, False)},
    "timing.json": {"started": (str, True), "seconds": (float, True), "status": (str, True)},
    "report.json": {"blocks": (list, True), "status": (str, False), "name": (str, False)},
}
_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
               dict: "an object", list: "a list"}


class RunFileError(ValueError):
    """A run's file that cannot be used; the message starts with its name in the run folder."""


def short(text: Any, n: int = 80) -> str:
    """``text`` as one line of at most ``n`` characters (for quoting untrusted values)."""
    s = re.sub(r"[\x00-\x1f\x7f]", "?", " ".join(str(text).split()))
    return s if len(s) <= n else s[: n - 1] + "…"


def kind_of(value: Any) -> str:
    """The JSON kind of ``value`` in words (``"a list"``, ``"null"``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "a number"
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def has_type(value: Any, typ: Any) -> bool:
    """JSON-aware ``isinstance``: booleans are not numbers; integers are numbers."""
    if typ in (int, float) and isinstance(value, bool):
        return False
    return isinstance(value, (int, float) if typ is float else typ)


def run_file(run_dir: str | Path, ref: Any) -> Path:
    """The regular file that ``ref`` names inside ``run_dir``, fully resolved.

    Raises ``RunFileError`` for a reference that is not a non-empty string, an absolute path,
    one with a ``..``, one that is missing, that resolves (through links) outside the run
    folder, or that is not a regular file.
    """
    if not isinstance(ref, str) or not ref.strip():
        raise RunFileError(f"{short(repr(ref))}: not a file name")
    name = short(ref, 120)
    if PurePosixPath(ref).is_absolute() or PureWindowsPath(ref).is_absolute():
        raise RunFileError(f"{name}: an absolute path (only files inside the run folder are "
                           f"allowed)")
    if ".." in PurePosixPath(ref.replace("\\", "/")).parts:
        raise RunFileError(f"{name}: leads out of the run folder (..)")
    try:
        base = Path(run_dir).resolve(strict=True)
        real = (base / ref).resolve(strict=True)
    except FileNotFoundError:
        raise RunFileError(f"{name}: missing (or a broken link)") from None
    except (OSError, RuntimeError, ValueError) as exc:  # a link loop, a NUL byte, too long
        why = getattr(exc, "strerror", None) or "not a usable path"
        raise RunFileError(f"{name}: cannot be resolved ({why})") from None
    if not real.is_relative_to(base):
        raise RunFileError(f"{name}: a link that leads out of the run folder")
    if not real.is_file():
        what = "a folder" if real.is_dir() else "a device, pipe or socket"
        raise RunFileError(f"{name}: {what}, not a regular file")
    return real


def read_run_bytes(run_dir: str | Path, ref: Any, limit: int) -> bytes:
    """The bytes of ``run_file(run_dir, ref)``, refusing files over ``limit`` bytes."""
    real = run_file(run_dir, ref)
    try:
        with open(real, "rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise RunFileError(f"{short(ref, 120)}: cannot be read "
                           f"({exc.strerror or type(exc).__name__})") from None
    if len(data) > limit:
        raise RunFileError(f"{short(ref, 120)}: larger than {limit >> 20} MiB")
    return data


def read_run_json(run_dir: str | Path, name: str) -> dict[str, Any]:
    """The JSON object in the run's file ``name`` (``RunFileError`` saying what is wrong)."""
    data = read_run_bytes(run_dir, name, MAX_JSON_BYTES)
    if not data.strip():
        raise RunFileError(f"{name}: empty")
    try:
        obj = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise RunFileError(f"{name}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise RunFileError(f"{name}: not valid JSON ({exc.msg} at line {exc.lineno}, "
                           f"column {exc.colno})") from None
    except RecursionError:
        raise RunFileError(f"{name}: nested too deeply") from None
    if not isinstance(obj, dict):
        raise RunFileError(f"{name}: should hold a JSON object, not {kind_of(obj)}")
    return obj


def _checked(name: str, obj: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    """``obj`` without the keys of the wrong type; each wrong or missing key is a problem."""
    for key, (typ, required) in _FIELDS[name].items():
        if key not in obj:
            if required:
                problems.append(f"{name}: no {key!r}")
        elif not has_type(obj[key], typ):
            problems.append(f"{name}: {key!r} should be {_TYPE_NAMES[typ]}, "
                            f"not {kind_of(obj.pop(key))}")
    if name in ("timing.json", "report.json") and obj.get("status", "ok") not in STATUSES:
        problems.append(f"{name}: unknown status {short(repr(obj.pop('status')), 40)}")
    return obj


def _name_key(path: Path) -> tuple[str, int, str]:
    m = re.fullmatch(r"(.*?)-(\d+)", path.name)
    if m and re.fullmatch(r"\d{8}-\d{6}", m.group(1)):
        return (m.group(1), int(m.group(2)), path.name)
    return (path.name, 0, path.name)


def _experiment_of(run_dir: Path) -> str | None:
    try:
        name = read_run_json(run_dir, "config.json").get("experiment")
    except RunFileError:
        name = None
    if isinstance(name, str) and name.strip():
        return name
    return run_dir.parent.name if (run_dir / "report.json").exists() else None


def run_dirs(root: str | Path) -> dict[str, list[Path]]:
    """``{experiment: [run directories, oldest first]}`` found under ``root``.

    A run directory holds ``report.json`` or a ``config.json`` naming its experiment (see the
    module docstring); ``root`` may be a runs root (``runs/<name>/<timestamp>/``) or a single
    experiment's folder.
    """
    root = Path(root)
    candidates = {p.parent for pat in ("**/config.json", "**/report.json")
                  for p in root.glob(pat)}
    found: dict[str, list[Path]] = {}
    for run_dir in sorted(candidates):
        name = _experiment_of(run_dir)
        if name is not None:
            found.setdefault(name, []).append(run_dir)
    for dirs in found.values():
        dirs.sort(key=_name_key)
    return found


def latest_runs(root: str | Path) -> dict[str, Path]:
    """The newest run directory of each experiment under ``root`` (by timestamp name)."""
    return {name: dirs[-1] for name, dirs in sorted(run_dirs(root).items())}


def run_status(run_dir: str | Path) -> str:
    """``ok``, ``failed``, ``skipped``, ``incomplete`` or ``unknown`` (module docstring)."""
    for name in ("timing.json", "report.json"):
        try:
            status = read_run_json(run_dir, name).get("status")
        except RunFileError:
            continue
        if status in STATUSES:
            return status
    present = any(Path(run_dir, n).exists() or Path(run_dir, n).is_symlink()
                  for n in ("timing.json", "report.json"))
    return "unknown" if present else "incomplete"


def _last_line(run_dir: Path, name: str, *, last: bool) -> str | None:
    try:
        real = run_file(run_dir, name)
        with open(real, "rb") as f:
            if last:
                f.seek(max(0, real.stat().st_size - 8192))
            text = f.read(8192).decode("utf-8", errors="replace")
    except (RunFileError, OSError):
        return None
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return (lines[-1] if last else lines[0]) if lines else None


def attempt_reason(run_dir: str | Path, status: str) -> str:
    """One line saying why a run is not ok: ``error.txt``'s last line, ``skipped.txt``, ..."""
    run_dir = Path(run_dir)
    if status == "failed":
        line = _last_line(run_dir, "error.txt", last=True)
        return short(line, 300) + " (error.txt)" if line else "no readable error.txt"
    if status == "skipped":
        line = _last_line(run_dir, "skipped.txt", last=False)
        if not line:
            return "no readable skipped.txt"
        return short(re.sub(r"^skipped:\s*", "", line), 300) + " (skipped.txt)"
    if status == "incomplete":
        return "no timing.json or report.json: still running, or stopped before it finished"
    return "its status cannot be read from timing.json or report.json"


def report_runs(root: str | Path) -> dict[str, tuple[Path, list[Path]]]:
    """``{experiment: (run shown, [newer runs that are not ok, newest first])}``.

    The run shown is the newest ``ok`` one, else the newest (the rule is in the module
    docstring).
    """
    chosen = {}
    for name, dirs in sorted(run_dirs(root).items()):
        newer: list[Path] = []
        for run_dir in reversed(dirs):
            if run_status(run_dir) == "ok":
                chosen[name] = (run_dir, newer)
                break
            newer.append(run_dir)
        else:
            chosen[name] = (dirs[-1], [])
    return chosen


def load_run(path: str | Path) -> dict[str, Any]:
    """Everything saved in one run directory: config, metrics, timing, report blocks.

    Never raises for a bad file: ``"problems"`` lists what is wrong with which file (names
    relative to the run folder) and the affected values fall back to empty defaults.
    ``"status"`` is ``run_status``'s.
    """
    path = Path(path)
    problems: list[str] = []
    run: dict[str, Any] = {"path": path, "problems": problems}
    for name in RUN_JSON:
        key = name.removesuffix(".json")
        try:
            run[key] = _checked(name, read_run_json(path, name), problems)
        except RunFileError as err:
            problems.append(str(err))
            run[key] = {}
    run["report"].setdefault("blocks", [])
    run["status"] = run_status(path)
    return run
