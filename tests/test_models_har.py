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
