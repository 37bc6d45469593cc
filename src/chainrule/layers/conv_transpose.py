"""Transposed 2-D convolution: the adjoint of Conv2d, built from the same im2col/col2im kernels."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import RNGLike
from ._im2col import as_float, check_rank4, col2im, im2col, pair, to_nchw, workspace
from ._weighted import WeightedLayer


class ConvTranspose2d(WeightedLayer):
    """Transposed convolution (PyTorch's ``nn.ConvTranspose2d``): ``y = Convᵀ(x; W) + b``.

    It is the input-gradient of a convolution with the same kernel: every input pixel
    stamps its kernel-weighted copy into the output at stride s,

        yfull[n, o, h·sh + i, w·sw + j] += Σ_c x[n, c, h, w] · W[c, o, i, j]
        y = yfull[:, :, p_h : p_h + Ho, p_w : p_w + Wo] + b[o]

    with ``Ho = (H − 1)·sh − 2·p_h + kh + op_h`` (PyTorch's rule; ``output_padding`` op adds
    rows at the bottom/right, which only the bias reaches, and must be < stride). In matrix
    form ``col = W₂ᵀ·x₂`` with ``W₂ = W.reshape(C, O·kh·kw)``, ``x₂`` (C, H·W·N), then col2im
    — exactly Conv2d's backward-of-input.

    Backward
    --------
    With ``dy = ∂L/∂y`` zero-padded back to yfull's frame (``dyp``) and ``dcol = im2col(dyp)``
    (shape (O·kh·kw, H·W·N), the same im2col as Conv2d's forward):

    * ``∂L/∂x[n,c,h,w] = Σ_{o,i,j} W[c,o,i,j] · dyp[n,o,h·sh+i,w·sw+j]``, i.e. ``dx₂ = W₂·dcol``
      (a plain convolution of dy with W);
    * ``∂L/∂W[c,o,i,j] = Σ_{n,h,w} x[n,c,h,w] · dyp[n,o,h·sh+i,w·sw+j]``, i.e. ``dW₂ = x₂·dcolᵀ``;
    * ``∂L/∂b[o] = Σ_{n,h,w} dy[n,o,h,w]``.

    Shapes
    ------
    x, dx: ``(N, C, H, W)``   W: ``(C, O, kh, kw)`` (PyTorch's layout: in, out, kh, kw)
    b: ``(O,)``   y, dy: ``(N, O, Ho, Wo)``.

    Reduction: none; gradients sum over the batch. Input of another dtype is cast to the
    weight dtype. Outputs are NCHW views of batch-innermost memory, like Conv2d's.
    Initialisation: ``fan_in`` is computed from ``W.shape[1]·kh·kw`` (the out channels), as
    PyTorch does for this layer.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
                 output_padding: int | tuple[int, int] = 0, bias: bool = True, *,
                 init: str | Any = "fan_in_uniform", bias_init: str | Any = "zeros",
                 rng: RNGLike = None, dtype: Any = None) -> None:
        super().__init__()
        if int(in_channels) <= 0 or int(out_channels) <= 0:
            raise ValueError(f"ConvTranspose2d needs positive channels, got "
                             f"({in_channels}, {out_channels})")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = pair(stride, "stride")
        self.padding = pair(padding, "padding")
        self.output_padding = pair(output_padding, "output_padding")
        if min(self.kernel_size) < 1 or min(self.stride) < 1:
            raise ValueError(f"ConvTranspose2d kernel_size and stride must be ≥ 1, "
                             f"got {kernel_size}, {stride}")
        if any(op >= s for op, s in zip(self.output_padding, self.stride)):
            raise ValueError(f"output_padding {self.output_padding} must be smaller than the "
                             f"stride {self.stride}")
        kh, kw = self.kernel_size
        self._create_parameters((self.in_channels, self.out_channels, kh, kw), self.out_channels,
                                bias=bias, init=init, bias_init=bias_init, rng=rng, dtype=dtype)
        self._x2: np.ndarray | None = None

    def _geometry(self, input_shape: tuple[int, ...]) -> tuple[int, int]:
        if len(input_shape) != 3 or input_shape[0] != self.in_channels:
            raise ValueError(f"{self!r} expects input of shape (N, {self.in_channels}, H, W), "
                             f"got (N, {', '.join(map(str, input_shape))})")
        h, w = int(input_shape[1]), int(input_shape[2])
        ho, wo = (self._axis(s, a) for a, s in enumerate((h, w)))
        if h < 1 or w < 1 or ho < 1 or wo < 1:
            raise ValueError(f"{self!r}: input of spatial size ({h}, {w}) gives an empty output "
                             f"({ho}, {wo}); got shape (N, {', '.join(map(str, input_shape))})")
        return ho, wo

    def _axis(self, size: int, a: int) -> int:
        return ((size - 1) * self.stride[a] - 2 * self.padding[a] + self.kernel_size[a]
                + self.output_padding[a])

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        ho, wo = self._geometry(tuple(input_shape))
        return (self.out_channels, ho, wo)

    def macs(self, input_shape: tuple[int, ...]) -> int:
        """Multiply-accumulates per sample: C·O·kh·kw per *input* pixel (bias not counted)."""
        self._geometry(tuple(input_shape))
        kh, kw = self.kernel_size
        return (self.in_channels * self.out_channels * kh * kw
                * int(input_shape[1]) * int(input_shape[2]))

    def shape_arithmetic(self, input_shape: tuple[int, ...]) -> str:
        """How each spatial output size comes about: (H − 1)·s − 2·p + k + output_padding."""
        self._geometry(tuple(input_shape))
        parts = []
        for a, name in enumerate("HW"):
            size = int(input_shape[1 + a])
            parts.append(f"{name}: ({size} − 1)·{self.stride[a]} − 2·{self.padding[a]} + "
                         f"{self.kernel_size[a]} + {self.output_padding[a]} = "
                         f"{self._axis(size, a)}")
        return "; ".join(parts)

    def _frame(self, h: int, w: int) -> tuple[int, int]:
        """Size of the uncropped output frame: every stamp fits, plus output_padding rows."""
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        return ((h - 1) * sh + kh + self.output_padding[0],
                (w - 1) * sw + kw + self.output_padding[1])

    # ----------------------------------------------------------------- protocol
    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """y = col2im(W₂ᵀ·x₂) cropped by the padding, + b."""
        W = self.weight.data
        x = np.asarray(x)
        check_rank4(self, x, self.in_channels)
        x = as_float(x, W.dtype)
        n, c, h, w = x.shape
        ho, wo = self._geometry(x.shape[1:])
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        o = self.out_channels
        x2 = np.ascontiguousarray(x.transpose(1, 2, 3, 0)).reshape(c, h * w * n)
        col = workspace(self, "_col_buf", (o * kh * kw, h * w * n), W.dtype)
        np.matmul(W.reshape(c, -1).T, x2, out=col)
        yfull = np.zeros((o, *self._frame(h, w), n), dtype=W.dtype)
        col2im(col.reshape(o, kh, kw, h, w, n), yfull, sh, sw)
        y = yfull[:, ph:ph + ho, pw:pw + wo, :]
        if self.bias is not None:
            y += self.bias.data[:, None, None, None]
        self._x2, self._geom = x2, (x.shape, ho, wo)
        return to_nchw(y)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """Add x₂·dcolᵀ to W.grad and Σ dy to b.grad; return W₂·dcol, dcol = im2col(pad(dy))."""
        x2 = self._cached(self._x2)
        (n, c, h, w), ho, wo = self._geom
        W = self.weight.data
        o = self.out_channels
        if tuple(dy.shape) != (n, o, ho, wo):
            raise ValueError(f"{self!r}.backward expects dy of shape {(n, o, ho, wo)}, "
                             f"got {tuple(dy.shape)}")
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        fh, fw = self._frame(h, w)
        dyp = np.zeros((o, fh, fw, n), dtype=W.dtype)
        dyt = as_float(dy, W.dtype).transpose(1, 2, 3, 0)
        dyp[:, ph:ph + ho, pw:pw + wo, :] = dyt
        dcol = im2col(dyp, kh, kw, sh, sw, h, w,
                      workspace(self, "_dcol_buf", (o, kh, kw, h, w, n), W.dtype))
        dcol2 = dcol.reshape(o * kh * kw, h * w * n)
        self.weight.grad += (x2 @ dcol2.T).reshape(W.shape)
        if self.bias is not None:
            self.bias.grad += dyt.sum(axis=(1, 2, 3))
        dx2 = W.reshape(c, -1) @ dcol2
        return to_nchw(dx2.reshape(c, h, w, n))

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, "
                f"output_padding={self.output_padding}, bias={self.bias is not None}")
