"""Gradient clipping by the total norm (PyTorch's ``torch.nn.utils.clip_grad_norm_``)."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ..core import Module, Parameter


def clip_grad_norm_(params: Iterable[Parameter] | Module, max_norm: float,
                    norm_type: float = 2.0) -> float:
    """Scale all gradients in place so that their joint norm is at most ``max_norm``.

    PyTorch's semantics exactly::

        total = ‖(‖g₁‖_p, ‖g₂‖_p, …)‖_p        (= the p-norm of all gradients concatenated;
                                                 p = inf: the largest |g|)
        coef  = max_norm / (total + 1e-6)
        if coef < 1:  g ← coef · g            for every gradient

    Returns ``total`` (before clipping) as a Python float. Frozen parameters
    (``requires_grad=False``) take no part — PyTorch skips them too, as their ``grad`` is
    None. Norms are accumulated in float64; the gradients keep their dtype. A non-finite
    total (inf/NaN gradients) is returned as is, and the gradients are then scaled by
    ``coef`` like PyTorch does (to 0 or NaN).
    """
    if isinstance(params, Module):
        params = params.parameters()
    grads = [p.grad for p in params if p.requires_grad]
    max_norm, p = float(max_norm), float(norm_type)
    if not p > 0:
        raise ValueError(f"clip_grad_norm_: norm_type must be > 0 or inf, got {norm_type}")
    if not grads:
        return 0.0
    if math.isinf(p):
        total = max(float(np.max(np.abs(g), initial=0.0)) for g in grads)
    else:
        parts = [float(np.linalg.norm(g.reshape(-1).astype(np.float64, copy=False), ord=p))
                 for g in grads]
        total = float(np.linalg.norm(np.array(parts, dtype=np.float64), ord=p))
    coef = max_norm / (total + 1e-6)
    if coef < 1.0 or math.isnan(coef):
        for g in grads:
            g *= coef
    return total
