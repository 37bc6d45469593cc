"""Private channels-last convolution kernels shared by Conv1d and the ConvLSTMs.

Layout: **channels last**, a batch of frames ``(B, *S, C)`` with one or two spatial axes S
(time for Conv1d, ``(L,)`` or ``(H, W)`` for a ConvLSTM frame). This is the layout of
sequences in chainrule (``(N, T, F)``) and of Keras's ``channels_last``; Conv2d's NCHW
kernels (``_im2col``) keep the batch innermost instead, which suits images, not sequences.

With a zero-padded input ``xp`` (B, *Sp, C), kernel size k, stride s and dilation d per
spatial axis, the column matrix is the window view

    col[b, *o, *i, c] = xp[b, *(o·s + i·d), c]       shape (B·∏So, ∏k·C)

(one copy from a read-only strided view: the innermost run is C values, or k·C when
d = 1). A convolution with weight ``W (O, C, *k)`` is then one matrix product
``y₂ = col·W₂`` with ``W₂ = W`` moved to ``(*k, C, O)`` and reshaped to (∏k·C, O); its
result (B·∏So, O) *is* the channels-last output. Its adjoint, ``dcol = dy₂·W₂ᵀ`` scattered
back by ``col2im`` (overlapping windows add up), is the input gradient, and
``dW₂ = colᵀ·dy₂`` the weight gradient. Big batches of frames are processed in chunks of
whole frames whose col is about ``_CHUNK_BYTES``, so no col larger than that is ever held.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

# One chunk's col is about this size: big enough for one efficient GEMM, small enough that a
# ConvLSTM2d over a long sequence of frames never materialises its whole im2col.
_CHUNK_BYTES = 4 << 20

Geom = tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]  # kernel, stride, dilation


def same_pads(size: int, k: int, s: int, d: int = 1) -> tuple[int, int]:
    """TensorFlow/Keras "same" (PyTorch's at stride 1): output ⌈size/s⌉, total padding
    ``max((⌈size/s⌉ − 1)·s + d·(k − 1) + 1 − size, 0)``, the odd element at the **end**."""
    total = max((-(-size // s) - 1) * s + d * (k - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def out_len(size: int, lo: int, hi: int, k: int, s: int, d: int = 1) -> int:
    """⌊(size + lo + hi − d·(k − 1) − 1)/s⌋ + 1 (≤ 0 when the window does not fit)."""
    return (size + lo + hi - d * (k - 1) - 1) // s + 1


def scratch(owner: Any, name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """An uninitialised array kept on ``owner`` and reused while shape and dtype stay the same
    (callers overwrite every element they read)."""
    buf = owner.__dict__.get(name)
    if buf is None or buf.shape != shape or buf.dtype != dtype:
        buf = np.empty(shape, dtype=dtype)
        object.__setattr__(owner, name, buf)
    return buf


def pad(x: np.ndarray, pads: tuple[tuple[int, int], ...], owner: Any = None,
        name: str = "", fill: float = 0.0) -> np.ndarray:
    """``x`` (B, *S, C) with ``pads[a] = (lo, hi)`` elements of ``fill`` added on spatial axis a.

    Always a private copy: into ``owner``'s scratch buffer ``name`` when given (valid until
    the owner's next call), else a fresh array. The border is rewritten on every call, so a
    reused buffer never carries another geometry's border.
    """
    shape = (x.shape[0], *(n + lo + hi for n, (lo, hi) in zip(x.shape[1:-1], pads)), x.shape[-1])
    out = np.empty(shape, dtype=x.dtype) if owner is None else scratch(owner, name, shape,
                                                                       x.dtype)
    inner = (slice(None), *(slice(lo, lo + n) for n, (lo, _) in zip(x.shape[1:-1], pads)))
    if any(lo or hi for lo, hi in pads):
        for a, ((lo, hi), n) in enumerate(zip(pads, x.shape[1:-1])):
            before = (slice(None),) * (a + 1)
            out[(*before, slice(0, lo))] = fill
            out[(*before, slice(lo + n, None))] = fill
    out[inner] = x
    return out


def windows(xp: np.ndarray, geom: Geom, so: tuple[int, ...]) -> np.ndarray:
    """The read-only strided view ``v[b, *o, *i, c] = xp[b, *(o·s + i·d), c]``."""
    k, s, d = geom
    for n, kk, ss, dd, oo in zip(xp.shape[1:-1], k, s, d, so):
        if oo < 1 or (oo - 1) * ss + dd * (kk - 1) + 1 > n:  # as_strided does not check
            raise ValueError(f"im2col: {so} windows of {k} (stride {s}, dilation {d}) do not "
                             f"fit in {xp.shape[1:-1]}")
    st = xp.strides
    sp = st[1:-1]
    return np.lib.stride_tricks.as_strided(
        xp, shape=(xp.shape[0], *so, *k, xp.shape[-1]),
        strides=(st[0], *(a * b for a, b in zip(sp, s)), *(a * b for a, b in zip(sp, d)), st[-1]),
        writeable=False)


def col2im(dcol: np.ndarray, dxp: np.ndarray, geom: Geom) -> np.ndarray:
    """Adjoint of the window view: ``dxp[b, *(o·s + i·d), c] += dcol[b, *o, *i, c]``."""
    k, s, d = geom
    nd = len(k)
    so = dcol.shape[1:1 + nd]
    for idx in np.ndindex(*k):
        dst = tuple(slice(i * dd, i * dd + ss * (oo - 1) + 1, ss)
                    for i, ss, dd, oo in zip(idx, s, d, so))
        dxp[(slice(None), *dst)] += dcol[(slice(None), *(slice(None),) * nd, *idx)]
    return dxp


def weight_matrix(w: np.ndarray) -> np.ndarray:
    """``W (O, C, *k)`` as the GEMM operand ``W₂ (∏k·C, O)``, rows ordered (i…, c)."""
    nd = w.ndim - 2
    return np.ascontiguousarray(w.transpose(*range(2, 2 + nd), 1, 0)).reshape(-1, w.shape[0])


def weight_from_matrix(w2: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Inverse of ``weight_matrix``: (∏k·C, O) back to ``(O, C, *k)``."""
    o, c, *k = shape
    nd = len(k)
    return w2.reshape(*k, c, o).transpose(nd + 1, nd, *range(nd))


def _chunks(b: int, per_frame: int) -> Iterator[slice]:
    step = max(1, min(b, _CHUNK_BYTES // max(per_frame, 1)))
    for a in range(0, b, step):
        yield slice(a, min(a + step, b))


def conv(xp: np.ndarray, w2: np.ndarray, geom: Geom, so: tuple[int, ...], owner: Any,
         bias: np.ndarray | None = None, buf: str = "_col_buf") -> np.ndarray:
    """``y₂ = col·W₂ (+ b)`` as a fresh (B·∏So, O) array, col built chunk by chunk."""
    b, c = xp.shape[0], xp.shape[-1]
    rows, kc = math.prod(so), math.prod(geom[0]) * c
    y = np.empty((b * rows, w2.shape[1]), dtype=w2.dtype)
    view = windows(xp, geom, so)
    for ch in _chunks(b, rows * kc * xp.itemsize):
        n = ch.stop - ch.start
        col = scratch(owner, buf, (n, *so, *geom[0], c), xp.dtype)
        np.copyto(col, view[ch])
        np.matmul(col.reshape(n * rows, kc), w2, out=y[ch.start * rows:ch.stop * rows])
    if bias is not None:
        y += bias
    return y


def conv_backward(xp: np.ndarray, dy2: np.ndarray, w2: np.ndarray, geom: Geom,
                  so: tuple[int, ...], owner: Any, need_dx: bool = True,
                  buf: str = "_col_buf") -> tuple[np.ndarray, np.ndarray | None]:
    """``(dW₂, dxp)``: ``dW₂ = colᵀ·dy₂`` (col rebuilt from xp chunk by chunk) and
    ``dxp = col2im(dy₂·W₂ᵀ)`` of xp's (padded) shape, or None without ``need_dx``. ``buf``
    names the owner's col scratch (one per operand shape, so none is reallocated per call)."""
    b, c = xp.shape[0], xp.shape[-1]
    rows, kc = math.prod(so), math.prod(geom[0]) * c
    dw2 = np.zeros((kc, w2.shape[1]), dtype=w2.dtype)
    dxp = np.zeros(xp.shape, dtype=w2.dtype) if need_dx else None
    view = windows(xp, geom, so)
    for ch in _chunks(b, rows * kc * xp.itemsize):
        n = ch.stop - ch.start
        g = dy2[ch.start * rows:ch.stop * rows]
        col = scratch(owner, buf, (n, *so, *geom[0], c), xp.dtype)
        np.copyto(col, view[ch])
        dw2 += col.reshape(n * rows, kc).T @ g
        if need_dx:
            dcol = scratch(owner, "_dcol_buf", (n * rows, kc), xp.dtype)
            np.matmul(g, w2.T, out=dcol)
            col2im(dcol.reshape(n, *so, *geom[0], c), dxp[ch], geom)
    return dw2, dxp


def input_grad(dy2: np.ndarray, w2: np.ndarray, geom: Geom, so: tuple[int, ...],
               xp_shape: tuple[int, ...], owner: Any) -> np.ndarray:
    """``dxp = col2im(dy₂·W₂ᵀ)`` alone (a ConvLSTM's recurrent step): fresh, xp's shape."""
    b, c = xp_shape[0], xp_shape[-1]
    dcol = scratch(owner, "_dcol_step_buf", (dy2.shape[0], w2.shape[0]), dy2.dtype)
    np.matmul(dy2, w2.T, out=dcol)
    dxp = np.zeros(xp_shape, dtype=dy2.dtype)
    return col2im(dcol.reshape(b, *so, *geom[0], c), dxp, geom)


def crop(a: np.ndarray, pads: tuple[tuple[int, int], ...]) -> np.ndarray:
    """The view of a padded (B, *Sp, C) array without its padding."""
    return a[(slice(None), *(slice(lo, n - hi) for (lo, hi), n in zip(pads, a.shape[1:-1])))]


def input_grad_1d(dy: np.ndarray, w: np.ndarray, pads: tuple[int, int], d: int, t: int,
                  owner: Any) -> np.ndarray:
    """dx (B, T, C) of a **stride-1** 1-D conv as one correlation: no col2im scatter.

    ``dx[b, u, c] = Σ_{i,o} W[o,c,i]·dy[b, u + pl − i·d, o]``; with ``i' = k − 1 − i`` that is
    ``Σ_{i',o} W_flip[o,c,i']·dyp[b, u + i'·d, o]`` where ``dyp`` is dy placed at offset
    ``a = d·(k − 1) − pl`` in zeros of length ``T + d·(k − 1)`` (dy steps that would land
    outside — outputs whose window lies wholly in the padding — are dropped). So dx is
    im2col(dyp) (B·T, k·O) times ``W_flip₂ (k·O, C)``: one GEMM that writes dx directly.
    """
    b, to, o = dy.shape
    _, c, k = w.shape
    a = d * (k - 1) - pads[0]
    length = t + d * (k - 1)
    lo, hi = max(0, -a), min(to, length - a)  # dy steps that land inside dyp
    dyp = scratch(owner, "_dyp_buf", (b, length, o), dy.dtype)
    dyp[:, :max(0, a + lo)] = 0.0
    dyp[:, a + lo:a + hi] = dy[:, lo:hi]
    dyp[:, max(0, a + hi):] = 0.0
    wflip = np.ascontiguousarray(w[:, :, ::-1].transpose(2, 0, 1)).reshape(k * o, c)
    geom = ((k,), (1,), (d,))
    dx = np.empty((b * t, c), dtype=dy.dtype)
    view = windows(dyp, geom, (t,))
    for ch in _chunks(b, t * k * o * dy.itemsize):
        n = ch.stop - ch.start
        col = scratch(owner, "_dycol_buf", (n, t, k, o), dy.dtype)
        np.copyto(col, view[ch])
        np.matmul(col.reshape(n * t, k * o), wflip, out=dx[ch.start * t:ch.stop * t])
    return dx.reshape(b, t, c)
