"""Figures drawn from saved files (CSV histories and tables), never during training.

matplotlib is imported lazily with the non-interactive Agg backend, so importing
chainrule never needs a display or matplotlib itself. Every function takes the saved
data (paths, or a ``{label: path}`` mapping), writes a PNG to ``path``, and gives each
axis a label, each figure a title and each plot a legend.

The package holds one module per family of figures; this module holds the shared helpers
(``read_csv``, ``_plt``, ``_save``) and the generic curves and bars:

* ``chainrule.plots`` — ``training_curves``, ``grouped_lines``, ``bars``, ``metric_curves``;
* ``chainrule.plots.cnn`` — filters, misclassified grids, confusion matrices, ablations.

New families (sequences, generative models, audio, pruning) add a module here, e.g.
``chainrule/plots/audio.py``, importing the helpers from ``chainrule.plots``.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from . import style as plot_style  # not ``style``: grouped_lines has an argument of that name


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def read_csv(path: str | Path) -> dict[str, np.ndarray]:
    """Columns of a CSV as arrays: float64 where every value parses as a number, else str."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    cols: dict[str, np.ndarray] = {}
    for key in (rows[0].keys() if rows else []):
        vals = [r[key] for r in rows]
        try:
            cols[key] = np.array([float(v) if v != "" else np.nan for v in vals], dtype=np.float64)
        except ValueError:
            cols[key] = np.array(vals, dtype=object)
    return cols


def _save(fig: Any, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fig.get_layout_engine() is None:        # figures made with layout="constrained" keep it
        fig.tight_layout()
    fig.savefig(path, dpi=90)
    _plt().close(fig)
    return path


def training_curves(series: Mapping[str, str | Path], *, path: str | Path, x: str = "step",
                    title: str = "Training and validation curves") -> Path:
    """Loss (left) and accuracy (right) against ``x`` for each ``{label: history_csv}``.

    Training columns ``loss``/``accuracy`` are solid, validation ``val_loss``/
    ``val_accuracy`` dashed, one colour per label; markers when a series has few points,
    whole-number ticks for epochs, the legend under the panels.
    """
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), layout="constrained")
    xlabel = {"step": "gradient steps", "epoch": "epoch"}.get(x, x)
    xs: list[np.ndarray] = []
    for i, (label, csv_path) in enumerate(series.items()):
        cols = read_csv(csv_path)
        xs.append(np.asarray(cols[x], dtype=float))
        for ax, metric in zip(axes, ("loss", "accuracy")):
            for prefix, ls, kind in (("", "-", "training, running mean"),
                                     ("val_", "--", "validation")):
                y = cols.get(prefix + metric)
                if y is not None and np.isfinite(y).any():
                    n = int(np.isfinite(y).sum())
                    ax.plot(cols[x], y, ls, color=plot_style.colour(i),
                            marker=plot_style.marker_for(n), ms=4, label=f"{label} ({kind})")
    for ax, metric in zip(axes, ("cross-entropy loss", "accuracy")):
        ax.set_xlabel(xlabel)
        ax.set_ylabel(metric)
        ax.set_title(f"{metric.capitalize()} against {xlabel}")
        ax.grid(alpha=0.3)
        if x in ("epoch", "step"):
            plot_style.integer_ticks(ax, "x", np.concatenate(xs) if xs else None)
    plot_style.figure_legend(fig, axes[0], ncol=2)   # one legend for both panels, below them
    fig.suptitle(title)
    return _save(fig, path)


def grouped_lines(csv_path: str | Path, *, path: str | Path, x: str, y: str, group: str,
                  xlabel: str, ylabel: str, title: str, logy: bool = False,
                  panel: str | None = None, style: Mapping[str, str] | None = None) -> Path:
    """One line of ``y`` against ``x`` per value of column ``group`` (one subplot per ``panel``).

    ``style`` maps a group value to a matplotlib format string (e.g. ``"--"``).
    """
    plt = _plt()
    cols = read_csv(csv_path)
    panels = list(dict.fromkeys(cols[panel])) if panel else [None]
    fig, axes = plt.subplots(1, len(panels), figsize=(max(7.0, 4.6 * len(panels)), 5.0),
                             squeeze=False, layout="constrained")
    xs = np.asarray(cols[x], dtype=float)
    whole = bool(np.all(np.isfinite(xs)) and np.all(xs == np.round(xs)))
    for ax, pv in zip(axes[0], panels):
        sel = np.ones(len(cols[x]), dtype=bool) if pv is None else cols[panel] == pv
        for i, g in enumerate(dict.fromkeys(cols[group][sel])):
            m = sel & (cols[group] == g)
            ls = (style or {}).get(str(g), "-")
            if logy:        # exact zeros (underflow) shown on the bottom edge, never dropped
                plot_style.log_with_zeros(ax, cols[x][m], cols[y][m], label=_label(g),
                                          color=plot_style.colour(i), ls=ls)
            else:
                ax.plot(cols[x][m], cols[y][m], ls, color=plot_style.colour(i),
                        label=_label(g), marker="o", ms=3)
        if whole:
            plot_style.integer_ticks(ax, "x", xs[sel])
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(f"{title} — {pv}" if pv is not None else title, fontsize=10)
        ax.grid(alpha=0.3)
        plot_style.legend_below(ax, ncol=1 if len(panels) > 1 else 2)
    return _save(fig, path)


def _label(value: Any) -> str:
    """A legend/tick label: ``1.0`` → ``"1"``, other values as they are."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def bars(csv_path: str | Path, *, path: str | Path, x: str, y: str, xlabel: str, ylabel: str,
         title: str, series_label: str = "value", ylim: tuple[float, float] | None = None) -> Path:
    """A labelled bar chart of column ``y`` against category column ``x`` of a saved CSV."""
    plt = _plt()
    cols = read_csv(csv_path)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar([_label(v) for v in cols[x]], cols[y], color=plot_style.colour(0), label=series_label)
    if ylim is not None:
        ax.set_ylim(*ylim)
    plot_style.zero_based(ax)          # bar lengths compare only from a zero baseline
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    ax.tick_params(axis="x", rotation=30)
    return _save(fig, path)


def metric_curves(series: Mapping[str, str | Path], *, path: str | Path, metric: str,
                  title: str, ylabel: str, x: str = "step", validation: bool = True,
                  hline: float | None = None, hline_label: str = "",
                  logx: bool = False) -> Path:
    """One panel: column ``metric`` (training, solid) and ``val_<metric>`` (validation,
    dashed) against ``x`` for each ``{label: history_csv}``, one colour per label, with an
    optional horizontal reference line at ``hline`` (e.g. a threshold); ``logx`` for runs
    whose length differs by orders of magnitude (an early speed-up stays visible)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 5.2))
    for i, (label, csv_path) in enumerate(series.items()):
        cols = read_csv(csv_path)
        kinds = (("", "-", "train"), ("val_", "--", "validation")) if validation else \
            (("", "-", "train"),)
        for prefix, ls, kind in kinds:
            y = cols.get(prefix + metric)
            if y is not None and np.isfinite(y).any():
                ax.plot(cols[x], y, ls, color=plot_style.colour(i), label=f"{label} ({kind})",
                        marker=plot_style.marker_for(int(np.isfinite(y).sum())), ms=4)
    if hline is not None:
        ax.axhline(hline, color="0.3", lw=0.8, ls=":", label=hline_label or f"{hline:g}")
    if logx:
        ax.set_xscale("log")
    elif x in ("epoch", "step"):
        plot_style.integer_ticks(ax, "x")
    ax.set_xlabel({"step": "gradient steps", "epoch": "epoch"}.get(x, x)
                  + (" (log scale)" if logx else ""))
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    plot_style.legend_below(ax)
    return _save(fig, path)
