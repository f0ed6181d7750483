"""The engine contract, written once and run on every engine (markers ``nest`` and ``brian2``): the slow part (``make test-slow``); the rest is in ``tests/test_engines.py``."""

import numpy as np
import pytest
from scipy import stats

from spiking.model.geometry import grid_positions
from test_engines import (  # the contract's tests, run here on Brian2's builds (``built`` below)
    ENGINES,
    _asymmetric_image,
    _deterministic_data,
    _relay_data,
    build_wired,
    make,
    net_data,
    simulate,
    test_engine_records_the_v1_layers,
    test_every_projection_matches_mask_and_kernel,
    test_preflight_estimate_matches_the_built_network,
    test_realised_connections_pass_a_chi_square_test_of_the_kernel,
    test_the_engine_made_exactly_the_drawn_edges,
)

__all__ = [
    "test_engine_records_the_v1_layers",
    "test_every_projection_matches_mask_and_kernel",
    "test_preflight_estimate_matches_the_built_network",
    "test_realised_connections_pass_a_chi_square_test_of_the_kernel",
    "test_the_engine_made_exactly_the_drawn_edges",
]


@pytest.fixture(
    scope="module",
    params=[
        pytest.param(("brian2", "model"), marks=pytest.mark.brian2, id="brian2-model"),
        pytest.param(("brian2", "engine"), marks=pytest.mark.brian2, id="brian2-engine"),
    ],
)
def built(request):
    """Brian2 with the network the model drew, and with its own sampling: the contract's tests imported above run on it."""
    eng, model, counts, spikes = build_wired(*request.param)
    yield eng, model, counts, spikes
    eng.close()


@pytest.mark.parametrize("engine", ENGINES)
def test_poisson_rates_and_orientation(engine, tmp_path):
    """Relay spike counts follow each pixel's rate, placed by position.

    Over 600 ms, counts per neuron are Poisson(rate * T): the total is within
    4 sigma of its expectation; counts correlate with the rate map as placed
    by position (r > 0.8) and clearly less with the transposed map; given its
    count, a Poisson train's spikes are uniform over the run (KS, p > 0.001;
    each time moved back by a uniform fraction of its step). Seeded.
    """
    img = _asymmetric_image(tmp_path)
    eng, model = make(engine, _relay_data(img), threads=2)
    ids, times = simulate(eng, model)[0]["lgn_on"]
    for name in ("retina_on_to_lgn_on", "retina_off_to_lgn_off"):  # each relay node repeats the pixel at its place
        e = eng.edges(name)
        n = model.layers["lgn_on"].size
        assert np.array_equal(np.sort(e.sources), np.arange(n)) and np.array_equal(e.sources, e.targets)
    eng.close()
    side = model.sizes.retina_side
    rates_img = model.stimuli[str(img)].rates_on  # [row, col]
    pos = grid_positions(side, model.sizes.extent)
    step = model.sizes.extent / side
    col = np.round((pos[:, 0] + model.sizes.extent / 2) / step - 0.5).astype(int)
    row = np.round((model.sizes.extent / 2 - pos[:, 1]) / step - 0.5).astype(int)
    T = model.simulation_time / 1000.0
    expected = rates_img[row, col] * T
    counts = np.bincount(ids, minlength=side * side)
    assert abs(counts.sum() - expected.sum()) <= 4 * np.sqrt(expected.sum())
    assert np.corrcoef(counts, expected)[0, 1] > 0.8
    transposed = rates_img.T[row, col] * T
    assert np.corrcoef(counts, transposed)[0, 1] < np.corrcoef(counts, expected)[0, 1] - 0.2
    delay = model.relay_delays["lgn_on"]
    u = (times - delay - np.random.default_rng(1).uniform(0, model.resolution, times.size)) / model.simulation_time
    assert stats.kstest(u, "uniform").pvalue > 0.001


@pytest.mark.nest
@pytest.mark.brian2
def test_nest_and_brian2_give_identical_spikes_where_nothing_is_left_to_chance():
    """Same trains, same connections (p = 1 everywhere they exist): the engines' spikes are identical.

    This pins what makes them one model: the Izhikevich update and where a
    spike's jump lands in it, delays (one step shorter on Brian2, distance-
    dependent ones rounded alike), the masks' boundary (``d <= radius``), time
    stamps at the end of a step, and the pre-drawn trains.
    """
    out, counts = {}, {}
    for engine in ("nest", "brian2"):
        eng, model = make(engine, _deterministic_data())
        out[engine], counts[engine] = simulate(eng, model)
        eng.close()
    assert counts["nest"] == counts["brian2"]
    assert counts["nest"]["ex_off_to_ex_off"] == 0
    # the mask's boundary: grid pairs at exactly 6 elements are inside on both engines (d <= radius)
    side = 30
    dc, dr = np.meshgrid(np.arange(-side + 1, side), np.arange(-side + 1, side))
    weight = (side - np.abs(dc)) * (side - np.abs(dr))  # ordered pairs at that offset
    assert counts["nest"]["ex_on_to_ex_on"] == int(weight[dc**2 + dr**2 <= 36].sum())
    for name in out["nest"]:
        a = sorted(zip(out["nest"][name][0], np.round(out["nest"][name][1], 6)))
        b = sorted(zip(out["brian2"][name][0], np.round(out["brian2"][name][1], 6)))
        assert len(a) > 1000 and a == b, name


@pytest.mark.nest
@pytest.mark.brian2
def test_latency_coding_gives_the_same_spikes_on_both_engines():
    """One retina spike per pixel and epoch, drawn into the trains both engines replay: every V1 spike the same."""
    data = net_data(run={"simulation_time": 100.0}, retina={"coding": "latency", "latency_max": 30.0})
    out = {}
    for engine in ("nest", "brian2"):
        eng, model = make(engine, data, threads=2)
        out[engine], _ = simulate(eng, model)
        eng.close()
    for name in out["nest"]:
        a = sorted(zip(out["nest"][name][0].tolist(), np.round(out["nest"][name][1], 6).tolist()))
        b = sorted(zip(out["brian2"][name][0].tolist(), np.round(out["brian2"][name][1], 6).tolist()))
        assert a == b, name
    assert sum(len(v[0]) for v in out["nest"].values()) > 40  # 79 V1 spikes when written


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
