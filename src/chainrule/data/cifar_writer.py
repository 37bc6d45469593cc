"""Write CIFAR-10 files in exactly the official layouts (for tests and stand-in data).

``write_cifar10(root, x_train, y_train, x_test, y_test, version="bin" | "py")`` creates
``root/cifar-10-batches-bin/`` (or ``-py/``) with the six official batch files and the meta
file. The Python version is emitted opcode by opcode the way Python 2's cPickle
(protocol 2) wrote the official files: ``SHORT_BINSTRING``/``BINSTRING`` strings, the
globals ``numpy.core.multiarray._reconstruct``, ``numpy.ndarray`` and ``numpy.dtype``, and a
``BINPUT`` memo entry for every object — not Python 3's ``pickle.dumps``, whose protocol-2
bytes go through ``_codecs.encode``, a global the official files never use.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from .cifar import CLASSES, RECORD, STEMS, VERSIONS


def _images_u8(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype != np.uint8 or x.shape[1:] not in ((3, 32, 32), (RECORD - 1,)):
        raise ValueError(f"CIFAR writer: images must be uint8 (N, 3, 32, 32) or (N, 3072), "
                         f"got {x.dtype} {x.shape}")
    return np.ascontiguousarray(x).reshape(len(x), RECORD - 1)


def write_batch_bin(path: str | os.PathLike, images: np.ndarray, labels: np.ndarray) -> Path:
    """One binary-version batch: ``N`` records of label byte + R, G, B planes."""
    x = _images_u8(images)
    rec = np.empty((len(x), RECORD), dtype=np.uint8)
    rec[:, 0] = np.asarray(labels, dtype=np.uint8)
    rec[:, 1:] = x
    Path(path).write_bytes(rec.tobytes())
    return Path(path)


class _Py2Pickle:
    """A minimal protocol-2 emitter with Python 2 cPickle's choice of opcodes."""

    def __init__(self) -> None:
        self.out, self.memo = [b"\x80\x02"], 0

    def put(self) -> None:
        self.memo += 1
        self.out.append(b"q" + bytes([self.memo]) if self.memo < 256
                        else b"r" + struct.pack("<I", self.memo))

    def int(self, v: int) -> None:
        if 0 <= v < 256:
            self.out.append(b"K" + bytes([v]))
        elif 0 <= v < 65536:
            self.out.append(b"M" + struct.pack("<H", v))
        else:
            self.out.append(b"J" + struct.pack("<i", v))

    def str(self, s: bytes) -> None:
        self.out.append((b"U" + bytes([len(s)]) if len(s) < 256
                         else b"T" + struct.pack("<I", len(s))) + s)
        self.put()

    def glob(self, module: str, name: str) -> None:
        self.out.append(b"c" + f"{module}\n{name}\n".encode())
        self.put()

    def array_u8(self, a: np.ndarray) -> None:
        self.glob("numpy.core.multiarray", "_reconstruct")
        self.glob("numpy", "ndarray")
        self.out.append(b"K\x00\x85")       # (0,)
        self.put()
        self.str(b"b")
        self.out.append(b"\x87R")           # TUPLE3, REDUCE: _reconstruct(ndarray, (0,), 'b')
        self.put()
        self.out.append(b"(K\x01")          # state: (1, shape, dtype, fortran, raw bytes)
        for d in a.shape:
            self.int(d)
        self.out.append(b"\x86")
        self.put()
        self.glob("numpy", "dtype")
        self.str(b"u1")
        self.out.append(b"K\x00K\x01\x87R")  # dtype('u1', 0, 1)
        self.put()
        self.out.append(b"(K\x03")
        self.str(b"|")
        self.out.append(b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb")  # dtype state; BUILD
        self.out.append(b"\x89")            # not Fortran-ordered
        self.str(a.tobytes())
        self.out.append(b"tb")              # state tuple; BUILD

    def value(self, v: object) -> None:
        if isinstance(v, bytes):
            self.str(v)
        elif isinstance(v, (int, np.integer)):
            self.int(int(v))
        elif isinstance(v, np.ndarray):
            self.array_u8(v)
        elif isinstance(v, list):
            self.out.append(b"]")
            self.put()
            for i in range(0, len(v), 1000):  # cPickle batches APPENDS by 1000
                self.out.append(b"(")
                for item in v[i:i + 1000]:
                    self.value(item)
                self.out.append(b"e")
        else:
            raise TypeError(f"_Py2Pickle: cannot write {type(v).__name__}")

    def dump(self, d: dict[bytes, object]) -> bytes:
        self.out.append(b"}")
        self.put()
        self.out.append(b"(")
        for k, v in d.items():
            self.str(k)
            self.value(v)
        self.out.append(b"u.")
        return b"".join(self.out)


def write_batch_py(path: str | os.PathLike, images: np.ndarray, labels: np.ndarray, *,
                   batch_label: str = "training batch 1 of 5") -> Path:
    """One Python-version batch: a Python-2 protocol-2 pickle of the official dict."""
    x = _images_u8(images)
    names = [f"stand_in_{i:05d}.png".encode() for i in range(len(x))]
    d = {b"batch_label": batch_label.encode(), b"labels": [int(v) for v in labels],
         b"data": x, b"filenames": names}
    Path(path).write_bytes(_Py2Pickle().dump(d))
    return Path(path)


def write_cifar10(root: str | os.PathLike, x_train: np.ndarray, y_train: np.ndarray,
                  x_test: np.ndarray, y_test: np.ndarray, *, version: str = "bin",
                  classes: tuple[str, ...] = CLASSES) -> Path:
    """Write both splits in the official layout under ``root``; return the batches folder.

    The training images are dealt into the five ``data_batch_*`` files in order
    (``np.array_split``), as the official files split 50,000 into 5 × 10,000.
    """
    folder, suffix, meta, _, _ = VERSIONS[version]
    out = Path(root) / folder
    out.mkdir(parents=True, exist_ok=True)
    parts = zip(np.array_split(np.arange(len(x_train)), 5), STEMS["train"])
    for i, (idx, stem) in enumerate(parts):
        if version == "bin":
            write_batch_bin(out / (stem + suffix), x_train[idx], y_train[idx])
        else:
            write_batch_py(out / stem, x_train[idx], y_train[idx],
                           batch_label=f"training batch {i + 1} of 5")
    if version == "bin":
        write_batch_bin(out / "test_batch.bin", x_test, y_test)
        (out / meta).write_text("".join(f"{c}\n" for c in classes) + "\n", encoding="utf-8")
    else:
        write_batch_py(out / "test_batch", x_test, y_test, batch_label="testing batch 1 of 1")
        p = _Py2Pickle()
        (out / meta).write_bytes(p.dump({b"num_cases_per_batch": len(x_train) // 5,
                                         b"label_names": [c.encode() for c in classes],
                                         b"num_vis": RECORD - 1}))
    return out
