"""2-D convolution (cross-correlation, as in every deep-learning library) via im2col + one GEMM."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import parallel
from ..backend import RNGLike
from ._im2col import (
    Pads,
    as_float,
    axis_arithmetic,
    check_rank4,
    full_landing,
    im2col,
    landings,
    out_size,
    pair,
    same_pads,
    to_internal,
    to_nchw,
    workspace,
)
from ._weighted import WeightedLayer

# im2col is built and consumed in bands of output rows of about this many bytes, so each
# band is still in cache when the GEMM reads it (measured: forward ~20% faster).
_BAND_BYTES = 2 << 20
# The input gradient is built in bands of input rows whose dxw scratch is about this size
# (2 rows of the benchmark CNN's conv2; 1 or 3 rows measured 1-2% slower per step).
_DX_BAND_BYTES = 640 << 10


class Conv2d(WeightedLayer):
    """2-D convolution ``y = W ⋆ x + b`` (cross-correlation, PyTorch's ``nn.Conv2d``).

    With ``xp`` the zero-padded input and strides (sh, sw):

        y[n, o, h, w] = b[o] + Σ_{c,i,j} W[o, c, i, j] · xp[n, c, h·sh + i, w·sw + j]

    Computed as one matrix product: ``col[(c,i,j), (h,w,n)] = xp[n, c, h·sh+i, w·sw+j]``
    (im2col, shape (C·kh·kw, Ho·Wo·N)) and ``y = W₂·col + b`` with ``W₂ = W.reshape(O, C·kh·kw)``.
    col is built in bands of output rows (a column block of col), each multiplied while it
    is still in cache; only the padded input is kept for backward, which rebuilds the bands.
    With a bias, col gets a last row of ones and W₂ a last column b, so the same product adds
    the bias — and in backward yields ``Σ dy`` as the last row of ``col·dy₂ᵀ`` (no extra pass
    over y or dy; measured ~1.3% of the benchmark's training step).

    Backward
    --------
    With ``dy = ∂L/∂y`` reshaped to ``dy₂`` (O, Ho·Wo·N):

    * ``∂L/∂W[o,c,i,j] = Σ_{n,h,w} dy[n,o,h,w] · xp[n,c,h·sh+i,w·sw+j]``, i.e. ``dW₂ = dy₂·colᵀ``
      (summed over the bands);
    * ``∂L/∂b[o] = Σ_{n,h,w} dy[n,o,h,w]`` — the bias is broadcast over batch and space
      (col's row of ones makes this the last row of ``col·dy₂ᵀ``);
    * ``∂L/∂xp[n,c,h·sh+i,w·sw+j] += Σ_o W[o,c,i,j] · dy[n,o,h,w]``, i.e. ``dcol = W₂ᵀ·dy₂``
      scattered back by col2im (overlapping windows add up), and ``dx`` is ``dxp`` without
      the padding. Computed in bands of input rows and split by axis: rows first (for
      stride 1 one product per band, against dy im2col'd along rows), then columns,
      touching only positions inside x (see ``_input_gradient``).

    Shapes
    ------
    x, dx: ``(N, C, H, W)``   W: ``(O, C, kh, kw)`` (PyTorch's layout: weights copy directly)
    b: ``(O,)``   y, dy: ``(N, O, Ho, Wo)`` with ``Ho = ⌊(H + pt + pb − kh)/sh⌋ + 1`` (floor:
    rows that no window reaches get zero gradient), likewise ``Wo``.

    Padding: an int or (ph, pw) pads both sides of each axis; ``"valid"`` is 0; ``"same"``
    pads with zeros so that ``Ho = ⌈H/sh⌉``, using TensorFlow's split — total
    ``max((Ho−1)·sh + kh − H, 0)``, top ``⌊total/2⌋``, the odd pixel at the bottom (right).

    ``input_grad=False`` (for a network's first layer, whose input is data) makes ``backward``
    accumulate dW and db only and return ``None``: PyTorch skips that work too for inputs
    that do not require grad. It saves the dcol product and the col2im scatter.

    Reduction: none; gradients sum over the batch (the loss carries the 1/N).
    Input of another dtype is cast to the weight dtype. Outputs and input gradients are
    NCHW views of batch-innermost memory (see ``_im2col``), which the next conv or pool
    layer reads without a copy; ``np.ascontiguousarray`` gives a plain NCHW array.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] | str = 0,
                 bias: bool = True, *, init: str | Any = "fan_in_uniform",
                 bias_init: str | Any = "zeros", input_grad: bool = True, rng: RNGLike = None,
                 dtype: Any = None) -> None:
        super().__init__()
        self.input_grad = bool(input_grad)
        if int(in_channels) <= 0 or int(out_channels) <= 0:
            raise ValueError(f"Conv2d needs positive channels, got ({in_channels}, {out_channels})")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = pair(stride, "stride")
        if min(self.kernel_size) < 1 or min(self.stride) < 1:
            raise ValueError("Conv2d kernel_size and stride must be ≥ 1, "
                             f"got {kernel_size}, {stride}")
        if isinstance(padding, str):
            if padding.lower() not in ("same", "valid"):
                raise ValueError("padding must be an int, a pair, 'same' or 'valid', "
                                 f"got {padding!r}")
            self.padding: tuple[int, int] | str = padding.lower()
        else:
            self.padding = pair(padding, "padding")
        kh, kw = self.kernel_size
        self._create_parameters((self.out_channels, self.in_channels, kh, kw), self.out_channels,
                                bias=bias, init=init, bias_init=bias_init, rng=rng, dtype=dtype)
        self._xp: np.ndarray | None = None

    def pads(self, h: int, w: int) -> Pads:
        """Padding actually applied to an (h, w) input: (top, bottom, left, right)."""
        if self.padding == "same":
            return (*same_pads(h, self.kernel_size[0], self.stride[0]),
                    *same_pads(w, self.kernel_size[1], self.stride[1]))
        if self.padding == "valid":
            return (0, 0, 0, 0)
        ph, pw = self.padding
        return (ph, ph, pw, pw)

    def _geometry(self, input_shape: tuple[int, ...]) -> tuple[Pads, int, int]:
        if len(input_shape) != 3 or input_shape[0] != self.in_channels:
            raise ValueError(f"{self!r} expects input of shape (N, {self.in_channels}, H, W), "
                             f"got (N, {', '.join(map(str, input_shape))})")
        h, w = int(input_shape[1]), int(input_shape[2])
        pads = self.pads(h, w)
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        if h + pads[0] + pads[1] < kh or w + pads[2] + pads[3] < kw:
            raise ValueError(f"{self!r}: input of spatial size ({h}, {w}) with padding {pads} is "
                             f"smaller than the kernel ({kh}, {kw}); got shape "
                             f"(N, {', '.join(map(str, input_shape))})")
        return pads, out_size(h, pads[0], pads[1], kh, sh), out_size(w, pads[2], pads[3], kw, sw)

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        _, ho, wo = self._geometry(tuple(input_shape))
        return (self.out_channels, ho, wo)

    def macs(self, input_shape: tuple[int, ...]) -> int:
        """Multiply-accumulates per sample: O·C·kh·kw per output pixel (bias adds not counted)."""
        _, ho, wo = self._geometry(tuple(input_shape))
        kh, kw = self.kernel_size
        return self.out_channels * self.in_channels * kh * kw * ho * wo

    def shape_arithmetic(self, input_shape: tuple[int, ...]) -> str:
        """How each spatial output size comes about, with the padding actually applied."""
        pads, _, _ = self._geometry(tuple(input_shape))
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        return (f"H: {axis_arithmetic(input_shape[1], pads[0], pads[1], kh, sh)}; "
                f"W: {axis_arithmetic(input_shape[2], pads[2], pads[3], kw, sw)}")

    # ----------------------------------------------------------------- protocol
    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """y = W₂·im2col(pad(x)) + b, one band of output rows at a time."""
        W = self.weight.data
        x = np.asarray(x)
        check_rank4(self, x, self.in_channels)
        x = as_float(x, W.dtype)
        pads, ho, wo = self._geometry(x.shape[1:])
        # Always a private copy (input-sized, cheap): backward rebuilds col from it.
        xp = to_internal(x, pads, self, "_xpad_buf", copy=True)
        o, n = self.out_channels, x.shape[0]
        W2 = W.reshape(o, -1)
        if self._bias_row:  # [W₂ | b] against col's row of ones: the GEMM adds the bias
            W2 = np.concatenate([W2, self.bias.data[:, None]], axis=1)
        y = np.empty((o, ho * wo * n), dtype=W.dtype)
        bands = self._bands(xp, ho, wo)

        def band(i: int, worker: int) -> None:  # writes y's columns of band i only
            s, col = self._col_band(xp, wo, bands[i], bands[0][1], worker)
            np.matmul(W2, col, out=y[:, s])
            if self.bias is not None and not self._bias_row:  # 1×1 shortcut: col has no ones
                y[:, s] += self.bias.data[:, None]

        parallel.run(band, len(bands), self._shared(xp, ho, wo))
        self._xp, self._geom = xp, (x.shape, pads, ho, wo)
        return to_nchw(y.reshape(o, ho, wo, n))

    @property
    def _pointwise(self) -> bool:
        """A 1×1 window with stride 1: the padded input is its own im2col (no copy)."""
        return (*self.kernel_size, *self.stride) == (1, 1, 1, 1)

    @property
    def _bias_row(self) -> bool:
        """Does col carry a row of ones for the bias (all but the pointwise shortcut)?"""
        return self.bias is not None and not self._pointwise

    def _bands(self, xp: np.ndarray, ho: int, wo: int) -> list[tuple[int, int]]:
        """Bands of output rows (start, stop) whose im2col is ≈ _BAND_BYTES each, and, when
        the product is large enough to share out, at least two per worker thread (so the
        workers share them evenly); one band for the pointwise shortcut."""
        if self._pointwise:
            return [(0, ho)]
        c, n = xp.shape[0], xp.shape[3]
        k = c * self.kernel_size[0] * self.kernel_size[1] + int(self._bias_row)
        by_size = -(-k * wo * n * xp.itemsize * ho // _BAND_BYTES)
        workers = parallel.workers() if self._shared(xp, ho, wo) else 1
        return parallel.split(ho, max(by_size, 2 * workers))

    def _shared(self, xp: np.ndarray, ho: int, wo: int) -> bool:
        """Is the work big enough to share among threads: its multiply-adds plus 8 for each
        element im2col copies (a copied element costs about as long as 8-10 multiply-adds
        of the product here) at least 2·MIN_MACS, ~0.5 ms on one core? (The benchmark's
        first conv, 1→16 channels 5×5 on 28×28×64: 20M multiply-adds and 1.3M copied
        elements, 1.6 ms forward on one core, shares.)"""
        c, n = xp.shape[0], xp.shape[3]
        k = c * self.kernel_size[0] * self.kernel_size[1]
        copied = 0 if self._pointwise else 8 * (k + int(self._bias_row))
        return (k * self.out_channels + copied) * ho * wo * n >= 2 * parallel.MIN_MACS

    def _col_band(self, xp: np.ndarray, wo: int, rows: tuple[int, int], widest: int,
                  worker: int) -> tuple[slice, np.ndarray]:
        """(column slice, im2col of output rows ``rows``) in ``worker``'s scratch buffer; with
        a bias, col's last row is all ones."""
        c, _, _, n = xp.shape
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        if self._pointwise:
            return slice(None), xp.reshape(c, -1)
        k, row = c * kh * kw, wo * n  # GEMM depth (without the ones); columns per output row
        ones = int(self._bias_row)
        a, b = rows
        size = (k + ones) * (b - a) * row
        # Sized for the tallest band (parallel.split makes the first one the tallest).
        buf = workspace(self, f"_col_buf{worker}", ((k + ones) * widest * row,), xp.dtype)
        col = buf[:size].reshape(k + ones, -1)
        im2col(xp[:, a * sh:], kh, kw, sh, sw, b - a, wo, col[:k].reshape(c, kh, kw, b - a, wo, n))
        col[k:] = 1
        return slice(a * row, b * row), col

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        """Add dy₂·colᵀ to W.grad and Σ dy to b.grad; return col2im(W₂ᵀ·dy₂) inside x."""
        xp = self._cached(self._xp)
        (n, c, h, w), (pt, _, pl, _), ho, wo = self._geom
        W = self.weight.data
        o = self.out_channels
        if tuple(dy.shape) != (n, o, ho, wo):
            raise ValueError(f"{self!r}.backward expects dy of shape {(n, o, ho, wo)}, "
                             f"got {tuple(dy.shape)}")
        dy2 = as_float(np.ascontiguousarray(dy.transpose(1, 2, 3, 0)), W.dtype).reshape(o, -1)
        # col is rebuilt band by band and used while in cache (cheaper than storing it);
        # (col₂·dy₂ᵀ)ᵀ, not dy₂·col₂ᵀ: OpenBLAS runs this orientation ~20% faster here.
        k = W[0].size
        bands, shared = self._bands(xp, ho, wo), self._shared(xp, ho, wo)
        # Consecutive bands form groups (two per worker when shared, else one), each summing
        # its bands' products in band order into its own part; the parts are then added in
        # group order. So the sum never depends on which thread ran a group, only 2·workers
        # parts are held however many bands a layer has, and one thread sums band by band.
        workers = parallel.workers() if shared else 1
        groups = parallel.split(len(bands), 2 * workers) if workers > 1 else [(0, len(bands))]
        size = (k + int(self._bias_row), o)
        parts = np.empty((len(groups), *size), dtype=W.dtype)
        small = workers > 1 and size[0] * size[1] <= parallel.MATMUL_KEEPS_GIL

        def weight_group(g: int, worker: int) -> None:  # group g's share of dW₂ᵀ, in parts[g]
            for i in range(*groups[g]):
                s, col = self._col_band(xp, wo, bands[i], bands[0][1], worker)
                d = dy2[:, s]
                if small:  # a contiguous copy, so that the product runs without the GIL
                    buf = workspace(self, f"_dyb_buf{worker}", (o * bands[0][1] * wo * n,),
                                    W.dtype)
                    d = buf[:d.size].reshape(d.shape)
                    d[...] = dy2[:, s]
                if i == groups[g][0]:
                    parallel.gemm(col, d.T, parts[g])
                else:
                    prod = workspace(self, f"_dwt_buf{worker}", size, W.dtype)
                    parts[g] += parallel.gemm(col, d.T, prod)

        if self.input_grad:  # the dW groups and the dx bands share one parallel pass
            dx, dx_bands, dx_band = self._input_gradient(dy2, (n, c, h, w), (pt, pl), ho, wo)
            parallel.run(lambda i, w: weight_group(i, w) if i < len(groups)
                         else dx_band(dx_bands[i - len(groups)], w),
                         len(groups) + len(dx_bands), shared)
        else:
            parallel.run(weight_group, len(groups), shared)
        dW2t = parts[0]
        for p in parts[1:]:
            dW2t += p
        self.weight.grad += dW2t[:k].T.reshape(W.shape)
        if self.bias is not None:  # col's row of ones gave Σ dy as dW2t's last row
            self.bias.grad += dW2t[k] if self._bias_row else dy2.sum(axis=1)
        return to_nchw(dx) if self.input_grad else None

    def _input_gradient(self, dy2: np.ndarray, shape: tuple[int, ...], pads: tuple[int, int],
                        ho: int, wo: int) -> tuple[np.ndarray, list[int], Callable]:
        """Internal dx (C, H, W, N) to fill: col2im of ``dcol = W₂ᵀ·dy₂``, split by axis, in
        bands of input rows. Returns ``(dx, starts, band)``: ``band(a, worker)`` fills dx's
        rows from ``a`` (in ``worker``'s scratch), for each ``a`` in ``starts``.

        Kernel row i sends output row h to input row ``r = h·sh + i − pt``, so
        ``dxw[(c, j), r] = Σ_i W_iᵀ·dy₂[:, h]`` over the (i, h) that land on r. Per band of
        input rows (scratch ≈ _DX_BAND_BYTES, so it stays in cache):

        * stride 1: ``h = r + pt − i``, so the band is *one* product ``W_flipᵀ·DY`` with
          ``DY[(o, i'), r] = dy[o, r + pt − kh + 1 + i']`` (zero for rows outside dy) — dy
          zero-padded along rows (dyp) and im2col'd along rows only (kh copies of the band's
          dy rows), ``i' = kh − 1 − i`` and ``W_flip[o, c, i', j] = W[o, c, i, j]``;
        * stride > 1: one product per kernel row on just the dy rows that land in the band,
          added as one slab (a kernel row that lands one-to-one on the band is written
          instead, so the band is not zeroed).

        Then each kernel column j of the band lands on the input columns ``w·sw + j − pl``
        of dx. Only positions inside the unpadded input are touched (those in the padding
        would be cropped anyway); overlapping windows add up. Measured on the benchmark's
        second conv: 4.2 ms, against 4.6 with per-kernel-row products and 5.8 with
        whole-array passes.
        """
        n, c, h, w = shape
        (kh, kw), (sh, sw), (pt, pl) = self.kernel_size, self.stride, pads
        W = self.weight.data
        o, ck, row = self.out_channels, c * kw, wo * n
        dy3 = dy2.reshape(o, ho, row)
        workers = parallel.workers() if self._shared(self._xp, ho, wo) else 1
        rows = max(1, min(h, _DX_BAND_BYTES // (ck * row * W.itemsize),
                          -(-h // (2 * workers))))   # ≥ 2 bands per worker
        if sh == 1:
            wt = W[:, :, ::-1].transpose(1, 3, 0, 2).reshape(ck, o * kh)  # (c, j) × (o, i')
            top = max(0, kh - 1 - pt)  # zero rows above dy in dyp
            dyp = workspace(self, "_dyp_buf", (o, top + max(h + pt, ho), row), W.dtype)
            dyp[:, :top] = 0
            dyp[:, top:top + ho] = dy3
            dyp[:, top + ho:] = 0
        else:
            wr = W.transpose(2, 1, 3, 0).reshape(kh, ck, o)  # W_iᵀ, rows (c, j)
        dx = np.empty((c, h, w, n), dtype=W.dtype)
        cols = landings(w, pl, kw, sw, wo)
        cfirst = full_landing(cols, wo, w)
        cols.pop(cfirst, None)
        def band(a: int, worker: int) -> None:  # dx rows a … a + nr only
            dxw = workspace(self, f"_dxw_buf{worker}", (ck, rows, row), W.dtype)
            band = dxw[:, :min(rows, h - a)]
            nr = band.shape[1]
            if sh == 1:
                d = workspace(self, f"_dyrows_buf{worker}", (o * kh * rows * row,), W.dtype)
                d = d[:o * kh * nr * row].reshape(o, kh, 1, nr, 1, row)
                im2col(dyp[:, a + pt - kh + 1 + top:, None], kh, 1, 1, 1, nr, 1, d)
                np.matmul(wt, d.reshape(o * kh, -1), out=band.reshape(ck, -1))
            else:
                dcol = workspace(self, f"_dcol_buf{worker}", (ck, (rows - 1) // sh + 1, row),
                                 W.dtype)
                self._strided_rows(band, wr, dy3, dcol, pt + a, ho)
            band5 = band.reshape(c, kw, nr, wo, n)
            out = dx[:, a:a + nr]
            if cfirst is None:
                out.fill(0)
            else:
                out[...] = band5[:, cfirst]
            for j, (src, dst) in cols.items():
                out[:, :, dst] += band5[:, j, :, src]

        return dx, list(range(0, h, rows)), band

    def _strided_rows(self, band: np.ndarray, wr: np.ndarray, dy3: np.ndarray,
                      dcol: np.ndarray, offset: int, ho: int) -> None:
        """Fill a band of dxw from the dy rows each kernel row sends into it (stride > 1)."""
        o, ck = dy3.shape[0], band.shape[0]
        lands = landings(band.shape[1], offset, self.kernel_size[0], self.stride[0], ho)
        first = full_landing(lands, ho, band.shape[1], partial=True)
        if first is None:
            band.fill(0)
        else:
            src, _ = lands.pop(first)
            np.matmul(wr[first], dy3[:, src].reshape(o, -1), out=band.reshape(ck, -1))
        for i, (src, dst) in lands.items():
            part = dcol[:, :src.stop - src.start]
            np.matmul(wr[i], dy3[:, src].reshape(o, -1), out=part.reshape(ck, -1))
            band[:, dst] += part

    def extra_repr(self) -> str:
        pad = repr(self.padding) if isinstance(self.padding, str) else self.padding
        extra = "" if self.input_grad else ", input_grad=False"
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={pad}, bias={self.bias is not None}{extra}")

