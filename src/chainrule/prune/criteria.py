"""Which units can go: importance scores, one per unit of a Linear or Conv2d layer.

Every criterion returns a float64 array of length ``units`` where **higher means more
important**; ``structured.keep_top`` keeps the highest-scoring units. Data-free criteria read
the weights only; data criteria run the model on a sample in evaluation mode (dropout off,
batch norm on its running statistics). The *activation* ``a`` of a unit is the output of the
last batch-norm/activation layer right after it (``UnitPath.activation``: ReLU's output for
``Linear → ReLU`` and ``Conv2d → BatchNorm2d → ReLU → MaxPool2d``), averaged over the batch
and, for a conv filter, over its feature map.

* ``weight_l2`` — L2 norm of the unit's incoming weights ``‖W[:, u]‖₂`` (a filter's
  ``‖W[u]‖₂``): small weights, small contribution. The magnitude heuristic of Han et al.
  (2015) applied to whole units; Li et al. (2017, "Pruning filters for efficient ConvNets")
  use the L1 norm of a filter.
* ``outgoing_l1`` — L1 norm of the weights the unit feeds in the next layer: a unit whose
  outgoing weights are small changes the next layer little, whatever it computes.
* ``mean_activation`` — mean |a| over the sample (Molchanov et al. 2017, ICLR, compare it
  as a baseline): a unit that is rarely on contributes little.
* ``apoz`` — 1 − APoZ, APoZ being the Average Percentage of Zeros of a after ReLU (Hu et al.
  2016, "Network Trimming"): units that are mostly zero go first.
* ``taylor`` — first-order Taylor estimate of the loss change when a is set to zero
  (Molchanov et al. 2017, "Pruning convolutional neural networks for resource efficient
  inference"): ``|mean over the feature map of a·∂L/∂a|`` per sample, averaged over the
  sample. ``∂L/∂a`` is the backward pass of the layers after a (parameter gradients it
  accumulates are zeroed again).
* ``merge_similar`` — Srinivas & Babu (2015, "Data-free parameter pruning for deep neural
  networks", BMVC): not a score but a merge. For units i, j with incoming weights (and bias)
  ``w_i, w_j`` and outgoing weights ``a_j``, the saliency of removing j into i is
  ``s_ij = ⟨a_j²⟩·‖w_i − w_j‖²``; the pair with the smallest saliency is merged — j removed,
  ``a_i += a_j`` — and the saliencies recomputed, until ``n`` units are gone. If w_i = w_j the
  two units compute the same thing and the merge is exact; the survivors are adjusted, unlike
  plain removal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..core import Module, Sequential
from ..layers.linear import Linear
from . import structured as st


def _layer(model: Module, name: str) -> Module:
    return dict(st.chain(model))[name]


def incoming(model: Module, name: str) -> np.ndarray:
    """Each unit's incoming weights as rows: ``(units, fan_in)`` (bias not included)."""
    layer = _layer(model, name)
    st.units_of(layer)
    w = layer.weight.data
    return w.T if isinstance(layer, Linear) else w.reshape(w.shape[0], -1)


def outgoing(model: Module, name: str) -> np.ndarray:
    """Each unit's outgoing weights (in the next weighted layer) as rows: ``(units, ·)``."""
    path = st.unit_path(model, name)
    cons = _layer(model, path.consumer)
    w = cons.weight.data
    if isinstance(cons, Linear):
        return w.reshape(path.units, path.rows * w.shape[1])
    return np.moveaxis(w, 1, 0).reshape(path.units, -1)


def weight_l2(model: Module, name: str, **_: Any) -> np.ndarray:
    """‖incoming weights‖₂ per unit."""
    return np.linalg.norm(incoming(model, name).astype(np.float64), axis=1)


def outgoing_l1(model: Module, name: str, **_: Any) -> np.ndarray:
    """‖outgoing weights‖₁ per unit."""
    return np.abs(outgoing(model, name).astype(np.float64)).sum(axis=1)


def _split(model: Module, name: str) -> tuple[Sequential, Sequential]:
    """(layers up to the unit's activation, the layers after it), sharing the model's layers."""
    path = st.unit_path(model, name)
    leaves = [m for _, m in st.chain(model)]
    k = [n for n, _ in st.chain(model)].index(path.activation) + 1
    return Sequential(*leaves[:k]), Sequential(*leaves[k:])


def activations(model: Module, name: str, x: np.ndarray) -> np.ndarray:
    """The units' activations a on ``x`` (evaluation mode): ``(N, units[, H, W])``."""
    head, _ = _split(model, name)
    return head.forward(x, training=False)


def _per_sample(a: np.ndarray) -> np.ndarray:
    """(N, units, ...) → (N, units): the mean over a conv feature map."""
    return a.reshape(a.shape[0], a.shape[1], -1).mean(axis=2, dtype=np.float64)


def mean_activation(model: Module, name: str, *, x: np.ndarray, **_: Any) -> np.ndarray:
    """Mean |a| per unit over ``x`` (and the feature map)."""
    return _per_sample(np.abs(activations(model, name, x))).mean(axis=0)


def apoz(model: Module, name: str, *, x: np.ndarray, **_: Any) -> np.ndarray:
    """1 − APoZ: the fraction of a's values (samples × positions) that are not zero."""
    a = activations(model, name, x)
    return _per_sample((a != 0).astype(np.float32)).mean(axis=0)


def taylor(model: Module, name: str, *, x: np.ndarray, y: np.ndarray, loss: Any,
           **_: Any) -> np.ndarray:
    """|mean over the map of a·∂L/∂a| per sample, averaged over samples (Molchanov 2017)."""
    head, tail = _split(model, name)
    a = head.forward(x, training=False)
    value = loss.forward(tail.forward(a, training=False), y)
    if not np.isfinite(value):
        raise ValueError(f"taylor: the loss on the scoring sample is {value}")
    # The loss carries 1/N; undo it so the score is a per-sample mean, not scaled by N.
    da = tail.backward(loss.backward()) * float(len(x))
    model.zero_grad()
    return np.abs(_per_sample(a * da)).mean(axis=0)


CRITERIA: dict[str, Callable[..., np.ndarray]] = {
    "weight_l2": weight_l2, "outgoing_l1": outgoing_l1, "mean_activation": mean_activation,
    "apoz": apoz, "taylor": taylor,
}
DATA_FREE = ("weight_l2", "outgoing_l1")


def score(model: Module, name: str, criterion: str, **data: Any) -> np.ndarray:
    """``CRITERIA[criterion](model, name, **data)`` with a clear error for an unknown name."""
    if criterion not in CRITERIA:
        raise ValueError(f"unknown criterion {criterion!r}; choose from {sorted(CRITERIA)}")
    return CRITERIA[criterion](model, name, **data)


def merge_similar(model: Module, name: str, n: int) -> tuple[Module, list[tuple[int, int]]]:
    """Srinivas & Babu's merge: remove ``n`` units of layer ``name``, each added into its most
    similar survivor; return the new model and the ``(kept i, removed j)`` pairs (indices of
    the original layer). Refuses batch norm between the layer and its consumer (each unit's
    own γ, β, μ, σ break "equal weights → equal activations")."""
    path = st.unit_path(model, name)
    leaves = dict(st.chain(model))
    if any(isinstance(leaves[b], st.NORMS) for b in path.between):
        raise st.PruneError(f"merge_similar: batch norm between layer {name} and its consumer "
                            "makes units with equal weights differ; use a score criterion")
    if not 0 <= int(n) < path.units:
        raise st.PruneError(f"merge_similar: cannot remove {n} of {path.units} units")
    out = st._copy(model)
    prod, cons = dict(st.chain(out))[name], dict(st.chain(out))[path.consumer]
    w = incoming(out, name).astype(np.float64)
    if prod.bias is not None:
        w = np.concatenate([w, prod.bias.data[:, None].astype(np.float64)], axis=1)
    a2 = (outgoing(out, name).astype(np.float64) ** 2).mean(axis=1)
    sq = (w * w).sum(axis=1)
    dist = np.maximum(sq[:, None] + sq[None, :] - 2.0 * (w @ w.T), 0.0)   # ‖w_i − w_j‖²
    alive = np.ones(path.units, dtype=bool)
    pairs = []
    for _ in range(int(n)):
        sal = dist * a2[None, :]                  # s_ij = ⟨a_j²⟩‖w_i − w_j‖²
        sal[~alive, :] = np.inf
        sal[:, ~alive] = np.inf
        np.fill_diagonal(sal, np.inf)
        i, j = np.unravel_index(int(np.argmin(sal)), sal.shape)
        ri, rj = st.consumer_rows(path, i), st.consumer_rows(path, j)
        if isinstance(cons, Linear):
            cons.weight.data[ri] += cons.weight.data[rj]
        else:
            cons.weight.data[:, ri] += cons.weight.data[:, rj]
        alive[j] = False
        pairs.append((int(i), int(j)))
        a2 = (outgoing(out, name).astype(np.float64) ** 2).mean(axis=1)
    st._remove_inplace(out, name, np.flatnonzero(~alive))
    return out, pairs
