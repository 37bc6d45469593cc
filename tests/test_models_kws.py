"""KeywordCNN: output shape, parameter count in closed form, float64 gradients of the whole
model (training mode, batch norm included) with every parameter randomised, float32 step,
and PyTorch parity (forward, first-conv and linear gradients) with weights copied."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.gradcheck import gradcheck
from chainrule.models.kws import KeywordCNN


@pytest.mark.parametrize("bn", [True, False])
def test_shape_and_parameters(bn):
    m = KeywordCNN((1, 98, 40), 12, (8, 16, 32), batch_norm=bn, rng=0)
    assert m.forward(np.zeros((3, 1, 98, 40), np.float32)).shape == (3, 12)
    conv = 25 * 8 + 9 * 8 * 16 + 9 * 16 * 32
    extra = 2 * (8 + 16 + 32) if bn else 8 + 16 + 32            # BN scale+shift, or biases
    assert m.num_parameters() == conv + extra + 32 * 13 * 5 * 12 + 12
    s = m.summary((1, 98, 40))
    assert s.total_macs == 49 * 20 * 8 * 25 + 25 * 10 * 16 * 72 + 13 * 5 * 32 * 144 + 2080 * 12


@pytest.mark.parametrize("bn", [True, False])
def test_gradcheck_float64(bn):
    m = KeywordCNN((1, 13, 11), 5, (2, 3, 2), batch_norm=bn, rng=0)
    gen = np.random.default_rng(1)
    for p in m.parameters():
        p.data[...] = gen.normal(0.3 if p.name == "weight" and p.data.ndim == 1 else 0.0, 0.5,
                                 p.data.shape).astype(p.data.dtype)
    rep = gradcheck(m, gen.standard_normal((4, 1, 13, 11)), training=True, max_checks=30,
                   check_input=False)   # the first conv reads data: no input gradient
    assert rep.ok, rep


def test_one_step_stays_float32():
    m = KeywordCNN((1, 98, 40), 12, (4, 4, 8), rng=0)
    opt = cr.optim.Adam(m.parameters(), lr=1e-3)
    loss = cr.SoftmaxCrossEntropy()
    x = np.random.default_rng(0).standard_normal((5, 1, 98, 40)).astype(np.float32)
    out = m.forward(x, training=True)
    loss.forward(out, np.arange(5))
    m.backward(loss.backward())
    opt.step()
    assert out.dtype == np.float32
    assert all(p.data.dtype == np.float32 and p.grad.dtype == np.float32
               for p in m.parameters())


def test_matches_torch_in_training_mode():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    m = KeywordCNN((1, 20, 16), 12, (4, 6, 8), rng=0)
    gen = np.random.default_rng(5)
    for p in m.parameters():
        p.data[...] = gen.normal(0.5 if p.data.ndim == 1 else 0.0, 0.3,
                                 p.data.shape).astype(np.float32)
    layers, i = [], 0
    for c_in, c_out, k in ((1, 4, 5), (4, 6, 3), (6, 8, 3)):
        conv = nn.Conv2d(c_in, c_out, k, stride=2, padding=k // 2, bias=False)
        bn = nn.BatchNorm2d(c_out)
        conv.weight.data = torch.tensor(m[i].weight.data)
        bn.weight.data = torch.tensor(m[i + 1].weight.data)
        bn.bias.data = torch.tensor(m[i + 1].bias.data)
        layers += [conv, bn, nn.ReLU()]
        i += 3
    lin = nn.Linear(8 * 3 * 2, 12)          # chainrule's Linear weight is (in, out)
    lin.weight.data = torch.tensor(m[i + 1].weight.data.T.copy())
    lin.bias.data = torch.tensor(m[i + 1].bias.data)
    t = nn.Sequential(*layers, nn.Flatten(), lin).train()
    x = gen.standard_normal((6, 1, 20, 16)).astype(np.float32)
    y = np.arange(6) % 12
    loss = cr.SoftmaxCrossEntropy()
    out = m.forward(x, training=True)
    loss.forward(out, y)
    m.zero_grad()
    m.backward(loss.backward())
    tout = t(torch.tensor(x))
    nn.functional.cross_entropy(tout, torch.tensor(y)).backward()
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(m[0].weight.grad, t[0].weight.grad.numpy(), rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(m[i + 1].weight.grad, lin.weight.grad.numpy().T, rtol=1e-3,
                               atol=1e-5)
