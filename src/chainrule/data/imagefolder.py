"""Image-folder datasets: ``<split>/<class>/<image>`` trees, as a folder or a ``.tar[.gz]``.

The layout is the one torchvision's ``ImageFolder`` and Keras's
``image_dataset_from_directory`` read: one folder per split, one sub-folder per class (the
class names, sorted, give the label order), any number of images in each. The tree may sit
under one top folder (``cifar-10-images/train/cat/0001.jpg``) or directly at the root.

Reading
    Images are decoded with Pillow (``PIL``), converted to the requested mode (``"RGB"`` or
    ``"L"``) and must all have one size; labels are the class folders' indices. Samples are
    ordered by class, then by file name, so every machine sees the same order.
Archives
    A ``.tar``/``.tar.gz``/``.tgz`` is read member by member without extracting anything:
    only regular files with safe names count — an absolute path, a ``..`` component, a link
    or a device member is an error naming the archive and the member.
Cache
    Decoding tens of thousands of JPEGs takes a while, so the decoded ``uint8`` arrays of a
    split are kept in the user cache (``<cache>/decoded/``) under a key made of the source's
    resolved path, size and modification time: a changed source is decoded again. The cache
    file is written atomically (temporary file + ``os.replace``) and read with
    ``allow_pickle=False``; an unreadable cache file is ignored and rewritten.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

import numpy as np

from .errors import DataError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".ppm", ".pgm", ".webp")
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")
CACHE_VERSION = 1


def is_archive(path: Path) -> bool:
    """Whether ``path`` names a tar archive this reader opens."""
    return path.name.lower().endswith(ARCHIVE_SUFFIXES)


def _split_parts(parts: tuple[str, ...], split: str) -> tuple[str, str] | None:
    """``(class, file)`` when ``parts`` is ``[top/]split/class/file`` of an image, else None."""
    if len(parts) == 4:
        parts = parts[1:]
    if len(parts) != 3 or parts[0] != split or not parts[2].lower().endswith(IMAGE_SUFFIXES):
        return None
    return parts[1], parts[2]


def _check_member(m: tarfile.TarInfo, archive: Path) -> None:
    name = m.name
    if name.startswith(("/", "\\")) or ".." in PurePosixPath(name).parts or ":" in name[:3]:
        raise DataError(f"{archive}: refusing member {name!r}: absolute path or '..'")
    if not (m.isfile() or m.isdir()):
        raise DataError(f"{archive}: refusing member {name!r}: not a regular file or folder "
                        "(links and devices are not allowed)")


def _entries_from_archive(archive: Path, split: str) -> list[tuple[str, str, bytes]]:
    out = []
    try:
        with tarfile.open(archive, "r:*") as tar:
            for m in tar:
                _check_member(m, archive)
                where = _split_parts(PurePosixPath(m.name).parts, split) if m.isfile() else None
                if where is not None:
                    with tar.extractfile(m) as f:
                        out.append((*where, f.read()))
    except (tarfile.TarError, EOFError, OSError) as err:
        raise DataError(f"{archive}: cannot read the archive ({type(err).__name__}: {err})") \
            from err
    return out


def split_root(folder: Path, split: str) -> Path | None:
    """The ``split`` folder of an image tree at ``folder`` (directly or under one top folder)."""
    if (folder / split).is_dir():
        return folder / split
    tops = [d / split for d in sorted(folder.iterdir()) if (d / split).is_dir()] \
        if folder.is_dir() else []
    return tops[0] if len(tops) == 1 else None


def _entries_from_folder(root: Path) -> list[tuple[str, str, bytes]]:
    out = []
    for cls in sorted(d for d in root.iterdir() if d.is_dir()):
        for f in sorted(cls.iterdir()):
            if f.is_file() and not f.is_symlink() and f.name.lower().endswith(IMAGE_SUFFIXES):
                out.append((cls.name, f.name, f.read_bytes()))
    return out


def _decode(entries: list[tuple[str, str, bytes]], mode: str, where: str):
    try:
        from PIL import Image
    except ImportError as err:  # pragma: no cover - Pillow is a declared dependency
        raise DataError("reading image folders needs Pillow: pip install pillow") from err
    if not entries:
        raise DataError(f"{where}: no images found (expected <split>/<class>/<image>)")
    entries = sorted(entries, key=lambda e: (e[0], e[1]))
    classes = tuple(sorted({e[0] for e in entries}))
    index = {c: i for i, c in enumerate(classes)}
    images, shape = [], None
    for cls, name, blob in entries:
        try:
            with Image.open(io.BytesIO(blob)) as im:
                arr = np.asarray(im.convert(mode), dtype=np.uint8)
        except Exception as err:
            raise DataError(f"{where}: cannot decode {cls}/{name} ({err})") from err
        if shape is None:
            shape = arr.shape
        elif arr.shape != shape:
            raise DataError(f"{where}: {cls}/{name} is {arr.shape}, the first image was {shape}:"
                            " all images of a split must have one size")
        images.append(arr)
    x = np.stack(images)
    x = x[:, None] if x.ndim == 3 else x.transpose(0, 3, 1, 2)   # NCHW
    y = np.fromiter((index[e[0]] for e in entries), dtype=np.int64, count=len(entries))
    return np.ascontiguousarray(x), y, classes


def _cache_file(source: Path, split: str, mode: str, cache_dir: Path) -> Path:
    st = source.stat()
    key = f"{CACHE_VERSION}|{source.resolve()}|{st.st_size}|{st.st_mtime_ns}|{split}|{mode}"
    if source.is_dir():   # a folder's own mtime misses edits deep inside: add the split's
        root = split_root(source, split) or source
        key += "|" + "|".join(f"{p.name}:{p.stat().st_mtime_ns}" for p in sorted(root.iterdir()))
    digest = hashlib.sha1(key.encode()).hexdigest()[:16]
    return cache_dir / f"{source.name}-{split}-{mode}-{digest}.npz"


def _save_atomic(path: Path, **arrays: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_image_folder(source: str | os.PathLike, split: str, *, mode: str = "RGB",
                      cache_dir: str | os.PathLike | None = None
                      ) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Read one split of an image tree (folder or tar archive) as ``(x, y, classes)``.

    ``x`` is ``uint8`` ``(N, C, H, W)`` (C = 3 for ``"RGB"``, 1 for ``"L"``), ``y`` int64
    labels indexing ``classes`` (the sorted class-folder names). With ``cache_dir`` the
    decoded arrays are cached there (see the module docstring). ``DataError`` names the file
    on a missing split, an unsafe archive member, an undecodable or odd-sized image.
    """
    source = Path(source)
    if not source.exists():
        raise DataError(f"{source}: no such file or folder")
    cache = _cache_file(source, split, mode, Path(cache_dir)) if cache_dir is not None else None
    if cache is not None and cache.is_file():
        try:
            with np.load(cache, allow_pickle=False) as z:
                return z["x"], z["y"], tuple(str(c) for c in z["classes"])
        except (OSError, ValueError, KeyError):
            pass  # unreadable cache: decode again and rewrite it
    if source.is_dir():
        root = split_root(source, split)
        if root is None:
            raise DataError(f"{source}: no {split}/ folder (expected {split}/<class>/<image>, "
                            "directly or under one top folder)")
        entries = _entries_from_folder(root)
    elif is_archive(source):
        entries = _entries_from_archive(source, split)
    else:
        raise DataError(f"{source}: not a folder or a .tar/.tar.gz archive")
    x, y, classes = _decode(entries, mode, f"{source} [{split}]")
    if cache is not None:
        try:
            _save_atomic(cache, x=x, y=y, classes=np.array(classes))
        except OSError:
            pass  # a read-only cache only costs the next reader the decoding time
    return x, y, classes
