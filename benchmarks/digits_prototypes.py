"""What N prototypes of the training digits can do: k-means, each centre labelled by its members, on the held-out digits.

Usage (from the repository root, after `make install`)::

    .venv/bin/python benchmarks/digits_prototypes.py --neurons 100 --seeds 1 2 3

The non-spiking counterpart of `spiking learn digits` for scale: Diehl &
Cook's neurons end up as prototypes of the digits they win, labelled by the
class they answer most. Here k-means (scikit-learn, one initialisation per
seed) finds N centres of the 4,000 training digits' pixels (scaled to [0, 1]);
each centre gets the most common label of its digits, and a held-out digit the
label of its nearest centre. Prints one line per seed.
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.cluster import KMeans

from spiking.learn.data import load_digits, run_indices, split_digits


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--neurons", type=int, default=100, help="prototypes (k)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = ap.parse_args()
    digits = load_digits()
    train, test = run_indices(split_digits(digits.labels), 4000, 1000, False)
    x = digits.pixels.astype(float) / 255.0
    for seed in args.seeds:
        km = KMeans(args.neurons, n_init=1, random_state=seed).fit(x[train])
        members = [digits.labels[train][km.labels_ == k] for k in range(args.neurons)]
        label = np.array([np.bincount(m, minlength=10).argmax() for m in members])
        acc = np.mean(label[km.predict(x[test])] == digits.labels[test])
        print(f"k-means, {args.neurons} prototypes, seed {seed}: {acc:.1%} of the 1,000 held-out digits", flush=True)


if __name__ == "__main__":
    main()
