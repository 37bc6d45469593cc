"""Build models from a plain, JSON-able config dict, so a checkpoint can rebuild its own model.

A config looks like ``{"model": "mlp", "in_shape": [1, 28, 28], "num_classes": 10,
"hidden": [100, 50], "activation": ["sigmoid", "relu"]}`` or, for the CNN,
``{"model": "cnn", "in_shape": [1, 28, 28], "num_classes": 10, "conv_kernel_size": 5,
"pooling_kernel_size": 2, "stride_size": 1, "zero_padding": true, "max_pooling": true,
"channels": [16, 32]}``. ``chainrule train`` stores it in ``model.npz``;
``chainrule evaluate`` and ``chainrule summary`` rebuild the model from it.
"""

from __future__ import annotations

import math
from typing import Any

from ..backend import RNGLike
from ..core import Module

MODEL_KINDS = ("mlp", "cnn")


def build_model(config: dict[str, Any], *, rng: RNGLike = None) -> Module:
    """Instantiate the model a config describes (weights drawn from ``rng``)."""
    from .cnn import CNN
    from .mlp import MLP

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
