"""50 optimizer steps on a small MLP follow PyTorch's trajectory (chainrule loss vs torch loss)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import SGD, Adam

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch

CONFIGS = {
    "sgd": ({"lr": 0.5}, {"lr": 0.5}),
    "sgd_wd": ({"lr": 0.5, "weight_decay": 1e-2}, {"lr": 0.5, "weight_decay": 1e-2}),
    "momentum": ({"lr": 0.1, "momentum": 0.9}, {"lr": 0.1, "momentum": 0.9}),
    "momentum_ema": ({"lr": 0.5, "momentum": 0.9, "dampening": 0.9, "weight_decay": 1e-3},
                     {"lr": 0.5, "momentum": 0.9, "dampening": 0.9, "weight_decay": 1e-3}),
    "nesterov": ({"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3},
                 {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3}),
    "adam": ({"lr": 1e-2}, {"lr": 1e-2}),
    "adam_wd": ({"lr": 1e-2, "betas": (0.8, 0.95), "eps": 1e-6, "weight_decay": 1e-2},
                {"lr": 1e-2, "betas": (0.8, 0.95), "eps": 1e-6, "weight_decay": 1e-2}),
}
# float64: the two libraries do the same arithmetic up to summation order inside matmuls
# (OpenBLAS vs MKL/oneDNN) and FMA use, ~1e-16 per op; after 50 steps that stays < 1e-10.
# float32: the same ulp-level differences (~6e-8) are amplified by 50 steps of training;
# measured worst case on this machine is reported by the assertion message.
TOL = {np.float64: 1e-10, np.float32: 1e-5}
STEPS = 50


def _models(dtype):
    sizes = [20, 16, 8, 4]
    cr_model = cr.Sequential(cr.Linear(20, 16, rng=0), cr.Sigmoid(), cr.Linear(16, 8, rng=1),
                             cr.ReLU(), cr.Linear(8, 4, rng=2)).astype(dtype)
    tdt = torch.float64 if dtype == np.float64 else torch.float32
    layers = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        lin = torch.nn.Linear(a, b, dtype=tdt)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(cr_model[2 * i].weight.data.T.copy()))
            lin.bias.copy_(torch.from_numpy(cr_model[2 * i].bias.data.copy()))
        layers += [lin, torch.nn.Sigmoid() if i == 0 else torch.nn.ReLU()]
    t_model = torch.nn.Sequential(*layers[:-1])
    return cr_model, t_model


def _batches(dtype):
    rng = np.random.default_rng(42)
    xs = rng.standard_normal((STEPS, 16, 20)).astype(dtype)
    ys = rng.integers(0, 4, size=(STEPS, 16))
    return xs, ys


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name", list(CONFIGS))
def test_trajectory_matches_torch(name, dtype):
    cr_kw, t_kw = CONFIGS[name]
    cr_model, t_model = _models(dtype)
    is_adam = name.startswith("adam")
    opt = (Adam if is_adam else SGD)(cr_model.parameters(), **cr_kw)
    t_opt = (torch.optim.Adam if is_adam else torch.optim.SGD)(t_model.parameters(), **t_kw)
    loss = cr.SoftmaxCrossEntropy()
    xs, ys = _batches(dtype)
    for x, y in zip(xs, ys):
        opt.zero_grad()
        loss.forward(cr_model.forward(x, training=True), y)
        cr_model.backward(loss.backward())
        opt.step()
        t_opt.zero_grad()
        torch.nn.functional.cross_entropy(t_model(torch.from_numpy(x)),
                                          torch.from_numpy(y)).backward()
        t_opt.step()
    worst = 0.0
    t_linears = [m for m in t_model if isinstance(m, torch.nn.Linear)]
    for i, lin in enumerate(t_linears):
        for ours, theirs in ((cr_model[2 * i].weight.data, lin.weight.detach().numpy().T),
                             (cr_model[2 * i].bias.data, lin.bias.detach().numpy())):
            assert ours.dtype == dtype
            rel = np.max(np.abs(ours - theirs)) / np.max(np.abs(theirs))
            worst = max(worst, float(rel))
    assert worst <= TOL[dtype], f"{name} {np.dtype(dtype)}: max relative deviation {worst:.3e}"
    # sanity: the weights moved, so the comparison is not trivially satisfied
    assert not np.allclose(cr_model[0].weight.data, _models(dtype)[0][0].weight.data)
