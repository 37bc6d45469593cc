"""Gated recurrent unit (Cho et al., 2014) in PyTorch's convention (Keras's reset_after=True)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._recurrent_base import RecurrentBase, _Plan


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

    r and z use the ½ + ½·tanh(a/2) form of σ with their columns of W_x, W_h and b halved
    (exact), so one ``tanh`` covers both.

    Backward (BPTT)
    ---------------
    With ``δh_t = ∂L/∂h_t`` (output gradient at t plus ``dh_t`` from step t+1), for
    t = T−1 … 0::

        da_z = δh_t ⊙ (h_{t−1} − n) ⊙ z(1 − z)
        da_n = δh_t ⊙ (1 − z) ⊙ (1 − n²)          (∂L/∂a_n: the input side of n)
        dm   = da_n ⊙ r                            (∂L/∂u_n, and ∂L/∂b_hn summed)
        da_r = da_n ⊙ m ⊙ r(1 − r)
        dh_{t−1} = δh_t ⊙ z + [da_r da_z dm]·W_hᵀ

    The δ-free factors are formed for all steps before the loop. After it:
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

    def _input_weights(self, layer: int, d: int) -> tuple[np.ndarray, np.ndarray | None]:
        wx, _, b, _ = self.cell_parameters(layer, d)
        h2 = 2 * self.hidden_size
        w = wx.data.copy()
        w[:, :h2] *= 0.5
        if b is None:
            return w, None
        bb = b.data.copy()
        bb[:h2] *= 0.5
        return w, bb

    def _recur(self, a: np.ndarray, init: list[np.ndarray], plan: _Plan, layer: int,
               d: int) -> tuple[list[np.ndarray], Any]:
        t, n, _ = a.shape
        h = self.hidden_size
        _, whp, _, bhn = self.cell_parameters(layer, d)
        wh = whp.data.copy()
        wh[:, :2 * h] *= 0.5
        bhn = None if bhn is None else bhn.data
        alloc = np.zeros if plan.ragged else np.empty
        s = alloc((t + 1, n, h), dtype=a.dtype)
        m = alloc((t, n, h), dtype=a.dtype)
        s[0] = init[0]
        u = np.empty((n, 3 * h), dtype=a.dtype)
        tmp = np.empty((n, h), dtype=a.dtype)
        dot, tanh, mul = np.dot, np.tanh, np.multiply
        for step, bsz in enumerate(plan.bs):
            g = a[step, :bsz]              # holds x·W_x + b; becomes [r z n]
            ub = u[:bsz]
            dot(s[step, :bsz], wh, out=ub)
            rz = g[:, :2 * h]
            rz += ub[:, :2 * h]
            tanh(rz, out=rz)
            rz *= 0.5
            rz += 0.5
            mt = m[step, :bsz]
            if bhn is None:
                mt[...] = ub[:, 2 * h:]
            else:
                np.add(ub[:, 2 * h:], bhn, out=mt)
            cand = g[:, 2 * h:]
            mul(g[:, :h], mt, out=tmp[:bsz])
            cand += tmp[:bsz]
            tanh(cand, out=cand)
            ht = s[step + 1, :bsz]
            np.subtract(s[step, :bsz], cand, out=ht)
            ht *= g[:, h:2 * h]
            ht += cand
        return [s], (a, m)

    def _unrecur(self, cache: Any, states: list[np.ndarray], dhs: np.ndarray | None,
                 dfinal: list[np.ndarray | None], plan: _Plan, layer: int,
                 d: int) -> tuple[np.ndarray, list[np.ndarray]]:
        gates, m = cache
        (s,) = states
        t, n, _ = gates.shape
        h = self.hidden_size
        dt = gates.dtype
        r, z, cand = gates[..., :h], gates[..., h:2 * h], gates[..., 2 * h:]
        pz = s[:-1] - cand                          # δ-free factors, all steps at once
        pz *= z
        pz *= 1.0 - z
        pn = cand * cand
        np.subtract(1.0, pn, out=pn)
        pn *= 1.0 - z
        pr = m * r
        pr *= 1.0 - r
        alloc = np.zeros if plan.ragged else np.empty
        dr = alloc((t, n, 3 * h), dtype=dt)         # [da_r da_z dm]: the recurrent side
        dan = alloc((t, n, h), dtype=dt)
        _, wh, _, bhn = self.cell_parameters(layer, d)
        whT = wh.data.T
        ch = np.zeros((n, h), dtype=dt) if dfinal[0] is None else np.array(dfinal[0], dtype=dt)
        tmp = np.empty((n, h), dtype=dt)
        dot, mul = np.dot, np.multiply
        for step in reversed(range(t)):
            bsz = plan.bs[step]
            dh = ch[:bsz]
            if dhs is not None:
                dh += dhs[step, :bsz]
            drt, dant = dr[step, :bsz], dan[step, :bsz]
            mul(dh, pz[step, :bsz], out=drt[:, h:2 * h])
            mul(dh, pn[step, :bsz], out=dant)
            mul(dant, r[step, :bsz], out=drt[:, 2 * h:])
            mul(dant, pr[step, :bsz], out=drt[:, :h])
            mul(dh, z[step, :bsz], out=tmp[:bsz])
            dot(drt, whT, out=ch[:bsz])
            ch[:bsz] += tmp[:bsz]
        wh.grad += s[:-1].reshape(t * n, h).T @ dr.reshape(t * n, 3 * h)
        if bhn is not None:
            bhn.grad += dr[..., 2 * h:].reshape(t * n, h).sum(axis=0)
        dr[..., 2 * h:] = dan                       # now dA = [da_r da_z da_n]: the input side
        return dr, [ch]
