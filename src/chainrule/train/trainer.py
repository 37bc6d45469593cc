"""The one training loop (``fit`` / ``Trainer``), plus ``evaluate`` and ``predict``.

Each step is exactly::

    optimizer.zero_grad()
    out = model.forward(xb, training=True)
    value = loss.forward(out, yb)             # NaN/inf -> NonFiniteLossError, before any update
    model.backward(loss.backward())
    optimizer.step()

then, when due, a validation check (every epoch, or every ``val_every`` steps), then the
callbacks' ``on_batch_end``. The loop never uses ∂L/∂x of the data, so while ``fit`` runs,
the first layer of a ``Sequential`` model (when it has an ``input_grad`` switch, as
Linear and Conv2d do) skips computing it — PyTorch skips it too for inputs that do not
require grad; the switch is restored afterwards. Checkpoints requested by callbacks are
written only once the step (or epoch) is completely processed, so every checkpoint resumes
exactly (see ``chainrule.train.checkpoint``). A loader with ``y=None`` trains against the
input itself (autoencoders).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..core import Module, Sequential
from .callbacks import Callback, ProgressBar
from .checkpoint import NonFiniteLossError, restore_checkpoint, save_checkpoint
from .history import History

_ZERO = {"loss": 0.0, "n": 0, "correct": 0, "acc_n": 0}


def _data_layer(model: Module) -> Module | None:
    """The layer that reads the data (first leaf of nested Sequentials) if it can skip dx."""
    layer = model
    while isinstance(layer, Sequential):
        if not len(layer):
            return None
        layer = layer[0]
    return layer if getattr(layer, "input_grad", False) is True else None


def _accuracy_counts(out: np.ndarray, yb: Any, metrics: Any) -> tuple[int, int] | None:
    """(correct, count) when accuracy applies to this batch, else None."""
    if metrics in (None, False) or yb is None or out.ndim != 2:
        return None
    if yb.ndim == 1 and yb.dtype.kind in "iub":
        return int(np.count_nonzero(out.argmax(axis=1) == yb)), len(yb)
    if metrics == "accuracy" and yb.shape == out.shape:  # one-hot / soft targets, on request
        return int(np.count_nonzero(out.argmax(axis=1) == yb.argmax(axis=1))), len(yb)
    return None


def _iter_batches(data: Any, batch_size: int = 256) -> Iterable[tuple[np.ndarray, Any]]:
    """Batches from a loader, or from an ``(x, y)`` pair of arrays (no shuffling)."""
    if isinstance(data, tuple) and len(data) == 2 and isinstance(data[0], np.ndarray):
        x, y = data
        for i in range(0, len(x), batch_size):
            yield x[i:i + batch_size], (None if y is None else y[i:i + batch_size])
    else:
        yield from data


def evaluate(model: Module, loss: Any, loader: Any, *, metrics: Any = "auto",
             batch_size: int = 256) -> dict[str, float | None]:
    """Mean loss and accuracy over ``loader`` (or an ``(x, y)`` pair), forward with training=False.

    Both are sample-weighted means over batches; ``accuracy`` is None when the targets are
    not integer class labels (or ``metrics=None``).
    """
    total, n, correct, acc_n = 0.0, 0, 0, 0
    for xb, yb in _iter_batches(loader, batch_size):
        out = model.forward(xb, training=False)
        total += loss.forward(out, xb if yb is None else yb) * len(xb)
        n += len(xb)
        counts = _accuracy_counts(out, yb, metrics)
        if counts is not None:
            correct += counts[0]
            acc_n += counts[1]
    if n == 0:
        raise ValueError("evaluate: the loader yielded no batches")
    return {"loss": total / n, "accuracy": correct / acc_n if acc_n else None}


def predict(model: Module, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Outputs of ``model.forward(x, training=False)``, computed ``batch_size`` rows at a time."""
    if int(batch_size) < 1:
        raise ValueError(f"predict: batch_size must be >= 1, got {batch_size}")
    outs = [model.forward(x[i:i + batch_size], training=False)
            for i in range(0, len(x), int(batch_size))]
    if not outs:
        raise ValueError("predict: x has no samples")
    return np.concatenate(outs, axis=0)


class Trainer:
    """Holds the model, loss, optimizer and callbacks; ``fit`` runs the loop.

    State visible to callbacks: ``epoch`` (epochs finished), ``batch_in_epoch``, ``step``
    (optimizer steps done), ``history``, ``stop_training``, ``train_loader``, ``val_loader``,
    ``epochs`` and ``config`` (a JSON-able dict stored in checkpoints).
    """

    def __init__(self, model: Module, loss: Any, optimizer: Any, *,
                 callbacks: Sequence[Callback] = (), val_every: int | None = None,
                 metrics: Any = "auto", progress: bool = False,
                 config: dict[str, Any] | None = None) -> None:
        if val_every is not None and (isinstance(val_every, bool) or int(val_every) < 1):
            raise ValueError(f"val_every must be a positive number of steps, got {val_every!r}")
        if metrics not in ("auto", "accuracy", None, False):
            raise ValueError(f"metrics must be 'auto', 'accuracy' or None, got {metrics!r}")
        self.model, self.loss, self.optimizer = model, loss, optimizer
        self.callbacks = list(callbacks)
        if progress and not any(isinstance(c, ProgressBar) for c in self.callbacks):
            self.callbacks.append(ProgressBar())
        self.val_every = None if val_every is None else int(val_every)
        self.metrics = metrics
        self.config = dict(config or {})
        self.history = History()
        self.stop_training = False
        self.epoch = self.batch_in_epoch = self.step = 0
        self.epochs: int | None = None
        self.train_loader: Any = None
        self.val_loader: Any = None
        self.epoch_loader_state: Any = None
        self.running = {"epoch": dict(_ZERO), "check": dict(_ZERO)}
        self._pending: list[tuple[Callback, str]] = []

    # ----------------------------------------------------------------- checkpoints
    def request_checkpoint(self, callback: Callback, path: str) -> None:
        """Ask for a checkpoint at ``path``; written when the current step/epoch is done."""
        self._pending.append((callback, path))

    def save_checkpoint(self, path: str | os.PathLike, config: dict | None = None) -> Any:
        """Write the full training state now (see ``chainrule.train.checkpoint``)."""
        return save_checkpoint(self, path, config)

    def _flush_checkpoints(self) -> None:
        pending, self._pending = self._pending, []
        for cb, path in pending:
            cb.last_saved = save_checkpoint(self, path, getattr(cb, "config", None))

    # ----------------------------------------------------------------- loop
    def fit(self, train_loader: Any, val_loader: Any = None, *, epochs: int,
            resume_from: str | os.PathLike | None = None) -> History:
        """Train until ``epochs`` epochs are done (in total, counting resumed ones) or a
        callback sets ``stop_training``; return the ``History``."""
        if int(epochs) < 0:
            raise ValueError(f"epochs must be >= 0, got {epochs}")
        self.epochs = int(epochs)
        self.train_loader, self.val_loader = train_loader, val_loader
        self.stop_training = False
        for cb in self.callbacks:
            cb.set_trainer(self)
        if resume_from is not None:
            restore_checkpoint(self, resume_from)
            if hasattr(train_loader, "load_state_dict") and self.epoch_loader_state is not None:
                train_loader.load_state_dict(self.epoch_loader_state)
        logs: dict[str, Any] = {}
        data_layer = _data_layer(self.model)
        try:
            if data_layer is not None:
                data_layer.input_grad = False
            for cb in self.callbacks:
                cb.on_train_begin(logs)
            while self.epoch < self.epochs and not self.stop_training:
                self._run_epoch()
        finally:
            if data_layer is not None:
                data_layer.input_grad = True
            self._pending = []
            for cb in self.callbacks:
                cb.on_train_end(logs)
        return self.history

    def _run_epoch(self) -> None:
        loader, model, loss, opt = self.train_loader, self.model, self.loss, self.optimizer
        epoch, start = self.epoch, self.batch_in_epoch
        if start == 0 or self.epoch_loader_state is None:
            self.epoch_loader_state = (loader.state_dict() if hasattr(loader, "state_dict")
                                       else None)
        t0 = time.perf_counter()
        for cb in self.callbacks:
            cb.on_epoch_begin(epoch, {})
        batch_cbs = [cb for cb in self.callbacks
                     if type(cb).on_batch_end is not Callback.on_batch_end]
        ep, chk, metrics, val_every = self.running["epoch"], self.running["check"], \
            self.metrics, self.val_every
        if hasattr(loader, "batches"):
            batches = loader.batches(start)
        else:  # a plain iterable: skip what was done (no exact resume guarantees)
            batches = (b for i, b in enumerate(loader) if i >= start)
        for xb, yb in batches:
            target = xb if yb is None else yb
            opt.zero_grad()
            out = model.forward(xb, training=True)
            value = loss.forward(out, target)
            if not math.isfinite(value):
                raise NonFiniteLossError(
                    f"loss is {value} at step {self.step + 1} (epoch {epoch + 1}, batch "
                    f"{self.batch_in_epoch + 1}); stopped before updating the weights, the last "
                    "checkpoint is intact", self.step + 1, epoch + 1)
            model.backward(loss.backward())
            opt.step()
            n = len(xb)
            counts = _accuracy_counts(out, yb, metrics) if metrics else None
            for acc in (ep, chk):
                acc["loss"] += value * n
                acc["n"] += n
                if counts is not None:
                    acc["correct"] += counts[0]
                    acc["acc_n"] += counts[1]
            self.step += 1
            self.batch_in_epoch += 1
            if val_every is not None and self.step % val_every == 0:
                self._validate_step()
            if batch_cbs:
                logs = {"loss": value, "batch_size": n, "epoch": epoch,
                        "batch": self.batch_in_epoch}
                for cb in batch_cbs:
                    cb.on_batch_end(self.step, logs)
            if self._pending:
                self._flush_checkpoints()
            if self.stop_training:
                break
        self._end_epoch(epoch, time.perf_counter() - t0)

    @staticmethod
    def _means(acc: dict[str, Any]) -> tuple[float | None, float | None]:
        loss = acc["loss"] / acc["n"] if acc["n"] else None
        return loss, (acc["correct"] / acc["acc_n"] if acc["acc_n"] else None)

    def _validate(self) -> dict[str, Any]:
        res = evaluate(self.model, self.loss, self.val_loader, metrics=self.metrics)
        return {"val_loss": res["loss"], "val_accuracy": res["accuracy"]}

    def _validate_step(self) -> None:
        loss, acc = self._means(self.running["check"])
        val = self._validate() if self.val_loader is not None else {}
        row = self.history.log_step(step=self.step, epoch=self.epoch + 1, loss=loss,
                                    accuracy=acc, **val)
        self.running["check"].update(_ZERO)  # in place: the step loop holds a reference
        for cb in self.callbacks:
            cb.on_validation_end(self.step, dict(row))

    def _end_epoch(self, epoch: int, seconds: float) -> None:
        loss, acc = self._means(self.running["epoch"])
        validated = self.val_loader is not None and self.val_every is None
        if validated:
            val = self._validate()
        elif self.val_every is not None and self.history.step_log \
                and self.history.step_log[-1]["epoch"] == epoch + 1:
            last = self.history.step_log[-1]
            val = {"val_loss": last.get("val_loss"), "val_accuracy": last.get("val_accuracy")}
        else:
            val = {}
        row = self.history.log_epoch(epoch=epoch + 1, step=self.step, loss=loss, accuracy=acc,
                                     seconds=seconds, lr=self.optimizer.lr, **val)
        # Advance the position first, so a checkpoint written now resumes at the next epoch.
        self.epoch, self.batch_in_epoch = epoch + 1, 0
        self.running["epoch"].update(_ZERO)
        loader = self.train_loader
        self.epoch_loader_state = loader.state_dict() if hasattr(loader, "state_dict") else None
        if validated:
            for cb in self.callbacks:
                cb.on_validation_end(self.step, dict(row))
        for cb in self.callbacks:
            cb.on_epoch_end(epoch, dict(row))
        if self._pending:
            self._flush_checkpoints()


def fit(model: Module, loss: Any, optimizer: Any, train_loader: Any, val_loader: Any = None, *,
        epochs: int, callbacks: Sequence[Callback] = (), val_every: int | None = None,
        metrics: Any = "auto", resume_from: str | os.PathLike | None = None,
        progress: bool = False, config: dict[str, Any] | None = None) -> History:
    """Train ``model`` with the one loop; see ``Trainer`` and the module docstring.

    ``epochs`` is the total number of epochs (a resumed run continues up to it).
    ``val_every=N`` validates every N optimizer steps (one ``History.step_log`` row each)
    instead of once per epoch. ``metrics="auto"`` measures accuracy when the targets are
    integer class labels (``"accuracy"`` also for one-hot targets; ``None`` for none).
    ``resume_from`` continues from a checkpoint written by ``ModelCheckpoint``.
    """
    trainer = Trainer(model, loss, optimizer, callbacks=callbacks, val_every=val_every,
                      metrics=metrics, progress=progress, config=config)
    return trainer.fit(train_loader, val_loader, epochs=epochs, resume_from=resume_from)
