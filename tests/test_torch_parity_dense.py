"""PyTorch as an oracle: Linear, every activation, Softmax and the three losses.

Forward values and gradients (input and parameters) agree to 1e-10 relative in float64
and 1e-5 in float32 (see ``harness.check_torch_parity`` for the error measure).
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.gradcheck import away_from_kinks
from harness import check_torch_loss_parity, check_torch_parity

torch = pytest.importorskip("torch")
F = torch.nn.functional
pytestmark = pytest.mark.torch

DTYPES = [np.float64, np.float32]

ACTIVATIONS = {
    "Identity": (cr.Identity, lambda x: x * 1.0),
    "Sigmoid": (cr.Sigmoid, torch.sigmoid),
    "Tanh": (cr.Tanh, torch.tanh),
    "ImprovedSigmoid": (cr.ImprovedSigmoid, lambda x: 1.7159 * torch.tanh(2.0 * x / 3.0)),
    "ReLU": (cr.ReLU, torch.nn.ReLU()),
    "LeakyReLU": (cr.LeakyReLU, torch.nn.LeakyReLU()),             # both default to 0.01
    "LeakyReLU(0.2)": (lambda: cr.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)),
    "Softmax": (cr.Softmax, torch.nn.Softmax(dim=-1)),
    "Softmax(axis=1)": (lambda: cr.Softmax(axis=1), torch.nn.Softmax(dim=1)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(1, 7, 3), (8, 5, 4), (2, 3, 6, 5)], ids=str)
def test_linear(shape, bias, dtype, rng):
    *lead, fin, fout = shape
    layer = cr.Linear(fin, fout, bias=bias, rng=rng)
    if bias:
        layer.bias.data[...] = rng.standard_normal(fout)
    tlayer = torch.nn.Linear(fin, fout, bias=bias)
    errors = check_torch_parity(layer, tlayer, rng.standard_normal((*lead, fin)),
                                param_map={"weight": ("weight", np.transpose)}, dtype=dtype)
    assert set(errors) == {"forward", "input", "weight"} | ({"bias"} if bias else set())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation(name, dtype, rng):
    make, tfn = ACTIVATIONS[name]
    x = away_from_kinks(3 * rng.standard_normal((4, 3, 5)))
    check_torch_parity(make(), tfn, x, dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_mlp(dtype, rng):
    model = cr.Sequential(cr.Linear(6, 5, rng=0), cr.Sigmoid(), cr.Linear(5, 3, rng=1))
    tmodel = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Sigmoid(), torch.nn.Linear(5, 3))
    check_torch_parity(model, tmodel, rng.standard_normal((4, 6)), dtype=dtype,
                       param_map={"0.weight": ("0.weight", np.transpose),
                                  "2.weight": ("2.weight", np.transpose)})


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_softmax_cross_entropy(reduction, dtype, rng):
    z = 3 * rng.standard_normal((6, 5))
    y = rng.integers(0, 5, 6)
    ce = cr.SoftmaxCrossEntropy(reduction)
    check_torch_loss_parity(ce, lambda p, t: F.cross_entropy(p, t, reduction=reduction),
                            z, y, dtype=dtype)
    soft = rng.dirichlet(np.ones(5), 6)
    check_torch_loss_parity(ce, lambda p, t: F.cross_entropy(p, t, reduction=reduction),
                            z, soft, dtype=dtype)
    unnormalised = rng.uniform(0, 2, (6, 5))
    check_torch_loss_parity(ce, lambda p, t: F.cross_entropy(p, t, reduction=reduction),
                            z, unnormalised, dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_mse(reduction, dtype, rng):
    check_torch_loss_parity(cr.MSELoss(reduction),
                            lambda p, t: F.mse_loss(p, t, reduction=reduction),
                            rng.standard_normal((5, 3)), rng.standard_normal((5, 3)), dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_bce_with_logits(reduction, dtype, rng):
    z = 4 * rng.standard_normal((5, 3))
    z[0, 0], z[1, 1] = 30.0, -30.0  # saturated logits: the stable form must still agree
    check_torch_loss_parity(cr.BCEWithLogits(reduction),
                            lambda p, t: F.binary_cross_entropy_with_logits(
                                p, t, reduction=reduction),
                            z, rng.uniform(0, 1, (5, 3)), dtype=dtype)


def test_parity_helper_catches_a_wrong_layout(rng):
    """Copying W without the transpose (a classic porting bug) must fail the comparison."""
    layer = cr.Linear(3, 3, rng=0)
    with pytest.raises(AssertionError, match="differs from PyTorch"):
        check_torch_parity(layer, torch.nn.Linear(3, 3), rng.standard_normal((2, 3)))
