"""chainrule's own parallelism: a persistent pool of worker threads that share out *bands*.

Why its own pool. chainrule's heavy work is NumPy: matrix products (BLAS), im2col copies and
ufuncs. OpenBLAS threads each product on its own, which scales poorly for the thin products
of small networks, leaves the copies and ufuncs on one core, and — because its idle threads
spin — collapses when another process holds a core (the README's first example: 12.0 s in
``fit`` with OpenBLAS's default pool against 0.9 s with one thread, on 2 cores with the other
one busy). So chainrule pins BLAS to **one thread** and splits the work itself: a layer cuts
its computation into independent bands (row bands of a convolution's im2col, row blocks of a
matrix product, slices of an elementwise pass) and ``run(fn, count)`` hands them out to the
workers. NumPy releases the GIL inside those calls, so the threads run truly in parallel;
idle workers sleep on a lock (they never spin).

Determinism. ``run`` schedules dynamically (a worker takes the next band when it is free),
so which thread computes a band varies — but every band writes only its own output slice or
its own partial result, and partial results (a convolution's weight gradient over bands) are
summed afterwards in band order. A result therefore depends on the band split, never on the
schedule: bitwise reproducible for a given number of threads, and, where the split does not
depend on the number of threads (``split`` only looks at sizes), bitwise equal across thread
counts too. Matrix products are split along their *output* rows or columns, never along the
summed dimension, so they do not reduce across bands at all.

The switch (one for everything; ``chainrule.set_num_threads`` / ``chainrule.num_threads``
and every command's ``--threads`` drive it): ``set_workers(n)``. The default, decided on first
use, is ``default_workers()``: the ``CHAINRULE_NUM_THREADS`` environment variable if set,
else the cores this process may use (CPU affinity and the cgroup quota) minus the cores that
other processes keep busy, measured over 0.1 s of ``/proc/stat`` — so a 2-core laptop gets 2,
and a 2-core machine whose other core runs something else gets 1 (on a busy core a second
worker only waits for its time slice, and each join waits for the slowest band).
"""

from __future__ import annotations

import itertools
import math
import os
import threading
import time
from collections.abc import Callable

import numpy as np

_lock = threading.Lock()
_busy = threading.Lock()            # held while the pool serves a run
_local = threading.local()          # .inside: this thread is running a band
_state: dict = {"n": None, "pool": None, "blas": None}


# ------------------------------------------------------------------- how many workers
def _usable_cores() -> int:
    """Cores this process may run on: CPU affinity, capped by a cgroup v2 CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    try:
        with open("/sys/fs/cgroup/cpu.max") as f:
            quota, period = f.read().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, int(int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cores)


def _busy_ticks() -> tuple[float, float]:
    """(CPU seconds all processes spent busy, CPU seconds of this process) so far."""
    with open("/proc/stat") as f:
        fields = [float(v) for v in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)   # idle + iowait
    busy = (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")   # guest time is inside user
    own = os.times()
    return busy, own.user + own.system


def other_busy_cores(seconds: float = 0.1) -> float:
    """How many cores other processes kept busy over the next ``seconds`` (Linux's
    ``/proc/stat`` minus this process's own CPU time); 0.0 where that cannot be read."""
    try:
        b0, o0 = _busy_ticks()
        t0 = time.perf_counter()
        time.sleep(seconds)
        b1, o1 = _busy_ticks()
        dt = time.perf_counter() - t0
    except (OSError, ValueError, IndexError):
        return 0.0
    return max(0.0, ((b1 - b0) - (o1 - o0)) / dt)


def default_workers() -> int:
    """``CHAINRULE_NUM_THREADS`` if set; else usable cores minus the cores other processes
    keep busy (rounded), at least 1."""
    env = os.environ.get("CHAINRULE_NUM_THREADS", "").strip()
    if env:
        try:
            return check_count(int(env))
        except ValueError:
            raise ValueError(f"CHAINRULE_NUM_THREADS must be a positive integer, got {env!r}") \
                from None
    cores = _usable_cores()
    if cores == 1:
        return 1
    return max(1, min(cores, cores - math.floor(other_busy_cores() + 0.5)))


def check_count(n: int) -> int:
    """``n`` if it is a positive int, else ValueError."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"the number of threads must be a positive integer, got {n!r}")
    return n


def _pin_blas() -> None:
    """BLAS at one thread (once per process): every worker runs its own single-thread GEMMs."""
    if _state["blas"] is None:
        from threadpoolctl import threadpool_limits

        _state["blas"] = threadpool_limits(limits=1, user_api="blas")


def workers() -> int:
    """The number of worker threads bands are shared among (deciding the default on first
    use, and pinning BLAS to one thread)."""
    n = _state["n"]
    if n is None:
        with _lock:
            if _state["n"] is None:
                _state["n"] = default_workers()
            n = _state["n"]
    _pin_blas()
    return n


def set_workers(n: int) -> int:
    """Use ``n`` worker threads from now on; returns the number before (deciding the default
    if it was not yet decided)."""
    before = workers()
    _state["n"] = check_count(n)
    return before


# ------------------------------------------------------------------- running bands
class _Pool:
    """``n − 1`` persistent daemon threads; the caller of ``run`` is the n-th worker.

    Each thread sleeps on its own lock until ``run`` hands it a job (one release), and
    counts itself done on a shared condition (no futures, no queue). A hand-over costs the
    wake-up of a sleeping thread: on the 2-core test machine (a virtual machine) a median
    of 25-38 µs when the worker slept 0.1 ms, 68-84 µs after 2 ms, ~150 µs after 5 ms
    (``benchmarks/bench_handover.py``).
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self._go = [threading.Lock() for _ in range(n - 1)]
        for go in self._go:
            go.acquire()
        self._done = threading.Condition(threading.Lock())
        self._job: Callable[[int], None] | None = None
        self._pending = 0
        self._errors: list[BaseException] = []
        for w in range(1, n):
            threading.Thread(target=self._serve, args=(w,), daemon=True,
                             name=f"chainrule-{w}").start()

    def _serve(self, w: int) -> None:
        go = self._go[w - 1]
        while True:
            go.acquire()
            job = self._job
            try:
                job(w)
            except BaseException as e:  # noqa: BLE001  (handed to the caller of run)
                self._errors.append(e)
            with self._done:
                self._pending -= 1
                if self._pending == 0:
                    self._done.notify()

    def run(self, job: Callable[[int], None]) -> None:
        """``job(w)`` on every worker w (0 = this thread) at once; re-raise the first error."""
        self._job, self._errors, self._pending = job, [], self.n - 1
        for go in self._go:
            go.release()
        try:
            job(0)
        finally:
            with self._done:
                while self._pending:
                    self._done.wait()
        if self._errors:
            raise self._errors[0]


def _pool(n: int) -> _Pool:
    """The persistent pool of ``n`` workers (rebuilt when ``n`` changes)."""
    with _lock:
        if _state["pool"] is None or _state["pool"].n != n:
            _state["pool"] = _Pool(n)   # an old pool's threads just sleep on (daemons)
        return _state["pool"]


def run(fn: Callable[[int, int], object], count: int, share: bool = True) -> None:
    """Call ``fn(i, w)`` for every band ``i`` in ``range(count)``, shared among the workers.

    ``w`` (``0 ≤ w < workers()``) names the worker that runs the band, so ``fn`` can use
    per-worker scratch buffers. Bands are taken in order by whichever worker is free; ``fn``
    must write only band ``i``'s own outputs. Returns when every band is done; the first
    exception raised by a band is re-raised. Inside a band (nested calls) bands run serially,
    and so do calls from two user threads at once (the pool serves one ``run`` at a time),
    and all bands of a call with ``share=False`` (work too small to pay for a hand-over).
    """
    n = min(workers(), count) if share else 1
    if n <= 1 or getattr(_local, "inside", False) or not _busy.acquire(blocking=False):
        for i in range(count):
            fn(i, 0)
        return
    ticket = itertools.count()   # next() on it is atomic under the GIL

    def drain(w: int) -> None:
        _local.inside = True
        try:
            while (i := next(ticket)) < count:
                fn(i, w)
        finally:
            _local.inside = False

    try:
        _pool(n).run(drain)
    finally:
        _busy.release()


def split(size: int, parts: int, minimum: int = 1) -> list[tuple[int, int]]:
    """``range(size)`` cut into at most ``parts`` contiguous (start, stop) pieces of at least
    ``minimum`` (the last may be shorter when ``size`` is), as even as possible."""
    parts = max(1, min(parts, size // max(1, minimum) or 1))
    step, extra = divmod(size, parts)
    bounds, a = [], 0
    for p in range(parts):
        b = a + step + (p < extra)
        bounds.append((a, b))
        a = b
    return bounds


# An array pass is shared out only from this many elements per piece. Waking a sleeping
# worker costs ~25-150 µs on the 2-core test machine (medians, longer the longer it slept:
# a virtual machine's idle core must be woken first; benchmarks/bench_handover.py), as long
# as one core needs for ~2^17 float32 elements of a ufunc or a strided copy: pieces of 2^18
# keep the hand-over a small part.
# (Measured on the benchmark CNN at 2 threads, steps paired in one process: 2^18 ran 0.98×
# the time of 2^19 — its first ReLU and max-pool, 800k elements, now share — and 2^17,
# which shares the second ones too, 0.99×.)
MIN_ELEMENTS = 1 << 18


def ranges(length: int, elements: int, min_elements: int | None = None) -> list[tuple[int, int]]:
    """``range(length)`` cut into pieces for ``run`` — two per worker, each with at least
    ``min_elements`` of the ``elements`` the whole work touches — or one piece when the
    work is small or there is one worker."""
    n = workers()
    min_elements = MIN_ELEMENTS if min_elements is None else min_elements
    if n == 1 or elements < 2 * min_elements or length < 2:
        return [(0, length)]
    return split(length, min(2 * n, elements // min_elements))


def slices(a: np.ndarray, min_elements: int | None = None) -> list[tuple[slice, ...]]:
    """Index tuples that cut ``a`` into independent pieces for ``run`` (see ``ranges``):
    along the axis with the largest stride (its outermost in memory, so each piece is one
    block of memory); ``[()]`` (all of it) when ``a`` is small or there is one worker."""
    if a.ndim == 0:
        return [()]
    axis = max(range(a.ndim), key=lambda k: (abs(a.strides[k]) * (a.shape[k] > 1), -k))
    pieces = ranges(a.shape[axis], a.size, min_elements)
    if len(pieces) == 1:
        return [()]
    return [(*(slice(None),) * axis, slice(lo, hi)) for lo, hi in pieces]


def map_slices(fn: Callable[[tuple[slice, ...]], object], a: np.ndarray,
               min_elements: int | None = None) -> None:
    """``fn(index)`` for each piece of ``slices(a)``, shared among the workers; ``fn`` must
    write only that piece (of ``a`` or of arrays laid out like it)."""
    pieces = slices(a, min_elements)
    if len(pieces) == 1:
        fn(pieces[0])
    else:
        run(lambda i, w: fn(pieces[i]), len(pieces))


# A matrix product is shared out only from this many multiply-adds per piece: ~0.25 ms of
# single-thread float32 GEMM here, a few times the ~25-150 µs it takes to wake a worker.
# (Measured: a 128×784·784×100 product, 10M multiply-adds, gained nothing from two threads.)
MIN_MACS = 1 << 23


# np.matmul keeps the GIL for the whole product when its output has at most this many
# elements (see gemm).
MATMUL_KEEPS_GIL = 500


def gemm(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out[...] = a @ b`` for 2-D operands, with the GIL released during the product.

    ``np.matmul`` keeps the GIL for the whole BLAS call when the output has at most 500
    elements (NumPy releases it only above that size), however long the summed dimension:
    a convolution's weight gradient (K+1)×O = 26×16 then runs on one core at a time
    whatever the number of threads (measured: two threads each running such products took
    0.94-0.97× the time of one thread running both; 1.74× faster with ``np.dot``).
    ``np.dot`` releases it always, so small outputs go through it where its stricter rules
    hold (``out`` C-contiguous and of exactly the result's dtype; operands C- or
    F-contiguous, which it would otherwise copy first). Larger ones stay with
    ``np.matmul``, which ran some shapes faster (64×768·768×256 with a transposed operand:
    340 µs against 458).
    """
    if (out.size <= MATMUL_KEEPS_GIL and out.flags.c_contiguous
            and out.dtype == np.result_type(a, b)
            and all(m.flags.c_contiguous or m.flags.f_contiguous for m in (a, b))):
        return np.dot(a, b, out=out)
    return np.matmul(a, b, out=out)


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``a @ b`` for 2-D ``a`` (M, K) and ``b`` (K, N), its output rows (or, when M is small,
    columns) shared among the workers, each a single-thread BLAS call on its block.

    The summed dimension K is never split, so no block's result depends on the split: the
    product equals ``np.matmul`` up to the BLAS kernel's own blocking.
    """
    m, k = a.shape
    n = b.shape[1]
    if out is None:
        out = np.empty((m, n), dtype=np.result_type(a, b))
    pieces = workers()
    if pieces == 1 or m * k * n < 2 * MIN_MACS:
        return gemm(a, b, out)
    along_rows = m >= n or m >= 64 * pieces
    bounds = split(m if along_rows else n, min(pieces, m * k * n // MIN_MACS),
                   minimum=8)
    if along_rows:
        run(lambda i, w: gemm(a[bounds[i][0]:bounds[i][1]], b,
                              out[bounds[i][0]:bounds[i][1]]), len(bounds))
    else:
        run(lambda i, w: gemm(a, b[:, bounds[i][0]:bounds[i][1]],
                              out[:, bounds[i][0]:bounds[i][1]]), len(bounds))
    return out


def _reset_after_fork() -> None:
    """A forked child has none of the parent's threads: start a fresh pool on demand."""
    global _lock, _busy
    _lock, _busy = threading.Lock(), threading.Lock()
    _state.update(pool=None)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)
