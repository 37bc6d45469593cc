"""Free Spoken Digit Dataset (Jackson et al.): 3,000 spoken digits, 6 speakers, 8 kHz, split
**by speaker**.

The archive ``free-spoken-digit-dataset.tar.gz`` (or the unpacked folder) holds
``recordings/{digit}_{speaker}_{take}.wav`` (mono 16-bit PCM, 8 kHz, 50 takes of each digit
per speaker). ``read_fsdd_path`` returns ``Recordings``: float32 waveforms in [-1, 1] (PCM
divided by 32768), the digit label, the speaker and the take of every clip, sorted by file
name.

Splits never use FSDD's own take-number split (takes 0-4 as test), which puts every test
speaker in training too. A clip's split comes from its **speaker's** name as TensorFlow's
speech_commands ``input_data.py`` ``which_set`` does: SHA-1 of the name, mod 2**27, scaled to
a percentage; below ``validation_percentage`` is ``validation``, below
``validation_percentage + testing_percentage`` is ``test``, the rest ``train``. The hash is
stable, so adding speakers never moves the existing ones. With six speakers a 10/10 cut
would leave ``test`` empty, so the defaults are 10/30: the percentages are george 74.2,
jackson 58.7, lucas 9.2, nicolas 7.0, theo 59.3, yweweler 35.3, giving

* ``train``: george, jackson, theo (1,500 clips)
* ``validation``: lucas, nicolas (1,000)
* ``test``: yweweler (500)

``all`` is every clip; ``speaker_folds`` gives leave-one-speaker-out folds.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tarfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .errors import DataError

RATE = 8000
CLASSES = tuple(str(d) for d in range(10))
SPLITS = ("train", "validation", "test", "all")
VALIDATION_PERCENTAGE = 10.0
TESTING_PERCENTAGE = 30.0
MAX_NUM = 2 ** 27 - 1          # as TF's MAX_NUM_WAVS_PER_CLASS
NAME = re.compile(r"(?:^|/)recordings/(\d)_([A-Za-z]+)_(\d+)\.wav$")


@dataclass(frozen=True)
class Recordings:
    """Variable-length clips with a label, speaker and take each."""

    waves: tuple[np.ndarray, ...]   # float32 (T_i,), in [-1, 1]
    labels: np.ndarray              # int64 (N,), the digit
    speakers: tuple[str, ...]
    takes: np.ndarray               # int64 (N,)
    rate: int
    source: str
    classes: tuple[str, ...] = CLASSES

    def __len__(self) -> int:
        return len(self.waves)

    def subset(self, idx) -> Recordings:
        idx = np.asarray(idx, dtype=np.int64)
        return Recordings(tuple(self.waves[i] for i in idx), self.labels[idx],
                          tuple(self.speakers[i] for i in idx), self.takes[idx], self.rate,
                          self.source, self.classes)


def speaker_percentage(speaker: str) -> float:
    """The speaker's stable hash percentage in [0, 100] (TF ``which_set``)."""
    h = int(hashlib.sha1(speaker.encode("utf-8")).hexdigest(), 16)
    return (h % (MAX_NUM + 1)) * (100.0 / MAX_NUM)


def which_set(speaker: str, validation_percentage: float = VALIDATION_PERCENTAGE,
              testing_percentage: float = TESTING_PERCENTAGE) -> str:
    """``"train"``, ``"validation"`` or ``"test"`` for a speaker, from its name only."""
    p = speaker_percentage(speaker)
    if p < validation_percentage:
        return "validation"
    if p < validation_percentage + testing_percentage:
        return "test"
    return "train"


def read_wav_bytes(data: bytes, where: str) -> tuple[int, np.ndarray]:
    """(rate, float32 mono waveform in [-1, 1]) from a PCM WAV file's bytes."""
    from scipy.io import wavfile

    try:
        rate, x = wavfile.read(io.BytesIO(data))
    except ValueError as e:
        raise DataError(f"{where}: not a readable WAV ({e})") from None
    if x.ndim > 1:
        x = x.mean(axis=1)
    if x.dtype == np.int16:
        x = x.astype(np.float32) / np.float32(32768.0)
    elif x.dtype == np.uint8:
        x = (x.astype(np.float32) - np.float32(128.0)) / np.float32(128.0)
    elif x.dtype == np.int32:
        x = x.astype(np.float32) / np.float32(2.0 ** 31)
    else:
        x = np.clip(x.astype(np.float32), -1.0, 1.0)
    return int(rate), x


def _files(path: Path):
    """(name, bytes) of each recordings/*.wav in the archive or folder."""
    if path.is_dir():
        for p in sorted(path.rglob("*.wav")):
            rel = p.relative_to(path).as_posix()
            if NAME.search(rel):
                yield rel, p.read_bytes()
        return
    try:
        with tarfile.open(path, "r:*") as tar:
            for m in tar:
                if m.isfile() and NAME.search(m.name):
                    yield m.name, tar.extractfile(m).read()
    except tarfile.TarError as e:
        raise DataError(f"{path}: not a readable archive ({e})") from None


@lru_cache(maxsize=4)
def _read_cached(path: str, mtime: float, source: str) -> Recordings:
    items = []
    for name, data in _files(Path(path)):
        m = NAME.search(name)
        rate, x = read_wav_bytes(data, f"{path}:{name}")
        if rate != RATE:
            raise DataError(f"{path}:{name}: {rate} Hz, FSDD is {RATE} Hz")
        items.append((os.path.basename(name), int(m.group(1)), m.group(2), int(m.group(3)), x))
    if not items:
        raise DataError(f"{path}: no recordings/{{digit}}_{{speaker}}_{{take}}.wav inside")
    items.sort(key=lambda t: t[0])
    for it in items:
        it[4].setflags(write=False)
    return Recordings(tuple(t[4] for t in items), np.array([t[1] for t in items], np.int64),
                      tuple(t[2] for t in items), np.array([t[3] for t in items], np.int64),
                      RATE, source)


def read_fsdd_path(path: str | os.PathLike, split: str = "all", source: str = "", *,
                   validation_percentage: float = VALIDATION_PERCENTAGE,
                   testing_percentage: float = TESTING_PERCENTAGE) -> Recordings:
    """The clips of ``split`` (train/validation/test by speaker hash, or all)."""
    if split not in SPLITS:
        raise ValueError(f"fsdd split {split!r}: one of {', '.join(SPLITS)}")
    path = Path(path)
    rec = _read_cached(str(path), path.stat().st_mtime, source or str(path))
    if split == "all":
        return rec
    keep = [i for i, s in enumerate(rec.speakers)
            if which_set(s, validation_percentage, testing_percentage) == split]
    return rec.subset(keep)


def read_fsdd(spec, split, path, source) -> Recordings:
    """Registry reader (``kind="custom"``)."""
    return read_fsdd_path(path, split, source=f"{spec.description} — {source}")


def speaker_folds(rec: Recordings) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Leave-one-speaker-out folds: ``(held-out speaker, train indices, test indices)``."""
    spk = np.array(rec.speakers)
    return [(s, np.flatnonzero(spk != s), np.flatnonzero(spk == s))
            for s in sorted(set(rec.speakers))]
