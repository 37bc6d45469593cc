"""VADER's human-rated sentences (Hutto & Gilbert, ICWSM 2014), and the tasks built on them.

The archive ``hutto_ICWSM_2014.tar.gz`` (or the unpacked ``hutto_ICWSM_2014/`` folder) holds
four ``*_GroundTruth.txt`` files, one line per sentence: ``id \\t rating \\t text``, the rating
being the mean of 20 human raters on −4 … +4. ``read_vader`` returns ``Sentences``: the
texts, float32 ratings and each sentence's source, in file order
(``SOURCES``: movie-review snippets 10,605, tweets 4,200, Amazon reviews 3,708, NYT
editorials 5,190 — 23,703 in all).

Tasks (labels as int64 arrays, with the class names):

* ``sentiment3``: negative (rating < −0.5), neutral (−0.5 … 0.5), positive (> 0.5) — the
  CNN's three classes. The thresholds are ±0.5 on the −4 … +4 scale: an eighth of a scale
  step either side of 0 is "no clear sentiment".
* ``source4``: which of the four corpora a sentence comes from — the RNN's four classes.
  A real task (register/genre identification: tweets, product reviews, film reviews and
  newspaper editorials differ in vocabulary and length) whose labels are certain, unlike a
  4-way cut of the rating scale, which would split raters' disagreement into arbitrary bins.
* ``movie_polarity``: the movie snippets only (the Pang & Lee sentences behind "MR"),
  negative (rating < 0) or positive (> 0); the few rated exactly 0 are dropped.

``stratified_split`` gives the seeded train/val/test indices every experiment uses.
"""

from __future__ import annotations

import io
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DataError

SOURCES = ("movie", "tweet", "amazon", "nyt")
FILES = {"movie": "movieReviewSnippets_GroundTruth.txt", "tweet": "tweets_GroundTruth.txt",
         "amazon": "amazonReviewSnippets_GroundTruth.txt",
         "nyt": "nytEditorialSnippets_GroundTruth.txt"}
SENTIMENT3 = ("negative", "neutral", "positive")
POLARITY = ("negative", "positive")
NEUTRAL_BAND = 0.5


@dataclass(frozen=True)
class Sentences:
    """Sentences with a human rating each and the corpus they come from."""

    texts: tuple[str, ...]
    ratings: np.ndarray      # float32 (N,), −4 … +4
    source_ids: np.ndarray   # int64 (N,), index into ``SOURCES``
    source: str

    def __len__(self) -> int:
        return len(self.texts)


def parse_ground_truth(text: str, where: str) -> tuple[list[str], list[float]]:
    """The ``id \\t rating \\t text`` lines of one file (CRLF or LF)."""
    texts, ratings = [], []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) < 3:
            raise DataError(f"{where}: line {lineno} is not 'id<TAB>rating<TAB>text'")
        try:
            ratings.append(float(parts[1]))
        except ValueError:
            raise DataError(f"{where}: line {lineno} has rating {parts[1]!r}") from None
        texts.append("\t".join(parts[2:]).strip())
    return texts, ratings


def _members(path: Path) -> dict[str, str]:
    """File text of each source, from the archive or the folder."""
    out = {}
    if path.is_dir():
        for src, name in FILES.items():
            hits = sorted(path.rglob(name))
            if hits:
                out[src] = hits[0].read_bytes().decode("utf-8", errors="replace")
        return out
    try:
        with tarfile.open(path) as tar:
            for m in tar.getmembers():
                for src, name in FILES.items():
                    if m.isfile() and os.path.basename(m.name) == name:
                        out[src] = io.TextIOWrapper(tar.extractfile(m), encoding="utf-8",
                                                    errors="replace").read()
    except tarfile.TarError as e:
        raise DataError(f"{path}: not a readable tar archive ({e})") from None
    return out


def read_vader_path(path: str | os.PathLike, source: str = "") -> Sentences:
    """All four ``*_GroundTruth.txt`` files from the archive or folder at ``path``."""
    path = Path(path)
    files = _members(path)
    missing = [FILES[s] for s in SOURCES if s not in files]
    if missing:
        raise DataError(f"{path}: no {', '.join(missing)} inside")
    texts, ratings, ids = [], [], []
    for k, src in enumerate(SOURCES):
        t, r = parse_ground_truth(files[src], f"{path}:{FILES[src]}")
        texts += t
        ratings += r
        ids += [k] * len(t)
    return Sentences(tuple(texts), np.array(ratings, dtype=np.float32),
                     np.array(ids, dtype=np.int64), source or str(path))


def read_vader(spec, split, path, source) -> Sentences:
    """Registry reader (``kind="custom"``)."""
    return read_vader_path(path, source=f"{spec.description} — {source}")


def sentiment3(ratings: np.ndarray, band: float = NEUTRAL_BAND) -> np.ndarray:
    """0 negative (< −band), 1 neutral, 2 positive (> band)."""
    r = np.asarray(ratings)
    return np.where(r < -band, 0, np.where(r > band, 2, 1)).astype(np.int64)


def task(sentences: Sentences, name: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """``(indices, labels, class names)`` of a task: sentiment3, source4 or movie_polarity."""
    n = len(sentences)
    if name == "sentiment3":
        return np.arange(n), sentiment3(sentences.ratings), SENTIMENT3
    if name == "source4":
        return np.arange(n), sentences.source_ids.copy(), SOURCES
    if name == "movie_polarity":
        keep = np.flatnonzero((sentences.source_ids == 0) & (sentences.ratings != 0))
        return keep, (sentences.ratings[keep] > 0).astype(np.int64), POLARITY
    raise ValueError(f"unknown task {name!r}: sentiment3, source4 or movie_polarity")


def stratified_split(labels: np.ndarray, seed: int, val: float = 0.1, test: float = 0.1
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seeded train/val/test positions, each class split in the same proportions."""
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[], [], []]
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_te, n_va = round(test * len(idx)), round(val * len(idx))
        parts[2].append(idx[:n_te])
        parts[1].append(idx[n_te:n_te + n_va])
        parts[0].append(idx[n_te + n_va:])
    return tuple(np.sort(np.concatenate(p)).astype(np.int64) for p in parts)  # type: ignore
