"""What handing work to another core costs on this machine: the figures behind
``chainrule.parallel``'s size thresholds and the README's Speed section.

    python benchmarks/bench_handover.py [--repeats 200]

Three measurements, each printed under a line that says what it measured:

1. **Spinning on shared memory between two processes.** Two processes take turns
   writing a counter in a ``multiprocessing.shared_memory`` block, each spinning until
   the other's turn is done: the round trip of a hand-over that never sleeps (what threads
   cannot do without holding the GIL). Measured first: it forks, before any thread exists.
2. **Which products keep the GIL.** Another thread runs one long product (~10-30 ms) of
   output shape (M, N) while the main thread counts Python loop iterations: 0 means the
   product held the GIL throughout. ``np.matmul`` and ``np.dot`` side by side.
3. **Waking a pool worker.** The main thread computes (256×256 products) for 0.1, 1, 2 and
   5 ms, then calls ``parallel.run`` with two bands; the worker's band records when it
   started. Median and 90th percentile of that delay over ``--repeats`` hand-overs. The
   longer the worker slept, the longer it takes to wake on a virtual machine.
"""

from __future__ import annotations

import argparse
import os
import threading
import time

import numpy as np


def worker_latency(repeats: int) -> None:
    import chainrule as cr
    from chainrule import parallel

    cr.set_num_threads(2)
    a = np.random.default_rng(0).standard_normal((256, 256)).astype(np.float32)
    print("3. parallel.run with 2 workers: delay until the worker starts its band")
    for busy_ms in (0.1, 1.0, 2.0, 5.0):
        delays = []
        for _ in range(repeats):
            t = time.perf_counter()
            while time.perf_counter() - t < busy_ms / 1e3:
                a @ a
            starts: dict[int, float] = {}

            def band(i: int, w: int, starts=starts) -> None:
                starts[w] = time.perf_counter()
                if w == 0:
                    time.sleep(0.0005)   # the main thread's band lasts long enough to be joined

            t0 = time.perf_counter()
            parallel.run(band, 2)
            if 1 in starts:   # a band the worker ran (the main thread may have run both)
                delays.append(starts[1] - t0)
        d = np.array(delays) * 1e6
        print(f"   after {busy_ms:>3} ms of work: median {np.median(d):.0f} µs, "
              f"p90 {np.percentile(d, 90):.0f} µs ({len(d)} hand-overs)")


def gil_probe() -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")
    rng = np.random.default_rng(0)
    print("2. Python loop iterations in the main thread while another thread runs one product "
          "(0: the product held the GIL)")
    for m, n in ((16, 26), (20, 25), (22, 23), (64, 64)):
        k = int(3e7 / (m * n))
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        out = np.empty((m, n), dtype=np.float32)
        counts = []
        for op in (np.matmul, np.dot):
            done = threading.Event()

            def product(op=op, a=a, b=b, out=out, done=done) -> None:
                op(a, b, out=out)
                done.set()

            worker = threading.Thread(target=product)
            count = 0
            worker.start()
            while not done.is_set():
                count += 1
            worker.join()
            counts.append(count)
        print(f"   output {m}×{n} ({m * n} elements), summed axis {k}: "
              f"np.matmul {counts[0]}, np.dot {counts[1]}")


def spin_round_trip(rounds: int = 20_000) -> None:
    from multiprocessing import shared_memory

    if not hasattr(os, "fork"):
        print("1. two processes spinning on shared memory: not measured (no os.fork here)")
        return

    shm = shared_memory.SharedMemory(create=True, size=256)
    try:
        flags = np.ndarray((2, 8), dtype=np.int64, buffer=shm.buf)
        flags[:] = 0
        pid = os.fork()
        if pid == 0:   # the partner: answer each turn
            mine = np.ndarray((2, 8), dtype=np.int64, buffer=shm.buf)
            for i in range(1, rounds + 1):
                while mine[0, 0] < i:
                    pass
                mine[1, 0] = i
            os._exit(0)
        t = time.perf_counter()
        for i in range(1, rounds + 1):
            flags[0, 0] = i
            while flags[1, 0] < i:
                pass
        seconds = time.perf_counter() - t
        os.waitpid(pid, 0)
        print(f"1. two processes spinning on shared memory: {seconds / rounds * 1e6:.2f} µs "
              f"per round trip ({rounds} round trips)")
        del flags
    finally:
        shm.close()
        shm.unlink()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=200, help="hand-overs per idle time")
    args = p.parse_args()
    spin_round_trip()     # first: it forks, before any thread exists
    gil_probe()
    worker_latency(args.repeats)


if __name__ == "__main__":
    main()
