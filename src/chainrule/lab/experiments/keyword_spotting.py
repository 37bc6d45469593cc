"""keyword-spotting — how is each keyword-spotting mini-batch formed, and what does each
technique buy? (UCL COMP0090 A2 question 4, on TensorFlow speech_commands' ``input_data.py``.)

chainrule builds that batch generator (``chainrule.audio.batches.AudioProcessor``, TF's knob
names), trains a small keyword CNN (``chainrule.models.kws.KeywordCNN``) on log-mel
spectrograms (30 ms / 10 ms / 40 bands), and removes each technique in turn: **time shift**
(±``time_shift_ms`` with zero fill), **zero padding** (short clips zero-padded to 1 s; removed
= each clip stretched to 1 s and shifts wrapped), **amplitude scaling** (random gain in
[``gain_low``, ``gain_high``]), **background noise** (``background_frequency`` of the clips
get training noise at volume U(0, ``background_volume``)), **silence** (``silence_percentage``
of each batch is noise alone at volume U(0, 1), label ``_silence_``), **unknown**
(``unknown_percentage`` non-keywords, label ``_unknown_``) and **class balancing** (digits
drawn uniformly, vs as found in a training pool made deliberately imbalanced: digit d keeps
``train_imbalance ** (d/9)`` of its clips). Rows: the full recipe, each technique removed,
the plain baseline, and the baseline with each added alone — all in one run. Within a fold
every recipe starts from the same initial weights and the same generator seed (a paired
comparison), and the reading calls a difference clear only when it is at least one point and
more than twice its standard error over the folds.

Data: keywords are the ten FSDD digits (real, 6 speakers), tested on **speakers never heard
in training**: speakers sorted by their ``which_set`` hash and cut into pairs, one fold per
held-out pair (``folds`` of 3). Training adds synthetic digits and non-keywords from
espeak-ng / flite voices (``chainrule.audio.synth``; whole voices held out, training only,
never in a test set). The unknown-word test set is real: Debian's asterisk prompts (one
speaker, Allison, a test speaker by the same hash). Noise for training and testing comes from
separate files (``chainrule.audio.corpus.noise_bank``). Test conditions: clean; test noise at
SNR 20/10/0 dB; shifts of ±100 ms; levels −12/+6 dB; unknown-word false accepts (fraction
of Allison's words called a digit); noise false alarms (noise alone called a digit).

Figures: one per condition family (noise, shift and level, false accepts: bars per recipe,
whiskers = spread over folds); the full model's confusion matrix (clean digits, unknown words
and noise, summed over folds); one training batch with what was applied to each clip; and a
diagram of the batch generation. The anchor: the same recipe on a random-utterance split
(speakers shared between train and test) against the speaker split.

Longer settings: ``--set steps=1000 batch_size=100`` (TF trains 18,000 steps of 100);
``--set folds=1`` for the which_set held-out pair only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ...metrics import confusion_matrix
from ..context import RunContext
from ..registry import register
from . import _kws_parts as P
from ._common import write_timings


@dataclass
class Config:
    folds: int = 3                 # held-out speaker pairs (1-3)
    steps: int = 150               # gradient steps per training
    batch_size: int = 64
    lr: float = 0.003              # Adam, cosine decay to 0 over the steps
    channels: tuple[int, ...] = (8, 16, 32)
    rows: tuple[str, ...] = ()     # recipe keys (full, no_*, plain, only_*); () = all 16
    time_shift_ms: float = 100.0
    gain_low: float = 0.25
    gain_high: float = 2.0
    background_frequency: float = 0.8
    background_volume: float = 0.1
    silence_volume: float = 1.0
    silence_percentage: float = 10.0
    unknown_percentage: float = 10.0
    train_imbalance: float = 0.2   # rarest digit keeps this fraction of its training clips
    voices: int = 0                # synthetic voices (0 = all 16; held-out ones never train)
    n_test_per_speaker: int = 250  # held-out clips per test speaker (0 = all 500)
    n_silence_test: int = 200
    anchor: bool = True            # also train on a random-utterance split
    synth_cache: str = "user"      # "user" (~/.cache/chainrule/synth) or "run" (run folder)


def _train(fold, bank, cfg, on, feat, seed):
    import chainrule as cr
    from chainrule.models.kws import KeywordCNN
    from chainrule.train import LearningRateScheduler, fit

    proc = P.processor(fold, bank["train"], cfg, on, seed)
    model = KeywordCNN((1, 98, 40), len(P.NAMES), cfg.channels, rng=seed + 1)
    opt = cr.optim.Adam(model.parameters(), lr=cfg.lr)
    hist = fit(model, cr.SoftmaxCrossEntropy(), opt,
               P.BatchStream(proc, cfg.steps, cfg.batch_size, feat), epochs=1,
               callbacks=[LearningRateScheduler(cr.optim.CosineDecay(cfg.steps), per="step")],
               progress=False)
    return model, float(hist.epoch_log[-1]["loss"])


def _predict(model, feats):
    from chainrule.train import predict

    return {c: predict(model, f, 500).argmax(axis=1) for c, f in feats.items()}


def _load(cfg, ctx):
    from chainrule import data
    from chainrule.audio import corpus, synth
    from chainrule.data.fsdd import which_set

    rec = data.load("fsdd", "all")
    voices = synth.VOICES[:cfg.voices or None]
    train_voices = [v for v in voices if synth.voice_split(v) == "train"]
    if cfg.synth_cache not in ("user", "run"):
        raise ValueError(f"synth_cache must be 'user' or 'run', got {cfg.synth_cache!r}")
    folder = ctx.out / "synth_cache" if cfg.synth_cache == "run" else None
    kw = corpus.synthetic_words(corpus.DIGIT_WORDS, train_voices, P.RATE, folder)
    unk = corpus.synthetic_words(corpus.NON_KEYWORDS, train_voices, P.RATE, folder)
    allison = corpus.asterisk_words(corpus.ASTERISK_SOUNDS, P.RATE)
    if which_set(corpus.ALLISON) != "test":
        raise RuntimeError("the unknown-word speaker must hash to test")
    bank = corpus.noise_bank(corpus.ASTERISK_SOUNDS, corpus.ASTERISK_MOH, P.RATE, folder=folder)
    ctx.add_source(f"keywords: FSDD ($CHAINRULE_DATA/fsdd), {len(rec):,} real clips, "
                   f"{len(set(rec.speakers))} speakers, 8 kHz")
    ctx.add_source(f"synthetic (training only): {len(kw)} digits and {len(unk)} non-keywords "
                   f"from {len(train_voices)} espeak-ng/flite voices; "
                   f"{len(voices) - len(train_voices)} voices held out")
    ctx.add_source(f"unknown words (test): {len(allison)} real prompts of Debian's "
                   "asterisk-core-sounds-en-wav (speaker Allison)")
    for split in ("train", "test"):
        ctx.add_source(f"{split} noise: " + ", ".join(n for n, _ in bank[split]))
    return rec, kw, unk, allison, bank, voices, train_voices


def _anchor(cfg, ctx, rec, kw, unk, bank, seed):
    """Full recipe on a random-utterance split: clean accuracy on unseen takes of seen
    speakers (same training size and test size as a speaker fold)."""
    perm = np.random.default_rng(seed).permutation(len(rec))
    n_test = 2 * (cfg.n_test_per_speaker or 500)
    test_idx, train_idx = np.sort(perm[:n_test]), np.sort(perm[n_test:n_test + 2000])
    fold = P.make_fold("random", rec, train_idx, test_idx, kw, unk, cfg.train_imbalance, 0,
                       np.random.default_rng(seed))
    feat = P.Featurizer(np.stack([P.place(w, P.RATE, "center") for w in fold.waves[:512]]))
    model, _ = _train(fold, bank, cfg, frozenset(P.TECHNIQUES), feat, seed)
    clean = np.stack([P.place(w, P.RATE, "center") for w in fold.test_waves])
    pred = _predict(model, {"clean": feat(clean)})["clean"]
    return P.score(pred, "clean", fold.test_digits)


@register("keyword-spotting", question="How does speech_commands form keyword-spotting "
          "mini-batches (time shift, zero padding, amplitude scaling, background noise, "
          "silence, unknown class, class balancing), and what does each buy on unseen "
          "speakers?", config=Config,
          quick={"folds": 1, "steps": 3, "batch_size": 16, "voices": 3,
                 "n_test_per_speaker": 20, "n_silence_test": 20, "channels": (4, 4, 8)},
          runtime={"quick": "11 s", "full": "6 min 58 s"},   # make run, 2 jobs, warm synth cache
          source="UCL COMP0090 A2, question 4 (TensorFlow speech_commands' input_data.py)")
def run(cfg: Config, ctx: RunContext) -> None:
    from ._kws_report import report

    rec, kw, unk, allison, bank, voices, train_voices = _load(cfg, ctx)
    rows = [r for r in P.recipes() if not cfg.rows or r[0] in cfg.rows]
    pads = sorted({"zeros" if "zero_padding" in on else "stretch" for _, _, on in rows})
    folds = P.speaker_pairs(rec.speakers)[:cfg.folds]
    spk = np.array(rec.speakers)
    scores: dict[str, list[dict[str, float]]] = {k: [] for k, _, _ in rows}
    losses: dict[str, list[float]] = {k: [] for k, _, _ in rows}
    cm = np.zeros((len(P.NAMES), len(P.NAMES)), np.int64)
    timings: dict[str, float] = {}
    fold_info = []
    for fi, pair in enumerate(folds):
        test_idx = np.flatnonzero(np.isin(spk, pair))
        train_idx = np.flatnonzero(~np.isin(spk, pair))
        fold = P.make_fold(f"fold{fi}", rec, train_idx, test_idx, kw, unk, cfg.train_imbalance,
                           cfg.n_test_per_speaker, np.random.default_rng(ctx.seed + fi))
        fold_info.append({"test_speakers": list(fold.test_speakers),
                          "train_speakers": list(fold.train_speakers),
                          "train_clips": len(fold.waves),
                          "train_synthetic": int(fold.synthetic.sum()),
                          "test_clips": len(fold.test_waves)})
        feat = P.Featurizer(np.stack([P.place(w, P.RATE, "center") for w in fold.waves[:512]]))
        feats = {pad: {c: feat(x) for c, x in P.test_sets(
            fold, allison, bank["test"], pad, cfg.n_silence_test, ctx.seed + 100 + fi).items()}
            for pad in pads}
        for key, _, on in rows:
            t0 = time.perf_counter()
            seed = ctx.seed * 1000 + 10 * fi
            model, loss = _train(fold, bank, cfg, on, feat, seed)
            pad = "zeros" if "zero_padding" in on else "stretch"
            preds = _predict(model, feats[pad])
            scores[key].append({c: P.score(preds[c], c, fold.test_digits) for c in preds})
            losses[key].append(loss)
            if key == "full":
                cm += _confusion(preds, fold.test_digits)
                if fi == 0:
                    _save_batch(ctx, fold, bank, cfg, on, feat, seed)
            timings[f"{fold.name}/{key}"] = time.perf_counter() - t0
            ctx.log(f"{fold.name} {'/'.join(pair)} {key}: clean "
                    f"{scores[key][-1]['clean']:.3f} ({timings[f'{fold.name}/{key}']:.1f} s)")
    anchor = None
    if cfg.anchor and "full" in scores:
        t0 = time.perf_counter()
        anchor = _anchor(cfg, ctx, rec, kw, unk, bank, ctx.seed * 1000 + 999)
        timings["anchor"] = time.perf_counter() - t0
    write_timings(ctx, timings)
    report(ctx, cfg, rows, scores, losses, cm, fold_info, anchor,
           {"voices": [v.name for v in voices], "train_voices": [v.name for v in train_voices],
            "unknown_test_words": len(allison), "synthetic_keywords": len(kw),
            "synthetic_unknown": len(unk)})


def _confusion(preds, digits) -> np.ndarray:
    """12×12 counts over clean digits (true 2+d), unknown words (1) and noise alone (0)."""
    true = np.concatenate([digits + 2, np.ones(len(preds["unknown_fa"]), np.int64),
                           np.zeros(len(preds["silence_fa"]), np.int64)])
    pred = np.concatenate([preds["clean"], preds["unknown_fa"], preds["silence_fa"]])
    return confusion_matrix(true, pred, len(P.NAMES))


def _save_batch(ctx, fold, bank, cfg, on, feat, seed) -> None:
    """One training batch of the full recipe (waveforms, features, what was applied)."""
    import json

    proc = P.processor(fold, bank["train"], cfg, on, seed + 7)
    x, y, applied = proc.get_data(6)
    for a in applied:
        if "clip" in a:
            a["synthetic"] = bool(fold.synthetic[a.pop("clip")])
    np.savez_compressed(ctx.path("batch.npz"), x=x, y=y, features=feat(x)[:, 0],
                        names=np.array(P.NAMES), applied=json.dumps(applied))
