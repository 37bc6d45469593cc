"""Batch layout helpers of the recurrent layers: the length plan (sort, per-step batch sizes,
per-sequence reversal), the chunk size of the reverse loops, and the products before and
after the time loops (the input projection, the weight and input gradients)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import parallel

# The reverse loops form their δ-free factors (σ', 1 − tanh², ...) for this many bytes of
# steps at a time, so the factors are still in cache when the per-step updates read them.
_CHUNK_BYTES = 1 << 20


def chunk_steps(bytes_per_step: int, t: int) -> int:
    """How many time steps make one chunk of about ``_CHUNK_BYTES`` (at least 1, at most t)."""
    return max(1, min(t, _CHUNK_BYTES // max(int(bytes_per_step), 1)))


def carry(final: np.ndarray | None, h: int, n: int, dt: np.dtype) -> np.ndarray:
    """The reverse loop's running ∂L/∂h (H, N), C-contiguous: the final state's gradient
    (given (N, H)) or zeros."""
    if final is None:
        return np.zeros((h, n), dtype=dt)
    return np.array(final.T, dtype=dt, order="C", copy=True)  # a copy: dy stays intact


def project(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``out[t] = w·x[:, t]`` for every step: (G, F) times feature-major x (F, T, N) gives the
    time-major (T, G, N) the loops read, one small GEMM per step (NumPy's batched matmul
    reads each x[:, t] in place), the steps shared among the workers.

    Measured against one (G, F)×(F, T·N) GEMM followed by a transposing copy to time-major:
    0.72 ms against 2.7 ms for G=256, F=7, T=100, N=64 (the copy of 6.5 MB was most of it).
    """
    g, f = w.shape
    _, t, n = x.shape
    out = np.empty((t, g, n), dtype=np.result_type(w, x))
    xt = x.transpose(1, 0, 2)
    steps = parallel.split(t, min(2 * parallel.workers(), g * f * t * n // parallel.MIN_MACS))

    def piece(i: int, _w: int) -> None:
        lo, hi = steps[i]
        np.matmul(w, xt[lo:hi], out=out[lo:hi])

    parallel.run(piece, len(steps))
    return out


def step_gradients(xd: np.ndarray, s: np.ndarray, dr: np.ndarray,
                   to_input: Callable[[np.ndarray, int, int], np.ndarray] | None,
                   wx: np.ndarray, need_dx: bool
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The products after a reverse time loop, over all steps at once::

        gx = Σ_t xd[:, t]·dA_tᵀ  (F', G·H)      gh = Σ_t s[t]·dR_tᵀ  (H, G·H)
        dx[:, t] = W_x·dA_t      (F, T, N), only with ``need_dx``

    xd is feature-major (F', T, N) (F' = F plus the bias row of ones), s and dR time-major
    ((≥T, H, N), (T, G·H, N)). dA_t is dR_t except where ``to_input(drc, t0, t1)`` says
    otherwise: given the chunk of dR for steps t0..t1−1 as the matrix (G·H, (t1−t0)·N), it
    returns the same chunk of dA (it may overwrite ``drc``; the GRU's candidate gate).

    The steps are taken a cache-sized chunk at a time: each chunk of dR and s is copied
    feature-major into a small buffer (still in cache when the GEMMs read it) and the
    chunk's products are added to the sums. Against copying the whole of dR and s
    feature-major for one GEMM each, this measured 5.6 ms against 7.3 ms for gx and gh
    (G·H=256, H=64, F'=7, T=100, N=64; one thread, medians of 80 interleaved calls). When
    the work is large the chunks form groups, two per worker, each
    summing its own partial in chunk order; the partials are added in group order, so a
    result is bitwise reproducible for a given number of workers.
    """
    t, g, n = dr.shape                       # g = G·H
    fx, h, dt = xd.shape[0], s.shape[1], dr.dtype
    k = chunk_steps((g + h) * n * dt.itemsize, t)
    chunks = [(t0, min(t0 + k, t)) for t0 in range(0, t, k)]
    macs = (fx + h + (wx.shape[0] if need_dx else 0)) * g * t * n
    workers = parallel.workers() if macs >= 4 * parallel.MIN_MACS else 1
    groups = parallel.split(len(chunks), 2 * workers) if workers > 1 else [(0, len(chunks))]
    gx = np.zeros((len(groups), fx, g), dtype=dt)
    gh = np.zeros((len(groups), h, g), dtype=dt)
    dx = np.empty((wx.shape[0], t, n), dtype=dt) if need_dx else None
    bufs = [(np.empty((g, k * n), dtype=dt), np.empty((h, k * n), dtype=dt),
             np.empty((fx, g), dtype=dt), np.empty((h, g), dtype=dt))
            for _ in range(workers)]

    def group(i: int, w: int) -> None:
        dbuf, sbuf, px, ph = bufs[w]
        for t0, t1 in chunks[groups[i][0]:groups[i][1]]:
            cols = (t1 - t0) * n
            drc, sc = dbuf[:, :cols], sbuf[:, :cols]
            drc.reshape(g, t1 - t0, n)[...] = dr[t0:t1].transpose(1, 0, 2)
            sc.reshape(h, t1 - t0, n)[...] = s[t0:t1].transpose(1, 0, 2)
            gh[i] += parallel.gemm(sc, drc.T, ph)
            dac = drc if to_input is None else to_input(drc, t0, t1)
            gx[i] += parallel.gemm(xd[:, t0:t1].reshape(fx, cols), dac.T, px)
            if dx is not None:
                np.matmul(wx, dac, out=dx[:, t0:t1].reshape(-1, cols))

    parallel.run(group, len(groups), workers > 1)
    return gx.sum(axis=0), gh.sum(axis=0), dx


class _Plan:
    """How one batch is laid out in time: the sort by length and the per-step row counts.

    Rows are sorted by decreasing length (stable), so at step t the sequences still running
    are the first ``bs[t]`` rows — PyTorch's ``pack_padded_sequence`` layout. ``order`` is
    None when the batch is already sorted; ``rev`` (None without lengths: plain ``[::-1]``)
    indexes each sequence reversed within its own length, padding left in place.
    """

    def __init__(self, lengths: Any, n: int, t: int) -> None:
        self.n, self.t = n, t
        self.order = self.lengths = self.rev = None
        self.bs = [n] * t
        self.ragged = False
        if lengths is None:
            return
        lens = np.asarray(lengths)
        if lens.shape != (n,) or lens.dtype.kind not in "iu":
            raise ValueError(f"lengths must be an integer array of shape ({n},), got "
                             f"{lens.dtype} {lens.shape}")
        if n and (lens.min() < 1 or lens.max() > t):
            raise ValueError(f"lengths must lie in [1, T={t}], got {lens.min()}..{lens.max()}")
        if np.all(lens == t):
            return
        order = np.argsort(-lens, kind="stable")
        self.order = None if np.array_equal(order, np.arange(n)) else order
        self.lengths = lens[order].astype(np.intp)
        self.bs = [int(b) for b in np.count_nonzero(self.lengths[None, :] >
                                                    np.arange(t)[:, None], axis=1)]
        self.ragged = True
        steps = np.arange(t)[:, None]
        self.rev = (np.where(steps < self.lengths, self.lengths - 1 - steps, steps),
                    np.broadcast_to(np.arange(n)[None, :], (t, n)))

    def sort(self, a: np.ndarray, axis: int = 0) -> np.ndarray:
        """Rows of ``a`` (batch along ``axis``) in the plan's sorted order."""
        return a if self.order is None else np.take(a, self.order, axis=axis)

    def unsort(self, a: np.ndarray, axis: int = 0) -> np.ndarray:
        """Inverse of ``sort``: a new array in the caller's batch order."""
        if self.order is None:
            return a
        out = np.empty_like(a)
        index = [slice(None)] * a.ndim
        index[axis] = self.order
        out[tuple(index)] = a
        return out

    def flip(self, a: np.ndarray) -> np.ndarray:
        """Each sequence of feature-major ``a`` (·, T, N) reversed within its length (an
        involution: flipping twice gives ``a`` back); a new contiguous array."""
        return np.ascontiguousarray(a[:, ::-1]) if self.rev is None else a[:, self.rev[0],
                                                                            self.rev[1]]

    def last(self, states: np.ndarray, time_axis: int) -> np.ndarray:
        """Each row's state (N, H) after its true last step, from states laid out (H, T+1, N)
        (``time_axis=1``) or (T+1, H, N) (``time_axis=0``)."""
        if self.lengths is None:
            return np.take(states, self.t, axis=time_axis).T.copy()
        cols = np.arange(self.n)
        if time_axis == 1:
            return states[:, self.lengths, cols].T.copy()
        return states[self.lengths, :, cols]
