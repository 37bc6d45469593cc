"""From tokens to padded id arrays over a ``WordVectors`` vocabulary, and its coverage.

``Vocab(vectors)`` wraps a ``chainrule.data.glove.WordVectors`` (``<pad>`` = 0, ``<unk>`` = 1).

* ``lookup(token)``: the token's id; a hyphen/slash compound not in the vocabulary maps to its
  parts (``"well-crafted"`` → ``well``, ``-``, ``crafted`` if the whole is missing);
* ``encode(token_lists, max_len)``: int64 ``(N, T)`` ids, right-padded with 0 and cut at
  ``max_len`` (``None``: the longest sentence), and int64 lengths (each ≥ 1: an empty
  sentence becomes one ``<unk>``);
* ``coverage(token_lists)``: the share of tokens, and of distinct tokens, that are found;
* ``restrict(token_lists)``: a smaller ``Vocab`` holding only the words these sentences use
  (same vectors; ids renumbered), so a fine-tuned embedding table is only as big as needed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from ..data.glove import PAD_ID, UNK_ID, WordVectors


class Vocab:
    """Token → id over a ``WordVectors`` table; see the module docstring."""

    def __init__(self, vectors: WordVectors) -> None:
        self.vectors = vectors

    @property
    def matrix(self) -> np.ndarray:
        return self.vectors.vectors

    def __len__(self) -> int:
        return len(self.vectors)

    def lookup(self, token: str) -> list[int]:
        """Ids for one token (one id, or several for a split compound)."""
        idx = self.vectors.index
        if token in idx:
            return [idx[token]]
        for sep in ("-", "/"):
            if sep in token:
                parts = [p for p in token.replace(sep, f" {sep} ").split() if p]
                return [idx.get(p, UNK_ID) for p in parts]
        return [UNK_ID]

    def ids(self, tokens: Sequence[str]) -> list[int]:
        return [i for t in tokens for i in self.lookup(t)]

    def encode(self, token_lists: Iterable[Sequence[str]], max_len: int | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """Right-padded ids (N, T) and lengths (N,), both int64."""
        seqs = [self.ids(toks) or [UNK_ID] for toks in token_lists]
        t = max(len(s) for s in seqs) if max_len is None else int(max_len)
        out = np.full((len(seqs), t), PAD_ID, dtype=np.int64)
        lengths = np.empty(len(seqs), dtype=np.int64)
        for i, s in enumerate(seqs):
            s = s[:t]
            out[i, :len(s)] = s
            lengths[i] = len(s)
        return out, lengths

    def coverage(self, token_lists: Iterable[Sequence[str]]) -> dict[str, float | int]:
        """Shares of tokens and of distinct tokens that have a vector (after compound split)."""
        tokens = [t for toks in token_lists for t in toks]
        found = [all(i != UNK_ID for i in self.lookup(t)) for t in tokens]
        types = {}
        for t, f in zip(tokens, found):
            types[t] = f
        return {"tokens": len(tokens), "token_coverage": float(np.mean(found)) if found else 0.0,
                "types": len(types),
                "type_coverage": float(np.mean(list(types.values()))) if types else 0.0}

    def restrict(self, token_lists: Iterable[Sequence[str]]) -> Vocab:
        """A ``Vocab`` of ``<pad>``, ``<unk>`` and the known words these sentences use."""
        used = sorted({i for toks in token_lists for i in self.ids(toks)} - {PAD_ID, UNK_ID})
        rows = [PAD_ID, UNK_ID, *used]
        v = self.vectors
        return Vocab(WordVectors(tuple(v.words[i] for i in rows), v.vectors[rows].copy(),
                                 v.source))
