"""The stimuli of a physiologist's protocols: gratings, bars and sparse noise, as frames (pure numpy).

A frame is an ``ndarray`` of shape ``(side, side)``, grey levels in [0, 1] (1 = white) on a square
grid that covers a layer's extent, mean grey 0.5. Nothing here knows about time steps or engines:
a protocol is a sequence of frames and their onsets (ms).

Coordinates
    Positions and lengths are in units of the layer's extent (its side): pixel ``[row, col]`` has its
    centre at ``x = (col + 0.5) / side - 0.5``, ``y = 0.5 - (row + 0.5) / side``, so the origin is the
    centre of the grid, x points right, y points up and row 0 is the top, as
    :func:`spiking.model.geometry.grid_positions` places the nodes. Spatial frequencies are in
    cycles per extent (cycles across the grid's width).

Angles
    Degrees, counter-clockwise from the +x axis (y up): 90 deg points to the top of the image. The
    orientation of a grating or a bar is the direction of its normal, which is the direction it
    drifts or moves in: 0 deg gives vertical bars (luminance varies along x), 90 deg horizontal bars
    (luminance varies along y). Orientations ``theta`` and ``theta + 180`` are the same static grating
    (with the phase's sign flipped) and opposite directions of drift.

Contrast
    Michelson contrast ``(L_max - L_min) / (L_max + L_min)`` about the mean grey 0.5: a grating of
    contrast ``c`` spans ``[0.5 - c / 2, 0.5 + c / 2]``; a bar or a noise square of contrast ``c`` is
    ``0.5 + polarity * c / 2`` on grey.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator

import numpy as np

from ..errors import StimulusError

__all__ = [
    "pixel_coordinates",
    "frame_times",
    "grating",
    "drifting_grating_frames",
    "bar",
    "moving_bar_frames",
    "sparse_noise_stimulus",
    "sparse_noise_to_frames",
    "sparse_noise_frames",
    "MEAN_GREY",
]

#: The grey of a blank screen, and the mean of every protocol's frames.
MEAN_GREY = 0.5

#: Sub-pixels per pixel side used to find the share of a pixel a bar covers.
_OVERSAMPLE = 4

#: Frames drawn at once for sparse noise (bounds the memory of the draw, not the result).
_NOISE_CHUNK = 1024


# ---- arguments ------------------------------------------------------------------------------------


def _integer(name: str, value, lowest: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < lowest:
        raise StimulusError(f"{name} must be an integer >= {lowest}, got {value!r}")
    return int(value)


def _number(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise StimulusError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _positive(name: str, value) -> float:
    v = _number(name, value)
    if v <= 0:
        raise StimulusError(f"{name} must be > 0, got {value!r}")
    return v


def _contrast(value) -> float:
    c = _number("contrast", value)
    if not 0.0 <= c <= 1.0:
        raise StimulusError(f"contrast must be in [0, 1], got {value!r}")
    return c


def _polarity(value) -> int:
    if isinstance(value, bool) or value not in (1, -1):
        raise StimulusError(f"polarity must be +1 (white) or -1 (black), got {value!r}")
    return int(value)


def _spatial_frequency(value, side: int) -> float:
    f = _positive("spatial_frequency", value)
    if f >= side / 2:
        raise StimulusError(
            f"spatial_frequency must be below the grid's Nyquist limit side / 2 = {side / 2:g} cycles per extent, got {value!r}"
        )
    return f


def _position(value) -> tuple[float, float]:
    try:
        x, y = value
    except (TypeError, ValueError):
        raise StimulusError(f"position must be a pair (x, y) of numbers, got {value!r}") from None
    return _number("position x", x), _number("position y", y)


# ---- the grid and the clock -----------------------------------------------------------------------


def pixel_coordinates(side: int) -> tuple[np.ndarray, np.ndarray]:
    """The centres ``x``, ``y`` of a grid's pixels, in extents from the centre (y up, row 0 at the top).

    Returns
    -------
    x, y : ndarray of float64, shape (side, side)
        ``x[row, col] = (col + 0.5) / side - 0.5``, ``y[row, col] = 0.5 - (row + 0.5) / side``.
    """
    side = _integer("side", side, 1)
    centres = (np.arange(side) + 0.5) / side - 0.5
    x, y = np.meshgrid(centres, -centres)
    return x, y


def frame_times(duration_ms: float, frame_ms: float) -> np.ndarray:
    """Onsets (ms) of the frames of a protocol: ``0, frame_ms, 2 frame_ms, ...`` before ``duration_ms``.

    Frame ``k`` is shown from ``k * frame_ms`` until the next frame (the last one until
    ``duration_ms``).

    Returns
    -------
    ndarray of float64, shape (ceil(duration_ms / frame_ms),)
    """
    duration = _positive("duration_ms", duration_ms)
    frame = _positive("frame_ms", frame_ms)
    # a duration that is a whole number of frames up to rounding gives that number
    n = max(1, math.ceil(duration / frame - 1e-9))
    return np.arange(n) * frame


# ---- gratings -------------------------------------------------------------------------------------


def _along(side: int, angle_deg: float) -> np.ndarray:
    """Each pixel's coordinate along the unit vector at ``angle_deg`` (extents)."""
    x, y = pixel_coordinates(side)
    a = math.radians(angle_deg)
    return x * math.cos(a) + y * math.sin(a)


def _sinusoid(u: np.ndarray, spatial_frequency: float, phase_deg: float, contrast: float) -> np.ndarray:
    return MEAN_GREY * (1.0 + contrast * np.cos(2.0 * np.pi * spatial_frequency * u - math.radians(phase_deg)))


def grating(
    side: int, orientation_deg: float, spatial_frequency: float, phase_deg: float = 0.0, contrast: float = 1.0
) -> np.ndarray:
    """A static sinusoidal grating.

    ``L(x, y) = 0.5 (1 + contrast cos(2 pi f u - phase))`` with ``u = x cos(theta) + y sin(theta)``:
    a crest (the brightest line) lies at ``u = phase / (360 f)``, so a larger phase moves the bars
    along the grating's normal ``theta``.

    Parameters
    ----------
    side : int
        Pixels per side of the grid.
    orientation_deg : float
        Direction of the normal, degrees counter-clockwise from +x with y up: 0 = vertical bars
        (luminance varies along x, row 0 at the top), 90 = horizontal bars.
    spatial_frequency : float
        Cycles per extent (across the grid's width), ``0 < f < side / 2``; the period is
        ``side / f`` pixels.
    phase_deg : float
        Spatial phase, degrees of a cycle.
    contrast : float
        Michelson contrast in [0, 1].

    Returns
    -------
    ndarray of float64, shape (side, side)
        Grey levels in ``[0.5 - contrast / 2, 0.5 + contrast / 2]``.
    """
    side = _integer("side", side, 1)
    theta = _number("orientation_deg", orientation_deg)
    f = _spatial_frequency(spatial_frequency, side)
    phase = _number("phase_deg", phase_deg)
    return _sinusoid(_along(side, theta), f, phase, _contrast(contrast))


def drifting_grating_frames(
    side: int,
    direction_deg: float,
    spatial_frequency: float,
    temporal_frequency_hz: float,
    duration_ms: float,
    frame_ms: float,
    contrast: float = 1.0,
    phase_deg: float = 0.0,
) -> Iterator[tuple[float, np.ndarray]]:
    """A sinusoidal grating drifting along its normal, one frame at a time.

    Frame ``k`` at ``t_k = k frame_ms`` (:func:`frame_times`) is :func:`grating` with orientation
    ``direction_deg`` and phase ``phase_deg + 360 tf t_k / 1000``: the bars move in ``direction_deg``
    at ``tf / f`` extents per second, the phase advancing ``360 tf frame_ms / 1000`` degrees per frame.

    Parameters
    ----------
    side : int
    direction_deg : float
        Direction of drift (the grating's orientation, see :func:`grating`).
    spatial_frequency : float
        Cycles per extent.
    temporal_frequency_hz : float
        Cycles per second past a point, ``>= 0`` (0: a static grating) and below the frame rate's
        Nyquist limit ``1000 / (2 frame_ms)``, so that a step of the phase is less than half a cycle
        and the direction is unambiguous.
    duration_ms, frame_ms : float
        Length of the protocol and of a frame, ms.
    contrast : float
        Michelson contrast in [0, 1].
    phase_deg : float
        Phase of the first frame.

    Returns
    -------
    iterator of (float, ndarray)
        ``(t_ms, frame)`` with ``frame`` of shape ``(side, side)``, made when asked for (one frame in
        memory at a time). The arguments are checked when this is called, not when iterated.
    """
    side = _integer("side", side, 1)
    theta = _number("direction_deg", direction_deg)
    f = _spatial_frequency(spatial_frequency, side)
    tf = _number("temporal_frequency_hz", temporal_frequency_hz)
    c = _contrast(contrast)
    phase = _number("phase_deg", phase_deg)
    times = frame_times(duration_ms, frame_ms)
    nyquist = 1000.0 / (2.0 * float(frame_ms))
    if not 0.0 <= tf < nyquist:
        raise StimulusError(
            f"temporal_frequency_hz must be >= 0 and below the frame rate's Nyquist limit 1000 / (2 frame_ms) = {nyquist:g} Hz, got {temporal_frequency_hz!r}"
        )
    u = _along(side, theta)

    def frames() -> Iterator[tuple[float, np.ndarray]]:
        for t in times:
            yield float(t), _sinusoid(u, f, phase + 360.0 * tf * t / 1000.0, c)

    return frames()


# ---- bars -----------------------------------------------------------------------------------------


def _bar_coverage(side: int, theta: float, width: float, length: float, x0: float, y0: float) -> np.ndarray:
    """The share of each pixel inside the rectangle, from ``_OVERSAMPLE**2`` sub-pixel centres."""
    a = math.radians(theta)
    nx, ny = math.cos(a), math.sin(a)
    x, y = pixel_coordinates(side)
    cover = np.zeros((side, side))
    offsets = ((np.arange(_OVERSAMPLE) + 0.5) / _OVERSAMPLE - 0.5) / side
    for dy in offsets:
        for dx in offsets:
            px, py = x + dx - x0, y + dy - y0
            across = px * nx + py * ny  # along the normal: the bar's width
            along = -px * ny + py * nx  # along the bar: its length
            cover += (np.abs(across) <= width / 2) & (np.abs(along) <= length / 2)
    return cover / _OVERSAMPLE**2


def bar(
    side: int,
    orientation_deg: float,
    width: float,
    length: float,
    position: tuple[float, float] = (0.0, 0.0),
    polarity: int = 1,
    contrast: float = 1.0,
) -> np.ndarray:
    """A flashed bar on grey: a ``width x length`` rectangle centred at ``position``.

    A pixel's grey is ``0.5 (1 + polarity contrast share)``, ``share`` the part of the pixel inside
    the bar (from 4 x 4 sub-pixels), so a bar keeps its area at any angle and edges between pixels
    are grey in between.

    Parameters
    ----------
    side : int
    orientation_deg : float
        Direction of the bar's normal, as for :func:`grating`: 0 = a vertical bar (its width along x),
        90 = a horizontal one. A moving bar moves along it.
    width, length : float
        Extents (fractions of the grid's side), ``> 0``.
    position : (float, float)
        Centre ``(x, y)``, extents from the grid's centre, y up.
    polarity : {+1, -1}
        White (+1) or black (-1).
    contrast : float
        Michelson contrast in [0, 1].

    Returns
    -------
    ndarray of float64, shape (side, side)
    """
    side = _integer("side", side, 1)
    theta = _number("orientation_deg", orientation_deg)
    w = _positive("width", width)
    length = _positive("length", length)
    x0, y0 = _position(position)
    sign = _polarity(polarity)
    c = _contrast(contrast)
    return MEAN_GREY * (1.0 + sign * c * _bar_coverage(side, theta, w, length, x0, y0))


def moving_bar_frames(
    side: int,
    direction_deg: float,
    width: float,
    length: float,
    speed: float,
    duration_ms: float,
    frame_ms: float,
    polarity: int = 1,
    contrast: float = 1.0,
    start: float | None = None,
) -> Iterator[tuple[float, np.ndarray]]:
    """A bar moving along its normal through the centre of the grid, one frame at a time.

    Frame ``k`` at ``t_k = k frame_ms`` is :func:`bar` with orientation ``direction_deg`` centred at
    ``s_k (cos d, sin d)``, ``s_k = start + speed t_k / 1000``.

    Parameters
    ----------
    side : int
    direction_deg : float
        Direction of motion (the bar's orientation, see :func:`bar`).
    width, length : float
        Extents, ``> 0``.
    speed : float
        Extents per second, ``> 0``.
    duration_ms, frame_ms : float
        Length of the protocol and of a frame, ms.
    polarity : {+1, -1}
    contrast : float
    start : float, optional
        Offset of the bar's centre along the direction at ``t = 0``, extents; by default
        ``-(sqrt(2) + width) / 2``, just outside the grid whatever the direction.

    Returns
    -------
    iterator of (float, ndarray)
        ``(t_ms, frame)``, made when asked for; the arguments are checked when this is called.
    """
    side = _integer("side", side, 1)
    theta = _number("direction_deg", direction_deg)
    w = _positive("width", width)
    length = _positive("length", length)
    v = _positive("speed", speed)
    sign = _polarity(polarity)
    c = _contrast(contrast)
    s0 = -(math.sqrt(2.0) + w) / 2 if start is None else _number("start", start)
    times = frame_times(duration_ms, frame_ms)
    a = math.radians(theta)

    def frames() -> Iterator[tuple[float, np.ndarray]]:
        for t in times:
            s = s0 + v * t / 1000.0
            share = _bar_coverage(side, theta, w, length, s * math.cos(a), s * math.sin(a))
            yield float(t), MEAN_GREY * (1.0 + sign * c * share)

    return frames()


# ---- sparse noise ---------------------------------------------------------------------------------


def _neighbourhoods(grid: int, min_distance: int) -> np.ndarray:
    """For each square (flat index), the squares closer than ``min_distance`` (Chebyshev), itself included.

    Rows are padded with the square itself, shape ``(grid**2, (2 min_distance - 1)**2)``.
    """
    r = min_distance - 1
    d = np.arange(-r, r + 1)
    dr, dc = (a.ravel() for a in np.meshgrid(d, d, indexing="ij"))
    rows, cols = np.divmod(np.arange(grid * grid), grid)
    nr, nc = rows[:, None] + dr, cols[:, None] + dc
    inside = (nr >= 0) & (nr < grid) & (nc >= 0) & (nc < grid)
    return np.where(inside, nr * grid + nc, np.arange(grid * grid)[:, None])


def sparse_noise_stimulus(
    grid: int, n_frames: int, seed: int, density: float = 0.05, min_distance: int = 1
) -> np.ndarray:
    """The squares of locally sparse noise: white (+1) and black (-1) squares on grey (0).

    Every frame has exactly ``k = round(density grid**2)`` non-grey squares, each white or black
    with probability 1/2. With ``min_distance = 1`` the ``k`` squares are a uniform draw without
    replacement, so every square is white (or black) in ``k / (2 grid**2)`` of the frames on
    average. With ``min_distance = d > 1`` the noise is locally sparse: two non-grey squares of a
    frame are at least ``d`` squares apart (Chebyshev distance, as the exclusion zone of the Allen
    Brain Observatory's locally sparse noise), drawn by random sequential adsorption: squares in a
    random order, each kept unless it is closer than ``d`` to one already kept, until ``k`` are.
    Squares near the border are then more often on than those in the middle (a quarter more along
    the edge for ``d = 3`` on 16 x 16 squares at the highest density); reverse correlation divides
    by each square's own count (:func:`spiking.analysis.tuning.receptive_fields`).

    Parameters
    ----------
    grid : int
        Squares per side.
    n_frames : int
        ``>= 1``.
    seed : int
        Seed of ``numpy.random.default_rng``; the same seed gives the same stimulus.
    density : float
        Share of the squares that are not grey in each frame, ``(0, 1]``; ``k`` must be at least 1
        and, with ``min_distance = d``, at most ``ceil(grid**2 / (2 d - 1)**2)`` (the fewest squares
        the draw can end with, so every frame gets its ``k``).
    min_distance : int
        ``>= 1``; 1 puts no constraint beyond distinct squares.

    Returns
    -------
    ndarray of int8, shape (n_frames, grid, grid)
        The signed stimulus: +1 white, -1 black, 0 grey; ``[frame, row, col]``, row 0 at the top.
    """
    grid = _integer("grid", grid, 1)
    n_frames = _integer("n_frames", n_frames, 1)
    seed = _integer("seed", seed, 0)
    min_distance = _integer("min_distance", min_distance, 1)
    p = _number("density", density)
    if not 0.0 < p <= 1.0:
        raise StimulusError(f"density must be in (0, 1], got {density!r}")
    n_squares = grid * grid
    k = round(p * n_squares)
    if k < 1:
        raise StimulusError(
            f"density must give at least one square per frame on a {grid} x {grid} grid (>= {0.5 / n_squares:.3g}), got {density!r}"
        )
    fits = math.ceil(n_squares / (2 * min_distance - 1) ** 2)
    if k > fits:
        raise StimulusError(
            f"density must be at most {fits / n_squares:.3g} ({fits} squares) on a {grid} x {grid} grid with min_distance {min_distance}, got {density!r} ({k} squares)"
        )
    rng = np.random.default_rng(seed)
    signed = np.zeros((n_frames, n_squares), dtype=np.int8)
    near = _neighbourhoods(grid, min_distance) if min_distance > 1 else None
    for a in range(0, n_frames, _NOISE_CHUNK):
        b = min(n_frames, a + _NOISE_CHUNK)
        n = b - a
        order = rng.permuted(np.broadcast_to(np.arange(n_squares), (n, n_squares)), axis=1)
        if near is None:
            chosen = order[:, :k]
        else:
            chosen = np.empty((n, k), dtype=np.int64)
            count = np.zeros(n, dtype=np.int64)
            blocked = np.zeros((n, n_squares), dtype=bool)
            frames = np.arange(n)
            for j in range(n_squares):
                c = order[:, j]
                take = (count < k) & ~blocked[frames, c]
                f, c = frames[take], c[take]
                chosen[f, count[f]] = c
                count[f] += 1
                blocked[f[:, None], near[c]] = True
                if count.min() == k:
                    break
        sign = np.where(rng.random((n, k)) < 0.5, 1, -1).astype(np.int8)
        np.put_along_axis(signed[a:b], chosen, sign, axis=1)
    return signed.reshape(n_frames, grid, grid)


def sparse_noise_to_frames(signed: np.ndarray, side: int, contrast: float = 1.0) -> np.ndarray:
    """The frames of a signed sparse-noise stimulus on a grid of ``side`` pixels.

    Pixel ``[row, col]`` shows square ``[row * grid // side, col * grid // side]``: each square
    covers ``side / grid`` pixels per side (rounded down or up where ``grid`` does not divide
    ``side``). A frame is ``0.5 (1 + contrast s)``.

    Parameters
    ----------
    signed : ndarray, shape (n_frames, grid, grid)
        Values in {-1, 0, +1}, as :func:`sparse_noise_stimulus` returns (a slice of it renders
        those frames only).
    side : int
        ``>= grid``.
    contrast : float

    Returns
    -------
    ndarray of float64, shape (n_frames, side, side)
    """
    s = np.asarray(signed)
    if s.ndim != 3 or s.shape[1] != s.shape[2] or s.shape[1] < 1:
        raise StimulusError(f"signed must have shape (n_frames, grid, grid), got {s.shape}")
    if not np.isin(s, (-1, 0, 1)).all():
        raise StimulusError("signed must hold only -1 (black), 0 (grey) and +1 (white)")
    grid = s.shape[1]
    side = _integer("side", side, grid)
    c = _contrast(contrast)
    square = np.arange(side) * grid // side
    return MEAN_GREY * (1.0 + c * s[:, square[:, None], square[None, :]].astype(np.float64))


def sparse_noise_frames(
    side: int,
    n_frames: int,
    seed: int,
    density: float = 0.05,
    grid: int | None = None,
    min_distance: int = 1,
    contrast: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Locally sparse noise: the frames and the signed stimulus that reverse correlation needs.

    :func:`sparse_noise_stimulus` drawn on ``grid x grid`` squares, rendered on ``side x side``
    pixels by :func:`sparse_noise_to_frames`. The frames take ``8 n_frames side**2`` bytes; for
    long protocols keep the signed stimulus (1 byte a square) and render slices of it.

    Parameters
    ----------
    side : int
        Pixels per side.
    n_frames : int
    seed : int
        Seed of ``numpy.random.default_rng``.
    density : float
        Share of the squares that are not grey in each frame.
    grid : int, optional
        Squares per side, ``1 <= grid <= side``; by default ``side`` (one square a pixel).
    min_distance : int
        Squares between two non-grey squares of a frame, Chebyshev (1: no constraint).
    contrast : float
        Michelson contrast of a square on grey, in [0, 1].

    Returns
    -------
    frames : ndarray of float64, shape (n_frames, side, side)
        Grey levels in {0.5 - contrast / 2, 0.5, 0.5 + contrast / 2}.
    signed : ndarray of int8, shape (n_frames, grid, grid)
        +1 white, -1 black, 0 grey.
    """
    side = _integer("side", side, 1)
    grid = side if grid is None else _integer("grid", grid, 1)
    if grid > side:
        raise StimulusError(f"grid must be at most side = {side} squares, got {grid!r}")
    signed = sparse_noise_stimulus(grid, n_frames, seed, density=density, min_distance=min_distance)
    return sparse_noise_to_frames(signed, side, contrast), signed
