"""Exact resume: a run SIGKILLed mid-epoch and resumed in a new process ends bit-identical
to a run that was never interrupted (weights, optimizer state, history)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import chainrule as cr
from chainrule import train

SCRIPT = textwrap.dedent('''
    import json, sys, time
    import numpy as np
    import chainrule as cr
    from chainrule import train
    from chainrule.data import DataLoader
    from chainrule.optim import StepDecay

    mode, out, ckpt, ready = sys.argv[1:5]
    KILL_AT = int(sys.argv[5])
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 20)).astype(np.float32)
    y = x[:, :4].argmax(axis=1).astype(np.int64)
    xv = rng.standard_normal((100, 20)).astype(np.float32)
    yv = xv[:, :4].argmax(axis=1).astype(np.int64)

    def jitter(xb, g):  # augmentation: randomness per (epoch, batch), from the loader
        return xb + g.normal(0.0, 0.1, xb.shape).astype(np.float32)

    model = cr.Sequential(cr.Linear(20, 32, rng=1), cr.ReLU(), cr.Dropout(0.3, rng=2),
                          cr.Linear(32, 16, rng=3), cr.Tanh(), cr.Dropout(0.2, rng=4),
                          cr.Linear(16, 4, rng=5))
    opt = cr.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-4)
    loader = DataLoader(x, y, 16, shuffle=True, rng=6, transform=jitter)
    val = DataLoader(xv, yv, 32, shuffle=True, rng=7)

    class KillPoint(train.Callback):
        def on_batch_end(self, step, logs):
            if step == KILL_AT:
                open(ready, "w").write(str(step))
                time.sleep(120)  # wait here for SIGKILL from the test

    callbacks = [train.EarlyStopping(patience=1000),
                 train.LearningRateScheduler(StepDecay(1, 0.7), per="epoch")]
    if mode != "full":
        callbacks.append(train.ModelCheckpoint(ckpt, every_n_steps=7))
    if mode == "killable":
        callbacks.append(KillPoint())
    hist = train.fit(model, cr.SoftmaxCrossEntropy(), opt, loader, val, epochs=4, val_every=5,
                     callbacks=callbacks, resume_from=ckpt if mode == "resume" else None,
                     config={"seed": 0})
    cr.save(model, out, opt, epoch_log=hist.epoch_log, step_log=hist.step_log)
''')

KILL_AT = 26  # 19 batches per epoch: step 26 is batch 7 of epoch 2; last checkpoint step 21


def _run(tmp_path, mode, out):
    cmd = [sys.executable, str(tmp_path / "run.py"), mode, str(tmp_path / out),
           str(tmp_path / "ckpt.npz"), str(tmp_path / "ready"), str(KILL_AT)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _finish(proc):
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()


def _drop_seconds(rows):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def test_sigkill_mid_epoch_then_resume_is_bit_identical(tmp_path):
    (tmp_path / "run.py").write_text(SCRIPT)
    killable = _run(tmp_path, "killable", "unused.npz")
    full = _run(tmp_path, "full", "full.npz")  # runs alongside; needs no checkpoints
    deadline = time.monotonic() + 60
    while not (tmp_path / "ready").exists():
        assert killable.poll() is None, killable.communicate()[1].decode()
        assert time.monotonic() < deadline, "the killable run never reached its kill point"
        time.sleep(0.02)
    os.kill(killable.pid, signal.SIGKILL)
    killable.communicate(timeout=30)
    assert killable.returncode == -signal.SIGKILL
    assert not (tmp_path / "unused.npz").exists()

    meta = cr.load(tmp_path / "ckpt.npz")
    assert meta["position"] == {"epoch": 1, "batch": 2, "step": 21}  # mid-epoch
    assert meta["config"] == {"seed": 0}
    assert len(meta["module_rngs"]) == 2 and meta["loader_state"] is not None

    _finish(full)
    resumed = _run(tmp_path, "resume", "resumed.npz")
    _finish(resumed)

    a = cr.io.load_arrays(tmp_path / "full.npz")
    b = cr.io.load_arrays(tmp_path / "resumed.npz")
    assert a.keys() == b.keys()
    for key in a:
        if key != "meta":
            assert np.array_equal(a[key], b[key]), key  # weights and optimizer state
    ma, mb = json.loads(str(a["meta"])), json.loads(str(b["meta"]))
    assert _drop_seconds(ma["epoch_log"]) == _drop_seconds(mb["epoch_log"])
    assert ma["step_log"] == mb["step_log"] and len(ma["step_log"]) == 4 * 19 // 5
    assert [r["lr"] for r in ma["epoch_log"]] == pytest.approx([1e-2 * 0.7**e for e in range(4)])


def test_resume_in_process_from_epoch_checkpoint(tmp_path):
    """Checkpoint at an epoch boundary, continue with new objects: same as uninterrupted."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((96, 6)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)

    def setup():
        model = cr.Sequential(cr.Linear(6, 8, rng=0), cr.Sigmoid(), cr.Dropout(0.25, rng=1),
                              cr.Linear(8, 2, rng=2))
        opt = cr.optim.SGD(model.parameters(), lr=0.3, momentum=0.9, nesterov=True)
        return model, opt, cr.data.DataLoader(x, y, 10, rng=3)

    model, opt, loader = setup()
    ref = train.fit(model, cr.SoftmaxCrossEntropy(), opt, loader, epochs=3)
    ref_w = model.state_dict()

    model, opt, loader = setup()
    train.fit(model, cr.SoftmaxCrossEntropy(), opt, loader, epochs=2,
              callbacks=[train.ModelCheckpoint(tmp_path / "c.npz")])
    model, opt, loader = setup()
    hist = train.fit(model, cr.SoftmaxCrossEntropy(), opt, loader, epochs=3,
                     resume_from=tmp_path / "c.npz")
    assert _drop_seconds(hist.epoch_log) == _drop_seconds(ref.epoch_log)
    for k, v in model.state_dict().items():
        assert np.array_equal(v, ref_w[k]), k


def test_resume_refuses_plain_weights_and_other_models(tmp_path):
    model = cr.Sequential(cr.Linear(3, 2, rng=0))
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    cr.save(model, tmp_path / "w.npz")
    loader = cr.data.DataLoader(np.zeros((4, 3), np.float32), np.zeros(4, np.int64), 2)
    with pytest.raises(ValueError, match="no training state"):
        train.fit(model, cr.SoftmaxCrossEntropy(), opt, loader, epochs=1,
                  resume_from=tmp_path / "w.npz")
    train.fit(model, cr.SoftmaxCrossEntropy(), opt, loader, epochs=1,
              callbacks=[train.ModelCheckpoint(tmp_path / "c.npz")])
    other = cr.Sequential(cr.Linear(3, 5, rng=0))
    with pytest.raises(ValueError, match=r"c\.npz.*shape"):
        train.fit(other, cr.SoftmaxCrossEntropy(), cr.optim.SGD(other.parameters(), lr=0.1),
                  loader, epochs=2, resume_from=tmp_path / "c.npz")
