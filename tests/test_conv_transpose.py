"""ConvTranspose2d: adjoint of Conv2d, closed form, gradient checks, output-size rule, errors."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.layers import Conv2d, ConvTranspose2d
from harness import check_layer


def naive_conv_transpose(x, w, b, stride, padding, output_padding) -> np.ndarray:
    """Direct definition: every input pixel stamps x·W into the output, then crop the padding."""
    (sh, sw), (ph, pw), (oh, ow) = stride, padding, output_padding
    n, _, h, v = x.shape
    _, o, kh, kw = w.shape
    full = np.zeros((n, o, (h - 1) * sh + kh + oh, (v - 1) * sw + kw + ow))
    for i in range(h):
        for j in range(v):
            full[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw] += np.einsum(
                "nc,coij->noij", x[:, :, i, j], w)
    ho = (h - 1) * sh - 2 * ph + kh + oh
    wo = (v - 1) * sw - 2 * pw + kw + ow
    y = full[:, :, ph:ph + ho, pw:pw + wo]
    return y if b is None else y + b[None, :, None, None]


def _pair(v):
    return (v, v) if isinstance(v, int) else v


# (in, out, kernel, stride, padding, output_padding, (N, H, W))
GRID = [
    (1, 2, 1, 1, 0, 0, (2, 3, 3)),
    (2, 3, 2, 2, 0, 0, (1, 4, 5)),
    (3, 2, 3, 1, 1, 0, (2, 5, 4)),
    (2, 2, 3, 2, 1, 1, (2, 4, 3)),
    (2, 3, 5, 2, 2, 1, (1, 3, 3)),
    (2, 2, 3, 3, 0, 2, (2, 3, 4)),
    (2, 2, (2, 3), (3, 2), (1, 0), (2, 1), (1, 3, 4)),
]


@pytest.mark.parametrize("cin,cout,k,s,p,op,nhw", GRID)
def test_conv_transpose_protocol_and_gradcheck(rng, cin, cout, k, s, p, op, nhw):
    n, h, w = nhw
    x = rng.standard_normal((n, cin, h, w))

    def make():
        return ConvTranspose2d(cin, cout, k, s, p, op, rng=3, bias_init="normal")

    def expected(x64, params):
        return naive_conv_transpose(x64, params["weight"], params["bias"], _pair(s), _pair(p),
                                    _pair(op))

    report = check_layer(make, x, expected, max_checks=80)
    assert report.max_rel < 1e-6


@pytest.mark.parametrize("k,s,p,h", [(3, 1, 1, 6), (3, 2, 1, 7), (5, 2, 0, 9), (2, 2, 0, 8)])
def test_is_the_adjoint_of_conv2d(rng, k, s, p, h):
    """⟨conv(x), y⟩ = ⟨x, convᵀ(y)⟩ with the same weight array (O, C, kh, kw)."""
    conv = Conv2d(3, 4, k, s, p, bias=False, rng=0, dtype=np.float64)
    convt = ConvTranspose2d(4, 3, k, s, p, bias=False, rng=1, dtype=np.float64)
    convt.weight.data[...] = conv.weight.data
    x = rng.standard_normal((2, 3, h, h))
    cx = conv.forward(x)
    y = rng.standard_normal(cx.shape)
    # output_padding makes convᵀ's output exactly x's size when the stride drops rows
    ty = convt.forward(y)
    hh = min(ty.shape[2], h)
    np.testing.assert_allclose(np.sum(cx * y), np.sum(x[:, :, :hh, :hh] * ty[:, :, :hh, :hh]),
                               rtol=1e-12)
    # and its forward is exactly Conv2d's input gradient
    np.testing.assert_allclose(ty[:, :, :hh, :hh], conv.backward(y)[:, :, :hh, :hh], rtol=1e-12)


def test_output_size_rule_and_arithmetic():
    layer = ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1)
    assert layer.output_shape((8, 7, 5)) == (4, 14, 10)
    assert layer.shape_arithmetic((8, 7, 5)) == ("H: (7 − 1)·2 − 2·1 + 3 + 1 = 14; "
                                                 "W: (5 − 1)·2 − 2·1 + 3 + 1 = 10")
    assert layer.macs((8, 7, 5)) == 8 * 4 * 9 * 35
    assert layer.weight.shape == (8, 4, 3, 3)


def test_errors():
    with pytest.raises(ValueError, match="output_padding"):
        ConvTranspose2d(1, 1, 3, stride=2, output_padding=2)
    layer = ConvTranspose2d(2, 3, 3)
    with pytest.raises(ValueError, match=r"ConvTranspose2d.*\(N, 2, H, W\).*\(1, 3, 4, 4\)"):
        layer.forward(np.zeros((1, 3, 4, 4)))
    with pytest.raises(ValueError, match=r"\(N, 2, H, W\)"):
        layer.forward(np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match="empty output"):
        ConvTranspose2d(1, 1, 1, padding=1).forward(np.zeros((1, 1, 1, 1)))
    with pytest.raises(RuntimeError):
        layer.backward(np.zeros((1, 3, 6, 6)))


def test_float32_stays_float32(rng):
    layer = ConvTranspose2d(2, 3, 3, stride=2, rng=0)
    y = layer.forward(rng.standard_normal((2, 2, 4, 4)))
    assert y.dtype == np.float32
    dx = layer.backward(np.ones(y.shape, dtype=np.float64))
    assert dx.dtype == np.float32 and layer.weight.grad.dtype == np.float32
