"""HAR models: parameter counts equal the closed forms of the module docstring (and the summary),
output shapes, float64 gradient checks through each whole chain, float32 throughout."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.gradcheck import gradcheck
from chainrule.models.har import HAR_MODELS, build_har

T, C, K = 100, 6, 6


def closed_form(kind: str, **kw) -> int:
    if kind == "mlp":
        h, L = kw.get("hidden", 128), kw.get("layers", 2)
        return (T * C * h + h) + (L - 1) * (h * h + h) + (h * K + K)
    if kind == "lstm":
        H = kw.get("hidden", 32)
        return 4 * (C * H + H * H + H) + H * K + K
    F, k = kw.get("filters", 16 if kind == "convlstm" else 32), kw.get("kernel", 3 if
                                                                     kind == "convlstm" else 5)
    conv = (C * k * F + F) + (F * k * F + F)
    if kind == "cnn":
        h = kw.get("hidden", 64)
        return conv + (T // 4 * F * h + h) + (h * K + K)
    if kind == "deepconvlstm":
        H = kw.get("hidden", 32)
        return conv + 4 * (F * H + H * H + H) + H * K + K
    h, L = kw.get("hidden", 64), T // kw.get("steps", 4)
    return 4 * F * (k * (C + F) + 1) + (L * F * h + h) + (h * K + K)


CASES = [("mlp", {}), ("mlp", {"hidden": 64, "layers": 3}), ("lstm", {}),
         ("lstm", {"hidden": 16}), ("cnn", {}), ("cnn", {"filters": 8, "kernel": 9}),
         ("deepconvlstm", {}), ("deepconvlstm", {"filters": 16, "hidden": 64}),
         ("convlstm", {}), ("convlstm", {"filters": 8, "kernel": 5, "steps": 5})]


@pytest.mark.parametrize(("kind", "kw"), CASES)
def test_parameters_equal_closed_form_and_summary(kind, kw):
    m = build_har(kind, rng=0, **kw)
    n = sum(p.data.size for p in m.parameters())
    assert n == closed_form(kind, **kw)
    s = m.summary((T, C))
    assert s.trainable_params == n and s.output_shape[-1] == K and s.total_macs > 0


@pytest.mark.parametrize("kind", list(HAR_MODELS))
def test_forward_backward_shapes_and_float32(kind):
    m = build_har(kind, rng=0)
    x = np.random.default_rng(1).normal(size=(5, T, C)).astype(np.float32)
    y = m.forward(x, training=True)
    assert y.shape == (5, K) and y.dtype == np.float32
    loss = cr.SoftmaxCrossEntropy()
    loss.forward(y, np.arange(5) % K)
    m.zero_grad()
    m.backward(loss.backward())
    opt = cr.optim.Adam(m.parameters(), lr=1e-3)
    opt.step()
    for name, p in m.named_parameters():
        assert p.data.dtype == np.float32 and p.grad.dtype == np.float32, name
        assert np.isfinite(p.grad).all(), name


SMALL = {"mlp": {"window": 8, "hidden": 5}, "lstm": {"hidden": 4},
         "cnn": {"window": 8, "filters": 3, "kernel": 3, "hidden": 5},
         "deepconvlstm": {"filters": 3, "kernel": 3, "hidden": 4},
         "convlstm": {"window": 8, "filters": 3, "kernel": 3, "steps": 2, "hidden": 5}}


@pytest.mark.parametrize("kind", list(HAR_MODELS))
def test_gradcheck_whole_model(kind):
    rng = np.random.default_rng(2)
    m = build_har(kind, 3, channels=2, dropout=0.3, rng=3, **SMALL[kind])
    for p in m.parameters():
        p.data[...] = rng.normal(0, 0.5, size=p.shape).astype(p.dtype)
    x = rng.normal(size=(3, 8, 2))
    # the first Conv1d / LSTM is fed with data (input_grad=False): parameters only there
    rep = gradcheck(m, x, training=True, check_input=kind in ("mlp", "convlstm"))
    assert rep.ok, str(rep)


def test_unknown_kind_and_bad_steps():
    with pytest.raises(ValueError, match="unknown HAR model"):
        build_har("gru")
    with pytest.raises(ValueError, match="must divide"):
        build_har("convlstm", steps=3)


def test_cnn_and_deepconvlstm_match_torch():
    """Forward and every parameter gradient against PyTorch with the weights copied (float64;
    channels-last input = torch's ``x.transpose(1, 2)``; dropout off)."""
    torch = pytest.importorskip("torch")
    nn = torch.nn
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, 16, 6))
    dy = rng.normal(size=(3, K))
    for kind in ("cnn", "deepconvlstm"):
        kw = {"window": 16} if kind == "cnn" else {}
        m = build_har(kind, filters=4, kernel=5, hidden=5, rng=5, dtype=np.float64, **kw)
        c1, c2 = (nn.Conv1d(i, 4, 5, padding=2).double() for i in (6, 4))
        head = (nn.Linear(4 * 4, 5).double(), nn.Linear(5, K).double()) if kind == "cnn" else \
            (nn.LSTM(4, 5, batch_first=True).double(), nn.Linear(5, K).double())
        with torch.no_grad():
            for tc, cc in ((c1, m[0]), (c2, m[3])):
                tc.weight.copy_(torch.tensor(cc.weight.data))
                tc.bias.copy_(torch.tensor(cc.bias.data))
            if kind == "cnn":
                head[0].weight.copy_(torch.tensor(m[8].weight.data.T))
                head[0].bias.copy_(torch.tensor(m[8].bias.data))
            else:
                lstm = m[6]
                head[0].weight_ih_l0.copy_(torch.tensor(lstm.weight_ih_l0.data.T))
                head[0].weight_hh_l0.copy_(torch.tensor(lstm.weight_hh_l0.data.T))
                head[0].bias_ih_l0.copy_(torch.tensor(lstm.bias_l0.data))
                head[0].bias_hh_l0.zero_()
            head[1].weight.copy_(torch.tensor(m[-1].weight.data.T))
            head[1].bias.copy_(torch.tensor(m[-1].bias.data))
        tx = torch.tensor(x).transpose(1, 2)
        z = nn.functional.max_pool1d(torch.relu(c1(tx)), 2)
        z = nn.functional.max_pool1d(torch.relu(c2(z)), 2)                  # (N, F, T/4)
        if kind == "cnn":
            ty = head[1](torch.relu(head[0](z.transpose(1, 2).reshape(3, -1))))
        else:
            ty = head[1](head[0](z.transpose(1, 2))[0][:, -1])
        y = m.forward(x, training=False)
        np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-10, atol=1e-12)
        m.zero_grad()
        m.backward(dy)
        ty.backward(torch.tensor(dy))
        np.testing.assert_allclose(m[0].weight.grad, c1.weight.grad.numpy(), rtol=1e-9,
                                   atol=1e-12)
        np.testing.assert_allclose(m[3].weight.grad, c2.weight.grad.numpy(), rtol=1e-9,
                                   atol=1e-12)
        np.testing.assert_allclose(m[-1].weight.grad, head[1].weight.grad.numpy().T, rtol=1e-9,
                                   atol=1e-12)
        if kind == "deepconvlstm":
            np.testing.assert_allclose(lstm.weight_hh_l0.grad, head[0].weight_hh_l0.grad.numpy().T,
                                       rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(lstm.bias_l0.grad, head[0].bias_ih_l0.grad.numpy(),
                                       rtol=1e-9, atol=1e-12)
