"""sentence-classification — the coursework's sentence CNN and RNN on GloVe vectors.

Question (coursework): "Classify sentences with a CNN (10 tokens, embedding 10×d, 5 filters
of 3×d, zero padding 1, stride 1 → 10×1×5, max-pool over the 10 positions → 5, linear 5→3,
softmax) and an RNN (s_t = tanh(U x_t + W s_{t−1}), final state → linear → softmax, 4
classes): what sizes do the layers have, and what do filter size, recurrent cell and frozen
vs fine-tuned embeddings change?"

Data: VADER's 23,703 human-rated sentences (``vader``) and GloVe 6B 50-d (``glove``, first
50,000 rows); tokens from ``chainrule.text.tokenize``; seeded stratified 80/10/10 splits.

* the sheet's CNN, exactly, on 3-class sentiment (rating < −0.5 / −0.5…0.5 / > 0.5), first 10
  tokens, d = 50 in place of the sheet's 300;
* the sheet's RNN, exactly (U 50×d, W 50×50, no bias, s_0 = 0, final state at each
  sentence's true length, linear 50→4), on the four sources (movie / tweet / Amazon / NYT);
  then full length (up to ``max_len`` tokens, masked) with RNN, LSTM and GRU cells;
* binary polarity of the 10,568 movie snippets (MR-like): majority class, logistic regression
  on the mean word vector, Kim's CNN (sizes 3,4,5 × 100 filters, dropout 0.5) with frozen and
  fine-tuned GloVe, and filter sizes 1, 2, 3, 5, 7 and a mix (3,4,5) with the same number of
  filters (frozen embeddings): accuracy, parameters, CPU time per epoch.

Longer coursework settings: ``--set epochs=10 --set sweep_epochs=5 --set rnn_epochs=5``.
Figures: accuracy and time by filter size, training curves, confusion matrices. Anchor:
Kim (2014) MR accuracy 81.0% (CNN-static, word2vec 300-d) and 76.1% (CNN-rand).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ...plots import text as text_plots
from ..claims import reading
from ..context import RunContext
from ..registry import register
from ._common import pct, write_timings
from ._sentence_parts import (
    reading_claims,
    sheet_cnn_sizes,
    sheet_rnn_sizes,
    size_claims,
    two_se_at_half,
)

KIM = {"CNN-static (word2vec 300-d, frozen)": 0.810, "CNN-rand": 0.761,
       "CNN-non-static (word2vec, fine-tuned)": 0.815}
QUESTION = ("What sizes do the sheet's sentence CNN and RNN have, and what do filter size, "
            "recurrent cell and frozen vs fine-tuned GloVe change?")


@dataclass
class Config:
    epochs: int = 4            # Kim CNN on movie polarity
    sweep_epochs: int = 4      # filter-size sweep
    sheet_epochs: int = 4      # the sheet's CNN and RNN (10 tokens)
    rnn_epochs: int = 2        # full-length RNN/LSTM/GRU
    filters: int = 100
    sweep_filters: int = 99    # divisible by 3 for the (3,4,5) mix
    hidden: int = 50
    max_len: int = 40
    batch_size: int = 50
    lr: float = 1e-3
    dropout: float = 0.5
    n_limit: int = 0           # 0 = all sentences; quick presets shrink it
    cells: str = "rnn,lstm,gru"
    sweep: str = "1,2,3,5,7,3+4+5"


def _limit(idx, y, n, rng):
    if n and n < len(idx):
        keep = np.sort(rng.choice(len(idx), n, replace=False))
        return idx[keep], y[keep]
    return idx, y


def _train(model, cfg, ctx, x, y, parts, epochs, name, histories):
    import chainrule as cr
    from chainrule.data import DataLoader
    from chainrule.train import evaluate, fit, predict

    tr, va, te = parts
    opt = cr.optim.Adam(model.parameters(), lr=cfg.lr)
    loss = cr.SoftmaxCrossEntropy()
    t0 = time.process_time()
    hist = fit(model, loss, opt, DataLoader(x[tr], y[tr], cfg.batch_size, rng=ctx.rng),
               DataLoader(x[va], y[va], 500, shuffle=False), epochs=epochs)
    secs = (time.process_time() - t0) / epochs
    histories[name] = ctx.save_history(hist, f"history_{name}")
    pred = predict(model, x[te]).argmax(axis=1)
    res = {"test_accuracy": float(np.mean(pred == y[te])),
           "val_accuracy": float(evaluate(model, loss, (x[va], y[va]))["accuracy"]),
           "parameters": int(sum(p.size for p in model.parameters() if p.requires_grad)),
           "epochs": epochs}
    return res, secs, pred


@register("sentence-classification", question=QUESTION, config=Config,
          quick={"epochs": 1, "sweep_epochs": 1, "sheet_epochs": 1, "rnn_epochs": 1,
                 "n_limit": 1200, "filters": 20, "sweep_filters": 12, "max_len": 20,
                 "sweep": "1,3,3+4+5", "cells": "rnn,gru"},
          runtime={"quick": "6 s", "full": "2 min 18 s"},   # make run, 2 jobs
          source="the AMMI sheet, A1 §3",
          coursework="clearly mention the sizes of all RNN components")
def run(cfg: Config, ctx: RunContext) -> None:
    from chainrule import data
    from chainrule.data.vader import stratified_split, task
    from chainrule.metrics import confusion_matrix
    from chainrule.models.sentence import SentenceCNN, SentenceRNN
    from chainrule.plots.cnn import confusion_heatmap, save_confusion_csv
    from chainrule.summary import summary
    from chainrule.text import Vocab, tokenize

    glove, sents = data.load("glove", "train"), data.load("vader", "train")
    ctx.metrics["data"] = {"glove": glove.source, "vader": sents.source,
                           "glove_rows": len(glove) - 2, "dim": glove.dim}
    tokens = [tokenize(t) for t in sents.texts]
    full_vocab = Vocab(glove)
    ctx.metrics["coverage"] = full_vocab.coverage(tokens)
    vocab = full_vocab.restrict(tokens)
    d = glove.dim
    results, timings, histories, confusions = {}, {}, {}, {}

    def splits(name):
        idx, y, classes = task(sents, name)
        idx, y = _limit(idx, y, cfg.n_limit, ctx.rng)
        return idx, y, classes, stratified_split(y, ctx.seed)

    def confusion(name, y_true, pred, classes):
        cm = confusion_matrix(y_true, pred, len(classes))
        confusions[name] = save_confusion_csv(cm, classes, ctx.path(f"confusion_{name}.csv"))

    # 1. The sheet's CNN: 10 tokens, 5 filters 3×d, padding 1, max over the 10 positions.
    idx, y3, cls3, p3 = splits("sentiment3")
    x10, _ = vocab.encode([tokens[i] for i in idx], max_len=10)
    sheet_cnn = SentenceCNN(len(vocab), d, 3, sizes=(3,), filters=5, padding=1, mask=False,
                            vectors=vocab.matrix, freeze=False, rng=ctx.rng)
    sizes = sheet_cnn_sizes(sheet_cnn, d, summary)
    ctx.metrics["sheet_cnn_sizes"] = {r[0]: {"ours": r[3], "match": r[4]} for r in sizes}
    res, secs, pred = _train(sheet_cnn, cfg, ctx, x10, y3, p3, cfg.sheet_epochs, "sheet_cnn",
                             histories)
    results["sheet CNN (sentiment3, 10 tokens)"], timings["sheet_cnn"] = res, secs
    confusion("sheet_cnn", y3[p3[2]], pred, cls3)
    ctx.metrics["sentiment3_majority"] = float(np.mean(y3[p3[2]] == np.bincount(y3[p3[0]])
                                                       .argmax()))

    # 2. The sheet's RNN (10 tokens), then full length, masked, per cell.
    idx, y4, cls4, p4 = splits("source4")
    x10, _ = vocab.encode([tokens[i] for i in idx], max_len=10)
    xf, _ = vocab.encode([tokens[i] for i in idx], max_len=cfg.max_len)
    rnn = SentenceRNN(len(vocab), d, 4, cell="rnn", hidden=50, bias=False,
                      vectors=vocab.matrix, freeze=False, rng=ctx.rng)
    rnn_sizes = sheet_rnn_sizes(rnn, d, summary)
    sizes += rnn_sizes
    ctx.metrics["sheet_rnn_sizes"] = {r[0]: {"ours": r[3], "match": r[4]} for r in rnn_sizes}
    res, secs, pred = _train(rnn, cfg, ctx, x10, y4, p4, cfg.sheet_epochs, "sheet_rnn",
                             histories)
    results["sheet RNN (source4, 10 tokens)"], timings["sheet_rnn"] = res, secs
    confusion("sheet_rnn", y4[p4[2]], pred, cls4)
    for cell in [c for c in cfg.cells.split(",") if c]:
        m = SentenceRNN(len(vocab), d, 4, cell=cell, hidden=cfg.hidden, vectors=vocab.matrix,
                        freeze=False, rng=ctx.rng)
        res, secs, _ = _train(m, cfg, ctx, xf, y4, p4, cfg.rnn_epochs, f"{cell}_full",
                              histories)
        results[f"{cell.upper()} (source4, ≤{cfg.max_len} tokens, masked)"] = res
        timings[f"{cell}_full"] = secs
    ctx.metrics["source4_majority"] = float(np.mean(y4[p4[2]] == np.bincount(y4[p4[0]])
                                                    .argmax()))

    # 3. Movie-snippet polarity: baselines, Kim's CNN frozen / fine-tuned, filter sizes.
    idx, y2, cls2, p2 = splits("movie_polarity")
    x2, _ = vocab.encode([tokens[i] for i in idx], max_len=cfg.max_len)
    tr, _va, te = p2
    base = {"majority class": float(np.mean(y2[te] == np.bincount(y2[tr]).argmax())),
            "logistic regression, mean GloVe vector": _logreg(x2, y2, p2, vocab.matrix, cfg,
                                                              ctx)}
    ctx.metrics["polarity_baselines"] = base
    for freeze in (True, False):
        name = "frozen" if freeze else "fine-tuned"
        m = SentenceCNN(len(vocab), d, 2, sizes=(3, 4, 5), filters=cfg.filters,
                        dropout=cfg.dropout, vectors=vocab.matrix, freeze=freeze, rng=ctx.rng)
        res, secs, pred = _train(m, cfg, ctx, x2, y2, p2, cfg.epochs, f"kim_{name}", histories)
        results[f"Kim CNN 3,4,5×{cfg.filters}, GloVe {name} (polarity)"] = res
        timings[f"kim_{name}"] = secs
        if not freeze:
            confusion("kim_fine_tuned", y2[te], pred, cls2)
            m.forward(x2[te[:6]])
            pos = m.argmax_positions()
            ctx.metrics["argmax_examples"] = [
                {"text": sents.texts[idx[te[i]]], "label": cls2[y2[te[i]]],
                 "predicted": cls2[pred[i]],
                 "words": _top_words(x2[te[i]], pos[i], vocab)} for i in range(len(pos))]
    sweep_rows = []
    for spec in [s for s in cfg.sweep.split(",") if s]:
        ks = tuple(int(k) for k in spec.split("+"))
        m = SentenceCNN(len(vocab), d, 2, sizes=ks, filters=cfg.sweep_filters // len(ks),
                        dropout=cfg.dropout, vectors=vocab.matrix, freeze=True, rng=ctx.rng)
        res, secs, _ = _train(m, cfg, ctx, x2, y2, p2, cfg.sweep_epochs, f"sweep_{spec}",
                              histories)
        results[f"sweep: sizes {spec} (polarity, frozen)"] = res
        timings[f"sweep_{spec}"] = secs
        sweep_rows.append({"sizes": spec, "test_accuracy": res["test_accuracy"],
                           "parameters": res["parameters"], "seconds_per_epoch": secs})
    ctx.metrics["models"] = results
    ctx.metrics["n"] = {"sentiment3": len(y3), "source4": len(y4), "polarity": len(y2),
                        "polarity_test": len(te), "source4_test": len(p4[2])}
    ctx.metrics["resolution"] = {"polarity_two_se": two_se_at_half(len(te)),
                                 "source4_two_se": two_se_at_half(len(p4[2]))}
    ctx.metrics["class_counts"] = {
        name: dict(zip(classes, np.bincount(y, minlength=len(classes)).tolist()))
        for name, y, classes in (("sentiment3", y3, cls3), ("source4", y4, cls4),
                                 ("movie_polarity", y2, cls2))}
    write_timings(ctx, {"cpu_seconds_per_epoch": timings})
    sweep_csv = ctx.save_rows(sweep_rows, "filter_sizes")
    _report(cfg, ctx, sizes, results, base, sweep_rows, sweep_csv, histories, d)
    ctx.figure("confusion_kim", confusion_heatmap, confusions["kim_fine_tuned"],
               caption="Confusion matrix, fine-tuned Kim CNN, movie-snippet polarity (test).")
    ctx.figure("confusion_sheet_cnn", confusion_heatmap, confusions["sheet_cnn"],
               caption="Confusion matrix, the sheet's CNN, 3-class sentiment (test).")
    ctx.figure("confusion_sheet_rnn", confusion_heatmap, confusions["sheet_rnn"],
               caption="Confusion matrix, the sheet's RNN, four sources (test).")
    ctx.answer(reading(ctx, reading_claims(ctx.metrics, {"cpu_seconds_per_epoch": timings})),
               figure="curves")


def _top_words(ids, pos, vocab):
    """The trigram (or wider) starting where the most filters' maxima fall, as words."""
    counts = np.bincount(pos, minlength=len(ids))
    words = []
    for p in np.argsort(-counts)[:3]:
        if ids[p] != 0:
            words.append(vocab.vectors.words[ids[p]])
    return words


def _logreg(x, y, parts, matrix, cfg, ctx):
    import chainrule as cr
    from chainrule.data import DataLoader
    from chainrule.train import fit, predict

    tr, _va, te = parts
    mask = (x != 0)[..., None]
    feats = (matrix[x] * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1)
    feats = feats.astype(np.float32)
    m = cr.Sequential(cr.Linear(feats.shape[1], int(y.max()) + 1, rng=ctx.rng))
    fit(m, cr.SoftmaxCrossEntropy(), cr.optim.Adam(m.parameters(), lr=1e-2),
        DataLoader(feats[tr], y[tr], 50, rng=ctx.rng), None, epochs=10)
    return float(np.mean(predict(m, feats[te]).argmax(axis=1) == y[te]))


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in counts.items())


def _report(cfg, ctx, sizes, results, base, sweep_rows, sweep_csv, histories, d):
    cov = ctx.metrics["coverage"]
    ctx.md(f"Data: {ctx.metrics['data']['vader']}; vectors: {ctx.metrics['data']['glove']}. "
           f"GloVe covers {pct(cov['token_coverage'])} of the {cov['tokens']:,} tokens and "
           f"{pct(cov['type_coverage'])} of the {cov['types']:,} distinct tokens.")
    counts = ctx.metrics["class_counts"]
    tasks = {"sentiment3 (the sheet's CNN)":
             "mean rating < −0.5 / −0.5…0.5 / > 0.5 (raters score −4…+4)",
             "source4 (the sheet's RNN)":
             "which corpus a sentence comes from: a real 4-way task of register and topic, "
             "not a re-binning of the sentiment labels (rating quartiles would be)",
             "movie_polarity (MR-like)":
             "movie snippets with a non-zero mean rating, positive vs negative"}
    ctx.table([[t, what, _counts(c)] for (t, what), c in zip(tasks.items(), counts.values())],
              ["task", "labels", "sentences per class"],
              caption="Seeded stratified 80/10/10 train/validation/test split per task.")
    ctx.heading("The sheet's sizes")
    ctx.table([[r[0], r[1], r[2], r[3], "yes" if r[4] else "NO"] for r in sizes],
              ["quantity", "sheet (d = 300)", f"sheet with d = {d}", "chainrule model",
               "agrees"],
              caption=f"First seven rows: the sheet's CNN; the rest: its RNN. d = {d} (GloVe "
                      "6B 50-d) in place of the sheet's 300. The model column is read from "
                      "the built models and summary(): Conv1d stores a kernel as (d, k) and "
                      "is channels-last, so its (10, 5) output is the sheet's 10×1×5; dense "
                      "and recurrent weights are stored (in, out), shown here as the sheet's "
                      "(out × in).")
    ctx.md(reading(ctx, size_claims(ctx.metrics), label="Sizes", exact=True))
    ctx.md("The sheet's RNN: U is 50×d, W 50×50, no bias, s_0 = 0; the final state at each "
           "sentence's true length feeds a linear 50→4. The sheet's output matrix V "
           "(o_t = V s_t) is absent: a sentence classifier reads one state, and the final "
           "linear layer plays V's role once.")
    ctx.heading("Results")
    ctx.table([[k, pct(r["test_accuracy"]), pct(r["val_accuracy"]), r["parameters"],
                r["epochs"]] for k, r in results.items()],
              ["model (task)", "test acc", "val acc", "trainable params", "epochs"],
              caption="CPU seconds per epoch are in timings.json and the filter-size table.")
    ctx.table([[k, pct(v)] for k, v in base.items()], ["polarity baseline", "test acc"])
    ctx.table([[k, pct(v)] for k, v in KIM.items()],
              ["Kim (2014), MR", "accuracy (10-fold CV)"],
              caption="Differences from ours: word2vec 300-d vs GloVe 50-d (first 50,000 "
                      "words), MR's 10,662 review-labelled sentences vs VADER's 10,568 "
                      "human-rated movie snippets (labels from the raters' mean sign), one "
                      f"seeded split vs 10-fold CV, {cfg.epochs} epochs of Adam vs Adadelta "
                      "with early stopping, no max-norm constraint.")
    if sweep_rows:
        ctx.heading("Filter sizes")
        ctx.table([[r["sizes"], pct(r["test_accuracy"]), r["parameters"],
                    f"{r['seconds_per_epoch']:.2f}"] for r in sweep_rows],
                  ["sizes", "test acc", "params", "CPU s/epoch"],
                  caption=f"{cfg.sweep_filters} filters in total each, frozen GloVe, "
                          f"{cfg.sweep_epochs} epoch(s).")
        ctx.figure("filter_sizes", text_plots.filter_sizes, sweep_csv,
                   title="Movie polarity: accuracy and time by filter size",
                   caption="Test accuracy and CPU seconds per epoch by filter size.")
    groups = {"the sheet's models (10 tokens)": ("sheet_cnn", "sheet_rnn"),
              "four sources, full length": tuple(f"{c}_full" for c in cfg.cells.split(",")
                                                 if c),
              "movie polarity, Kim CNN": ("kim_frozen", "kim_fine-tuned")}
    ctx.figure("curves", text_plots.grouped_curves,
               {g: {n: histories[n] for n in names if n in histories}
                for g, names in groups.items()},
               title="Accuracy per epoch: validation (solid), training (dashed)",
               caption="Validation accuracy after each epoch (solid) and the running mean of "
                       "training accuracy over the epoch (dashed). The filter-size sweep's "
                       "curves are in its history_sweep_*.csv files.")
    ctx.heading("Where the CNN looks")
    ctx.table([[e["text"][:120], e["label"], e["predicted"], ", ".join(e["words"])]
               for e in ctx.metrics.get("argmax_examples", [])],
              ["test sentence", "label", "predicted", "words at most max-pool argmaxes"],
              caption="Fine-tuned Kim CNN: the words at which most filters' maxima fall "
                      "(window start).")
