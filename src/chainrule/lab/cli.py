"""``chainrule lab``: list, run, run-all, report and check.

The main CLI wires this in with ``add_parser(subparsers)``; the parser it adds carries
``func=handle`` (``args.func(args)`` returns the exit code). Standalone:
``python -m chainrule.lab list``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..cli.options import positive_int
from . import registry
from .html import write_html
from .runner import DEFAULT_ROOT, format_duration, run_all, run_experiment


def _kv(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--set expects key=value, got {text!r}")
    key, value = text.split("=", 1)
    return key.strip(), value.strip()


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``lab`` subcommand (with list/run/run-all/report) to a subparsers object."""
    lab = subparsers.add_parser("lab", help="run the lab's experiments and build reports",
                                description="Seeded, reproducible experiments with reports.")
    lab.add_argument("--threads", type=int, default=None, metavar="N",
                     help="BLAS threads for the experiments (default 1: faster for these small "
                          "models and the same metrics.json on any machine)")
    sub = lab.add_subparsers(dest="lab_command", required=True)
    sub.add_parser("list", help="list experiments: name, measured run times, question",
                   description="Each experiment's question and measured run times (quick and "
                               "full presets) for the data this machine will use: full MNIST "
                               "when it resolves, else the mnist-5k fallback (marked 5k).")
    run = sub.add_parser("run", help="run one experiment")
    run.add_argument("name")
    run.add_argument("--quick", action="store_true", help="the quick preset (seconds; used by CI)")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--set", dest="overrides", type=_kv, action="append", default=[],
                     metavar="KEY=VALUE", help="override a config field (repeatable)")
    run.add_argument("--out", type=Path, default=DEFAULT_ROOT, help="runs root (default runs/)")
    allp = sub.add_parser("run-all", help="run every experiment; failures do not stop the rest")
    allp.add_argument("--quick", action="store_true")
    allp.add_argument("--seed", type=int, default=0)
    allp.add_argument("--out", type=Path, default=DEFAULT_ROOT)
    allp.add_argument("--jobs", type=positive_int, default=1, metavar="N",
                      help="run N experiments at once, each in its own process with --threads "
                           "BLAS threads (default 1; `make run` uses 2 on 2 cores)")
    allp.add_argument("--report", type=Path, default=None, metavar="HTML",
                      help="rebuild this HTML report after each experiment (open it while the "
                           "rest runs)")
    rep = sub.add_parser("report", help="one self-contained HTML page from the latest runs")
    rep.add_argument("--runs", type=Path, default=DEFAULT_ROOT)
    rep.add_argument("--out", type=Path, default=Path("report.html"))
    chk = sub.add_parser("check", help="recompute every reading's claims from the saved numbers",
                         description="For the run of each experiment that the report shows, "
                                     "re-read every number its reading's claims use (claims.json) "
                                     "and recompute each verdict and sentence; exit 1 on any "
                                     "problem.")
    chk.add_argument("root", nargs="?", type=Path, default=Path("runs/lab"),
                     help="runs root (default runs/lab)")
    lab.set_defaults(func=handle, handler=handle)
    return lab


def data_assumption() -> tuple[bool, str]:
    """``(full_mnist, sentence)``: whether full MNIST resolves on this machine, and which
    data ``lab list``'s run times therefore assume (experiments asking for ``mnist`` use the
    5,000-image ``mnist-5k`` subset when full MNIST does not resolve)."""
    from ..data import sources

    full = sources.resolve("mnist", "train")
    if full.ok:
        return True, (f"Run times for this machine's data: full MNIST resolves from "
                      f"{full.source}, so the MNIST experiments train on all 60,000 images.")
    small = sources.resolve("mnist-5k", "train")
    if small.ok:
        return False, ("Run times for this machine's data: full MNIST does not resolve, so "
                       f"the MNIST experiments train on the 5,000-image mnist-5k subset from "
                       f"{small.source}; times marked 5k were measured on it.")
    return False, ("Neither full MNIST nor mnist-5k resolves here: the MNIST experiments will "
                   "be skipped (`chainrule data list` says how to get them).")


def cmd_list() -> int:
    """Print name, measured run times (for the data this machine will use) and question."""
    errors = registry.load_all()
    full_mnist, assumption = data_assumption()
    print(assumption)
    print("Measured on the project's 2-core machine with one BLAS thread (the 5k times: CPU "
          "seconds, one run at a time); quick = --quick, full = the default preset; "
          "? = not measured.")
    print(f"{'experiment':<24}{'quick':>10}  {'full':>16}   question")
    for name in registry.names():
        exp = registry.get(name)
        cells = []
        for preset in ("quick", "full"):
            text, key = exp.runtime_for(preset, full_mnist=full_mnist)
            cells.append(text + (" (5k)" if key.endswith("-5k") else ""))
        print(f"{name:<24}{cells[0]:>10}  {cells[1]:>16}   {exp.question}")
    for mod, err in errors.items():
        print(f"(could not import {mod}: {err})", file=sys.stderr)
    return 1 if errors else 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run one experiment; print where it was written."""
    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0, got {args.seed}")
    # Every --set value is parsed and range-checked before anything is run or written.
    registry.get(args.name).make_config(quick=args.quick, overrides=dict(args.overrides))
    res = run_experiment(args.name, quick=args.quick, seed=args.seed, out_root=args.out,
                         overrides=dict(args.overrides), log=print, raise_errors=False,
                         threads=args.threads or 1)
    if res.status == "skipped":
        print(f"{args.name}: {res.error} -> {res.path}", file=sys.stderr)
        return 1
    if not res.ok:
        print(res.error, file=sys.stderr)
        print(f"{args.name}: FAILED after {res.seconds:.1f} s -> {res.path}", file=sys.stderr)
        return 1
    print(f"{args.name}: done in {res.seconds:.1f} s -> {res.path}")
    return 0


def cmd_run_all(args: argparse.Namespace) -> int:
    """Run every experiment. Exit status: how many failed for a reason other than missing
    data (0 when every experiment is ok or only skipped for data; capped at 100)."""
    def rebuild(_res) -> None:
        write_html(args.out, args.report)

    t0 = time.perf_counter()
    results = run_all(quick=args.quick, seed=args.seed, out_root=args.out,
                      threads=args.threads or 1, jobs=args.jobs,
                      after_each=rebuild if args.report else None)
    failed = [r.name for r in results if r.status == "failed"]
    skipped = [r.name for r in results if r.status == "skipped"]
    total = sum(r.seconds for r in results)
    ok = len(results) - len(failed) - len(skipped)
    wall = time.perf_counter() - t0
    runs = f" (runs: {format_duration(total)} in all)" if args.jobs > 1 else ""
    print(f"[lab] {ok}/{len(results)} ok in {format_duration(wall)}{runs}"
          + (f"; SKIPPED (missing data): {', '.join(skipped)}" if skipped else "")
          + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    if args.report:
        print(f"[lab] report: {write_html(args.out, args.report)}")
    return min(len(failed), 100)


def cmd_report(args: argparse.Namespace) -> int:
    """Write the HTML report from the last ok run of each experiment (noting newer failed or
    skipped attempts). A missing runs folder, or one that cannot be read or written, is an
    error (exit 2, one line); an empty folder gives a page saying no runs were found."""
    def error(msg: str) -> int:
        print(f"chainrule lab report: error: {msg}", file=sys.stderr)
        return 2

    if not args.runs.exists():
        return error(f"runs folder {args.runs} does not exist (run `chainrule lab run NAME` "
                     f"first, or pass --runs DIR)")
    if not args.runs.is_dir():
        return error(f"--runs {args.runs} is not a folder")
    try:
        path = write_html(args.runs, args.out)
    except OSError as err:  # unreadable runs folder, --out a folder or read-only, disk full
        where = err.filename if err.filename is not None else args.out
        return error(f"{where}: {err.strerror or err}")
    print(f"report written to {path}")
    return 0


def handle(args: argparse.Namespace) -> int:
    """Dispatch ``chainrule lab <command>``; returns the exit code."""
    if args.lab_command == "list":
        return cmd_list()
    if args.lab_command == "run":
        try:
            return cmd_run(args)
        except (KeyError, ValueError) as err:  # unknown experiment or a bad --set value
            print(f"chainrule lab run: error: {err.args[0]}", file=sys.stderr)
            return 2
    if args.lab_command == "run-all":
        return cmd_run_all(args)
    if args.lab_command == "check":
        from .check import check_root

        return check_root(args.root)
    return cmd_report(args)


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point: ``python -m chainrule.lab ...``."""
    parser = argparse.ArgumentParser(prog="chainrule")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["lab", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
