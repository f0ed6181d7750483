"""The end of a digits run: labels, accuracy, confusion, the figures, ``results.npz`` and the manifest's figures."""

from __future__ import annotations

import io
import time

import numpy as np

from ..io.atomic import atomic_write_bytes, atomic_write_text, save_figure
from ..run.resources import peak_rss_mb
from .baseline import logistic_regression_accuracy
from .data import run_indices
from .model import PHASES
from .plots import plot_accuracy, plot_confusion, plot_weights
from .readout import (
    accuracy,
    assign_labels,
    class_proportions,
    confusion_matrix,
    predict,
    predict_weighted,
    running_accuracy,
)

__all__ = ["write_results"]


def _csv(header: str, rows) -> str:
    return header + "\n" + "".join(",".join(str(x) for x in r) + "\n" for r in rows)


def _speeds(state, sizes: dict, passes: int) -> dict:
    out = {}
    for k, name in enumerate(PHASES):
        if sizes[name]:
            s = float(state.elapsed_s[k])
            out[name] = {
                "digits": sizes[name],
                "presentations": int(state.presentations[k]),
                "seconds": round(s, 3),
                "digits_per_s": round(sizes[name] / s, 2) if s > 0 else None,
            }
    if sizes["train"] and passes > 1:
        out["train"]["passes"] = passes
        out["train"]["seconds_per_pass"] = round(float(state.elapsed_s[0]) / passes, 3)
    return out


def _figures(folder, options, w, assigned, confusion, running, accs: tuple, logistic: float, tested_on: str) -> None:
    """``weights.png``, ``confusion.png`` and ``accuracy.png``.

    ``running`` is ``(digits_learnt, accuracy)``; ``accs`` the accuracy with
    Diehl & Cook's read-out and with proportion weighting.
    """
    acc, weighted = accs
    passes = "" if options.epochs == 1 else f", {options.epochs} passes"
    trained = "untrained" if options.untrained else f"after {options.train} digits{passes}"
    save_figure(
        plot_weights(w, assigned, f"input weights of {options.neurons} neurons, {trained}"),
        folder / "weights.png",
        dpi=120,
    )
    save_figure(
        plot_confusion(confusion, f"{tested_on} digits: {acc:.1%} of {int(confusion.sum())} right"),
        folder / "confusion.png",
        dpi=120,
    )
    save_figure(
        plot_accuracy(*running, options.window, acc, logistic, options.train, tested_on, weighted),
        folder / "accuracy.png",
        dpi=120,
    )


def write_results(folder, manifest, options, model, digits, split, state, labels, progress) -> None:
    """Read the network out, draw it, and put the figures in the manifest (not yet marked complete)."""
    t0 = time.perf_counter()
    assigned = assign_labels(state.counts["label"], labels["label"])
    predicted = predict(state.counts["test"], assigned)
    acc = accuracy(predicted, labels["test"])
    proportions = class_proportions(state.counts["label"], labels["label"])
    weighted = predict_weighted(state.counts["test"], assigned, proportions)
    acc_weighted = accuracy(weighted, labels["test"])
    confusion = confusion_matrix(predicted, labels["test"])
    seen, running = running_accuracy(state.counts["train"], labels["train"], options.window)
    train, test = run_indices(split, options.train, options.test, options.validation)
    t_lr = time.perf_counter()
    logistic = logistic_regression_accuracy(
        digits.pixels[train], digits.labels[train], digits.pixels[test], labels["test"]
    )
    t_lr = time.perf_counter() - t_lr
    w = state.network["w"]
    buf = io.BytesIO()
    np.savez_compressed(
        buf,
        assignments=assigned,
        predicted=predicted,
        proportions=proportions,
        predicted_weighted=weighted,
        test_labels=labels["test"],
        test_index=test,
        train_index=train,
        weights=w,
        theta_volt=state.network["exc_theta_volt"],
        running_digits=seen,
        running_accuracy=running,
        **{f"counts_{p}": state.counts[p] for p in PHASES},
        **{f"shown_{p}": state.shown[p] for p in PHASES},
    )
    atomic_write_bytes(folder / "results.npz", buf.getvalue())
    atomic_write_text(
        folder / "confusion.csv", _csv("true," + ",".join(map(str, range(10))), ([r, *confusion[r]] for r in range(10)))
    )
    atomic_write_text(folder / "accuracy.csv", _csv("digits_learnt,running_accuracy", zip(seen, np.round(running, 4))))
    tested_on = "validation" if options.validation else "held-out"
    _figures(folder, options, w, assigned, confusion, (seen, running), (acc, acc_weighted), logistic, tested_on)
    sizes = {p: len(labels[p]) for p in PHASES}
    shown = np.concatenate([state.shown[p] for p in PHASES])
    manifest["results"] = {
        "accuracy": round(acc, 4),
        "accuracy_proportion_weighted": round(acc_weighted, 4),
        "tested_on": tested_on,
        "epochs": 0 if options.untrained else options.epochs,
        "test_digits": int(len(predicted)),
        "logistic_regression_accuracy": round(logistic, 4),
        "chance": 0.1,
        "neurons_per_label": {str(c): int(np.sum(assigned == c)) for c in range(-1, 10)},
        "running_accuracy_last": round(float(running[-1]), 4) if len(running) else None,
        "digits_shown_again": int(np.sum(shown > 1)),
        "digits_at_presentation_cap": int(np.sum(shown >= model.max_presentations)),
    }
    manifest["speed"] = _speeds(state, sizes, options.epochs)
    manifest.setdefault("timings_s", {}).update(
        {
            "simulate": round(float(state.elapsed_s.sum()), 3),
            "logistic_regression": round(t_lr, 3),
            "results": round(time.perf_counter() - t0, 3),
        }
    )
    manifest["peak_rss_mb"] = {
        "python": round(peak_rss_mb(), 1),
        "network": manifest.get("engine", {}).get("peak_rss_mb"),
    }
    progress.say(
        f"accuracy {acc:.1%} on {len(predicted)} {tested_on} digits "
        f"({acc_weighted:.1%} with proportion weighting; logistic regression on the same pixels {logistic:.1%}, "
        "chance 10%)"
    )
