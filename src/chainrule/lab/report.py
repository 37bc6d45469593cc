"""Per-run reports: ``report.md`` (and ``report.json``) written from the run's blocks, and
helpers to find and load saved runs (used by the HTML report).

``report.md`` holds, in order: the question; the set-up (configuration, data sources, seed,
library version, run time); then the experiment's own blocks — figures, numbers and a
reading written from the measured values.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from .context import RunContext, jsonable


def _setup_blocks(exp: Any, ctx: RunContext, seconds: float) -> list[dict[str, Any]]:
    from .runner import library_version

    cfg = dataclasses.asdict(ctx.config)
    rows = [[k, _fmt_cfg(v)] for k, v in cfg.items()]
    blocks: list[dict[str, Any]] = [
        {"type": "text", "text": f"**Question.** {exp.question}"},
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
    blocks = _setup_blocks(exp, ctx, seconds) + list(ctx.blocks)
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
    path.write_text(to_markdown(exp.name, blocks))
    return path


def to_markdown(title: str, blocks: list[dict[str, Any]]) -> str:
    """Render report blocks as Markdown."""
    lines = [f"# {title}", ""]
    for b in blocks:
        kind = b["type"]
        if kind == "heading":
            lines += [f"## {b['text']}", ""]
        elif kind == "text":
            lines += [b["text"], ""]
        elif kind == "code":
            lines += ["```", b["text"], "```", ""]
        elif kind == "figure":
            lines += [f"![{b['caption']}]({b['path']})", "", f"*{b['caption']}*", ""]
        elif kind == "table":
            heads = b["headers"]
            lines.append("| " + " | ".join(h.replace("|", "\\|") for h in heads) + " |")
            lines.append("|" + "|".join("---" for _ in heads) + "|")
            lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |"
                      for row in b["rows"]]
            lines += ([f"*{b['caption']}*"] if b.get("caption") else []) + [""]
    return "\n".join(lines)


def run_dirs(root: str | Path) -> dict[str, list[Path]]:
    """``{experiment: [run directories, oldest first]}`` found under ``root``.

    A run directory is one holding ``config.json``; ``root`` may be a runs root
    (``runs/<name>/<timestamp>/``) or a single experiment's folder.
    """
    root = Path(root)
    found: dict[str, list[Path]] = {}
    for cfg in sorted(root.glob("**/config.json")):
        try:
            name = json.loads(cfg.read_text())["experiment"]
        except (OSError, ValueError, KeyError):
            continue
        found.setdefault(name, []).append(cfg.parent)
    for dirs in found.values():
        dirs.sort(key=lambda p: p.name)
    return found


def latest_runs(root: str | Path) -> dict[str, Path]:
    """The newest run directory of each experiment under ``root`` (by timestamp name)."""
    return {name: dirs[-1] for name, dirs in sorted(run_dirs(root).items())}


def load_run(path: str | Path) -> dict[str, Any]:
    """Everything saved in one run directory: config, metrics, timing, report blocks."""
    path = Path(path)

    def read(name: str, default: Any) -> Any:
        f = path / name
        return json.loads(f.read_text()) if f.exists() else default

    return {"path": path, "config": read("config.json", {}), "metrics": read("metrics.json", {}),
            "timing": read("timing.json", {}), "report": read("report.json", {"blocks": []})}
