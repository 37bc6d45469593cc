"""Weight initialisers: pure functions ``f(shape, rng, dtype=float32, ...) -> ndarray``.

Fan convention. Dense weights are ``(in, out)``, so for a 2-D shape
``fan_in = shape[0]`` and ``fan_out = shape[1]``. Convolution weights are
``(out, in, kh, kw)``, so for 3-D and larger shapes ``fan_in = in·kh·kw`` and
``fan_out = out·kh·kw``. A 1-D shape (a bias) has ``fan_in = fan_out = shape[0]``.

| name            | distribution                                              |
|-----------------|-----------------------------------------------------------|
| uniform         | U(a, b)                                                   |
| fan_in_uniform  | U(−1/√fan_in, 1/√fan_in)  (PyTorch's Linear/Conv default)   |
| fan_in_normal   | N(0, 1/fan_in)  (LeCun, "tricks of the trade")              |
| glorot_uniform  | U(−√(6/(fan_in+fan_out)), +√(6/(fan_in+fan_out)))           |
| glorot_normal   | N(0, 2/(fan_in+fan_out))                                    |
| he_normal       | N(0, 2/fan_in)                                              |
| normal          | N(0, std²)                                                  |
| orthogonal      | gain·Q, Q with orthonormal rows or columns (QR of a Gaussian) |
| zeros / ones    | constants                                                 |
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .backend import as_dtype, as_rng

Shape = tuple[int, ...]
Initializer = Callable[..., np.ndarray]


def fans(shape: Shape) -> tuple[int, int]:
    """``(fan_in, fan_out)`` for a weight of ``shape`` under the convention above."""
    shape = tuple(int(s) for s in shape)
    if len(shape) == 0:
        raise ValueError("cannot compute fans of a scalar shape")
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def zeros(shape: Shape, rng: Any = None, dtype: Any = None) -> np.ndarray:
    """All zeros (``rng`` is accepted and ignored so every initialiser shares one signature)."""
    return np.zeros(shape, dtype=as_dtype(dtype))


def ones(shape: Shape, rng: Any = None, dtype: Any = None) -> np.ndarray:
    """All ones."""
    return np.ones(shape, dtype=as_dtype(dtype))


def uniform(shape: Shape, rng: Any = None, dtype: Any = None, a: float = -1.0,
            b: float = 1.0) -> np.ndarray:
    """U(a, b); the coursework default is a = −1, b = 1."""
    if not a < b:
        raise ValueError(f"uniform needs a < b, got a={a}, b={b}")
    return as_rng(rng).uniform(a, b, size=shape).astype(as_dtype(dtype))


def normal(shape: Shape, rng: Any = None, dtype: Any = None, std: float = 1.0) -> np.ndarray:
    """N(0, std²)."""
    if std < 0:
        raise ValueError(f"std must be non-negative, got {std}")
    return (as_rng(rng).standard_normal(size=shape) * std).astype(as_dtype(dtype))


def fan_in_uniform(shape: Shape, rng: Any = None, dtype: Any = None) -> np.ndarray:
    """U(−1/√fan_in, 1/√fan_in): the default of PyTorch's Linear and Conv2d."""
    bound = 1.0 / math.sqrt(fans(shape)[0])
    return uniform(shape, rng, dtype, -bound, bound)


def fan_in_normal(shape: Shape, rng: Any = None, dtype: Any = None) -> np.ndarray:
    """N(0, 1/fan_in): LeCun's recommendation, std 1/√fan_in."""
    return normal(shape, rng, dtype, std=1.0 / math.sqrt(fans(shape)[0]))


def glorot_uniform(shape: Shape, rng: Any = None, dtype: Any = None,
                   gain: float = 1.0) -> np.ndarray:
    """Glorot & Bengio (2010): U(−l, l), l = gain·√(6/(fan_in+fan_out))."""
    fi, fo = fans(shape)
    bound = gain * math.sqrt(6.0 / (fi + fo))
    return uniform(shape, rng, dtype, -bound, bound)


def glorot_normal(shape: Shape, rng: Any = None, dtype: Any = None,
                  gain: float = 1.0) -> np.ndarray:
    """N(0, gain²·2/(fan_in+fan_out))."""
    fi, fo = fans(shape)
    return normal(shape, rng, dtype, std=gain * math.sqrt(2.0 / (fi + fo)))


def he_normal(shape: Shape, rng: Any = None, dtype: Any = None) -> np.ndarray:
    """He et al. (2015) for ReLU: N(0, 2/fan_in)."""
    return normal(shape, rng, dtype, std=math.sqrt(2.0 / fans(shape)[0]))


def orthogonal(shape: Shape, rng: Any = None, dtype: Any = None, gain: float = 1.0) -> np.ndarray:
    """gain·Q with Q orthogonal (Saxe et al. 2014), for square and rectangular shapes.

    The weight is viewed as a matrix ``(shape[0], prod(shape[1:]))``. A Gaussian matrix
    of the taller orientation is QR-factorised; multiplying Q's columns by the signs of
    R's diagonal makes Q Haar-distributed. The result has orthonormal rows when it is
    wide and orthonormal columns when it is tall.
    """
    if len(shape) < 2:
        raise ValueError(f"orthogonal init needs at least 2 dimensions, got shape {tuple(shape)}")
    rows, cols = shape[0], math.prod(shape[1:])
    a = as_rng(rng).standard_normal(size=(max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return (gain * q).reshape(shape).astype(as_dtype(dtype))


_REGISTRY: dict[str, Initializer] = {
    f.__name__: f for f in (zeros, ones, uniform, normal, fan_in_uniform, fan_in_normal,
                            glorot_uniform, glorot_normal, he_normal, orthogonal)
}
_REGISTRY.update({"lecun_normal": fan_in_normal, "xavier_uniform": glorot_uniform,
                  "xavier_normal": glorot_normal, "kaiming_normal": he_normal})


def get(init: str | Initializer) -> Initializer:
    """Resolve an initialiser given by name or as a callable ``f(shape, rng, dtype)``."""
    if callable(init):
        return init
    try:
        return _REGISTRY[init]
    except KeyError:
        raise ValueError(f"unknown initialiser {init!r}; choose from {sorted(_REGISTRY)}") from None


def names() -> list[str]:
    """Names accepted by ``get``."""
    return sorted(_REGISTRY)
