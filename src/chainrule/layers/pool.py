"""Pooling: max, average (over kh×kw windows) and global average.

All three work in the batch-innermost layout of ``_im2col``: a window offset (i, j) is
one strided slice, so a pooling layer is kh·kw vectorised passes over the input.
Window geometry follows PyTorch's defaults (``ceil_mode=False``): ``stride`` defaults
to ``kernel_size``; ``Ho = ⌊(H + 2p − kh)/sh⌋ + 1``, so rows and columns that no window
reaches are ignored (zero gradient); stride 1 gives overlapping windows.
Padding is at most half the kernel, as in PyTorch.

``macs`` counts one operation per window element per output (a comparison for max, an
add for average), i.e. ``C·Ho·Wo·kh·kw`` per sample, so summaries show where pooling
reads its input; no multiplications are involved.
"""

from __future__ import annotations

import numpy as np

from .. import parallel
from ..core import Module
from ._im2col import (
    as_float,
    axis_arithmetic,
    check_rank4,
    out_size,
    pair,
    to_internal,
    to_nchw,
    window,
)


class _Pool2d(Module):
    """Shared window geometry, shape arithmetic and checks for MaxPool2d and AvgPool2d."""

    def __init__(self, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] | None = None,
                 padding: int | tuple[int, int] = 0) -> None:
        super().__init__()
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else pair(stride, "stride")
        self.padding = pair(padding, "padding")
        if min(self.kernel_size) < 1 or min(self.stride) < 1:
            raise ValueError(f"{type(self).__name__} kernel_size and stride must be ≥ 1, "
                             f"got {kernel_size}, {stride}")
        if any(2 * p > k for p, k in zip(self.padding, self.kernel_size)):
            raise ValueError(f"{type(self).__name__}: padding {self.padding} must be at most half "
                             f"the kernel {self.kernel_size}")
        self._arg: np.ndarray | None = None
        self._out_hw: tuple[int, int] | None = None

    def _geometry(self, input_shape: tuple[int, ...]) -> tuple[int, int]:
        if len(input_shape) != 3:
            raise ValueError(f"{self!r} expects input of shape (N, C, H, W), "
                             f"got (N, {', '.join(map(str, input_shape))})")
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        h, w = int(input_shape[1]), int(input_shape[2])
        if h + 2 * ph < kh or w + 2 * pw < kw:
            raise ValueError(f"{self!r}: input of spatial size ({h}, {w}) with padding "
                             f"{self.padding} is smaller than the window ({kh}, {kw}); got shape "
                             f"(N, {', '.join(map(str, input_shape))})")
        return out_size(h, ph, ph, kh, sh), out_size(w, pw, pw, kw, sw)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        ho, wo = self._geometry(tuple(input_shape))
        return (int(input_shape[0]), ho, wo)

    def macs(self, input_shape: tuple[int, ...]) -> int:
        """Comparisons (max) or adds (average) per sample: C·Ho·Wo·kh·kw (see module docstring)."""
        ho, wo = self._geometry(tuple(input_shape))
        return int(input_shape[0]) * ho * wo * self.kernel_size[0] * self.kernel_size[1]

    def shape_arithmetic(self, input_shape: tuple[int, ...]) -> str:
        """How each spatial output size comes about."""
        self._geometry(tuple(input_shape))
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        return (f"H: {axis_arithmetic(input_shape[1], ph, ph, kh, sh)}; "
                f"W: {axis_arithmetic(input_shape[2], pw, pw, kw, sw)}")

    def _prepare(self, x: np.ndarray, fill: float) -> tuple[np.ndarray, int, int]:
        x = np.asarray(x)
        check_rank4(self, x, None)
        x = as_float(x, None)
        ho, wo = self._geometry(x.shape[1:])
        ph, pw = self.padding
        xp = to_internal(x, (ph, ph, pw, pw), self, "_xpad_buf", fill)
        self._shape = x.shape
        return xp, ho, wo

    def _internal_dy(self, dy: np.ndarray, ho: int, wo: int) -> np.ndarray:
        n, c = self._shape[:2]
        if tuple(dy.shape) != (n, c, ho, wo):
            raise ValueError(f"{self!r}.backward expects dy of shape {(n, c, ho, wo)}, "
                             f"got {tuple(dy.shape)}")
        return np.ascontiguousarray(dy.transpose(1, 2, 3, 0))

    def _new_dxp(self, dtype: np.dtype, zero: bool = True) -> np.ndarray:
        n, c, h, w = self._shape
        ph, pw = self.padding
        return (np.zeros if zero else np.empty)((c, h + 2 * ph, w + 2 * pw, n), dtype=dtype)

    def _tiles(self, ho: int, wo: int) -> bool:
        """Do the windows cover the padded input exactly (each element in exactly one)?"""
        _, _, h, w = self._shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        return (kh, kw) == (sh, sw) and ho * kh == h + 2 * ph and wo * kw == w + 2 * pw

    def _crop(self, dxp: np.ndarray) -> np.ndarray:
        _, _, h, w = self._shape
        ph, pw = self.padding
        return to_nchw(dxp[:, ph:ph + h, pw:pw + w, :])

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """Max pooling ``y[n,c,h,w] = max_{i,j} xp[n, c, h·sh + i, w·sw + j]``, xp padded with −∞.

    Backward
    --------
    The max is locally the identity on the winning element and constant in the others, so
    ``∂L/∂xp[n,c,h·sh+i*,w·sw+j*] += dy[n,c,h,w]`` for the argmax (i*, j*) of each window and
    0 elsewhere; with overlapping windows (stride < kernel) an input that wins several
    windows receives the sum.

    Ties: the gradient goes to exactly one element, the **first maximum in row-major window
    order** (smallest i, then smallest j). This is what PyTorch's CPU kernel does (it updates
    on ``val > max``); a test checks both. NaN inputs are not treated specially (a window
    holding NaN gives NaN; which of its elements gets the gradient is unspecified).

    Forward caches only the argmax offset of each window (uint8 when kh·kw ≤ 256), not x.

    Shapes: x, dx ``(N, C, H, W)``; y, dy ``(N, C, Ho, Wo)``. Reduction: none.
    """

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """y = window-wise max; remembers which offset won (channel bands share the work)."""
        xp, ho, wo = self._prepare(x, -np.inf)
        kh, kw = self.kernel_size
        c, n = xp.shape[0], xp.shape[3]
        y = np.empty((c, ho, wo, n), dtype=xp.dtype)
        arg = np.empty(y.shape, dtype=np.uint8 if kh * kw <= 256 else np.int32)
        bands = parallel.ranges(c, xp.size)

        def band(i: int, worker: int) -> None:  # channels a … b of y and arg only
            a, b = bands[i]
            self._max_band(xp[a:b], y[a:b], arg[a:b], ho, wo)

        parallel.run(band, len(bands))
        self._arg, self._out_hw = arg, (ho, wo)
        return to_nchw(y)

    def _max_band(self, xp: np.ndarray, out: np.ndarray, arg: np.ndarray, ho: int,
                  wo: int) -> None:
        """Window maxima of internal ``xp`` into ``out``, and the winning offsets into ``arg``."""
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        y = window(xp, 0, 0, sh, sw, ho, wo).copy()
        m = np.empty_like(y)
        arg.fill(0)
        better = np.empty(y.shape, dtype=bool)
        step = np.empty(y.shape, dtype=arg.dtype)
        for k in range(1, kh * kw):
            v = window(xp, k // kw, k % kw, sh, sw, ho, wo)
            # v beat the running max strictly iff the new max differs from the old one (a tie
            # keeps the earlier offset). Comparing the two compact maxima, not v again, saves
            # a strided pass over the window: ~2% of the benchmark CNN's training step.
            np.maximum(y, v, out=m)
            np.not_equal(m, y, out=better)
            y, m = m, y
            # The winner is the last k that was strictly better than all before it, so
            # arg = max_k k·better_k: two integer ufuncs (masked copies, np.copyto where=,
            # are ~20× slower).
            np.multiply(better.view(np.uint8), arg.dtype.type(k), out=step)
            np.maximum(arg, step, out=arg)
        out[...] = y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """Route each dy to its window's (first) argmax (channel bands share the work)."""
        arg = self._cached(self._arg)
        ho, wo = self._out_hw
        g = self._internal_dy(dy, ho, wo)
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        overlap = sh < kh or sw < kw
        dxp = self._new_dxp(g.dtype, zero=overlap or not self._tiles(ho, wo))
        bands = parallel.ranges(dxp.shape[0], dxp.size)

        def band(i: int, worker: int) -> None:  # channels a … b of dxp only
            a, b = bands[i]
            won = np.empty(arg[a:b].shape, dtype=bool)
            for k in range(kh * kw):
                np.equal(arg[a:b], k, out=won)
                dst = window(dxp[a:b], k // kw, k % kw, sh, sw, ho, wo)
                if overlap:
                    dst += g[a:b] * won
                else:  # each input element lies in at most one window: write, don't add
                    np.multiply(g[a:b], won, out=dst)  # (no zeroing when windows tile dxp)

        parallel.run(band, len(bands))
        return self._crop(dxp)


class AvgPool2d(_Pool2d):
    """Average pooling ``y[n,c,h,w] = (1/(kh·kw)) Σ_{i,j} xp[n, c, h·sh + i, w·sw + j]``.

    Padding contributes zeros and **counts in the divisor** (PyTorch's default
    ``count_include_pad=True``): every window divides by kh·kw, even at the border.

    Backward: y is linear in x with weight 1/(kh·kw) per window element, so
    ``∂L/∂xp[n,c,h·sh+i,w·sw+j] += dy[n,c,h,w] / (kh·kw)`` for every offset (i, j);
    overlapping windows add up; the padding's share is dropped.

    Shapes: x, dx ``(N, C, H, W)``; y, dy ``(N, C, Ho, Wo)``. Reduction: mean over the window.
    """

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """y = window-wise mean (padding counted)."""
        xp, ho, wo = self._prepare(x, 0.0)
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        y = window(xp, 0, 0, sh, sw, ho, wo).copy()
        for k in range(1, kh * kw):
            y += window(xp, k // kw, k % kw, sh, sw, ho, wo)
        y *= 1.0 / (kh * kw)
        self._out_hw = (ho, wo)  # linear: nothing to remember but the geometry
        return to_nchw(y)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """Spread dy/(kh·kw) over every window element."""
        ho, wo = self._cached(self._out_hw)
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        g = self._internal_dy(dy, ho, wo) * (1.0 / (kh * kw))
        dxp = self._new_dxp(g.dtype)
        for k in range(kh * kw):
            window(dxp, k // kw, k % kw, sh, sw, ho, wo)[...] += g
        return self._crop(dxp)


class GlobalAvgPool2d(Module):
    """Global average pooling ``y[n, c] = (1/(H·W)) Σ_{h,w} x[n, c, h, w]`` → (N, C).

    Backward: ``∂L/∂x[n,c,h,w] = dy[n,c] / (H·W)`` (every pixel has the same weight).

    Shapes: x, dx ``(N, C, H, W)``; y, dy ``(N, C)``. Reduction: mean over H·W.
    ``macs``: H·W adds per channel.
    """

    def __init__(self) -> None:
        super().__init__()
        self._shape: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """y = mean over the spatial axes."""
        x = np.asarray(x)
        check_rank4(self, x, None)
        x = as_float(x, None)
        self._shape = x.shape
        return x.mean(axis=(2, 3), dtype=x.dtype)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dx = dy / (H·W) broadcast over space."""
        n, c, h, w = self._cached(self._shape)
        if tuple(dy.shape) != (n, c):
            raise ValueError(f"{self!r}.backward expects dy of shape {(n, c)}, "
                             f"got {tuple(dy.shape)}")
        dx = np.empty((c, h, w, n), dtype=dy.dtype)
        dx[...] = (dy.T * (1.0 / (h * w)))[:, None, None, :]
        return to_nchw(dx)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(input_shape) != 3:
            raise ValueError(f"{self!r} expects input of shape (N, C, H, W), "
                             f"got (N, {', '.join(map(str, input_shape))})")
        return (int(input_shape[0]),)

    def macs(self, input_shape: tuple[int, ...]) -> int:
        """Adds per sample: C·H·W."""
        c, h, w = (int(s) for s in input_shape)
        return c * h * w

    def shape_arithmetic(self, input_shape: tuple[int, ...]) -> str:
        """Spatial axes are averaged away."""
        c, h, w = (int(s) for s in input_shape)
        return f"mean over H·W = {h}·{w} = {h * w} → ({c},)"
