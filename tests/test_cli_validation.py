"""Bad input is refused up front: exit 2, one line on stderr, no traceback, nothing written.

One test per class: out-of-range and malformed values, unknown names (datasets for every
dataset argument, choices), flags that do not apply to the chosen model or optimizer,
OS-level failures (a file where a folder is expected and vice versa, an unwritable or full
disk), allocations that would not fit, untrusted model-file metadata, ``lab run --set``.
"""

from __future__ import annotations

import errno
import json
import os
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main
from chainrule.io import CheckpointError, load_model

pytest.importorskip("sklearn")  # the digits dataset


def _refused(capsys, argv, *, code=2, match=None):
    """Run the CLI; assert it refused with ``code``, one stderr line, no traceback."""
    try:
        got = main(argv)
    except SystemExit as exc:  # argparse's own refusals
        got = exc.code
    err = capsys.readouterr().err
    assert got == code, f"{argv}: exit {got}, stderr {err!r}"
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    if match is not None:
        assert match in err, err
    return err


@pytest.mark.parametrize("argv,match", [
    (["--epochs", "0"], "--epochs"), (["--epochs", "-3"], "--epochs"),
    (["--epochs", "2.5"], "--epochs"), (["--lr", "nan"], "--lr"), (["--lr", "inf"], "--lr"),
    (["--lr", "0"], "--lr"), (["--lr", "-0.1"], "--lr"), (["--batch-size", "0"], "--batch-size"),
    (["--momentum", "1.0"], "--momentum"), (["--momentum", "-0.5"], "--momentum"),
    (["--weight-decay", "-1"], "--weight-decay"), (["--weight-decay", "nan"], "--weight-decay"),
    (["--val-size", "0"], "--val-size"), (["--val-size", "2.5"], "--val-size"),
    (["--seed", "-1"], "--seed"), (["--hidden", "10,0"], "--hidden"),
    (["--activation", "swish"], "--activation"), (["--init", "bogus"], "--init"),
    (["--optimizer", "rmsprop"], "--optimizer"), (["--model", "rnn"], "--model"),
    (["--dataset", "no-such-set"], "no-such-set"),
    (["--test-dataset", "no-such-set"], "--test-dataset"),
    (["--test-dataset", "mnist-5k"], "no split 'test'"),
    (["--hidden", "10,10", "--activation", "relu,relu,relu"], "--activation"),
])
def test_train_rejects_bad_values_before_any_work(capsys, tmp_path, argv, match):
    out = tmp_path / "run"
    _refused(capsys, ["train", "--dataset", "digits", "--out", str(out), *argv], match=match)
    assert not out.exists()  # nothing was created before the check


@pytest.mark.parametrize("argv,match", [
    (["--model", "cnn", "--hidden", "10"], "--hidden only applies to --model mlp"),
    (["--model", "cnn", "--activation", "relu", "--init", "he_normal"], "--activation, --init"),
    (["--conv-kernel-size", "3"], "only applies to --model cnn"),
    (["--no-zero-padding"], "--zero-padding"), (["--channels", "4"], "--channels"),
    (["--optimizer", "adam", "--momentum", "0.9"], "--momentum only applies to --optimizer sgd"),
])
def test_flags_that_do_not_apply_are_errors(capsys, tmp_path, argv, match):
    out = tmp_path / "run"
    _refused(capsys, ["train", "--dataset", "digits", "--out", str(out), *argv], match=match)
    assert not out.exists()


def test_summary_flags_that_do_not_apply(capsys):
    _refused(capsys, ["summary", "--hidden", "5"] + ["--model", "cnn"], match="--hidden")


@pytest.mark.parametrize("argv,match", [
    (["evaluate", "M", "--dataset", "nope"], "unknown dataset 'nope'"),
    (["evaluate", "M", "--dataset", "digits", "--split", "validation"], "no split"),
    (["evaluate", "M", "--batch-size", "0"], "--batch-size"),
    (["summary", "--dataset", "nope"], "unknown dataset"),
    (["summary", "--input-shape", "1,x,3"], "--input-shape"),
    (["summary", "--input-shape", "1,0,3"], "--input-shape"),
    (["summary", "--num-classes", "0"], "--num-classes"),
    (["data", "download", "nope"], "unknown dataset"),
    (["data", "download", "digits", "--split", "nope"], "no split"),
    (["gradcheck", "--tol", "nan"], "--tol"),
    (["train", "--threads", "0", "--dataset", "digits"], "--threads"),
])
def test_other_commands_validate_their_arguments(capsys, argv, match):
    _refused(capsys, argv, match=match)


# ------------------------------------------------------------------ OS-level failures
def test_out_is_a_file_or_under_a_file(capsys, tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    for out in (f, f / "sub"):
        err = _refused(capsys, ["train", "--dataset", "digits", "--out", str(out)])
        assert str(f) in err and "not a folder" in err
    assert f.read_text() == "x"


def test_out_in_a_read_only_folder(capsys, tmp_path, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # root may write anywhere: answer access() as the kernel does for any other user
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, mode, *a, **k: (
            False if Path(p) == ro and mode & os.W_OK else real(p, mode, *a, **k)))
    try:
        _refused(capsys, ["train", "--dataset", "digits", "--out", str(ro / "run")],
                 match="not writable")
    finally:
        ro.chmod(0o755)


def test_data_dir_and_model_paths_of_the_wrong_kind(capsys, tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    _refused(capsys, ["train", "--dataset", "digits", "--data-dir", str(f),
                      "--out", str(tmp_path / "r")], match="is not a folder")
    _refused(capsys, ["train", "--dataset", "digits", "--data-dir", str(tmp_path / "none"),
                      "--out", str(tmp_path / "r")], match="does not exist")
    _refused(capsys, ["evaluate", str(tmp_path), "--dataset", "digits"], match="is a folder")
    _refused(capsys, ["evaluate", str(tmp_path / "none.npz"), "--dataset", "digits"],
             match="none.npz")
    _refused(capsys, ["evaluate", str(f), "--dataset", "digits"], match=str(f))


def test_a_full_disk_is_one_line_naming_the_path(capsys, tmp_path, monkeypatch):
    from chainrule import io

    def full(path, arrays):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(io, "save_arrays", full)
    out = tmp_path / "run"
    err = _refused(capsys, ["train", "--dataset", "digits", "--hidden", "8", "--activation",
                            "relu", "--epochs", "1", "--out", str(out)])
    assert "checkpoint" in err and "No space left on device" in err


# ------------------------------------------------------------------ sizes
def test_huge_models_are_refused_naming_the_size(capsys):
    tracemalloc.start()
    err = _refused(capsys, ["summary", "--hidden", "1000000000"])  # default: 2 activations
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "795,000,000,010 parameters" in err and "TiB" in err
    assert peak < 50 << 20
    _refused(capsys, ["summary", "--model", "cnn", "--channels", "200000,200000",
                      "--input-shape", "1,28,28"], match="parameters")


def test_memory_bound_follows_the_machine(monkeypatch):
    from chainrule.models import config as mc

    cfg = {"model": "mlp", "in_shape": [1, 8, 8], "num_classes": 10, "hidden": [32],
           "activation": ["relu"]}
    assert mc.check_size(cfg) == 64 * 32 + 32 + 32 * 10 + 10
    monkeypatch.setattr(mc, "memory_bytes", lambda: 1000)
    with pytest.raises(ValueError, match="more than this machine's memory"):
        mc.build_model(cfg)


# ------------------------------------------------------------------ untrusted model files
@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    out = tmp_path_factory.mktemp("m") / "run"
    assert main(["train", "--dataset", "digits", "--hidden", "16", "--activation", "relu",
                 "--epochs", "1", "--out", str(out), "--threads", "1"]) == 0
    return out


def _crafted(src, dst, change):
    arrays = dict(np.load(src, allow_pickle=False))
    meta = json.loads(str(arrays["meta"]))
    change(meta)
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(dst, **arrays)
    return dst


@pytest.mark.parametrize("change,match", [
    (lambda m: m["model_config"].update(hidden=[1000000000]), "implies shape"),
    (lambda m: m["model_config"].update(hidden=[1e9]), "positive integers"),
    (lambda m: m["model_config"].update(hidden=["a"]), "positive integers"),
    (lambda m: m["model_config"].update(model="transformer"), "unknown model kind"),
    (lambda m: m["model_config"].update(in_shape=[-1, 8, 8]), "in_shape"),
    (lambda m: m["model_config"].update(activation=["os.system"]), "activation"),
    (lambda m: m["model_config"].update(num_classes=True), "num_classes"),
    (lambda m: m["model_config"].update(hidden=[16, 16]), "arrays missing"),
    (lambda m: m.pop("model_config"), "no model_config"),
    (lambda m: m.update(model_config="mlp"), "must be a dict"),
])
def test_model_metadata_is_checked_against_the_arrays_before_building(
        small_model, tmp_path, capsys, change, match):
    bad = _crafted(small_model / "model.npz", tmp_path / "bad.npz", change)
    tracemalloc.start()
    with pytest.raises(CheckpointError, match=match):
        load_model(bad)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 50 << 20  # nothing of the described size was allocated
    _refused(capsys, ["evaluate", str(bad), "--dataset", "digits"], match=match)


def test_an_archive_that_would_unpack_past_memory_is_refused(small_model, monkeypatch):
    from chainrule.models import config as mc

    monkeypatch.setattr(mc, "memory_bytes", lambda: 4096)
    with pytest.raises(CheckpointError, match="would unpack to"):
        cr.io.load_arrays(small_model / "model.npz")


def test_evaluate_accepts_a_checkpoint_file(small_model, capsys):
    capsys.readouterr()
    results = []
    for name in ("model.npz", "checkpoint.npz"):
        assert main(["evaluate", str(small_model / name), "--dataset", "digits", "--json"]) == 0
        results.append(json.loads(capsys.readouterr().out))
    assert results[0] == results[1] and results[0]["accuracy"] > 0.3


# ------------------------------------------------------------------ lab run --set
@pytest.mark.parametrize("setting,match", [
    ("lr=nan", "finite"), ("lr=-1", ">= 0"), ("lr=0", "> 0"), ("batch_size=0", "> 0"),
    ("max_epochs=0", "> 0"), ("dataset=nope", "unknown dataset"), ("n_train=-5", ">= 0"),
    ("batch_size=x", "expected int"), ("nope=1", "no field"),
])
def test_lab_set_values_are_checked_before_the_run(capsys, tmp_path, setting, match):
    _refused(capsys, ["lab", "run", "softmax-regression", "--quick", "--set", setting,
                      "--out", str(tmp_path)], match=match)
    assert not any(tmp_path.iterdir())  # no run folder was started


def test_lab_set_accepts_zero_where_zero_means_all():
    from chainrule.lab import registry

    cfg = registry.get("softmax-regression").make_config(True, {"n_train": "0",
                                                                "val_every": "0"})
    assert cfg.n_train == 0 and cfg.val_every == 0


@pytest.mark.parametrize("same", [True, False])
@pytest.mark.parametrize("k,p,s", [(1, 1, 1), (3, 2, 1), (5, 2, 1), (3, 3, 2), (2, 2, 2),
                                   (4, 3, 3)])
@pytest.mark.parametrize("in_shape", [(1, 28, 28), (3, 32, 32), (2, 13, 11)])
def test_config_shapes_agree_with_the_builders(same, k, p, s, in_shape):
    """The arithmetic that checks an untrusted config (nothing allocated) must give exactly
    the shapes the real builder allocates — or refuse exactly when the builder does."""
    from chainrule.models.config import build_model, parameter_shapes

    cfg = {"model": "cnn", "in_shape": list(in_shape), "num_classes": 7, "conv_kernel_size": k,
           "pooling_kernel_size": p, "stride_size": s, "zero_padding": same,
           "max_pooling": True, "channels": [3, 4]}
    try:
        expected = parameter_shapes(cfg)
    except ValueError:
        from chainrule.models.cnn import CNN

        with pytest.raises(ValueError):
            CNN(k, p, s, same, True, (3, 4), in_shape, 7, rng=0)
        return
    real = {name: v.shape for name, v in build_model(cfg, rng=0).state_dict().items()}
    assert real == expected
    mlp = {"model": "mlp", "in_shape": list(in_shape), "num_classes": 7, "hidden": [k + 2, s],
           "activation": ["tanh"]}
    assert {n: v.shape for n, v in build_model(mlp, rng=0).state_dict().items()} == \
        parameter_shapes(mlp)
