"""Pooling over time for channels-last sequences ``(N, T, C)``: max, average, global max/mean.

Window pools follow PyTorch's ``nn.MaxPool1d`` / ``nn.AvgPool1d`` (``ceil_mode=False``):
``stride`` defaults to ``kernel_size``, ``To = ⌊(T + 2p − k)/s⌋ + 1`` (steps no window
reaches get zero gradient), padding at most half the kernel. They work on chainrule's
``(N, T, C)``; PyTorch's take ``(N, C, L)`` (``x.transpose(1, 2)``). A window offset i is one
strided slice ``xp[:, i::s]`` whose inner run is the C channels, so a pool is k vectorised
passes. ``macs`` counts one comparison (max) or add (average) per window element per output:
``C·To·k`` per sample.

The global pools reduce over time and are **mask-aware**: ``forward(x, lengths=...)`` (valid
steps ``t < lengths[n]``) or ``forward(x, mask=...)`` (boolean (N, T), True = valid, Keras's
convention) excludes padded steps from the max and the mean, and padded steps receive
exactly zero gradient. Appending padding to a batch leaves the result unchanged.
"""

from __future__ import annotations

import numpy as np

from ..core import Module
from ._conv_last import crop, pad
from ._im2col import as_float, axis_arithmetic


def _check_seq(layer: Module, x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"{layer!r} expects input of shape (N, T, C), got {tuple(x.shape)}")
    return as_float(x, None)


def _int(v, name: str, low: int) -> int:
    if not isinstance(v, (int, np.integer)) or int(v) < low:
        raise ValueError(f"{name} must be an int ≥ {low}, got {v!r}")
    return int(v)


class _Pool1d(Module):
    """Shared window geometry, shape arithmetic and checks for MaxPool1d and AvgPool1d."""

    def __init__(self, kernel_size: int, stride: int | None = None, padding: int = 0) -> None:
        super().__init__()
        self.kernel_size = _int(kernel_size, "kernel_size", 1)
        self.stride = self.kernel_size if stride is None else _int(stride, "stride", 1)
        self.padding = _int(padding, "padding", 0)
        if 2 * self.padding > self.kernel_size:
            raise ValueError(f"{type(self).__name__}: padding {self.padding} must be at most "
                             f"half the kernel {self.kernel_size}")
        self._shape: tuple[int, ...] | None = None

    def _geometry(self, input_shape: tuple[int, ...]) -> int:
        if len(input_shape) != 2:
            raise ValueError(f"{self!r} expects input of shape (N, T, C), "
                             f"got (N, {', '.join(map(str, input_shape))})")
        t = int(input_shape[0])
        k, s, p = self.kernel_size, self.stride, self.padding
        if t + 2 * p < k:
            raise ValueError(f"{self!r}: a sequence of length {t} with padding {p} is shorter "
                             f"than the window {k}")
        return (t + 2 * p - k) // s + 1

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (self._geometry(tuple(input_shape)), int(input_shape[1]))

    def macs(self, input_shape: tuple[int, ...]) -> int:
        """Comparisons (max) or adds (average) per sample: C·To·k."""
        return self._geometry(tuple(input_shape)) * int(input_shape[1]) * self.kernel_size

    def shape_arithmetic(self, input_shape: tuple[int, ...]) -> str:
        """How the output length comes about."""
        self._geometry(tuple(input_shape))
        p = self.padding
        return f"T: {axis_arithmetic(int(input_shape[0]), p, p, self.kernel_size, self.stride)}"

    def _slice(self, i: int, to: int) -> slice:
        """Padded steps of window offset i for all To outputs: i, i + s, …, i + s·(To − 1)."""
        return slice(i, i + self.stride * (to - 1) + 1, self.stride)

    def _prepare(self, x: np.ndarray, fill: float) -> tuple[np.ndarray, int]:
        x = _check_seq(self, x)
        to = self._geometry(x.shape[1:])
        p = self.padding
        xp = pad(x, ((p, p),), self, "_xpad_buf", fill) if p else x
        self._shape = x.shape
        return xp, to

    def _dy(self, dy: np.ndarray, to: int) -> np.ndarray:
        n, _, c = self._shape
        if tuple(dy.shape) != (n, to, c):
            raise ValueError(f"{self!r}.backward expects dy of shape {(n, to, c)}, "
                             f"got {tuple(dy.shape)}")
        return np.asarray(dy)

    def _dxp(self, dtype: np.dtype, zero: bool = True) -> np.ndarray:
        n, t, c = self._shape
        return (np.zeros if zero else np.empty)((n, t + 2 * self.padding, c), dtype=dtype)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool1d(_Pool1d):
    """Max pooling over time ``y[n,t,c] = max_i xp[n, t·s + i, c]``, xp padded with −∞.

    Backward
    --------
    The max is locally the identity on the winning step and constant in the others, so
    ``∂L/∂xp[n, t·s + i*, c] += dy[n, t, c]`` for each window's argmax i* and 0 elsewhere;
    with overlapping windows (s < k) a step that wins several windows receives the sum.

    Ties: the gradient goes to exactly one element, the **first maximum** (smallest i), as
    PyTorch's CPU kernel does (it updates on ``val > max``); a test checks both. NaN is not
    treated specially. Forward caches only the argmax offset (uint8 for k ≤ 256), not x.

    Shapes: x, dx ``(N, T, C)``; y, dy ``(N, To, C)``. Reduction: none.
    """

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """y = window-wise max; remembers which offset won."""
        xp, to = self._prepare(x, -np.inf)
        k = self.kernel_size
        y = xp[:, self._slice(0, to)].copy()
        m = np.empty_like(y)
        arg = np.zeros(y.shape, dtype=np.uint8 if k <= 256 else np.int32)
        better = np.empty(y.shape, dtype=bool)
        step = np.empty(y.shape, dtype=arg.dtype)
        for i in range(1, k):
            # Strictly better iff the new running max differs from the old (ties keep the
            # earlier offset); the winner is the last such i, i.e. max_i i·better_i.
            np.maximum(y, xp[:, self._slice(i, to)], out=m)
            np.not_equal(m, y, out=better)
            y, m = m, y
            np.multiply(better.view(np.uint8), arg.dtype.type(i), out=step)
            np.maximum(arg, step, out=arg)
        self._arg = arg
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """Route each dy to its window's (first) argmax."""
        arg = self._cached(self.__dict__.get("_arg"))
        to = arg.shape[1]
        g = self._dy(dy, to)
        k, s = self.kernel_size, self.stride
        overlap = s < k
        tiles = s == k and to * k == self._shape[1] + 2 * self.padding
        dxp = self._dxp(g.dtype, zero=not tiles)
        won = np.empty(arg.shape, dtype=bool)
        for i in range(k):
            np.equal(arg, i, out=won)
            dst = dxp[:, self._slice(i, to)]
            if overlap:
                dst += g * won
            else:  # each step lies in at most one window: write, don't add
                np.multiply(g, won, out=dst)
        return crop(dxp, ((self.padding, self.padding),))


class AvgPool1d(_Pool1d):
    """Average pooling over time ``y[n,t,c] = (1/D_t) Σ_i xp[n, t·s + i, c]``, xp zero-padded.

    Divisor: ``D_t = k`` with ``count_include_pad=True`` (PyTorch's default: padding counts);
    with ``count_include_pad=False``, ``D_t`` is the number of window steps inside x.

    Backward: y is linear in x, weight 1/D_t per window element, so
    ``∂L/∂xp[n, t·s + i, c] += dy[n, t, c] / D_t`` for every offset i; overlapping windows add
    up; the padding's share is dropped.

    Shapes: x, dx ``(N, T, C)``; y, dy ``(N, To, C)``. Reduction: mean over the window.
    """

    def __init__(self, kernel_size: int, stride: int | None = None, padding: int = 0,
                 count_include_pad: bool = True) -> None:
        super().__init__(kernel_size, stride, padding)
        self.count_include_pad = bool(count_include_pad)

    def _inverse_divisor(self, t: int, to: int, dtype: np.dtype) -> np.ndarray:
        """1/D_t as a (To, 1) column."""
        if self.count_include_pad or not self.padding:
            return np.full((to, 1), 1.0 / self.kernel_size, dtype=dtype)
        start = np.arange(to) * self.stride - self.padding
        inside = np.minimum(start + self.kernel_size, t) - np.maximum(start, 0)
        return (1.0 / inside).astype(dtype)[:, None]

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """y = window-wise mean."""
        xp, to = self._prepare(x, 0.0)
        y = xp[:, self._slice(0, to)].copy()
        for i in range(1, self.kernel_size):
            y += xp[:, self._slice(i, to)]
        y *= self._inverse_divisor(self._shape[1], to, y.dtype)
        self._to = to  # linear: nothing to remember but the geometry
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """Spread dy/D_t over every window element."""
        to = self._cached(self.__dict__.get("_to"))
        g = self._dy(dy, to)
        g = g * self._inverse_divisor(self._shape[1], to, g.dtype)
        dxp = self._dxp(g.dtype)
        for i in range(self.kernel_size):
            dxp[:, self._slice(i, to)] += g
        return crop(dxp, ((self.padding, self.padding),))

    def extra_repr(self) -> str:
        extra = "" if self.count_include_pad else ", count_include_pad=False"
        return super().extra_repr() + extra


def valid_mask(x: np.ndarray, lengths: np.ndarray | None, mask: np.ndarray | None
               ) -> np.ndarray | None:
    """The (N, T) boolean mask of valid steps from ``lengths`` or ``mask`` (None: all valid)."""
    n, t = x.shape[:2]
    if lengths is not None and mask is not None:
        raise ValueError("pass lengths or mask, not both")
    if lengths is not None:
        lengths = np.asarray(lengths)
        if lengths.shape != (n,) or lengths.dtype.kind not in "iu":
            raise ValueError(f"lengths must be {n} integers, got {lengths.dtype} {lengths.shape}")
        if lengths.min(initial=1) < 1 or lengths.max(initial=0) > t:
            raise ValueError(f"lengths must lie in [1, {t}], got {lengths.tolist()}")
        return np.arange(t)[None, :] < lengths[:, None]
    if mask is not None:
        mask = np.asarray(mask)
        if mask.shape != (n, t) or mask.dtype != bool:
            raise ValueError(f"mask must be boolean of shape {(n, t)}, got {mask.dtype} "
                             f"{mask.shape}")
        if not mask.any(axis=1).all():
            raise ValueError("every sequence needs at least one valid step in mask")
        return mask
    return None


class _GlobalPool1d(Module):
    """Shared shapes and checks for the global pools over time."""

    def __init__(self) -> None:
        super().__init__()
        self._shape: tuple[int, ...] | None = None

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(input_shape) != 2:
            raise ValueError(f"{self!r} expects input of shape (N, T, C), "
                             f"got (N, {', '.join(map(str, input_shape))})")
        return (int(input_shape[1]),)

    def macs(self, input_shape: tuple[int, ...]) -> int:
        """Comparisons (max) or adds (mean) per sample: T·C."""
        return int(input_shape[0]) * int(input_shape[1])

    def shape_arithmetic(self, input_shape: tuple[int, ...]) -> str:
        """Time is reduced away."""
        return f"{self._op} over T = {int(input_shape[0])} → ({int(input_shape[1])},)"

    def _dy(self, dy: np.ndarray) -> np.ndarray:
        n, _, c = self._cached(self._shape)
        if tuple(dy.shape) != (n, c):
            raise ValueError(f"{self!r}.backward expects dy of shape {(n, c)}, "
                             f"got {tuple(dy.shape)}")
        return np.asarray(dy)


class GlobalMaxPool1d(_GlobalPool1d):
    """Global max over time ``y[n, c] = max_{t valid} x[n, t, c]`` → (N, C).

    Valid steps: all, or ``t < lengths[n]``, or ``mask[n, t]`` (see the module docstring);
    padded steps are set to −∞ before the max, so they never win.

    Backward: ``∂L/∂x[n, t*, c] = dy[n, c]`` at the argmax t* (the **first** maximum, like
    ``np.argmax`` and PyTorch's max pooling) and 0 elsewhere — padded steps get exactly 0.

    Shapes: x, dx ``(N, T, C)``; lengths ``(N,)`` ints; mask ``(N, T)`` bool; y, dy ``(N, C)``.
    """

    _op = "max"

    def forward(self, x: np.ndarray, *, training: bool = False,
                lengths: np.ndarray | None = None, mask: np.ndarray | None = None
                ) -> np.ndarray:
        """y = max over the valid steps; remembers the winning step."""
        x = _check_seq(self, x)
        m = valid_mask(x, lengths, mask)
        xm = x if m is None else np.where(m[:, :, None], x, x.dtype.type(-np.inf))
        arg = xm.argmax(axis=1)  # (N, C), first maximum
        self._arg, self._shape = arg, x.shape
        return np.take_along_axis(xm, arg[:, None, :], axis=1)[:, 0]

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dy goes to each channel's winning step."""
        g = self._dy(dy)
        n, t, c = self._shape
        dx = np.zeros((n, t, c), dtype=g.dtype)
        np.put_along_axis(dx, self._arg[:, None, :], g[:, None, :], axis=1)
        return dx


class GlobalAvgPool1d(_GlobalPool1d):
    """Global mean over time ``y[n, c] = (1/L_n) Σ_{t valid} x[n, t, c]`` → (N, C).

    ``L_n`` is the number of valid steps (T without lengths or mask; see the module docstring).

    Backward: ``∂L/∂x[n, t, c] = m[n, t] · dy[n, c] / L_n`` with m the 0/1 validity mask —
    padded steps get exactly 0.

    Shapes: x, dx ``(N, T, C)``; lengths ``(N,)`` ints; mask ``(N, T)`` bool; y, dy ``(N, C)``.
    """

    _op = "mean"

    def forward(self, x: np.ndarray, *, training: bool = False,
                lengths: np.ndarray | None = None, mask: np.ndarray | None = None
                ) -> np.ndarray:
        """y = mean over the valid steps."""
        x = _check_seq(self, x)
        m = valid_mask(x, lengths, mask)
        self._shape = x.shape
        if m is None:
            self._weights = None
            return x.mean(axis=1, dtype=x.dtype)
        # w[n, t] = m[n, t] / L_n: forward is Σ_t w·x, backward w·dy.
        w = m.astype(x.dtype)
        w /= w.sum(axis=1, keepdims=True)
        self._weights = w
        return np.einsum("nt,ntc->nc", w, x)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dx = dy·m/L_n broadcast over the valid steps."""
        g = self._dy(dy)
        n, t, c = self._shape
        w = self._weights
        if w is None:
            dx = np.empty((n, t, c), dtype=g.dtype)
            dx[...] = (g * (1.0 / t))[:, None, :]
            return dx
        return w[:, :, None] * g[:, None, :]
