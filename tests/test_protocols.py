"""The protocols' stimuli (``spiking.model.protocols``): gratings found again by their Fourier transform, drift
and motion in the direction asked, bars of the right area and place, sparse noise of the density asked and
reproducible by seed, and one-line errors. Pure numpy, no simulator."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import numpy as np
import pytest

from spiking.errors import StimulusError
from spiking.model.protocols import (
    MEAN_GREY,
    bar,
    drifting_grating_frames,
    frame_times,
    grating,
    moving_bar_frames,
    pixel_coordinates,
    sparse_noise_frames,
    sparse_noise_stimulus,
    sparse_noise_to_frames,
)

SIDE = 64


def centres(side: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel centres as the module documents them, written out here: x right, y up, row 0 at the top."""
    rows, cols = np.mgrid[0:side, 0:side]
    return (cols + 0.5) / side - 0.5, 0.5 - (rows + 0.5) / side


def fft_peak(frame: np.ndarray, pad: int = 1) -> tuple[float, float]:
    """``(kx, ky)`` of the largest Fourier component (cycles per extent, y up), with zero padding ``pad``."""
    side = frame.shape[0]
    w = np.ones(side) if pad == 1 else np.hanning(side)
    spectrum = np.abs(np.fft.fft2((frame - frame.mean()) * np.outer(w, w), s=(pad * side, pad * side)))
    r, c = np.unravel_index(np.argmax(spectrum), spectrum.shape)
    # a row index counts downwards: the y frequency is minus the row frequency
    return np.fft.fftfreq(pad * side)[c] * side, -np.fft.fftfreq(pad * side)[r] * side


def phase_of(frame: np.ndarray, orientation_deg: float, f: float) -> float:
    """The spatial phase (deg) of a grating frame, by projection on exp(i 2 pi f u)."""
    x, y = centres(frame.shape[0])
    a = math.radians(orientation_deg)
    u = x * math.cos(a) + y * math.sin(a)
    return math.degrees(np.angle(np.sum((frame - MEAN_GREY) * np.exp(2j * np.pi * f * u)))) % 360


# ---- the grid -------------------------------------------------------------------------------------


def test_pixel_centres_put_the_origin_in_the_middle_with_y_up():
    x, y = pixel_coordinates(4)
    want_x, want_y = centres(4)
    np.testing.assert_array_equal(x, want_x)
    np.testing.assert_array_equal(y, want_y)
    assert x[0, 0] == -0.375 and y[0, 0] == 0.375  # top left
    assert x[3, 3] == 0.375 and y[3, 3] == -0.375  # bottom right


def test_frame_times_fill_the_duration():
    np.testing.assert_array_equal(frame_times(100.0, 30.0), [0.0, 30.0, 60.0, 90.0])
    np.testing.assert_array_equal(frame_times(90.0, 30.0), [0.0, 30.0, 60.0])
    assert frame_times(0.3, 0.1).size == 3  # 0.3 / 0.1 = 2.9999999999999996: still three frames
    assert frame_times(5.0, 20.0).size == 1


# ---- gratings -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kx, ky", [(4, 0), (0, 4), (3, 3), (-3, 3), (4, 3), (-5, 2), (1, -6), (12, 5)])
def test_grating_period_and_orientation_are_its_fourier_peak(kx, ky):
    """A grating of (kx, ky) whole cycles across the grid has all its power in the two bins +/-(kx, ky)."""
    f, theta = math.hypot(kx, ky), math.degrees(math.atan2(ky, kx))
    g = grating(SIDE, theta, f, phase_deg=37.0)
    px, py = fft_peak(g)
    assert {(round(px), round(py)), (-round(px), -round(py))} == {(kx, ky), (-kx, -ky)}
    assert math.degrees(math.atan2(py, px)) % 180 == pytest.approx(theta % 180, abs=1e-9)
    assert SIDE / math.hypot(px, py) == pytest.approx(SIDE / f, abs=1e-9)  # the period, pixels
    spectrum = np.abs(np.fft.fft2(g - MEAN_GREY)) ** 2
    spectrum[-ky % SIDE, kx % SIDE] = 0  # the bin (kx, ky): row frequency -ky, column frequency kx
    spectrum[ky % SIDE, -kx % SIDE] = 0  # and its conjugate
    assert spectrum.sum() < 1e-18 * SIDE**4


@pytest.mark.parametrize("theta, f", [(30.0, 7.3), (100.0, 5.55), (161.0, 11.2)])
def test_grating_at_any_angle_and_frequency_peaks_where_asked(theta, f):
    """Not whole cycles: the peak of the 8x zero-padded, Hann-windowed spectrum is within half a bin (1/16 cycle per
    axis, so at most 0.09 cycles per extent) of (f cos theta, f sin theta); the orientation within 1 degree."""
    px, py = fft_peak(grating(SIDE, theta, f), pad=8)
    assert math.hypot(px, py) == pytest.approx(f, abs=0.09)
    err = (math.degrees(math.atan2(py, px)) - theta + 90) % 180 - 90
    assert abs(err) < 1.0


def test_zero_degrees_is_vertical_bars_and_angles_turn_counter_clockwise():
    f = 6.0
    g0 = grating(SIDE, 0.0, f, phase_deg=20.0)
    assert np.ptp(g0, axis=0).max() < 1e-12 < np.ptp(g0, axis=1).min()  # every column constant: vertical bars
    g90 = grating(SIDE, 90.0, f, phase_deg=20.0)
    assert np.ptp(g90, axis=1).max() < 1e-12 < np.ptp(g90, axis=0).min()  # every row constant
    # 45 deg: the normal points up and right, so the bars run from the top left down to the bottom right
    g45 = grating(SIDE, 45.0, f)
    np.testing.assert_allclose(g45[1:, 1:], g45[:-1, :-1], atol=1e-12)
    g135 = grating(SIDE, 135.0, f)
    np.testing.assert_allclose(g135[:-1, 1:], g135[1:, :-1], atol=1e-12)
    assert np.abs(g45[1:, 1:] - g45[:-1, 1:]).max() > 0.1  # and not the other way round
    # the crest: phase 0 puts the brightest line through the centre, phase 90 a quarter period along the normal
    x, y = centres(SIDE)
    u = x * math.cos(math.radians(45)) + y * math.sin(math.radians(45))
    np.testing.assert_allclose(
        grating(SIDE, 45.0, f, phase_deg=90.0), 0.5 + 0.5 * np.sin(2 * np.pi * f * u), atol=1e-12
    )


@pytest.mark.parametrize("contrast", [1.0, 0.5, 0.08, 0.0])
def test_grating_contrast_and_mean(contrast):
    """Whole cycles: the mean is 0.5 and the standard deviation that of a sinusoid of amplitude c / 2."""
    g = grating(SIDE, math.degrees(math.atan2(3, 4)), 5.0, phase_deg=11.0, contrast=contrast)
    assert g.mean() == pytest.approx(MEAN_GREY, abs=1e-12)
    assert g.std() == pytest.approx(contrast / 2 / math.sqrt(2), abs=1e-12)
    assert g.min() >= 0.5 - contrast / 2 - 1e-12 and g.max() <= 0.5 + contrast / 2 + 1e-12
    # 8 cycles across 64 pixels: phase 0 puts crests and troughs on pixel centres, so the range is the contrast
    h = grating(SIDE, 0.0, 8.0, phase_deg=360 * 8 * (0.5 / SIDE - 0.5), contrast=contrast)
    assert h.max() - h.min() == pytest.approx(contrast, abs=1e-12)
    michelson = (h.max() - h.min()) / (h.max() + h.min())
    assert michelson == pytest.approx(contrast, abs=1e-12)


def test_a_grating_at_any_angle_stays_in_range():
    for theta in range(0, 360, 7):
        g = grating(37, float(theta), 3.3, phase_deg=theta * 1.7)
        assert g.min() >= 0.0 and g.max() <= 1.0
        # 3.3 cycles are not whole: the mean of a cosine over a part cycle is off by at most 1 / (pi f) of c / 2
        assert abs(g.mean() - MEAN_GREY) <= 0.5 / (math.pi * 3.3)


def test_drifting_phase_advances_by_360_tf_dt_per_frame():
    f, tf, frame_ms = 4.0, 3.0, 20.0
    frames = drifting_grating_frames(SIDE, 30.0, f, tf, duration_ms=200.0, frame_ms=frame_ms, phase_deg=15.0)
    assert isinstance(frames, Iterator)  # made when asked for
    times, phases = [], []
    for t, frame in frames:
        times.append(t)
        phases.append(phase_of(frame, 30.0, f))
    np.testing.assert_allclose(times, np.arange(10) * frame_ms)
    assert phases[0] == pytest.approx(15.0, abs=1e-9)
    step = 360 * tf * frame_ms / 1000  # 21.6 deg
    np.testing.assert_allclose(np.diff(phases) % 360, step, atol=1e-9)


@pytest.mark.parametrize("direction, axis, shift", [(0, 1, 2), (90, 0, -2), (180, 1, -2), (270, 0, 2)])
def test_drift_moves_the_bars_in_the_direction(direction, axis, shift):
    """4 cycles over 64 pixels (period 16); 5 Hz at 25 ms frames is 45 deg, 2 pixels, a frame: right for 0 deg,
    up the image (rows decreasing) for 90, left for 180, down for 270."""
    frames = [fr for _, fr in drifting_grating_frames(SIDE, direction, 4.0, 5.0, 100.0, 25.0)]
    assert len(frames) == 4
    for a, b in itertools.pairwise(frames):
        np.testing.assert_allclose(b, np.roll(a, shift, axis=axis), atol=1e-12)
        assert np.abs(b - np.roll(a, -shift, axis=axis)).max() > 0.1


def test_zero_temporal_frequency_is_a_static_grating():
    frames = [fr for _, fr in drifting_grating_frames(SIDE, 60.0, 5.0, 0.0, 50.0, 10.0, contrast=0.3, phase_deg=5.0)]
    for fr in frames:
        np.testing.assert_array_equal(fr, grating(SIDE, 60.0, 5.0, phase_deg=5.0, contrast=0.3))


# ---- bars -----------------------------------------------------------------------------------------


def test_a_vertical_bar_covers_its_pixels():
    b = bar(SIDE, 0.0, width=0.25, length=0.5)  # 16 pixels wide, 32 long, centred
    want = np.full((SIDE, SIDE), 0.5)
    want[16:48, 24:40] = 1.0
    np.testing.assert_array_equal(b, want)
    np.testing.assert_array_equal(bar(SIDE, 90.0, 0.25, 0.5), want.T)  # horizontal
    np.testing.assert_array_equal(bar(SIDE, 0.0, 0.25, 0.5, polarity=-1), np.where(want > 0.5, 0.0, 0.5))
    np.testing.assert_array_equal(bar(SIDE, 0.0, 0.25, 0.5, contrast=0.5), np.where(want > 0.5, 0.75, 0.5))
    # moved right by a quarter (16 pixels) and up by an eighth (8 rows)
    np.testing.assert_array_equal(bar(SIDE, 0.0, 0.25, 0.5, position=(0.25, 0.125)), np.roll(want, (-8, 16), (0, 1)))


@pytest.mark.parametrize("theta", [30.0, 45.0, 117.0])
def test_an_oblique_bar_has_its_area_centre_and_axis(theta):
    """Area within 1% of width x length (share of each pixel from 16 sub-pixels), centre within 0.1 pixel (the
    sub-pixels are 0.25 apart), long axis at theta + 90 within 1 degree (second moments of the covered share)."""
    width, length, pos = 0.1, 0.5, (0.08, -0.05)
    share = (bar(SIDE, theta, width, length, position=pos) - 0.5) / 0.5
    assert share.min() >= 0.0 and share.max() <= 1.0
    assert share.sum() == pytest.approx(width * length * SIDE**2, rel=0.01)
    x, y = centres(SIDE)
    m = share.sum()
    cx, cy = (share * x).sum() / m, (share * y).sum() / m
    assert abs(cx - pos[0]) * SIDE < 0.1 and abs(cy - pos[1]) * SIDE < 0.1
    dx, dy = x - cx, y - cy
    cov = np.array(
        [[(share * dx * dx).sum(), (share * dx * dy).sum()], [(share * dx * dy).sum(), (share * dy * dy).sum()]]
    )
    evals, evecs = np.linalg.eigh(cov)
    axis = math.degrees(math.atan2(evecs[1, 1], evecs[0, 1])) % 180
    assert abs((axis - (theta + 90) + 90) % 180 - 90) < 1.0


def test_a_moving_bar_moves_at_its_speed_in_its_direction():
    """2 extents per second, 10 ms frames: 0.02 extents (1.28 pixels) a frame, along 30 deg."""
    direction, speed = 30.0, 2.0
    frames = list(moving_bar_frames(SIDE, direction, 0.05, 0.3, speed, duration_ms=800.0, frame_ms=10.0))
    assert len(frames) == 80
    assert np.all(frames[0][1] == 0.5)  # starts outside the grid
    x, y = centres(SIDE)
    start = -(math.sqrt(2) + 0.05) / 2
    a = math.radians(direction)
    inside = 0
    for t, fr in frames:
        share = fr - 0.5
        s = start + speed * t / 1000
        if abs(s) > 0.25:  # the whole bar inside the grid
            continue
        inside += 1
        cx, cy = (share * x).sum() / share.sum(), (share * y).sum() / share.sum()
        assert math.hypot(cx - s * math.cos(a), cy - s * math.sin(a)) * SIDE < 0.05
    assert inside >= 20


# ---- sparse noise ---------------------------------------------------------------------------------


def test_sparse_noise_has_the_density_asked_and_is_balanced():
    grid, n, density = 16, 4000, 0.05
    s = sparse_noise_stimulus(grid, n, seed=3, density=density)
    assert s.shape == (n, grid, grid) and s.dtype == np.int8
    assert set(np.unique(s)) == {-1, 0, 1}
    on = (s != 0).sum(axis=(1, 2))
    k = round(density * grid * grid)  # 13 squares
    assert np.all(on == k)
    assert abs(k / grid**2 - density) <= 0.5 / grid**2
    # white or black with probability 1/2: within 4 binomial standard deviations
    white = (s == 1).sum()
    assert abs(white - n * k / 2) < 4 * math.sqrt(n * k / 4)
    # every square equally often on: chi-square over the 256 squares (seeded: p = 0.40 here; fails below 0.001)
    from scipy.stats import chisquare

    assert chisquare((s != 0).sum(axis=0).ravel()).pvalue > 1e-3


def test_sparse_noise_is_reproducible_per_seed():
    a = sparse_noise_stimulus(12, 300, seed=5, density=0.1)
    np.testing.assert_array_equal(a, sparse_noise_stimulus(12, 300, seed=5, density=0.1))
    assert np.any(a != sparse_noise_stimulus(12, 300, seed=6, density=0.1))
    f1, s1 = sparse_noise_frames(24, 50, seed=9, grid=12, min_distance=2)
    f2, s2 = sparse_noise_frames(24, 50, seed=9, grid=12, min_distance=2)
    np.testing.assert_array_equal(f1, f2)
    np.testing.assert_array_equal(s1, s2)
    # longer than one block of the draw (1,024 frames): still the same stream
    np.testing.assert_array_equal(sparse_noise_stimulus(8, 2500, 1, 0.1), sparse_noise_stimulus(8, 2500, 1, 0.1))


@pytest.mark.parametrize("d", [2, 3, 5])
def test_locally_sparse_noise_keeps_its_squares_apart(d):
    grid, n = 20, 600
    fits = math.ceil(grid * grid / (2 * d - 1) ** 2)
    density = fits / grid**2  # the most the exclusion guarantees
    s = sparse_noise_stimulus(grid, n, seed=d, density=density, min_distance=d)
    assert np.all((s != 0).sum(axis=(1, 2)) == fits)
    for frame in s[:200]:
        r, c = np.nonzero(frame)
        cheb = np.maximum(np.abs(r[:, None] - r), np.abs(c[:, None] - c))
        np.fill_diagonal(cheb, grid)
        assert cheb.min() >= d


def test_sparse_noise_frames_show_each_square_on_its_pixels():
    frames, signed = sparse_noise_frames(32, 40, seed=2, density=0.1, grid=8, contrast=0.5)
    assert frames.shape == (40, 32, 32) and signed.shape == (40, 8, 8)
    np.testing.assert_array_equal(frames, 0.5 + 0.25 * np.kron(signed, np.ones((4, 4))))
    assert set(np.unique(frames)) == {0.25, 0.5, 0.75}
    # a grid that does not divide the side: pixel row r shows square row r * grid // side
    s = sparse_noise_stimulus(4, 5, seed=1, density=0.25)
    fr = sparse_noise_to_frames(s, 10)
    for r, c in itertools.product(range(10), repeat=2):
        np.testing.assert_array_equal(fr[:, r, c], 0.5 + 0.5 * s[:, r * 4 // 10, c * 4 // 10])
    # one square a pixel by default
    f, s = sparse_noise_frames(16, 3, seed=1)
    assert s.shape == (3, 16, 16)
    np.testing.assert_array_equal(f, 0.5 + 0.5 * s)


# ---- errors ---------------------------------------------------------------------------------------


BAD = [
    (lambda: grating(0, 0, 1), "side must be an integer >= 1, got 0"),
    (lambda: grating(32.0, 0, 1), "side must be an integer >= 1, got 32.0"),
    (lambda: grating(32, float("nan"), 1), "orientation_deg must be a finite number, got nan"),
    (lambda: grating(32, 0, 0), "spatial_frequency must be > 0, got 0"),
    (lambda: grating(32, 0, 16), r"spatial_frequency must be below the grid's Nyquist limit side / 2 = 16 cycles"),
    (lambda: grating(32, 0, 2, contrast=1.5), r"contrast must be in \[0, 1\], got 1.5"),
    (
        lambda: drifting_grating_frames(32, 0, 2, 25.0, 100, 20),
        r"temporal_frequency_hz must be >= 0 and below .* = 25 Hz",
    ),
    (lambda: drifting_grating_frames(32, 0, 2, -1.0, 100, 20), "temporal_frequency_hz must be >= 0"),
    (lambda: drifting_grating_frames(32, 0, 2, 1.0, 0, 20), "duration_ms must be > 0, got 0"),
    (lambda: drifting_grating_frames(32, 0, 2, 1.0, 100, -5), "frame_ms must be > 0, got -5"),
    (lambda: bar(32, 0, 0, 0.5), "width must be > 0, got 0"),
    (lambda: bar(32, 0, 0.1, 0.5, polarity=0), r"polarity must be \+1 \(white\) or -1 \(black\), got 0"),
    (lambda: bar(32, 0, 0.1, 0.5, position=(1, 2, 3)), r"position must be a pair \(x, y\) of numbers"),
    (lambda: moving_bar_frames(32, 0, 0.1, 0.5, 0, 100, 10), "speed must be > 0, got 0"),
    (lambda: sparse_noise_stimulus(16, 10, 1, density=0.0), r"density must be in \(0, 1\], got 0.0"),
    (lambda: sparse_noise_stimulus(16, 10, 1, density=0.001), "density must give at least one square per frame"),
    (
        lambda: sparse_noise_stimulus(16, 10, 1, density=0.05, min_distance=3),
        r"density must be at most 0.043 \(11 squares\) on a 16 x 16 grid with min_distance 3, got 0.05 \(13 squares\)",
    ),
    (lambda: sparse_noise_stimulus(16, 0, 1), "n_frames must be an integer >= 1, got 0"),
    (lambda: sparse_noise_stimulus(16, 10, -1), "seed must be an integer >= 0, got -1"),
    (lambda: sparse_noise_stimulus(16, 10, 1, min_distance=0), "min_distance must be an integer >= 1, got 0"),
    (lambda: sparse_noise_frames(8, 10, 1, grid=9), "grid must be at most side = 8 squares, got 9"),
    (
        lambda: sparse_noise_to_frames(np.full((2, 4, 4), 2), 8),
        r"signed must hold only -1 \(black\), 0 \(grey\) and \+1",
    ),
    (lambda: sparse_noise_to_frames(np.zeros((4, 4)), 8), r"signed must have shape \(n_frames, grid, grid\)"),
]


@pytest.mark.parametrize("call, message", BAD, ids=[m[:40] for _, m in BAD])
def test_bad_arguments_are_refused_in_one_line(call, message):
    with pytest.raises(StimulusError, match=message) as err:
        call()
    assert "\n" not in str(err.value)
    assert isinstance(err.value, ValueError)
