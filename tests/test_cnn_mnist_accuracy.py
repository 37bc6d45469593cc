"""Acceptance run: a 5-epoch small CNN on mnist-5k reaches ≥ 96% on the official MNIST test set.

Trains through the CLI exactly as the README shows and judges it with ``chainrule evaluate``.
"""

from __future__ import annotations

import json

import pytest

from chainrule.cli import main
from resources import require


@pytest.mark.slow
def test_small_cnn_on_mnist_5k_reaches_96_percent(tmp_path, capsys):
    require("mnist")
    out = tmp_path / "cnn"
    assert main(["train", "--dataset", "mnist-5k", "--model", "cnn", "--conv-kernel-size", "5",
                 "--pooling-kernel-size", "2", "--stride-size", "1", "--zero-padding",
                 "--max-pooling", "--channels", "16,32", "--epochs", "5", "--batch-size", "32",
                 "--optimizer", "sgd", "--lr", "0.01", "--momentum", "0.9", "--seed", "0",
                 "--threads", "1", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(out / "model.npz"), "--dataset", "mnist", "--split", "test",
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert len(result["confusion_matrix"]) == 10
    assert result["accuracy"] >= 0.96, result["accuracy"]
    assert result["accuracy"] == json.loads((out / "metrics.json").read_text())["test_accuracy"]
