"""The IDX file format (MNIST, Fashion-MNIST): a reader that validates everything, and a writer.

Layout (all integers big-endian)::

    magic   4 bytes   0x00 0x00 <type code> <ndim>
    dims    ndim × uint32
    payload prod(dims) × itemsize bytes, row-major

Type codes: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64.
Files may be gzip-compressed; compression is detected from the gzip magic bytes
(``1f 8b``), never from the file name. A file whose payload is shorter or longer
than the header promises is an error, as is a truncated or corrupt gzip stream:
every error is a :class:`DataError` whose message starts with the file's path.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

from .errors import DataError

GZIP_MAGIC = b"\x1f\x8b"

# IDX type code -> big-endian dtype as stored in the file.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {(dt.kind, dt.itemsize): code for code, dt in IDX_DTYPES.items()}


def read_bytes(path: str | os.PathLike) -> bytes:
    """The file's content, gunzipped when it starts with the gzip magic bytes."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror or err})") from err
    if raw[:2] != GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as err:
        raise DataError(f"{path}: corrupt or truncated gzip data ({err})") from err


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decode an uncompressed IDX byte string into a native-endian array (``name`` labels
    errors)."""
    if len(data) < 4:
        raise DataError(f"{name}: not an IDX file (only {len(data)} bytes, the header needs 4)")
    zero0, zero1, code, ndim = data[0], data[1], data[2], data[3]
    if zero0 != 0 or zero1 != 0:
        raise DataError(f"{name}: not an IDX file (magic number {data[:4].hex(' ')}, "
                        "expected 00 00 <type> <ndim>)")
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise DataError(f"{name}: unknown IDX data type code 0x{code:02X} (known: {known})")
    if ndim == 0:
        raise DataError(f"{name}: IDX header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{name}: truncated IDX header ({len(data)} bytes, {ndim} dimensions "
                        f"need {header})")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[code]
    expected = math.prod(dims) * dtype.itemsize  # exact: no int64 wrap-around
    found = len(data) - header
    if found < expected:
        raise DataError(f"{name}: truncated IDX payload: shape {dims} of {dtype.name} needs "
                        f"{expected} bytes, found {found}")
    if found > expected:
        raise DataError(f"{name}: {found - expected} unexpected bytes after the IDX payload "
                        f"(shape {dims} of {dtype.name} needs {expected} bytes, found {found})")
    arr = np.frombuffer(data, dtype=dtype, count=expected // dtype.itemsize, offset=header)
    return arr.reshape(dims).astype(dtype.newbyteorder("="))  # native order, writable copy


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (raw or gzip) into a native-endian NumPy array, validating it fully."""
    return parse_idx(read_bytes(path), str(path))


def write_idx(path: str | os.PathLike, array: np.ndarray, *, compress: bool | None = None) -> Path:
    """Write ``array`` as an IDX file; gzip it when ``compress`` (default: the name ends in .gz)."""
    path = Path(path)
    arr = np.asarray(array)
    code = _CODES.get((arr.dtype.kind, arr.dtype.itemsize))
    if code is None or arr.ndim == 0 or arr.ndim > 255:
        raise ValueError(f"write_idx: cannot store {arr.ndim}-d {arr.dtype} arrays in IDX "
                         "(uint8, int8, int16, int32, float32, float64; 1 to 255 dimensions)")
    header = bytes([0, 0, code, arr.ndim]) + np.asarray(arr.shape, dtype=">u4").tobytes()
    data = header + np.ascontiguousarray(arr, dtype=IDX_DTYPES[code]).tobytes()
    if compress if compress is not None else path.name.endswith(".gz"):
        data = gzip.compress(data, mtime=0)  # mtime=0: same array, same bytes
    path.write_bytes(data)
    return path
