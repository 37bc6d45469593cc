"""Shared set-up of layers that own a ``weight`` and an optional ``bias`` (Linear, Conv2d, ...)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import init as initializers
from ..backend import RNGLike, as_dtype, as_rng
from ..core import Module, Parameter


class WeightedLayer(Module):
    """A Module whose ``weight`` (and ``bias`` unless disabled) come from named initialisers.

    Subclasses call ``_create_parameters`` in ``__init__``; ``reset_parameters(rng)`` redraws
    both from ``init`` / ``bias_init`` (names from ``chainrule.init`` or callables), weight first.
    """

    def _create_parameters(self, weight_shape: tuple[int, ...], bias_size: int, *, bias: bool,
                           init: Any, bias_init: Any, rng: RNGLike, dtype: Any) -> None:
        self.dtype = as_dtype(dtype)
        self.init, self.bias_init = init, bias_init
        self.weight = Parameter(np.empty(weight_shape, dtype=self.dtype))
        self.bias = Parameter(np.empty(bias_size, dtype=self.dtype)) if bias else None
        self.reset_parameters(rng)

    def reset_parameters(self, rng: RNGLike = None) -> None:
        """Draw fresh weights (and bias) from the configured initialisers."""
        rng = as_rng(rng)
        self.weight.data[...] = initializers.get(self.init)(self.weight.shape, rng, self.dtype)
        if self.bias is not None:
            self.bias.data[...] = initializers.get(self.bias_init)(self.bias.shape, rng, self.dtype)
