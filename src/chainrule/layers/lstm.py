"""Long short-term memory (Hochreiter & Schmidhuber, 1997), PyTorch's equations and gate order."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._recurrent_base import RecurrentBase
from ._sequence import _Plan, carry, chunk_steps


class LSTM(RecurrentBase):
    """LSTM over batch-first sequences, ``nn.LSTM(batch_first=True)``'s equations.

    For each step t (σ the logistic sigmoid, ⊙ elementwise, gates in PyTorch's order i, f,
    g, o along the 4·H columns)::

        [a_i a_f a_g a_o] = x_t·W_x + h_{t−1}·W_h + b
        i = σ(a_i)   f = σ(a_f)   g = tanh(a_g)   o = σ(a_o)
        c_t = f ⊙ c_{t−1} + i ⊙ g
        h_t = o ⊙ tanh(c_t)

    ``x_t·W_x + b`` is computed for all steps before the loop (see
    ``RecurrentBase``). Inside the loop one ``exp`` over the whole gate block gives all
    four gates: the columns of W_x, W_h and b are scaled by −1 for i, f, o and by −2 for
    g (exact in floating point), so ``1 / (1 + e^{z})`` is σ(a) for i, f, o and σ(2a) for g,
    and ``g = 2σ(2a) − 1 = tanh(a)``. (np.exp is vectorised where np.tanh is not; the
    absolute error stays at float rounding, and an overflowing e^{z} gives the exact limit.)

    Backward (BPTT)
    ---------------
    With ``δh_t = ∂L/∂h_t`` (from the output at t, plus the recurrent term ``dh_t`` carried
    from step t+1) and ``δc_t`` (carried from step t+1), for t = T−1 … 0::

        da_o = δh_t ⊙ tanh(c_t) ⊙ o(1 − o)
        δc   = δc_t + δh_t ⊙ o ⊙ (1 − tanh²(c_t))
        da_i = δc ⊙ g ⊙ i(1 − i)     da_f = δc ⊙ c_{t−1} ⊙ f(1 − f)     da_g = δc ⊙ i ⊙ (1 − g²)
        δc_{t−1} = δc ⊙ f            dh_{t−1} = da_t·W_hᵀ

    The factors that do not depend on δ (``tanh(c_t)·o(1−o)``, ``o(1 − tanh²c_t)``,
    ``g·i(1−i)``, ...) are formed a cache-sized chunk of steps at a time, leaving seven
    array operations per step. After the loop (``RecurrentBase``, chunk by chunk):
    ``∂L/∂W_h = Σ_t h_{t−1}ᵀ·da_t``, ``∂L/∂W_x = Σ_t x_tᵀ·da_t``, ``∂L/∂b = Σ_{t,n} da_t``,
    ``∂L/∂x_t = da_t·W_xᵀ``; ``dh0 = dh_{−1}``, ``dc0 = δc_{−1}``.

    Shapes
    ------
    x, dx: (N, T, F)   W_x ``weight_ih_l{k}``: (F_k, 4H)   W_h ``weight_hh_l{k}``: (H, 4H)
    b ``bias_l{k}``: (4H,)   h0, c0, dh0, dc0, h_n, c_n: (num_layers·dirs, N, H)
    y: (N, T, H·dirs) or (N, H·dirs) with ``return_sequences=False``.

    Parameters: 4·(F_k·H + H·H + H) per layer and direction with one bias per gate
    (PyTorch has 4·(F_k·H + H·H + 2H): two biases whose sum is the only thing that matters).
    From PyTorch: ``weight_ih_l{k} = w.weight_ih_l{k}.T``, ``weight_hh_l{k} =
    w.weight_hh_l{k}.T``, ``bias_l{k} = w.bias_ih_l{k} + w.bias_hh_l{k}`` (same for
    ``_reverse``). ``unit_forget_bias=True`` sets the forget block of every bias to 1 after
    initialisation, like Keras's ``unit_forget_bias``. Keras's kernels use the same gate
    order (i, f, c, o) and layout (in, 4H).

    See ``RecurrentBase`` for stacking, ``bidirectional``, ``lengths`` and initial states:
    ``forward(x, h0=None, c0=None, lengths=None)``; after backward ``dh0``/``dc0``.
    """

    _gates = 4
    _states = ("h", "c")

    unit_forget_bias = False  # read by the initialisation inside RecurrentBase.__init__

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, *,
                 bidirectional: bool = False, return_sequences: bool = True, bias: bool = True,
                 init: str = "pytorch", unit_forget_bias: bool = False,
                 input_grad: bool = True, rng: Any = None, dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, num_layers, bidirectional=bidirectional,
                         return_sequences=return_sequences, bias=bias, init=init,
                         input_grad=input_grad, rng=rng, dtype=dtype)
        self.dc0: np.ndarray | None = None
        self.c_n: np.ndarray | None = None
        self.unit_forget_bias = bool(unit_forget_bias)
        self._after_reset()  # draws nothing: the random stream is the same either way

    def _after_reset(self) -> None:
        if self.unit_forget_bias and self.use_bias:
            h = self.hidden_size
            for layer, d in self._cells():
                self.cell_parameters(layer, d)[2].data[h:2 * h] = 1.0

    def forward(self, x: np.ndarray, h0: np.ndarray | None = None,
                c0: np.ndarray | None = None, lengths: Any = None, *,
                training: bool = False) -> np.ndarray:
        """Run every layer and direction over the sequence; see the class docstring."""
        return self._forward(x, {"h0": h0, "c0": c0}, lengths)

    def _scale(self, dt: np.dtype) -> np.ndarray:
        """Column factors folded into W_x, W_h and b: −1 for σ gates, −2 for g (exact)."""
        h = self.hidden_size
        sc = np.full(4 * h, -1.0, dtype=dt)
        sc[2 * h:3 * h] = -2.0
        return sc

    def _recur(self, a: np.ndarray, init: list[np.ndarray], plan: _Plan, layer: int,
               d: int) -> tuple[np.ndarray, list[np.ndarray], Any]:
        t, _, n = a.shape
        h = self.hidden_size
        dt = a.dtype
        wh_t = np.ascontiguousarray((self.cell_parameters(layer, d)[1].data * self._scale(dt)).T)
        alloc = np.zeros if plan.ragged else np.empty
        s = alloc((t + 1, h, n), dtype=dt)
        c = alloc((t + 1, h, n), dtype=dt)
        tc = alloc((t, h, n), dtype=dt)
        gates = a                                   # A_t becomes the gates in place
        s[0], c[0] = init
        zbuf = np.empty(4 * h * n, dtype=dt)
        ig = np.empty((h, n), dtype=dt)
        dot, mul = np.dot, np.multiply
        with np.errstate(over="ignore"):  # exp → inf gives σ = 0 exactly: the right limit
            for step, bsz in enumerate(plan.bs):
                z = zbuf[:4 * h * bsz].reshape(4 * h, bsz)
                dot(wh_t, s[step, :, :bsz], out=z)
                g = gates[step, :, :bsz]       # −(pre-activation), −2× for g; becomes [i f g o]
                g += z
                np.exp(g, out=g)
                g += 1.0
                np.divide(1.0, g, out=g)       # σ(a) for i, f, o; σ(2a) for g
                gg = g[2 * h:3 * h]
                gg *= 2.0
                gg -= 1.0                      # tanh(a) = 2σ(2a) − 1
                ct = c[step + 1, :, :bsz]
                mul(g[h:2 * h], c[step, :, :bsz], out=ct)
                igb = ig[:, :bsz]
                mul(g[:h], gg, out=igb)
                ct += igb
                np.tanh(ct, out=tc[step, :, :bsz])
                mul(g[3 * h:], tc[step, :, :bsz], out=s[step + 1, :, :bsz])
        return s, [plan.last(s, 0), plan.last(c, 0)], (gates, c, tc)

    def _unrecur(self, cache: Any, s: np.ndarray, dhs: np.ndarray | None,
                 dfinal: list[np.ndarray | None], plan: _Plan, layer: int,
                 d: int) -> tuple[np.ndarray, list[np.ndarray], None]:
        gates, c, tc = cache
        t, _, n = gates.shape
        h = self.hidden_size
        dt = gates.dtype
        g4 = gates.reshape(t, 4, h, n)              # i, f, g, o
        da = (np.zeros if plan.ragged else np.empty)((t, 4 * h, n), dtype=dt)
        da4 = da.reshape(t, 4, h, n)
        wh = self.cell_parameters(layer, d)[1]
        ch = carry(dfinal[0], h, n, dt)
        cc = carry(dfinal[1], h, n, dt)
        dc = np.empty((h, n), dtype=dt)
        zbuf = np.empty(h * n, dtype=dt)
        k = chunk_steps(n * h * dt.itemsize * 16, t)
        p4 = np.empty((k, 4, h, n), dtype=dt)
        q = np.empty((k, h, n), dtype=dt)
        dot, mul, sub = np.dot, np.multiply, np.subtract
        for t0 in reversed(range(0, t, k)):
            t1 = min(t0 + k, t)
            # δ-free factors of steps t0..t1−1, while they are in cache.
            kk = t1 - t0
            gk, pk = g4[t0:t1], p4[:kk]
            gi, gg, go = gk[:, 0], gk[:, 2], gk[:, 3]
            qq, tcc = q[:kk], tc[t0:t1]
            mul(gk, gk, out=pk)                     # σ' = s − s² of i, f, o at once
            sub(gk, pk, out=pk)
            pk[:, 0] *= gg                          # g·i(1 − i)
            pk[:, 1] *= c[t0:t1]                    # c_{t−1}·f(1 − f)
            pk[:, 3] *= tcc                         # tanh(c)·o(1 − o)
            pg = pk[:, 2]
            mul(gg, gg, out=pg)                     # i·(1 − g²)
            sub(1.0, pg, out=pg)
            pg *= gi
            mul(tcc, tcc, out=qq)                   # o·(1 − tanh² c)
            sub(1.0, qq, out=qq)
            qq *= go
            for step in range(t1 - 1, t0 - 1, -1):
                bsz, j = plan.bs[step], step - t0
                dh = ch[:, :bsz]
                if dhs is not None:
                    dh += dhs[:, step, :bsz]
                mul(dh, p4[j, 3, :, :bsz], out=da4[step, 3, :, :bsz])
                dct = dc[:, :bsz]
                mul(dh, q[j, :, :bsz], out=dct)
                dct += cc[:, :bsz]
                mul(p4[j, :3, :, :bsz], dct[None], out=da4[step, :3, :, :bsz])
                mul(dct, g4[step, 1, :, :bsz], out=cc[:, :bsz])
                if bsz == n:
                    dot(wh.data, da[step], out=ch)
                else:
                    z = zbuf[:h * bsz].reshape(h, bsz)
                    dot(wh.data, da[step, :, :bsz], out=z)
                    ch[:, :bsz] = z
        return da, [ch.T.copy(), cc.T.copy()], None
