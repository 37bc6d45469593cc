"""Elman recurrent network: h_t = φ(x_t·W_x + h_{t−1}·W_h + b), φ = tanh or ReLU."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._recurrent_base import RecurrentBase
from ._sequence import _Plan, carry


class RNN(RecurrentBase):
    """Elman RNN over batch-first sequences, ``nn.RNN(batch_first=True)``'s equations::

        a_t = x_t·W_x + b + h_{t−1}·W_h        (x·W_x + b for all steps before the loop)
        h_t = φ(a_t),   φ = tanh (default) or relu (``nonlinearity='relu'``)

    Backward (BPTT)
    ---------------
    With ``δh_t = ∂L/∂h_t`` (output gradient at t plus ``dh_t`` carried from step t+1),
    for t = T−1 … 0::

        da_t = δh_t ⊙ φ'(a_t)        φ' = 1 − h_t² (tanh), [h_t > 0] (relu)
        dh_{t−1} = da_t·W_hᵀ

    φ' is formed for all steps before the loop. After it (chunk by chunk, see
    ``RecurrentBase``): ``∂L/∂W_h = Σ_t h_{t−1}ᵀ·da_t``, ``∂L/∂W_x = Σ_t x_tᵀ·da_t``,
    ``∂L/∂b = Σ_{t,n} da_t``, ``∂L/∂x_t = da_t·W_xᵀ``; ``dh0 = dh_{−1}``. The relu
    derivative at exactly 0 is taken as 0 (PyTorch's choice).

    Shapes
    ------
    x, dx: (N, T, F)   W_x ``weight_ih_l{k}``: (F_k, H)   W_h ``weight_hh_l{k}``: (H, H)
    b ``bias_l{k}``: (H,)   h0, dh0, h_n: (num_layers·dirs, N, H)
    y: (N, T, H·dirs) or (N, H·dirs) with ``return_sequences=False``.

    Parameters: F_k·H + H·H + H per layer and direction (PyTorch's two biases add up to
    one: ``bias_l{k} = w.bias_ih_l{k} + w.bias_hh_l{k}``; ``weight_ih_l{k} =
    w.weight_ih_l{k}.T``, ``weight_hh_l{k} = w.weight_hh_l{k}.T``; same for ``_reverse``).

    See ``RecurrentBase`` for stacking, ``bidirectional``, ``lengths`` and initial states:
    ``forward(x, h0=None, lengths=None)``; after backward ``dh0``.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, *,
                 nonlinearity: str = "tanh", bidirectional: bool = False,
                 return_sequences: bool = True, bias: bool = True, init: str = "pytorch",
                 input_grad: bool = True, rng: Any = None, dtype: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, num_layers, bidirectional=bidirectional,
                         return_sequences=return_sequences, bias=bias, init=init,
                         input_grad=input_grad, rng=rng, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, x: np.ndarray, h0: np.ndarray | None = None, lengths: Any = None, *,
                training: bool = False) -> np.ndarray:
        """Run every layer and direction over the sequence; see the class docstring."""
        return self._forward(x, {"h0": h0}, lengths)

    def _recur(self, a: np.ndarray, init: list[np.ndarray], plan: _Plan, layer: int,
               d: int) -> tuple[np.ndarray, list[np.ndarray], Any]:
        t, h, n = a.shape
        wh_t = np.ascontiguousarray(self.cell_parameters(layer, d)[1].data.T)
        s = (np.zeros if plan.ragged else np.empty)((t + 1, h, n), dtype=a.dtype)
        s[0] = init[0]
        zbuf = np.empty(h * n, dtype=a.dtype)
        relu = self.nonlinearity == "relu"
        for step, bsz in enumerate(plan.bs):
            z = zbuf[:h * bsz].reshape(h, bsz)
            np.dot(wh_t, s[step, :, :bsz], out=z)
            z += a[step, :, :bsz]
            if relu:
                np.maximum(z, 0, out=s[step + 1, :, :bsz])
            else:
                np.tanh(z, out=s[step + 1, :, :bsz])
        return s, [plan.last(s, 0)], None

    def _unrecur(self, cache: Any, s: np.ndarray, dhs: np.ndarray | None,
                 dfinal: list[np.ndarray | None], plan: _Plan, layer: int,
                 d: int) -> tuple[np.ndarray, list[np.ndarray], None]:
        t, h, n = s.shape[0] - 1, s.shape[1], s.shape[2]
        dt = s.dtype
        y = s[1:]
        if self.nonlinearity == "relu":
            dphi = (y > 0).astype(dt)
        else:
            dphi = y * y
            np.subtract(1.0, dphi, out=dphi)
        da = (np.zeros if plan.ragged else np.empty)((t, h, n), dtype=dt)
        wh = self.cell_parameters(layer, d)[1]
        ch = carry(dfinal[0], h, n, dt)
        zbuf = np.empty(h * n, dtype=dt)
        for step in reversed(range(t)):
            bsz = plan.bs[step]
            dh = ch[:, :bsz]
            if dhs is not None:
                dh += dhs[:, step, :bsz]
            dat = da[step, :, :bsz]
            np.multiply(dh, dphi[step, :, :bsz], out=dat)
            if bsz == n:
                np.dot(wh.data, dat, out=ch)
            else:
                z = zbuf[:h * bsz].reshape(h, bsz)
                np.dot(wh.data, dat, out=z)
                ch[:, :bsz] = z
        return da, [ch.T.copy()], None

    def extra_repr(self) -> str:
        return super().extra_repr() + f", nonlinearity={self.nonlinearity!r}"
