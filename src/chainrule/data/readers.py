"""Turn located files (or a package's bundled data) into a validated ``Dataset``.

Each reader checks what it reads against the dataset's spec (image size, label
range, matching counts) and reports problems as ``DataError`` naming the file.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from .dataset import Dataset
from .errors import DataError
from .idx import read_bytes, read_idx
from .registry import DIGITS_SEED, DIGITS_TEST_SIZE, MNIST5K_SEED, DatasetSpec


def _to_unit_nchw(images: np.ndarray, max_value: float) -> np.ndarray:
    """(N, H, W) integers in [0, max_value] -> float32 (N, 1, H, W) in [0, 1]."""
    # One pass, computed in float32 (same values as astype(float32) / max_value).
    return np.true_divide(images.reshape(len(images), 1, *images.shape[1:]),
                          np.float32(max_value), dtype=np.float32)


def read_idx_split(spec: DatasetSpec, split: str, images_path: Path, labels_path: Path,
                   source: str) -> Dataset:
    """Read an images/labels IDX pair and check that they describe the same samples."""
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != spec.image_shape:
        h, w = spec.image_shape
        raise DataError(f"{images_path}: expected uint8 images of shape (N, {h}, {w}) for "
                        f"{spec.name}, found {images.dtype} {images.shape}")
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise DataError(f"{labels_path}: expected a 1-d uint8 label file, found "
                        f"{labels.dtype} {labels.shape}")
    if len(images) != len(labels):
        raise DataError(f"{images_path} holds {len(images)} images but {labels_path} holds "
                        f"{len(labels)} labels: the files do not belong together")
    if len(labels) and labels.max() >= len(spec.classes):
        raise DataError(f"{labels_path}: label {int(labels.max())} is out of range for "
                        f"{spec.name} ({len(spec.classes)} classes)")
    return Dataset(_to_unit_nchw(images, 255), labels.astype(np.int64), spec.name, split, source,
                   spec.classes)


def read_mnist5k_csv(spec: DatasetSpec, path: Path, source: str) -> Dataset:
    """Read ``mnist_5k.csv.gz``: rows of 784 pixels (0–255) then the label; shuffled by seed."""
    text = read_bytes(path).decode("ascii", errors="replace")
    try:
        table = np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.int64, ndmin=2)
    except ValueError as err:
        raise DataError(f"{path}: not a valid CSV of integers ({err})") from err
    h, w = spec.image_shape
    if table.shape[1] != h * w + 1 or len(table) == 0:
        raise DataError(f"{path}: expected rows of {h * w} pixels and a label "
                        f"({h * w + 1} columns), found a table of shape {table.shape}")
    pixels, labels = table[:, :-1], table[:, -1]
    if pixels.min() < 0 or pixels.max() > 255:
        raise DataError(f"{path}: pixel values must lie in 0..255, found "
                        f"{int(pixels.min())}..{int(pixels.max())}")
    if labels.min() < 0 or labels.max() >= len(spec.classes):
        raise DataError(f"{path}: labels must lie in 0..{len(spec.classes) - 1}, found "
                        f"{int(labels.min())}..{int(labels.max())}")
    # The file is sorted by class; a fixed seed gives every machine the same shuffled order.
    order = np.random.default_rng(MNIST5K_SEED).permutation(len(table))
    x = _to_unit_nchw(pixels[order].reshape(-1, h, w), 255)
    return Dataset(x, labels[order], spec.name, "train", source, spec.classes)


def digits_split_indices(y: np.ndarray) -> dict[str, np.ndarray]:
    """The fixed, stratified train/test indices of the digits dataset (seed ``DIGITS_SEED``)."""
    from .loader import split_indices  # lazy: loader imports nothing from here

    train, test = split_indices(y, DIGITS_TEST_SIZE, np.random.default_rng(DIGITS_SEED),
                                stratify=True)
    return {"train": train, "test": test}


def read_sklearn_digits(spec: DatasetSpec, split: str, source: str) -> Dataset:
    """scikit-learn's 8x8 digits (imported here, lazily: importing sklearn takes about a second)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images, labels = np.asarray(bunch.images), np.asarray(bunch.target, dtype=np.int64)
    idx = digits_split_indices(labels)[split]
    x = _to_unit_nchw(images[idx], 16)
    return Dataset(x, labels[idx], spec.name, split, source, spec.classes)
