"""Plots for the sentence-classification family, drawn from saved CSV files."""

from __future__ import annotations

from pathlib import Path

from . import _plt, _save, read_csv


def filter_sizes(csv_path: str | Path, *, path: str | Path, title: str = "") -> Path:
    """Test accuracy (left) and training seconds per epoch (right) by filter size."""
    plt = _plt()
    d = read_csv(csv_path)
    labels = [str(s) for s in d["sizes"]]
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
    a.bar(labels, 100 * d["test_accuracy"].astype(float), color="tab:blue")
    a.set_ylim(max(0, 100 * float(d["test_accuracy"].astype(float).min()) - 5), None)
    a.set_xlabel("filter size(s)")
    a.set_ylabel("test accuracy (%)")
    b.bar(labels, d["seconds_per_epoch"].astype(float), color="tab:orange")
    b.set_xlabel("filter size(s)")
    b.set_ylabel("CPU s per epoch")
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)
