"""efficiency's pruning studies: Han et al.'s magnitude pruning of LeNet-300-100, and node
pruning sweeps (criterion × fraction of units removed, before and after retraining)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ._efficiency_parts import accuracy, train


def han(base: Any, d: dict, cfg: Any, seed: int) -> tuple[Any, Any, dict, list[dict]]:
    """Magnitude-prune a copy of the trained dense ``base`` to Han et al.'s per-layer
    sparsities over ``cfg.han_rounds`` rounds, retraining ``cfg.retrain_epochs`` after each
    (masks kept by ``MaskedOptimizer``); and a dense control copy retrained the same way
    without pruning. Returns (pruned, control, masks, rows per round)."""
    from chainrule import prune

    names = prune.magnitude.prunable_weights(base)
    if len(cfg.han_sparsity) != len(names):
        raise ValueError(f"han_sparsity needs one fraction per weight matrix {names}, got "
                         f"{cfg.han_sparsity}")
    per = dict(zip(names, (float(s) for s in cfg.han_sparsity)))

    def retrain(model: Any, masks: dict | None) -> None:
        train(model, d["xtr"], d["ytr"], epochs=cfg.retrain_epochs, lr=cfg.retrain_lr,
              cfg=cfg, seed=seed + 1, masks=masks)

    def measure(model: Any) -> dict[str, float]:
        return {"test_accuracy": accuracy(model, d["xte"], d["yte"])}

    pruned, masks, rows = prune.magnitude_schedule(copy.deepcopy(base), per,
                                                   rounds=cfg.han_rounds, retrain=retrain,
                                                   measure=measure)
    control = copy.deepcopy(base)
    for _ in range(cfg.han_rounds):
        retrain(control, None)
    return pruned, control, masks, rows


def _keep(widths: dict[str, int], fraction: float) -> dict[str, int]:
    return {n: max(1, int(np.round(w * (1.0 - fraction)))) for n, w in widths.items()}


def node_sweep(label: str, base: Any, d: dict, *, fractions: tuple[float, ...],
               criteria: tuple[str, ...], epochs: int, n_retrain: int, cfg: Any, seed: int,
               keep_models_at: float | None = None) -> tuple[list[dict], dict[str, Any]]:
    """For each criterion and fraction: remove that fraction of every prunable layer's units
    from a copy of ``base`` (scored on ``cfg.score_samples`` training samples), measure
    validation and test accuracy, retrain ``epochs`` epochs on ``n_retrain`` training samples,
    measure again. Also magnitude pruning of the same fraction of weights (per layer, masks
    kept while retraining) on the same axes. Returns the rows and, when ``keep_models_at``
    is one of ``fractions``, the retrained models at that fraction by criterion."""
    import chainrule as cr
    from chainrule import prune

    loss = cr.SoftmaxCrossEntropy()
    ns = cfg.score_samples
    data = {"x": d["xtr"][:ns], "y": d["ytr"][:ns], "loss": loss}
    widths = prune.widths(base)
    xr, yr = d["xtr"][:n_retrain], d["ytr"][:n_retrain]
    rows, kept = [], {}

    def row(crit: str, f: float, retrained: bool, model: Any) -> dict[str, Any]:
        s = model.summary(tuple(d["xte"].shape[1:]))
        return {"model": label, "criterion": crit, "fraction": float(f),
                "retrained": retrained, "val_accuracy": accuracy(model, d["xva"], d["yva"]),
                "test_accuracy": accuracy(model, d["xte"], d["yte"]),
                "parameters": int(s.trainable_params), "macs": int(s.total_macs),
                "nonzero_weights": int(sum(np.count_nonzero(p.data)
                                           for p in model.parameters()))}

    for crit in (*criteria, "magnitude"):
        for f in fractions:
            if crit == "magnitude":
                small = copy.deepcopy(base)
                masks = prune.magnitude_masks(small, f)
                prune.apply_masks(small, masks)
            else:
                small, masks = prune.node_prune(base, _keep(widths, f), crit, **data), None
            rows.append(row(crit, f, False, small))
            train(small, xr, yr, epochs=epochs, lr=cfg.retrain_lr, cfg=cfg, seed=seed,
                  masks=masks)
            rows.append(row(crit, f, True, small))
            if keep_models_at is not None and f == keep_models_at:
                kept[crit] = small
    return rows, kept


def choose(rows: list[dict], fraction: float) -> dict[str, Any]:
    """The node criterion with the best *validation* accuracy after retraining at
    ``fraction`` (the test set plays no part in the choice)."""
    cands = [r for r in rows if r["retrained"] and r["fraction"] == fraction
             and r["criterion"] != "magnitude"]
    return max(cands, key=lambda r: (r["val_accuracy"], r["criterion"]))


def removed_sets(base: Any, d: dict, cfg: Any, layer: str = "0") -> dict[str, set[int]]:
    """The units of ``layer`` each criterion removes at ``cfg.bar_fraction`` (no retraining)."""
    import chainrule as cr
    from chainrule import prune
    from chainrule.prune import criteria as crit_mod

    n = prune.widths(base)[layer]
    k = max(1, int(np.round(n * (1.0 - cfg.bar_fraction))))
    data = {"x": d["xtr"][:cfg.score_samples], "y": d["ytr"][:cfg.score_samples],
            "loss": cr.SoftmaxCrossEntropy()}
    out = {}
    for c in cfg.criteria:
        if c == "merge":
            _, pairs = crit_mod.merge_similar(base, layer, n - k)
            out[c] = {j for _, j in pairs}
        else:
            s = crit_mod.score(base, layer, c, **data)
            out[c] = {int(u) for u in np.argsort(-s, kind="stable")[k:]}
    return out


def disagreement(base: Any, d: dict, cfg: Any) -> dict[str, Any]:
    """Jaccard overlap of the first hidden layer's removed units between criteria."""
    sets = removed_sets(base, d, cfg)
    names = list(sets)
    jac = [[len(sets[a] & sets[b]) / max(1, len(sets[a] | sets[b])) for b in names]
           for a in names]
    return {"layer": "0", "fraction": float(cfg.bar_fraction), "criteria": names,
            "jaccard": jac}


def autoencoder_costs(rng: Any) -> list[dict[str, Any]]:
    """Counted costs of the coursework autoencoders (not classifiers: no accuracy)."""
    from chainrule.models import autoencoders as ae

    from ._efficiency_parts import costs

    rows = []
    for name in ("dense_autoencoder", "deep_autoencoder", "conv_autoencoder"):
        model = getattr(ae, name)(rng=rng)
        rows.append({"model": name.replace("_", " "), **costs(model, (1, 28, 28)),
                     "nonzero_weights": None, "file_bytes": None,
                     "test_accuracy": None, "trained": "not trained (cost only)"})
    return rows


def sequence_costs(rng: Any) -> list[dict[str, Any]]:
    """Counted costs of the lab's sequence models (not trained here: cost only): the five
    ``har-architectures`` base models on a (100, 6) sensor window, and the sentence sheet's
    CNN and RNN on 10 word ids (vocabulary 20,000, d = 50). Their accuracies are in those
    experiments' reports."""
    from chainrule.models.har import HAR_MODELS, build_har
    from chainrule.models.sentence import SentenceCNN, SentenceRNN

    from ._efficiency_parts import costs

    models = [(f"HAR {kind} (sensor window 100×6)", build_har(kind, 6, rng=rng), (100, 6))
              for kind in HAR_MODELS]
    models += [("sentence CNN, sheet (10 words, d = 50)",
                SentenceCNN(20_000, 50, 3, sizes=(3,), filters=5, padding=1, mask=False,
                            rng=rng), (10,)),
               ("sentence RNN, sheet (10 words, d = 50)",
                SentenceRNN(20_000, 50, 4, cell="rnn", hidden=50, bias=False, rng=rng), (10,))]
    return [{"model": name, **costs(model, shape), "nonzero_weights": None, "file_bytes": None,
             "test_accuracy": None, "trained": "not trained (cost only)"}
            for name, model, shape in models]
