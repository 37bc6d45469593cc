"""Train the same small CNN in chainrule and in PyTorch CPU, side by side: time per epoch and
memory.

Network (both sides, float32, same initial weights, same batch order, SGD lr 0.01, batch 64)::

    conv 5x5,16 same → ReLU → maxpool 2 → conv 5x5,32 same → ReLU → maxpool 2
    → flatten → linear 1568→10 → softmax cross-entropy

Method
------
* Every repetition runs in a fresh subprocess (``--worker chainrule|torch``), alternating
  chainrule, torch, torch, chainrule, ... so background load hits both alike; the table
  reports the median over repetitions and the ratio of medians, and the report adds the
  ratio of each repetition's back-to-back pair and their median (steadier on a shared
  machine, where one repetition can be slowed by 20%).
* Thread counts (``--threads``, default 1 and 2) are set for both: ``chainrule.num_threads``
  (chainrule's own pool of workers, NumPy's BLAS pinned to one thread inside them) and
  ``torch.set_num_threads``; OMP/OPENBLAS/MKL env variables too. Every repetition runs both
  frameworks at every count; the scaling table gives each framework's median time at the
  first count over its median at this count, beside the ratio.
* A training step is zero_grad, forward, loss, backward, SGD update. chainrule runs it
  through ``chainrule.train.fit`` with ``chainrule.optim.SGD``; PyTorch with its usual loop.
  Neither side computes the gradient of the input images: ``fit`` switches the first layer's
  ``input_grad`` off by itself while it trains (PyTorch skips it for inputs that do not require
  grad), so the benchmark builds the model plainly; the per-layer breakdown does the same.
  (The former ``--first-layer-dx`` option is gone: since ``fit`` turns dx off anyway, it no
  longer had any effect.)
* One warm-up pass over 10 batches precedes the timed epoch (caches, buffers, allocator).
* ``--samples N`` times only the first N images and extrapolates to 60,000 (printed as such).
* Peak memory: ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` of each worker process (the
  process's high-water resident set, including the interpreter, libraries and the 188 MB
  float32 data set); "training overhead" is that peak minus the resident set measured
  just before training started.
* Data: Fashion-MNIST train (``chainrule.data.load``) when it resolves, otherwise seeded
  random data of the same shape; the output says which.
* The report names NumPy's BLAS and the kernel it chose (threadpoolctl). ``--openblas-coretype
  NAME`` sets ``OPENBLAS_CORETYPE`` (OpenBLAS's documented override of its CPU detection) in
  both workers' environments; it changes only NumPy's OpenBLAS (PyTorch runs oneDNN/MKL). On
  this project's AMD EPYC (Zen 4, AVX-512), OpenBLAS 0.3.31 picks its Intel SkylakeX kernel,
  which runs the small-M products of this network markedly slower than its ``Zen`` kernel.

Run: ``.venv/bin/python benchmarks/bench_cnn.py [--reps 3] [--threads 1,2] [--samples N]
[--openblas-coretype Zen]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

import numpy as np
from _worker import (
    SCALING_HEADER,
    blas_name,
    layer_lines,
    peak_mb,
    per_layer,
    rss_mb,
    run_worker,
    scaling_lines,
    thread_counts,
    torch_epoch,
)

N_TRAIN, BATCH, LR = 60_000, 64, 0.01


def load_data(samples: int) -> tuple[np.ndarray, np.ndarray, str]:
    try:
        import chainrule.data as crdata

        ds = crdata.load("fashion-mnist", "train")
        x = np.asarray(ds.x, dtype=np.float32).reshape(-1, 1, 28, 28)
        y = np.asarray(ds.y, dtype=np.int64)
        source = f"Fashion-MNIST train ({ds.source})"
    except Exception as exc:  # noqa: BLE001  (any failure to resolve falls back, and says so)
        rng = np.random.default_rng(0)
        x = rng.standard_normal((N_TRAIN, 1, 28, 28)).astype(np.float32)
        y = rng.integers(0, 10, N_TRAIN)
        source = f"seeded random data (Fashion-MNIST unavailable: {type(exc).__name__})"
    return x[:samples], y[:samples], source


def build_chainrule():
    from chainrule.core import Sequential
    from chainrule.layers import Conv2d, Flatten, Linear, MaxPool2d, ReLU

    return Sequential(Conv2d(1, 16, 5, padding="same", rng=1), ReLU(),
                      MaxPool2d(2), Conv2d(16, 32, 5, padding="same", rng=2), ReLU(),
                      MaxPool2d(2), Flatten(), Linear(1568, 10, rng=3))






def worker_chainrule(args) -> dict:
    import chainrule as cr
    from chainrule.data import DataLoader
    from chainrule.losses import SoftmaxCrossEntropy
    from chainrule.optim import SGD
    from chainrule.train import fit

    x, y, source = load_data(args.samples)
    model = build_chainrule()
    model.load_state_dict(dict(np.load(args.weights)))
    loss = SoftmaxCrossEntropy()
    with cr.num_threads(args.threads):
        fit(model, loss, SGD(model.parameters(), lr=LR),
            DataLoader(x[:10 * BATCH], y[:10 * BATCH], BATCH, shuffle=False), epochs=1,
            metrics=None)
        model.load_state_dict(dict(np.load(args.weights)))
        opt = SGD(model.parameters(), lr=LR)
        base = rss_mb()
        t = time.perf_counter()
        hist = fit(model, loss, opt, DataLoader(x, y, BATCH, shuffle=False), epochs=1, metrics=None)
        seconds = time.perf_counter() - t
        layers = per_layer(model, loss, x, y, BATCH) if args.layers else {}
    return {"seconds": seconds, "peak_mb": peak_mb(), "base_mb": base, "source": source,
            "loss": float(hist["loss"][-1]), "blas": blas_name(),
            "layers": layers}






def worker_torch(args) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    x, y, source = load_data(args.samples)
    w = dict(np.load(args.weights))
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(1568, 10))

    def reset():
        with torch.no_grad():
            for name, p in model.named_parameters():
                v = w[name].T if name == "7.weight" else w[name]  # chainrule dense is (in, out)
                p.copy_(torch.from_numpy(np.ascontiguousarray(v)))

    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def epoch(n):
        return torch_epoch(torch, model, xt, yt, n, lr=LR, batch=BATCH)

    reset()
    epoch(10 * BATCH)
    reset()
    base = rss_mb()
    t = time.perf_counter()
    mean_loss = epoch(len(xt))
    seconds = time.perf_counter() - t
    return {"seconds": seconds, "peak_mb": peak_mb(), "base_mb": base, "source": source,
            "loss": mean_loss, "layers": {}}




def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--reps", type=int, default=3, help="timed epochs per framework and thread "
                   "count (interleaved)")
    p.add_argument("--threads", default="1,2",
                   help="thread counts, comma-separated; both frameworks run at each")
    p.add_argument("--samples", type=int, default=N_TRAIN, help="images per timed epoch")
    p.add_argument("--openblas-coretype", metavar="NAME",
                   help="set OPENBLAS_CORETYPE for both workers (e.g. Zen, Haswell); default: "
                        "leave the environment as it is")
    p.add_argument("--worker", choices=["chainrule", "torch"], help=argparse.SUPPRESS)
    p.add_argument("--weights", help=argparse.SUPPRESS)
    p.add_argument("--layers", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    args.samples = max(BATCH, min(args.samples, N_TRAIN))
    counts = thread_counts(args.threads)
    if args.worker:
        args.threads = counts[0]
        result = (worker_chainrule if args.worker == "chainrule" else worker_torch)(args)
        print(json.dumps(result))
        return

    with tempfile.TemporaryDirectory() as tmp:
        weights = os.path.join(tmp, "init.npz")
        np.savez(weights, **build_chainrule().state_dict())
        runs = {n: {"chainrule": [], "torch": []} for n in counts}
        for r in range(args.reps):
            for n in counts if r % 2 == 0 else counts[::-1]:
                for kind in ("chainrule", "torch") if r % 2 == 0 else ("torch", "chainrule"):
                    last = kind == "chainrule" and r == args.reps - 1   # per-layer breakdown
                    runs[n][kind].append(run_worker(
                        __file__, kind, argparse.Namespace(**{**vars(args), "threads": n}),
                        weights, layers=last, extra=["--samples", str(args.samples)]))
    report(args, counts, runs)


def report(args, counts: list[int], runs: dict[int, dict[str, list[dict]]]) -> None:
    scale = N_TRAIN / args.samples
    first = runs[counts[0]]
    print(f"data: {first['chainrule'][0]['source']}")
    print(f"threads: {counts}   batch {BATCH}   float32   SGD lr {LR}   reps {args.reps} "
          f"(interleaved, fresh process each)")
    coretype = os.environ.get("OPENBLAS_CORETYPE") if args.openblas_coretype is None \
        else args.openblas_coretype
    print(f"NumPy BLAS: {first['chainrule'][0]['blas']}   (OPENBLAS_CORETYPE: "
          f"{coretype or 'not set, autodetected'})")
    if args.samples < N_TRAIN:
        print(f"timed {args.samples} images per epoch; seconds/epoch EXTRAPOLATED ×{scale:.2f} "
              f"to {N_TRAIN}")
    print("first conv computes dx: no (fit switches it off; PyTorch skips it too)\n")
    print(f"{'framework':<10} {'threads':>7} {'s/epoch (median)':>17} {'all reps':>24} "
          f"{'peak RSS MB':>12} {'training overhead MB':>21} {'mean loss':>10}")
    for n in counts:
        for kind, rs in runs[n].items():
            secs = [r["seconds"] * scale for r in rs]
            peak = max(r["peak_mb"] for r in rs)
            over = max(r["peak_mb"] - r["base_mb"] for r in rs)
            print(f"{kind:<10} {n:>7} {statistics.median(secs):>17.2f} "
                  f"{' '.join(f'{s:.2f}' for s in secs):>24} {peak:>12.0f} {over:>21.0f} "
                  f"{rs[-1]['loss']:>10.4f}")
    # Repetition r of each framework ran back to back, so their ratio ("paired") shares the
    # machine's load at that moment: the steadier figure on a shared machine.
    print(f"\nseconds per epoch; scaling = median time at {counts[0]} thread(s) / at this count")
    print(SCALING_HEADER)
    times = {n: {k: [r["seconds"] * scale for r in rs] for k, rs in fw.items()}
             for n, fw in runs.items()}
    for line in scaling_lines("", times):
        print(line[1:])
    for n in counts:
        layers = runs[n]["chainrule"][-1]["layers"]
        if layers:
            print("\n".join(layer_lines(layers, f"chainrule per layer at {n} thread(s) (median "
                                         f"ms per batch of {BATCH}, last repetition):")))


if __name__ == "__main__":
    main()
