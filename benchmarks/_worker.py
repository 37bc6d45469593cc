"""Helpers shared by the subprocess-per-framework benchmarks (bench_cnn, bench_conv1d).

Each benchmark runs one framework per fresh Python process (so peak RSS belongs to it alone),
with the thread count set in the environment before NumPy or torch loads.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time


def rss_mb() -> float:
    """Resident memory now, MiB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb() -> float:
    """Peak resident memory of this process, MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def blas_name() -> str:
    """NumPy's BLAS library, version and the CPU kernel it uses, e.g. 'openblas 0.3.31 SkylakeX'."""
    from threadpoolctl import threadpool_info

    for lib in threadpool_info():
        if lib.get("user_api") == "blas":
            return " ".join(str(lib.get(k)) for k in ("internal_api", "version", "architecture")
                            if lib.get(k))
    return "unknown"


def per_layer(model, loss, x, y, batch: int, batches: int = 60) -> dict:
    """Median forward/backward milliseconds of each layer over ``batches`` training steps."""
    layers = list(model)
    fw = {i: [] for i in range(len(layers))}
    bw = {i: [] for i in range(len(layers))}
    layers[0].input_grad = False  # as in fit, which restored it when it returned
    for b in range(min(batches, len(x) // batch)):
        h = x[b * batch:(b + 1) * batch]
        model.zero_grad()
        for i, layer in enumerate(layers):
            t = time.perf_counter()
            h = layer.forward(h, training=True)
            fw[i].append(time.perf_counter() - t)
        loss.forward(h, y[b * batch:(b + 1) * batch])
        d = loss.backward()
        for i in reversed(range(len(layers))):
            t = time.perf_counter()
            d = layers[i].backward(d)
            bw[i].append(time.perf_counter() - t)
    return {f"{i} {layers[i]!r}": (1e3 * statistics.median(fw[i]), 1e3 * statistics.median(bw[i]))
            for i in fw}


def layer_lines(layers: dict, title: str) -> list[str]:
    """``per_layer``'s result as a table: one line per layer (forward, backward ms), a total."""
    lines = [f"\n{title}", f"  {'layer':<72} {'forward':>8} {'backward':>9}"]
    lines += [f"  {name[:72]:<72} {f:>8.2f} {b:>9.2f}" for name, (f, b) in layers.items()]
    lines.append(f"  {'total':<72} {sum(v[0] for v in layers.values()):>8.2f} "
                 f"{sum(v[1] for v in layers.values()):>9.2f}")
    return lines


def torch_epoch(torch, model, xt, yt, n: int, *, lr: float, batch: int) -> float:
    """One pass of plain SGD over the first ``n`` samples, in order; the mean training loss."""
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    total = 0.0
    for b in range(0, n, batch):
        opt.zero_grad()
        value = torch.nn.functional.cross_entropy(model(xt[b:b + batch]), yt[b:b + batch])
        value.backward()
        opt.step()
        total += float(value) * len(xt[b:b + batch])
    return total / n


def run_worker(script: str, kind: str, args, weights: str, layers: bool,
               extra: list[str]) -> dict:
    """Run ``script --worker kind`` with ``args.threads`` threads; its last stdout line (JSON)."""
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads),
               OPENBLAS_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    if args.openblas_coretype:
        env["OPENBLAS_CORETYPE"] = args.openblas_coretype
    cmd = [sys.executable, script, "--worker", kind, "--weights", weights, "--threads",
           str(args.threads), *extra]
    cmd += ["--layers"] if layers else []
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def thread_counts(text: str) -> list[int]:
    """``"1,2"`` → ``[1, 2]``: the thread counts a benchmark runs both frameworks at."""
    counts = [int(t) for t in str(text).split(",") if t.strip()]
    if not counts or min(counts) < 1:
        raise SystemExit(f"--threads needs positive thread counts, e.g. 1,2; got {text!r}")
    return counts


def scaling_lines(label: str, times: dict[int, dict[str, list[float]]]) -> list[str]:
    """Per thread count: both frameworks' median, their ratio, the median of the back-to-back
    ratios, and each framework's scaling (median time at the fewest threads / at this count).

    ``times[threads][framework]`` lists the repetitions' times (chainrule's and torch's
    repetition r ran back to back)."""
    lines, base = [], min(times)
    med = {n: {k: statistics.median(v) for k, v in fw.items()} for n, fw in times.items()}
    for n, fw in sorted(times.items()):
        paired = statistics.median(c / t for c, t in zip(fw["chainrule"], fw["torch"]))
        mc, mt = med[n]["chainrule"], med[n]["torch"]
        lines.append(f"{label} {n:>7} {mc:>12.4g} {mt:>10.4g} {mc / mt:>6.2f} {paired:>7.2f} "
                     f"{med[base]['chainrule'] / mc:>15.2f} {med[base]['torch'] / mt:>11.2f}")
    return lines


SCALING_HEADER = (f"{'threads':>7} {'chainrule':>12} {'torch':>10} {'ratio':>6} {'paired':>7} "
                  f"{'chainrule scaling':>15} {'torch scaling':>11}")
