"""Run folders of ``chainrule train``: never clobbered, never written by two processes,
never resumed with different settings.

* **Another run in ``--out``** (any of ``RUN_FILES``) is refused unless ``--overwrite``
  (which deletes exactly those files once every check has passed) or ``--resume``.
* **A lock file** ``OUT/.lock`` holds the owner's host, PID and process start time; a
  second ``chainrule train`` on the same folder is refused while the owner runs. A lock
  whose process is gone (or whose PID now belongs to another process) is stale: it is
  removed, with a note, and the run goes on.
* **Orphaned temporary files** of writes killed midway (``.NAME.*.tmp``) are deleted when
  the lock is taken.
* **``--resume``** compares what the new command asks for with the checkpoint's run:
  dataset, validation split, seed, batch size, optimizer and its hyperparameters, and
  the model (architecture, activations, init). Any difference is refused, listed; only
  the number of epochs may grow. Nothing in the folder is rewritten before this passes.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

RUN_FILES = ("config.json", "history.csv", "metrics.json", "timing.json", "model.npz",
             "loss.png", "checkpoint.npz")
LOCK = ".lock"


def _start_time(pid: int) -> str | None:
    """The process's start time from /proc (tells a reused PID from the owner), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    except OSError:
        return False
    return True


class RunLock:
    """``with RunLock(out):`` — exclusive use of a run folder (created if missing)."""

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self.path = self.out / LOCK
        self.note: str | None = None
        self._mine = False

    def _owner(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None

    def _stale(self, owner: dict[str, Any] | None) -> bool:
        if owner is None:  # unreadable: half-written by a process killed while locking
            return time.time() - self.path.stat().st_mtime > 60
        if owner.get("host") != socket.gethostname():
            return False  # cannot tell: refuse, and say how to clear it
        pid = int(owner.get("pid", -1))
        if pid <= 0 or not _alive(pid):
            return True
        started = owner.get("started")
        now = _start_time(pid)
        return started is not None and now is not None and started != now

    def __enter__(self) -> RunLock:  # noqa: PYI034
        self.out.mkdir(parents=True, exist_ok=True)
        me = {"pid": os.getpid(), "host": socket.gethostname(),
              "started": _start_time(os.getpid()), "since": time.strftime("%Y-%m-%d %H:%M:%S"),
              "command": " ".join(sys.argv)}
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:
                owner = self._owner()
                try:
                    stale = self._stale(owner)
                except OSError:  # the owner just released it
                    continue
                if not stale:
                    who = (f"process {owner.get('pid')} on {owner.get('host')} (since "
                           f"{owner.get('since')})" if owner else "another process")
                    raise ValueError(f"--out {self.out} is in use by {who}; lock file "
                                     f"{self.path}. Wait for it to finish, or choose another "
                                     "--out (delete the lock file only if that process is "
                                     "gone)")
                self.path.unlink(missing_ok=True)
                self.note = (f"removed a stale lock of process {owner.get('pid')}"
                             if owner else "removed an unreadable stale lock")
                continue
            with os.fdopen(fd, "w") as fh:
                fh.write(json.dumps(me) + "\n")
            self._mine = True
            return self
        raise ValueError(f"--out {self.out}: could not take the lock {self.path}")

    def __exit__(self, *exc: object) -> None:
        if self._mine:
            owner = self._owner()
            if owner is None or owner.get("pid") == os.getpid():
                self.path.unlink(missing_ok=True)
            self._mine = False


def existing_run(out: Path) -> list[str]:
    """The run files already in ``out``."""
    return [name for name in RUN_FILES if (Path(out) / name).exists()]


def identity(run: dict[str, Any]) -> dict[str, Any]:
    """What makes two training runs the same run, from a run config (``config.json``, or the
    ``config`` a checkpoint stores): everything but the number of epochs and the flags that
    only affect output (``--progress``, ``--threads``, ``--out``, ``--test-dataset``)."""
    optimizer = run.get("optimizer", "sgd")
    ident = {"dataset": run.get("dataset"), "val_size": run.get("val_size"),
             "seed": run.get("seed"), "batch_size": run.get("batch_size"),
             "optimizer": optimizer, "lr": run.get("lr"),
             "weight_decay": run.get("weight_decay") or 0.0}
    if optimizer == "sgd":
        ident["momentum"] = run.get("momentum") or 0.0
    for key, value in (run.get("model_config") or {}).items():
        ident[f"model_config.{key}"] = value
    return ident


def resume_differences(saved: dict[str, Any], requested: dict[str, Any]) -> list[str]:
    """``"key: checkpoint X, now Y"`` for every setting that differs (see ``identity``)."""
    a, b = identity(saved), identity(requested)
    out = []
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            out.append(f"{key}: checkpoint {a.get(key)!r}, now {b.get(key)!r}")
    return out


def check_resume(checkpoint: Path, requested: dict[str, Any], epochs: int) -> dict[str, Any]:
    """Refuse (ValueError listing them) any difference between the checkpoint's run and the
    requested one, or fewer epochs than the checkpoint has done; return its meta."""
    from ..io import load_arrays, read_meta

    meta = read_meta(load_arrays(checkpoint), checkpoint)
    saved = meta.get("config") or {}
    diffs = resume_differences(saved, requested)
    if diffs:
        raise ValueError(f"--resume: {checkpoint} was trained with other settings; refusing to "
                         f"mix two runs ({'; '.join(diffs)}). Only --epochs may change; start a "
                         "new run with another --out (or --overwrite)")
    done = int((meta.get("position") or {}).get("epoch", 0))
    if epochs < done:
        raise ValueError(f"--resume: {checkpoint} has already trained {done} epochs; --epochs "
                         f"{epochs} would not continue it (only more epochs may be asked for)")
    return meta
