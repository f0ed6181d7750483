"""Reading digits out of spike counts: each neuron's label, predictions, accuracy, confusion, and comparisons.

As in Diehl & Cook (2015): a neuron is labelled with the class for which its
mean spike count over the labelling digits is highest (a neuron that never
fires keeps the label -1 and votes for nothing); a digit is classified as the
class whose labelled neurons fire most on average. Beside it,
:func:`predict_weighted` weighs each neuron's spikes by how much of its
response went to its own class (Hazan et al. 2018).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "N_CLASSES",
    "assign_labels",
    "class_means",
    "class_proportions",
    "predict",
    "predict_weighted",
    "accuracy",
    "confusion_matrix",
    "running_accuracy",
    "mcnemar_exact",
]

N_CLASSES = 10


def assign_labels(counts: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The label of every neuron: the class it responds to most.

    Parameters
    ----------
    counts : ndarray, shape (n_digits, n_neurons)
        Spikes of each neuron while each digit was shown.
    labels : ndarray of int, shape (n_digits,)

    Returns
    -------
    ndarray of int, shape (n_neurons,)
        A class in 0..9, or -1 for a neuron that fired for no class. Ties go
        to the lower class.
    """
    mean = class_means(counts, labels)
    best = np.argmax(mean, axis=0)
    return np.where(mean.max(axis=0) > 0, best, -1)


def class_means(counts: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each neuron's mean spike count for the digits of each class, shape (10, n_neurons) (0 for an absent class)."""
    counts = np.asarray(counts, dtype=float)
    labels = np.asarray(labels)
    mean = np.zeros((N_CLASSES, counts.shape[1]))
    for c in range(N_CLASSES):
        members = labels == c
        if members.any():
            mean[c] = counts[members].mean(axis=0)
    return mean


def class_proportions(counts: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """How each neuron's response divides among the classes, shape (10, n_neurons).

    Its mean spike count for each class over the sum of those means: a
    column sums to 1, or is all 0 for a neuron that never fired.
    """
    mean = class_means(counts, labels)
    total = mean.sum(axis=0)
    return np.divide(mean, total, out=np.zeros_like(mean), where=total > 0)


def predict(counts: np.ndarray, assignments: np.ndarray) -> np.ndarray:
    """The class of every digit: the one whose labelled neurons fire most on average.

    Parameters
    ----------
    counts : ndarray, shape (n_digits, n_neurons)
    assignments : ndarray of int, shape (n_neurons,)
        From :func:`assign_labels`.

    Returns
    -------
    ndarray of int, shape (n_digits,)
        Ties (a digit that drove no labelled neuron) go to the lower class.
    """
    counts = np.asarray(counts, dtype=float)
    return predict_weighted(counts, assignments, np.ones((N_CLASSES, counts.shape[1])))


def predict_weighted(counts: np.ndarray, assignments: np.ndarray, proportions: np.ndarray) -> np.ndarray:
    """The class of every digit by proportion weighting (Hazan et al. 2018, BindsNET).

    Each class scores the mean over its labelled neurons of their spikes,
    each neuron's in proportion to how much of its response went to its own
    class on the labelling digits: a neuron that fires for one class only
    counts fully, one that fires nearly as much for others counts less
    (:func:`predict` counts every neuron fully).

    Parameters
    ----------
    counts : ndarray, shape (n_digits, n_neurons)
    assignments : ndarray of int, shape (n_neurons,)
        From :func:`assign_labels`.
    proportions : ndarray, shape (10, n_neurons)
        From :func:`class_proportions` on the same labelling digits.

    Returns
    -------
    ndarray of int, shape (n_digits,)
        Ties go to the lower class.
    """
    counts = np.asarray(counts, dtype=float)
    scores = np.zeros((counts.shape[0], N_CLASSES))
    for c in range(N_CLASSES):
        members = assignments == c
        if members.any():
            scores[:, c] = (counts[:, members] * proportions[c, members]).mean(axis=1)
    return np.argmax(scores, axis=1)


def accuracy(predicted: np.ndarray, labels: np.ndarray) -> float:
    """The fraction of digits classified right (nan for no digits)."""
    predicted, labels = np.asarray(predicted), np.asarray(labels)
    return float(np.mean(predicted == labels)) if len(labels) else float("nan")


def confusion_matrix(predicted: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Counts, shape (10, 10): row = true class, column = predicted class."""
    m = np.zeros((N_CLASSES, N_CLASSES), dtype=np.int64)
    np.add.at(m, (np.asarray(labels), np.asarray(predicted)), 1)
    return m


def running_accuracy(counts: np.ndarray, labels: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy over training, as Diehl & Cook measured it.

    The neurons are labelled from their responses to one window of digits and
    classify the next window with those labels, while learning goes on.

    Parameters
    ----------
    counts : ndarray, shape (n_digits, n_neurons)
        Responses during training, in the order the digits were shown.
    labels : ndarray of int, shape (n_digits,)
    window : int
        Digits per window.

    Returns
    -------
    digits_seen : ndarray of int
        The end of each scored window (digits learnt so far).
    acc : ndarray of float
        Accuracy on that window with the labels of the window before.
    """
    ends, acc = [], []
    for start in range(window, len(labels), window):
        stop = min(start + window, len(labels))
        assigned = assign_labels(counts[start - window : start], labels[start - window : start])
        acc.append(accuracy(predict(counts[start:stop], assigned), labels[start:stop]))
        ends.append(stop)
    return np.asarray(ends, dtype=np.int64), np.asarray(acc)


def mcnemar_exact(correct_a: np.ndarray, correct_b: np.ndarray) -> tuple[int, int, float]:
    """McNemar's exact test of two classifiers on the same digits (one-sided: is A better than B?).

    Returns ``(a_only, b_only, p)``: digits only A got right, only B got right,
    and the probability of at least ``a_only`` of the ``a_only + b_only``
    discordant digits going to A if both were equally good (binomial, 1/2).
    """
    from scipy.stats import binomtest

    a, b = np.asarray(correct_a, bool), np.asarray(correct_b, bool)
    a_only, b_only = int(np.sum(a & ~b)), int(np.sum(~a & b))
    if a_only + b_only == 0:
        return 0, 0, 1.0
    return a_only, b_only, float(binomtest(a_only, a_only + b_only, 0.5, alternative="greater").pvalue)
