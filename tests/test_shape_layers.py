"""Shape layers: Flatten, Reshape, ZeroPad2d, Cropping2d, Upsample2d."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.layers.shape import Cropping2d, Flatten, Reshape, Upsample2d, ZeroPad2d
from harness import check_layer, check_torch_parity


@pytest.fixture
def x(rng):
    return rng.standard_normal((2, 3, 5, 4))


def test_flatten(x):
    check_layer(Flatten, x, lambda x, p: x.reshape(2, 60))
    check_layer(Flatten, x[:1, :, :2], lambda x, p: x.reshape(1, 24))  # batch size 1
    assert Flatten().output_shape((16, 7, 7)) == (784,)


def test_reshape(x):
    check_layer(lambda: Reshape((-1, 4)), x, lambda x, p: x.reshape(2, 15, 4))
    check_layer(lambda: Reshape((4, 15)), x, lambda x, p: x.reshape(2, 4, 15))
    assert Reshape((1, -1)).output_shape((3, 5)) == (1, 15)


def test_reshape_errors(x):
    with pytest.raises(ValueError, match=r"Reshape.*\(3, 5, 4\).*60 values.*\(7, 9\)"):
        Reshape((7, 9)).forward(x)
    with pytest.raises(ValueError, match="not a multiple of 7"):
        Reshape((7, -1)).output_shape((3, 5, 4))
    with pytest.raises(ValueError, match="at most one -1"):
        Reshape((-1, -1))


@pytest.mark.parametrize(("padding", "sides"), [
    (1, (1, 1, 1, 1)),
    ((2, 1), (2, 2, 1, 1)),
    (((0, 2), (3, 1)), (0, 2, 3, 1)),
    ((0, 2, 3, 1), (0, 2, 3, 1)),
])
def test_zeropad(x, padding, sides):
    t, b, left, r = sides

    def expected(x, p):
        return np.pad(x, ((0, 0), (0, 0), (t, b), (left, r)))

    check_layer(lambda: ZeroPad2d(padding), x, expected)
    assert ZeroPad2d(padding).padding == sides
    assert ZeroPad2d(padding).output_shape((3, 5, 4)) == (3, 5 + t + b, 4 + left + r)


def test_zeropad_matches_torch_order(x):
    torch = pytest.importorskip("torch")
    # PyTorch's flat tuple is (left, right, top, bottom); ours is (top, bottom, left, right).
    check_torch_parity(ZeroPad2d((0, 2, 3, 1)), torch.nn.ZeroPad2d((3, 1, 0, 2)), x)


@pytest.mark.parametrize(("cropping", "sides"), [
    (1, (1, 1, 1, 1)),
    ((2, 1), (2, 2, 1, 1)),
    (((0, 2), (1, 0)), (0, 2, 1, 0)),
])
def test_cropping(x, cropping, sides):
    t, b, left, r = sides

    def expected(x, p):
        return x[:, :, t:x.shape[2] - b, left:x.shape[3] - r]

    check_layer(lambda: Cropping2d(cropping), x, expected)
    assert Cropping2d(cropping).output_shape((3, 5, 4)) == (3, 5 - t - b, 4 - left - r)


def test_cropping_undoes_padding(x):
    pad, crop = ZeroPad2d(((1, 2), (0, 3))), Cropping2d(((1, 2), (0, 3)))
    np.testing.assert_array_equal(crop(pad(x)), x)
    np.testing.assert_array_equal(pad.backward(crop.backward(x)), x)


def test_cropping_too_much(x):
    with pytest.raises(ValueError, match=r"Cropping2d.*\(3, 5, 4\).*\(3, 1, 0\)"):
        Cropping2d(((2, 2), (2, 2))).output_shape((3, 5, 4))
    with pytest.raises(ValueError, match="Cropping2d"):
        Cropping2d(3).forward(x)


@pytest.mark.parametrize("scale", [2, (2, 3), 1])
def test_upsample(x, scale):
    sh, sw = (scale, scale) if isinstance(scale, int) else scale

    def expected(x, p):
        return np.repeat(np.repeat(x, sh, axis=2), sw, axis=3)

    check_layer(lambda: Upsample2d(scale), x, expected)


def test_upsample_backward_sums_blocks():
    layer = Upsample2d(2)
    layer.forward(np.zeros((1, 1, 2, 2)))
    dy = np.arange(16.0).reshape(1, 1, 4, 4)
    want = [[0 + 1 + 4 + 5, 2 + 3 + 6 + 7], [8 + 9 + 12 + 13, 10 + 11 + 14 + 15]]
    np.testing.assert_array_equal(layer.backward(dy)[0, 0], want)


def test_upsample_matches_torch(x):
    torch = pytest.importorskip("torch")
    upsample = torch.nn.Upsample(scale_factor=(2, 3), mode="nearest")
    check_torch_parity(Upsample2d((2, 3)), upsample, x)


@pytest.mark.parametrize("layer", [ZeroPad2d(1), Cropping2d(1), Upsample2d(2)])
def test_image_layers_need_nchw(layer):
    with pytest.raises(ValueError, match=type(layer).__name__ + r".*\(N, C, H, W\).*\(2, 3\)"):
        layer.forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        layer.output_shape((5, 5))
