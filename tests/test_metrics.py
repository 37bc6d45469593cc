"""Metrics against hand-worked examples and scikit-learn on random labels."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import metrics

C = 5


@pytest.fixture
def labels(rng):
    """Random labels where class 3 is never predicted and class 4 never occurs in the truth."""
    y_true = rng.integers(0, 4, 200)
    y_pred = rng.integers(0, 5, 200)
    y_pred[y_pred == 3] = 0
    return y_true, y_pred


def test_hand_worked_example():
    y_true = np.array([0, 0, 1, 1, 2, 2])
    y_pred = np.array([0, 1, 1, 1, 0, 0])
    cm = metrics.confusion_matrix(y_true, y_pred, 3)
    np.testing.assert_array_equal(cm, [[1, 1, 0], [0, 2, 0], [2, 0, 0]])
    p, r, f1, support = metrics.precision_recall_f1(y_true, y_pred, 3)
    np.testing.assert_allclose(p, [1 / 3, 2 / 3, 0.0])   # class 2 never predicted: 0/0 → 0
    np.testing.assert_allclose(r, [0.5, 1.0, 0.0])
    np.testing.assert_allclose(f1, [0.4, 0.8, 0.0])
    np.testing.assert_array_equal(support, [2, 2, 2])
    assert metrics.accuracy(y_true, y_pred) == 0.5
    assert metrics.macro_f1(y_true, y_pred, 3) == pytest.approx(0.4)


def test_accuracy_from_logits_and_type(rng):
    logits = rng.standard_normal((50, 4))
    y = rng.integers(0, 4, 50)
    acc = metrics.accuracy(y, logits)
    assert isinstance(acc, float)
    assert acc == np.mean(logits.argmax(1) == y)
    np.testing.assert_array_equal(metrics.confusion_matrix(y, logits, 4),
                                  metrics.confusion_matrix(y, logits.argmax(1), 4))


def test_against_sklearn(labels):
    sk = pytest.importorskip("sklearn.metrics")
    y_true, y_pred = labels
    ks = np.arange(C)
    np.testing.assert_array_equal(metrics.confusion_matrix(y_true, y_pred, C),
                                  sk.confusion_matrix(y_true, y_pred, labels=ks))
    p, r, f1, support = metrics.precision_recall_f1(y_true, y_pred, C)
    sp, sr, sf, ss = sk.precision_recall_fscore_support(y_true, y_pred, labels=ks,
                                                        zero_division=0)
    np.testing.assert_allclose(p, sp, rtol=1e-12)
    np.testing.assert_allclose(r, sr, rtol=1e-12)
    np.testing.assert_allclose(f1, sf, rtol=1e-12)
    np.testing.assert_array_equal(support, ss)
    assert p[3] == 0.0 and r[4] == 0.0  # the 0/0 convention, on both sides
    assert metrics.accuracy(y_true, y_pred) == pytest.approx(sk.accuracy_score(y_true, y_pred))
    assert metrics.macro_f1(y_true, y_pred, C) == pytest.approx(
        sk.f1_score(y_true, y_pred, labels=ks, average="macro", zero_division=0), rel=1e-12)


def test_classification_report_matches_sklearn_dict(labels):
    sk = pytest.importorskip("sklearn.metrics")
    y_true, y_pred = labels
    ours = metrics.classification_report(y_true, y_pred, C, as_dict=True)
    theirs = sk.classification_report(y_true, y_pred, labels=np.arange(C), output_dict=True,
                                      zero_division=0)
    assert list(ours) == list(theirs)
    assert ours["accuracy"] == pytest.approx(theirs["accuracy"])
    for key in theirs:
        if key != "accuracy":
            for field, value in theirs[key].items():
                assert ours[key][field] == pytest.approx(value, rel=1e-12), (key, field)


def test_classification_report_text_and_names():
    text = metrics.classification_report([0, 1, 1], [0, 1, 0], 2, class_names=["cat", "dog"])
    assert isinstance(text, str)
    lines = text.splitlines()
    assert lines[0].split() == ["precision", "recall", "f1-score", "support"]
    assert lines[2].split() == ["cat", "0.5000", "1.0000", "0.6667", "1"]
    assert "accuracy" in text and "macro avg" in text and "weighted avg" in text
    with pytest.raises(ValueError, match="3 class names for 2 classes"):
        metrics.classification_report([0, 1], [0, 1], 2, class_names=["a", "b", "c"])


def test_errors():
    with pytest.raises(ValueError, match=r"y_pred has labels outside \[0, 3\): \[3\]"):
        metrics.confusion_matrix([0, 1], [0, 3], 3)
    with pytest.raises(ValueError, match="y_true has 2 samples, y_pred 3"):
        metrics.accuracy([0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="non-integral"):
        metrics.accuracy([0.5, 1.0], [0, 1])
    with pytest.raises(ValueError, match="empty"):
        metrics.accuracy([], [])


def test_confusion_matrix_infers_classes():
    cm = metrics.confusion_matrix([0, 2], [1, 2])
    assert cm.shape == (3, 3) and cm.sum() == 2 and cm.dtype == np.int64
