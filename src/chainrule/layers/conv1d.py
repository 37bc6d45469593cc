"""1-D convolution over sequences, channels last ``(N, T, C)``, via im2col along time + one GEMM."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import RNGLike
from ._conv_last import (
    conv,
    conv_backward,
    crop,
    input_grad_1d,
    out_len,
    pad,
    same_pads,
    weight_from_matrix,
    weight_matrix,
)
from ._im2col import as_float, axis_arithmetic
from ._weighted import WeightedLayer


def _pads_arg(padding: Any) -> tuple[int, int] | str:
    """Validate ``padding``: 'same', 'valid', an int (both ends) or (left, right)."""
    if isinstance(padding, str):
        if padding.lower() not in ("same", "valid"):
            raise ValueError(f"padding must be an int, (left, right), 'same' or 'valid', "
                             f"got {padding!r}")
        return padding.lower()
    if isinstance(padding, (int, np.integer)):
        padding = (int(padding), int(padding))
    try:
        lo, hi = (int(p) for p in padding)
    except (TypeError, ValueError):
        raise ValueError(f"padding must be an int, (left, right), 'same' or 'valid', "
                         f"got {padding!r}") from None
    if lo < 0 or hi < 0:
        raise ValueError(f"padding must be non-negative, got {padding!r}")
    return lo, hi


def _positive(v: Any, name: str) -> int:
    if not isinstance(v, (int, np.integer)) or int(v) < 1:
        raise ValueError(f"{name} must be a positive int, got {v!r}")
    return int(v)


class Conv1d(WeightedLayer):
    """1-D convolution over time ``y = W ⋆ x + b`` (cross-correlation), **channels last**.

    With ``xp`` the input zero-padded along time by (pl, pr), stride s and dilation d:

        y[n, t, o] = b[o] + Σ_{c,i} W[o, c, i] · xp[n, t·s + i·d, c]

    Computed as one matrix product: ``col[(n,t), (i,c)] = xp[n, t·s + i·d, c]`` (im2col
    along time, shape (N·To, k·C)) and ``y₂ = col·W₂ + b`` with ``W₂[(i,c), o] = W[o, c, i]``;
    y₂ (N·To, O) is already the channels-last output. Forward keeps only a private copy of
    the padded input; backward rebuilds col from it (see ``_conv_last``).

    Layout. Sequences are channels last, ``(N, T, C)`` — an Embedding's ``(N, T, d)`` or a
    sensor window ``(N, T, C)`` — as in Keras's ``Conv1D``, so Embedding → Conv1d → LSTM
    compose without transposes. PyTorch's ``nn.Conv1d`` takes ``(N, C, L)``: chainrule's
    ``x`` is torch's ``x.transpose(1, 2)`` and its output is torch's output transposed
    back. The weight is PyTorch's ``(out, in, k)`` and copies across unchanged (Keras's
    kernel ``(k, in, out)`` is ``W.transpose(2, 1, 0)``).

    Backward
    --------
    With ``dy₂ = dy.reshape(N·To, O)``:

    * ``∂L/∂W[o,c,i] = Σ_{n,t} dy[n,t,o] · xp[n, t·s + i·d, c]``, i.e. ``dW₂ = colᵀ·dy₂``;
    * ``∂L/∂b[o] = Σ_{n,t} dy[n,t,o]`` (the bias is broadcast over batch and time);
    * ``∂L/∂xp[n, t·s + i·d, c] += Σ_o W[o,c,i] · dy[n,t,o]``, i.e. ``dcol = dy₂·W₂ᵀ``
      scattered back by col2im (k strided adds; overlapping windows add up), and ``dx`` is
      ``dxp`` without the padding. Input steps no window reaches get zero gradient.
      At stride 1 the same sum is computed as a correlation instead: with ``i' = k − 1 − i``,
      ``dx[n, u, c] = Σ_{i',o} W[o, c, k−1−i'] · dyp[n, u + i'·d, o]``, dyp being dy shifted by
      ``d·(k − 1) − pl`` in zeros — im2col of dyp times the flipped kernel, one GEMM that
      writes dx (no scatter; see ``_conv_last.input_grad_1d``).

    Shapes
    ------
    x, dx: ``(N, T, C)``   W: ``(O, C, k)``   b: ``(O,)``   y, dy: ``(N, To, O)`` with
    ``To = ⌊(T + pl + pr − d·(k − 1) − 1)/s⌋ + 1``.

    Padding: an int pads both ends, ``(left, right)`` each end on its own, ``"valid"`` is 0.
    ``"same"`` gives ``To = ⌈T/s⌉`` with total padding ``max((To − 1)·s + d·(k − 1) + 1 − T, 0)``,
    left ``⌊total/2⌋`` and the odd step on the **right** (end of the sequence). At stride 1
    the total is ``d·(k − 1)``: exactly PyTorch's ``padding='same'`` for odd and even kernels
    (PyTorch refuses 'same' with stride > 1; this is TensorFlow's rule there, as in Conv2d).

    The coursework's text CNN convolves a T×d embedding "image" with k×d kernels
    (``Conv2d(1, O, (k, d))`` on ``(N, 1, T, d)``, valid). That is this layer with
    ``in_channels = d``, ``kernel_size = k``: ``W1[o, c, i] = W2d[o, 0, i, c]`` and
    ``y1[n, t, o] = y2d[n, o, t, 0]`` (a test checks it against chainrule's Conv2d).

    ``input_grad=False`` (a first layer fed with data) makes backward skip dx and return None.
    Reduction: none; gradients sum over the batch. Input of another dtype is cast to W's.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int | tuple[int, int] | str = 0, dilation: int = 1, bias: bool = True,
                 *, init: str | Any = "fan_in_uniform", bias_init: str | Any = "zeros",
                 input_grad: bool = True, rng: RNGLike = None, dtype: Any = None) -> None:
        super().__init__()
        self.in_channels = _positive(in_channels, "in_channels")
        self.out_channels = _positive(out_channels, "out_channels")
        self.kernel_size = _positive(kernel_size, "kernel_size")
        self.stride = _positive(stride, "stride")
        self.dilation = _positive(dilation, "dilation")
        self.padding = _pads_arg(padding)
        self.input_grad = bool(input_grad)
        self._create_parameters((self.out_channels, self.in_channels, self.kernel_size),
                                self.out_channels, bias=bias, init=init, bias_init=bias_init,
                                rng=rng, dtype=dtype)
        self._xp: np.ndarray | None = None

    def pads(self, t: int) -> tuple[int, int]:
        """Padding actually applied to a sequence of length t: (left, right)."""
        if self.padding == "same":
            return same_pads(t, self.kernel_size, self.stride, self.dilation)
        if self.padding == "valid":
            return (0, 0)
        return self.padding

    def _geometry(self, input_shape: tuple[int, ...]) -> tuple[tuple[int, int], int]:
        if len(input_shape) != 2 or input_shape[1] != self.in_channels:
            raise ValueError(f"{self!r} expects input of shape (N, T, {self.in_channels}), "
                             f"got (N, {', '.join(map(str, input_shape))})")
        t = int(input_shape[0])
        pl, pr = self.pads(t)
        to = out_len(t, pl, pr, self.kernel_size, self.stride, self.dilation)
        if to < 1:
            raise ValueError(f"{self!r}: a sequence of length {t} with padding ({pl}, {pr}) is "
                             f"shorter than the dilated kernel "
                             f"{self.dilation * (self.kernel_size - 1) + 1}")
        return (pl, pr), to

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        _, to = self._geometry(tuple(input_shape))
        return (to, self.out_channels)

    def macs(self, input_shape: tuple[int, ...]) -> int:
        """Multiply-accumulates per sample: O·C·k per output step (bias adds not counted)."""
        _, to = self._geometry(tuple(input_shape))
        return self.out_channels * self.in_channels * self.kernel_size * to

    def shape_arithmetic(self, input_shape: tuple[int, ...]) -> str:
        """How the output length comes about (dilated kernel d·(k − 1) + 1)."""
        (pl, pr), _ = self._geometry(tuple(input_shape))
        eff = self.dilation * (self.kernel_size - 1) + 1
        note = f" (kernel {self.kernel_size} dilated by {self.dilation})" if self.dilation > 1 \
            else ""
        return f"T: {axis_arithmetic(int(input_shape[0]), pl, pr, eff, self.stride)}{note}"

    @property
    def _geom(self) -> tuple[tuple[int], tuple[int], tuple[int]]:
        return (self.kernel_size,), (self.stride,), (self.dilation,)

    # ----------------------------------------------------------------- protocol
    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """y₂ = im2col(pad(x))·W₂ + b, returned as (N, To, O)."""
        W = self.weight.data
        x = as_float(np.asarray(x), W.dtype)
        if x.ndim != 3:
            raise ValueError(f"{self!r} expects input of shape (N, T, {self.in_channels}), "
                             f"got {tuple(x.shape)}")
        pads, to = self._geometry(x.shape[1:])
        xp = pad(x, (pads,), self, "_xpad_buf")  # private copy: backward rebuilds col from it
        b = None if self.bias is None else self.bias.data
        y = conv(xp, weight_matrix(W), self._geom, (to,), self, b)
        self._xp, self._shape = xp, (x.shape, pads, to)
        return y.reshape(x.shape[0], to, self.out_channels)

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        """Add colᵀ·dy₂ to W.grad and Σ dy to b.grad; return col2im(dy₂·W₂ᵀ) inside x."""
        xp = self._cached(self._xp)
        (n, t, _), pads, to = self._shape
        W = self.weight.data
        if tuple(dy.shape) != (n, to, self.out_channels):
            raise ValueError(f"{self!r}.backward expects dy of shape "
                             f"{(n, to, self.out_channels)}, got {tuple(dy.shape)}")
        dy2 = as_float(np.ascontiguousarray(dy), W.dtype).reshape(n * to, self.out_channels)
        # At stride 1 dx is a correlation of dy with the flipped kernel (one GEMM writing dx);
        # with strides, col2im's k strided adds (measured: the scatter was ~3/4 of the
        # sensor benchmark's second-conv dx, the correlation's dy im2col ~1/20).
        scatter = self.input_grad and self.stride > 1
        dw2, dxp = conv_backward(xp, dy2, weight_matrix(W), self._geom, (to,), self,
                                 need_dx=scatter)
        self.weight.grad += weight_from_matrix(dw2, W.shape)
        if self.bias is not None:
            self.bias.grad += dy2.sum(axis=0)
        if not self.input_grad:
            return None
        if scatter:
            return crop(dxp, (pads,))
        return input_grad_1d(dy2.reshape(n, to, -1), W, pads, self.dilation, t, self)

    def extra_repr(self) -> str:
        pad_s = repr(self.padding) if isinstance(self.padding, str) else self.padding
        extra = "" if self.input_grad else ", input_grad=False"
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={pad_s}, dilation={self.dilation}, "
                f"bias={self.bias is not None}{extra}")
