"""Helpers shared by experiments: the best data source available, and small utilities.

``load_splits(dataset, ctx, ...)`` is how every experiment gets data. ``dataset="mnist"``
means *the best MNIST source available*: the full MNIST training set if it resolves, else
the 5,000-image ``mnist-5k`` subset; tested on the official MNIST test set when its
``test`` split resolves (e.g. through ``CHAINRULE_DATA``), else on a held-out part of the
training source. Any other name (``fashion-mnist``, ``digits``) is loaded by that name.
The sources actually used are recorded in the run (``ctx.add_source``), so the report
states them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..context import RunContext


@dataclass
class Splits:
    """Train/validation/test arrays (images NCHW float32 in [0, 1], labels int64) and names."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]
    train_name: str
    test_name: str

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def flat(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The three image arrays flattened to ``(N, H·W·C)``."""
        return tuple(x.reshape(len(x), -1) for x in (self.x_train, self.x_val, self.x_test))


def _take(x: np.ndarray, y: np.ndarray, n: int | None, rng: np.random.Generator):
    if n is None or n >= len(x):
        return x, y
    idx = np.sort(rng.permutation(len(x))[:n])
    return x[idx], y[idx]


def load_splits(dataset: str, ctx: RunContext, *, val_size: float = 0.1,
                n_train: int | None = None, n_test: int | None = None,
                holdout: int = 1000) -> Splits:
    """Load ``dataset`` (``"mnist"`` = best MNIST source) into train/val/test splits.

    ``n_train``/``n_test`` subsample (for quick presets) after the split, with ``ctx.rng``.
    ``val_size`` (a count or a fraction) is carved out of the training source.
    """
    from ... import data

    if dataset == "mnist":
        train_name = "mnist" if data.available("mnist", "train") else "mnist-5k"
        test_name = "mnist" if data.available("mnist", "test") else None
    else:
        train_name = dataset
        has_test = "test" in data.sources.get_spec(dataset).splits   # notmnist: train only
        test_name = dataset if has_test and data.available(dataset, "test") else None
    train = data.load(train_name, "train")
    x, y = train.x, train.y
    rng = ctx.rng
    if test_name is not None:
        test = data.load(test_name, "test")
        x_test, y_test = test.x, test.y
        test_desc = f"test: {test.name}/test ({test.source}), {{n}} images"
    else:
        perm = rng.permutation(len(x))
        hold, keep = perm[:holdout], np.sort(perm[holdout:])
        x_test, y_test, x, y = x[np.sort(hold)], y[np.sort(hold)], x[keep], y[keep]
        test_desc = (f"test: {{n}} images held out of {train.name}/train "
                     f"(no separate test split resolved)")
    n_val = round(val_size * len(x)) if isinstance(val_size, float) else int(val_size)
    perm = rng.permutation(len(x))
    val_idx, tr_idx = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    x_val, y_val, x_tr, y_tr = x[val_idx], y[val_idx], x[tr_idx], y[tr_idx]
    x_tr, y_tr = _take(x_tr, y_tr, n_train, rng)
    x_test, y_test = _take(x_test, y_test, n_test, rng)
    fallback = (" — fallback: the full MNIST training set did not resolve (set CHAINRULE_DATA "
                "to a folder with mnist/, or `chainrule data download mnist`)"
                if dataset == "mnist" and train.name == "mnist-5k" else "")
    if fallback:
        ctx.log(f"[data] mnist: using the 5,000-image mnist-5k subset{fallback}")
    ctx.add_source(f"train: {train.name}/train ({train.source}), {len(x_tr):,} images{fallback}")
    ctx.add_source(f"validation: {len(x_val):,} images held out of {train.name}/train")
    ctx.add_source(test_desc.format(n=f"{len(x_test):,}"))
    return Splits(x_tr, y_tr, x_val, y_val, x_test, y_test, tuple(train.classes), train.name,
                  test_name or f"{train.name} (held out)")


def standardize(x_train: np.ndarray, *others: np.ndarray,
                mode: str = "global") -> tuple[np.ndarray, ...]:
    """Normalise by the training set's mean and std (``data.Standardizer``; ``mode`` is
    ``"global"``, one mean and std over all pixels, or ``"per_feature"``, one per pixel).

    Returns the transformed training array followed by the transformed ``others``.
    Per-pixel statistics divide near-constant border pixels by tiny stds, so a test image
    can reach values in the thousands; the global mode keeps every value within ~±5.
    """
    from ...data import Standardizer

    st = Standardizer(mode).fit(x_train)
    return tuple(st.transform(a) for a in (x_train, *others))


def add_bias(x: np.ndarray) -> np.ndarray:
    """Append a constant-1 column (the bias trick): ``(N, D)`` → ``(N, D+1)``."""
    from ...data import add_bias_column

    return add_bias_column(x)


def pct(v: float) -> str:
    """``0.9123`` → ``"91.23%"``."""
    return f"{100.0 * float(v):.2f}%"


def two_se(p1: float, n1: int, p2: float, n2: int) -> float:
    """Two standard errors of the difference of two accuracies measured on ``n1`` and ``n2``
    examples (binomial, unpaired: a conservative resolution for the same test set) — the
    smallest difference a reading calls clear."""
    return 2.0 * float(np.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2))


def two_se_at_half(n_test: int) -> float:
    """``two_se`` at 50% on ``n_test`` examples each (the widest binomial spread): √(2·0.25/n)·2,
    a conservative resolution below which a reading calls no difference."""
    n = max(n_test, 1)
    return two_se(0.5, n, 0.5, n)


def sem(values: Any) -> float:
    """Standard error of the mean of ``values`` (sample std, ddof 1, over √n); ∞ for n < 2."""
    v = np.asarray(values)
    return float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else float("inf")


def gradcheck_metrics(*reports: Any) -> dict[str, Any]:
    """What ``metrics["gradcheck"]`` keeps of ``GradcheckReport``s: ok, the largest relative
    error, the tolerance and, per tensor, its errors and the test that decided it (``rel`` or,
    for a zero gradient, ``abs``). Tensors of later reports are prefixed by their subject."""
    tensors = {}
    for i, rep in enumerate(reports):
        for r in rep.results:
            key = r.name if i == 0 else f"{rep.subject} {r.name}"
            tensors[key] = {"max_rel": float(r.max_rel), "max_abs": float(r.max_abs),
                            "test": r.test}
    return {"ok": all(bool(rep.ok) for rep in reports), "tol": float(reports[0].tol),
            "max_rel": float(reports[0].max_rel), "tensors": tensors}


def gradcheck_claims(ctx: RunContext, key: str = "gradcheck") -> list:
    """How many checked tensors of ``ctx.metrics[key]`` (``gradcheck_metrics``) pass, per
    test that decided them, each named: the relative test (largest relative error ≤ tol)
    and, for tensors with a zero gradient, the absolute one (largest absolute error ≤ ATOL)."""
    from ...gradcheck import ATOL
    from ..claims import Count, metric

    tensors = ctx.metrics[key]["tensors"]
    rel = [n for n, t in tensors.items() if t["test"] != "abs"]
    zero = [n for n, t in tensors.items() if t["test"] == "abs"]
    out = []
    if rel:
        out.append(Count("tensors judged by the relative test",
                         "have a largest relative error |a − n| / max(|a|, |n|, 1e-3·scale)",
                         tuple(metric(ctx, key, "tensors", n, "max_rel") for n in rel),
                         op="<=", bar=metric(ctx, key, "tol"), spec=".0e"))
    if zero:
        out.append(Count("tensors with a zero gradient, judged by the absolute test,",
                         "have a largest absolute error |a − n|",
                         tuple(metric(ctx, key, "tensors", n, "max_abs") for n in zero),
                         op="<=", bar=ATOL, spec=".0e"))
    return out


# ------------------------------------------------ the coursework's "64-unit network" set-up
# Shared by experiments that vary one ingredient of softmax-regression's hidden network
# (tricks-of-the-trade, topology): bias-trick inputs, U(-1, 1) weights by default, plain
# shuffled mini-batch SGD, validation every ``val_every`` steps, early stopping.


@dataclass
class EarlyStoppingConfig:
    """Config fields of the shuffled-SGD + early-stopping set-up (subclass to add more)."""

    dataset: str = "mnist"
    lr: float = 0.1
    batch_size: int = 32
    max_epochs: int = 50
    val_every: int = 0          # gradient steps between validation checks; 0 = a fifth of an epoch
    patience: int = 50          # validation checks without improvement before stopping
    val_size: int = 500
    n_train: int = 0            # 0 = all training images
    n_test: int = 0             # 0 = the whole test set


def bias_trick_data(cfg: EarlyStoppingConfig, ctx: RunContext) -> tuple[Splits, tuple]:
    """Splits plus flattened, standardised train/val/test inputs with the constant-1 column."""
    s = load_splits(cfg.dataset, ctx, val_size=cfg.val_size, n_train=cfg.n_train or None,
                    n_test=cfg.n_test or None)
    return s, tuple(add_bias(a) for a in standardize(*s.flat()))


def check_interval(cfg: EarlyStoppingConfig, n_train: int) -> int:
    """``cfg.val_every``, or a fifth of an epoch's steps when it is 0."""
    return cfg.val_every or max(1, -(-n_train // cfg.batch_size) // 5)


def bias_trick_mlp(d_in: int, hidden: tuple[int, ...], num_classes: int, *,
                   activation: str = "sigmoid", init: str = "uniform",
                   bias_init: str = "uniform", rng: np.random.Generator) -> Any:
    """``(D+1) → h₁ → … → h_k → C`` logits; the first Linear has no bias (the input's
    constant 1 plays it), later ones do. Weights and biases drawn in layer order."""
    from ...core import Sequential
    from ...layers.activation import activation as make_activation
    from ...layers.linear import Linear

    sizes, layers = (d_in, *hidden), []
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        layers += [Linear(fan_in, fan_out, bias=i > 0, init=init, bias_init=bias_init,
                             rng=rng), make_activation(activation)]
    layers.append(Linear(sizes[-1], num_classes, init=init, bias_init=bias_init, rng=rng))
    return Sequential(*layers)


def fit_early_stopping(model: Any, optimizer: Any, cfg: EarlyStoppingConfig, train: tuple,
                       val: tuple, *, loader_seed: int,
                       evaluate_on: dict[str, tuple] | None = None) -> tuple[Any, dict]:
    """Train with ``fit`` (validation every ``check_interval`` steps, early stopping after
    ``cfg.patience`` checks without a lower validation loss, best weights restored).

    ``train``/``val`` and the values of ``evaluate_on`` are ``(x, y)`` pairs. Returns the
    ``History`` and a dict: parameters, steps, stopped_early, best_step, best_val_loss,
    best_val_accuracy, checks, and ``<split>_loss``/``<split>_accuracy`` per ``evaluate_on``
    entry (measured with the restored weights).
    """
    from ...data import DataLoader
    from ...losses import SoftmaxCrossEntropy
    from ...train import EarlyStopping, evaluate, fit

    loss = SoftmaxCrossEntropy()
    loader = DataLoader(*train, cfg.batch_size, shuffle=True, rng=loader_seed)
    stop = EarlyStopping(monitor="val_loss", patience=cfg.patience, restore_best=True)
    hist = fit(model, loss, optimizer, loader, DataLoader(*val, 512, shuffle=False),
               epochs=cfg.max_epochs, callbacks=[stop],
               val_every=check_interval(cfg, len(train[0])))
    best = {r["step"]: r for r in hist.step_log}[stop.best_step]
    res = {"parameters": model.num_parameters(), "steps": int(hist.epoch_log[-1]["step"]),
           "stopped_early": stop.stopped_step is not None, "best_step": int(stop.best_step),
           "best_val_loss": float(best["val_loss"]),
           "best_val_accuracy": float(best["val_accuracy"]), "checks": len(hist.step_log)}
    for split, (x, y) in (evaluate_on or {}).items():
        ev = evaluate(model, loss, DataLoader(x, y, 512, shuffle=False))
        res[f"{split}_loss"], res[f"{split}_accuracy"] = float(ev["loss"]), float(ev["accuracy"])
    return hist, res


def write_timings(ctx: RunContext, timings: dict[str, Any], name: str = "timings.json") -> None:
    """Wall-clock measurements beside ``timing.json`` (never in ``metrics.json``)."""
    import json

    from ..context import jsonable

    ctx.path(name).write_text(json.dumps(jsonable(timings), indent=2, sort_keys=True) + "\n")
