"""Pieces of sentence-classification that tests use on their own: the sheet's size tables
(computed from the built models, compared with the sheet's answers) and the reading's claims
("higher"/"lower" only beyond two binomial standard errors, "faster" only beyond timer noise).
"""

from __future__ import annotations

import numpy as np

from ._common import pct


def difference(a: float, b: float, resolution: float, what: str = "accuracy") -> str:
    """'higher'/'lower' only beyond ``resolution``, else 'no clear difference'."""
    if a - b > resolution:
        return f"higher {what} ({pct(a)} vs {pct(b)})"
    if b - a > resolution:
        return f"lower {what} ({pct(a)} vs {pct(b)})"
    return f"no clear difference in {what} ({pct(a)} vs {pct(b)})"


def filter_reading(rows: list[dict], res: float, d: int) -> str:
    """The measured answer to "small vs large filter sizes", from the sweep's rows."""
    single = [r for r in rows if "+" not in r["sizes"]]
    best = max(rows, key=lambda r: r["test_accuracy"])
    worst = min(rows, key=lambda r: r["test_accuracy"])
    text = (f"**Reading.** A filter of size k over {d}-d vectors has k·{d} + 1 weights, so "
            "with the same number of filters the parameters and multiply-adds grow linearly "
            "with k; a small k sees single words or pairs, a large k whole phrases (and, "
            "after the max over positions, one phrase per filter). Best sizes "
            f"{best['sizes']}, worst {worst['sizes']}: "
            f"{difference(best['test_accuracy'], worst['test_accuracy'], res)}.")
    if len(single) >= 2:
        lo, hi = single[0], single[-1]
        text += (f" Size {hi['sizes']} has {hi['parameters']:,} trainable parameters against "
                 f"{lo['parameters']:,} for size {lo['sizes']} and is "
                 f"{faster(hi['seconds_per_epoch'], lo['seconds_per_epoch'])} per epoch.")
    return text


def faster(t_a: float, t_b: float, rel: float = 0.2) -> str:
    """'faster'/'slower' only when the times differ by more than ``rel`` (timer noise)."""
    if t_a < t_b * (1 - rel):
        return f"faster ({t_a:.2f} s vs {t_b:.2f} s)"
    if t_a > t_b * (1 + rel):
        return f"slower ({t_a:.2f} s vs {t_b:.2f} s)"
    return f"no clear difference in time ({t_a:.2f} s vs {t_b:.2f} s)"


def resolution(n_test: int) -> float:
    """Two binomial standard errors at 50% accuracy: differences below this are noise."""
    return 2 * 0.5 / np.sqrt(max(n_test, 1))


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
