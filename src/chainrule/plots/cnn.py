"""Figures for convolutional classifiers, drawn from files a run saved (never during training).

Every function reads saved data, writes a PNG to ``path`` and returns that path; every
figure has a title, every axis a label, every image grid its per-panel labels:

* ``filter_grid(npz, path=...)`` — first-layer conv filters ``(O, C, kh, kw)`` as images;
* ``misclassified_grid(npz, path=...)`` — test images with their true and predicted labels;
* ``confusion_heatmap(csv, path=...)`` — confusion matrix, rows true, columns predicted;
* ``precision_recall_bars(csv, path=...)`` — per-class precision and recall side by side;
* ``ablation_bars(csv, path=...)`` — one bar per ablation stage, with target lines;
* ``series_lines({label: csv}, path=...)`` — one column of many runs' histories, legend aside.

File layouts (written with ``numpy.savez`` / ``RunContext.save_rows``; the helpers
``save_confusion_csv`` and ``save_misclassified`` write the two less obvious ones):

* filters npz: array ``weight`` (O, C, kh, kw);
* misclassified npz: ``images`` (N, C, H, W) or (N, H, W), ``y_true``, ``y_pred`` (N,) int,
  ``classes`` (K,) str, optional ``total`` (how many were misclassified in all);
* confusion csv: column ``true`` (class name) and one column per predicted class name;
* precision/recall csv: columns ``class``, ``precision``, ``recall`` (more are ignored);
* ablation csv: a category column and a value column (names passed in).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from . import _plt, _save, read_csv

# ---------------------------------------------------------------------------- saving helpers

def save_confusion_csv(cm: np.ndarray, classes: Sequence[str], path: str | Path) -> Path:
    """Write a (K, K) confusion matrix as CSV: column ``true`` then one column per class."""
    import csv

    path = Path(path)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["true", *[str(c) for c in classes]])
        for name, row in zip(classes, np.asarray(cm)):
            w.writerow([str(name), *[int(v) for v in row]])
    return path


def read_confusion_csv(path: str | Path) -> tuple[np.ndarray, list[str]]:
    """Inverse of ``save_confusion_csv``: ``(cm int64 (K, K), class names)``."""
    import csv

    # Read as text: class names may look like numbers ("0".."9" for MNIST).
    with open(path, newline="") as fh:
        header, *rows = list(csv.reader(fh))
    names = header[1:]
    cm = np.array([[int(v) for v in r[1:]] for r in rows], dtype=np.int64).reshape(-1, len(names))
    return cm, names


def save_misclassified(path: str | Path, images: np.ndarray, y_true: np.ndarray,
                       y_pred: np.ndarray, classes: Sequence[str], total: int | None = None
                       ) -> Path:
    """Write the misclassified-samples npz read by ``misclassified_grid``.

    ``total`` is how many test images were misclassified in all (default: ``len(images)``),
    so a figure showing a few of them can say of how many.
    """
    path = Path(path)
    np.savez_compressed(path, images=np.asarray(images, dtype=np.float32),
                        total=np.int64(len(images) if total is None else total),
                        y_true=np.asarray(y_true, dtype=np.int64),
                        y_pred=np.asarray(y_pred, dtype=np.int64),
                        classes=np.asarray([str(c) for c in classes]))
    return path


# ---------------------------------------------------------------------------- figures

def _grid(n: int, cols: int | None = None) -> tuple[int, int]:
    cols = cols or max(1, math.ceil(math.sqrt(n)))
    return max(1, math.ceil(n / cols)), cols


def _tiles(images: np.ndarray, cols: int, gap: int, top: int) -> tuple[np.ndarray, int, int]:
    """Tile (N, h, w[, 3]) images into one mosaic with NaN (background) between them.

    Each cell is ``h + top`` rows (``top`` leaves room for a label above the tile) by
    ``w + gap`` columns. Returns the mosaic and the cell height and width. One image on one
    axes draws in a fraction of the time of one axes per tile.
    """
    n, h, w = images.shape[:3]
    rows = max(1, math.ceil(n / cols))
    ch, cw = h + top + gap, w + gap
    mosaic = np.full((rows * ch, cols * cw, *images.shape[3:]), np.nan)
    for i in range(n):
        r, c = divmod(i, cols)
        mosaic[r * ch + top:r * ch + top + h, c * cw:c * cw + w] = images[i]
    return mosaic, ch, cw


def _as_hw(images: np.ndarray) -> np.ndarray:
    """(N, C, H, W) → (N, H, W) for C = 1, (N, H, W, 3) min-max scaled per image for C = 3."""
    x = np.asarray(images, dtype=np.float64)
    if x.ndim == 3:
        return x
    if x.shape[1] == 1:
        return x[:, 0]
    x = x.transpose(0, 2, 3, 1)
    lo = x.min(axis=(1, 2, 3), keepdims=True)
    span = x.max(axis=(1, 2, 3), keepdims=True) - lo
    return (x - lo) / np.where(span > 0, span, 1.0)


def filter_grid(npz_path: str | Path, *, path: str | Path, key: str = "weight",
                title: str = "First convolutional layer's filters",
                cmap: str = "gray") -> Path:
    """Each filter of ``weight`` (O, C, kh, kw) as a small labelled tile, in one mosaic.

    Single-channel filters (multi-channel ones other than RGB are averaged over channels)
    share one symmetric grey scale, so signs and magnitudes compare across tiles (dark
    negative, light positive; colour bar in weight units); 3-channel filters are shown as
    RGB, each min-max scaled to [0, 1].
    """
    plt = _plt()
    with np.load(npz_path, allow_pickle=False) as f:
        w = np.asarray(f[key], dtype=np.float64)
    o, c, kh, kw = w.shape
    _, cols = _grid(o)
    tiles = _as_hw(w) if c in (1, 3) else w.mean(axis=1)
    gap = max(1, kh // 4)
    top = max(2, kh // 2)
    mosaic, ch, cw = _tiles(tiles, cols, gap, top)
    fig, ax = plt.subplots(figsize=(1.1 * cols + 1.6, 1.2 * math.ceil(o / cols) + 0.9))
    if c == 3:
        ax.imshow(np.where(np.isnan(mosaic), 1.0, mosaic), interpolation="nearest")
    else:
        vmax = float(np.abs(w).max()) or 1.0
        cm = plt.get_cmap(cmap).with_extremes(bad="white")
        im = ax.imshow(np.ma.masked_invalid(mosaic), cmap=cm, vmin=-vmax, vmax=vmax,
                       interpolation="nearest")
        fig.colorbar(im, ax=ax, shrink=0.8, label="weight")
    for i in range(o):
        r, cc = divmod(i, cols)
        ax.text(cc * cw + kw / 2 - 0.5, r * ch + top - 0.8, f"{i}", ha="center", va="bottom",
                fontsize=7)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel(f"filters 0–{o - 1}, each {kh}×{kw} (input channels: {c})")
    ax.set_title(f"{title}\n({o} × {c} × {kh} × {kw})", fontsize=10)
    return _save(fig, path)


def misclassified_grid(npz_path: str | Path, *, path: str | Path, max_images: int = 25,
                       title: str = "Misclassified test images") -> Path:
    """Up to ``max_images`` misclassified images in one mosaic, each labelled "true / pred"."""
    plt = _plt()
    with np.load(npz_path, allow_pickle=False) as f:
        images, y_true, y_pred = f["images"], f["y_true"], f["y_pred"]
        classes = [str(c) for c in f["classes"]]
        total = int(f["total"]) if "total" in f.files else len(images)
    n = min(len(images), int(max_images))
    cols = min(5, max(n, 1))
    rows = max(1, math.ceil(n / cols))
    fig, ax = plt.subplots(figsize=(2.0 * cols + 0.4, 2.3 * rows + 0.7))
    if n == 0:
        ax.text(0.5, 0.5, "no misclassified images", ha="center", va="center")
    else:
        tiles = _as_hw(images[:n])
        h, w = tiles.shape[1:3]
        mosaic, ch, cw = _tiles(tiles, cols, gap=max(2, w // 8), top=max(8, h // 2))
        if tiles.ndim == 4:
            ax.imshow(np.where(np.isnan(mosaic), 1.0, mosaic), interpolation="nearest")
        else:
            cm = plt.get_cmap("gray_r").with_extremes(bad="white")
            ax.imshow(np.ma.masked_invalid(mosaic), cmap=cm, interpolation="nearest")
        top = ch - h - max(2, w // 8)
        for i in range(n):
            r, c = divmod(i, cols)
            ax.text(c * cw + w / 2 - 0.5, r * ch + top - 1, f"true: {classes[int(y_true[i])]}"
                    f"\npred: {classes[int(y_pred[i])]}", ha="center", va="bottom",
                    fontsize=7, color="C3")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("each image: true label / predicted label")
    ax.set_title(f"{title} ({n} of {total:,} shown)", fontsize=10)
    return _save(fig, path)


def confusion_heatmap(csv_path: str | Path, *, path: str | Path,
                      title: str = "Confusion matrix", normalize: bool = False) -> Path:
    """Heatmap of a confusion-matrix CSV (rows true, columns predicted), counts in the cells.

    ``normalize=True`` colours each row by its fraction of the true class (recall on the
    diagonal); the numbers written in the cells stay the counts.
    """
    plt = _plt()
    cm, names = read_confusion_csv(csv_path)
    k = len(names)
    shown = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    fig, ax = plt.subplots(figsize=(0.6 * k + 3.5, 0.55 * k + 2.5))
    im = ax.imshow(shown, cmap="Blues", interpolation="nearest")
    fig.colorbar(im, ax=ax, label="fraction of true class" if normalize else "count")
    thresh = float(shown.max()) / 2.0
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(int(cm[i, j])), ha="center", va="center", fontsize=7,
                    color="white" if shown[i, j] > thresh else "black")
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xticklabels(names, rotation=45, ha="right", fontsize=8)
    ax.set_yticklabels(names, fontsize=8)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    return _save(fig, path)


def precision_recall_bars(csv_path: str | Path, *, path: str | Path,
                          title: str = "Per-class precision and recall") -> Path:
    """Grouped bars of per-class ``precision`` and ``recall`` from a saved CSV."""
    plt = _plt()
    cols = read_csv(csv_path)
    names = [str(v) for v in cols["class"]]
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.8 * len(names) + 2), 4))
    ax.bar(x - 0.2, cols["precision"], 0.4, label="precision", color="C0")
    ax.bar(x + 0.2, cols["recall"], 0.4, label="recall", color="C1")
    lo = float(min(cols["precision"].min(), cols["recall"].min()))
    ax.set_ylim(max(0.0, lo - 0.05), 1.0)
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
    ax.set_xlabel("class")
    ax.set_ylabel("score")
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend()
    return _save(fig, path)


def ablation_bars(csv_path: str | Path, *, path: str | Path, x: str = "stage",
                  y: str = "val_accuracy", targets: Sequence[float] = (),
                  xlabel: str = "validation accuracy", title: str = "Ablation",
                  ylabel: str = "stage (each adds one technique)", target_label: str = "target",
                  legend_outside: bool = False) -> Path:
    """Horizontal bars of ``y`` per stage (top to bottom in file order), values written on
    the bars, and a dashed vertical line for each target (e.g. 0.92 and 0.94), labelled
    ``target_label``; ``legend_outside`` puts the legend right of the axes (no bar hidden)."""
    plt = _plt()
    cols = read_csv(csv_path)
    names = [str(v) for v in cols[x]]
    vals = cols[y]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(names) + 1.6))
    pos = np.arange(len(names))[::-1]
    ax.barh(pos, vals, color="C0", label=y.replace("_", " "))
    for p, v in zip(pos, vals):
        ax.text(v, p, f" {100 * v:.2f}%", va="center", fontsize=8)
    for i, t in enumerate(targets):
        ax.axvline(t, color=f"C{3 + i}", ls="--", label=f"{target_label} {100 * t:g}%")
    finite = vals[np.isfinite(vals)]
    lo = float(min([*finite, *targets])) if len(finite) else 0.0
    ax.set_xlim(max(0.0, lo - 0.05), min(1.0, float(max([*finite, *targets], default=1)) + 0.04))
    ax.set_yticks(pos)
    ax.set_yticklabels(names, fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    if legend_outside:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    else:
        ax.legend(fontsize=8, loc="upper right")  # stages improve downwards: the top is free
    return _save(fig, path)


def series_lines(series: Mapping[str, str | Path], *, path: str | Path, y: str = "val_accuracy",
                 x: str = "epoch", ylabel: str = "validation accuracy",
                 title: str = "Validation accuracy per run") -> Path:
    """Column ``y`` against ``x`` of each ``{label: csv}``, legend beside the axes (many runs)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10, 4.2))
    for i, (label, csv_path) in enumerate(series.items()):
        cols = read_csv(csv_path)
        ax.plot(cols[x], cols[y], marker=".", color=f"C{i % 10}",
                ls="-" if i < 10 else "--", label=str(label))
    ax.set_xlabel({"step": "gradient steps"}.get(x, x))
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return _save(fig, path)
