"""Shape layers: they move or copy values without arithmetic, so each backward routes ``dy`` back.

Images are NCHW. ``output_shape`` takes one sample's shape (no batch axis), as everywhere.
None of these layers has parameters or costs multiply-accumulates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..core import Module

PairLike = int | Sequence[int]


def _chw(layer: Module, input_shape: Sequence[int]) -> tuple[int, int, int]:
    """Check that one sample is (C, H, W) and return it."""
    if len(input_shape) != 3:
        raise ValueError(f"{layer!r} expects NCHW input, i.e. a per-sample shape (C, H, W); "
                         f"got {tuple(input_shape)}")
    c, h, w = (int(s) for s in input_shape)
    return c, h, w


def _check_nchw(layer: Module, x: np.ndarray) -> None:
    if x.ndim != 4:
        raise ValueError(f"{layer!r} expects input of shape (N, C, H, W), got {tuple(x.shape)}")


def _four_sides(name: str, value: int | Sequence) -> tuple[int, int, int, int]:
    """Normalise int, (h, w), ((top, bottom), (left, right)) or (top, bottom, left, right)."""
    if isinstance(value, (int, np.integer)):
        sides = (int(value),) * 4
    else:
        value = tuple(value)
        if len(value) == 2 and all(isinstance(v, (int, np.integer)) for v in value):
            sides = (int(value[0]),) * 2 + (int(value[1]),) * 2
        elif len(value) == 2 and all(isinstance(v, Sequence) and len(v) == 2 for v in value):
            (t, b), (left, r) = value
            sides = (int(t), int(b), int(left), int(r))
        elif len(value) == 4 and all(isinstance(v, (int, np.integer)) for v in value):
            sides = tuple(int(v) for v in value)
        else:
            raise ValueError(f"{name} must be an int, (h, w), ((top, bottom), (left, right)) or "
                             f"(top, bottom, left, right); got {value!r}")
    if min(sides) < 0:
        raise ValueError(f"{name} must be non-negative, got {sides}")
    return sides  # type: ignore[return-value]


class Flatten(Module):
    """Flatten every axis after the batch axis: ``y = x.reshape(N, −1)``.

    Backward: a reshape moves no values, so ``dx = dy.reshape(x.shape)``.

    Shapes: x ``(N, d₁, …, d_k)``, y and dy ``(N, d₁·…·d_k)``, dx like x.
    """

    def __init__(self) -> None:
        super().__init__()
        self._shape: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """y = x.reshape(N, -1)."""
        if x.ndim < 1:
            raise ValueError(f"Flatten expects a batch axis, got a scalar of shape {x.shape}")
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dx = dy reshaped to the input's shape."""
        return dy.reshape(self._cached(self._shape))

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (math.prod(int(s) for s in input_shape),)


class Reshape(Module):
    """Reshape each sample: ``y = x.reshape(N, *shape)``; one entry of ``shape`` may be −1.

    Backward: ``dx = dy.reshape(x.shape)``.

    Shapes: x ``(N, *in_shape)``, y and dy ``(N, *shape)`` with ``prod(shape) = prod(in_shape)``.
    """

    def __init__(self, shape: Sequence[int]) -> None:
        super().__init__()
        self.shape = tuple(int(s) for s in shape)
        if self.shape.count(-1) > 1 or any(s < -1 or s == 0 for s in self.shape):
            raise ValueError(f"Reshape shape must hold positive sizes and at most one -1, "
                             f"got {self.shape}")
        self._shape: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """y = x.reshape(N, *shape)."""
        out = self.output_shape(x.shape[1:])
        self._shape = x.shape
        return x.reshape(x.shape[0], *out)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dx = dy reshaped to the input's shape."""
        return dy.reshape(self._cached(self._shape))

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        size = math.prod(int(s) for s in input_shape)
        known = math.prod(s for s in self.shape if s != -1)
        if -1 in self.shape:
            if size % known:
                raise ValueError(f"{self!r} cannot reshape a sample of shape {tuple(input_shape)} "
                                 f"({size} values): {size} is not a multiple of {known}")
            return tuple(size // known if s == -1 else s for s in self.shape)
        if known != size:
            raise ValueError(f"{self!r} cannot reshape a sample of shape {tuple(input_shape)} "
                             f"({size} values) to {self.shape} ({known} values)")
        return self.shape

    def extra_repr(self) -> str:
        return f"{self.shape}"


class ZeroPad2d(Module):
    """Pad the two spatial axes of NCHW input with zeros.

    ``padding`` is an int (all four sides), ``(h, w)`` (h rows above and below, w columns
    left and right — Keras's symmetric form), Keras's ``((top, bottom), (left, right))``, or a
    flat ``(top, bottom, left, right)``. Note that PyTorch's ``nn.ZeroPad2d`` orders a flat
    4-tuple the other way, ``(left, right, top, bottom)``; use the nested form when in doubt.

    Forward: ``y[:, :, t:t+H, l:l+W] = x``, zero elsewhere.

    Backward: each output pixel copies at most one input pixel, so ``dx`` is the interior
    window of ``dy``: ``dx = dy[:, :, t:t+H, l:l+W]``; the gradient on the zeros is dropped.

    Shapes: x ``(N, C, H, W)``, y and dy ``(N, C, t+H+b, l+W+r)``, dx like x.
    """

    def __init__(self, padding: PairLike | Sequence[Sequence[int]]) -> None:
        super().__init__()
        self.padding = _four_sides("ZeroPad2d padding", padding)
        self._shape: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """y = x surrounded by zeros."""
        _check_nchw(self, x)
        t, b, left, r = self.padding
        self._shape = x.shape
        n, c, h, w = x.shape
        y = np.zeros((n, c, t + h + b, left + w + r), dtype=x.dtype)
        y[:, :, t:t + h, left:left + w] = x
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dx = the interior window of dy."""
        _, _, h, w = self._cached(self._shape)
        t, _, left, _ = self.padding
        return dy[:, :, t:t + h, left:left + w].copy()

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        c, h, w = _chw(self, input_shape)
        t, b, left, r = self.padding
        return (c, t + h + b, left + w + r)

    def extra_repr(self) -> str:
        return f"(top, bottom, left, right)={self.padding}"


class Cropping2d(Module):
    """Remove rows and columns at the borders of NCHW input (Keras's ``Cropping2D``).

    ``cropping`` follows Keras: an int (the same on all four sides), ``(h, w)`` (h rows off
    top and bottom, w columns off left and right), or ``((top, bottom), (left, right))``;
    a flat ``(top, bottom, left, right)`` is accepted too.

    Forward: ``y = x[:, :, t:H−b, l:W−r]``.

    Backward: ``dx`` is ``dy`` placed back in its window, zeros on the cropped border
    (those inputs did not reach the output, so their gradient is 0).

    Shapes: x ``(N, C, H, W)``, y and dy ``(N, C, H−t−b, W−l−r)``, dx like x.
    """

    def __init__(self, cropping: PairLike | Sequence[Sequence[int]]) -> None:
        super().__init__()
        self.cropping = _four_sides("Cropping2d cropping", cropping)
        self._shape: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """y = x without its cropped border."""
        _check_nchw(self, x)
        _, oh, ow = self.output_shape(x.shape[1:])
        t, _, left, _ = self.cropping
        self._shape = x.shape
        return x[:, :, t:t + oh, left:left + ow]

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dx = dy in its window, zeros on the cropped border."""
        shape = self._cached(self._shape)
        t, _, left, _ = self.cropping
        dx = np.zeros(shape, dtype=dy.dtype)
        dx[:, :, t:t + dy.shape[2], left:left + dy.shape[3]] = dy
        return dx

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        c, h, w = _chw(self, input_shape)
        t, b, left, r = self.cropping
        oh, ow = h - t - b, w - left - r
        if oh <= 0 or ow <= 0:
            raise ValueError(f"{self!r} cannot crop (top, bottom, left, right)={self.cropping} "
                             f"from input (C, H, W)={tuple(input_shape)}: output would be "
                             f"({c}, {oh}, {ow})")
        return (c, oh, ow)

    def extra_repr(self) -> str:
        return f"(top, bottom, left, right)={self.cropping}"


class Upsample2d(Module):
    """Nearest-neighbour upsampling by integer factors ``scale = (s_h, s_w)`` (an int means both).

    Forward: ``y[n, c, i, j] = x[n, c, ⌊i/s_h⌋, ⌊j/s_w⌋]`` — every pixel becomes an
    ``s_h × s_w`` block.

    Backward: each input pixel feeds the ``s_h·s_w`` outputs of its block, so its gradient
    is their sum: ``dx[n, c, p, q] = Σ_{a<s_h, b<s_w} dy[n, c, p·s_h + a, q·s_w + b]``
    (computed as a reshape to ``(N, C, H, s_h, W, s_w)`` and a sum over the block axes).

    Shapes: x ``(N, C, H, W)``, y and dy ``(N, C, s_h·H, s_w·W)``, dx like x.
    """

    def __init__(self, scale: PairLike = 2) -> None:
        super().__init__()
        sh, sw = (scale, scale) if isinstance(scale, (int, np.integer)) else tuple(scale)
        self.scale = (int(sh), int(sw))
        if min(self.scale) < 1:
            raise ValueError(f"Upsample2d scale must be positive integers, got {scale!r}")
        self._shape: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """Repeat every pixel s_h times down and s_w times across."""
        _check_nchw(self, x)
        self._shape = x.shape
        sh, sw = self.scale
        n, c, h, w = x.shape
        # Broadcasting into a 6-D view makes one copy instead of two np.repeat calls.
        y = np.broadcast_to(x[:, :, :, None, :, None], (n, c, h, sh, w, sw))
        return y.reshape(n, c, h * sh, w * sw)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dx = sum of dy over each s_h × s_w block."""
        n, c, h, w = self._cached(self._shape)
        sh, sw = self.scale
        return dy.reshape(n, c, h, sh, w, sw).sum(axis=(3, 5))

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        c, h, w = _chw(self, input_shape)
        return (c, h * self.scale[0], w * self.scale[1])

    def extra_repr(self) -> str:
        return f"scale={self.scale}"
