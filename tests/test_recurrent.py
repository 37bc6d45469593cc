"""RNN, LSTM, GRU: float64 central differences for the input, every parameter and the initial
states (T = 1, 2, 7, batch 1, odd sizes, bidirectional, 2 layers, lengths), padding
semantics, shapes, summary and initialisation."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import chainrule as cr
from chainrule import GRU, LSTM, RNN
from chainrule.gradcheck import away_from_kinks
from harness import check_layer
from recurrent_helpers import WithState, randomised

CELLS = {
    "rnn_tanh": lambda *a, **k: RNN(*a, **k),
    "rnn_relu": lambda *a, **k: RNN(*a, nonlinearity="relu", **k),
    "lstm": lambda *a, **k: LSTM(*a, **k),
    "gru": lambda *a, **k: GRU(*a, **k),
}

# (N, T, F, H, num_layers, bidirectional, return_sequences, initial state, lengths)
CONFIGS = {
    "T1 batch1": (1, 1, 3, 2, 1, False, True, False, None),
    "T2 odd sizes": (3, 2, 5, 3, 1, False, True, False, None),
    "T7 last": (2, 7, 3, 3, 1, False, False, False, None),
    "bidirectional 2 layers": (2, 4, 3, 2, 2, True, True, False, None),
    "initial state": (3, 5, 2, 3, 1, False, False, True, None),
    "2 layers initial state": (2, 3, 2, 3, 2, False, True, True, None),
    "lengths": (3, 6, 2, 3, 1, False, True, False, [6, 2, 4]),
    "lengths bidirectional 2 layers h0 last": (3, 5, 2, 2, 2, True, False, True, [3, 5, 1]),
}


def _build(cell, n, t, f, h, layers, bi, seq, state, lengths, seed=0):
    def make():
        layer = randomised(CELLS[cell](f, h, layers, bidirectional=bi, return_sequences=seq),
                           seed)
        cells = layers * (2 if bi else 1)
        rng = np.random.default_rng(seed + 1)
        h0 = rng.standard_normal((cells, n, h)) if state else None
        c0 = rng.standard_normal((cells, n, h)) if state and cell == "lstm" else None
        lens = None if lengths is None else np.array(lengths)
        return WithState(layer, h0, c0, lens)
    return make


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("cell", list(CELLS))
def test_gradients_central_differences(cell, config):
    n, t, f, h, layers, bi, seq, state, lengths = CONFIGS[config]
    x = np.random.default_rng(7).standard_normal((n, t, f))
    if cell == "rnn_relu":  # keep the first layer's pre-activations off relu's kink
        x = away_from_kinks(x, margin=0.1)
    report = check_layer(_build(cell, n, t, f, h, layers, bi, seq, state, lengths), x)
    names = {r.name for r in report.results}
    assert "input" in names and "layer.weight_hh_l0" in names
    if state:
        assert "h0" in names and (cell != "lstm" or "c0" in names)
    if bi:
        assert f"layer.weight_ih_l{layers - 1}_reverse" in names


@pytest.mark.parametrize("cell", list(CELLS))
def test_padding_gets_zero_output_and_zero_gradient(cell):
    rng = np.random.default_rng(3)
    n, t, f, h = 4, 6, 3, 2
    lengths = np.array([2, 6, 1, 4])
    layer = randomised(CELLS[cell](f, h, 2, bidirectional=True), 4)
    x = rng.standard_normal((n, t, f))
    y = layer.forward(x, lengths=lengths)
    dx = layer.backward(rng.standard_normal(y.shape))
    for i, length in enumerate(lengths):
        assert np.all(y[i, length:] == 0.0)
        assert np.all(dx[i, length:] == 0.0)
        assert np.all(dx[i, :length] != 0.0)
    # Padded inputs change nothing: any values there give the same outputs.
    x2 = x.copy()
    for i, length in enumerate(lengths):
        x2[i, length:] = 100.0
    np.testing.assert_array_equal(layer.forward(x2, lengths=lengths), y)


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("seq", [True, False])
def test_lengths_equal_running_each_sequence_alone(cell, seq):
    """Final state at the true last step, reverse direction starting there (packing)."""
    rng = np.random.default_rng(5)
    n, t, f, h = 3, 5, 2, 3
    lengths = np.array([3, 5, 1])
    layer = randomised(CELLS[cell](f, h, 2, bidirectional=True, return_sequences=seq,
                                   dtype=np.float64), 6)
    x = rng.standard_normal((n, t, f))
    y = layer.forward(x, lengths=lengths)
    h_n = layer.h_n.copy()
    for i, length in enumerate(lengths):
        alone = layer.forward(x[i:i + 1, :length])
        expected = alone[0] if not seq else np.concatenate(
            [alone[0], np.zeros((t - length, 2 * h))])
        np.testing.assert_allclose(y[i], expected, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(h_n[:, i], layer.h_n[:, 0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cell", list(CELLS))
def test_float32_default_and_float64_accepted(cell):
    layer = CELLS[cell](3, 4, 2, bidirectional=True, rng=0)
    assert all(p.dtype == np.float32 for p in layer.parameters())
    y = layer.forward(np.ones((2, 3, 3)))  # float64 input is cast to the layer's dtype
    assert y.dtype == np.float32
    assert layer.backward(np.ones_like(y)).dtype == np.float32
    assert layer.dh0.dtype == np.float32
    layer64 = CELLS[cell](3, 4, rng=0, dtype=np.float64)
    assert layer64.forward(np.ones((2, 3, 3), dtype=np.float32)).dtype == np.float64


@pytest.mark.parametrize("cell", list(CELLS))
def test_input_grad_false_skips_dx_only(cell):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 3))
    a = CELLS[cell](3, 2, 2, rng=1, dtype=np.float64)
    b = CELLS[cell](3, 2, 2, rng=1, dtype=np.float64, input_grad=False)
    dy = rng.standard_normal(a.forward(x).shape)
    b.forward(x)
    assert a.backward(dy) is not None
    assert b.backward(dy) is None
    for (name, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(pa.grad, pb.grad, err_msg=name)


def test_fit_trains_an_embedding_lstm_classifier():
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 8, (64, 6))
    labels = (ids[:, 0] > 4).astype(np.int64)  # the first token decides: needs memory
    model = cr.Sequential(cr.Embedding(8, 4, padding_idx=0, rng=1),
                          LSTM(4, 8, return_sequences=False, rng=2), cr.Linear(8, 2, rng=3))
    loader = cr.data.DataLoader(ids, labels, batch_size=16, rng=4)
    hist = cr.train.fit(model, cr.SoftmaxCrossEntropy(), cr.optim.Adam(model.parameters(), 0.02),
                        loader, epochs=15, clip_grad_norm=5.0)
    losses = [row["loss"] for row in hist.epoch_log]
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize("cell,gates,extra", [("rnn_tanh", 1, 0), ("lstm", 4, 0), ("gru", 3, 1)])
def test_parameter_count_macs_and_summary(cell, gates, extra):
    f, h, t = 6, 8, 10
    layer = CELLS[cell](f, h, 2, bidirectional=True, rng=0)
    per = [gates * (fin * h + h * h + h) + extra * h for fin in (f, 2 * h)]
    assert layer.num_parameters() == 2 * sum(per)
    assert layer.macs((t, f)) == 2 * t * sum((fin + h) * gates * h for fin in (f, 2 * h))
    names = [n for n, _ in layer.named_parameters()]
    assert names[:3] == ["weight_ih_l0", "weight_hh_l0", "bias_l0"]
    assert "weight_ih_l1_reverse" in names
    s = cr.Sequential(layer, cr.Linear(2 * h, 1, rng=1)).summary((t, f))
    assert s.rows[0].output_shape == (t, 2 * h) and s.rows[0].params == 2 * sum(per)
    assert s.total_macs == layer.macs((t, f)) + t * 2 * h
    text = str(s)
    assert f"W_x {f}×{gates * h}" in text and f"W_h {h}×{gates * h}" in text
    assert f"b {gates * h}" in text and f"state per layer and direction: h ({h},)" in text
    assert f"output ({t}, {2 * h})" in text
    last = CELLS[cell](f, h, return_sequences=False, rng=0)
    assert last.output_shape((t, f)) == (h,)


def test_lstm_forget_bias_and_keras_init():
    layer = LSTM(3, 4, init="keras", unit_forget_bias=True, rng=0)
    b, wh = layer.bias_l0.data, layer.weight_hh_l0.data
    np.testing.assert_array_equal(b[4:8], 1.0)
    np.testing.assert_array_equal(np.delete(b, np.s_[4:8]), 0.0)
    np.testing.assert_allclose(wh @ wh.T, np.eye(4), atol=1e-5)   # orthogonal rows
    torchlike = LSTM(3, 4, unit_forget_bias=True, rng=0)
    np.testing.assert_array_equal(torchlike.bias_l0.data[4:8], 1.0)
    assert np.abs(torchlike.weight_ih_l0.data).max() <= 0.5      # U(±1/√H)
    same = LSTM(3, 4, rng=0)
    np.testing.assert_array_equal(same.weight_ih_l0.data, torchlike.weight_ih_l0.data)


def test_bad_inputs_raise():
    layer = LSTM(3, 2, rng=0)
    with pytest.raises(ValueError):
        layer.forward(np.ones((2, 4, 5)))
    with pytest.raises(ValueError):
        layer.forward(np.ones((2, 4, 3)), lengths=np.array([0, 4]))
    with pytest.raises(ValueError):
        layer.forward(np.ones((2, 4, 3)), lengths=np.array([5, 4]))
    with pytest.raises(ValueError):
        layer.forward(np.ones((2, 4, 3)), lengths=np.array([2.0, 4.0]))
    with pytest.raises(ValueError):
        layer.forward(np.ones((2, 4, 3)), h0=np.ones((2, 2, 2)))
    with pytest.raises(ValueError):
        RNN(3, 2, nonlinearity="sigmoid")
    with pytest.raises(ValueError):
        GRU(3, 2, init="glorot")
    with pytest.raises(RuntimeError):
        GRU(3, 2).backward(np.ones((1, 1, 2)))
    y = layer.forward(np.ones((2, 4, 3)))
    with pytest.raises(ValueError):
        layer.backward(np.ones((2, 2)))
    assert y.shape == (2, 4, 2)


def test_flat_initial_state_for_a_single_cell():
    rng = np.random.default_rng(0)
    layer = GRU(2, 3, rng=0, dtype=np.float64)
    x, h0 = rng.standard_normal((2, 4, 2)), rng.standard_normal((2, 3))
    y = layer.forward(x, h0=h0)
    layer.backward(np.ones_like(y))
    assert layer.dh0.shape == (2, 3)
    np.testing.assert_array_equal(layer.forward(x, h0=h0[None]), y)


def _recall_problem(rng, n, t):
    """x_t = (u_t, m_t), u ~ U(0, 1), m marks one random step p; y = u_p: the value seen at
    the marker, which a model must keep in memory until the end."""
    u = rng.uniform(0, 1, (n, t))
    m = np.zeros((n, t))
    m[np.arange(n), rng.integers(0, t, n)] = 1.0
    return (np.stack([u, m], axis=2).astype(np.float32),
            (u * m).sum(1, keepdims=True).astype(np.float32))


def test_lstm_learns_a_recall_task_an_mlp_cannot():
    """T = 20: the LSTM gets under a tenth of the predict-the-mean error in 15 epochs; an MLP
    on the same (flattened) inputs, trained four times as long, stays above half of it."""
    rng = np.random.default_rng(0)
    t = 20
    x, y = _recall_problem(rng, 1000, t)
    xv, yv = _recall_problem(rng, 500, t)
    baseline = float(((yv - y.mean()) ** 2).mean())           # ≈ 1/12

    def train(model, xs, xvs, epochs):
        opt = cr.optim.Adam(model.parameters(), lr=0.03)
        cr.train.fit(model, cr.MSELoss(), opt,
                     cr.data.DataLoader(xs, y, batch_size=50, rng=1), epochs=epochs,
                     metrics=None)
        return float(((model.forward(xvs) - yv) ** 2).mean())

    lstm = cr.Sequential(LSTM(2, 16, return_sequences=False, rng=2), cr.Linear(16, 1, rng=3))
    mlp = cr.Sequential(cr.Linear(2 * t, 64, rng=4), cr.ReLU(), cr.Linear(64, 64, rng=5),
                        cr.ReLU(), cr.Linear(64, 1, rng=6))
    with threadpool_limits(limits=1):   # tiny matmuls: one BLAS thread, also on a busy machine
        lstm_mse = train(lstm, x, xv, 15)
        mlp_mse = train(mlp, x.reshape(len(x), -1), xv.reshape(len(xv), -1), 60)
    assert lstm_mse < 0.1 * baseline, (lstm_mse, baseline)
    assert mlp_mse > 0.5 * baseline, (mlp_mse, baseline)


@pytest.mark.parametrize("cell", list(CELLS))
def test_backward_leaves_dy_intact_and_chunking_changes_nothing(cell, monkeypatch):
    """The reverse loops form their factors in chunks of steps: one step per chunk, the
    default and the whole sequence at once give the same gradients."""
    from chainrule.layers import _sequence

    rng = np.random.default_rng(9)
    x = rng.standard_normal((3, 6, 2))
    lengths = np.array([6, 2, 5])
    results = []
    for budget in (1, _sequence._CHUNK_BYTES, 1 << 40):
        monkeypatch.setattr(_sequence, "_CHUNK_BYTES", budget)
        for seq in (True, False):
            layer = randomised(CELLS[cell](2, 3, 2, bidirectional=True, return_sequences=seq,
                                           dtype=np.float64), 2)
            y = layer.forward(x, lengths=lengths)
            dy = np.random.default_rng(1).standard_normal(y.shape)
            dy0 = dy.copy()
            dx = layer.backward(dy)
            np.testing.assert_array_equal(dy, dy0)
            results.append([dx] + [p.grad.copy() for p in layer.parameters()])
    for i in (0, 1):
        for other in results[i + 2::2]:
            for a, b in zip(results[i], other):
                np.testing.assert_allclose(b, a, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("cell", list(CELLS))
def test_without_bias(cell):
    x = away_from_kinks(np.random.default_rng(4).standard_normal((2, 3, 3)), margin=0.1)
    report = check_layer(lambda: randomised(CELLS[cell](3, 2, 2, bidirectional=True,
                                                        bias=False), 1), x)
    assert not any("bias" in r.name for r in report.results)
    assert CELLS[cell](3, 2, bias=False).num_parameters() == (
        {"lstm": 4, "gru": 3}.get(cell, 1) * (3 * 2 + 2 * 2))


@pytest.mark.parametrize("chunk_bytes", [1 << 20, 300])
def test_step_gradients_and_projection_match_their_sums(chunk_bytes, monkeypatch):
    """The chunked products around the time loops against their definitions, in float64:
    gx = Σ_t x_t·dA_tᵀ, gh = Σ_t s_t·dR_tᵀ, dx_t = W_x·dA_t (dA from to_input), out_t = W·x_t."""
    from chainrule.layers import _sequence

    monkeypatch.setattr(_sequence, "_CHUNK_BYTES", chunk_bytes)   # one chunk, then many
    rng = np.random.default_rng(7)
    t, n, f, h, g = 7, 5, 4, 3, 6
    xd = rng.standard_normal((f + 1, t, n))
    s = rng.standard_normal((t + 1, h, n))
    dr = rng.standard_normal((t, g, n))
    wx = rng.standard_normal((f, g))
    da = dr.copy()
    da[:, :2] *= -3.0                          # a to_input that changes the first two rows

    def to_input(drc, t0, t1):
        drc.reshape(g, t1 - t0, n)[:2] *= -3.0
        return drc

    gx, gh, dx = _sequence.step_gradients(xd, s, dr, to_input, wx, need_dx=True)
    np.testing.assert_allclose(gx, np.einsum("ftn,tgn->fg", xd, da), rtol=1e-12)
    np.testing.assert_allclose(gh, np.einsum("thn,tgn->hg", s[:t], dr), rtol=1e-12)
    np.testing.assert_allclose(dx, np.einsum("fg,tgn->ftn", wx, da), rtol=1e-12)
    _, _, none = _sequence.step_gradients(xd, s, dr, None, wx, need_dx=False)
    assert none is None
    w = rng.standard_normal((g, f + 1))
    np.testing.assert_allclose(_sequence.project(w, xd), np.einsum("gf,ftn->tgn", w, xd),
                               rtol=1e-12)
