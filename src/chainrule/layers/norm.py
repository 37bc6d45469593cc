"""Batch normalisation (Ioffe & Szegedy, 2015) with PyTorch's conventions.

``BatchNorm1d`` normalises ``(N, F)`` or ``(N, F, L)``; ``BatchNorm2d`` normalises NCHW.
Both share ``_BatchNorm``: statistics are taken per channel (axis 1) over every other axis.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import as_dtype
from ..core import Module, Parameter


class _BatchNorm(Module):
    """Per-channel batch normalisation over every axis except axis 1 (the channel axis).

    Forward, per channel, over the ``m`` values of a batch (m = N, N·L or N·H·W):

        μ = (1/m) Σ x,   σ² = (1/m) Σ (x − μ)²   (biased),   σ = √(σ² + ε)
        x̂ = (x − μ)/σ,   y = γ·x̂ + β

    In training μ, σ² are the batch's and the buffers are updated as PyTorch does,
    ``running = (1 − momentum)·running + momentum·batch``, with the *unbiased* variance
    ``σ²·m/(m − 1)`` going into ``running_var``; ``momentum=None`` gives the cumulative
    average (factor ``1/num_batches_tracked``). In evaluation μ, σ² are ``running_mean``,
    ``running_var``. Training needs m > 1 (one value has no variance): it raises otherwise.

    Backward (training). ``∂L/∂γ = Σ dy·x̂`` and ``∂L/∂β = Σ dy`` (sums over the m values).
    With ``g = ∂L/∂x̂ = γ·dy``, x reaches L through x̂ directly and through μ and σ²:

        ∂L/∂σ² = Σ g·(x − μ)·(−½)σ⁻³ = −(1/2σ²)·Σ g·x̂
        ∂L/∂μ  = −(1/σ)·Σ g            (the term through σ² vanishes: Σ (x − μ) = 0)
        ∂L/∂x  = g/σ + ∂L/∂σ²·2(x − μ)/m + ∂L/∂μ/m
               = (1/(mσ))·(m·g − Σ g − x̂·Σ g·x̂)

    and since g = γ·dy:  ``dx = (γ/(mσ))·(m·dy − Σ dy − x̂·Σ dy·x̂)``, which reuses the two
    sums already needed for ∂L/∂β and ∂L/∂γ.

    Backward (evaluation). μ and σ are constants, so ``dx = γ·dy/σ``.

    Shapes: x, y, dy, dx ``(N, C, *spatial)``; γ (``weight``), β (``bias``), ``running_mean``,
    ``running_var``: ``(C,)``; ``num_batches_tracked``: a 0-d int64 array.

    Reduction: parameter gradients sum over the batch and spatial axes (the loss carries 1/N).
    Input of another dtype is cast to the layer's dtype.
    """

    _ndims: tuple[int, ...] = ()
    _layout = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, *, dtype: Any = None) -> None:
        super().__init__()
        if int(num_features) <= 0:
            raise ValueError(f"{type(self).__name__} needs num_features > 0, got {num_features}")
        if not float(eps) > 0.0:
            raise ValueError(f"{type(self).__name__} needs eps > 0, got {eps}")
        if momentum is not None and not 0.0 <= float(momentum) <= 1.0:
            raise ValueError(f"{type(self).__name__} momentum must lie in [0, 1] or be None, "
                             f"got {momentum}")
        self.num_features = int(num_features)
        self.eps = float(eps)
        self.momentum = None if momentum is None else float(momentum)
        self.affine = bool(affine)
        self.dtype = as_dtype(dtype)
        f = self.num_features
        self.weight = Parameter(np.ones(f, dtype=self.dtype)) if affine else None
        self.bias = Parameter(np.zeros(f, dtype=self.dtype)) if affine else None
        self.register_buffer("running_mean", np.zeros(f, dtype=self.dtype))
        self.register_buffer("running_var", np.ones(f, dtype=self.dtype))
        self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        self._cache: tuple[np.ndarray, np.ndarray, bool] | None = None

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches tracked."""
        f = self.num_features
        self._set_buffer("running_mean", np.zeros(f, dtype=self.dtype))
        self._set_buffer("running_var", np.ones(f, dtype=self.dtype))
        self._set_buffer("num_batches_tracked", np.array(0, dtype=np.int64))

    def reset_parameters(self) -> None:
        """γ = 1, β = 0 and fresh running statistics."""
        self.reset_running_stats()
        if self.affine:
            self.weight.data[...] = 1.0
            self.bias.data[...] = 0.0

    def _check(self, shape: tuple[int, ...], batch: bool) -> None:
        axis = 1 if batch else 0  # the channel axis, with or without the batch axis
        if len(shape) + (1 - axis) in self._ndims and shape[axis] == self.num_features:
            return
        c = self.num_features
        want = [s.replace("C", str(c)) for s in self._layout.split("|")]
        if not batch:
            want = [s.replace("N, ", "") for s in want]
        what = "input" if batch else "a sample"
        raise ValueError(f"{type(self).__name__}({c}) expects {what} of shape "
                         f"{' or '.join(want)}, got {tuple(shape)}")

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """y = γ·(x − μ)/√(σ² + ε) + β with batch (training) or running (evaluation) statistics."""
        self._check(x.shape, batch=True)
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)
        axes = (0, *range(2, x.ndim))
        bshape = (1, self.num_features) + (1,) * (x.ndim - 2)
        if training:
            m = x.size // self.num_features
            if m <= 1:
                raise ValueError(f"{type(self).__name__} needs more than 1 value per channel when "
                                 f"training, got input of shape {tuple(x.shape)}")
            mean = x.mean(axis=axes)
            xc = x - mean.reshape(bshape)
            var = (xc * xc).mean(axis=axes)
            inv_std = 1.0 / np.sqrt(var + self.eps)
            xhat = xc * inv_std.reshape(bshape)
            self._update_running(mean, var, m)
        else:
            inv_std = 1.0 / np.sqrt(self.running_var + self.eps)
            xhat = (x - self.running_mean.reshape(bshape)) * inv_std.reshape(bshape)
        self._cache = (xhat, inv_std, training)
        if not self.affine:
            return xhat
        return xhat * self.weight.data.reshape(bshape) + self.bias.data.reshape(bshape)

    def _update_running(self, mean: np.ndarray, var: np.ndarray, m: int) -> None:
        count = self.num_batches_tracked + 1
        self._set_buffer("num_batches_tracked", np.array(count, dtype=np.int64))
        f = 1.0 / float(count) if self.momentum is None else self.momentum
        unbiased = var * (m / (m - 1.0))
        new_mean = (1.0 - f) * self.running_mean + f * mean
        new_var = (1.0 - f) * self.running_var + f * unbiased
        self._set_buffer("running_mean", new_mean.astype(self.dtype, copy=False))
        self._set_buffer("running_var", new_var.astype(self.dtype, copy=False))

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """Add Σdy·x̂ to γ.grad and Σdy to β.grad; return dx by the compact formula."""
        xhat, inv_std, training = self._cached(self._cache)
        axes = (0, *range(2, dy.ndim))
        bshape = (1, self.num_features) + (1,) * (dy.ndim - 2)
        dsum = dy.sum(axis=axes)
        dxsum = (dy * xhat).sum(axis=axes)
        if self.affine:
            self.weight.grad += dxsum
            self.bias.grad += dsum
            scale = self.weight.data * inv_std
        else:
            scale = inv_std
        if not training:
            return dy * scale.reshape(bshape)
        m = dy.size // self.num_features
        dx = dy * float(m) - dsum.reshape(bshape) - xhat * dxsum.reshape(bshape)
        dx *= (scale / float(m)).reshape(bshape)
        return dx

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        self._check(tuple(input_shape), batch=False)
        return tuple(input_shape)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of ``(N, F)`` features or ``(N, F, L)`` sequences (statistics per F).

    See ``_BatchNorm`` for the forward equations, the backward derivation and shapes.
    """

    _ndims = (2, 3)
    _layout = "(N, C)|(N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of NCHW images, statistics per channel over N, H and W.

    See ``_BatchNorm`` for the forward equations, the backward derivation and shapes.
    """

    _ndims = (4,)
    _layout = "(N, C, H, W)"
