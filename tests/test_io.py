"""cr.save / cr.load: npz layout, round trips, atomic writes, clear errors."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import chainrule as cr
from chainrule.io import CheckpointError, load_arrays, save_arrays
from chainrule.optim import SGD, Adam


def _mlp(seed=0, hidden=5):
    return cr.Sequential(cr.Linear(4, hidden, rng=seed), cr.ReLU(),
                         cr.Linear(hidden, 3, rng=seed + 1))


def _train_a_bit(model, opt, steps=3):
    rng = np.random.default_rng(0)
    loss = cr.SoftmaxCrossEntropy()
    for _ in range(steps):
        opt.zero_grad()
        loss.forward(model.forward(rng.standard_normal((8, 4)).astype(np.float32), training=True),
                     rng.integers(0, 3, 8))
        model.backward(loss.backward())
        opt.step()


def test_round_trip_model_optimizer_and_meta(tmp_path):
    model = _mlp()
    opt = Adam(model.parameters(), lr=1e-2)
    _train_a_bit(model, opt)
    path = cr.save(model, tmp_path / "ck.npz", opt, epoch=3, config={"hidden": [5]},
                   score=np.float64(0.5))
    with np.load(path, allow_pickle=False) as f:
        keys = set(f.files)
        meta = json.loads(str(f["meta"]))
    assert {"model/0.weight", "model/2.bias", "optim/0.exp_avg", "optim/step", "meta"} <= keys
    assert meta == {"epoch": 3, "config": {"hidden": [5]}, "score": 0.5}

    model2 = _mlp(seed=7)
    opt2 = Adam(model2.parameters(), lr=1e-2)
    assert cr.load(path, model2, opt2) == meta
    for (k, a), (_, b) in zip(model.state_dict().items(), model2.state_dict().items()):
        assert np.array_equal(a, b), k
    assert opt2.step_count == 3
    _train_a_bit(model, opt, 2)
    _train_a_bit(model2, opt2, 2)
    assert all(np.array_equal(p.data, q.data)
               for p, q in zip(model.parameters(), model2.parameters()))


def test_load_meta_only_and_keeps_path_name(tmp_path):
    path = cr.save(_mlp(), tmp_path / "weights.ckpt", note="x")
    assert path.name == "weights.ckpt" and path.exists()
    assert cr.load(str(path)) == {"note": "x"}


def test_other_architecture_is_a_clear_value_error(tmp_path):
    path = cr.save(_mlp(hidden=5), tmp_path / "a.npz")
    with pytest.raises(ValueError, match=r"a\.npz.*shape"):
        cr.load(path, _mlp(hidden=6))
    deeper = cr.Sequential(*_mlp(), cr.ReLU(), cr.Linear(3, 3))
    with pytest.raises(ValueError, match="missing keys.*4.weight"):
        cr.load(path, deeper)


def test_optimizer_mismatch_and_absent_optimizer(tmp_path):
    model = _mlp()
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    _train_a_bit(model, opt)
    path = cr.save(model, tmp_path / "a.npz", opt)
    with pytest.raises(CheckpointError, match="SGD.*Adam"):
        cr.load(path, optimizer=Adam(model.parameters()))
    bare = cr.save(model, tmp_path / "b.npz")
    with pytest.raises(CheckpointError, match="no optimizer state"):
        cr.load(bare, model, SGD(model.parameters(), lr=0.1))


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_corrupted_file_names_the_file(tmp_path, damage):
    path = cr.save(_mlp(), tmp_path / "ck.npz")
    raw = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x80\x04not a zip file at all" * 10)
    else:
        path.write_bytes(b"")
    with pytest.raises(CheckpointError, match="ck.npz"):
        cr.load(path, _mlp())


def test_foreign_npz_and_missing_file(tmp_path):
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(CheckpointError, match="not a chainrule checkpoint"):
        cr.load(tmp_path / "other.npz")
    with pytest.raises(FileNotFoundError, match="nothing.npz"):
        cr.load(tmp_path / "nothing.npz")


def test_atomic_write_keeps_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = cr.save(_mlp(), tmp_path / "ck.npz", version=1)

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError, match="disk full"):
        cr.save(_mlp(seed=3), path, version=2)
    monkeypatch.undo()
    assert cr.load(path) == {"version": 1}
    assert os.listdir(tmp_path) == ["ck.npz"]  # no temporary file left behind


def test_object_arrays_refused(tmp_path):
    with pytest.raises(TypeError, match="pickle"):
        save_arrays(tmp_path / "x.npz", {"a": np.array([{}, 1], dtype=object)})
    save_arrays(tmp_path / "y.npz", {"a": np.arange(3)})
    assert np.array_equal(load_arrays(tmp_path / "y.npz")["a"], np.arange(3))


def test_save_takes_pytorchs_order_and_the_old_order_warns(tmp_path):
    model = _mlp()
    new = cr.save(model, tmp_path / "new.npz", note="n")
    with pytest.warns(DeprecationWarning, match=r"cr.save\(model, path\)"):
        old = cr.save(tmp_path / "old.npz", model, note="n")
    for path in (new, old):
        fresh = _mlp(seed=7)
        assert cr.load(path, fresh) == {"note": "n"}
        for a, b in zip(fresh.parameters(), model.parameters()):
            np.testing.assert_array_equal(a.data, b.data)
    with pytest.raises(TypeError, match="expected a Module first"):
        cr.save(tmp_path / "x.npz", tmp_path / "y.npz")
