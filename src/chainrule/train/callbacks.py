"""Keras-style callbacks for ``chainrule.train.fit``.

Hooks (all optional; ``logs`` is a dict of the numbers just measured)::

    on_train_begin(logs)                 before the first step (also after a resume)
    on_epoch_begin(epoch, logs)          epoch is 0-based: the number of epochs done
    on_batch_end(step, logs)             after each optimizer step; step counts from 1
    on_validation_end(step, logs)        after each validation (per epoch, or every N steps)
    on_epoch_end(epoch, logs)            logs is the epoch's ``History.epoch_log`` row
    on_train_end(logs)                   always, also when training stops with an error

``self.trainer`` is the running ``Trainer``; setting ``trainer.stop_training = True``
ends training after the current step. Callbacks whose behaviour depends on the past
(``EarlyStopping``'s patience counter, ``ModelCheckpoint``'s best value) implement
``state_dict``/``load_state_dict`` so checkpoints resume them exactly.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..optim.schedule import Schedule
from .history import EPOCH_COLUMNS, STEP_COLUMNS, write_csv


class Callback:
    """Base class: every hook does nothing."""

    trainer: Any = None

    def set_trainer(self, trainer: Any) -> None:
        self.trainer = trainer

    def on_train_begin(self, logs: dict[str, Any]) -> None: ...
    def on_train_end(self, logs: dict[str, Any]) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: dict[str, Any]) -> None: ...
    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None: ...
    def on_batch_end(self, step: int, logs: dict[str, Any]) -> None: ...
    def on_validation_end(self, step: int, logs: dict[str, Any]) -> None: ...

    def state_dict(self) -> dict[str, Any]:
        """JSON-able state (NumPy arrays allowed as top-level values) for checkpoints."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


def _resolve_mode(mode: str, monitor: str) -> str:
    if mode == "auto":
        return "max" if "acc" in monitor or "f1" in monitor else "min"
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    return mode


class _Monitor(Callback):
    """Shared logic: watch ``monitor`` at each validation check (or each epoch end when
    there is no validation data) and remember the best value."""

    def __init__(self, monitor: str, mode: str, min_delta: float = 0.0) -> None:
        self.monitor = monitor
        self.mode = _resolve_mode(mode, monitor)
        self.min_delta = abs(float(min_delta))
        self.best: float | None = None

    def _value(self, logs: dict[str, Any]) -> float:
        if self.monitor not in logs:
            raise KeyError(f"{type(self).__name__}: monitored quantity {self.monitor!r} is not "
                           f"measured; available: {sorted(k for k in logs if logs[k] is not None)}")
        value = logs[self.monitor]
        if value is None:
            raise ValueError(f"{type(self).__name__}: {self.monitor!r} was not measured (no "
                             "validation data, or no accuracy for these targets?)")
        return float(value)

    def _improved(self, value: float | None) -> bool:
        if value is None or math.isnan(value):
            return False
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_validation_end(self, step: int, logs: dict[str, Any]) -> None:
        self._check(logs)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        if self.trainer is None or self.trainer.val_loader is None:
            self._check(logs)

    def _check(self, logs: dict[str, Any]) -> None:
        raise NotImplementedError


class EarlyStopping(_Monitor):
    """Stop when ``monitor`` has not improved for ``patience`` consecutive checks.

    A check is one validation (every epoch, or every ``val_every`` steps; with no
    validation data, every epoch on the training metrics). Improvement means beating the
    best value so far by more than ``min_delta`` (``mode="auto"``: larger is better for
    accuracy-like names, smaller otherwise). With ``restore_best=True`` the model gets the
    weights of the best check back when training ends (early or not).
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 10, min_delta: float = 0.0,
                 mode: str = "auto", restore_best: bool = False) -> None:
        super().__init__(monitor, mode, min_delta)
        if int(patience) < 1:
            raise ValueError(f"EarlyStopping: patience must be >= 1, got {patience}")
        self.patience = int(patience)
        self.restore_best = bool(restore_best)
        self.wait = 0
        self.best_step: int | None = None
        self.stopped_step: int | None = None
        self.best_state: dict[str, np.ndarray] | None = None

    def _check(self, logs: dict[str, Any]) -> None:
        value = self._value(logs)
        if self._improved(value):
            self.best, self.wait, self.best_step = value, 0, self.trainer.step
            if self.restore_best:
                self.best_state = self.trainer.model.state_dict()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.trainer.stop_training = True
            self.stopped_step = self.trainer.step

    def on_train_end(self, logs: dict[str, Any]) -> None:
        if self.restore_best and self.best_state is not None:
            self.trainer.model.load_state_dict(self.best_state)

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {"best": self.best, "wait": self.wait,
                                 "best_step": self.best_step, "stopped_step": self.stopped_step}
        for k, v in (self.best_state or {}).items():
            state[f"best_state/{k}"] = v
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.wait = state["best"], int(state["wait"])
        self.best_step, self.stopped_step = state["best_step"], state["stopped_step"]
        cut = len("best_state/")
        best = {k[cut:]: v for k, v in state.items() if k.startswith("best_state/")}
        self.best_state = best or None


class ModelCheckpoint(_Monitor):
    """Write a full training checkpoint (``chainrule.train.checkpoint``) atomically.

    * ``every_n_steps=N``: every N optimizer steps (for exact mid-epoch resume);
    * otherwise at the end of every epoch;
    * ``save_best_only=True``: only when ``monitor`` improves (checked at each validation).

    ``path`` may contain ``{epoch}`` and ``{step}`` (e.g. ``"ckpt-{step:06d}.npz"``).
    ``config`` (a JSON-able dict) is stored in the checkpoint. Writes happen once the
    step or epoch is completely processed, so a checkpoint always resumes exactly.
    """

    def __init__(self, path: str | os.PathLike, every_n_steps: int | None = None,
                 save_best_only: bool = False, monitor: str = "val_loss", mode: str = "auto",
                 config: dict[str, Any] | None = None) -> None:
        super().__init__(monitor, mode)
        if every_n_steps is not None and int(every_n_steps) < 1:
            raise ValueError(f"ModelCheckpoint: every_n_steps must be >= 1, got {every_n_steps}")
        self.path = os.fspath(path)
        self.every_n_steps = None if every_n_steps is None else int(every_n_steps)
        self.save_best_only = bool(save_best_only)
        self.config = dict(config or {})
        self.last_saved: Path | None = None

    def _request(self) -> None:
        t = self.trainer
        path = self.path.format(epoch=t.epoch, step=t.step) if "{" in self.path else self.path
        t.request_checkpoint(self, path)

    def _check(self, logs: dict[str, Any]) -> None:
        if self.save_best_only and self._improved(value := self._value(logs)):
            self.best = value
            self._request()

    def on_batch_end(self, step: int, logs: dict[str, Any]) -> None:
        if not self.save_best_only and self.every_n_steps and step % self.every_n_steps == 0:
            self._request()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        super().on_epoch_end(epoch, logs)
        if not self.save_best_only and self.every_n_steps is None:
            self._request()

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best = state.get("best")


class CSVLogger(Callback):
    """Rewrite ``path`` with the whole ``History.epoch_log`` after every epoch (so a resumed
    run's file is complete); ``steps_path`` likewise gets ``step_log`` after each check."""

    def __init__(self, path: str | os.PathLike,
                 steps_path: str | os.PathLike | None = None) -> None:
        self.path = Path(path)
        self.steps_path = None if steps_path is None else Path(steps_path)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        write_csv(self.path, self.trainer.history.epoch_log, EPOCH_COLUMNS)

    def on_validation_end(self, step: int, logs: dict[str, Any]) -> None:
        if self.steps_path is not None and self.trainer.history.step_log:
            write_csv(self.steps_path, self.trainer.history.step_log, STEP_COLUMNS)


class LearningRateScheduler(Callback):
    """Apply a ``chainrule.optim.Schedule``: ``per="epoch"`` sets lr = schedule(initial_lr, t)
    before each epoch (t = epochs done); ``per="step"`` before each step (t = steps done)."""

    def __init__(self, schedule: Schedule, per: str = "epoch") -> None:
        if per not in ("epoch", "step"):
            raise ValueError(f"LearningRateScheduler: per must be 'epoch' or 'step', got {per!r}")
        self.schedule, self.per = schedule, per

    def on_train_begin(self, logs: dict[str, Any]) -> None:
        t = self.trainer
        self.schedule.apply(t.optimizer, t.step if self.per == "step" else t.epoch)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any]) -> None:
        if self.per == "epoch":
            self.schedule.apply(self.trainer.optimizer, epoch)

    def on_batch_end(self, step: int, logs: dict[str, Any]) -> None:
        if self.per == "step":
            self.schedule.apply(self.trainer.optimizer, step)


class ProgressBar(Callback):
    """Keras-style output: a tqdm bar per epoch showing the running training loss (``bar``;
    off for logs that are not a terminal), then one line per epoch, e.g.
    ``epoch 3/10 · train (running mean over the epoch): loss 0.1234, accuracy 96.10% ·
    validation: loss 0.0990, accuracy 97.02%``. Training figures are running means over
    the epoch's batches (the weights change while they are measured); validation figures are
    measured once, at the epoch's end."""

    def __init__(self, every: int = 10, *, bar: bool = True) -> None:
        self.every = max(1, int(every))
        self.bar = bool(bar)
        self._bar: Any = None

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any]) -> None:
        if not self.bar:
            return
        from tqdm.auto import tqdm

        t = self.trainer
        total = len(t.train_loader) if hasattr(t.train_loader, "__len__") else None
        self._bar = tqdm(total=total, initial=t.batch_in_epoch, leave=False,
                         desc=f"epoch {epoch + 1}/{t.epochs}", unit="batch")

    def on_batch_end(self, step: int, logs: dict[str, Any]) -> None:
        if self._bar is not None:
            self._bar.update(1)
            if step % self.every == 0:
                self._bar.set_postfix(loss=f"{logs['loss']:.4f}", refresh=False)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        self._close()
        from tqdm.auto import tqdm

        tqdm.write(epoch_line(epoch, getattr(self.trainer, "epochs", None), logs))

    def on_train_end(self, logs: dict[str, Any]) -> None:
        self._close()

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def epoch_line(epoch: int, epochs: int | None, logs: dict[str, Any]) -> str:
    """One epoch's summary line (see ``ProgressBar``); ``epoch`` counts from 0."""
    def part(prefix: str) -> str:
        vals = []
        if isinstance(logs.get(prefix + "loss"), float):
            vals.append(f"loss {logs[prefix + 'loss']:.4f}")
        if isinstance(logs.get(prefix + "accuracy"), float):
            vals.append(f"accuracy {100 * logs[prefix + 'accuracy']:.2f}%")
        return ", ".join(vals)

    line = f"epoch {epoch + 1}" + (f"/{epochs}" if epochs else "")
    if train := part(""):
        line += f" · train (running mean over the epoch): {train}"
    if val := part("val_"):
        line += f" · validation: {val}"
    return line
