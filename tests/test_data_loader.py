"""DataLoader (coverage, seeding, exact resume), splits, Standardizer, helpers and transforms."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest

from chainrule.data import (
    DataError,
    DataLoader,
    Dataset,
    Standardizer,
    add_bias_column,
    flatten,
    one_hot,
    train_val_split,
    transforms,
)


def _data(n=103, shape=(1, 4, 4)):
    x = np.arange(n * int(np.prod(shape)), dtype=np.float32).reshape(n, *shape)
    return x, np.arange(n, dtype=np.int64)


def _epoch(it):
    return [(xb.copy(), yb.copy()) for xb, yb in it]


def _same(a, b):
    assert len(a) == len(b)
    for (xa, ya), (xb, yb) in zip(a, b):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


# ------------------------------------------------------------------ DataLoader
@pytest.mark.parametrize("batch_size", [1, 7, 32, 103, 500])
def test_every_sample_once_per_epoch(batch_size):
    x, y = _data()
    loader = DataLoader(x, y, batch_size, rng=0)
    assert len(loader) == -(-103 // batch_size)
    for _ in range(2):
        batches = list(loader)
        assert len(batches) == len(loader)
        seen = np.concatenate([yb for _, yb in batches])
        assert sorted(seen.tolist()) == list(range(103))
        for xb, yb in batches:
            np.testing.assert_array_equal(xb, x[yb])  # x and y stay paired
            assert xb.dtype == np.float32 and xb.flags.c_contiguous


def test_seeded_and_reshuffled_each_epoch():
    x, y = _data()
    a, b = DataLoader(x, y, 10, rng=1), DataLoader(x, y, 10, rng=np.random.default_rng(1))
    ea, eb = [_epoch(a) for _ in range(3)], [_epoch(b) for _ in range(3)]
    for u, v in zip(ea, eb):
        _same(u, v)
    order = [np.concatenate([yb for _, yb in e]) for e in ea]
    assert not np.array_equal(order[0], order[1]) and not np.array_equal(order[1], order[2])
    c = DataLoader(x, y, 10, rng=2)
    assert not np.array_equal(np.concatenate([yb for _, yb in c]), order[0])


def _shift(xb, rng):
    return xb + rng.standard_normal(xb.shape, dtype=np.float32)


@pytest.mark.parametrize("skip", [0, 3, 10, 11])
def test_state_dict_resume_mid_epoch_gives_identical_batches(skip):
    x, y = _data()
    ref = DataLoader(x, y, 10, rng=5, transform=_shift)  # 11 batches per epoch
    first = _epoch(ref)
    second, state = [], None
    for b, (xb, yb) in enumerate(ref.batches()):
        second.append((xb.copy(), yb.copy()))
        if b + 1 == skip:
            state = json.loads(json.dumps(ref.state_dict()))  # a checkpoint after batch b
    third = _epoch(ref)
    if skip == 0:
        state = None
    resumed = DataLoader(x, y, 10, rng=99, transform=_shift)
    if state is None:  # checkpoint taken between epochs
        resumed.load_state_dict(json.loads(json.dumps(_after_one_epoch(x, y))))
    else:
        resumed.load_state_dict(state)
    _same(_epoch(resumed.batches(skip)), second[skip:])
    _same(_epoch(resumed), third)
    assert not np.array_equal(first[0][1], second[0][1])


def _after_one_epoch(x, y):
    loader = DataLoader(x, y, 10, rng=5, transform=_shift)
    for _ in loader:
        pass
    return loader.state_dict()  # exhausted: the state the next epoch starts from


def test_load_state_dict_checks_the_data():
    x, y = _data()
    state = DataLoader(x, y, 10, rng=0).state_dict()
    with pytest.raises(ValueError, match="num_samples=103.*num_samples=50"):
        DataLoader(x[:50], y[:50], 10).load_state_dict(state)
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(x, y, 8).load_state_dict(state)


def test_drop_last_and_partial_batches():
    x, y = _data(10)
    assert [len(yb) for _, yb in DataLoader(x, y, 3, rng=0)] == [3, 3, 3, 1]
    dropped = DataLoader(x, y, 3, rng=0, drop_last=True)
    assert len(dropped) == 3 and [len(yb) for _, yb in dropped] == [3, 3, 3]
    assert len(DataLoader(x, y, 20, drop_last=True)) == 0


def test_no_shuffle_keeps_order_and_batches_are_copies():
    x, y = _data(10)
    loader = DataLoader(x, y, 4, shuffle=False)
    got = list(loader)
    assert [yb.tolist() for _, yb in got] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    got[0][0][:] = -1
    np.testing.assert_array_equal(loader.x, x)
    assert next(iter(loader.batches(2)))[1].tolist() == [8, 9]


def test_dtypes_and_inputs():
    x64 = np.random.default_rng(0).standard_normal((6, 3))
    loader = DataLoader(x64, None, 4, rng=0)
    xb, yb = next(iter(loader))
    assert xb.dtype == np.float32 and yb is None
    tokens = np.arange(12, dtype=np.int64).reshape(6, 2)  # token ids stay integers
    assert next(iter(DataLoader(tokens, batch_size=2)))[0].dtype == np.int64
    ds = Dataset(np.zeros((5, 1, 2, 2), np.float32), np.arange(5), "toy", "train", "mem",
                 tuple("abcde"))
    assert sorted(np.concatenate([yb for _, yb in DataLoader(ds, batch_size=2)])) == list(range(5))
    assert isinstance(loader.rng, np.random.Generator)


def test_constructor_errors():
    x, y = _data(10)
    bad = x.copy()
    bad[7, 0, 1, 1] = np.inf
    with pytest.raises(DataError, match="DataLoader x: 1 sample.*NaN or inf.*index 7"):
        DataLoader(bad, y)
    with pytest.raises(ValueError, match="x has 10 samples but y has 9"):
        DataLoader(x, y[:9])
    for bs in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="batch_size"):
            DataLoader(x, y, bs)
    with pytest.raises(ValueError, match="start must lie in 0..1"):
        DataLoader(x, y, 10).batches(2)


# ------------------------------------------------------------------ splits
@pytest.mark.parametrize("val_size, k", [(0.1, 10), (25, 25), (25.0, 25), (0.333, 33)])
def test_train_val_split_sizes_and_disjointness(val_size, k):
    x, y = _data(100)
    x_tr, y_tr, x_val, y_val = train_val_split(x, y, val_size, rng=0)
    np.testing.assert_array_equal(x_tr, x[y_tr])
    assert len(y_val) == k and len(y_tr) == 100 - k
    assert sorted(np.concatenate([y_tr, y_val]).tolist()) == list(range(100))
    np.testing.assert_array_equal(x_val, x[y_val])
    again = train_val_split(x, y, val_size, rng=0)
    np.testing.assert_array_equal(again[3], y_val)


def test_stratified_split_keeps_proportions():
    labels = np.repeat(np.arange(3), [50, 30, 20])
    x = np.arange(100, dtype=np.float32)[:, None]
    _, y_tr, _, y_val = train_val_split(x, labels, 0.2, rng=1, stratify=True)
    assert np.bincount(y_val).tolist() == [10, 6, 4]
    assert np.bincount(y_tr).tolist() == [40, 24, 16]
    _, _, _, y_odd = train_val_split(x, labels, 7, rng=1, stratify=True)
    assert len(y_odd) == 7


def test_split_errors():
    x, y = _data(10)
    for bad in (0, -0.1, 10, 1.5, float("nan")):
        with pytest.raises(ValueError, match="val_size"):
            train_val_split(x, y, bad, rng=0)
    assert train_val_split(x, None, 2, rng=0)[1] is None


# ------------------------------------------------------------------ Standardizer and helpers
def test_standardizer_fits_on_training_data_only():
    rng = np.random.default_rng(0)
    train = rng.normal(3.0, 2.0, size=(500, 4)).astype(np.float32)
    val = rng.normal(5.0, 1.0, size=(100, 4)).astype(np.float32)
    s = Standardizer("global").fit(train)
    assert s.mean.shape == () and s.mean.dtype == np.float32
    np.testing.assert_allclose(s.mean, train.astype(np.float64).mean(), rtol=1e-6)
    np.testing.assert_allclose(s.std, train.astype(np.float64).std(), rtol=1e-6)
    t = s.transform(train)
    assert t.dtype == np.float32 and abs(t.mean()) < 1e-5 and abs(t.std() - 1) < 1e-5
    v = s.transform(val)
    np.testing.assert_allclose(v, (val - s.mean) / s.std, rtol=1e-6)
    assert v.mean() > 0.5  # validation keeps its shift: nothing was fitted on it
    other = Standardizer("global")
    other.load_state_dict({k: np.array(a) for k, a in s.state_dict().items()})
    np.testing.assert_array_equal(other.transform(val), v)


def test_per_feature_guards_zero_std():
    x = np.random.default_rng(1).random((50, 1, 3, 3)).astype(np.float32)
    x[:, 0, 0, 0] = 0.0  # a border pixel that is always black
    x[:, 0, 2, 2] = 0.7
    s = Standardizer("per_feature")
    t = s.fit_transform(x)
    assert s.mean.shape == (1, 3, 3) and np.isfinite(t).all()
    assert s.std[0, 0, 0] == 1.0 and s.std[0, 2, 2] == 1.0
    np.testing.assert_array_equal(t[:, 0, 0, 0], 0.0)
    np.testing.assert_allclose(t[:, 0, 1, 1].std(), 1.0, rtol=1e-5)
    with pytest.raises(ValueError, match="per_feature"):
        s.transform(np.zeros((2, 9), np.float32))
    with pytest.raises(RuntimeError, match="before fit"):
        Standardizer().transform(x)
    with pytest.raises(ValueError, match="mode"):
        Standardizer("per_pixel")


def test_per_channel():
    x = np.random.default_rng(2).random((20, 3, 4, 4)).astype(np.float32) * [[[1]], [[5]], [[9]]]
    s = Standardizer("per_channel").fit(x)
    t = s.transform(x)
    assert s.mean.shape == (1, 3, 1, 1)
    np.testing.assert_allclose(t.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(t.std(axis=(0, 2, 3)), 1, rtol=1e-4)
    np.testing.assert_allclose(s.inverse_transform(t), x, rtol=1e-5, atol=1e-5)


def test_one_hot_bias_flatten():
    oh = one_hot(np.array([2, 0, 1]), 3)
    assert oh.dtype == np.float32
    np.testing.assert_array_equal(oh, np.eye(3, dtype=np.float32)[[2, 0, 1]])
    assert one_hot(np.array([1]), 2, dtype=np.float64).dtype == np.float64
    with pytest.raises(ValueError, match="0..2"):
        one_hot(np.array([3]), 3)
    with pytest.raises(TypeError):
        one_hot(np.array([0.5]), 3)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(add_bias_column(x), [[0, 1, 2, 1], [3, 4, 5, 1]])
    with pytest.raises(ValueError, match="flatten"):
        add_bias_column(np.zeros((2, 1, 2, 2)))
    assert flatten(np.zeros((5, 1, 28, 28), np.float32)).shape == (5, 784)


# ------------------------------------------------------------------ transforms
def test_random_shift_moves_content_and_fills():
    xb = np.random.default_rng(0).random((16, 1, 6, 6)).astype(np.float32) + 1
    out = transforms.random_shift(xb, np.random.default_rng(3), max_shift=2)
    assert out.shape == xb.shape and out.dtype == np.float32
    rng = np.random.default_rng(3)  # the same draws as random_shift: row offsets, then columns
    oy, ox = rng.integers(0, 5, size=16), rng.integers(0, 5, size=16)
    for i in range(16):
        pad = np.pad(xb[i], ((0, 0), (2, 2), (2, 2)))
        np.testing.assert_array_equal(out[i], pad[:, oy[i]:oy[i] + 6, ox[i]:ox[i] + 6])
    assert (out == 0).any() and len(set(zip(oy, ox))) > 1
    np.testing.assert_array_equal(transforms.random_shift(xb, np.random.default_rng(0), 0), xb)


def test_flip_and_cifar_augment():
    xb = np.random.default_rng(0).random((8, 3, 32, 32)).astype(np.float32)
    flipped = transforms.random_flip(xb, np.random.default_rng(0), p=1.0)
    np.testing.assert_array_equal(flipped, xb[..., ::-1])
    np.testing.assert_array_equal(transforms.random_flip(xb, np.random.default_rng(0), p=0.0), xb)
    a = transforms.cifar_augment(xb, np.random.default_rng(7))
    b = transforms.cifar_augment(xb, np.random.default_rng(7))
    assert a.shape == xb.shape and np.array_equal(a, b) and not np.array_equal(a, xb)
    shift = functools.partial(transforms.random_shift, max_shift=1)
    loader = DataLoader(xb, None, 4, rng=0, transform=transforms.compose(shift))
    assert next(iter(loader))[0].shape == (4, 3, 32, 32)
    with pytest.raises(ValueError, match="NCHW"):
        transforms.random_crop(xb[0], np.random.default_rng(0))
