"""Batch layout helpers of the recurrent layers: the length plan (sort, per-step batch sizes,
per-sequence reversal), the layout copies and the chunk size of the reverse loops."""

from __future__ import annotations

from typing import Any

import numpy as np

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


def feature_major(a: np.ndarray) -> np.ndarray:
    """A time-major (T, F, N) array copied to (F, T, N), i.e. the matrix (F, T·N)."""
    return np.ascontiguousarray(a.transpose(1, 0, 2))


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
