"""Node pruning: a pruned network equals the original with the removed units' outgoing
weights zeroed — for every criterion, Linear and Conv2d, through batch norm and dropout —
and it is really smaller; graphs that cannot be rewired are refused."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import prune
from chainrule.prune import criteria, structured


def mlp(rng):
    return cr.Sequential(cr.Linear(12, 10, rng=rng), cr.BatchNorm1d(10), cr.ReLU(),
                         cr.Dropout(0.3, rng=1), cr.Linear(10, 8, rng=rng), cr.Tanh(),
                         cr.Linear(8, 3, rng=rng))


def cnn(rng):
    return cr.Sequential(cr.Conv2d(2, 6, 3, padding=1, rng=rng), cr.BatchNorm2d(6), cr.ReLU(),
                         cr.MaxPool2d(2), cr.Dropout(0.2, rng=2),
                         cr.Conv2d(6, 5, 3, padding=1, rng=rng), cr.ReLU(), cr.Flatten(),
                         cr.Linear(5 * 4 * 4, 4, rng=rng))


def _randomise_bn(model, rng):
    for m in model.modules():
        if isinstance(m, (cr.BatchNorm1d, cr.BatchNorm2d)):
            f = m.num_features
            m.weight.data[...] = rng.uniform(0.5, 1.5, f).astype(np.float32)
            m.bias.data[...] = rng.normal(0, 0.5, f).astype(np.float32)
            m._set_buffer("running_mean", rng.normal(0, 0.3, f).astype(np.float32))
            m._set_buffer("running_var", rng.uniform(0.5, 2.0, f).astype(np.float32))


def zero_outgoing(model, name, units):
    """The original model with the outgoing weights of ``units`` of layer ``name`` zeroed."""
    import copy

    out = copy.deepcopy(model)
    path = structured.unit_path(out, name)
    cons = dict(structured.chain(out))[path.consumer]
    for u in units:
        rows = structured.consumer_rows(path, u)
        if isinstance(cons, cr.Linear):
            cons.weight.data[rows] = 0
        else:
            cons.weight.data[:, rows] = 0
    return out


CASES = [("mlp", mlp, (12,), ["0", "4"]), ("cnn", cnn, (2, 8, 8), ["0", "5"])]


@pytest.mark.parametrize("crit", sorted(criteria.CRITERIA))
@pytest.mark.parametrize("kind,build,shape,layers", CASES)
def test_pruned_equals_zeroed_outgoing(kind, build, shape, layers, crit):
    rng = np.random.default_rng(0)
    model = build(rng)
    _randomise_bn(model, rng)
    x = rng.normal(size=(16, *shape)).astype(np.float32)
    y = rng.integers(0, 4 if kind == "cnn" else 3, 16)
    for name in layers:
        s = criteria.score(model, name, crit, x=x, y=y, loss=cr.SoftmaxCrossEntropy())
        n = structured.unit_path(model, name).units
        assert s.shape == (n,) and np.isfinite(s).all()
        keep = n - 2
        drop = np.sort(np.argsort(-s, kind="stable")[keep:])
        small = prune.keep_top(model, {name: s}, {name: keep})
        ref = zero_outgoing(model, name, drop)
        np.testing.assert_allclose(small.forward(x), ref.forward(x), rtol=1e-5, atol=1e-5)
        assert small.num_parameters() < model.num_parameters()
        assert structured.widths(small)[name] == keep
        assert all(p.data.dtype == np.float32 for p in small.parameters())
    # the original model is untouched
    assert structured.widths(model) == structured.widths(build(np.random.default_rng(0)))


def test_scores_agree_with_definitions():
    rng = np.random.default_rng(1)
    model = cr.Sequential(cr.Linear(5, 4, rng=rng), cr.ReLU(), cr.Linear(4, 3, rng=rng))
    x = rng.normal(size=(20, 5)).astype(np.float32)
    y = rng.integers(0, 3, 20)
    W0, W1 = model[0].weight.data, model[2].weight.data
    np.testing.assert_allclose(criteria.weight_l2(model, "0"), np.sqrt((W0 ** 2).sum(0)),
                               rtol=1e-6)
    np.testing.assert_allclose(criteria.outgoing_l1(model, "0"), np.abs(W1).sum(1), rtol=1e-6)
    a = np.maximum(x @ W0 + model[0].bias.data, 0)
    np.testing.assert_allclose(criteria.mean_activation(model, "0", x=x), a.mean(0), rtol=1e-5)
    np.testing.assert_allclose(criteria.apoz(model, "0", x=x), (a > 0).mean(0), rtol=1e-6)
    # Taylor: per sample a·∂L/∂a with ∂L/∂a = (p − onehot)·W1ᵀ (per-sample loss, no 1/N)
    z = a @ W1 + model[2].bias.data
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p[np.arange(20), y] -= 1
    expected = np.abs(a * (p @ W1.T)).mean(0)
    got = criteria.taylor(model, "0", x=x, y=y, loss=cr.SoftmaxCrossEntropy())
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-7)
    assert all(np.all(q.grad == 0) for q in model.parameters())


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_merge_adds_outgoing_into_survivor(kind):
    rng = np.random.default_rng(2)
    if kind == "mlp":
        model = cr.Sequential(cr.Linear(6, 7, rng=rng), cr.ReLU(), cr.Dropout(0.5, rng=0),
                              cr.Linear(7, 3, rng=rng))
        x = rng.normal(size=(9, 6)).astype(np.float32)
    else:
        model = cr.Sequential(cr.Conv2d(1, 5, 3, rng=rng), cr.ReLU(), cr.MaxPool2d(2),
                              cr.Flatten(), cr.Linear(5 * 3 * 3, 2, rng=rng))
        x = rng.normal(size=(9, 1, 8, 8)).astype(np.float32)
    merged, pairs = criteria.merge_similar(model, "0", 2)
    assert len(pairs) == 2 and structured.widths(merged)["0"] == structured.widths(model)["0"] - 2
    import copy

    ref = copy.deepcopy(model)
    path = structured.unit_path(ref, "0")
    cons = dict(structured.chain(ref))[path.consumer]
    for i, j in pairs:
        ri, rj = structured.consumer_rows(path, i), structured.consumer_rows(path, j)
        cons.weight.data[ri] += cons.weight.data[rj]
        cons.weight.data[rj] = 0
    np.testing.assert_allclose(merged.forward(x), ref.forward(x), rtol=1e-5, atol=1e-5)


def test_merge_of_identical_units_is_exact():
    rng = np.random.default_rng(3)
    model = cr.Sequential(cr.Linear(4, 5, rng=rng), cr.ReLU(), cr.Linear(5, 2, rng=rng))
    model[0].weight.data[:, 3] = model[0].weight.data[:, 1]
    model[0].bias.data[3] = model[0].bias.data[1]
    merged, pairs = criteria.merge_similar(model, "0", 1)
    assert sorted(pairs[0]) == [1, 3]
    x = rng.normal(size=(7, 4)).astype(np.float32)
    np.testing.assert_allclose(merged.forward(x), model.forward(x), rtol=1e-5, atol=1e-6)


def test_refusals():
    rng = np.random.default_rng(4)
    m = cr.Sequential(cr.Linear(4, 5, rng=rng), cr.Softmax(), cr.Linear(5, 2, rng=rng))
    with pytest.raises(prune.PruneError, match="Softmax"):
        prune.remove_units(m, "0", [1])
    m = cr.Sequential(cr.Linear(4, 5, rng=rng), cr.ReLU(), cr.Linear(5, 2, rng=rng))
    with pytest.raises(prune.PruneError, match="outputs"):
        prune.remove_units(m, "2", [0])
    with pytest.raises(prune.PruneError, match="all 5 units"):
        prune.remove_units(m, "0", range(5))
    with pytest.raises(prune.PruneError, match="no prunable units"):
        prune.remove_units(m, "1", [0])
    with pytest.raises(prune.PruneError, match="units 0..4"):
        prune.remove_units(m, "0", [7])
    conv = cr.Sequential(cr.Conv2d(1, 3, 3, rng=rng), cr.ReLU(), cr.Linear(6, 2, rng=rng))
    with pytest.raises(prune.PruneError, match="no Flatten"):
        prune.remove_units(conv, "0", [0])
    bn = cr.Sequential(cr.Linear(4, 5, rng=rng), cr.BatchNorm1d(5), cr.ReLU(),
                       cr.Linear(5, 2, rng=rng))
    with pytest.raises(prune.PruneError, match="batch norm"):
        criteria.merge_similar(bn, "0", 1)

    class Skip(cr.Module):
        def __init__(self):
            super().__init__()
            self.a = cr.Linear(4, 4, rng=rng)
            self.b = cr.Linear(4, 2, rng=rng)

        def forward(self, x, *, training=False):
            return self.b.forward(x + self.a.forward(x))

    with pytest.raises(prune.PruneError, match="own forward"):
        prune.remove_units(Skip(), "a", [0])
    with pytest.raises(ValueError, match="unknown criterion"):
        prune.score(m, "0", "random")


def test_mlp_subclass_comes_back_as_sequential_with_same_keys():
    model = cr.models.MLP(20, (8, 6), "relu", 3, rng=0)
    small = prune.remove_units(model, "0", [0, 5])
    assert type(small) is cr.Sequential
    assert list(small.state_dict()) == list(model.state_dict())
    assert small[0].weight.shape == (20, 6) and small[2].weight.shape == (6, 6)
    assert small.summary((20,)).trainable_params == small.num_parameters()
