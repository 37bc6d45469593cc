"""MLP and CNN builders: structure, state_dict keys, shapes, errors, gradients, PyTorch shapes."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.gradcheck import gradcheck
from chainrule.models import CNN, MLP

# ------------------------------------------------------------------------------------- MLP

def test_mlp_default_structure_and_keys():
    model = MLP(rng=0)
    assert isinstance(model, cr.Sequential)
    assert [type(m).__name__ for m in model] == ["Linear", "Sigmoid", "Linear", "ReLU", "Linear"]
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    assert shapes == {"0.weight": (784, 100), "0.bias": (100,), "2.weight": (100, 50),
                      "2.bias": (50,), "4.weight": (50, 10), "4.bias": (10,)}
    assert model.num_parameters() == 784 * 100 + 100 + 100 * 50 + 50 + 50 * 10 + 10
    x = np.random.default_rng(0).standard_normal((3, 784)).astype(np.float32)
    y = model.forward(x)
    assert y.shape == (3, 10) and y.dtype == np.float32


@pytest.mark.parametrize(("activations", "want"), [
    ("tanh", ["Tanh", "Tanh", "Tanh"]),
    (("relu",), ["ReLU", "ReLU", "ReLU"]),
    ("sigmoid, relu,tanh", ["Sigmoid", "ReLU", "Tanh"]),
    (["improved_sigmoid", "leaky_relu", "identity"], ["ImprovedSigmoid", "LeakyReLU", "Identity"]),
])
def test_mlp_activations(activations, want):
    model = MLP(20, (8, 6, 4), activations, 3, rng=0)
    assert [type(m).__name__ for m in model][1::2] == want
    assert model.output_shape((20,)) == (3,)


def test_mlp_errors_and_edge_cases():
    with pytest.raises(ValueError, match="2 activations .* 3 hidden"):
        MLP(4, (3, 3, 3), ("relu", "tanh"))
    with pytest.raises(ValueError, match="unknown activation"):
        MLP(4, (3,), "softplusish")
    logistic = MLP(4, (), "relu", 3, rng=0)
    assert len(logistic) == 1 and logistic[0].weight.shape == (4, 3)


def test_mlp_seeded_and_dtype():
    a, b = MLP(rng=7), MLP(rng=7)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb
        np.testing.assert_array_equal(va, vb)
    assert not np.array_equal(MLP(rng=8)[0].weight.data, a[0].weight.data)
    assert all(p.dtype == np.float64 for p in MLP(dtype=np.float64).parameters())
    m = MLP(5, (4,), "sigmoid", 2, init="glorot_uniform", rng=0)
    assert np.abs(m[0].weight.data).max() <= math.sqrt(6 / 9)


def test_mlp_gradcheck():
    model = MLP(6, (5, 4), ("sigmoid", "tanh"), 3, rng=0)
    report = gradcheck(model, np.random.default_rng(1).standard_normal((4, 6)))
    assert report.ok, report


# ------------------------------------------------------------------------------------- CNN

def _conv_out(size, k, s, same):
    # Independent arithmetic: "same" gives ⌈size/s⌉, "valid" gives ⌊(size − k)/s⌋ + 1.
    return -(-size // s) if same else (size - k) // s + 1


def _pool_out(size, p, s):
    return (size - p) // s + 1


@pytest.mark.parametrize("same", [True, False])
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize(("k", "p", "max_pooling"), [(3, 2, True), (5, 2, False), (4, 3, True)])
def test_cnn_shapes(same, stride, k, p, max_pooling):
    h = 28
    shapes = [(1, 28, 28)]
    for c in (16, 32):
        if not same and h < k:
            break
        h = _conv_out(h, k, stride, same)
        shapes += [(c, h, h)] * 2
        if h < p:
            break
        h = _pool_out(h, p, stride)
        shapes.append((c, h, h))
    if len(shapes) < 7:  # the independent arithmetic says the feature map vanishes
        with pytest.raises(ValueError, match=f"CNN layer {len(shapes) - 1} "):
            CNN(k, p, stride, same, max_pooling, rng=0)
        return
    model = CNN(k, p, stride, same, max_pooling, rng=0)
    assert model.shapes[:7] == shapes
    assert model.flat_features == 32 * h * h
    assert model[7].weight.shape == (32 * h * h, 10)
    pool = cr.MaxPool2d if max_pooling else cr.AvgPool2d
    assert [type(m) for m in model] == [cr.Conv2d, cr.ReLU, pool] * 2 + [cr.Flatten, cr.Linear]
    x = np.random.default_rng(0).standard_normal((2, 1, 28, 28)).astype(np.float32)
    y = model.forward(x)
    assert y.shape == (2, 10) and y.dtype == np.float32


def test_cnn_keys_and_options():
    model = CNN(channels=(4, 6, 8), in_shape=(3, 16, 12), num_classes=5, activation="tanh", rng=0)
    assert sorted(model.state_dict()) == sorted(
        f"{i}.{n}" for i in (0, 3, 6, 10) for n in ("weight", "bias"))
    assert model[0].weight.shape == (4, 3, 3, 3) and isinstance(model[1], cr.Tanh)
    # same-padded 3x3 convs keep the size; each 2x2 pool with stride 1 takes one pixel off
    assert model.flat_features == 8 * 13 * 9
    a, b = CNN(rng=3), CNN(rng=3)
    for key, value in a.state_dict().items():
        np.testing.assert_array_equal(value, b.state_dict()[key])


@pytest.mark.parametrize("kwargs", [
    {"conv_kernel_size": 7, "zero_padding": False, "stride_size": 2},
    {"conv_kernel_size": 5, "zero_padding": False, "pooling_kernel_size": 4, "stride_size": 3,
     "in_shape": (1, 20, 20)},
    {"in_shape": (1, 2, 2), "pooling_kernel_size": 2},
])
def test_cnn_impossible_configurations(kwargs):
    with pytest.raises(ValueError, match=r"CNN layer \d \((Conv2d|MaxPool2d)\).*\(\d+, \d, \d\)"):
        CNN(**kwargs)


def test_cnn_gradcheck():
    model = CNN(3, 2, 1, True, True, channels=(2, 3), in_shape=(2, 7, 6), num_classes=4, rng=0)
    x = np.random.default_rng(1).standard_normal((2, 2, 7, 6))
    report = gradcheck(model, x, max_checks=25)
    assert report.ok, report
    assert {r.name for r in report.results} >= {"input", "0.weight", "3.bias", "7.weight"}


def test_cnn_avgpool_stride2_gradcheck():
    model = CNN(3, 2, 2, False, False, channels=(2, 2), in_shape=(1, 21, 21), num_classes=3,
                activation="tanh", rng=0)
    assert model.shapes[-3] == (2, 1, 1)  # 21 → conv 10 → pool 5 → conv 2 → pool 1
    report = gradcheck(model, np.random.default_rng(2).standard_normal((2, 1, 21, 21)),
                       max_checks=25)
    assert report.ok, report


def _torch_cnn(torch, k, p, stride, same, max_pooling, in_c=1, channels=(16, 32), hw=28):
    """The same network written in PyTorch, padding computed independently (TF's "same")."""
    nn = torch.nn
    layers, c, h = [], in_c, hw
    for out_c in channels:
        if same:
            total = max((-(-h // stride) - 1) * stride + k - h, 0)
            lo = total // 2
            layers.append(nn.ZeroPad2d((lo, total - lo, lo, total - lo)))
        layers += [nn.Conv2d(c, out_c, k, stride), nn.ReLU(),
                   (nn.MaxPool2d if max_pooling else nn.AvgPool2d)(p, stride)]
        c = out_c
        h = _pool_out(_conv_out(h, k, stride, same), p, stride)
    layers.append(nn.Flatten())
    flat = torch.zeros(1, in_c, hw, hw)
    for layer in layers:
        flat = layer(flat)
    layers.append(nn.Linear(flat.shape[1], 10))
    return nn.Sequential(*layers)


@pytest.mark.parametrize(("k", "stride", "same", "max_pooling"),
                         [(5, 1, True, True), (5, 1, False, True), (3, 2, True, False),
                          (4, 2, False, True)])
def test_cnn_summary_matches_torch(k, stride, same, max_pooling):
    torch = pytest.importorskip("torch")
    model = CNN(k, 2, stride, same, max_pooling, rng=0)
    summary = model.summary((1, 28, 28))
    tnet = _torch_cnn(torch, k, 2, stride, same, max_pooling)
    shapes, params = [], []
    y = torch.zeros(1, 1, 28, 28)
    for layer in tnet:
        y = layer(y)
        if isinstance(layer, torch.nn.ZeroPad2d):
            continue  # chainrule folds "same" padding into the convolution
        shapes.append(tuple(y.shape[1:]))
        params.append(sum(p.numel() for p in layer.parameters()))
    assert [r.output_shape for r in summary.rows] == shapes
    assert [r.params for r in summary.rows] == params
    assert summary.total_params == sum(p.numel() for p in tnet.parameters())
    assert model.num_parameters() == summary.trainable_params
