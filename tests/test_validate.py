"""``spiking validate``: the comparison rules (pure numpy); the command runs in tests/test_network_file.py and tests/slow/test_validate_slow.py."""

import numpy as np
import pytest

from spiking.validate.compare import compare_counts, compare_distances, compare_rates, compare_spikes


def test_rates_agree_within_ten_percent_or_three_standard_errors():
    rng = np.random.default_rng(0)
    a = {"ex": list(rng.normal(10.0, 0.1, 6))}
    # 5% apart, spread tiny: inside the 10% floor
    assert compare_rates(a, {"ex": list(rng.normal(10.5, 0.1, 6))})[0].agree
    # 30% apart with a tiny spread: outside both
    r = compare_rates(a, {"ex": list(rng.normal(13.0, 0.1, 6))})[0]
    assert not r.agree and r.tolerance == pytest.approx(0.1 * r.mean_b, rel=1e-9)
    # 30% apart but with a huge spread over seeds: 3 standard errors cover it
    wide = compare_rates({"ex": [5.0, 15.0, 8.0, 12.0]}, {"ex": [20.0, 6.0, 16.0, 10.0]})[0]
    assert wide.agree and wide.tolerance > 0.1 * max(wide.mean_a, wide.mean_b)


def test_counts_agree_within_one_percent_or_chance():
    assert compare_counts({"p": 1_000_000}, {"p": 1_009_000})[0].agree
    assert not compare_counts({"p": 1_000_000}, {"p": 1_020_000})[0].agree
    # small projections: 3 standard deviations of chance (sqrt(1000 + 1060) = 45) allow more than 1%
    assert compare_counts({"p": 1000}, {"p": 1060})[0].agree
    assert not compare_counts({"p": 1000}, {"p": 1200})[0].agree


def test_distances_disagree_when_their_distributions_do():
    rng = np.random.default_rng(1)
    same = compare_distances("p", rng.uniform(0, 1, 3000), rng.uniform(0, 1, 3000))
    moved = compare_distances("p", rng.uniform(0, 1, 3000), rng.uniform(0.05, 1.05, 3000))
    assert same.agree and not moved.agree


def test_spikes_compared_neuron_by_neuron_and_step_by_step():
    """Identical sides; one spike moved by a step: the fraction coincident and the first difference say where."""
    ids = np.array([3, 1, 4, 1, 5])
    times = np.array([0.1, 0.5, 0.5, 2.0, 7.3])
    same = compare_spikes("ex_on", 1, (ids, times), (ids[::-1], times[::-1] + 1e-12), 0.1)
    assert same.identical and same.coincident == 5 and same.first_time is None
    moved = times.copy()
    moved[3] += 0.1  # neuron 1 fires one step later at 2 ms
    c = compare_spikes("ex_on", 1, (ids, times), (ids, moved), 0.1)
    assert not c.identical and c.coincident == 4 and c.coincident_fraction == pytest.approx(0.8)
    assert (c.first_time, c.first_neuron) == (2.0, 1)
    extra = compare_spikes("ex_on", 2, (ids, times), (np.append(ids, 9), np.append(times, 0.3)), 0.1)
    assert extra.spikes_b == 6 and extra.coincident == 5 and (extra.first_time, extra.first_neuron) == (0.3, 9)
    assert compare_spikes("in_on", 1, (ids[:0], times[:0]), (ids[:0], times[:0]), 0.1).coincident_fraction == 1.0
