"""Run one experiment (or all of them) into ``<out_root>/<name>/<timestamp>/``.

Files written per run:

* ``config.json``  — experiment, seed, quick flag, the full config, library version;
* ``metrics.json`` — ``ctx.metrics`` plus the data sources (sorted keys, no timings, so the
  same seed reproduces it byte for byte);
* ``timing.json``  — start time, wall seconds, status (kept apart from the metrics);
* ``*.csv``, ``figures/*.png`` — whatever the experiment saved;
* ``report.md`` (and ``report.json``, the same content as blocks for the HTML report);
* ``error.txt``    — the traceback, only when the experiment failed.

A run ends ``ok``, ``failed`` (an exception: a bug or a bad setting) or ``skipped`` (a data
set it needs is nowhere to be found: ``DatasetNotFoundError``, whose message says how to
provide it). ``run_all`` starts with the headline experiment (``HEADLINE``), prints the
expected total from each experiment's measured run time, one progress line per experiment,
and calls ``after_each`` (e.g. to rebuild the HTML report) once each run is written.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import platform
import re
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..data.errors import DatasetNotFoundError
from . import registry
from .context import RunContext, jsonable
from .report import write_report

DEFAULT_ROOT = Path("runs")
HEADLINE = "mlp-vs-reference"   # the coursework's first question: run first by run_all


@dataclass
class RunResult:
    """Outcome of one run: where it was written, its metrics, and the error if it failed."""

    name: str
    path: Path | None
    ok: bool
    seconds: float
    metrics: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    status: str = ""   # "ok", "failed" or "skipped" (missing data); derived from ok if unset

    def __post_init__(self) -> None:
        if not self.status:
            self.status = "ok" if self.ok else "failed"


_UNITS = {"h": 3600.0, "min": 60.0, "s": 1.0}


def parse_duration(text: str) -> float | None:
    """Seconds in the leading duration of ``text`` (``"3 min 5 s"`` → 185.0), or ``None``."""
    m = re.match(r"\s*~?((?:\d+(?:\.\d+)?\s*(?:h|min|s)\b\s*)+)", text or "")
    if not m:
        return None
    return sum(float(v) * _UNITS[u] for v, u in re.findall(r"(\d+(?:\.\d+)?)\s*(h|min|s)",
                                                            m.group(1)))


def format_duration(seconds: float) -> str:
    """``185`` → ``"3 min 5 s"``; under a minute, ``"42 s"``."""
    seconds = round(seconds)
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"


def library_version() -> str:
    from .. import __version__

    return __version__


def _new_run_dir(root: Path, name: str) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(root) / name
    for i in range(1000):
        path = base / (stamp if i == 0 else f"{stamp}-{i}")
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a fresh run directory under {base}")


def _dump(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(jsonable(obj), indent=2, sort_keys=True) + "\n")


def run_experiment(name: str, *, quick: bool = False, seed: int = 0,
                   overrides: dict[str, Any] | None = None, out_root: str | Path = DEFAULT_ROOT,
                   log: Callable[[str], None] | None = None, raise_errors: bool = True,
                   threads: int | None = 1) -> RunResult:
    """Run experiment ``name`` and write its run directory; return a ``RunResult``.

    ``overrides`` maps config fields to values (strings are parsed by the field's type).
    With ``raise_errors=False`` a failing experiment still leaves its directory, with
    ``error.txt``, and the result has ``ok=False``.

    ``threads`` caps the BLAS thread pool while the experiment runs (``None``: leave it).
    The default, 1, is both faster for the lab's small models on a busy 2-core machine
    (one full run measured 7 s against 186 s with the default pool) and what makes
    ``metrics.json`` independent of the core count: BLAS sums in a thread-dependent order.
    """
    exp = registry.get(name)
    cfg = exp.make_config(quick, overrides)
    out = _new_run_dir(Path(out_root), name)
    ctx = RunContext(out, seed=seed, quick=quick, config=cfg, log=log)
    _dump(out / "config.json", {
        "experiment": name, "question": exp.question, "seed": seed, "quick": quick,
        "config": dataclasses.asdict(cfg), "library_version": library_version(),
        "numpy_version": np.__version__, "python_version": platform.python_version(),
        "blas_threads": threads,
    })
    started = _dt.datetime.now().isoformat(timespec="seconds")
    t0 = time.perf_counter()
    error, status = "", "ok"
    from ..train.progress import show_progress

    try:   # tqdm bars inside long experiments, only when someone watches a terminal
        if threads is None:
            with show_progress(sys.stderr.isatty()):
                exp.fn(cfg, ctx)
        else:
            from threadpoolctl import threadpool_limits

            with threadpool_limits(limits=int(threads)), show_progress(sys.stderr.isatty()):
                exp.fn(cfg, ctx)
    except DatasetNotFoundError as exc:  # not a failure of the experiment: say what it needs
        status, error = "skipped", f"skipped: needs {exc}"
        (out / "skipped.txt").write_text(error + "\n")
    except Exception:  # noqa: BLE001  (written to error.txt, re-raised below when asked)
        status, error = "failed", traceback.format_exc()
        (out / "error.txt").write_text(error)
    seconds = time.perf_counter() - t0
    metrics = {**ctx.metrics, "data_sources": list(ctx.sources)}
    _dump(out / "metrics.json", metrics)
    _dump(out / "timing.json", {"started": started, "seconds": round(seconds, 3),
                                "status": status})
    write_report(out, exp, ctx, seconds=seconds, error=error, status=status)
    result = RunResult(name, out, status == "ok", seconds, jsonable(metrics), error, status)
    if status == "failed" and raise_errors:
        raise RuntimeError(f"experiment {name!r} failed (see {out / 'error.txt'}):\n{error}")
    return result


def ordered_names() -> list[str]:
    """Every registered experiment, the headline first, then by name."""
    names = registry.names()
    return sorted(names, key=lambda n: (n != HEADLINE, n))


def expected_seconds(names: list[str], quick: bool) -> tuple[float, list[str]]:
    """The summed measured run time of ``names`` (their ``runtime`` records) and the names
    without a parsable record."""
    total, unknown = 0.0, []
    for n in names:
        sec = parse_duration(registry.get(n).runtime.get("quick" if quick else "full", ""))
        if sec is None:
            unknown.append(n)
        else:
            total += sec
    return total, unknown


def run_all(*, quick: bool = False, seed: int = 0, out_root: str | Path = DEFAULT_ROOT,
            names: list[str] | None = None, log: Callable[[str], None] | None = print,
            threads: int | None = 1,
            after_each: Callable[[RunResult], None] | None = None) -> list[RunResult]:
    """Run every registered experiment in turn; a failure is recorded and the rest still run.

    Modules that failed to import are reported as failed results too. ``after_each(result)``
    runs after each experiment (``lab run-all --report`` rebuilds the HTML page there).
    """
    import_errors = registry.load_all()
    results = []
    for modname, err in sorted(import_errors.items()):
        results.append(RunResult(modname, None, False, 0.0, error=f"import failed: {err}"))
        if log:
            log(f"[lab] {modname}: import FAILED: {err}")
    names = list(names or ordered_names())
    preset = "quick" if quick else "full"
    if log:
        total, unknown = expected_seconds(names, quick)
        extra = f" (+ {', '.join(unknown)}: not measured)" if unknown else ""
        log(f"[lab] {len(names)} experiments, {preset} presets: expected about "
            f"{format_duration(total)} in all on 2 cores{extra}")
    for i, name in enumerate(names, 1):
        if log:
            rt = registry.get(name).runtime.get(preset, "?") if name in registry.names() else "?"
            log(f"[lab {i}/{len(names)}] {name} ({preset}; measured {rt}) ...")
        try:
            res = run_experiment(name, quick=quick, seed=seed, out_root=out_root, log=log,
                                 raise_errors=False, threads=threads)
        except Exception as exc:  # noqa: BLE001  (e.g. a config that cannot be built)
            res = RunResult(name, None, False, 0.0, error=f"{type(exc).__name__}: {exc}")
        results.append(res)
        if log:
            shown = "ok" if res.ok else res.status.upper()
            log(f"[lab {i}/{len(names)}] {name}: {shown} in {format_duration(res.seconds)} "
                f"-> {res.path}")
            if res.status == "skipped":
                log(f"    {res.error}")
            elif not res.ok:
                print(res.error, file=sys.stderr)
        if after_each is not None:
            after_each(res)
    return results
