"""A plain logistic regression on the same pixels and split, for scale (scikit-learn)."""

from __future__ import annotations

import numpy as np

__all__ = ["logistic_regression_accuracy"]


def logistic_regression_accuracy(
    train_pixels: np.ndarray, train_labels: np.ndarray, test_pixels: np.ndarray, test_labels: np.ndarray
) -> float:
    """Accuracy on the test digits of a multinomial logistic regression fitted to the training digits.

    Pixels are scaled to [0, 1]; L2 penalty with scikit-learn's default
    strength, L-BFGS (deterministic), at most 1000 iterations, on one thread
    (a problem this small gains nothing from more, and on a busy machine
    competing BLAS threads made it 5-10 times slower).
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    if len(np.unique(train_labels)) < 2:
        return float("nan")
    clf = LogisticRegression(max_iter=1000)
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(np.asarray(train_pixels, float) / 255.0, train_labels)
        return float(np.mean(clf.predict(np.asarray(test_pixels, float) / 255.0) == test_labels))
