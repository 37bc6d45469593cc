"""The experiment registry: how an experiment is declared, found and configured.

Adding an experiment
--------------------
Create ``src/chainrule/lab/experiments/<topic>.py`` (the package is scanned: nothing else to
edit). Its module docstring says which question it answers and what a reader should see in
its figures. ``softmax_regression.py`` is the worked template. The shape::

    from dataclasses import dataclass
    from ... import plots
    from ..context import RunContext
    from ..registry import register
    from ._common import load_splits, pct, standardize

    @dataclass
    class Config:
        dataset: str = "mnist"   # every experiment: "mnist" (best source) | "fashion-mnist"
        epochs: int = 30
        n_train: int = 0         # 0 = all; quick presets shrink it

    @register("my-topic", question="Does X beat Y?", config=Config,
              quick={"epochs": 1, "n_train": 1000},
              runtime={"quick": "4 s", "full": "1 min 20 s"},   # measured, shown by `lab list`
              source="<assignment>, question <n>",  # where the question comes from, if known
              coursework="<its verbatim wording>")  # only if on record; never a paraphrase
    def run(cfg: Config, ctx: RunContext) -> None:
        import chainrule as cr                        # heavy imports inside run()
        from chainrule.data import DataLoader
        from chainrule.train import evaluate, fit
        s = load_splits(cfg.dataset, ctx, val_size=500, n_train=cfg.n_train or None)
        xtr, xva, xte = standardize(*s.flat())       # s.y_train, s.y_val, s.y_test
        hist = fit(model, loss, opt, DataLoader(xtr, s.y_train, 32, rng=ctx.rng), val_loader,
                   epochs=cfg.epochs, val_every=50)  # the one fit loop, never a private one
        csv = ctx.save_history(hist, "history")      # history.csv (+ history_steps.csv)
        ctx.figure("curves", plots.training_curves, {"model": csv}, x="step",
                   caption="...")                    # drawn from the saved CSV
        ctx.metrics["test_accuracy"] = acc           # metrics.json: deterministic values only
        ctx.answer(reading(ctx, [...claims...]), figure="curves")  # the answer: checked
                                                     # claims (chainrule.lab.claims), one figure

``ctx`` also offers ``save_rows(list_of_dicts, name)`` (any CSV), ``table(rows, headers)``,
``heading``, ``code``, ``path(name)`` (any other file) and ``log``. ``plots`` has
``training_curves``, ``grouped_lines`` (one line per group, one panel per value of a column)
and ``bars``; add new plot functions (taking saved files) to a module per family in
``chainrule/plots/``, e.g. ``chainrule/plots/audio.py``.

Rules: randomness only from ``ctx.rng`` (or ``ctx.seed``), so one seed gives a byte-identical
``metrics.json``; never put wall-clock times in ``ctx.metrics`` (the runner writes them to
``timing.json``); the ``quick`` preset must finish in a few seconds on 2 CPU cores (CI runs
every experiment's quick form); ``runtime`` records measured wall times of
``chainrule lab run NAME --quick`` and of the full run (``quick-5k``/``full-5k``: the same
on the ``mnist-5k`` fallback, for experiments that use MNIST). Write
``tests/test_exp_<topic>.py`` that calls
``chainrule.lab.runner.run_experiment(NAME, quick=True, out_root=tmp_path)`` once
(module-scoped fixture) and asserts on the numbers in ``result.metrics``.
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
    """A registered experiment: its name, question, config class, quick preset and function.

    ``question`` is the question in our words; ``coursework`` is the coursework's own wording
    (a verbatim quotation, or ``""`` when none is on record) and ``source`` names where the
    question comes from (assignment and question, e.g. ``"UCL COMP0197 A1, question 3"``;
    ``""`` when the question is ours). ``runtime`` maps a preset to its measured wall time:
    ``"quick"``/``"full"`` with the full data, ``"quick-5k"``/``"full-5k"`` on the
    5,000-image ``mnist-5k`` fallback (``runtime_for`` picks).
    """

    name: str
    question: str
    config_cls: type
    fn: Callable[[Any, Any], None]
    quick: dict[str, Any] = field(default_factory=dict)
    runtime: dict[str, str] = field(default_factory=dict)
    module: str = ""
    source: str = ""
    coursework: str = ""

    def runtime_for(self, preset: str, *, full_mnist: bool) -> tuple[str, str]:
        """``(measured time, runtime key)`` of ``preset`` (``"quick"``/``"full"``) on a
        machine where full MNIST does (``full_mnist=True``) or does not resolve: the
        ``"<preset>-5k"`` record when MNIST falls back to ``mnist-5k`` and the experiment has
        one, else ``"<preset>"``; ``("?", key)`` when nothing was measured."""
        key = preset if full_mnist or f"{preset}-5k" not in self.runtime else f"{preset}-5k"
        return self.runtime.get(key, "?"), key

    @property
    def doc(self) -> str:
        """The experiment module's docstring (what question, what to look for)."""
        mod = importlib.import_module(self.module) if self.module else None
        return (mod.__doc__ or "").strip() if mod else ""

    def make_config(self, quick: bool = False, overrides: dict[str, Any] | None = None) -> Any:
        """Build the config: defaults, then the quick preset, then ``overrides`` (strings
        parsed)."""
        values = dict(self.quick) if quick else {}
        for k, v in (overrides or {}).items():
            values[k] = check_value(self.config_cls, k, parse_value(self.config_cls, k, v))
        return self.config_cls(**values)


RUNTIME_KEYS = ("quick", "full", "quick-5k", "full-5k")


def register(name: str, *, question: str, config: type, quick: dict[str, Any] | None = None,
             runtime: dict[str, str] | None = None, source: str = "",
             coursework: str = "") -> Callable:
    """Decorator that registers ``fn(cfg, ctx)`` as experiment ``name``.

    ``source``/``coursework``: where the question comes from and the coursework's verbatim
    wording, if any (see ``Experiment``); never a paraphrase presented as a quotation.
    """
    if not dataclasses.is_dataclass(config):
        raise TypeError(f"experiment {name!r}: config must be a dataclass, got {config!r}")
    if bad := sorted(set(runtime or {}) - set(RUNTIME_KEYS)):
        raise ValueError(f"experiment {name!r}: unknown runtime keys {bad}; "
                         f"known: {list(RUNTIME_KEYS)}")
    if coursework and not source:
        raise ValueError(f"experiment {name!r}: a coursework quotation needs its source")
    known = {f.name for f in dataclasses.fields(config)}
    if unknown := sorted(set(quick or {}) - known):
        raise ValueError(f"experiment {name!r}: quick preset sets unknown fields {unknown}")

    def deco(fn: Callable) -> Callable:
        if name in _REGISTRY and _REGISTRY[name].fn is not fn:
            raise ValueError(f"experiment {name!r} is registered twice")
        _REGISTRY[name] = Experiment(name, question, config, fn, dict(quick or {}),
                                     dict(runtime or {}), fn.__module__, source=source,
                                     coursework=coursework)
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


# Name parts of config fields that must be > 0 (counts, sizes, rates), and of those that are
# probabilities in [0, 1); fields named dataset(s) must name registered datasets.
_POSITIVE = {"epochs", "size", "lr", "steps", "width", "widths", "depth",
             "depths", "hidden", "channels", "layers", "every", "patience", "probe", "entries",
             "samples", "eps", "checks"}
_UNIT = {"dropout", "momentum", "fraction"}


def check_value(config_cls: type, key: str, value: Any) -> Any:
    """Range-check an override (``--set key=value``) before any work starts; return it.

    Numbers must be finite; a number whose default is ≥ 0 may not be negative; fields named
    like counts, sizes and rates (``epochs``, ``batch_size``, ``lr``, ``*_steps``, ...) must
    be > 0 unless their default is 0 (where 0 means "off" or "all"); ``dropout``/``momentum``/
    ``*_fraction`` lie in [0, 1); ``dataset``/``datasets``/``*_dataset`` name known datasets.
    ``ValueError`` names the field and the rule.
    """
    import math

    default = {f.name: f.default for f in dataclasses.fields(config_cls)}.get(key)
    items = list(value) if isinstance(value, (tuple, list)) else [value]
    dflt = list(default) if isinstance(default, (tuple, list)) else [default]
    parts = set(key.split("_"))
    nums = [v for v in items if isinstance(v, (int, float)) and not isinstance(v, bool)]
    dnums = [d for d in dflt if isinstance(d, (int, float)) and not isinstance(d, bool)]
    for v in nums:
        if not math.isfinite(v):
            raise ValueError(f"--set {key}: expected a finite number, got {v!r}")
        if dnums and min(dnums) >= 0 and v < 0:
            raise ValueError(f"--set {key}: must be >= 0, got {v!r}")
        if parts & _POSITIVE and dnums and min(dnums) > 0 and v <= 0:
            raise ValueError(f"--set {key}: must be > 0, got {v!r}")
        if parts & _UNIT and not 0 <= v < 1:
            raise ValueError(f"--set {key}: must be in [0, 1), got {v!r}")
    if isinstance(value, (tuple, list)) and not value and default:
        raise ValueError(f"--set {key}: needs at least one value")
    if key in ("dataset", "datasets") or key.endswith("_dataset"):
        from ..data import names as dataset_names

        known = dataset_names()
        if bad := [v for v in items if v not in known]:
            raise ValueError(f"--set {key}: unknown dataset {', '.join(map(repr, bad))}; "
                             f"known: {', '.join(known)}")
    return value


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
