"""Figures for latent-variable models (VAEs), drawn from saved CSV/NPZ files.

* ``epoch_panels(csvs, columns, path=...)`` — one panel per column (e.g. ELBO, reconstruction,
  KL), one line per labelled CSV, against the ``epoch`` column;
* ``manifold(npz, path=...)`` — the decoded grid of a 2-D latent space: npz ``images``
  (G, G, H, W), ``grid`` (G,) the latent coordinates along each axis;
* ``latent_scatter(npz, path=...)`` — encoder means of test images coloured by class:
  npz ``z`` (N, 2), ``y`` (N,), ``classes`` (C,);
* ``image_tiles(npz, path=...)`` — a square tiling of ``images`` (N, H, W) (e.g. samples
  from the prior) on a fixed [0, 1] grey scale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from . import _plt, _save, read_csv
from .reconstruction import tile


def epoch_panels(csvs: Mapping[str, str | Path], columns: Sequence[str], *, path: str | Path,
                 labels: Sequence[str] | None = None, title: str = "",
                 styles: Mapping[str, str] | None = None,
                 splits: Sequence[str] = ("",)) -> Path:
    """One panel per column of the CSVs against ``epoch``; one line per CSV and split
    (``splits=("train_", "test_")`` draws ``train_<column>`` solid, ``test_<column>``
    dashed)."""
    from .style import colour, integer_ticks, legend_below

    plt = _plt()
    fig, axes = plt.subplots(1, len(columns), figsize=(4.2 * len(columns), 3.9), squeeze=False)
    tables = {name: read_csv(p) for name, p in csvs.items()}       # each file read once
    for ax, col, lab in zip(axes[0], columns, labels or columns):
        epochs: list[float] = []
        for i, (name, d) in enumerate(tables.items()):
            for k, sp in enumerate(splits):
                if f"{sp}{col}" in d:
                    style = (styles or {}).get(name, "-o" if k == 0 else "--x")
                    ax.plot(d["epoch"], d[f"{sp}{col}"], style, ms=4,
                            color=colour(i * len(splits) + k),
                            label=f"{name} {sp.rstrip('_')}".strip())
                    epochs += list(d["epoch"])
        ax.set_xlabel("epoch")
        ax.set_ylabel(lab)
        ax.set_title(lab, fontsize=9)
        ax.grid(alpha=0.3)
        integer_ticks(ax, "x", values=epochs)
        legend_below(ax, ncol=2)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def manifold(npz: str | Path, *, path: str | Path, title: str = "decoded 2-D latent grid") -> Path:
    """The decoder's mean image at each point of a regular grid in a 2-D latent space."""
    plt = _plt()
    with np.load(npz, allow_pickle=False) as d:
        images, grid = d["images"], d["grid"]
    g, h, w = images.shape[0], images.shape[-2], images.shape[-1]
    canvas = np.ones((g * h, g * w), dtype=np.float32)
    for i in range(g):              # row i: z₂ = grid[g − 1 − i] (top is the largest z₂)
        for j in range(g):
            canvas[i * h:(i + 1) * h, j * w:(j + 1) * w] = images[g - 1 - i, j]
    fig, ax = plt.subplots(figsize=(6.4, 6.4))
    lo, hi = float(grid[0]), float(grid[-1])
    ax.imshow(np.clip(canvas, 0, 1), cmap="gray", vmin=0, vmax=1, extent=(lo, hi, lo, hi))
    ax.set_xlabel("z₁")
    ax.set_ylabel("z₂")
    ax.set_title(title)
    return _save(fig, path)


def latent_scatter(npz: str | Path, *, path: str | Path,
                   title: str = "test images' encoder means") -> Path:
    """Encoder means (z₁, z₂) of test images, one colour per class."""
    plt = _plt()
    with np.load(npz, allow_pickle=False) as d:
        z, y, classes = d["z"], d["y"], [str(c) for c in d["classes"]]
    fig, ax = plt.subplots(figsize=(7.2, 5.6))
    cmap = plt.get_cmap("tab10")    # ten classes: tab10's ten distinct colours
    for k, name in enumerate(classes):
        m = y == k
        ax.scatter(z[m, 0], z[m, 1], s=3, alpha=0.6, color=cmap(k % 10), label=name)
    ax.set_xlabel("μ₁")
    ax.set_ylabel("μ₂")
    ax.set_title(title)
    ax.legend(markerscale=4, fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5),
              frameon=False)
    return _save(fig, path)


def image_tiles(npz: str | Path, *, path: str | Path, title: str = "samples") -> Path:
    """``images`` (N, H, W) tiled in a square on a fixed [0, 1] grey scale."""
    plt = _plt()
    with np.load(npz, allow_pickle=False) as d:
        images = d["images"]
    n = len(images)
    cols = int(np.ceil(np.sqrt(n)))
    rows = -(-n // cols)
    fig, ax = plt.subplots(figsize=(0.55 * cols + 0.8, 0.55 * rows + 0.8))
    ax.imshow(tile(images, rows, cols), cmap="gray", vmin=0, vmax=1)
    ax.axis("off")
    ax.set_title(title)
    return _save(fig, path)
