"""Tests of the Fig. 3 network of Izhikevich (2003): its drawing, its numerics on NEST and Brian2, its metrics: the slow part (``make test-slow``); the rest is in ``tests/test_izhikevich_network.py``."""

from __future__ import annotations

import numpy as np
import pytest

from spiking.izhikevich import metrics, protocols, reference, simulate
from test_izhikevich_network import OTHER_SEED, SEED, _assert_genuine_peaks


@pytest.fixture(scope="module")
def network_runs():
    """The full 10 s network on NEST: twice with SEED, once with OTHER_SEED."""
    runs = {}
    for key, seed in (("a", SEED), ("b", SEED), ("other", OTHER_SEED)):
        res = simulate.simulate_network(duration=10000.0, seed=seed, threads=1)
        runs[key] = (res, metrics.network_metrics(res))
    return runs


@pytest.fixture(scope="module")
def network_brian2():
    """The full 10 s network with SEED on Brian2."""
    res = simulate.simulate_network(duration=10000.0, seed=SEED, engine="brian2")
    return res, metrics.network_metrics(res)


@pytest.mark.nest
def test_network_reproduces_paper_rhythms(network_runs):
    res, m = network_runs["a"]
    # the paper's network fires at ~ 8 Hz: accept 5-11 Hz
    assert 5.0 <= m.mean_rate_hz <= 11.0, m.summary()
    # alpha (6-12 Hz) and gamma (25-45 Hz) peaks at least 10x the 60-200 Hz baseline
    assert m.alpha_ratio >= 10.0, m.summary()
    assert m.gamma_ratio >= 10.0, m.summary()
    assert m.passed and m.segments == 19
    assert res.times.size > 0 and res.times.max() <= res.duration
    assert res.senders.min() >= 0 and res.senders.max() < res.n_neurons


@pytest.mark.nest
@pytest.mark.parametrize("key", ["a", "other"])
def test_network_peaks_are_local_maxima_on_nest(network_runs, key):
    _assert_genuine_peaks(network_runs[key][1])


@pytest.mark.brian2
def test_network_on_brian2_reproduces_paper_rhythms(network_brian2):
    _, m = network_brian2
    assert m.passed, m.summary()  # the same acceptance as on NEST
    _assert_genuine_peaks(m)


@pytest.mark.nest
@pytest.mark.brian2
def test_brian2_network_agrees_with_nest(network_runs, network_brian2):
    (rn, mn), (rb, mb) = network_runs["a"], network_brian2
    # The same drawn network and input with the same numerics: the first
    # second is spike for spike the same (a wrong delay, scheme or input step
    # would show within milliseconds). After that the chaotic network may
    # amplify a different summation order of a step's inputs, so the
    # acceptance is on the rate: within 2 % (the rates of the two seeds
    # tested differ by 0.2 %; measured: identical spikes for all 10 s).
    first_n = rn.times <= 1000.0
    first_b = rb.times <= 1000.0
    assert first_n.sum() > 5000
    assert np.array_equal(rn.times[first_n], rb.times[first_b])
    assert np.array_equal(rn.senders[first_n], rb.senders[first_b])
    assert mb.mean_rate_hz == pytest.approx(mn.mean_rate_hz, rel=0.02)


@pytest.mark.nest
def test_network_matches_numpy_reference(network_runs):
    # the vectorised numpy network reproduces the first 500 ms spike for spike
    res, _ = network_runs["a"]
    drawn = protocols.draw_network(SEED, 10000.0)
    times, senders = reference.reference_network(drawn, 500)
    keep = res.times <= 500.0
    assert times.size > 2000
    assert np.array_equal(times, res.times[keep]) and np.array_equal(senders, res.senders[keep])


@pytest.mark.nest
def test_network_same_seed_same_numbers(network_runs):
    (ra, ma), (rb, mb) = network_runs["a"], network_runs["b"]
    # bit-identical spikes and metrics (tolerance 0) for the same seed and threads
    assert np.array_equal(ra.times, rb.times)
    assert np.array_equal(ra.senders, rb.senders)
    assert ma.summary() == mb.summary()


@pytest.mark.nest
def test_network_other_seed_other_numbers(network_runs):
    (ra, ma), (ro, mo) = network_runs["a"], network_runs["other"]
    assert ra.times.size != ro.times.size or not np.array_equal(ra.times, ro.times)
    assert ma.mean_rate_hz != mo.mean_rate_hz
    # the other seed must reproduce the paper too (same acceptance as above)
    assert mo.passed, mo.summary()
