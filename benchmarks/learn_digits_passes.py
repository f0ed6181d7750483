"""Validation accuracy of `spiking learn digits` after each number of passes, from one run: how the default was chosen.

Usage (from the repository root, after `make install`)::

    .venv/bin/python benchmarks/learn_digits_passes.py --neurons 100 --passes 15 --at 1 2 3 5 7 10 15

The network learns the first 3,000 training digits ``--passes`` times, as
`spiking learn digits --train 3000 --validation --epochs E` does; after each
pass listed in ``--at`` a copy of it is labelled on the 3,000 and tested on
the other 1,000 training digits (never the held-out ones), then learning goes
on from the network as it was. Batches never span two passes and each batch is
seeded by its number, so the figure after E passes is exactly what
`spiking learn digits --train 3000 --validation --epochs E --seed S` gives.
Prints a Markdown table: passes, validation accuracy (Diehl & Cook's read-out
and proportion-weighted), and the time of the learning so far.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time

import numpy as np

from spiking.engines.brian2.digits import Brian2DigitsEngine
from spiking.learn.data import load_digits, run_indices, split_digits
from spiking.learn.loop import Phase, run_phases
from spiking.learn.model import DigitsModel, initial_state
from spiking.learn.readout import accuracy, assign_labels, class_proportions, predict, predict_weighted
from spiking.learn.state import TrainingState

TRAIN, TEST = 3000, 1000
#: checkpoint, report and stop for run_phases: none of them
QUIET = (lambda state: None, lambda *a: None, lambda: None)


def learn_pass(engine, state, learn: Phase, e: int, batches: int, seed: int) -> int:
    """Pass ``e`` of ``learn`` from where ``state`` is, after ``batches`` learning batches; returns the batches so far.

    The batches so far seed the next, as in a run with more passes.
    """
    state.phase, state.position, state.batches = 0, (e - 1) * len(learn.rates_hz), batches
    nothing = [Phase(name, learn.rates_hz[:0], False) for name in ("label", "test")]  # learning only
    run_phases(engine, state, [learn, *nothing], seed, 10**9, *QUIET)
    return int(state.presentations[0]) // engine.batch


def validate(engine, state, learn: Phase, rates, labels, indices, seed: int) -> tuple[float, float]:
    """Label a frozen copy of the network on the training digits, test it on the others.

    ``indices`` is ``(train, test)``; returns the accuracy with Diehl & Cook's
    read-out and with proportion weighting. ``state`` is left as it was.
    """
    train, test = indices
    frozen = copy.deepcopy(state)
    frozen.phase, frozen.position, frozen.batches = 1, 0, 0
    phases = [learn, Phase("label", rates[train], False), Phase("test", rates[test], False)]
    run_phases(engine, frozen, phases, seed, 10**9, *QUIET)
    assigned = assign_labels(frozen.counts["label"], labels[train])
    acc = accuracy(predict(frozen.counts["test"], assigned), labels[test])
    share = class_proportions(frozen.counts["label"], labels[train])
    return acc, accuracy(predict_weighted(frozen.counts["test"], assigned, share), labels[test])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--neurons", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--passes", type=int, default=15)
    ap.add_argument("--at", type=int, nargs="+", default=[1, 2, 3, 5, 7, 10, 15])
    args = ap.parse_args()
    model, n = DigitsModel(), args.neurons
    digits = load_digits()
    train, test = run_indices(split_digits(digits.labels), TRAIN, TEST, validate=True)
    rates = digits.pixels.astype(np.float64) / model.input_divisor
    sizes = {"train": TRAIN * args.passes, "label": TRAIN, "test": TEST}
    state = TrainingState.fresh(initial_state(model, n, args.seed), sizes, n)
    print(
        "| neurons | seed | passes | validation accuracy (1,000 training digits) | proportion-weighted "
        "| learning so far |"
    )
    print("|---|---|---|---|---|---|")
    learning_s, batches = 0.0, 0
    with Brian2DigitsEngine(model, n) as engine:
        for e in range(1, args.passes + 1):
            learn = Phase("train", rates[train], True, e)
            t0 = time.perf_counter()
            batches = learn_pass(engine, state, learn, e, batches, args.seed)
            learning_s += time.perf_counter() - t0
            shown = state.shown["train"][(e - 1) * TRAIN : e * TRAIN]
            print(
                f"pass {e}: {time.perf_counter() - t0:.0f} s, {shown.mean():.2f} presentations per digit, "
                f"{int(np.sum(shown >= model.max_presentations))} at the cap",
                file=sys.stderr,
                flush=True,
            )
            if e not in args.at:
                continue
            acc, weighted = validate(engine, state, learn, rates, digits.labels, (train, test), args.seed)
            print(f"| {n} | {args.seed} | {e} | {acc:.1%} | {weighted:.1%} | {learning_s / 60:.1f} min |", flush=True)


if __name__ == "__main__":
    main()
