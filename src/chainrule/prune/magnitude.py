"""Unstructured magnitude pruning (Han et al. 2015): zero the smallest weights, keep them zero.

``magnitude_masks(model, sparsity)`` returns ``{parameter name: keep mask}`` (bool arrays the
shape of each weight) that zero the fraction ``sparsity`` of the smallest |w|:

* ``scope="layer"`` — each weight matrix loses the same fraction (its own threshold);
* ``scope="global"`` — one threshold over all the weights together, so layers with many
  small weights (the first layer of an MLP) lose more.

Only the ``weight`` of ``Linear`` and ``Conv2d`` layers is pruned (biases and batch-norm
parameters are few and stay dense), unless ``names`` lists the parameters to prune. Ties at
the threshold are broken by position, so exactly ``round(sparsity · size)`` weights go.
Already-zero entries of a mask passed as ``previous`` stay zero (iterative pruning only
removes more).

Keeping them zero while retraining: ``MaskedOptimizer(optimizer, model, masks)`` wraps any
chainrule optimizer and is handed to ``fit`` in its place. Each ``step()`` multiplies the
masked gradients by the mask *before* the inner update — so momentum, Adam's moments and
weight decay never see the pruned entries (their state stays zero) — and multiplies the
weights by the mask after it, so a pruned weight is exactly 0.0 after every step, also at
validation checks and in checkpoints. Everything else (``lr``, schedules, ``state_dict``)
is the inner optimizer's; the masks are not part of its state (save them with
``chainrule.prune.save_sparse``, whose zeros are the masks). No global state, no change to
``fit``: the one loop runs unchanged with the wrapper as its optimizer.

The model keeps its dense shapes: a masked matrix product costs what a dense one costs.
Only a sparse file format (``save_sparse``) turns the zeros into fewer bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from ..core import Module
from ..layers.conv import Conv2d
from ..layers.linear import Linear


def prunable_weights(model: Module) -> list[str]:
    """Names of the ``weight`` parameters of every Linear and Conv2d (``"0.weight"``, ...)."""
    return [f"{n}.weight" if n else "weight" for n, m in model.named_modules()
            if isinstance(m, (Linear, Conv2d))]


def _keep_largest(values: np.ndarray, n_drop: int) -> np.ndarray:
    """Bool mask of ``values`` with the ``n_drop`` smallest (stable order) set False."""
    keep = np.ones(values.size, dtype=bool)
    if n_drop > 0:
        keep[np.argsort(values, kind="stable")[:n_drop]] = False
    return keep


def magnitude_masks(model: Module, sparsity: float | Mapping[str, float], *,
                    scope: str = "layer", names: Iterable[str] | None = None,
                    previous: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Keep masks zeroing the fraction ``sparsity`` of the smallest-magnitude weights.

    ``sparsity`` may be a ``{parameter name: fraction}`` mapping (``scope="layer"`` only):
    one fraction per layer, as Han et al. set them from each layer's sensitivity; its keys
    are then the parameters pruned.
    """
    if isinstance(sparsity, Mapping):
        if scope != "layer":
            raise ValueError("per-layer sparsities need scope='layer'")
        names, per = list(sparsity), {n: float(v) for n, v in sparsity.items()}
    else:
        names = list(names) if names is not None else prunable_weights(model)
        per = dict.fromkeys(names, float(sparsity))
    if bad := {n: v for n, v in per.items() if not 0.0 <= v < 1.0}:
        raise ValueError(f"sparsity must lie in [0, 1), got {bad}")
    if scope not in ("layer", "global"):
        raise ValueError(f"scope must be 'layer' or 'global', got {scope!r}")
    params = dict(model.named_parameters())
    if missing := [n for n in names if n not in params]:
        raise KeyError(f"no parameters {missing}; the model has {sorted(params)}")
    mags = {}
    for n in names:
        m = np.abs(params[n].data)
        if previous is not None and n in previous:   # already pruned: always among the smallest
            m = np.where(previous[n], m, m.dtype.type(-1))
        mags[n] = m
    if scope == "layer":
        return {n: _keep_largest(m.ravel(), round(per[n] * m.size)).reshape(m.shape)
                for n, m in mags.items()}
    flat = np.concatenate([m.ravel() for m in mags.values()])
    keep = _keep_largest(flat, round(float(sparsity) * flat.size))
    out, start = {}, 0
    for n, m in mags.items():
        out[n] = keep[start:start + m.size].reshape(m.shape)
        start += m.size
    return out


def apply_masks(model: Module, masks: Mapping[str, np.ndarray]) -> None:
    """Zero the masked weights of ``model`` in place."""
    params = dict(model.named_parameters())
    for n, mask in masks.items():
        if params[n].shape != mask.shape:
            raise ValueError(f"mask for {n} has shape {mask.shape}, parameter {params[n].shape}")
        params[n].data *= mask.astype(params[n].dtype)


def sparsity_of(model: Module, names: Iterable[str] | None = None) -> dict[str, Any]:
    """Counts of zero and non-zero entries of the pruned weights (all weights by default)."""
    params = dict(model.named_parameters())
    names = list(names) if names is not None else prunable_weights(model)
    nz = {n: int(np.count_nonzero(params[n].data)) for n in names}
    total = sum(params[n].size for n in names)
    return {"weights": total, "nonzero": sum(nz.values()), "per_layer": nz,
            "all_parameters_nonzero": int(sum(np.count_nonzero(p.data)
                                              for p in model.parameters()))}


class MaskedOptimizer:
    """``optimizer`` whose ``step`` keeps ``masks``' pruned weights of ``model`` at zero.

    step: ``g ← g ⊙ m`` for each masked parameter, the inner update, then ``w ← w ⊙ m``.
    Attribute access (``params``, ``state_dict``, ``step_count``, ...) goes to the inner
    optimizer; ``lr`` reads and writes the inner one's, so schedules work unchanged.
    """

    def __init__(self, optimizer: Any, model: Module, masks: Mapping[str, np.ndarray]) -> None:
        params = dict(model.named_parameters())
        inner_ids = {id(p) for p in optimizer.params}
        pairs = []
        for n, mask in masks.items():
            if n not in params:
                raise KeyError(f"MaskedOptimizer: the model has no parameter {n!r}")
            p = params[n]
            if id(p) not in inner_ids:
                raise ValueError(f"MaskedOptimizer: {n} is not among the optimizer's parameters "
                                 "(was it built for another copy of the model?)")
            if p.shape != mask.shape:
                raise ValueError(f"mask for {n} has shape {mask.shape}, parameter {p.shape}")
            pairs.append((p, np.asarray(mask, dtype=bool).astype(p.dtype)))
        object.__setattr__(self, "inner", optimizer)
        object.__setattr__(self, "_pairs", pairs)
        for p, m in pairs:
            p.data *= m

    @property
    def lr(self) -> float:
        return self.inner.lr

    @lr.setter
    def lr(self, value: float) -> None:
        self.inner.lr = value

    def step(self) -> None:
        """Masked gradients, the inner update, masked weights."""
        for p, m in self._pairs:
            p.grad *= m
        self.inner.step()
        for p, m in self._pairs:
            p.data *= m

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "lr":
            object.__setattr__(self, name, value)   # the property above
        else:
            setattr(self.inner, name, value)

    def __repr__(self) -> str:
        return f"MaskedOptimizer({self.inner!r}, {len(self._pairs)} masks)"
