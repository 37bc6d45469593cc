"""Per-run report.md and the self-contained HTML report (structure, no browser)."""

from __future__ import annotations

import base64
import json
import re

from chainrule import __version__
from chainrule.lab.html import inline_markdown, render_html, write_html
from chainrule.lab.report import latest_runs, run_dirs, to_markdown
from chainrule.lab.runner import run_experiment
from test_lab_runner import toy_experiments, toy_runs  # noqa: F401  (fixture and helper)


def test_report_md_has_question_setup_figures_and_numbers(tmp_path, toy_experiments):  # noqa: F811
    [run] = toy_runs(tmp_path, seeds=(4,))
    md = (run / "report.md").read_text()
    assert md.startswith("# toy-ok")
    assert "**Question** (in our words). Is the toy mean near zero?" in md
    assert "## Set-up" in md and "seed **4**" in md and f"chainrule **{__version__}**" in md
    assert "Data sources: toy: standard normal draws." in md
    assert "![A toy figure](figures/toy.png)" in md
    mean = json.loads((run / "metrics.json").read_text())["mean"]
    assert f"The mean is **{mean:.3f}**" in md       # the reading is built from the metric
    assert "| n | 10 |" in md                          # the config table


def test_to_markdown_renders_every_block_kind():
    md = to_markdown("t", [{"type": "heading", "text": "H"}, {"type": "code", "text": "x = 1"},
                           {"type": "table", "headers": ["a", "b"], "rows": [["1", "x|y"]],
                            "caption": "cap"}])
    assert "## H" in md and "```\nx = 1\n```" in md
    assert "| a | b |\n|---|---|\n| 1 | x\\|y |\n\n*cap*" in md   # a blank line ends it


def test_latest_runs_picks_the_newest_per_experiment(tmp_path, toy_experiments):  # noqa: F811
    runs = toy_runs(tmp_path, seeds=(0, 1))
    assert run_dirs(tmp_path)["toy-ok"] == sorted(runs, key=lambda p: p.name)
    assert latest_runs(tmp_path) == {"toy-ok": max(runs, key=lambda p: p.name)}
    assert latest_runs(tmp_path / "nothing-here") == {}


def test_html_is_self_contained_with_toc_and_run_facts(tmp_path, toy_experiments):  # noqa: F811
    [run] = toy_runs(tmp_path / "runs", seeds=(5,))
    out = write_html(tmp_path / "runs", tmp_path / "report.html")
    page = out.read_text()
    assert '<a href="#toy-ok">toy-ok</a>' in page and '<section id="toy-ok">' in page
    assert "<b>Seed:</b> 5" in page and f"chainrule {__version__}" in page
    assert "<b>Run time:</b>" in page and "<b>Dataset:</b> toy" in page
    # every image is inline PNG data, and nothing is fetched from elsewhere
    srcs = re.findall(r'<img[^>]*src="([^"]+)"', page)
    assert len(srcs) == 1 and srcs[0].startswith("data:image/png;base64,")
    png = base64.b64decode(srcs[0].split(",", 1)[1])
    assert png == (run / "figures" / "toy.png").read_bytes()
    assert not re.search(r'(src|href)="(https?:|//|figures/)', page)


def test_html_marks_failed_runs_and_empty_roots(tmp_path, toy_experiments):  # noqa: F811
    assert "No runs found." in render_html({})
    res = run_experiment("toy-broken", out_root=tmp_path, raise_errors=False)
    page = render_html({"toy-broken": res.path})
    assert 'class="meta failed"' in page and "<b>Status:</b> failed" in page
    assert "ValueError: deliberate failure" in page


def test_inline_markdown_escapes_html():
    assert inline_markdown("**a** `<b>` *c*") == (
        "<strong>a</strong> <code>&lt;b&gt;</code> <em>c</em>")
    assert inline_markdown("2*3*4 = 24") == "2*3*4 = 24"


def test_html_flags_quick_runs_and_names_no_local_path(tmp_path, toy_experiments):  # noqa: F811
    [quick] = toy_runs(tmp_path / "runs", seeds=(5,))
    page = render_html({"toy-ok": quick})
    assert page.count('class="smoke"') == 2          # the page's banner and the section's
    assert "1 of 1 section(s) come from quick presets" in page
    assert f"<b>Run directory:</b> toy-ok/{quick.name}" in page
    assert str(tmp_path) not in page
    full = run_experiment("toy-ok", quick=False, seed=6, out_root=tmp_path / "full").path
    assert 'class="smoke"' not in render_html({"toy-ok": full})


def test_html_tables_scroll_in_their_box_and_numbers_do_not_wrap():
    html_ = render_html({})
    assert ".tablebox{overflow-x:auto" in html_ and "td{white-space:nowrap}" in html_
    from chainrule.lab.html import render_blocks

    out = render_blocks(None, [{"type": "table", "headers": ["a"], "rows": [["1"]]}])
    assert out.startswith('<div class="tablebox"><table>')
    assert out.index("</table></div>") < out.index('<div class="tabletools"')
