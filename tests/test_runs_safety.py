"""Runs are never clobbered, mixed or silently changed; downloads and archives are bounded.

Classes: a run folder that holds another run; two processes on one folder (live and stale
locks); ``--resume`` with any setting changed; orphaned temporary files; file permissions;
Ctrl-C (a real SIGINT to a real process); mirrors that hang; archive bombs.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main
from chainrule.cli.runs import RunLock, _start_time

pytest.importorskip("sklearn")  # the digits dataset
BASE = ["train", "--dataset", "digits", "--hidden", "16", "--activation", "relu",
        "--threads", "1"]


def _run(out, *extra, epochs=1):
    return main([*BASE, "--epochs", str(epochs), "--out", str(out), *extra])


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def done_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "a"
    assert _run(out, "--seed", "1", epochs=2) == 0
    return out


# ------------------------------------------------------------------ another run in --out
def test_a_folder_holding_a_run_is_refused_unless_overwrite(done_run, tmp_path, capsys):
    out = tmp_path / "a"
    out.mkdir()
    for name, data in _snapshot(done_run).items():
        (out / name).write_bytes(data)
    before = _snapshot(out)
    assert _run(out) == 2
    err = capsys.readouterr().err
    assert "already holds a run" in err and "--overwrite" in err and "Traceback" not in err
    assert _snapshot(out) == before  # untouched
    assert _run(out, "--overwrite") == 0
    rows = (out / "history.csv").read_text().splitlines()
    assert len(rows) == 2  # the old two-epoch history is gone, not mixed in
    assert json.loads((out / "config.json").read_text())["epochs"] == 1
    assert _run(out, "--overwrite", "--resume") == 2


def test_an_empty_or_unrelated_folder_is_fine(tmp_path):
    out = tmp_path / "x"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert _run(out) == 0 and (out / "notes.txt").read_text() == "mine"


# ------------------------------------------------------------------ locks
def test_a_live_lock_refuses_and_a_stale_one_is_taken_over(tmp_path, capsys):
    import socket

    out = tmp_path / "locked"
    out.mkdir()
    lock = out / ".lock"
    me = {"pid": os.getpid(), "host": socket.gethostname(), "started": _start_time(os.getpid()),
          "since": "now"}
    lock.write_text(json.dumps(me))
    assert _run(out) == 2
    err = capsys.readouterr().err
    assert f"in use by process {os.getpid()}" in err and str(lock) in err
    assert lock.exists() and not (out / "config.json").exists()

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock.write_text(json.dumps({**me, "pid": dead.pid}))
    assert _run(out) == 0
    assert f"stale lock of process {dead.pid}" in capsys.readouterr().err
    assert not lock.exists()  # released after the run

    if me["started"] is not None:  # our PID, but another process's start time: PID reuse
        lock.write_text(json.dumps({**me, "started": "1"}))
        assert _run(out, "--overwrite") == 0 and not lock.exists()


def test_the_lock_is_exclusive_within_and_across_processes(tmp_path):
    with RunLock(tmp_path / "r") as held:
        assert json.loads(held.path.read_text())["pid"] == os.getpid()
        with pytest.raises(ValueError, match="in use by process"):
            RunLock(tmp_path / "r").__enter__()
        code = subprocess.run([sys.executable, "-m", "chainrule", *BASE, "--epochs", "1",
                               "--out", str(tmp_path / "r")], capture_output=True, text=True,
                              check=False)
        assert code.returncode == 2 and "in use by process" in code.stderr
        assert "Traceback" not in code.stderr
    assert not (tmp_path / "r" / ".lock").exists()


# ------------------------------------------------------------------ --resume
@pytest.mark.parametrize("change,label", [
    (["--seed", "2"], "seed"), (["--lr", "0.05"], "lr"), (["--batch-size", "16"], "batch_size"),
    (["--hidden", "17"], "model_config.hidden"), (["--activation", "tanh"],
                                                  "model_config.activation"),
    (["--optimizer", "adam"], "optimizer"), (["--momentum", "0.5"], "momentum"),
    (["--weight-decay", "0.01"], "weight_decay"), (["--val-size", "0.2"], "val_size"),
    (["--init", "he_normal"], "model_config.init"),
])
def test_resume_refuses_any_setting_that_changes_the_run(done_run, tmp_path, capsys, change,
                                                         label):
    out = tmp_path / "r"
    out.mkdir()
    for name, data in _snapshot(done_run).items():
        (out / name).write_bytes(data)
    before = _snapshot(out)
    argv = [a for a in BASE if a not in ("--hidden", "16", "--activation", "relu")]
    hidden = [] if "--hidden" in change else ["--hidden", "16"]
    act = [] if "--activation" in change else ["--activation", "relu"]
    code = main([*argv, *hidden, *act, "--seed", "1", *change, "--epochs", "3", "--out",
                 str(out), "--resume"])
    err = capsys.readouterr().err
    assert code == 2 and f"{label}: checkpoint" in err and "Traceback" not in err
    assert _snapshot(out) == before  # nothing rewritten before the check


def test_resume_lists_every_difference_and_only_epochs_may_grow(done_run, tmp_path, capsys):
    out = tmp_path / "r"
    out.mkdir()
    for name, data in _snapshot(done_run).items():
        (out / name).write_bytes(data)
    assert _run(out, "--seed", "9", "--lr", "0.2", "--resume", epochs=3) == 2
    err = capsys.readouterr().err
    assert "seed: checkpoint 1, now 9" in err and "lr: checkpoint 0.1, now 0.2" in err
    assert _run(out, "--seed", "1", "--resume", epochs=1) == 2
    assert "already trained 2 epochs" in capsys.readouterr().err
    assert _run(out, "--seed", "1", "--resume", "--progress", epochs=3) == 0  # output flags ok
    assert len((out / "history.csv").read_text().splitlines()) == 4


# ------------------------------------------------------------------ files
def test_orphaned_temporary_files_are_removed_at_the_next_start(done_run, tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    for name, data in _snapshot(done_run).items():
        (out / name).write_bytes(data)
    orphans = [out / ".checkpoint.npz.3f9a1c2e.tmp", out / ".model.npz.00aa11bb.tmp",
               out / ".checkpoint.npz.unconfirmed.tmp"]
    for p in orphans:
        p.write_bytes(b"half")
    assert _run(out, "--seed", "1", "--resume", epochs=3) == 0
    assert not any(p.exists() for p in orphans)
    assert not list(out.glob(".*.tmp"))


def test_a_killed_write_leaves_only_a_dot_tmp_file(tmp_path, monkeypatch):
    from chainrule import io as crio

    def boom(fh, **arrays):
        fh.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(KeyboardInterrupt):
        crio.save_arrays(tmp_path / "m.npz", {"a": np.zeros(3)})
    assert list(tmp_path.iterdir()) == []  # cleaned up even on an interrupt
    (tmp_path / ".m.npz.deadbeef.tmp").write_bytes(b"x")  # what SIGKILL would leave
    assert [p.name for p in crio.remove_orphans(tmp_path)] == [".m.npz.deadbeef.tmp"]


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_model_and_checkpoint_files_get_the_run_files_permissions(tmp_path, umask):
    old = os.umask(umask)
    try:
        out = tmp_path / f"p{umask:o}"
        assert _run(out) == 0
    finally:
        os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in out.iterdir() if p.is_file()}
    assert set(modes.values()) == {0o666 & ~umask}, modes


# ------------------------------------------------------------------ Ctrl-C
def test_sigint_stops_at_a_step_boundary_checkpoints_and_resumes(tmp_path):
    out = tmp_path / "int"
    cmd = [sys.executable, "-m", "chainrule", *BASE, "--epochs", "400", "--batch-size", "4",
           "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (out / "history.csv").exists() and time.time() < deadline:  # epoch 1 done
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted after step" in err
    assert "Resume with: chainrule train" in err and "--resume" in err
    assert str(out / "checkpoint.npz") in err
    assert not (out / ".lock").exists() and not list(out.glob(".*.tmp"))
    assert not (out / "model.npz").exists()  # an unfinished run has no final model
    meta = cr.load(out / "checkpoint.npz", cr.models.build_model(
        json.loads((out / "config.json").read_text())["model_config"]))
    pos = meta["position"]
    step = int(err.split("interrupted after step ")[1].split()[0])
    assert pos["step"] == step and pos["epoch"] < 400
    # the printed command resumes it (with fewer epochs to keep the test short)
    done = pos["epoch"] + 1
    assert main([*BASE, "--epochs", str(done), "--batch-size", "4", "--out", str(out),
                 "--resume"]) == 0
    rows = (out / "history.csv").read_text().splitlines()[1:]
    assert [int(r.split(",")[0]) for r in rows] == list(range(1, done + 1))


# ------------------------------------------------------------------ downloads, archives
def test_each_mirror_is_named_and_gets_a_short_timeout(tmp_path, monkeypatch):
    from chainrule.data import downloader

    payload = b"hello"
    seen = []

    def urlopen(url, timeout):
        seen.append((url, timeout))
        if "dead" in url:
            raise TimeoutError("timed out")
        return io.BytesIO(payload)

    said = []
    monkeypatch.setattr(downloader, "_urlopen", urlopen)
    import hashlib

    dest = downloader.fetch(["http://dead.example/f", "http://ok.example/f"], tmp_path / "f",
                            hashlib.md5(payload).hexdigest(), log=said.append)
    assert dest.read_bytes() == payload
    assert [u for u, _ in seen] == ["http://dead.example/f", "http://ok.example/f"]
    assert all(t <= 15 for _, t in seen)
    assert "dead.example" in said[0] and "mirror 1 of 2" in said[0] and "ok.example" in said[1]


def test_an_archive_bomb_is_refused_before_extraction(tmp_path, monkeypatch):
    from chainrule.data import cifar
    from chainrule.data.errors import DataError

    archive = tmp_path / "cifar-10-binary.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        blob = b"\0" * 200_000  # compresses to a few hundred bytes
        info = tarfile.TarInfo("cifar-10-batches-bin/data_batch_1.bin")
        info.size = len(blob)
        tar.addfile(info, io.BytesIO(blob))
    assert archive.stat().st_size < 2000
    monkeypatch.setattr(cifar, "MAX_EXTRACT_BYTES", 100_000)
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(DataError, match="archive bomb"):
        cifar.extract(archive, dest)
    assert list(dest.iterdir()) == []
