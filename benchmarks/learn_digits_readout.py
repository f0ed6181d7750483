"""Labelling and testing a learnt network on one core and on every core: digits per second, the same responses.

Usage (from the repository root, after `make install`)::

    .venv/bin/python benchmarks/learn_digits_readout.py output/<run> --workers 1 2
    .venv/bin/python benchmarks/learn_digits_readout.py output/<run> --label 5000 --test 2000 --workers 1 2 1 2

Reads a run folder of ``spiking learn digits`` (its ``state.npz``: the learnt
weights, delays and thresholds, which the frozen phases never change) and
runs its labelling and test phases again as the command does with
``--segment`` (default the run's, else 1000): segments of digits, each from
the learnt network at rest, ``workers`` at a time. Each worker count in
``--workers`` is run in the order given (repeat them to interleave), in one
sitting. Prints per run the wall time of each phase, digits per second,
Diehl & Cook's accuracy and the proportion-weighted one, and whether every
run's responses equal the first's. With the run's own options (all its
labelling and test digits, its segment) the accuracy is the one its command
gives with this version.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from learn_digits import machine  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path, help="a run folder of spiking learn digits (complete or with learning done)")
    ap.add_argument("--label", type=int, help="label from the first N training digits (default: the run's)")
    ap.add_argument("--test", type=int, help="test digits (default: the run's)")
    ap.add_argument("--segment", type=int, help="digits per segment (default: the run's, else 1000)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--cache-dir", help="compiled networks (default ~/.cache/spiking/brian2)")
    args = ap.parse_args()

    from spiking.engines.brian2.digits import Brian2DigitsEngine
    from spiking.learn.data import load_dataset, run_indices
    from spiking.learn.loop import Phase, run_phases
    from spiking.learn.model import rest_state, state_shapes
    from spiking.learn.readout import accuracy, assign_labels, class_proportions, predict, predict_weighted
    from spiking.learn.runs import _read_config, _sizes
    from spiking.learn.state import TrainingState, load_state

    options, model = _read_config(args.folder)
    saved = load_state(args.folder, state_shapes(model, options.neurons), _sizes(options), options.neurons)
    if saved.phase == 0:
        sys.exit(f"{args.folder}: learning is not done yet (phase train, {saved.position} digits)")
    digits, split = load_dataset(options.dataset)
    train, test = run_indices(split, options.train, options.test, options.validation)
    n_label, n_test = args.label or options.label_digits, args.test or options.test
    segment = args.segment or options.segment or 1000
    start = lambda network: rest_state(model, network)  # noqa: E731
    phases = [
        Phase("train", digits.pixels[train[:0]], True),
        *(
            Phase(name, digits.pixels[idx], False, divisor=model.input_divisor, segment=segment, start=start)
            for name, idx in (("label", train[:n_label]), ("test", test[:n_test]))
        ),
    ]
    labels = {"label": digits.labels[train[:n_label]], "test": digits.labels[test[:n_test]]}
    sizes = {"train": 0, "label": n_label, "test": n_test}

    print(f"machine: {machine()}")
    print(f"{args.folder.name}: {options.neurons} neurons, label {n_label}, test {n_test}, segments of {segment}")
    print()
    print("| workers | labelling | test | digits/s (label, test) | accuracy | proportion-weighted | same responses |")
    print("|---|---|---|---|---|---|---|")
    first = None
    with Brian2DigitsEngine(model, options.neurons, batch=options.batch, cache_dir=args.cache_dir) as engine:
        for workers in args.workers:
            engine.workers = workers
            state = TrainingState.fresh(saved.network, sizes, options.neurons, phase=1)
            run_phases(engine, state, phases, options.seed, 10**9, lambda st: None, lambda *a: None, lambda: None)
            label_s, test_s = state.elapsed_s[1], state.elapsed_s[2]
            assigned = assign_labels(state.counts["label"], labels["label"])
            props = class_proportions(state.counts["label"], labels["label"])
            acc = accuracy(predict(state.counts["test"], assigned), labels["test"])
            weighted = accuracy(predict_weighted(state.counts["test"], assigned, props), labels["test"])
            counts = (state.counts["label"], state.counts["test"])
            first = first or counts
            same = all(np.array_equal(a, b) for a, b in zip(first, counts))
            print(
                f"| {workers} | {label_s / 60:.1f} min | {test_s / 60:.1f} min | {n_label / label_s:.1f}, "
                f"{n_test / test_s:.1f} | {acc:.1%} | {weighted:.1%} | {'yes' if same else 'NO'} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
