"""MaxPool2d, AvgPool2d, GlobalAvgPool2d: closed forms, gradient checks, ties, shapes, errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from chainrule.layers import AvgPool2d, GlobalAvgPool2d, MaxPool2d
from harness import check_layer


def naive_pool(x: np.ndarray, k, s, p, how: str) -> np.ndarray:
    """Direct definition, one window at a time (padding −∞ for max, 0 counted for average)."""
    (kh, kw), (sh, sw), (ph, pw) = k, s, p
    fill = -np.inf if how == "max" else 0.0
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    ho, wo = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    y = np.empty((*x.shape[:2], ho, wo))
    for h in range(ho):
        for v in range(wo):
            win = xp[:, :, h * sh:h * sh + kh, v * sw:v * sw + kw]
            y[:, :, h, v] = win.max(axis=(2, 3)) if how == "max" else win.mean(axis=(2, 3))
    return y


def distinct(rng, shape) -> np.ndarray:
    """Values at least 0.1 apart: central differences (ε = 1e-6) never cross a max-pool tie."""
    return (rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1
            + rng.uniform(0, 0.01, shape))


def _pairs(v):
    return (v, v) if isinstance(v, int) else v


# (kernel, stride, padding, (N, C, H, W)): stride None = kernel; overlapping windows
# (stride 1); windows that do not tile the input; odd sizes; batch 1; non-square windows.
GRID = [
    (2, None, 0, (2, 3, 8, 8)),
    (2, None, 0, (1, 2, 7, 9)),
    (3, 1, 1, (2, 2, 5, 7)),
    (2, 1, 0, (1, 3, 5, 6)),
    (3, 2, 1, (2, 2, 9, 8)),
    (5, 3, 2, (1, 1, 11, 10)),
    (1, 2, 0, (2, 2, 5, 5)),
    ((2, 3), (1, 2), (1, 1), (2, 2, 7, 7)),
]


@pytest.mark.parametrize("cls,how", [(MaxPool2d, "max"), (AvgPool2d, "avg")])
@pytest.mark.parametrize("k,s,p,shape", GRID)
def test_pool_protocol_and_gradcheck(rng, cls, how, k, s, p, shape):
    x = distinct(rng, shape)
    stride = _pairs(k) if s is None else _pairs(s)
    report = check_layer(lambda: cls(k, s, p), x,
                         naive_pool(x, _pairs(k), stride, _pairs(p), how), max_checks=120)
    assert report.max_rel < 1e-6


def test_max_pool_ties_go_to_first_in_row_major_order():
    layer = MaxPool2d(2)
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 2:, 2:] = [[1.0, 5.0], [5.0, 5.0]]
    layer.forward(x)
    dx = layer.backward(np.ones((1, 1, 2, 2)))
    expected = np.zeros((4, 4))
    expected[0, 0] = expected[0, 2] = expected[2, 0] = 1.0  # all-zero windows: top-left wins
    expected[2, 3] = 1.0  # three 5s: the first in row-major order wins
    np.testing.assert_array_equal(dx[0, 0], expected)
    assert dx.sum() == 4.0  # exactly one position per window


def test_max_pool_overlapping_ties_sum_per_window():
    layer = MaxPool2d(3, stride=1)
    layer.forward(np.zeros((1, 1, 4, 4)))
    dx = layer.backward(np.ones((1, 1, 2, 2)))
    expected = np.zeros((4, 4))
    expected[:2, :2] = 1.0  # each window's first element is its own top-left corner
    np.testing.assert_array_equal(dx[0, 0], expected)


def test_max_pool_padding_is_never_selected():
    layer = MaxPool2d(3, stride=2, padding=1)
    x = -np.ones((1, 1, 5, 5)) * np.arange(1, 26).reshape(1, 1, 5, 5)
    y = layer.forward(x)
    assert np.isfinite(y).all()
    np.testing.assert_allclose(y, naive_pool(x, (3, 3), (2, 2), (1, 1), "max"))


def test_avg_pool_counts_padding_in_divisor():
    y = AvgPool2d(3, stride=1, padding=1).forward(np.ones((1, 1, 3, 3)))
    # corner window sees 4 ones of 9 positions (count_include_pad=True), centre 9 of 9
    np.testing.assert_allclose(y[0, 0], [[4 / 9, 6 / 9, 4 / 9], [6 / 9, 1, 6 / 9],
                                         [4 / 9, 6 / 9, 4 / 9]])


def test_global_avg_pool(rng):
    x = rng.standard_normal((2, 3, 5, 4))
    report = check_layer(GlobalAvgPool2d, x, x.mean(axis=(2, 3)))
    assert report.max_rel < 1e-8
    layer = GlobalAvgPool2d()
    assert layer.output_shape((3, 5, 4)) == (3,)
    assert layer.macs((3, 5, 4)) == 60
    assert "20" in layer.shape_arithmetic((3, 5, 4))
    with pytest.raises(ValueError, match=r"GlobalAvgPool2d.*\(N, C, H, W\).*\(2, 3\)"):
        layer.forward(np.zeros((2, 3)))


def test_shapes_macs_and_arithmetic():
    layer = MaxPool2d(2)
    assert layer.stride == (2, 2)
    assert layer.output_shape((16, 28, 28)) == (16, 14, 14)
    assert layer.output_shape((16, 7, 7)) == (16, 3, 3)  # floor mode: the last row is dropped
    assert layer.shape_arithmetic((16, 28, 28)) == ("H: (28 + 2·0 − 2)/2 + 1 = 14; "
                                                    "W: (28 + 2·0 − 2)/2 + 1 = 14")
    assert layer.shape_arithmetic((16, 7, 7)).startswith("H: ⌊(7 + 2·0 − 2)/2⌋ + 1 = 3")
    assert layer.macs((16, 28, 28)) == 16 * 14 * 14 * 4
    assert AvgPool2d(3, 1, 1).output_shape((2, 5, 6)) == (2, 5, 6)


@pytest.mark.parametrize("cls", [MaxPool2d, AvgPool2d])
def test_errors(cls):
    with pytest.raises(ValueError, match=rf"{cls.__name__}.*\(N, C, H, W\).*\(3, 4, 4\)"):
        cls(2).forward(np.zeros((3, 4, 4)))
    with pytest.raises(ValueError,
                       match=rf"{cls.__name__}.*smaller than the window.*\(N, 1, 2, 2\)"):
        cls(3).forward(np.zeros((1, 1, 2, 2)))
    with pytest.raises(ValueError, match="at most half"):
        cls(2, padding=2)
    with pytest.raises(RuntimeError):
        cls(2).backward(np.zeros((1, 1, 1, 1)))
    layer = cls(2)
    layer.forward(np.zeros((1, 1, 4, 4)))
    with pytest.raises(ValueError, match="dy of shape"):
        layer.backward(np.zeros((1, 1, 3, 3)))


@pytest.mark.parametrize("cls", [MaxPool2d, AvgPool2d, GlobalAvgPool2d])
def test_dtypes(cls, rng):
    layer = cls(2) if cls is not GlobalAvgPool2d else cls()
    x32 = rng.standard_normal((2, 3, 4, 4)).astype(np.float32)
    y = layer.forward(x32)
    assert y.dtype == np.float32
    assert layer.backward(np.ones_like(y)).dtype == np.float32
    assert layer.forward(np.arange(32).reshape(1, 2, 4, 4)).dtype == np.float32
    assert layer.forward(x32.astype(np.float64)).dtype == np.float64


def test_max_pool_2x2_picks_the_first_maximum_of_every_tie_pattern():
    """All 3⁴ windows over {0, 1, 2} (every pattern of ties), each in its own channel: the
    gradient lands on the first maximum in row-major order."""
    pats = np.array(list(itertools.product([0.0, 1.0, 2.0], repeat=4)))   # (81, 4)
    x = np.zeros((2, 81, 2, 2))
    x[0] = pats.reshape(81, 2, 2)
    x[1] = -pats.reshape(81, 2, 2)[:, ::-1]
    layer = MaxPool2d(2)
    y = layer.forward(x.astype(np.float32))
    dx = layer.backward(np.ones(y.shape, dtype=np.float32))
    for n in range(2):
        flat = x[n].reshape(81, 4)
        np.testing.assert_array_equal(y[n].reshape(81), flat.max(axis=1))
        want = np.zeros((81, 4))
        want[np.arange(81), flat.argmax(axis=1)] = 1.0            # argmax: the first maximum
        np.testing.assert_array_equal(dx[n].reshape(81, 4), want)


@pytest.mark.parametrize("stride, padding", [(2, 0), (1, 0), (2, 1), (1, 1)])
def test_max_pool_2x2_gradient_routes_like_a_naive_loop(stride, padding):
    rng = np.random.default_rng(3)
    x = rng.integers(0, 3, (2, 3, 7, 6)).astype(np.float32)      # many ties
    dy_rng = np.random.default_rng(4)
    layer = MaxPool2d(2, stride=stride, padding=padding)
    y = layer.forward(x)
    dy = dy_rng.standard_normal(y.shape).astype(np.float32)
    dx = layer.backward(dy)
    xp = np.pad(x, ((0, 0), (0, 0), (padding,) * 2, (padding,) * 2), constant_values=-np.inf)
    want = np.zeros_like(xp)
    for n, c, i, j in np.ndindex(*y.shape):
        win = xp[n, c, i * stride:i * stride + 2, j * stride:j * stride + 2]
        r, q = divmod(int(np.argmax(win)), 2)                     # first maximum, row-major
        want[n, c, i * stride + r, j * stride + q] += dy[n, c, i, j]
        assert y[n, c, i, j] == win.max()
    h, w = x.shape[2:]
    np.testing.assert_allclose(dx, want[:, :, padding:padding + h, padding:padding + w],
                               rtol=1e-6, atol=1e-6)
