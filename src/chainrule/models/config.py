"""Build models from a plain, JSON-able config dict, so a checkpoint can rebuild its own model.

A config looks like ``{"model": "mlp", "in_shape": [1, 28, 28], "num_classes": 10,
"hidden": [100, 50], "activation": ["sigmoid", "relu"]}`` or, for the CNN,
``{"model": "cnn", "in_shape": [1, 28, 28], "num_classes": 10, "conv_kernel_size": 5,
"pooling_kernel_size": 2, "stride_size": 1, "zero_padding": true, "max_pooling": true,
"channels": [16, 32]}``. ``chainrule train`` stores it in ``model.npz``;
``chainrule evaluate`` and ``chainrule summary`` rebuild the model from it.
"""

from __future__ import annotations

import itertools
import math
import os
from typing import Any

from ..backend import RNGLike
from ..core import Module

MODEL_KINDS = ("mlp", "cnn")


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


def memory_bytes() -> int:
    """This machine's physical memory in bytes (0 when the OS does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 0


def _int(config: dict[str, Any], key: str, lo: int = 1, default: Any = None) -> int:
    v = config.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or v < lo:
        raise ValueError(f"model config: {key!r} must be an integer >= {lo}, got {v!r}")
    return v


def _ints(config: dict[str, Any], key: str, default: Any, *, empty: bool = False) -> list[int]:
    v = config.get(key, default)
    if not isinstance(v, (list, tuple)) or (not v and not empty) or any(
            isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in v):
        raise ValueError(f"model config: {key!r} must be a list of positive integers, got {v!r}")
    return list(v)


def parameter_shapes(config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """The ``state_dict`` shapes of the model ``config`` describes, by key — computed from
    the config alone (nothing is allocated), after checking every field's type and range.

    This is how an untrusted config (a model file's metadata) is checked before anything is
    built: ``ValueError`` names the bad field.
    """
    from ..init import names as init_names
    from ..layers.activation import ACTIVATIONS

    if not isinstance(config, dict):
        raise ValueError(  # noqa: TRY004  (untrusted input: a value error, as the CLI reports)
            f"model config must be a dict, got {type(config).__name__}")
    kind = config.get("model")
    if kind not in MODEL_KINDS:
        raise ValueError(f"unknown model kind {kind!r}; choose from {MODEL_KINDS}")
    in_shape = config.get("in_shape")
    if not isinstance(in_shape, (list, tuple)) or not 1 <= len(in_shape) <= 3 or any(
            isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in in_shape):
        raise ValueError(f"model config: 'in_shape' must be 1 to 3 positive integers, "
                         f"got {in_shape!r}")
    classes = _int(config, "num_classes")
    shapes: dict[str, tuple[int, ...]] = {}
    if kind == "mlp":
        hidden = _ints(config, "hidden", [100, 50], empty=True)
        acts = config.get("activation", ["sigmoid"])
        if not isinstance(acts, (list, tuple)) or not acts or any(
                a not in ACTIVATIONS for a in acts):
            raise ValueError(f"model config: 'activation' must name known activations "
                             f"({', '.join(ACTIVATIONS)}), got {acts!r}")
        if len(acts) not in (1, len(hidden)):
            raise ValueError(f"model config: {len(acts)} activations for {len(hidden)} hidden "
                             "layers; give one or one per hidden layer")
        init = config.get("init", "fan_in_uniform")
        if init not in init_names():
            raise ValueError(f"model config: unknown 'init' {init!r}; choose from {init_names()}")
        sizes = [math.prod(in_shape), *hidden, classes]
        for i, (a, b) in enumerate(itertools.pairwise(sizes)):
            shapes[f"{2 * i}.weight"], shapes[f"{2 * i}.bias"] = (a, b), (b,)
        return shapes
    if len(in_shape) != 3:
        raise ValueError(f"model config: a cnn needs 'in_shape' (C, H, W), got {in_shape!r}")
    k, p = _int(config, "conv_kernel_size", default=3), _int(config, "pooling_kernel_size",
                                                                 default=2)
    s = _int(config, "stride_size", default=1)
    for key in ("zero_padding", "max_pooling"):
        if not isinstance(config.get(key, True), bool):
            raise ValueError(f"model config: {key!r} must be true or false, "  # noqa: TRY004
                             f"got {config.get(key)!r}")
    same = config.get("zero_padding", True)
    c, h, w = in_shape
    channels = _ints(config, "channels", [16, 32])
    for i, out in enumerate(channels):
        shapes[f"{3 * i}.weight"], shapes[f"{3 * i}.bias"] = (out, c, k, k), (out,)
        h, w = ((-(-h // s), -(-w // s)) if same else ((h - k) // s + 1, (w - k) // s + 1))
        h, w = (h - p) // s + 1, (w - p) // s + 1
        if min(h, w) < 1:
            raise ValueError(f"model config: the feature map vanishes in block {i + 1} "
                             f"(input {tuple(in_shape)}, kernel {k}, pool {p}, stride {s})")
        c = out
    n = 3 * len(channels) + 1  # the Flatten is child 3·blocks, the Linear the next one
    shapes[f"{n}.weight"], shapes[f"{n}.bias"] = (c * h * w, classes), (classes,)
    return shapes


def check_size(config: dict[str, Any], what: str = "the model") -> int:
    """Validate ``config`` and refuse (``ValueError`` naming the size) a model whose float32
    weights and gradients would not fit in this machine's memory; return the parameter count."""
    n = sum(math.prod(sh) for sh in parameter_shapes(config).values())
    need, have = 2 * 4 * n, memory_bytes()
    if have and need > have:
        raise ValueError(f"{what} would have {n:,} parameters: {_fmt_bytes(need)} for float32 "
                         f"weights and gradients, more than this machine's memory "
                         f"({_fmt_bytes(have)})")
    return n


def build_model(config: dict[str, Any], *, rng: RNGLike = None) -> Module:
    """Instantiate the model a config describes (weights drawn from ``rng``). The config is
    checked first (``check_size``): a bad field or a model too big for memory is a
    ``ValueError`` before anything is allocated."""
    from .cnn import CNN
    from .mlp import MLP

    check_size(config)
    kind = config.get("model")
    in_shape = tuple(int(s) for s in config["in_shape"])
    num_classes = int(config["num_classes"])
    if kind == "mlp":
        acts = config.get("activation", ["sigmoid"])
        return MLP(in_features=math.prod(in_shape), hidden=tuple(config.get("hidden", [100, 50])),
                   activations=tuple(acts) if len(acts) > 1 else acts[0],
                   num_classes=num_classes, init=config.get("init", "fan_in_uniform"), rng=rng)
    if kind == "cnn":
        return CNN(conv_kernel_size=int(config.get("conv_kernel_size", 3)),
                   pooling_kernel_size=int(config.get("pooling_kernel_size", 2)),
                   stride_size=int(config.get("stride_size", 1)),
                   zero_padding=bool(config.get("zero_padding", True)),
                   max_pooling=bool(config.get("max_pooling", True)),
                   channels=tuple(config.get("channels", [16, 32])), in_shape=in_shape,
                   num_classes=num_classes, rng=rng)
    raise ValueError(f"unknown model kind {kind!r}; choose from {MODEL_KINDS}")


def flattens_input(config: dict[str, Any]) -> bool:
    """True when the model takes flat feature vectors (so NCHW images are flattened first)."""
    return config.get("model") == "mlp"
