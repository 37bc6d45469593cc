"""The checkers themselves: gradcheck, gradcheck_loss and the layer harness must catch bugs."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.core import Module, Parameter
from chainrule.gradcheck import (
    GradcheckReport,
    TensorCheck,
    away_from_kinks,
    compare,
    gradcheck,
    gradcheck_loss,
    numeric_gradient,
)
from harness import assert_all_dtype, check_layer, rel_err


class Scale(Module):
    """y = a ⊙ x with a learnable vector a — small enough to break in controlled ways."""

    def __init__(self, n: int = 3, mode: str = "ok") -> None:
        super().__init__()
        self.a = Parameter(np.linspace(0.5, 1.5, n).astype(np.float32))
        self.mode = mode
        self._x = None

    def forward(self, x, *, training=False):
        if x.dtype != self.a.dtype:
            x = x.astype(self.a.dtype)
        self._x = x
        return x * self.a.data

    def backward(self, dy):
        x = self._x if self.mode == "no_raise" else self._cached(self._x)
        if x is None:
            return dy
        da = (dy * x).sum(axis=0)
        if self.mode == "overwrite":
            self.a.grad[...] = da          # bug: = instead of +=
        else:
            self.a.grad += da
        if self.mode == "float64":
            self._leak = np.zeros(1)       # bug: a float64 array sneaks into the layer
        if self.mode == "bad_shape":
            return (dy * self.a.data)[:1]  # bug: dx of the wrong shape
        if self.mode == "wrong_dx":
            return dy                      # bug: forgets the factor a
        return dy * self.a.data


def test_gradcheck_passes_correct_and_names_tensors(rng):
    report = gradcheck(Scale(), rng.standard_normal((4, 3)))
    assert report.ok and [r.name for r in report.results] == ["input", "a"]
    assert report.max_rel < 1e-8 and report["a"].checked == 3
    with pytest.raises(KeyError):
        report["missing"]
    assert "Scale: ok" in str(report)


def test_gradcheck_flags_wrong_input_gradient(rng):
    report = gradcheck(Scale(mode="wrong_dx"), rng.standard_normal((4, 3)))
    assert not report.ok and not report["input"].ok() and report["a"].ok()
    assert "FAILED" in str(report) and "FAIL" in str(report).splitlines()[1]


def test_gradcheck_flags_wrong_shape(rng):
    report = gradcheck(Scale(mode="bad_shape"), rng.standard_normal((4, 3)))
    assert not report.ok and report.max_rel == float("inf")


def test_gradcheck_leaves_module_untouched_and_samples(rng):
    layer = cr.Linear(30, 20, rng=0)
    before = layer.weight.data.copy()
    report = gradcheck(layer, rng.standard_normal((2, 30)), max_checks=7)
    assert report.ok and report["weight"].checked == 7 and report["bias"].checked == 7
    assert layer.weight.dtype == np.float32 and np.array_equal(layer.weight.data, before)
    assert not layer.weight.grad.any()


def test_gradcheck_restores_layer_rngs(rng):
    """A layer that draws from self.rng in forward sees the same numbers in every evaluation."""

    class Noisy(Module):
        def __init__(self):
            super().__init__()
            self.rng = np.random.default_rng(0)
            self._m = None

        def forward(self, x, *, training=False):
            self._m = self.rng.uniform(0.5, 1.5, x.shape)
            return x * self._m

        def backward(self, dy):
            return dy * self._cached(self._m)

    assert gradcheck(Noisy(), rng.standard_normal((3, 4)), training=True).ok


def test_gradcheck_integer_input_checks_parameters_only():
    class Lookup(Module):
        def __init__(self):
            super().__init__()
            self.table = Parameter(np.arange(12.0).reshape(4, 3))
            self._i = None

        def forward(self, i, *, training=False):
            self._i = i
            return self.table.data[i]

        def backward(self, dy):
            np.add.at(self.table.grad, self._cached(self._i), dy)

    report = gradcheck(Lookup(), np.array([0, 2, 2]))
    assert report.ok and [r.name for r in report.results] == ["table"]


def test_compare_floor_and_numeric_gradient():
    tc = compare("t", np.array([1.0, 1e-9]), np.array([1.0, 2e-9]))
    assert tc.max_rel == pytest.approx(1e-9 / 1e-3)  # tiny entries judged on the tensor's scale
    assert compare("z", np.zeros(3), np.zeros(3)).max_rel == 0.0
    z = np.array([1.0, 2.0, 3.0])
    g = numeric_gradient(lambda: float(np.sum(z**3)), z, 1e-6)
    np.testing.assert_allclose(g, 3 * z**2, rtol=1e-8)
    np.testing.assert_allclose(numeric_gradient(lambda: z**3, z, 1e-6), 3 * z**2, rtol=1e-8)
    with pytest.raises(ValueError, match="contiguous"):
        numeric_gradient(lambda: 0.0, np.ones((3, 4)).T, 1e-6)


def test_report_aggregation():
    r = GradcheckReport("x", [TensorCheck("a", (1,), 1e-3, 1e-9, 1),
                              TensorCheck("b", (1,), 1e-3, 2e-6, 1)])
    assert not r.ok and r.max_rel == 2e-6
    assert GradcheckReport("empty").ok and GradcheckReport("empty").max_rel == 0.0


def test_gradcheck_loss_catches_a_wrong_gradient(rng):
    class Doubled(cr.MSELoss):
        def backward(self):
            return 2 * super().backward()

    z, t = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    assert gradcheck_loss(cr.MSELoss(), z, t).ok
    assert not gradcheck_loss(Doubled(), z, t).ok


def test_away_from_kinks():
    x = away_from_kinks(np.array([-0.01, 0.0, 0.02, 0.3, 0.99]), kinks=(0.0, 1.0), margin=0.05)
    np.testing.assert_array_equal(x, [-0.05, 0.05, 0.05, 0.3, 0.95])


# ------------------------------------------------------------------ the harness can fail
@pytest.mark.parametrize("mode,message", [
    ("overwrite", "does not accumulate"),
    ("no_raise", "DID NOT RAISE"),
    ("float64", "non-float32 arrays"),
    ("bad_shape", "returned dx of shape"),
    ("wrong_dx", "gradient check failed"),
])
def test_harness_catches(mode, message, rng):
    with pytest.raises((AssertionError, pytest.fail.Exception), match=message):
        check_layer(lambda: Scale(mode=mode), rng.standard_normal((4, 3)))


def test_harness_catches_wrong_forward(rng):
    check_layer(Scale, rng.standard_normal((2, 3)), lambda x, p: x * p["a"])
    with pytest.raises(AssertionError, match="closed form"):
        check_layer(Scale, rng.standard_normal((2, 3)), lambda x, p: 2 * x * p["a"])


def test_harness_accepts_a_module_instance_and_params(rng):
    a = np.array([2.0, -1.0, 0.5])
    x = rng.standard_normal((5, 3))
    report = check_layer(Scale(), x, x * a, params={"a": a})
    assert report["a"].checked == 3


def test_helpers():
    assert rel_err(np.array([1.0, 2.0]), np.array([1.0, 2.0 + 2e-9])) == pytest.approx(1e-9)
    with pytest.raises(AssertionError, match="non-float32"):
        assert_all_dtype(cr.Linear(2, 2, dtype=np.float64))


def test_zero_gradient_tensor_passes_on_absolute_floor():
    """A bias feeding a training-mode batch norm has gradient exactly 0; noise must not fail it."""
    import chainrule as cr
    from chainrule.gradcheck import gradcheck

    model = cr.Sequential(cr.Linear(4, 3, rng=0), cr.BatchNorm1d(3))
    x = np.random.default_rng(1).standard_normal((6, 4))
    report = gradcheck(model, x, training=True)
    assert report["0.bias"].max_abs <= 1e-9
    assert report.ok, str(report)


# ------------------------------------------------------------------ the tolerance matters
@pytest.mark.parametrize("bad", [-1.0, 0.0, float("nan"), float("inf"), "x"])
def test_bad_tolerance_is_refused_everywhere(bad, rng):
    from chainrule.catalogue import run_all

    x = rng.standard_normal((2, 3))
    for call in (lambda: gradcheck(Scale(), x, tol=bad),
                 lambda: gradcheck_loss(cr.MSELoss(), x, x, tol=bad),
                 lambda: GradcheckReport("r", tol=bad),
                 lambda: TensorCheck("t", (1,), 0.0, 0.0, 1, 1.0).ok(bad),
                 lambda: run_all(tol=bad, names=[])):
        with pytest.raises(ValueError, match="tol"):
            call()


def test_tiny_real_gradient_is_judged_relative_not_by_the_absolute_floor():
    """Errors below 1e-9 in absolute terms must not pass a real (non-zero) gradient: the
    absolute test is only for gradients that are zero (scale ≤ ATOL)."""
    from chainrule.gradcheck import ATOL

    wrong = compare("w", np.array([2e-9, 1e-9]), np.array([1e-9, 1e-9]))  # 100% off
    assert wrong.max_abs <= ATOL and wrong.test == "rel" and not wrong.ok()
    close = compare("c", np.array([1.0, 2.0]), np.array([1.0 + 1e-10, 2.0]))
    assert close.max_abs < ATOL and close.test == "rel"
    assert close.ok(1e-6) and not close.ok(1e-11)  # the tolerance decides, not the floor
    zero = compare("z", np.zeros(3), np.array([1e-11, -2e-11, 0.0]))
    assert zero.test == "abs" and zero.ok(1e-12) and zero.max_rel == pytest.approx(1.0)
    noisy_zero = compare("n", np.zeros(2), np.array([5e-10, 0.0]))
    assert noisy_zero.test == "abs" and noisy_zero.ok()
    assert TensorCheck("manual", (1,), 1e-12, 1.0, 1).test == "rel"  # unknown scale: relative


def test_tolerance_changes_the_verdict_of_a_real_check(rng):
    x = rng.standard_normal((4, 3))
    loose = gradcheck(Scale(), x, tol=1e-6)
    assert loose.ok and all(r.test == "rel" for r in loose.results)
    assert not gradcheck(Scale(), x, tol=1e-15).ok
    assert not gradcheck_loss(cr.MSELoss(), x, x + 1.0, tol=1e-15).ok


def test_report_rows_name_the_deciding_test(rng):
    import chainrule as cr
    from chainrule.catalogue import format_table

    model = cr.Sequential(cr.Linear(4, 3, rng=0), cr.BatchNorm1d(3))
    report = gradcheck(model, rng.standard_normal((6, 4)), training=True)
    assert report["0.bias"].test == "abs" and report["0.weight"].test == "rel"
    lines = {line.split()[0]: line for line in str(report).splitlines()[1:]}
    assert lines["0.bias"].endswith("abs ok") and lines["0.weight"].endswith("rel ok")
    table = format_table([report])
    assert "test" in table.splitlines()[0] and "rel, 1 abs" in table


def test_cli_gradcheck_tol_is_validated_and_has_an_effect(capsys):
    from chainrule.cli import main

    for bad in ("-1", "nan", "0", "inf"):
        with pytest.raises(SystemExit) as exc:
            main(["gradcheck", "--tol", bad])
        assert exc.value.code == 2
        assert "--tol" in capsys.readouterr().err
    assert main(["gradcheck", "--tol", "1e-15"]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and " rel " in out
