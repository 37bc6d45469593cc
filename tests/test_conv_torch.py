"""Conv2d, ConvTranspose2d, MaxPool2d, AvgPool2d against PyTorch: forward, dx, dW, db.

float64 must agree to 1e-10 and float32 to 1e-5 (relative to each tensor's scale).
"""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.core import Sequential
from chainrule.layers import (
    AvgPool2d,
    Conv2d,
    ConvTranspose2d,
    Flatten,
    GlobalAvgPool2d,
    Linear,
    MaxPool2d,
    ReLU,
)
from harness import check_torch_parity

torch = pytest.importorskip("torch")
F = torch.nn.functional
DTYPES = [np.float64, np.float32]


class PaddedConv(torch.nn.Module):
    """torch's Conv2d after an explicit (possibly asymmetric) zero pad: our "same" padding."""

    def __init__(self, conv, pads):
        super().__init__()
        self.conv, self.pads = conv, pads

    def forward(self, x):
        pt, pb, pl, pr = self.pads
        return self.conv(F.pad(x, (pl, pr, pt, pb)))


CONV = [
    (3, 4, 3, 1, 1, (2, 9, 7)),
    (2, 5, 5, 2, "same", (3, 11, 8)),
    (1, 16, 5, 1, "same", (4, 28, 28)),
    (4, 3, 2, 3, 0, (2, 10, 9)),
    (3, 2, 1, 2, 1, (1, 6, 5)),
    (3, 2, (3, 5), (2, 1), (1, 2), (2, 9, 10)),
    (2, 3, 3, 2, 3, (2, 5, 6)),  # padding beyond the kernel's reach
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cin,cout,k,s,p,nhw", CONV)
def test_conv2d_matches_torch(rng, conv_bands, dtype, cin, cout, k, s, p, nhw):
    n, h, w = nhw
    layer = Conv2d(cin, cout, k, s, p, rng=0, bias_init="normal")
    ref = PaddedConv(torch.nn.Conv2d(cin, cout, k, s), layer.pads(h, w))
    check_torch_parity(layer, ref, rng.standard_normal((n, cin, h, w)), dtype=dtype,
                       param_map={"weight": ("conv.weight", np.asarray),
                                  "bias": ("conv.bias", np.asarray)})


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cin,cout,k,s,p,op,nhw", [
    (3, 4, 3, 1, 1, 0, (2, 5, 6)),
    (2, 3, 3, 2, 1, 1, (2, 4, 5)),
    (4, 2, 5, 2, 2, 1, (1, 3, 3)),
    (2, 2, (2, 3), (3, 2), (1, 0), (2, 1), (2, 3, 4)),
])
def test_conv_transpose2d_matches_torch(rng, dtype, cin, cout, k, s, p, op, nhw):
    n, h, w = nhw
    layer = ConvTranspose2d(cin, cout, k, s, p, op, rng=0, bias_init="normal")
    ref = torch.nn.ConvTranspose2d(cin, cout, k, s, p, op)
    check_torch_parity(layer, ref, rng.standard_normal((n, cin, h, w)), dtype=dtype)


POOL = [(2, None, 0, (2, 3, 8, 8)), (3, 1, 1, (2, 2, 7, 9)), (3, 2, 1, (1, 4, 9, 8)),
        (2, 1, 0, (2, 2, 5, 6)), ((2, 3), (1, 2), (1, 1), (2, 3, 7, 7)), (5, 3, 2, (1, 2, 11, 10)),
        (17, 2, 0, (1, 2, 20, 19))]  # 289 offsets: the int32 argmax path


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k,s,p,shape", POOL)
def test_pools_match_torch(rng, dtype, k, s, p, shape):
    x = rng.permutation(int(np.prod(shape))).reshape(shape) / 7.0  # no ties
    check_torch_parity(MaxPool2d(k, s, p), torch.nn.MaxPool2d(k, s, p), x, dtype=dtype)
    check_torch_parity(AvgPool2d(k, s, p), torch.nn.AvgPool2d(k, s, p), x, dtype=dtype)


def test_global_avg_pool_matches_torch(rng):
    check_torch_parity(GlobalAvgPool2d(), lambda t: t.mean(dim=(2, 3)),
                       rng.standard_normal((3, 4, 5, 6)))


@pytest.mark.parametrize("k,s", [(2, 2), (3, 1), (3, 2)])
def test_max_pool_tie_breaking_matches_torch(rng, k, s):
    """Quantised inputs are full of ties; both send each window's gradient to the same place."""
    x = rng.integers(0, 3, (2, 3, 9, 9)).astype(np.float64)
    layer = MaxPool2d(k, s)
    y = layer.forward(x)
    dy = rng.standard_normal(y.shape)
    dx = layer.backward(dy)
    xt = torch.from_numpy(x).requires_grad_(True)
    F.max_pool2d(xt, k, s).backward(torch.from_numpy(dy))
    # same positions; overlapping windows may add their shares in another order
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_small_cnn_training_step_matches_torch(rng):
    """The benchmark network, float64: one step's gradients for every parameter agree."""
    net = Sequential(Conv2d(1, 4, 5, padding="same", rng=0, input_grad=False), ReLU(),
                     MaxPool2d(2), Conv2d(4, 6, 5, padding="same", rng=1), ReLU(), MaxPool2d(2),
                     Flatten(), Linear(6 * 3 * 3, 5, rng=2)).astype(np.float64)
    ref = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 5, padding=2), torch.nn.ReLU(),
                              torch.nn.MaxPool2d(2), torch.nn.Conv2d(4, 6, 5, padding=2),
                              torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                              torch.nn.Linear(54, 5)).double()
    with torch.no_grad():
        for (name, p), tp in zip(net.named_parameters(), ref.parameters()):
            tp.copy_(torch.from_numpy(p.data.T.copy() if name == "7.weight" else p.data))
    x = rng.standard_normal((3, 1, 13, 13))
    y = net.forward(x)
    dy = rng.standard_normal(y.shape)
    net.zero_grad()
    assert net.backward(dy) is None  # first layer has input_grad=False
    yt = ref(torch.from_numpy(x))
    yt.backward(torch.from_numpy(dy))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    for (name, p), tp in zip(net.named_parameters(), ref.parameters()):
        g = p.grad.T if name == "7.weight" else p.grad
        np.testing.assert_allclose(g, tp.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)
