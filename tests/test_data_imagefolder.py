"""The image-folder reader (folders and tar archives), its cache, and the CIFAR-10 JPEG copy."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import numpy as np
import pytest

import chainrule.data as crd
from chainrule.data import DataError
from chainrule.data.imagefolder import read_image_folder
from resources import require

PIL = pytest.importorskip("PIL.Image")


def _png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    PIL.fromarray(arr).save(buf, format="PNG")   # lossless: pixels come back exactly
    return buf.getvalue()


def _tree(root: Path, rng, classes=("cat", "ant", "bee"), n=(3, 2, 4), top="imgs"):
    """``root/top/{train,test}/<class>/<i>.png`` with random RGB 5x4 images; returns them."""
    made = {}
    for split in ("train", "test"):
        for cls, k in zip(classes, n):
            d = root / top / split / cls
            d.mkdir(parents=True)
            for i in range(k):
                arr = rng.integers(0, 256, (5, 4, 3), dtype=np.uint8)
                (d / f"{i:03d}.png").write_bytes(_png(arr))
                made[(split, cls, i)] = arr
    return made


def _tar(src: Path, archive: Path) -> Path:
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(src, arcname=src.name)
    return archive


@pytest.mark.parametrize("as_archive", [False, True])
def test_reads_a_tree_in_class_then_name_order(tmp_path, rng, as_archive):
    made = _tree(tmp_path / "src", rng)
    source = tmp_path / "src" / "imgs"
    if as_archive:
        source = _tar(source, tmp_path / "imgs.tar.gz")
    x, y, classes = read_image_folder(source, "train")
    assert classes == ("ant", "bee", "cat")                     # sorted folder names
    assert x.dtype == np.uint8 and x.shape == (9, 3, 5, 4)      # NCHW
    assert y.tolist() == [0, 0, 1, 1, 1, 1, 2, 2, 2]
    np.testing.assert_array_equal(x[0], made[("train", "ant", 0)].transpose(2, 0, 1))
    np.testing.assert_array_equal(x[8], made[("train", "cat", 2)].transpose(2, 0, 1))
    xg, _, _ = read_image_folder(source, "test", mode="L")
    assert xg.shape == (9, 1, 5, 4)


def test_tree_directly_at_the_root_and_missing_split(tmp_path, rng):
    _tree(tmp_path, rng, top="")
    x, _y, _ = read_image_folder(tmp_path, "test")
    assert len(x) == 9
    with pytest.raises(DataError, match="no valid/ folder"):
        read_image_folder(tmp_path, "valid")


def _archive_with(tmp_path: Path, member: tarfile.TarInfo, data: bytes = b"") -> Path:
    path = tmp_path / "bad.tar"
    with tarfile.open(path, "w") as tar:
        tar.addfile(member, io.BytesIO(data) if data else None)
    return path


@pytest.mark.parametrize("kind", ["absolute", "dotdot", "symlink", "device"])
def test_unsafe_archive_members_are_refused(tmp_path, kind):
    if kind in ("absolute", "dotdot"):
        name = "/etc/x.png" if kind == "absolute" else "top/train/../../x.png"
        m = tarfile.TarInfo(name)
        m.size = 3
        path = _archive_with(tmp_path, m, b"abc")
        match = "absolute path or '..'"
    else:
        m = tarfile.TarInfo("top/train/cat/x.png")
        m.type = tarfile.SYMTYPE if kind == "symlink" else tarfile.CHRTYPE
        m.linkname = "/etc/passwd"
        path = _archive_with(tmp_path, m)
        match = "links and devices"
    with pytest.raises(DataError, match=match):
        read_image_folder(path, "train")


def test_bad_images_are_named(tmp_path, rng):
    _tree(tmp_path, rng, top="t")
    (tmp_path / "t" / "train" / "ant" / "zzz.png").write_bytes(
        _png(np.zeros((6, 4, 3), np.uint8)))
    with pytest.raises(DataError, match="ant/zzz.png is .* all images of a split"):
        read_image_folder(tmp_path / "t", "train")
    (tmp_path / "t" / "train" / "ant" / "zzz.png").write_bytes(b"not an image")
    with pytest.raises(DataError, match="cannot decode ant/zzz.png"):
        read_image_folder(tmp_path / "t", "train")


def test_cache_is_used_and_invalidated_when_the_source_changes(tmp_path, rng):
    _tree(tmp_path / "src", rng)
    archive = _tar(tmp_path / "src" / "imgs", tmp_path / "imgs.tar.gz")
    cache = tmp_path / "cache"
    x1, _y1, _ = read_image_folder(archive, "train", cache_dir=cache)
    files = list(cache.iterdir())
    assert len(files) == 1 and not any(f.name.endswith(".tmp") for f in files)
    x2, _y2, _ = read_image_folder(archive, "train", cache_dir=cache)
    np.testing.assert_array_equal(x1, x2)
    # a changed source (new content, new mtime) must be decoded again, not served stale
    (tmp_path / "src" / "imgs" / "train" / "ant" / "000.png").write_bytes(
        _png(np.full((5, 4, 3), 7, np.uint8)))
    _tar(tmp_path / "src" / "imgs", archive)
    os.utime(archive, ns=(1, 10**18))
    x3, _, _ = read_image_folder(archive, "train", cache_dir=cache)
    assert (x3[0] == 7).all() and not (x1[0] == 7).all()
    # an unreadable cache file is ignored and rewritten
    for f in cache.iterdir():
        f.write_bytes(b"garbage")
    x4, _, _ = read_image_folder(archive, "train", cache_dir=cache)
    np.testing.assert_array_equal(x3, x4)


def test_cifar10_falls_back_to_the_jpeg_copy_and_says_so(tmp_path, rng, monkeypatch):
    classes = crd.registry.SPECS["cifar10"].classes
    root = tmp_path / "root"
    for split in ("train", "test"):
        for c in classes:
            d = root / "cifar10-jpeg" / "cifar-10-images" / split / c
            d.mkdir(parents=True)
            (d / "0000.jpg").write_bytes(_png(rng.integers(0, 256, (32, 32, 3), np.uint8)))
    monkeypatch.setenv("CHAINRULE_DATA", str(root))
    monkeypatch.setenv("CHAINRULE_CACHE", str(tmp_path / "cache"))
    res = crd.resolve("cifar10", "train")
    assert res.ok and res.name == "cifar10-jpeg" and "JPEG copy, quality ≈ 75" in res.source
    ds = crd.load("cifar10", "test")
    assert ds.name == "cifar10" and ds.x.shape == (10, 3, 32, 32) and ds.x.dtype == np.float32
    assert ds.y.tolist() == list(range(10)) and "JPEG copy" in ds.source
    # the official binary, once present, wins over the copy
    xs = rng.integers(0, 256, (20, 3, 32, 32), dtype=np.uint8)
    ys = np.arange(20) % 10
    crd.write_cifar10(root / "cifar10", xs, ys, xs[:10], ys[:10])
    assert crd.resolve("cifar10", "train").name == "cifar10"


def test_cifar10_missing_everywhere_names_both_options(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path))
    monkeypatch.setenv("CHAINRULE_CACHE", str(tmp_path / "cache"))
    with pytest.raises(crd.DatasetNotFoundError, match="provide cifar10-jpeg instead"):
        crd.load("cifar10", "train")


def test_real_cifar10_jpeg_copy():
    require("cifar10-jpeg")
    for split, n in (("train", 50000), ("test", 10000)):
        ds = crd.load("cifar10", split)
        assert ds.x.shape == (n, 3, 32, 32)
        assert np.bincount(ds.y).tolist() == [n // 10] * 10
        assert 0.40 < float(ds.x.mean()) < 0.55 and "JPEG copy" in ds.source


def test_real_notmnist():
    require("notmnist")
    ds = crd.load("notmnist")
    assert ds.x.shape == (10000, 1, 28, 28) and ds.classes[0] == "A" and ds.classes[9] == "J"
    assert np.bincount(ds.y).tolist() == [1000] * 10
