"""Technique checks of the ``beat-92`` experiment.

``technique_checks`` measures, on the trained stage models, that each technique does what it
claims: dropout only in training (and rescaled), batch norm's running statistics used in
evaluation, He-normal weights' spread, Adam's moment buffers, the cosine learning rate
falling to its expected final value, and the random shifts producing shifted images.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .beat_92 import Config


def technique_checks(trained: dict, cfg: Config, x: np.ndarray, seed: int) -> dict:
    """Measure, on the trained stage models, that each technique does what it claims."""
    import chainrule as cr
    from chainrule.optim import CosineDecay

    # beat_92 imports this module while loading, so its names are looked up at call time.
    from .beat_92 import STAGES, build, flags

    xb, out = x[:64], {}
    model = trained[STAGES[1]][0]
    drop = next(m for m in model if isinstance(m, cr.Dropout))
    ones = np.ones((200, cfg.hidden), np.float32)
    masked = drop.forward(ones, training=True)
    out["dropout"] = {
        "eval_is_identity": bool(np.array_equal(drop.forward(ones, training=False), ones)),
        "train_zero_fraction": float(np.mean(masked == 0)),
        "train_kept_scale": float(masked.max()),
        "eval_deterministic": bool(np.array_equal(model.forward(xb), model.forward(xb))),
        "train_differs": bool(not np.allclose(model.forward(xb, training=True), model.forward(xb)))}
    model = trained[STAGES[2]][0]
    i_bn = next(i for i, m in enumerate(model) if isinstance(m, cr.BatchNorm1d))
    h = xb
    for m in list(model)[:i_bn]:
        h = m.forward(h)
    bn = model[i_bn]
    rm, rv = bn.running_mean, bn.running_var
    by_running = (h - rm) / np.sqrt(rv + bn.eps) * bn.weight.data + bn.bias.data
    by_batch = (h - h.mean(0)) / np.sqrt(h.var(0) + bn.eps) * bn.weight.data + bn.bias.data
    y_eval = bn.forward(h)
    out["batchnorm"] = {
        "eval_uses_running_stats": bool(np.allclose(y_eval, by_running, atol=1e-4)),
        "eval_differs_from_batch_stats": float(np.abs(y_eval - by_batch).max()),
        "running_mean_moved": float(np.abs(rm).max()),
        "batches_tracked": int(bn.num_batches_tracked),
        "sample_independent_in_eval": bool(np.allclose(model.forward(xb[:1]),
                                                       model.forward(xb)[:1], atol=1e-5))}
    fresh = {i: build(flags(i), cfg, tuple(x.shape[1:]), 10, np.random.default_rng([seed, 92]))
             for i in (0, 3)}
    w0, w3 = (next(m for m in fresh[i] if isinstance(m, cr.Linear)).weight.data for i in (0, 3))
    fan_in = w3.shape[0]
    out["relu_he"] = {"he_std_ratio": float(w3.std() / np.sqrt(2.0 / fan_in)),
                      "baseline_max_abs_times_sqrt_fan_in":
                          float(np.abs(w0).max() * np.sqrt(fan_in)),
                      "relu_layers": sum(isinstance(m, cr.ReLU) for m in trained[STAGES[3]][0]),
                      "sigmoid_layers": sum(isinstance(m, cr.Sigmoid)
                                            for m in trained[STAGES[3]][0])}
    _, opt, _ = trained[STAGES[4]]
    state = opt.state_dict()
    out["adam"] = {"optimizer": type(opt).__name__,
                   "moment_buffers_nonzero": bool(any(np.abs(v).max() > 0 for k, v in state.items()
                                                      if "exp_avg" in k))}
    _, opt, _ = trained[STAGES[5]]
    sched = CosineDecay(cfg.mlp_epochs)
    out["schedule"] = {"initial_lr": float(opt.initial_lr), "final_lr": float(opt.lr),
                       "expected_final_lr": sched.lr(opt.initial_lr, cfg.mlp_epochs - 1)}
    model, _, loader = trained[STAGES[7]]
    out["conv"] = {"conv_layers": sum(isinstance(m, cr.Conv2d) for m in model)}
    imgs = loader.x[:16]
    moved = loader.transform(imgs, np.random.default_rng(0))
    m, fill, shifts = cfg.max_shift, float(loader.x.min()), []
    for a, b in zip(imgs, moved):
        pad = np.pad(a, ((0, 0), (m, m), (m, m)), constant_values=fill)
        hit = [(dy - m, dx - m) for dy in range(2 * m + 1) for dx in range(2 * m + 1)
               if np.array_equal(pad[:, dy:dy + a.shape[1], dx:dx + a.shape[2]], b)]
        shifts.append(hit[0] if hit else None)
    out["augment"] = {"all_are_shifts": all(v is not None for v in shifts),
                      "shifted_images": sum(v not in (None, (0, 0)) for v in shifts),
                      "checked": len(shifts)}
    return out
