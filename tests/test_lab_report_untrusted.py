"""The HTML report is built from untrusted run folders (issue 18).

Each class of bad input gets a test: figure references that try to leave the run folder
(``..``, absolute paths, links out, folders and pipes instead of files), every run file
missing or corrupted or holding values of the wrong type, malformed ``report.json`` blocks,
a missing runs folder on the command line, and a failed or skipped latest run with an
earlier good one. In every case the page still builds, the bad section says what is wrong
with which file (relative to the run folder), and nothing outside the run is embedded.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from chainrule.lab import cli, registry
from chainrule.lab.html import render_html, write_html
from chainrule.lab.report import load_run, report_runs, run_dirs, run_file
from chainrule.lab.runner import run_experiment
from test_lab_runner import _broken, _needs_data, _toy, toy_experiments, toy_runs  # noqa: F401

SECRET = b"\x89PNG\r\n\x1a\n" + b"TOP-SECRET-OUTSIDE-THE-RUN"   # would pass the PNG check


@pytest.fixture
def two_runs(tmp_path, toy_experiments):  # noqa: F811
    """A runs root with one ``toy-ok`` run (returned) and one healthy ``toy-other`` run."""
    registry.register("toy-other", question="Does the rest still build?",
                      config=registry.get("toy-ok").config_cls, quick={"n": 10})(_toy)
    [run] = toy_runs(tmp_path / "runs", seeds=(1,))
    run_experiment("toy-other", quick=True, seed=2, out_root=tmp_path / "runs")
    (tmp_path / "secret.png").write_bytes(SECRET)
    yield run
    registry._REGISTRY.pop("toy-other", None)


def _page(tmp_path: Path) -> str:
    return write_html(tmp_path / "runs", tmp_path / "report.html").read_text()


def _section(page: str, name: str) -> str:
    m = re.search(rf'<section id="{re.escape(name)}">(.*?)</section>', page, re.DOTALL)
    assert m, f"no section {name!r}"
    return m.group(1)


def _text(fragment: str) -> str:
    text = html.unescape(re.sub(r"<[^>]+>", " ", fragment))
    return " ".join(text.split())


def _assert_other_section_intact(page: str) -> None:
    other = _section(page, "toy-other")
    assert 'class="meta failed' not in other
    assert other.count('src="data:image/png;base64,') == 1 and "<table>" in other


def _set_figure(run: Path, ref) -> None:
    doc = json.loads((run / "report.json").read_text())
    [fig] = [b for b in doc["blocks"] if b["type"] == "figure"]
    fig["path"] = ref
    (run / "report.json").write_text(json.dumps(doc))


def _figure_notices(section: str) -> list[str]:
    return [_text(n) for n in re.findall(r'<p class="meta failed">(.*?)</p>', section)]


# ---------------------------------------------------------------- figure references

def _refused(tmp_path, run, ref, *, why: str) -> str:
    _set_figure(run, ref)
    page = _page(tmp_path)
    sec = _section(page, "toy-ok")
    assert "<img" not in sec
    [notice] = _figure_notices(sec)
    assert notice.startswith("Figure not shown — ") and why in notice, notice
    assert "\n" not in notice                 # one line; no absolute path but the reference
    assert str(tmp_path) not in notice.replace(ref if isinstance(ref, str) else "", "")
    assert "TOP-SECRET" not in page and base64.b64encode(SECRET).decode() not in page
    assert "The mean is" in _text(sec)            # the rest of the section still renders
    _assert_other_section_intact(page)
    return notice


def test_etc_passwd_through_dotdot_is_refused_not_embedded(tmp_path, two_runs):
    ref = "../../../../../../../../etc/passwd"
    notice = _refused(tmp_path, two_runs, ref, why="leads out of the run folder (..)")
    assert ref in notice
    if Path("/etc/passwd").is_file():
        data = Path("/etc/passwd").read_bytes()
        page = (tmp_path / "report.html").read_text()
        assert base64.b64encode(data).decode()[:40] not in page and "root:" not in page


@pytest.mark.parametrize("ref", ["figures/../../../secret.png", "figures/../figures/toy.png",
                                 "..", "figures\\..\\..\\..\\secret.png"])
def test_any_dotdot_component_is_refused(tmp_path, two_runs, ref):
    # even a ".." that would come back inside is refused: the rule is simple to check
    _refused(tmp_path, two_runs, ref, why="leads out of the run folder (..)")


def test_absolute_paths_are_refused_even_inside_the_run(tmp_path, two_runs):
    _refused(tmp_path, two_runs, str(tmp_path / "secret.png"), why="an absolute path")
    _refused(tmp_path, two_runs, str(two_runs / "figures" / "toy.png"), why="an absolute path")
    _refused(tmp_path, two_runs, "C:\\Windows\\win.ini", why="an absolute path")


def test_a_link_out_of_the_run_folder_is_refused(tmp_path, two_runs):
    (two_runs / "figures" / "out.png").symlink_to(tmp_path / "secret.png")
    _refused(tmp_path, two_runs, "figures/out.png", why="a link that leads out of the run folder")
    # a linked folder counts too, and so does a relative link
    (two_runs / "linked").symlink_to(tmp_path)
    _refused(tmp_path, two_runs, "linked/secret.png",
             why="a link that leads out of the run folder")
    (two_runs / "rel.png").symlink_to(Path("..", "..", "..", "secret.png"))
    _refused(tmp_path, two_runs, "rel.png", why="a link that leads out of the run folder")


def test_a_link_that_stays_inside_the_run_folder_is_fine(tmp_path, two_runs):
    (two_runs / "plots").mkdir()
    (two_runs / "plots" / "same.png").symlink_to(Path("..", "figures", "toy.png"))
    _set_figure(two_runs, "plots/same.png")
    sec = _section(_page(tmp_path), "toy-ok")
    [src] = re.findall(r'src="data:image/png;base64,([^"]+)"', sec)
    assert base64.b64decode(src) == (two_runs / "figures" / "toy.png").read_bytes()
    assert not _figure_notices(sec)


def test_a_run_folder_reached_through_a_link_still_works(tmp_path, two_runs):
    linked = tmp_path / "elsewhere"
    linked.symlink_to(two_runs)
    assert run_file(linked, "figures/toy.png") == (two_runs / "figures" / "toy.png").resolve()


@pytest.mark.parametrize("make, why", [
    (lambda run: "figures", "a folder, not a regular file"),
    (lambda run: ".", "a folder, not a regular file"),
    (lambda run: "figures/none.png", "missing"),
    (lambda run: (run / "dangling.png").symlink_to(run / "gone.png") or "dangling.png",
     "missing (or a broken link)"),
    (lambda run: os.mkfifo(run / "pipe.png") or "pipe.png", "a device, pipe or socket"),
    (lambda run: (run / "loop.png").symlink_to(run / "loop.png") or "loop.png",
     "cannot be resolved"),
    (lambda run: "config.json", "not a PNG image"),
    (lambda run: "", "not a file name"),
    (lambda run: "figures/a\x00.png", "cannot be resolved"),
])
def test_folders_pipes_missing_and_non_png_figures_are_notices(tmp_path, two_runs, make, why):
    _refused(tmp_path, two_runs, make(two_runs), why=why)


# ---------------------------------------------------------------- corrupted or missing files

CORRUPTIONS = {
    "missing": lambda f, tmp: f.unlink(),
    "empty": lambda f, tmp: f.write_text(""),
    "truncated": lambda f, tmp: f.write_text(f.read_text()[: len(f.read_text()) // 2]),
    "not-utf8": lambda f, tmp: f.write_bytes(b"\xff\xfe{\x00"),
    "a-list": lambda f, tmp: f.write_text("[1, 2]"),
    "a-folder": lambda f, tmp: (f.unlink(), f.mkdir()),
    "link-out": lambda f, tmp: (f.unlink(), f.symlink_to(tmp / "outside.json")),
}
EXPECTED = {"missing": "missing", "empty": "empty", "truncated": "not valid JSON",
            "not-utf8": "not UTF-8 text", "a-list": "should hold a JSON object, not a list",
            "a-folder": "a folder, not a regular file",
            "link-out": "a link that leads out of the run folder"}


@pytest.mark.parametrize("name", ["config.json", "metrics.json", "timing.json", "report.json"])
@pytest.mark.parametrize("how", sorted(CORRUPTIONS))
def test_each_corrupted_or_missing_run_file_is_named_and_the_rest_builds(
        tmp_path, two_runs, name, how):
    (tmp_path / "outside.json").write_text(json.dumps({"experiment": "stolen", "seed": 99,
                                                       "blocks": [], "status": "ok"}))
    CORRUPTIONS[how](two_runs / name, tmp_path)
    page = _page(tmp_path)
    sec = _section(page, "toy-ok")                       # the run is still found, by its folder
    box = re.search(r'<div class="meta failed problems">(.*?)</div>', sec, re.DOTALL)
    assert box, sec[:2000]
    problems = re.findall(r"<li>(.*?)</li>", box.group(1))
    assert any(html.unescape(p).startswith(f"{name}: {EXPECTED[how]}") for p in problems), \
        problems
    assert str(tmp_path) not in box.group(1)             # names relative to the run folder
    assert "stolen" not in page and "<b>Seed:</b> 99" not in page
    if name != "report.json":
        assert "The mean is" in _text(sec)               # the blocks still render
    _assert_other_section_intact(page)


def test_a_run_with_only_a_report_json_is_still_found(tmp_path, two_runs):
    for name in ("config.json", "metrics.json", "timing.json"):
        (two_runs / name).unlink()
    assert run_dirs(tmp_path / "runs")["toy-ok"] == [two_runs]
    run = load_run(two_runs)
    assert [p.split(":")[0] for p in run["problems"]] == ["config.json", "metrics.json",
                                                          "timing.json"]
    assert run["status"] == "ok"                         # from report.json


def test_a_training_run_without_lab_files_is_not_a_lab_run(tmp_path):
    train = tmp_path / "runs" / "mlp"
    train.mkdir(parents=True)
    (train / "config.json").write_text(json.dumps({"model": "mlp"}))
    (train / "metrics.json").write_text("{}")
    assert run_dirs(tmp_path / "runs") == {}
    assert "No runs found." in _page(tmp_path)


@pytest.mark.parametrize("name, change, problem", [
    ("timing.json", {"seconds": "fast"}, "timing.json: 'seconds' should be a number, not a string"),
    ("timing.json", {"seconds": None}, "timing.json: 'seconds' should be a number, not null"),
    ("timing.json", {"status": "<b>pwned</b>"}, "timing.json: unknown status"),
    ("timing.json", {"started": 5}, "timing.json: 'started' should be a string"),
    ("config.json", {"seed": "zero"}, "config.json: 'seed' should be an integer, not a string"),
    ("config.json", {"seed": True}, "config.json: 'seed' should be an integer"),
    ("config.json", {"quick": "yes"}, "config.json: 'quick' should be true or false"),
    ("config.json", {"config": [1, 2]}, "config.json: 'config' should be an object, not a list"),
    ("config.json", {"question": {"a": 1}}, "config.json: 'question' should be a string"),
    ("config.json", {"experiment": 7}, "config.json: 'experiment' should be a string"),
    ("metrics.json", {"data_sources": "toy"}, "metrics.json: 'data_sources' should be a list"),
    ("report.json", {"blocks": {"type": "text"}}, "report.json: 'blocks' should be a list"),
    ("report.json", {"status": 3}, "report.json: 'status' should be a string"),
])
def test_values_of_the_wrong_type_are_named_and_fall_back(tmp_path, two_runs, name, change,
                                                           problem):
    doc = json.loads((two_runs / name).read_text())
    (two_runs / name).write_text(json.dumps({**doc, **change}))
    page = _page(tmp_path)
    sec = _section(page, "toy-ok")
    assert problem in _text(sec), _text(sec)[:1500]
    assert "<b>pwned</b>" not in page
    _assert_other_section_intact(page)


@pytest.mark.parametrize("name, key", [("config.json", "seed"), ("config.json", "config"),
                                       ("timing.json", "seconds"), ("timing.json", "status"),
                                       ("report.json", "blocks")])
def test_missing_required_keys_are_named(tmp_path, two_runs, name, key):
    doc = json.loads((two_runs / name).read_text())
    del doc[key]
    (two_runs / name).write_text(json.dumps(doc))
    sec = _section(_page(tmp_path), "toy-ok")
    assert f"{name}: no '{key}'" in _text(sec)


def test_oversized_and_deeply_nested_json_are_refused(tmp_path, two_runs, monkeypatch):
    from chainrule.lab import report

    (two_runs / "metrics.json").write_text("[" * 100_000 + "]" * 100_000)
    monkeypatch.setattr(report, "MAX_JSON_BYTES", 1 << 20)
    (two_runs / "timing.json").write_text(json.dumps({"pad": "x" * (1 << 20)}))
    problems = load_run(two_runs)["problems"]
    assert "timing.json: larger than 1 MiB" in problems
    monkeypatch.setattr(report, "MAX_JSON_BYTES", 64 << 20)
    assert "metrics.json: nested too deeply" in load_run(two_runs)["problems"]


# ---------------------------------------------------------------- malformed blocks

BAD_BLOCKS = [
    (5, "is a number, not an object"),
    (["text", "x"], "is a list, not an object"),
    ({"text": "no type"}, "has no 'type'"),
    ({"type": "video", "src": "x"}, "has an unknown type 'video'"),
    ({"type": "<script>alert(1)</script>"}, "has an unknown type"),
    ({"type": "text"}, "(text) has no 'text'"),
    ({"type": "text", "text": 3}, "(text): 'text' should be a string, not a number"),
    ({"type": "heading", "text": None}, "(heading): 'text' should be a string, not null"),
    ({"type": "code", "text": ["a"]}, "(code): 'text' should be a string, not a list"),
    ({"type": "figure"}, "(figure) has no 'path'"),
    ({"type": "figure", "path": 3}, "(figure): 'path' should be a string, not a number"),
    ({"type": "figure", "path": "figures/toy.png", "caption": 5},
     "(figure): 'caption' should be a string, not a number"),
    ({"type": "table", "rows": []}, "(table) has no 'headers'"),
    ({"type": "table", "headers": "ab", "rows": []}, "(table): 'headers' should be a list"),
    ({"type": "table", "headers": ["a"], "rows": {"r": 1}}, "(table): 'rows' should be a list"),
    ({"type": "table", "headers": ["a"], "rows": [[1], 5]}, "(table): row 2 is a number"),
    ({"type": "table", "headers": ["a"], "rows": [[{"x": 1}]]},
     "(table): row 1 holds a cell that is not a string or a number"),
    ({"type": "table", "headers": [["a"]], "rows": []}, "(table): every header should be"),
]


def test_every_malformed_block_becomes_a_notice_and_the_others_render(tmp_path, two_runs):
    doc = json.loads((two_runs / "report.json").read_text())
    good = len(doc["blocks"])
    doc["blocks"] += [b for b, _ in BAD_BLOCKS] + [{"type": "text", "text": "**after** all"}]
    (two_runs / "report.json").write_text(json.dumps(doc))
    page = _page(tmp_path)
    sec = _section(page, "toy-ok")
    notices = _figure_notices(sec)
    assert len(notices) == len(BAD_BLOCKS)
    for i, ((_, why), notice) in enumerate(zip(BAD_BLOCKS, notices), good + 1):
        assert notice.startswith(f"report.json: block {i} ") and why in notice, (why, notice)
    assert "<script>alert" not in page
    assert "<strong>after</strong> all" in sec and sec.count("<img") == 1
    _assert_other_section_intact(page)


def test_render_html_survives_anything_in_a_section(tmp_path, two_runs, monkeypatch):
    import chainrule.lab.html as lab_html

    def boom(run):
        raise KeyError("unexpected")

    monkeypatch.setattr(lab_html, "_meta", boom)
    page = render_html({"toy-ok": two_runs})
    assert "This run could not be rendered: KeyError" in _text(_section(page, "toy-ok"))


# ---------------------------------------------------------------- the CLI's runs folder

def test_cli_report_on_a_missing_runs_folder_is_a_one_line_error(tmp_path, capsys):
    out = tmp_path / "r.html"
    assert cli.main(["report", "--runs", str(tmp_path / "nope"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not exist" in err and "nope" in err
    assert not out.exists()
    (tmp_path / "file").write_text("x")
    assert cli.main(["report", "--runs", str(tmp_path / "file"), "--out", str(out)]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_cli_report_on_an_empty_folder_says_no_runs(tmp_path, capsys):
    (tmp_path / "runs").mkdir()
    out = tmp_path / "r.html"
    assert cli.main(["report", "--runs", str(tmp_path / "runs"), "--out", str(out)]) == 0
    assert "No runs found." in out.read_text() and "report written to" in capsys.readouterr().out


def test_cli_report_that_cannot_be_written_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "runs").mkdir()
    (tmp_path / "taken").mkdir()
    assert cli.main(["report", "--runs", str(tmp_path / "runs"),
                     "--out", str(tmp_path / "taken")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "taken" in err and "Traceback" not in err


def test_cli_entry_point_missing_runs_folder_has_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "chainrule", "lab", "report", "--runs",
                           str(tmp_path / "missing"), "--out", str(tmp_path / "r.html")],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "does not exist" in proc.stderr


# ---------------------------------------------------------------- failed latest, earlier good

def _run_as(tmp_path, fn) -> Path:
    """One ``toy-ok`` run whose experiment function is ``fn`` (a failing or skipping one)."""
    original = registry._REGISTRY["toy-ok"]
    registry._REGISTRY["toy-ok"] = dataclasses.replace(original, fn=fn)
    try:
        return run_experiment("toy-ok", quick=True, out_root=tmp_path / "runs",
                              raise_errors=False).path
    finally:
        registry._REGISTRY["toy-ok"] = original


def test_a_failed_latest_run_does_not_hide_the_last_good_one(tmp_path, two_runs):
    failed = _run_as(tmp_path, _broken)
    [(shown, newer)] = [v for k, v in report_runs(tmp_path / "runs").items() if k == "toy-ok"]
    assert shown == two_runs and newer == [failed]
    page = _page(tmp_path)
    sec = _section(page, "toy-ok")
    assert "<b>Status:</b> ok" in sec and sec.count("<img") == 1 and "The mean is" in _text(sec)
    note = _text(re.search(r'<div class="meta failed newer">(.*?)</div>', sec, re.DOTALL).group(1))
    assert f"{failed.name}: failed — ValueError: deliberate failure (error.txt)" in note
    assert f"last ok run, {two_runs.name}" in note
    assert "ok, quick; newer failed" in page               # the contents list says so too


def test_skipped_and_failed_newer_attempts_are_all_listed_newest_first(
        tmp_path, two_runs):
    failed = _run_as(tmp_path, _broken)
    skipped = _run_as(tmp_path, _needs_data)
    incomplete = skipped.parent / (skipped.name + "-99")    # killed: only config.json
    incomplete.mkdir()
    (incomplete / "config.json").write_text((two_runs / "config.json").read_text())
    assert run_dirs(tmp_path / "runs")["toy-ok"] == [two_runs, failed, skipped, incomplete]
    assert report_runs(tmp_path / "runs")["toy-ok"] == (two_runs, [incomplete, skipped, failed])
    note = _text(_section(_page(tmp_path), "toy-ok"))
    order = [note.index(f"{d.name}: ") for d in (incomplete, skipped, failed)]
    assert order == sorted(order)
    assert f"{skipped.name}: skipped — needs toyset/train not found" in note
    assert "install toyset (skipped.txt)" in note
    assert f"{incomplete.name}: incomplete — no timing.json or report.json" in note


def test_a_failed_attempt_without_error_txt_still_gets_a_reason(tmp_path, two_runs):
    failed = _run_as(tmp_path, _broken)
    (failed / "error.txt").unlink()
    (failed / "error.txt").symlink_to(tmp_path / "secret.png")
    sec = _section(_page(tmp_path), "toy-ok")
    assert f"{failed.name}: failed — no readable error.txt" in _text(sec)
    assert "TOP-SECRET" not in sec


def test_an_earlier_failure_is_not_mentioned_and_no_ok_run_shows_the_newest(
        tmp_path, toy_experiments):  # noqa: F811
    first = _run_as(tmp_path, _broken)
    assert report_runs(tmp_path / "runs")["toy-ok"] == (first, [])     # nothing ok yet
    sec = _section(_page(tmp_path), "toy-ok")
    assert "<b>Status:</b> failed" in sec and "newer" not in sec
    [good] = toy_runs(tmp_path / "runs")
    assert report_runs(tmp_path / "runs")["toy-ok"] == (good, [])
    sec = _section(_page(tmp_path), "toy-ok")
    assert "<b>Status:</b> ok" in sec and 'class="meta failed' not in sec


def test_status_falls_back_to_report_json_and_unknown_counts_as_not_ok(tmp_path, two_runs):
    (two_runs / "timing.json").write_text("{broken")
    assert report_runs(tmp_path / "runs")["toy-ok"] == (two_runs, [])  # report.json says ok
    newer = _run_as(tmp_path, _toy)
    for name in ("timing.json", "report.json"):
        (newer / name).write_text("[]")
    assert report_runs(tmp_path / "runs")["toy-ok"] == (two_runs, [newer])
    assert f"{newer.name}: unknown — its status cannot be read" in _text(
        _section(_page(tmp_path), "toy-ok"))


def test_run_folders_with_numbered_suffixes_sort_as_numbers(tmp_path, two_runs):
    base = two_runs.parent
    made = []
    for suffix in ("-2", "-10"):
        d = base / (two_runs.name + suffix)
        d.mkdir()
        (d / "config.json").write_text((two_runs / "config.json").read_text())
        made.append(d)
    assert run_dirs(tmp_path / "runs")["toy-ok"] == [two_runs, *made]
