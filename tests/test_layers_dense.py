"""Dense layer and activations through the shared harness, plus stability and error messages."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.gradcheck import away_from_kinks
from harness import assert_all_dtype, check_layer


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


ACTIVATION_CASES = {
    "identity": (cr.Identity, lambda x, p: x),
    "sigmoid": (cr.Sigmoid, lambda x, p: _sigmoid(x)),
    "tanh": (cr.Tanh, lambda x, p: np.tanh(x)),
    "improved_sigmoid": (cr.ImprovedSigmoid, lambda x, p: 1.7159 * np.tanh(2.0 * x / 3.0)),
    "relu": (cr.ReLU, lambda x, p: np.where(x > 0, x, 0.0)),
    "leaky_relu": (lambda: cr.LeakyReLU(0.2), lambda x, p: np.where(x > 0, x, 0.2 * x)),
    "softmax": (cr.Softmax, lambda x, p: _softmax(x)),
}


@pytest.mark.parametrize("shape", [(1, 6), (3, 5), (2, 3, 4)])
@pytest.mark.parametrize("name", list(ACTIVATION_CASES))
def test_activation_harness(name, shape, rng):
    make, closed_form = ACTIVATION_CASES[name]
    x = away_from_kinks(2.0 * rng.standard_normal(shape))
    check_layer(make, x, closed_form)


def test_softmax_other_axis(rng):
    x = rng.standard_normal((2, 3, 4))
    check_layer(lambda: cr.Softmax(axis=1), x, lambda x, p: _softmax(x, axis=1))


@pytest.mark.parametrize("n,fin,fout", [(1, 1, 1), (1, 7, 3), (5, 3, 4), (4, 9, 2)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_harness(n, fin, fout, bias, rng):
    x = rng.standard_normal((n, fin))

    def closed_form(x, p):
        return x @ p["weight"] + (p["bias"] if bias else 0.0)

    report = check_layer(lambda: cr.Linear(fin, fout, bias=bias, rng=1), x, closed_form)
    assert {r.name for r in report.results} == {"input", "weight"} | ({"bias"} if bias else set())


def test_linear_with_given_params_and_extra_axes(rng):
    W = rng.standard_normal((4, 3))
    b = rng.standard_normal(3)
    x = rng.standard_normal((2, 5, 4))  # (N, T, F): parameter gradients sum over N and T
    check_layer(lambda: cr.Linear(4, 3), x, lambda x, p: x @ W + b,
                params={"weight": W, "bias": b})


def test_mlp_harness(rng):
    def make():
        return cr.Sequential(cr.Linear(6, 5, rng=0), cr.Sigmoid(), cr.Linear(5, 4, rng=1),
                             cr.Tanh(), cr.Linear(4, 3, rng=2))

    def closed_form(x, p):
        h = _sigmoid(x @ p["0.weight"] + p["0.bias"])
        h = np.tanh(h @ p["2.weight"] + p["2.bias"])
        return h @ p["4.weight"] + p["4.bias"]

    params = {"0.bias": rng.standard_normal(5), "2.bias": rng.standard_normal(4)}
    report = check_layer(make, rng.standard_normal((3, 6)), closed_form, params=params)
    assert report["4.bias"].max_rel < 1e-6


def test_relu_subgradient_at_zero_is_zero():
    layer = cr.ReLU()
    layer.forward(np.array([-1.0, 0.0, 2.0]))
    np.testing.assert_array_equal(layer.backward(np.ones(3)), [0.0, 0.0, 1.0])


@pytest.mark.parametrize("size", [7, 32768, 3 * 16384 + 5])  # numpy's path, rows only, both
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_forward_keeps_values_dtype_and_memory_order(rng, size, dtype):
    """Forward runs on x's memory as rows against a zero row: same values as np.maximum(x, 0)
    for any size, the input's memory order kept (a permuted, batch-innermost view stays so)."""
    base = rng.standard_normal((size, 2)).astype(dtype)
    base[:3, 0] = [-np.inf, np.inf, np.nan]
    for x in (base, base.T, base[::-1], base[:, :1]):  # contiguous, permuted, reversed, strided
        y = cr.ReLU().forward(x)
        np.testing.assert_array_equal(y, np.maximum(x, 0))
        assert y.dtype == dtype and y.shape == x.shape
    internal = np.ascontiguousarray(rng.standard_normal((16, 8, 8, 65)).astype(dtype))
    x = internal.transpose(3, 0, 1, 2)  # an NCHW view of (C, H, W, N) memory, as conv gives
    y = cr.ReLU().forward(x)
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    assert y.transpose(1, 2, 3, 0).flags.c_contiguous


def test_relu_of_integers_falls_back_to_numpy():
    np.testing.assert_array_equal(cr.ReLU().forward(np.array([-2, 0, 3])), [0, 0, 3])


@pytest.mark.parametrize("make_opt", [
    lambda m: cr.optim.SGD(m, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4),
    lambda m: cr.optim.Adam(m, lr=1e-3),
], ids=["sgd", "adam"])
def test_float32_forward_backward_step_leaves_every_array_float32(make_opt, rng):
    """Forward, backward and two optimizer steps keep every array float32 (DESIGN.md, Numbers)."""
    model = cr.Sequential(cr.Linear(8, 6, rng=0), cr.Sigmoid(), cr.Linear(6, 5, rng=1),
                          cr.ReLU(), cr.Linear(5, 4, rng=2), cr.LeakyReLU(), cr.Linear(4, 3),
                          cr.ImprovedSigmoid(), cr.Tanh(), cr.Softmax())
    loss = cr.SoftmaxCrossEntropy()
    x = rng.standard_normal((7, 8)).astype(np.float32)
    y = model.forward(x, training=True)
    value = loss.forward(y, np.arange(7) % 3)
    dx = model.backward(loss.backward())
    assert isinstance(value, float)
    assert y.dtype == dx.dtype == loss.backward().dtype == np.float32
    opt = make_opt(model)
    opt.step()
    opt.step()
    assert_all_dtype(model, np.float32)
    for state in opt.state:
        for name, array in state.items():
            assert array.dtype == np.float32, f"optimizer state {name!r} is {array.dtype}"


# ------------------------------------------------------------------ numerical stability
def test_sigmoid_extremes_exact_and_silent():
    layer = cr.Sigmoid()
    for dtype in (np.float32, np.float64):
        with warnings.catch_warnings(), np.errstate(all="raise"):
            warnings.simplefilter("error")
            y = layer.forward(np.array([-1e3, 1e3, 0.0], dtype=dtype))
            dx = layer.backward(np.ones(3, dtype=dtype))
        np.testing.assert_array_equal(y, [0.0, 1.0, 0.5])
        np.testing.assert_array_equal(dx, [0.0, 0.0, 0.25])


def test_softmax_extreme_logits_silent():
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        y = cr.Softmax().forward(np.array([[1e4, -1e4, 0.0]]))
    np.testing.assert_array_equal(y, [[1.0, 0.0, 0.0]])


# ------------------------------------------------------------------ error messages
def test_linear_wrong_feature_count_names_layer_and_shapes():
    with pytest.raises(ValueError, match=r"Linear\(4, 3\).*\(N, 4\).*\(2, 5\)"):
        cr.Linear(4, 3).forward(np.zeros((2, 5), dtype=np.float32))
    with pytest.raises(ValueError, match="Linear"):
        cr.Linear(4, 3).output_shape((5,))


def test_linear_rejects_nonpositive_sizes():
    with pytest.raises(ValueError, match="positive"):
        cr.Linear(0, 3)


def test_linear_casts_input_to_weight_dtype():
    assert cr.Linear(2, 2, rng=0).forward(np.ones((1, 2))).dtype == np.float32
    assert cr.Linear(2, 2, rng=0, dtype=np.float64).forward(np.ones((1, 2), np.float32)).dtype \
        == np.float64


def test_linear_macs_and_output_shape():
    layer = cr.Linear(784, 100)
    assert layer.macs((784,)) == 78_400
    assert layer.macs((5, 784)) == 5 * 78_400
    assert layer.output_shape((784,)) == (100,)


def test_activation_factory():
    assert isinstance(cr.activation("Leaky-ReLU"), cr.LeakyReLU)
    assert isinstance(cr.activation("improved_sigmoid"), cr.ImprovedSigmoid)
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        cr.activation("swish")


def test_linear_input_grad_false_skips_dx_but_keeps_parameter_gradients(rng):
    x = rng.standard_normal((5, 4)).astype(np.float32)
    dy = rng.standard_normal((5, 3)).astype(np.float32)
    full, lean = cr.Linear(4, 3, rng=0), cr.Linear(4, 3, rng=0, input_grad=False)
    full.forward(x)
    lean.forward(x)
    assert full.backward(dy) is not None and lean.backward(dy) is None
    np.testing.assert_array_equal(full.weight.grad, lean.weight.grad)
    np.testing.assert_array_equal(full.bias.grad, lean.bias.grad)
    assert "input_grad=False" in repr(lean)


def test_sequential_refuses_a_skipped_input_gradient_in_the_middle(rng):
    model = cr.Sequential(cr.Linear(4, 3, rng=0), cr.Tanh(),
                          cr.Linear(3, 2, rng=1, input_grad=False))
    model.forward(rng.standard_normal((2, 4)))
    with pytest.raises(RuntimeError, match="only the first layer"):
        model.backward(np.ones((2, 2)))
