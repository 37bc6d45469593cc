"""The lab runner: run directories, reproducible metrics, config overrides, run-all robustness.

Uses toy experiments registered here (no data, no training), so it runs in about a second.
``toy_runs`` is also imported by the report and HTML tests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from chainrule import plots
from chainrule.lab import cli, registry
from chainrule.lab.runner import run_all, run_experiment


@dataclass
class ToyConfig:
    dataset: str = "toy"
    n: int = 50
    scale: float = 1.0
    sizes: tuple[int, ...] = (1, 2)
    flag: bool = False


def _toy(cfg: ToyConfig, ctx) -> None:
    x = ctx.rng.standard_normal(cfg.n) * cfg.scale
    rows = [{"step": i, "value": float(v), "series": "a" if i % 2 else "b"}
            for i, v in enumerate(x)]
    csv = ctx.save_rows(rows, "toy")
    ctx.figure("toy", plots.grouped_lines, csv, x="step", y="value", group="series",
               xlabel="step", ylabel="value", title="Toy", caption="A toy figure")
    ctx.add_source("toy: standard normal draws")
    ctx.metrics["mean"] = float(x.mean())
    ctx.metrics["sizes"] = list(cfg.sizes)
    ctx.metrics["arr"] = np.arange(3, dtype=np.int64)
    ctx.table([["mean", x.mean()]], ["quantity", "value"])
    ctx.md(f"The mean is **{x.mean():.3f}** with `n={cfg.n}`.")


def _broken(cfg: ToyConfig, ctx) -> None:
    raise ValueError("deliberate failure")


def _needs_data(cfg: ToyConfig, ctx) -> None:
    from chainrule.data import DatasetNotFoundError

    raise DatasetNotFoundError("toyset/train not found. To provide it: install toyset")


@pytest.fixture
def toy_experiments():
    """Register ``toy-ok`` and ``toy-broken`` for one test, then remove them."""
    registry.load_all()
    registry.register("toy-ok", question="Is the toy mean near zero?", config=ToyConfig,
                      quick={"n": 10}, runtime={"quick": "0.1 s", "full": "0.1 s"})(_toy)
    registry.register("toy-broken", question="Does a failure stop the others?",
                      config=ToyConfig)(_broken)
    registry.register("toy-nodata", question="What if its data is missing?", config=ToyConfig,
                      runtime={"quick": "1 min 30 s"})(_needs_data)
    yield
    for name in ("toy-ok", "toy-broken", "toy-nodata"):
        registry._REGISTRY.pop(name, None)


def toy_runs(root: Path, *, seeds=(0,)) -> list[Path]:
    """Run the toy experiment once per seed under ``root``; return the run directories."""
    return [run_experiment("toy-ok", quick=True, seed=s, out_root=root).path for s in seeds]


def test_run_writes_the_documented_files(tmp_path, toy_experiments):
    res = run_experiment("toy-ok", quick=True, seed=3, out_root=tmp_path)
    assert res.ok and res.path.parent == tmp_path / "toy-ok"
    for name in ("config.json", "metrics.json", "timing.json", "report.md", "report.json",
                 "toy.csv", "figures/toy.png"):
        assert (res.path / name).is_file(), name
    cfg = json.loads((res.path / "config.json").read_text())
    assert cfg["seed"] == 3 and cfg["quick"] is True and cfg["config"]["n"] == 10
    metrics = json.loads((res.path / "metrics.json").read_text())
    assert metrics["arr"] == [0, 1, 2] and metrics["data_sources"] == ["toy: standard normal draws"]
    timing = json.loads((res.path / "timing.json").read_text())
    assert timing["status"] == "ok" and timing["seconds"] >= 0
    assert (res.path / "figures/toy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_same_seed_same_metrics_bytes_and_no_timings(tmp_path, toy_experiments):
    a, b, c = toy_runs(tmp_path, seeds=(7, 7, 8))
    assert a != b
    assert (a / "metrics.json").read_bytes() == (b / "metrics.json").read_bytes()
    assert (a / "metrics.json").read_bytes() != (c / "metrics.json").read_bytes()
    text = (a / "metrics.json").read_text()
    assert "seconds" not in text and "started" not in text


def test_overrides_are_parsed_by_field_type(tmp_path, toy_experiments):
    exp = registry.get("toy-ok")
    cfg = exp.make_config(True, {"n": "4", "scale": "0.5", "sizes": "3,4,5", "flag": "true"})
    assert (cfg.n, cfg.scale, cfg.sizes, cfg.flag) == (4, 0.5, (3, 4, 5), True)
    assert exp.make_config(False).n == 50
    with pytest.raises(ValueError, match="no field"):
        exp.make_config(False, {"nope": "1"})
    with pytest.raises(ValueError, match="expected int"):
        exp.make_config(False, {"n": "four"})
    with pytest.raises(ValueError, match="unknown fields"):
        registry.register("toy-bad", question="?", config=ToyConfig, quick={"zz": 1})


def test_unknown_experiment_names_the_known_ones():
    with pytest.raises(KeyError, match="softmax-regression"):
        registry.get("no-such-experiment")


def test_failure_is_recorded_and_run_all_continues(tmp_path, toy_experiments):
    with pytest.raises(RuntimeError, match="deliberate failure"):
        run_experiment("toy-broken", out_root=tmp_path)
    results = run_all(quick=True, out_root=tmp_path, names=["toy-broken", "toy-ok"], log=None)
    by_name = {r.name: r for r in results}
    assert not by_name["toy-broken"].ok and by_name["toy-ok"].ok
    assert "deliberate failure" in (by_name["toy-broken"].path / "error.txt").read_text()
    assert json.loads(
        (by_name["toy-broken"].path / "timing.json").read_text())["status"] == "failed"


def test_cli_run_all_exit_code_and_run_command(tmp_path, toy_experiments, monkeypatch, capsys):
    monkeypatch.setattr(registry, "names", lambda: ["toy-broken", "toy-ok"])
    assert cli.main(["run-all", "--quick", "--out", str(tmp_path / "all")]) == 1
    assert len(list((tmp_path / "all" / "toy-ok").iterdir())) == 1
    assert cli.main(["run", "toy-ok", "--seed", "2", "--set", "n=3", "--out", str(tmp_path)]) == 0
    [run] = (tmp_path / "toy-ok").iterdir()
    assert json.loads((run / "config.json").read_text())["config"]["n"] == 3
    out = capsys.readouterr().out
    assert "1/2 ok" in out and "FAILED: toy-broken" in out


def test_missing_data_is_skipped_not_failed_and_the_report_is_rebuilt_each_time(
        tmp_path, toy_experiments, monkeypatch, capsys):
    from chainrule.lab.html import write_html

    res = run_experiment("toy-nodata", out_root=tmp_path, quick=True)   # no exception
    assert res.status == "skipped" and not res.ok and "install toyset" in res.error
    assert "needs toyset/train" in (res.path / "skipped.txt").read_text()
    page = write_html(tmp_path, tmp_path / "r.html").read_text()
    assert "Skipped" in page and "install toyset" in page and "skipped, quick" in page
    rebuilt = []
    monkeypatch.setattr(cli, "write_html", lambda runs, out: rebuilt.append(out) or out)
    monkeypatch.setattr(registry, "names", lambda: ["toy-nodata", "toy-ok", "toy-broken"])
    code = cli.main(["run-all", "--quick", "--out", str(tmp_path / "all"),
                     "--report", str(tmp_path / "all.html")])
    assert code == 1                       # one real failure; the data skip does not count
    assert len(rebuilt) == 3 + 1           # after each experiment, and once at the end
    out = capsys.readouterr().out
    assert "expected about 1 min 30 s" in out and "toy-nodata (quick; measured 1 min 30 s)" in out
    assert "SKIPPED (missing data): toy-nodata" in out and "FAILED: toy-broken" in out


def test_durations_and_headline_order(toy_experiments):
    from chainrule.lab.runner import HEADLINE, format_duration, ordered_names, parse_duration

    assert parse_duration("3 min 5 s") == 185 and parse_duration("~1 h") == 3600
    assert parse_duration("2.5 s on stand-in data") == 2.5 and parse_duration("?") is None
    assert format_duration(185.4) == "3 min 5 s" and format_duration(42) == "42 s"
    names = ordered_names()
    assert names[0] == HEADLINE and names[1:] == sorted(names[1:])


def test_cli_list_shows_question_and_runtime(toy_experiments, capsys):
    cli.main(["list"])
    out = capsys.readouterr().out
    assert "toy-ok" in out and "Is the toy mean near zero?" in out and "0.1 s" in out
    assert "softmax-regression" in out


def test_main_cli_wires_the_lab_subcommand():
    from chainrule.cli import build_parser

    args = build_parser().parse_args(["lab", "run", "softmax-regression", "--quick"])
    assert args.name == "softmax-regression" and args.quick and callable(args.handler)
