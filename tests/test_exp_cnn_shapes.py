"""cnn-shapes (quick): shapes and counts come from the model (they follow the config), agree
with an independent PyTorch construction, and the report is written from them."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from chainrule.lab.check import check_run
from chainrule.lab.claims import SMOKE_READING
from chainrule.lab.experiments import cnn_shapes
from chainrule.lab.runner import run_experiment


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_experiment("cnn-shapes", quick=True, seed=0,
                          out_root=tmp_path_factory.mktemp("runs"))


def _side(h: int, k: int, s: int, pad: int) -> int:
    return (h + 2 * pad - k) // s + 1


def test_shapes_follow_the_formula(run):
    m = run.metrics["models"]
    c1, c2 = run.metrics["models"]["same"]["shapes"][0][0], m["same"]["shapes"][3][0]
    # same: conv keeps 28, each stride-1 pool of kernel 2 takes one pixel off.
    assert [tuple(s) for s in m["same"]["shapes"]] == [
        (c1, 28, 28), (c1, 28, 28), (c1, 27, 27), (c2, 27, 27), (c2, 27, 27), (c2, 26, 26),
        (c2 * 26 * 26,), (10,)]
    assert m["valid"]["shapes"][5] == [c2, 18, 18]            # 28-4=24, 23, 23-4=19, 18
    for name in ("same", "valid"):
        r = m[name]
        assert r["flat_features"] == r["flat_features_from_summary"] == math.prod(r["shapes"][5])
        assert r["layer_params"][-1] == (r["flat_features"] + 1) * 10
        assert r["parameters"] == sum(r["layer_params"])
        assert r["layer_params"][0] == c1 * 25 + c1
        assert r["arithmetic"][2].startswith(f"H: ({r['shapes'][1][1]} + 2·0 − 2)/1 + 1 = ")
        assert 0.0 <= r["test_accuracy"] <= 1.0
    assert m["same"]["macs"] > m["valid"]["macs"]


def test_summaries_are_computed_not_tabled(tmp_path):
    res = run_experiment("cnn-shapes", quick=True, seed=0, out_root=tmp_path,
                         overrides={"conv_kernel_size": "3", "channels": "2,3",
                                    "n_train": "64", "n_test": "64"})
    va = res.metrics["models"]["valid"]
    sides = [28]
    for k in (3, 2, 3, 2):                                   # conv 3, pool 2, conv 3, pool 2
        sides.append(_side(sides[-1], k, 1, 0))
    assert sides[1:] == [26, 25, 23, 22]
    assert [s[-1] for s in va["shapes"][:6:]][::1] == [26, 26, 25, 23, 23, 22]
    assert va["shapes"][5] == [3, 22, 22]
    assert va["flat_features"] == 3 * 22 * 22


def test_matches_pytorch(run):
    torch = pytest.importorskip("torch")
    nn = torch.nn
    m = run.metrics["models"]
    c1, c2 = m["same"]["shapes"][0][0], m["same"]["shapes"][3][0]
    for name, pad in (("same", 2), ("valid", 0)):     # kernel 5, stride 1: "same" = 2 each side
        feats = nn.Sequential(nn.Conv2d(1, c1, 5, padding=pad), nn.ReLU(), nn.MaxPool2d(2, 1),
                              nn.Conv2d(c1, c2, 5, padding=pad), nn.ReLU(), nn.MaxPool2d(2, 1),
                              nn.Flatten())
        y, shapes, params = torch.zeros(1, 1, 28, 28), [], []
        for layer in feats:
            y = layer(y)
            shapes.append(list(y.shape[1:]))
            params.append(sum(p.numel() for p in layer.parameters()))
        head = nn.Linear(y.shape[1], 10)
        shapes.append([10])
        params.append(sum(p.numel() for p in head.parameters()))
        assert m[name]["shapes"] == shapes
        assert m[name]["layer_params"] == params
        assert m[name]["flat_features"] == y.shape[1]


def test_report_and_files(run):
    md = (run.path / "report.md").read_text()
    m = run.metrics["models"]
    assert (f"the linear layer has {m['same']['flat_features']:,} entries with same padding"
            in md) and "kernel − 1" in md
    assert f"{100 * m['valid']['test_accuracy']:.2f}%" in md      # the comparison table
    assert SMOKE_READING in md and check_run(run.path) == []
    text = (run.path / "summary_same.txt").read_text()
    assert f"Total params: {m['same']['parameters']:,}" in text
    assert "(28 + 2·2 − 5)/1 + 1 = 28" in text
    for fig in ("shapes", "curves"):
        assert (run.path / "figures" / f"{fig}.png").stat().st_size > 1000


def _models(same: dict, valid: dict) -> SimpleNamespace:
    base = {"flat_features": 100, "parameters": 1000, "conv_parameters": 10, "macs": 5000,
            "test_accuracy": 0.9}
    return SimpleNamespace(metrics={"models": {"same": {**base, **same},
                                               "valid": {**base, **valid}},
                                    "resolution": {"test_accuracy_two_se": 0.01}})


def test_shape_claims_on_crafted_numbers():
    ctx = _models({"flat_features": 5408, "parameters": 55002, "macs": 748976},
                  {"flat_features": 2592, "parameters": 26842, "macs": 391152})
    flat, params, conv, macs = (c.sentence() for c in cnn_shapes.shape_claims(ctx))
    assert flat == ("the flattened vector before the linear layer has 5,408 entries with same "
                    "padding and 2,592 with valid padding")
    assert params == ("the parameter count is lower for valid padding (26,842) than for same "
                      "padding (55,002), by 28,160")
    assert conv == ("the conv layers' parameter count: no clear difference between same "
                    "padding (10) and valid padding (10) (equal)")
    assert macs.startswith("MACs per sample is lower for valid padding (391,152)")


def test_reading_claims_on_crafted_numbers():
    def sentences(same_acc, valid_acc, t_same, t_valid):
        ctx = _models({"test_accuracy": same_acc}, {"test_accuracy": valid_acc})
        timings = {"seconds_per_epoch": {"same": t_same, "valid": t_valid}}
        return [c.sentence() for c in cnn_shapes.reading_claims(ctx, timings)]

    acc, time = sentences(0.95, 0.93, 2.0, 1.0)
    assert acc.startswith("test accuracy is higher for same padding (95.00%) than for valid "
                          "padding (93.00%), by 2.00 points")
    assert time.startswith("the measured time per epoch (s) is lower for valid padding (1.00) "
                           "than for same padding (2.00): 2.0×")
    acc, time = sentences(0.935, 0.93, 1.2, 1.0)
    assert acc.startswith("test accuracy: no clear difference") and "higher" not in acc
    assert time.startswith("the measured time per epoch (s): no clear difference") and (
        "a factor of 1.20" in time)


def test_same_seed_reproduces_metrics_json(run, tmp_path):
    again = run_experiment("cnn-shapes", quick=True, seed=0, out_root=tmp_path)
    assert (again.path / "metrics.json").read_bytes() == (run.path / "metrics.json").read_bytes()
