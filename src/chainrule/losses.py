"""Loss functions: ``loss = L.forward(prediction, target)`` (a Python float),
``L.backward()`` → ∂loss/∂prediction.

``reduction="mean"`` (default) divides by the batch size N for the cross-entropies and
by the number of elements for MSE and BCE, exactly as PyTorch's defaults do; the 1/N is
inside the gradient ``backward`` returns. ``reduction="sum"`` drops it.
"""

from __future__ import annotations

import numpy as np

_REDUCTIONS = ("mean", "sum")


class Loss:
    """Base class: stores what ``backward`` needs during ``forward``."""

    def __init__(self, reduction: str = "mean") -> None:
        if reduction not in _REDUCTIONS:
            raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
        self.reduction = reduction
        self._grad: np.ndarray | None = None

    def __call__(self, prediction: np.ndarray, target: np.ndarray) -> float:
        return self.forward(prediction, target)

    def forward(self, prediction: np.ndarray, target: np.ndarray) -> float:
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        """∂loss/∂prediction for the last ``forward`` call."""
        if self._grad is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        return self._grad

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reduction={self.reduction!r})"


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """log softmax via log-sum-exp: ``z − m − log Σ e^{z−m}``, m = max z (finite for any
    finite z)."""
    shifted = z - z.max(axis=axis, keepdims=True)
    with np.errstate(under="ignore"):  # e^(very negative) → 0 is exact enough and intended
        return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _check_labels(target: np.ndarray, n: int, classes: int) -> np.ndarray:
    if target.shape != (n,):
        raise ValueError(f"integer labels must have shape ({n},), got {target.shape}")
    if target.dtype.kind == "f":
        # Labels read from CSV often arrive as floats; accept them only when integral.
        if not np.all(np.isfinite(target)) or np.any(target != np.round(target)):
            raise ValueError("class labels must be whole numbers; got non-integral floats")
        target = target.astype(np.int64)
    elif target.dtype.kind not in "iub":
        raise ValueError(f"class labels must be integers, got dtype {target.dtype}")
    if target.size and (target.min() < 0 or target.max() >= classes):
        bad = target[(target < 0) | (target >= classes)]
        raise ValueError(f"labels must lie in [0, {classes}); "
                         f"found {sorted(set(bad.tolist()))[:5]}")
    return target


class SoftmaxCrossEntropy(Loss):
    """Softmax followed by cross-entropy, fused.

    Forward, for logits ``z`` (N, C) and a target distribution ``t`` (one-hot rows, or
    integer labels ``y`` meaning ``t = onehot(y)``):

        log p = z − logsumexp(z)            (log-sum-exp with the row max subtracted)
        loss  = −(1/N) Σ_n Σ_c t_nc · log p_nc

    Backward: ``∂loss/∂z = (softmax(z)·Σ_c t_c − t) / N``, i.e. ``(softmax(z) − t) / N``
    for one-hot or probability rows (Σ_c t_c = 1). Fusing avoids the softmax Jacobian
    and never takes the log of a probability that underflowed to 0, so logits of ±1e4
    give a finite loss and gradient.

    Shapes: z (N, C); gradient (N, C); target either ``(N,)`` class labels in [0, C)
    (integers, or integral floats) or ``(N, C)`` one-hot / probability rows (any dtype,
    including integer or boolean one-hot). The target's rank decides which.
    """

    def forward(self, logits: np.ndarray, target: np.ndarray) -> float:
        """Mean (or summed) cross-entropy of softmax(logits) against the target."""
        if logits.ndim != 2:
            raise ValueError(f"logits must be (N, C), got shape {logits.shape}")
        n, c = logits.shape
        target = np.asarray(target)
        logp = log_softmax(logits)
        with np.errstate(under="ignore"):
            grad = np.exp(logp)  # softmax(z), computed from log p so it never overflows
        if target.ndim == 1:
            y = _check_labels(target, n, c)
            rows = np.arange(n)
            total = -float(logp[rows, y].sum(dtype=np.float64))
            grad[rows, y] -= 1.0
        else:
            if target.shape != logits.shape:
                raise ValueError(f"one-hot targets must match logits {logits.shape}, "
                                 f"got {target.shape}")
            t = target.astype(logits.dtype, copy=False)
            total = -float((t * logp).sum(dtype=np.float64))
            # ∂/∂z of −Σ_c t_c log p_c is (Σ_c t_c)·p − t; the row sum is 1 for one-hot or
            # probability rows, but keeping it makes unnormalised targets exact too.
            grad *= t.sum(axis=1, keepdims=True)
            grad -= t
        scale = 1.0 / n if self.reduction == "mean" and n else 1.0
        if scale != 1.0:
            grad *= scale
        self._grad = grad
        return total * scale


class MSELoss(Loss):
    """Mean squared error ``loss = (1/M) Σ (ŷ − y)²`` over all M elements (PyTorch's convention).

    Backward: ``∂loss/∂ŷ = 2(ŷ − y)/M``.  Shapes: ŷ, y and the gradient share one shape.
    """

    def forward(self, prediction: np.ndarray, target: np.ndarray) -> float:
        """Mean (or summed) squared error."""
        target = np.asarray(target)
        if target.shape != prediction.shape:
            raise ValueError(f"MSELoss: prediction {prediction.shape} and target "
                             f"{target.shape} differ")
        diff = prediction - target.astype(prediction.dtype, copy=False)
        scale = 1.0 / diff.size if self.reduction == "mean" and diff.size else 1.0
        self._grad = diff * (2.0 * scale)
        return float(np.square(diff, dtype=np.float64).sum()) * scale


class BCEWithLogits(Loss):
    """Binary cross-entropy on logits, fused with the sigmoid.

    Forward, per element, for logit z and target t ∈ [0, 1]:

        ℓ = −t·log σ(z) − (1 − t)·log(1 − σ(z)) = max(z, 0) − z·t + log(1 + e^{−|z|})

    (the right-hand form never overflows); ``loss = (1/M) Σ ℓ`` over all M elements.

    Backward: ``∂ℓ/∂z = σ(z) − t``, so ``∂loss/∂z = (σ(z) − t)/M``. With ``r = σ(−|z|) =
    e/(1 + e)``, ``e = e^{−|z|}``, it is computed as ``r − t`` for z < 0 and ``(1 − t) − r``
    for z ≥ 0 (σ(z) = 1 − r there): no e^{z} to overflow, and no cancellation near 1, so
    for a confident correct logit (z = 30, t = 1) the gradient is −9.4e-14, not 0.
    Shapes: z, t and the gradient share one shape.
    """

    def forward(self, logits: np.ndarray, target: np.ndarray) -> float:
        """Mean (or summed) binary cross-entropy of σ(logits) against the target."""
        target = np.asarray(target)
        if target.shape != logits.shape:
            raise ValueError(f"BCEWithLogits: logits {logits.shape} and target "
                             f"{target.shape} differ")
        t = target.astype(logits.dtype, copy=False)
        with np.errstate(under="ignore"):  # e^(−|z|) → 0 for large |z| is intended
            e = np.exp(-np.abs(logits))
        per = np.maximum(logits, 0) - logits * t + np.log1p(e)
        scale = 1.0 / logits.size if self.reduction == "mean" and logits.size else 1.0
        r = e / (1.0 + e)  # σ(−|z|)
        self._grad = np.where(logits >= 0, (1.0 - t) - r, r - t) * scale
        return float(per.sum(dtype=np.float64)) * scale


LOSSES: dict[str, type[Loss]] = {
    "cross_entropy": SoftmaxCrossEntropy, "softmax_cross_entropy": SoftmaxCrossEntropy,
    "mse": MSELoss, "bce_with_logits": BCEWithLogits,
}
