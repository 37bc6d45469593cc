"""Sentence CNN and RNN: the sheet's sizes, gradients (float64 and PyTorch), padding, lengths."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.gradcheck import gradcheck
from chainrule.models.sentence import SentenceCNN, SentenceRNN
from chainrule.summary import summary

V, D = 30, 6


def _ids(rng, n=4, t=9, lengths=(9, 5, 3, 1)):
    ids = np.zeros((n, t), dtype=np.int64)
    for i, length in enumerate(lengths):
        ids[i, :length] = rng.integers(1, V, size=length)
    return ids


def _randomise(model, rng):
    for p in model.parameters():
        p.data[...] = rng.normal(0, 0.5, size=p.shape).astype(p.dtype)
    model.embedding.weight.data[0] = 0
    return model


def _checkable(model):
    """The <pad> row is excluded from learning by design (padding_idx), yet moving it moves the
    output (windows reaching past a sentence's end read it): for the central-difference check
    it is an ordinary row, so the check sees the true derivative of every entry. It gets a
    random value too: a zero row makes all-pad windows tie in the max (a kink)."""
    model.embedding.padding_idx = None
    model.embedding.weight.data[0] = np.random.default_rng(9).normal(size=D)
    return model


def test_sheet_cnn_sizes_equal_the_summary():
    # The sheet: input 10×300, kernel 3×300 (5 filters), conv out 10×1×5, pooled 5, FC 3×5+3.
    d = 50  # GloVe 50-d in place of the sheet's 300
    m = SentenceCNN(100, d, 3, sizes=(3,), filters=5, padding=1, mask=False, rng=0)
    rows = {r.name: r for r in summary(m, (10,)).rows}
    assert rows["embedding"].output_shape == (10, d)
    assert m.conv0.weight.shape == (5, d, 3)                      # 5 kernels of 3×d
    assert rows["conv0"].output_shape == (10, 5)                  # 10×1×5
    assert rows["pool0"].output_shape == (5,)
    assert rows["fc"].output_shape == (3,) and rows["fc"].params == 3 * 5 + 3


def test_sheet_rnn_sizes():
    m = SentenceRNN(100, 50, 4, cell="rnn", hidden=50, bias=False, rng=0)
    u, w, b = m.rnn.cell_parameters(0)
    assert u.shape == (50, 50) and w.shape == (50, 50) and b is None
    assert len(m.rnn.parameters()) == 2
    assert summary(m, (10,)).rows[-1].params == 50 * 4 + 4


@pytest.mark.parametrize("mask", [True, False])
def test_cnn_gradcheck(mask):
    rng = np.random.default_rng(0)
    m = _randomise(SentenceCNN(V, D, 3, sizes=(1, 2, 3), filters=4, mask=mask,
                               freeze=False, rng=1), rng)
    rep = gradcheck(_checkable(m), _ids(rng))
    assert rep.ok, str(rep)
    assert {r.name for r in rep.results} >= {"embedding.weight", "conv0.weight", "fc.bias"}


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_rnn_gradcheck(cell):
    rng = np.random.default_rng(0)
    m = _randomise(SentenceRNN(V, D, 4, cell=cell, hidden=5, rng=1), rng)
    rep = gradcheck(_checkable(m), _ids(rng))
    assert rep.ok, str(rep)


def test_frozen_embedding_gets_no_update():
    rng = np.random.default_rng(0)
    vec = rng.normal(size=(V, D)).astype(np.float32)
    vec[0] = 0
    m = SentenceCNN(V, D, 3, vectors=vec, freeze=True, filters=3, rng=0)
    m.backward(np.ones_like(m.forward(_ids(rng))))
    assert not m.embedding.weight.requires_grad
    assert not np.any(m.embedding.weight.grad)
    assert np.any(m.conv0.weight.grad)


def test_appending_padding_does_not_change_a_prediction():
    rng = np.random.default_rng(2)
    ids = _ids(rng)
    longer = np.concatenate([ids, np.zeros((4, 7), np.int64)], axis=1)
    cnn = _randomise(SentenceCNN(V, D, 3, sizes=(2, 3, 5), filters=4, rng=0), rng)
    np.testing.assert_allclose(cnn.forward(longer), cnn.forward(ids), rtol=1e-5, atol=1e-6)
    rnn = _randomise(SentenceRNN(V, D, 4, cell="gru", hidden=5, rng=0), rng)
    np.testing.assert_allclose(rnn.forward(longer), rnn.forward(ids), rtol=1e-5, atol=1e-6)
    # Without the mask, all-pad windows (relu(b) at zero input) can win: not invariant.
    raw = _randomise(SentenceCNN(V, D, 3, sizes=(3,), filters=4, mask=False, rng=0), rng)
    raw.embedding.weight.data[...] = np.abs(raw.embedding.weight.data)
    raw.conv0.weight.data[...] = -np.abs(raw.conv0.weight.data)   # real windows < bias = pads
    assert not np.allclose(raw.forward(longer[:, :12]), raw.forward(ids))


def test_rnn_final_state_is_the_state_at_the_true_last_token():
    rng = np.random.default_rng(3)
    ids = _ids(rng)
    m = _randomise(SentenceRNN(V, D, 4, cell="rnn", hidden=5, bias=False, rng=0), rng)
    final = m.encode(ids)
    u, w = (p.data.astype(np.float64) for p in m.rnn.cell_parameters(0)[:2])
    emb = m.embedding.weight.data.astype(np.float64)
    for n, length in enumerate((ids != 0).sum(axis=1)):
        s = np.zeros(5)
        for t in range(length):  # s_t = tanh(U x_t + W s_{t−1}), s_0 = 0
            s = np.tanh(emb[ids[n, t]] @ u + s @ w)
        np.testing.assert_allclose(final[n], s, rtol=1e-5, atol=1e-6)


def test_cnn_argmax_positions_lie_inside_each_sentence():
    rng = np.random.default_rng(4)
    ids = _ids(rng)
    m = _randomise(SentenceCNN(V, D, 3, sizes=(3,), filters=6, rng=0), rng)
    m.forward(ids)
    pos = m.argmax_positions()
    assert pos.shape == (4, 6)
    assert np.all(pos < (ids != 0).sum(axis=1)[:, None])


def test_cnn_and_rnn_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    ids = _ids(rng)
    lengths = (ids != 0).sum(axis=1)
    cnn = _randomise(SentenceCNN(V, D, 3, sizes=(3,), filters=4, freeze=False, rng=0,
                                 dtype=np.float64), rng)
    emb = torch.nn.Embedding(V, D, padding_idx=0).double()
    conv = torch.nn.Conv1d(D, 4, 3, padding=1).double()
    fc = torch.nn.Linear(4, 3).double()
    with torch.no_grad():
        emb.weight.copy_(torch.tensor(cnn.embedding.weight.data))
        conv.weight.copy_(torch.tensor(cnn.conv0.weight.data))
        conv.bias.copy_(torch.tensor(cnn.conv0.bias.data))
        fc.weight.copy_(torch.tensor(cnn.fc.weight.data.T))
        fc.bias.copy_(torch.tensor(cnn.fc.bias.data))
    ti = torch.tensor(ids)
    z = torch.relu(conv(emb(ti).transpose(1, 2)))                    # (N, F, T)
    mask = torch.arange(ids.shape[1])[None, None, :] < torch.tensor(lengths)[:, None, None]
    h = torch.where(mask, z, torch.tensor(-np.inf, dtype=torch.float64)).amax(dim=2)
    out = fc(h)
    dy = rng.normal(size=out.shape)
    out.backward(torch.tensor(dy))
    np.testing.assert_allclose(cnn.forward(ids), out.detach().numpy(), rtol=1e-10)
    cnn.backward(dy)
    np.testing.assert_allclose(cnn.embedding.weight.grad, emb.weight.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(cnn.conv0.weight.grad, conv.weight.grad.numpy(), atol=1e-10)

    rnn = _randomise(SentenceRNN(V, D, 4, cell="rnn", hidden=5, bias=False, freeze=False,
                                 rng=0, dtype=np.float64), rng)
    trnn = torch.nn.RNN(D, 5, bias=False, batch_first=True).double()
    emb2 = torch.nn.Embedding(V, D, padding_idx=0).double()
    u, w, _ = rnn.rnn.cell_parameters(0)
    with torch.no_grad():
        emb2.weight.copy_(torch.tensor(rnn.embedding.weight.data))
        trnn.weight_ih_l0.copy_(torch.tensor(u.data.T))
        trnn.weight_hh_l0.copy_(torch.tensor(w.data.T))
    packed = torch.nn.utils.rnn.pack_padded_sequence(emb2(ti), torch.tensor(lengths),
                                                     batch_first=True, enforce_sorted=False)
    _, hn = trnn(packed)
    np.testing.assert_allclose(rnn.encode(ids), hn[0].detach().numpy(), rtol=1e-10)
    g = rng.normal(size=(4, 5))
    hn[0].backward(torch.tensor(g))
    rnn.encode(ids)
    rnn.embedding.backward(rnn.rnn.backward(g))
    np.testing.assert_allclose(u.grad, trnn.weight_ih_l0.grad.numpy().T, atol=1e-10)
    np.testing.assert_allclose(rnn.embedding.weight.grad, emb2.weight.grad.numpy(), atol=1e-10)
