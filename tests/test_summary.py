"""Model summaries: shapes, parameter counts, MACs, memory and arithmetic against hand counts."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.models import CNN, MLP
from chainrule.summary import format_bytes, summary


def test_mlp_rows_and_totals():
    s = summary(MLP(rng=0), (784,), batch_size=32)
    assert [r.name for r in s.rows] == ["0", "1", "2", "3", "4"]
    assert [r.type for r in s.rows] == ["Linear", "Sigmoid", "Linear", "ReLU", "Linear"]
    assert [r.output_shape for r in s.rows] == [(100,), (100,), (50,), (50,), (10,)]
    assert [r.params for r in s.rows] == [78_500, 0, 5_050, 0, 510]
    assert [r.macs for r in s.rows] == [78_400, 0, 5_000, 0, 500]
    assert [r.bytes_per_sample for r in s.rows] == [400, 400, 200, 200, 40]
    assert [r.batch_bytes for r in s.rows] == [12_800, 12_800, 6_400, 6_400, 1_280]
    assert (s.total_params, s.trainable_params, s.non_trainable_params) == (84_060, 84_060, 0)
    assert s.total_macs == 83_900 and s.param_bytes == 4 * 84_060
    assert s.output_shape == (10,) and s.input_bytes == 784 * 4
    text = str(s)
    assert "Total params: 84,060 (328.4 KiB)" in text
    assert "Total MACs: 83,900 per sample, 2,684,800 per batch of 32" in text
    assert " 0 (Linear)" in text and "(32, 100)" in text
    assert s.to_dict()["rows"][0]["output_shape"] == [100]


def test_buffers_are_non_trainable_and_nesting_gives_dotted_names():
    model = cr.Sequential(cr.Linear(4, 3), cr.Sequential(cr.BatchNorm1d(3), cr.ReLU()),
                          cr.Dropout(0.3), cr.Linear(3, 2))
    s = model.summary((4,))
    assert [r.name for r in s.rows] == ["0", "1.0", "1.1", "2", "3"]
    bn = s.rows[1]
    assert (bn.trainable, bn.non_trainable, bn.params) == (6, 6, 12)
    # num_batches_tracked is an integer counter, not a parameter
    assert (s.trainable_params, s.non_trainable_params, s.total_params) == (29, 6, 35)
    assert "Non-trainable params: 6" in str(s) and "None, 3)" in str(s)


def test_conv_rows_against_hand_counts():
    model = cr.Sequential(cr.Conv2d(3, 8, 5, stride=2, padding=1), cr.ReLU(),
                          cr.MaxPool2d(3, stride=2), cr.Flatten(), cr.Linear(8 * 7 * 7, 10))
    s = summary(model, (3, 32, 32))
    ho = (32 + 2 * 1 - 5) // 2 + 1  # 15
    assert s.rows[0].output_shape == (8, ho, ho)
    assert s.rows[0].params == 8 * 3 * 5 * 5 + 8
    assert s.rows[0].macs == 8 * 3 * 5 * 5 * ho * ho
    assert s.rows[2].output_shape == (8, 7, 7)  # ⌊(15 − 3)/2⌋ + 1
    assert s.rows[4].macs == 8 * 7 * 7 * 10
    assert s.rows[0].arithmetic == "H: ⌊(32 + 2·1 − 5)/2⌋ + 1 = 15; W: ⌊(32 + 2·1 − 5)/2⌋ + 1 = 15"
    assert s.rows[2].arithmetic == "H: (15 + 2·0 − 3)/2 + 1 = 7; W: (15 + 2·0 − 3)/2 + 1 = 7"
    text = str(s)
    assert "      H: ⌊(32 + 2·1 − 5)/2⌋ + 1 = 15" in text  # the arithmetic sits under its row
    assert s.rows[1].arithmetic is None


def test_cnn_summary_text():
    s = CNN(conv_kernel_size=5, zero_padding=True, rng=0).summary((1, 28, 28))
    assert [r.output_shape for r in s.rows] == [
        (16, 28, 28), (16, 28, 28), (16, 27, 27), (32, 27, 27), (32, 27, 27), (32, 26, 26),
        (32 * 26 * 26,), (10,)]
    assert s.total_params == (16 * 25 + 16) + (32 * 16 * 25 + 32) + (32 * 26 * 26 * 10 + 10)
    assert s.rows[0].macs == 16 * 25 * 28 * 28 and s.rows[3].macs == 32 * 16 * 25 * 27 * 27
    assert "H: (28 + 2·2 − 5)/1 + 1 = 28" in str(s)
    valid = CNN(conv_kernel_size=5, zero_padding=False, rng=0).summary((1, 28, 28))
    assert valid.rows[0].output_shape == (16, 24, 24) and valid.rows[6].output_shape == (10368,)
    assert "H: (28 + 2·0 − 5)/1 + 1 = 24" in str(valid)


class _NoForward(cr.Module):
    """A leaf whose forward must not run: summary walks output_shape instead."""

    def forward(self, x, *, training=False):
        raise AssertionError("summary ran forward although every leaf has output_shape")

    def output_shape(self, input_shape):
        return (input_shape[0] * 2,)


def test_walk_does_not_run_forward():
    s = summary(cr.Sequential(cr.Linear(3, 4), _NoForward(), cr.Linear(8, 2)), (3,))
    assert [r.output_shape for r in s.rows] == [(4,), (8,), (2,)]


class _Residual(cr.Module):
    """y = x + tanh(Wx + b): a container with its own forward, so summary traces it."""

    def __init__(self, n):
        super().__init__()
        self.fc = cr.Linear(n, n, rng=0)
        self.act = cr.Tanh()

    def forward(self, x, *, training=False):
        return x + self.act.forward(self.fc.forward(x))


def test_non_chain_models_are_traced():
    shared = cr.Linear(5, 5, rng=0)
    model = cr.Sequential(_Residual(5), shared, cr.ReLU(), shared)
    s = summary(model, (5,))
    assert [r.name for r in s.rows] == ["0.fc", "0.act", "1", "2", "1"]
    assert [r.params for r in s.rows] == [30, 0, 30, 0, 0]  # the shared layer counted once
    assert s.trainable_params == model.num_parameters() == 60
    assert "forward" not in shared.__dict__  # the tracing wrapper is removed again
    x = np.ones((2, 5), dtype=np.float32)
    assert model.forward(x).shape == (2, 5)


def test_errors_name_the_layer():
    model = cr.Sequential(cr.Conv2d(1, 4, 3), cr.MaxPool2d(2), cr.Conv2d(4, 4, 5))
    with pytest.raises(ValueError, match=r"layer 2 \(Conv2d\).*\(4, 3, 3\)"):
        summary(model, (1, 8, 8))
    with pytest.raises(ValueError, match="batch_size"):
        summary(model, (1, 8, 8), batch_size=0)


def test_float64_and_format_bytes():
    s = summary(cr.Sequential(cr.Linear(2, 3, dtype=np.float64)), (2,))
    assert s.rows[0].bytes_per_sample == 24 and s.param_bytes == 72
    assert [format_bytes(n) for n in (0, 1023, 1024, 1536, 5 * 2**20)] == [
        "0 B", "1023 B", "1.0 KiB", "1.5 KiB", "5.0 MiB"]


def test_shared_layer_in_a_chain_is_walked_twice_and_counted_once():
    shared = cr.Linear(4, 4, rng=0)
    s = summary(cr.Sequential(shared, cr.Tanh(), shared), (4,))
    assert [r.name for r in s.rows] == ["0", "1", "2"]
    assert [r.params for r in s.rows] == [20, 0, 0] and s.total_params == 20
    assert [r.macs for r in s.rows] == [16, 0, 16]
