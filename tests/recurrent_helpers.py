"""Shared helpers of the recurrent-layer tests: a wrapper that makes the initial states
trainable (so the harness's gradient check covers dh0 and dc0) and fixes the lengths, and
a factory of layers with every parameter randomised."""

from __future__ import annotations

import numpy as np

from chainrule.core import Module, Parameter


class WithState(Module):
    """``layer.forward(x, h0=self.h0, [c0=self.c0,] lengths=...)`` with h0/c0 as Parameters:
    backward adds the layer's ``dh0``/``dc0`` into their gradients and returns its dx."""

    def __init__(self, layer: Module, h0: np.ndarray | None = None,
                 c0: np.ndarray | None = None, lengths: np.ndarray | None = None) -> None:
        super().__init__()
        self.layer = layer
        self.lengths = lengths
        dt = layer.dtype
        self.h0 = None if h0 is None else Parameter(np.array(h0, dtype=dt))
        self.c0 = None if c0 is None else Parameter(np.array(c0, dtype=dt))

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        kw = {"lengths": self.lengths}
        if self.h0 is not None:
            kw["h0"] = self.h0.data
        if self.c0 is not None:
            kw["c0"] = self.c0.data
        return self.layer.forward(x, training=training, **kw)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        dx = self.layer.backward(dy)
        if self.h0 is not None:
            self.h0.grad += self.layer.dh0
        if self.c0 is not None:
            self.c0.grad += self.layer.dc0
        return dx

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return self.layer.output_shape(input_shape)


def randomised(layer: Module, seed: int = 0, scale: float = 0.5) -> Module:
    """Every parameter redrawn from N(0, scale²) (non-zero biases, every gate term matters)."""
    rng = np.random.default_rng(seed)
    for p in layer.parameters():
        p.data[...] = scale * rng.standard_normal(p.shape)
    return layer


def to_torch(layer, tmod, seed: int = 1) -> None:
    """Copy a chainrule RNN/LSTM/GRU into the matching ``torch.nn`` module: weights transposed;
    PyTorch's two biases drawn so that they add up to chainrule's (for the GRU's candidate
    block: ``bias_ih = bias[2H:]``, ``bias_hh = bias_hn``), so both biases matter."""
    import torch

    rng = np.random.default_rng(seed)
    h = layer.hidden_size
    gru = type(layer).__name__ == "GRU"
    with torch.no_grad():
        for lay, d in layer._cells():
            sfx = layer._suffix(lay, d)
            wx, wh, b, *extra = layer.cell_parameters(lay, d)
            getattr(tmod, f"weight_ih{sfx}").copy_(torch.from_numpy(wx.data.T.copy()))
            getattr(tmod, f"weight_hh{sfx}").copy_(torch.from_numpy(wh.data.T.copy()))
            bh = rng.standard_normal(b.shape).astype(b.dtype)
            bi = b.data - bh
            if gru:
                bi[2 * h:] = b.data[2 * h:]
                bh[2 * h:] = extra[0].data
            getattr(tmod, f"bias_ih{sfx}").copy_(torch.from_numpy(bi))
            getattr(tmod, f"bias_hh{sfx}").copy_(torch.from_numpy(bh))


def torch_grads(layer, tmod) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Pairs (chainrule gradient, PyTorch's gradient in chainrule's layout) per parameter."""
    h = layer.hidden_size
    gru = type(layer).__name__ == "GRU"
    out = {}
    for lay, d in layer._cells():
        sfx = layer._suffix(lay, d)
        wx, wh, b, *extra = layer.cell_parameters(lay, d)
        t = {k: getattr(tmod, f"{k}{sfx}").grad.numpy()
             for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
        out[f"weight_ih{sfx}"] = (wx.grad, t["weight_ih"].T)
        out[f"weight_hh{sfx}"] = (wh.grad, t["weight_hh"].T)
        out[f"bias{sfx}"] = (b.grad, t["bias_ih"])
        if gru:
            out[f"bias_hn{sfx}"] = (extra[0].grad, t["bias_hh"][2 * h:])
            # r and z: both of PyTorch's biases get the same gradient as chainrule's one.
            out[f"bias_hh_rz{sfx}"] = (b.grad[:2 * h], t["bias_hh"][:2 * h])
        else:
            out[f"bias_hh{sfx}"] = (b.grad, t["bias_hh"])
    return out
