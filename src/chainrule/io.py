"""Save and load model/optimizer state as ``.npz`` files: atomic writes, never pickle.

File layout (one flat ``.npz`` archive):

* ``"model/<name>"``  — each entry of ``model.state_dict()``, e.g. ``"model/0.weight"``;
* ``"optim/<name>"``  — each entry of ``optimizer.state_dict()``, e.g. ``"optim/0.exp_avg"``;
* ``"meta"``          — a 0-d string array holding JSON (``json.dumps(meta)``);
* ``"format"``        — ``"chainrule/1"``, so a foreign ``.npz`` is recognised.

Writes go to a temporary file in the target's directory, are flushed and fsynced, and
then ``os.replace``-d over the target, so a crash mid-write leaves the previous file
intact. Reads use ``allow_pickle=False`` and read every array eagerly, so a truncated
or corrupted file fails at ``load`` with a ``CheckpointError`` naming the file.
"""

from __future__ import annotations

import json
import os
import secrets
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .core import Module

FORMAT = "chainrule/1"
PathLike = str | os.PathLike


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read, or does not fit the model/optimizer given."""


def json_default(obj: Any) -> Any:
    """``json.dumps`` fallback: NumPy arrays/scalars and paths become plain values."""
    # NumPy values sneak into meta (RNG states hold arrays, metrics are np.float64).
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"meta value of type {type(obj).__name__} is not JSON-serialisable")


def save_arrays(path: PathLike, arrays: dict[str, np.ndarray]) -> Path:
    """Write ``arrays`` to ``path`` as an uncompressed ``.npz``, atomically; return the path.

    The file name is used as given (no ``.npz`` is appended). Object arrays are refused,
    since they could only be read back with pickle.
    """
    path = Path(path)
    for key, value in arrays.items():
        if np.asarray(value).dtype.hasobject:
            raise TypeError(f"{path}: array {key!r} has dtype object, which needs pickle")
    directory = path.parent if str(path.parent) else Path(".")
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = _temp_file(directory, path.name)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


TEMP_SUFFIX = ".tmp"


def _temp_file(directory: Path, name: str) -> tuple[int, str]:
    """A new ``directory/.NAME.<random>.tmp`` opened for writing with mode 0o666 minus the
    umask — the permissions every other file of the run gets (``tempfile.mkstemp`` would
    make it 0o600). A write killed midway leaves only such a dot-file, which
    ``remove_orphans`` deletes at the next start."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = directory / f".{name}.{secrets.token_hex(4)}{TEMP_SUFFIX}"
        try:
            return os.open(tmp, flags, 0o666), str(tmp)
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot create a temporary file for {name} in {directory}")


def remove_orphans(directory: PathLike) -> list[Path]:
    """Delete temporary files that killed writes left in ``directory`` (``.NAME.*.tmp``, from
    ``save_arrays`` and the trainer's unconfirmed checkpoints); return what was removed.
    Call it only while no other process writes there (``chainrule train`` holds the run
    folder's lock)."""
    removed = []
    for p in Path(directory).glob(f".*{TEMP_SUFFIX}"):
        if p.is_file():
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def load_arrays(path: PathLike) -> dict[str, np.ndarray]:
    """Read every array of an ``.npz`` into memory (``allow_pickle=False``).

    Raises ``FileNotFoundError`` for a missing file and ``CheckpointError`` (naming the
    file) for a truncated, corrupted or non-npz one.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder, not a model or checkpoint file")
    _check_unpacked_size(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            if not isinstance(archive, np.lib.npyio.NpzFile):
                raise CheckpointError(f"{path} is a bare .npy array, not a chainrule .npz archive")
            return {key: archive[key] for key in archive.files}
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as err:
        raise CheckpointError(f"cannot read {path}: corrupted or truncated file "
                              f"({type(err).__name__}: {err})") from err


def _check_unpacked_size(path: Path) -> None:
    """Refuse an archive whose members would unpack to more than this machine's memory (a
    small file can declare terabytes: a zip bomb), before reading any of them."""
    from .models.config import _fmt_bytes, memory_bytes

    try:
        with zipfile.ZipFile(path) as zf:
            total = sum(info.file_size for info in zf.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # not a zip (or unreadable): np.load below reports it
    have = memory_bytes()
    if have and total > have // 2:
        raise CheckpointError(f"{path}: its arrays would unpack to {_fmt_bytes(total)}, more than "
                              f"half this machine's memory ({_fmt_bytes(have)}); refusing to "
                              "read it")


def model_config_of(meta: dict[str, Any]) -> dict[str, Any] | None:
    """The model config a model file (``model_config``) or a training checkpoint
    (``config.model_config``) carries, or None."""
    config = meta.get("model_config")
    if config is None and isinstance(meta.get("config"), dict):
        config = meta["config"].get("model_config")
    return config


def load_model(path: PathLike) -> tuple[Module, dict[str, Any]]:
    """Rebuild the model a ``chainrule train`` model file *or* checkpoint describes; return
    ``(model, meta)``.

    The metadata is untrusted input: the architecture it describes is checked field by
    field, and the shapes it implies are compared with the arrays the file holds, **before**
    anything is built — a crafted ``hidden=[1e9]`` is a ``CheckpointError`` naming the
    mismatch, not a 238 GiB allocation.
    """
    from .models.config import build_model, parameter_shapes

    arrays = load_arrays(path)
    meta = read_meta(arrays, path)
    config = model_config_of(meta)
    if not config:
        raise CheckpointError(f"{path} holds no model_config; was it written by "
                              "`chainrule train`?")
    try:
        expected = parameter_shapes(config)
    except ValueError as err:
        raise CheckpointError(f"{path}: {err}") from err
    held = {k: tuple(v.shape) for k, v in split_arrays(arrays, "model").items()}
    problems = []
    if missing := sorted(set(expected) - set(held)):
        problems.append(f"arrays missing for {missing}")
    if extra := sorted(set(held) - set(expected)):
        problems.append(f"unexpected arrays {extra}")
    problems += [f"{k}: the config implies shape {expected[k]}, the file holds {held[k]}"
                 for k in sorted(set(expected) & set(held)) if expected[k] != held[k]]
    if problems:
        raise CheckpointError(f"{path}: the model_config does not match the arrays it holds: "
                              + "; ".join(problems))
    model = build_model(config)
    try:
        model.load_state_dict(split_arrays(arrays, "model"))
    except ValueError as err:
        raise CheckpointError(f"{path}: {err}") from err
    return model, meta


def save(model: Module, path: PathLike, optimizer: Any = None, **meta: Any) -> Path:
    """Save ``model`` (and ``optimizer``) state plus JSON ``meta`` to ``path``, atomically;
    return the path. PyTorch's argument order (``torch.save(obj, f)``).

    ``meta`` values must be JSON-serialisable (NumPy scalars and arrays are converted). The
    file gets the permissions of any other new file (the umask). ``cr.load(path, model)`` puts
    the state back into a model you built; ``cr.load_model(path)`` rebuilds the model from a
    ``chainrule train`` file. The older order ``save(path, model)`` still works and warns.
    """
    if not isinstance(model, Module) and isinstance(path, Module):
        warnings.warn("cr.save(path, model) is deprecated: use cr.save(model, path), "
                      "PyTorch's order", DeprecationWarning, stacklevel=2)
        model, path = path, model
    if not isinstance(model, Module):
        raise TypeError(f"cr.save(model, path): expected a Module first, got "
                        f"{type(model).__name__}")
    arrays: dict[str, np.ndarray] = {"format": np.array(FORMAT)}
    arrays.update({f"model/{k}": v for k, v in model.state_dict().items()})
    if optimizer is not None:
        arrays.update({f"optim/{k}": v for k, v in optimizer.state_dict().items()})
    arrays["meta"] = encode_meta(meta)
    return save_arrays(path, arrays)


def encode_meta(meta: dict[str, Any]) -> np.ndarray:
    """``meta`` as the 0-d JSON string array stored under ``"meta"``."""
    return np.array(json.dumps(meta, default=json_default))


def split_arrays(arrays: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    """The entries under ``prefix + "/"``, with the prefix removed."""
    cut = len(prefix) + 1
    return {k[cut:]: v for k, v in arrays.items() if k.startswith(prefix + "/")}


def read_meta(arrays: dict[str, np.ndarray], path: PathLike = "<arrays>") -> dict[str, Any]:
    """Decode the JSON ``meta`` entry of a loaded archive."""
    if "meta" not in arrays or str(arrays.get("format", "")) != FORMAT:
        raise CheckpointError(f"{path} is an .npz file but not a chainrule checkpoint "
                              f"(no 'format'='{FORMAT}' entry)")
    try:
        return json.loads(str(arrays["meta"]))
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{path}: meta entry is not valid JSON ({err})") from err


def load(path: PathLike, model: Module | None = None, optimizer: Any = None) -> dict[str, Any]:
    """Load state saved by ``save`` into ``model`` and/or ``optimizer``; return the meta dict.

    A checkpoint of another architecture raises ``CheckpointError`` (a ``ValueError``)
    naming the file and the missing, unexpected or mis-shaped keys.
    """
    arrays = load_arrays(path)
    meta = read_meta(arrays, path)
    try:
        if model is not None:
            model.load_state_dict(split_arrays(arrays, "model"))
        if optimizer is not None:
            state = split_arrays(arrays, "optim")
            if not state:
                raise ValueError("the checkpoint holds no optimizer state")
            optimizer.load_state_dict(state)
    except ValueError as err:
        raise CheckpointError(f"{path}: {err}") from err
    return meta
