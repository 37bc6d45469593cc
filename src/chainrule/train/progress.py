"""Whether ``fit`` shows a progress bar when its caller did not say (the lab's default).

``fit(..., progress=None)`` (the default) adds a ``ProgressBar`` only inside a
``show_progress(True)`` block; ``progress=True``/``False`` always wins. The lab runner opens
such a block around an experiment when its console is a terminal, so long experiments show
tqdm bars without each of them passing a flag. The setting lives in a ``ContextVar``: it is
scoped to the ``with`` block (and its thread), never a process-wide switch.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

_SHOW = contextvars.ContextVar("chainrule_show_progress", default=False)


@contextlib.contextmanager
def show_progress(on: bool = True) -> Iterator[None]:
    """Within this block, ``fit(progress=None)`` shows a progress bar when ``on``."""
    token = _SHOW.set(bool(on))
    try:
        yield
    finally:
        _SHOW.reset(token)


def progress_default() -> bool:
    """What ``progress=None`` means here: the innermost ``show_progress`` value, else False."""
    return _SHOW.get()
