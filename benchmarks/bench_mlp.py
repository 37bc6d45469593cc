"""Train the 784-100(sigmoid)-50(ReLU)-10 MLP in chainrule and in PyTorch CPU, side by side.

    python benchmarks/bench_mlp.py [--threads 1,2] [--repeats 3] [--batch-sizes 32,128,512]

Method
------
* Data: 60,000 float32 images of 784 features — Fashion-MNIST's training split when it
  resolves (``chainrule.data``), else seeded random data of that shape (the output says which).
* Both frameworks start from the same weights and see the same batches (one shared
  permutation per epoch); SGD, lr 0.1, softmax cross-entropy, float32.
* chainrule trains through its one loop, ``chainrule.train.fit`` (no callbacks, no validation);
  PyTorch runs the canonical loop (zero_grad, forward, cross_entropy, backward, step) and reads
  ``loss.item()`` every step, as ``fit`` does to log the running loss.
* Every repetition runs both frameworks at each thread count of ``--threads`` (default 1 and
  2; ``chainrule.num_threads`` and ``torch.set_num_threads``), back to back, the order of
  the counts alternating between repetitions. The table gives per count the median seconds
  per epoch, the ratio of medians, the median of the back-to-back ratios, and each
  framework's scaling (its median time at the first count / at this count). The machine is
  shared and noisy: read the ratios, not the absolute times.
* Peak memory: each framework trains one epoch in its own fresh subprocess, where a thread
  samples the resident set (/proc/self/statm) every millisecond; the table gives the peak
  during training minus the resident set just before it (after imports and data loading),
  i.e. what training itself added.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import threading
import time

import numpy as np
from _worker import SCALING_HEADER, scaling_lines, thread_counts

N_SAMPLES, N_FEATURES, N_CLASSES = 60_000, 784, 10
LR = 0.1


def load_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray, str]:
    """60,000 × 784 float32 inputs and int64 labels, plus a description of their source."""
    from chainrule import data

    if data.available("fashion-mnist", "train"):
        ds = data.load("fashion-mnist", "train")
        return (ds.x.reshape(len(ds), -1)[:N_SAMPLES], ds.y[:N_SAMPLES],
                f"Fashion-MNIST ({ds.source})")
    rng = np.random.default_rng(seed)
    x = rng.random((N_SAMPLES, N_FEATURES), dtype=np.float32)
    return x, rng.integers(0, N_CLASSES, N_SAMPLES), "seeded random data (Fashion-MNIST not found)"


def make_chainrule(seed: int):
    import chainrule as cr

    return cr.models.MLP(N_FEATURES, hidden=(100, 50), activations=("sigmoid", "relu"),
                         num_classes=N_CLASSES, rng=seed)


def make_torch(cr_model):
    import torch

    model = torch.nn.Sequential(torch.nn.Linear(N_FEATURES, 100), torch.nn.Sigmoid(),
                                torch.nn.Linear(100, 50), torch.nn.ReLU(),
                                torch.nn.Linear(50, N_CLASSES))
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    cr_linears = [m for m in cr_model if hasattr(m, "weight")]
    with torch.no_grad():
        for t, c in zip(linears, cr_linears):
            t.weight.copy_(torch.from_numpy(c.weight.data.T.copy()))
            t.bias.copy_(torch.from_numpy(c.bias.data.copy()))
    return model


class FixedOrderLoader:
    """Batches in a given order; follows chainrule's loader contract closely enough for ``fit``."""

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, order: np.ndarray) -> None:
        self.x, self.y, self.batch_size, self.order = x, y, batch_size, order
        self.rng = np.random.default_rng(0)

    def __len__(self) -> int:
        return (len(self.order) + self.batch_size - 1) // self.batch_size

    def __iter__(self):
        return self.batches(0)

    def batches(self, start: int = 0):
        for b in range(start, len(self)):
            idx = self.order[b * self.batch_size:(b + 1) * self.batch_size]
            yield self.x[idx], self.y[idx]

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


def epoch_chainrule(model, x, y, batch_size, order) -> float:
    import chainrule as cr

    loader = FixedOrderLoader(x, y, batch_size, order)
    opt = cr.optim.SGD(model.parameters(), lr=LR)
    t0 = time.perf_counter()
    cr.train.fit(model, cr.SoftmaxCrossEntropy(), opt, loader, epochs=1, metrics=None)
    return time.perf_counter() - t0


def epoch_torch(model, x, y, batch_size, order) -> float:
    import torch

    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    ot = torch.from_numpy(order)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    loss_fn = torch.nn.functional.cross_entropy
    t0 = time.perf_counter()
    for b in range(0, len(order), batch_size):
        idx = ot[b:b + batch_size]
        xb, yb = xt[idx], yt[idx]
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        loss.item()
    return time.perf_counter() - t0


def peak_memory(framework: str, batch_size: int, threads: int) -> float:
    """MiB added to the resident set by one epoch of training, measured in a fresh subprocess."""
    cmd = [sys.executable, __file__, "--child", framework, "--batch-sizes", str(batch_size),
           "--threads", str(threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["peak_mib"]


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def child(framework: str, batch_size: int) -> None:
    x, y, _ = load_data()
    order = np.random.default_rng(1).permutation(len(x))
    cr_model = make_chainrule(0)
    model = cr_model if framework == "chainrule" else make_torch(cr_model)
    base = _rss_bytes()
    peak = [base]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss_bytes())
            time.sleep(0.001)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    (epoch_chainrule if framework == "chainrule" else epoch_torch)(model, x, y, batch_size, order)
    done.set()
    sampler.join()
    print(json.dumps({"peak_mib": (max(peak[0], _rss_bytes()) - base) / 2**20}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--threads", default="1,2",
                    help="thread counts, comma-separated; both frameworks run at each")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch-sizes", default="32,128,512")
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    import torch

    import chainrule as cr

    counts = thread_counts(args.threads)
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    if args.child:
        torch.set_num_threads(counts[0])
        with cr.num_threads(counts[0]):
            child(args.child, batch_sizes[0])
        return
    x, y, source = load_data()
    print(f"data: {source}; {len(x)} samples; threads: {counts}; repeats: {args.repeats} "
          f"(interleaved, after one warm-up); torch {torch.__version__}, numpy {np.__version__}")
    print(f"seconds per epoch; scaling = median time at {counts[0]} thread(s) / at this count")
    print(f"{'batch':>6} {SCALING_HEADER} {'chainrule MiB':>14} {'torch MiB':>10}")
    for bs in batch_sizes:
        cr_model = make_chainrule(0)
        t_model = make_torch(cr_model)
        times = {n: {"chainrule": [], "torch": []} for n in counts}
        for r in range(args.repeats + 1):  # the first, warm-up round is discarded
            order = np.random.default_rng(100 + r).permutation(len(x))
            for n in counts if r % 2 == 0 else counts[::-1]:
                torch.set_num_threads(n)
                with cr.num_threads(n):
                    tc = epoch_chainrule(cr_model, x, y, bs, order)
                    tt = epoch_torch(t_model, x, y, bs, order)
                if r:
                    times[n]["chainrule"].append(tc)
                    times[n]["torch"].append(tt)
        mem = ("", "") if args.no_memory else (
            f"{peak_memory('chainrule', bs, counts[0]):.1f}",
            f"{peak_memory('torch', bs, counts[0]):.1f}")
        for i, line in enumerate(scaling_lines(f"{bs:>6}", times)):
            print(line + (f" {mem[0]:>14} {mem[1]:>10}" if i == 0 else ""), flush=True)


if __name__ == "__main__":
    main()
