"""Parameter, Module and Sequential: registration, traversal, state and display."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.core import Module, Parameter, Sequential


class WithBuffer(Module):
    """A toy layer with a parameter and a running-statistic buffer."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = Parameter(np.ones(3, dtype=np.float32))
        self.register_buffer("running", np.zeros(3, dtype=np.float32))
        self.register_buffer("count", np.zeros((), dtype=np.int64))


def mlp() -> Sequential:
    return Sequential(cr.Linear(4, 3, rng=0), cr.ReLU(), cr.Linear(3, 2, rng=1))


# ------------------------------------------------------------------ Parameter
def test_parameter_basics():
    p = Parameter(np.arange(6, dtype=np.float32).reshape(2, 3), name="w")
    assert p.shape == (2, 3) and p.dtype == np.float32 and p.size == 6
    assert p.grad.shape == p.shape and p.grad.dtype == p.dtype and not p.grad.any()
    p.grad += 1.0
    p.zero_grad()
    assert not p.grad.any()
    assert repr(p) == "Parameter(name='w', shape=(2, 3), dtype=float32)"
    with pytest.raises(TypeError, match="floating point"):
        Parameter(np.arange(3))


def test_parameter_named_by_attribute():
    layer = cr.Linear(2, 3)
    assert layer.weight.name == "weight" and layer.bias.name == "bias"


# ------------------------------------------------------------------ Module registration
def test_module_requires_super_init():
    class Bad(Module):
        def __init__(self) -> None:
            self.w = 1

    with pytest.raises(RuntimeError, match="super"):
        Bad()


def test_reassignment_moves_between_registries():
    m = cr.Linear(2, 2)
    m.bias = None
    assert [n for n, _ in m.named_parameters()] == ["weight"]
    assert m.num_parameters() == 4


def test_buffer_reassignment_keeps_it_a_buffer():
    m = WithBuffer()
    m.running = np.ones(3, dtype=np.float32)  # plain assignment, as a BatchNorm update might do
    assert "running" in m.state_dict() and m.state_dict()["running"].sum() == 3


def test_protocol_defaults_raise():
    m = Module()
    with pytest.raises(NotImplementedError):
        m.forward(np.zeros(1))
    with pytest.raises(NotImplementedError):
        m.backward(np.zeros(1))
    with pytest.raises(RuntimeError, match="Linear.backward called before forward"):
        cr.Linear(2, 2).backward(np.zeros((1, 2)))


# ------------------------------------------------------------------ Sequential
def test_sequential_indexing_slicing_iteration():
    model = mlp()
    assert len(model) == 3
    assert isinstance(model[0], cr.Linear) and model[-1] is model[2]
    tail = model[1:]
    assert isinstance(tail, Sequential) and len(tail) == 2 and tail[1] is model[2]
    assert [type(m).__name__ for m in model] == ["Linear", "ReLU", "Linear"]
    assert list(Sequential([cr.Tanh(), cr.ReLU()])._modules) == ["0", "1"]
    with pytest.raises(TypeError, match="Sequential takes Modules"):
        Sequential(cr.Tanh(), np.tanh)


def test_sequential_forward_backward_chain(rng):
    model = mlp()
    x = rng.standard_normal((5, 4)).astype(np.float32)
    y = model(x)
    by_hand = model[2](model[1](model[0](x)))
    np.testing.assert_array_equal(y, by_hand)
    dx = model.backward(np.ones_like(y))
    assert dx.shape == x.shape
    assert model.output_shape((4,)) == (2,)


def test_named_parameters_dotted_keys():
    model = Sequential(mlp(), cr.Linear(2, 2))
    names = [n for n, _ in model.named_parameters()]
    assert names == ["0.0.weight", "0.0.bias", "0.2.weight", "0.2.bias", "1.weight", "1.bias"]
    assert [n for n, _ in model.named_modules()][:3] == ["", "0", "0.0"]
    assert model.num_parameters() == 4 * 3 + 3 + 3 * 2 + 2 + 2 * 2 + 2


def test_shared_parameter_listed_once():
    a, b = cr.Linear(3, 3), cr.Linear(3, 3)
    b.weight = a.weight  # tied weights
    model = Sequential(a, b)
    assert len(model.parameters()) == 3
    assert "1.weight" in model.state_dict()


def test_zero_grad(rng):
    model = mlp()
    model(rng.standard_normal((2, 4)).astype(np.float32))
    model.backward(np.ones((2, 2), np.float32))
    assert any(p.grad.any() for p in model.parameters())
    model.zero_grad()
    assert not any(p.grad.any() for p in model.parameters())


# ------------------------------------------------------------------ state
def test_state_dict_round_trip_and_copies():
    a, b = mlp(), Sequential(cr.Linear(4, 3, rng=5), cr.ReLU(), cr.Linear(3, 2, rng=6))
    state = a.state_dict()
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    state["0.weight"] += 1.0  # a copy: the model is untouched
    assert not np.array_equal(state["0.weight"], a[0].weight.data)
    b.load_state_dict(a.state_dict())
    for (ka, pa), (kb, pb) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        assert ka == kb
        np.testing.assert_array_equal(pa.data, pb.data)
    w = b[0].weight
    b.load_state_dict({k: v.astype(np.float64) for k, v in a.state_dict().items()})
    assert b[0].weight is w and w.dtype == np.float32  # in place, own dtype kept


def test_buffers_in_state_dict():
    m = WithBuffer()
    assert set(m.state_dict()) == {"scale", "running", "count"}
    assert dict(m.named_buffers()).keys() == {"running", "count"}
    m.load_state_dict({"scale": np.full(3, 2.0), "running": np.full(3, 5.0), "count": np.int64(7)})
    assert m.running.dtype == np.float32 and m.running.sum() == 15 and m.count == 7
    nested = Sequential(WithBuffer())
    assert "0.running" in nested.state_dict()


def test_load_state_dict_errors_name_keys():
    model = mlp()
    state = model.state_dict()
    del state["2.bias"]
    state["3.weight"] = np.zeros(1)
    state["0.weight"] = np.zeros((3, 4))
    with pytest.raises(ValueError) as err:
        model.load_state_dict(state)
    msg = str(err.value)
    assert "missing keys ['2.bias']" in msg
    assert "unexpected keys ['3.weight']" in msg
    assert "0.weight: checkpoint has shape (3, 4), model has (4, 3)" in msg
    with pytest.raises(ValueError, match="0.weight"):  # shapes are checked even when not strict
        model.load_state_dict(state, strict=False)
    before = model[0].weight.data.copy()
    state["0.weight"] = np.ones((4, 3))
    model.load_state_dict(state, strict=False)
    np.testing.assert_array_equal(model[0].weight.data, 1.0)
    assert not np.array_equal(before, 1.0)


def test_astype_casts_parameters_grads_and_buffers():
    model = Sequential(cr.Linear(2, 2), WithBuffer())
    assert model.astype(np.float64) is model
    for p in model.parameters():
        assert p.data.dtype == p.grad.dtype == np.float64
    assert model[1].running.dtype == np.float64 and model[1].count.dtype == np.int64
    assert model[0].dtype == np.float64
    assert model[0](np.ones((1, 2), np.float32)).dtype == np.float64
    with pytest.raises(TypeError, match="floating point"):
        model.astype(np.int32)


def test_repr():
    assert repr(cr.Linear(4, 3)) == "Linear(4, 3, bias=True)"
    assert repr(mlp()) == ("Sequential(\n  (0): Linear(4, 3, bias=True)\n  (1): ReLU()\n"
                           "  (2): Linear(3, 2, bias=True)\n)")
    assert repr(Sequential(mlp())).count("\n    (0): Linear") == 1
    assert repr(cr.LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"


def test_train_and_eval_set_the_mode_of_model_calls():
    x = np.ones((64, 50), dtype=np.float32)
    model = cr.Sequential(cr.Linear(50, 50, rng=0), cr.Dropout(0.5, rng=1))
    inference = model.forward(x)
    assert not model.training and np.array_equal(model(x), inference)
    assert model.train() is model and all(m.training for m in model.modules())
    dropped = model(x)
    assert (dropped == 0).mean() > 0.3                         # dropout is active
    np.testing.assert_array_equal(model(x, training=False), inference)   # explicit wins
    model.eval()
    assert not any(m.training for m in model.modules())
    np.testing.assert_array_equal(model(x), inference)
