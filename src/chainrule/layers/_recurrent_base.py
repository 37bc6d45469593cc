"""What RNN, LSTM and GRU share: parameters per layer and direction, lengths, stacking, BPTT.

Each cell (``rnn.py``, ``lstm.py``, ``gru.py``) supplies three pieces: the weights its input
projection uses (``_input_weights``), the forward time loop (``_recur``) and the reverse
time loop (``_unrecur``). Everything else — the input projection per layer and direction
before the loops, the weight and input gradients after the reverse loop, bidirectional and
stacked layers, initial states and variable lengths — lives here, once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import init as initializers
from ..backend import RNGLike, as_dtype, as_rng
from ..core import Module, Parameter
from ._sequence import _Plan, project, step_gradients

_INITS = ("pytorch", "keras")
class RecurrentBase(Module):
    """Shared machinery of the recurrent layers; see ``RNN``, ``LSTM`` and ``GRU``.

    Layout. Sequences are batch-first ``x: (N, T, F)``. Internally the layer works
    feature-major, ``(features, T, N)``, with the batch sorted by decreasing length: each
    step's gate block ``(G·H, B_t)`` then has every gate as a contiguous ``(H, B_t)`` block
    (elementwise work on whole blocks, not on column slices), and the whole sequence is a
    plain matrix ``(features, T·N)`` for the products outside the loop. For layer l and
    direction d (0 forward, 1 reverse) the parameters are ``weight_ih_l{l}`` (F_l, G·H),
    ``weight_hh_l{l}`` (H, G·H) and ``bias_l{l}`` (G·H), with ``_reverse`` appended for
    d = 1; G is the number of gates (RNN 1, GRU 3, LSTM 4) and F_0 = F, F_l = H·dirs above.

    Forward, per layer and direction:

    1. ``A_tᵀ = [W_x; b]ᵀ·[x_t; 1]`` for every step before the loop (``project``: one
       batched matmul, (G·H, F_l+1) × (F_l+1, N) per step, written straight into the
       time-major (T, G·H, N) the loop reads): the input carries a row of ones, so the same
       product adds the bias; the reverse direction first reverses each sequence within its
       length. The states and dA are time-major too, so each step's blocks are contiguous
       (per-step products on strided rows measured ~2× slower);
    2. the cell's time loop, which adds ``W_hᵀ·h_{t−1}`` and applies the gate equations;
    3. the outputs of both directions are stacked and feed the next layer.

    Backward (BPTT), per layer from the top, per direction: the cell's reverse time loop
    turns ∂L/∂h_t (from the output and from step t+1) into ``dA_t`` = ∂L/∂(pre-activation
    input part) and ``dh_{t−1} = W_h·dR_t``; then, after the loop (``step_gradients``: a
    cache-sized chunk of steps at a time, each chunk's products added to the sums),

    * ``[∂L/∂W_x; ∂L/∂b] = Σ_t [x_t; 1]·dA_tᵀ`` (the row of ones gives ``Σ_{t,n} dA``),
    * ``∂L/∂W_h = Σ_t h_{t−1}·dR_tᵀ`` (dR = dA except for the GRU's candidate gate),
    * ``∂L/∂x_t = W_x·dA_t`` (the reverse direction's is flipped back),

    and ∂L/∂X is the output gradient of the layer below (summed over directions).

    Variable lengths (``lengths``, int (N,), each in [1, T]) follow PyTorch's packed
    sequences: sequence n runs for steps t < L_n only. Its outputs at t ≥ L_n are 0, its
    final state is the state after step L_n − 1, the reverse direction starts at step
    L_n − 1, and its padded inputs get exactly 0 gradient (those steps are never computed,
    so nothing flows into them).

    Initial states: ``h0`` (and ``c0`` for LSTM) of shape (num_layers·dirs, N, H), in
    PyTorch's order (layer-major, forward before reverse), or (N, H) when there is a
    single layer and direction; zeros when omitted. After ``backward`` the gradients with
    respect to them are in ``self.dh0`` (and ``self.dc0``), in the shape they were given.
    After ``forward``, ``self.h_n`` (and ``self.c_n``) hold every layer's final states
    (num_layers·dirs, N, H) like PyTorch's ``h_n``; only the returned output carries
    gradient.

    Output: ``return_sequences=True`` gives every h_t of the top layer, (N, T, H·dirs);
    ``False`` gives the top layer's final states (N, H·dirs), forward then reverse (the
    reverse direction's final state is its state at t = 0).

    ``input_grad=False`` makes backward skip ∂L/∂x (the last product) and return None, as for
    ``Linear``; ``fit`` sets it when the layer reads the data. ``init="pytorch"`` (default)
    draws every weight and bias from U(−1/√H, 1/√H); ``init="keras"`` uses Glorot-uniform
    input weights, orthogonal recurrent weights and zero biases. Parameters, activations
    and gradients are float32 unless ``dtype`` says otherwise; input of another dtype is
    cast. Reduction: none (gradients sum over batch and time).
    """

    _gates = 1
    _states = ("h",)

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, *,
                 bidirectional: bool = False, return_sequences: bool = True, bias: bool = True,
                 init: str = "pytorch", input_grad: bool = True, rng: RNGLike = None,
                 dtype: Any = None) -> None:
        super().__init__()
        sizes = (input_size, hidden_size, num_layers)
        if any(int(s) < 1 for s in sizes):
            raise ValueError(f"{type(self).__name__} needs positive input_size, hidden_size "
                             f"and num_layers, got {sizes}")
        if init not in _INITS:
            raise ValueError(f"init must be one of {_INITS}, got {init!r}")
        self.input_size, self.hidden_size, self.num_layers = (int(s) for s in sizes)
        self.bidirectional = bool(bidirectional)
        self.num_directions = 2 if self.bidirectional else 1
        self.return_sequences = bool(return_sequences)
        self.use_bias = bool(bias)
        self.init = init
        self.input_grad = bool(input_grad)
        self.dtype = as_dtype(dtype)
        gh, h = self._gates * self.hidden_size, self.hidden_size
        for layer, d in self._cells():
            sfx = self._suffix(layer, d)
            fin = self.input_size if layer == 0 else h * self.num_directions
            setattr(self, f"weight_ih{sfx}", Parameter(np.empty((fin, gh), dtype=self.dtype)))
            setattr(self, f"weight_hh{sfx}", Parameter(np.empty((h, gh), dtype=self.dtype)))
            if self.use_bias:
                setattr(self, f"bias{sfx}", Parameter(np.empty(gh, dtype=self.dtype)))
                for name, size in self._extra_biases():
                    setattr(self, f"{name}{sfx}", Parameter(np.empty(size, dtype=self.dtype)))
        self._cache: Any = None
        self.dh0: np.ndarray | None = None
        self.h_n: np.ndarray | None = None
        self.reset_parameters(rng)

    # ------------------------------------------------------------------ parameters
    def _cells(self) -> list[tuple[int, int]]:
        return [(layer, d) for layer in range(self.num_layers)
                for d in range(self.num_directions)]

    @staticmethod
    def _suffix(layer: int, d: int) -> str:
        return f"_l{layer}" + ("_reverse" if d else "")

    def _extra_biases(self) -> list[tuple[str, int]]:
        """(name, size) of biases beyond ``bias_l*`` (the GRU's ``bias_hn``)."""
        return []

    def cell_parameters(self, layer: int, d: int = 0) -> tuple[Parameter, ...]:
        """``(weight_ih, weight_hh, bias or None, extra biases...)`` of one layer/direction."""
        sfx = self._suffix(layer, d)
        extra = tuple(getattr(self, f"{n}{sfx}", None) for n, _ in self._extra_biases())
        return (getattr(self, f"weight_ih{sfx}"), getattr(self, f"weight_hh{sfx}"),
                getattr(self, f"bias{sfx}", None), *extra)

    def reset_parameters(self, rng: RNGLike = None) -> None:
        """Redraw every weight and bias (see ``init`` in the class docstring)."""
        rng = as_rng(rng)
        k = 1.0 / float(np.sqrt(self.hidden_size))
        for layer, d in self._cells():
            params = [p for p in self.cell_parameters(layer, d) if p is not None]
            if self.init == "pytorch":
                for p in params:
                    p.data[...] = initializers.uniform(p.shape, rng, p.dtype, -k, k)
            else:
                wx, wh, *biases = params
                wx.data[...] = initializers.glorot_uniform(wx.shape, rng, wx.dtype)
                wh.data[...] = initializers.orthogonal(wh.shape, rng, wh.dtype)
                for p in biases:
                    p.data[...] = 0.0
        self._after_reset()

    def _after_reset(self) -> None:
        """Hook for cell-specific initial values (the LSTM's forget-gate bias)."""

    # ------------------------------------------------------------------ cell interface
    def _scale(self, dt: np.dtype) -> np.ndarray | None:
        """Per-column factors a cell folds into W_x, b and W_h (None: the weights as stored)."""
        return None

    def _input_weights(self, layer: int, d: int) -> tuple[np.ndarray, np.ndarray | None]:
        """(W_x, b) as the input projection uses them, with the cell's ``_scale`` folded in."""
        wx, _, b, *_ = self.cell_parameters(layer, d)
        sc = self._scale(wx.dtype)
        if sc is None:
            return wx.data, (None if b is None else b.data)
        return wx.data * sc, (None if b is None else b.data * sc)

    def _recur(self, a: np.ndarray, init: list[np.ndarray], plan: _Plan, layer: int,
               d: int) -> tuple[np.ndarray, list[np.ndarray], Any]:
        """Forward time loop over Aᵀ, time-major (T, G·H, N), from the initial states (each
        (H, N)); return (S, final states (N, H) each, cache) with S (T+1, H, N), S[0] = h0,
        padding 0."""
        raise NotImplementedError

    def _unrecur(self, cache: Any, s: np.ndarray, dhs: np.ndarray | None,
                 dfinal: list[np.ndarray | None], plan: _Plan, layer: int,
                 d: int) -> tuple[np.ndarray, list[np.ndarray], Any]:
        """Reverse time loop over ∂L/∂h_t (dhs: (H, T, N) or None) and the final states'
        gradients (N, H); return dR time-major (T, G·H, N) (what multiplies h_{t−1} in
        ∂L/∂W_h), the gradients (N, H) of the initial states, and None when dA = dR, else
        ``to_input(drc, t0, t1)`` turning a chunk of dR into dA (see ``step_gradients``)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ protocol
    def _initial(self, given: np.ndarray | None, name: str, n: int, plan: _Plan,
                 dt: np.dtype) -> tuple[np.ndarray, bool]:
        cells, h = self.num_layers * self.num_directions, self.hidden_size
        if given is None:
            return np.zeros((cells, n, h), dtype=dt), False
        s = np.asarray(given)
        flat = s.ndim == 2 and cells == 1
        if flat:
            s = s[None]
        if s.shape != (cells, n, h):
            raise ValueError(f"{type(self).__name__}: {name} must have shape ({cells}, {n}, {h})"
                             f"{f' or ({n}, {h})' if cells == 1 else ''}, got {np.shape(given)}")
        return plan.sort(s.astype(dt, copy=False), axis=1), flat

    def _forward(self, x: np.ndarray, given: dict[str, np.ndarray | None], lengths: Any
                 ) -> np.ndarray:
        dt = self.cell_parameters(0)[0].dtype
        x = np.asarray(x)
        if x.ndim != 3 or x.shape[2] != self.input_size or x.shape[1] < 1:
            raise ValueError(f"{type(self).__name__} expects input of shape (N, T ≥ 1, "
                             f"{self.input_size}), got {tuple(x.shape)}")
        n, t, f = x.shape
        plan = _Plan(lengths, n, t)
        ones = int(self.use_bias)
        inp = np.empty((f + ones, t, n), dtype=dt)      # [Xᵀ; 1], feature-major
        inp[:f] = plan.sort(x, axis=0).transpose(2, 1, 0)
        if ones:
            inp[f] = 1.0
        init, flat = {}, {}
        for name in self._states:
            init[name], flat[name] = self._initial(given.get(f"{name}0"), f"{name}0", n, plan, dt)
        h, dirs = self.hidden_size, self.num_directions
        layers, finals = [], {name: [] for name in self._states}
        for layer in range(self.num_layers):
            outs, caches = [], []
            for d in range(dirs):
                k = layer * dirs + d
                xd = inp if d == 0 else plan.flip(inp)
                wx, b = self._input_weights(layer, d)
                w_t = np.empty((wx.shape[1], wx.shape[0] + ones), dtype=dt)
                w_t[:, :wx.shape[0]] = wx.T
                if ones:
                    w_t[:, -1] = b
                a = project(w_t, xd)   # time-major: each step's (G·H, N) block contiguous
                s, last, cache = self._recur(a, [init[st][k].T for st in self._states], plan,
                                             layer, d)
                for name, fin in zip(self._states, last):
                    finals[name].append(fin)
                seq = s[1:].transpose(1, 0, 2)             # (H, T, N) view
                outs.append(seq if d == 0 else plan.flip(seq))
                caches.append((xd, s, cache))
            layers.append(caches)
            top = layer == self.num_layers - 1
            if not top:
                inp = np.empty((h * dirs + ones, t, n), dtype=dt)
                for d, out in enumerate(outs):
                    inp[d * h:(d + 1) * h] = out
                if ones:
                    inp[-1] = 1.0
        for name in self._states:
            setattr(self, f"{name}_n", plan.unsort(np.stack(finals[name]), axis=1))
        self._cache = (plan, layers, flat)
        if self.return_sequences:
            y = np.empty((n, t, h * dirs), dtype=dt)
            for d, out in enumerate(outs):
                y[..., d * h:(d + 1) * h] = out.transpose(2, 1, 0)
            return plan.unsort(y, axis=0)
        last = finals["h"][-dirs:]
        return plan.unsort(last[0] if dirs == 1 else np.concatenate(last, axis=1))

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        """BPTT through every layer and direction (see the class docstring); return ∂L/∂x."""
        plan, layers, flat = self._cached(self._cache)
        n, t, h, dirs = plan.n, plan.t, self.hidden_size, self.num_directions
        dt = self.cell_parameters(0)[0].dtype
        dy = np.asarray(dy, dtype=dt)
        want = (n, t, h * dirs) if self.return_sequences else (n, h * dirs)
        if dy.shape != want:
            raise ValueError(f"{type(self).__name__}.backward expects dy of shape {want}, "
                             f"got {dy.shape}")
        d_top = None
        if self.return_sequences:
            d_seq = np.ascontiguousarray(plan.sort(dy, axis=0).transpose(2, 1, 0))
        else:
            d_seq, d_top = None, plan.sort(dy, axis=0)
        d_init = {s: np.empty((self.num_layers * dirs, n, h), dtype=dt) for s in self._states}
        for layer in reversed(range(self.num_layers)):
            d_inp = None
            need_dx = layer > 0 or self.input_grad
            for d in range(dirs):
                xd, s, cache = layers[layer][d]
                dhs = None
                if d_seq is not None:
                    dhs = d_seq[d * h:(d + 1) * h]
                    dhs = plan.flip(dhs) if d else dhs
                dfinal: list[np.ndarray | None] = [None] * len(self._states)
                if d_top is not None and layer == self.num_layers - 1:
                    dfinal[0] = d_top[:, d * h:(d + 1) * h]
                dr, dstart, to_input = self._unrecur(cache, s, dhs, dfinal, plan, layer, d)
                wx, wh, b, *_ = self.cell_parameters(layer, d)
                gw, gwh, dxd = step_gradients(xd, s, dr, to_input, wx.data, need_dx)
                wh.grad += gwh
                wx.grad += gw[:wx.shape[0]]            # gw = [dW_x; db]
                if b is not None:
                    b.grad += gw[-1]
                for name, g in zip(self._states, dstart):
                    d_init[name][layer * dirs + d] = g
                if need_dx:
                    dxd = plan.flip(dxd) if d else dxd
                    if d_inp is None:
                        d_inp = dxd
                    else:
                        d_inp += dxd
            d_seq = d_inp
        for name in self._states:
            g = plan.unsort(d_init[name], axis=1)
            setattr(self, f"d{name}0", g[0] if flat[name] else g)
        if not self.input_grad:
            return None
        return np.ascontiguousarray(plan.unsort(d_seq.transpose(2, 1, 0), axis=0))

    # ------------------------------------------------------------------ shapes and display
    def _check_features(self, input_shape: tuple[int, ...]) -> tuple[int, int]:
        if len(input_shape) != 2 or int(input_shape[1]) != self.input_size:
            raise ValueError(f"{type(self).__name__} expects (T, {self.input_size}) per sample, "
                             f"got {tuple(input_shape)}")
        return int(input_shape[0]), int(input_shape[1])

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        t, _ = self._check_features(input_shape)
        out = self.hidden_size * self.num_directions
        return (t, out) if self.return_sequences else (out,)

    def macs(self, input_shape: tuple[int, ...]) -> int:
        """Multiply-accumulates of the whole sequence: T·(F_l + H)·G·H per layer and direction
        (the input projection and the recurrent product; gate arithmetic not counted)."""
        t, _ = self._check_features(input_shape)
        return t * sum((wx.shape[0] + self.hidden_size) * wx.shape[1]
                       for wx, *_ in (self.cell_parameters(lay, d) for lay, d in self._cells()))

    def component_sizes(self, input_shape: tuple[int, ...]) -> list[str]:
        """Lines for ``summary()``: weights and biases per layer, state and output sizes."""
        self._check_features(input_shape)
        rows = []
        times = " (×2: forward, reverse)" if self.bidirectional else ""
        for layer in range(self.num_layers):
            wx, wh, b, *extra = self.cell_parameters(layer)
            parts = [f"W_x {wx.shape[0]}×{wx.shape[1]}", f"W_h {wh.shape[0]}×{wh.shape[1]}"]
            if b is not None:
                parts.append(f"b {b.shape[0]}")
            parts += [f"{n} {p.shape[0]}" for (n, _), p in zip(self._extra_biases(), extra)
                      if p is not None]
            rows.append(f"layer {layer}: " + ", ".join(parts) + times)
        states = ", ".join(f"{s} ({self.hidden_size},)" for s in self._states)
        rows.append(f"state per layer and direction: {states}; output "
                    f"{self.output_shape(input_shape)}")
        return rows

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
                f"bidirectional={self.bidirectional}, "
                f"return_sequences={self.return_sequences}")
