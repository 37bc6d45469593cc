"""Optimizers: one step against the written update rule, validation, state round trips."""

from __future__ import annotations

import io

import numpy as np
import pytest

import chainrule as cr
from chainrule.core import Parameter
from chainrule.optim import SGD, Adam, CosineDecay, ExponentialDecay, StepDecay


def _param(seed: int = 0, shape=(3, 4), dtype=np.float64) -> Parameter:
    rng = np.random.default_rng(seed)
    p = Parameter(rng.standard_normal(shape).astype(dtype))
    p.grad[...] = rng.standard_normal(shape).astype(dtype)
    return p


def _steps(opt, p, grads):
    for g in grads:
        p.grad[...] = g
        opt.step()


# ---------------------------------------------------------------- SGD by hand
def test_sgd_plain_one_step():
    p = _param()
    w0, g = p.data.copy(), p.grad.copy()
    SGD([p], lr=0.1).step()
    np.testing.assert_allclose(p.data, w0 - 0.1 * g, rtol=0, atol=1e-15)


def test_sgd_weight_decay_one_step_leaves_grad_untouched():
    p = _param()
    w0, g = p.data.copy(), p.grad.copy()
    SGD([p], lr=0.1, weight_decay=0.01).step()
    np.testing.assert_allclose(p.data, w0 - 0.1 * (g + 0.01 * w0), rtol=1e-15, atol=1e-15)
    assert np.array_equal(p.grad, g)


@pytest.mark.parametrize("dampening", [0.0, 0.9])
def test_sgd_momentum_two_steps(dampening):
    """Step 1 sets v = g (PyTorch: no dampening on the first step); step 2 v = μv + (1-τ)g."""
    mu, lr, wd = 0.9, 0.05, 0.001
    p = _param()
    rng = np.random.default_rng(1)
    g1, g2 = rng.standard_normal((2, 3, 4))
    w = p.data.copy()
    opt = SGD([p], lr=lr, momentum=mu, dampening=dampening, weight_decay=wd)
    _steps(opt, p, [g1])
    v = g1 + wd * w
    w = w - lr * v
    np.testing.assert_allclose(p.data, w, rtol=1e-14)
    _steps(opt, p, [g2])
    v = mu * v + (1 - dampening) * (g2 + wd * w)
    w = w - lr * v
    np.testing.assert_allclose(p.data, w, rtol=1e-14)
    np.testing.assert_allclose(opt.state[0]["momentum_buffer"], v, rtol=1e-14)


def test_sgd_nesterov_two_steps():
    mu, lr = 0.8, 0.1
    p = _param()
    rng = np.random.default_rng(2)
    g1, g2 = rng.standard_normal((2, 3, 4))
    w = p.data.copy()
    opt = SGD([p], lr=lr, momentum=mu, nesterov=True, weight_decay=0.01)
    _steps(opt, p, [g1, g2])
    ga = g1 + 0.01 * w
    v = ga
    w = w - lr * (ga + mu * v)
    gb = g2 + 0.01 * w
    v = mu * v + gb
    w = w - lr * (gb + mu * v)
    np.testing.assert_allclose(p.data, w, rtol=1e-14)


# ---------------------------------------------------------------- Adam by hand
@pytest.mark.parametrize("wd", [0.0, 0.1])
def test_adam_three_steps_with_bias_correction(wd):
    lr, b1, b2, eps = 0.01, 0.9, 0.99, 1e-8
    p = _param()
    rng = np.random.default_rng(3)
    grads = rng.standard_normal((3, 3, 4))
    w = p.data.copy()
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    opt = Adam([p], lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd)
    for t, g in enumerate(grads, start=1):
        _steps(opt, p, [g])
        g = g + wd * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
        np.testing.assert_allclose(p.data, w, rtol=1e-13)
    assert opt.step_count == 3


def test_adam_first_step_moves_each_weight_by_about_lr():
    """Bias correction makes the first step ±lr·g/|g| (up to ε), whatever the gradient scale."""
    p = _param()
    p.grad *= 1e-3
    w0 = p.data.copy()
    Adam([p], lr=0.01).step()
    np.testing.assert_allclose(np.abs(p.data - w0), 0.01, rtol=1e-4)


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize("kwargs", [
    {"lr": -0.1}, {"lr": float("nan")}, {"lr": 0.1, "momentum": 1.0}, {"lr": 0.1, "momentum": -0.1},
    {"lr": 0.1, "nesterov": True}, {"lr": 0.1, "momentum": 0.9, "dampening": 0.5, "nesterov": True},
    {"lr": 0.1, "weight_decay": -1.0}, {"lr": 0.1, "dampening": 1.5},
])
def test_sgd_bad_hyperparameters(kwargs):
    with pytest.raises(ValueError):
        SGD([_param()], **kwargs)


@pytest.mark.parametrize("kwargs", [
    {"lr": -1.0}, {"betas": (1.0, 0.999)}, {"betas": (0.9, -0.1)}, {"eps": 0.0},
    {"eps": -1e-8}, {"weight_decay": -0.1}, {"betas": (0.9,)},
])
def test_adam_bad_hyperparameters(kwargs):
    with pytest.raises(ValueError):
        Adam([_param()], **kwargs)


def test_empty_or_duplicate_params_rejected():
    p = _param()
    with pytest.raises(ValueError):
        SGD([], lr=0.1)
    with pytest.raises(ValueError):
        SGD([p, p], lr=0.1)


def test_accepts_module_and_zero_grad():
    model = cr.Sequential(cr.Linear(3, 2, rng=0))
    opt = SGD(model, lr=0.1)
    for p in model.parameters():
        p.grad += 1.0
    opt.zero_grad()
    assert all(not p.grad.any() for p in model.parameters())


# ---------------------------------------------------------------- state
@pytest.mark.parametrize("make", [
    lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
    lambda ps: SGD(ps, lr=0.1, momentum=0.9, dampening=0.9),
    lambda ps: SGD(ps, lr=0.1),
    lambda ps: Adam(ps, lr=1e-2, betas=(0.8, 0.9), weight_decay=1e-2),
])
def test_state_dict_round_trip_through_npz_continues_identically(make):
    rng = np.random.default_rng(5)
    grads = rng.standard_normal((6, 2, 3, 4)).astype(np.float32)
    pa = [_param(i, dtype=np.float32) for i in range(2)]
    pb = [_param(i, dtype=np.float32) for i in range(2)]
    opt_a, opt_b = make(pa), make(pb)
    for k in range(3):
        for p, g in zip(pa, grads[k]):
            p.grad[...] = g
        opt_a.step()
    opt_a.lr = 0.03  # e.g. set by a schedule; must be restored too
    buf = io.BytesIO()
    np.savez(buf, **opt_a.state_dict())
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as f:
        state = {k: f[k] for k in f.files}
    for p, q in zip(pa, pb):
        q.data[...] = p.data
    opt_b.load_state_dict(state)
    assert opt_b.step_count == 3 and opt_b.lr == 0.03
    for k in range(3, 6):
        for ps in (pa, pb):
            for p, g in zip(ps, grads[k]):
                p.grad[...] = g
        opt_a.step()
        opt_b.step()
    for p, q in zip(pa, pb):
        assert np.array_equal(p.data, q.data)
    for sa, sb in zip(opt_a.state, opt_b.state):
        assert sa.keys() == sb.keys()
        for key in sa:
            assert sb[key].dtype == np.float32
            assert np.array_equal(sa[key], sb[key])


def test_state_dict_is_a_copy():
    p = _param()
    opt = SGD([p], lr=0.1, momentum=0.9)
    opt.step()
    sd = opt.state_dict()
    opt.step()
    assert not np.array_equal(sd["0.momentum_buffer"], opt.state[0]["momentum_buffer"])


def test_load_state_dict_mismatches_raise():
    p = _param()
    sgd = SGD([p], lr=0.1, momentum=0.9)
    sgd.step()
    with pytest.raises(ValueError, match="SGD.*Adam"):
        Adam([p]).load_state_dict(sgd.state_dict())
    with pytest.raises(ValueError, match="1 parameters"):
        SGD([p, _param(1)], lr=0.1, momentum=0.9).load_state_dict(sgd.state_dict())
    with pytest.raises(ValueError, match="shape"):
        SGD([_param(shape=(2, 2))], lr=0.1, momentum=0.9).load_state_dict(sgd.state_dict())


# ---------------------------------------------------------------- schedules
def test_schedules_closed_forms():
    assert StepDecay(3, 0.5)(0.8, 0) == 0.8
    assert StepDecay(3, 0.5)(0.8, 5) == 0.4
    assert StepDecay(3, 0.5)(0.8, 6) == 0.2
    assert ExponentialDecay(0.9)(1.0, 2) == pytest.approx(0.81)
    cos = CosineDecay(10, min_lr=0.1)
    assert cos(1.0, 0) == 1.0
    assert cos(1.0, 5) == pytest.approx(0.55)
    assert cos(1.0, 10) == pytest.approx(0.1) and cos(1.0, 50) == pytest.approx(0.1)


def test_schedule_apply_uses_initial_lr_and_python_float():
    p = _param()
    opt = SGD([p], lr=0.5)
    StepDecay(1, 0.5).apply(opt, np.int64(2))
    StepDecay(1, 0.5).apply(opt, 2)  # applying twice does not compound
    assert opt.lr == 0.125 and type(opt.lr) is float
    with pytest.raises(ValueError):
        StepDecay(0)
    with pytest.raises(ValueError):
        ExponentialDecay(1.5)


def test_state_follows_module_astype():
    model = cr.Sequential(cr.Linear(3, 2, rng=0))
    opt = Adam(model.parameters(), lr=0.1)
    for p in model.parameters():
        p.grad += 1.0
    opt.step()
    m32 = opt.state[0]["exp_avg"].copy()
    model.astype(np.float64)
    opt.zero_grad()
    for p in model.parameters():
        p.grad += 1.0
    opt.step()
    assert opt.state[0]["exp_avg"].dtype == np.float64
    np.testing.assert_allclose(opt.state[0]["exp_avg"], 0.9 * m32 + 0.1, rtol=1e-6)
