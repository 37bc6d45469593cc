"""Plots for the efficiency family (model costs, pruning), drawn from saved CSV files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import _plt, _save, read_csv


def pareto(csv_path: str | Path, *, path: str | Path, title: str = "") -> Path:
    """Test accuracy against MACs (left) and parameters (right), log x, one labelled point
    per model; models without an accuracy (not classifiers) are left out."""
    plt = _plt()
    d = read_csv(csv_path)
    acc = d["test_accuracy"].astype(float)
    ok = np.isfinite(acc)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, col, xlabel in zip(axes, ("macs", "parameters"),
                               ("MACs per sample (log)", "parameters (log)")):
        x = d[col].astype(float)
        ax.scatter(x[ok], 100 * acc[ok], color="tab:blue")
        for xi, yi, name in zip(x[ok], 100 * acc[ok], d["model"][ok]):
            ax.annotate(str(name), (xi, yi), fontsize=7, xytext=(3, 3),
                        textcoords="offset points")
        order = np.argsort(x[ok])
        xs, ys = x[ok][order], 100 * acc[ok][order]
        front = [i for i in range(len(xs)) if ys[i] >= np.max(ys[:i + 1])]
        ax.step(xs[front], ys[front], where="post", color="tab:orange", alpha=0.6,
                label="Pareto front")
        ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("test accuracy (%)")
        ax.legend(loc="lower right")
    fig.suptitle(title)
    return _save(fig, path)


def memory_per_layer(csv_path: str | Path, *, path: str | Path, batch: int = 256,
                     title: str = "") -> Path:
    """Per layer: activation memory for ``batch`` samples against parameter memory (MiB)."""
    plt = _plt()
    d = read_csv(csv_path)
    y = np.arange(len(d["layer"]))
    mib = 1024.0 ** 2
    fig, ax = plt.subplots(figsize=(7.5, 0.35 * len(y) + 1.8))
    ax.barh(y - 0.2, d["activation_bytes"].astype(float) * batch / mib, 0.4,
            label=f"activations (output, batch {batch})", color="tab:blue")
    ax.barh(y + 0.2, d["param_bytes"].astype(float) / mib, 0.4, label="weights",
            color="tab:orange")
    ax.set_yticks(y, [str(s) for s in d["layer"]])
    ax.invert_yaxis()
    ax.set_xlabel("MiB (float32)")
    ax.legend(loc="lower right")
    ax.set_title(title)
    return _save(fig, path)


def pruning_curves(csv_path: str | Path, *, path: str | Path, title: str = "") -> Path:
    """Accuracy against the fraction removed, one colour per criterion, one panel per model;
    solid after retraining, dashed without."""
    plt = _plt()
    d = read_csv(csv_path)
    models = list(dict.fromkeys(d["model"]))
    crits = list(dict.fromkeys(d["criterion"]))
    colours = dict(zip(crits, plt.rcParams["axes.prop_cycle"].by_key()["color"] * 3))
    fig, axes = plt.subplots(1, len(models), figsize=(5.5 * len(models), 4.2), squeeze=False)
    for ax, model in zip(axes[0], models):
        for crit in crits:
            for retrained, style in ((True, "-"), (False, "--")):
                sel = (d["model"] == model) & (d["criterion"] == crit) & \
                      (d["retrained"].astype(str) == str(retrained))
                if not sel.any():
                    continue
                order = np.argsort(d["fraction"][sel].astype(float))
                ax.plot(100 * d["fraction"][sel].astype(float)[order],
                        100 * d["test_accuracy"][sel].astype(float)[order], style, marker="o",
                        ms=3, color=colours[crit], label=crit if retrained else None)
        ax.set_xlabel("units (or, for magnitude, weights) removed (%)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"{model} (solid: retrained, dashed: not)")
        ax.legend(fontsize=7, loc="lower left")
    fig.suptitle(title)
    return _save(fig, path)


def size_and_time(csv_path: str | Path, *, path: str | Path, title: str = "") -> Path:
    """File size (left) and inference time at batch 256 (right) per model variant."""
    plt = _plt()
    d = read_csv(csv_path)
    labels = [str(s) for s in d["variant"]]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 0.45 * len(labels) + 2))
    y = np.arange(len(labels))
    a.barh(y, d["file_bytes"].astype(float) / 1024.0, color="tab:blue")
    a.set_yticks(y, labels)
    a.invert_yaxis()
    a.set_xlabel("model file (KiB)")
    b.barh(y, 1000 * d["latency_b256_s"].astype(float), color="tab:orange")
    b.set_yticks(y, labels)
    b.invert_yaxis()
    b.set_xlabel("inference, batch 256 (ms, median)")
    fig.suptitle(title)
    return _save(fig, path)
