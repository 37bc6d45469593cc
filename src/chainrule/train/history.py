"""History: what ``fit`` measured, one row per epoch and one row per validation check."""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

EPOCH_COLUMNS = ("epoch", "step", "loss", "accuracy", "val_loss", "val_accuracy", "seconds", "lr")
STEP_COLUMNS = ("step", "epoch", "loss", "accuracy", "val_loss", "val_accuracy")


def _clean(value: Any) -> Any:
    """Python scalars only (JSON- and CSV-friendly); NumPy scalars become int/float."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    return value


class History:
    """Training curves recorded by ``fit``.

    Attributes
    ----------
    epoch_log:
        One dict per finished epoch with keys ``epoch`` (1-based), ``step`` (gradient steps
        so far), ``loss`` and ``accuracy`` (sample-weighted means over the epoch's training
        batches, measured during training), ``val_loss``, ``val_accuracy``, ``seconds``
        (wall time of the epoch) and ``lr``. Missing quantities are ``None``.
    step_log:
        One dict per validation check when ``fit(val_every=N)`` is used: ``step``, ``epoch``
        (1-based epoch in which the check ran), ``loss``/``accuracy`` (mean over the training
        batches since the previous check) and ``val_loss``/``val_accuracy``. Curves against
        gradient steps are drawn from these rows.

    ``history["val_loss"]`` is the list of that column over ``epoch_log``.
    """

    def __init__(self) -> None:
        self.epoch_log: list[dict[str, Any]] = []
        self.step_log: list[dict[str, Any]] = []

    def log_epoch(self, **row: Any) -> dict[str, Any]:
        """Append an epoch row (columns in ``EPOCH_COLUMNS`` order, extra keys after)."""
        full = {k: _clean(row.pop(k, None)) for k in EPOCH_COLUMNS}
        full.update({k: _clean(v) for k, v in row.items()})
        self.epoch_log.append(full)
        return full

    def log_step(self, **row: Any) -> dict[str, Any]:
        """Append a validation-check row."""
        full = {k: _clean(row.pop(k, None)) for k in STEP_COLUMNS}
        full.update({k: _clean(v) for k, v in row.items()})
        self.step_log.append(full)
        return full

    def __getitem__(self, key: str) -> list[Any]:
        if not self.epoch_log or key not in self.epoch_log[0]:
            if self.epoch_log:
                raise KeyError(f"History has no column {key!r}; columns: {list(self.epoch_log[0])}")
            return []
        return [row.get(key) for row in self.epoch_log]

    def __len__(self) -> int:
        return len(self.epoch_log)

    def best(self, key: str = "val_loss", mode: str = "min") -> dict[str, Any] | None:
        """The epoch row with the smallest (``mode="min"``) or largest value of ``key``."""
        rows = [r for r in self.epoch_log if isinstance(r.get(key), (int, float))
                and not math.isnan(r[key])]
        if not rows:
            return None
        return (min if mode == "min" else max)(rows, key=lambda r: r[key])

    def to_csv(self, path: str | os.PathLike, which: str = "epoch") -> Path:
        """Write ``epoch_log`` (or ``step_log`` with ``which="step"``) as CSV; return the path."""
        rows = self.epoch_log if which == "epoch" else self.step_log
        if which not in ("epoch", "step"):
            raise ValueError(f"which must be 'epoch' or 'step', got {which!r}")
        return write_csv(path, rows, EPOCH_COLUMNS if which == "epoch" else STEP_COLUMNS)

    def state_dict(self) -> dict[str, Any]:
        """A JSON-able copy (for checkpoints)."""
        return {"epoch_log": [dict(r) for r in self.epoch_log],
                "step_log": [dict(r) for r in self.step_log]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch_log = [dict(r) for r in state.get("epoch_log", [])]
        self.step_log = [dict(r) for r in state.get("step_log", [])]

    def __repr__(self) -> str:
        return f"History({len(self.epoch_log)} epochs, {len(self.step_log)} validation checks)"


def write_csv(path: str | os.PathLike, rows: list[dict[str, Any]],
              columns: tuple[str, ...] = ()) -> Path:
    """Write dict rows to CSV: ``columns`` first, then any other keys; ``None`` as empty."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = list(columns)
    for r in rows:
        cols.extend(k for k in r if k not in cols)
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=cols)
        writer.writeheader()
        for r in rows:
            writer.writerow({k: csv_cell(r.get(k)) for k in cols})
    return path


def csv_cell(v: Any) -> Any:
    """A CSV cell: ``None`` empty, floats as their exact ``repr`` (they read back bit-identical)."""
    if v is None:
        return ""
    if isinstance(v, (np.floating, float)):
        return repr(float(v))
    if isinstance(v, np.integer):
        return int(v)
    return v
