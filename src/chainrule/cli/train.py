"""``chainrule train`` and ``chainrule evaluate``."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..io import remove_orphans
from .options import (
    add_model_args,
    check_dataset,
    model_config,
    momentum_value,
    nonneg_float,
    nonneg_int,
    positive_float,
    positive_int,
    val_size,
)
from .runs import RunLock, check_resume, existing_run


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register the ``train`` and ``evaluate`` subcommands."""
    p = sub.add_parser("train", parents=[common], help="train a model and write a run folder",
                       description="Train a model; writes config.json, history.csv, metrics.json, "
                                   "model.npz and loss.png into --out.")
    p.add_argument("--dataset", default="mnist-5k",
                   help="training dataset (see `chainrule data list`)")
    p.add_argument("--data-dir", default=None, help="folder holding the training dataset's files")
    p.add_argument("--test-dataset", default=None,
                   help="dataset whose test split is reported (default: the training dataset's own "
                        "test split; for mnist-5k, the official MNIST test set)")
    add_model_args(p)
    p.add_argument("--epochs", type=positive_int, default=10)
    p.add_argument("--batch-size", type=positive_int, default=32)
    p.add_argument("--lr", type=positive_float, default=0.1, help="learning rate, finite, > 0")
    p.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
    p.add_argument("--momentum", type=momentum_value, default=None,
                   help="SGD momentum in [0, 1) (default 0; --optimizer sgd only)")
    p.add_argument("--weight-decay", type=nonneg_float, default=0.0)
    p.add_argument("--val-size", type=val_size, default=0.1,
                   help="validation fraction (< 1) or count (≥ 1) held out of the training split")
    p.add_argument("--seed", type=nonneg_int, default=0)
    p.add_argument("--out", default=None, help="run folder (default runs/<dataset>-<model>)")
    p.add_argument("--resume", action="store_true",
                   help="continue from OUT/checkpoint.npz (refused if any setting but --epochs "
                        "differs from the checkpoint's run)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run already in --out (without it, a folder holding a run "
                        "is refused)")
    shown = p.add_mutually_exclusive_group()
    shown.add_argument("--progress", action="store_true",
                       help="a progress bar even when stderr is not a terminal (default: a bar "
                            "on a terminal; one line per epoch in any case)")
    shown.add_argument("--quiet", action="store_true", help="no progress bar, no epoch lines")
    p.set_defaults(handler=run_train)

    e = sub.add_parser("evaluate", parents=[common], help="evaluate a saved model",
                       description="Print accuracy, macro-F1 and the confusion matrix of a "
                                   "saved model.")
    e.add_argument("checkpoint", help="model.npz or checkpoint.npz written by `chainrule train`")
    e.add_argument("--dataset", default="mnist")
    e.add_argument("--split", default="test")
    e.add_argument("--data-dir", default=None)
    e.add_argument("--batch-size", type=positive_int, default=1000)
    e.add_argument("--json", action="store_true", help="print the results as JSON")
    e.set_defaults(handler=run_evaluate)


def _inputs(x: np.ndarray, config: dict[str, Any]) -> np.ndarray:
    from ..models.config import flattens_input

    return x.reshape(len(x), -1) if flattens_input(config) else x


def default_test_source(dataset: str) -> str:
    """The dataset whose test split judges a model trained on ``dataset``."""
    return "mnist" if dataset == "mnist-5k" else dataset


def check_folder(path: str | None, what: str) -> None:
    """ValueError unless ``path`` is None or an existing folder."""
    if path is not None and not Path(path).is_dir():
        state = "is not a folder" if Path(path).exists() else "does not exist"
        raise ValueError(f"{what} {path} {state}")


def check_writable_folder(out: Path) -> None:
    """ValueError naming the path unless ``out`` is (or can be created as) a writable folder."""
    probe = out
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise ValueError(f"--out {out}: {probe} is a file, not a folder")
    if probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
        raise ValueError(f"--out {out}: {probe} is not writable")


def check_train_args(args: argparse.Namespace) -> None:
    """Everything about the arguments that can be checked before loading data."""
    check_dataset(args.dataset, "train", "--dataset")
    if args.test_dataset is not None:
        check_dataset(args.test_dataset, "test", "--test-dataset")
    check_folder(args.data_dir, "--data-dir")
    if args.optimizer != "sgd" and args.momentum is not None:
        raise ValueError(f"--momentum only applies to --optimizer sgd, not {args.optimizer} "
                         "(Adam's moments are fixed at betas (0.9, 0.999))")


def run_train(args: argparse.Namespace) -> int:
    """Check everything, take the run folder's lock, train, then write the run folder."""
    from chainrule import data

    check_train_args(args)
    out = Path(args.out or f"runs/{args.dataset}-{args.model}")
    check_writable_folder(out)
    if args.resume and args.overwrite:
        raise ValueError("--resume continues the run in --out, --overwrite replaces it: "
                         "choose one")
    if args.resume and not (out / "checkpoint.npz").is_file():
        raise ValueError(f"--resume: there is no checkpoint to resume from "
                         f"({out / 'checkpoint.npz'} does not exist)")
    try:  # check the model (fields, size) before loading any data, where the spec says how
        model_config(args, in_shape=tuple(data.input_shape(args.dataset)),
                     num_classes=len(data.get_spec(args.dataset).classes))
    except (AttributeError, TypeError):  # a spec without an image shape: checked below
        pass
    _refuse_another_run(args, out)  # before anything is created
    with RunLock(out) as lock:
        if lock.note:
            print(f"chainrule train: {lock.note} in {out}", file=sys.stderr)
        _refuse_another_run(args, out)  # again: a run may have finished in between
        remove_orphans(out)
        return _train_locked(args, out)


def _refuse_another_run(args: argparse.Namespace, out: Path) -> None:
    found = existing_run(out) if out.is_dir() else []
    if found and not (args.resume or args.overwrite):
        raise ValueError(f"--out {out} already holds a run ({', '.join(found)}); pass "
                         "--overwrite to replace it, --resume to continue it, or choose "
                         "another --out")


def _resume_command(args: argparse.Namespace) -> str:
    argv = [a for a in getattr(args, "argv", None) or sys.argv[1:] if a != "--overwrite"]
    return shlex.join(["chainrule", *argv, *([] if "--resume" in argv else ["--resume"])])


def _train_locked(args: argparse.Namespace, out: Path) -> int:
    import chainrule as cr
    from chainrule import data, optim, plots, train

    split_seed, init_seed, loader_seed = np.random.SeedSequence(args.seed).spawn(3)
    ds = data.load(args.dataset, "train", data_dir=args.data_dir)
    config = model_config(args, in_shape=ds.x.shape[1:], num_classes=ds.num_classes)
    if len(ds) < 2:
        raise ValueError(f"--dataset {args.dataset}: {len(ds)} training samples, too few to "
                         "hold out a validation set")
    run_config = {"command": "train",
                  **{k: v for k, v in vars(args).items() if k not in ("handler", "argv")},
                  "model_config": config, "train_source": ds.source, "chainrule": cr.__version__}
    ckpt = out / "checkpoint.npz"
    if args.resume:  # refuse a changed run before anything in the folder is rewritten
        check_resume(ckpt, run_config, args.epochs)
    elif args.overwrite:
        for name in existing_run(out):
            (out / name).unlink()
    x_tr, y_tr, x_val, y_val = data.train_val_split(
        _inputs(ds.x, config), ds.y, args.val_size, rng=np.random.default_rng(split_seed))
    model = cr.models.build_model(config, rng=np.random.default_rng(init_seed))
    loss = cr.SoftmaxCrossEntropy()
    if args.optimizer == "sgd":
        opt = optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum or 0.0,
                        weight_decay=args.weight_decay)
    else:
        opt = optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    train_loader = data.DataLoader(x_tr, y_tr, args.batch_size, shuffle=True,
                                   rng=np.random.default_rng(loader_seed))
    val_loader = data.DataLoader(x_val, y_val, 1000, shuffle=False)
    (out / "config.json").write_text(json.dumps(run_config, indent=2) + "\n")
    saver = train.ModelCheckpoint(ckpt, config=run_config)
    on_signal = _StopOnSignal(saver)
    callbacks = [train.CSVLogger(out / "history.csv"), saver]
    if not args.quiet:   # Keras-like: a bar on a terminal, one plain line per epoch always
        callbacks.append(train.ProgressBar(bar=args.progress or sys.stderr.isatty()))
    callbacks.append(on_signal.hook)  # last: every other callback has seen the step
    t0 = time.perf_counter()
    try:
        with on_signal:
            history = train.fit(model, loss, opt, train_loader, val_loader, epochs=args.epochs,
                                callbacks=callbacks, resume_from=ckpt if args.resume else None)
    except train.TrainingInterrupted as stop:
        print(f"chainrule train: interrupted after step {stop.step} (epoch {stop.epoch}, "
              f"batch {stop.batch}); checkpoint written to {ckpt}. Resume with: "
              f"{_resume_command(args)}", file=sys.stderr)
        return 130
    except train.NonFiniteLossError as err:  # NaN/inf loss, or divergence
        kept = (f"{ckpt} holds the last good weights" if ckpt.exists()
                else "No checkpoint was written")
        print(f"chainrule train: error: {err}. {kept}; model.npz was not written (try a "
              "smaller --lr)", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - t0
    cr.save(model, out / "model.npz", model_config=config, dataset=args.dataset, seed=args.seed)

    metrics: dict[str, Any] = {"dataset": args.dataset, "train_source": ds.source,
                               "epochs": len(history.epoch_log), "seed": args.seed}
    last = history.epoch_log[-1] if history.epoch_log else {}
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        if key in last:
            metrics[f"final_{key}"] = last[key]
    test_name = args.test_dataset or default_test_source(args.dataset)
    if data.available(test_name, "test"):
        test = data.load(test_name, "test")
        preds = train.predict(model, _inputs(test.x, config), batch_size=1000).argmax(axis=1)
        metrics.update(test_dataset=test_name, test_source=test.source,
                       test_accuracy=cr.metrics.accuracy(test.y, preds),
                       test_macro_f1=cr.metrics.macro_f1(test.y, preds, test.num_classes))
    else:
        metrics["test_dataset"] = None
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    (out / "timing.json").write_text(json.dumps({"train_seconds": seconds}, indent=2) + "\n")
    plots.training_curves({config["model"].upper(): out / "history.csv"}, path=out / "loss.png",
                          x="epoch", title=f"{config['model'].upper()} on {args.dataset}: "
                                           "per-epoch training and validation loss")
    print(f"trained {args.epochs} epochs in {seconds:.1f} s -> {out}")
    for key, value in metrics.items():
        if isinstance(value, float):
            print(f"  {key:<20} {value:.4f}")
    return 0


class _StopOnSignal:
    """Ctrl-C (SIGINT) or SIGTERM: finish the current step, write a checkpoint, stop.

    A context manager that installs the handlers (main thread only) and a training callback
    that, once a signal arrived, asks for a checkpoint and ``Trainer.interrupt()`` — ``fit``
    then raises ``TrainingInterrupted`` at the step boundary, the run resumable exactly. A
    second Ctrl-C aborts at once (``KeyboardInterrupt``: exit 130, no checkpoint)."""

    def __init__(self, saver: Any) -> None:
        from chainrule.train import Callback

        self.saver, self.signum = saver, None
        self._previous: dict[int, Any] = {}
        outer = self

        class _Hook(Callback):
            def on_batch_end(self, step: int, logs: dict[str, Any]) -> None:
                if outer.signum is not None:
                    self.trainer.request_checkpoint(outer.saver, outer.saver.path)
                    self.trainer.interrupt()

        self.hook = _Hook()

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signum is not None or signum != signal.SIGINT and signum != signal.SIGTERM:
            raise KeyboardInterrupt
        self.signum = signum
        print("chainrule train: stopping after this step (writing a checkpoint); press Ctrl-C "
              "again to abort without one", file=sys.stderr, flush=True)

    def __enter__(self) -> _StopOnSignal:  # noqa: PYI034
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}


def run_evaluate(args: argparse.Namespace) -> int:
    """Load a saved model and report its accuracy, macro-F1 and confusion matrix."""
    import chainrule as cr
    from chainrule import data, train

    check_dataset(args.dataset, args.split, "--dataset/--split")
    check_folder(args.data_dir, "--data-dir")
    model, meta = cr.io.load_model(args.checkpoint)  # checks the metadata before building
    config = cr.io.model_config_of(meta)
    ds = data.load(args.dataset, args.split, data_dir=args.data_dir)
    x = _inputs(ds.x, config)
    preds = train.predict(model, x, batch_size=args.batch_size).argmax(axis=1)
    acc = cr.metrics.accuracy(ds.y, preds)
    f1 = cr.metrics.macro_f1(ds.y, preds, ds.num_classes)
    cm = cr.metrics.confusion_matrix(ds.y, preds, ds.num_classes)
    if args.json:
        print(json.dumps({"dataset": ds.name, "split": ds.split, "source": ds.source,
                          "accuracy": acc, "macro_f1": f1, "confusion_matrix": cm.tolist()}))
        return 0
    print(f"{ds.name}/{ds.split} ({len(ds)} samples, from {ds.source})")
    print(f"accuracy  {acc:.4f}\nmacro-F1  {f1:.4f}\n"
          "confusion matrix (rows: true, columns: predicted)")
    width = max(5, len(str(cm.max())) + 1)
    print(" " * 6 + "".join(f"{j:>{width}}" for j in range(ds.num_classes)))
    for i, row in enumerate(cm):
        print(f"{i:>5} " + "".join(f"{v:>{width}}" for v in row))
    return 0
