"""Adam (Kingma & Ba, 2015) with bias correction and coupled L2 weight decay."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..core import Module, Parameter
from .base import Optimizer


class Adam(Optimizer):
    """Adam, following **PyTorch's** ``torch.optim.Adam`` (``amsgrad=False``) exactly.

    Update rule for each parameter w with gradient g, at step t = 1, 2, ...
    (lr = η, betas = (β₁, β₂), weight_decay = λ)::

        g  ← g + λ·w                               (L2 weight decay, added to the gradient)
        m  ← β₁·m + (1 − β₁)·g                     (as m + (1 − β₁)(g − m): PyTorch's lerp)
        v  ← β₂·v + (1 − β₂)·g²
        m̂  = m / (1 − β₁ᵗ),   v̂ = v / (1 − β₂ᵗ)     (bias correction; m = v = 0 before step 1)
        w  ← w − η·m̂ / (√v̂ + ε)

    Implemented in PyTorch's order of operations,
    ``w ← w − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)``, so ε is added to the
    bias-corrected √v̂ (the paper's form), not to √v.

    Weight decay here is coupled L2 (it passes through the moment estimates), which is
    ``torch.optim.Adam``'s ``weight_decay``, not AdamW's decoupled decay.

    The state per parameter is ``exp_avg`` (m) and ``exp_avg_sq`` (v), in the parameter's
    dtype; the step count t is shared by all parameters.

    Parameters
    ----------
    params: Parameters to optimise (or a Module).
    lr: learning rate η ≥ 0 (default 1e-3).
    betas: (β₁, β₂), each in [0, 1) (default (0.9, 0.999)).
    eps: ε > 0 (default 1e-8).
    weight_decay: L2 coefficient λ ≥ 0.
    """

    _buffer_names = ("exp_avg", "exp_avg_sq")
    _hyper_names = ("betas", "eps", "weight_decay")

    def __init__(self, params: Iterable[Parameter] | Module, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        if len(tuple(betas)) != 2:
            raise ValueError(f"Adam: betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)
        self._check_hyperparams()

    def _check_hyperparams(self) -> None:
        for i, b in enumerate(self.betas):
            if not 0.0 <= b < 1.0:
                raise ValueError(f"Adam: betas[{i}] must be in [0, 1), got {b}")
        if not self.eps > 0.0:
            raise ValueError(f"Adam: eps must be > 0, got {self.eps}")
        if not self.weight_decay >= 0.0:
            raise ValueError(f"Adam: weight_decay must be >= 0, got {self.weight_decay}")

    def _prepare(self) -> None:
        super()._prepare()
        self._scratch2 = [np.empty_like(p.data) for p in self.params]

    def _update(self) -> None:
        b1, b2 = self.betas
        t = self.step_count
        wd, eps = self.weight_decay, self.eps
        step_size = self._lr / (1.0 - b1 ** t)
        bc2_sqrt = (1.0 - b2 ** t) ** 0.5
        one_m_b1, one_m_b2 = 1.0 - b1, 1.0 - b2
        mul, sub, sqrt, div = np.multiply, np.subtract, np.sqrt, np.divide
        for p, st, tmp, tmp2 in zip(self.params, self.state, self._scratch, self._scratch2):
            if not p.requires_grad:  # frozen: no update, no decay, state untouched
                continue
            w = p.data
            g = p.grad
            if wd != 0.0:
                mul(w, wd, out=tmp2)
                tmp2 += g
                g = tmp2  # g + λw, without touching p.grad
            m = st["exp_avg"]
            v = st["exp_avg_sq"]
            sub(g, m, out=tmp)          # m ← m + (1 − β₁)(g − m)
            tmp *= one_m_b1
            m += tmp
            v *= b2                     # v ← β₂v + ((1 − β₂)g)·g, PyTorch's addcmul order
            mul(g, one_m_b2, out=tmp)
            tmp *= g
            v += tmp
            sqrt(v, out=tmp)            # denom = √v / √(1 − β₂ᵗ) + ε
            tmp /= bc2_sqrt
            tmp += eps
            div(m, tmp, out=tmp)        # w ← w − step_size · m / denom
            tmp *= step_size
            w -= tmp
