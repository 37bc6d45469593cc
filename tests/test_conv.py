"""Conv2d: closed-form forward, float64 gradient checks over a grid, shapes, errors, dtypes."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.core import Sequential
from chainrule.layers import Conv2d, MaxPool2d, ReLU
from harness import check_layer


def naive_conv(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride, pads) -> np.ndarray:
    """Direct definition, one output pixel at a time (no im2col): the closed form."""
    sh, sw = stride
    pt, pb, pl, pr = pads
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    o, _, kh, kw = w.shape
    ho = (xp.shape[2] - kh) // sh + 1
    wo = (xp.shape[3] - kw) // sw + 1
    y = np.zeros((x.shape[0], o, ho, wo))
    for h in range(ho):
        for v in range(wo):
            patch = xp[:, :, h * sh:h * sh + kh, v * sw:v * sw + kw]
            y[:, :, h, v] = np.einsum("ncij,ocij->no", patch, w)
    return y if b is None else y + b[None, :, None, None]


# (in, out, kernel, stride, padding, (N, H, W)): kernels 1, 2, 3, 5; strides 1, 2, 3;
# paddings 0, 1, same, valid; odd sizes; batch 1; non-square kernels and strides.
GRID = [
    (1, 2, 1, 1, 0, (2, 5, 5)),
    (2, 3, 1, 2, 1, (1, 6, 7)),
    (2, 3, 2, 1, 0, (2, 5, 6)),
    (3, 2, 2, 2, "same", (1, 7, 7)),
    (2, 4, 3, 1, 1, (2, 7, 9)),
    (3, 2, 3, 2, "same", (2, 9, 8)),
    (2, 2, 3, 3, "valid", (1, 11, 10)),
    (1, 3, 5, 1, "same", (2, 7, 7)),
    (2, 2, 5, 2, 1, (1, 9, 11)),
    (2, 3, 5, 3, 0, (2, 11, 13)),
    (2, 2, (3, 1), (1, 2), (1, 0), (2, 5, 7)),
    (3, 2, (2, 5), (3, 1), "same", (1, 8, 9)),
    # padding beyond the kernel's reach: some kernel offsets touch only padding
    (2, 2, 1, 1, 2, (1, 4, 5)),
    (2, 3, 3, 2, 3, (1, 5, 6)),
    (2, 2, (2, 3), (3, 2), (4, 1), (1, 5, 7)),
]


@pytest.mark.parametrize("cin,cout,k,s,p,nhw", GRID)
def test_conv2d_protocol_and_gradcheck(rng, conv_bands, cin, cout, k, s, p, nhw):
    n, h, w = nhw
    x = rng.standard_normal((n, cin, h, w))
    layer = Conv2d(cin, cout, k, s, p, rng=1, bias_init="normal")
    pads = layer.pads(h, w)

    def expected(x64, params):
        return naive_conv(x64, params["weight"], params["bias"], layer.stride, pads)

    report = check_layer(lambda: Conv2d(cin, cout, k, s, p, rng=1, bias_init="normal"), x,
                         expected, max_checks=80)
    assert report.max_rel < 1e-6


def test_conv2d_without_bias_gradcheck(rng):
    x = rng.standard_normal((2, 2, 6, 5))
    report = check_layer(lambda: Conv2d(2, 3, 3, padding=1, bias=False, rng=0), x,
                         lambda x64, p: naive_conv(x64, p["weight"], None, (1, 1), (1, 1, 1, 1)))
    assert [r.name for r in report.results] == ["input", "weight"]


@pytest.mark.parametrize("h,k,s,pads", [(7, 4, 1, (1, 2)), (7, 3, 2, (1, 1)), (8, 3, 2, (0, 1)),
                                        (28, 5, 1, (2, 2)), (5, 1, 3, (0, 0)), (6, 2, 2, (0, 0))])
def test_same_padding_tensorflow_split(h, k, s, pads):
    layer = Conv2d(1, 1, k, s, "same")
    assert layer.pads(h, h) == (*pads, *pads)
    assert layer.output_shape((1, h, h)) == (1, -(-h // s), -(-h // s))
    y = layer.forward(np.ones((1, 1, h, h), dtype=np.float32))
    assert y.shape == (1, 1, -(-h // s), -(-h // s))


def test_valid_is_zero_padding():
    assert Conv2d(1, 1, 3, padding="valid").output_shape((1, 8, 9)) == (1, 6, 7)


def test_shape_arithmetic_macs_and_output_shape():
    layer = Conv2d(1, 16, 5, padding=2)
    assert layer.output_shape((1, 28, 28)) == (16, 28, 28)
    assert layer.shape_arithmetic((1, 28, 28)) == ("H: (28 + 2·2 − 5)/1 + 1 = 28; "
                                                   "W: (28 + 2·2 − 5)/1 + 1 = 28")
    assert layer.macs((1, 28, 28)) == 16 * 1 * 25 * 28 * 28
    same = Conv2d(3, 4, 4, stride=2, padding="same")
    # 7 → ⌈7/2⌉ = 4: total padding (4−1)·2 + 4 − 7 = 3, split 1 top / 2 bottom.
    assert same.shape_arithmetic((3, 7, 8)) == ("H: (7 + 1 + 2 − 4)/2 + 1 = 4; "
                                                "W: (8 + 2·1 − 4)/2 + 1 = 4")
    assert Conv2d(1, 1, 3, stride=2).shape_arithmetic((1, 8, 8)).startswith(
        "H: ⌊(8 + 2·0 − 3)/2⌋ + 1 = 3")


@pytest.mark.parametrize("bad,fragment", [
    ((2, 3, 8), "(N, 3, H, W)"),
    ((2, 2, 8, 8), "(N, 3, H, W)"),
    ((2, 3, 2, 8), "smaller than the kernel"),
])
def test_shape_errors_name_layer_and_shapes(bad, fragment):
    layer = Conv2d(3, 4, 3)
    with pytest.raises(ValueError) as err:
        layer.forward(np.zeros(bad, dtype=np.float32))
    msg = str(err.value)
    assert "Conv2d" in msg and fragment in msg and str(bad[1:]).strip("()") in msg


def test_backward_checks_dy_shape(rng):
    layer = Conv2d(2, 3, 3)
    layer.forward(rng.standard_normal((2, 2, 5, 5)))
    with pytest.raises(ValueError, match="dy of shape"):
        layer.backward(np.zeros((2, 3, 4, 4)))


def test_bad_constructor_arguments():
    with pytest.raises(ValueError):
        Conv2d(1, 1, 3, padding="full")
    with pytest.raises(ValueError):
        Conv2d(1, 1, 0)
    with pytest.raises(ValueError):
        Conv2d(0, 1, 3)


def test_dtypes_cast_to_weight(rng):
    layer = Conv2d(1, 2, 3, rng=0)
    y = layer.forward(rng.integers(0, 255, (2, 1, 6, 6)).astype(np.uint8))
    assert y.dtype == np.float32
    assert layer.forward(rng.standard_normal((2, 1, 6, 6))).dtype == np.float32
    assert layer.backward(np.ones(y.shape)).dtype == np.float32
    assert layer.weight.grad.dtype == np.float32
    layer64 = Conv2d(1, 2, 3, rng=0, dtype=np.float64)
    assert layer64.forward(np.ones((1, 1, 4, 4), dtype=np.float32)).dtype == np.float64


def test_weights_are_pytorch_layout_and_init_is_seeded():
    a, b = Conv2d(3, 8, (3, 5), rng=7), Conv2d(3, 8, (3, 5), rng=7)
    assert a.weight.shape == (8, 3, 3, 5) and a.bias.shape == (8,)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    bound = 1 / np.sqrt(3 * 3 * 5)
    assert np.abs(a.weight.data).max() <= bound


def test_input_grad_false_returns_none_and_same_parameter_grads(rng):
    x = rng.standard_normal((2, 1, 7, 7)).astype(np.float32)
    full, first = Conv2d(1, 3, 3, padding=1, rng=0), Conv2d(1, 3, 3, padding=1, rng=0,
                                                         input_grad=False)
    dy = rng.standard_normal((2, 3, 7, 7)).astype(np.float32)
    full.forward(x)
    first.forward(x)
    assert full.backward(dy) is not None
    assert first.backward(dy) is None
    np.testing.assert_array_equal(first.weight.grad, full.weight.grad)
    np.testing.assert_array_equal(first.bias.grad, full.bias.grad)


def test_outputs_are_nchw_and_chain_through_relu_and_pool(rng):
    """The batch-innermost memory is invisible: values match a contiguous NCHW pipeline."""
    x = rng.standard_normal((3, 2, 8, 8))
    net = Sequential(Conv2d(2, 4, 3, padding=1, rng=0, dtype=np.float64), ReLU(), MaxPool2d(2),
                     Conv2d(4, 2, 3, padding="same", rng=1, dtype=np.float64))
    y = net.forward(x)
    assert y.shape == (3, 2, 4, 4)
    h = np.maximum(naive_conv(x, net[0].weight.data, net[0].bias.data, (1, 1), (1,) * 4), 0)
    h = h.reshape(3, 4, 4, 2, 4, 2).max(axis=(3, 5))
    expected = naive_conv(h, net[3].weight.data, net[3].bias.data, (1, 1), (1,) * 4)
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
    dx = net.backward(np.ones_like(y))
    assert dx.shape == x.shape
    assert np.ascontiguousarray(dx).flags.c_contiguous


def test_repeated_forward_does_not_corrupt_earlier_outputs(rng):
    layer = Conv2d(2, 2, 3, padding=1, rng=0)
    x1, x2 = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((2, 2, 5, 5))
    y1 = layer.forward(x1).copy()
    y1_view = layer.forward(x1)
    layer.forward(x2)
    np.testing.assert_array_equal(y1_view, y1)


@pytest.mark.parametrize("k,s", [((3, 2), (1, 1)), ((2, 3), (2, 3)), ((1, 1), (3, 2))])
def test_im2col_is_the_window_array_and_checks_bounds(rng, k, s):
    """im2col (one copy from a strided view) equals the definition col[c,i,j,h,w,n] =
    xp[c, h·sh+i, w·sw+j, n]; geometry that would reach past xp raises instead of reading."""
    from chainrule.layers._im2col import im2col

    (kh, kw), (sh, sw) = k, s
    xp = rng.standard_normal((2, 8, 9, 3)).astype(np.float32)[:, 1:]  # a view, as in bands
    ho, wo = (xp.shape[1] - kh) // sh + 1, (xp.shape[2] - kw) // sw + 1
    col = im2col(xp, kh, kw, sh, sw, ho, wo, np.empty((2, kh, kw, ho, wo, 3), np.float32))
    for i in range(kh):
        for j in range(kw):
            np.testing.assert_array_equal(
                col[:, i, j], xp[:, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw])
    with pytest.raises(ValueError, match="do not fit"):
        im2col(xp, kh, kw, sh, sw, ho + 1, wo, np.empty((2, kh, kw, ho + 1, wo, 3), np.float32))
