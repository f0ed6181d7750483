"""Tuning and receptive fields (``spiking.analysis.tuning``) on synthetic neurons whose answers are known: von Mises
tuning with Poisson counts gives back its preferred angle and its indices (against closed forms and Bessel series),
linear-nonlinear-Poisson neurons driven by sparse noise give back their receptive fields, and the edge cases and
errors are what the module says. No simulator."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy.special import iv

from spiking.analysis.tuning import (
    OrientationMap,
    dsi,
    global_dsi,
    global_osi,
    orientation_map,
    osi,
    preferred_angle,
    receptive_fields,
    responsive,
    rf_centre_and_size,
    tuning_curves,
)
from spiking.errors import StimulusError
from spiking.model.protocols import sparse_noise_stimulus

DIRECTIONS = np.arange(0.0, 360.0, 30.0)  # 12 directions, 6 orientations
STEP = 30.0


def von_mises(angles: np.ndarray, preferred: np.ndarray, kappa, amplitude, base, harmonic: int) -> np.ndarray:
    """Rates (Hz), shape (n_angles, n_neurons): ``base + amplitude exp(kappa (cos(h (theta - preferred)) - 1))``;
    harmonic 2 is orientation tuning (two equal peaks 180 deg apart), 1 direction tuning."""
    d = np.deg2rad(angles[:, None] - preferred[None, :])
    return base + amplitude * np.exp(kappa * (np.cos(harmonic * d) - 1))


def vector_sum_series(preferred, kappa, amplitude, base, harmonic: int, n_angles: int = 12):
    """The normalised vector sum of :func:`von_mises` sampled at ``n_angles`` equally spaced directions from 0, in
    closed form (Jacobi-Anger: ``exp(k cos x) = sum_n I_n(k) exp(i n x)``); with ``M`` distinct values of
    ``h theta`` only the orders ``n = -1 (mod M)`` reach the numerator and ``n = 0 (mod M)`` the denominator.

    Returns (index, preferred angle in degrees modulo 360 / h)."""
    m = n_angles // (2 if harmonic == 2 else 1)
    phase = np.deg2rad(harmonic * np.asarray(preferred))
    orders = np.arange(-6 * m - 1, 6 * m + 2)
    num = sum(iv(n, kappa) * np.exp(-1j * n * phase) for n in orders if (n + 1) % m == 0)
    den = sum(iv(n, kappa) * np.exp(-1j * n * phase) for n in orders if n % m == 0).real
    scale = amplitude * np.exp(-kappa)
    return np.abs(scale * num) / (base + scale * den), np.rad2deg(np.angle(num)) / harmonic % (360 / harmonic)


def circular_error(a, b, period: float):
    return (np.asarray(a) - np.asarray(b) + period / 2) % period - period / 2


def population(rng, n: int, harmonic: int, on_samples: bool = False):
    """n neurons: preferred angle uniform (or on the sampled directions), kappa in [1, 3], 15-40 Hz above 2 Hz."""
    period = 360 / harmonic
    preferred = rng.choice(DIRECTIONS[DIRECTIONS < period], n) if on_samples else rng.uniform(0, period, n)
    return preferred, rng.uniform(1.0, 3.0, n), rng.uniform(15.0, 40.0, n), 2.0


# ---- tuning curves --------------------------------------------------------------------------------


def test_tuning_curves_are_mean_sd_and_sem_per_condition():
    rng = np.random.default_rng(1)
    conditions = rng.permutation(np.repeat([0.0, 45.0, 90.0, 135.0], [5, 7, 1, 3]))
    counts = rng.poisson(10, size=(16, 3))
    c = tuning_curves(counts, conditions)
    np.testing.assert_array_equal(c.conditions, [0.0, 45.0, 90.0, 135.0])
    np.testing.assert_array_equal(c.n_trials, [5, 7, 1, 3])
    for k, label in enumerate(c.conditions):
        x = counts[conditions == label]
        np.testing.assert_allclose(c.mean[k], x.mean(axis=0), rtol=1e-13)
        if len(x) > 1:
            np.testing.assert_allclose(c.std[k], x.std(axis=0, ddof=1), rtol=1e-12)
            np.testing.assert_allclose(c.sem[k], x.std(axis=0, ddof=1) / math.sqrt(len(x)), rtol=1e-12)
    assert np.isnan(c.std[2]).all() and np.isnan(c.sem[2]).all()  # shown once: no spread


def test_standard_errors_match_poisson_counts():
    """Poisson counts of mean lambda over n = 20 repeats, 4,000 curves: the mean of sem^2 is lambda / n (within 3%;
    its sampling error is about 1%), and the means fall within t(0.975, 19) sem of lambda 95% of the time (0.935 to
    0.965: 4 binomial standard deviations, 0.0034 each, plus the counts' discreteness)."""
    from scipy.stats import t

    rng = np.random.default_rng(2)
    lam, n = 12.0, 20
    counts = rng.poisson(lam, size=(2 * n, 2000))
    c = tuning_curves(counts, np.repeat(["a", "b"], n))
    assert np.mean(c.sem**2) == pytest.approx(lam / n, rel=0.03)
    assert 0.935 <= np.mean(np.abs(c.mean - lam) < t.ppf(0.975, n - 1) * c.sem) <= 0.965


# ---- a network whose tuning is built in ------------------------------------------------------------


def test_indices_of_noiseless_von_mises_tuning_match_their_closed_forms():
    """Preferred angle on a sampled direction: R_pref = base + A, R at +/- 90 deg (orientation tuning) or at +180
    deg (direction tuning) = base + A exp(-2 kappa), so OSI and DSI = A (1 - e^(-2k)) / (2 base + A (1 + e^(-2k))).
    The vector sums against their Bessel series, at any preferred angle."""
    rng = np.random.default_rng(3)
    for harmonic in (2, 1):
        pref, kappa, amp, base = population(rng, 200, harmonic, on_samples=True)
        rates = von_mises(DIRECTIONS, pref, kappa, amp, base, harmonic)
        closed = amp * (1 - np.exp(-2 * kappa)) / (2 * base + amp * (1 + np.exp(-2 * kappa)))
        index = osi(rates, DIRECTIONS) if harmonic == 2 else dsi(rates, DIRECTIONS)
        np.testing.assert_allclose(index, closed, rtol=1e-12)
        np.testing.assert_array_equal(preferred_angle(rates, DIRECTIONS) % (360 / harmonic), pref)
        pref, kappa, amp, base = population(rng, 200, harmonic)
        rates = von_mises(DIRECTIONS, pref, kappa, amp, base, harmonic)
        want, want_angle = vector_sum_series(pref, kappa, amp, base, harmonic)
        got, got_angle = global_osi(rates, DIRECTIONS) if harmonic == 2 else global_dsi(rates, DIRECTIONS)
        np.testing.assert_allclose(got, want, rtol=1e-12)
        np.testing.assert_allclose(circular_error(got_angle, want_angle, 360 / harmonic), 0.0, atol=1e-9)
        # the vector sum's preferred angle is the built-in one up to the sampling's aliasing (below 1 deg here)
        assert np.abs(circular_error(got_angle, pref, 360 / harmonic)).max() < 1.0
        # the argmax is the sample nearest to it: within half a step
        assert np.abs(circular_error(preferred_angle(rates, DIRECTIONS), pref, 360 / harmonic)).max() <= STEP / 2


def _delta_se(rates: np.ndarray, n: int, harmonic: int):
    """Standard errors (delta method) of the Allen index and of the vector sum (index and angle, deg) for means of n
    Poisson counts of the rates (1 s trials): var(mean_k) = rate_k / n."""
    var = rates / n
    cols = np.arange(rates.shape[1])
    p = np.argmax(rates, axis=0)
    top = rates[p, cols]
    if harmonic == 2:  # orthogonal: the mean of +/- 90 deg (3 steps)
        a, b = rates[(p + 3) % 12, cols], rates[(p - 3) % 12, cols]
        other, var_other = (a + b) / 2, (var[(p + 3) % 12, cols] + var[(p - 3) % 12, cols]) / 4
    else:  # null: + 180 deg (6 steps)
        other, var_other = rates[(p + 6) % 12, cols], var[(p + 6) % 12, cols]
    se_index = 2 / (top + other) ** 2 * np.sqrt(other**2 * var[p, cols] + top**2 * var_other)
    theta = harmonic * np.deg2rad(DIRECTIONS)[:, None]
    z = (np.exp(1j * theta) * rates).sum(axis=0)
    total = rates.sum(axis=0)
    g, psi = np.abs(z) / total, np.angle(z)
    se_vector = np.sqrt((((np.cos(theta - psi) - g) / total) ** 2 * var).sum(axis=0))
    se_angle = np.rad2deg(np.sqrt(((np.sin(theta - psi) / np.abs(z)) ** 2 * var).sum(axis=0))) / harmonic
    return se_index, se_vector, se_angle


@pytest.mark.parametrize("harmonic", [2, 1], ids=["orientation", "direction"])
def test_a_network_with_built_in_tuning_gives_back_its_preferences_and_indices(harmonic):
    """300 neurons with von Mises tuning (kappa 1-3, 15-40 Hz above 2 Hz), 12 directions x 20 repeats of 1 s,
    Poisson counts (seeded). Against the values of the true rates at the sampled directions:

    - the preferred angle (largest mean) is within the sampling step (30 deg) of the built-in one;
    - OSI (orientation) or DSI (direction) is within 4 standard errors (delta method) for every neuron, and
      the mean error is below 0.01 (picking the largest of noisy means biases R_pref up by a fraction of an error);
    - gOSI or gDSI within 4 standard errors, its mean error below 0.005; its preferred angle within 4 standard
      errors plus the 1 deg of the sampling's aliasing.
    """
    rng = np.random.default_rng(10 + harmonic)
    period = 360 / harmonic
    pref, kappa, amp, base = population(rng, 300, harmonic)
    rates = von_mises(DIRECTIONS, pref, kappa, amp, base, harmonic)
    repeats = 20
    conditions = np.tile(DIRECTIONS, repeats)
    counts = rng.poisson(np.tile(rates, (repeats, 1)))
    curves = tuning_curves(counts, conditions)
    np.testing.assert_array_equal(curves.conditions, DIRECTIONS)
    mean = curves.mean
    se_index, se_vector, se_angle = _delta_se(rates, repeats, harmonic)

    assert np.abs(circular_error(preferred_angle(mean, DIRECTIONS), pref, period)).max() <= STEP

    index = osi if harmonic == 2 else dsi
    err = index(mean, DIRECTIONS) - index(rates, DIRECTIONS)
    assert np.all(np.abs(err) <= 4 * se_index), np.abs(err / se_index).max()
    assert abs(err.mean()) < 0.01

    vector = global_osi if harmonic == 2 else global_dsi
    got, got_angle = vector(mean, DIRECTIONS)
    want, want_angle = vector(rates, DIRECTIONS)
    assert np.all(np.abs(got - want) <= 4 * se_vector), np.abs((got - want) / se_vector).max()
    assert abs((got - want).mean()) < 0.005
    assert np.all(np.abs(circular_error(got_angle, pref, period)) <= 4 * se_angle + 1.0)


# ---- the indices' definitions and edge cases -------------------------------------------------------


def test_orthogonal_is_the_mean_of_plus_and_minus_90_and_null_is_180():
    angles = np.arange(0.0, 360.0, 45.0)
    r = np.array([10.0, 4.0, 3.0, 0.0, 2.0, 0.0, 1.0, 0.0])  # pref 0; +90 -> 3, -90 (270) -> 1; null (180) -> 2
    assert osi(r, angles) == pytest.approx((10 - 2) / (10 + 2), abs=1e-15)
    assert dsi(r, angles) == pytest.approx((10 - 2) / (10 + 2), abs=1e-15)
    r[4] = 5.0
    assert dsi(r, angles) == pytest.approx(5 / 15, abs=1e-15)
    # static gratings: orientations in [0, 180), the one orthogonal orientation
    orientations = np.arange(0.0, 180.0, 30.0)
    s = np.array([1.0, 2.0, 8.0, 3.0, 1.0, 6.0])  # pref 60; orthogonal 150 -> 6
    assert osi(s, orientations, period_deg=180) == pytest.approx(2 / 14, abs=1e-15)
    # the first of equal maxima is preferred
    assert preferred_angle([1.0, 5.0, 5.0, 0.0], [0.0, 90.0, 180.0, 270.0]) == 90.0


def test_flat_single_and_silent_curves():
    angles = np.arange(0.0, 360.0, 45.0)
    flat = np.full((8, 1), 7.0)
    single = np.zeros((8, 1))
    single[3] = 4.0
    silent = np.zeros((8, 1))
    r = np.hstack([flat, single, silent])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning for the silent neuron
        o, d = osi(r, angles), dsi(r, angles)
        (go, go_angle), (gd, gd_angle) = global_osi(r, angles), global_dsi(r, angles)
        pa = preferred_angle(r, angles)
    np.testing.assert_allclose(o[:2], [0.0, 1.0], atol=1e-15)
    np.testing.assert_allclose(d[:2], [0.0, 1.0], atol=1e-15)
    np.testing.assert_allclose(go[:2], [0.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(gd[:2], [0.0, 1.0], atol=1e-12)
    assert go_angle[1] == pytest.approx(135.0) and gd_angle[1] == pytest.approx(135.0) and pa[1] == 135.0
    for values in (o, d, go, go_angle, gd, gd_angle, pa):
        assert np.isnan(values[2])
    # one neuron as a 1-D curve gives plain numbers
    assert osi(single[:, 0], angles) == 1.0 and np.isnan(dsi(silent[:, 0], angles))


def test_global_index_is_rotation_invariant_and_reads_the_vector_angle():
    """Responses only at 20 and 40 deg of 8 directions spaced 45 deg apart from 20: vector angle 30 deg exactly, and
    rotating the whole protocol by 17 deg rotates the preferred angle by 17 deg and keeps the index."""
    angles = 20.0 + np.arange(8) * 45.0
    r = np.zeros(8)
    r[[0, 4]] = 5.0  # 20 and 200 deg: one orientation, both directions
    g, a = global_osi(r, angles)
    assert g == pytest.approx(1.0) and a == pytest.approx(20.0)
    gd, ad = global_dsi(r, angles)
    assert gd == pytest.approx(0.0, abs=1e-12)
    rng = np.random.default_rng(4)
    r = rng.uniform(0, 10, size=(8, 50))
    g0, a0 = global_osi(r, angles)
    g1, a1 = global_osi(r, angles + 17.0)
    np.testing.assert_allclose(g1, g0, rtol=1e-12)
    np.testing.assert_allclose(circular_error(a1, a0 + 17.0, 180.0), 0.0, atol=1e-9)


# ---- responsiveness -------------------------------------------------------------------------------


def test_responsive_neurons_are_found_and_the_others_at_the_nominal_rate():
    """8 conditions x 15 trials, 30 blank trials, Poisson counts (seeded). 600 neurons that fire at the blank's rate
    under every condition: responsive at most alpha of the time (0.05 + 3 binomial standard deviations, 0.077),
    while the uncorrected test of the preferred condition would call far more of them responsive (above 0.15). 200
    neurons at 3 times the blank's rate under one condition: 95% or more found."""
    rng = np.random.default_rng(5)
    conditions = np.repeat(np.arange(0.0, 360.0, 45.0), 15)
    blank_rate = rng.uniform(2.0, 8.0, 800)
    rates = np.tile(blank_rate, (8, 1))
    rates[rng.integers(0, 8, 200), np.arange(600, 800)] *= 3.0
    counts = rng.poisson(np.repeat(rates, 15, axis=0))
    blank = rng.poisson(blank_rate, size=(30, 800))
    res = responsive(counts, blank, conditions)
    null, tuned = slice(0, 600), slice(600, 800)
    assert np.mean(res.responsive[null]) <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 600)
    uncorrected = res.p_values[res.preferred, np.arange(800)] < 0.05
    assert np.mean(uncorrected[null]) > 0.15
    assert np.mean(res.responsive[tuned]) >= 0.95
    # the definitions: preferred = largest mean, Bonferroni over the 8 conditions
    np.testing.assert_array_equal(res.preferred, np.argmax(tuning_curves(counts, conditions).mean, axis=0))
    np.testing.assert_allclose(res.p_value, np.minimum(1.0, 8 * res.p_values[res.preferred, np.arange(800)]))
    assert res.fraction == pytest.approx(res.responsive.mean())


def test_a_silent_neuron_is_not_responsive_and_raises_no_warning():
    counts = np.zeros((16, 2))
    counts[:, 1] = np.tile([0, 6], 8)
    blank = np.zeros((10, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = responsive(counts, blank, np.tile([0.0, 90.0], 8))
    assert res.p_value[0] == 1.0 and not res.responsive[0]
    assert res.responsive[1] and res.preferred[1] == 1


# ---- receptive fields -----------------------------------------------------------------------------

GRID = 16
ROWS, COLS = np.mgrid[0:GRID, 0:GRID].astype(float)


def gabor(row, col, sigma, wavelength, theta_deg, amplitude) -> np.ndarray:
    """A Gabor on the grid (squares; theta counter-clockwise from +x with y up): even, ON in the middle."""
    x, y = COLS - col, -(ROWS - row)
    a = math.radians(theta_deg)
    u, v = x * math.cos(a) + y * math.sin(a), -x * math.sin(a) + y * math.cos(a)
    return amplitude * np.exp(-(u**2 + v**2) / (2 * sigma**2)) * np.cos(2 * np.pi * u / wavelength)


def lnp_counts(rng, signed: np.ndarray, weights: np.ndarray, nonlinearity) -> np.ndarray:
    """Spikes per frame of a linear-nonlinear-Poisson neuron: Poisson(f(sum_i w_i s_i))."""
    drive = signed.reshape(signed.shape[0], -1).astype(float) @ weights.ravel()
    return rng.poisson(nonlinearity(drive))


def corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def test_reverse_correlation_is_the_mean_response_per_square_against_grey():
    """Two squares, six frames, by hand; and the lag pairs response t + lag with frame t."""
    s = np.zeros((6, 1, 2), dtype=np.int8)
    s[:, 0, 0] = [1, 1, -1, 0, 0, 1]
    s[:, 0, 1] = [0, -1, 0, 1, -1, 0]
    r = np.array([4.0, 2.0, 0.0, 1.0, 3.0, 6.0])
    rf = receptive_fields(r, s)
    # square 0: white at 0, 1, 5 (mean 4), black at 2 (0), grey at 3, 4 (mean 2)
    # square 1: white at 3 (1), black at 1, 4 (2.5), grey at 0, 2, 5 (10 / 3)
    np.testing.assert_allclose(rf.on[0, 0], [4 - 2, 1 - 10 / 3])
    np.testing.assert_allclose(rf.off[0, 0], [0 - 2, 2.5 - 10 / 3])
    np.testing.assert_array_equal(rf.n_white, [[3, 1]])
    np.testing.assert_array_equal(rf.n_black, [[1, 2]])
    lagged = receptive_fields(r, s, lag=1)  # pairs r[1:] with s[:5]
    # square 0: white at 0, 1 -> r 2, 0 (mean 1); black at 2 -> 1; grey at 3, 4 -> 3, 6 (4.5)
    np.testing.assert_allclose(lagged.on[0, 0, 0], 1 - 4.5)
    np.testing.assert_allclose(lagged.off[0, 0, 0], 1 - 4.5)
    # a square never black has no OFF value, and no warning says so
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rf = receptive_fields(r, np.abs(s))
    assert np.isnan(rf.off).all() and np.isfinite(rf.on).all()


def test_reverse_correlation_recovers_a_gabor_receptive_field():
    """An LNP neuron with a Gabor RF (sigma 2 squares, wavelength 6, 30 deg, peak weight 1) and an exponential
    nonlinearity (2 spikes per frame on grey), 20,000 frames of sparse noise on 16 x 16 squares, 5% on. The linear
    map (ON - OFF) / 2 correlates with the weights at 0.9 or more (measured 0.984); the ON and OFF subfields with the
    neuron's responses to a white and to a black square, exp(w) - 1 and exp(-w) - 1, at 0.9 or more (0.984, 0.953).
    From 500 frames the same neuron's map does not reach 0.9 (0.71)."""
    rng = np.random.default_rng(6)
    w = gabor(7.3, 8.6, sigma=2.0, wavelength=6.0, theta_deg=30.0, amplitude=1.0)
    s = sparse_noise_stimulus(GRID, 20_000, seed=7, density=0.05)
    rf = receptive_fields(lnp_counts(rng, s, w, lambda g: 2.0 * np.exp(g)), s)
    assert rf.on.shape == (1, GRID, GRID)
    assert corr(rf.linear[0], w) >= 0.9
    assert corr(rf.on[0], np.expm1(w)) >= 0.9
    assert corr(rf.off[0], np.expm1(-w)) >= 0.9
    # too few frames for the same neuron: the threshold is not met by any map
    short = receptive_fields(lnp_counts(rng, s[:500], w, lambda g: 2.0 * np.exp(g)), s[:500])
    assert corr(short.linear[0], w) < 0.9


def test_reverse_correlation_finds_the_centre_and_size_of_an_on_centre_field():
    """A Gaussian ON field (centre row 6.4, col 9.2, sigma 1.8 squares, peak weight 1.5), rectified-linear
    nonlinearity (2 spikes per frame on grey), 10,000 frames. The ON map correlates with the weights at 0.9 or more
    (measured 0.924 here, 0.915 to 0.933 over 8 seeds), the OFF map with -w too (0.916); the fitted centre is within
    0.3 squares (0.03 here, at most 0.15 over 8 seeds) and sigma within 8% (0.4% here, at most 3%)."""
    rng = np.random.default_rng(8)
    w = 1.5 * np.exp(-((ROWS - 6.4) ** 2 + (COLS - 9.2) ** 2) / (2 * 1.8**2))
    s = sparse_noise_stimulus(GRID, 10_000, seed=9, density=0.05)
    rf = receptive_fields(lnp_counts(rng, s, w, lambda g: np.maximum(2.0 + g, 0.0)), s)
    assert corr(rf.on[0], w) >= 0.9
    assert corr(rf.off[0], -w) >= 0.9  # nearly linear: a black square takes away what a white one adds
    shape = rf_centre_and_size(rf.on[0])
    assert math.hypot(shape.row - 6.4, shape.col - 9.2) <= 0.3
    assert shape.sigma == pytest.approx(1.8, rel=0.08)


def test_the_lag_pairs_responses_with_the_frames_that_caused_them():
    """The neuron answers two frames late (20,000 frames): lag 2 finds its field (0.9 or more, measured 0.93), lags 0
    and 1 find nothing (below 0.3 in size, measured 0.08 and -0.07)."""
    rng = np.random.default_rng(10)
    w = 1.5 * np.exp(-((ROWS - 8.0) ** 2 + (COLS - 5.0) ** 2) / (2 * 1.8**2))
    s = sparse_noise_stimulus(GRID, 20_000, seed=11, density=0.05)
    counts = lnp_counts(rng, s, w, lambda g: np.maximum(2.0 + g, 0.0))
    late = np.concatenate([rng.poisson(2.0, 2), counts[:-2]])
    assert corr(receptive_fields(late, s, lag=2).on[0], w) >= 0.9
    assert abs(corr(receptive_fields(late, s, lag=0).on[0], w)) < 0.3
    assert abs(corr(receptive_fields(late, s, lag=1).on[0], w)) < 0.3


def test_several_neurons_at_once_match_one_at_a_time():
    rng = np.random.default_rng(12)
    s = sparse_noise_stimulus(8, 3000, seed=13, density=0.1)
    counts = rng.poisson(1.0, size=(3000, 4))
    together = receptive_fields(counts, s)
    for k in range(4):
        alone = receptive_fields(counts[:, k], s)
        np.testing.assert_allclose(together.on[k], alone.on[0], rtol=1e-12)
        np.testing.assert_allclose(together.off[k], alone.off[0], rtol=1e-12)


def test_a_gaussian_map_is_fitted_exactly():
    """A noiseless elliptical Gaussian (sigmas 2.5 and 1.2 squares, long axis at 35 deg, offset -0.1) on 16 x 16,
    with two squares missing: every parameter back to 1e-6."""
    x, y = COLS - 7.2, -(ROWS - 8.9)
    a = math.radians(35.0)
    u, v = x * math.cos(a) + y * math.sin(a), -x * math.sin(a) + y * math.cos(a)
    m = 3.0 * np.exp(-0.5 * ((u / 2.5) ** 2 + (v / 1.2) ** 2)) - 0.1
    m[0, 0] = m[5, 11] = np.nan
    shape = rf_centre_and_size(m)
    assert (shape.row, shape.col) == (pytest.approx(8.9, abs=1e-6), pytest.approx(7.2, abs=1e-6))
    assert shape.sigma_major == pytest.approx(2.5, abs=1e-6) and shape.sigma_minor == pytest.approx(1.2, abs=1e-6)
    assert shape.angle_deg == pytest.approx(35.0, abs=1e-4)
    assert shape.amplitude == pytest.approx(3.0, abs=1e-6) and shape.offset == pytest.approx(-0.1, abs=1e-6)
    assert shape.sigma == pytest.approx(math.sqrt(2.5 * 1.2), abs=1e-6)
    assert shape.area_half_max == pytest.approx(2 * math.pi * math.log(2) * 2.5 * 1.2, abs=1e-5)
    # a rectangle of squares: the same field, columns counted from the cut
    cut = rf_centre_and_size(m[:, 3:])
    assert (cut.row, cut.col) == (pytest.approx(8.9, abs=1e-6), pytest.approx(4.2, abs=1e-6))
    # the half-maximum area counts the squares above half the peak, near enough (squares are coarse)
    assert shape.area_half_max == pytest.approx(np.sum(np.nan_to_num(m + 0.1) > 1.5), rel=0.1)


def test_a_map_without_a_field_has_no_shape():
    for m in (np.zeros((8, 8)), -np.ones((8, 8)), np.full((8, 8), np.nan)):
        shape = rf_centre_and_size(m)
        assert all(math.isnan(getattr(shape, f)) for f in ("row", "col", "sigma_major", "sigma_minor"))


# ---- orientation maps -----------------------------------------------------------------------------


def test_orientation_map_lays_neurons_out_in_node_order():
    """Node k sits at row k % side, column k // side (the layers' grid order); hue from the orientation, brightness
    from the selectivity, black where either is missing."""
    pref = np.array([0.0, 60.0, 120.0, 210.0, np.nan, 90.0, 30.0, 150.0, 45.0])  # 210 is 30 as an orientation
    sel = np.array([1.0, 1.0, 0.5, 1.0, 1.0, np.nan, 2.0, 0.0, 0.25])
    om = orientation_map(pref, sel)
    assert isinstance(om, OrientationMap) and om.angle.shape == (3, 3) and om.rgb.shape == (3, 3, 3)
    np.testing.assert_array_equal(om.angle[:, 0], [0.0, 60.0, 120.0])  # nodes 0, 1, 2: the first column
    assert om.angle[0, 1] == 30.0 and np.isnan(om.angle[1, 1])
    np.testing.assert_allclose(om.rgb[0, 0], [1, 0, 0])  # 0 deg: red
    np.testing.assert_allclose(om.rgb[1, 0], [0, 1, 0])  # 60 deg: green
    np.testing.assert_allclose(om.rgb[2, 0], [0, 0, 0.5])  # 120 deg: blue at half brightness
    np.testing.assert_allclose(om.rgb[1, 1], [0, 0, 0])  # no orientation
    np.testing.assert_allclose(om.rgb[2, 1], [0, 0, 0])  # no selectivity
    np.testing.assert_allclose(om.rgb[0, 2], [1, 1, 0])  # 30 deg, selectivity clipped to 1: yellow
    assert om.rgb.min() >= 0 and om.rgb.max() <= 1


# ---- errors ---------------------------------------------------------------------------------------

ANGLES8 = np.arange(0.0, 360.0, 45.0)

BAD = [
    (lambda: tuning_curves(np.zeros(5), np.zeros(5)), r"counts must be a 2-D array, got shape \(5,\)"),
    (lambda: tuning_curves(np.zeros((5, 2)), np.zeros(4)), r"conditions must be one label per trial \(5\)"),
    (lambda: tuning_curves(-np.ones((5, 2)), np.zeros(5)), r"counts must be >= 0 \(spike counts or rates\), got -1"),
    (lambda: tuning_curves(np.full((5, 2), np.nan), np.zeros(5)), r"counts must be finite"),
    (lambda: osi(np.ones(8), ANGLES8[:7]), r"angles_deg must be one angle per condition \(8\)"),
    (
        lambda: osi(np.ones(6), np.arange(0.0, 360.0, 60.0)),
        r"angles_deg must hold each angle \+90 deg \(mod 360\); 0 has no 90",
    ),
    (
        lambda: dsi(np.ones(3), [0.0, 90.0, 180.0]),
        r"angles_deg must hold each angle \+180 deg \(mod 360\); 90 has no 270",
    ),
    (lambda: osi(np.ones(8), ANGLES8, period_deg=90), r"period_deg must be 360 \(directions\) or 180 \(orientations\)"),
    (
        lambda: responsive(np.ones((4, 2)), np.ones((3, 3)), np.zeros(4)),
        r"blank_counts must have shape \(n_blank_trials >= 1, 2\)",
    ),
    (
        lambda: responsive(np.ones((4, 2)), np.ones((3, 2)), np.zeros(4), alpha=1.0),
        r"alpha must be in \(0, 1\), got 1.0",
    ),
    (lambda: receptive_fields(np.ones(5), np.zeros((4, 2, 2))), r"one row per frame of the stimulus \(4\), got 5"),
    (lambda: receptive_fields(np.ones(4), np.full((4, 2, 2), 3)), r"signed_stimulus must hold only -1 \(black\)"),
    (
        lambda: receptive_fields(np.ones(4), np.zeros((4, 2))),
        r"signed_stimulus must have shape \(n_frames, rows, cols\), got \(4, 2\)",
    ),
    (
        lambda: receptive_fields(np.ones(4), np.zeros((4, 2, 2)), lag=4),
        r"lag must be an integer frame count in \[0, 4\), got 4",
    ),
    (
        lambda: rf_centre_and_size(np.zeros(4)),
        r"rf_map must be a 2-D map \(rows, cols\), got shape \(4,\)",
    ),
    (
        lambda: orientation_map(np.zeros(8), np.zeros(8)),
        r"side must be an integer with side \* side = 8 neurons, got 2",
    ),
    (
        lambda: orientation_map(np.zeros(9), np.zeros(4)),
        r"preferred_deg and selectivity must be 1-D, one value per neuron",
    ),
]


@pytest.mark.parametrize("call, message", BAD, ids=[m[:40] for _, m in BAD])
def test_bad_arguments_are_refused_in_one_line(call, message):
    with pytest.raises(StimulusError, match=message) as err:
        call()
    assert "\n" not in str(err.value)
