"""Gated recurrent unit (Cho et al., 2014) in PyTorch's convention (Keras's reset_after=True)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._recurrent_base import RecurrentBase
from ._sequence import _Plan, carry, chunk_steps


class GRU(RecurrentBase):
    """GRU over batch-first sequences, ``nn.GRU(batch_first=True)``'s equations.

    Gates in PyTorch's order r, z, n along the 3·H columns; the reset gate multiplies the
    recurrent candidate *after* its matrix product (PyTorch's convention, which is
    Keras's ``GRU(reset_after=True)``, the Keras 3 default; the original paper's
    ``reset_after=False`` form is not this layer)::

        [a_r a_z a_n] = x_t·W_x + b                  (all steps at once, before the loop)
        [u_r u_z u_n] = h_{t−1}·W_h
        r = σ(a_r + u_r)        z = σ(a_z + u_z)
        m = u_n + b_hn          (the recurrent candidate, kept for backward)
        n = tanh(a_n + r ⊙ m)
        h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}  =  n + z ⊙ (h_{t−1} − n)

    r and z come from one ``exp`` over their block: their columns of W_x, b and W_h are
    negated (exact), so the loop forms ``1 / (1 + e^{−a})`` directly.

    Backward (BPTT)
    ---------------
    With ``δh_t = ∂L/∂h_t`` (output gradient at t plus ``dh_t`` from step t+1), for
    t = T−1 … 0::

        da_z = δh_t ⊙ (h_{t−1} − n) ⊙ z(1 − z)
        da_n = δh_t ⊙ (1 − z) ⊙ (1 − n²)          (∂L/∂a_n: the input side of n)
        dm   = da_n ⊙ r                            (∂L/∂u_n, and ∂L/∂b_hn summed)
        da_r = da_n ⊙ m ⊙ r(1 − r)
        dh_{t−1} = δh_t ⊙ z + [da_r da_z dm]·W_hᵀ

    The δ-free factors are formed a cache-sized chunk of steps at a time. After the loop:
    ``∂L/∂W_h = Σ_t h_{t−1}ᵀ·[da_r da_z dm]``, ``∂L/∂b_hn = Σ_{t,n} dm``, and with
    ``dA = [da_r da_z da_n]``: ``∂L/∂W_x = Σ_t x_tᵀ·dA_t``, ``∂L/∂b = Σ dA``,
    ``∂L/∂x_t = dA_t·W_xᵀ``. The two differ only in the candidate block (dm vs da_n)
    because r sits between ``h·W_hn`` and the tanh.

    Shapes
    ------
    x, dx: (N, T, F)   W_x ``weight_ih_l{k}``: (F_k, 3H)   W_h ``weight_hh_l{k}``: (H, 3H)
    b ``bias_l{k}``: (3H,)   b_hn ``bias_hn_l{k}``: (H,)   h0, dh0, h_n: (num_layers·dirs, N, H)
    y: (N, T, H·dirs) or (N, H·dirs) with ``return_sequences=False``.

    Parameters: 3·(F_k·H + H·H + H) + H per layer and direction. Because of the reset gate,
    the candidate's two biases cannot be merged, so r and z have one bias each and n two.
    From PyTorch (``bi``/``bh`` = ``bias_ih_l{k}``/``bias_hh_l{k}``, blocks r, z, n):
    ``weight_ih = w.weight_ih_l{k}.T``, ``weight_hh = w.weight_hh_l{k}.T``,
    ``bias = [bi_r + bh_r, bi_z + bh_z, bi_n]``, ``bias_hn = bh_n``. From Keras
    (``reset_after=True``; blocks z, r, h; ``bias`` of shape (2, 3H) = [input, recurrent]):
    reorder the blocks to r, z, n; ``bias = input + recurrent`` for r and z, the input bias
    for n, and ``bias_hn`` = the recurrent bias of h.

    See ``RecurrentBase`` for stacking, ``bidirectional``, ``lengths`` and initial states:
    ``forward(x, h0=None, lengths=None)``; after backward ``dh0``.
    """

    _gates = 3

    def _extra_biases(self) -> list[tuple[str, int]]:
        return [("bias_hn", self.hidden_size)]

    def forward(self, x: np.ndarray, h0: np.ndarray | None = None, lengths: Any = None, *,
                training: bool = False) -> np.ndarray:
        """Run every layer and direction over the sequence; see the class docstring."""
        return self._forward(x, {"h0": h0}, lengths)

    def _scale(self, dt: np.dtype) -> np.ndarray:
        """Column factors folded into W_x, b and W_h: −1 for r and z (exact), 1 for n."""
        sc = np.ones(3 * self.hidden_size, dtype=dt)
        sc[:2 * self.hidden_size] = -1.0
        return sc

    def _recur(self, a: np.ndarray, init: list[np.ndarray], plan: _Plan, layer: int,
               d: int) -> tuple[np.ndarray, list[np.ndarray], Any]:
        t, _, n = a.shape
        h = self.hidden_size
        dt = a.dtype
        _, whp, _, bhn = self.cell_parameters(layer, d)
        wh_t = np.ascontiguousarray((whp.data * self._scale(dt)).T)
        bhn = None if bhn is None else bhn.data[:, None]
        alloc = np.zeros if plan.ragged else np.empty
        s = alloc((t + 1, h, n), dtype=dt)
        m = alloc((t, h, n), dtype=dt)
        gates = a                                   # A_t becomes the gates in place
        s[0] = init[0]
        ubuf = np.empty(3 * h * n, dtype=dt)
        tmp = np.empty((h, n), dtype=dt)
        dot, mul = np.dot, np.multiply
        with np.errstate(over="ignore"):  # exp → inf gives σ = 0 exactly: the right limit
            for step, bsz in enumerate(plan.bs):
                u = ubuf[:3 * h * bsz].reshape(3 * h, bsz)
                dot(wh_t, s[step, :, :bsz], out=u)
                g = gates[step, :, :bsz]       # holds A_t; becomes [r z n]
                rz = g[:2 * h]
                rz += u[:2 * h]
                np.exp(rz, out=rz)
                rz += 1.0
                np.divide(1.0, rz, out=rz)     # σ(a) = 1 / (1 + e^{−a})
                mt = m[step, :, :bsz]
                if bhn is None:
                    mt[...] = u[2 * h:]
                else:
                    np.add(u[2 * h:], bhn, out=mt)
                cand = g[2 * h:]
                tb = tmp[:, :bsz]
                mul(g[:h], mt, out=tb)
                cand += tb
                np.tanh(cand, out=cand)
                np.subtract(s[step, :, :bsz], cand, out=tb)
                tb *= g[h:2 * h]
                np.add(tb, cand, out=s[step + 1, :, :bsz])
        return s, [plan.last(s, 0)], (gates, m)

    def _unrecur(self, cache: Any, s: np.ndarray, dhs: np.ndarray | None,
                 dfinal: list[np.ndarray | None], plan: _Plan, layer: int,
                 d: int) -> tuple[np.ndarray, list[np.ndarray], Callable]:
        gates, m = cache
        t, _, n = gates.shape
        h = self.hidden_size
        dt = gates.dtype
        g3 = gates.reshape(t, 3, h, n)              # r, z, n
        alloc = np.zeros if plan.ragged else np.empty
        dr = alloc((t, 3 * h, n), dtype=dt)         # [da_r da_z dm]: the recurrent side
        dr3 = dr.reshape(t, 3, h, n)
        dan = alloc((t, h, n), dtype=dt)
        _, wh, _, bhn = self.cell_parameters(layer, d)
        ch = carry(dfinal[0], h, n, dt)
        tmp = np.empty((h, n), dtype=dt)
        zbuf = np.empty(h * n, dtype=dt)
        k = chunk_steps(n * h * dt.itemsize * 10, t)
        pz, pn, pr = (np.empty((k, h, n), dtype=dt) for _ in range(3))
        dot, mul, sub = np.dot, np.multiply, np.subtract
        for t0 in reversed(range(0, t, k)):
            t1 = min(t0 + k, t)
            kk = t1 - t0
            # δ-free factors of steps t0..t1−1, while they are in cache.
            r, z, cand = g3[t0:t1, 0], g3[t0:t1, 1], g3[t0:t1, 2]
            pzc, pnc, prc = pz[:kk], pn[:kk], pr[:kk]
            sub(s[t0:t1], cand, out=pzc)                         # (h_{t−1} − n)·z(1 − z)
            pzc *= z
            sub(1.0, z, out=pnc)
            pzc *= pnc
            mul(cand, cand, out=prc)                             # (1 − z)(1 − n²)
            sub(1.0, prc, out=prc)
            pnc *= prc
            sub(1.0, r, out=prc)                                 # m·r(1 − r)
            prc *= r
            prc *= m[t0:t1]
            for step in range(t1 - 1, t0 - 1, -1):
                bsz, j = plan.bs[step], step - t0
                dh = ch[:, :bsz]
                if dhs is not None:
                    dh += dhs[:, step, :bsz]
                mul(dh, pz[j, :, :bsz], out=dr3[step, 1, :, :bsz])
                dant = dan[step, :, :bsz]
                mul(dh, pn[j, :, :bsz], out=dant)
                mul(dant, g3[step, 0, :, :bsz], out=dr3[step, 2, :, :bsz])
                mul(dant, pr[j, :, :bsz], out=dr3[step, 0, :, :bsz])
                tb = tmp[:, :bsz]
                mul(dh, g3[step, 1, :, :bsz], out=tb)
                zb = zbuf[:h * bsz].reshape(h, bsz)
                dot(wh.data, dr[step, :, :bsz], out=zb)
                np.add(zb, tb, out=dh)
        if bhn is not None:
            bhn.grad += dr3[:, 2].sum(axis=(0, 2))

        def to_input(drc: np.ndarray, t0: int, t1: int) -> np.ndarray:
            """A chunk of dR (3H, k·N) becomes dA = [da_r da_z da_n]: the input side."""
            drc.reshape(3, h, t1 - t0, n)[2] = dan[t0:t1].transpose(1, 0, 2)
            return drc

        return dr, [ch.T.copy()], to_input
