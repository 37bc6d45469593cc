"""efficiency's measuring tools: training with the one ``fit``, counted costs, timings, files.

Counting conventions (stated in the report, checked by hand in the test on LeNet-300-100):

* parameters — weights and biases (``summary().trainable_params``; batch-norm running
  statistics would be counted as non-trainable, none of these models has any);
* MACs — multiply-accumulates for one sample's forward pass, from ``chainrule.summary``:
  Linear ``in·out``, Conv2d ``O·C·kh·kw·Ho·Wo``; bias additions, activations, pooling,
  softmax and the loss are **not** counted. 1 MAC = 2 FLOPs;
* activation memory, inference — the largest ``input + output`` of any one layer (a chain
  needs only the tensor going in and the one coming out alive), float32, per sample;
* activation memory, training — the input plus every layer's output (``summary``'s
  ``activation_bytes + input_bytes``): what backward needs kept, roughly (layers cache their
  input or output; im2col workspaces and dropout masks are not counted);
* weight memory — parameter bytes (float32); file size — the ``.npz`` that
  ``chainrule.save`` (dense), ``prune.save_pruned`` or ``prune.save_sparse`` (CSR) writes.

Timings are wall-clock medians on whatever machine runs the lab; they go to
``timings.json`` and the report, never to ``metrics.json``.
"""

from __future__ import annotations

import itertools
import math
import os
import time
from typing import Any

import numpy as np


def train(model: Any, x: np.ndarray, y: np.ndarray, *, epochs: int, lr: float, cfg: Any,
          seed: int, val: tuple | None = None, masks: dict | None = None) -> Any:
    """SGD with momentum and weight decay, cosine decay over ``epochs``, through ``fit``."""
    import chainrule as cr
    from chainrule.data import DataLoader
    from chainrule.prune import MaskedOptimizer
    from chainrule.train import LearningRateScheduler, fit

    opt = cr.optim.SGD(model.parameters(), lr=lr, momentum=cfg.momentum,
                       weight_decay=cfg.weight_decay)
    if masks:
        opt = MaskedOptimizer(opt, model, masks)
    return fit(model, cr.SoftmaxCrossEntropy(), opt, DataLoader(x, y, cfg.batch_size, rng=seed),
               val, epochs=epochs, callbacks=[LearningRateScheduler(cr.optim.CosineDecay(epochs))],
               progress=False)


def accuracy(model: Any, x: np.ndarray, y: np.ndarray) -> float:
    """Test accuracy (evaluation mode, batches of 1000)."""
    from chainrule.train import predict

    return float(np.mean(predict(model, x, 1000).argmax(axis=1) == y))


def costs(model: Any, in_shape: tuple[int, ...]) -> dict[str, Any]:
    """Counted costs of one sample (see the module docstring)."""
    s = model.summary(tuple(in_shape))
    sizes = [math.prod(in_shape) * 4] + [r.bytes_per_sample for r in s.rows]
    return {"parameters": int(s.trainable_params + s.non_trainable_params),
            "macs": int(s.total_macs), "weight_bytes": int(s.param_bytes),
            "act_inference_bytes": int(max(a + b for a, b in itertools.pairwise(sizes))),
            "act_training_bytes": int(s.activation_bytes + s.input_bytes)}


def layer_memory(model: Any, in_shape: tuple[int, ...]) -> list[dict[str, Any]]:
    """Per layer: output bytes per sample, parameter bytes, MACs (for the memory figure)."""
    s = model.summary(tuple(in_shape))
    return [{"layer": f"{r.name} {r.type}", "activation_bytes": int(r.bytes_per_sample),
             "param_bytes": int(r.params * 4), "macs": int(r.macs)} for r in s.rows]


def latency(model: Any, x: np.ndarray, batch: int, repeats: int) -> float:
    """Median seconds of ``model.forward`` on ``batch`` samples (one warm-up call first)."""
    xb = np.ascontiguousarray(x[:batch])
    model.forward(xb, training=False)
    times = []
    for _ in range(max(1, repeats)):
        t = time.perf_counter()
        model.forward(xb, training=False)
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def step_time(model: Any, x: np.ndarray, y: np.ndarray, cfg: Any, steps: int) -> float:
    """Seconds per training step (batch ``cfg.batch_size``) measured by a short ``fit`` on a
    copy of the model (the model itself is left as it is)."""
    import copy

    import chainrule as cr
    from chainrule.data import DataLoader
    from chainrule.train import fit

    m = copy.deepcopy(model)
    n = cfg.batch_size * max(2, steps)
    hist = fit(m, cr.SoftmaxCrossEntropy(), cr.optim.SGD(m.parameters(), lr=1e-3, momentum=0.9),
               DataLoader(x[:n], y[:n], cfg.batch_size, rng=0), epochs=2, progress=False)
    row = hist.epoch_log[-1]     # the second epoch: buffers allocated, caches warm
    return float(row["seconds"]) / max(1, math.ceil(min(n, len(x)) / cfg.batch_size))


def file_bytes(ctx: Any, name: str, model: Any, kind: str = "dense") -> int:
    """Bytes of the model file written under ``models/`` (dense, pruned or sparse)."""
    import chainrule as cr
    from chainrule import prune

    path = ctx.path(f"models/{name}.npz")
    {"dense": cr.save, "pruned": prune.save_pruned, "sparse": prune.save_sparse}[kind](model, path)
    return int(os.path.getsize(path))


def timed(model: Any, x: np.ndarray, y: np.ndarray, cfg: Any,
          repeats: int = 1) -> dict[str, float]:
    """Inference latency at batch 1 and 256 and the training-step time (seconds); the
    latencies are medians of ``repeats × cfg.latency_repeats`` calls (×4 at batch 1)."""
    reps = cfg.latency_repeats * repeats
    return {"latency_b1_s": latency(model, x, 1, reps * 4),
            "latency_b256_s": latency(model, x, 256, reps),
            "train_step_s": step_time(model, x, y, cfg, cfg.step_batches)}
