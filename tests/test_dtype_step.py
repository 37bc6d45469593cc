"""float32 in, float32 everywhere: forward, backward and an optimizer step create no float64."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import SGD, Adam, ExponentialDecay


def _mlp(dtype=None):
    rng = np.random.default_rng(0)
    return cr.Sequential(cr.Linear(784, 100, rng=rng, dtype=dtype), cr.Sigmoid(),
                         cr.Linear(100, 50, rng=rng, dtype=dtype), cr.ReLU(),
                         cr.Linear(50, 10, rng=rng, dtype=dtype))


@pytest.mark.parametrize("make_opt", [
    lambda ps: SGD(ps, lr=np.float64(0.1)),  # a NumPy float64 lr must not promote the step
    lambda ps: SGD(ps, lr=0.1, momentum=np.float64(0.9), weight_decay=np.float64(1e-4)),
    lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4),
    lambda ps: SGD(ps, lr=0.1, momentum=0.9, dampening=0.9),
    lambda ps: Adam(ps, lr=np.float64(1e-3), betas=(np.float64(0.9), 0.999), weight_decay=1e-4),
], ids=["sgd", "momentum", "nesterov", "ema", "adam"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_step_keeps_dtype(make_opt, dtype):
    model = _mlp(dtype)
    opt = make_opt(model.parameters())
    rng = np.random.default_rng(1)
    x = rng.random((32, 784)).astype(dtype)
    y = rng.integers(0, 10, 32)
    loss = cr.SoftmaxCrossEntropy()
    for t in range(3):
        ExponentialDecay(np.float64(0.9)).apply(opt, np.int64(t))  # schedules too
        opt.zero_grad()
        out = model.forward(x, training=True)
        assert out.dtype == dtype
        loss.forward(out, y)
        dx = model.backward(loss.backward())
        assert dx.dtype == dtype
        opt.step()
    for name, p in model.named_parameters():
        assert p.data.dtype == dtype and p.grad.dtype == dtype, name
    for i, st in enumerate(opt.state):
        for key, arr in st.items():
            assert arr.dtype == dtype, f"{i}.{key}"
    for key, arr in opt.state_dict().items():
        if arr.dtype.kind == "f":
            assert arr.dtype == dtype, key
    assert type(opt.lr) is float


def test_fit_keeps_float32(tmp_path):
    model = _mlp()
    opt = Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(2)
    x = rng.random((64, 784)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    cr.train.fit(model, cr.SoftmaxCrossEntropy(), opt, cr.data.DataLoader(x, y, 32, rng=0),
                 epochs=1, callbacks=[cr.train.ModelCheckpoint(tmp_path / "c.npz")])
    assert all(p.data.dtype == np.float32 for p in model.parameters())
    assert all(a.dtype == np.float32 for st in opt.state for a in st.values())
    model2 = _mlp()
    opt2 = Adam(model2.parameters())
    cr.load(tmp_path / "c.npz", model2, opt2)
    assert all(a.dtype == np.float32 for st in opt2.state for a in st.values())
