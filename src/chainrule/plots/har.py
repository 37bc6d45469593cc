"""Plots for the human-activity-recognition family (har-architectures, f1-vs-cross-entropy),
drawn from saved CSV files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import _plt, _save, read_csv

_MARKERS = ("o", "s", "^", "D", "v", "P")


def f1_vs_cost(csv_path: str | Path, *, path: str | Path, y: str = "test_f1",
               title: str = "") -> Path:
    """Macro-F1 against parameters (log scale, left) and training CPU seconds per epoch (right;
    wall seconds when the CSV has no ``train_cpu_s_per_epoch``):
    one marker per model × variation (colour = model, shape = variation), labelled."""
    plt = _plt()
    d = read_csv(csv_path)
    models = list(dict.fromkeys(str(m) for m in d["model"]))
    variations = list(dict.fromkeys(str(v) for v in d["variation"]))
    fig, axes = plt.subplots(1, 2, figsize=(13.5, 4.8), sharey=True)
    cost = ("train_cpu_s_per_epoch", "training CPU seconds per epoch") \
        if "train_cpu_s_per_epoch" in d else ("train_s_per_epoch", "training seconds per epoch")
    for ax, x, xlabel in ((axes[0], "parameters", "parameters (log scale)"), (axes[1], *cost)):
        for i in range(len(d["model"])):
            m, v = str(d["model"][i]), str(d["variation"][i])
            ax.scatter(float(d[x][i]), float(d[y][i]), s=45,
                       color=f"C{models.index(m)}", marker=_MARKERS[variations.index(v) % 6],
                       label=f"{m} / {v}")
            ax.annotate(f"{m}/{v}", (float(d[x][i]), float(d[y][i])), fontsize=6,
                        xytext=(3, 3), textcoords="offset points")
        if x == "parameters":
            ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"{y.replace('_', ' ')} (macro-F1)")
    handles, labels = axes[0].get_legend_handles_labels()
    axes[1].legend(handles, labels, fontsize=6, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.suptitle(title or "Macro-F1 against cost")
    return _save(fig, path)


def per_class_f1(csv_path: str | Path, *, path: str | Path, title: str = "") -> Path:
    """Grouped bars: per-class F1 (rows ``class``) of each model (the other columns)."""
    plt = _plt()
    d = read_csv(csv_path)
    names = [str(c) for c in d["class"]]
    models = [k for k in d if k != "class"]
    x = np.arange(len(names))
    w = 0.8 / max(len(models), 1)
    fig, ax = plt.subplots(figsize=(max(7.0, 1.2 * len(names) + 2), 4.2))
    for i, m in enumerate(models):
        ax.bar(x + (i - (len(models) - 1) / 2) * w, d[m], w, label=m, color=f"C{i}")
    lo = min(float(np.nanmin(d[m])) for m in models)
    ax.set_ylim(max(0.0, lo - 0.05), 1.0)
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=25, ha="right", fontsize=8)
    ax.set_xlabel("activity")
    ax.set_ylabel("F1 (test set)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(title or "Per-class F1")
    return _save(fig, path)


def f1_ce_curves(csv_path: str | Path, *, path: str | Path, title: str = "") -> Path:
    """Per set (training, validation): cross-entropy (left axis) and minority-class F1 (right
    axis) per epoch; an epoch → epoch + 1 step where cross-entropy fell while F1 fell is
    shaded red (columns ``<set>_ce``, ``<set>_f1``, ``<set>_disagree`` = 1 at such epochs)."""
    plt = _plt()
    d = read_csv(csv_path)
    ep = d["epoch"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    for ax, s, name in ((axes[0], "train", "training set"), (axes[1], "val", "validation set")):
        for e in ep[d[f"{s}_disagree"] > 0]:
            ax.axvspan(e, e + 1, color="red", alpha=0.15, lw=0)
        ax.plot(ep, d[f"{s}_ce"], color="C0", marker=".", label="cross-entropy")
        ax.set_xlabel("epoch")
        ax.set_ylabel("cross-entropy (mean per window)", color="C0")
        tw = ax.twinx()
        tw.plot(ep, d[f"{s}_f1"], color="C1", marker=".", label="F1 of the minority class")
        tw.set_ylabel("F1 (minority class)", color="C1")
        n = int((d[f"{s}_disagree"] > 0).sum())
        ax.set_title(f"{name}: {n} step(s) with CE ↓ and F1 ↓ (shaded)")
        lines = ax.get_lines()[:1] + tw.get_lines()[:1]
        ax.legend(lines, [ln.get_label() for ln in lines], fontsize=8, loc="center right")
        ax.grid(alpha=0.3)
    fig.suptitle(title or "Cross-entropy and F1 per epoch")
    return _save(fig, path)
