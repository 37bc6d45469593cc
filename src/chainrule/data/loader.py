"""Mini-batches (``DataLoader``) and train/validation splits.

Reproducibility contract
------------------------
At the start of each epoch the loader draws one ``epoch_seed`` from ``self.rng``. The
epoch's permutation comes from ``default_rng(epoch_seed)`` and batch ``b``'s augmentation
(``transform(xb, rng)``) from ``default_rng([epoch_seed, b])``. So batch ``b`` depends only
on the loader's state at the start of its epoch and on ``b``: a resumed run that restores
``state_dict()`` and calls ``batches(b)`` sees exactly the batches it would have seen.

``state_dict()`` returns, while an epoch is in progress (from its first batch until its
generator is exhausted), the state *at the start of that epoch*; pair it with the index of
the next batch to resume mid-epoch. Once the epoch's generator is exhausted it returns the
state the next epoch will start from (resume with ``batches(0)``). Save
``loader.state_dict()`` in checkpoints, not ``loader.rng``'s own state, which has moved on.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator

import numpy as np

from ..backend import RNGLike, as_rng
from .dataset import Dataset, check_finite
from .preprocess import Standardizer, add_bias_column, flatten, one_hot

__all__ = ["DataLoader", "Standardizer", "add_bias_column", "flatten", "one_hot",
           "split_indices", "train_val_split"]

Transform = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def _as_batch_array(a: np.ndarray, what: str) -> np.ndarray:
    """Floating arrays become float32 (checked finite); integer arrays (labels, tokens) stay."""
    a = np.asarray(a)
    if a.ndim == 0:
        raise ValueError(f"DataLoader: {what} must have a leading sample axis, got a scalar")
    if a.dtype.kind == "f":
        a = np.ascontiguousarray(a, dtype=np.float32)
        check_finite(a, f"DataLoader {what}")
    return a


class DataLoader:
    """Iterate over ``(xb, yb)`` mini-batches, reshuffled every epoch (see the module docstring).

    Parameters
    ----------
    x : array (N, ...) or a ``Dataset`` (then ``y`` is taken from it). Floating input is
        stored as float32 and must be finite; integer input (token ids) is kept as is.
    y : array (N, ...) or None (then batches are ``(xb, None)``).
    batch_size : samples per batch; the last batch is smaller unless ``drop_last``.
    shuffle : a new permutation each epoch; ``False`` keeps the order.
    rng : seed or ``np.random.Generator`` (``backend.as_rng``), kept as ``self.rng``.
    transform : ``transform(xb, rng) -> xb`` applied to each batch (augmentation).

    Batches are contiguous copies (fancy indexing), safe to modify.
    """

    def __init__(self, x: np.ndarray | Dataset, y: np.ndarray | None = None,
                 batch_size: int = 32, *, shuffle: bool = True, rng: RNGLike = None,
                 drop_last: bool = False, transform: Transform | None = None) -> None:
        if isinstance(x, Dataset):
            x, y = x.x, (x.y if y is None else y)
        self.x = _as_batch_array(x, "x")
        self.y = None if y is None else _as_batch_array(y, "y")
        if self.y is not None and len(self.y) != len(self.x):
            raise ValueError(f"DataLoader: x has {len(self.x)} samples but y has {len(self.y)}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise ValueError("DataLoader: batch_size must be a positive integer, "
                             f"got {batch_size!r}")
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.transform = transform
        self.rng = as_rng(rng)
        self._epoch_state: dict | None = None  # rng state at the start of the running epoch

    def __len__(self) -> int:
        n, bs = len(self.x), self.batch_size
        return n // bs if self.drop_last else -(-n // bs)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        return self.batches(0)

    def batches(self, start: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        """Start an epoch and yield its batches ``start``, ``start + 1``, ... (skipping the
        rest)."""
        if not 0 <= start <= len(self):
            raise ValueError(f"DataLoader.batches: start must lie in 0..{len(self)}, got {start}")
        return self._epoch(int(start))

    def _epoch(self, start: int) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        self._epoch_state = copy.deepcopy(self.rng.bit_generator.state)
        epoch_seed = int(self.rng.integers(2**63))
        x, y, bs, transform = self.x, self.y, self.batch_size, self.transform
        n = len(x)
        perm = np.random.default_rng(epoch_seed).permutation(n) if self.shuffle else np.arange(n)
        for b in range(start, len(self)):
            idx = perm[b * bs:(b + 1) * bs]
            xb = x[idx]
            if transform is not None:
                xb = transform(xb, np.random.default_rng([epoch_seed, b]))
            yield xb, (None if y is None else y[idx])
        self._epoch_state = None

    def state_dict(self) -> dict:
        """JSON-able state: the rng state an epoch in progress started from (else the next
        one's)."""
        state = self._epoch_state if self._epoch_state is not None else self.rng.bit_generator.state
        return {"rng": copy.deepcopy(state), "num_samples": len(self.x),
                "batch_size": self.batch_size}

    def load_state_dict(self, state: dict) -> None:
        """Restore ``state_dict()``'s state; the next ``batches(b)`` repeats that epoch from
        ``b``."""
        for key, mine in (("num_samples", len(self.x)), ("batch_size", self.batch_size)):
            if key in state and int(state[key]) != mine:
                raise ValueError(f"DataLoader.load_state_dict: the state was saved with "
                                 f"{key}={state[key]}, this loader has {key}={mine}")
        self.rng.bit_generator.state = copy.deepcopy(state["rng"])
        self._epoch_state = None

    def __repr__(self) -> str:
        return (f"DataLoader(x={self.x.shape} {self.x.dtype}, batch_size={self.batch_size}, "
                f"batches={len(self)}, shuffle={self.shuffle}, drop_last={self.drop_last})")


def _val_count(n: int, val_size: float) -> int:
    """``val_size`` < 1 is a fraction of ``n``; >= 1 a count (argparse floats like 500.0 too)."""
    if isinstance(val_size, bool) or not np.isfinite(val_size) or val_size <= 0:
        raise ValueError(f"val_size must be a fraction in (0, 1) or a count >= 1, got {val_size!r}")
    if val_size < 1:
        k = round(val_size * n)
    elif float(val_size).is_integer():
        k = int(val_size)
    else:
        raise ValueError(f"val_size >= 1 is a sample count and must be a whole number, "
                         f"got {val_size!r}")
    if not 1 <= k < n:
        raise ValueError(f"val_size={val_size!r} leaves {k} of {n} samples for validation; "
                         "both parts need at least one sample")
    return k


def split_indices(y_or_n: np.ndarray | int, val_size: float, rng: RNGLike, *,
                  stratify: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (train, val) index arrays; ``stratify`` keeps class proportions (needs labels)."""
    rng = as_rng(rng)
    n = y_or_n if isinstance(y_or_n, (int, np.integer)) else len(y_or_n)
    k = _val_count(int(n), val_size)
    if not stratify:
        val = rng.permutation(n)[:k]
    else:
        if isinstance(y_or_n, (int, np.integer)):
            raise ValueError("stratify=True needs the labels y")
        classes, inverse = np.unique(np.asarray(y_or_n), return_inverse=True)
        counts = np.bincount(inverse, minlength=len(classes))
        share = counts * (k / n)
        take = np.floor(share).astype(np.int64)
        # Largest remainders get the leftover samples, so the total is exactly k.
        take[np.argsort(-(share - take), kind="stable")[:k - int(take.sum())]] += 1
        val = np.concatenate([rng.permutation(np.flatnonzero(inverse == c))[:t]
                              for c, t in enumerate(take)])
    mask = np.zeros(n, dtype=bool)
    mask[val] = True
    return np.flatnonzero(~mask), np.flatnonzero(mask)


def train_val_split(x: np.ndarray, y: np.ndarray | None, val_size: float, rng: RNGLike, *,
                    stratify: bool = False):
    """Hold out ``val_size`` (fraction < 1 or count >= 1) samples: ``x_tr, y_tr, x_val, y_val``.

    The split is random (seeded by ``rng``), optionally stratified by ``y``; both parts keep
    the original order of their samples. ``y=None`` gives ``None`` for both label parts.
    """
    if y is not None and len(y) != len(x):
        raise ValueError(f"train_val_split: x has {len(x)} samples but y has {len(y)}")
    train, val = split_indices(len(x) if (y is None or not stratify) else y, val_size, rng,
                               stratify=stratify)
    if y is None:
        return x[train], None, x[val], None
    return x[train], y[train], x[val], y[val]
