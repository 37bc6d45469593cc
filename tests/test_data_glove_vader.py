"""GloVe and VADER readers: small crafted files, then the real files via ``require``."""

from __future__ import annotations

import gzip
import io
import tarfile

import numpy as np
import pytest

from chainrule import data
from chainrule.data.errors import DataError
from chainrule.data.glove import PAD_ID, UNK_ID, read_glove_file
from chainrule.data.vader import (
    FILES,
    SOURCES,
    read_vader_path,
    sentiment3,
    stratified_split,
    task,
)
from resources import require

GLOVE = "the 0.5 1.0 -1.0\n, 0.0 2.0 1.0\nfilm 1.0 0.0 0.0\n"


@pytest.mark.parametrize("gz", [False, True])
def test_glove_reads_first_rows_plain_or_gz(tmp_path, gz):
    p = tmp_path / ("g.txt.gz" if gz else "g.txt")
    if gz:
        with gzip.open(p, "wt") as f:
            f.write(GLOVE)
    else:
        p.write_text(GLOVE)
    wv = read_glove_file(p, max_rows=2)
    assert wv.words == ("<pad>", "<unk>", "the", ",")
    assert wv.vectors.dtype == np.float32 and wv.vectors.shape == (4, 3)
    np.testing.assert_array_equal(wv.vectors[PAD_ID], 0)
    np.testing.assert_allclose(wv.vectors[UNK_ID], [0.25, 1.5, 0.0])
    assert wv.id("the") == 2 and wv.id("film") == UNK_ID
    assert len(read_glove_file(p)) == 5


def test_glove_rejects_ragged_rows(tmp_path):
    p = tmp_path / "bad.txt"
    p.write_text("a 1 2\nb 1\n")
    with pytest.raises(DataError, match="line 2"):
        read_glove_file(p)


def _vader_tar(tmp_path):
    rows = {"movie": "1\t2.5\tA fine film.\r\n2\t-1.0\tDull.\r\n3\t0\tIt is a film.\r\n",
            "tweet": "1\t0.2\tok lol\r\n", "amazon": "1_1\t-3\tBroke.\r\n",
            "nyt": "1_1\t0.7\tThe city plans.\r\n"}
    p = tmp_path / "hutto_ICWSM_2014.tar.gz"
    with tarfile.open(p, "w:gz") as tar:
        for src, text in rows.items():
            b = text.encode()
            info = tarfile.TarInfo(f"hutto_ICWSM_2014/{FILES[src]}")
            info.size = len(b)
            tar.addfile(info, io.BytesIO(b))
    return p


def test_vader_reads_archive_and_tasks(tmp_path):
    s = read_vader_path(_vader_tar(tmp_path))
    assert s.texts[0] == "A fine film." and len(s) == 6
    np.testing.assert_allclose(s.ratings, [2.5, -1, 0, 0.2, -3, 0.7])
    assert s.source_ids.tolist() == [0, 0, 0, 1, 2, 3]
    idx, y, names = task(s, "movie_polarity")
    assert idx.tolist() == [0, 1] and y.tolist() == [1, 0] and names == ("negative", "positive")
    assert task(s, "sentiment3")[1].tolist() == [2, 0, 1, 1, 0, 2]
    assert task(s, "source4")[2] == SOURCES


def test_sentiment3_thresholds_are_strict():
    assert sentiment3(np.array([-0.51, -0.5, 0.5, 0.51])).tolist() == [0, 1, 1, 2]


def test_vader_missing_file_is_named(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(DataError, match="tweets_GroundTruth"):
        read_vader_path(tmp_path / "d")


def test_stratified_split_is_seeded_disjoint_and_stratified():
    y = np.repeat([0, 1, 2], [100, 50, 30])
    a = stratified_split(y, seed=3)
    b = stratified_split(y, seed=3)
    for p, q in zip(a, b):
        np.testing.assert_array_equal(p, q)
    tr, va, te = a
    assert len(set(tr) | set(va) | set(te)) == 180 and len(tr) + len(va) + len(te) == 180
    assert np.bincount(y[te]).tolist() == [10, 5, 3]
    assert not np.array_equal(stratified_split(y, seed=4)[2], te)


def test_real_glove_and_vader():
    require("glove")
    require("vader")
    g = data.load("glove", "train")
    assert len(g) == 50_002 and g.dim == 50 and g.words[2] == "the"
    np.testing.assert_allclose(g.vectors[2, :3], [0.418, 0.24968, -0.41242], rtol=1e-6)
    s = data.load("vader", "train")
    assert len(s) == 23_703
    assert np.bincount(s.source_ids).tolist() == [10_605, 4_200, 3_708, 5_190]
    assert s.ratings.min() >= -4 and s.ratings.max() <= 4
