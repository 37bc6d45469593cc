"""The shared figure style and its programmatic check: the check finds what a reader would trip
over (it can fail), the generic plot functions pass it on the cases that used to go wrong, and
every figure of the quick runs of the experiments drawn with them passes it."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import plots
from chainrule.lab.runner import run_experiment
from chainrule.plots import style
from chainrule.train.history import write_csv


@pytest.fixture
def captured(monkeypatch):
    """Figures the plot functions would save, checked before they are written."""
    found: dict[str, list[str]] = {}
    real = plots._save

    def save(fig, path):
        if fig.get_layout_engine() is None:           # as _save lays it out
            fig.tight_layout()
        found[str(path)] = style.check_figure(fig)
        return real(fig, path)

    monkeypatch.setattr(plots, "_save", save)
    from chainrule.plots import cnn
    monkeypatch.setattr(cnn, "_save", save)
    return found


def _fig():
    return plots._plt().subplots(figsize=(5, 4))


def test_the_check_finds_each_problem():
    plt = plots._plt()
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(12, 4))
    a.set_title("empty")
    b.set_title("one point")
    b.plot([1], [0.5])                                      # a one-epoch line, no marker
    x = np.arange(1, 4) + 0.0
    c.set_title("covered")
    c.plot(x, x, label="a")
    c.legend(loc="center", fontsize=5, markerscale=10, borderpad=4)   # over the middle point
    b.plot([1, 2], [0, 1], label="x")
    b.legend(loc="upper left", bbox_to_anchor=(-3.0, 1))                # off the figure
    c.set_xlim(0.9, 3.1)
    c.set_xticks([1, 1.5, 2, 2.5, 3])
    style.integer_ticks(c, "x")
    c.set_xticks([1, 1.5, 2, 2.5, 3])                       # forced non-integer ticks
    problems = " | ".join(style.check_figure(fig))
    plt.close(fig)
    assert "empty: nothing is drawn" in problems
    assert "one point: line" in problems and "without a marker" in problems
    assert "covered: the legend covers" in problems
    assert "legend text is 5 pt" in problems
    assert "one point: the legend runs off the figure" in problems
    assert "covered: x ticks ['1.5', '2.5'] are not whole numbers" in problems


def test_one_epoch_curves_are_visible_and_tick_whole_epochs(tmp_path, captured):
    hist = tmp_path / "h.csv"
    write_csv(hist, [{"epoch": 1, "step": 10, "loss": 0.5, "accuracy": 0.8, "val_loss": 0.6,
                      "val_accuracy": 0.75}])
    plots.training_curves({"model": hist}, path=tmp_path / "c.png", x="epoch")
    assert captured[str(tmp_path / "c.png")] == []


def test_zeros_on_a_log_axis_are_drawn_not_dropped(tmp_path, captured):
    rows = [{"depth": d, "ratio": r, "init": "fan-in"} for d, r in ((5, 1e-3), (20, 1e-9),
                                                                    (50, 0.0))]
    csv = tmp_path / "d.csv"
    write_csv(csv, rows)
    plt = plots._plt()
    kept = {}
    real_close = plt.close

    def close(fig):
        kept["fig"] = fig
        return real_close(fig)

    plt.close = close
    try:
        plots.grouped_lines(csv, path=tmp_path / "d.png", x="depth", y="ratio", group="init",
                            xlabel="depth", ylabel="ratio", title="t", logy=True)
    finally:
        plt.close = real_close
    assert captured[str(tmp_path / "d.png")] == []
    ax = kept["fig"].axes[0]
    labels = ax.get_legend_handles_labels()[1]
    assert "fan-in: exactly 0 (underflow)" in labels           # depth 50 is shown and named
    assert ax.get_yscale() == "log" and len(ax.collections) == 1


def test_bars_start_at_zero(tmp_path, captured):
    csv = tmp_path / "b.csv"
    write_csv(csv, [{"k": 1.0, "acc": 0.97}, {"k": 2.0, "acc": 0.98}])
    plt = plots._plt()
    kept = {}
    real_close = plt.close
    plt.close = lambda fig: kept.setdefault("fig", fig) and real_close(fig)
    try:
        plots.bars(csv, path=tmp_path / "b.png", x="k", y="acc", xlabel="k", ylabel="acc",
                   title="t")
    finally:
        plt.close = real_close
    ax = kept["fig"].axes[0]
    assert ax.get_ylim()[0] == 0
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2"]    # not "1.0", "2.0"


@pytest.mark.parametrize("name", ["tricks-of-the-trade", "gradient-flow", "softmax-regression",
                                  "topology", "cnn-shapes", "mnist-cnn"])
def test_every_figure_of_a_quick_run_passes_the_check(name, tmp_path, captured):
    res = run_experiment(name, quick=True, seed=0, out_root=tmp_path)
    assert res.ok, res.error
    assert captured, "no figure was drawn"
    bad = {p.rsplit("/", 1)[-1]: v for p, v in captured.items() if v}
    assert bad == {}
