"""Fully-connected (dense) layer."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import parallel
from ..backend import RNGLike
from ._weighted import WeightedLayer


class Linear(WeightedLayer):
    """Affine map ``y = x·W + b``.

    Note the layout: ``W`` is ``(in_features, out_features)``, the transpose of
    PyTorch's ``nn.Linear.weight``; to copy weights from PyTorch use ``W = w_torch.T``.

    Backward
    --------
    With ``dy = ∂L/∂y``:

    * ``∂L/∂W = xᵀ·dy``  — y_nj = Σ_i x_ni W_ij, so ∂y_nj/∂W_ij = x_ni, summed over n;
    * ``∂L/∂b = Σ_n dy_n`` — the bias is broadcast over the batch, so its gradient sums;
    * ``∂L/∂x = dy·Wᵀ``  — ∂y_nj/∂x_ni = W_ij, summed over j.

    Shapes
    ------
    x: ``(N, in)``   W: ``(in, out)``   b: ``(out,)``   y, dy: ``(N, out)``   dx: ``(N, in)``.
    Leading axes beyond one batch axis are allowed (``(..., in)``); parameter gradients
    then sum over all of them.

    ``input_grad=False`` (for a network's first layer, whose input is data) makes ``backward``
    accumulate dW and db only and return ``None``, saving the dy·Wᵀ product — PyTorch skips
    it too for inputs that do not require grad. ``chainrule.train.fit`` sets it on a
    Sequential model's first layer for the duration of training.

    Reduction: none. The loss carries the 1/N; this layer sums over the batch.
    The three products go through ``chainrule.parallel.matmul``: large ones are shared among
    chainrule's threads by output rows (never by the summed batch axis of ``xᵀ·dy``).
    Input of another dtype is cast to the weight's dtype, so a float32 layer stays float32.
    """

    def __init__(self, in_features: int, out_features: int, *, bias: bool = True,
                 init: str | Any = "fan_in_uniform", bias_init: str | Any = "zeros",
                 input_grad: bool = True, rng: RNGLike = None, dtype: Any = None) -> None:
        super().__init__()
        self.input_grad = bool(input_grad)
        if int(in_features) <= 0 or int(out_features) <= 0:
            raise ValueError(f"Linear needs positive sizes, got ({in_features}, {out_features})")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self._create_parameters((self.in_features, self.out_features), self.out_features,
                                bias=bias, init=init, bias_init=bias_init, rng=rng, dtype=dtype)
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """y = x·W + b."""
        W = self.weight.data
        if x.ndim < 1 or x.shape[-1] != self.in_features:
            raise ValueError(f"Linear({self.in_features}, {self.out_features}) expects input "
                             f"of shape (N, {self.in_features}), got {tuple(x.shape)}")
        if x.dtype != W.dtype:
            x = x.astype(W.dtype)
        self._x = x
        y = parallel.matmul(x.reshape(-1, self.in_features), W)
        if self.bias is not None:
            y += self.bias.data
        return y.reshape(*x.shape[:-1], self.out_features)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """Add xᵀ·dy to W.grad and Σ dy to b.grad; return dy·Wᵀ."""
        x = self._cached(self._x)
        x2 = x.reshape(-1, self.in_features)
        dy2 = dy.reshape(-1, self.out_features)
        self.weight.grad += parallel.matmul(x2.T, dy2)
        if self.bias is not None:
            self.bias.grad += dy2.sum(axis=0)
        if not self.input_grad:
            return None
        return parallel.matmul(dy2, self.weight.data.T).reshape(*dy.shape[:-1], self.in_features)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if input_shape[-1] != self.in_features:
            raise ValueError(f"Linear({self.in_features}, {self.out_features}) expects "
                             f"{self.in_features} features, got shape {tuple(input_shape)}")
        return (*input_shape[:-1], self.out_features)

    def macs(self, input_shape: tuple[int, ...]) -> int:
        """Multiply-accumulates for one sample: in·out per input row."""
        rows = 1
        for s in input_shape[:-1]:
            rows *= int(s)
        return rows * self.in_features * self.out_features

    def extra_repr(self) -> str:
        extra = "" if self.input_grad else ", input_grad=False"
        return f"{self.in_features}, {self.out_features}, bias={self.bias is not None}{extra}"
