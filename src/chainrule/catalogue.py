"""The gradient-check catalogue: one small example case per layer and loss in the library.

``chainrule gradcheck`` runs ``run_all()`` and prints ``format_table(...)``: one row per
case with the worst relative error over its input and parameters, exiting non-zero when
any case fails. The same cases run in the test suite (``tests/test_catalogue.py``).

Adding a layer is a three-line edit at the bottom of this file::

    register("Conv2d 3x3 pad 1", lambda rng: (
        Conv2d(2, 3, 3, padding=1, rng=rng), rng.standard_normal((2, 2, 6, 5)), False),
        max_checks=60)

``build(rng)`` receives a seeded ``np.random.Generator`` and returns ``(module, x, training)``:
a freshly built layer (any dtype; the check casts it to float64), an input, and the
``training`` flag for forward. Keep inputs off kinks (``gradcheck.away_from_kinks``) and the
whole catalogue fast: pass ``max_checks`` (entries sampled per tensor) for big tensors.
Losses use ``register_loss(name, build)`` with ``build(rng) -> (loss, prediction, target)``.
Case names are unique; a case whose build or check raises is reported as failed, not skipped.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .core import Module, Sequential
from .gradcheck import (
    DEFAULT_TOL,
    GradcheckReport,
    TensorCheck,
    check_tol,
    gradcheck,
    gradcheck_loss,
)
from .gradcheck import away_from_kinks as _off
from .layers import (
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    ConvTranspose2d,
    Cropping2d,
    Dropout,
    Flatten,
    GaussianNoise,
    GlobalAvgPool2d,
    Identity,
    ImprovedSigmoid,
    LeakyReLU,
    Linear,
    MaxPool2d,
    ReLU,
    Reshape,
    Sigmoid,
    Softmax,
    Tanh,
    Upsample2d,
    ZeroPad2d,
)
from .layers.conv1d import Conv1d
from .layers.convlstm import ConvLSTM1d, ConvLSTM2d
from .layers.embedding import Embedding
from .layers.gru import GRU
from .layers.lstm import LSTM
from .layers.pool1d import AvgPool1d, GlobalAvgPool1d, GlobalMaxPool1d, MaxPool1d
from .layers.rnn import RNN
from .losses import BCEWithLogits, MSELoss, SoftmaxCrossEntropy
from .models import CNN


@dataclass(frozen=True)
class Case:
    """One catalogue entry: ``build(rng)`` gives ``(module, x, training)`` or, for a loss,
    ``(loss, prediction, target)``."""

    name: str
    build: Callable[[np.random.Generator], tuple]
    kind: str = "layer"
    max_checks: int | None = None


_CASES: dict[str, Case] = {}


def register(name: str, build: Callable[[np.random.Generator], tuple], *,
             max_checks: int | None = None) -> Case:
    """Add a layer case; ``build(rng) -> (module, x, training)``."""
    return _add(Case(name, build, "layer", max_checks))


def register_loss(name: str, build: Callable[[np.random.Generator], tuple]) -> Case:
    """Add a loss case; ``build(rng) -> (loss, prediction, target)``."""
    return _add(Case(name, build, "loss"))


def _add(case: Case) -> Case:
    if case.name in _CASES:
        raise ValueError(f"catalogue already has a case named {case.name!r}")
    _CASES[case.name] = case
    return case


def cases() -> list[Case]:
    """Every registered case, in registration order."""
    return list(_CASES.values())


def run_case(case: Case, tol: float = DEFAULT_TOL, seed: int = 0) -> GradcheckReport:
    """Build and check one case; errors become a failed report naming the exception."""
    tol = check_tol(tol)  # a bad tolerance is the caller's error, not a failing case
    rng = np.random.default_rng(seed)
    try:
        if case.kind == "loss":
            loss, prediction, target = case.build(rng)
            report = gradcheck_loss(loss, prediction, target, tol=tol)
        else:
            module, x, training = case.build(rng)
            report = gradcheck(module, x, training=training, tol=tol, max_checks=case.max_checks,
                               rng=rng)
    except Exception as exc:  # noqa: BLE001  (a crashing layer is a failing one; the table goes on)
        failure = TensorCheck(f"error: {type(exc).__name__}: {exc}", (), math.inf, math.inf, 0)
        report = GradcheckReport(case.name, [failure], tol)
    report.subject = case.name
    return report


def run_all(tol: float = DEFAULT_TOL, *, seed: int = 0,
            names: list[str] | None = None) -> list[GradcheckReport]:
    """Check every case (or only ``names``); one report per case, in registration order."""
    tol = check_tol(tol)
    selected = cases() if names is None else [_CASES[n] for n in names]
    return [run_case(c, tol, seed) for c in selected]


def format_table(reports: list[GradcheckReport]) -> str:
    """A fixed-width table: case, tensors checked, worst tensor, its relative error, which
    test decided the case's tensors (``rel``; ``abs`` for zero gradients), status."""
    header = ("case", "tensors", "entries", "worst tensor", "max rel err", "test", "status")
    rows = []
    for r in reports:
        worst = max(r.results, key=lambda t: t.max_rel, default=None)
        n_abs = sum(t.test == "abs" for t in r.results)
        test = ("rel" if not n_abs else "abs" if n_abs == len(r.results)
                else f"rel, {n_abs} abs")
        rows.append((r.subject, str(len(r.results)), str(sum(t.checked for t in r.results)),
                     worst.name if worst else "-", f"{r.max_rel:.2e}", test,
                     "ok" if r.ok else "FAILED"))
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    def fmt(cells: tuple[str, ...]) -> str:
        return "  ".join(f"{c:<{w}}" for c, w in zip(cells, widths)).rstrip()

    out = [fmt(header), fmt(tuple("-" * w for w in widths))] + [fmt(row) for row in rows]
    return "\n".join(out)


# ====================================================================== the cases
# Layers: build(rng) -> (module, x, training). Inputs for kinked layers go through _off.

register("Linear 5→3", lambda rng: (Linear(5, 3, rng=rng), rng.standard_normal((4, 5)), False))
register("Linear batch 1", lambda rng: (Linear(7, 2, rng=rng), rng.standard_normal((1, 7)), False))
register("Linear no bias",
         lambda rng: (Linear(3, 4, bias=False, rng=rng), rng.standard_normal((2, 3)), False))
register("Linear (N,T,F)",
         lambda rng: (Linear(4, 3, rng=rng), rng.standard_normal((2, 5, 4)), False))
register("Identity", lambda rng: (Identity(), rng.standard_normal((3, 4)), False))
register("Sigmoid", lambda rng: (Sigmoid(), 2 * rng.standard_normal((3, 5)), False))
register("Tanh", lambda rng: (Tanh(), 2 * rng.standard_normal((3, 5)), False))
register("ImprovedSigmoid",
         lambda rng: (ImprovedSigmoid(), 2 * rng.standard_normal((3, 5)), False))
register("ReLU", lambda rng: (ReLU(), _off(rng.standard_normal((3, 5))), False))
register("LeakyReLU(0.1)",
         lambda rng: (LeakyReLU(0.1), _off(rng.standard_normal((3, 5))), False))
register("Softmax", lambda rng: (Softmax(), 2 * rng.standard_normal((3, 5)), False))
register("Softmax axis=1", lambda rng: (Softmax(axis=1), rng.standard_normal((2, 4, 3)), False))
register("MLP 6-5-4-3", lambda rng: (
    Sequential(Linear(6, 5, rng=rng), Sigmoid(), Linear(5, 4, rng=rng), ReLU(),
               Linear(4, 3, rng=rng)),
    rng.standard_normal((3, 6)), False))

# Shape, regularisation and normalisation layers (random layers keep their Generator in .rng).
register("Flatten", lambda rng: (Flatten(), rng.standard_normal((2, 3, 2, 2)), False))
register("Reshape (-1, 4)", lambda rng: (Reshape((-1, 4)), rng.standard_normal((2, 3, 4)), False))
register("ZeroPad2d (1,0,2,1)",
         lambda rng: (ZeroPad2d((1, 0, 2, 1)), rng.standard_normal((2, 2, 3, 3)), False))
register("Cropping2d ((1,0),(1,2))",
         lambda rng: (Cropping2d(((1, 0), (1, 2))), rng.standard_normal((2, 2, 4, 5)), False))
register("Upsample2d (2,3)",
         lambda rng: (Upsample2d((2, 3)), rng.standard_normal((2, 2, 3, 2)), False))
register("Dropout(0.4) training",
         lambda rng: (Dropout(0.4, rng=rng), rng.standard_normal((4, 6)), True))
register("GaussianNoise(0.5) training",
         lambda rng: (GaussianNoise(0.5, rng=rng), rng.standard_normal((4, 6)), True))


def _affine(bn, rng):
    """Random γ, β and running statistics, so every term of the batch-norm gradient matters."""
    f = bn.num_features
    bn.load_state_dict({"weight": rng.uniform(0.5, 2.0, f), "bias": rng.standard_normal(f),
                        "running_mean": rng.standard_normal(f),
                        "running_var": rng.uniform(0.5, 2.0, f)}, strict=False)
    return bn


register("BatchNorm1d training",
         lambda rng: (_affine(BatchNorm1d(4), rng), 2 * rng.standard_normal((5, 4)) + 1, True))
register("BatchNorm1d eval",
         lambda rng: (_affine(BatchNorm1d(4), rng), rng.standard_normal((3, 4)), False))
register("BatchNorm1d (N,F,L) training",
         lambda rng: (_affine(BatchNorm1d(3), rng), rng.standard_normal((2, 3, 4)), True))
register("BatchNorm2d training",
         lambda rng: (_affine(BatchNorm2d(3), rng), rng.standard_normal((2, 3, 3, 2)), True))
register("CNN k3 same maxpool", lambda rng: (
    CNN(3, 2, 1, True, True, channels=(2, 3), in_shape=(2, 7, 6), num_classes=4, rng=rng),
    rng.standard_normal((2, 2, 7, 6)), False), max_checks=25)

# Convolution and pooling. Max-pool inputs are distinct values 0.1 apart (no ties within ε).
def _distinct(rng, shape):
    return rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1


register("Conv2d 3x3 pad 1", lambda rng: (
    Conv2d(2, 3, 3, padding=1, rng=rng), rng.standard_normal((2, 2, 6, 5)), False), max_checks=40)
register("Conv2d 5x5 same stride 2", lambda rng: (
    Conv2d(2, 3, 5, 2, "same", rng=rng), rng.standard_normal((1, 2, 7, 8)), False), max_checks=40)
register("Conv2d 2x3 stride (3,1) valid", lambda rng: (
    Conv2d(3, 2, (2, 3), (3, 1), "valid", rng=rng), rng.standard_normal((2, 3, 8, 7)), False),
    max_checks=40)
register("ConvTranspose2d 3x3 s2 p1 op1", lambda rng: (
    ConvTranspose2d(3, 2, 3, 2, 1, 1, rng=rng), rng.standard_normal((2, 3, 4, 3)), False),
    max_checks=40)
register("ConvTranspose2d 2x2 s2", lambda rng: (
    ConvTranspose2d(2, 3, 2, 2, rng=rng), rng.standard_normal((1, 2, 3, 4)), False), max_checks=40)
register("MaxPool2d 2", lambda rng: (MaxPool2d(2), _distinct(rng, (2, 3, 5, 6)), False),
         max_checks=60)
register("MaxPool2d 3 stride 1 pad 1", lambda rng: (
    MaxPool2d(3, 1, 1), _distinct(rng, (1, 2, 5, 7)), False), max_checks=60)
register("AvgPool2d 3 stride 2 pad 1", lambda rng: (
    AvgPool2d(3, 2, 1), rng.standard_normal((2, 2, 7, 6)), False), max_checks=60)
register("GlobalAvgPool2d", lambda rng: (
    GlobalAvgPool2d(), rng.standard_normal((2, 3, 4, 5)), False))

# Sequence convolutions and pools, channels last (N, T, C).
class _WithKwargs(Module):
    """Runs ``layer.forward(x, **kwargs)`` with fixed keyword arguments (e.g. ``lengths``)."""

    def __init__(self, layer: Module, **kwargs) -> None:
        super().__init__()
        self.layer, self.kwargs = layer, kwargs

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        return self.layer.forward(x, training=training, **self.kwargs)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return self.layer.backward(dy)


register("Conv1d k3 pad 1", lambda rng: (
    Conv1d(3, 4, 3, padding=1, bias_init="normal", rng=rng), rng.standard_normal((2, 7, 3)),
    False))
register("Conv1d k4 same dilation 2", lambda rng: (
    Conv1d(2, 3, 4, padding="same", dilation=2, bias_init="normal", rng=rng),
    rng.standard_normal((1, 9, 2)), False))
register("Conv1d k3 stride 2 pad (2,1)", lambda rng: (
    Conv1d(3, 2, 3, stride=2, padding=(2, 1), bias_init="normal", rng=rng),
    rng.standard_normal((2, 8, 3)), False))
register("MaxPool1d 2", lambda rng: (MaxPool1d(2), _distinct(rng, (2, 7, 3)), False))
register("MaxPool1d 3 stride 1 pad 1", lambda rng: (
    MaxPool1d(3, 1, 1), _distinct(rng, (1, 6, 2)), False))
register("AvgPool1d 3 stride 2 pad 1", lambda rng: (
    AvgPool1d(3, 2, 1), rng.standard_normal((2, 7, 3)), False))
register("AvgPool1d 4 stride 2 pad 2 exclude pad", lambda rng: (
    AvgPool1d(4, 2, 2, count_include_pad=False), rng.standard_normal((2, 7, 2)), False))
register("GlobalMaxPool1d", lambda rng: (GlobalMaxPool1d(), _distinct(rng, (2, 5, 3)), False))
register("GlobalMaxPool1d lengths", lambda rng: (
    _WithKwargs(GlobalMaxPool1d(), lengths=np.array([5, 2, 3])), _distinct(rng, (3, 5, 2)),
    False))
register("GlobalAvgPool1d", lambda rng: (GlobalAvgPool1d(), rng.standard_normal((2, 5, 3)), False))
register("GlobalAvgPool1d lengths", lambda rng: (
    _WithKwargs(GlobalAvgPool1d(), lengths=np.array([1, 5, 3])), rng.standard_normal((3, 5, 2)),
    False))


def _randomised(layer: Module, rng: np.random.Generator, scale: float = 0.5) -> Module:
    """Every parameter redrawn from N(0, scale²): no zero biases, every gate term matters."""
    for p in layer.parameters():
        p.data[...] = scale * rng.standard_normal(p.shape)
    return layer


register("ConvLSTM1d k3 same sequences", lambda rng: (
    _randomised(ConvLSTM1d(2, 3, 3, return_sequences=True), rng),
    rng.standard_normal((2, 4, 5, 2)), False), max_checks=40)
register("ConvLSTM1d k2 valid last, initial state", lambda rng: (
    _WithKwargs(_randomised(ConvLSTM1d(2, 2, 2, padding="valid"), rng),
                initial_state=(rng.standard_normal((1, 5, 2)), rng.standard_normal((1, 5, 2)))),
    rng.standard_normal((1, 3, 6, 2)), False), max_checks=40)
register("ConvLSTM2d k(3,2) same sequences", lambda rng: (
    _randomised(ConvLSTM2d(2, 2, (3, 2), return_sequences=True), rng),
    rng.standard_normal((2, 3, 4, 3, 2)), False), max_checks=40)
register("ConvLSTM2d k2 valid last", lambda rng: (
    _randomised(ConvLSTM2d(1, 2, 2, padding="valid"), rng),
    rng.standard_normal((1, 2, 4, 3, 1)), False), max_checks=40)


# Recurrent layers and embeddings (every parameter randomised; lengths and initial states
# through _WithKwargs; T = 1, 2, 7; bidirectional; two layers).
def _h0(rng, cells, n, h):
    return rng.standard_normal((cells, n, h))


register("RNN tanh T=1", lambda rng: (
    _randomised(RNN(3, 4), rng), rng.standard_normal((2, 1, 3)), False))
register("RNN relu T=7 last", lambda rng: (
    _randomised(RNN(3, 4, nonlinearity="relu", return_sequences=False), rng),
    rng.standard_normal((3, 7, 3)), False))
register("RNN bidirectional 2 layers lengths, h0", lambda rng: (
    _WithKwargs(_randomised(RNN(2, 3, 2, bidirectional=True), rng), h0=_h0(rng, 4, 3, 3),
                lengths=np.array([4, 1, 3])), rng.standard_normal((3, 4, 2)), False))
register("LSTM T=2", lambda rng: (
    _randomised(LSTM(3, 4), rng), rng.standard_normal((2, 2, 3)), False))
register("LSTM T=7 last, h0 c0", lambda rng: (
    _WithKwargs(_randomised(LSTM(2, 3, return_sequences=False), rng), h0=_h0(rng, 1, 1, 3),
                c0=_h0(rng, 1, 1, 3)), rng.standard_normal((1, 7, 2)), False))
register("LSTM bidirectional 2 layers lengths", lambda rng: (
    _WithKwargs(_randomised(LSTM(2, 3, 2, bidirectional=True), rng),
                lengths=np.array([2, 5, 4])), rng.standard_normal((3, 5, 2)), False),
    max_checks=60)
register("GRU T=1", lambda rng: (
    _randomised(GRU(3, 4), rng), rng.standard_normal((2, 1, 3)), False))
register("GRU T=7 bidirectional last, lengths", lambda rng: (
    _WithKwargs(_randomised(GRU(2, 3, bidirectional=True, return_sequences=False), rng),
                lengths=np.array([7, 3])), rng.standard_normal((2, 7, 2)), False))
register("GRU 2 layers h0", lambda rng: (
    _WithKwargs(_randomised(GRU(3, 2, 2), rng), h0=_h0(rng, 2, 3, 2)),
    rng.standard_normal((3, 4, 3)), False))
register("Embedding repeated ids (parameters only)", lambda rng: (
    Embedding(6, 3, rng=rng), np.array([[1, 0, 3, 3], [5, 1, 0, 3]]), False))
register("Embedding → LSTM → Linear", lambda rng: (
    Sequential(Embedding(5, 3, rng=rng), _randomised(LSTM(3, 2, return_sequences=False), rng),
               Linear(2, 2, rng=rng)), np.array([[1, 4, 4], [0, 2, 1]]), False))


# Losses: build(rng) -> (loss, prediction, target).

register_loss("SoftmaxCrossEntropy labels", lambda rng: (
    SoftmaxCrossEntropy(), 3 * rng.standard_normal((5, 4)), rng.integers(0, 4, 5)))
register_loss("SoftmaxCrossEntropy soft targets", lambda rng: (
    SoftmaxCrossEntropy(), rng.standard_normal((3, 4)), rng.dirichlet(np.ones(4), 3)))
register_loss("SoftmaxCrossEntropy sum", lambda rng: (
    SoftmaxCrossEntropy(reduction="sum"), rng.standard_normal((4, 3)), rng.integers(0, 3, 4)))
register_loss("MSELoss", lambda rng: (
    MSELoss(), rng.standard_normal((4, 3)), rng.standard_normal((4, 3))))
register_loss("BCEWithLogits", lambda rng: (
    BCEWithLogits(), 3 * rng.standard_normal((4, 3)), rng.uniform(0, 1, (4, 3))))
