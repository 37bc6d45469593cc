"""Synthetic voices (deterministic, cached outside the repository, whole voices held out) and
the unknown-word / noise corpus (keywords excluded, train and test noise files disjoint)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from chainrule.audio import corpus, synth
from chainrule.data.fsdd import which_set
from resources import require

REPO = Path(__file__).resolve().parents[1]


def test_trim_keeps_the_loud_part_with_a_margin():
    x = np.zeros(1000, np.float32)
    x[300:400] = 1.0
    y = synth.trim(x, 1000, margin_ms=10.0)
    assert len(y) == 100 + 2 * 10 and y[10] == 1.0 and y[0] == 0.0
    assert len(synth.trim(np.zeros(50, np.float32), 1000)) == 0


def test_voices_split_by_hash_into_disjoint_train_and_held_out():
    split = {v.name: synth.voice_split(v) for v in synth.VOICES}
    assert len(split) == len(synth.VOICES)                    # names are unique
    assert set(split.values()) == {"train", "held-out"}
    for v in synth.VOICES:                                    # the speaker hash of the name
        assert (split[v.name] == "train") == (which_set(v.name) == "train")
    engines = {v.engine for v in synth.VOICES if split[v.name] == "train"}
    assert engines == {"espeak-ng", "flite"}


@pytest.mark.parametrize("engine", ["espeak-ng", "flite"])
def test_synthesis_is_deterministic_and_cached_outside_the_repo(engine, tmp_path):
    require(engine)
    voice = next(v for v in synth.VOICES if v.engine == engine)
    a = synth.synthesize(voice, "seven", 8000, tmp_path)
    files = list(tmp_path.glob("*.npy"))
    assert len(files) == 1 and files[0].name.startswith(engine)
    assert REPO not in synth.cache_dir().resolve().parents      # the default cache, too
    files[0].unlink()                                         # render again from scratch
    b = synth.synthesize(voice, "seven", 8000, tmp_path)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32 and abs(float(np.abs(a).max()) - synth.PEAK) < 1e-6
    assert 0.15 * 8000 < len(a) < 1.5 * 8000
    other = synth.synthesize(voice, "nine", 8000, tmp_path)
    assert len(other) != len(a) or not np.array_equal(other, a)


def test_synthetic_words_are_labelled_synthetic(tmp_path):
    require("espeak-ng")
    voices = [v for v in synth.VOICES if v.engine == "espeak-ng"][:2]
    c = corpus.synthetic_words(("one", "two"), voices, 8000, tmp_path)
    assert len(c) == 4 and c.synthetic.all() and c.words == ("one", "two", "one", "two")
    assert c.speakers[0] == voices[0].name and c.speakers[0].startswith("espeak-ng:")


def test_asterisk_unknown_words_exclude_keywords_and_hash_to_test():
    root = require("asterisk-sounds")
    assert root.endswith("en_US_f_Allison")
    c = corpus.asterisk_words(corpus.ASTERISK_SOUNDS)
    assert len(c) > 150 and not c.synthetic.any()
    assert not set(c.words) & corpus.KEYWORD_FILES
    assert "letters/a" in c.words and "phonetic/a_p" in c.words and "digits/10" in c.words
    assert all(0.15 * 8000 <= len(w) <= 8000 for w in c.waves)
    assert set(c.speakers) == {corpus.ALLISON} and which_set(corpus.ALLISON) == "test"


def test_noise_bank_train_and_test_files_are_disjoint(tmp_path):
    require("asterisk-sounds")
    require("espeak-ng")
    bank = corpus.noise_bank(corpus.ASTERISK_SOUNDS, corpus.ASTERISK_MOH, 8000, seconds=2.0,
                             folder=tmp_path)
    tr, te = ([n for n, _ in bank[s]] for s in ("train", "test"))
    music = [n for n in tr + te if n.startswith("music:")]
    assert len(music) == 5 and not {n for n in tr if n.startswith("music:")} & set(te)
    assert sum(n.startswith("babble") for n in tr) == 1 == sum(n.startswith("babble") for n in te)
    for (na, a), (nb, b) in zip(bank["train"][:3], bank["test"][:3]):
        assert na == nb and not np.allclose(a, b)             # same colour, other seed
    for _, x in bank["train"] + bank["test"]:
        assert x.dtype == np.float32 and len(x) == 16000 and np.abs(x).max() <= 1.0 + 1e-6
