"""Pattern selectivity (``spiking.analysis.selectivity``) on synthetic spikes: the index, the windows and
counts, the min-spikes rule and the one-sided paired Wilcoxon test. No simulator."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from spiking.analysis.selectivity import (
    MIN_SPIKES,
    SelectivityChange,
    pattern_counts,
    selectivity_index,
    window_bounds,
)
from spiking.model.stimulus import ScheduledEpoch

PATTERNS = ["A", "B"]


def alternating(t_end: float, every: float) -> list[ScheduledEpoch]:
    """A, B, A, B, ... every ``every`` ms up to ``t_end``."""
    edges = np.arange(0.0, t_end + every / 2, every)
    return [ScheduledEpoch(float(a), float(b), PATTERNS[k % 2]) for k, (a, b) in enumerate(zip(edges, edges[1:]))]


def poisson_spikes(rng, schedule, rates: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Poisson spikes of every neuron in every epoch, at ``rates[pattern]`` (Hz, one per neuron), times on a 0.1 ms grid."""
    ids, times = [], []
    for e in schedule:
        r = rates[e.pattern]
        n = rng.poisson(r * (e.stop - e.start) / 1000.0)
        node = np.repeat(np.arange(r.size), n)
        # stamped at the end of a 0.1 ms step, inside (start, stop]
        steps = rng.integers(1, round((e.stop - e.start) / 0.1) + 1, size=node.size)
        ids.append(node)
        times.append(e.start + steps * 0.1)
    return np.concatenate(ids).astype(np.int64), np.concatenate(times)


# ---- the index ------------------------------------------------------------------------------------


def test_index_is_max_minus_min_over_max_plus_min():
    rates = np.array([[30.0, 10.0, 0.0, 5.0, 0.0, 7.5], [10.0, 30.0, 12.0, 5.0, 0.0, 2.5]])
    got = selectivity_index(rates)
    np.testing.assert_allclose(got[:5], [0.5, 0.5, 1.0, 0.0, np.nan], rtol=0, atol=1e-15)
    assert np.isnan(got[4])  # silent under both: no index
    assert got[5] == pytest.approx(0.5, abs=1e-15)
    # three patterns: only the extremes count, and the order of the patterns does not
    three = np.array([[4.0, 1.0], [1.0, 2.0], [2.0, 9.0]])
    np.testing.assert_allclose(selectivity_index(three), [3 / 5, 8 / 10], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(selectivity_index(three[::-1]), selectivity_index(three))
    # it does not depend on the unit of the rates
    rng = np.random.default_rng(3)
    r = rng.uniform(0.1, 50.0, size=(2, 100))
    np.testing.assert_allclose(selectivity_index(r * 7.0), selectivity_index(r), rtol=1e-12)


def test_equal_rates_give_an_index_of_about_one_over_sqrt_pi_m():
    """The bias the min-spikes rule is about: two Poisson counts of mean m, equal rates: mean index ~ 1 / sqrt(pi m)."""
    rng = np.random.default_rng(11)
    for m in (20, 80):
        counts = rng.poisson(m, size=(2, 20000)).astype(float)
        mean = np.nanmean(selectivity_index(counts))
        # the normal approximation is within 3% at these means; the sampling error is about 0.5%
        assert mean == pytest.approx(1 / np.sqrt(np.pi * m), rel=0.04), m


# ---- windows and counts ---------------------------------------------------------------------------


def test_windows_are_the_first_and_last_and_never_overlap():
    w = window_bounds(1000.0, 250.0)
    assert w.before == (0.0, 250.0) and w.after == (750.0, 1000.0)
    w = window_bounds(300.0, 250.0)  # longer than half the run: cut to half
    assert w.before == (0.0, 150.0) and w.after == (150.0, 300.0)


def test_counts_put_each_spike_in_its_window_and_pattern():
    """Epochs of 100 ms over 800 ms, windows of 250 ms: before = A 0-100, B 100-200, A 200-250;
    after = B 550-600, A 600-700, B 700-800. A spike at an epoch's stop belongs to that epoch."""
    schedule = alternating(800.0, 100.0)
    windows = window_bounds(800.0, 250.0)
    spikes = {
        # node: times (ms) and where they should land: (window, pattern index)
        0: ([0.1, 50.0, 100.0], [(0, 0)] * 3),  # 100.0 closes the first A epoch
        1: ([100.1, 199.9, 200.0, 200.1, 250.0], [(0, 1)] * 3 + [(0, 0)] * 2),
        2: ([250.1, 400.0, 549.9], []),  # between the windows: not counted
        # 550.0 closes a B epoch before the after window opens at (550, ...]: not counted
        3: ([550.0, 550.1, 600.0, 600.1, 800.0], [(1, 1), (1, 1), (1, 0), (1, 1)]),
    }
    ids = np.concatenate([[n] * len(t) for n, (t, _) in spikes.items()]).astype(np.int64)
    times = np.concatenate([t for t, _ in spikes.values()])
    # in two blocks, out of order between them
    half = ids.size // 2
    blocks = [(ids[half:], times[half:]), (ids[:half], times[:half])]
    counts, time_ms = pattern_counts(blocks, 5, schedule, PATTERNS, windows)
    want = np.zeros((2, 2, 5), dtype=np.int64)
    for n, (_, where) in spikes.items():
        for w, p in where:
            want[w, p, n] += 1
    np.testing.assert_array_equal(counts, want)
    np.testing.assert_allclose(time_ms, [[150.0, 100.0], [100.0, 150.0]])


def test_counts_give_the_poisson_rates_back():
    rng = np.random.default_rng(5)
    schedule = alternating(4000.0, 250.0)
    rates = {"A": rng.uniform(5, 40, 300), "B": rng.uniform(5, 40, 300)}
    ids, times = poisson_spikes(rng, schedule, rates)
    counts, time_ms = pattern_counts([(ids, times)], 300, schedule, PATTERNS, window_bounds(4000.0, 1000.0))
    assert np.all(time_ms == 500.0)
    got = counts / 0.5  # Hz
    for k, p in enumerate(PATTERNS):
        for w in range(2):
            # per neuron a Poisson count: within 5 standard deviations, and unbiased over the 300
            sd = np.sqrt(rates[p] / 0.5)
            assert np.all(np.abs(got[w, k] - rates[p]) < 5 * sd)
            assert np.mean(got[w, k] - rates[p]) == pytest.approx(0.0, abs=4 * np.sqrt(np.mean(sd**2) / 300))


# ---- the min-spikes rule --------------------------------------------------------------------------


def test_neurons_need_min_spikes_in_each_window():
    time_ms = np.full((2, 2), 500.0)
    # counts[window, pattern, node]
    counts = np.zeros((2, 2, 6), dtype=np.int64)
    counts[:, :, 0] = [[MIN_SPIKES, 0], [0, MIN_SPIKES]]  # exactly enough in each: in
    counts[:, :, 1] = [[MIN_SPIKES - 1, 0], [50, 50]]  # one short before: out
    counts[:, :, 2] = [[50, 50], [3, MIN_SPIKES - 5]]  # two short after: out
    counts[:, :, 3] = [[5, 5], [5, 4]]  # 19 over both windows, 9 after: out
    counts[:, :, 4] = [[0, 0], [40, 0]]  # silent before (index NaN): out
    counts[:, :, 5] = [[6, 4], [9, 1]]  # in, split over the patterns
    ch = SelectivityChange.from_counts(counts, time_ms)
    np.testing.assert_array_equal(ch.included, [True, False, False, False, False, True])
    assert ch.n == 2
    assert np.isnan(ch.before[4]) and ch.after[4] == 1.0
    # the means are over the included neurons only
    assert ch.mean_before == pytest.approx((1.0 + 0.2) / 2, abs=1e-12)
    assert ch.mean_after == pytest.approx((1.0 + 0.8) / 2, abs=1e-12)
    assert ch.ratio == pytest.approx(0.9 / 0.6, abs=1e-12)
    # a higher threshold leaves neither of them; one lower takes in neurons 1 and 3
    assert SelectivityChange.from_counts(counts, time_ms, min_spikes=MIN_SPIKES + 1).n == 0
    lower = SelectivityChange.from_counts(counts, time_ms, min_spikes=MIN_SPIKES - 1).included
    np.testing.assert_array_equal(lower, [True, True, False, True, False, True])


def test_a_pattern_not_shown_in_a_window_leaves_nobody_to_compare():
    counts = np.full((2, 2, 4), 30, dtype=np.int64)
    time_ms = np.array([[500.0, 500.0], [500.0, 0.0]])  # B never shown in the after window
    ch = SelectivityChange.from_counts(counts, time_ms)
    assert ch.n == 0 and np.isnan(ch.mean_before) and np.isnan(ch.p_value)


# ---- the test that selectivity rose ---------------------------------------------------------------


def test_wilcoxon_is_one_sided_paired_and_exact_for_few_neurons():
    """Against the signed-rank test written out: statistic = sum of the ranks of |after - before| where
    after > before; p = share of the 2^n sign assignments with a statistic at least as large."""
    rng = np.random.default_rng(2)
    n = 9
    before = rng.uniform(0.05, 0.5, n)
    # seven rises, two smaller falls (ranks 1 and 2): W+ = 45 - 3 = 42, p = 5 / 512 exactly
    diff = rng.permutation(np.concatenate([rng.uniform(0.1, 0.3, 7), -rng.uniform(0.01, 0.05, 2)]))
    after = before + diff
    ranks = np.argsort(np.argsort(np.abs(diff))) + 1  # no ties (continuous draws)
    stat = ranks[diff > 0].sum()
    null = [sum(r for r, s in zip(ranks, signs) if s) for signs in itertools.product((0, 1), repeat=n)]
    p_exact = np.mean(np.array(null) >= stat)
    # rates that give these indices: r_A = 1 + SI, r_B = 1 - SI (index SI), scaled to counts over 1 s
    counts = np.zeros((2, 2, n), dtype=np.int64)
    time_ms = np.full((2, 2), 1000.0)
    scale = 1e6  # large counts so the rounding to whole spikes is negligible
    for w, si in enumerate((before, after)):
        counts[w, 0] = np.round((1 + si) * scale)
        counts[w, 1] = np.round((1 - si) * scale)
    ch = SelectivityChange.from_counts(counts, time_ms)
    np.testing.assert_allclose(ch.before, before, atol=1e-6)
    np.testing.assert_allclose(ch.after, after, atol=1e-6)
    assert ch.statistic == stat == 42 and p_exact == 5 / 512
    assert ch.p_value == pytest.approx(p_exact, rel=1e-9)
    # the other direction: swapping before and after gives the complementary one-sided test
    swapped = SelectivityChange.from_counts(counts[::-1].copy(), time_ms)
    assert swapped.p_value == pytest.approx(np.mean(np.array(null) >= n * (n + 1) / 2 - stat), rel=1e-9)
    assert ch.p_value < 0.05 < swapped.p_value


def _synthetic_change(rng, n: int, gain: float) -> SelectivityChange:
    """n neurons at 30-40 Hz under both patterns for 4 s; from 2 s on each fires ``1 + gain`` times as much under a
    random one of them. Windows of 1 s: about 17 spikes per pattern and window before."""
    schedule = alternating(4000.0, 250.0)
    base = rng.uniform(30.0, 40.0, n)
    first = {"A": base, "B": base}
    ids0, t0 = poisson_spikes(rng, [e for e in schedule if e.stop <= 2000.0], first)
    prefers_a = rng.random(n) < 0.5
    late = {"A": base * np.where(prefers_a, 1 + gain, 1.0), "B": base * np.where(prefers_a, 1.0, 1 + gain)}
    ids1, t1 = poisson_spikes(rng, [e for e in schedule if e.start >= 2000.0], late)
    blocks = [(ids0, t0), (ids1, t1)]
    counts, time_ms = pattern_counts(blocks, n, schedule, PATTERNS, window_bounds(4000.0, 1000.0))
    return SelectivityChange.from_counts(counts, time_ms)


def test_learned_preferences_are_detected():
    """Every neuron comes to fire twice as much under one pattern: the index goes from noise (1 / sqrt(pi m),
    about 0.14) to about 1/3, and the one-sided test says so (p < 1e-6 over 100 neurons)."""
    rng = np.random.default_rng(7)
    ch = _synthetic_change(rng, 100, gain=1.0)
    assert ch.n == 100  # 30 or more spikes expected per window: all of them compared
    # m = rate x 0.5 s per pattern and window, 15-20 spikes: the noise index within 25% (approximation, sampling)
    assert ch.mean_before == pytest.approx(np.mean(1 / np.sqrt(np.pi * ch.rates_before.mean(axis=0) * 0.5)), rel=0.25)
    assert ch.mean_after == pytest.approx(1 / 3, abs=0.05)  # (2 - 1) / (2 + 1), plus noise
    assert ch.ratio > 2 and ch.p_value < 1e-6


def test_no_learning_rejects_at_the_nominal_rate():
    """Nothing learned: over 300 seeded repetitions of 60 neurons the test rejects at 5% about 5% of the time
    (binomial: 0.05 +- 3 standard deviations, 0.012 to 0.088), and at 20% about 20% of the time."""
    rng = np.random.default_rng(13)
    p = np.array([_synthetic_change(rng, 60, gain=0.0).p_value for _ in range(300)])
    assert np.all(np.isfinite(p))
    assert 0.012 <= np.mean(p < 0.05) <= 0.088
    assert 0.130 <= np.mean(p < 0.2) <= 0.270
