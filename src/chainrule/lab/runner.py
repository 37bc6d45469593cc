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

    ``threads`` sets chainrule's threads (``chainrule.num_threads``) while the experiment
    runs (``None``: leave the setting). The default, 1, suits the lab, which runs experiments
    side by side instead, and it makes ``metrics.json`` independent of the core count: a
    split into bands depends on the number of threads, and float sums on the split.
    """
    exp = registry.get(name)
    cfg = exp.make_config(quick, overrides)
    out = _new_run_dir(Path(out_root), name)
    ctx = RunContext(out, seed=seed, quick=quick, config=cfg, log=log)
    _dump(out / "config.json", {
        "experiment": name, "question": exp.question, "seed": seed, "quick": quick,
        "config": dataclasses.asdict(cfg), "library_version": library_version(),
        "numpy_version": np.__version__, "python_version": platform.python_version(),
        "threads": threads,
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
            from ..threads import num_threads

            with num_threads(int(threads)), show_progress(sys.stderr.isatty()):
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


def full_mnist_here() -> bool:
    """Does full MNIST resolve on this machine (else the MNIST experiments use mnist-5k)?"""
    from .. import data

    return data.available("mnist", "train")


def runtime_here(name: str, preset: str, full_mnist: bool) -> str:
    """``name``'s measured run time of ``preset`` for the data this machine will use: the
    ``<preset>-5k`` record when full MNIST does not resolve (see ``Experiment.runtime_for``);
    ``"?"`` when unknown."""
    if name not in registry.names():
        return "?"
    return registry.get(name).runtime_for(preset, full_mnist=full_mnist)[0]


def expected_seconds(names: list[str], quick: bool,
                     full_mnist: bool | None = None) -> tuple[float, list[str]]:
    """The summed measured run time of ``names`` (their ``runtime`` records for this
    machine's data; ``full_mnist`` as ``full_mnist_here()`` when not given) and the names
    without a parsable record."""
    full = full_mnist_here() if full_mnist is None else full_mnist
    total, unknown = 0.0, []
    for n in names:
        sec = parse_duration(runtime_here(n, "quick" if quick else "full", full))
        if sec is None:
            unknown.append(n)
        else:
            total += sec
    return total, unknown


def schedule(names: list[str], quick: bool, jobs: int,
             full_mnist: bool | None = None) -> tuple[list[str], float]:
    """The order to start ``names`` in with ``jobs`` workers, and the expected wall time.

    The headline experiment starts first; the rest start longest first (by their measured
    ``runtime``; unmeasured ones last), which keeps the workers busy to the end. The expected
    wall time simulates that order on ``jobs`` workers (each takes the next name when free).
    """
    preset = "quick" if quick else "full"
    full = full_mnist_here() if full_mnist is None else full_mnist
    seconds = {n: parse_duration(runtime_here(n, preset, full)) or 0.0 for n in names}

    rest = sorted((n for n in names if n != HEADLINE), key=lambda n: (-seconds[n], n))
    order = ([HEADLINE] if HEADLINE in names else []) + rest
    free = [0.0] * max(1, jobs)
    for n in order:
        i = free.index(min(free))
        free[i] += seconds[n]
    return order, max(free)


def _run_in_worker(name: str, quick: bool, seed: int, out_root: str, threads: int | None
                   ) -> RunResult:
    """One experiment in a worker process (quiet: the parent prints the progress lines)."""
    try:
        return run_experiment(name, quick=quick, seed=seed, out_root=out_root, log=None,
                              raise_errors=False, threads=threads)
    except Exception as exc:  # noqa: BLE001  (e.g. a config that cannot be built)
        return RunResult(name, None, False, 0.0, error=f"{type(exc).__name__}: {exc}")


def run_all(*, quick: bool = False, seed: int = 0, out_root: str | Path = DEFAULT_ROOT,
            names: list[str] | None = None, log: Callable[[str], None] | None = print,
            threads: int | None = 1, jobs: int = 1,
            after_each: Callable[[RunResult], None] | None = None) -> list[RunResult]:
    """Run every registered experiment; a failure is recorded and the rest still run.

    Modules that failed to import are reported as failed results too. ``after_each(result)``
    runs after each experiment (``lab run-all --report`` rebuilds the HTML page there).

    ``jobs`` > 1 runs that many experiments at once, each in its own process with ``threads``
    chainrule threads (``make run`` uses 2 jobs × 1 thread on 2 cores: the lab's models are
    too small for a second thread to pay, while a second experiment uses the core fully).
    Each run's metrics do not depend on ``jobs``; only wall-clock times (``timing.json``) do.
    Results come back in the order the experiments finished.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    import_errors = registry.load_all()
    results = []
    for modname, err in sorted(import_errors.items()):
        results.append(RunResult(modname, None, False, 0.0, error=f"import failed: {err}"))
        if log:
            log(f"[lab] {modname}: import FAILED: {err}")
    names = list(names or ordered_names())
    preset = "quick" if quick else "full"
    full = full_mnist_here()   # once: which runtime records apply on this machine
    order, wall = schedule(names, quick, jobs, full) if jobs > 1 else (names, 0.0)
    if log:
        total, unknown = expected_seconds(names, quick, full)
        extra = f" (+ {', '.join(unknown)}: not measured)" if unknown else ""
        par = (f", {jobs} at a time: about {format_duration(wall)} wall" if jobs > 1 else "")
        log(f"[lab] {len(names)} experiments, {preset} presets: expected about "
            f"{format_duration(total)} of runs in all{par}{extra}")

    def finished(i: int, res: RunResult) -> None:
        results.append(res)
        if log:
            shown = "ok" if res.ok else res.status.upper()
            log(f"[lab {i}/{len(names)}] {res.name}: {shown} in "
                f"{format_duration(res.seconds)} -> {res.path}")
            if res.status == "skipped":
                log(f"    {res.error}")
            elif not res.ok:
                print(res.error, file=sys.stderr)
        if after_each is not None:
            after_each(res)

    def started(i: int, name: str) -> None:
        if log:
            log(f"[lab {i}/{len(names)}] {name} ({preset}; measured "
                f"{runtime_here(name, preset, full)}) ...")

    if jobs == 1:
        for i, name in enumerate(order, 1):
            started(i, name)
            finished(i, _run_in_worker(name, quick, seed, str(out_root), threads))
        return results
    _run_parallel(order, jobs, (quick, seed, str(out_root), threads), started, finished)
    return results


def _run_parallel(order: list[str], jobs: int, args: tuple, started: Callable,
                  finished: Callable) -> None:
    """Keep ``jobs`` worker processes busy with ``order``; report each start and finish."""
    import concurrent.futures as cf
    import multiprocessing

    # spawn: a fresh interpreter per worker (no inherited BLAS pools or locks from a fork)
    ctx = multiprocessing.get_context("spawn")
    pending = list(enumerate(order, 1))
    done_count = 0
    with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        running: dict[cf.Future, tuple[int, str]] = {}
        try:
            while pending or running:
                while pending and len(running) < jobs:
                    i, name = pending.pop(0)
                    started(i, name)
                    running[pool.submit(_run_in_worker, name, *args)] = (i, name)
                done, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
                for fut in done:
                    i, name = running.pop(fut)
                    done_count += 1
                    try:
                        res = fut.result()
                    except Exception as exc:  # noqa: BLE001  (a worker that died)
                        res = RunResult(name, None, False, 0.0,
                                        error=f"worker failed: {type(exc).__name__}: {exc}")
                    finished(done_count, res)
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
