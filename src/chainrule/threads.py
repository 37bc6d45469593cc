"""How many threads chainrule uses: one switch for scripts, ``fit`` and the CLI.

    import chainrule as cr
    cr.set_num_threads(2)          # from now on (returns the previous setting)
    with cr.num_threads(1):        # only inside the block
        fit(...)

The setting is the number of workers of chainrule's own thread pool (``chainrule.parallel``):
convolutions, pooling, large elementwise passes, large matrix products and the recurrent
layers' input projections split their work into bands that the workers share, each worker
calling single-thread BLAS. NumPy's BLAS (OpenBLAS in the PyPI wheels) is pinned to one
thread the first time the pool is used: its own threading scales poorly on the thin products
of small networks, never reaches the copies and ufuncs, and its idle threads *spin*, so on a
machine whose other cores are busy it collapses (the README's first example took 12.0 s in
``fit`` with OpenBLAS's default pool against 0.9 s with one thread, on 2 cores with the other
one busy). chainrule's workers sleep when idle.

The default, decided on first use, is the cores this process may use minus those other
processes keep busy (``chainrule.parallel.default_workers``; ``CHAINRULE_NUM_THREADS``
overrides it). ``chainrule lab`` runs each experiment with one thread and runs experiments
side by side instead; every command takes ``--threads N``. PyTorch keeps its own pool
(``torch.set_num_threads``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from . import parallel


def get_num_threads() -> int:
    """The number of chainrule worker threads now (deciding the default on first use)."""
    return parallel.workers()


def set_num_threads(n: int) -> int:
    """Use ``n`` threads from now on; returns the number used before."""
    return parallel.set_workers(parallel.check_count(n))


@contextlib.contextmanager
def num_threads(n: int) -> Iterator[None]:
    """Use ``n`` threads inside the ``with`` block, then restore the previous setting."""
    before = set_num_threads(n)
    try:
        yield
    finally:
        parallel.set_workers(before)
