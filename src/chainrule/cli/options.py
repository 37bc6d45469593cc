"""Argument types and the model flags shared by ``chainrule train`` and ``chainrule summary``.

Every argument is checked when it is parsed or, for checks that need more than the one
value (a dataset's splits, a flag that only applies to one model), by the handler before
any work starts: a bad value is a one-line error and exit status 2, never a traceback or
a silently ignored flag.
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
from typing import Any

# Model flags that only one kind of model reads (their argparse default is None, so the
# handler can tell "given" from "defaulted"); the defaults applied when they are not given.
MLP_FLAGS = {"hidden": [100, 50], "activation": ["sigmoid", "relu"], "init": "fan_in_uniform"}
CNN_FLAGS = {"conv_kernel_size": 3, "pooling_kernel_size": 2, "stride_size": 1,
             "zero_padding": True, "max_pooling": True, "channels": [16, 32]}


class DefaultsFormatter(argparse.HelpFormatter):
    """``--help`` shows every option's default: ``(default: X)`` is appended unless the help
    already speaks of a default, and options without help text get just that."""

    def _format_action(self, action: argparse.Action) -> str:
        if action.help is None and _shows_default(action):
            action = copy.copy(action)
            action.help = "(default: %(default)s)"
        return super()._format_action(action)

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text.lower() or not _shows_default(action):
            return text
        return f"{text} (default: %(default)s)"


def _shows_default(action: argparse.Action) -> bool:
    d = action.default
    empty = d is None or d is False or d is argparse.SUPPRESS or (isinstance(d, list) and not d)
    return bool(action.option_strings) and not empty


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line (``prog: error: ...``), exit 2, and
    whose ``--help`` shows defaults (``DefaultsFormatter``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", DefaultsFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        sys.exit(2)


def flag(dest: str) -> str:
    """``conv_kernel_size`` → ``--conv-kernel-size``."""
    return "--" + dest.replace("_", "-")


def _number(text: str, kind: type) -> Any:
    try:
        return kind(text)
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None


def positive_int(text: str) -> int:
    """argparse type: an integer ≥ 1."""
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def nonneg_int(text: str) -> int:
    """argparse type: an integer ≥ 0."""
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0 (rejects nan, inf, 0 and negatives)."""
    value = _number(text, float)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def nonneg_float(text: str) -> float:
    """argparse type: a finite number ≥ 0."""
    value = _number(text, float)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def momentum_value(text: str) -> float:
    """argparse type: a momentum in [0, 1)."""
    value = _number(text, float)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    return value


def val_size(text: str) -> float:
    """argparse type: a validation fraction in (0, 1) or a whole count ≥ 1."""
    value = _number(text, float)
    if not math.isfinite(value) or value <= 0 or (value >= 1 and value != int(value)):
        raise argparse.ArgumentTypeError("expected a fraction in (0, 1) or a whole number of "
                                         f"samples >= 1, got {text!r}")
    return value


def _int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("expected comma-separated integers, "
                                         f"got {text!r}") from None
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def _name_list(text: str) -> list[str]:
    from ..layers.activation import ACTIVATIONS

    names = [v.strip() for v in text.split(",") if v.strip()]
    bad = [n for n in names if n not in ACTIVATIONS]
    if not names or bad:
        raise argparse.ArgumentTypeError(f"unknown activation {', '.join(bad) or text!r}; "
                                         f"choose from {', '.join(ACTIVATIONS)}")
    return names


def _init_name(text: str) -> str:
    from ..init import names

    if text not in names():
        raise argparse.ArgumentTypeError(f"unknown initialiser {text!r}; choose from "
                                         f"{', '.join(names())}")
    return text


def add_model_args(p: argparse.ArgumentParser) -> None:
    """Add the flags that describe a model (MLP or the configurable CNN)."""
    g = p.add_argument_group("model")
    g.add_argument("--model", choices=("mlp", "cnn"), default="mlp")
    g.add_argument("--hidden", type=_int_list, default=None, metavar="N,N",
                   help="MLP hidden widths (default 100,50)")
    g.add_argument("--activation", type=_name_list, default=None, metavar="A,A",
                   help="MLP hidden activations, one name or one per hidden layer "
                        "(sigmoid, tanh, relu, leaky_relu, improved_sigmoid; "
                        "default sigmoid,relu)")
    g.add_argument("--init", type=_init_name, default=None,
                   help="MLP weight initialiser (cr.init names; default fan_in_uniform)")
    g.add_argument("--conv-kernel-size", type=positive_int, default=None,
                   help="CNN convolution kernel size (default 3)")
    g.add_argument("--pooling-kernel-size", type=positive_int, default=None,
                   help="CNN pooling kernel size (default 2)")
    g.add_argument("--stride-size", type=positive_int, default=None,
                   help="stride of both convolutions and both pooling layers (CNN; default 1)")
    g.add_argument("--zero-padding", action=argparse.BooleanOptionalAction, default=None,
                   help="'same' zero padding (--no-zero-padding: 'valid'; CNN)")
    g.add_argument("--max-pooling", action=argparse.BooleanOptionalAction, default=None,
                   help="max pooling (--no-max-pooling: average pooling; CNN)")
    g.add_argument("--channels", type=_int_list, default=None, metavar="C,C",
                   help="CNN channels per block (default 16,32)")


def check_model_flags(args: argparse.Namespace) -> None:
    """ValueError for a flag given that the chosen ``--model`` does not read."""
    other = CNN_FLAGS if args.model == "mlp" else MLP_FLAGS
    given = [flag(k) for k in other if getattr(args, k, None) is not None]
    if given:
        kind = "cnn" if args.model == "mlp" else "mlp"
        verb = "applies" if len(given) == 1 else "apply"
        raise ValueError(f"{', '.join(given)} only {verb} to --model {kind}, not --model "
                         f"{args.model}")


def model_config(args: argparse.Namespace, *, in_shape: tuple[int, ...],
                 num_classes: int) -> dict[str, Any]:
    """The JSON-able model config (see ``chainrule.models.config``) the flags describe,
    checked (fields, and a size that fits in memory) before anything is built."""
    from ..models.config import check_size

    check_model_flags(args)
    config: dict[str, Any] = {"model": args.model, "in_shape": [int(s) for s in in_shape],
                              "num_classes": int(num_classes)}
    own = MLP_FLAGS if args.model == "mlp" else CNN_FLAGS
    values = {k: default if getattr(args, k, None) is None else getattr(args, k)
              for k, default in own.items()}
    if args.model == "mlp":
        acts = list(values["activation"])
        # The size first (a 10⁹-unit layer is refused naming its size, whatever the
        # activations), then the activation count.
        check_size({**config, "hidden": list(values["hidden"]), "activation": acts[:1],
                    "init": values["init"]}, what=f"--model {args.model} with these flags")
        if len(acts) not in (1, len(values["hidden"])):
            raise ValueError(f"--activation names {len(acts)} activations for "
                             f"{len(values['hidden'])} hidden layers; give one or "
                             f"{len(values['hidden'])}")
        config.update(hidden=list(values["hidden"]), activation=acts, init=values["init"])
    else:
        config.update(conv_kernel_size=values["conv_kernel_size"],
                      pooling_kernel_size=values["pooling_kernel_size"],
                      stride_size=values["stride_size"], zero_padding=values["zero_padding"],
                      max_pooling=values["max_pooling"], channels=list(values["channels"]))
    check_size(config, what=f"--model {args.model} with these flags")
    return config


def check_dataset(name: str, split: str | None, what: str) -> None:
    """ValueError naming the flag unless ``name`` (and ``split``) is a known dataset."""
    from .. import data

    try:
        data.get_spec(name, split)
    except ValueError as err:
        raise ValueError(f"{what}: {err}") from None


def describe_subcommands(parser: argparse.ArgumentParser) -> None:
    """Give every subcommand without a description its one-line help as the description, so
    ``chainrule X --help`` always says what X does (recursively)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                if not sub.description and helps.get(name):
                    text = helps[name]
                    sub.description = text[0].upper() + text[1:] + "."
                describe_subcommands(sub)
