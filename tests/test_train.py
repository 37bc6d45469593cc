"""The training loop: smoke test on digits, validation every N steps, callbacks, NaN guard."""

from __future__ import annotations

import csv

import numpy as np
import pytest

import chainrule as cr
from chainrule import train
from chainrule.data import DataLoader
from chainrule.optim import SGD, StepDecay


@pytest.fixture(scope="module")
def digits():
    sklearn = pytest.importorskip("sklearn.datasets")
    d = sklearn.load_digits()
    x = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    return x[:1400], y[:1400], x[1400:], y[1400:]


def _mlp(seed=0, p=0.0):
    rng = np.random.default_rng(seed)
    layers = [cr.Linear(64, 32, rng=rng), cr.ReLU()]
    if p:
        layers.append(cr.Dropout(p, rng=rng))
    return cr.Sequential(*layers, cr.Linear(32, 10, rng=rng))


def test_fit_smoke_digits_loss_falls(digits):
    x, y, xv, yv = digits
    model = _mlp()
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    hist = train.fit(model, cr.SoftmaxCrossEntropy(), opt, DataLoader(x, y, 32, rng=0),
                     DataLoader(xv, yv, 100, shuffle=False), epochs=2)
    assert len(hist.epoch_log) == 2 and hist.step_log == []
    first, second = hist.epoch_log
    assert set(first) >= {"epoch", "step", "loss", "accuracy", "val_loss", "val_accuracy",
                          "seconds", "lr"}
    assert (first["epoch"], first["step"], second["step"]) == (1, 44, 88)
    assert second["loss"] < first["loss"] and second["val_loss"] < first["val_loss"]
    assert second["val_accuracy"] > 0.8 and first["lr"] == 0.1
    assert hist["val_loss"] == [first["val_loss"], second["val_loss"]]
    # the recorded val metrics are what evaluate() measures on the final model
    res = train.evaluate(model, cr.SoftmaxCrossEntropy(), DataLoader(xv, yv, 100, shuffle=False))
    assert res["loss"] == pytest.approx(second["val_loss"], rel=1e-12)
    assert res["accuracy"] == second["val_accuracy"]


def test_val_every_gives_step_curves(digits):
    x, y, xv, yv = digits
    model = _mlp()
    opt = SGD(model.parameters(), lr=0.1)
    hist = train.Trainer(model, cr.SoftmaxCrossEntropy(), opt, val_every=10).fit(
        DataLoader(x, y, 64, rng=1), (xv, yv), epochs=2)   # (x, y) pair as validation data
    steps_per_epoch = -(-1400 // 64)
    assert [r["step"] for r in hist.step_log] == list(range(10, 2 * steps_per_epoch + 1, 10))
    assert [r["epoch"] for r in hist.step_log[:3]] == [1, 1, 2]
    assert all(r["val_loss"] is not None and r["accuracy"] is not None for r in hist.step_log)
    # epoch rows carry the last check of their epoch
    assert hist.epoch_log[0]["val_loss"] == hist.step_log[1]["val_loss"]
    assert hist.epoch_log[1]["val_loss"] == hist.step_log[-1]["val_loss"]


def _early_stopping_run(digits, *, val_every, restore_best, patience=3):
    x, y, xv, yv = digits
    model = _mlp(seed=3)
    opt = SGD(model.parameters(), lr=0.05)
    snapshots = {}

    class Snap(train.Callback):
        def on_validation_end(self, step, logs):
            snapshots[step] = model.state_dict()

    # validation labels are shifted, so fitting the training labels soon makes val_loss rise
    es = train.EarlyStopping(patience=patience, restore_best=restore_best)
    trainer = train.Trainer(model, cr.SoftmaxCrossEntropy(), opt, callbacks=[Snap(), es],
                            val_every=val_every)
    hist = trainer.fit(DataLoader(x, y, 32, rng=0), (xv, (yv + 1) % 10), epochs=30)
    return model, hist, es, snapshots


@pytest.mark.parametrize("val_every", [None, 7])
def test_early_stopping_stops_after_patience_checks_and_restores(digits, val_every):
    model, hist, es, snaps = _early_stopping_run(digits, val_every=val_every, restore_best=True)
    checks = hist.step_log if val_every else hist.epoch_log
    losses = [r["val_loss"] for r in checks]
    best = int(np.argmin(losses))
    assert len(hist.epoch_log) < 30, "should have stopped early"
    assert len(checks) == best + 1 + es.patience  # exactly `patience` checks without improvement
    assert es.best == losses[best] and es.best_step == checks[best]["step"]
    assert es.stopped_step == checks[-1]["step"]
    best_state = snaps[checks[best]["step"]]
    assert not np.array_equal(best_state["0.weight"], snaps[checks[-1]["step"]]["0.weight"])
    for k, v in model.state_dict().items():
        assert np.array_equal(v, best_state[k]), k


def test_early_stopping_without_restore_keeps_last_weights(digits):
    model, hist, _, snaps = _early_stopping_run(digits, val_every=None, restore_best=False)
    last = snaps[hist.epoch_log[-1]["step"]]
    assert all(np.array_equal(v, last[k]) for k, v in model.state_dict().items())


def test_early_stopping_monitor_missing_is_clear(digits):
    x, y, _, _ = digits
    model = _mlp()
    with pytest.raises(ValueError, match="val_loss"):
        train.fit(model, cr.SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1),
                  DataLoader(x[:64], y[:64], 32), epochs=2,
                  callbacks=[train.EarlyStopping(patience=1)])


def test_csv_logger_and_history_to_csv(digits, tmp_path):
    x, y, xv, yv = digits
    model = _mlp()
    hist = train.fit(model, cr.SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1),
                     DataLoader(x[:256], y[:256], 32, rng=0), (xv, yv), epochs=3,
                     val_every=5, callbacks=[train.CSVLogger(tmp_path / "h.csv",
                                                             steps_path=tmp_path / "s.csv")])
    with open(tmp_path / "h.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["epoch", "step", "loss", "accuracy", "val_loss", "val_accuracy",
                             "seconds", "lr"]
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    for r, h in zip(rows, hist.epoch_log):
        assert int(r["step"]) == h["step"]
        assert float(r["loss"]) == h["loss"] and float(r["val_loss"]) == h["val_loss"]
    with open(tmp_path / "s.csv") as fh:
        srows = list(csv.DictReader(fh))
    assert [int(r["step"]) for r in srows] == [r["step"] for r in hist.step_log]
    hist.to_csv(tmp_path / "again.csv")
    assert (tmp_path / "again.csv").read_text() == (tmp_path / "h.csv").read_text()


def test_nan_guard_names_step_and_keeps_last_good_checkpoint(digits, tmp_path):
    x, y, _, _ = digits
    x = x[:320].copy()
    x[5 * 32 + 3, 0] = np.nan  # a sample in batch 6 -> step 6
    # DataLoader refuses non-finite data, so the batches come from a plain iterable
    batches = [(x[i:i + 32], y[i:i + 32]) for i in range(0, 320, 32)]
    model = _mlp()
    ckpt = tmp_path / "ck.npz"
    with pytest.raises(train.NonFiniteLossError, match="step 6") as info:
        train.fit(model, cr.SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1),
                  batches, epochs=1,
                  callbacks=[train.ModelCheckpoint(ckpt, every_n_steps=4)])
    assert info.value.step == 6
    assert all(np.isfinite(p.data).all() for p in model.parameters())  # no update applied
    meta = cr.load(ckpt, _mlp(seed=9))
    assert meta["position"]["step"] == 4 and meta["position"]["batch"] == 4


def test_lr_scheduler_and_epoch_checkpoint(digits, tmp_path):
    x, y, _, _ = digits
    model = _mlp()
    opt = SGD(model.parameters(), lr=0.2)
    ck = train.ModelCheckpoint(tmp_path / "ep{epoch}.npz", config={"run": "a"})
    hist = train.fit(model, cr.SoftmaxCrossEntropy(), opt, DataLoader(x[:64], y[:64], 32),
                     epochs=4, metrics=None,
                     callbacks=[train.LearningRateScheduler(StepDecay(2, 0.5)), ck])
    assert hist["lr"] == [0.2, 0.2, 0.1, 0.1]
    assert hist["accuracy"] == [None] * 4
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"ep{i}.npz" for i in range(1, 5)]
    meta = cr.load(tmp_path / "ep2.npz")
    assert meta["config"] == {"run": "a"} and meta["position"] == {"epoch": 2, "batch": 0,
                                                                    "step": 4}


def test_evaluate_and_predict(digits):
    _, _, xv, yv = digits
    model = _mlp()
    out = train.predict(model, xv, batch_size=37)
    # Like with like: the same 37-row products give the same bits; a 360-row product is
    # blocked differently by BLAS, so against it only float32 rounding may differ.
    batched = np.concatenate([model.forward(xv[i:i + 37]) for i in range(0, len(xv), 37)])
    np.testing.assert_array_equal(out, batched)
    np.testing.assert_allclose(out, model.forward(xv), rtol=1e-5, atol=1e-6)
    loss = cr.SoftmaxCrossEntropy()
    full = loss.forward(model.forward(xv), yv)
    res = train.evaluate(model, loss, DataLoader(xv, yv, 50, shuffle=False))
    assert res["loss"] == pytest.approx(full, rel=1e-6)
    assert res["accuracy"] == np.mean(out.argmax(1) == yv)


def test_bad_arguments():
    model = _mlp()
    opt = SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="val_every"):
        train.Trainer(model, cr.SoftmaxCrossEntropy(), opt, val_every=0)
    with pytest.raises(ValueError, match="metrics"):
        train.Trainer(model, cr.SoftmaxCrossEntropy(), opt, metrics="f1")
    with pytest.raises(ValueError, match="patience"):
        train.EarlyStopping(patience=0)


def test_progress_bar_runs(digits, capsys):
    x, y, _, _ = digits
    model = _mlp()
    hist = train.fit(model, cr.SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1),
                     DataLoader(x[:96], y[:96], 32, rng=0), epochs=2, progress=True)
    assert len(hist) == 2
    assert "epoch 2/2 · train (running mean over the epoch): loss " in capsys.readouterr().out


def test_fit_skips_the_data_gradient_only_while_training(digits):
    """The first layer computes no dx during fit (nobody reads it) and gets its switch back."""
    x, y, _, _ = digits
    seen = []

    class Spy(train.Callback):
        def on_batch_end(self, step, logs):
            seen.append(self.trainer.model[0].input_grad)

    lean, full = _mlp(), _mlp()
    opt = SGD(lean.parameters(), lr=0.1)
    train.fit(lean, cr.SoftmaxCrossEntropy(), opt, DataLoader(x, y, 64, rng=0), epochs=1,
              callbacks=[Spy()])
    assert seen and not any(seen) and lean[0].input_grad is True
    # the same steps taken by hand with dx computed give the same weights
    loss, opt = cr.SoftmaxCrossEntropy(), SGD(full.parameters(), lr=0.1)
    for xb, yb in DataLoader(x, y, 64, rng=0):
        opt.zero_grad()
        loss.forward(full.forward(xb, training=True), yb)
        assert full.backward(loss.backward()) is not None
        opt.step()
    for (name, a), (_, b) in zip(lean.named_parameters(), full.named_parameters()):
        np.testing.assert_array_equal(a.data, b.data, err_msg=name)


def test_progress_default_is_scoped_to_show_progress():
    model = _mlp()
    opt = SGD(model.parameters(), lr=0.1)

    def bars(**kw):
        t = train.Trainer(model, cr.SoftmaxCrossEntropy(), opt, **kw)
        return sum(isinstance(c, train.ProgressBar) for c in t.callbacks)

    assert bars() == 0                                   # nobody asked: no bar
    with train.show_progress(True):
        assert bars() == 1 and bars(progress=False) == 0  # an explicit choice wins
        with train.show_progress(False):
            assert bars() == 0
        assert bars() == 1
    assert bars() == 0 and bars(progress=True) == 1      # the block's setting is gone
