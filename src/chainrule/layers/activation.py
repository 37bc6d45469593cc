"""Elementwise activations and the standalone softmax.

Every activation here is applied elementwise, so its backward is
``dx = dy ⊙ f'(x)``; each class writes ``f'`` in terms of what it caches
(usually the output ``y``, which makes backward one or two ufunc calls).
Shapes: ``x``, ``y``, ``dy``, ``dx`` all share one shape, any rank.
"""

from __future__ import annotations

import numpy as np

from .. import parallel
from ..core import Module


class Identity(Module):
    """y = x.  Backward: dx = dy.  Shapes: any; y, dy and dx share x's shape."""

    def __init__(self) -> None:
        super().__init__()
        # Only the shape is cached: it lets backward enforce the protocol's
        # "backward before forward is an error" like every other layer.
        self._shape: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """Return x unchanged."""
        self._shape = x.shape
        return x

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """Return dy unchanged."""
        self._cached(self._shape)
        return dy

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(input_shape)


class _Elementwise(Module):
    """Shared plumbing: cache one array in forward, shape-preserving output."""

    def __init__(self) -> None:
        super().__init__()
        self._cache: np.ndarray | None = None

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(input_shape)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """σ(x) = 1/(1 + e^{−x}), accurate to a few ulp (relative) on both tails; never overflows.

    With ``e = e^{−|x|} ∈ (0, 1]`` (which cannot overflow), ``σ(x) = 1/(1 + e)`` for x ≥ 0
    and ``e/(1 + e)`` for x < 0: one quotient ``num/(1 + e)`` with ``num = max(step(x), e)``
    (step(x) = 1 for x ≥ 0, else 0). No cancellation anywhere, so σ(−20) = 2.06e-9 in
    float32 and σ(−700) = 9.9e-305 in float64, where ``½(1 + tanh(x/2))`` gives 0 (it
    subtracts two numbers near 1). Measured as fast as that tanh form (five ufunc passes).
    Non-float input is computed in float32.
    """
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float32)
    e = np.abs(x)
    np.negative(e, out=e)
    with np.errstate(under="ignore"):  # e^{−|x|} → 0 (subnormal) far out is intended
        np.exp(e, out=e)
    y = np.greater_equal(x, 0, out=np.empty_like(x), casting="unsafe")  # step(x)
    np.maximum(y, e, out=y)  # the numerator: 1 or e (NaN stays NaN)
    e += 1.0
    y /= e
    return y


class Sigmoid(_Elementwise):
    """Logistic sigmoid ``y = σ(x) = 1 / (1 + e^{−x})``.

    Computed from ``e^{−|x|}`` (see ``sigmoid``): relative error of a few ulp over the
    whole range, both tails (σ(−30) ≈ 9.4e-14 in float32, not 0), no overflow and no
    warning (σ(±1e3) is exactly 1 or 0; below about −87 in float32 the result is subnormal).

    Backward: ``σ'(x) = σ(x)(1 − σ(x))``, so ``dx = dy ⊙ y ⊙ (1 − y)`` (PyTorch's formula;
    for x ≫ 0, where y rounds to 1, it is 0 rather than e^{−x}).
    """

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """y = σ(x)."""
        self._cache = y = sigmoid(x)
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dx = dy ⊙ y(1 − y)."""
        y = self._cached(self._cache)
        return dy * (y * (1.0 - y))


class Tanh(_Elementwise):
    """``y = tanh(x)``.  Backward: ``tanh' = 1 − tanh²``, so ``dx = dy ⊙ (1 − y²)``."""

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """y = tanh(x)."""
        self._cache = y = np.tanh(x)
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dx = dy ⊙ (1 − y²)."""
        y = self._cached(self._cache)
        return dy * (1.0 - y * y)


class ImprovedSigmoid(_Elementwise):
    """LeCun's scaled tanh ``y = A·tanh(S·x)`` with A = 1.7159, S = 2/3 (Efficient BackProp, 1998).

    The constants make f(±1) = ±1 and keep the second derivative largest at x = ±1,
    so unit-variance inputs meet the non-linearity's most useful range.

    Backward: with ``t = tanh(S·x)``, ``f'(x) = A·S·(1 − t²)``, so ``dx = dy ⊙ A·S·(1 − t²)``.
    """

    A = 1.7159
    S = 2.0 / 3.0

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """y = 1.7159·tanh(2x/3)."""
        self._cache = t = np.tanh(x * self.S)
        return t * self.A

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dx = dy ⊙ A·S·(1 − t²)."""
        t = self._cached(self._cache)
        return dy * ((1.0 - t * t) * (self.A * self.S))


class ReLU(_Elementwise):
    """``y = max(x, 0)``.

    Backward: ``f'(x) = 1`` for x > 0 and 0 otherwise (the subgradient at 0 is taken
    as 0, as PyTorch does), so ``dx = dy ⊙ [y > 0]``.

    y has x's memory order (e.g. a conv layer's batch-innermost layout passes through).
    """

    # NumPy 2.x runs np.maximum(x, 0) (a scalar operand) through a loop that is not
    # vectorised; against an array operand it is (measured 2.7× faster on 800k float32).
    # So forward takes the maximum against a row of zeros, broadcast over rows of x's
    # memory: a row this long (64 KiB in float32) stays in cache and costs no extra traffic.
    # The bookkeeping costs ~9 µs, so small inputs (an MLP's activations) skip it: measured
    # break-even near 40k elements.
    _ZERO_ROW = 16384
    _MIN_SIZE = 1 << 16

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """y = max(x, 0)."""
        x = np.asarray(x)
        if x.size >= self._MIN_SIZE and x.dtype.kind == "f":
            perm = np.argsort([-s for s in x.strides], kind="stable")  # axes in memory order
            xt = x.transpose(perm)
            if xt.flags.c_contiguous:
                self._cache = y = self._max_zero_rows(xt).transpose(np.argsort(perm))
                return y
        self._cache = y = np.maximum(x, 0)
        return y

    def _max_zero_rows(self, xt: np.ndarray) -> np.ndarray:
        """max(xt, 0) for a C-contiguous xt, as rows of its memory against the zero row, in
        pieces along xt's first axis that the worker threads share."""
        zeros = self.__dict__.get("_zeros")
        if zeros is None or zeros.dtype != xt.dtype:
            zeros = self._zeros = np.zeros(self._ZERO_ROW, dtype=xt.dtype)
        yt = np.empty(xt.shape, dtype=xt.dtype)

        def piece(i: tuple[slice, ...]) -> None:
            xf, yf = xt[i].reshape(-1), yt[i].reshape(-1)   # one block of memory each
            whole = xf.size - xf.size % zeros.size  # full zero-row lengths, then the rest
            rows = (-1, zeros.size)
            np.maximum(xf[:whole].reshape(rows), zeros, out=yf[:whole].reshape(rows))
            np.maximum(xf[whole:], zeros[:xf.size - whole], out=yf[whole:])

        parallel.map_slices(piece, xt)
        return yt

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dx = dy where y > 0, else 0."""
        y = self._cached(self._cache)
        # A product with the boolean mask is ~10x faster than np.where on large arrays.
        pieces = parallel.slices(y)
        if len(pieces) == 1 or np.shape(dy) != y.shape:
            return dy * (y > 0)
        dx = np.empty_like(y, dtype=np.result_type(dy, y))  # y's memory order
        parallel.run(lambda k, w: np.multiply(dy[pieces[k]], y[pieces[k]] > 0,
                                              out=dx[pieces[k]]), len(pieces))
        return dx


class LeakyReLU(_Elementwise):
    """``y = x`` for x > 0, ``y = a·x`` otherwise (a = ``negative_slope``, default 0.01).

    Backward: ``f'(x) = 1`` for x > 0, ``a`` otherwise, so ``dx = dy ⊙ (1 if x > 0 else a)``.
    """

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """y = x if x > 0 else a·x."""
        self._cache = mask = x > 0
        # x·(a + (1 − a)·[x > 0]): plain arithmetic, several times faster than np.where.
        return x * self._slopes(mask, x.dtype)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dx = dy if x > 0 else a·dy."""
        mask = self._cached(self._cache)
        return dy * self._slopes(mask, dy.dtype)

    def _slopes(self, mask: np.ndarray, dtype: np.dtype) -> np.ndarray:
        """f'(x) as an array: 1 where x > 0, a elsewhere."""
        a = self.negative_slope
        slopes = mask.astype(dtype)
        slopes *= 1.0 - a
        slopes += a
        return slopes

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Softmax(_Elementwise):
    """Softmax along ``axis`` (default the last): ``y_i = e^{x_i − m} / Σ_j e^{x_j − m}``,
    m = max_j x_j.

    Subtracting the maximum changes nothing mathematically and keeps every exponent ≤ 0.

    Backward (Jacobian–vector product): ``∂y_i/∂x_k = y_i(δ_ik − y_k)``, so
    ``dx_k = Σ_i dy_i·y_i(δ_ik − y_k) = y_k·(dy_k − Σ_i dy_i·y_i)``.
    The Jacobian itself is never formed. For classification use the fused
    ``SoftmaxCrossEntropy`` loss instead, which is cheaper and more stable.
    """

    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        self.axis = int(axis)

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """y = softmax(x) along the axis."""
        with np.errstate(under="ignore"):  # e^(very negative) → 0 is the intended result
            e = np.exp(x - x.max(axis=self.axis, keepdims=True))
        e /= e.sum(axis=self.axis, keepdims=True)
        self._cache = e
        return e

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dx = y ⊙ (dy − Σ dy⊙y)."""
        y = self._cached(self._cache)
        return y * (dy - (dy * y).sum(axis=self.axis, keepdims=True))

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


ACTIVATIONS: dict[str, type[Module]] = {
    "identity": Identity, "linear": Identity, "sigmoid": Sigmoid, "tanh": Tanh,
    "improved_sigmoid": ImprovedSigmoid, "relu": ReLU, "leaky_relu": LeakyReLU,
}


def activation(name: str) -> Module:
    """Build an activation layer from its name (``"sigmoid"``, ``"relu"``, ...)."""
    key = name.strip().lower().replace("-", "_")
    if key not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose from {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[key]()
