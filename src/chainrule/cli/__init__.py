"""The ``chainrule`` command line: train, evaluate, data, gradcheck, summary and lab.

Every subcommand accepts ``--threads N``: chainrule's threads (``chainrule.num_threads``;
the default is the cores not busy with other processes, see ``chainrule.parallel``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .. import __version__


def _common() -> argparse.ArgumentParser:
    from .options import Parser

    common = Parser(add_help=False)
    common.add_argument("--threads", type=int, default=None, metavar="N",
                        help="threads chainrule computes with (default: the cores that other "
                             "processes leave free; env CHAINRULE_NUM_THREADS)")
    return common


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (exposed for tests and documentation)."""
    from . import commands, train
    from .options import Parser, describe_subcommands

    parser = Parser(
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
    describe_subcommands(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``chainrule`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # for "resume with: ..." hints
    from ..threads import num_threads

    try:
        if args.threads is not None:
            if args.threads < 1:
                raise ValueError(f"--threads must be at least 1, got {args.threads}")
            with num_threads(args.threads):
                return int(args.handler(args) or 0)
        return int(args.handler(args) or 0)
    except BrokenPipeError:  # `chainrule summary | head`: the reader left, nothing to report
        sys.stderr.close()
        return 0
    except (ValueError, RuntimeError, OSError, MemoryError) as err:
        print(f"chainrule {args.command}: error: {describe_error(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"chainrule {args.command}: interrupted", file=sys.stderr)
        return 130


def describe_error(err: BaseException) -> str:
    """One line for an error: an OSError names its path(s) and the OS's reason (a folder
    where a file was expected, a read-only or full disk, ...); a MemoryError the size."""
    if isinstance(err, OSError) and err.filename is not None:
        where = os.fspath(err.filename)
        if err.filename2 is not None:
            where += f" -> {os.fspath(err.filename2)}"
        return f"{where}: {err.strerror or type(err).__name__}"
    if isinstance(err, MemoryError):
        return f"out of memory: {err}" if str(err) else "out of memory"
    return " ".join(str(err).split()) or type(err).__name__


if __name__ == "__main__":
    sys.exit(main())
