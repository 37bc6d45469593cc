"""Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..core import Module, Parameter
from .base import Optimizer


class SGD(Optimizer):
    """Stochastic gradient descent, following **PyTorch's** ``torch.optim.SGD`` update rule.

    Update rule for each parameter w with gradient g, at step t = 1, 2, ...
    (lr = η, momentum = μ, dampening = τ, weight_decay = λ)::

        g ← g + λ·w                         (L2 weight decay, added to the gradient first)
        if μ ≠ 0:
            v ← g                           at t = 1   (no dampening on the first step)
            v ← μ·v + (1 − τ)·g             at t > 1
            g ← g + μ·v   if nesterov  else  g ← v
        w ← w − η·g

    Conventions, stated because libraries differ:

    * Momentum is PyTorch's ``v = μv + g; w −= η·v`` (the learning rate multiplies the
      velocity, not the gradient inside it), not Sutskever's ``v = μv − ηg; w += v``.
      The two agree for a constant η and differ when a schedule changes η.
    * ``dampening=μ`` gives the exponential moving average ``m = μm + (1 − μ)g`` used in
      many texts, **except** on the first step, where PyTorch sets ``m = g`` (undamped).
      We follow PyTorch's equations, so trajectories follow PyTorch's — to rounding, not
      bit for bit: PyTorch rounds ``w − η·g`` differently (fused kernels), so a single
      step already differs by up to 1 ulp of w in about 10% of the entries, and the
      differences compound (the tests allow 1e-10 relative in float64 and 1e-5 in
      float32 after 50 training steps).
    * Nesterov is PyTorch's form (the look-ahead applied to the gradient); it needs
      μ > 0 and τ = 0.
    * Weight decay is L2 regularisation added to the gradient (coupled), so with
      momentum it flows into the velocity. (For decoupled decay use AdamW-style code.)

    The state per parameter is ``momentum_buffer`` (v), in the parameter's dtype.

    Parameters
    ----------
    params: Parameters to optimise (or a Module).
    lr: learning rate η ≥ 0.
    momentum: μ in [0, 1).
    dampening: τ in [0, 1].
    nesterov: use Nesterov momentum (requires μ > 0 and τ = 0).
    weight_decay: L2 coefficient λ ≥ 0.
    """

    _hyper_names = ("momentum", "dampening", "nesterov", "weight_decay")

    def __init__(self, params: Iterable[Parameter] | Module, lr: float, momentum: float = 0.0,
                 dampening: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        self.momentum = float(momentum)
        self.dampening = float(dampening)
        self.nesterov = bool(nesterov)
        self.weight_decay = float(weight_decay)
        self._check_hyperparams()
        self._buffer_names = ("momentum_buffer",) if self.momentum != 0.0 else ()

    def _check_hyperparams(self) -> None:
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"SGD: momentum must be in [0, 1), got {self.momentum}")
        if not 0.0 <= self.dampening <= 1.0:
            raise ValueError(f"SGD: dampening must be in [0, 1], got {self.dampening}")
        if not self.weight_decay >= 0.0:
            raise ValueError(f"SGD: weight_decay must be >= 0, got {self.weight_decay}")
        if self.nesterov and (self.momentum <= 0.0 or self.dampening != 0.0):
            raise ValueError("SGD: nesterov needs momentum > 0 and dampening = 0, got "
                             f"momentum={self.momentum}, dampening={self.dampening}")

    def _prepare(self) -> None:
        super()._prepare()
        # Nesterov's g + μv needs a second scratch array (g may already live in the first).
        self._scratch2 = [np.empty_like(p.data) if self.nesterov else None for p in self.params]

    def _update(self) -> None:
        lr, mu, wd = self._lr, self.momentum, self.weight_decay
        damp = 1.0 - self.dampening
        first = self.step_count == 1
        nesterov = self.nesterov
        mul, add = np.multiply, np.add
        for p, st, tmp, nv in zip(self.params, self.state, self._scratch, self._scratch2):
            if not p.requires_grad:  # frozen: no update, no decay, state untouched
                continue
            w = p.data
            g = p.grad
            if wd != 0.0:
                mul(w, wd, out=tmp)
                tmp += g
                g = tmp  # g + λw, computed without touching p.grad
            if mu != 0.0:
                v = st["momentum_buffer"]
                if first:
                    np.copyto(v, g)
                else:
                    v *= mu
                    if damp != 1.0:
                        if g is not tmp:
                            mul(g, damp, out=tmp)
                        else:
                            tmp *= damp
                        v += tmp
                    else:
                        v += g
                if nesterov:
                    mul(v, mu, out=nv)
                    add(g, nv, out=tmp)
                    tmp *= lr
                else:
                    mul(v, lr, out=tmp)
            elif g is tmp:
                tmp *= lr
            else:
                mul(g, lr, out=tmp)
            w -= tmp
