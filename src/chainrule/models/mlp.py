"""Multilayer perceptron builder: Linear → activation → … → Linear (logits)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..backend import RNGLike, as_rng
from ..core import Sequential
from ..layers.activation import activation
from ..layers.linear import Linear


def _activation_names(activations: str | Sequence[str], n_hidden: int) -> list[str]:
    """One name per hidden layer: a single name (or "a,b" string) is repeated or split."""
    names = activations.split(",") if isinstance(activations, str) else list(activations)
    names = [n.strip() for n in names]
    if len(names) == 1:
        return names * n_hidden
    if len(names) != n_hidden:
        raise ValueError(f"MLP got {len(names)} activations {names} for {n_hidden} hidden "
                         f"layers; give one name for all of them or one per hidden layer")
    return names


class MLP(Sequential):
    """``Linear(in, h₁) → f₁ → Linear(h₁, h₂) → f₂ → … → Linear(h_k, num_classes)``.

    A plain ``Sequential`` (children ``"0"``, ``"1"``, …, so ``state_dict`` keys read
    ``"0.weight"``, ``"2.weight"``, ``"4.weight"`` for two hidden layers). The last layer
    emits logits; softmax belongs to the loss (``SoftmaxCrossEntropy``). ``hidden=()`` gives
    multinomial logistic regression.

    ``activations`` names one activation per hidden layer (``("sigmoid", "relu")``), or one
    name for all of them; a comma-separated string (``"sigmoid,relu"``, as the CLI's
    ``--activation`` takes it) is split. Weights of every Linear come from ``init`` and one
    Generator made from ``rng``, drawn in layer order (same seed → same weights).

    Shapes: x ``(N, in_features)`` → logits ``(N, num_classes)``.
    """

    def __init__(self, in_features: int = 784, hidden: Sequence[int] = (100, 50),
                 activations: str | Sequence[str] = ("sigmoid", "relu"), num_classes: int = 10,
                 *, init: str | Any = "fan_in_uniform", rng: RNGLike = None,
                 dtype: Any = None) -> None:
        super().__init__()
        hidden = tuple(int(h) for h in hidden)
        names = _activation_names(activations, len(hidden))
        gen = as_rng(rng)
        self.in_features, self.hidden, self.num_classes = int(in_features), hidden, int(num_classes)
        self.activations = tuple(names) if hidden else ()
        sizes = (self.in_features, *hidden)
        for fan_in, fan_out, name in zip(sizes[:-1], sizes[1:], names):
            self.append(Linear(fan_in, fan_out, init=init, rng=gen, dtype=dtype))
            self.append(activation(name))
        self.append(Linear(sizes[-1], self.num_classes, init=init, rng=gen, dtype=dtype))
