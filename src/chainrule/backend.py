"""Array backend, default dtype and random-number helpers.

Everything numeric in chainrule goes through this module's choices:

* ``get_array_module(x)`` returns the module that owns ``x`` (NumPy today; the
  same call will return CuPy for CuPy arrays), so layer code written as
  ``xp = get_array_module(x)`` runs unchanged on either.
* ``DEFAULT_DTYPE`` is float32. Every array-creating call in the library passes
  ``dtype=`` explicitly; float64 is accepted everywhere (gradient checks use it).
* Randomness never touches NumPy's global state. ``as_rng`` turns a seed (or an
  existing ``np.random.Generator``) into the Generator that init functions,
  dropout, noise and the data loader receive.
"""

from __future__ import annotations

from typing import Any

import numpy as np

DEFAULT_DTYPE = np.dtype(np.float32)

RNGLike = None | int | np.random.Generator


def get_array_module(*arrays: Any):
    """Return the array module (``numpy`` or ``cupy``) that owns the given arrays."""
    for a in arrays:
        mod = type(a).__module__
        if mod.startswith("cupy"):
            import cupy  # optional: only reached when CuPy arrays are passed

            return cupy
    return np


def as_dtype(dtype: Any = None) -> np.dtype:
    """Resolve ``dtype`` (``None`` means the library default, float32) to a floating dtype."""
    dt = DEFAULT_DTYPE if dtype is None else np.dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"chainrule works in floating point; got dtype {dt}")
    return dt


def as_rng(rng: RNGLike = None) -> np.random.Generator:
    """Return a ``np.random.Generator``: pass one through, seed a new one from an int.

    ``None`` gives a fresh, OS-seeded Generator (not reproducible; pass a seed for that).
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be None, an int seed or a numpy.random.Generator, not {type(rng)!r}")


def rng_state(rng: np.random.Generator) -> dict:
    """The Generator's bit-generator state (a JSON-able dict) for checkpoints."""
    return rng.bit_generator.state


def set_rng_state(rng: np.random.Generator, state: dict) -> None:
    """Restore a Generator in place from ``rng_state``'s dict."""
    rng.bit_generator.state = state
