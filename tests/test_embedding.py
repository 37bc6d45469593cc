"""Embedding (lookup, scatter-add backward, padding_idx, from_pretrained) and frozen parameters
(Parameter.requires_grad honoured by the optimizers and by summary)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import chainrule as cr
from chainrule import Embedding
from chainrule.core import Parameter
from chainrule.gradcheck import gradcheck
from chainrule.layers.embedding import _scatter_add
from harness import assert_all_dtype


def test_forward_is_row_lookup_and_shapes(rng):
    layer = Embedding(10, 4, rng=0)
    ids = rng.integers(0, 10, (3, 5))
    y = layer.forward(ids)
    assert y.shape == (3, 5, 4) and y.dtype == np.float32
    np.testing.assert_array_equal(y, layer.weight.data[ids])
    assert layer.output_shape((5,)) == (5, 4)
    assert layer.macs((5,)) == 0


def test_backward_scatter_adds_repeated_ids_and_returns_none(rng):
    layer = Embedding(6, 3, rng=0, dtype=np.float64)
    ids = np.array([[1, 1, 4, 1], [0, 4, 1, 5]])
    dy = rng.standard_normal((2, 4, 3))
    layer.forward(ids)
    assert layer.backward(dy) is None
    expected = np.zeros((6, 3))
    for (n, t), k in np.ndenumerate(ids):
        expected[k] += dy[n, t]
    np.testing.assert_allclose(layer.weight.grad, expected, rtol=1e-14, atol=1e-15)
    assert np.all(layer.weight.grad[[2, 3]] == 0)
    layer.backward(dy)                                  # gradients accumulate
    np.testing.assert_allclose(layer.weight.grad, 2 * expected, rtol=1e-14, atol=1e-15)


def test_gradcheck_parameters(rng):
    report = gradcheck(Embedding(7, 3, rng=0), rng.integers(0, 7, (4, 6)))
    assert report.ok, str(report)
    assert [r.name for r in report.results] == ["weight"]


def test_scatter_add_equals_add_at(rng):
    ids = rng.integers(0, 50, 2000)
    rows = rng.standard_normal((2000, 7))
    a, b = np.zeros((50, 7)), np.zeros((50, 7))
    np.add.at(a, ids, rows)
    _scatter_add(b, ids, rows)
    np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)
    _scatter_add(b, ids[:0], rows[:0])                  # no ids: nothing changes
    np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)


def test_padding_idx_row_is_zero_and_gets_no_gradient(rng):
    layer = Embedding(5, 3, padding_idx=-1, rng=0)
    assert layer.padding_idx == 4
    np.testing.assert_array_equal(layer.weight.data[4], 0.0)
    ids = np.array([[4, 1, 4], [2, 4, 1]])
    y = layer.forward(ids)
    np.testing.assert_array_equal(y[ids == 4], 0.0)
    layer.backward(np.ones_like(y))
    np.testing.assert_array_equal(layer.weight.grad[4], 0.0)
    np.testing.assert_array_equal(layer.weight.grad[1], 2.0)
    with pytest.raises(ValueError):
        Embedding(5, 3, padding_idx=5)


def test_errors(rng):
    layer = Embedding(4, 2)
    with pytest.raises(RuntimeError):
        layer.backward(np.ones((1, 1, 2)))
    with pytest.raises(TypeError):
        layer.forward(np.ones((2, 3)))
    with pytest.raises(IndexError):
        layer.forward(np.array([[0, 4]]))
    layer.forward(np.array([[0, 3]]))
    with pytest.raises(ValueError):
        layer.backward(np.ones((1, 2, 3)))


def test_float32_everywhere_after_a_step(rng):
    model = cr.Sequential(Embedding(9, 4, rng=0), cr.GRU(4, 3, return_sequences=False, rng=1),
                          cr.Linear(3, 2, rng=2))
    opt = cr.optim.Adam(model.parameters(), lr=1e-2)
    out = model.forward(rng.integers(0, 9, (2, 5)))
    assert model.backward(np.ones_like(out)) is None     # Sequential passes the None through
    opt.step()
    assert_all_dtype(model, np.float32)
    assert all(st[k].dtype == np.float32 for st in opt.state for k in st)


def test_from_pretrained_frozen_and_trainable(rng):
    vectors = rng.standard_normal((6, 3))
    frozen = Embedding.from_pretrained(vectors, padding_idx=0)
    assert frozen.weight.dtype == np.float32 and not frozen.weight.requires_grad
    np.testing.assert_array_equal(frozen.weight.data, vectors.astype(np.float32))
    assert np.any(frozen.weight.data[0] != 0)            # as given, like PyTorch
    ids = np.array([[1, 2, 2]])
    frozen.forward(ids)
    frozen.backward(np.ones((1, 3, 3), dtype=np.float32))
    np.testing.assert_array_equal(frozen.weight.grad, 0.0)
    opt = cr.optim.SGD(frozen.parameters(), lr=1.0, momentum=0.9, weight_decay=0.1)
    frozen.weight.grad[...] = 1.0                        # even a filled grad is not applied
    opt.step()
    np.testing.assert_array_equal(frozen.weight.data, vectors.astype(np.float32))
    trainable = Embedding.from_pretrained(vectors, freeze=False, dtype=np.float64)
    assert trainable.weight.requires_grad and trainable.weight.dtype == np.float64
    trainable.forward(ids)
    trainable.backward(np.ones((1, 3, 3)))
    cr.optim.SGD(trainable.parameters(), lr=0.5).step()
    np.testing.assert_allclose(trainable.weight.data[2], vectors[2] - 1.0)
    with pytest.raises(ValueError):
        Embedding.from_pretrained(np.ones(3))


@pytest.mark.parametrize("make_opt", [
    lambda ps: cr.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
    lambda ps: cr.optim.SGD(ps, lr=0.1, momentum=0.5, nesterov=True),
    lambda ps: cr.optim.Adam(ps, lr=0.1, weight_decay=0.01),
], ids=["sgd momentum decay", "nesterov", "adam"])
def test_optimizers_skip_frozen_parameters(rng, make_opt):
    frozen = Parameter(rng.standard_normal((3, 2)).astype(np.float32), requires_grad=False)
    live = Parameter(rng.standard_normal(4).astype(np.float32))
    opt = make_opt([frozen, live])
    before_f, before_l = frozen.data.copy(), live.data.copy()
    for _ in range(3):
        frozen.grad[...] = 1.0
        live.grad[...] = 1.0
        opt.step()
    np.testing.assert_array_equal(frozen.data, before_f)
    assert np.all(live.data != before_l)
    for buf in opt.state[0].values():                   # the frozen one's state never moved
        np.testing.assert_array_equal(buf, 0.0)
    assert any(np.any(buf != 0) for buf in opt.state[1].values())


def test_parameter_switch_survives_copies_and_shows_in_repr():
    p = Parameter(np.zeros(2, dtype=np.float32), "w", requires_grad=False)
    assert "requires_grad=False" in repr(p)
    assert copy.deepcopy(p).requires_grad is False
    assert Parameter(np.zeros(1)).requires_grad is True


def test_summary_counts_frozen_parameters_as_non_trainable():
    model = cr.Sequential(Embedding.from_pretrained(np.ones((20, 5))),
                          cr.LSTM(5, 4, return_sequences=False, rng=0), cr.Linear(4, 2, rng=1))
    s = model.summary((7,))
    lstm = 4 * (5 * 4 + 4 * 4 + 4)
    assert s.non_trainable_params == 100
    assert s.trainable_params == lstm + 10
    assert s.rows[0].output_shape == (7, 5) and s.rows[0].params == 100
    assert s.rows[0].trainable == 0 and s.rows[0].non_trainable == 100
    assert "Non-trainable params: 100" in str(s)
