"""``chainrule data``, ``chainrule gradcheck`` and ``chainrule summary``."""

from __future__ import annotations

import argparse
from typing import Any

from .options import add_model_args, check_dataset, model_config, positive_float, positive_int


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register the data, gradcheck and summary subcommands."""
    d = sub.add_parser("data", parents=[common], help="list or download datasets")
    dsub = d.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    dl = dsub.add_parser("list", parents=[common], help="where each dataset resolves from here")
    dl.set_defaults(handler=run_data_list)
    dd = dsub.add_parser("download", parents=[common],
                         help="download a dataset into the cache (checksummed)")
    dd.add_argument("name")
    dd.add_argument("--split", default=None, help="one split only (default: all)")
    dd.set_defaults(handler=run_data_download)

    g = sub.add_parser("gradcheck", parents=[common],
                       help="float64 gradient check of every layer and loss in the library")
    g.add_argument("--tol", type=positive_float, default=1e-6,
                   help="relative-error tolerance, finite and > 0 (default 1e-6); a tensor "
                        "whose gradient is zero is judged by the absolute test instead "
                        "(max_abs ≤ 1e-9); the table's 'test' column says which decided")
    g.set_defaults(handler=run_gradcheck)

    s = sub.add_parser("summary", parents=[common],
                       help="print a model's layer table without training",
                       description="Builds the model from the same flags as `train`.")
    s.add_argument("--dataset", default="mnist-5k", help="dataset whose input shape is used")
    s.add_argument("--input-shape", default=None, metavar="C,H,W",
                   help="input shape per sample instead of the dataset's")
    s.add_argument("--num-classes", type=positive_int, default=10)
    s.add_argument("--batch-size", type=positive_int, default=None,
                   help="also show memory for this batch")
    add_model_args(s)
    s.set_defaults(handler=run_summary)


def run_data_list(args: argparse.Namespace) -> int:
    """Print every dataset/split and where it resolves from (or why it does not)."""
    from chainrule import data

    rows = data.describe()
    w = max(len(r["name"]) for r in rows) + 2
    print(f"{'dataset':<{w}}{'split':<8}{'status':<13}source / reason")
    for r in rows:
        print(f"{r['name']:<{w}}{r['split']:<8}{r['status']:<13}"
              f"{r.get('source') or r.get('reason', '')}")
    return 0


def run_data_download(args: argparse.Namespace) -> int:
    """Download (checksummed) a dataset into the user cache."""
    from chainrule import data

    check_dataset(args.name, args.split, "data download")
    for path in data.download(args.name, split=args.split):
        print(f"ok  {path}")
    return 0


def run_gradcheck(args: argparse.Namespace) -> int:
    """Check every catalogued layer and loss; exit 1 if any fails."""
    from chainrule import catalogue

    reports = catalogue.run_all(tol=args.tol)
    print(catalogue.format_table(reports))
    failed = [r for r in reports if not r.ok]
    print(f"\n{len(reports) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


def _dataset_shape(name: str) -> tuple[int, ...]:
    from chainrule import data

    return tuple(data.input_shape(name))


def run_summary(args: argparse.Namespace) -> int:
    """Build the model the flags describe and print its summary table."""
    from chainrule.models import build_model

    if args.input_shape:
        try:
            in_shape = tuple(int(v) for v in args.input_shape.split(","))
        except ValueError:
            in_shape = ()
        if len(in_shape) != 3 or min(in_shape) < 1:
            raise ValueError(f"--input-shape must be three positive integers C,H,W, got "
                             f"{args.input_shape!r}")
    else:
        check_dataset(args.dataset, None, "--dataset")
        in_shape = _dataset_shape(args.dataset)
    config = model_config(args, in_shape=in_shape, num_classes=args.num_classes)
    model = build_model(config, rng=0)
    shape = ((int(in_shape[0] * in_shape[1] * in_shape[2]),) if config["model"] == "mlp"
             else in_shape)
    print(model.summary(shape, batch_size=args.batch_size))
    return 0
