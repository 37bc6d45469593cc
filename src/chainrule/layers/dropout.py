"""Inverted dropout (Srivastava et al., 2014), as PyTorch's ``nn.Dropout`` implements it."""

from __future__ import annotations

import numpy as np

from ..backend import RNGLike, as_rng
from ..core import Module

_IDENTITY = "identity"  # forward cache marker: the layer passed x through unchanged


class Dropout(Module):
    """Zero each activation with probability ``p`` while training; rescale the survivors.

    Forward (training): draw ``m_i ~ Bernoulli(1 − p)`` independently per element and set
    ``y = x ⊙ m / (1 − p)``. The ``1/(1 − p)`` ("inverted" dropout) keeps ``E[y] = x``, so
    evaluation needs no rescaling: with ``training=False``, ``y = x``.
    Edge cases: ``p = 0`` is the identity; ``p = 1`` drops everything and returns zeros
    (there is no survivor to rescale, so no division by zero happens).

    Backward: ``y`` is linear in ``x`` with the mask fixed, so ``dx = dy ⊙ m / (1 − p)``
    (the same scaled mask as forward; ``dx = dy`` in evaluation, ``dx = 0`` when p = 1).

    Shapes: x, y, dy, dx share one shape, any rank.

    Randomness: masks come from the Generator ``self.rng`` (seed or Generator via
    ``rng=``); the same seed gives the same masks. Gradient checks and checkpoints find
    it by that attribute name.
    """

    def __init__(self, p: float = 0.5, *, rng: RNGLike = None) -> None:
        super().__init__()
        p = float(p)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout probability must lie in [0, 1], got {p}")
        self.p = p
        self.rng = as_rng(rng)
        self._mask: np.ndarray | str | None = None

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """y = x ⊙ m/(1−p) in training, x otherwise."""
        if not training or self.p == 0.0:
            self._mask = _IDENTITY
            return x
        if self.p == 1.0:
            self._mask = np.zeros(x.shape, dtype=x.dtype)
            return np.zeros_like(x)
        # float32 uniforms halve the cost of the draw; 2⁻²⁴ resolution is ample for a mask.
        keep = self.rng.random(x.shape, dtype=np.float32) >= self.p
        mask = keep.astype(x.dtype)
        mask *= 1.0 / (1.0 - self.p)  # a Python float keeps the mask's dtype
        self._mask = mask
        return x * mask

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dx = dy ⊙ m/(1−p) (dy itself when forward was the identity)."""
        mask = self._cached(self._mask)
        if isinstance(mask, str):
            return dy
        return dy * mask

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(input_shape)

    def extra_repr(self) -> str:
        return f"p={self.p}"
