"""Train the same small 1-D CNN on sensor windows in chainrule and in PyTorch CPU, side by side:
time per epoch and memory.

Network (both sides, float32, same initial weights, same batch order, SGD lr 0.01, batch 64),
on windows of T = 100 steps × C = 6 channels (the UCI HAPT accelerometer + gyroscope shape)::

    Conv1d(6→32, k5) → ReLU → Conv1d(32→32, k5) → ReLU → MaxPool1d(2) → flatten
    → linear 1472→12 → softmax cross-entropy

Method (as ``bench_cnn.py``)
------
* Every repetition runs in a fresh subprocess (``--worker chainrule|torch``), alternating
  chainrule, torch, torch, chainrule, ... so background load hits both alike; the table
  reports medians, the ratio of medians, and the median of each repetition's back-to-back
  ratio (steadier on a shared machine).
* Thread count (default 1) for both: threadpoolctl for NumPy's BLAS and
  ``torch.set_num_threads``; OMP/OPENBLAS/MKL env variables too.
* Layouts: chainrule takes channels-last ``(N, T, C)``; PyTorch gets the same windows already
  transposed to its ``(N, C, L)`` outside the timed loop (no transpose is charged to it).
  The conv weights copy across unchanged (both ``(out, in, k)``); the linear layer's weight is
  permuted because the two flatten orders differ ((t, c) against (c, t)).
* A training step is zero_grad, forward, loss, backward, SGD update. chainrule runs it through
  ``chainrule.train.fit`` (which switches the first conv's input gradient off, as PyTorch skips
  it for data); PyTorch with its usual loop.
* One warm-up pass over 10 batches precedes the timed epoch.
* Peak memory: ``ru_maxrss`` of each worker (interpreter, libraries and data included);
  "training overhead" is that peak minus the resident set just before training.
* Data: seeded random windows (7,680 = 120 batches, about the size of HAPT's training set);
  chainrule has no HAPT reader yet, and the timing does not depend on the values.

Run: ``.venv/bin/python benchmarks/bench_conv1d.py [--reps 5] [--threads 1] [--windows N]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

import numpy as np
from _worker import blas_name, layer_lines, peak_mb, per_layer, rss_mb, run_worker, torch_epoch

N_WINDOWS, T, C, CLASSES, BATCH, LR = 7_680, 100, 6, 12, 64, 0.01
FLAT = 46 * 32  # (T − 4 − 4)/2 steps × 32 channels


def load_data(n: int) -> tuple[np.ndarray, np.ndarray, str]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, T, C)).astype(np.float32)
    y = rng.integers(0, CLASSES, n)
    return x, y, f"seeded random windows ({n} × {T} × {C}, {CLASSES} classes)"


def build_chainrule():
    from chainrule.core import Sequential
    from chainrule.layers import Conv1d, Flatten, Linear, MaxPool1d, ReLU

    return Sequential(Conv1d(C, 32, 5, rng=1), ReLU(), Conv1d(32, 32, 5, rng=2), ReLU(),
                      MaxPool1d(2), Flatten(), Linear(FLAT, CLASSES, rng=3))








def worker_chainrule(args) -> dict:
    import chainrule as cr
    from chainrule.data import DataLoader
    from chainrule.losses import SoftmaxCrossEntropy
    from chainrule.optim import SGD
    from chainrule.train import fit

    x, y, source = load_data(args.windows)
    model = build_chainrule()
    model.load_state_dict(dict(np.load(args.weights)))
    loss = SoftmaxCrossEntropy()
    with cr.num_threads(args.threads):
        fit(model, loss, SGD(model.parameters(), lr=LR),
            DataLoader(x[:10 * BATCH], y[:10 * BATCH], BATCH, shuffle=False), epochs=1,
            metrics=None)
        model.load_state_dict(dict(np.load(args.weights)))
        base = rss_mb()
        t = time.perf_counter()
        hist = fit(model, loss, SGD(model.parameters(), lr=LR),
                   DataLoader(x, y, BATCH, shuffle=False), epochs=1, metrics=None)
        seconds = time.perf_counter() - t
        layers = per_layer(model, loss, x, y, BATCH) if args.layers else {}
    return {"seconds": seconds, "peak_mb": peak_mb(), "base_mb": base, "source": source,
            "loss": float(hist["loss"][-1]), "blas": blas_name(), "layers": layers}




def worker_torch(args) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    x, y, source = load_data(args.windows)
    w = dict(np.load(args.weights))
    nn = torch.nn
    model = nn.Sequential(nn.Conv1d(C, 32, 5), nn.ReLU(), nn.Conv1d(32, 32, 5), nn.ReLU(),
                          nn.MaxPool1d(2), nn.Flatten(), nn.Linear(FLAT, CLASSES))

    def reset():
        with torch.no_grad():
            for name, p in model.named_parameters():
                v = w[name]
                if name == "6.weight":  # chainrule (t·32 + c, class) → torch (class, c·46 + t)
                    v = v.reshape(46, 32, CLASSES).transpose(2, 1, 0).reshape(CLASSES, FLAT)
                p.copy_(torch.from_numpy(np.ascontiguousarray(v)))

    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 2, 1)))  # (N, C, L), untimed
    yt = torch.from_numpy(y)

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
    p.add_argument("--reps", type=int, default=5, help="timed epochs per framework (interleaved)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--windows", type=int, default=N_WINDOWS, help="windows per timed epoch")
    p.add_argument("--openblas-coretype", metavar="NAME",
                   help="set OPENBLAS_CORETYPE for both workers (e.g. Haswell)")
    p.add_argument("--worker", choices=["chainrule", "torch"], help=argparse.SUPPRESS)
    p.add_argument("--weights", help=argparse.SUPPRESS)
    p.add_argument("--layers", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    args.windows = max(BATCH, args.windows)
    if args.worker:
        result = (worker_chainrule if args.worker == "chainrule" else worker_torch)(args)
        print(json.dumps(result))
        return

    with tempfile.TemporaryDirectory() as tmp:
        weights = os.path.join(tmp, "init.npz")
        np.savez(weights, **build_chainrule().state_dict())
        runs: dict[str, list[dict]] = {"chainrule": [], "torch": []}
        for r in range(args.reps):
            for kind in ("chainrule", "torch") if r % 2 == 0 else ("torch", "chainrule"):
                last = kind == "chainrule" and r == args.reps - 1   # per-layer breakdown
                runs[kind].append(run_worker(__file__, kind, args, weights, layers=last,
                                             extra=["--windows", str(args.windows)]))
    report(args, runs)


def report(args, runs: dict[str, list[dict]]) -> None:
    print(f"data: {runs['chainrule'][0]['source']}")
    print(f"threads: {args.threads}   batch {BATCH}   float32   SGD lr {LR}   reps {args.reps} "
          f"(interleaved, fresh process each)")
    coretype = os.environ.get("OPENBLAS_CORETYPE") if args.openblas_coretype is None \
        else args.openblas_coretype
    print(f"NumPy BLAS: {runs['chainrule'][0]['blas']}   (OPENBLAS_CORETYPE: "
          f"{coretype or 'not set, autodetected'})")
    steps = -(-args.windows // BATCH)
    print("first conv computes dx: no (fit switches it off; PyTorch skips it too)\n")
    med = {}
    print(f"{'framework':<10} {'s/epoch (median)':>17} {'ms/step':>8} {'all reps':>34} "
          f"{'peak RSS MB':>12} {'training overhead MB':>21} {'mean loss':>10}")
    for kind, rs in runs.items():
        secs = [r["seconds"] for r in rs]
        med[kind] = statistics.median(secs)
        peak = max(r["peak_mb"] for r in rs)
        over = max(r["peak_mb"] - r["base_mb"] for r in rs)
        print(f"{kind:<10} {med[kind]:>17.3f} {1e3 * med[kind] / steps:>8.2f} "
              f"{' '.join(f'{s:.3f}' for s in secs):>34} {peak:>12.0f} {over:>21.0f} "
              f"{rs[-1]['loss']:>10.4f}")
    print(f"\nratio chainrule / PyTorch (median s/epoch): {med['chainrule'] / med['torch']:.2f}")
    paired = [c["seconds"] / t["seconds"] for c, t in zip(runs["chainrule"], runs["torch"])]
    print(f"paired ratios, repetition by repetition: {' '.join(f'{r:.2f}' for r in paired)}   "
          f"median {statistics.median(paired):.2f}")
    layers = runs["chainrule"][-1]["layers"]
    if layers:
        print("\n".join(layer_lines(layers, f"chainrule per layer (median ms per batch of "
                                     f"{BATCH}, last repetition):")))


if __name__ == "__main__":
    main()
