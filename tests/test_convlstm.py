"""ConvLSTM1d / ConvLSTM2d: closed-form forward, float64 gradient checks (input, every parameter,
initial state), Keras 3 parity (forward and every gradient, through keras's torch backend),
re-use across shapes, parameter count, shapes and errors."""

from __future__ import annotations

import os

import numpy as np
import pytest

from chainrule.core import Sequential
from chainrule.gradcheck import numeric_gradient
from chainrule.layers import ConvLSTM1d, ConvLSTM2d, Flatten, Linear
from harness import check_layer, rel_err


def _same(size, k):
    total = k - 1
    return total // 2, total - total // 2


def naive_conv(frames, w, pads):
    """frames (B, *S, C), w (O, C, *k): y[b, *o, q] = Σ_{c, i} w[q, c, *i]·xp[b, *(o + i), c]."""
    xp = np.pad(frames, ((0, 0), *pads, (0, 0)))
    k = w.shape[2:]
    so = tuple(xp.shape[1 + a] - k[a] + 1 for a in range(len(k)))
    y = np.zeros((frames.shape[0], *so, w.shape[0]))
    for idx in np.ndindex(*k):
        win = xp[(slice(None), *(slice(i, i + s) for i, s in zip(idx, so)))]
        y += win @ w[(slice(None), slice(None), *idx)].T
    return y


def naive_convlstm(x, wih, whh, b, padding, return_sequences, h0=None, c0=None):
    """Shi et al.'s equations without peepholes, step by step, straight from the docstring."""
    n, t = x.shape[:2]
    k = wih.shape[2:]
    f = whh.shape[1]
    spatial = x.shape[2:-1]
    pads_x = [_same(s, kk) if padding == "same" else (0, 0) for s, kk in zip(spatial, k)]
    so = naive_conv(x[:, 0], wih, pads_x).shape[1:-1]
    pads_h = [_same(s, kk) for s, kk in zip(so, k)]
    h = np.zeros((n, *so, f)) if h0 is None else h0
    c = np.zeros((n, *so, f)) if c0 is None else c0
    sig = lambda z: 1.0 / (1.0 + np.exp(-z))
    out = []
    for s in range(t):
        z = naive_conv(x[:, s], wih, pads_x) + naive_conv(h, whh, pads_h)
        if b is not None:
            z = z + b
        i, fg, g, o = sig(z[..., :f]), sig(z[..., f:2 * f]), np.tanh(z[..., 2 * f:3 * f]), \
            sig(z[..., 3 * f:])
        c = fg * c + i * g
        h = o * np.tanh(c)
        out.append(h)
    return np.stack(out, axis=1) if return_sequences else h


def random_params(layer, rng, scale=0.5):
    return {name: scale * rng.standard_normal(p.shape) for name, p in layer.named_parameters()}


# (class, C, F, kernel, padding, return_sequences, x shape): T = 1, 2, 7; batch 1; odd sizes;
# even and non-square kernels; 'valid'; both output modes.
GRID = [
    (ConvLSTM1d, 3, 2, 3, "same", True, (2, 7, 5, 3)),
    (ConvLSTM1d, 2, 3, 2, "same", False, (1, 2, 6, 2)),
    (ConvLSTM1d, 2, 2, 4, "valid", True, (2, 3, 7, 2)),
    (ConvLSTM1d, 1, 2, 1, "same", True, (3, 1, 4, 1)),
    (ConvLSTM2d, 2, 2, 3, "same", True, (2, 2, 5, 4, 2)),
    (ConvLSTM2d, 1, 3, (2, 3), "same", False, (1, 3, 4, 5, 1)),
    (ConvLSTM2d, 2, 2, (3, 2), "valid", True, (2, 1, 5, 3, 2)),
]


@pytest.mark.parametrize("cls,c,f,k,pad,seq,shape", GRID)
def test_convlstm_protocol_and_gradcheck(rng, cls, c, f, k, pad, seq, shape):
    layer = cls(c, f, k, padding=pad, return_sequences=seq, rng=0)
    params = random_params(layer, rng)
    x = rng.standard_normal(shape)
    expected = lambda xx, p: naive_convlstm(xx, p["weight_ih"], p["weight_hh"], p["bias"], pad,
                                            seq)
    report = check_layer(layer, x, expected, params=params, max_checks=60)
    assert {r.name for r in report.results} == {"input", "weight_ih", "weight_hh", "bias"}
    assert report.max_rel < 1e-6


def test_convlstm_without_bias(rng):
    layer = ConvLSTM1d(2, 2, 3, bias=False, return_sequences=True, rng=0)
    x = rng.standard_normal((2, 3, 5, 2))
    check_layer(layer, x, lambda xx, p: naive_convlstm(xx, p["weight_ih"], p["weight_hh"], None,
                                                       "same", True),
                params=random_params(layer, rng))
    assert [n for n, _ in layer.named_parameters()] == ["weight_ih", "weight_hh"]


@pytest.mark.parametrize("cls,shape", [(ConvLSTM1d, (2, 3, 5, 2)), (ConvLSTM2d, (1, 3, 4, 3, 2))])
def test_initial_state_forward_and_gradients(rng, cls, shape):
    layer = cls(2, 3, 3, return_sequences=True, dtype=np.float64, rng=0)
    layer.load_state_dict(random_params(layer, rng))
    x = rng.standard_normal(shape)
    so = shape[2:-1]
    h0 = rng.standard_normal((shape[0], *so, 3))
    c0 = rng.standard_normal((shape[0], *so, 3))
    y = layer.forward(x, initial_state=(h0, c0))
    p = {k: v.data for k, v in layer.named_parameters()}
    ref = naive_convlstm(x, p["weight_ih"], p["weight_hh"], p["bias"], "same", True, h0, c0)
    assert rel_err(y, ref) < 1e-12
    dy = rng.standard_normal(y.shape)
    layer.backward(dy)
    dh0, dc0 = layer.initial_state_grad
    loss = lambda: layer.forward(x, initial_state=(h0, c0)) * dy
    for analytic, z in ((dh0, h0), (dc0, c0)):
        numeric = numeric_gradient(loss, z, 1e-5)
        assert rel_err(analytic, numeric) < 1e-7


def test_zero_initial_state_equals_default(rng):
    layer = ConvLSTM1d(2, 2, 3, dtype=np.float64, rng=1)
    x = rng.standard_normal((2, 4, 5, 2))
    zeros = np.zeros((2, 5, 2))
    np.testing.assert_array_equal(layer.forward(x), layer.forward(x, initial_state=(zeros, zeros)))


def test_reuse_across_changing_shapes_has_no_stale_buffers(rng):
    layer = ConvLSTM2d(2, 2, (3, 2), return_sequences=True, dtype=np.float64, rng=2)
    layer.load_state_dict(random_params(layer, rng))
    for shape in [(2, 3, 5, 4, 2), (1, 1, 3, 3, 2), (2, 4, 4, 5, 2), (2, 3, 5, 4, 2)]:
        x = rng.standard_normal(shape)
        fresh = ConvLSTM2d(2, 2, (3, 2), return_sequences=True, dtype=np.float64)
        fresh.load_state_dict(layer.state_dict())
        y = layer.forward(x)
        np.testing.assert_array_equal(y, fresh.forward(x))
        dy = rng.standard_normal(y.shape)
        layer.zero_grad()
        np.testing.assert_array_equal(layer.backward(dy), fresh.backward(dy))
        for (name, p), q in zip(layer.named_parameters(), fresh.parameters()):
            np.testing.assert_array_equal(p.grad, q.grad, err_msg=name)


def test_chunked_batched_convs_give_the_same_result(rng, monkeypatch):
    from chainrule.layers import _conv_last

    layer = ConvLSTM1d(2, 3, 3, return_sequences=True, dtype=np.float64, rng=3)
    x = rng.standard_normal((3, 4, 6, 2))
    y = layer.forward(x)
    dy = rng.standard_normal(y.shape)
    dx = layer.backward(dy)
    grads = [p.grad.copy() for p in layer.parameters()]
    monkeypatch.setattr(_conv_last, "_CHUNK_BYTES", 1)  # one frame per chunk
    layer.zero_grad()
    assert rel_err(layer.forward(x), y) < 1e-13
    assert rel_err(layer.backward(dy), dx) < 1e-13
    for p, g in zip(layer.parameters(), grads):
        assert rel_err(p.grad, g) < 1e-13


def test_parameter_count_shapes_macs_and_summary():
    c, f, k = 3, 4, (3, 2)
    layer = ConvLSTM2d(c, f, k, padding="valid", return_sequences=True, rng=0)
    assert layer.num_parameters() == 4 * f * (k[0] * k[1] * (c + f) + 1)
    assert layer.weight_ih.shape == (16, 3, 3, 2) and layer.weight_hh.shape == (16, 4, 3, 2)
    assert layer.output_shape((5, 7, 6, 3)) == (5, 5, 5, 4)
    assert layer.macs((5, 7, 6, 3)) == 5 * 25 * 16 * 6 * 7
    model = Sequential(ConvLSTM1d(2, 3, 3, rng=0), Flatten(), Linear(15, 2, rng=1))
    s = model.summary((4, 5, 2))
    assert [r.output_shape for r in s.rows] == [(5, 3), (15,), (2,)]
    assert s.rows[0].params == 4 * 3 * (3 * 5 + 1)
    assert "ConvLSTM1d" in str(s)


def test_default_init_is_keras_like():
    layer = ConvLSTM1d(2, 3, 3, rng=5)
    np.testing.assert_array_equal(layer.bias.data, [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    w = layer.weight_hh.data.reshape(12, -1)  # (4F, F·k) = (12, 9): orthonormal columns
    np.testing.assert_allclose(w.T @ w, np.eye(9), atol=1e-5)
    bound = np.sqrt(6 / (2 * 3 + 12 * 3))
    assert np.abs(layer.weight_ih.data).max() <= bound
    assert layer.weight_ih.dtype == np.float32
    np.testing.assert_array_equal(layer.weight_ih.data, ConvLSTM1d(2, 3, 3, rng=5).weight_ih.data)


@pytest.mark.parametrize("call,fragment", [
    (lambda: ConvLSTM1d(2, 3, 3, padding="full"), "padding"),
    (lambda: ConvLSTM2d(2, 3, (3, 3, 3)), "kernel_size"),
    (lambda: ConvLSTM1d(0, 3, 3), "positive"),
    (lambda: ConvLSTM1d(2, 3, 3).forward(np.zeros((1, 2, 5, 3))), r"\(N, T, L, 2\)"),
    (lambda: ConvLSTM2d(2, 3, 3).forward(np.zeros((1, 2, 5, 2))), r"\(N, T, H, W, 2\)"),
    (lambda: ConvLSTM1d(2, 3, 4, padding="valid").forward(np.zeros((1, 2, 3, 2))), "smaller"),
    (lambda: ConvLSTM1d(2, 3, 3).forward(np.zeros((1, 2, 5, 2)),
                                         initial_state=(np.zeros((1, 4, 3)),) * 2), "initial"),
])
def test_errors(call, fragment):
    with pytest.raises(ValueError, match=fragment):
        call()


def test_backward_checks_dy_shape(rng):
    layer = ConvLSTM1d(2, 3, 3, return_sequences=True)
    with pytest.raises(RuntimeError):
        layer.backward(np.zeros((1, 2, 5, 3)))
    layer.forward(rng.standard_normal((1, 2, 5, 2)))
    with pytest.raises(ValueError, match="dy of shape"):
        layer.backward(np.zeros((1, 5, 3)))


# ------------------------------------------------------------------ Keras 3 parity


def _keras():
    """Keras 3 on its torch backend (the env variable must precede the first import)."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip(f"keras runs on {keras.backend.backend()}, these checks need its torch "
                    "backend (KERAS_BACKEND=torch)")
    return keras, pytest.importorskip("torch")


def _to_keras(w):
    """(4F, C, *k) → Keras's (*k, C, 4F)."""
    nd = w.ndim - 2
    return np.ascontiguousarray(w.transpose(*range(2, 2 + nd), 1, 0))


KERAS = [
    (ConvLSTM1d, 3, 4, 3, "same", True, (2, 7, 6, 3)),
    (ConvLSTM1d, 2, 3, 4, "same", False, (3, 5, 7, 2)),
    (ConvLSTM1d, 2, 2, 3, "valid", True, (1, 1, 5, 2)),
    (ConvLSTM1d, 1, 5, 2, "valid", False, (2, 2, 9, 1)),
    (ConvLSTM2d, 2, 3, 3, "same", True, (2, 4, 5, 6, 2)),
    (ConvLSTM2d, 3, 2, (2, 3), "same", False, (1, 3, 4, 5, 3)),
    (ConvLSTM2d, 1, 2, (3, 2), "valid", True, (2, 2, 6, 4, 1)),
    (ConvLSTM2d, 2, 4, 2, "same", True, (2, 7, 3, 3, 2)),
]


@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("cls,c,f,k,pad,seq,shape", KERAS)
def test_convlstm_matches_keras(rng, dtype, with_state, cls, c, f, k, pad, seq, shape):
    keras, torch = _keras()
    layer = cls(c, f, k, padding=pad, return_sequences=seq, dtype=dtype, rng=0)
    layer.load_state_dict(random_params(layer, rng))
    kcls = keras.layers.ConvLSTM1D if cls is ConvLSTM1d else keras.layers.ConvLSTM2D
    ref = kcls(f, k, padding=pad, return_sequences=seq, dtype=np.dtype(dtype).name)
    ref.build((None, *shape[1:]))
    ref.set_weights([_to_keras(layer.weight_ih.data), _to_keras(layer.weight_hh.data),
                     layer.bias.data])
    x = rng.standard_normal(shape).astype(dtype)
    so = layer.output_shape(shape[1:])[1 if seq else 0:-1]
    state = [rng.standard_normal((shape[0], *so, f)).astype(dtype) for _ in range(2)]

    y = layer.forward(x, initial_state=tuple(state) if with_state else None)
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    st = [torch.from_numpy(s.copy()).requires_grad_(True) for s in state]
    yt = ref(xt, initial_state=st) if with_state else ref(xt)
    dy = rng.standard_normal(y.shape).astype(dtype)
    layer.zero_grad()
    dx = layer.backward(dy)
    yt.backward(torch.from_numpy(dy))

    kw = {w.path.split("/")[-1]: w.value.grad.numpy() for w in ref.trainable_weights}
    errors = {"forward": rel_err(y, yt.detach().numpy()), "input": rel_err(dx, xt.grad.numpy()),
              "weight_ih": rel_err(_to_keras(layer.weight_ih.grad), kw["kernel"]),
              "weight_hh": rel_err(_to_keras(layer.weight_hh.grad), kw["recurrent_kernel"]),
              "bias": rel_err(layer.bias.grad, kw["bias"])}
    if with_state:
        errors["h0"] = rel_err(layer.initial_state_grad[0], st[0].grad.numpy())
        errors["c0"] = rel_err(layer.initial_state_grad[1], st[1].grad.numpy())
    tol = 1e-10 if dtype == np.float64 else 1e-5
    assert y.dtype == dx.dtype == np.dtype(dtype)
    bad = {key: v for key, v in errors.items() if not v <= tol}
    assert not bad, f"{cls.__name__} differs from Keras at {np.dtype(dtype)}: {bad}"


def test_parameter_count_and_default_bias_match_keras():
    keras, _ = _keras()
    for cls, kcls, shape in ((ConvLSTM1d, keras.layers.ConvLSTM1D, (None, 4, 7, 3)),
                             (ConvLSTM2d, keras.layers.ConvLSTM2D, (None, 4, 7, 6, 3))):
        ref = kcls(5, 3)
        ref.build(shape)
        layer = cls(3, 5, 3)
        assert layer.num_parameters() == ref.count_params()
        np.testing.assert_array_equal(layer.bias.data, np.asarray(ref.get_weights()[2]))
