"""Batch augmentations for ``DataLoader(transform=...)``: functions of ``(xb, rng)`` on NCHW.

Each draws its randomness from the ``rng`` it is given (the loader passes a per-batch
Generator, so augmentation is reproducible and resumable) and returns a new array.
Bind options with ``functools.partial`` or use the ready-made ``fashion_augment`` and
``cifar_augment``; ``compose`` chains several.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

Augment = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def _check_nchw(xb: np.ndarray, who: str) -> None:
    if xb.ndim != 4:
        raise ValueError(f"{who}: expected an NCHW batch, got shape {xb.shape}")


def random_crop(xb: np.ndarray, rng: np.random.Generator, padding: int = 4,
                fill: float = 0.0) -> np.ndarray:
    """Pad each image by ``padding`` pixels of ``fill``, then crop a random H×W window from it.

    Every sample gets its own offset in ``0..2·padding`` along each axis.
    """
    _check_nchw(xb, "random_crop")
    if padding < 0:
        raise ValueError(f"random_crop: padding must be >= 0, got {padding}")
    if padding == 0:
        return xb.copy()
    n, c, h, w = xb.shape
    p = int(padding)
    padded = np.full((n, c, h + 2 * p, w + 2 * p), fill, dtype=xb.dtype)  # faster than np.pad
    padded[:, :, p:p + h, p:p + w] = xb
    oy = rng.integers(0, 2 * p + 1, size=n)
    ox = rng.integers(0, 2 * p + 1, size=n)
    # windows[i, c, a, b] is the H×W window at offset (a, b); pick one offset per sample.
    windows = np.lib.stride_tricks.sliding_window_view(padded, (h, w), axis=(2, 3))
    return windows[np.arange(n), :, oy, ox]  # (N, C, H, W), a fresh contiguous copy


def random_shift(xb: np.ndarray, rng: np.random.Generator, max_shift: int = 2,
                 fill: float = 0.0) -> np.ndarray:
    """Translate each image by a random (dy, dx) in ``-max_shift..max_shift``, filling with
    ``fill``.

    The same as ``random_crop`` with ``padding=max_shift``.
    """
    _check_nchw(xb, "random_shift")
    return random_crop(xb, rng, padding=max_shift, fill=fill)


def random_flip(xb: np.ndarray, rng: np.random.Generator, p: float = 0.5) -> np.ndarray:
    """Mirror each image left–right with probability ``p``."""
    _check_nchw(xb, "random_flip")
    out = xb.copy()
    flip = rng.random(len(xb)) < p
    out[flip] = xb[flip, :, :, ::-1]
    return out


def compose(*augments: Augment) -> Augment:
    """Apply ``augments`` in order, all drawing from the same per-batch Generator."""
    def apply(xb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        for aug in augments:
            xb = aug(xb, rng)
        return xb
    return apply


fashion_augment: Augment = functools.partial(random_shift, max_shift=2)
"""Fashion-MNIST augmentation: random shifts of up to 2 pixels."""

cifar_augment: Augment = compose(functools.partial(random_crop, padding=4), random_flip)
"""CIFAR augmentation: 4-pixel zero padding with a random 32×32 crop, then a random flip."""
