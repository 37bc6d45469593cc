"""Convolutional LSTMs (Shi et al. 2015, "Convolutional LSTM Network"): ConvLSTM1d, ConvLSTM2d.

An LSTM whose input-to-state and state-to-state transforms are convolutions, so the state
keeps the frames' spatial layout. Keras's ``ConvLSTM1D`` / ``ConvLSTM2D`` convention: **no
peephole connections** (Shi et al. add ``W_c ∘ c`` terms to the gates; Keras and this module
do not), gates in the order i, f, c, o, stride 1, the recurrent convolution always ``same``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import init as initializers
from ..backend import RNGLike, as_dtype, as_rng
from ..core import Module, Parameter
from ._conv_last import (
    conv,
    conv_backward,
    crop,
    input_grad,
    pad,
    same_pads,
    weight_from_matrix,
    weight_matrix,
)
from ._im2col import as_float


def _sigmoid(z: np.ndarray, out: np.ndarray) -> np.ndarray:
    """σ(z) = ½(1 + tanh(z/2)) into ``out`` (never overflows)."""
    np.multiply(z, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1.0
    out *= 0.5
    return out


class _ConvLSTM(Module):
    """ConvLSTM over ``nd`` spatial axes (channels last); see ConvLSTM1d / ConvLSTM2d.

    Forward
    -------
    Per step t (``⋆`` the convolution, ``⊙`` elementwise, F = hidden_channels)::

        z_t = W_x ⋆ x_t + W_h ⋆ h_{t−1} + b            (4F channels, blocks i, f, c, o)
        i_t = σ(z_i)   f_t = σ(z_f)   g_t = tanh(z_c)   o_t = σ(z_o)
        c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t
        h_t = o_t ⊙ tanh(c_t)

    ``W_x ⋆ x_t`` for all T steps is **one** batched convolution (the N·T frames stacked into
    the batch; im2col + GEMM, ``_conv_last``), done before the time loop; only ``W_h ⋆ h_{t−1}``
    runs per step. h₀ = c₀ = 0 unless ``initial_state=(h0, c0)`` is passed to forward. The
    output is h_T, or every h_t with ``return_sequences=True``.

    Backward (BPTT)
    ---------------
    With ``dh_t`` = the output gradient at t plus the recurrent gradient from step t + 1, and
    ``dc`` carried back from step t + 1 (both zero after the last step), for t = T … 1::

        dc   += dh ⊙ o ⊙ (1 − tanh²c_t)
        dz_o  = dh ⊙ tanh c_t ⊙ o(1 − o)
        dz_i  = dc ⊙ g ⊙ i(1 − i)      dz_f = dc ⊙ c_{t−1} ⊙ f(1 − f)     dz_c = dc ⊙ i ⊙ (1 − g²)
        dc_{t−1} = dc ⊙ f              dh_{t−1} = W_hᵀ ⋆ dz_t   (the adjoint of the recurrent
                                                                 conv: col2im(dz₂·W_h₂ᵀ))

    Then, once, after the reverse loop, over all steps stacked: ``dW_h = Σ_t col(h_{t−1})ᵀ·dz_t``,
    ``dW_x = Σ_t col(x_t)ᵀ·dz_t``, ``db = Σ_{n,t,pixels} dz``, ``dx = col2im(dz₂·W_x₂ᵀ)`` — two
    batched conv backward passes (col rebuilt from the cached padded input and states in
    chunks, never the whole im2col at once). ``initial_state_grad`` holds ``(dh₀, dc₀)``
    after backward.

    Layout and parameters
    ---------------------
    Frames are channels last (Keras's ``channels_last``): ConvLSTM1d takes ``(N, T, L, C)``,
    ConvLSTM2d ``(N, T, H, W, C)``; chainrule NCHW frames ``(N, T, C, H, W)`` map there with
    ``x.transpose(0, 1, 3, 4, 2)``. Weights are in chainrule's conv layout:
    ``weight_ih (4F, C, *k)``, ``weight_hh (4F, F, *k)``, ``bias (4F,)``; Keras's ``kernel`` is
    ``weight_ih.transpose(2, …, 1, 0)`` ((*k, C, 4F)), ``recurrent_kernel`` likewise and
    ``bias`` is the same vector. Parameters: ``4F·(∏k·(C + F) + 1)`` (without bias
    ``4F·∏k·(C + F)``). Initialisation as Keras: Glorot-uniform W_x, orthogonal W_h (as a
    (4F, F·∏k) matrix), zero bias with the forget block set to 1 (``unit_forget_bias``).

    Padding: the input conv is ``"same"`` (spatial size kept; for even kernels the odd pad
    goes at the end, TensorFlow's and Keras's rule) or ``"valid"`` (``So = S − k + 1``); the
    recurrent conv is always ``same`` over So.

    Shapes
    ------
    x, dx ``(N, T, *S, C)``; h, c, dh₀, dc₀ ``(N, *So, F)``; y, dy ``(N, T, *So, F)`` with
    ``return_sequences`` else ``(N, *So, F)``. Reduction: none (gradients sum over N and T).
    """

    _nd = 0

    def __init__(self, in_channels: int, hidden_channels: int, kernel_size: int | tuple,
                 padding: str = "same", bias: bool = True, return_sequences: bool = False, *,
                 init: str | Any = "glorot_uniform", recurrent_init: str | Any = "orthogonal",
                 unit_forget_bias: bool = True, rng: RNGLike = None, dtype: Any = None) -> None:
        super().__init__()
        name = type(self).__name__
        if int(in_channels) < 1 or int(hidden_channels) < 1:
            raise ValueError(f"{name} needs positive channels, got ({in_channels}, "
                             f"{hidden_channels})")
        self.in_channels, self.hidden_channels = int(in_channels), int(hidden_channels)
        k = (kernel_size,) * self._nd if isinstance(kernel_size, (int, np.integer)) \
            else tuple(kernel_size)
        if len(k) != self._nd or min(int(v) for v in k) < 1:
            raise ValueError(f"{name} kernel_size must be a positive int or {self._nd} of them, "
                             f"got {kernel_size!r}")
        self.kernel_size = tuple(int(v) for v in k)
        if not isinstance(padding, str) or padding.lower() not in ("same", "valid"):
            raise ValueError(f"{name} padding must be 'same' or 'valid', got {padding!r}")
        self.padding = padding.lower()
        self.return_sequences = bool(return_sequences)
        self.init, self.recurrent_init = init, recurrent_init
        self.unit_forget_bias = bool(unit_forget_bias)
        self.dtype = as_dtype(dtype)
        f4, c = 4 * self.hidden_channels, self.in_channels
        self.weight_ih = Parameter(np.empty((f4, c, *self.kernel_size), dtype=self.dtype))
        self.weight_hh = Parameter(np.empty((f4, self.hidden_channels, *self.kernel_size),
                                            dtype=self.dtype))
        self.bias = Parameter(np.empty(f4, dtype=self.dtype)) if bias else None
        self.reset_parameters(rng)
        self._cache: tuple | None = None
        self.initial_state_grad: tuple[np.ndarray, np.ndarray] | None = None

    def reset_parameters(self, rng: RNGLike = None) -> None:
        """Draw W_x (``init``), then W_h (``recurrent_init``); bias 0 (forget block 1)."""
        rng = as_rng(rng)
        for p, how in ((self.weight_ih, self.init), (self.weight_hh, self.recurrent_init)):
            p.data[...] = initializers.get(how)(p.shape, rng, self.dtype)
        if self.bias is not None:
            self.bias.data[...] = 0.0
            if self.unit_forget_bias:
                f = self.hidden_channels
                self.bias.data[f:2 * f] = 1.0

    # ----------------------------------------------------------------- geometry
    def _input_pads(self, spatial: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
        if self.padding == "valid":
            return ((0, 0),) * self._nd
        return tuple(same_pads(s, k, 1) for s, k in zip(spatial, self.kernel_size))

    def _state_pads(self, so: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
        return tuple(same_pads(s, k, 1) for s, k in zip(so, self.kernel_size))

    def _geometry(self, input_shape: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
        """(T, So) for one sample's ``(T, *S, C)``."""
        nd = self._nd
        if len(input_shape) != nd + 2 or input_shape[-1] != self.in_channels:
            axes = ("L",) if nd == 1 else ("H", "W")
            raise ValueError(f"{self!r} expects input of shape (N, T, {', '.join(axes)}, "
                             f"{self.in_channels}), got (N, {', '.join(map(str, input_shape))})")
        spatial = tuple(int(s) for s in input_shape[1:-1])
        pads = self._input_pads(spatial)
        so = tuple(s + lo + hi - k + 1 for s, (lo, hi), k in zip(spatial, pads, self.kernel_size))
        if min(so) < 1 or int(input_shape[0]) < 1:
            raise ValueError(f"{self!r}: frames of size {spatial} are smaller than the kernel "
                             f"{self.kernel_size} (or T < 1); got input shape "
                             f"(N, {', '.join(map(str, input_shape))})")
        return int(input_shape[0]), so

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        t, so = self._geometry(tuple(input_shape))
        out = (*so, self.hidden_channels)
        return (t, *out) if self.return_sequences else out

    def macs(self, input_shape: tuple[int, ...]) -> int:
        """Multiply-accumulates per sample of the two convolutions: T·∏So·4F·∏k·(C + F)
        (the gates' elementwise products are not counted)."""
        t, so = self._geometry(tuple(input_shape))
        return (t * math.prod(so) * 4 * self.hidden_channels * math.prod(self.kernel_size)
                * (self.in_channels + self.hidden_channels))

    def shape_arithmetic(self, input_shape: tuple[int, ...]) -> str:
        """Spatial output size of the input conv (the recurrent conv keeps it)."""
        t, so = self._geometry(tuple(input_shape))
        return (f"input conv {self.padding} k={self.kernel_size}: {tuple(input_shape[1:-1])} → "
                f"{so}; recurrent conv same; T = {t}"
                f"{' kept' if self.return_sequences else ' → last step only'}")

    @property
    def _geom(self) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        return self.kernel_size, (1,) * self._nd, (1,) * self._nd

    # ----------------------------------------------------------------- protocol
    def forward(self, x: np.ndarray, *, training: bool = False,
                initial_state: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """Batched input conv, then the time loop with the recurrent conv per step."""
        dt = self.weight_ih.data.dtype
        x = as_float(np.asarray(x), dt)
        nd, f = self._nd, self.hidden_channels
        if x.ndim != nd + 3:
            self._geometry(x.shape[1:])  # raises the shape message
            raise ValueError(f"{self!r}: input must have {nd + 3} axes, got {x.ndim}")
        n, spatial = x.shape[0], x.shape[2:-1]
        t, so = self._geometry(x.shape[1:])
        pads_x, pads_h = self._input_pads(spatial), self._state_pads(so)
        xp = pad(x.reshape(n * t, *spatial, self.in_channels), pads_x, self, "_xpad_buf")
        wx2, wh2 = weight_matrix(self.weight_ih.data), weight_matrix(self.weight_hh.data)
        b = None if self.bias is None else self.bias.data
        zx = conv(xp, wx2, self._geom, so, self, b, "_xcol_buf").reshape(n, t, *so, 4 * f)
        hs = np.empty((n, t + 1, *so, f), dtype=dt)  # h_0 … h_T
        cs = np.empty((n, t + 1, *so, f), dtype=dt)  # c_0 … c_T
        gates = np.empty((n, t, *so, 4 * f), dtype=dt)  # activated i, f, g, o
        tanh_c = np.empty((n, t, *so, f), dtype=dt)
        if initial_state is None:
            hs[:, 0] = 0.0
            cs[:, 0] = 0.0
        else:
            h0, c0 = (np.asarray(s) for s in initial_state)
            for s, what in ((h0, "h0"), (c0, "c0")):
                if s.shape != (n, *so, f):
                    raise ValueError(f"{self!r}: initial state {what} must have shape "
                                     f"{(n, *so, f)}, got {s.shape}")
            hs[:, 0], cs[:, 0] = h0, c0
        for s in range(t):
            hp = pad(hs[:, s], pads_h, self, "_hpad_buf")
            z = conv(hp, wh2, self._geom, so, self, None, "_hcol_buf").reshape(n, *so, 4 * f)
            z += zx[:, s]
            a = gates[:, s]
            _sigmoid(z[..., :2 * f], a[..., :2 * f])
            np.tanh(z[..., 2 * f:3 * f], out=a[..., 2 * f:3 * f])
            _sigmoid(z[..., 3 * f:], a[..., 3 * f:])
            i, fg, g, o = (a[..., j * f:(j + 1) * f] for j in range(4))
            np.multiply(fg, cs[:, s], out=cs[:, s + 1])
            cs[:, s + 1] += i * g
            np.tanh(cs[:, s + 1], out=tanh_c[:, s])
            np.multiply(o, tanh_c[:, s], out=hs[:, s + 1])
        self._cache = (xp, x.shape, hs, cs, gates, tanh_c, pads_x, pads_h, so)
        self.initial_state_grad = None
        return hs[:, 1:].copy() if self.return_sequences else hs[:, t].copy()

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """BPTT: reverse loop for dz and the recurrent dh; then input-side grads in one go."""
        xp, shape, hs, cs, gates, tanh_c, pads_x, pads_h, so = self._cached(self._cache)
        n, t = shape[:2]
        f = self.hidden_channels
        want = (n, t, *so, f) if self.return_sequences else (n, *so, f)
        if tuple(dy.shape) != want:
            raise ValueError(f"{self!r}.backward expects dy of shape {want}, "
                             f"got {tuple(dy.shape)}")
        dt = hs.dtype
        dy = as_float(np.asarray(dy), dt)
        wx2, wh2 = weight_matrix(self.weight_ih.data), weight_matrix(self.weight_hh.data)
        hp_shape = (n, *(s + lo + hi for s, (lo, hi) in zip(so, pads_h)), f)
        dz = np.empty((n, t, *so, 4 * f), dtype=dt)
        dh = np.zeros((n, *so, f), dtype=dt)
        dc = np.zeros((n, *so, f), dtype=dt)
        for s in reversed(range(t)):
            if self.return_sequences:
                dh = dh + dy[:, s]
            elif s == t - 1:
                dh = dh + dy
            a, tc = gates[:, s], tanh_c[:, s]
            i, fg, g, o = (a[..., j * f:(j + 1) * f] for j in range(4))
            dc += dh * o * (1.0 - tc * tc)
            d = dz[:, s]
            np.multiply(dc * g, i * (1.0 - i), out=d[..., :f])
            np.multiply(dc * cs[:, s], fg * (1.0 - fg), out=d[..., f:2 * f])
            np.multiply(dc * i, 1.0 - g * g, out=d[..., 2 * f:3 * f])
            np.multiply(dh * tc, o * (1.0 - o), out=d[..., 3 * f:])
            dc *= fg
            dhp = input_grad(d.reshape(-1, 4 * f), wh2, self._geom, so, hp_shape, self)
            dh = crop(dhp, pads_h)
        self.initial_state_grad = (np.ascontiguousarray(dh), dc)
        # Input side, once for all steps: the recurrent weight from every h_{t−1}, and the
        # input conv's weight, bias and dx from the cached padded frames.
        dz2 = dz.reshape(-1, 4 * f)
        hprev = pad(hs[:, :t].reshape(n * t, *so, f), pads_h, self, "_hall_buf")
        dwh2, _ = conv_backward(hprev, dz2, wh2, self._geom, so, self, need_dx=False,
                                buf="_hcol_all_buf")
        dwx2, dxp = conv_backward(xp, dz2, wx2, self._geom, so, self, buf="_xcol_buf")
        self.weight_hh.grad += weight_from_matrix(dwh2, self.weight_hh.shape)
        self.weight_ih.grad += weight_from_matrix(dwx2, self.weight_ih.shape)
        if self.bias is not None:
            self.bias.grad += dz2.sum(axis=0)
        return np.ascontiguousarray(crop(dxp, pads_x)).reshape(shape)

    def extra_repr(self) -> str:
        k = self.kernel_size[0] if self._nd == 1 else self.kernel_size
        return (f"{self.in_channels}, {self.hidden_channels}, kernel_size={k}, "
                f"padding={self.padding!r}, bias={self.bias is not None}, "
                f"return_sequences={self.return_sequences}")


class ConvLSTM1d(_ConvLSTM):
    """ConvLSTM over a sequence of 1-D feature maps ``(N, T, L, C)`` → ``(N[, T], Lo, F)``.

    Keras's ``ConvLSTM1D(filters=F, kernel_size=k, padding=...)`` with ``channels_last``; the
    equations, BPTT derivation, layout mapping and parameter count are in ``_ConvLSTM``'s
    docstring: z_t = W_x ⋆ x_t + W_h ⋆ h_{t−1} + b; i, f, o = σ(·), g = tanh(·);
    c_t = f⊙c_{t−1} + i⊙g; h_t = o⊙tanh(c_t). Weights ``weight_ih (4F, C, k)``,
    ``weight_hh (4F, F, k)``, ``bias (4F,)``; parameters ``4F·(k·(C + F) + 1)``.
    """

    __doc__ = (__doc__ or "") + "\n" + (_ConvLSTM.__doc__ or "")
    _nd = 1


class ConvLSTM2d(_ConvLSTM):
    """ConvLSTM over a sequence of images ``(N, T, H, W, C)`` → ``(N[, T], Ho, Wo, F)``.

    Keras's ``ConvLSTM2D(filters=F, kernel_size=(kh, kw), padding=...)`` with
    ``channels_last`` (chainrule NCHW frames: ``x.transpose(0, 1, 3, 4, 2)``); equations, BPTT
    and shapes as in ``_ConvLSTM``'s docstring. Weights ``weight_ih (4F, C, kh, kw)``,
    ``weight_hh (4F, F, kh, kw)``, ``bias (4F,)``; parameters ``4F·(kh·kw·(C + F) + 1)``.
    """

    __doc__ = (__doc__ or "") + "\n" + (_ConvLSTM.__doc__ or "")
    _nd = 2
