"""Additive Gaussian noise, a regulariser active only while training (Keras's ``GaussianNoise``)."""

from __future__ import annotations

import numpy as np

from ..backend import RNGLike, as_rng
from ..core import Module


class GaussianNoise(Module):
    """``y = x + ε``, ``ε ~ N(0, std²)`` drawn per element, in training only; ``y = x`` otherwise.

    Backward: the noise does not depend on ``x``, so ``∂y/∂x = I`` and ``dx = dy`` in both
    modes.

    Shapes: x, y, dy, dx share one shape, any rank.

    Randomness: ε comes from the Generator ``self.rng`` (seed or Generator via ``rng=``).
    The noise is drawn in the input's dtype (float32 stays float32).
    """

    def __init__(self, std: float, *, rng: RNGLike = None) -> None:
        super().__init__()
        std = float(std)
        if not std >= 0.0:
            raise ValueError(f"GaussianNoise std must be non-negative, got {std}")
        self.std = std
        self.rng = as_rng(rng)
        self._ran = False

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """y = x + N(0, std²) noise in training, x otherwise."""
        self._ran = True
        if not training or self.std == 0.0:
            return x
        dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float64
        noise = self.rng.standard_normal(x.shape, dtype=dtype)
        noise *= self.std
        return x + noise

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dx = dy."""
        self._cached(self._ran or None)
        return dy

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(input_shape)

    def extra_repr(self) -> str:
        return f"std={self.std}"
