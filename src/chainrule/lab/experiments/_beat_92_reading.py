"""beat-92's readings as claims over the measured stage rows (``metrics[dataset]["stages"]``).

* ``mattered_claims`` — per dataset, what each technique did to the last-epoch validation
  accuracy against the row it was added to (the conv stage against the bridge row, trained on
  the same images and epochs), called a change only beyond the largest swing of any stage's
  validation accuracy over its last (up to) 5 epochs (``swing_max``: differences smaller than
  that are within the epoch-to-epoch noise), and what random shifts did to the train−validation
  gap;
* ``answer_claims`` — per dataset, the final model (the stage with the best validation
  accuracy), whether it exceeds the coursework's 92% and the 95% bonus, and its test accuracy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..claims import Best, Change, Fact, Threshold, metric
from ._beat_92_checks import BRIDGE, STAGES

SWING_EPOCHS = 5   # the epochs over which a stage's validation accuracy swing is measured


def record_swing(m: dict, curves: dict) -> None:
    """Store each stage's validation-accuracy swing over its last ``SWING_EPOCHS`` epochs (read
    from the saved curves) and their maximum, and each row's train−validation gap, in ``m``."""
    from ... import plots

    m["swing"] = {n: float(np.ptp(plots.read_csv(p)["val_accuracy"][-SWING_EPOCHS:]))
                  for n, p in curves.items()}
    m["swing_max"] = max(m["swing"].values())
    for r in m["stages"]:
        r["gap"] = r["train_accuracy"] - r["val_accuracy"]


def reference_rows(rows: list) -> dict:
    """Each stage's reference row index: the previous stage; the bridge for the conv stage
    (the same data and epochs), stage 6 for the bridge; ``None`` for the starter."""
    index = {r["stage"]: i for i, r in enumerate(rows)}
    ref: dict[str, int | None] = {}
    prev = None
    for i, r in enumerate(rows):
        st = r["stage"]
        ref[st] = (index[STAGES[5]] if st == BRIDGE else
                   index.get(BRIDGE, index[STAGES[5]]) if st == STAGES[6] else prev)
        prev = i
    return ref


def mattered_claims(ctx: Any, name: str) -> list:
    """What each technique did on dataset ``name`` (see the module docstring)."""
    m = ctx.metrics[name]
    rows = m["stages"]
    ref = reference_rows(rows)

    def row(i: int, key: str) -> Any:
        return metric(ctx, name, "stages", i, key)

    swing = metric(ctx, name, "swing_max")
    note = f"the largest swing over {SWING_EPOCHS} epochs"
    out: list = [Best(f"validation-accuracy swing over the last {SWING_EPOCHS} epochs",
                      tuple(f"'{n}'" for n in m["swing"]),
                      tuple(metric(ctx, name, "swing", n) for n in m["swing"]),
                      better="higher", spec="pct")]
    for i, r in enumerate(rows):
        j = ref[r["stage"]]
        if j is None or r["stage"] == BRIDGE:
            continue
        cause = f"'{r['stage']}'" + (" (against the MLP on the same images and epochs)"
                                     if r["stage"] == STAGES[6] else "")
        out.append(Change(cause, "validation accuracy", row(j, "val_accuracy"),
                          row(i, "val_accuracy"), better="higher", resolution=swing,
                          resolution_note=note, spec="pct"))
    by = {r["stage"]: i for i, r in enumerate(rows)}
    out.append(Change("random shifts", "the train−validation accuracy gap",
                      row(by[STAGES[6]], "gap"), row(by[STAGES[7]], "gap"), better="lower",
                      resolution=swing, resolution_note=note, spec="pct"))
    return out


def answer_claims(ctx: Any, titles: dict) -> list:
    """Per dataset: the final model, the 92% target and 95% bonus, the test accuracy."""
    out: list = []
    for name in ctx.metrics["datasets"]:
        title = titles.get(name, name)

        def at(*keys: Any, n: str = name) -> Any:
            return metric(ctx, n, *keys)

        out += [Fact(f"on {title}, the final model is the stage with the best validation "
                     "accuracy, '{0}'", (at("final_stage"),)),
                Threshold(f"on {title}, its validation accuracy", at("final_val_accuracy"),
                          at("target"), op=">", bar_note="the coursework's target", spec="pct"),
                Threshold(f"on {title}, its validation accuracy", at("final_val_accuracy"),
                          at("bonus"), op=">", bar_note="the bonus", spec="pct"),
                Fact(f"on {title}, its test accuracy is " + "{0:.2%} on {1:,} test images",
                     (at("final_test_accuracy"), at("n_test")))]
    return out
