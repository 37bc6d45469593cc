"""Training checkpoints: everything a killed run needs to continue bit-identically.

A checkpoint is a ``chainrule.io`` file (so ``cr.load(path, model)`` reads its weights)
whose JSON meta also holds:

* ``position``: ``epoch`` (epochs finished), ``batch`` (batches done in the current
  epoch) and ``step`` (optimizer steps done);
* ``loader_state``: the training loader's ``state_dict()`` *at the start of the current
  epoch*; resuming calls ``loader.load_state_dict(...)`` then ``loader.batches(batch)``,
  which re-draws the same permutation and continues with the next batch;
* ``val_loader_state``: the validation loader's state (it may draw random numbers too);
* ``module_rngs``: the bit-generator state of every ``np.random.Generator`` found as an
  attribute ``rng`` of a module in ``model.named_modules()`` (dropout, noise, ...);
* ``history``, the running sums of the unfinished epoch, each callback's state, the
  divergence rule's state (``divergence``) and the caller's ``config`` dict.

Model and optimizer arrays sit under ``model/`` and ``optim/``; arrays in callback states
(e.g. EarlyStopping's best weights) under ``callbacks/<i>/``.
"""

from __future__ import annotations

import copy
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .. import io
from ..core import Module

KIND = "chainrule-training-checkpoint"


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss (or parameters); ``step`` names the step."""

    def __init__(self, message: str, step: int, epoch: int) -> None:
        super().__init__(message)
        self.step, self.epoch = step, epoch


def module_rngs(model: Module) -> dict[str, np.random.Generator]:
    """Every Generator stored as attribute ``rng`` of a module, by dotted module name."""
    out = {}
    for name, mod in model.named_modules():
        rng = mod.__dict__.get("rng")
        if isinstance(rng, np.random.Generator):
            out[name or "<root>"] = rng
    return out


def _loader_state(loader: Any) -> Any:
    return copy.deepcopy(loader.state_dict()) if hasattr(loader, "state_dict") else None


def save_checkpoint(trainer: Any, path: str | os.PathLike,
                    config: dict[str, Any] | None = None) -> Path:
    """Write the trainer's complete state to ``path`` (atomically); return the path.

    Refuses (``NonFiniteLossError``) to overwrite a checkpoint with non-finite weights.
    """
    model = trainer.model
    for name, p in model.named_parameters():
        if not np.isfinite(p.data).all():
            raise NonFiniteLossError(
                f"parameter {name} is not finite at step {trainer.step}; checkpoint {path} "
                "was not written (the previous one is intact)", trainer.step, trainer.epoch)
    rngs = module_rngs(model)
    loader_rng = getattr(trainer.train_loader, "rng", None)
    if any(g is loader_rng for g in rngs.values()):
        warnings.warn("the training loader and a layer share one Generator; a resumed run "
                      "cannot reproduce both streams exactly (give each its own seed)",
                      stacklevel=3)
    cb_meta, cb_arrays = [], {}
    for i, cb in enumerate(trainer.callbacks):
        state = cb.state_dict()
        plain = {k: v for k, v in state.items() if not isinstance(v, np.ndarray)}
        cb_arrays.update({f"callbacks/{i}/{k}": v for k, v in state.items()
                          if isinstance(v, np.ndarray)})
        cb_meta.append({"class": type(cb).__name__, "state": plain})
    meta = {
        "kind": KIND,
        "position": {"epoch": trainer.epoch, "batch": trainer.batch_in_epoch,
                     "step": trainer.step},
        "epochs": trainer.epochs,
        "loader_state": trainer.epoch_loader_state,
        "val_loader_state": _loader_state(trainer.val_loader),
        "module_rngs": {k: g.bit_generator.state for k, g in rngs.items()},
        "running": trainer.running,
        "history": trainer.history.state_dict(),
        "callbacks": cb_meta,
        "config": {**trainer.config, **(config or {})},
    }
    guard = getattr(trainer, "divergence", None)
    if guard is not None:
        meta["divergence"] = guard.state_dict()
    arrays: dict[str, np.ndarray] = {"format": np.array(io.FORMAT)}
    arrays.update({f"model/{k}": v for k, v in model.state_dict().items()})
    arrays.update({f"optim/{k}": v for k, v in trainer.optimizer.state_dict().items()})
    arrays.update(cb_arrays)
    arrays["meta"] = io.encode_meta(meta)
    return io.save_arrays(path, arrays)


def restore_checkpoint(trainer: Any, path: str | os.PathLike) -> dict[str, Any]:
    """Load a checkpoint written by ``save_checkpoint`` into ``trainer``; return its meta.

    ``trainer.train_loader`` / ``val_loader`` must already be set (their states are
    restored too).
    """
    arrays = io.load_arrays(path)
    meta = io.read_meta(arrays, path)
    if meta.get("kind") != KIND:
        raise io.CheckpointError(f"{path} holds weights but no training state (was it written "
                                 "by cr.save rather than ModelCheckpoint?); cannot resume from it")
    try:
        trainer.model.load_state_dict(io.split_arrays(arrays, "model"))
        trainer.optimizer.load_state_dict(io.split_arrays(arrays, "optim"))
        rngs = module_rngs(trainer.model)
        saved = meta["module_rngs"]
        if set(rngs) != set(saved):
            raise ValueError(f"random modules differ: checkpoint has {sorted(saved)}, "
                             f"model has {sorted(rngs)}")
        for name, g in rngs.items():
            g.bit_generator.state = saved[name]
        if meta["val_loader_state"] is not None and hasattr(trainer.val_loader, "load_state_dict"):
            trainer.val_loader.load_state_dict(meta["val_loader_state"])
    except ValueError as err:
        raise io.CheckpointError(f"{path}: {err}") from err
    pos = meta["position"]
    trainer.epoch, trainer.batch_in_epoch, trainer.step = pos["epoch"], pos["batch"], pos["step"]
    trainer.epoch_loader_state = meta["loader_state"]
    trainer.running = dict(meta["running"])
    trainer.history.load_state_dict(meta["history"])
    guard = getattr(trainer, "divergence", None)
    if guard is not None and meta.get("divergence") is not None:
        guard.load_state_dict(meta["divergence"])
    trainer.config = {**meta.get("config", {}), **trainer.config}
    seen: dict[str, int] = {}
    saved_cbs = meta["callbacks"]
    for cb in trainer.callbacks:
        cls = type(cb).__name__
        k = seen[cls] = seen.get(cls, -1) + 1  # the k-th callback of this class
        matches = [j for j, s in enumerate(saved_cbs) if s["class"] == cls]
        if k < len(matches):
            j = matches[k]
            state = dict(saved_cbs[j]["state"])
            state.update(io.split_arrays(arrays, f"callbacks/{j}"))
            cb.load_state_dict(state)
    return meta
