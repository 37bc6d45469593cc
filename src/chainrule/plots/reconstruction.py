"""Image-grid figures for autoencoders, drawn from saved NPZ files (never during training).

* ``reconstruction_grid(npz, path=...)`` — one row of originals, then one row per model;
  npz arrays: ``originals`` (N, 1, H, W) and one array per model ``rec_<model>``
  (N, 1, H, W), plus ``models`` (the model names, in row order).
* ``denoising_grid(npz, path=...)`` — for each noise level: noisy input / output / clean
  target rows; npz arrays ``clean`` (N, 1, H, W), ``levels`` (L,), ``noisy`` and ``output``
  (L, N, 1, H, W).

Values are shown on a fixed [0, 1] grey scale (noisy inputs clipped for display only).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import _plt, _save


def tile(images: Sequence[np.ndarray] | np.ndarray, rows: int, cols: int,
         gap: int = 2) -> np.ndarray:
    """Images (each (H, W) or (1, H, W)) laid row-major on one canvas with ``gap`` pixels of
    white between them (one imshow draws many images much faster than one axis each)."""
    first = np.asarray(images[0])
    h, w = first.shape[-2:]
    canvas = np.ones((rows * (h + gap) - gap, cols * (w + gap) - gap), dtype=np.float32)
    for k, img in enumerate(images[:rows * cols]):
        i, j = divmod(k, cols)
        canvas[i * (h + gap):i * (h + gap) + h, j * (w + gap):j * (w + gap) + w] = \
            np.clip(np.asarray(img, dtype=np.float32).reshape(h, w), 0.0, 1.0)
    return canvas


def _rows(rows: Sequence[tuple[str, np.ndarray]], title: str, path: str | Path) -> Path:
    plt = _plt()
    n = max(len(r[1]) for r in rows)
    h = np.asarray(rows[0][1][0]).shape[-2]
    strips = []
    for _, images in rows:
        strip = tile(images, 1, n)
        if strip.shape[1] < n * (h + 2) - 2:         # a short row: pad with white
            strip = np.pad(strip, ((0, 0), (0, n * (h + 2) - 2 - strip.shape[1])),
                           constant_values=1.0)
        strips += [strip, np.ones((2, strip.shape[1]), dtype=np.float32)]
    canvas = np.concatenate(strips[:-1], axis=0)
    fig, ax = plt.subplots(figsize=(0.8 * n + 1.6, 0.8 * len(rows) + 0.7))
    ax.imshow(canvas, cmap="gray", vmin=0.0, vmax=1.0)
    ax.set_yticks([(h + 2) * i + h / 2 for i in range(len(rows))])
    ax.set_yticklabels([label for label, _ in rows], fontsize=8)
    ax.set_xticks([])
    ax.set_title(title)
    return _save(fig, path)


def reconstruction_grid(npz: str | Path, *, path: str | Path,
                        title: str = "test images (top) and reconstructions") -> Path:
    """Originals over each model's reconstructions of the same test images."""
    with np.load(npz, allow_pickle=False) as d:
        rows = [("original", d["originals"])]
        rows += [(str(m), d[f"rec_{m}"]) for m in d["models"]]
    return _rows(rows, title, path)


def denoising_grid(npz: str | Path, *, path: str | Path,
                   title: str = "denoising: noisy input / output / clean target") -> Path:
    """Noisy input, denoised output and clean target rows for each noise level."""
    with np.load(npz, allow_pickle=False) as d:
        rows = []
        for k, level in enumerate(d["levels"]):
            rows += [(f"noisy σ={float(level):g}", d["noisy"][k]),
                     (f"output σ={float(level):g}", d["output"][k]), ("clean", d["clean"])]
    return _rows(rows, title, path)
