"""Figures of a digits run: the learnt weights as 28 x 28 images, the confusion matrix, accuracy over training.

Every function returns a matplotlib ``Figure`` (no pyplot state); the run
writes them with :func:`spiking.io.atomic.save_figure`.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure

__all__ = ["weight_grid", "plot_weights", "plot_confusion", "plot_accuracy"]


def weight_grid(w: np.ndarray, side: int = 28, columns: int | None = None) -> np.ndarray:
    """Tile every neuron's input weights as an image, row by row.

    Parameters
    ----------
    w : ndarray, shape (side * side, n_neurons)
    columns : int, optional
        Images per row (default ``ceil(sqrt(n_neurons))``).

    Returns
    -------
    ndarray, shape (rows * side, columns * side)
        Neuron ``k`` at tile ``(k // columns, k % columns)``; unused tiles are nan.
    """
    n = w.shape[1]
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    grid = np.full((rows * columns, side, side), np.nan)
    grid[:n] = w.T.reshape(n, side, side)
    return grid.reshape(rows, columns, side, side).transpose(0, 2, 1, 3).reshape(rows * side, columns * side)


def plot_weights(w: np.ndarray, assignments: np.ndarray | None = None, title: str = "") -> Figure:
    """The input weights of every excitatory neuron (neuron ``k`` at row ``k // columns``), labelled in the corner when given."""
    n = w.shape[1]
    columns = math.ceil(math.sqrt(n))
    grid = weight_grid(w, columns=columns)
    size = min(11.0, max(4.0, columns * 0.5))
    fig = Figure(figsize=(size + 1.3, size * grid.shape[0] / grid.shape[1] + 0.5), layout="constrained")
    ax = fig.add_subplot()
    im = ax.imshow(grid, cmap="hot_r", vmin=0, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    for k in range(1, columns):
        ax.axvline(k * 28 - 0.5, color="0.7", lw=0.3)
    for k in range(1, grid.shape[0] // 28):
        ax.axhline(k * 28 - 0.5, color="0.7", lw=0.3)
    if assignments is not None and n <= 400:
        for k, label in enumerate(assignments):
            r, c = divmod(k, columns)
            ax.text(
                c * 28 + 1.5,
                r * 28 + 1.5,
                str(label) if label >= 0 else "-",
                color="tab:blue",
                fontsize=6 if columns <= 10 else 4,
                va="top",
                bbox={"facecolor": "white", "alpha": 0.7, "pad": 0.5, "linewidth": 0},
            )
    fig.colorbar(im, ax=ax, shrink=0.6, label="weight")
    ax.set_title(title or f"input weights of {n} excitatory neurons", fontsize=10)
    return fig


def plot_confusion(matrix: np.ndarray, title: str = "") -> Figure:
    """Counts of true (rows) against predicted (columns) digits, with the accuracy in the title."""
    fig = Figure(figsize=(5.6, 5.0))
    ax = fig.add_subplot()
    im = ax.imshow(matrix, cmap="Blues")
    top = matrix.max() if matrix.size else 0
    for (r, c), v in np.ndenumerate(matrix):
        if v:
            ax.text(c, r, str(v), ha="center", va="center", fontsize=7, color="white" if v > top / 2 else "black")
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.colorbar(im, ax=ax, shrink=0.8, label="digits")
    total = matrix.sum()
    acc = np.trace(matrix) / total if total else float("nan")
    ax.set_title(title or f"held-out digits: {acc:.1%} of {total} right", fontsize=10)
    fig.tight_layout()
    return fig


def plot_accuracy(
    digits_seen: np.ndarray,
    running: np.ndarray,
    window: int,
    final: float | None,
    logistic: float | None,
    pass_digits: int | None = None,
    tested_on: str = "held-out",
    weighted: float | None = None,
) -> Figure:
    """Running accuracy over training, with the final accuracy, logistic regression and chance for scale.

    ``pass_digits`` (digits per pass over the training set) marks where each
    pass ends; ``tested_on`` names the digits of the final accuracy;
    ``weighted`` is that accuracy with the proportion-weighted read-out.
    """
    fig = Figure(figsize=(6.4, 4.4), layout="constrained")
    ax = fig.add_subplot()
    if len(running):
        ax.plot(digits_seen, 100 * np.asarray(running), "o-", ms=3, label=f"running (window of {window} digits)")
    end = digits_seen[-1] if len(digits_seen) else 1
    if pass_digits and end > pass_digits:
        for k, x in enumerate(range(pass_digits, int(end), pass_digits)):
            ax.axvline(x, color="tab:gray", lw=0.6, alpha=0.5, label="end of a pass" if k == 0 else None)
    if final is not None:
        ax.axhline(100 * final, color="tab:green", label=f"{tested_on} after training: {final:.1%}")
    if weighted is not None:
        ax.axhline(
            100 * weighted,
            color="tab:olive",
            ls="-.",
            label=f"{tested_on}, proportion-weighted read-out: {weighted:.1%}",
        )
    if logistic is not None:
        ax.axhline(100 * logistic, color="tab:gray", ls="--", label=f"logistic regression: {logistic:.1%}")
    ax.axhline(10, color="tab:red", ls=":", label="chance: 10%")
    ax.set_xlim(0, max(end, 1))
    ax.set_ylim(0, 100)
    ax.set_xlabel("training digits learnt")
    ax.set_ylabel("accuracy (%)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=8, frameon=False)
    ax.grid(alpha=0.3)
    return fig
