"""CIFAR-10 in both official distributions, read without ever running code from a file.

Binary version (``cifar-10-batches-bin/``, the default download: no pickle at all)
    ``data_batch_1.bin`` … ``data_batch_5.bin`` and ``test_batch.bin``: fixed 3,073-byte
    records, one label byte (0–9) then 3,072 pixel bytes — the red, green and blue
    32×32 planes, each row-major. ``batches.meta.txt`` lists the class names, one a line.
Python version (``cifar-10-batches-py/``)
    ``data_batch_1`` … ``data_batch_5`` and ``test_batch``: Python 2 pickles (protocol 2)
    of dicts ``{b"batch_label", b"labels", b"data", b"filenames"}`` with ``data`` a
    uint8 (N, 3072) array in the same plane order; ``batches.meta`` holds
    ``b"label_names"``. They are read with ``encoding="bytes"`` by a restricted
    unpickler that resolves only ``ALLOWED_GLOBALS`` — the NumPy reconstructors these
    files reference — and refuses any other global (``os.system``, ``builtins.eval``, …)
    with a ``DataError`` before anything is called. Dicts, lists, strings and integers
    come from pickle opcodes, not globals, so no builtin name is needed.

A folder serves CIFAR-10 when it holds the files directly or in one of the two official
sub-folders; the binary version wins when both are present. Every file is validated
(record size, array shape and dtype, label range, matching lengths) and errors name the
file. The official archives are fetched only on request (``download``), checked against
their MD5 and extracted safely (regular files under the expected folder only). Writers for
both formats (``write_cifar10``) make small files in exactly the official layout for
tests and stand-in data.
"""

from __future__ import annotations

import io
import os
import pickle
import shutil
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

import numpy as np

from .dataset import Dataset
from .errors import DataError

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck")
RECORD = 1 + 3 * 32 * 32   # one label byte + three 32×32 planes
STEMS = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
URL = "https://www.cs.toronto.edu/~kriz/"
# version -> (folder, file suffix, meta file, official archive, its MD5 from the CIFAR page)
VERSIONS = {
    "bin": ("cifar-10-batches-bin", ".bin", "batches.meta.txt", "cifar-10-binary.tar.gz",
            "c32a1d4ab5d03f1284b67883e8d87530"),
    "py": ("cifar-10-batches-py", "", "batches.meta", "cifar-10-python.tar.gz",
           "c58f30108f718f92721af3b95e74349a"),
}


# ----------------------------------------------------------------- restricted unpickling
def _allowed_globals() -> dict[tuple[str, str], object]:
    try:  # NumPy 2 moved numpy.core to numpy._core; never touch the deprecated alias
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # NumPy 1.x
        from numpy.core.multiarray import _reconstruct
    return {("numpy.core.multiarray", "_reconstruct"): _reconstruct,   # written by NumPy 1.x
            ("numpy._core.multiarray", "_reconstruct"): _reconstruct,  # written by NumPy 2
            ("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype}


ALLOWED_GLOBALS = tuple(f"{m}.{n}" for m, n in _allowed_globals())


class _Refused(Exception):
    pass


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves only the allowed (module, name) pairs; every other global is refused."""

    _allowed = _allowed_globals()

    def find_class(self, module: str, name: str) -> object:
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise _Refused(f"{module}.{name}") from None

    def persistent_load(self, pid: object) -> object:
        raise _Refused(f"persistent id {pid!r}")


def unpickle(data: bytes, name: str = "<bytes>") -> object:
    """Unpickle a CIFAR file's bytes, allowing only ``ALLOWED_GLOBALS`` (``name`` labels errors)."""
    try:
        return _RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()
    except _Refused as err:
        raise DataError(f"{name}: refused to unpickle: the file references {err}, which is not "
                        f"one of the globals CIFAR-10 pickles use ({', '.join(ALLOWED_GLOBALS)}); "
                        "nothing it names was imported or called") from None
    except Exception as err:  # noqa: BLE001  (any malformed stream: EOFError, UnpicklingError, ...)
        raise DataError(f"{name}: not a valid CIFAR-10 pickle, corrupt or truncated "
                        f"({type(err).__name__}: {err})") from None


# ----------------------------------------------------------------- readers
def _read(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror or err})") from err


def _check_labels(labels: np.ndarray, path: Path) -> None:
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        bad = int(np.flatnonzero((labels < 0) | (labels > 9))[0])
        raise DataError(f"{path}: label {int(labels[bad])} of record {bad} is outside 0..9")


def read_batch_bin(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Images uint8 (N, 3, 32, 32) and labels int64 (N,) of one binary-version batch file."""
    path = Path(path)
    raw = _read(path)
    if len(raw) == 0 or len(raw) % RECORD:
        raise DataError(f"{path}: {len(raw):,} bytes is not a whole number of {RECORD}-byte "
                        f"records (1 label byte + 3,072 pixels); the file is truncated or "
                        f"not a CIFAR-10 binary batch ({len(raw) % RECORD} bytes left over)")
    rec = np.frombuffer(raw, dtype=np.uint8).reshape(-1, RECORD)
    labels = rec[:, 0].astype(np.int64)
    _check_labels(labels, path)
    return rec[:, 1:].reshape(-1, 3, 32, 32).copy(), labels


def _field(d: dict, key: str, path: Path) -> object:
    for k in (key.encode(), key):  # official files: bytes keys; tolerate str keys
        if k in d:
            return d[k]
    raise DataError(f"{path}: the pickled dict has no {key!r} entry "
                    f"(keys: {sorted(map(repr, d))})")


def read_batch_py(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Images uint8 (N, 3, 32, 32) and labels int64 (N,) of one Python-version batch file."""
    path = Path(path)
    d = unpickle(_read(path), str(path))
    if not isinstance(d, dict):
        raise DataError(f"{path}: expected a pickled dict, found {type(d).__name__}")
    data, labels = _field(d, "data", path), _field(d, "labels", path)
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
            or data.shape[1] != RECORD - 1 or len(data) == 0:
        what = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DataError(f"{path}: 'data' must be a uint8 array of shape (N, 3072), found {what}")
    if not isinstance(labels, list) or not all(type(v) is int for v in labels):
        raise DataError(f"{path}: 'labels' must be a list of integers")
    if len(labels) != len(data):
        raise DataError(f"{path}: {len(data)} images but {len(labels)} labels")
    y = np.asarray(labels, dtype=np.int64) if labels else np.zeros(0, dtype=np.int64)
    _check_labels(y, path)
    return np.ascontiguousarray(data).reshape(-1, 3, 32, 32), y


def read_classes(path: str | os.PathLike) -> tuple[str, ...]:
    """Class names from ``batches.meta.txt`` (binary) or ``batches.meta`` (Python version)."""
    path = Path(path)
    raw = _read(path)
    if path.suffix == ".txt":
        names = [s.strip() for s in raw.decode("utf-8", errors="replace").splitlines()]
    else:
        d = unpickle(raw, str(path))
        names = _field(d, "label_names", path) if isinstance(d, dict) else None
        if not isinstance(names, list) or not all(isinstance(s, (bytes, str)) for s in names):
            raise DataError(f"{path}: 'label_names' must be a list of strings")
        names = [s.decode("utf-8", errors="replace") if isinstance(s, bytes) else s for s in names]
    names = [s for s in names if s]
    if len(names) != 10:
        raise DataError(f"{path}: expected 10 class names, found {len(names)}: {names}")
    return tuple(names)


# ----------------------------------------------------------------- finding and loading
def locate(folder: str | os.PathLike, split: str) -> list[Path | None]:
    """The split's files in ``folder`` (aligned with ``STEMS[split]``, None where missing).

    Looks in ``folder/cifar-10-batches-bin``, ``folder/cifar-10-batches-py`` and ``folder``
    itself, binary version first; a complete set wins, else the first partial one.
    """
    folder = Path(folder)
    partial: list[Path | None] | None = None
    for sub in ("cifar-10-batches-bin", "cifar-10-batches-py", ""):
        for version in ("bin", "py"):
            d, suffix = folder / sub, VERSIONS[version][1]
            found = [d / (s + suffix) if (d / (s + suffix)).is_file() else None
                     for s in STEMS[split]]
            if all(found):
                return found
            if partial is None and any(found):
                partial = found
    return partial or [None] * len(STEMS[split])


def read_split(name: str, split: str, files: tuple[Path, ...], source: str) -> Dataset:
    """Read and concatenate a split's batch files (found by ``locate``) into a ``Dataset``."""
    binary = files[0].suffix == ".bin"
    reader = read_batch_bin if binary else read_batch_py
    parts = [reader(p) for p in files]
    meta = files[0].parent / VERSIONS["bin" if binary else "py"][2]
    classes = read_classes(meta) if meta.is_file() else CLASSES
    images = np.concatenate([p[0] for p in parts])
    x = np.true_divide(images, np.float32(255.0), dtype=np.float32)
    return Dataset(x, np.concatenate([p[1] for p in parts]), name, split, source, classes)


# ----------------------------------------------------------------- archives
# The official archives unpack to ~185 MB; anything claiming more than this is refused
# before a byte is written (an archive bomb: a small .tar.gz declaring huge members).
MAX_EXTRACT_BYTES = 1 << 30


def _safe_members(tar: tarfile.TarFile, top: str, archive: Path) -> list[tarfile.TarInfo]:
    members = tar.getmembers()
    total = sum(m.size for m in members if m.isfile())
    if total > MAX_EXTRACT_BYTES:
        raise DataError(f"{archive}: refusing to extract: its members total {total:,} bytes, "
                        f"more than the {MAX_EXTRACT_BYTES:,} a CIFAR-10 archive needs "
                        "(an archive bomb?)")
    for m in members:
        parts = PurePosixPath(m.name).parts
        if m.name.startswith(("/", "\\")) or ".." in parts or not parts or parts[0] != top:
            raise DataError(f"{archive}: refusing to extract member {m.name!r}: outside "
                            f"{top}/ (absolute path or '..')")
        if not (m.isfile() or m.isdir()):
            raise DataError(f"{archive}: refusing to extract member {m.name!r}: not a regular "
                            "file or folder (links and devices are not allowed)")
    return members


def extract(archive: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Extract an official CIFAR-10 archive into ``dest`` safely; return the batches folder.

    Only regular files and folders under the archive's official top folder are written,
    by this code (never ``TarFile.extract``), into a temporary folder moved into place last.
    """
    archive, dest = Path(archive), Path(dest)
    version = "bin" if archive.name == VERSIONS["bin"][3] else "py"
    top = VERSIONS[version][0]
    tmp = Path(tempfile.mkdtemp(prefix=".cifar-extract-", dir=dest))
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for m in _safe_members(tar, top, archive):
                target = tmp.joinpath(*PurePosixPath(m.name).parts)
                if m.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(m) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
        if (dest / top).exists():
            shutil.rmtree(dest / top)
        os.replace(tmp / top, dest / top)
    except (tarfile.TarError, EOFError, OSError) as err:
        raise DataError(f"{archive}: cannot extract ({type(err).__name__}: {err})") from err
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest / top


def download(target: str | os.PathLike, *, fetch: Callable, md5sum: Callable,
             version: str = "bin", force: bool = False, offline_hint: str = "") -> list[Path]:
    """Fetch the official ``version`` archive into ``target`` (MD5-checked), extract it there.

    An archive already in ``target`` with the official MD5 is extracted without a network
    access; one with another MD5 is an error unless ``force``. Returns the batch files.
    ``offline_hint`` (the other ways to provide the data) is appended to download errors.
    """
    folder, _, _, archive_name, md5 = VERSIONS[version]
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    archive = target / archive_name
    if not (archive.is_file() and md5sum(archive) == md5):
        if archive.exists() and not force:
            raise DataError(f"{archive}: exists but is not the official archive (MD5 differs); "
                            "delete it or download with force=True")
        try:
            fetch([URL + archive_name], archive, md5)
        except DataError as err:
            raise DataError(f"{err}. Without internet, provide cifar10 another way: "
                            f"{offline_hint or 'put the extracted files in a folder'}") from err
    extract(archive, target)
    return [p for s in ("train", "test") for p in locate(target / folder, s) if p is not None]
