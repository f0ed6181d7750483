"""Validation accuracy of two departures from Diehl & Cook's training: a new order each pass, and a slower later pass.

Usage (from the repository root, after `make install`)::

    .venv/bin/python benchmarks/learn_digits_variants.py --variant shuffled --seed 1 --passes 3 --at 2 3
    .venv/bin/python benchmarks/learn_digits_variants.py --variant annealed --seed 1 --passes 3 --at 2 3
    .venv/bin/python benchmarks/learn_digits_variants.py --variant same --seed 1 --passes 3 --at 2 3

As `benchmarks/learn_digits_passes.py`, on validation digits only: the network
learns the first 3,000 training digits, and after each pass listed in ``--at``
a frozen copy is labelled on them and tested on the other 1,000 training
digits. The variants:

- ``same``: every pass in the same order, as `spiking learn digits` does.
- ``shuffled``: the first pass in that order, every later pass in a new
  random order (from the seed).
- ``annealed``: the same order, with pass k run at ``plastic = 0.5 ** (k - 1)``
  instead of 1. In the compiled network this one number scales the STDP steps
  (both rates), the threshold's growth and decay, and the step of the weight
  normalisation towards the sum of 78, so a later pass changes the network
  half as fast as the one before.

Prints a Markdown table row per pass listed: variant, seed, passes, accuracy
with Diehl & Cook's read-out and with proportion weighting.
"""

from __future__ import annotations

import argparse

import numpy as np

from learn_digits_passes import TEST, TRAIN, learn_pass, validate  # the benchmark beside this one
from spiking.engines.brian2.digits import Brian2DigitsEngine
from spiking.learn.data import load_digits, run_indices, split_digits
from spiking.learn.loop import Phase
from spiking.learn.model import DigitsModel, initial_state
from spiking.learn.state import TrainingState


class _Ordered(Phase):
    """A learning phase whose pass k shows the digits in ``orders[k]``."""

    orders: list

    def chunk(self, position: int, batch: int) -> np.ndarray:
        k, start = divmod(position, len(self.rates_hz))
        return self.rates_hz[self.orders[k][start : start + batch]]


class _ScaledEngine(Brian2DigitsEngine):
    """The digits engine with ``plastic`` set to ``scale`` (instead of 1) while learning."""

    scale = 1.0

    def _arguments(self, table, network, plastic, seed, n, folder):
        args = super()._arguments(table, network, plastic, seed, n, folder)
        return [f"exc.plastic={self.scale!r}" if a == "exc.plastic=1.0" else a for a in args]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variant", choices=["same", "shuffled", "annealed"], required=True)
    ap.add_argument("--neurons", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--at", type=int, nargs="+", default=[2, 3])
    args = ap.parse_args()
    model, n = DigitsModel(), args.neurons
    digits = load_digits()
    train, test = run_indices(split_digits(digits.labels), TRAIN, TEST, validate=True)
    rates = digits.pixels.astype(np.float64) / model.input_divisor
    rng = np.random.default_rng([args.seed, 7])
    orders = [np.arange(TRAIN)]
    orders += [
        rng.permutation(TRAIN) if args.variant == "shuffled" else np.arange(TRAIN) for _ in range(args.passes - 1)
    ]
    state = TrainingState.fresh(
        initial_state(model, n, args.seed), {"train": TRAIN * args.passes, "label": TRAIN, "test": TEST}, n
    )
    print("| variant | seed | passes | validation accuracy (1,000 training digits) | proportion-weighted |")
    print("|---|---|---|---|---|")
    batches = 0
    with _ScaledEngine(model, n) as engine:
        for e in range(1, args.passes + 1):
            engine.scale = 0.5 ** (e - 1) if args.variant == "annealed" else 1.0
            learn = _Ordered("train", rates[train], True, e)
            object.__setattr__(learn, "orders", orders)
            batches = learn_pass(engine, state, learn, e, batches, args.seed)
            if e not in args.at:
                continue
            acc, weighted = validate(engine, state, learn, rates, digits.labels, (train, test), args.seed)
            print(f"| {args.variant} | {args.seed} | {e} | {acc:.1%} | {weighted:.1%} |", flush=True)


if __name__ == "__main__":
    main()
