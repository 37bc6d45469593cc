"""HAPT windows for the HAR experiments: subject-wise splits, standardised from training only.

``load_har(ctx, labels)`` reads ``hapt`` (``chainrule.data.hapt``: 100-sample windows with
stride 50 inside single labelled segments; test users = the official UCI HAR test subjects,
4 seeded validation users), standardises every channel with the **training** windows' mean
and std, records the data source and the counts per split and class (``ctx.add_source``,
``ctx.log``), and returns the arrays. ``n_train``/``n_eval`` subsample (quick presets only)
with ``ctx.rng`` after the split, so a subject still never appears in two splits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..context import RunContext


@dataclass
class HarData:
    """Standardised windows ``(N, 100, 6)`` float32 and int64 labels per split."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]
    users: dict[str, list[int]]        # split → sorted users present
    counts: dict[str, list[int]]       # split → windows per class (after any subsampling)


def _take(x, y, u, n: int, rng: np.random.Generator):
    if not n or n >= len(x):
        return x, y, u
    idx = np.sort(rng.permutation(len(x))[:n])
    return x[idx], y[idx], u[idx]


def load_har(ctx: RunContext, labels: str = "6", *, n_train: int = 0,
             n_eval: int = 0) -> HarData:
    """Load, subsample (quick presets), standardise and describe the three splits."""
    from ...data import hapt

    arrays, classes, source = {}, (), ""
    for split in hapt.SPLITS:
        w, source = hapt.load_windows(split, labels)   # e.g. "$CHAINRULE_DATA/hapt (...)"
        n = n_train if split == "train" else n_eval
        arrays[split] = _take(w.x, w.y, w.users, n, ctx.rng)
        classes = w.classes
    mean, std = hapt.channel_stats(arrays["train"][0])
    k = len(classes)
    counts = {s: hapt.class_counts(a[1], k) for s, a in arrays.items()}
    users = {s: sorted(int(v) for v in set(a[2].tolist())) for s, a in arrays.items()}
    sub = " (quick preset: subsampled)" if n_train or n_eval else ""
    ctx.add_source(f"hapt: UCI HAPT RawData from {source}; {labels} activities, windows of "
                   f"100 samples (2 s at 50 Hz), stride 50, inside single labelled segments{sub}")
    for s in hapt.SPLITS:
        ctx.add_source(f"{s}: users {', '.join(map(str, users[s]))}: {sum(counts[s]):,} "
                       f"windows")
        ctx.log(f"[hapt] {s}: {sum(counts[s]):,} windows; per class "
                + ", ".join(f"{c} {n}" for c, n in zip(classes, counts[s])))
    z = {s: hapt.standardise(a[0], mean, std) for s, a in arrays.items()}
    return HarData(z["train"], arrays["train"][1], z["validation"], arrays["validation"][1],
                   z["test"], arrays["test"][1], tuple(classes), users, counts)


def counts_table(ctx: RunContext, d: HarData) -> None:
    """The windows per split and class as a report table."""
    rows = [[c, *(d.counts[s][i] for s in ("train", "validation", "test"))]
            for i, c in enumerate(d.classes)]
    rows.append(["total", *(sum(d.counts[s]) for s in ("train", "validation", "test"))])
    ctx.table(rows, ["class", "train", "validation", "test"],
              caption="Windows per split and class (subject-wise split: no user in two "
                      "splits).")
