"""Plots for the keyword-spotting family, drawn from saved files: condition bars per recipe,
one batch (waveforms, log-mels, what was applied) and the batch-generation diagram."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import _plt, _save, read_csv


def condition_bars(csv_path: str | Path, *, path: str | Path, conditions: Sequence[str],
                   labels: Sequence[str], title: str = "") -> Path:
    """Horizontal bars: one group per recipe (rows of the CSV: key, recipe, condition, mean,
    std), one bar per condition, whiskers = std over folds; values in percent."""
    plt = _plt()
    d = read_csv(csv_path)
    recipes = list(dict.fromkeys(str(r) for r in d["recipe"]))
    k = len(conditions)
    fig, ax = plt.subplots(figsize=(8.5, 0.32 * len(recipes) * max(k, 2) / 2 + 1.6))
    h = 0.8 / k
    for j, (c, lab) in enumerate(zip(conditions, labels)):
        m = np.array([float(d["mean"][(d["recipe"] == r) & (d["condition"] == c)][0])
                      for r in recipes])
        s = np.array([float(d["std"][(d["recipe"] == r) & (d["condition"] == c)][0])
                      for r in recipes])
        y = np.arange(len(recipes)) + (j - (k - 1) / 2) * h
        ax.barh(y, 100 * m, height=h, xerr=100 * s, label=lab, capsize=2)
    ax.set_yticks(np.arange(len(recipes)), recipes)
    ax.invert_yaxis()
    ax.set_xlabel("percent")
    ax.set_xlim(0, 100)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=k,
              frameon=False)                   # above the axes: bars reach 100%
    ax.set_title(title, pad=20)
    return _save(fig, path)


def _describe(a: dict, rate: int) -> str:
    if a.get("kind") == "silence":
        return f"noise alone, vol {a['background_volume']:.2f}"
    bits = ["synthetic" if a.get("synthetic") else "real",
            f"gain {a['gain']:.2f}", f"shift {a['shift'] * 1000 / rate:+.0f} ms"]
    bits.append(f"noise {a['background_volume']:.3f}" if a["background_volume"] else "no noise")
    return ", ".join(bits)


def batch_grid(npz_path: str | Path, *, path: str | Path, rate: int = 8000) -> Path:
    """Each clip of a saved batch: waveform above its log-mel, titled with its label and
    what the generator applied (kind, real/synthetic, gain, shift, noise volume)."""
    plt = _plt()
    with np.load(npz_path, allow_pickle=False) as f:
        x, y, feats, names = f["x"], f["y"], f["features"], [str(s) for s in f["names"]]
        applied = json.loads(str(f["applied"]))
    n = len(x)
    cols = min(3, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(2 * rows, cols, figsize=(3.4 * cols, 3.3 * rows), squeeze=False)
    t = np.arange(x.shape[1]) / rate
    for i in range(rows * cols):
        a, b = axes[2 * (i // cols), i % cols], axes[2 * (i // cols) + 1, i % cols]
        if i >= n:
            a.axis("off")
            b.axis("off")
            continue
        a.plot(t, x[i], lw=0.5)
        a.set_ylim(-1, 1)
        a.set_title(f"{names[int(y[i])]}\n{_describe(applied[i], rate)}", fontsize=7)
        a.tick_params(labelsize=6)
        b.imshow(feats[i].T, origin="lower", aspect="auto", cmap="magma",
                 extent=(0, 1, 0, feats.shape[2]))
        b.set_xlabel("s", fontsize=6)
        b.set_ylabel("mel band", fontsize=6)
        b.tick_params(labelsize=6)
    return _save(fig, path)


STEPS = [
    ("draw", ("draw the clip's kind\nsilence p  |  unknown p  |  keyword\n(uniform per class or "
             "as found)")),
    ("place", "resample to 8 kHz, zero-pad\nto 1 s (centred)"),
    ("gain", "amplitude scaling\nx · U(gain_low, gain_high)"),
    ("shift", "time shift ±time_shift_ms\nzero fill, same length"),
    ("noise", ("with prob. background_frequency:\n+ U(0, background_volume) · noise\n"
              "(silence: U(0, 1) · noise only)")),
    ("clip", "clip to [−1, 1]"),
    ("feat", "log-mel 30 ms / 10 ms / 40 bands\n→ standardise → CNN"),
]


def batch_diagram(*, path: str | Path) -> Path:
    """Boxes and arrows: the order in which ``AudioProcessor.get_data`` forms each clip."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 7.2))
    ax.axis("off")
    ys = np.linspace(0.93, 0.07, len(STEPS))
    for i, ((_, text), yv) in enumerate(zip(STEPS, ys)):
        ax.text(0.5, yv, text, ha="center", va="center", fontsize=9,
                bbox={"boxstyle": "round,pad=0.5", "fc": "#e8f0fb" if i else "#fdebd3",
                      "ec": "#3a6ea5"}, transform=ax.transAxes)
        if i:
            ax.annotate("", xy=(0.5, yv + 0.045), xytext=(0.5, ys[i - 1] - 0.05),
                        xycoords="axes fraction",
                        arrowprops={"arrowstyle": "->", "color": "#3a6ea5"})
    ax.text(0.02, 0.5, "repeated for each of\nbatch_size clips,\nevery training step\n"
                       "(seeded Generator)", fontsize=8, va="center", transform=ax.transAxes,
            color="#555")
    ax.set_title("Batch generation (speech_commands AudioProcessor.get_data)")
    return _save(fig, path)
