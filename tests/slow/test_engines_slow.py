"""The engine contract, written once and run on every engine (markers ``nest`` and ``brian2``): the slow part (``make test-slow``); the rest is in ``tests/test_engines.py``."""

import numpy as np
import pytest

from test_engines import ENGINES, make, net_data, simulate


@pytest.mark.parametrize("engine", ENGINES)
def test_same_seed_same_spikes_other_seed_other_spikes(engine):
    """Two builds with the same seed and threads (two: OpenMP on Brian2) give the same spikes; another seed others."""
    runs = {}
    for label, seed in (("a", 3), ("b", 3), ("c", 4)):
        eng, model = make(engine, net_data(run={"simulation_time": 100.0, "seed": seed}), threads=2)
        runs[label] = simulate(eng, model)[0]
        eng.close()
    total = sum(len(ids) for ids, _ in runs["a"].values())
    assert total > 100
    for name in runs["a"]:
        assert np.array_equal(runs["a"][name][0], runs["b"][name][0]), name
        assert np.array_equal(runs["a"][name][1], runs["b"][name][1]), name
    assert any(not np.array_equal(runs["a"][n][1], runs["c"][n][1]) for n in runs["a"])
