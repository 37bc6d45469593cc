"""Human-activity-recognition models over sensor windows ``(N, T, C)`` (channels last).

Five small architectures of the UCL A1 coursework (Ordóñez & Roggen 2016 for DeepConvLSTM,
Shi et al. 2015 for ConvLSTM), each a ``Sequential`` (so ``summary`` walks it without data,
and the state keys read ``"0.weight"``), each returning ``(N, K)`` logits for
``SoftmaxCrossEntropy``. With T = 100 samples, C = 6 channels, K classes:

``har_mlp(hidden=h, layers=L)`` — the flattened window through L hidden ReLU layers::

    x (N, T·C) → [Linear → ReLU → Dropout] × L → Linear(h, K)
    parameters: (T·C·h + h) + (L − 1)·(h² + h) + (h·K + K)

``har_lstm(hidden=H)`` — one LSTM layer, its last state into a linear classifier::

    x → LSTM(C, H) → h_T (N, H) → Dropout → Linear(H, K)
    parameters: 4·(C·H + H² + H) + (H·K + K)          (one bias per gate, see ``LSTM``)

``har_cnn(filters=F, kernel=k, hidden=h)`` — two Conv1d blocks ("same" padding, ReLU,
max-pool 2), then a dense layer::

    x → [Conv1d(k) → ReLU → MaxPool1d(2)] × 2 → Dropout → Flatten (T/4·F) → Linear(h) → ReLU
      → Linear(h, K)
    parameters: (C·k·F + F) + (F·k·F + F) + (T/4·F·h + h) + (h·K + K)

``har_deepconvlstm(filters=F, kernel=k, hidden=H)`` — the same convolutional feature
extractor, then an LSTM over the T/4 pooled steps instead of the dense layer::

    x → [Conv1d(k) → ReLU → MaxPool1d(2)] × 2 → LSTM(F, H) → h_{T/4} → Dropout → Linear(H, K)
    parameters: (C·k·F + F) + (F·k·F + F) + 4·(F·H + H² + H) + (H·K + K)

``har_convlstm(filters=F, kernel=k, steps=S, hidden=h)`` — the window cut into S consecutive
sub-windows of L = T/S samples, read as a sequence of S one-dimensional "frames" (L positions,
C channels) by a ConvLSTM1d whose gates are convolutions over the L positions::

    x (N, T, C) → Reshape (N, S, L, C) → ConvLSTM1d(C, F, k) → h_S (N, L, F) → Dropout
      → Flatten (L·F) → Linear(h) → ReLU → Linear(h, K)
    parameters: 4F·(k·(C + F) + 1) + (L·F·h + h) + (h·K + K)

Backward: every model is a chain, so ``Sequential.backward`` runs each layer's own backward
in reverse (BPTT inside LSTM / ConvLSTM1d; max-pool routes to the winning step). The first
weighted layer gets ``input_grad=False`` (its input is data), which saves one product.
``dropout`` is the rate of every Dropout layer (0 removes none: the layer is the identity).
"""

from __future__ import annotations

from typing import Any

from ..core import Sequential
from ..layers import (
    LSTM,
    Conv1d,
    ConvLSTM1d,
    Dropout,
    Flatten,
    Linear,
    MaxPool1d,
    ReLU,
    Reshape,
)

T_DEFAULT, C_DEFAULT = 100, 6


def har_mlp(num_classes: int = 6, *, window: int = T_DEFAULT, channels: int = C_DEFAULT,
            hidden: int = 128, layers: int = 2, dropout: float = 0.5, rng: Any = None,
            dtype: Any = None) -> Sequential:
    """MLP on the flattened window; see the module docstring."""
    mods: list[Any] = [Flatten()]
    d = window * channels
    for _ in range(int(layers)):
        mods += [Linear(d, hidden, rng=rng, dtype=dtype), ReLU(), Dropout(dropout, rng=rng)]
        d = hidden
    mods.append(Linear(d, num_classes, rng=rng, dtype=dtype))
    return Sequential(*mods)


def har_lstm(num_classes: int = 6, *, channels: int = C_DEFAULT, hidden: int = 32,
             dropout: float = 0.5, rng: Any = None, dtype: Any = None) -> Sequential:
    """One LSTM layer, last state → linear; see the module docstring."""
    return Sequential(
        LSTM(channels, hidden, return_sequences=False, input_grad=False, unit_forget_bias=True,
             rng=rng, dtype=dtype),
        Dropout(dropout, rng=rng), Linear(hidden, num_classes, rng=rng, dtype=dtype))


def _conv_blocks(channels: int, filters: int, kernel: int, rng: Any, dtype: Any) -> list:
    """``[Conv1d(k, same) → ReLU → MaxPool1d(2)] × 2``: T → T/4 steps of F features."""
    return [Conv1d(channels, filters, kernel, padding="same", input_grad=False, rng=rng,
                   dtype=dtype), ReLU(), MaxPool1d(2),
            Conv1d(filters, filters, kernel, padding="same", rng=rng, dtype=dtype), ReLU(),
            MaxPool1d(2)]


def har_cnn(num_classes: int = 6, *, window: int = T_DEFAULT, channels: int = C_DEFAULT,
            filters: int = 32, kernel: int = 5, hidden: int = 64, dropout: float = 0.5,
            rng: Any = None, dtype: Any = None) -> Sequential:
    """Two Conv1d blocks + dense layer; see the module docstring."""
    return Sequential(
        *_conv_blocks(channels, filters, kernel, rng, dtype), Dropout(dropout, rng=rng),
        Flatten(), Linear(window // 4 * filters, hidden, rng=rng, dtype=dtype), ReLU(),
        Linear(hidden, num_classes, rng=rng, dtype=dtype))


def har_deepconvlstm(num_classes: int = 6, *, channels: int = C_DEFAULT, filters: int = 32,
                     kernel: int = 5, hidden: int = 32, dropout: float = 0.5, rng: Any = None,
                     dtype: Any = None) -> Sequential:
    """Conv1d feature extractor, then an LSTM over the pooled steps; see the module docstring."""
    return Sequential(
        *_conv_blocks(channels, filters, kernel, rng, dtype),
        LSTM(filters, hidden, return_sequences=False, unit_forget_bias=True, rng=rng,
             dtype=dtype),
        Dropout(dropout, rng=rng), Linear(hidden, num_classes, rng=rng, dtype=dtype))


def har_convlstm(num_classes: int = 6, *, window: int = T_DEFAULT, channels: int = C_DEFAULT,
                 filters: int = 16, kernel: int = 3, steps: int = 4, hidden: int = 64,
                 dropout: float = 0.5, rng: Any = None, dtype: Any = None) -> Sequential:
    """ConvLSTM1d over ``steps`` sub-windows; see the module docstring."""
    if window % steps:
        raise ValueError(f"har_convlstm: steps={steps} must divide the window ({window})")
    length = window // steps
    return Sequential(
        Reshape((steps, length, channels)),
        ConvLSTM1d(channels, filters, kernel, padding="same", rng=rng, dtype=dtype),
        Dropout(dropout, rng=rng), Flatten(),
        Linear(length * filters, hidden, rng=rng, dtype=dtype), ReLU(),
        Linear(hidden, num_classes, rng=rng, dtype=dtype))


HAR_MODELS = {"mlp": har_mlp, "lstm": har_lstm, "cnn": har_cnn,
              "deepconvlstm": har_deepconvlstm, "convlstm": har_convlstm}


def build_har(kind: str, num_classes: int = 6, **kwargs: Any) -> Sequential:
    """``HAR_MODELS[kind](num_classes, **kwargs)``; unknown kinds raise ``ValueError``."""
    if kind not in HAR_MODELS:
        raise ValueError(f"unknown HAR model {kind!r}; one of {', '.join(HAR_MODELS)}")
    return HAR_MODELS[kind](num_classes, **kwargs)
