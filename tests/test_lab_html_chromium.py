"""Render the HTML report in headless Chromium: every figure must load; keep a screenshot.

Needs Debian's ``chromium`` (CI installs it); skipped, with the reason, only when no
Chromium binary exists.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from chainrule.lab.html import write_html
from resources import find, require
from test_lab_runner import toy_experiments, toy_runs  # noqa: F401  (fixture and helper)

CHROMIUM = find("chromium")


@pytest.fixture(autouse=True)
def _needs_chromium():
    require("chromium")  # fails when `make setup` installed it but it is gone; else skips
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--virtual-time-budget=5000"]


def _chromium(tmp_path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=90, check=False)


@pytest.fixture
def report(tmp_path, toy_experiments):  # noqa: F811
    toy_runs(tmp_path / "runs", seeds=(0,))
    return write_html(tmp_path / "runs", tmp_path / "report.html")


def test_every_figure_loads_in_headless_chromium(tmp_path, report):
    proc = _chromium(tmp_path, "--dump-dom", report.as_uri())
    dom = proc.stdout
    assert "<section" in dom, (f"Chromium produced no DOM (rc {proc.returncode}): "
                               f"{proc.stderr[-800:]}")
    imgs = re.findall(r"<img\b[^>]*>", dom)
    assert imgs, "the report has no figures"
    marks = [re.search(r'data-loaded="(\d)"', tag) for tag in imgs]
    assert all(m is not None for m in marks), "the load-check script did not run"
    assert [m.group(1) for m in marks] == ["1"] * len(imgs), "a figure failed to load"
    assert f'data-images-loaded="{len(imgs)}/{len(imgs)}"' in dom


def test_screenshot_of_the_report(tmp_path, report):
    shot = tmp_path / "report.png"
    proc = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,1600", report.as_uri())
    assert shot.is_file(), f"no screenshot (rc {proc.returncode}): {proc.stderr[-800:]}"
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    keep = os.environ.get("CHAINRULE_KEEP_SCREENSHOT")
    if keep:
        shutil.copy(shot, keep)


@pytest.mark.parametrize("width", [1300, 800])
def test_a_wide_table_scrolls_inside_its_box_not_the_page(tmp_path, toy_experiments,  # noqa: F811
                                                          width):
    import json

    [run] = toy_runs(tmp_path / "runs", seeds=(0,))
    report = json.loads((run / "report.json").read_text())
    headers = [f"column {i}" for i in range(24)]
    report["blocks"].append({"type": "table", "headers": headers, "caption": "wide",
                             "rows": [[f"{1234567.891 * (i + 1):,.3f}" for i in range(24)]]})
    (run / "report.json").write_text(json.dumps(report))
    page = write_html(tmp_path / "runs", tmp_path / "report.html")
    proc = _chromium(tmp_path, "--dump-dom", f"--window-size={width},900", page.as_uri())
    found = re.search(r'data-overflow="(\d+)"', proc.stdout)
    assert found, f"no overflow mark (rc {proc.returncode}): {proc.stderr[-800:]}"
    assert int(found.group(1)) == 0          # the page itself never scrolls sideways


def test_copy_buttons_appear_with_scripts_and_the_csv_link_works_without(tmp_path, report):
    page = report.read_text()
    n_tables = page.count('<div class="tabletools"')
    assert n_tables >= 1 and page.count(" hidden>") == 2 * n_tables   # hidden until the script
    dom = _chromium(tmp_path, "--dump-dom", report.as_uri()).stdout
    assert f'data-copy-buttons="{2 * n_tables}"' in dom               # the script ran
    buttons = re.findall(r"<button\b[^>]*>", dom)
    assert len(buttons) == 2 * n_tables and not any("hidden" in b for b in buttons)
    assert dom.count('<a class="csv" download="toy-ok-table-') == n_tables
