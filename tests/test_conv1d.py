"""Conv1d (channels-last sequences): closed form, gradient checks, PyTorch parity, Conv2d
equivalence, re-use across lengths, shapes and errors."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.core import Sequential
from chainrule.layers import Conv1d, Conv2d, Flatten, Linear, MaxPool1d, ReLU, _conv_last
from harness import check_layer, check_torch_parity, rel_err


def naive_conv1d(x, w, b, s, d, pads):
    """Direct definition: y[n,t,o] = b[o] + Σ_{c,i} W[o,c,i]·xp[n, t·s + i·d, c]."""
    o, _, k = w.shape
    xp = np.pad(x, ((0, 0), pads, (0, 0)))
    to = (xp.shape[1] - d * (k - 1) - 1) // s + 1
    y = np.zeros((x.shape[0], to, o))
    for t in range(to):
        for i in range(k):
            y[:, t] += xp[:, t * s + i * d] @ w[:, :, i].T
    return y + (0.0 if b is None else b)


# (C, O, k, stride, padding, dilation, (N, T)): odd sizes, batch 1, T = 1, 2, 7, strides,
# dilations, asymmetric and 'same' paddings (odd and even kernels), padding beyond reach.
GRID = [
    (3, 4, 3, 1, 0, 1, (2, 7)),
    (2, 5, 3, 1, "same", 1, (1, 7)),
    (3, 2, 4, 1, "same", 1, (2, 9)),
    (2, 3, 3, 2, "same", 2, (2, 11)),
    (4, 3, 2, 3, (2, 1), 1, (3, 8)),
    (1, 2, 5, 1, "valid", 2, (2, 13)),
    (3, 3, 1, 1, 0, 1, (2, 1)),
    (2, 3, 2, 1, 0, 1, (1, 2)),
    (2, 2, 3, 1, 1, 1, (2, 1)),
    (2, 3, 3, 2, 4, 1, (2, 5)),
    (5, 4, 3, 1, "same", 3, (1, 7)),
    (2, 3, 2, 1, (3, 2), 1, (2, 4)),  # stride 1, padding beyond the kernel's reach
    (2, 2, 3, 1, (5, 0), 2, (1, 3)),
]


@pytest.mark.parametrize("c,o,k,s,p,d,nt", GRID)
def test_conv1d_protocol_and_gradcheck(rng, c, o, k, s, p, d, nt):
    n, t = nt
    x = rng.standard_normal((n, t, c))
    layer = Conv1d(c, o, k, s, p, d, rng=1, bias_init="normal")
    expected = lambda xx, q: naive_conv1d(xx, q["weight"], q["bias"], s, d, layer.pads(t))
    report = check_layer(layer, x, expected)
    assert {r.name for r in report.results} == {"input", "weight", "bias"}
    assert report.max_rel < 1e-6


def test_conv1d_without_bias(rng):
    layer = Conv1d(3, 2, 3, padding=(0, 2), bias=False, rng=0)
    x = rng.standard_normal((2, 6, 3))
    check_layer(layer, x, lambda xx, q: naive_conv1d(xx, q["weight"], None, 1, 1, (0, 2)))
    assert [n for n, _ in layer.named_parameters()] == ["weight"]


@pytest.mark.parametrize("t,k,d,pads", [(7, 3, 1, (1, 1)), (7, 4, 1, (1, 2)), (8, 2, 1, (0, 1)),
                                        (9, 4, 2, (3, 3)), (5, 6, 1, (2, 3))])
def test_same_padding_is_pytorch_rule_extra_step_on_the_right(t, k, d, pads):
    layer = Conv1d(1, 1, k, padding="same", dilation=d)
    assert layer.pads(t) == pads
    assert layer.output_shape((t, 1)) == (t, 1)


def test_same_with_stride_gives_ceil_length():
    layer = Conv1d(2, 3, 3, stride=2, padding="same")
    assert [layer.output_shape((t, 2))[0] for t in (5, 6, 7)] == [3, 3, 4]
    assert layer.pads(6) == (0, 1) and layer.pads(5) == (1, 1)


def torch_conv1d_ntc(*args, pads=(0, 0), **kwargs):
    """nn.Conv1d on (N, T, C): transposes in and out; explicit pads (or torch's own 'same')."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional

    class Conv1dNTC(torch.nn.Conv1d):
        def forward(self, x):
            x = x.transpose(1, 2)
            if pads != (0, 0):
                x = F.pad(x, pads)
            return super().forward(x).transpose(1, 2)

    return Conv1dNTC(*args, **kwargs)


def _random_configs(n, seed=7):
    g = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        k, s, d = int(g.integers(1, 6)), int(g.integers(1, 4)), int(g.integers(1, 4))
        eff = d * (k - 1) + 1
        p = [0, int(g.integers(0, 4)), (int(g.integers(0, 3)), int(g.integers(0, 3))),
             "same"][int(g.integers(0, 4))]
        t = int(g.integers(max(1, eff - 2 * 3), 20))
        t = max(t, eff)  # fits even unpadded
        out.append((int(g.integers(1, 6)), int(g.integers(1, 6)), k, s, p, d,
                    (int(g.integers(1, 4)), t)))
    return out


PARITY = GRID + _random_configs(25)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("c,o,k,s,p,d,nt", PARITY)
def test_conv1d_matches_torch(rng, dtype, c, o, k, s, p, d, nt):
    n, t = nt
    layer = Conv1d(c, o, k, s, p, d, rng=2, bias_init="normal")
    ref = torch_conv1d_ntc(c, o, k, stride=s, dilation=d, pads=layer.pads(t))
    errors = check_torch_parity(layer, ref, rng.standard_normal((n, t, c)), dtype=dtype)
    assert set(errors) == {"forward", "input", "weight", "bias"}


@pytest.mark.parametrize("k,d", [(3, 1), (4, 1), (2, 3), (5, 2)])
def test_same_padding_matches_torchs_own_same(rng, k, d):
    layer = Conv1d(3, 2, k, padding="same", dilation=d, rng=3, bias_init="normal")
    ref = torch_conv1d_ntc(3, 2, k, dilation=d, padding="same")
    check_torch_parity(layer, ref, rng.standard_normal((2, 9, 3)))


def test_text_cnn_conv2d_over_embedding_image_is_conv1d(rng):
    """A k×d Conv2d over the (T, d) embedding image = Conv1d(d, O, k) over (N, T, d)."""
    n, t, dim, o, k = 3, 9, 5, 4, 3
    emb = rng.standard_normal((n, t, dim))
    c2 = Conv2d(1, o, (k, dim), rng=4, bias_init="normal", dtype=np.float64)
    c1 = Conv1d(dim, o, k, rng=5, dtype=np.float64)
    c1.load_state_dict({"weight": c2.weight.data[:, 0].transpose(0, 2, 1),
                        "bias": c2.bias.data})
    y2 = c2.forward(emb[:, None])  # (N, O, T−k+1, 1)
    y1 = c1.forward(emb)  # (N, T−k+1, O)
    assert rel_err(y1, y2[..., 0].transpose(0, 2, 1)) < 1e-12
    dy = rng.standard_normal(y1.shape)
    dx1 = c1.backward(dy)
    dx2 = c2.backward(dy.transpose(0, 2, 1)[..., None])
    assert rel_err(dx1, dx2[:, 0]) < 1e-12
    assert rel_err(c1.weight.grad, c2.weight.grad[:, 0].transpose(0, 2, 1)) < 1e-12
    assert rel_err(c1.bias.grad, c2.bias.grad) < 1e-12


def test_reuse_across_changing_lengths_has_no_stale_buffers(rng):
    layer = Conv1d(3, 4, 3, stride=2, padding="same", rng=6, bias_init="normal",
                   dtype=np.float64)
    for t in (7, 3, 8, 1, 7, 2, 8):
        x = rng.standard_normal((2, t, 3))
        fresh = Conv1d(3, 4, 3, stride=2, padding="same", dtype=np.float64)
        fresh.load_state_dict(layer.state_dict())
        dy = rng.standard_normal((2, *fresh.output_shape((t, 3))))
        y, yf = layer.forward(x), fresh.forward(x)
        np.testing.assert_array_equal(y, yf)
        layer.zero_grad()
        np.testing.assert_array_equal(layer.backward(dy), fresh.backward(dy))
        np.testing.assert_array_equal(layer.weight.grad, fresh.weight.grad)
        np.testing.assert_allclose(y, naive_conv1d(x, layer.weight.data, layer.bias.data, 2, 1,
                                                   layer.pads(t)), rtol=1e-12, atol=1e-12)


def test_outputs_survive_later_forward_calls(rng):
    layer = Conv1d(2, 3, 3, padding=1, rng=0)
    x1, x2 = rng.standard_normal((2, 2, 5, 2)).astype(np.float32)
    y1 = layer.forward(x1)
    keep = y1.copy()
    layer.forward(x2)
    np.testing.assert_array_equal(y1, keep)


def test_chunked_im2col_gives_the_same_result(rng, monkeypatch):
    layer = Conv1d(3, 4, 5, padding=2, dilation=1, rng=0, dtype=np.float64, bias_init="normal")
    x = rng.standard_normal((5, 11, 3))
    dy = rng.standard_normal((5, 11, 4))
    y = layer.forward(x)
    dx = layer.backward(dy).copy()
    dw = layer.weight.grad.copy()
    monkeypatch.setattr(_conv_last, "_CHUNK_BYTES", 1)  # one sample per chunk
    layer.zero_grad()
    assert rel_err(layer.forward(x), y) < 1e-13
    assert rel_err(layer.backward(dy), dx) < 1e-13
    assert rel_err(layer.weight.grad, dw) < 1e-13


def test_input_grad_false_returns_none_and_same_parameter_grads(rng):
    x = rng.standard_normal((2, 8, 3))
    dy = rng.standard_normal((2, 6, 4))
    a = Conv1d(3, 4, 3, rng=0, dtype=np.float64)
    b = Conv1d(3, 4, 3, rng=0, dtype=np.float64, input_grad=False)
    a.forward(x)
    b.forward(x)
    assert a.backward(dy) is not None and b.backward(dy) is None
    np.testing.assert_array_equal(a.weight.grad, b.weight.grad)
    np.testing.assert_array_equal(a.bias.grad, b.bias.grad)


def test_shapes_macs_and_summary():
    model = Sequential(Conv1d(6, 32, 5, rng=0), ReLU(), Conv1d(32, 32, 5, dilation=2, rng=1),
                       ReLU(), MaxPool1d(2), Flatten(), Linear(44 * 32, 12, rng=2))
    assert model.output_shape((100, 6)) == (12,)
    assert model[0].macs((100, 6)) == 32 * 6 * 5 * 96
    assert model[2].macs((96, 32)) == 32 * 32 * 5 * 88
    assert "(96 + 2·0 − 9)/1 + 1 = 88" in model[2].shape_arithmetic((96, 32))
    s = model.summary((100, 6))
    assert [r.output_shape for r in s.rows][:5] == [(96, 32), (96, 32), (88, 32), (88, 32),
                                                    (44, 32)]
    assert s.rows[0].macs == 32 * 6 * 5 * 96
    assert "Conv1d" in str(s)


def test_weights_are_pytorch_layout_and_init_is_seeded():
    a, b = Conv1d(3, 5, 4, rng=11), Conv1d(3, 5, 4, rng=11)
    assert a.weight.shape == (5, 3, 4) and a.weight.dtype == np.float32
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    bound = 1 / np.sqrt(3 * 4)
    assert np.abs(a.weight.data).max() <= bound


@pytest.mark.parametrize("kwargs,fragment", [
    ({"padding": "full"}, "padding"), ({"padding": -1}, "non-negative"),
    ({"stride": 0}, "stride"), ({"dilation": 0}, "dilation"), ({"kernel_size": 0}, "kernel"),
])
def test_bad_constructor_arguments(kwargs, fragment):
    args = {"in_channels": 2, "out_channels": 3, "kernel_size": 3, **kwargs}
    with pytest.raises(ValueError, match=fragment):
        Conv1d(**args)


def test_shape_errors(rng):
    layer = Conv1d(3, 2, 5, dilation=2)
    with pytest.raises(ValueError, match=r"\(N, T, 3\)"):
        layer.forward(rng.standard_normal((2, 3, 10)))
    with pytest.raises(ValueError, match="shorter than the dilated kernel 9"):
        layer.forward(rng.standard_normal((2, 8, 3)))
    layer.forward(rng.standard_normal((2, 9, 3)))
    with pytest.raises(ValueError, match="dy of shape"):
        layer.backward(np.zeros((2, 2, 2)))


def test_float32_in_float32_out_and_cast(rng):
    layer = Conv1d(2, 3, 3, rng=0)
    y = layer.forward(rng.standard_normal((2, 5, 2)))  # float64 input → cast to W's float32
    assert y.dtype == np.float32
    assert layer.backward(np.ones((2, 3, 3), dtype=np.float32)).dtype == np.float32
