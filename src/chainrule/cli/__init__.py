"""The ``chainrule`` command line: train, evaluate, data, gradcheck, summary and lab.

Every subcommand accepts ``--threads N``, which caps the BLAS thread pool through
threadpoolctl (on a contended 2-core machine one thread was measured 2–5× faster than two).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import __version__


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--threads", type=int, default=None, metavar="N",
                        help="BLAS threads (default: the library's own choice)")
    return common


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (exposed for tests and documentation)."""
    from . import commands, train

    parser = argparse.ArgumentParser(
        prog="chainrule", description="Hand-written backprop in NumPy: train, verify, explore.")
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    common = _common()
    train.add_parsers(sub, common)
    commands.add_parsers(sub, common)
    try:
        from ..lab.cli import add_parser as add_lab_parser
    except ImportError:  # the lab is optional while it is being built
        add_lab_parser = None
    if add_lab_parser is not None:
        add_lab_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``chainrule`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    from threadpoolctl import threadpool_limits

    try:
        if args.threads is not None:
            if args.threads < 1:
                raise ValueError(f"--threads must be at least 1, got {args.threads}")
            with threadpool_limits(limits=args.threads):
                return int(args.handler(args) or 0)
        return int(args.handler(args) or 0)
    except (ValueError, FileNotFoundError, RuntimeError) as err:
        print(f"chainrule {args.command}: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `chainrule summary | head`: the reader left, nothing to report
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
