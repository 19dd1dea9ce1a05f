"""Linear probes of frozen embeddings: one logistic regression per binary property.

A probe is the standard read-out of what a representation makes linearly available
(Alain & Bengio, 2017, "Understanding intermediate layers using linear classifier
probes"). Features are standardised with the training rows' mean and standard
deviation; each property gets an L2-regularised logistic regression (scikit-learn,
``C``); the score is the *balanced* accuracy on the test rows,
``(TPR + TNR) / 2`` in percent, so an always-majority probe scores 50 whatever the
class balance. A property constant on the training rows scores 50.
"""

from __future__ import annotations

import numpy as np

from mantissa.errors import ShapeError


def balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """``(TPR + TNR) / 2`` in percent; a class absent from ``y_true`` is left out of the mean."""
    y_true, y_pred = np.asarray(y_true, bool), np.asarray(y_pred, bool)
    rates = [float((y_pred[y_true == c] == c).mean()) for c in (True, False) if (y_true == c).any()]
    return 100.0 * float(np.mean(rates)) if rates else float("nan")


def probe_binary(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray,
                 c: float = 1.0, max_iter: int = 2000) -> np.ndarray:
    """Balanced test accuracy (%) of one logistic probe per column of ``train_y (n, k)`` -> ``(k,)``."""
    from sklearn.linear_model import LogisticRegression

    train_x, test_x = np.asarray(train_x, np.float64), np.asarray(test_x, np.float64)
    train_y = np.asarray(train_y, bool).reshape(len(train_y), -1)
    test_y = np.asarray(test_y, bool).reshape(len(test_y), -1)
    if len(train_x) != len(train_y) or len(test_x) != len(test_y) or train_x.shape[1] != test_x.shape[1]:
        raise ShapeError(f"probe shapes disagree: {train_x.shape}, {train_y.shape}, {test_x.shape}, "
                         f"{test_y.shape}")
    mu, sd = train_x.mean(0), train_x.std(0) + 1e-8
    a, b = (train_x - mu) / sd, (test_x - mu) / sd
    scores = []
    for j in range(train_y.shape[1]):
        if train_y[:, j].all() or not train_y[:, j].any():
            scores.append(50.0)
            continue
        clf = LogisticRegression(C=c, max_iter=max_iter).fit(a, train_y[:, j])
        scores.append(balanced_accuracy(test_y[:, j], clf.predict(b)))
    return np.array(scores)
