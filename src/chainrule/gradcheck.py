"""Central-difference gradient checks in float64.

For a module f with input x and parameters θ, the check draws a fixed random
projection r (same shape as the output) and uses the scalar ``L = Σ r ⊙ f(x; θ)``.
Then ``∂L/∂x`` is exactly what ``f.backward(r)`` returns and ``∂L/∂θ`` what it
accumulates into ``θ.grad``; each is compared with

    ∂L/∂z_i ≈ (L(z_i + ε) − L(z_i − ε)) / 2ε          (ε = 1e-5, float64)

whose error is O(ε²) truncation plus O(1e-16/ε) rounding.
The difference ``r ⊙ f(z_i + ε) − r ⊙ f(z_i − ε)`` is taken elementwise before summing,
so outputs that z_i does not reach cancel exactly and big layers stay as accurate as
small ones.

Error measure (per tensor): ``max_i |a_i − n_i| / max(|a_i|, |n_i|, floor)`` with
``floor = 1e-3 · max(‖a‖∞, ‖n‖∞)``. Entries under a thousandth of the tensor's largest
gradient are therefore judged on the tensor's scale rather than their own (where
rounding noise dominates); everything else is a true elementwise relative error.
A tensor passes when that relative error is at most ``tol`` (default 1e-6; it must be
finite and > 0). Only a tensor whose gradient is zero — its scale
``max(‖a‖∞, ‖n‖∞)`` is at most ``ATOL = 1e-9`` (a bias feeding a training-mode batch norm,
say) — has no scale to be relative to: it is judged by the absolute test instead, every
entry within ``ATOL``, far below any real gradient and above the ~1e-11 rounding noise
of the differences. Each row of a report says which test decided it (``rel`` or
``abs``); a real gradient, however small its errors, is never waved through by the
absolute floor, so ``tol`` always matters.

Random layers (dropout, noise) keep their randomness in an attribute ``rng``; the
check restores every such Generator before each forward so all evaluations see the
same mask.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from .backend import as_rng
from .core import Module

DEFAULT_TOL = 1e-6
# 1e-5 balances O(ε²) truncation against O(1e-16/ε) rounding: on a trained 784-100-50-10
# sigmoid/ReLU net, ε = 1e-6 left rounding errors of ~7e-6 relative, ε = 1e-5 ~5e-7.
DEFAULT_EPS = 1e-5
ATOL = 1e-9


def check_tol(tol: float, name: str = "tol") -> float:
    """``tol`` as a float; ValueError unless it is finite and > 0."""
    try:
        value = float(tol)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {tol!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be finite and > 0, got {tol!r}")
    return value


@dataclass
class TensorCheck:
    """Result for one tensor: its name, shape, the analytic-vs-numeric errors and the
    gradient's scale ``max(‖a‖∞, ‖n‖∞)`` (unknown → ∞: judged by the relative test)."""

    name: str
    shape: tuple[int, ...]
    max_abs: float
    max_rel: float
    checked: int
    scale: float = math.inf

    @property
    def test(self) -> str:
        """Which test decides this tensor: ``"abs"`` for a zero gradient (scale ≤ ATOL),
        else ``"rel"``."""
        return "abs" if self.scale <= ATOL else "rel"

    def ok(self, tol: float = DEFAULT_TOL) -> bool:
        tol = check_tol(tol)
        if self.test == "abs":
            return bool(self.max_abs <= ATOL)
        return bool(self.max_rel <= tol)


@dataclass
class GradcheckReport:
    """Per-tensor results of one check; ``ok`` when every tensor is within ``tol``."""

    subject: str
    results: list[TensorCheck] = field(default_factory=list)
    tol: float = DEFAULT_TOL

    def __post_init__(self) -> None:
        self.tol = check_tol(self.tol)

    @property
    def ok(self) -> bool:
        return all(r.ok(self.tol) for r in self.results)

    @property
    def max_rel(self) -> float:
        return max((r.max_rel for r in self.results), default=0.0)

    def __getitem__(self, name: str) -> TensorCheck:
        for r in self.results:
            if r.name == name:
                return r
        raise KeyError(name)

    def __str__(self) -> str:
        head = (f"{self.subject}: {'ok' if self.ok else 'FAILED'} (rel: max_rel ≤ "
                f"{self.tol:.0e}; abs, for a zero gradient: max_abs ≤ {ATOL:.0e})")
        rows = [head]
        for r in self.results:
            flag = "ok" if r.ok(self.tol) else "FAIL"
            rows.append(f"  {r.name:<24} {r.shape!s:<18} max_rel={r.max_rel:.2e}  "
                        f"max_abs={r.max_abs:.2e}  n={r.checked:<6} {r.test} {flag}")
        return "\n".join(rows)


def compare(name: str, analytic: np.ndarray, numeric: np.ndarray,
            checked: int | None = None) -> TensorCheck:
    """Error of an analytic gradient against a numeric one, measured as the module docstring
    says."""
    a = np.asarray(analytic, dtype=np.float64).ravel()
    n = np.asarray(numeric, dtype=np.float64).ravel()
    diff = np.abs(a - n)
    scale = max(np.abs(a).max(initial=0.0), np.abs(n).max(initial=0.0))
    denom = np.maximum(np.maximum(np.abs(a), np.abs(n)), 1e-3 * scale)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(denom > 0, diff / np.where(denom > 0, denom, 1.0), 0.0)
    return TensorCheck(name, tuple(np.shape(analytic)), float(diff.max(initial=0.0)),
                       float(rel.max(initial=0.0)), int(checked if checked is not None else a.size),
                       float(scale))


def _rngs(module: Module) -> Iterator[np.random.Generator]:
    for m in module.modules():
        r = m.__dict__.get("rng")
        if isinstance(r, np.random.Generator):
            yield r


def numeric_gradient(f: Callable[[], float | np.ndarray], z: np.ndarray, eps: float,
                     indices: np.ndarray | None = None) -> np.ndarray:
    """Central differences of ``f()`` w.r.t. the entries of ``z`` (perturbed in place, restored).

    ``f`` returns a scalar, or an array whose sum is the scalar: then the difference is
    taken elementwise before summing, so outputs that ``z_i`` does not touch cancel exactly
    and the rounding error scales with the affected outputs, not with the whole sum.
    ``indices`` (flat) limits the work to those entries; the others are left at 0.
    """
    grad = np.zeros(z.size, dtype=np.float64)
    flat = z.reshape(-1)  # a view: z must be contiguous
    if not np.shares_memory(flat, z):
        raise ValueError("numeric_gradient needs a contiguous array")
    for i in (range(z.size) if indices is None else indices):
        old = flat[i]
        flat[i] = old + eps
        up = f()
        flat[i] = old - eps
        down = f()
        flat[i] = old
        grad[i] = float(np.sum(np.subtract(up, down))) / (2.0 * eps)
    return grad.reshape(z.shape)


def gradcheck(module: Module, x: np.ndarray, *, eps: float = DEFAULT_EPS, tol: float = DEFAULT_TOL,
              training: bool = False, rng: int | np.random.Generator = 0,
              max_checks: int | None = None, check_input: bool = True) -> GradcheckReport:
    """Check ``module.backward`` for its input and every parameter against central differences.

    The module is deep-copied and cast to float64; the original is untouched.
    ``max_checks`` limits each tensor to that many randomly chosen entries (all by default).
    """
    tol = check_tol(tol)
    gen = as_rng(rng)
    m = copy.deepcopy(module).astype(np.float64)
    if np.asarray(x).dtype.kind in "iub":
        # Integer inputs (token ids, class indices) have no gradient: check parameters only.
        x = np.array(x, copy=True, order="C")
        check_input = False
    else:
        x = np.array(x, dtype=np.float64, copy=True, order="C")
    rng_states = [(r, copy.deepcopy(r.bit_generator.state)) for r in _rngs(m)]

    def run() -> np.ndarray:
        for r, state in rng_states:
            r.bit_generator.state = copy.deepcopy(state)
        return m.forward(x, training=training)

    y = run()
    proj = gen.standard_normal(y.shape)
    m.zero_grad()
    # Copy: later forward calls must not be able to overwrite the analytic answer.
    dx = np.array(m.backward(proj.copy()), dtype=np.float64, copy=True)

    def loss() -> np.ndarray:
        return run() * proj  # L = Σ of this; numeric_gradient differences it elementwise

    def pick(size: int) -> np.ndarray | None:
        if max_checks is None or size <= max_checks:
            return None
        return np.sort(gen.choice(size, size=max_checks, replace=False))

    report = GradcheckReport(type(module).__name__, tol=tol)
    targets = ([("input", x, dx)] if check_input else []) + [
        (name, p.data, p.grad.copy()) for name, p in m.named_parameters()]
    for name, z, analytic in targets:
        if analytic.shape != z.shape:
            # A gradient of the wrong shape is a failure, never something to broadcast.
            report.results.append(TensorCheck(f"{name} (grad shape {analytic.shape})", z.shape,
                                              math.inf, math.inf, 0))
            continue
        idx = pick(z.size)
        numeric = numeric_gradient(loss, z, eps, idx)
        if idx is not None:
            analytic = analytic.reshape(-1)[idx]
            numeric = numeric.reshape(-1)[idx]
        report.results.append(compare(name, analytic, numeric,
                                      checked=z.size if idx is None else len(idx)))
    return report


def gradcheck_loss(loss, prediction: np.ndarray, target: np.ndarray, *, eps: float = DEFAULT_EPS,
                   tol: float = DEFAULT_TOL) -> GradcheckReport:
    """Check a loss's ``backward`` against central differences of its ``forward`` (in float64)."""
    tol = check_tol(tol)
    z = np.array(prediction, dtype=np.float64, copy=True, order="C")
    t = np.asarray(target)
    if t.dtype.kind == "f":
        t = t.astype(np.float64)
    loss.forward(z, t)
    analytic = np.array(loss.backward(), copy=True)
    numeric = numeric_gradient(lambda: loss.forward(z, t), z, eps)
    return GradcheckReport(type(loss).__name__, [compare("prediction", analytic, numeric)], tol)


def away_from_kinks(x: np.ndarray, kinks: tuple[float, ...] = (0.0,),
                    margin: float = 0.05) -> np.ndarray:
    """Copy of ``x`` with every entry moved at least ``margin`` away from each kink.

    Central differences straddling a kink (ReLU at 0, max-pool ties) measure neither
    one-sided derivative, so test inputs for such layers are pushed off them first.
    An entry within ``margin`` of a kink k is moved to ``k ± margin`` (keeping its side).
    """
    x = np.array(x, copy=True)
    for k in kinks:
        near = np.abs(x - k) < margin
        x[near] = k + np.where(x[near] >= k, margin, -margin)
    return x
