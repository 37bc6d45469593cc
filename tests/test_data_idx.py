"""IDX reader/writer: round trips, and a clear DataError naming the file for every corruption."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from chainrule.data import DataError, read_idx, write_idx
from chainrule.data.idx import parse_idx


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_round_trip(tmp_path, dtype, name):
    rng = np.random.default_rng(0)
    arr = (rng.standard_normal((3, 4, 5)) * 50).astype(dtype)
    path = write_idx(tmp_path / name, arr)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    np.testing.assert_array_equal(back, arr)
    back[0, 0, 0] = 1  # writable


def test_gzip_detected_by_magic_not_name(tmp_path):
    arr = np.arange(12, dtype=np.uint8).reshape(3, 4)
    gz_named_raw = write_idx(tmp_path / "raw.gz", arr, compress=False)
    raw_named_gz = write_idx(tmp_path / "compressed.idx", arr, compress=True)
    assert gz_named_raw.read_bytes()[:2] == b"\x00\x00"
    assert raw_named_gz.read_bytes()[:2] == b"\x1f\x8b"
    np.testing.assert_array_equal(read_idx(gz_named_raw), arr)
    np.testing.assert_array_equal(read_idx(raw_named_gz), arr)


def test_header_layout_is_big_endian(tmp_path):
    path = write_idx(tmp_path / "l.idx", np.array([1, 2, 3], dtype=np.int32))
    data = path.read_bytes()
    assert data[:4] == bytes([0, 0, 0x0C, 1])
    assert data[4:8] == (3).to_bytes(4, "big")
    assert data[8:12] == (1).to_bytes(4, "big")
    assert len(data) == 8 + 3 * 4


def test_writer_is_deterministic(tmp_path):
    arr = np.arange(6, dtype=np.uint8)
    a = write_idx(tmp_path / "a.gz", arr).read_bytes()
    b = write_idx(tmp_path / "b.gz", arr).read_bytes()
    assert a == b


def test_writer_rejects_unsupported(tmp_path):
    with pytest.raises(ValueError, match="cannot store"):
        write_idx(tmp_path / "x.idx", np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="cannot store"):
        write_idx(tmp_path / "x.idx", np.float32(1.0))


def _valid_bytes() -> bytes:
    header = bytes([0, 0, 0x08, 2]) + (2).to_bytes(4, "big") + (3).to_bytes(4, "big")
    return header + bytes(range(6))


CORRUPTIONS = {
    "bad magic": (lambda b: b"\x01\x00" + b[2:], "not an IDX file"),
    "wrong dtype code": (lambda b: b[:2] + b"\x07" + b[3:], "unknown IDX data type code 0x07"),
    "zero dims": (lambda b: b[:3] + b"\x00" + b[4:], "0 dimensions"),
    "truncated header": (lambda b: b[:9], "truncated IDX header"),
    "truncated payload": (lambda b: b[:-1], "truncated IDX payload"),
    "extra bytes": (lambda b: b + b"\x00\x00", "2 unexpected bytes after the IDX payload"),
    "tiny file": (lambda b: b[:2], "not an IDX file"),
    "empty file": (lambda b: b"", "not an IDX file"),
}


@pytest.mark.parametrize("compressed", [False, True], ids=["raw", "gzip"])
@pytest.mark.parametrize("case", list(CORRUPTIONS))
def test_corruption_is_a_clear_error(tmp_path, case, compressed):
    mutate, message = CORRUPTIONS[case]
    data = mutate(_valid_bytes())
    path = tmp_path / f"broken-{case.replace(' ', '-')}.idx"
    path.write_bytes(gzip.compress(data) if compressed else data)
    with pytest.raises(DataError, match=message) as info:
        read_idx(path)
    assert str(info.value).startswith(str(path))
    assert isinstance(info.value, ValueError)


def test_valid_bytes_parse():
    np.testing.assert_array_equal(parse_idx(_valid_bytes()), np.arange(6).reshape(2, 3))


@pytest.mark.parametrize("cut", [5, 20, -8, -3])
def test_truncated_gzip(tmp_path, cut):
    arr = np.random.default_rng(1).integers(0, 255, size=(50, 28, 28), dtype=np.uint8)
    data = (write_idx(tmp_path / "ok.gz", arr)).read_bytes()
    path = tmp_path / "cut.gz"
    path.write_bytes(data[:cut])
    with pytest.raises(DataError, match="corrupt or truncated gzip") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_corrupt_gzip_body(tmp_path):
    arr = np.random.default_rng(1).integers(0, 255, size=(50, 28, 28), dtype=np.uint8)
    data = bytearray(write_idx(tmp_path / "ok.gz", arr).read_bytes())
    data[len(data) // 2] ^= 0xFF
    path = tmp_path / "flipped.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match="gzip") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="cannot read") as info:
        read_idx(tmp_path / "nope.idx")
    assert "nope.idx" in str(info.value)
