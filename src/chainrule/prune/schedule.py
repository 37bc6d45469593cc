"""Prune → retrain schedules (one shot, or k rounds), retraining with the library's one ``fit``.

A schedule removes a target fraction in ``rounds`` steps. After round r (1…k) the model keeps
``(1 − target)^(r/k)`` of what it started with — each round removes the same fraction of what
is left, as Han et al. (2015) prune iteratively — and then retrains. ``rounds=1`` is one-shot
pruning followed by one retraining.

Why retrain: removing weights or units shifts every later layer's input; the surviving
weights were fit to the old inputs. A few epochs of training let them absorb the missing
contributions (the loss surface around the pruned point still has a good minimum nearby),
which is how Han et al. keep LeNet-300-100's error while removing 92% of its weights.

``retrain(model, masks)`` is any callable; ``fit_retrainer`` builds the usual one: a fresh
optimizer from ``make_optimizer(model.parameters())`` (pruned models have new Parameters),
wrapped in ``MaskedOptimizer`` when there are masks, and ``chainrule.train.fit``.
``measure(model)`` (optional) returns a dict of numbers recorded before and after each
retraining (e.g. test accuracy), so the rows show what pruning cost and what retraining won.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from ..core import Module
from . import criteria as cr_
from . import structured as st
from .magnitude import MaskedOptimizer, apply_masks, magnitude_masks, sparsity_of

Retrain = Callable[[Module, dict | None], Any]


def keep_fractions(target: float, rounds: int) -> list[float]:
    """Fraction kept after each of ``rounds`` rounds: ``(1 − target)^(r/rounds)``."""
    if not 0.0 <= float(target) < 1.0 or int(rounds) < 1:
        raise ValueError(f"need 0 <= target < 1 and rounds >= 1, got {target}, {rounds}")
    return [(1.0 - float(target)) ** (r / int(rounds)) for r in range(1, int(rounds) + 1)]


def fit_retrainer(loss: Any, make_optimizer: Callable[[list], Any], train: Any, val: Any = None,
                  *, epochs: int, **fit_kwargs: Any) -> Retrain:
    """``retrain(model, masks)`` running ``fit`` with a fresh (masked) optimizer."""
    from ..train import fit

    def retrain(model: Module, masks: dict | None) -> Any:
        opt = make_optimizer(model.parameters())
        if masks:
            opt = MaskedOptimizer(opt, model, masks)
        return fit(model, loss, opt, train, val, epochs=epochs, **fit_kwargs)

    return retrain


def _record(measure: Callable | None, model: Module, prefix: str) -> dict[str, Any]:
    return {f"{prefix}_{k}": v for k, v in (measure(model) if measure else {}).items()}


def magnitude_schedule(model: Module, sparsity: float | Mapping[str, float], *,
                       rounds: int = 1, retrain: Retrain | None = None, scope: str = "layer",
                       measure: Callable | None = None) -> tuple[Module, dict, list[dict]]:
    """Magnitude-prune ``model`` in place to ``sparsity`` (one fraction, or one per weight
    name) over ``rounds`` rounds, retraining after each; return ``(model, masks, rows)``."""
    masks: dict | None = None
    rows = []
    per = dict(sparsity) if isinstance(sparsity, Mapping) else None
    steps = {n: keep_fractions(v, rounds) for n, v in per.items()} if per else None
    for r, kept in enumerate(keep_fractions(0.0 if per else sparsity, rounds), start=1):
        target = {n: 1.0 - k[r - 1] for n, k in steps.items()} if steps else 1.0 - kept
        masks = magnitude_masks(model, target, scope=scope, previous=masks)
        apply_masks(model, masks)
        row = {"round": r, **sparsity_of(model, list(masks)),
               **_record(measure, model, "pruned")}
        row["sparsity"] = 1.0 - row["nonzero"] / row["weights"]
        if retrain is not None:
            retrain(model, masks)
            row.update(_record(measure, model, "retrained"))
        rows.append(row)
    return model, masks or {}, rows


def node_prune(model: Module, keep: dict[str, int], criterion: str, **data: Any) -> Module:
    """A copy of ``model`` keeping ``keep[name]`` units per layer, chosen by ``criterion``
    (a name in ``criteria.CRITERIA``, scored on the model as given) or ``"merge"``
    (Srinivas & Babu's merge, layer by layer)."""
    if criterion == "merge":
        for name, k in keep.items():
            n = st.units_of(dict(st.chain(model))[name]) - int(k)
            model, _ = cr_.merge_similar(model, name, n)
        return model
    scores = {n: cr_.score(model, n, criterion, **data) for n in keep}
    return st.keep_top(model, scores, keep)


def node_schedule(model: Module, removed: float, *, criterion: str, rounds: int = 1,
                  layers: Iterable[str] | None = None, retrain: Retrain | None = None,
                  measure: Callable | None = None,
                  **data: Any) -> tuple[Module, list[dict]]:
    """Remove the fraction ``removed`` of the units of ``layers`` (every prunable layer by
    default) over ``rounds`` rounds, retraining after each; return ``(smaller model, rows)``."""
    orig = st.widths(model)
    names = list(layers) if layers is not None else list(orig)
    rows = []
    for r, kept in enumerate(keep_fractions(removed, rounds), start=1):
        keep = {n: max(1, int(np.round(orig[n] * kept))) for n in names}
        model = node_prune(model, keep, criterion, **data)
        row = {"round": r, "removed": 1.0 - kept, "widths": st.widths(model),
               "parameters": model.num_parameters(), **_record(measure, model, "pruned")}
        if retrain is not None:
            retrain(model, None)
            row.update(_record(measure, model, "retrained"))
        rows.append(row)
    return model, rows
