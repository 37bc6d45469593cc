"""Sentence classifiers over word ids: Kim's (2014) CNN and a recurrent encoder.

Both take int ``(N, T)`` word ids, right-padded with id 0 (``<pad>``; ``chainrule.text.Vocab``),
and return ``(N, C)`` logits for ``SoftmaxCrossEntropy``. A sentence's true length is the
number of non-pad ids (at least 1), so padding needs no separate input and ``fit`` / ``predict``
work unchanged.

``SentenceCNN`` — per filter size k (one branch each, ``filters`` filters of k×d)::

    E = W_emb[ids]                          (N, T, d)     embedding lookup
    Z_k = relu(conv1d_k(E) + b_k)           (N, T', F)    stride 1, zero padding p_k
    h_k[n, f] = max_{t valid} Z_k[n, t, f]  (N, F)        max over positions
    h = [h_k1, h_k2, …]                     (N, F·K)      concatenated
    logits = dropout(h)·W_out + b_out       (N, C)

The coursework sheet's CNN is ``SentenceCNN(V, d, 3, sizes=(3,), filters=5, padding=1,
mask=False)`` on 10-token inputs: 10×d → conv 10×(1)×5 → max over the 10 positions → 5 →
linear 5→3. ``mask=True`` (the default) takes the max over a sentence's own positions only
(``t < length``), so appending padding cannot change a prediction. ``padding`` ``"same"``
keeps T' = T for every odd k (p = (k−1)/2); even k get (k/2 − 1, k/2).

``SentenceRNN`` — ``cell`` ``"rnn"`` (Elman, ``s_t = tanh(U x_t + W s_{t−1} [+ b])``), ``"lstm"``
or ``"gru"``, hidden size H, ``s_0 = 0``::

    s = cell(E, lengths)[final]             (N, H)   the state at each sentence's last token
    logits = s·W_out + b_out                (N, C)

The sheet's RNN is ``SentenceRNN(V, d, 4, cell="rnn", hidden=50, bias=False)``: U is H×d, W
is H×H (no recurrent bias), the final state feeds a linear 50→4 and a softmax. The sheet's
per-step output matrix V (``o_t = V s_t``) is absent because a sentence classifier reads only
the last state: the output layer W_out plays V's role once, at t = length.

Backward
--------
``dlogits`` → ``Linear.backward`` → dh; CNN: dh is cut into the branches' (N, F) pieces, each
goes through the max pool (to the winning position), ReLU and ``Conv1d.backward`` to
``dE_k``; ``dE = Σ_k dE_k``. RNN: dh is the final state's gradient, back-propagated through time
by the layer (padded steps get none). ``Embedding.backward(dE)`` scatter-adds into its table
(nothing when frozen; the ``<pad>`` row never). No input gradient (ids are integers): ``None``.

Shapes
------
ids ``(N, T)`` int (float-valued ids, as ``summary`` traces, are rounded); E ``(N, T, d)``;
logits ``(N, C)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..backend import as_rng
from ..core import Module
from ..layers import (
    GRU,
    LSTM,
    RNN,
    Conv1d,
    Dropout,
    Embedding,
    GlobalMaxPool1d,
    Linear,
    ReLU,
)

PAD_ID = 0
CELLS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}


def _ids(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    return x if x.dtype.kind in "iu" else np.rint(x).astype(np.int64)


def _lengths(ids: np.ndarray) -> np.ndarray | None:
    """Non-pad ids per sentence (at least 1); None for a batch of nothing but padding (the
    zero sample ``summary`` traces), which then runs unmasked: a layer's recorded call sees
    only ``(x, training)``."""
    n = (ids != PAD_ID).sum(axis=1)
    return np.maximum(n, 1).astype(np.int64) if n.any() else None


def _embedding(vocab_size: int, dim: int, vectors: np.ndarray | None, freeze: bool,
               rng: Any, dtype: Any) -> Embedding:
    if vectors is not None:
        return Embedding.from_pretrained(vectors, freeze=freeze, padding_idx=PAD_ID, dtype=dtype)
    return Embedding(vocab_size, dim, padding_idx=PAD_ID, init="uniform", rng=rng, dtype=dtype)


def _pads(k: int, padding: int | str) -> int | tuple[int, int]:
    if padding == "same":
        return ((k - 1) // 2, k // 2)
    return int(padding)


class SentenceCNN(Module):
    """Kim (2014)-style CNN over word ids; see the module docstring."""

    def __init__(self, vocab_size: int, dim: int, num_classes: int, *,
                 sizes: Sequence[int] = (3,), filters: int = 100,
                 padding: int | str = "same", mask: bool = True, dropout: float = 0.0,
                 vectors: np.ndarray | None = None, freeze: bool = True, rng: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        rng = as_rng(rng)
        self.sizes, self.filters, self.mask = tuple(int(k) for k in sizes), int(filters), mask
        self.embedding = _embedding(vocab_size, dim, vectors, freeze, rng, dtype)
        self.convs = [Conv1d(dim, self.filters, k, padding=_pads(k, padding), rng=rng,
                             dtype=dtype) for k in self.sizes]
        self.relus = [ReLU() for _ in self.sizes]
        self.pools = [GlobalMaxPool1d() for _ in self.sizes]
        for i, (c, r, p) in enumerate(zip(self.convs, self.relus, self.pools)):
            setattr(self, f"conv{i}", c)
            setattr(self, f"relu{i}", r)
            setattr(self, f"pool{i}", p)
        self.dropout = Dropout(dropout, rng=rng)
        self.fc = Linear(self.filters * len(self.sizes), num_classes, rng=rng, dtype=dtype)

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        ids = _ids(x)
        e = self.embedding.forward(ids, training=training)
        lengths = _lengths(ids)
        hs = []
        for conv, relu, pool in zip(self.convs, self.relus, self.pools):
            z = relu.forward(conv.forward(e, training=training), training=training)
            if self.mask and lengths is not None:
                hs.append(pool.forward(z, lengths=np.minimum(lengths, z.shape[1])))
            else:
                hs.append(pool.forward(z, training=training))
        h = np.concatenate(hs, axis=1)
        return self.fc.forward(self.dropout.forward(h, training=training), training=training)

    def backward(self, dy: np.ndarray) -> None:
        dh = self.dropout.backward(self.fc.backward(dy))
        de = None
        f = self.filters
        for i, (conv, relu, pool) in enumerate(zip(self.convs, self.relus, self.pools)):
            g = conv.backward(relu.backward(pool.backward(dh[:, i * f:(i + 1) * f])))
            de = g if de is None else de + g
        self.embedding.backward(de)

    def argmax_positions(self) -> np.ndarray:
        """Per filter, the position that won the last forward's max pool: int (N, F·K)."""
        return np.concatenate([p._arg for p in self.pools], axis=1)


class SentenceRNN(Module):
    """Recurrent sentence encoder + linear classifier; see the module docstring."""

    def __init__(self, vocab_size: int, dim: int, num_classes: int, *, cell: str = "rnn",
                 hidden: int = 50, bias: bool = True, vectors: np.ndarray | None = None,
                 freeze: bool = True, rng: Any = None, dtype: Any = None) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {sorted(CELLS)}, got {cell!r}")
        rng = as_rng(rng)
        self.cell = cell
        self.embedding = _embedding(vocab_size, dim, vectors, freeze, rng, dtype)
        self.rnn = CELLS[cell](dim, int(hidden), return_sequences=False, bias=bias,
                                    rng=rng, dtype=dtype)
        self.fc = Linear(int(hidden), num_classes, rng=rng, dtype=dtype)

    def encode(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """The final states (N, H) at each sentence's true length."""
        ids = _ids(x)
        e = self.embedding.forward(ids, training=training)
        lengths = _lengths(ids)
        if lengths is None:
            return self.rnn.forward(e, training=training)
        return self.rnn.forward(e, lengths=lengths, training=training)

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        return self.fc.forward(self.encode(x, training=training), training=training)

    def backward(self, dy: np.ndarray) -> None:
        self.embedding.backward(self.rnn.backward(self.fc.backward(dy)))
