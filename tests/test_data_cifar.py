"""CIFAR-10 readers: both official formats round-trip through cr.data.load, resolution, and
clear errors (never code execution) for truncated, tampered and malicious files."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import pickletools
import tarfile
import urllib.error
from pathlib import Path

import numpy as np
import pytest

import chainrule.data as crd
from chainrule.data import DataError, DatasetNotFoundError, cifar
from chainrule.data import downloader as download_mod
from chainrule.data.cifar_writer import write_batch_py

N_TRAIN, N_TEST = 23, 7  # 23 training images dealt into 5 batches of 5, 5, 5, 4, 4


@pytest.fixture
def env(monkeypatch, tmp_path):
    """No CHAINRULE_DATA and a private, empty cache."""
    monkeypatch.delenv("CHAINRULE_DATA", raising=False)
    monkeypatch.setenv("CHAINRULE_CACHE", str(tmp_path / "cache"))
    return tmp_path


def arrays(seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(N_TRAIN + N_TEST, 3, 32, 32), dtype=np.uint8)
    y = rng.integers(0, 10, size=N_TRAIN + N_TEST)
    x[0] = 0
    x[0, 0, 0, 1] = 200  # red plane, row 0, column 1: record byte 1 + 1
    x[0, 2, 31, 31] = 100  # blue plane, last pixel: the record's last byte
    return x[:N_TRAIN], y[:N_TRAIN], x[N_TRAIN:], y[N_TRAIN:]


def write(root: Path, version: str, seed: int = 0) -> Path:
    return crd.write_cifar10(root, *arrays(seed), version=version)


def as_u8(x: np.ndarray) -> np.ndarray:
    return np.rint(x * 255).astype(np.uint8)


# ------------------------------------------------------------------ both formats
@pytest.mark.parametrize("version", ["bin", "py"])
def test_round_trip_through_load(env, version):
    folder = write(env / "d", version)
    x_tr, y_tr, x_te, y_te = arrays()
    for data_dir in (env / "d", folder):  # the parent of the official folder, or the folder
        train = crd.load("cifar10", "train", data_dir=data_dir)
        test = crd.load("cifar10", "test", data_dir=data_dir)
        assert train.x.shape == (N_TRAIN, 3, 32, 32) and train.x.dtype == np.float32
        assert np.array_equal(as_u8(train.x), x_tr) and np.array_equal(train.y, y_tr)
        assert np.array_equal(as_u8(test.x), x_te) and np.array_equal(test.y, y_te)
        assert train.classes == cifar.CLASSES and train.y.dtype == np.int64
    assert crd.input_shape("cifar10") == (3, 32, 32)


def test_binary_record_layout_is_label_then_rgb_planes(env):
    folder = write(env, "bin")
    raw = (folder / "data_batch_1.bin").read_bytes()
    assert len(raw) == 5 * 3073 and cifar.RECORD == 3073
    y_tr = arrays()[1]
    assert raw[0] == y_tr[0] and raw[1 + 1] == 200 and raw[3072] == 100
    meta = (folder / "batches.meta.txt").read_text().split()
    assert meta == list(cifar.CLASSES)


def test_python_version_is_a_python2_protocol2_pickle_with_only_numpy_globals(env):
    folder = write(env, "py")
    raw = (folder / "data_batch_1").read_bytes()
    ops = list(pickletools.genops(raw))
    assert ops[0][0].name == "PROTO" and ops[0][1] == 2
    globals_ = {arg for op, arg, _ in ops if op.name == "GLOBAL"}
    assert globals_ == {"numpy.core.multiarray _reconstruct", "numpy ndarray", "numpy dtype"}
    assert {op.name for op, _, _ in ops} >= {"SHORT_BINSTRING", "BINSTRING", "REDUCE", "BUILD"}
    # Independent oracle: the standard unpickler reads it as the official loading recipe does.
    d = pickle.loads(raw, encoding="bytes")
    assert set(d) == {b"batch_label", b"labels", b"data", b"filenames"}
    assert d[b"data"].dtype == np.uint8 and d[b"data"].shape == (5, 3072)
    assert d[b"batch_label"] == b"training batch 1 of 5" and d[b"labels"] == list(arrays()[1][:5])
    meta = pickle.loads((folder / "batches.meta").read_bytes(), encoding="bytes")
    assert meta[b"label_names"] == [c.encode() for c in cifar.CLASSES]


@pytest.mark.parametrize("version", ["bin", "py"])
def test_class_names_come_from_the_meta_file(env, version):
    names = tuple(f"class {i}° ü" for i in range(10))  # non-ASCII survives (UTF-8)
    folder = crd.write_cifar10(env, *arrays(), version=version, classes=names)
    assert crd.load("cifar10", "test", data_dir=env).classes == names
    meta = folder / cifar.VERSIONS[version][2]
    meta.write_bytes(meta.read_bytes()[:40] if version == "bin" else b"\x80\x02}q\x01.")
    with pytest.raises(DataError, match=r"batches\.meta.*(10 class names|'label_names')"):
        crd.load("cifar10", "test", data_dir=env)


def test_numpy2_reconstructor_path_is_allowed_too():
    assert set(cifar.ALLOWED_GLOBALS) == {
        "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
        "numpy.ndarray", "numpy.dtype"}
    a = np.arange(12, dtype=np.uint8).reshape(2, 6)  # NumPy 2 writes numpy._core paths
    raw = pickle.dumps({"data": a}, protocol=4)
    assert np.array_equal(cifar.unpickle(raw)["data"], a)


def test_resolution_order_and_binary_preferred(env, monkeypatch):
    write(env / "root" / "cifar10", "py", seed=1)
    monkeypatch.setenv("CHAINRULE_DATA", str(env / "root"))
    res = crd.resolve("cifar10", "train")
    assert res.ok and "CHAINRULE_DATA" in res.source and res.files[0].name == "data_batch_1"
    write(env / "cache" / "cifar10", "bin", seed=2)
    assert crd.resolve("cifar10", "train").files[0].parent.name == "cifar-10-batches-py"
    monkeypatch.delenv("CHAINRULE_DATA")
    assert crd.resolve("cifar10", "test").files[0].name == "test_batch.bin"  # the cache
    write(env / "both", "py", seed=3)
    write(env / "both", "bin", seed=4)
    both = crd.load("cifar10", "test", data_dir=env / "both")
    assert np.array_equal(as_u8(both.x), arrays(4)[2])  # the binary version wins


def test_missing_and_incomplete_splits(env):
    with pytest.raises(DatasetNotFoundError, match="cifar-10-batches-bin.*chainrule data download"):
        crd.load("cifar10", "train", data_dir=env / "empty")
    folder = write(env, "bin")
    (folder / "data_batch_3.bin").unlink()
    with pytest.raises(DataError, match="data_batch_1.bin.*but not data_batch_3"):
        crd.load("cifar10", "train", data_dir=env)
    assert crd.load("cifar10", "test", data_dir=env).x.shape == (N_TEST, 3, 32, 32)


# ------------------------------------------------------------------ corrupt files
def test_truncated_and_tampered_binary_files(env):
    folder = write(env, "bin")
    path = folder / "data_batch_2.bin"
    raw = path.read_bytes()
    path.write_bytes(raw[:-10])
    with pytest.raises(DataError, match=r"data_batch_2\.bin: .*3073-byte records"):
        crd.load("cifar10", "train", data_dir=env)
    path.write_bytes(raw[:3073] + bytes([10]) + raw[3074:])  # record 1's label byte -> 10
    with pytest.raises(DataError, match=r"data_batch_2\.bin: label 10 of record 1 is outside"):
        crd.load("cifar10", "train", data_dir=env)
    path.write_bytes(b"")
    with pytest.raises(DataError, match="data_batch_2.bin"):
        crd.load("cifar10", "train", data_dir=env)


def test_truncated_and_tampered_pickles(env):
    folder = write(env, "py")
    path = folder / "test_batch"
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataError,
                       match="test_batch: not a valid CIFAR-10 pickle, corrupt or trunc"):
        crd.load("cifar10", "test", data_dir=env)
    path.write_bytes(raw[:2] + b"\xff" + raw[3:])  # opcode after PROTO tampered
    with pytest.raises(DataError, match="test_batch: not a valid CIFAR-10 pickle"):
        crd.load("cifar10", "test", data_dir=env)
    x = np.zeros((3, 3072), np.uint8)
    write_batch_py(path, x, [0, 1, 10])
    with pytest.raises(DataError, match="test_batch: label 10 of record 2"):
        crd.load("cifar10", "test", data_dir=env)
    path.write_bytes(pickle.dumps({b"data": x, b"labels": [0, 1]}, protocol=4))
    with pytest.raises(DataError, match="test_batch: 3 images but 2 labels"):
        crd.load("cifar10", "test", data_dir=env)
    path.write_bytes(pickle.dumps({b"data": x.astype(np.float64), b"labels": [0, 1, 2]}, 4))
    with pytest.raises(DataError, match=r"'data' must be a uint8 array of shape \(N, 3072\)"):
        crd.load("cifar10", "test", data_dir=env)


class _Payload:
    """Unpickling this runs ``func(arg)`` — unless the unpickler refuses ``func``."""

    def __init__(self, func, arg):
        self.func, self.arg = func, arg

    def __reduce__(self):
        return self.func, (self.arg,)


@pytest.mark.parametrize("kind", ["os.system", "builtins.eval", "builtins.exec-protocol-2",
                                  "py2-GLOBAL-posix.system", "nested-in-dict"])
def test_malicious_pickles_are_refused_without_running_code(env, kind):
    folder = write(env, "py")
    marker = env / "pwned"
    shell = f"touch {marker}"
    code = f"open({str(marker)!r}, 'w').close()"
    if kind == "os.system":
        raw = pickle.dumps(_Payload(os.system, shell), protocol=4)
    elif kind == "builtins.eval":
        raw = pickle.dumps(_Payload(eval, code), protocol=4)
    elif kind == "builtins.exec-protocol-2":
        raw = pickle.dumps(_Payload(exec, code), protocol=2)
    elif kind == "py2-GLOBAL-posix.system":
        raw = b"\x80\x02cposix\nsystem\nq\x01U" + bytes([len(shell)]) + shell.encode() + b"\x85R."
    else:  # a valid-looking batch whose labels hide the payload
        raw = pickle.dumps({b"data": np.zeros((1, 3072), np.uint8),
                            b"labels": [_Payload(os.system, shell)]}, protocol=4)
    # Sanity: the payload really does create the file when loaded with plain pickle.
    probe = env / "probe"
    pickle.loads(raw.replace(str(marker).encode(), str(probe).encode()))
    assert probe.exists()
    (folder / "data_batch_4").write_bytes(raw)
    with pytest.raises(DataError, match=r"data_batch_4: refused to unpickle: the file references "
                                        r"(posix|os|builtins|__builtin__|nt)\.(system|eval|exec)"):
        crd.load("cifar10", "train", data_dir=env)
    assert not marker.exists()


def test_python3_protocol2_bytes_are_refused_as_not_official():
    raw = pickle.dumps({b"data": b"x"}, protocol=2)  # bytes go through _codecs.encode
    with pytest.raises(DataError, match="references _codecs.encode"):
        cifar.unpickle(raw, "f")


# ------------------------------------------------------------------ archives and download
def _tarball(path: Path, members: dict[str, bytes], *, symlink: str | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if symlink:
            info = tarfile.TarInfo(symlink)
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tar.addfile(info)
    return path


def _official_members(tmp: Path) -> dict[str, bytes]:
    folder = write(tmp / "src", "bin")
    return {f"cifar-10-batches-bin/{p.name}": p.read_bytes() for p in sorted(folder.iterdir())}


def test_official_archive_md5s():
    assert crd.get_spec("cifar10").md5 == {
        "cifar-10-binary.tar.gz": "c32a1d4ab5d03f1284b67883e8d87530",
        "cifar-10-python.tar.gz": "c58f30108f718f92721af3b95e74349a"}


@pytest.mark.parametrize("bad", ["../evil.txt", "/tmp/evil-abs.txt",
                                 "cifar-10-batches-bin/../../evil.txt", "other/x", "symlink"])
def test_unsafe_archive_members_are_refused(env, bad):
    members = _official_members(env)
    if bad != "symlink":
        members[bad] = b"evil"
    archive = _tarball(env / "cifar-10-binary.tar.gz", members,
                       symlink="cifar-10-batches-bin/link" if bad == "symlink" else None)
    dest = env / "dest"
    dest.mkdir()
    with pytest.raises(DataError, match="cifar-10-binary.tar.gz: refusing to extract member"):
        cifar.extract(archive, dest)
    assert list(dest.iterdir()) == [] and not (env / "evil.txt").exists()


def test_download_verifies_md5_and_extracts(env, monkeypatch):
    archive = _tarball(env / "served.tar.gz", _official_members(env))
    served = archive.read_bytes()
    md5 = hashlib.md5(served).hexdigest()
    monkeypatch.setitem(cifar.VERSIONS, "bin", (*cifar.VERSIONS["bin"][:4], md5))
    urls = []

    def urlopen(url, timeout):
        urls.append(url)
        return io.BytesIO(served)

    monkeypatch.setattr(download_mod, "_urlopen", urlopen)
    with pytest.raises(DatasetNotFoundError):
        crd.load("cifar10", "test")  # never downloads unless asked
    ds = crd.load("cifar10", "test", download=True)
    assert urls == ["https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"]
    assert np.array_equal(as_u8(ds.x), arrays()[2]) and "cache" in ds.source
    assert len(crd.download("cifar10")) == 6 and len(urls) == 1  # archive kept, not re-fetched


def test_offline_and_bad_checksum_downloads_leave_nothing(env, monkeypatch):
    def offline(url, timeout):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(download_mod, "_urlopen", offline)
    with pytest.raises(DataError, match="could not download cifar-10-binary.tar.gz.*name resol"
                                        ".*Without internet.*--data-dir"):
        crd.download("cifar10")
    monkeypatch.setattr(download_mod, "_urlopen", lambda url, timeout: io.BytesIO(b"not it"))
    with pytest.raises(DataError, match="checksum mismatch"):
        crd.load("cifar10", "train", download=True)
    cache = env / "cache" / "cifar10"
    assert not cache.exists() or list(cache.iterdir()) == []
