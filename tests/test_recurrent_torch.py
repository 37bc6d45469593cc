"""RNN, LSTM, GRU and Embedding against PyTorch (forward, dx, dh0/dc0, every parameter
gradient; float64 ≤ 1e-10, float32 ≤ 1e-5 relative), variable lengths through
``pack_padded_sequence``; GRU against Keras 3's ``GRU(reset_after=True)``."""

from __future__ import annotations

import os

import numpy as np
import pytest

from chainrule import GRU, LSTM, RNN, Embedding
from harness import rel_err
from recurrent_helpers import randomised, to_torch, torch_grads

torch = pytest.importorskip("torch")

CELLS = {
    "rnn_tanh": (lambda *a, **k: RNN(*a, **k), lambda *a, **k: torch.nn.RNN(*a, **k)),
    "rnn_relu": (lambda *a, **k: RNN(*a, nonlinearity="relu", **k),
                 lambda *a, **k: torch.nn.RNN(*a, nonlinearity="relu", **k)),
    "lstm": (lambda *a, **k: LSTM(*a, **k), lambda *a, **k: torch.nn.LSTM(*a, **k)),
    "gru": (lambda *a, **k: GRU(*a, **k), lambda *a, **k: torch.nn.GRU(*a, **k)),
}
# (N, T, F, H, num_layers, bidirectional, initial state, lengths)
CONFIGS = {
    "plain": (4, 7, 3, 5, 1, False, False, None),
    "T1 batch1": (1, 1, 4, 3, 1, False, True, None),
    "2 layers bidirectional h0": (3, 6, 4, 5, 2, True, True, None),
    "packed": (5, 8, 3, 4, 1, False, False, [8, 3, 5, 1, 8]),
    "packed 2 layers bidirectional h0": (4, 6, 3, 4, 2, True, True, [2, 6, 5, 1]),
}


def _run(cell, config, dtype, seq):
    n, t, f, h, layers, bi, state, lengths = CONFIGS[config]
    ours, theirs = CELLS[cell]
    rng = np.random.default_rng(11)
    layer = randomised(ours(f, h, layers, bidirectional=bi, return_sequences=seq,
                           dtype=dtype), 3, scale=0.4)
    tmod = theirs(f, h, layers, bidirectional=bi, batch_first=True).double()
    to_torch(layer, tmod)
    tmod = tmod.to(torch.float64 if dtype == np.float64 else torch.float32)
    tdt = tmod.weight_ih_l0.dtype
    cells = layers * (2 if bi else 1)
    x = rng.standard_normal((n, t, f)).astype(dtype)
    h0 = rng.standard_normal((cells, n, h)).astype(dtype) if state else None
    c0 = rng.standard_normal((cells, n, h)).astype(dtype) if state and cell == "lstm" else None
    lens = None if lengths is None else np.array(lengths)

    kw = {"h0": h0, "lengths": lens} | ({"c0": c0} if cell == "lstm" else {})
    y = layer.forward(x, **kw)
    dy = rng.standard_normal(y.shape).astype(dtype)
    layer.zero_grad()
    dx = layer.backward(dy)

    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    inp = xt if lens is None else torch.nn.utils.rnn.pack_padded_sequence(
        xt, torch.from_numpy(lens), batch_first=True, enforce_sorted=False)
    zeros = np.zeros((cells, n, h), dtype=dtype)
    h0t = torch.from_numpy(zeros if h0 is None else h0.copy()).to(tdt).requires_grad_(True)
    if cell == "lstm":
        c0t = torch.from_numpy(zeros if c0 is None else c0.copy()).to(tdt).requires_grad_(True)
        out, (hn, cn) = tmod(inp, (h0t, c0t))
    else:
        out, hn = tmod(inp, h0t)
    if lens is not None:
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=t)
    dirs = 2 if bi else 1
    yt = out if seq else torch.cat([hn[-dirs + d] for d in range(dirs)], dim=1)
    yt.backward(torch.from_numpy(dy))

    errors = {"forward": rel_err(y, yt.detach().numpy()),
              "input": rel_err(dx, xt.grad.numpy()),
              "h_n": rel_err(layer.h_n, hn.detach().numpy()),
              "dh0": rel_err(layer.dh0, h0t.grad.numpy())}
    if cell == "lstm":
        errors["c_n"] = rel_err(layer.c_n, cn.detach().numpy())
        errors["dc0"] = rel_err(layer.dc0, c0t.grad.numpy())
    for name, (a, b) in torch_grads(layer, tmod).items():
        errors[name] = rel_err(a, b)
    assert y.dtype == dx.dtype == layer.dh0.dtype == dtype
    return errors


@pytest.mark.parametrize("seq", [True, False], ids=["sequences", "last"])
@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("cell", list(CELLS))
def test_float64_matches_torch(cell, config, seq):
    errors = _run(cell, config, np.float64, seq)
    bad = {k: v for k, v in errors.items() if not v <= 1e-10}
    assert not bad, bad
    assert len(errors) >= 7


@pytest.mark.parametrize("config", ["plain", "packed 2 layers bidirectional h0"])
@pytest.mark.parametrize("cell", list(CELLS))
def test_float32_matches_torch(cell, config):
    errors = _run(cell, config, np.float32, True)
    bad = {k: v for k, v in errors.items() if not v <= 1e-5}
    assert not bad, bad


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 1e-6)])
def test_embedding_matches_torch(dtype, tol):
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 7, (5, 9))
    ids[0, :3] = 2                                   # repeated ids, and padding below
    layer = Embedding(7, 4, padding_idx=2, rng=1, dtype=dtype)
    layer.weight.data[2] = rng.standard_normal(4)    # a non-zero padding row, kept as it is
    temb = torch.nn.Embedding(7, 4, padding_idx=2).to(
        torch.float64 if dtype == np.float64 else torch.float32)
    with torch.no_grad():
        temb.weight.copy_(torch.from_numpy(layer.weight.data.copy()))
    y = layer.forward(ids)
    yt = temb(torch.from_numpy(ids))
    dy = rng.standard_normal(y.shape).astype(dtype)
    assert layer.backward(dy) is None
    yt.backward(torch.from_numpy(dy))
    assert rel_err(y, yt.detach().numpy()) <= tol
    assert rel_err(layer.weight.grad, temb.weight.grad.numpy()) <= tol
    assert np.all(layer.weight.grad[2] == 0)


def test_gru_matches_keras_reset_after(monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", os.environ.get("KERAS_BACKEND", "torch"))
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip(f"keras runs on {keras.backend.backend()}; this test wants the torch backend")
    rng = np.random.default_rng(2)
    n, t, f, h = 3, 6, 4, 5
    x = rng.standard_normal((n, t, f)).astype(np.float32)
    kl = keras.layers.GRU(h, reset_after=True, return_sequences=True)
    kl.build((n, t, f))
    kernel = rng.uniform(-0.5, 0.5, (f, 3 * h)).astype(np.float32)     # blocks z, r, h
    recurrent = rng.uniform(-0.5, 0.5, (h, 3 * h)).astype(np.float32)
    bias = rng.uniform(-0.5, 0.5, (2, 3 * h)).astype(np.float32)       # [input, recurrent]
    kl.set_weights([kernel, recurrent, bias])

    def zrh_to_rzn(a):
        z, r, c = np.split(a, 3, axis=-1)
        return np.concatenate([r, z, c], axis=-1)

    layer = GRU(f, h, return_sequences=True)
    bi, bh = zrh_to_rzn(bias[0]), zrh_to_rzn(bias[1])
    layer.load_state_dict({"weight_ih_l0": zrh_to_rzn(kernel),
                           "weight_hh_l0": zrh_to_rzn(recurrent),
                           "bias_l0": np.concatenate([bi[:2 * h] + bh[:2 * h], bi[2 * h:]]),
                           "bias_hn_l0": bh[2 * h:]})
    y = layer.forward(x)
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    yk = kl(xt)
    assert rel_err(y, yk.detach().cpu().numpy()) <= 1e-5
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx = layer.backward(dy)
    yk.backward(torch.from_numpy(dy))
    assert rel_err(dx, xt.grad.cpu().numpy()) <= 1e-5
    kgrads = {v.path.split("/")[-1]: v.value.grad.cpu().numpy() for v in kl.trainable_weights}
    assert rel_err(layer.weight_ih_l0.grad, zrh_to_rzn(kgrads["kernel"])) <= 1e-5
    assert rel_err(layer.weight_hh_l0.grad, zrh_to_rzn(kgrads["recurrent_kernel"])) <= 1e-5
    kb = zrh_to_rzn(kgrads["bias"])
    assert rel_err(layer.bias_l0.grad, kb[0]) <= 1e-5
    assert rel_err(layer.bias_hn_l0.grad, kb[1][2 * h:]) <= 1e-5
