"""The registry's ``custom`` kind: any format, alternatives per split, a reader named by path."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.data import DatasetNotFoundError, DatasetSpec, sources
from chainrule.data.dataset import Dataset
from chainrule.data.errors import DataError


def read_windows(spec, split, path, source):
    """A toy reader: a .npy of (N, T, C) windows, labels = index mod 2."""
    x = np.load(path)
    return Dataset(x, np.arange(len(x), dtype=np.int64) % 2, spec.name, split, source,
                   spec.classes, layout=spec.layout)


@pytest.fixture
def spec(monkeypatch):
    s = DatasetSpec(name="toy-windows", kind="custom", splits=("train",), classes=("a", "b"),
                    image_shape=(), description="toy windows", layout="windows (N, T, C)",
                    sample_shape=(5, 3), files={"train": ("toy.zip", "toy.npy")},
                    reader=f"{__name__}:read_windows")
    monkeypatch.setitem(sources.SPECS, s.name, s)
    return s


def test_custom_dataset_resolves_any_alternative_and_reads_windows(spec, tmp_path):
    x = np.arange(4 * 5 * 3, dtype=np.float32).reshape(4, 5, 3)
    np.save(tmp_path / "toy.npy", x)
    ds = sources.load("toy-windows", "train", data_dir=tmp_path)
    assert ds.x.shape == (4, 5, 3) and ds.layout == "windows (N, T, C)"
    np.testing.assert_array_equal(ds.y, [0, 1, 0, 1])
    assert sources.input_shape("toy-windows") == (5, 3)
    assert ds.source == f"{tmp_path.name}/ (data_dir)" and str(tmp_path) not in ds.source


def test_custom_dataset_missing_names_every_alternative(spec, tmp_path):
    with pytest.raises(DatasetNotFoundError, match="toy.zip or toy.npy"):
        sources.load("toy-windows", "train", data_dir=tmp_path)


def test_custom_spec_needs_a_reader():
    with pytest.raises(ValueError, match="reader="):
        DatasetSpec(name="x", kind="custom", splits=("train",), classes=(), image_shape=(),
                    description="", files={"train": ("x",)})


def test_image_specs_keep_their_sample_shape():
    assert sources.input_shape("cifar10") == (3, 32, 32)
    assert sources.input_shape("mnist") == (1, 28, 28)


def test_dataset_checks_image_layout_but_allows_windows():
    with pytest.raises(DataError, match="images"):
        Dataset(np.zeros((2, 5, 3), np.float32), np.zeros(2, np.int64), "d", "s", "src", ("a",))
    Dataset(np.zeros((2, 5, 3), np.float32), np.zeros(2, np.int64), "d", "s", "src", ("a",),
            layout="windows (N, T, C)")
