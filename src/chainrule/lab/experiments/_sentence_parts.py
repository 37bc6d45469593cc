"""Pieces of sentence-classification that tests use on their own: the sheet's size tables
(computed from the built models, compared with the sheet's answers) and the reading's claims
("higher"/"lower" only beyond two binomial standard errors, "faster" only beyond timer noise),
built from metrics.json and timings.json alone so tests can feed them crafted numbers.
"""

from __future__ import annotations

from ..claims import Best, Compare, Count, Fact, Num, Ratio, measured
from ._common import two_se_at_half  # noqa: F401  (the sentence readings' resolution)


def _kim(models: dict, word: str) -> str:
    return next(k for k in models if k.startswith("Kim CNN") and f"GloVe {word}" in k)


def reading_claims(m: dict, t: dict) -> list:
    """The answer's claims from ``metrics.json`` (``m``) and ``timings.json`` (``t``):
    fine-tuned vs frozen GloVe and vs the mean-vector baseline, the best recurrent cell and the
    best filter sizes (each beyond two standard errors, ``m["resolution"]``), and the largest
    single filter size's parameters and CPU time against the smallest's (time: beyond 20%,
    timer noise)."""
    models, res = m["models"], m["resolution"]
    note = "two standard errors"
    pol = measured(m, "resolution", "polarity_two_se")
    fine, frozen = _kim(models, "fine-tuned"), _kim(models, "frozen")

    def acc(key: str) -> Num:
        return measured(m, "models", key, "test_accuracy")

    out = [Compare("movie-polarity test accuracy", "fine-tuned GloVe", acc(fine),
                   "frozen GloVe", acc(frozen), resolution=pol, resolution_note=note,
                   spec="pct"),
           Compare("movie-polarity test accuracy", "the fine-tuned Kim CNN", acc(fine),
                   "logistic regression on the mean GloVe vector",
                   measured(m, "polarity_baselines", "logistic regression, mean GloVe vector"),
                   resolution=pol, resolution_note=note, spec="pct")]
    cells = [k for k in models if k.endswith("masked)")]
    if len(cells) >= 2 and "source4_two_se" in res:
        out.append(Best("four-source test accuracy of the full-length recurrent cells",
                        tuple(k.split(" ")[0] for k in cells), tuple(acc(k) for k in cells),
                        resolution=measured(m, "resolution", "source4_two_se"),
                        resolution_note=note, spec="pct"))
    sweep = [k for k in models if k.startswith("sweep: sizes ")]
    sizes = [k.split(" ")[2] for k in sweep]
    if len(sweep) >= 2:
        out.append(Best("polarity test accuracy over filter sizes (frozen GloVe)",
                        tuple(f"sizes {s}" for s in sizes), tuple(acc(k) for k in sweep),
                        resolution=pol, resolution_note=note, spec="pct"))
    single = sorted((int(s), k) for s, k in zip(sizes, sweep) if "+" not in s)
    if len(single) >= 2 and all(f"sweep_{s}" in t["cpu_seconds_per_epoch"]
                                for s in (single[0][0], single[-1][0])):
        (lo, klo), (hi, khi) = single[0], single[-1]
        out.append(Fact(f"a size-{hi} filter bank has {{0:,}} trainable parameters against "
                        f"{{1:,}} for size {lo} (k·d + 1 weights per filter)",
                        (measured(m, "models", khi, "parameters"),
                         measured(m, "models", klo, "parameters"))))
        out.append(Ratio("CPU seconds per epoch", f"size {hi}",
                         measured(t, "cpu_seconds_per_epoch", f"sweep_{hi}",
                                  file="timings.json"), f"size {lo}",
                         measured(t, "cpu_seconds_per_epoch", f"sweep_{lo}",
                                  file="timings.json"),
                         better="lower", rel=0.2, rel_note="timer noise"))
    return out


def size_claims(m: dict) -> list:
    """The sheet's sizes: how many of the CNN's and the RNN's agree (exact, quick runs too)."""
    items = tuple(measured(m, table, q, "match") for table in ("sheet_cnn_sizes",
                                                                "sheet_rnn_sizes")
                  for q in m[table])
    return [Count("sizes", f"agree with the sheet's answers (d = {m['data']['dim']} in place "
                  "of 300)", items)]


def _dims(v) -> str:
    return "×".join(map(str, v)) if isinstance(v, (tuple, list)) else str(v)


def _fc(model) -> str:
    """The output layer's size as the sheet writes it: out×in + out (stored (in, out))."""
    w = model.fc.weight.shape
    return f"{w[1]}×{w[0]} + {model.fc.bias.shape[0]}"


def sheet_cnn_sizes(model, d: int, summary) -> list[tuple]:
    """The sheet's CNN answers next to chainrule's: (quantity, sheet with d = 300, the same
    with our d, what the model/summary gives in the sheet's terms, whether they agree)."""
    rows = {r.name: r for r in summary(model, (10,)).rows}
    f, c_in, k = model.conv0.weight.shape                 # Conv1d stores (F, d, k)
    conv_out = rows["conv0"].output_shape                 # channels-last (T, F)
    got = [("input (embedded sentence)", "10×300", f"10×{d}", _dims(rows["embedding"]
                                                                   .output_shape)),
           ("kernel (one filter)", "3×300", f"3×{d}", f"{k}×{c_in}"),
           ("number of filters", "5", "5", str(f)),
           ("conv output", "10×1×5", "10×1×5", f"{conv_out[0]}×1×{conv_out[1]}"),
           ("after max-pool", "5", "5", _dims(rows["pool0"].output_shape)),
           ("FC weights + biases", "3×5 + 3", "3×5 + 3",
            _fc(model)),
           ("output (softmax)", "3", "3", _dims(rows["fc"].output_shape))]
    return [(q, sheet, want, have, want == have) for q, sheet, want, have in got]


def sheet_rnn_sizes(model, d: int, summary) -> list[tuple]:
    """The sheet's RNN answers next to chainrule's, as ``sheet_cnn_sizes``."""
    u, w, b = model.rnn.cell_parameters(0)[:3]            # U stored (d, H), W (H, H)
    rows = summary(model, (10,)).rows
    got = [("RNN input x_t", "300", f"{d}", str(u.shape[0])),
           ("U (input → state)", "50×300", f"50×{d}", f"{u.shape[1]}×{u.shape[0]}"),
           ("W (state → state)", "50×50", "50×50", f"{w.shape[1]}×{w.shape[0]}"),
           ("state s_t", "50", "50", str(w.shape[0])),
           ("recurrent bias", "none", "none", "none" if b is None else str(b.shape[0])),
           ("FC weights + biases", "4×50 + 4", "4×50 + 4",
            _fc(model)),
           ("output (softmax)", "4", "4", _dims(rows[-1].output_shape))]
    return [(q, sheet, want, have, want == have) for q, sheet, want, have in got]
