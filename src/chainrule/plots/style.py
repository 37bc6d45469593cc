"""One place for how figures look, and a programmatic check of what a reader would trip over.

Style (used by the shared plot functions; family modules call the same helpers):

* ``COLOURS`` — the Okabe–Ito palette, distinguishable with the common colour-vision
  deficiencies; ``colour(i)`` cycles through it.
* ``marker_for(n)`` — a marker whenever a series has few points (≤ ``FEW_POINTS``): a single
  epoch drawn as a line without markers is invisible.
* ``integer_ticks(ax, "x")`` — epochs, layers, classes and counts tick at whole numbers only.
* ``zero_based(ax)`` — bars and rates start at 0, so bar lengths compare honestly.
* ``legend_below(ax)`` — the legend outside the data, under the axes, at a readable size;
  ``figure_legend(fig, ax)`` — one legend under all panels of a constrained-layout figure.
* ``log_with_zeros(ax, x, y, ...)`` — on a log axis, exact zeros (underflow) are drawn as
  markers on the bottom edge and named in the legend instead of silently dropped.

``check_figure(fig)`` lists problems: an axes with nothing drawn, a line with no finite
point, a single-point line without a marker, a legend overlapping plotted points (bounding
boxes in display space) or running off the figure, legend text smaller than ``MIN_FONT``
points, and non-integer tick labels on an axis declared integer with ``integer_ticks``. Run it
on a figure laid out as it will be saved (``fig.tight_layout()`` first, unless the figure uses
constrained layout).
"""

from __future__ import annotations

from typing import Any

import numpy as np

COLOURS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
           "#000000")
FEW_POINTS = 20
MIN_FONT = 7.0
_INTEGER = "_chainrule_integer_axes"


def colour(i: int) -> str:
    """The ``i``-th colour of the palette (cycling)."""
    return COLOURS[i % len(COLOURS)]


def marker_for(n_points: int) -> str | None:
    """``"o"`` for a series of few points, else no marker."""
    return "o" if n_points <= FEW_POINTS else None


def integer_ticks(ax: Any, axis: str = "x", values: Any = None) -> None:
    """Whole-number ticks on ``axis`` ("x" or "y"), and remember it for ``check_figure``.
    With ``values`` (the plotted positions) and few of them, exactly those are ticked — a
    single epoch gets the tick "1", not 0.95 … 1.05."""
    from matplotlib.ticker import FixedLocator, MaxNLocator

    uniq = np.unique(np.asarray(values, dtype=float)) if values is not None else np.array([])
    uniq = uniq[np.isfinite(uniq)]
    if 0 < len(uniq) <= FEW_POINTS // 2 and np.all(uniq == np.round(uniq)):
        getattr(ax, f"{axis}axis").set_major_locator(FixedLocator(uniq))
        if len(uniq) == 1:
            getattr(ax, f"set_{axis}lim")(uniq[0] - 0.5, uniq[0] + 0.5)
    else:
        getattr(ax, f"{axis}axis").set_major_locator(MaxNLocator(integer=True))
    setattr(ax, _INTEGER, getattr(ax, _INTEGER, frozenset()) | {axis})


def zero_based(ax: Any, axis: str = "y") -> None:
    """Start ``axis`` at 0 (keeping the top), for bars and rates."""
    lo, hi = getattr(ax, f"get_{axis}lim")()
    if lo > 0 or lo < 0 <= hi:
        getattr(ax, f"set_{axis}lim")(0, hi)


def legend_below(ax: Any, *, ncol: int | None = None, fontsize: float = 8) -> Any:
    """The legend under the axes (outside the data), in up to three columns."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    ncol = ncol or min(3, len(handles))
    return ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.16),
                     ncol=ncol, fontsize=fontsize, frameon=False)


def figure_legend(fig: Any, ax: Any, *, ncol: int = 2, fontsize: float = 8) -> Any:
    """One legend for a whole (constrained-layout) figure, outside and below every panel,
    built from ``ax``'s handles (panels that share their series)."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    return fig.legend(handles, labels, loc="outside lower center", ncol=ncol,
                      fontsize=fontsize, frameon=False)


def log_with_zeros(ax: Any, x: np.ndarray, y: np.ndarray, *, label: str, color: str,
                   **kw: Any) -> None:
    """Plot ``y`` against ``x`` on a log y-axis; points where ``y == 0`` (underflow) are drawn
    as down-pointing markers on the axis' bottom edge and the legend says so."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    pos = y > 0
    ax.set_yscale("log")
    ax.plot(x[pos], y[pos], color=color, label=label, marker=marker_for(int(pos.sum())), **kw)
    if (~pos & np.isfinite(y)).any():
        ax.plot(x[~pos], np.full(int((~pos).sum()), np.nan), alpha=0)   # keep x range
        ax.scatter(x[~pos], np.zeros(int((~pos).sum())), marker="v", color=color,
                   transform=ax.get_xaxis_transform(), clip_on=False, zorder=5,
                   label=f"{label}: exactly 0 (underflow)")


# ------------------------------------------------------------------------------- checks
def check_figure(fig: Any) -> list[str]:
    """What a reader would trip over in ``fig`` (see the module docstring); [] when none."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    problems: list[str] = []
    for i, ax in enumerate(a for a in fig.axes if a.get_visible() and a.get_label() !=
                           "<colorbar>"):
        name = ax.get_title() or f"axes {i}"
        artists = ax.lines + ax.collections + ax.patches + ax.images + ax.texts
        if not artists and not ax.get_legend():
            problems.append(f"{name}: nothing is drawn")
        points = []
        for line in ax.lines:
            xy = np.asarray(line.get_xydata(), dtype=float)
            finite = xy[np.isfinite(xy).all(axis=1)] if xy.size else xy
            if line.get_alpha() == 0:
                continue
            if len(finite) == 0:
                problems.append(f"{name}: line {line.get_label()!r} has no finite point")
                continue
            if len(finite) == 1 and line.get_marker() in (None, "", "None", " "):
                problems.append(f"{name}: line {line.get_label()!r} is one point without a "
                                "marker (invisible)")
            points.append(ax.transData.transform(finite))
        problems += _legend_problems(ax, name, points, renderer)
        for axis in getattr(ax, _INTEGER, ()):
            labels = [t.get_text() for t in getattr(ax, f"get_{axis}ticklabels")()]
            bad = [t for t in labels if t and not _is_integer_label(t)]
            if bad:
                problems.append(f"{name}: {axis} ticks {bad} are not whole numbers")
    for legend in fig.legends:
        problems += _outside_figure(fig, legend, renderer, "figure legend")
    return problems


def _outside_figure(fig: Any, legend: Any, renderer: Any, name: str) -> list[str]:
    box, page = legend.get_window_extent(renderer), fig.bbox
    if box.x0 < page.x0 - 1 or box.x1 > page.x1 + 1 or box.y0 < page.y0 - 1:
        return [f"{name}: the legend runs off the figure"]
    sizes = [t.get_fontsize() for t in legend.get_texts()]
    if sizes and min(sizes) < MIN_FONT:
        return [f"{name}: legend text is {min(sizes):g} pt (< {MIN_FONT:g})"]
    return []


def _legend_problems(ax: Any, name: str, points: list[np.ndarray], renderer: Any) -> list[str]:
    legend = ax.get_legend()
    if legend is None or not legend.get_visible():
        return []
    out = []
    sizes = [t.get_fontsize() for t in legend.get_texts()]
    if sizes and min(sizes) < MIN_FONT:
        out.append(f"{name}: legend text is {min(sizes):g} pt (< {MIN_FONT:g})")
    out += [p for p in _outside_figure(ax.figure, legend, renderer, name) if "runs off" in p]
    box = legend.get_window_extent(renderer)
    inside = ax.get_window_extent(renderer)
    if points and box.overlaps(inside):
        xy = np.concatenate(points)
        covered = ((xy[:, 0] > box.x0) & (xy[:, 0] < box.x1) & (xy[:, 1] > box.y0)
                   & (xy[:, 1] < box.y1))
        if covered.any():
            out.append(f"{name}: the legend covers {int(covered.sum())} plotted point(s)")
    return out


def _is_integer_label(text: str) -> bool:
    text = text.replace("\u2212", "-").replace(",", "")
    try:
        return float(text).is_integer()
    except ValueError:
        return True          # a category name, not a number
