"""Helpers shared by experiments: the best data source available, and small utilities.

``load_splits(dataset, ctx, ...)`` is how every experiment gets data. ``dataset="mnist"``
means *the best MNIST source available*: the full MNIST training set if it resolves, else
the 5,000-image ``mnist-5k`` subset; tested on the official MNIST test set when its
``test`` split resolves (e.g. through ``CHAINRULE_DATA``), else on a held-out part of the
training source. Any other name (``fashion-mnist``, ``digits``) is loaded by that name.
The sources actually used are recorded in the run (``ctx.add_source``), so the report
states them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..context import RunContext


@dataclass
class Splits:
    """Train/validation/test arrays (images NCHW float32 in [0, 1], labels int64) and names."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]
    train_name: str
    test_name: str

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def flat(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The three image arrays flattened to ``(N, H·W·C)``."""
        return tuple(x.reshape(len(x), -1) for x in (self.x_train, self.x_val, self.x_test))


def _take(x: np.ndarray, y: np.ndarray, n: int | None, rng: np.random.Generator):
    if n is None or n >= len(x):
        return x, y
    idx = np.sort(rng.permutation(len(x))[:n])
    return x[idx], y[idx]


def load_splits(dataset: str, ctx: RunContext, *, val_size: float = 0.1,
                n_train: int | None = None, n_test: int | None = None,
                holdout: int = 1000) -> Splits:
    """Load ``dataset`` (``"mnist"`` = best MNIST source) into train/val/test splits.

    ``n_train``/``n_test`` subsample (for quick presets) after the split, with ``ctx.rng``.
    ``val_size`` (a count or a fraction) is carved out of the training source.
    """
    from ... import data

    if dataset == "mnist":
        train_name = "mnist" if data.available("mnist", "train") else "mnist-5k"
        test_name = "mnist" if data.available("mnist", "test") else None
    else:
        train_name = dataset
        test_name = dataset if data.available(dataset, "test") else None
    train = data.load(train_name, "train")
    x, y = train.x, train.y
    rng = ctx.rng
    if test_name is not None:
        test = data.load(test_name, "test")
        x_test, y_test = test.x, test.y
        test_desc = f"test: {test.name}/test ({test.source}), {{n}} images"
    else:
        perm = rng.permutation(len(x))
        hold, keep = perm[:holdout], np.sort(perm[holdout:])
        x_test, y_test, x, y = x[np.sort(hold)], y[np.sort(hold)], x[keep], y[keep]
        test_desc = (f"test: {{n}} images held out of {train.name}/train "
                     f"(no separate test split resolved)")
    n_val = round(val_size * len(x)) if isinstance(val_size, float) else int(val_size)
    perm = rng.permutation(len(x))
    val_idx, tr_idx = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    x_val, y_val, x_tr, y_tr = x[val_idx], y[val_idx], x[tr_idx], y[tr_idx]
    x_tr, y_tr = _take(x_tr, y_tr, n_train, rng)
    x_test, y_test = _take(x_test, y_test, n_test, rng)
    ctx.add_source(f"train: {train.name}/train ({train.source}), {len(x_tr):,} images")
    ctx.add_source(f"validation: {len(x_val):,} images held out of {train.name}/train")
    ctx.add_source(test_desc.format(n=f"{len(x_test):,}"))
    return Splits(x_tr, y_tr, x_val, y_val, x_test, y_test, tuple(train.classes), train.name,
                  test_name or f"{train.name} (held out)")


def standardize(x_train: np.ndarray, *others: np.ndarray,
                mode: str = "global") -> tuple[np.ndarray, ...]:
    """Normalise by the training set's mean and std (``data.Standardizer``; ``mode`` is
    ``"global"``, one mean and std over all pixels, or ``"per_feature"``, one per pixel).

    Returns the transformed training array followed by the transformed ``others``.
    Per-pixel statistics divide near-constant border pixels by tiny stds, so a test image
    can reach values in the thousands; the global mode keeps every value within ~±5.
    """
    from ...data import Standardizer

    st = Standardizer(mode).fit(x_train)
    return tuple(st.transform(a) for a in (x_train, *others))


def add_bias(x: np.ndarray) -> np.ndarray:
    """Append a constant-1 column (the bias trick): ``(N, D)`` → ``(N, D+1)``."""
    from ...data import add_bias_column

    return add_bias_column(x)


def pct(v: float) -> str:
    """``0.9123`` → ``"91.23%"``."""
    return f"{100.0 * float(v):.2f}%"
