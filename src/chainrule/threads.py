"""How many threads NumPy's BLAS uses: one switch for scripts, ``fit`` and the CLI.

    import chainrule as cr
    cr.set_num_threads(1)          # from now on (returns the previous setting)
    with cr.num_threads(2):        # only inside the block
        fit(...)

Why it matters: chainrule's heavy work is NumPy matrix products, run by the BLAS library
NumPy links (OpenBLAS in the PyPI wheels). OpenBLAS starts one thread per core and its
threads *spin* while waiting for work. The lab's models are small, so each product is split
into pieces too thin to pay for the hand-over, and when another process holds a core the
spinning threads wait on each other: on a 2-core machine with the other core busy, the
README's first example took 12.0 s in ``fit`` with the default pool against 0.9 s with one
thread. One thread is the right setting for the lab's models on a laptop that is doing
anything else; large products (batch 512 and up, wide layers) gain from more threads on an
idle machine. ``chainrule lab`` uses one thread per experiment (and runs experiments side by
side instead), and every command takes ``--threads N``.

The limits are applied with ``threadpoolctl`` to every BLAS library loaded in the process
(NumPy's, and SciPy's when loaded); PyTorch keeps its own pool (``torch.set_num_threads``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


def get_num_threads() -> int:
    """The threads of NumPy's BLAS pool now (the largest over loaded BLAS libraries)."""
    from threadpoolctl import threadpool_info

    counts = [int(i["num_threads"]) for i in threadpool_info() if i.get("user_api") == "blas"]
    return max(counts, default=1)


def _check(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"the number of threads must be a positive integer, got {n!r}")
    return n


def set_num_threads(n: int) -> int:
    """Use ``n`` BLAS threads from now on; returns the number used before."""
    from threadpoolctl import threadpool_limits

    before = get_num_threads()
    threadpool_limits(limits=_check(n), user_api="blas")
    return before


@contextlib.contextmanager
def num_threads(n: int) -> Iterator[None]:
    """Use ``n`` BLAS threads inside the ``with`` block, then restore the previous setting."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=_check(n), user_api="blas"):
        yield
