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


def _rows(rows: Sequence[tuple[str, np.ndarray]], title: str, path: str | Path) -> Path:
    plt = _plt()
    n = max(len(r[1]) for r in rows)
    fig, axes = plt.subplots(len(rows), n, figsize=(1.0 * n + 1.2, 1.05 * len(rows) + 0.5),
                             squeeze=False)
    for i, (label, images) in enumerate(rows):
        for j in range(n):
            ax = axes[i][j]
            ax.set_xticks([])
            ax.set_yticks([])
            if j < len(images):
                img = np.asarray(images[j], dtype=np.float32).reshape(images[j].shape[-2:])
                ax.imshow(np.clip(img, 0.0, 1.0), cmap="gray", vmin=0.0, vmax=1.0)
            if j == 0:
                ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    fig.suptitle(title)
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
