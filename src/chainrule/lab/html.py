"""One self-contained HTML page from saved runs: figures embedded as base64 PNG, a table of
contents, and for each result its dataset, seed, library version, preset and run time.

The page needs no network and no other file. A small inline script marks every ``<img>``
with ``data-loaded="1"`` once it has decoded (``naturalWidth > 0``), which lets a headless
browser check that every figure rendered.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import re
from pathlib import Path
from typing import Any

from .report import latest_runs, load_run

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:980px;margin:2em auto;
padding:0 1em;color:#1d1d1f;line-height:1.5}
h1{border-bottom:2px solid #ccc}h2{margin-top:2.2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:.2em .6em;
text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #eee}
figcaption{font-style:italic;color:#555}pre{background:#f6f6f6;padding:.6em;overflow-x:auto}
.meta{background:#f5f8ff;border-left:4px solid #6b8cff;padding:.4em .8em;font-size:.92em}
.failed{background:#fff0f0;border-left-color:#e33}nav li{margin:.15em 0}
.skipped{background:#fffbe8;border-left-color:#d9a400}
.mark{font-size:.85em;padding:0 .35em;border-radius:3px;background:#e8f5e9}
.mark.failed{background:#ffdede}.mark.skipped{background:#fff3c4}
"""

_SCRIPT = """
function markImages(){var imgs=document.querySelectorAll('img');var n=0;
for(var i=0;i<imgs.length;i++){var ok=imgs[i].complete&&imgs[i].naturalWidth>0;
imgs[i].setAttribute('data-loaded',ok?'1':'0');if(ok){n++;}}
document.body.setAttribute('data-images-loaded',n+'/'+imgs.length);}
window.addEventListener('load',markImages);
"""


def inline_markdown(text: str) -> str:
    """Escape HTML, then render `code`, **bold** and *italic*."""
    out = html.escape(text)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    out = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)
    return re.sub(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])", r"<em>\1</em>", out)


def _figure(run_dir: Path, block: dict[str, Any]) -> str:
    img = run_dir / block["path"]
    cap = inline_markdown(block.get("caption", ""))
    if not img.exists():
        return f'<p class="meta failed">Missing figure {html.escape(block["path"])}</p>'
    data = base64.b64encode(img.read_bytes()).decode("ascii")
    return (f'<figure><img alt="{html.escape(block.get("caption", ""))}" '
            f'src="data:image/png;base64,{data}"><figcaption>{cap}</figcaption></figure>')


def render_blocks(run_dir: Path, blocks: list[dict[str, Any]]) -> str:
    """HTML for one run's report blocks."""
    parts = []
    for b in blocks:
        kind = b["type"]
        if kind == "heading":
            parts.append(f"<h3>{html.escape(b['text'])}</h3>")
        elif kind == "text":
            parts.append(f"<p>{inline_markdown(b['text'])}</p>")
        elif kind == "code":
            parts.append(f"<pre>{html.escape(b['text'])}</pre>")
        elif kind == "figure":
            parts.append(_figure(run_dir, b))
        elif kind == "table":
            head = "".join(f"<th>{html.escape(h)}</th>" for h in b["headers"])
            rows = "".join("<tr>" + "".join(f"<td>{inline_markdown(str(c))}</td>" for c in r)
                           + "</tr>" for r in b["rows"])
            cap = f"<caption>{inline_markdown(b['caption'])}</caption>" if b.get("caption") else ""
            parts.append(f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
    return "\n".join(parts)


def _meta(run: dict[str, Any]) -> str:
    cfg, timing, metrics = run["config"], run["timing"], run["metrics"]
    sources = metrics.get("data_sources") or []
    dataset = cfg.get("config", {}).get("dataset", "—")
    status = timing.get("status", run["report"].get("status", "?"))
    rows = [
        ("Dataset", f"{dataset}" + (f" — {'; '.join(sources)}" if sources else "")),
        ("Seed", cfg.get("seed", "?")), ("Preset", "quick" if cfg.get("quick") else "full"),
        ("Library version", (f"chainrule {cfg.get('library_version', '?')} "
                            f"(NumPy {cfg.get('numpy_version', '?')})")),
        ("Run time", (f"{timing.get('seconds', float('nan')):.1f} s, started "
                     f"{timing.get('started', '?')}")),
        ("Status", status), ("Run directory", str(run["path"])),
    ]
    body = "<br>".join(f"<b>{k}:</b> {html.escape(str(v))}" for k, v in rows)
    cls = {"ok": "meta", "skipped": "meta skipped"}.get(status, "meta failed")
    return f'<div class="{cls}">{body}</div>'


def _mark(run: dict[str, Any]) -> str:
    """The contents list's status mark: ok / failed / skipped, and the preset."""
    status = run["timing"].get("status", run["report"].get("status", "?"))
    preset = "quick" if run["config"].get("quick") else "full"
    cls = "mark" if status == "ok" else f"mark {html.escape(str(status))}"
    return f'<span class="{cls}">{html.escape(str(status))}, {preset}</span>'


def render_html(runs: dict[str, Path], *, title: str = "chainrule lab report") -> str:
    """The whole page for ``{experiment: run_dir}``."""
    loaded = {name: load_run(path) for name, path in runs.items()}
    toc = "".join(f'<li><a href="#{html.escape(n)}">{html.escape(n)}</a> {_mark(r)} — '
                  f'{html.escape(r["config"].get("question", ""))}</li>' for n, r in loaded.items())
    sections = []
    for name, run in loaded.items():
        blocks = run["report"].get("blocks", [])
        sections.append(f'<section id="{html.escape(name)}"><h2>{html.escape(name)}</h2>'
                        f"{_meta(run)}\n{render_blocks(run['path'], blocks)}</section>")
    when = _dt.datetime.now().isoformat(timespec="seconds")
    empty = "<p>No runs found.</p>" if not loaded else ""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title><style>{_CSS}</style>"
            f"<script>{_SCRIPT}</script></head><body>"
            f"<h1>{html.escape(title)}</h1><p>Generated {when} from {len(loaded)} run(s).</p>"
            f"<nav><h2>Contents</h2><ol>{toc}</ol></nav>{empty}"
            + "\n".join(sections) + "</body></html>\n")


def write_html(runs_root: str | Path, out: str | Path, *,
               title: str = "chainrule lab report") -> Path:
    """Gather the latest run of each experiment under ``runs_root`` into the HTML file ``out``."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(latest_runs(runs_root), title=title), encoding="utf-8")
    return out
