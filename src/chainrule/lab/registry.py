"""The experiment registry: how an experiment is declared, found and configured.

Adding an experiment
--------------------
Create ``src/chainrule/lab/experiments/<topic>.py`` (the package is scanned, nothing else
to edit). Its module docstring says which question it answers and what a reader should
see in its figures. It contains a dataclass config and one function::

    from dataclasses import dataclass
    from ..registry import register
    from ..context import RunContext
    from ._common import load_mnist_like        # best MNIST source, train/val/test
    from ... import plots

    @dataclass
    class Config:
        dataset: str = "mnist"      # every experiment: "mnist" (best source) | "fashion-mnist"
        epochs: int = 30
        lr: float = 0.1

    @register("my-topic", question="Does X beat Y?", config=Config,
              quick=dict(epochs=1), runtime={"quick": "4 s", "full": "1 min 20 s"})
    def run(cfg: Config, ctx: RunContext) -> None:
        data = load_mnist_like(cfg.dataset, ctx)           # records its sources in ctx
        history = fit(model, loss, opt, loader, val, epochs=cfg.epochs)   # the one fit loop
        csv = ctx.save_history(history, "history")         # -> history.csv (+ history_steps.csv)
        ctx.figure("curves", plots.training_curves, {"model": csv}, x="step",
                   caption="Loss and accuracy against gradient steps")   # drawn from the CSV
        ctx.metrics["test_accuracy"] = acc                 # -> metrics.json (deterministic only)
        ctx.md(f"Test accuracy reached **{acc:.2%}** ...")   # reading written from the numbers

Rules: randomness only from ``ctx.rng`` (or ``ctx.seed``), so one seed gives a byte-identical
``metrics.json``; never put wall-clock times in ``ctx.metrics`` (the runner writes them to
``timing.json``); ``quick`` overrides must finish in seconds on 2 CPU cores (CI runs them);
``runtime`` holds the measured wall times of ``chainrule lab run NAME --quick`` and of the
full run, shown by ``chainrule lab list``. Write a test ``tests/test_exp_<topic>.py`` that
calls ``chainrule.lab.runner.run_experiment(NAME, quick=True, out_root=tmp_path)`` and asserts
on the numbers in the returned ``metrics``.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_REGISTRY: dict[str, Experiment] = {}
_IMPORT_ERRORS: dict[str, str] = {}
_LOADED = False


@dataclass(frozen=True)
class Experiment:
    """A registered experiment: its name, question, config class, quick preset and function."""

    name: str
    question: str
    config_cls: type
    fn: Callable[[Any, Any], None]
    quick: dict[str, Any] = field(default_factory=dict)
    runtime: dict[str, str] = field(default_factory=dict)
    module: str = ""

    @property
    def doc(self) -> str:
        """The experiment module's docstring (what question, what to look for)."""
        mod = importlib.import_module(self.module) if self.module else None
        return (mod.__doc__ or "").strip() if mod else ""

    def make_config(self, quick: bool = False, overrides: dict[str, Any] | None = None) -> Any:
        """Build the config: defaults, then the quick preset, then ``overrides`` (strings parsed)."""
        values = dict(self.quick) if quick else {}
        values.update({k: parse_value(self.config_cls, k, v) for k, v in (overrides or {}).items()})
        return self.config_cls(**values)


def register(name: str, *, question: str, config: type, quick: dict[str, Any] | None = None,
             runtime: dict[str, str] | None = None) -> Callable:
    """Decorator that registers ``fn(cfg, ctx)`` as experiment ``name``."""
    if not dataclasses.is_dataclass(config):
        raise TypeError(f"experiment {name!r}: config must be a dataclass, got {config!r}")
    known = {f.name for f in dataclasses.fields(config)}
    if unknown := sorted(set(quick or {}) - known):
        raise ValueError(f"experiment {name!r}: quick preset sets unknown fields {unknown}")

    def deco(fn: Callable) -> Callable:
        if name in _REGISTRY and _REGISTRY[name].fn is not fn:
            raise ValueError(f"experiment {name!r} is registered twice")
        _REGISTRY[name] = Experiment(name, question, config, fn, dict(quick or {}),
                                     dict(runtime or {}), fn.__module__)
        return fn

    return deco


def load_all() -> dict[str, str]:
    """Import every module in ``chainrule.lab.experiments``; return ``{module: error}`` failures.

    A module that fails to import (e.g. a building block not written yet) does not stop
    the others; its error is kept and reported by ``list`` and ``run-all``.
    """
    global _LOADED
    if not _LOADED:
        from . import experiments

        for info in pkgutil.iter_modules(experiments.__path__):
            if info.name.startswith("_"):
                continue
            modname = f"{experiments.__name__}.{info.name}"
            try:
                importlib.import_module(modname)
            except Exception as exc:  # noqa: BLE001  (reported, never swallowed silently)
                _IMPORT_ERRORS[modname] = f"{type(exc).__name__}: {exc}"
        _LOADED = True
    return dict(_IMPORT_ERRORS)


def get(name: str) -> Experiment:
    """The experiment registered as ``name`` (raises ``KeyError`` listing the known names)."""
    load_all()
    if name not in _REGISTRY:
        hint = f"; modules that failed to import: {_IMPORT_ERRORS}" if _IMPORT_ERRORS else ""
        raise KeyError(f"unknown experiment {name!r}; known: {sorted(_REGISTRY)}{hint}")
    return _REGISTRY[name]


def names() -> list[str]:
    """Sorted names of every registered experiment."""
    load_all()
    return sorted(_REGISTRY)


def parse_value(config_cls: type, key: str, raw: Any) -> Any:
    """Parse ``raw`` (usually a string from ``--set key=value``) to the type of field ``key``."""
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    if key not in fields:
        raise ValueError(f"{config_cls.__name__} has no field {key!r}; fields: {sorted(fields)}")
    if not isinstance(raw, str):
        return raw
    hint = typing.get_type_hints(config_cls).get(key, str)
    return _parse(hint, raw, key)


def _parse(hint: Any, raw: str, key: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        if raw.lower() in ("none", "null") and type(None) in args:
            return None
        hint = next(a for a in args if a is not type(None))
        origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (tuple, list):
        item = args[0] if args else str
        items = tuple(_parse(item, s.strip(), key) for s in raw.split(",") if s.strip())
        return items if origin is tuple else list(items)
    if hint is bool:
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{key}: expected a boolean, got {raw!r}")
    if hint in (int, float):
        try:
            return hint(raw)
        except ValueError:
            raise ValueError(f"{key}: expected {hint.__name__}, got {raw!r}") from None
    return raw
