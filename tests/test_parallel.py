"""chainrule's thread pool: bands cover the work exactly once, errors surface, and layers give
the same numbers with 1, 2 and 3 workers (within float32 rounding; bitwise for a fixed count).

The size thresholds below which work is not shared out are lowered here, so that even small
test arrays take the banded paths whose serial (one-worker) form the gradient checks verify.
"""

from __future__ import annotations

import itertools
import threading

import numpy as np
import pytest

import chainrule as cr
from chainrule import parallel
from chainrule.layers import (
    GRU,
    LSTM,
    Conv2d,
    Flatten,
    Linear,
    MaxPool2d,
    ReLU,
    _sequence,
)
from chainrule.losses import SoftmaxCrossEntropy
from chainrule.optim import SGD


@pytest.fixture
def tiny_bands(monkeypatch):
    """Share out even tiny arrays and products."""
    monkeypatch.setattr(parallel, "MIN_ELEMENTS", 8)
    monkeypatch.setattr(parallel, "MIN_MACS", 8)


def test_run_calls_every_band_once_and_names_workers():
    with cr.num_threads(3):
        seen, lock = [], threading.Lock()

        def band(i, w):
            with lock:
                seen.append((i, w))

        parallel.run(band, 50)
    assert sorted(i for i, _ in seen) == list(range(50))
    assert {w for _, w in seen} <= {0, 1, 2}


def test_run_reraises_a_bands_error_and_stays_usable():
    with cr.num_threads(2):
        def band(i, w):
            if i == 7:
                raise KeyError("band seven")

        with pytest.raises(KeyError, match="band seven"):
            parallel.run(band, 20)
        out = np.zeros(20)
        parallel.run(lambda i, w: out.__setitem__(i, i), 20)
    assert out.tolist() == list(range(20))


def test_nested_runs_are_serial_not_deadlocked():
    with cr.num_threads(2):
        out = np.zeros((4, 5))
        parallel.run(lambda i, w: parallel.run(lambda j, v: out.__setitem__((i, j), i * j), 5),
                     4)
    assert np.array_equal(out, np.outer(range(4), range(5)))


@pytest.mark.parametrize("size,parts,minimum", [(10, 3, 1), (7, 10, 1), (100, 4, 30), (1, 4, 1)])
def test_split_covers_the_range_contiguously(size, parts, minimum):
    bounds = parallel.split(size, parts, minimum)
    assert bounds[0][0] == 0 and bounds[-1][1] == size
    assert all(a < b for a, b in bounds)
    assert all(b == c for (_, b), (c, _) in itertools.pairwise(bounds))
    assert len(bounds) <= max(1, min(parts, size // minimum))
    lengths = [b - a for a, b in bounds]
    assert max(lengths) - min(lengths) <= 1 and lengths == sorted(lengths, reverse=True)


def test_slices_cut_along_the_outermost_axis_in_memory(tiny_bands):
    a = np.zeros((4, 5, 6, 8), dtype=np.float32).transpose(3, 0, 1, 2)  # NCHW view of CHWN
    with cr.num_threads(2):
        pieces = parallel.slices(a)
    assert len(pieces) == 4 and all(len(p) == 2 and p[0] == slice(None) for p in pieces)
    covered = np.zeros(a.shape, dtype=int)
    for p in pieces:
        covered[p] += 1
    assert (covered == 1).all()


def test_matmul_equals_numpy_for_tall_and_wide_products(tiny_bands):
    rng = np.random.default_rng(0)
    for m, k, n in [(300, 40, 20), (6, 50, 400), (1, 3, 2)]:
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        with cr.num_threads(3):
            got = parallel.matmul(a, b)
            got_t = parallel.matmul(b.T, a.T)          # transposed (F-ordered) operands
        np.testing.assert_allclose(got, a @ b, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(got_t, (a @ b).T, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("m, k, n", [(16, 300, 26), (40, 30, 50)])   # small, large outputs
def test_gemm_equals_matmul_for_any_layout(m, k, n):
    rng = np.random.default_rng(6)
    a = rng.standard_normal((m, 2 * k)).astype(np.float32)[:, ::2]      # strided rows
    b = rng.standard_normal((n, k)).astype(np.float32)
    want = a.astype(np.float64) @ b.T.astype(np.float64)
    for left in (a, np.ascontiguousarray(a), np.asfortranarray(a)):
        for right in (b.T, np.ascontiguousarray(b.T)):
            out = np.empty((m, n), dtype=np.float32)
            assert parallel.gemm(left, right, out) is out
            np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-4)
            wide = np.zeros((m, 2 * n), dtype=np.float32)       # a non-contiguous out
            parallel.gemm(left, right, wide[:, ::2])
            np.testing.assert_allclose(wide[:, ::2], want, rtol=1e-4, atol=1e-4)
            assert not wide[:, 1::2].any()


def _layer_case(name: str):
    rng = np.random.default_rng(1)
    if name == "conv-same":
        return Conv2d(3, 8, 5, padding="same", rng=1), rng.standard_normal((9, 3, 11, 13))
    if name == "conv-stride2-nobias":
        return (Conv2d(4, 6, 3, stride=2, padding=1, bias=False, rng=2),
                rng.standard_normal((5, 4, 12, 9)))
    if name == "conv-pointwise":
        return Conv2d(5, 7, 1, rng=3), rng.standard_normal((4, 5, 6, 6))
    if name == "maxpool":
        return MaxPool2d(2), rng.standard_normal((6, 5, 10, 8))
    if name == "maxpool-overlap":
        return MaxPool2d(3, stride=2, padding=1), rng.standard_normal((6, 5, 11, 9))
    if name == "relu":
        return ReLU(), rng.standard_normal((7, 6, 5, 4)).transpose(3, 0, 1, 2)
    if name == "linear":
        return Linear(30, 17, rng=4), rng.standard_normal((40, 30))
    raise KeyError(name)


def _forward_backward(name: str, threads: int):
    layer, x = _layer_case(name)
    x = x.astype(np.float32)
    with cr.num_threads(threads):
        y = np.array(layer.forward(x, training=True))
        dy = np.random.default_rng(2).standard_normal(y.shape).astype(np.float32)
        dx = np.array(layer.backward(dy))
    grads = [np.array(p.grad) for p in layer.parameters()]
    return y, dx, grads


@pytest.mark.parametrize("name", ["conv-same", "conv-stride2-nobias", "conv-pointwise", "maxpool",
                                  "maxpool-overlap", "relu", "linear"])
def test_layers_agree_across_thread_counts(name, tiny_bands):
    y1, dx1, g1 = _forward_backward(name, 1)
    for threads in (2, 3):
        y, dx, g = _forward_backward(name, threads)
        np.testing.assert_allclose(y, y1, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(dx, dx1, rtol=1e-5, atol=1e-5)
        for a, b in zip(g, g1):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-4)
        # bitwise reproducible for a fixed number of threads, whichever thread ran a band
        y_again, dx_again, g_again = _forward_backward(name, threads)
        assert np.array_equal(y, y_again) and np.array_equal(dx, dx_again)
        assert all(np.array_equal(a, b) for a, b in zip(g, g_again))


def _train_steps(threads: int, steps: int = 3) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    model = cr.Sequential(Conv2d(1, 6, 3, padding="same", rng=1), ReLU(), MaxPool2d(2),
                          Conv2d(6, 8, 3, padding="same", rng=2), ReLU(), MaxPool2d(2),
                          Flatten(), Linear(8 * 4 * 4, 10, rng=3))
    opt, loss = SGD(model.parameters(), lr=0.05, momentum=0.9), SoftmaxCrossEntropy()
    x = rng.standard_normal((32, 1, 16, 16)).astype(np.float32)
    y = rng.integers(0, 10, 32)
    with cr.num_threads(threads):
        for _ in range(steps):
            model.zero_grad()
            loss.forward(model.forward(x, training=True), y)
            model.backward(loss.backward())
            opt.step()
    return [np.array(p.data) for p in model.parameters()]


def test_training_steps_agree_with_one_and_two_workers(tiny_bands):
    one, two, two_again = _train_steps(1), _train_steps(2), _train_steps(2)
    for a, b in zip(one, two):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)
    assert all(np.array_equal(a, b) for a, b in zip(two, two_again))


@pytest.mark.parametrize("cell", [LSTM, GRU])
def test_recurrent_layers_agree_across_thread_counts(cell, tiny_bands, monkeypatch):
    # Small chunks, so the products after the reverse loop form several groups of chunks.
    monkeypatch.setattr(_sequence, "_CHUNK_BYTES", 512)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((6, 9, 5)).astype(np.float32)
    lengths = np.array([9, 4, 9, 7, 1, 9])

    def run(threads: int):
        layer = cell(5, 7, num_layers=2, bidirectional=True, rng=5)
        with cr.num_threads(threads):
            y = layer.forward(x, lengths=lengths, training=True)
            dx = layer.backward(np.cos(y))
        return [y, dx, *(np.array(p.grad) for p in layer.parameters())]

    one = run(1)
    for threads in (2, 3):
        got, again = run(threads), run(threads)
        for a, b in zip(got, one):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
        assert all(np.array_equal(a, b) for a, b in zip(got, again))


def test_default_follows_the_environment_and_rejects_nonsense(monkeypatch):
    monkeypatch.setenv("CHAINRULE_NUM_THREADS", "3")
    assert parallel.default_workers() == 3
    monkeypatch.setenv("CHAINRULE_NUM_THREADS", "zero")
    with pytest.raises(ValueError, match="CHAINRULE_NUM_THREADS"):
        parallel.default_workers()


def test_default_leaves_out_cores_that_other_processes_keep_busy(monkeypatch):
    monkeypatch.delenv("CHAINRULE_NUM_THREADS", raising=False)
    monkeypatch.setattr(parallel, "_usable_cores", lambda: 4)
    for busy, expected in [(0.0, 4), (0.4, 4), (1.2, 3), (3.9, 1), (7.0, 1)]:
        monkeypatch.setattr(parallel, "other_busy_cores", lambda seconds=0.1, b=busy: b)
        assert parallel.default_workers() == expected


def test_other_busy_cores_is_a_sane_reading():
    busy = parallel.other_busy_cores(0.05)
    assert 0.0 <= busy <= parallel._usable_cores() + 1.0  # tick rounding aside


def test_one_switch_sets_the_pool_and_pins_blas():
    from threadpoolctl import threadpool_info

    with cr.num_threads(2):
        assert cr.get_num_threads() == parallel.workers() == 2
        blas = [i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"]
        assert blas and all(n == 1 for n in blas)
