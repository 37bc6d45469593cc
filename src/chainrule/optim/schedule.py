"""Learning-rate schedules: pure functions of a counter t (epochs or steps done so far).

A schedule maps ``(base_lr, t) -> lr``; it holds no state, so a resumed run recomputes
exactly the learning rate it had. ``base_lr`` is the optimizer's ``initial_lr`` (the
``lr`` it was built with), so applying a schedule never compounds::

    sched = StepDecay(step_size=10, gamma=0.5)
    sched.apply(optimizer, t=epoch)          # optimizer.lr = initial_lr · 0.5^(epoch // 10)

To apply a schedule during ``chainrule.train.fit`` use the callback
``chainrule.train.LearningRateScheduler(schedule, per="epoch" | "step")``, which calls
``apply`` before each epoch (t = epochs done) or before each step (t = steps done).
The formulas follow PyTorch's StepLR, ExponentialLR and CosineAnnealingLR in their
closed forms.
"""

from __future__ import annotations

import math

from .base import Optimizer


class Schedule:
    """Base class: ``lr(base_lr, t)`` gives the learning rate after t epochs/steps."""

    def lr(self, base_lr: float, t: int) -> float:
        raise NotImplementedError

    def __call__(self, base_lr: float, t: int) -> float:
        return self.lr(base_lr, t)

    def apply(self, optimizer: Optimizer, t: int) -> float:
        """Set ``optimizer.lr`` to ``lr(optimizer.initial_lr, t)`` and return it."""
        optimizer.lr = self.lr(optimizer.initial_lr, int(t))
        return optimizer.lr


class Constant(Schedule):
    """lr(t) = base_lr."""

    def lr(self, base_lr: float, t: int) -> float:
        return float(base_lr)


class StepDecay(Schedule):
    """lr(t) = base_lr · γ^⌊t / step_size⌋ (PyTorch's StepLR)."""

    def __init__(self, step_size: int, gamma: float = 0.1) -> None:
        if int(step_size) < 1:
            raise ValueError(f"StepDecay: step_size must be >= 1, got {step_size}")
        if not 0.0 < float(gamma) <= 1.0:
            raise ValueError(f"StepDecay: gamma must be in (0, 1], got {gamma}")
        self.step_size, self.gamma = int(step_size), float(gamma)

    def lr(self, base_lr: float, t: int) -> float:
        return float(base_lr) * self.gamma ** (int(t) // self.step_size)


class ExponentialDecay(Schedule):
    """lr(t) = base_lr · γ^t (PyTorch's ExponentialLR)."""

    def __init__(self, gamma: float) -> None:
        if not 0.0 < float(gamma) <= 1.0:
            raise ValueError(f"ExponentialDecay: gamma must be in (0, 1], got {gamma}")
        self.gamma = float(gamma)

    def lr(self, base_lr: float, t: int) -> float:
        return float(base_lr) * self.gamma ** int(t)


class CosineDecay(Schedule):
    """lr(t) = min_lr + (base_lr − min_lr)·(1 + cos(π·min(t, T)/T))/2 (CosineAnnealingLR, one
    half period of length T = ``total``; constant at ``min_lr`` after T)."""

    def __init__(self, total: int, min_lr: float = 0.0) -> None:
        if int(total) < 1:
            raise ValueError(f"CosineDecay: total must be >= 1, got {total}")
        if not float(min_lr) >= 0.0:
            raise ValueError(f"CosineDecay: min_lr must be >= 0, got {min_lr}")
        self.total, self.min_lr = int(total), float(min_lr)

    def lr(self, base_lr: float, t: int) -> float:
        frac = min(int(t), self.total) / self.total
        return self.min_lr + (float(base_lr) - self.min_lr) * (1.0 + math.cos(math.pi * frac)) / 2.0


SCHEDULES: dict[str, type[Schedule]] = {
    "constant": Constant, "step": StepDecay, "exponential": ExponentialDecay, "cosine": CosineDecay,
}
