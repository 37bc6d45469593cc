"""fsdd: split by speaker hash (never by take), counts, waveform range, leave-one-speaker-out."""

from __future__ import annotations

import io

import numpy as np
import pytest

from chainrule import data
from chainrule.data import fsdd
from resources import require


def test_which_set_is_the_tf_hash_rule():
    assert fsdd.which_set("lucas") == "validation"      # 9.2 %
    assert fsdd.which_set("yweweler") == "test"         # 35.3 %
    assert fsdd.which_set("george") == "train"          # 74.2 %
    assert fsdd.which_set("yweweler", 10, 10) == "train"
    assert 0.0 <= fsdd.speaker_percentage("anyone") <= 100.0
    assert fsdd.speaker_percentage("theo") == fsdd.speaker_percentage("theo")


def _wav(x):
    from scipy.io import wavfile

    b = io.BytesIO()
    wavfile.write(b, 8000, x)
    return b.getvalue()


def test_folder_reader_scales_pcm_and_parses_names(tmp_path):
    rec = tmp_path / "recordings"
    rec.mkdir()
    (rec / "3_george_7.wav").write_bytes(_wav(np.array([0, 16384, -32768], np.int16)))
    (rec / "1_lucas_0.wav").write_bytes(_wav(np.array([32767], np.int16)))
    r = fsdd.read_fsdd_path(tmp_path, "all")
    assert r.speakers == ("lucas", "george") and r.labels.tolist() == [1, 3]
    assert r.takes.tolist() == [0, 7] and r.waves[0].dtype == np.float32
    np.testing.assert_allclose(r.waves[1], [0.0, 0.5, -1.0])
    assert fsdd.read_fsdd_path(tmp_path, "train").speakers == ("george",)


@pytest.fixture(scope="module")
def splits():
    require("fsdd")
    return {s: data.load("fsdd", s) for s in fsdd.SPLITS}


def test_real_splits_are_disjoint_by_speaker_with_counts(splits):
    spk = {s: set(r.speakers) for s, r in splits.items()}
    assert spk["train"] == {"george", "jackson", "theo"}
    assert spk["validation"] == {"lucas", "nicolas"} and spk["test"] == {"yweweler"}
    assert not (spk["train"] & spk["validation"] or spk["train"] & spk["test"]
                or spk["validation"] & spk["test"])
    assert [len(splits[s]) for s in fsdd.SPLITS] == [1500, 1000, 500, 3000]
    a = splits["all"]
    assert np.bincount(a.labels).tolist() == [300] * 10 and a.rate == 8000
    assert all(w.dtype == np.float32 and np.abs(w).max() <= 1.0 for w in a.waves)
    assert "Free Spoken Digit" in a.source


def test_leave_one_speaker_out_folds(splits):
    a = splits["all"]
    folds = fsdd.speaker_folds(a)
    assert [f[0] for f in folds] == sorted(set(a.speakers)) and len(folds) == 6
    for s, tr, te in folds:
        assert len(te) == 500 and len(tr) == 2500
        assert {a.speakers[i] for i in te} == {s} and s not in {a.speakers[i] for i in tr}
