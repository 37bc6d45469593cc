"""Structured (node) pruning that really removes units: the model that comes back is smaller.

Removing hidden unit ``u`` of a ``Linear`` layer (column ``u`` of its ``(in, out)`` weight and
entry ``u`` of its bias) or filter ``u`` of a ``Conv2d`` (``weight[u]``, ``bias[u]``) means the
next weighted layer — the *consumer* — loses the inputs that unit fed:

* a ``Linear`` consumer loses weight row ``u``;
* a ``Conv2d`` consumer loses input channel ``u`` (``weight[:, u]``);
* a ``Linear`` after a conv's ``Flatten`` loses the ``H·W`` rows ``u·H·W … (u+1)·H·W − 1``
  (NCHW flattening puts each channel's pixels in one block); after ``GlobalAvgPool2d``, row ``u``.

Layers between producer and consumer act unit by unit and are walked through: activations
(``ReLU``, ``Sigmoid``, ``Tanh``, ``LeakyReLU``, ``ImprovedSigmoid``, ``Identity``),
``Dropout``, ``GaussianNoise``, pools (per channel) and batch norm, whose per-unit state
(γ, β, ``running_mean``, ``running_var``) is sliced too. So the pruned network computes
exactly what the original computes with the removed units' outgoing weights set to zero
(``tests/test_prune_structured.py`` checks it for every criterion).

Anything that mixes units (``Softmax``, ``Reshape``, a ``Linear`` applied to an image's last
axis without ``Flatten``) or a container that is not a ``Sequential`` (a Module with its own
``forward``, e.g. skip connections) cannot be rewired by slicing: ``PruneError`` says which
layer is in the way. The last weighted layer (the logits) has no consumer and is never pruned.

Layers are named by their dotted ``named_modules`` name (``"0"``, ``"3"``, or ``"1.0"`` in a
nested ``Sequential``). Every function returns a **new** model (a deep copy; the original is
untouched); a ``Sequential`` subclass such as ``MLP`` or ``CNN`` comes back as a plain
``Sequential`` with the same child names (its ``hidden``/``channels`` fields would be
stale). Its Parameters are new objects: build a new optimizer for it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from ..core import Module, Parameter, Sequential
from ..layers.activation import Identity, ImprovedSigmoid, LeakyReLU, ReLU, Sigmoid, Tanh
from ..layers.conv import Conv2d
from ..layers.dropout import Dropout
from ..layers.linear import Linear
from ..layers.noise import GaussianNoise
from ..layers.norm import BatchNorm1d, BatchNorm2d
from ..layers.pool import AvgPool2d, GlobalAvgPool2d, MaxPool2d
from ..layers.shape import Flatten

ACTIVATIONS = (Identity, ReLU, Sigmoid, Tanh, LeakyReLU, ImprovedSigmoid)
ELEMENTWISE = (*ACTIVATIONS, Dropout, GaussianNoise)
POOLS = (MaxPool2d, AvgPool2d)
NORMS = (BatchNorm1d, BatchNorm2d)
WEIGHTED = (Linear, Conv2d)


class PruneError(ValueError):
    """A layer or graph that structured pruning cannot rewire (the message names it)."""


@dataclass
class UnitPath:
    """What removing units of ``producer`` touches: the layers between and the consumer.

    ``rows`` is how many consumer inputs each unit feeds (1, or H·W after a conv's Flatten);
    ``activation`` is the name of the leaf whose output is the unit's activation (the last
    norm/activation right after the producer — the point APoZ and Taylor scores look at).
    """

    producer: str
    units: int
    between: list[str] = field(default_factory=list)
    consumer: str = ""
    rows: int = 1
    activation: str = ""


def chain(model: Module) -> list[tuple[str, Module]]:
    """The leaves of ``model`` in execution order; ``PruneError`` unless every container is a
    ``Sequential`` (only then is execution order the registration order)."""
    for name, mod in model.named_modules():
        if mod._modules and not isinstance(mod, Sequential):
            raise PruneError(f"cannot rewire {name or 'the model'} ({type(mod).__name__}): it is "
                             "a container with its own forward; structured pruning rewires "
                             "chains of Sequential only")
    return [(n, m) for n, m in model.named_modules() if not m._modules]


def units_of(layer: Module) -> int:
    """Output units of a Linear (out_features) or filters of a Conv2d (out_channels)."""
    if isinstance(layer, Linear):
        return layer.out_features
    if isinstance(layer, Conv2d):
        return layer.out_channels
    raise PruneError(f"{type(layer).__name__} has no prunable units (Linear and Conv2d do)")


def unit_path(model: Module, name: str) -> UnitPath:
    """Walk from layer ``name`` to the next weighted layer; ``PruneError`` if it cannot."""
    leaves = chain(model)
    names = [n for n, _ in leaves]
    if name not in names:
        raise PruneError(f"no leaf layer named {name!r}; leaves are {names}")
    i = names.index(name)
    prod = leaves[i][1]
    path = UnitPath(name, units_of(prod), activation=name)
    conv, flat, tracking = isinstance(prod, Conv2d), False, True
    for n, layer in leaves[i + 1:]:
        if isinstance(layer, WEIGHTED):
            path.consumer = n
            break
        path.between.append(n)
        if isinstance(layer, (*ACTIVATIONS, *NORMS)) and tracking:
            path.activation = n
        elif isinstance(layer, (Dropout, GaussianNoise)):
            continue  # elementwise and absent at evaluation: the activation is before it
        else:
            tracking = False
        if isinstance(layer, NORMS):
            if layer.num_features != path.units:
                raise PruneError(f"layer {n} ({type(layer).__name__}({layer.num_features})) "
                                 f"does not match the {path.units} units of layer {name}")
        elif isinstance(layer, POOLS) and conv and not flat:
            continue
        elif isinstance(layer, Flatten) or (isinstance(layer, GlobalAvgPool2d) and conv):
            flat = True
        elif not isinstance(layer, ELEMENTWISE):
            raise PruneError(f"cannot prune layer {name}: layer {n} ({type(layer).__name__}) "
                             "between it and the next weighted layer does not act unit by unit")
    if not path.consumer:
        raise PruneError(f"layer {name} ({type(prod).__name__}) feeds no later Linear/Conv2d "
                         "(its units are the model's outputs); it cannot be pruned")
    cons = dict(leaves)[path.consumer]
    if isinstance(cons, Conv2d):
        if not conv or flat:
            raise PruneError(f"cannot prune layer {name}: consumer {path.consumer} is a Conv2d "
                             f"fed by a {'flattened ' if flat else ''}{type(prod).__name__}")
        if cons.in_channels != path.units:
            raise PruneError(f"layer {path.consumer} takes {cons.in_channels} channels, layer "
                             f"{name} makes {path.units}")
    else:
        if conv and not flat:
            raise PruneError(f"cannot prune layer {name}: Linear {path.consumer} reads the conv "
                             "output's last axis (no Flatten or GlobalAvgPool2d between)")
        if cons.in_features % path.units:
            raise PruneError(f"layer {path.consumer} has {cons.in_features} inputs, not a "
                             f"multiple of the {path.units} units of layer {name}")
        path.rows = cons.in_features // path.units
    return path


def prunable(model: Module) -> list[str]:
    """Names of the Linear/Conv2d layers whose units can be removed, in order."""
    out = []
    for n, layer in chain(model):
        if isinstance(layer, WEIGHTED):
            try:
                unit_path(model, n)
            except PruneError:
                continue
            out.append(n)
    return out


def widths(model: Module) -> dict[str, int]:
    """``{name: units}`` of every prunable layer (what ``shrink_to`` takes back)."""
    leaves = dict(chain(model))
    return {n: units_of(leaves[n]) for n in prunable(model)}


def consumer_rows(path: UnitPath, unit: int) -> np.ndarray:
    """Indices of the consumer's inputs (Linear rows or Conv2d input channels) fed by ``unit``."""
    return np.arange(unit * path.rows, (unit + 1) * path.rows)


def _set(p: Parameter, data: np.ndarray) -> None:
    p.data = np.ascontiguousarray(data)
    p.grad = np.zeros_like(p.data)


def _copy(model: Module) -> Module:
    out = copy.deepcopy(model)
    if isinstance(out, Sequential) and type(out) is not Sequential:
        out = Sequential(*out.children())
    return out


def _remove_inplace(model: Module, name: str, units: Iterable[int]) -> None:
    path = unit_path(model, name)
    drop = np.unique(np.asarray(list(units), dtype=np.int64))
    if drop.size and (drop.min() < 0 or drop.max() >= path.units):
        raise PruneError(f"layer {name} has units 0..{path.units - 1}; asked to remove {drop}")
    keep = np.setdiff1d(np.arange(path.units), drop)
    if keep.size == 0:
        raise PruneError(f"removing all {path.units} units of layer {name} would cut the network")
    leaves = dict(chain(model))
    prod, cons = leaves[name], leaves[path.consumer]
    if isinstance(prod, Linear):
        _set(prod.weight, prod.weight.data[:, keep])
        prod.out_features = int(keep.size)
    else:
        _set(prod.weight, prod.weight.data[keep])
        prod.out_channels = int(keep.size)
    if prod.bias is not None:
        _set(prod.bias, prod.bias.data[keep])
    for n in path.between:
        bn = leaves[n]
        if isinstance(bn, NORMS):
            for p in (bn.weight, bn.bias):
                if p is not None:
                    _set(p, p.data[keep])
            bn._set_buffer("running_mean", bn.running_mean[keep].copy())
            bn._set_buffer("running_var", bn.running_var[keep].copy())
            bn.num_features = int(keep.size)
    if isinstance(cons, Conv2d):
        _set(cons.weight, cons.weight.data[:, keep])
        cons.in_channels = int(keep.size)
    else:
        rows = (keep[:, None] * path.rows + np.arange(path.rows)).ravel()
        _set(cons.weight, cons.weight.data[rows])
        cons.in_features = int(rows.size)
    for layer in (prod, cons):   # forward caches of the old shapes are stale
        for attr in ("_x", "_xp"):
            if hasattr(layer, attr):
                object.__setattr__(layer, attr, None)


def remove_units(model: Module, name: str, units: Iterable[int]) -> Module:
    """A copy of ``model`` without units ``units`` (indices into layer ``name``'s outputs)."""
    out = _copy(model)
    _remove_inplace(out, name, units)
    return out


def remove_many(model: Module, plan: Mapping[str, Iterable[int]]) -> Module:
    """A copy of ``model`` with, for each ``name: units`` of ``plan``, those units removed.

    Indices refer to the model as given: removing a layer's units changes only its own
    outputs and its consumer's inputs, never another layer's output indices.
    """
    out = _copy(model)
    for name, units in plan.items():
        _remove_inplace(out, name, units)
    return out


def keep_top(model: Module, scores: Mapping[str, np.ndarray], keep: Mapping[str, int]) -> Module:
    """A copy keeping, in each layer ``name`` of ``keep``, the ``keep[name]`` units with the
    highest ``scores[name]`` (ties go to the lower index, so the choice is deterministic)."""
    plan = {}
    for name, k in keep.items():
        s = np.asarray(scores[name], dtype=np.float64)
        k = int(k)
        if not 1 <= k <= s.size:
            raise PruneError(f"layer {name}: cannot keep {k} of {s.size} units")
        order = np.argsort(-s, kind="stable")
        plan[name] = np.sort(order[k:])
    return remove_many(model, plan)


def shrink_to(model: Module, sizes: Mapping[str, int]) -> Module:
    """A copy whose layer ``name`` has ``sizes[name]`` units (the first ones kept) — the
    architecture a pruned model's file needs before its weights are loaded."""
    return remove_many(model, {n: range(int(k), units_of(dict(chain(model))[n]))
                               for n, k in sizes.items()})
