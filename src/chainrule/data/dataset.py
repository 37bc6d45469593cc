"""``Dataset``: a loaded split, with the arrays and where they came from."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import DataError


def check_finite(x: np.ndarray, what: str) -> None:
    """Raise ``DataError`` naming ``what`` when a floating array holds NaN or ±inf."""
    if x.dtype.kind in "fc" and not np.isfinite(x).all():
        bad = np.flatnonzero(~np.isfinite(x.reshape(len(x), -1)).all(axis=1))
        raise DataError(f"{what}: {len(bad)} sample(s) contain NaN or inf "
                        f"(first at index {int(bad[0])}); clean the data before training")


@dataclass(eq=False)
class Dataset:
    """One split of a dataset, ready to train on.

    Attributes
    ----------
    x : float32 array, one row per sample: images ``(N, C, H, W)`` with pixel values in
        [0, 1], sensor windows ``(N, T, C)``, or any other ``(N, ...)`` layout (``layout``)
    y : int64 array, (N,), class labels in ``range(num_classes)``
    name, split : which dataset and split this is
    source : where it was read from (a path, or the package that ships it)
    classes : the class names, ``classes[y[i]]`` names sample ``i``
    """

    x: np.ndarray
    y: np.ndarray
    name: str
    split: str
    source: str
    classes: tuple[str, ...]
    layout: str = "images (N, C, H, W)"

    def __post_init__(self) -> None:
        what = f"dataset {self.name}/{self.split} from {self.source}"
        want_ndim = 4 if self.layout.startswith("images") else None
        if self.x.dtype != np.float32 or self.x.ndim < 2 or (want_ndim and
                                                             self.x.ndim != want_ndim):
            raise DataError(f"{what}: x must be float32 {self.layout}, got {self.x.dtype} "
                            f"{self.x.shape}")
        if self.y.dtype != np.int64 or self.y.shape != (len(self.x),):
            raise DataError(f"{what}: y must be int64 of shape ({len(self.x)},), got "
                            f"{self.y.dtype} {self.y.shape}")
        check_finite(self.x, what)
        if len(self.y) and (self.y.min() < 0 or self.y.max() >= len(self.classes)):
            raise DataError(f"{what}: labels must lie in 0..{len(self.classes) - 1}, found "
                            f"{int(self.y.min())}..{int(self.y.max())}")

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __len__(self) -> int:
        return len(self.x)

    def __repr__(self) -> str:
        return (f"Dataset(name={self.name!r}, split={self.split!r}, x={self.x.shape} "
                f"{self.x.dtype}, y={self.y.shape} {self.y.dtype}, "
                f"num_classes={self.num_classes}, source={self.source!r})")
