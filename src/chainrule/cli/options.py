"""Model flags shared by ``chainrule train`` and ``chainrule summary``."""

from __future__ import annotations

import argparse
import math
from typing import Any


def _int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("expected comma-separated integers, "
                                         f"got {text!r}") from None
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0 (rejects nan, inf, 0 and negatives)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def _name_list(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def add_model_args(p: argparse.ArgumentParser) -> None:
    """Add the flags that describe a model (MLP or the configurable CNN)."""
    g = p.add_argument_group("model")
    g.add_argument("--model", choices=("mlp", "cnn"), default="mlp")
    g.add_argument("--hidden", type=_int_list, default=[100, 50], metavar="N,N",
                   help="MLP hidden widths (default 100,50)")
    g.add_argument("--activation", type=_name_list, default=["sigmoid", "relu"], metavar="A,A",
                   help="MLP hidden activations, one name or one per hidden layer "
                        "(sigmoid, tanh, relu, leaky_relu, improved_sigmoid)")
    g.add_argument("--init", default="fan_in_uniform",
                   help="MLP weight initialiser (cr.init names)")
    g.add_argument("--conv-kernel-size", type=int, default=3)
    g.add_argument("--pooling-kernel-size", type=int, default=2)
    g.add_argument("--stride-size", type=int, default=1,
                   help="stride of both convolutions and both pooling layers")
    g.add_argument("--zero-padding", action=argparse.BooleanOptionalAction, default=True,
                   help="'same' zero padding (--no-zero-padding: 'valid')")
    g.add_argument("--max-pooling", action=argparse.BooleanOptionalAction, default=True,
                   help="max pooling (--no-max-pooling: average pooling)")
    g.add_argument("--channels", type=_int_list, default=[16, 32], metavar="C,C")


def model_config(args: argparse.Namespace, *, in_shape: tuple[int, ...],
                 num_classes: int) -> dict[str, Any]:
    """The JSON-able model config (see ``chainrule.models.config``) the flags describe."""
    config: dict[str, Any] = {"model": args.model, "in_shape": [int(s) for s in in_shape],
                              "num_classes": int(num_classes)}
    if args.model == "mlp":
        acts = list(args.activation)
        if len(acts) not in (1, len(args.hidden)):
            raise ValueError(f"--activation names {len(acts)} activations for "
                             f"{len(args.hidden)} hidden layers; give one or {len(args.hidden)}")
        config.update(hidden=list(args.hidden), activation=acts, init=args.init)
    else:
        config.update(conv_kernel_size=args.conv_kernel_size,
                      pooling_kernel_size=args.pooling_kernel_size, stride_size=args.stride_size,
                      zero_padding=args.zero_padding, max_pooling=args.max_pooling,
                      channels=list(args.channels))
    return config
