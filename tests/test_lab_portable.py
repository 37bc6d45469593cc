"""A run's files name data by place kind, never by this machine's paths: the same seed gives
a byte-identical ``metrics.json`` wherever the data folder is."""

from __future__ import annotations

import os

from chainrule import data
from chainrule.lab.runner import run_experiment
from resources import require


def test_metrics_are_byte_identical_across_data_folders(tmp_path, monkeypatch):
    require("mnist")
    real = data.resolve("mnist", "train").files[0].parent
    runs = []
    for where in ("first place", "second"):
        root = tmp_path / where / "data"
        root.mkdir(parents=True)
        os.symlink(real, root / "mnist")
        monkeypatch.setenv("CHAINRULE_DATA", str(root))
        assert data.resolve("mnist", "train").files[0].parent == root / "mnist"
        runs.append(run_experiment("softmax-regression", quick=True, seed=0,
                                   out_root=tmp_path / where / "runs"))
    first, second = ((r.path / "metrics.json").read_bytes() for r in runs)
    assert first == second
    for run in runs:
        for name in ("metrics.json", "report.md", "config.json"):
            text = (run.path / name).read_text()
            assert str(tmp_path) not in text and str(real) not in text
            assert "$CHAINRULE_DATA/mnist" in text or name == "config.json"
