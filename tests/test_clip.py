"""clip_grad_norm_: PyTorch's semantics, frozen parameters, and the fit hook."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.core import Parameter
from chainrule.optim import clip_grad_norm_


def _params(rng, dtype=np.float64, scale=1.0):
    shapes = [(3, 4), (4,), (2, 2, 3)]
    ps = [Parameter(rng.standard_normal(s).astype(dtype)) for s in shapes]
    for p in ps:
        p.grad[...] = scale * rng.standard_normal(p.shape)
    return ps


@pytest.mark.parametrize("max_norm,norm_type", [(0.5, 2.0), (100.0, 2.0), (1.0, 1.0),
                                                (0.3, float("inf")), (2.0, 3.0)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matches_torch(rng, max_norm, norm_type, dtype):
    torch = pytest.importorskip("torch")
    ps = _params(rng, dtype)
    tps = [torch.nn.Parameter(torch.from_numpy(p.data.copy())) for p in ps]
    for p, tp in zip(ps, tps):
        tp.grad = torch.from_numpy(p.grad.copy())
    total = clip_grad_norm_(ps, max_norm, norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(tps, max_norm, norm_type)
    assert isinstance(total, float)
    tol = 1e-12 if dtype == np.float64 else 1e-6
    assert total == pytest.approx(float(ttotal), rel=tol)
    for p, tp in zip(ps, tps):
        assert p.grad.dtype == dtype
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=tol * 10, atol=0)


def test_clips_to_max_norm_and_leaves_small_gradients(rng):
    ps = _params(rng, scale=10.0)
    before = [p.grad.copy() for p in ps]
    total = clip_grad_norm_(ps, 1.0)
    expected = np.sqrt(sum((g ** 2).sum() for g in before))
    assert total == pytest.approx(expected, rel=1e-12)
    after = np.sqrt(sum((p.grad ** 2).sum() for p in ps))
    assert after == pytest.approx(1.0 / (1.0 + 1e-6 / expected), rel=1e-9)
    small = _params(rng, scale=1e-3)
    kept = [p.grad.copy() for p in small]
    clip_grad_norm_(small, 1.0)
    for p, g in zip(small, kept):
        np.testing.assert_array_equal(p.grad, g)


def test_frozen_parameters_are_ignored(rng):
    ps = _params(rng, scale=10.0)
    ps[1].requires_grad = False
    frozen = ps[1].grad.copy()
    total = clip_grad_norm_(ps, 1.0)
    expected = np.sqrt((ps[0].grad ** 2).sum() + (ps[2].grad ** 2).sum())
    assert total > 1.0
    assert expected == pytest.approx(1.0, rel=1e-5)  # the other two were clipped...
    np.testing.assert_array_equal(ps[1].grad, frozen)  # ...the frozen one was not touched


def test_accepts_a_module_and_rejects_bad_norm(rng):
    model = cr.Linear(3, 2, rng=0)
    model.weight.grad[...] = 5.0
    assert clip_grad_norm_(model, 1.0) == pytest.approx(np.sqrt(6 * 25.0))
    with pytest.raises(ValueError):
        clip_grad_norm_(model, 1.0, norm_type=0.0)


def test_fit_clips_between_backward_and_step(rng):
    x = rng.standard_normal((16, 3)).astype(np.float32)
    y = (100.0 * rng.standard_normal((16, 1))).astype(np.float32)   # huge gradients
    lr, max_norm = 0.1, 0.5

    def run(clip):
        model = cr.Sequential(cr.Linear(3, 1, rng=0))
        w0 = model[0].weight.data.copy()
        opt = cr.optim.SGD(model.parameters(), lr=lr)
        trainer = cr.train.Trainer(model, cr.MSELoss(), opt, metrics=None,
                                   clip_grad_norm=clip, divergence=False)
        trainer.fit([(x, y)], epochs=1)
        return model, w0, trainer

    model, w0, trainer = run(max_norm)
    step = np.sqrt(((model[0].weight.data - w0) ** 2).sum() + (model[0].bias.data ** 2).sum())
    assert trainer.last_grad_norm > max_norm
    assert step == pytest.approx(lr * max_norm, rel=1e-4)   # one step of length lr·max_norm
    unclipped, w0, _ = run(None)
    big = np.sqrt(((unclipped[0].weight.data - w0) ** 2).sum())
    assert big > 10 * lr * max_norm
    with pytest.raises(ValueError):
        cr.train.Trainer(model, cr.MSELoss(), cr.optim.SGD(model.parameters(), lr=0.1),
                         clip_grad_norm=0.0)
