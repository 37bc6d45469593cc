"""Plots for the efficiency family (model costs, pruning), drawn from saved CSV files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import _plt, _save, read_csv


def pareto(csv_path: str | Path, *, path: str | Path, title: str = "") -> Path:
    """Test accuracy against MACs (left) and parameters (right), log x, one marker per model
    (legend below); models without an accuracy (not classifiers) are left out. The orange
    steps join the models that no cheaper model beats."""
    plt = _plt()
    d = read_csv(csv_path)
    acc = d["test_accuracy"].astype(float)
    ok = np.flatnonzero(np.isfinite(acc))
    markers = "osD^v<>phX*"
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8))
    for ax, col, xlabel in zip(axes, ("macs", "parameters"),
                               ("MACs per sample (log)", "parameters (log)")):
        x = d[col].astype(float)
        for k, i in enumerate(ok):
            ax.scatter(x[i], 100 * acc[i], marker=markers[k % len(markers)], s=45,
                       color=colours[k % len(colours)], label=str(d["model"][i]))
        order = ok[np.argsort(x[ok])]
        xs, ys = x[order], 100 * acc[order]
        front = [j for j in range(len(xs)) if ys[j] >= np.max(ys[:j + 1])]
        ax.step(xs[front], ys[front], where="post", color="tab:orange", alpha=0.5)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(plt.NullFormatter())
        ax.set_xlabel(xlabel)
        ax.set_ylabel("test accuracy (%)")
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.16, 1, 1))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


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
