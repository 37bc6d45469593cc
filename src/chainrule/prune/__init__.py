"""Pruning that shrinks networks: node pruning that removes units for real, unstructured
magnitude pruning with masks kept through ``fit``, sparse export, prune → retrain schedules.

* ``structured`` — ``remove_units``/``keep_top``/``shrink_to`` return a smaller ``Sequential``;
* ``criteria`` — one importance score per unit (weight L2, outgoing L1, mean activation,
  APoZ, first-order Taylor) and Srinivas & Babu's data-free merge;
* ``magnitude`` — per-layer or global magnitude masks and ``MaskedOptimizer``;
* ``export`` — CSR storage of sparse weights, save/load of node-pruned models;
* ``schedule`` — one-shot and k-round prune → retrain loops around ``chainrule.train.fit``.
"""

from .criteria import CRITERIA, merge_similar, score
from .export import load_pruned, load_sparse, save_pruned, save_sparse
from .magnitude import MaskedOptimizer, apply_masks, magnitude_masks, sparsity_of
from .schedule import (
    fit_retrainer,
    keep_fractions,
    magnitude_schedule,
    node_prune,
    node_schedule,
)
from .structured import (
    PruneError,
    keep_top,
    prunable,
    remove_many,
    remove_units,
    shrink_to,
    unit_path,
    widths,
)

__all__ = [
    "CRITERIA", "MaskedOptimizer", "PruneError", "apply_masks", "fit_retrainer",
    "keep_fractions", "keep_top", "load_pruned", "load_sparse", "magnitude_masks",
    "magnitude_schedule", "merge_similar", "node_prune", "node_schedule", "prunable",
    "remove_many", "remove_units", "save_pruned", "save_sparse", "score", "shrink_to",
    "sparsity_of", "unit_path", "widths",
]
