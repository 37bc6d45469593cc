"""``run_all(jobs=N)``: experiments in worker processes, the same metrics as one at a time."""

from __future__ import annotations

import pytest

from chainrule.lab import registry
from chainrule.lab.runner import HEADLINE, parse_duration, run_all, schedule

NAMES = ["gradient-flow", "inference-only"]   # two quick presets of a few seconds each


def test_schedule_starts_the_headline_then_the_longest(monkeypatch):
    names = registry.names()
    order, wall = schedule(names, quick=False, jobs=2)
    assert order[0] == HEADLINE and sorted(order) == sorted(names)
    secs = [parse_duration(registry.get(n).runtime.get("full", "")) or 0.0 for n in order[1:]]
    assert secs == sorted(secs, reverse=True)
    total = sum(parse_duration(registry.get(n).runtime.get("full", "")) or 0.0 for n in names)
    # two workers: at least half the total, at most the total
    assert total / 2 <= wall <= total
    assert schedule(names, quick=False, jobs=1)[1] == pytest.approx(total)


def test_two_jobs_give_the_same_metrics_as_one(tmp_path):
    lines: list[str] = []
    one = run_all(quick=True, out_root=tmp_path / "one", names=NAMES, log=None)
    two = run_all(quick=True, out_root=tmp_path / "two", names=NAMES, log=lines.append, jobs=2)
    assert [r.status for r in one] == ["ok", "ok"] and sorted(r.status for r in two) == ["ok"] * 2
    for name in NAMES:
        a = next(r for r in one if r.name == name).path / "metrics.json"
        b = next(r for r in two if r.name == name).path / "metrics.json"
        assert a.read_bytes() == b.read_bytes()   # same seed, same one BLAS thread per run
    assert "2 at a time" in lines[0]
    assert sum(": ok in " in line for line in lines) == 2


def test_jobs_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="jobs"):
        run_all(quick=True, out_root=tmp_path, names=NAMES, log=None, jobs=0)
