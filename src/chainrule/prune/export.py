"""Files of pruned models: sparse (CSR) storage of masked weights, and node-pruned shapes.

``save_sparse(model, path)`` (``cr.save``'s argument order) writes a chainrule ``.npz``
(``io.save_arrays``: atomic, no pickle) in which every parameter or buffer whose fraction
of non-zeros is at most ``max_density`` is stored in CSR form, as the 2-D matrix
``w.reshape(shape[0], -1)``:

* ``"csr/<name>/data"``    — the non-zero values (the array's dtype), row by row;
* ``"csr/<name>/indices"`` — their column indices (uint16 when there are < 65,536 columns,
  else int32);
* ``"csr/<name>/indptr"``  — ``int32``, length rows + 1: row r's values are
  ``data[indptr[r]:indptr[r + 1]]``;
* ``"csr/<name>/shape"``   — the original shape (int64);

and every other entry dense under ``"model/<name>"``, plus ``meta`` and ``format`` as in
``chainrule.io``. Bytes per kept weight: 4 (float32 value) + 2 (uint16 column) against 4 per
weight dense, so a matrix pays off below 2/3 density and a 10×-pruned one shrinks ~6.7×
(Han et al. further quantise values and code relative indices in 4–8 bits; not done here).
``load_sparse(path, model)`` rebuilds the dense arrays into ``model``.

``save_pruned(model, path, **meta)`` writes a node-pruned model with the ordinary
``chainrule.io.save`` and its layer sizes in ``meta["unit_widths"]``; ``load_pruned(path,
template)`` shrinks a freshly built model of the original architecture to those sizes
(``structured.shrink_to``) and loads the weights, so the smaller model comes back without a
new model class.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .. import io
from ..core import Module
from . import structured as st

PathLike = str | os.PathLike


def to_csr(w: np.ndarray) -> dict[str, np.ndarray]:
    """CSR arrays of ``w`` seen as ``(shape[0], prod(shape[1:]))``."""
    w = np.asarray(w)
    m = w.reshape(w.shape[0], -1) if w.ndim > 1 else w.reshape(1, -1)
    rows, cols = np.nonzero(m)
    itype = np.uint16 if m.shape[1] < 2 ** 16 else np.int32
    indptr = np.zeros(m.shape[0] + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=m.shape[0]), out=indptr[1:])
    return {"data": m[rows, cols].copy(), "indices": cols.astype(itype), "indptr": indptr,
            "shape": np.array(w.shape, dtype=np.int64)}


def from_csr(data: np.ndarray, indices: np.ndarray, indptr: np.ndarray,
             shape: np.ndarray) -> np.ndarray:
    """The dense array ``to_csr`` encoded (zeros elsewhere)."""
    shape = tuple(int(s) for s in shape)
    n_rows = shape[0] if len(shape) > 1 else 1
    n_cols = int(np.prod(shape)) // max(n_rows, 1)
    if len(indptr) != n_rows + 1 or int(indptr[-1]) != len(data) or len(indices) != len(data):
        raise io.CheckpointError(f"inconsistent CSR arrays for shape {shape}")
    if len(indices) and int(indices.max()) >= n_cols:
        raise io.CheckpointError(f"CSR column index {int(indices.max())} ≥ {n_cols} columns")
    dense = np.zeros((n_rows, n_cols), dtype=data.dtype)
    rows = np.repeat(np.arange(n_rows), np.diff(indptr.astype(np.int64)))
    dense[rows, indices.astype(np.int64)] = data
    return dense.reshape(shape)


def save_sparse(model: Module, path: PathLike, *, max_density: float = 0.5,
                **meta: Any) -> Path:
    """Write ``model``'s state with arrays of density ≤ ``max_density`` in CSR form."""
    arrays: dict[str, np.ndarray] = {"format": np.array(io.FORMAT)}
    sparse = []
    for name, value in model.state_dict().items():
        value = np.asarray(value)
        if value.ndim >= 1 and value.size and value.dtype.kind == "f" \
                and np.count_nonzero(value) <= max_density * value.size:
            arrays.update({f"csr/{name}/{k}": v for k, v in to_csr(value).items()})
            sparse.append(name)
        else:
            arrays[f"model/{name}"] = value
    arrays["meta"] = io.encode_meta({**meta, "sparse": sparse})
    return io.save_arrays(path, arrays)


def load_sparse(path: PathLike, model: Module) -> dict[str, Any]:
    """Load a ``save_sparse`` file into ``model`` (dense arrays); return its meta."""
    arrays = io.load_arrays(path)
    meta = io.read_meta(arrays, path)
    state = io.split_arrays(arrays, "model")
    for name in meta.get("sparse", []):
        try:
            parts = {k: arrays[f"csr/{name}/{k}"] for k in ("data", "indices", "indptr", "shape")}
        except KeyError as err:
            raise io.CheckpointError(f"{path}: CSR entry {err} missing") from err
        state[name] = from_csr(**parts)
    try:
        model.load_state_dict(state)
    except ValueError as err:
        raise io.CheckpointError(f"{path}: {err}") from err
    return meta


def save_pruned(model: Module, path: PathLike, optimizer: Any = None, **meta: Any) -> Path:
    """``io.save`` with the model's layer sizes (``structured.widths``) in the meta."""
    return io.save(model, path, optimizer, unit_widths=st.widths(model), **meta)


def load_pruned(path: PathLike, template: Module) -> tuple[Module, dict[str, Any]]:
    """The pruned model saved at ``path``, rebuilt from ``template`` (the unpruned
    architecture; its weights are not used) shrunk to the saved sizes; and the meta."""
    meta = io.read_meta(io.load_arrays(path), path)
    sizes = meta.get("unit_widths")
    if not isinstance(sizes, dict):
        raise io.CheckpointError(f"{path} holds no unit_widths; was it written by save_pruned?")
    have = st.widths(template)
    if bad := sorted(set(sizes) - set(have)):
        raise io.CheckpointError(f"{path}: layers {bad} are not prunable layers of the template")
    if too_big := [n for n in sizes if not 1 <= int(sizes[n]) <= have[n]]:
        raise io.CheckpointError(f"{path}: saved sizes of {too_big} exceed the template's")
    model = st.shrink_to(template, sizes)
    io.load(path, model)
    return model, meta
