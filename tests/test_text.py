"""The GloVe-style tokenizer and the vocabulary's encoding, padding and coverage."""

from __future__ import annotations

import numpy as np

from chainrule.data.glove import WordVectors
from chainrule.text import Vocab, tokenize


def test_tokenize_matches_glove_conventions():
    assert tokenize("The Rock's new ''Conan'' -- I don't, can't!") == [
        "the", "rock", "'s", "new", '"', "conan", '"', "-", "-", "i", "do", "n't", ",", "ca",
        "n't", "!"]
    assert tokenize("U.S. sales rose 3.5% to 1,000 well-known cafés.") == [
        "u.s.", "sales", "rose", "3.5", "%", "to", "1,000", "well-known", "cafés", "."]
    assert tokenize("Tom &amp; Jerry \u2019re \u201cfun\u201d") == [
        "tom", "&", "jerry", "'re", '"', "fun", '"']


def _vocab():
    words = ("<pad>", "<unk>", "good", "film", "well", "-", "made")
    vec = np.arange(len(words) * 2, dtype=np.float32).reshape(-1, 2)
    vec[0] = 0
    return Vocab(WordVectors(words, vec, "test"))


def test_encode_pads_cuts_and_splits_compounds():
    v = _vocab()
    ids, lengths = v.encode([["good", "film"], ["well-made", "zzz"], []], max_len=3)
    np.testing.assert_array_equal(ids, [[2, 3, 0], [4, 5, 6], [1, 0, 0]])
    np.testing.assert_array_equal(lengths, [2, 3, 1])
    assert ids.dtype == np.int64
    ids, lengths = v.encode([["good"], ["good", "good", "film"]])
    assert ids.shape == (2, 3) and lengths.tolist() == [1, 3]


def test_coverage_counts_tokens_and_types():
    c = _vocab().coverage([["good", "zzz", "good"], ["well-made"]])
    assert c["tokens"] == 4 and c["types"] == 3
    assert c["token_coverage"] == 0.75 and abs(c["type_coverage"] - 2 / 3) < 1e-12


def test_restrict_keeps_vectors_of_used_words():
    v = _vocab()
    r = v.restrict([["film", "zzz"]])
    assert r.vectors.words == ("<pad>", "<unk>", "film")
    np.testing.assert_array_equal(r.matrix[2], v.matrix[3])
    assert r.lookup("film") == [2] and r.lookup("good") == [1]
