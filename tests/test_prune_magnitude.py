"""Magnitude pruning: exact sparsity per layer / globally, masks that stay zero through
``fit`` (SGD with momentum and weight decay, Adam, a schedule), the sparse export's round
trip, node-pruned models that save, load and train, and prune → retrain schedules."""

from __future__ import annotations

import os

import numpy as np
import pytest

import chainrule as cr
from chainrule import prune
from chainrule.data import DataLoader
from chainrule.prune import export, magnitude
from chainrule.train import LearningRateScheduler, evaluate, fit


def data(n=200, d=10, k=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(np.float32)
    y = (x[:, :k].argmax(1)).astype(np.int64)
    return x, y


def test_layer_and_global_sparsity():
    model = cr.models.MLP(10, (30, 20), "relu", 3, rng=0)
    masks = prune.magnitude_masks(model, 0.75, scope="layer")
    assert sorted(masks) == ["0.weight", "2.weight", "4.weight"]
    for n, m in masks.items():
        assert (~m).sum() == round(0.75 * m.size)
        w = np.abs(dict(model.named_parameters())[n].data)
        assert w[~m].max() <= w[m].min()
    g = prune.magnitude_masks(model, 0.75, scope="global")
    total = sum(m.size for m in g.values())
    assert sum((~m).sum() for m in g.values()) == round(0.75 * total)
    kept = np.concatenate([np.abs(dict(model.named_parameters())[n].data)[m]
                           for n, m in g.items()])
    dropped = np.concatenate([np.abs(dict(model.named_parameters())[n].data)[~m]
                              for n, m in g.items()])
    assert dropped.max() <= kept.min()
    # the layers' fractions differ under one global threshold
    assert len({round(float((~m).mean()), 3) for m in g.values()}) > 1
    # iterative: earlier zeros stay pruned
    more = prune.magnitude_masks(model, 0.9, previous=masks)
    assert all(np.all(more[n] <= masks[n]) for n in masks)
    with pytest.raises(ValueError, match="sparsity"):
        prune.magnitude_masks(model, 1.0)


@pytest.mark.parametrize("make", [
    lambda ps: cr.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-3),
    lambda ps: cr.optim.Adam(ps, lr=0.01, weight_decay=1e-3),
])
def test_masks_stay_zero_through_fit(make):
    x, y = data()
    model = cr.models.MLP(10, (16,), "relu", 3, rng=1)
    masks = prune.magnitude_masks(model, 0.8)
    opt = prune.MaskedOptimizer(make(model.parameters()), model, masks)
    zero_at_validation = []

    class Check(cr.train.Callback):
        def on_validation_end(self, step, logs):
            zero_at_validation.append(all(np.all(dict(model.named_parameters())[n].data[~m] == 0)
                                          for n, m in masks.items()))

    before = model.state_dict()
    hist = fit(model, cr.SoftmaxCrossEntropy(), opt, DataLoader(x, y, 20, rng=0), (x, y),
               epochs=3, val_every=4, callbacks=[Check(), LearningRateScheduler(
                   cr.optim.CosineDecay(3))], progress=False)
    params = dict(model.named_parameters())
    for n, m in masks.items():
        assert np.all(params[n].data[~m] == 0.0)
        assert not np.allclose(params[n].data[m], before[n][m])    # the rest trained
    assert zero_at_validation and all(zero_at_validation)
    assert hist.epoch_log[-1]["loss"] < hist.epoch_log[0]["loss"]
    assert opt.lr == opt.inner.lr < 0.1                            # the schedule reached it
    by_id = {id(p): masks[n] for n, p in model.named_parameters() if n in masks}
    for p, st in zip(opt.inner.params, opt.inner.state):           # state untouched where masked
        for buf in st.values():
            assert buf.dtype == np.float32
            if id(p) in by_id and np.shape(buf) == p.shape:
                assert np.all(buf[~by_id[id(p)]] == 0)


def test_masked_optimizer_refuses_foreign_parameters():
    a, b = cr.models.MLP(4, (3,), "relu", 2, rng=0), cr.models.MLP(4, (3,), "relu", 2, rng=0)
    masks = prune.magnitude_masks(a, 0.5)
    with pytest.raises(ValueError, match="not among"):
        prune.MaskedOptimizer(cr.optim.SGD(b.parameters(), lr=0.1), a, masks)


@pytest.mark.parametrize("shape", [(300, 100), (8, 3, 5, 5), (7,)])
def test_csr_round_trip(shape):
    rng = np.random.default_rng(0)
    w = rng.normal(size=shape).astype(np.float32)
    w[rng.random(shape) < 0.9] = 0
    parts = export.to_csr(w)
    assert parts["data"].size == np.count_nonzero(w)
    np.testing.assert_array_equal(export.from_csr(**parts), w)
    assert export.from_csr(**parts).dtype == np.float32


def test_sparse_export_round_trips_and_is_smaller(tmp_path):
    model = cr.models.MLP(784, (300, 100), "relu", 10, rng=0)
    masks = prune.magnitude_masks(model, 0.92)
    prune.apply_masks(model, masks)
    dense = cr.save(model, tmp_path / "dense.npz")
    sparse = prune.save_sparse(model, tmp_path / "sparse.npz", note="x")
    assert os.path.getsize(sparse) < os.path.getsize(dense) / 5
    again = cr.models.MLP(784, (300, 100), "relu", 10, rng=5)
    meta = prune.load_sparse(sparse, again)
    assert meta["note"] == "x" and set(masks) <= set(meta["sparse"])   # (zero biases too)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(again.state_dict()[k], v)
    with pytest.raises(cr.io.CheckpointError):
        prune.load_sparse(sparse, cr.models.MLP(784, (30,), "relu", 10, rng=5))


def test_node_pruned_model_saves_loads_and_trains(tmp_path):
    x, y = data()
    template = cr.Sequential(cr.Linear(10, 12, rng=0), cr.BatchNorm1d(12), cr.ReLU(),
                             cr.Dropout(0.2, rng=0), cr.Linear(12, 3, rng=0))
    small = prune.remove_units(template, "0", [1, 4, 5, 9])
    fit(small, cr.SoftmaxCrossEntropy(), cr.optim.SGD(small.parameters(), lr=0.1),
        DataLoader(x, y, 20, rng=0), epochs=1, progress=False)
    path = prune.save_pruned(small, tmp_path / "small.npz")
    back, meta = prune.load_pruned(path, template)
    assert meta["unit_widths"] == {"0": 8}
    np.testing.assert_array_equal(back.forward(x), small.forward(x))
    assert back[0].weight.shape == (10, 8) and back[1].running_mean.shape == (8,)
    hist = fit(back, cr.SoftmaxCrossEntropy(), cr.optim.SGD(back.parameters(), lr=0.1),
               DataLoader(x, y, 20, rng=0), epochs=3, progress=False)
    assert hist.epoch_log[-1]["loss"] < hist.epoch_log[0]["loss"]
    with pytest.raises(cr.io.CheckpointError, match="unit_widths"):
        prune.load_pruned(cr.save(template, tmp_path / "plain.npz"), template)


def test_schedules_retrain_with_fit():
    x, y = data(400)
    loss = cr.SoftmaxCrossEntropy()
    model = cr.models.MLP(10, (32,), "relu", 3, rng=2)
    fit(model, loss, cr.optim.SGD(model.parameters(), lr=0.1), DataLoader(x, y, 20, rng=0),
        epochs=5, progress=False)
    retrain = prune.fit_retrainer(loss, lambda ps: cr.optim.SGD(ps, lr=0.05, momentum=0.9),
                                  DataLoader(x, y, 20, rng=1), epochs=2, progress=False)

    def measure(m):
        return {"accuracy": evaluate(m, loss, (x, y))["accuracy"]}

    assert prune.keep_fractions(0.75, 2) == pytest.approx([0.5, 0.25])
    small, rows = prune.node_schedule(model, 0.5, criterion="taylor", rounds=2, x=x, y=y,
                                      loss=loss, retrain=retrain, measure=measure)
    assert [r["widths"]["0"] for r in rows] == [23, 16]
    assert small[0].weight.shape == (10, 16) and small[2].weight.shape == (16, 3)
    assert rows[-1]["retrained_accuracy"] >= rows[-1]["pruned_accuracy"]
    assert rows[-1]["retrained_accuracy"] > 0.8
    sparse, masks, mrows = prune.magnitude_schedule(model, 0.9, rounds=3, retrain=retrain,
                                                    measure=measure)
    assert [r["round"] for r in mrows] == [1, 2, 3]
    assert mrows[-1]["nonzero"] == sum(int(m.sum()) for m in masks.values())
    assert mrows[-1]["nonzero"] <= round(0.1 * mrows[-1]["weights"]) + 1
    assert magnitude.sparsity_of(sparse)["nonzero"] == mrows[-1]["nonzero"]
    per = {"0.weight": 0.9, "2.weight": 0.5}
    _, m2, rows2 = prune.magnitude_schedule(cr.models.MLP(10, (32,), "relu", 3, rng=3), per,
                                            rounds=2)
    assert sorted(m2) == sorted(per)
    assert [int((~m2[n]).sum()) for n in per] == [round(0.9 * 320), round(0.5 * 96)]
    assert rows2[0]["per_layer"]["0.weight"] == 320 - round((1 - 0.1 ** 0.5) * 320)
    assert mrows[-1]["retrained_accuracy"] > 0.8
