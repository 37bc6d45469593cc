"""Keras-style model summaries: per-layer output shape, parameters, MACs and activation memory.

``summary(model, (1, 28, 28))`` (or ``model.summary((1, 28, 28))``) returns a ``Summary``;
``print`` it for the table. One row per *leaf* layer (a module without children), in the
order the leaves run; conv and pool rows carry their ``shape_arithmetic`` line(s) beneath,
recurrent rows their ``component_sizes`` (weights, bias, state and output sizes).

How shapes are found. When every container in the model is a ``Sequential`` and every leaf
implements ``output_shape``, the leaves are walked in order with ``output_shape`` — no data
moves, so a 1000-layer summary costs nothing and an impossible configuration fails with the
layer's own message. Otherwise (a container with its own ``forward``, e.g. skip connections,
or a leaf without ``output_shape``) one zero sample is traced through ``model.forward``
(``training=False``, so no running statistic or random stream changes) and each leaf call's
input and output shapes are recorded in call order.

Counting conventions
--------------------
* Param #: the leaf's parameter scalars plus its floating-point buffers (batch-norm running
  mean and variance), as Keras counts them. Totals split them into trainable (parameters,
  each shared Parameter counted once) and non-trainable (frozen parameters, whose
  ``requires_grad`` is False, and floating buffers); integer bookkeeping buffers such as
  ``num_batches_tracked`` are not parameters and not counted.
* MACs: multiply-accumulates for one sample, from each leaf's ``macs(input_shape)``
  (0 for layers without one, e.g. activations). FLOPs ≈ 2 × MACs.
* Memory: bytes of the leaf's output for one sample (and for ``batch_size`` samples when
  given) in the model's dtype — what the forward pass keeps alive for backward, roughly.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .core import Module, Sequential

Shape = tuple[int, ...]


@dataclass
class LayerRow:
    """One leaf layer's entry in the table."""

    name: str
    type: str
    input_shape: Shape
    output_shape: Shape
    trainable: int
    non_trainable: int
    macs: int
    bytes_per_sample: int
    batch_bytes: int | None = None
    arithmetic: str | None = None

    @property
    def params(self) -> int:
        return self.trainable + self.non_trainable


@dataclass(repr=False)
class Summary:
    """The rows and totals of a model summary; ``str()`` renders the Keras-style table."""

    model: str
    input_shape: Shape
    output_shape: Shape
    batch_size: int | None
    dtype: np.dtype
    rows: list[LayerRow] = field(default_factory=list)
    trainable_params: int = 0
    non_trainable_params: int = 0
    param_bytes: int = 0

    @property
    def total_params(self) -> int:
        return self.trainable_params + self.non_trainable_params

    @property
    def total_macs(self) -> int:
        """Multiply-accumulates for one sample's forward pass."""
        return sum(r.macs for r in self.rows)

    @property
    def activation_bytes(self) -> int:
        """Bytes of every leaf's output for one sample."""
        return sum(r.bytes_per_sample for r in self.rows)

    @property
    def input_bytes(self) -> int:
        return math.prod(self.input_shape) * self.dtype.itemsize

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (for reports and the lab)."""
        keys = ("total_params", "trainable_params", "non_trainable_params", "total_macs",
                "activation_bytes", "param_bytes", "input_bytes")
        return {"model": self.model, "input_shape": list(self.input_shape),
                "output_shape": list(self.output_shape), "batch_size": self.batch_size,
                "dtype": str(self.dtype), **{k: int(getattr(self, k)) for k in keys},
                "rows": [{**vars(r), "input_shape": list(r.input_shape),
                          "output_shape": list(r.output_shape)} for r in self.rows]}

    def __str__(self) -> str:
        return _render(self)

    __repr__ = __str__


# ---------------------------------------------------------------------------- building

def _leaves(model: Module, unique: bool = False) -> Iterator[tuple[str, Module]]:
    """Leaf modules in registration order; ``unique`` lists a shared leaf once (first name)."""
    seen: set[int] = set()
    for name, mod in model.named_modules():
        if not mod._modules and not (unique and id(mod) in seen):
            seen.add(id(mod))
            yield name, mod


def _walkable(model: Module) -> bool:
    """True when leaves run in registration order and each knows its output shape."""
    for _, mod in model.named_modules():
        if mod._modules and not isinstance(mod, Sequential):
            return False
        if not mod._modules and type(mod).output_shape is Module.output_shape:
            return False
    return True


def _walk(model: Module, input_shape: Shape) -> list[tuple[str, Module, Shape, Shape]]:
    calls, shape = [], input_shape
    for name, leaf in _leaves(model):
        try:
            out = tuple(int(s) for s in leaf.output_shape(shape))
        except ValueError as exc:
            raise ValueError(f"summary: layer {name or '<model>'} ({type(leaf).__name__}) "
                             f"cannot take input of shape {shape}: {exc}") from exc
        calls.append((name, leaf, shape, out))
        shape = out
    return calls


def _trace(model: Module, input_shape: Shape,
           dtype: np.dtype) -> list[tuple[str, Module, Shape, Shape]]:
    calls: list[tuple[str, Module, Shape, Shape]] = []
    leaves = list(_leaves(model, unique=True))
    for name, leaf in leaves:
        def recording(x, *, training=False, _name=name, _leaf=leaf, _forward=leaf.forward):
            y = _forward(x, training=training)
            calls.append((_name, _leaf, tuple(x.shape[1:]), tuple(y.shape[1:])))
            return y
        # An instance attribute shadows the class's forward for this one pass.
        object.__setattr__(leaf, "forward", recording)
    try:
        model.forward(np.zeros((1, *input_shape), dtype=dtype), training=False)
    finally:
        for _, leaf in leaves:
            leaf.__dict__.pop("forward", None)
    return calls


def summary(model: Module, input_shape: Shape, *, batch_size: int | None = None) -> Summary:
    """Summarise ``model`` for one sample of ``input_shape`` (no batch axis); see the module doc."""
    input_shape = tuple(int(s) for s in input_shape)
    if batch_size is not None and int(batch_size) <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    params = model.parameters()
    dtype = np.dtype(params[0].dtype) if params else np.dtype(getattr(model, "dtype", np.float32))
    calls = (_walk if _walkable(model) else
             lambda m, s: _trace(m, s, dtype))(model, input_shape)

    out = Summary(type(model).__name__, input_shape,
                  calls[-1][3] if calls else input_shape,
                  None if batch_size is None else int(batch_size), dtype)
    seen: set[int] = set()
    for name, leaf, in_shape, out_shape in calls:
        first = id(leaf) not in seen  # a layer called twice shows its parameters once
        seen.add(id(leaf))
        trainable = sum(p.size for p in leaf._parameters.values()
                        if p.requires_grad) if first else 0
        frozen = sum(np.size(getattr(leaf, b)) for b in leaf._buffers
                     if np.asarray(getattr(leaf, b)).dtype.kind == "f") if first else 0
        frozen += sum(p.size for p in leaf._parameters.values()
                      if not p.requires_grad) if first else 0
        nbytes = math.prod(out_shape) * dtype.itemsize
        macs = int(leaf.macs(in_shape)) if hasattr(leaf, "macs") else 0
        arith = leaf.shape_arithmetic(in_shape) if hasattr(leaf, "shape_arithmetic") else None
        if arith is None and hasattr(leaf, "component_sizes"):  # recurrent layers' W, b, state
            arith = "\n".join(leaf.component_sizes(in_shape))
        out.rows.append(LayerRow(name, type(leaf).__name__, in_shape, out_shape, trainable,
                                 frozen, macs, nbytes,
                                 None if batch_size is None else nbytes * int(batch_size), arith))
    out.trainable_params = sum(p.size for p in params if p.requires_grad)
    buffers = [np.asarray(b) for _, b in model.named_buffers()]
    out.non_trainable_params = (sum(b.size for b in buffers if b.dtype.kind == "f")
                                + sum(p.size for p in params if not p.requires_grad))
    out.param_bytes = sum(p.data.nbytes for p in params) + sum(b.nbytes for b in buffers)
    return out


# ---------------------------------------------------------------------------- rendering

def format_bytes(n: float) -> str:
    """Human-readable size in powers of 1024: ``'512 B'``, ``'49.0 KiB'``, ``'1.2 MiB'``."""
    if n < 1024:
        return f"{int(n)} B"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        n /= 1024.0
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}"
    raise AssertionError("unreachable")


def _shape_str(shape: Shape, batch: int | None) -> str:
    return "(" + ", ".join(["None" if batch is None else str(batch), *map(str, shape)]) + ")"


def _render(s: Summary) -> str:
    b = s.batch_size
    header = ["Layer (type)", "Output Shape", "Param #", "MACs", "Memory/sample"]
    if b is not None:
        header.append(f"Memory (batch {b})")
    table = []
    for r in s.rows:
        cells = [f"{r.name} ({r.type})" if r.name else r.type, _shape_str(r.output_shape, b),
                 f"{r.params:,}", f"{r.macs:,}", format_bytes(r.bytes_per_sample)]
        if b is not None:
            cells.append(format_bytes(r.batch_bytes or 0))
        table.append((cells, r.arithmetic))
    widths = [max([len(h)] + [len(c[i]) for c, _ in table]) for i, h in enumerate(header)]
    widths[0] = max(widths[0], 24)

    def line(cells: list[str]) -> str:
        left = [f"{cells[0]:<{widths[0]}}", f"{cells[1]:<{widths[1]}}"]
        right = [f"{c:>{w}}" for c, w in zip(cells[2:], widths[2:])]
        return " " + "   ".join(left + right)

    width = len(line(header))
    lines = [f'Model: "{s.model}"    input {_shape_str(s.input_shape, b)}', "_" * width,
             line(header), "=" * width]
    for i, (cells, arith) in enumerate(table):
        lines.append(line(cells))
        if arith:
            lines += [f"      {a}" for a in str(arith).splitlines()]
        if i < len(table) - 1:
            lines.append("_" * width)
    lines.append("=" * width)
    per = f"{s.total_macs:,} per sample"
    if b is not None:
        per += f", {s.total_macs * b:,} per batch of {b}"
    act = format_bytes(s.activation_bytes) + " per sample"
    if b is not None:
        act += f", {format_bytes(s.activation_bytes * b)} per batch of {b}"
    lines += [
        f"Total params: {s.total_params:,} ({format_bytes(s.param_bytes)})",
        f"Trainable params: {s.trainable_params:,}",
        f"Non-trainable params: {s.non_trainable_params:,}",
        f"Total MACs: {per} (FLOPs ≈ 2 × MACs)",
        f"Activation memory ({s.dtype}): {act}",
        f"Input size: {format_bytes(s.input_bytes)} per sample",
        "_" * width,
    ]
    return "\n".join(lines)
