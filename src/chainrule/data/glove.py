"""GloVe word vectors (Pennington, Socher & Manning 2014) from the official text format.

Each line is ``word v1 … vd`` (space separated), most frequent word first. ``read_glove``
reads the first ``max_rows`` rows (default 50,000) of such a file, gzip-compressed (``.gz``)
or plain, and returns a ``WordVectors``:

* ``words``: ``("<pad>", "<unk>", w_0, w_1, …)`` — id 0 is padding, id 1 stands for every
  word not in the file, the file's words follow in the file's order (id = row + 2);
* ``vectors``: float32 ``(len(words), d)``; the ``<pad>`` row is zero (so a padded position
  contributes nothing to a convolution or a mean), the ``<unk>`` row is the mean of the read
  vectors (a neutral "some word" vector);
* ``index``: word → id.

GloVe 6B's words are lower-cased Stanford-tokenizer tokens (see ``chainrule.text.tokenize``).
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass, field

import numpy as np

from .errors import DataError

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1
DEFAULT_ROWS = 50_000


@dataclass(frozen=True)
class WordVectors:
    """A vocabulary with one vector per word; ids 0 (``<pad>``) and 1 (``<unk>``) first."""

    words: tuple[str, ...]
    vectors: np.ndarray
    source: str
    index: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self.index:
            object.__setattr__(self, "index", {w: i for i, w in enumerate(self.words)})

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def id(self, word: str) -> int:
        """The word's id, or ``UNK_ID``."""
        return self.index.get(word, UNK_ID)


def _open(path: str | os.PathLike):
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    if gz:
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def read_glove_file(path: str | os.PathLike, max_rows: int = DEFAULT_ROWS,
                    source: str = "") -> WordVectors:
    """The first ``max_rows`` rows of a GloVe text file (``.gz`` or plain) as ``WordVectors``."""
    if int(max_rows) < 1:
        raise ValueError(f"max_rows must be >= 1, got {max_rows}")
    words: list[str] = []
    rows: list[np.ndarray] = []
    dim = None
    with _open(path) as f:
        for lineno, line in enumerate(f, 1):
            if len(words) >= max_rows:
                break
            parts = line.rstrip("\n").rstrip("\r").split(" ")
            if len(parts) < 2:
                if not line.strip():
                    continue
                raise DataError(f"{path}: line {lineno} is not 'word v1 … vd'")
            word, vals = parts[0], parts[1:]
            if dim is None:
                dim = len(vals)
            if len(vals) != dim:
                raise DataError(f"{path}: line {lineno} has {len(vals)} numbers, the first "
                                f"line {dim}")
            try:
                rows.append(np.array(vals, dtype=np.float32))
            except ValueError:
                raise DataError(f"{path}: line {lineno} holds a non-number") from None
            words.append(word)
    if not words:
        raise DataError(f"{path}: no GloVe rows")
    body = np.stack(rows).astype(np.float32)
    vectors = np.zeros((len(words) + 2, dim), dtype=np.float32)
    vectors[UNK_ID] = body.mean(axis=0, dtype=np.float64).astype(np.float32)
    vectors[2:] = body
    return WordVectors((PAD, UNK, *words), vectors, source or str(path))


def read_glove(spec, split, path, source) -> WordVectors:
    """Registry reader (``kind="custom"``): the first 50,000 rows of the file."""
    return read_glove_file(path, DEFAULT_ROWS, source=f"{spec.description} — {source}")
