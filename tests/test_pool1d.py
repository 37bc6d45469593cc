"""MaxPool1d, AvgPool1d, GlobalMaxPool1d, GlobalAvgPool1d on (N, T, C): closed forms, gradient
checks, PyTorch parity, ties, masking (lengths / mask), shapes and errors."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.core import Module
from chainrule.layers import AvgPool1d, GlobalAvgPool1d, GlobalMaxPool1d, MaxPool1d
from harness import check_layer, check_torch_parity


def naive_pool1d(x, k, s, p, how, include_pad=True):
    """Direct definition, one window at a time (padding −∞ for max, 0 for average)."""
    fill = -np.inf if how == "max" else 0.0
    xp = np.pad(x, ((0, 0), (p, p), (0, 0)), constant_values=fill)
    inside = np.pad(np.ones(x.shape[1]), (p, p))
    to = (xp.shape[1] - k) // s + 1
    y = np.empty((x.shape[0], to, x.shape[2]))
    for t in range(to):
        win = xp[:, t * s:t * s + k]
        if how == "max":
            y[:, t] = win.max(axis=1)
        else:
            y[:, t] = win.sum(axis=1) / (k if include_pad else inside[t * s:t * s + k].sum())
    return y


def distinct(rng, shape):
    """Values at least 0.1 apart: central differences never cross a max-pool tie."""
    return (rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1
            + rng.uniform(0, 0.01, shape))


# (kernel, stride, padding, (N, T, C)): default stride, overlap, non-tiling, odd sizes,
# batch 1, T = 1, 2, 7.
GRID = [
    (2, None, 0, (2, 8, 3)),
    (2, None, 0, (1, 7, 2)),
    (3, 1, 1, (2, 7, 3)),
    (3, 2, 1, (2, 9, 2)),
    (5, 3, 2, (1, 11, 3)),
    (1, 2, 0, (2, 5, 2)),
    (1, 1, 0, (2, 1, 3)),
    (2, 1, 1, (1, 1, 2)),
    (2, 2, 0, (3, 2, 1)),
    (4, 2, 2, (2, 7, 2)),
]


@pytest.mark.parametrize("cls,how", [(MaxPool1d, "max"), (AvgPool1d, "avg")])
@pytest.mark.parametrize("k,s,p,shape", GRID)
def test_pool1d_protocol_and_gradcheck(rng, cls, how, k, s, p, shape):
    x = distinct(rng, shape)
    report = check_layer(lambda: cls(k, s, p), x,
                         naive_pool1d(x, k, k if s is None else s, p, how))
    assert report.max_rel < 1e-6


@pytest.mark.parametrize("k,s,p,shape", [(3, 1, 1, (2, 7, 2)), (4, 2, 2, (2, 9, 3)),
                                         (5, 3, 2, (1, 11, 2))])
def test_avg_pool_count_exclude_pad(rng, k, s, p, shape):
    x = rng.standard_normal(shape)
    check_layer(lambda: AvgPool1d(k, s, p, count_include_pad=False), x,
                naive_pool1d(x, k, s, p, "avg", include_pad=False))


def test_max_pool_ties_go_to_the_first_maximum():
    layer = MaxPool1d(3)
    x = np.array([[[0.0], [0.0], [0.0], [1.0], [5.0], [5.0], [2.0], [2.0], [2.0]]])
    layer.forward(x)
    dx = layer.backward(np.ones((1, 3, 1)))
    np.testing.assert_array_equal(dx[0, :, 0], [1, 0, 0, 0, 1, 0, 1, 0, 0])


def test_overlapping_windows_sum_their_gradients():
    layer = MaxPool1d(3, stride=1)
    x = np.array([[[0.0], [9.0], [1.0], [2.0]]])
    np.testing.assert_array_equal(layer.forward(x)[0, :, 0], [9.0, 9.0])
    np.testing.assert_array_equal(layer.backward(np.array([[[1.0], [2.0]]]))[0, :, 0],
                                  [0, 3, 0, 0])


def _torch_ntc(fn):
    """A torch callable on (N, T, C) from one on (N, C, L)."""
    return lambda x: fn(x.transpose(1, 2)).transpose(1, 2)


def _random_pools(n, seed=3):
    g = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        k = int(g.integers(1, 7))
        s = [None, int(g.integers(1, 5))][int(g.integers(0, 2))]
        p = int(g.integers(0, k // 2 + 1))
        t = int(g.integers(max(1, k - 2 * p), 25))
        out.append((k, s, p, (int(g.integers(1, 4)), t, int(g.integers(1, 5)))))
    return out


PARITY = GRID + _random_pools(30) + [(17, 2, 0, (1, 20, 2)), (300, 1, 0, (1, 301, 1))]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("k,s,p,shape", PARITY)
def test_max_pool1d_matches_torch(rng, dtype, k, s, p, shape):
    torch = pytest.importorskip("torch")
    ref = _torch_ntc(torch.nn.MaxPool1d(k, s, p))
    check_torch_parity(MaxPool1d(k, s, p), ref, distinct(rng, shape), dtype=dtype)


@pytest.mark.parametrize("include", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("k,s,p,shape", PARITY[:-1])
def test_avg_pool1d_matches_torch(rng, dtype, include, k, s, p, shape):
    torch = pytest.importorskip("torch")
    ref = _torch_ntc(torch.nn.AvgPool1d(k, s, p, count_include_pad=include))
    check_torch_parity(AvgPool1d(k, s, p, count_include_pad=include), ref,
                       rng.standard_normal(shape), dtype=dtype)


def test_avg_pool1d_default_counts_padding_like_torch():
    torch = pytest.importorskip("torch")
    assert AvgPool1d(3).count_include_pad is torch.nn.AvgPool1d(3).count_include_pad is True


def test_max_pool_ties_match_torch(rng):
    torch = pytest.importorskip("torch")
    x = rng.integers(0, 3, (3, 17, 4)).astype(np.float64)  # many ties
    for k, s, p in [(3, 1, 1), (2, 2, 0), (4, 3, 2)]:
        check_torch_parity(MaxPool1d(k, s, p), _torch_ntc(torch.nn.MaxPool1d(k, s, p)), x)


# ------------------------------------------------------------------ global pools


class WithLengths(Module):
    """A global pool run with fixed lengths (so gradcheck can drive it)."""

    def __init__(self, pool, lengths):
        super().__init__()
        self.pool, self.lengths = pool, np.asarray(lengths)

    def forward(self, x, *, training=False):
        return self.pool.forward(x, lengths=self.lengths)

    def backward(self, dy):
        return self.pool.backward(dy)

    def output_shape(self, input_shape):
        return self.pool.output_shape(input_shape)


@pytest.mark.parametrize("shape", [(2, 7, 3), (1, 1, 2), (3, 2, 1)])
def test_global_pools_protocol(rng, shape):
    x = distinct(rng, shape)
    check_layer(GlobalMaxPool1d, x, x.max(axis=1))
    check_layer(GlobalAvgPool1d, x, x.mean(axis=1))


@pytest.mark.parametrize("cls", [GlobalMaxPool1d, GlobalAvgPool1d])
def test_global_pools_gradcheck_with_lengths(rng, cls):
    x = distinct(rng, (3, 7, 2))
    lengths = [7, 1, 4]
    ref = [x[n, :L] for n, L in enumerate(lengths)]
    how = np.max if cls is GlobalMaxPool1d else np.mean
    expected = np.stack([how(r, axis=0) for r in ref])
    report = check_layer(lambda: WithLengths(cls(), lengths), x, expected)
    assert report.max_rel < 1e-6


@pytest.mark.parametrize("cls", [GlobalMaxPool1d, GlobalAvgPool1d])
def test_appending_padding_changes_nothing_and_padding_gets_zero_gradient(rng, cls):
    x = rng.standard_normal((3, 5, 4))
    lengths = np.array([5, 2, 3])
    short = cls()
    y_short = short.forward(x, lengths=lengths)
    dy = rng.standard_normal(y_short.shape)
    dx_short = short.backward(dy)
    # Appending 4 steps of junk (huge values that would win a max) after each sequence.
    xl = np.concatenate([x, 1e3 + rng.standard_normal((3, 4, 4))], axis=1)
    for n, L in enumerate(lengths):
        xl[n, L:] = 1e3 + rng.standard_normal((9 - L, 4))
    long = cls()
    y_long = long.forward(xl, lengths=lengths)
    np.testing.assert_array_equal(y_long, y_short)
    dx_long = long.backward(dy)
    np.testing.assert_array_equal(dx_long[:, :5], dx_short)
    for n, L in enumerate(lengths):
        assert np.all(dx_long[n, L:] == 0.0)  # exactly zero, not merely small
    # A mask gives the same as lengths.
    mask = np.arange(9)[None] < lengths[:, None]
    masked = cls()
    np.testing.assert_array_equal(masked.forward(xl, mask=mask), y_long)
    np.testing.assert_array_equal(masked.backward(dy), dx_long)


def test_global_max_ties_go_to_the_first_step():
    layer = GlobalMaxPool1d()
    x = np.array([[[1.0, 0.0], [3.0, 0.0], [3.0, 0.0]]])
    layer.forward(x)
    np.testing.assert_array_equal(layer.backward(np.ones((1, 2)))[0],
                                  [[0, 1], [1, 0], [0, 0]])


def test_global_pools_float32(rng):
    x = rng.standard_normal((2, 5, 3)).astype(np.float32)
    for cls in (GlobalMaxPool1d, GlobalAvgPool1d):
        layer = cls()
        y = layer.forward(x, lengths=np.array([2, 5]))
        assert y.dtype == np.float32
        assert layer.backward(np.ones((2, 3), dtype=np.float32)).dtype == np.float32


def test_reuse_across_changing_lengths(rng):
    mp, ap = MaxPool1d(3, 2, 1), AvgPool1d(3, 2, 1, count_include_pad=False)
    for t in (7, 2, 9, 1, 7):
        x = distinct(rng, (2, t, 3))
        for layer, how in ((mp, "max"), (ap, "avg")):
            y = layer.forward(x)
            np.testing.assert_allclose(y, naive_pool1d(x, 3, 2, 1, how, include_pad=False),
                                       rtol=1e-12)
            fresh = type(layer)(3, 2, 1, **({} if how == "max" else
                                            {"count_include_pad": False}))
            fresh.forward(x)
            dy = rng.standard_normal(y.shape)
            np.testing.assert_array_equal(layer.backward(dy), fresh.backward(dy))


def test_shapes_macs_and_arithmetic():
    assert MaxPool1d(2).output_shape((9, 4)) == (4, 4)
    assert AvgPool1d(3, 2, 1).output_shape((9, 4)) == (5, 4)
    assert MaxPool1d(2).macs((9, 4)) == 4 * 4 * 2
    assert "⌊(9 + 2·0 − 2)/2⌋ + 1 = 4" in MaxPool1d(2).shape_arithmetic((9, 4))
    assert GlobalMaxPool1d().output_shape((9, 4)) == (4,)
    assert GlobalAvgPool1d().macs((9, 4)) == 36


@pytest.mark.parametrize("call,fragment", [
    (lambda: MaxPool1d(2, padding=2), "half"),
    (lambda: AvgPool1d(0), "kernel_size"),
    (lambda: MaxPool1d(3).forward(np.zeros((1, 2, 1))), "shorter than the window"),
    (lambda: MaxPool1d(2).forward(np.zeros((2, 3))), r"\(N, T, C\)"),
    (lambda: GlobalAvgPool1d().forward(np.zeros((2, 3, 1)), lengths=np.array([0, 3])), "lie in"),
    (lambda: GlobalAvgPool1d().forward(np.zeros((2, 3, 1)), lengths=np.array([1, 4])), "lie in"),
    (lambda: GlobalMaxPool1d().forward(np.zeros((2, 3, 1)), mask=np.zeros((2, 3), bool)),
     "at least one"),
    (lambda: GlobalMaxPool1d().forward(np.zeros((2, 3, 1)), lengths=np.array([1, 2]),
                                       mask=np.ones((2, 3), bool)), "not both"),
])
def test_errors(call, fragment):
    with pytest.raises(ValueError, match=fragment):
        call()


def test_backward_before_forward_and_dy_shape(rng):
    for layer in (MaxPool1d(2), AvgPool1d(2), GlobalMaxPool1d(), GlobalAvgPool1d()):
        with pytest.raises(RuntimeError):
            layer.backward(np.zeros((1, 1, 1)))
    layer = MaxPool1d(2)
    layer.forward(rng.standard_normal((2, 6, 3)))
    with pytest.raises(ValueError, match="dy of shape"):
        layer.backward(np.zeros((2, 2, 3)))
