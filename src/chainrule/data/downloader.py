"""Checksummed, atomic downloads: nothing half-written or unverified is ever left in place.

A file is streamed into a temporary file beside its destination while its MD5 is
computed; only when the checksum matches is it moved into place with ``os.replace``
(atomic on one file system). A publisher that gives no checksum (UCI HAPT) gets a content
check instead: ``verify(path)`` reads the downloaded temporary file and raises ``DataError``
unless it holds exactly what the publisher describes. Any failure removes the temporary
file. Nothing here runs at import time or implicitly: callers ask for a download explicitly.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from .errors import DataError

_CHUNK = 1 << 20
# Seconds the socket may wait, for the connection and for each read: a dead mirror fails
# after this long (and the next one is tried), not after a minute of silence.
TIMEOUT_S = 10.0


def _urlopen(url: str, timeout: float):
    """Open ``url`` (a seam: tests replace it so that no test touches the network)."""
    import urllib.request  # lazy: it pulls in http, ssl and email, and is rarely needed

    return urllib.request.urlopen(url, timeout=timeout)


def md5sum(path: str | os.PathLike) -> str:
    """Hex MD5 of a file (the official MNIST/Fashion-MNIST checksums are MD5; integrity only)."""
    h = hashlib.md5()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _fetch_one(url: str, dest: Path, md5: str | None,
               verify: Callable[[Path], None] | None) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        h = hashlib.md5()
        with os.fdopen(fd, "wb") as out, _urlopen(url, TIMEOUT_S) as response:
            for block in iter(lambda: response.read(_CHUNK), b""):
                h.update(block)
                out.write(block)
        if md5 is not None and h.hexdigest() != md5:
            raise DataError(f"{url}: checksum mismatch (MD5 {h.hexdigest()}, expected {md5}); "
                            "the file was discarded")
        if verify is not None:
            try:
                verify(Path(tmp))
            except DataError as err:
                raise DataError(f"{url}: the content check failed ({err}); the file was "
                                "discarded") from None
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def fetch(urls: Sequence[str], dest: str | os.PathLike, md5: str | None,
          log: Callable[[str], None] | None = _say, *,
          verify: Callable[[Path], None] | None = None) -> Path:
    """Download the first of ``urls`` that works into ``dest``, verified against ``md5``
    and/or by ``verify`` (at least one of them: nothing unverified is kept).

    Each mirror is named (``log``, stderr by default) before it is tried and gets
    ``TIMEOUT_S`` seconds to connect and for each read. Raises ``DataError`` listing every
    mirror's failure when none works.
    """
    if md5 is None and verify is None:
        raise ValueError("fetch needs an MD5 or a content check")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    failures = []
    for i, url in enumerate(urls):
        if log is not None:
            log(f"downloading {dest.name} from {url} (mirror {i + 1} of {len(urls)}, "
                f"timeout {TIMEOUT_S:g} s)")
        try:
            _fetch_one(url, dest, md5, verify)
            return dest
        except DataError as err:
            failures.append(str(err))
        except OSError as err:  # URLError, HTTPError, timeouts and disk errors are all OSErrors
            failures.append(f"{url}: {err}")
    raise DataError(f"could not download {dest.name}: " + "; ".join(failures))
