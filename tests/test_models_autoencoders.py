"""The four autoencoders: closed-form parameter counts, shape chain, noise off at evaluation,
float64 gradient checks, PyTorch parity (weights copied) and a falling loss."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.gradcheck import gradcheck
from chainrule.models.autoencoders import (
    AUTOENCODERS,
    closed_form_params,
    conv_autoencoder,
    denoising_autoencoder,
    dense_autoencoder,
    reconstruct,
)


@pytest.mark.parametrize("name,expected", [("dense", 784 * 32 + 32 + 32 * 784 + 784),
                                           ("deep", (784 * 128 + 128) + (128 * 32 + 32)
                                            + (32 * 128 + 128) + (128 * 784 + 784)),
                                           ("conv", (9 * 16 + 16) + (9 * 16 * 8 + 8)
                                            + (9 * 8 * 8 + 8) + (9 * 8 * 8 + 8)
                                            + (9 * 8 * 16 + 16) + (9 * 16 + 1)),
                                           ("denoising", (9 * 32 + 32) + (9 * 32 * 32 + 32) * 2
                                            + (9 * 32 + 1))])
def test_params_match_closed_form(name, expected):
    s = AUTOENCODERS[name](rng=0).summary((1, 28, 28))
    assert s.trainable_params == expected == closed_form_params(name)
    assert s.output_shape[-3:] == (1, 28, 28)


def test_conv_shape_chain():
    s = conv_autoencoder(rng=0).summary((1, 28, 28))
    sizes = [28] + [r.output_shape[-1] for r in s.rows
                    if r.type in ("ZeroPad2d", "MaxPool2d", "ConvTranspose2d", "Cropping2d")]
    assert sizes == [28, 32, 16, 8, 4, 8, 16, 32, 28]
    pools = [r.output_shape for r in s.rows if r.type == "MaxPool2d"]
    assert tuple(pools[-1][-3:]) == (8, 4, 4)


def test_conv_vs_dense_ratios():
    d = dense_autoencoder(rng=0).summary((1, 28, 28))
    c = conv_autoencoder(rng=0).summary((1, 28, 28))
    assert 12 < d.trainable_params / c.trainable_params < 15
    assert 11 < c.total_macs / d.total_macs < 13


def test_noise_inactive_at_evaluation():
    m = denoising_autoencoder(noise_std=0.5, rng=0)
    x = np.random.default_rng(1).random((3, 1, 28, 28), dtype=np.float32)
    a, b = m.forward(x, training=False), m.forward(x, training=False)
    np.testing.assert_array_equal(a, b)
    assert np.all(m[0].forward(x, training=False) == x)
    assert not np.allclose(m[0].forward(x, training=True), x)
    assert not np.allclose(m.forward(x, training=True), a)


@pytest.mark.parametrize("name", ["dense", "deep", "conv", "denoising"])
def test_gradcheck_float64(name):
    m = AUTOENCODERS[name](rng=0)
    gen = np.random.default_rng(2)
    # every parameter randomised (biases too); the 784-wide MLPs get a smaller scale so
    # their pre-activations stay O(1) and the differences stay above rounding
    std = 0.1 if name in ("dense", "deep") else 0.3
    for p in m.parameters():
        p.data[...] = gen.normal(0.0, std, p.data.shape).astype(p.data.dtype)
    x = gen.random((2, 1, 28, 28))
    rep = gradcheck(m, x, max_checks=20)
    assert rep.ok, rep


def test_conv_autoencoder_matches_torch():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    m = conv_autoencoder(rng=0)
    gen = np.random.default_rng(3)
    for p in m.parameters():
        p.data[...] = gen.normal(0.0, 0.3, p.data.shape).astype(np.float32)
    t = nn.Sequential(
        nn.ZeroPad2d(2),
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.ConvTranspose2d(8, 8, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
        nn.ConvTranspose2d(8, 16, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
        nn.ConvTranspose2d(16, 1, 3, stride=2, padding=1, output_padding=1))
    ours = [layer for layer in m if layer.parameters()]
    theirs = [layer for layer in t if list(layer.parameters())]
    assert len(ours) == len(theirs) == 6
    for a, b in zip(ours, theirs):
        b.weight.data = torch.tensor(a.weight.data)
        b.bias.data = torch.tensor(a.bias.data)
    x = gen.random((2, 1, 28, 28), dtype=np.float32)
    y = m.forward(x)
    ty = t(torch.tensor(x))[:, :, 2:-2, 2:-2]
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-4, atol=1e-5)
    # and the gradient of a per-pixel BCE against the same image
    loss = cr.BCEWithLogits()
    loss.forward(y, x)
    dx = m.backward(loss.backward())
    xt = torch.tensor(x, requires_grad=True)
    tl = torch.nn.functional.binary_cross_entropy_with_logits(
        t(xt)[:, :, 2:-2, 2:-2], torch.tensor(x))
    tl.backward()
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-3, atol=1e-7)
    np.testing.assert_allclose(ours[0].weight.grad, theirs[0].weight.grad.numpy(), rtol=1e-3,
                               atol=1e-6)


def test_loss_falls_and_float32():
    from chainrule.data import DataLoader
    from chainrule.train import fit

    gen = np.random.default_rng(0)
    x = (gen.random((64, 1, 28, 28)) > 0.7).astype(np.float32)
    for name in ("dense", "conv"):
        m = AUTOENCODERS[name](rng=0)
        opt = cr.optim.Adam(m.parameters(), lr=3e-3)
        hist = fit(m, cr.BCEWithLogits(), opt, DataLoader(x, x, 16, rng=gen), epochs=4,
                   metrics=None, progress=False)
        losses = [r["loss"] for r in hist.epoch_log]
        assert losses[-1] < losses[0] - 0.02, (name, losses)
        for p in m.parameters():
            assert p.data.dtype == np.float32 and p.grad.dtype == np.float32
        r = reconstruct(m, x)
        assert r.dtype == np.float32 and r.shape == x.shape and 0 <= r.min() and r.max() <= 1


def _stamp(k: int = 3):
    """One 4×4 input with a single 1 at (1, 1) and a 3×3 kernel 1..9: the stamp shows where
    each convention puts the kernel."""
    x = np.zeros((1, 1, 4, 4), dtype=np.float64)
    x[0, 0, 1, 1] = 1.0
    w = np.arange(1, k * k + 1, dtype=np.float64).reshape(1, 1, k, k)
    return x, w


def test_transposed_conv_follows_pytorch_not_keras_same():
    """chainrule (p=1, op=1) = full[1:2H+1]; Keras 'same' at stride 2 = full[0:2H]."""
    from chainrule.layers import ConvTranspose2d

    x, w = _stamp()
    full = ConvTranspose2d(1, 1, 3, stride=2, bias=False, dtype=np.float64)
    full.weight.data[...] = w
    yf = full.forward(x)                                   # (H−1)·2 + 3 = 9 rows
    ours = ConvTranspose2d(1, 1, 3, stride=2, padding=1, output_padding=1, bias=False,
                           dtype=np.float64)
    ours.weight.data[...] = w
    y = ours.forward(x)
    assert y.shape[-2:] == (8, 8)
    np.testing.assert_array_equal(y, yf[..., 1:9, 1:9])
    # the kernel lands at rows/cols 1..3 (PyTorch), not 2..4 (Keras 'same')
    np.testing.assert_array_equal(y[0, 0, 1:4, 1:4], w[0, 0])
    keras_same = yf[..., 0:8, 0:8]
    assert not np.array_equal(y, keras_same)
    np.testing.assert_array_equal(y[..., :-1, :-1], keras_same[..., 1:, 1:])


def test_transposed_conv_shift_against_keras():
    """The same stamp through Keras 3's Conv2DTranspose(padding='same', strides=2)."""
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip("needs keras on its torch backend (KERAS_BACKEND=torch)")
    from chainrule.layers import ConvTranspose2d

    x, w = _stamp()
    layer = keras.layers.Conv2DTranspose(1, 3, strides=2, padding="same", use_bias=False)
    xk = x.transpose(0, 2, 3, 1).astype(np.float32)
    layer.build(xk.shape)
    layer.set_weights([w[0, 0][:, :, None, None].astype(np.float32)])   # (kh, kw, out, in)
    yk = keras.ops.convert_to_numpy(layer(xk)).transpose(0, 3, 1, 2)
    ours = ConvTranspose2d(1, 1, 3, stride=2, padding=1, output_padding=1, bias=False,
                           dtype=np.float64)
    ours.weight.data[...] = w
    y = ours.forward(x)
    assert yk.shape == y.shape
    np.testing.assert_allclose(yk[..., 1:, 1:], y[..., :-1, :-1])   # one pixel down-right
    assert not np.allclose(yk, y)
