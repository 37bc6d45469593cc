"""Divergence detection for the training loop: a loss that blows up but stays finite.

The NaN guard catches a loss that is NaN or infinite. A learning rate far too large can
instead drive the loss to 4e19 and keep it finite; ``Divergence`` catches that.

The rule (per optimizer step, checked before the update)
--------------------------------------------------------
With ``m_t`` the mean loss over the last ``window`` steps (fewer at the start),
``best = min_t m_t`` (the running minimum of that windowed mean) and ``first`` the loss of
the run's first step (the untrained model's loss), training has **diverged** when

    m_t > factor · best     and     m_t > ceiling · first

with ``factor = 1e3``, ``ceiling = 10`` and ``window = 10`` by default. Both conditions
must hold: "far above the best the run has done" alone would trip on a loss that had gone
to ~1e-5 and rose to 0.05 (forgetting, not blow-up), so the loss must also be an order
of magnitude above where training started — for 10-class cross-entropy (first ≈ 2.3) a
10-step mean above 23, i.e. confidently wrong on nearly everything. Through the windowed
mean, one bad batch trips it only when it alone lifts the 10-step mean past both limits
(a single batch loss above 230 for that cross-entropy). The ratio test needs positive losses; for
a loss that can be ≤ 0 (a log-likelihood, say) only the non-finite test applies.

A step whose own loss is above both thresholds is *unhealthy*: the trainer writes no
checkpoint and takes no in-memory snapshot of the weights after it, so the last
checkpoint (and snapshot) before the divergence holds good weights, and the trainer puts
those weights back into the model when it stops.

The state (first loss, running minimum, the window) is saved in checkpoints, so a resumed
run makes the same decisions as an uninterrupted one.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

from .checkpoint import NonFiniteLossError


class DivergenceError(NonFiniteLossError):
    """The loss stayed finite but blew up (see ``chainrule.train.divergence``)."""


class Divergence:
    """The divergence rule of the module docstring, with its running state."""

    def __init__(self, factor: float = 1e3, ceiling: float = 10.0, window: int = 10) -> None:
        for name, v in (("factor", factor), ("ceiling", ceiling)):
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 1):
                raise ValueError(f"Divergence: {name} must be a finite number > 1, got {v!r}")
        if isinstance(window, bool) or int(window) < 1:
            raise ValueError(f"Divergence: window must be >= 1, got {window!r}")
        self.factor, self.ceiling, self.window = float(factor), float(ceiling), int(window)
        self.first: float | None = None
        self.best = math.inf
        self.recent: deque[float] = deque(maxlen=self.window)
        self.last_healthy = True

    def limit(self) -> float:
        """The loss above which both tests fail (inf when the ratio test does not apply)."""
        if self.first is None or self.first <= 0 or not self.best > 0:
            return math.inf
        return max(self.factor * self.best, self.ceiling * self.first)

    def update(self, value: float) -> str | None:
        """Record one step's loss; return why training diverged, or None."""
        if self.first is None:
            self.first = float(value)
        self.recent.append(float(value))
        mean = math.fsum(self.recent) / len(self.recent)
        limit = self.limit()
        self.last_healthy = value <= limit
        if mean > limit:
            return (f"the mean loss of the last {len(self.recent)} steps is {mean:.4g}, more "
                    f"than {self.factor:g}× its running minimum {self.best:.4g} and more than "
                    f"{self.ceiling:g}× the first step's loss {self.first:.4g}")
        self.best = min(self.best, mean)
        return None

    def state_dict(self) -> dict[str, Any]:
        return {"first": self.first, "best": None if math.isinf(self.best) else self.best,
                "recent": list(self.recent), "last_healthy": self.last_healthy}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.first = state.get("first")
        best = state.get("best")
        self.best = math.inf if best is None else float(best)
        self.recent = deque((float(v) for v in state.get("recent", [])), maxlen=self.window)
        self.last_healthy = bool(state.get("last_healthy", True))
