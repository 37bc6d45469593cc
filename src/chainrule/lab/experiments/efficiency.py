"""efficiency — what does each architecture cost, and can node pruning really shrink a network?

Answers UCL A1 questions 7 and 8: how memory and compute constraints tie to architecture
choices; what it means that trained deep models are "inefficient", with an example; how node
pruning is done, one heuristic for which node can go, and what retraining after pruning
accomplishes.

1. **Cost table** over the lab's models on MNIST — the 784-100-50-10 MLP of the coursework,
   LeNet-300-100 (wider), a deeper MLP, the ``mnist-cnn`` CNN (its ``build``) and the
   ``cnn-shapes`` CNNs (``cr.models.CNN``, same and valid padding), the pruned LeNets, and
   the autoencoders' and the sequence models' (HAR, sentence sheet) costs, counted only:
   parameters,
   file size, MACs per sample, activation memory for inference and for training, measured
   training-step time and inference latency (batch 1 and 256), test accuracy. The counting
   conventions are in ``_efficiency_parts`` and the report (MACs, not FLOPs; 1 MAC = 2 FLOPs).
   The table's models train briefly (``table_epochs``; the CNNs of cnn-shapes on
   ``table_cnn_train`` images) — their accuracies are for the Pareto view, not records.
2. **Han et al. (2015)** — LeNet-300-100 (784-300-100-10, ReLU) on full MNIST, SGD with
   momentum, weight decay and cosine decay for ``epochs``; then magnitude pruning to their
   per-layer sparsities (92%, 91%, 74%: 267k → 22k weights) in ``han_rounds`` rounds, each
   followed by ``retrain_epochs`` of retraining with the pruned weights held at zero
   (``prune.MaskedOptimizer``). Bar: ≥ 10× fewer non-zero weights, test error at most 0.1
   points above the unpruned network. A dense control is retrained the same way, unpruned.
3. **Node pruning** of the trained LeNet-300-100 and of the mnist-cnn CNN: each criterion
   of ``chainrule.prune.criteria`` (weight L2, outgoing L1, mean activation, APoZ, Taylor,
   Srinivas & Babu's merge) removes a fraction of every hidden layer's units (filters), for
   real — test accuracy before and after ``sweep_epochs`` of retraining; unstructured
   magnitude pruning of the same fraction of weights on the same axes. The bar model is the
   LeNet pruned by ``bar_fraction`` with the criterion of best *validation* accuracy; its
   inference speed-up and file-size reduction are measured.

Figures: accuracy against MACs and parameters (Pareto view); memory per layer of the
cnn-shapes CNN (activations, not weights, dominate); accuracy against fraction removed per
criterion (solid retrained, dashed not); file size and batch-256 inference time of dense,
node-pruned and magnitude-pruned (dense and CSR storage) LeNets.

Longer settings: Han et al. retrain much longer; e.g. ``--set epochs=40 retrain_epochs=20
han_rounds=5 sweep_epochs=5 cnn_sweep_train=59500 table_cnn_train=59500``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..context import RunContext
from ..registry import register
from . import _efficiency_parts as parts
from . import _efficiency_pruning as prn
from ._common import load_splits, write_timings
from ._efficiency_report import report

CRITERIA = ("weight_l2", "outgoing_l1", "mean_activation", "apoz", "taylor", "merge")


@dataclass
class Config:
    dataset: str = "mnist"
    val_size: int = 2000
    n_train: int = 0                  # 0 = every training image
    n_test: int = 0                   # 0 = the whole test set
    batch_size: int = 128
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 1e-4
    epochs: int = 15                  # LeNet-300-100 baseline
    han_sparsity: tuple[float, ...] = (0.92, 0.91, 0.74)   # per weight matrix (Han et al.)
    han_rounds: int = 4
    retrain_epochs: int = 8           # per round
    retrain_lr: float = 0.02
    criteria: tuple[str, ...] = CRITERIA
    fractions: tuple[float, ...] = (0.25, 0.5, 0.75, 0.9)
    sweep_epochs: int = 3             # retraining after each node-pruning cut (LeNet)
    bar_fraction: float = 0.5
    score_samples: int = 2000         # training samples the data criteria look at
    cnn_channels: tuple[int, ...] = (16, 16)
    cnn_epochs: int = 1
    cnn_fractions: tuple[float, ...] = (0.25, 0.5, 0.75)
    cnn_sweep_train: int = 5000       # retraining images per pruned CNN (1 epoch)
    cnn_sweep_test: int = 2000        # test images for the CNN sweep's accuracies
    table_epochs: int = 3
    table_cnn_channels: tuple[int, ...] = (16, 32)
    table_cnn_train: int = 10000
    latency_repeats: int = 10
    step_batches: int = 10


def _data(cfg: Config, ctx: RunContext) -> tuple[dict, dict]:
    s = load_splits(cfg.dataset, ctx, val_size=cfg.val_size, n_train=cfg.n_train or None,
                    n_test=cfg.n_test or None)
    mean, std = float(s.x_train.mean()), float(s.x_train.std())
    img = {"xtr": (s.x_train - mean) / std, "xva": (s.x_val - mean) / std,
           "xte": (s.x_test - mean) / std, "ytr": s.y_train, "yva": s.y_val, "yte": s.y_test}
    flat = {k: (v.reshape(len(v), -1) if k.startswith("x") else v) for k, v in img.items()}
    return flat, img


@register("efficiency", question="What does each architecture cost in memory, compute and "
          "time, and can node pruning remove half an MLP's units at (almost) no accuracy "
          "cost, making it really smaller and faster?", config=Config,
          quick={"n_train": 1500, "n_test": 500, "val_size": 300, "epochs": 2,
                 "han_rounds": 2, "retrain_epochs": 1, "fractions": (0.5,),
                 "sweep_epochs": 1, "score_samples": 200, "cnn_channels": (4, 4),
                 "cnn_fractions": (0.5,), "cnn_sweep_train": 300, "cnn_sweep_test": 300,
                 "table_epochs": 1, "table_cnn_channels": (4, 8), "table_cnn_train": 300,
                 "latency_repeats": 1, "step_batches": 2},
          runtime={"quick": "10 s", "full": "6 min 1 s",   # make run, 2 jobs
                   "quick-5k": "6 s", "full-5k": "1 min 4 s"},   # measured on mnist-5k
          source="UCL A1, questions 7 and 8")
def run(cfg: Config, ctx: RunContext) -> None:
    import chainrule as cr
    from chainrule import prune

    from .mnist_cnn import build as build_mnist_cnn

    seed = int(ctx.seed)
    flat, img = _data(cfg, ctx)
    n_flat, shape_img = flat["xtr"].shape[1], tuple(img["xtr"].shape[1:])
    timings: dict = {}

    # -- LeNet-300-100, Han et al.'s magnitude pruning, and its dense control
    ctx.log("LeNet-300-100: dense baseline")
    base = cr.models.MLP(n_flat, (300, 100), "relu", 10, rng=ctx.rng)
    parts.train(base, flat["xtr"], flat["ytr"], epochs=cfg.epochs, lr=cfg.lr, cfg=cfg, seed=seed)
    ctx.log("LeNet-300-100: magnitude pruning (Han et al.)")
    han_model, control, masks, han_rows = prn.han(base, flat, cfg, seed)

    # -- node pruning sweeps
    ctx.log("LeNet-300-100: node pruning sweep")
    mlp_rows, kept = prn.node_sweep("LeNet-300-100", base, flat, fractions=cfg.fractions,
                                    criteria=cfg.criteria, epochs=cfg.sweep_epochs,
                                    n_retrain=len(flat["xtr"]), cfg=cfg, seed=seed + 2,
                                    keep_models_at=cfg.bar_fraction)
    chosen = prn.choose(mlp_rows, cfg.bar_fraction)
    node_model = kept[chosen["criterion"]]
    ctx.log("mnist-cnn: baseline and filter pruning sweep")
    cnn = build_mnist_cnn(shape_img, 10, cfg.cnn_channels, 5, ctx.rng)
    parts.train(cnn, img["xtr"], img["ytr"], epochs=cfg.cnn_epochs, lr=cfg.lr, cfg=cfg,
                seed=seed + 3)
    n_sub = cfg.cnn_sweep_test
    img_sub = {**img, **{k: img[k][:n_sub] for k in ("xte", "yte", "xva", "yva")}}
    cnn_rows, _ = prn.node_sweep("mnist-cnn", cnn, img_sub, fractions=cfg.cnn_fractions,
                                 criteria=cfg.criteria, epochs=1, n_retrain=cfg.cnn_sweep_train,
                                 cfg=cfg, seed=seed + 4)
    disagreement = prn.disagreement(base, flat, cfg)

    # -- the cost table
    ctx.log("cost table")
    models = [("MLP 784-100-50-10", cr.models.MLP(n_flat, (100, 50), ("sigmoid", "relu"), 10,
                                                  rng=ctx.rng), "flat", cfg.table_epochs),
              ("LeNet-300-100", base, "flat", 0),
              ("LeNet-300-100 Han-pruned", han_model, "flat", 0),
              (f"LeNet-300-100 node-pruned {chosen['fraction']:.0%}", node_model, "flat", 0),
              ("deep MLP 784-256x3-10", cr.models.MLP(n_flat, (256, 256, 256), "relu", 10,
                                                      rng=ctx.rng), "flat", cfg.table_epochs),
              ("mnist-cnn", cnn, "img", 0)]
    for pad, same in (("same", True), ("valid", False)):
        models.append((f"cnn-shapes {pad}", cr.models.CNN(5, 2, 1, same, True,
                                                          cfg.table_cnn_channels, shape_img,
                                                          10, rng=ctx.rng), "img", -1))
    table, tab_times = [], {}
    for name, model, kind, epochs in models:
        d = flat if kind == "flat" else img
        if epochs:
            n = cfg.table_cnn_train if epochs < 0 else len(d["xtr"])
            parts.train(model, d["xtr"][:n], d["ytr"][:n], epochs=max(epochs, 1), lr=cfg.lr,
                        cfg=cfg, seed=seed + 5)
        row = {"model": name, **parts.costs(model, tuple(d["xtr"].shape[1:])),
               "nonzero_weights": prune.sparsity_of(model)["all_parameters_nonzero"],
               "file_bytes": parts.file_bytes(ctx, name.replace(" ", "_"), model),
               "test_accuracy": parts.accuracy(model, d["xte"], d["yte"]),
               "trained": ("see below" if epochs == 0 else
                           f"{max(epochs, 1)} epoch(s) on {min(n, len(d['xtr'])):,} images")}
        table.append(row)
        tab_times[name] = parts.timed(model, d["xte"], d["yte"], cfg)
    table += prn.autoencoder_costs(ctx.rng) + prn.sequence_costs(ctx.rng)
    memory_rows = parts.layer_memory(models[-2][1], shape_img)

    # -- what pruning does to files and time
    variants = [("dense LeNet-300-100", base, "dense"),
                ("Han-pruned, dense file", han_model, "dense"),
                ("Han-pruned, CSR file", han_model, "sparse"),
                (f"node-pruned {chosen['fraction']:.0%} ({chosen['criterion']})", node_model,
                 "pruned")]
    size_rows, measured = [], {}
    for label, model, kind in variants:
        if id(model) not in measured:     # one in-memory model, whatever its file format
            measured[id(model)] = parts.timed(model, flat["xte"], flat["yte"], cfg, repeats=5)
        size_rows.append({"variant": label, "file_bytes": parts.file_bytes(
            ctx, f"variant_{len(size_rows)}_{kind}", model, kind), **measured[id(model)]})
    timings.update(table=tab_times, variants={r["variant"]: r for r in size_rows})
    write_timings(ctx, timings)
    report(ctx, cfg, base=base, control=control, flat=flat, han_rows=han_rows, masks=masks,
           han_model=han_model, mlp_rows=mlp_rows, cnn_rows=cnn_rows, chosen=chosen,
           node_model=node_model, table=table, tab_times=tab_times, memory_rows=memory_rows,
           size_rows=size_rows, disagreement=disagreement, cnn_name="mnist-cnn", timings=timings,
           memory_model=models[-2][0])
