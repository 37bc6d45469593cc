"""The one training loop (``fit`` / ``Trainer``), plus ``evaluate`` and ``predict``.

Each step is exactly::

    optimizer.zero_grad()
    out = model.forward(xb, training=True)
    value = loss.forward(out, yb)             # NaN/inf -> NonFiniteLossError, before any update
    divergence.update(value)                  # finite but blown up -> DivergenceError
    model.backward(loss.backward())
    clip_grad_norm_(optimizer.params, clip_grad_norm)   # only with clip_grad_norm=...
    optimizer.step()

then, when due, a validation check (every epoch, or every ``val_every`` steps), then the
callbacks' ``on_batch_end``. The loop never uses ∂L/∂x of the data, so while ``fit`` runs,
the first layer of a ``Sequential`` model (when it has an ``input_grad`` switch, as
Linear and Conv2d do) skips computing it — PyTorch skips it too for inputs that do not
require grad; the switch is restored afterwards. Checkpoints requested by callbacks are
written only once the step (or epoch) is completely processed, so every checkpoint resumes
exactly (see ``chainrule.train.checkpoint``). A loader with ``y=None`` trains against the
input itself (autoencoders). A loader that yields no batches is an error.

When training stops on a non-finite loss (``NonFiniteLossError``) or on divergence
(``DivergenceError``, the rule in ``chainrule.train.divergence``; ``divergence=False``
turns it off), the model gets back the **last good weights** — never the blown-up ones.
Weights are *good* once the next step has measured their loss within the divergence
limit (the loss a step computes judges the previous update): at each checkpoint and each
epoch end the weights are proposed, and the next healthy step confirms them. A checkpoint
is first written beside its target as ``.NAME.unconfirmed.tmp`` and moved into place
on confirmation (or when ``fit`` ends), so the checkpoint on disk is always the last good
one; an unconfirmed file is deleted when its weights turn out bad.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..core import Module, Sequential
from ..optim.clip import clip_grad_norm_
from .callbacks import Callback, ProgressBar
from .checkpoint import NonFiniteLossError, restore_checkpoint, save_checkpoint
from .divergence import Divergence, DivergenceError
from .history import History
from .progress import progress_default

_ZERO = {"loss": 0.0, "n": 0, "correct": 0, "acc_n": 0}


class TrainingInterrupted(Exception):
    """Raised by ``fit`` after ``Trainer.interrupt()``: training stopped at a step boundary,
    with the checkpoints requested for that step written (e.g. on Ctrl-C)."""

    def __init__(self, step: int, epoch: int, batch: int) -> None:
        super().__init__(f"interrupted after step {step} (epoch {epoch}, batch {batch})")
        self.step, self.epoch, self.batch = step, epoch, batch


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
    ``epochs``, ``config`` (a JSON-able dict stored in checkpoints) and ``last_grad_norm``
    (the total gradient norm before clipping, when ``clip_grad_norm`` is set).

    ``clip_grad_norm=max_norm`` clips the gradients of ``optimizer.params`` to that total
    2-norm between backward and the optimizer step (``chainrule.optim.clip_grad_norm_``).
    """

    def __init__(self, model: Module, loss: Any, optimizer: Any, *,
                 callbacks: Sequence[Callback] = (), val_every: int | None = None,
                 metrics: Any = "auto", progress: bool | None = None,
                 config: dict[str, Any] | None = None,
                 divergence: Divergence | bool = True,
                 clip_grad_norm: float | None = None) -> None:
        if clip_grad_norm is not None and not float(clip_grad_norm) > 0:
            raise ValueError(f"clip_grad_norm must be > 0 (or None), got {clip_grad_norm!r}")
        self.clip_grad_norm = None if clip_grad_norm is None else float(clip_grad_norm)
        self.last_grad_norm: float | None = None
        if val_every is not None and (isinstance(val_every, bool) or int(val_every) < 1):
            raise ValueError(f"val_every must be a positive number of steps, got {val_every!r}")
        if metrics not in ("auto", "accuracy", None, False):
            raise ValueError(f"metrics must be 'auto', 'accuracy' or None, got {metrics!r}")
        self.model, self.loss, self.optimizer = model, loss, optimizer
        self.callbacks = list(callbacks)
        if progress is None:   # the caller did not say: see chainrule.train.progress
            progress = progress_default()
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
        if divergence is True:
            divergence = Divergence()
        elif divergence is False or divergence is None:
            divergence = None
        elif not isinstance(divergence, Divergence):
            raise ValueError(f"divergence must be True, False or a Divergence, got {divergence!r}")
        self.divergence: Divergence | None = divergence
        self._good: tuple[int, dict[str, np.ndarray], str | None] | None = None
        self._proposed: tuple[int, dict[str, np.ndarray], list] | None = None
        self.last_checkpoint: str | None = None
        self._interrupt = False

    def interrupt(self) -> None:
        """Stop after the current step — its checkpoint requests written, the epoch *not*
        ended — by raising ``TrainingInterrupted`` from ``fit`` (a signal handler's way out:
        the run resumes exactly where it stopped)."""
        self._interrupt = True

    # ----------------------------------------------------------------- checkpoints
    def request_checkpoint(self, callback: Callback, path: str) -> None:
        """Ask for a checkpoint at ``path``; written when the current step/epoch is done."""
        self._pending.append((callback, path))

    def save_checkpoint(self, path: str | os.PathLike, config: dict | None = None) -> Any:
        """Write the full training state now (see ``chainrule.train.checkpoint``)."""
        return save_checkpoint(self, path, config)

    def _healthy(self) -> bool:
        """Was the last step's loss within the divergence limit (see ``divergence``)?"""
        return self.divergence is None or self.divergence.last_healthy

    def _keep_good(self, files: list[tuple[Callback, Path, Path]] | None = None) -> None:
        """Propose the current weights (and checkpoint files) as the last good ones. They
        are confirmed by the next step's loss (``_settle``): the loss a step measures judges
        the weights the previous update produced."""
        if self._proposed is not None and self._proposed[0] == self.step:
            # The same weights, proposed again (an epoch end right after a step checkpoint):
            # keep the earlier files, newer ones replacing those of the same target.
            newer = {final for _, _, final in files or []}
            files = [f for f in self._proposed[2] if f[2] not in newer] + list(files or [])
            self._proposed = None
        self._discard()
        if self._healthy():
            self._proposed = (self.step, self.model.state_dict(), files or [])
        elif files:
            for _, tmp, _ in files:
                tmp.unlink(missing_ok=True)

    def _settle(self, confirm: bool) -> None:
        """Confirm the proposed weights (move their checkpoints into place) or drop them."""
        if self._proposed is None:
            return
        if not confirm:
            self._discard()
            return
        step, state, files = self._proposed
        self._proposed = None
        for cb, tmp, final in files:
            os.replace(tmp, final)
            cb.last_saved = final
            self.last_checkpoint = str(final)
        self._good = (step, state, self.last_checkpoint)

    def _discard(self) -> None:
        if self._proposed is not None:
            for _, tmp, _ in self._proposed[2]:
                tmp.unlink(missing_ok=True)
            self._proposed = None

    def _flush_checkpoints(self) -> None:
        """Write the requested checkpoints, as unconfirmed files beside their targets
        (``.NAME.unconfirmed.tmp``) that the next healthy step moves into place — so the
        file on disk never holds weights whose loss blew up. None after an unhealthy step."""
        pending, self._pending = self._pending, []
        if not pending or not self._healthy():
            return
        files = []
        for cb, path in pending:
            final = Path(path)
            tmp = final.with_name(f".{final.name}.unconfirmed.tmp")
            save_checkpoint(self, tmp, getattr(cb, "config", None))
            files.append((cb, tmp, final))
        self._keep_good(files)

    def _stop(self, cls: type, why: str, epoch: int) -> None:
        """Put the last good weights back and raise ``cls`` (NonFiniteLossError or
        DivergenceError) naming the step, the reason and where the good weights are."""
        where = (f"step {self.step + 1} (epoch {epoch + 1}, batch {self.batch_in_epoch + 1})")
        self._discard()
        if self._good is None:
            kept = "no good weights were kept"
        else:
            step, state, ckpt = self._good
            self.model.load_state_dict(state)
            kept = f"the model has its weights from step {step} back"
            if ckpt is not None:
                kept += f"; the last good checkpoint is {ckpt}"
        raise cls(f"{why} at {where}; stopped before updating the weights, {kept}",
                  self.step + 1, epoch + 1)

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
            self._good = (self.step, self.model.state_dict(),
                          None if resume_from is None else os.fspath(resume_from))
            while self.epoch < self.epochs and not self.stop_training:
                self._run_epoch()
        finally:
            if data_layer is not None:
                data_layer.input_grad = True
            self._pending = []
            self._settle(confirm=True)  # no next step to judge them: the run's last state
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
        guard, seen = self.divergence, 0
        for xb, yb in batches:
            seen += 1
            target = xb if yb is None else yb
            opt.zero_grad()
            out = model.forward(xb, training=True)
            value = loss.forward(out, target)
            if not math.isfinite(value):
                self._stop(NonFiniteLossError, f"loss is {value}", epoch)
            if guard is not None and (why := guard.update(value)) is not None:
                self._stop(DivergenceError, f"training diverged: {why}", epoch)
            if self._proposed is not None:
                self._settle(confirm=self._healthy())
            model.backward(loss.backward())
            if self.clip_grad_norm is not None:
                self.last_grad_norm = clip_grad_norm_(opt.params, self.clip_grad_norm)
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
            if self._interrupt:
                self._interrupt = False
                raise TrainingInterrupted(self.step, epoch + 1, self.batch_in_epoch)
            if self.stop_training:
                break
        if not seen and start == 0:
            raise ValueError("fit: the training loader yielded no batches (is the training "
                             "set empty, or smaller than a batch with drop_last?)")
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
        else:
            self._keep_good()


def fit(model: Module, loss: Any, optimizer: Any, train_loader: Any, val_loader: Any = None, *,
        epochs: int, callbacks: Sequence[Callback] = (), val_every: int | None = None,
        metrics: Any = "auto", resume_from: str | os.PathLike | None = None,
        progress: bool | None = None, config: dict[str, Any] | None = None,
        divergence: Divergence | bool = True,
        clip_grad_norm: float | None = None) -> History:
    """Train ``model`` with the one loop; see ``Trainer`` and the module docstring.

    ``epochs`` is the total number of epochs (a resumed run continues up to it).
    ``val_every=N`` validates every N optimizer steps (one ``History.step_log`` row each)
    instead of once per epoch. ``metrics="auto"`` measures accuracy when the targets are
    integer class labels (``"accuracy"`` also for one-hot targets; ``None`` for none).
    ``resume_from`` continues from a checkpoint written by ``ModelCheckpoint``.
    ``divergence``: the divergence rule (``chainrule.train.divergence``; True: the default
    rule, False: only the non-finite check).
    ``clip_grad_norm=max_norm`` clips the total gradient 2-norm before every step.
    ``progress``: a tqdm bar per epoch (``None``: as ``chainrule.train.show_progress`` says).
    """
    trainer = Trainer(model, loss, optimizer, callbacks=callbacks, val_every=val_every,
                      metrics=metrics, progress=progress, config=config, divergence=divergence,
                      clip_grad_norm=clip_grad_norm)
    return trainer.fit(train_loader, val_loader, epochs=epochs, resume_from=resume_from)
