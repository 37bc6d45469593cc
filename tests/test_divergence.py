"""Divergence that stays finite: detected, stopped, and the last good weights kept.

The rule (``chainrule.train.divergence``): the mean loss of the last 10 steps above
1e3× its running minimum *and* above 10× the first step's loss. These tests cover the
class — any optimizer, any loss, with and without checkpoints, resumed or not — and that
ordinary training (including noisy, high-lr and overfitting runs) never trips it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import train
from chainrule.data import DataLoader
from chainrule.optim import SGD, Adam
from chainrule.train import Divergence, DivergenceError, NonFiniteLossError


@pytest.fixture(scope="module")
def digits():
    sklearn = pytest.importorskip("sklearn.datasets")
    d = sklearn.load_digits()
    return (d.data / 16.0).astype(np.float32), d.target.astype(np.int64)


def _mlp(seed=0, act=cr.Sigmoid):
    rng = np.random.default_rng(seed)
    return cr.Sequential(cr.Linear(64, 32, rng=rng), act(), cr.Linear(32, 10, rng=rng))


def _same(a, b):
    return all(np.array_equal(a[k], b[k]) for k in a) and a.keys() == b.keys()


# ------------------------------------------------------------------ the rule itself
def test_rule_trips_on_a_finite_blow_up_and_says_why():
    d = Divergence()
    for v in (2.3, 2.0, 1.5):
        assert d.update(v) is None
    why = d.update(4e19)
    assert why is not None and "running minimum 1.933" in why and "first step's loss 2.3" in why


def test_rule_ignores_forgetting_and_single_noisy_batches():
    d = Divergence()
    losses = [2.3] + list(np.geomspace(2.0, 1e-6, 300))  # a run that overfits to ~0
    losses += [0.5, 1e-6, 3.0, 1e-6] * 20  # then forgets and spikes back to chance level
    losses += [20.0] + [1e-3] * 9  # one batch far above chance (mean stays < 23)
    assert all(d.update(v) is None for v in losses)


def test_rule_needs_positive_losses_and_validates_its_settings():
    d = Divergence()
    assert all(d.update(v) is None for v in (-1.0, -5.0, 1e9))  # a log-likelihood: no ratios
    for bad in ({"factor": 1.0}, {"ceiling": math.nan}, {"window": 0}, {"factor": "x"}):
        with pytest.raises(ValueError, match="Divergence"):
            Divergence(**bad)


def test_rule_state_round_trips():
    d = Divergence()
    for v in (3.0, 2.0, 1.0):
        d.update(v)
    e = Divergence()
    e.load_state_dict(d.state_dict())
    assert e.state_dict() == d.state_dict()
    assert (e.update(1e9) is None) == (d.update(1e9) is None)


# ------------------------------------------------------------------ in the loop
@pytest.mark.parametrize("make_opt", [lambda p: SGD(p, lr=1e6), lambda p: SGD(p, lr=1e4,
                                      momentum=0.9), lambda p: Adam(p, lr=1e4)],
                         ids=["sgd", "momentum", "adam"])
def test_huge_lr_stops_with_the_weights_from_before(digits, make_opt):
    x, y = digits
    model = _mlp()
    start = model.state_dict()
    with pytest.raises(NonFiniteLossError, match="diverged|loss is") as info:
        train.fit(model, cr.SoftmaxCrossEntropy(), make_opt(model.parameters()),
                  DataLoader(x, y, 32, rng=0), epochs=5)
    assert info.value.step <= 30
    assert "weights from step 0 back" in str(info.value)
    assert _same(model.state_dict(), start)  # the blown-up weights were not kept


def test_autoencoder_mse_blow_up_is_caught(digits):
    x, _ = digits
    rng = np.random.default_rng(0)
    model = cr.Sequential(cr.Linear(64, 16, rng=rng), cr.Tanh(), cr.Linear(16, 64, rng=rng))
    with pytest.raises(DivergenceError, match="diverged"):
        train.fit(model, cr.MSELoss(), SGD(model.parameters(), lr=50.0),
                  DataLoader(x, None, 32, rng=0), epochs=5, metrics=None)


def test_last_good_checkpoint_is_kept_and_restored(digits, tmp_path):
    """A run that is fine for two epochs, then blows up: the checkpoint on disk and the
    model's weights are those of the last healthy point, never a blown-up step's."""
    x, y = digits
    model = _mlp(act=cr.ReLU)
    opt = SGD(model.parameters(), lr=0.1)

    class Boost(train.Callback):  # the lr jumps after two good epochs
        def on_epoch_begin(self, epoch, logs):
            if epoch == 2:
                self.trainer.optimizer.lr = 1e5

    ck = tmp_path / "ck.npz"
    with pytest.raises(DivergenceError) as info:
        train.fit(model, cr.SoftmaxCrossEntropy(), opt, DataLoader(x, y, 32, rng=0),
                  epochs=6, callbacks=[Boost(), train.ModelCheckpoint(ck, every_n_steps=1)])
    assert info.value.epoch == 3 and str(ck) in str(info.value)
    saved = cr.load(ck, _mlp(seed=5, act=cr.ReLU))
    good = saved["position"]["step"]
    assert f"weights from step {good} back" in str(info.value)
    assert good < info.value.step - 1  # checkpoints after the first blown-up step were skipped
    probe = _mlp(seed=5, act=cr.ReLU)
    cr.load(ck, probe)
    assert _same(model.state_dict(), probe.state_dict())
    loss = cr.SoftmaxCrossEntropy().forward(probe.forward(x), y)
    assert loss < 2.3  # the kept weights are trained, not blown up


def test_nan_guard_also_restores_the_last_good_weights(digits):
    x, y = digits
    x = x[:320].copy()
    x[7 * 32, 0] = np.nan
    batches = [(x[i:i + 32], y[i:i + 32]) for i in range(0, 320, 32)]
    model = _mlp()
    start = model.state_dict()
    with pytest.raises(NonFiniteLossError, match="loss is nan at step 8"):
        train.fit(model, cr.SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1), batches,
                  epochs=1)
    assert _same(model.state_dict(), start)


@pytest.mark.parametrize("make_opt", [lambda p: SGD(p, lr=0.1), lambda p: SGD(p, lr=3.0),
                                      lambda p: SGD(p, lr=0.5, momentum=0.9),
                                      lambda p: Adam(p, lr=1e-2), lambda p: Adam(p, lr=0.1)],
                         ids=["sgd", "sgd-high", "momentum", "adam", "adam-high"])
def test_ordinary_training_never_trips(digits, make_opt):
    x, y = digits
    model = _mlp(act=cr.ReLU)
    hist = train.fit(model, cr.SoftmaxCrossEntropy(), make_opt(model.parameters()),
                     DataLoader(x[:600], y[:600], 16, rng=0), epochs=8)
    assert len(hist.epoch_log) == 8


def test_divergence_can_be_turned_off_and_is_checkpointed(digits, tmp_path):
    x, y = digits
    model = _mlp()
    hist = train.fit(model, cr.SoftmaxCrossEntropy(), SGD(model.parameters(), lr=1e3),
                     DataLoader(x[:200], y[:200], 50, rng=0), epochs=1, divergence=False)
    assert len(hist.epoch_log) == 1
    with pytest.raises(ValueError, match="divergence"):
        train.Trainer(model, cr.SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1),
                      divergence="yes")
    model = _mlp()
    train.fit(model, cr.SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1),
              DataLoader(x[:200], y[:200], 50, rng=0), epochs=1,
              callbacks=[train.ModelCheckpoint(tmp_path / "c.npz")])
    meta = cr.load(tmp_path / "c.npz", _mlp())
    assert meta["divergence"]["first"] > 2.0 and len(meta["divergence"]["recent"]) == 4


def test_fit_on_an_empty_loader_is_an_error():
    model = _mlp()
    with pytest.raises(ValueError, match="no batches"):
        train.fit(model, cr.SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1), [],
                  epochs=1)


def test_cli_train_huge_lr_is_a_one_line_error(tmp_path, capsys):
    pytest.importorskip("sklearn")
    from chainrule.cli import main

    out = tmp_path / "run"
    code = main(["train", "--dataset", "digits", "--hidden", "16", "--activation", "relu",
                 "--epochs", "3", "--lr", "1e6", "--out", str(out), "--threads", "1"])
    err = capsys.readouterr().err
    assert code == 1 and "diverged" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (out / "model.npz").exists()


def test_step_and_epoch_checkpoints_of_one_step_are_both_kept(digits, tmp_path):
    """A per-step checkpoint on an epoch's last step and the epoch-end checkpoint (another
    file) are proposed together; both land on disk, the epoch-end one at the next epoch."""
    x, y = digits
    model = _mlp()
    steps = tmp_path / "s.npz"
    epochs = tmp_path / "e.npz"
    train.fit(model, cr.SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1),
              DataLoader(x[:128], y[:128], 32, rng=0), epochs=2,
              callbacks=[train.ModelCheckpoint(steps, every_n_steps=4),
                         train.ModelCheckpoint(epochs)])
    assert cr.load(steps, _mlp())["position"]["step"] == 8
    assert cr.load(epochs, _mlp())["position"] == {"epoch": 2, "batch": 0, "step": 8}
    assert not list(tmp_path.glob(".*.tmp"))
