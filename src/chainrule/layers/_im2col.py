"""Private kernels shared by Conv2d, ConvTranspose2d and the pooling layers.

Internal layout: **batch innermost**, ``(C, H, W, N)``. The public API stays NCHW; an
NCHW array ``x`` becomes internal with ``x.transpose(1, 2, 3, 0)`` and an internal
array is handed back as the NCHW *view* ``a.transpose(3, 0, 1, 2)``. Because NumPy's
elementwise ufuncs keep the memory order of their inputs, a chain
conv → ReLU → pool → conv passes the internal layout along without a single copy,
while every array a caller sees has NCHW shape and indexing.

Why batch innermost: every kernel offset (i, j) of a convolution or a pooling window
is then one strided slice ``x[:, i::s, j::s, :]`` whose innermost run (the N samples)
is contiguous, so im2col, col2im and pooling are kh·kw large vectorised copies/adds —
no Python loop over the batch and no gather. The column matrix

    col[c, i, j, ho, wo, n] = xpad[c, ho·sh + i, wo·sw + j, n]      shape (C·kh·kw, Ho·Wo·N)

makes a convolution one BLAS call, ``y = W.reshape(O, C·kh·kw) @ col``, whose result
``(O, Ho·Wo·N)`` is already the next layer's internal layout. (Conv2d issues it as a few
calls on column blocks of col — bands of output rows — so each block is read from cache.)
"""

from __future__ import annotations

from typing import Any

import numpy as np

Pads = tuple[int, int, int, int]  # (top, bottom, left, right)


def pair(v: Any, name: str) -> tuple[int, int]:
    """``3 → (3, 3)``; ``(3, 5) → (3, 5)``; validates non-negative ints."""
    if isinstance(v, (int, np.integer)):
        v = (int(v), int(v))
    try:
        a, b = (int(t) for t in v)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an int or a pair of ints, got {v!r}") from None
    if a < 0 or b < 0:
        raise ValueError(f"{name} must be non-negative, got {v!r}")
    return a, b


def out_size(size: int, pad_lo: int, pad_hi: int, k: int, s: int) -> int:
    """⌊(size + pads − k)/s⌋ + 1 (may be ≤ 0 when the window does not fit)."""
    return (size + pad_lo + pad_hi - k) // s + 1


def same_pads(size: int, k: int, s: int) -> tuple[int, int]:
    """TensorFlow's "same": total padding so the output is ⌈size/s⌉, the odd pixel at the end."""
    total = max((-(-size // s) - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def axis_arithmetic(size: int, pad_lo: int, pad_hi: int, k: int, s: int) -> str:
    """One axis of the output-size formula, e.g. ``"(28 + 2·2 − 5)/1 + 1 = 28"``."""
    pads = f"2·{pad_lo}" if pad_lo == pad_hi else f"{pad_lo} + {pad_hi}"
    num = size + pad_lo + pad_hi - k
    frac = f"({size} + {pads} − {k})/{s}"
    if num % s:
        frac = f"⌊{frac}⌋"
    return f"{frac} + 1 = {num // s + 1}"


def workspace(owner: Any, name: str, shape: tuple[int, ...], dtype: np.dtype,
              fill: float | None = None, key: Any = None) -> np.ndarray:
    """A scratch array kept on ``owner`` and reused while shape, dtype and ``key`` stay the same.

    Reuse avoids re-faulting tens of MB of fresh pages on every batch. With ``fill``
    the array is filled only when (re)allocated: callers that write just the interior
    of a padded buffer rely on the border keeping that value, and must pass as ``key``
    everything that decides *where* the border is — the shape alone does not ("same"
    padding with stride > 1 pads H=6 as (0, 1) and H=5 as (1, 1): both 7 rows, but a
    buffer filled for the first has a stale row 0 for the second).
    """
    buf = owner.__dict__.get(name)
    tag = (shape, np.dtype(dtype), fill, key)
    if buf is None or owner.__dict__.get(name + "_tag") != tag:
        buf = np.empty(shape, dtype=dtype) if fill is None else np.full(shape, fill, dtype=dtype)
        object.__setattr__(owner, name, buf)
        object.__setattr__(owner, name + "_tag", tag)
    return buf


def to_internal(x: np.ndarray, pads: Pads, owner: Any, name: str, fill: float = 0.0,
                copy: bool = False) -> np.ndarray:
    """NCHW ``x`` → padded internal ``(C, H+pt+pb, W+pl+pr, N)``, C-contiguous.

    Without padding (and ``copy=False``) this is free when ``x`` already is an NCHW view of
    internal memory. Otherwise the interior of a reused buffer (border = ``fill``) is
    overwritten, so the result is private to ``owner`` until its next call.
    """
    xt = x.transpose(1, 2, 3, 0)
    pt, pb, pl, pr = pads
    if not any(pads) and not copy:
        return np.ascontiguousarray(xt)
    c, h, w, n = xt.shape
    # Keyed on the pads: the border must be the fill value for *this* call's split.
    buf = workspace(owner, name, (c, h + pt + pb, w + pl + pr, n), x.dtype, fill, key=pads)
    buf[:, pt:pt + h, pl:pl + w, :] = xt
    return buf


def to_nchw(a: np.ndarray) -> np.ndarray:
    """Internal ``(C, H, W, N)`` → the NCHW view (no copy)."""
    return a.transpose(3, 0, 1, 2)


def window(a: np.ndarray, i: int, j: int, sh: int, sw: int, ho: int, wo: int) -> np.ndarray:
    """The strided slice ``a[:, i + sh·ho', j + sw·wo', :]`` for kernel offset (i, j)."""
    return a[:, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw, :]


def im2col(xp: np.ndarray, kh: int, kw: int, sh: int, sw: int, ho: int, wo: int,
           out: np.ndarray) -> np.ndarray:
    """Fill ``out`` (C, kh, kw, Ho, Wo, N) with ``xp[c, ho·sh+i, wo·sw+j, n]``; return it.

    One copy from a read-only strided view of xp that *is* the 6-D window array (offsets
    (i, j) and positions (ho, wo) are both steps along xp's rows and columns), rather than
    kh·kw slice copies: the copy's inner runs are still whole rows (Wo·N values when
    sw = 1), and ~25 NumPy calls per band less (measured 57 µs instead of 96 for a band of
    the benchmark CNN's second conv).
    """
    c, rows, cols, n = xp.shape
    if (ho - 1) * sh + kh > rows or (wo - 1) * sw + kw > cols:  # as_strided does not check
        raise ValueError(f"im2col: {ho}×{wo} windows of {kh}×{kw} with stride ({sh}, {sw}) "
                         f"do not fit in {rows}×{cols}")
    s_c, s_h, s_w, s_n = xp.strides
    windows = np.lib.stride_tricks.as_strided(
        xp, shape=(c, kh, kw, ho, wo, n),
        strides=(s_c, s_h, s_w, s_h * sh, s_w * sw, s_n), writeable=False)
    np.copyto(out, windows)
    return out


def col2im(col: np.ndarray, out: np.ndarray, sh: int, sw: int) -> np.ndarray:
    """Adjoint of ``im2col``: ``out[c, ho·sh+i, wo·sw+j, n] += col[c, i, j, ho, wo, n]``.

    ``col`` is (C, kh, kw, Ho, Wo, N); ``out`` (C, Hp, Wp, N) is accumulated into, so
    overlapping windows (stride < kernel) sum their contributions.
    """
    _, kh, kw, ho, wo, _ = col.shape
    for i in range(kh):
        for j in range(kw):
            window(out, i, j, sh, sw, ho, wo)[...] += col[:, i, j]
    return out


def landings(size: int, pad: int, k: int, stride: int,
             n_out: int) -> dict[int, tuple[slice, slice]]:
    """For each kernel offset i < k: the output positions o (of n_out) whose input position
    ``o·stride + i − pad`` lies in ``[0, size)``, as (slice of o, slice of input positions).
    Offsets that reach no input position (all padding) are left out."""
    out = {}
    for i in range(k):
        lo = max(0, -(-(pad - i) // stride))
        hi = min(n_out, (size - 1 + pad - i) // stride + 1)
        if hi > lo:
            first = lo * stride + i - pad
            out[i] = slice(lo, hi), slice(first, first + stride * (hi - lo - 1) + 1, stride)
    return out


def full_landing(lands: dict[int, tuple[slice, slice]], n_out: int, size: int,
                 partial: bool = False) -> int | None:
    """An offset of ``landings(...)`` that covers all ``size`` inputs one to one, from all n_out
    outputs (or, with ``partial``, from any contiguous run of them)."""
    for i, (src, dst) in lands.items():
        if dst == slice(0, size, 1) and src.stop - src.start == size and (
                partial or src == slice(0, n_out)):
            return i
    return None


def check_rank4(layer: Any, x: np.ndarray, channels: int | None) -> None:
    """Raise ValueError naming ``layer`` unless ``x`` is (N, channels, H, W)."""
    c = "C" if channels is None else channels
    if x.ndim != 4 or (channels is not None and x.shape[1] != channels):
        raise ValueError(f"{layer!r} expects input of shape (N, {c}, H, W), "
                         f"got {tuple(x.shape)}")


def as_float(x: np.ndarray, dtype: np.dtype | None) -> np.ndarray:
    """Cast to ``dtype`` (the weight dtype) or, for a layer without weights, to float32 if not
    float."""
    x = np.asarray(x)
    if dtype is None:
        return x if x.dtype.kind == "f" else x.astype(np.float32)
    return x if x.dtype == dtype else x.astype(dtype)
