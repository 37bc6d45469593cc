"""Classification metrics in plain NumPy: accuracy, confusion matrix, precision/recall/F1.

Conventions
-----------
* Labels are integers in ``[0, C)``. Wherever a prediction is expected, a 2-D array of
  scores (logits or probabilities, ``(N, C)``) is accepted too and reduced with ``argmax``.
* ``confusion_matrix[i, j]`` counts samples whose **true** class is ``i`` and whose
  **predicted** class is ``j`` (rows = truth, columns = prediction, as in scikit-learn).
* For class k with true positives TP, false positives FP and false negatives FN:
  ``precision = TP/(TP+FP)``, ``recall = TP/(TP+FN)``, ``F1 = 2TP/(2TP+FP+FN)``
  (= the harmonic mean of precision and recall). **A 0/0 is defined as 0** — a class that
  is never predicted has precision 0, a class absent from the truth has recall 0 — which is
  scikit-learn's ``zero_division=0``; no warning is raised.
* ``macro_f1`` is the unweighted mean of the per-class F1 over all C classes (including
  classes that never occur), i.e. ``f1_score(average="macro", labels=range(C))``.
"""

from __future__ import annotations

import numpy as np


def _labels(y: np.ndarray, what: str) -> np.ndarray:
    """Integer label vector from labels or (N, C) scores."""
    y = np.asarray(y)
    if y.ndim == 2:
        y = y.argmax(axis=1)
    if y.ndim != 1:
        raise ValueError(f"{what} must be labels (N,) or scores (N, C), got shape {y.shape}")
    if y.dtype.kind == "f":
        if np.any(y != np.round(y)):
            raise ValueError(f"{what} holds non-integral values; pass integer class labels")
        y = y.astype(np.int64)
    elif y.dtype.kind not in "iub":
        raise ValueError(f"{what} must be integer class labels, got dtype {y.dtype}")
    return y.astype(np.int64, copy=False)


def _pair(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t, p = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_true has {t.shape[0]} samples, y_pred {p.shape[0]}")
    return t, p


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of samples whose predicted class (labels, or argmax of scores) is the true one."""
    t, p = _pair(y_true, y_pred)
    if t.size == 0:
        raise ValueError("accuracy of an empty set is undefined")
    return float(np.mean(t == p))


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray,
                     num_classes: int | None = None) -> np.ndarray:
    """(C, C) int64 counts, rows = true class, columns = predicted class.

    ``num_classes`` defaults to ``1 + max label seen``; labels outside ``[0, C)`` raise.
    """
    t, p = _pair(y_true, y_pred)
    if num_classes is None:
        num_classes = int(max(t.max(initial=-1), p.max(initial=-1))) + 1
    c = int(num_classes)
    for name, y in (("y_true", t), ("y_pred", p)):
        if y.size and (y.min() < 0 or y.max() >= c):
            raise ValueError(f"{name} has labels outside [0, {c}): "
                             f"{sorted(set(y[(y < 0) | (y >= c)].tolist()))[:5]}")
    return np.bincount(t * c + p, minlength=c * c).reshape(c, c)


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num/den elementwise, with 0/0 (and x/0) defined as 0."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.zeros(np.broadcast(num, den).shape, dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out


def precision_recall_f1(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int | None = None
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-class ``(precision, recall, f1, support)``, each of shape (C,); 0/0 counts as 0.

    ``support[k]`` is the number of samples whose true class is k.
    """
    cm = confusion_matrix(y_true, y_pred, num_classes)
    tp = np.diag(cm)
    predicted = cm.sum(axis=0)   # TP + FP
    support = cm.sum(axis=1)     # TP + FN
    precision = _safe_div(tp, predicted)
    recall = _safe_div(tp, support)
    f1 = _safe_div(2 * tp, predicted + support)  # 2TP / (2TP + FP + FN)
    return precision, recall, f1, support


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int | None = None) -> float:
    """Unweighted mean of the per-class F1 over all classes."""
    return float(precision_recall_f1(y_true, y_pred, num_classes)[2].mean())


def classification_report(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int | None = None,
                          *, class_names: list[str] | None = None,
                          as_dict: bool = False) -> dict | str:
    """Per-class precision, recall, F1 and support, plus accuracy and macro/weighted averages.

    With ``as_dict=True`` the result has scikit-learn's ``output_dict`` layout: one key per
    class name (default ``"0"``, ``"1"``, ...) mapping to ``{"precision", "recall",
    "f1-score", "support"}``, then ``"accuracy"`` (a float), ``"macro avg"`` and
    ``"weighted avg"`` (weighted by support). Otherwise a fixed-width text table.
    """
    precision, recall, f1, support = precision_recall_f1(y_true, y_pred, num_classes)
    c = len(support)
    names = [str(k) for k in range(c)] if class_names is None else [str(n) for n in class_names]
    if len(names) != c:
        raise ValueError(f"{len(names)} class names for {c} classes")
    report: dict = {}
    for k, name in enumerate(names):
        report[name] = {"precision": float(precision[k]), "recall": float(recall[k]),
                        "f1-score": float(f1[k]), "support": int(support[k])}
    total = int(support.sum())
    report["accuracy"] = accuracy(y_true, y_pred)
    weights = _safe_div(support, total)
    for key, w in (("macro avg", np.full(c, 1.0 / c)), ("weighted avg", weights)):
        report[key] = {"precision": float(w @ precision), "recall": float(w @ recall),
                       "f1-score": float(w @ f1), "support": total}
    if as_dict:
        return report
    width = max(12, *(len(n) for n in names))
    lines = [f"{'':>{width}}  precision  recall  f1-score  support", ""]
    for name in [*names, "", "macro avg", "weighted avg"]:
        if name == "":
            lines.append(f"{'accuracy':>{width}}  {'':>9}  {'':>6}  {report['accuracy']:8.4f}  "
                         f"{total:7d}")
            continue
        r = report[name]
        lines.append(f"{name:>{width}}  {r['precision']:9.4f}  {r['recall']:6.4f}  "
                     f"{r['f1-score']:8.4f}  {r['support']:7d}")
    return "\n".join(lines)
