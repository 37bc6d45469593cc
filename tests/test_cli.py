"""The ``chainrule`` command line, run in-process through ``chainrule.cli.main``."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main
from resources import require


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "digits-mlp"
    code = main(["train", "--dataset", "digits", "--model", "mlp", "--hidden", "32",
                 "--activation", "relu", "--epochs", "8", "--batch-size", "32", "--lr", "0.1",
                 "--seed", "3", "--out", str(out), "--threads", "1"])
    assert code == 0
    return out


def test_train_writes_the_run_folder(digits_run):
    for name in ("config.json", "history.csv", "metrics.json", "model.npz", "loss.png"):
        assert (digits_run / name).is_file(), name
    metrics = json.loads((digits_run / "metrics.json").read_text())
    config = json.loads((digits_run / "config.json").read_text())
    assert config["model_config"] == {"model": "mlp", "in_shape": [1, 8, 8], "num_classes": 10,
                                      "hidden": [32], "activation": ["relu"],
                                      "init": "fan_in_uniform"}
    rows = (digits_run / "history.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,step,loss") and len(rows) == 9
    losses = [float(r.split(",")[2]) for r in rows[1:]]
    assert losses[-1] < losses[0]
    # digits' own test split is reported, and 8 epochs of a 64-32-10 net learn it well
    assert metrics["test_dataset"] == "digits" and metrics["test_accuracy"] > 0.85


def test_evaluate_matches_the_saved_model(digits_run, capsys):
    capsys.readouterr()
    assert main(["evaluate", str(digits_run / "model.npz"), "--dataset", "digits",
                 "--split", "test", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    metrics = json.loads((digits_run / "metrics.json").read_text())
    assert result["accuracy"] == pytest.approx(metrics["test_accuracy"], abs=1e-12)
    cm = np.array(result["confusion_matrix"])
    assert cm.shape == (10, 10) and cm.sum() == 360
    assert np.trace(cm) / cm.sum() == pytest.approx(result["accuracy"])


def test_evaluate_text_output(digits_run, capsys):
    assert main(["evaluate", str(digits_run / "model.npz"), "--dataset", "digits"]) == 0
    out = capsys.readouterr().out
    assert "accuracy" in out and "macro-F1" in out and "confusion matrix" in out


def test_evaluate_refuses_a_model_of_another_shape(digits_run, capsys):
    require("fashion-mnist")
    code = main(["evaluate", str(digits_run / "model.npz"), "--dataset", "fashion-mnist"])
    assert code == 2
    assert "Linear(64, 32)" in capsys.readouterr().err


def test_same_seed_same_weights(digits_run, tmp_path):
    again = tmp_path / "again"
    assert main(["train", "--dataset", "digits", "--hidden", "32", "--activation", "relu",
                 "--epochs", "8", "--seed", "3", "--out", str(again)]) == 0
    a = np.load(digits_run / "model.npz")
    b = np.load(again / "model.npz")
    weights = [k for k in a.files if k.startswith("model/")]
    assert weights and all(np.array_equal(a[k], b[k]) for k in weights)


def test_resume_continues_from_the_checkpoint(tmp_path):
    out = tmp_path / "r"
    args = ["train", "--dataset", "digits", "--hidden", "16", "--activation", "tanh",
            "--seed", "1", "--out", str(out)]
    assert main([*args, "--epochs", "2"]) == 0
    assert main([*args, "--epochs", "4", "--resume"]) == 0
    rows = (out / "history.csv").read_text().splitlines()[1:]
    assert [int(r.split(",")[0]) for r in rows] == [1, 2, 3, 4]
    full = tmp_path / "full"
    assert main([*args[:-1], str(full), "--epochs", "4"]) == 0
    a, b = np.load(out / "model.npz"), np.load(full / "model.npz")
    assert all(np.array_equal(a[k], b[k]) for k in a.files if k.startswith("model/"))


def test_summary_prints_cnn_arithmetic(capsys):
    assert main(["summary", "--model", "cnn", "--conv-kernel-size", "5", "--no-zero-padding",
                 "--input-shape", "1,28,28"]) == 0
    out = capsys.readouterr().out
    assert "(28 + 2·0 − 5)/1 + 1 = 24" in out
    assert "Total params: 116,938" in out


def test_summary_mlp_parameter_count(capsys):
    assert main(["summary", "--dataset", "mnist-5k"]) == 0
    out = capsys.readouterr().out
    assert f"Total params: {784 * 100 + 100 + 100 * 50 + 50 + 50 * 10 + 10:,}" in out


def test_data_list_names_every_dataset(capsys):
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    for name in cr.data.names():
        assert name in out


def test_gradcheck_command_passes(capsys):
    assert main(["gradcheck"]) == 0
    assert " 0 failed" in capsys.readouterr().out


def test_user_errors_exit_2_with_a_message(capsys):
    assert main(["train", "--dataset", "no-such-set", "--epochs", "1"]) == 2
    assert "no-such-set" in capsys.readouterr().err
    assert main(["train", "--dataset", "digits", "--hidden", "10,10", "--activation",
                 "relu,relu,relu", "--epochs", "1"]) == 2
    assert "--activation" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--hidden", "10,-1"])


def test_threads_flag_and_module_entry_point():
    out = subprocess.run([sys.executable, "-m", "chainrule", "--version"], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == f"chainrule {cr.__version__}"
    assert main(["gradcheck", "--threads", "1"]) == 0
    assert main(["gradcheck", "--threads", "0"]) == 2


def test_train_prints_one_line_per_epoch_unless_quiet(tmp_path, capsys):
    args = ["train", "--dataset", "digits", "--hidden", "16", "--activation", "relu", "--epochs",
            "2", "--seed", "1", "--threads", "1"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("epoch ")]
    assert [ln.split(" ·")[0] for ln in lines] == ["epoch 1/2", "epoch 2/2"]
    history = (tmp_path / "a" / "history.csv").read_text().splitlines()
    loss = float(history[2].split(",")[2])
    assert f"train (running mean over the epoch): loss {loss:.4f}" in lines[1]
    assert "validation: loss" in lines[1] and "%" in lines[1]
    assert main([*args, "--out", str(tmp_path / "b"), "--quiet"]) == 0
    assert "epoch 1" not in capsys.readouterr().out


def test_every_help_shows_defaults_and_every_subcommand_a_description():
    from chainrule.cli import build_parser
    from chainrule.cli.options import DefaultsFormatter

    def walk(parser):
        yield parser
        for action in parser._actions:
            if hasattr(action, "choices") and isinstance(action.choices, dict):
                for sub in action.choices.values():
                    yield from walk(sub)

    parsers = list(walk(build_parser()))
    assert len(parsers) > 10
    for p in parsers:
        assert p.description, f"{p.prog} has no description"
        assert p.formatter_class is DefaultsFormatter, p.prog
    text = next(p for p in parsers if p.prog.endswith(" train")).format_help()
    for shown in ("--epochs EPOCHS       (default: 10)", "(default: 0.0)", "(default: sgd)"):
        assert shown in text
