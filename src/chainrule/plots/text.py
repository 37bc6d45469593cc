"""Plots for the sentence-classification family, drawn from saved CSV files."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from . import _plt, _save, read_csv
from . import style as plot_style


def filter_sizes(csv_path: str | Path, *, path: str | Path, title: str = "") -> Path:
    """Test accuracy (left) and training seconds per epoch (right) by filter size.

    Both bar axes start at 0; each accuracy bar is labelled with its value, so differences of a
    point or two stay readable without a truncated axis."""
    plt = _plt()
    d = read_csv(csv_path)
    labels = [str(s) for s in d["sizes"]]
    acc = 100 * d["test_accuracy"].astype(float)
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
    bars = a.bar(labels, acc, color="#0072B2")
    a.bar_label(bars, labels=[f"{v:.1f}" for v in acc], fontsize=8)
    a.set_ylim(0, 100)
    a.set_xlabel("filter size(s)")
    a.set_ylabel("test accuracy (%)")
    b.bar(labels, d["seconds_per_epoch"].astype(float), color="#E69F00")
    b.set_ylim(0, None)
    b.set_xlabel("filter size(s)")
    b.set_ylabel("CPU s per epoch")
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def grouped_curves(groups: Mapping[str, Mapping[str, str | Path]], *, path: str | Path,
                   metric: str = "accuracy", title: str = "") -> Path:
    """One panel per group of models: validation ``metric`` (solid) and training ``metric``
    (dashed, a running mean over each epoch) against epoch, markers on every point, integer
    epoch ticks, one legend per panel below its axes."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(groups), figsize=(4.4 * len(groups), 4.8), squeeze=False,
                             layout="constrained")
    for ax, (group, series) in zip(axes[0], groups.items()):
        epochs: set[int] = set()
        for i, (label, csv_path) in enumerate(series.items()):
            cols = read_csv(csv_path)
            x = cols["epoch"].astype(int)
            epochs.update(x.tolist())
            for prefix, style, kind in (("val_", "-", "validation"), ("", "--", "training")):
                y = cols.get(prefix + metric)
                if y is not None and np.isfinite(y).any():
                    ax.plot(x, y, style, marker="o", ms=4, color=f"C{i}",
                            label=f"{label} ({kind})")
        ax.set_xticks(sorted(epochs))
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_title(group)
        ax.grid(alpha=0.3)
        plot_style.legend_below(ax, ncol=1)
    fig.suptitle(title)
    return _save(fig, path)
