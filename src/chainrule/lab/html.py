"""One self-contained HTML page from saved runs: figures embedded as base64 PNG, a table of
contents, and for each result its dataset, seed, library version, preset and run time.

The page needs no network and no other file. A small inline script marks every ``<img>``
with ``data-loaded="1"`` once it has decoded (``naturalWidth > 0``), which lets a headless
browser check that every figure rendered.

Each section opens with its question (the coursework's words quoted with their source, when
on record) and ends with its **Answer** (``chainrule.lab.answer``): the reading, the figure
that shows it, and the numbers behind it from ``claims.json``. Beside every table: a CSV
download (a ``data:`` link, works without scripts) and "copy as Markdown" / "copy as
LaTeX" buttons (``chainrule.lab.tables``), which the inline script reveals — with scripts
off they stay hidden and the table itself is always there.

The run folders are untrusted (see ``chainrule.lab.report``): a figure is embedded only when
its reference resolves to a PNG file inside its run folder, and a refused or unreadable one
becomes a one-line notice naming the reference; a malformed block becomes a notice naming
its position in ``report.json``; problems with a run's files are listed at the top of its
section. One bad run never stops the page: every section is rendered on its own.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import urllib.parse
from pathlib import Path
from typing import Any

from . import tables
from .answer import Answers, question_parts
from .page_style import CSS, SCRIPT
from .report import (
    MAX_FIGURE_BYTES,
    RunFileError,
    attempt_reason,
    has_type,
    kind_of,
    load_run,
    read_run_bytes,
    report_runs,
    run_status,
    short,
)

_SMOKE = ("Smoke test (quick preset): seconds of training on a subset of the data, so the "
          "numbers below are not meaningful results. `make run` (the full presets) gives them.")

def inline_markdown(text: str) -> str:
    """Escape HTML, then render `code`, **bold** and *italic*."""
    out = tables._CODE.sub(r"<code>\1</code>", html.escape(text))
    out = tables._BOLD.sub(r"<strong>\1</strong>", out)
    return tables._ITALIC.sub(r"<em>\1</em>", out)


_PNG = b"\x89PNG\r\n\x1a\n"
_SCALAR = (str, int, float, bool, type(None))
# Block type -> its required keys and their types (``caption`` is optional, a string).
_BLOCKS: dict[str, dict[str, Any]] = {
    "heading": {"text": str}, "text": {"text": str}, "code": {"text": str},
    "question": {"text": str}, "answer": {"text": str}, "notice": {"text": str},
    "figure": {"path": str}, "table": {"headers": list, "rows": list},
}
# Optional keys beyond ``caption``: their types (``None`` allowed where listed).
_OPTIONAL: dict[str, dict[str, tuple[Any, ...]]] = {
    "question": {"coursework": (str,), "source": (str,)},
    "answer": {"figure": (str, type(None))},
}


def block_problem(block: Any) -> str | None:
    """What is wrong with one ``report.json`` block, or ``None`` when it can be rendered."""
    if not isinstance(block, dict):
        return f"is {kind_of(block)}, not an object"
    kind = block.get("type")
    if "type" not in block:
        return "has no 'type'"
    if kind not in _BLOCKS:
        return f"has an unknown type {short(repr(kind), 40)}"
    for key, typ in {**_BLOCKS[kind], "caption": str}.items():
        if key not in block:
            if key != "caption":
                return f"({kind}) has no {key!r}"
        elif not has_type(block[key], typ):
            return f"({kind}): {key!r} should be {kind_of(typ())}, not {kind_of(block[key])}"
    for key, types in _OPTIONAL.get(kind, {}).items():
        if key in block and not isinstance(block[key], types):
            return f"({kind}): {key!r} should be a string, not {kind_of(block[key])}"
    if kind == "table":
        if not all(isinstance(h, _SCALAR) for h in block["headers"]):
            return "(table): every header should be a string or a number"
        for i, row in enumerate(block["rows"], 1):
            if not isinstance(row, list):
                return f"(table): row {i} is {kind_of(row)}, not a list"
            if not all(isinstance(c, _SCALAR) for c in row):
                return f"(table): row {i} holds a cell that is not a string or a number"
    return None


def _notice(text: str) -> str:
    return f'<p class="meta failed">{html.escape(text)}</p>'


def _figure(run_dir: Path, block: dict[str, Any]) -> str:
    try:
        data = read_run_bytes(run_dir, block["path"], MAX_FIGURE_BYTES)
        if not data.startswith(_PNG):
            raise RunFileError(f"{short(block['path'], 120)}: not a PNG image")
    except RunFileError as err:
        return _notice(f"Figure not shown — {err}.")
    caption = block.get("caption", "")
    payload = base64.b64encode(data).decode("ascii")
    return (f'<figure><img alt="{html.escape(caption)}" '
            f'src="data:image/png;base64,{payload}">'
            f"<figcaption>{inline_markdown(caption)}</figcaption></figure>")


def render_blocks(run_dir: Path, blocks: list[Any], *, quick: bool = False,
                  name: str = "table", start: int = 1) -> str:
    """HTML for one run's report blocks; a malformed block becomes a one-line notice.

    ``answer`` blocks become an "Answer" box (``answer.Answers``); ``name`` prefixes the
    file names of the tables' CSV downloads (``<name>-table-<k>.csv``); ``start`` is the
    position of ``blocks[0]`` in ``report.json`` (for the notices)."""
    answers = Answers(blocks, run_dir, quick=quick)
    counter = [0]

    def one(b: dict[str, Any]) -> str:
        kind = b["type"]
        if kind == "heading":
            return f"<h3>{html.escape(b['text'])}</h3>"
        if kind == "text":
            return f"<p>{inline_markdown(b['text'])}</p>"
        if kind == "notice":
            return _notice(b["text"])
        if kind == "question":
            return _question(b)
        if kind == "code":
            return f"<pre>{html.escape(b['text'])}</pre>"
        if kind == "figure":
            return _figure(run_dir, b)
        if kind == "table":
            counter[0] += 1
            return _table(b, f"{name}-table-{counter[0]}.csv")
        inner = [_notice(f"answer: {p}") if (p := block_problem(x)) else one(x)
                 for x in answers.expand(b)]
        return '<div class="answer">' + "\n".join(inner) + "</div>"

    parts = []
    for i, b in enumerate(blocks, start):
        problem = block_problem(b)
        parts.append(_notice(f"report.json: block {i} {problem}; not shown.") if problem
                     else one(b))
    return "\n".join(parts)


def _question(b: dict[str, Any]) -> str:
    """The coursework's words (quoted, with their source) and then our question."""
    quote, source, label = question_parts(b)
    cite = (f'<blockquote class="coursework"><p>“{html.escape(quote)}”</p>'
            f"<footer>— {html.escape(source)}</footer></blockquote>") if quote else ""
    return f'{cite}<p class="question">{inline_markdown(label + " " + b["text"])}</p>'


def _table(b: dict[str, Any], csv_name: str) -> str:
    """A table in its scrolling box, with a CSV download and copy buttons beside it."""
    headers = [str(h) for h in b["headers"]]
    rows = [[str(c) for c in r] for r in b["rows"]]
    caption = b.get("caption", "")
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(c) for c in r) + "</tr>" for r in rows)
    cap = f"<caption>{inline_markdown(caption)}</caption>" if caption else ""
    md = html.escape(tables.to_markdown(headers, rows, caption))
    tex = html.escape(tables.to_latex(headers, rows, caption))
    href = "data:text/csv;charset=utf-8," + urllib.parse.quote(tables.to_csv(headers, rows),
                                                              safe="")
    tools = (f'<div class="tabletools" data-md="{md}" data-tex="{tex}">'
             f'<a class="csv" download="{html.escape(csv_name)}" href="{href}">'
             f"Download CSV</a>"
             f'<button type="button" class="copy" data-format="md" hidden>Copy as Markdown'
             f'</button><button type="button" class="copy" data-format="tex" hidden>'
             f'Copy as LaTeX</button><span class="copied" aria-live="polite"></span></div>')
    return (f'<div class="tablebox"><table>{cap}<thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>{tools}")


def _cell(text: str) -> str:
    """A table cell: numbers and short labels never wrap; prose (over 24 characters) does."""
    cls = ' class="text"' if len(text) > 24 else ""
    return f"<td{cls}>{inline_markdown(text)}</td>"


def dataset_line(config: dict[str, Any], metrics: dict[str, Any]) -> str:
    """What the run read: the config's ``dataset`` (when it has one) and the data sources
    the run recorded; ``"none (synthetic data: no data file was read)"`` when it recorded
    none, ``"not recorded"`` when ``metrics.json`` has no ``data_sources``."""
    dataset = config.get("dataset") if isinstance(config, dict) else None
    recorded = metrics.get("data_sources")
    sources = "; ".join(str(s) for s in recorded) if isinstance(recorded, list) else ""
    if isinstance(dataset, str) and dataset:
        return dataset + (f" — {sources}" if sources else "")
    if sources:
        return sources
    if isinstance(recorded, list):
        return "none (synthetic data: no data file was read)"
    return "not recorded (metrics.json has no data_sources)"


def _meta(run: dict[str, Any]) -> str:
    cfg, timing, metrics = run["config"], run["timing"], run["metrics"]
    seconds = timing.get("seconds")
    status = run["status"]
    rows = [
        ("Dataset", dataset_line(cfg.get("config", {}), metrics)),
        ("Seed", cfg.get("seed", "?")),
        ("Preset", {True: "quick", False: "full"}.get(cfg.get("quick"), "?")),
        ("Library version", (f"chainrule {cfg.get('library_version', '?')} "
                            f"(NumPy {cfg.get('numpy_version', '?')})")),
        ("Run time", (f"{seconds:.1f} s" if seconds is not None else "?")
         + f", started {timing.get('started', '?')}"),
        ("Status", status),
        ("Run directory", f"{run['path'].parent.name}/{run['path'].name}"),
    ]
    body = "<br>".join(f"<b>{k}:</b> {html.escape(str(v))}" for k, v in rows)
    cls = {"ok": "meta", "skipped": "meta skipped"}.get(status, "meta failed")
    return f'<div class="{cls}">{body}</div>'


def _problems(run: dict[str, Any]) -> str:
    if not run["problems"]:
        return ""
    items = "".join(f"<li>{html.escape(p)}</li>" for p in run["problems"])
    return (f'<div class="meta failed problems"><b>Problems with this run\'s files</b> '
            f"(shown below as far as they allow):<ul>{items}</ul></div>")


def _newer(run: dict[str, Any], newer: list[Path]) -> str:
    """The note on newer attempts that did not end ok (the section shows an older ok run)."""
    if not newer:
        return ""
    items = "".join(f"<li>{html.escape(d.name)}: <b>{html.escape(s)}</b> — "
                    f"{html.escape(attempt_reason(d, s))}</li>"
                    for d, s in ((d, run_status(d)) for d in newer))
    return (f'<div class="meta failed newer"><b>Newer attempt{"s" if len(newer) > 1 else ""} '
            f"not shown</b> (this section shows the last ok run, "
            f"{html.escape(run['path'].name)}):<ul>{items}</ul></div>")


def _mark(run: dict[str, Any], newer: list[Path] | None = None) -> str:
    """The contents list's status mark: ok / failed / skipped, and the preset."""
    status = run["status"]
    preset = {True: "quick", False: "full"}.get(run["config"].get("quick"), "?")
    cls = "mark" if status == "ok" else f"mark {html.escape(status)}"
    later = f'; newer {", ".join(sorted({run_status(d) for d in newer}))}' if newer else ""
    return f'<span class="{cls}">{html.escape(status)}, {preset}{html.escape(later)}</span>'


def _section(name: str, run: dict[str, Any], newer: list[Path]) -> str:
    try:
        blocks = run["report"]["blocks"]
        quick = run["config"].get("quick") is True
        smoke = f'<div class="smoke">{inline_markdown(_SMOKE)}</div>' if quick else ""
        # the section opens with its question, then the run's facts, then the rest
        first = blocks[:1] if blocks and isinstance(blocks[0], dict) and \
            blocks[0].get("type") == "question" and not block_problem(blocks[0]) else []
        opening = _question(first[0]) if first else ""
        rest = render_blocks(run["path"], blocks[len(first):], quick=quick, name=name,
                             start=1 + len(first))
        body = f"{opening}{smoke}{_meta(run)}\n{_newer(run, newer)}{_problems(run)}\n{rest}"
    except Exception as exc:  # noqa: BLE001  (one bad run must not stop the page)
        body = _notice(f"This run could not be rendered: {type(exc).__name__}: "
                       f"{short(exc, 200)}")
    return f'<section id="{html.escape(name)}"><h2>{html.escape(name)}</h2>{body}</section>'


def render_html(runs: dict[str, Path], *, title: str = "chainrule lab report",
                newer: dict[str, list[Path]] | None = None) -> str:
    """The whole page for ``{experiment: run_dir}``; ``newer[experiment]`` lists the newer
    runs that did not end ok (``report_runs``), noted in that experiment's section."""
    newer = newer or {}
    loaded = {name: load_run(path) for name, path in runs.items()}
    toc = "".join(f'<li><a href="#{html.escape(n)}">{html.escape(n)}</a> '
                  f"{_mark(r, newer.get(n))} — "
                  f'{html.escape(str(r["config"].get("question", "")))}</li>'
                  for n, r in loaded.items())
    sections = [_section(name, run, newer.get(name, [])) for name, run in loaded.items()]
    when = _dt.datetime.now().isoformat(timespec="seconds")
    empty = "<p>No runs found.</p>" if not loaded else ""
    n_quick = sum(r["config"].get("quick") is True for r in loaded.values())
    if n_quick:
        empty += (f'<div class="smoke"><b>{n_quick} of {len(loaded)} section(s) come from '
                  f"quick presets.</b> {inline_markdown(_SMOKE)}</div>")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title><style>{CSS}</style>"
            f"<script>{SCRIPT}</script></head><body>"
            f"<h1>{html.escape(title)}</h1><p>Generated {when} from {len(loaded)} run(s).</p>"
            f"<nav><h2>Contents</h2><ol>{toc}</ol></nav>{empty}"
            + "\n".join(sections) + "</body></html>\n")


def write_html(runs_root: str | Path, out: str | Path, *,
               title: str = "chainrule lab report") -> Path:
    """Gather the last ok run of each experiment under ``runs_root`` (noting newer failed or
    skipped attempts; the rule is in ``chainrule.lab.report``) into the HTML file ``out``."""
    chosen = report_runs(runs_root)
    page = render_html({n: shown for n, (shown, _) in chosen.items()}, title=title,
                       newer={n: later for n, (_, later) in chosen.items()})
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out
