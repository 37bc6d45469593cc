"""UCI HAPT raw sensor recordings (Reyes-Ortiz, Anguita, Oneto, Parra) as labelled windows.

Reads the official ``RawData`` layout, from ``HAPT-RawData.zip``, the official archive (which
holds ``RawData/`` beside its pre-computed features) or an extracted folder:
``RawData/acc_expNN_userUU.txt`` and ``RawData/gyro_expNN_userUU.txt`` (50 Hz, 3 columns
each: accelerometer in g, gyroscope in rad/s) and ``RawData/labels.txt`` (experiment, user,
activity, start, end; 1-based sample numbers, inclusive). 30 users, 61 recordings, 1,214
labelled segments; samples outside every segment are unlabelled and never used.

Windows are ``WINDOW`` = 100 samples (2 s) with stride ``STRIDE`` = 50, taken **inside single
labelled segments only**: a window starts at ``start − 1 + k·STRIDE`` and ends at or before
the segment's last sample, so no window crosses a segment boundary or a label change (a
segment shorter than 100 samples gives none). Channels: acc x, y, z, gyro x, y, z, float32
``(N, 100, 6)``. Label set ``"6"`` (default) keeps the six activities WALKING …
LAYING; ``"12"`` keeps all twelve, with the six short postural transitions (STAND_TO_SIT …,
strongly imbalanced: 812 of 16,516 windows).

Split by subject, so no user is in two splits: ``test`` holds the official UCI HAR test users
``TEST_USERS`` (2, 4, 9, 10, 12, 13, 18, 20, 24); ``validation`` ``N_VAL_USERS`` = 4 users
drawn with ``np.random.default_rng(VAL_SEED)`` from the other 21 (users 8, 17, 21, 25);
``train`` the remaining 17. Six activities give 7,798 / 1,954 / 3,952 windows.
``standardise`` applies a per-channel mean and std that ``channel_stats`` computes on the
**training** windows only.

Download: ``chainrule data download hapt`` fetches the official archive ``HAPT Data
Set.zip`` from UCI (https://archive.ics.uci.edu/dataset/341). UCI publishes no checksum, so
the download is checked by content instead (``verify_archive``: every zip member's CRC, and
exactly the published RawData — 30 users, 61 recordings with both sensors, 1,214 labelled
segments, the first one ``1 1 5 250 1232``) before it is kept. Offline, unzip or copy the
archive, or a RawData-only ``HAPT-RawData.zip``, into a ``hapt/`` folder; the error when it is
missing names the places looked at.
"""

from __future__ import annotations

import os
import re
import zipfile
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .dataset import Dataset
from .errors import DataError

WINDOW, STRIDE, CHANNELS = 100, 50, 6
RATE = 50
TEST_USERS = (2, 4, 9, 10, 12, 13, 18, 20, 24)
VAL_SEED, N_VAL_USERS = 0, 4
SPLITS = ("train", "validation", "test")
ACTIVITIES = ("WALKING", "WALKING_UPSTAIRS", "WALKING_DOWNSTAIRS", "SITTING", "STANDING",
              "LAYING", "STAND_TO_SIT", "SIT_TO_STAND", "SIT_TO_LIE", "LIE_TO_SIT",
              "STAND_TO_LIE", "LIE_TO_STAND")
CHANNEL_NAMES = ("acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z")
_NAME = re.compile(r"(acc|gyro)_exp(\d+)_user(\d+)\.txt$")


@dataclass(frozen=True)
class Windows:
    """Labelled windows and where each came from (all arrays aligned on the first axis)."""

    x: np.ndarray            # float32 (N, WINDOW, 6)
    y: np.ndarray            # int64 (N,), 0-based activity (ACTIVITIES[y])
    users: np.ndarray        # int64 (N,)
    experiments: np.ndarray  # int64 (N,)
    segments: np.ndarray     # int64 (N,), row of labels.txt the window lies in
    starts: np.ndarray       # int64 (N,), 0-based first sample in the recording
    classes: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.x)


def val_users() -> tuple[int, ...]:
    """The validation users: a fixed seeded draw from the non-test users."""
    rest = [u for u in range(1, 31) if u not in TEST_USERS]
    rng = np.random.default_rng(VAL_SEED)
    return tuple(sorted(int(u) for u in rng.choice(rest, N_VAL_USERS, replace=False)))


def split_users(split: str) -> tuple[int, ...]:
    """The users of ``split`` (train, validation or test)."""
    val = val_users()
    if split == "test":
        return TEST_USERS
    if split == "validation":
        return val
    if split == "train":
        return tuple(u for u in range(1, 31) if u not in TEST_USERS and u not in val)
    raise ValueError(f"hapt has splits {', '.join(SPLITS)}; got {split!r}")


def _numbers(text: bytes, cols: int, dtype: type, where: str) -> np.ndarray:
    """A whitespace-separated table of ``cols`` columns (fast: one split, one conversion)."""
    lines = [ln for ln in text.decode("ascii", "replace").splitlines() if ln.strip()]
    try:
        a = np.array(" ".join(lines).split(), dtype=dtype)
    except ValueError as e:
        raise DataError(f"{where}: not a table of numbers ({e})") from None
    if a.size != cols * len(lines):
        raise DataError(f"{where}: expected {cols} columns on each of {len(lines)} rows")
    return a.reshape(len(lines), cols)


def _texts(path: str) -> dict[str, bytes]:
    """File name → bytes of the recordings and labels.txt, from a folder or a zip."""
    texts: dict[str, bytes] = {}
    if os.path.isdir(path):
        for root, _, names in os.walk(path):
            for n in names:
                if _NAME.search(n) or n == "labels.txt":
                    with open(os.path.join(root, n), "rb") as f:
                        texts[n] = f.read()
        return texts
    try:
        with zipfile.ZipFile(path) as z:
            for n in z.namelist():
                base = n.rsplit("/", 1)[-1]
                if _NAME.search(base) or (base == "labels.txt" and "RawData" in n):
                    texts[base] = z.read(n)
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise DataError(f"{path}: not a readable zip archive ({e})") from None
    return texts


@lru_cache(maxsize=2)
def _read_raw(path: str, mtime: float) -> tuple[dict, np.ndarray]:
    """Recordings ``{(exp, user): (T, 6) float32}`` and the labels table (M, 5) int64."""
    texts = _texts(path)
    if "labels.txt" not in texts:
        raise DataError(f"{path}: no RawData/labels.txt (is this the UCI HAPT RawData layout?)")
    labels = _numbers(texts.pop("labels.txt"), 5, np.int64, f"{path}: labels.txt")
    parts: dict[tuple[int, int], dict[str, np.ndarray]] = {}
    for n, t in texts.items():
        m = _NAME.search(n)
        arr = _numbers(t, 3, np.float32, f"{path}: {n}")
        parts.setdefault((int(m.group(2)), int(m.group(3))), {})[m.group(1)] = arr
    rec = {}
    for key, d in parts.items():
        if "acc" not in d or "gyro" not in d:
            raise DataError(f"{path}: experiment {key[0]} (user {key[1]}) lacks its acc or "
                            "gyro file")
        if len(d["acc"]) != len(d["gyro"]):
            raise DataError(f"{path}: experiment {key[0]}: acc has {len(d['acc'])} rows, gyro "
                            f"{len(d['gyro'])}")
        rec[key] = np.concatenate([d["acc"], d["gyro"]], axis=1)
        rec[key].setflags(write=False)
    for exp, user, act, start, end in labels:
        sig = rec.get((int(exp), int(user)))
        if sig is None:
            raise DataError(f"{path}: labels.txt names experiment {exp} of user {user}, "
                            "whose acc/gyro files are missing")
        if not (1 <= start <= end <= len(sig)) or not 1 <= act <= len(ACTIVITIES):
            raise DataError(f"{path}: labels.txt row ({exp} {user} {act} {start} {end}) is "
                            f"outside the recording ({len(sig)} samples) or the 12 activities")
    labels.setflags(write=False)
    return rec, labels


def verify_archive(path: str | os.PathLike) -> None:
    """Raise ``DataError`` unless ``path`` holds exactly the published HAPT RawData: intact zip
    members (CRC), 61 recordings of 30 users with acc and gyro, 1,214 labelled segments whose
    first row is ``1 1 5 250 1232`` (the download's content check; UCI gives no checksum)."""
    path = os.fspath(path)
    if not os.path.isdir(path):
        try:
            with zipfile.ZipFile(path) as z:
                bad = z.testzip()
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise DataError(f"{path}: not a readable zip archive ({e})") from None
        if bad is not None:
            raise DataError(f"{path}: member {bad} fails its CRC check")
    rec, labels = _read_raw.__wrapped__(path, 0.0)
    users = {u for _, u in rec}
    found = (len(users), len(rec), len(labels), tuple(int(v) for v in labels[0]))
    want = (30, 61, 1214, (1, 1, 5, 250, 1232))
    if found != want:
        raise DataError(f"{path}: (users, recordings, segments, first segment) = {found}, the "
                        f"published RawData has {want}")


def read_raw(path: str | os.PathLike) -> tuple[dict, np.ndarray]:
    """The recordings and labels table of a zip or folder (cached per path and mtime)."""
    path = os.fspath(path)
    return _read_raw(path, os.stat(path).st_mtime)


def windows(path: str | os.PathLike, users, labels: str = "6") -> Windows:
    """Every window of ``users`` (see the module docstring), in labels.txt order."""
    if labels not in ("6", "12"):
        raise ValueError(f"labels must be '6' or '12', got {labels!r}")
    rec, table = read_raw(path)
    keep, users = (6 if labels == "6" else 12), {int(u) for u in users}
    xs, cols = [], []
    for i, (exp, user, act, start, end) in enumerate(table):
        if int(user) not in users or act > keep:
            continue
        sig = rec[(int(exp), int(user))]
        for s in range(start - 1, end - WINDOW + 1, STRIDE):   # last window ends ≤ end
            xs.append(sig[s:s + WINDOW])
            cols.append((act - 1, user, exp, i, s))
    x = np.stack(xs) if xs else np.zeros((0, WINDOW, CHANNELS), dtype=np.float32)
    c = np.asarray(cols, dtype=np.int64).reshape(-1, 5)
    return Windows(x.astype(np.float32, copy=False), c[:, 0].copy(), c[:, 1].copy(),
                   c[:, 2].copy(), c[:, 3].copy(), c[:, 4].copy(), ACTIVITIES[:keep])


def read_hapt(spec, split: str, path: str, source: str, labels: str = "6") -> Dataset:
    """Registry reader: one subject-wise split of the windows as a ``Dataset``."""
    w = windows(path, split_users(split), labels)
    return Dataset(x=w.x, y=w.y, name=spec.name, split=split, source=source,
                   classes=w.classes, layout="windows (N, T, C)")


def load_windows(split: str, labels: str = "6", *, data_dir=None) -> tuple[Windows, str]:
    """``Windows`` of one split (``labels`` "6" or "12") and the source, resolved like
    ``cr.data.load("hapt", split)`` (same places, same errors when missing)."""
    from .errors import DatasetNotFoundError
    from .sources import _howto, get_spec, resolve

    res = resolve("hapt", split, data_dir=data_dir)
    if not res.ok:
        if res.status == "incomplete":
            raise DataError(res.reason)
        where = f" in {', '.join(res.looked)}" if res.looked else ""
        raise DatasetNotFoundError(f"hapt/{split} not found{where}. To provide it: "
                                   f"{_howto(get_spec('hapt'), split)}")
    return windows(res.files[0], split_users(split), labels), res.source


def class_counts(y: np.ndarray, num_classes: int) -> list[int]:
    """Windows per class (a list of ``num_classes`` ints)."""
    return [int(v) for v in np.bincount(np.asarray(y, np.int64), minlength=num_classes)]


def channel_stats(x_train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std (float32, shape (C,)) of training windows ``(N, T, C)``."""
    flat = x_train.reshape(-1, x_train.shape[-1])        # float64 sums, no float64 copy
    return (flat.mean(0, dtype=np.float64).astype(np.float32),
            np.maximum(flat.std(0, dtype=np.float64), 1e-8).astype(np.float32))


def standardise(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``(x − mean) / std`` per channel (the last axis), float32."""
    return ((x - mean) / std).astype(np.float32, copy=False)
