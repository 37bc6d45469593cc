"""Train the same LSTM and GRU in chainrule and in PyTorch CPU, side by side: time per training
step and memory.

    python benchmarks/bench_rnn.py [--threads 1,2] [--repeats 5] [--steps 10] [--cells lstm,gru]

Network (both sides, float32, same initial weights, same batches)::

    x (N, T, F) → LSTM or GRU(F, H), final hidden state (N, H) → linear H→1 → MSE

Shapes (one row each per cell): (N=64, T=100, F=6, H=64) and (N=32, T=40, F=50, H=128).

Method
------
* A training step is zero_grad, forward, loss, backward, SGD update (lr 0.01). chainrule runs
  it through its one loop, ``chainrule.train.fit`` (no callbacks, no validation, metrics
  off), which switches the recurrent layer's ``input_grad`` off while it trains; PyTorch
  runs the canonical loop and reads ``loss.item()`` every step, as ``fit`` does. Neither
  side computes the gradient of the input sequences.
* Both start from the same weights (PyTorch's ``bias_hh`` zero, ``bias_ih`` = chainrule's
  bias; for the GRU ``bias_hh``'s candidate block is chainrule's ``bias_hn``) and see the
  same ``--steps`` batches of seeded random data per repetition.
* Every repetition runs both frameworks at each thread count of ``--threads`` (default 1 and
  2; ``chainrule.num_threads`` and ``torch.set_num_threads``), back to back, alternating
  which goes first; one warm-up repetition is discarded. The table gives per count the
  median milliseconds per step, the ratio of medians, the median of the back-to-back ratios
  (steadier on a shared, noisy machine) and each framework's scaling (median time at the
  first count / at this count).
* Peak memory: each framework trains ``--steps`` steps in its own fresh subprocess, where
  a thread samples the resident set (/proc/self/statm) every millisecond; the table gives
  the peak during training minus the resident set just before it.
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

SHAPES = ((64, 100, 6, 64), (32, 40, 50, 128))  # (N, T, F, H)
LR = 0.01


def make_batches(n: int, t: int, f: int, steps: int, seed: int) -> list[tuple[np.ndarray, ...]]:
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((n, t, f), dtype=np.float32),
             rng.standard_normal((n, 1), dtype=np.float32)) for _ in range(steps)]


def make_chainrule(cell: str, f: int, h: int):
    import chainrule as cr

    layer = {"lstm": cr.LSTM, "gru": cr.GRU}[cell](f, h, return_sequences=False, rng=0)
    return cr.Sequential(layer, cr.Linear(h, 1, rng=1))


def make_torch(cell: str, cr_model):
    import torch

    rec, lin = cr_model[0], cr_model[1]
    f, h = rec.input_size, rec.hidden_size

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rec = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](f, h, batch_first=True)
            self.lin = torch.nn.Linear(h, 1)

        def forward(self, x):
            out, _ = self.rec(x)
            return self.lin(out[:, -1])

    net = Net()
    with torch.no_grad():
        wx, wh, b, *extra = rec.cell_parameters(0)
        net.rec.weight_ih_l0.copy_(torch.from_numpy(wx.data.T.copy()))
        net.rec.weight_hh_l0.copy_(torch.from_numpy(wh.data.T.copy()))
        net.rec.bias_ih_l0.copy_(torch.from_numpy(b.data.copy()))
        net.rec.bias_hh_l0.zero_()
        if extra:  # GRU: the candidate's recurrent bias
            net.rec.bias_hh_l0[2 * h:] = torch.from_numpy(extra[0].data.copy())
        net.lin.weight.copy_(torch.from_numpy(lin.weight.data.T.copy()))
        net.lin.bias.copy_(torch.from_numpy(lin.bias.data.copy()))
    return net


class ListLoader:
    """Fixed batches in a fixed order; enough of chainrule's loader contract for ``fit``."""

    def __init__(self, batches: list) -> None:
        self.list = batches

    def __len__(self) -> int:
        return len(self.list)

    def __iter__(self):
        return self.batches(0)

    def batches(self, start: int = 0):
        yield from self.list[start:]

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


def steps_chainrule(model, batches) -> float:
    import chainrule as cr

    opt = cr.optim.SGD(model.parameters(), lr=LR)
    t0 = time.perf_counter()
    cr.train.fit(model, cr.MSELoss(), opt, ListLoader(batches), epochs=1, metrics=None)
    return (time.perf_counter() - t0) / len(batches)


def steps_torch(model, batches) -> float:
    import torch

    opt = torch.optim.SGD(model.parameters(), lr=LR)
    data = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches]
    t0 = time.perf_counter()
    for xb, yb in data:
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(xb), yb)
        loss.backward()
        opt.step()
        loss.item()
    return (time.perf_counter() - t0) / len(batches)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def child(framework: str, cell: str, shape: tuple[int, ...], steps: int) -> None:
    n, t, f, h = shape
    batches = make_batches(n, t, f, steps, 7)
    cr_model = make_chainrule(cell, f, h)
    model = cr_model if framework == "chainrule" else make_torch(cell, cr_model)
    run = steps_chainrule if framework == "chainrule" else steps_torch
    base = _rss_bytes()
    peak, done = [base], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss_bytes())
            time.sleep(0.001)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    run(model, batches)
    done.set()
    sampler.join()
    print(json.dumps({"peak_mib": (max(peak[0], _rss_bytes()) - base) / 2**20}))


def peak_memory(framework: str, cell: str, shape: tuple[int, ...], args, threads: int) -> float:
    """MiB added to the resident set by ``--steps`` training steps, in a fresh subprocess."""
    cmd = [sys.executable, __file__, "--child", framework, "--cells", cell, "--shape",
           ",".join(map(str, shape)), "--steps", str(args.steps), "--threads", str(threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["peak_mib"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", default="1,2",
                    help="thread counts, comma-separated; both frameworks run at each")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--steps", type=int, default=10, help="training steps per repetition")
    ap.add_argument("--cells", default="lstm,gru")
    ap.add_argument("--shape", default=None, help="N,T,F,H (default: both standard shapes)")
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    import torch
    from threadpoolctl import threadpool_info

    import chainrule as cr

    counts = thread_counts(args.threads)
    shapes = SHAPES if args.shape is None else (tuple(int(s) for s in args.shape.split(",")),)
    cells = args.cells.split(",")
    if args.child:
        torch.set_num_threads(counts[0])
        with cr.num_threads(counts[0]):
            child(args.child, cells[0], shapes[0], args.steps)
        return
    cr.get_num_threads()  # pins NumPy's BLAS to one thread before it is described
    blas = next((f"{i['internal_api']} {i.get('version')} ({i.get('architecture')}, "
                 f"{i.get('num_threads')} thread)"
                 for i in threadpool_info() if i["user_api"] == "blas"), "unknown")
    print(f"threads: {counts}; {args.steps} steps per repetition, {args.repeats} repetitions "
          f"(interleaved, after one warm-up); float32, SGD lr {LR}; torch {torch.__version__}, "
          f"numpy {np.__version__}, NumPy BLAS {blas}")
    print(f"ms per training step; scaling = median time at {counts[0]} thread(s) / at this count")
    print(f"{'cell':<5} {'N':>3} {'T':>4} {'F':>3} {'H':>4} {SCALING_HEADER} "
          f"{'chainrule MiB':>14} {'torch MiB':>10}")
    for cell in cells:
        for shape in shapes:
            n, t, f, h = shape
            cr_model = make_chainrule(cell, f, h)
            t_model = make_torch(cell, cr_model)
            times = {k: {"chainrule": [], "torch": []} for k in counts}
            for r in range(args.repeats + 1):  # the first round is a warm-up
                batches = make_batches(n, t, f, args.steps, 100 + r)
                for k in counts if r % 2 == 0 else counts[::-1]:
                    torch.set_num_threads(k)
                    with cr.num_threads(k):
                        if r % 2 == 0:
                            tc = steps_chainrule(cr_model, batches)
                            tt = steps_torch(t_model, batches)
                        else:
                            tt = steps_torch(t_model, batches)
                            tc = steps_chainrule(cr_model, batches)
                    if r:
                        times[k]["chainrule"].append(tc * 1e3)
                        times[k]["torch"].append(tt * 1e3)
            mem = ("", "") if args.no_memory else (
                f"{peak_memory('chainrule', cell, shape, args, counts[0]):.1f}",
                f"{peak_memory('torch', cell, shape, args, counts[0]):.1f}")
            label = f"{cell:<5} {n:>3} {t:>4} {f:>3} {h:>4}"
            for i, line in enumerate(scaling_lines(label, times)):
                print(line + (f" {mem[0]:>14} {mem[1]:>10}" if i == 0 else ""), flush=True)


if __name__ == "__main__":
    main()
