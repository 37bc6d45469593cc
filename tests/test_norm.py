"""BatchNorm1d / BatchNorm2d: gradients, PyTorch parity, running statistics, state_dict."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.gradcheck import gradcheck
from chainrule.layers.norm import BatchNorm1d, BatchNorm2d
from harness import check_layer, check_torch_parity

CASES = [(BatchNorm1d, (6, 4)), (BatchNorm1d, (3, 4, 5)), (BatchNorm2d, (2, 4, 3, 5)),
         (BatchNorm2d, (1, 4, 2, 3))]


def _params(rng, f):
    return {"weight": rng.uniform(0.5, 2.0, f), "bias": rng.standard_normal(f)}


def _closed_form(x, gamma, beta, eps=1e-5):
    axes = (0, *range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mu = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * gamma.reshape(shape) + beta.reshape(shape)


@pytest.mark.parametrize(("cls", "shape"), CASES)
def test_gradcheck_training(rng, cls, shape):
    x = rng.standard_normal(shape) * 2.0 + 1.0
    params = _params(rng, 4)
    check_layer(lambda: cls(4), x, lambda x, p: _closed_form(x, p["weight"], p["bias"]),
                training=True, params=params)
    check_layer(lambda: cls(4, affine=False), x, lambda x, p: _closed_form(x, np.ones(4),
                                                                           np.zeros(4)),
                training=True)


@pytest.mark.parametrize(("cls", "shape"), CASES)
def test_gradcheck_eval(rng, cls, shape):
    x = rng.standard_normal(shape)
    params = {**_params(rng, 4), "running_mean": rng.standard_normal(4),
              "running_var": rng.uniform(0.5, 2.0, 4)}

    def expected(x, p):
        shape = (1, -1) + (1,) * (x.ndim - 2)
        mean, var = (params[k].reshape(shape) for k in ("running_mean", "running_var"))
        return (x - mean) / np.sqrt(var + 1e-5) * p["weight"].reshape(shape) + \
            p["bias"].reshape(shape)

    check_layer(lambda: cls(4), x, expected, params=params)


def _torch_bn(torch, cls, f, **kw):
    return {BatchNorm1d: torch.nn.BatchNorm1d, BatchNorm2d: torch.nn.BatchNorm2d}[cls](f, **kw)


@pytest.mark.parametrize(("cls", "shape"), CASES[:3])
@pytest.mark.parametrize("training", [True, False])
def test_torch_parity_one_step(rng, cls, shape, training):
    torch = pytest.importorskip("torch")
    layer = cls(4)
    layer.load_state_dict({**_params(rng, 4), "running_mean": rng.standard_normal(4),
                           "running_var": rng.uniform(0.5, 2.0, 4),
                           "num_batches_tracked": np.array(0)})
    x = rng.standard_normal(shape) * 3.0 - 1.0
    for dtype, rtol in ((np.float64, 1e-12), (np.float32, 1e-5)):
        tbn = _torch_bn(torch, cls, 4).double()  # fresh: torch accumulates grads and stats
        with torch.no_grad():
            tbn.running_mean.copy_(torch.from_numpy(layer.running_mean.astype(np.float64)))
            tbn.running_var.copy_(torch.from_numpy(layer.running_var.astype(np.float64)))
        check_torch_parity(layer, tbn, x, training=training, dtype=dtype, rtol=rtol)


@pytest.mark.parametrize(("cls", "shape", "momentum"),
                         [(BatchNorm1d, (8, 3), 0.1), (BatchNorm2d, (4, 3, 5, 2), 0.3),
                          (BatchNorm2d, (2, 3, 2, 2), None)])
def test_running_statistics_match_torch(rng, cls, shape, momentum):
    torch = pytest.importorskip("torch")
    layer = cls(3, momentum=momentum, dtype=np.float64)
    tbn = _torch_bn(torch, cls, 3, momentum=momentum).double().train()
    for step in range(5):
        x = rng.standard_normal(shape) * (step + 1.0) + step
        y = layer.forward(x, training=True)
        yt = tbn(torch.from_numpy(x)).detach().numpy()
        np.testing.assert_allclose(y, yt, rtol=1e-10, atol=1e-12)
    state = layer.state_dict()
    tstate = {k: v.numpy() for k, v in tbn.state_dict().items()}
    assert set(state) == set(tstate)
    for key in ("running_mean", "running_var"):
        np.testing.assert_allclose(state[key], tstate[key], rtol=1e-12)
    assert int(state["num_batches_tracked"]) == int(tstate["num_batches_tracked"]) == 5
    # Evaluation uses the running statistics, on any batch size (here a single sample).
    tbn.eval()
    x = rng.standard_normal((1, *shape[1:]))
    np.testing.assert_allclose(layer.forward(x), tbn(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-10, atol=1e-12)


def test_running_update_by_hand(rng):
    layer = BatchNorm1d(2, momentum=0.25)
    x = rng.standard_normal((5, 2)).astype(np.float32)
    layer.forward(x, training=True)
    np.testing.assert_allclose(layer.running_mean, 0.25 * x.mean(axis=0), rtol=1e-6)
    # Unbiased variance (ddof=1) goes into the running estimate; ddof=0 normalises.
    np.testing.assert_allclose(layer.running_var, 0.75 + 0.25 * x.var(axis=0, ddof=1), rtol=1e-6)
    assert layer.running_mean.dtype == layer.running_var.dtype == np.float32
    # Evaluation reads the running statistics, not the batch's.
    x2 = rng.standard_normal((3, 2)).astype(np.float32)
    want = (x2 - layer.running_mean) / np.sqrt(layer.running_var + 1e-5)
    np.testing.assert_allclose(layer.forward(x2), want, rtol=1e-5, atol=1e-6)
    before = layer.running_mean.copy()
    layer.forward(x2)
    np.testing.assert_array_equal(layer.running_mean, before)  # evaluation leaves buffers alone


def test_state_dict_round_trip(rng):
    a = BatchNorm2d(3)
    for _ in range(3):
        a.forward(rng.standard_normal((4, 3, 2, 2)), training=True)
    state = a.state_dict()
    assert sorted(state) == ["bias", "num_batches_tracked", "running_mean", "running_var", "weight"]
    b = BatchNorm2d(3)
    b.load_state_dict(state)
    x = rng.standard_normal((2, 3, 2, 2)).astype(np.float32)
    np.testing.assert_array_equal(a.forward(x), b.forward(x))
    assert sorted(BatchNorm1d(3, affine=False).state_dict()) == [
        "num_batches_tracked", "running_mean", "running_var"]
    assert BatchNorm2d(3).num_parameters() == 6


def test_errors():
    with pytest.raises(ValueError, match=r"BatchNorm1d.*more than 1 value per channel.*\(1, 4\)"):
        BatchNorm1d(4).forward(np.zeros((1, 4)), training=True)
    BatchNorm1d(4).forward(np.zeros((1, 4)))  # evaluation with one sample is fine
    BatchNorm2d(4).forward(np.ones((1, 4, 2, 1)), training=True)  # N=1 but 2 values/channel
    with pytest.raises(ValueError, match=r"BatchNorm2d\(4\) expects input of shape "
                                         r"\(N, 4, H, W\), got \(2, 3, 5, 5\)"):
        BatchNorm2d(4).forward(np.zeros((2, 3, 5, 5)))
    with pytest.raises(ValueError, match=r"\(N, 4\) or \(N, 4, L\)"):
        BatchNorm1d(4).forward(np.zeros((2, 4, 1, 1)))
    with pytest.raises(ValueError, match=r"\(4, H, W\)"):
        BatchNorm2d(4).output_shape((4, 3))
    for kw in ({"momentum": 1.5}, {"eps": 0.0}, {"num_features": 0}):
        with pytest.raises(ValueError):
            BatchNorm1d(**{"num_features": 2, **kw})


def test_batchnorm_in_a_conv_stack_gradcheck(rng):
    # Conv2d hands over NCHW views of batch-innermost memory; batch norm must accept them.
    # No bias before a training-mode batch norm: its true gradient is exactly 0 (the mean is
    # subtracted), and a relative error of rounding noise against 0 is meaningless.
    model = cr.Sequential(cr.Conv2d(2, 3, 3, padding="same", bias=False, rng=0), cr.BatchNorm2d(3),
                          cr.Tanh(), cr.Dropout(0.3, rng=1), cr.Flatten(),
                          cr.Linear(3 * 16, 2, bias=False, rng=0),
                          cr.BatchNorm1d(2))
    x = rng.standard_normal((3, 2, 4, 4))
    report = gradcheck(model, x, training=True, max_checks=30)
    assert report.ok, report
    s = model.summary((2, 4, 4))
    assert s.non_trainable_params == 2 * 3 + 2 * 2 and s.rows[1].output_shape == (3, 4, 4)
