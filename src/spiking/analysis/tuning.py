"""Tuning curves, orientation and direction selectivity, responsiveness and receptive fields (numpy and scipy, no simulator).

The measures a physiologist takes of V1 neurons from their responses (spike counts or rates) to
the protocols of :mod:`spiking.model.protocols`, in the field's definitions:

- :func:`tuning_curves`: mean, standard deviation and standard error of the responses to each
  condition over its repeats.
- :func:`osi`, :func:`dsi`, :func:`preferred_angle`: the Allen Brain Observatory's indices
  (de Vries et al. 2020; the AllenSDK's ``brain_observatory/drifting_gratings.py`` and
  ``static_gratings.py``), from the condition with the largest mean response::

      OSI = (R_pref - R_orth) / (R_pref + R_orth)     R_orth at pref +/- 90 deg
      DSI = (R_pref - R_null) / (R_pref + R_null)     R_null at pref + 180 deg

- :func:`global_osi`, :func:`global_dsi`: the vector sums over all conditions (1 minus the
  circular variance; Ringach et al. 2002, Mazurek et al. 2014; the AllenSDK's
  ``ecephys/stimulus_analysis``)::

      gOSI = |sum_k R_k exp(2 i theta_k)| / sum_k R_k,  preferred orientation = arg(...) / 2
      gDSI = |sum_k R_k exp(i theta_k)| / sum_k R_k,    preferred direction = arg(...)

- :func:`responsive`: whether a neuron's response to its preferred condition is above its
  response to a blank screen (one-sided Mann-Whitney U, Bonferroni over the conditions).
- :func:`receptive_fields` and :func:`rf_centre_and_size`: ON and OFF subfields by reverse
  correlation with sparse noise (Jones & Palmer 1987), and a 2-D Gaussian fitted to a subfield.
- :func:`orientation_map`: preferred orientation and selectivity laid out on a layer's grid.

Angles are in degrees, counter-clockwise from +x with y up, as the protocols draw them (a
grating's orientation is the direction of its normal and of its drift). Responses are
non-negative. A neuron that does not respond at all has no preference and no index: its values
are NaN, and no warning is raised for it.

References
----------
de Vries, S. E. J. et al. (2020). A large-scale standardized physiological survey reveals
functional organization of the mouse visual cortex. Nature Neuroscience 23, 138-151.
Ringach, D. L., Shapley, R. M. & Hawken, M. J. (2002). Orientation selectivity in macaque V1:
diversity and laminar dependence. Journal of Neuroscience 22, 5639-5651.
Mazurek, M., Kager, M. & Van Hooser, S. D. (2014). Robust quantification of orientation
selectivity and direction selectivity. Frontiers in Neural Circuits 8, 92.
Jones, J. P. & Palmer, L. A. (1987). The two-dimensional spatial structure of simple receptive
fields in cat striate cortex. Journal of Neurophysiology 58, 1187-1211.
Chichilnisky, E. J. (2001). A simple white noise analysis of neuronal light responses.
Network: Computation in Neural Systems 12, 199-213.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import StimulusError
from ..model.geometry import nodes_to_image

__all__ = [
    "TuningCurves",
    "tuning_curves",
    "preferred_angle",
    "osi",
    "dsi",
    "global_osi",
    "global_dsi",
    "Responsiveness",
    "responsive",
    "ReceptiveFields",
    "receptive_fields",
    "RFShape",
    "rf_centre_and_size",
    "OrientationMap",
    "orientation_map",
    "ALPHA",
]

#: Significance level of :func:`responsive`.
ALPHA = 0.05

#: Two angles closer than this (degrees) are the same condition.
_ANGLE_TOLERANCE = 1e-6

#: Frames per block in :func:`receptive_fields` (bounds its memory to a block of the stimulus).
_RF_CHUNK = 4096


# ---- arguments ------------------------------------------------------------------------------------


def _counts(name: str, values, ndim: int = 2) -> np.ndarray:
    a = np.asarray(values, dtype=np.float64)
    if a.ndim != ndim:
        raise StimulusError(f"{name} must be a {ndim}-D array, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise StimulusError(f"{name} must be finite (no NaN or inf)")
    if (a < 0).any():
        raise StimulusError(f"{name} must be >= 0 (spike counts or rates), got {a.min():g}")
    return a


def _responses(mean, angles_deg) -> tuple[np.ndarray, np.ndarray, bool]:
    """Responses as ``(n_angles, n_neurons)`` (a 1-D curve is one neuron), the angles, and whether it was 1-D."""
    r = np.asarray(mean, dtype=np.float64)
    single = r.ndim == 1
    r = _counts("responses", r[:, None] if single else r)
    a = np.asarray(angles_deg, dtype=np.float64)
    if a.ndim != 1 or a.size != r.shape[0]:
        raise StimulusError(f"angles_deg must be one angle per condition ({r.shape[0]}), got shape {a.shape}")
    if not np.isfinite(a).all():
        raise StimulusError("angles_deg must be finite")
    return r, a, single


def _circular(d: np.ndarray, period: float) -> np.ndarray:
    """``d`` wrapped into ``(-period / 2, period / 2]``."""
    return -((-d + period / 2) % period - period / 2)


def _partner(angles: np.ndarray, offset: float, period: float) -> np.ndarray:
    """For each angle, the index of the angle ``offset`` degrees away (mod ``period``)."""
    d = _circular(angles[None, :] - (angles[:, None] + offset), period)
    hit = np.abs(d) < _ANGLE_TOLERANCE
    missing = ~hit.any(axis=1)
    if missing.any():
        a = angles[np.argmax(missing)]
        raise StimulusError(
            f"angles_deg must hold each angle {offset:+g} deg (mod {period:g}); {a:g} has no {(a + offset) % period:g}"
        )
    return np.argmax(hit, axis=1)


def _out(values: np.ndarray, single: bool):
    return float(values[0]) if single else values


def _index(top: np.ndarray, other: np.ndarray) -> np.ndarray:
    """``(top - other) / (top + other)``, NaN where both are 0, without warnings."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(top + other > 0, (top - other) / (top + other), np.nan)


# ---- tuning curves --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TuningCurves:
    """Responses per condition over repeats.

    Attributes
    ----------
    conditions : ndarray, shape (n_conditions,)
        The distinct condition labels, sorted (for gratings, angles in degrees).
    mean : ndarray of float64, shape (n_conditions, n_neurons)
    std : ndarray of float64, shape (n_conditions, n_neurons)
        Sample standard deviation over the repeats (``ddof = 1``); NaN for a condition shown once.
    sem : ndarray of float64, shape (n_conditions, n_neurons)
        Standard error of the mean, ``std / sqrt(n_trials)``.
    n_trials : ndarray of int64, shape (n_conditions,)
        Repeats of each condition.
    """

    conditions: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    sem: np.ndarray
    n_trials: np.ndarray


def tuning_curves(counts, conditions) -> TuningCurves:
    """Mean, standard deviation and standard error of each neuron's response to each condition.

    Parameters
    ----------
    counts : array_like, shape (n_trials, n_neurons)
        The response of each neuron in each trial (spike count or rate, >= 0).
    conditions : array_like, shape (n_trials,)
        The condition of each trial (an angle in degrees, or any sortable label).

    Returns
    -------
    TuningCurves
    """
    r = _counts("counts", counts)
    labels = np.asarray(conditions)
    if labels.ndim != 1 or labels.size != r.shape[0]:
        raise StimulusError(f"conditions must be one label per trial ({r.shape[0]}), got shape {labels.shape}")
    if r.shape[0] == 0:
        raise StimulusError("counts must hold at least one trial")
    values, which = np.unique(labels, return_inverse=True)
    order = np.argsort(which, kind="stable")
    n = np.bincount(which, minlength=values.size)
    starts = np.concatenate([[0], np.cumsum(n)[:-1]])
    grouped = r[order]
    mean = np.add.reduceat(grouped, starts, axis=0) / n[:, None]
    squares = np.add.reduceat((grouped - mean[which[order]]) ** 2, starts, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        std = np.where(n[:, None] > 1, np.sqrt(squares / (n[:, None] - 1)), np.nan)
    return TuningCurves(conditions=values, mean=mean, std=std, sem=std / np.sqrt(n)[:, None], n_trials=n)


# ---- selectivity ----------------------------------------------------------------------------------


def _preferred(r: np.ndarray) -> np.ndarray:
    """Index of the largest response of each neuron (the first of equals)."""
    return np.argmax(r, axis=0)


def preferred_angle(mean, angles_deg):
    """The angle of the condition with the largest mean response (the first of equals).

    As the Allen Brain Observatory takes the preferred direction of drifting gratings (and the
    preferred orientation of static ones). Reduce a direction modulo 180 for the orientation.

    Parameters
    ----------
    mean : array_like, shape (n_angles, n_neurons) or (n_angles,)
        Mean responses (:attr:`TuningCurves.mean`).
    angles_deg : array_like, shape (n_angles,)

    Returns
    -------
    ndarray of float64, shape (n_neurons,), or float
        Degrees, an element of ``angles_deg``; NaN for a neuron with no response.
    """
    r, a, single = _responses(mean, angles_deg)
    pref = np.where(r.max(axis=0) > 0, a[_preferred(r)], np.nan)
    return _out(pref, single)


def osi(mean, angles_deg, period_deg: float = 360.0):
    """Orientation selectivity index, ``(R_pref - R_orth) / (R_pref + R_orth)``.

    ``R_pref`` is the largest mean response; ``R_orth`` the mean of the responses at the preferred
    angle + 90 and - 90 degrees (mod ``period_deg``), as the AllenSDK's ``drifting_gratings.py``
    computes it over directions (``period_deg = 360``). For orientations in [0, 180) (static
    gratings, ``static_gratings.py``) give ``period_deg = 180``: both are the one orthogonal
    orientation. 0 for a neuron that responds alike to the preferred and orthogonal angles, 1
    for one silent at the orthogonal angles; NaN for one with no response.

    Parameters
    ----------
    mean : array_like, shape (n_angles, n_neurons) or (n_angles,)
    angles_deg : array_like, shape (n_angles,)
        Every angle's +/- 90 deg must be among them (e.g. 8 or 12 equally spaced directions).
    period_deg : {360, 180}
        360 for directions, 180 for orientations.

    Returns
    -------
    ndarray of float64, shape (n_neurons,), or float
    """
    if period_deg not in (180, 360):
        raise StimulusError(f"period_deg must be 360 (directions) or 180 (orientations), got {period_deg!r}")
    r, a, single = _responses(mean, angles_deg)
    plus, minus = _partner(a, 90.0, period_deg), _partner(a, -90.0, period_deg)
    pref = _preferred(r)
    cols = np.arange(r.shape[1])
    top = r[pref, cols]
    orth = (r[plus[pref], cols] + r[minus[pref], cols]) / 2
    return _out(_index(top, orth), single)


def dsi(mean, angles_deg):
    """Direction selectivity index, ``(R_pref - R_null) / (R_pref + R_null)``.

    ``R_pref`` is the largest mean response, ``R_null`` the response to the opposite direction
    (preferred + 180 deg), as the AllenSDK's ``drifting_gratings.py``. 0 for a neuron that
    responds alike to both directions, 1 for one silent in the null direction; NaN for one with
    no response.

    Parameters
    ----------
    mean : array_like, shape (n_directions, n_neurons) or (n_directions,)
    angles_deg : array_like, shape (n_directions,)
        Directions; each one's opposite must be among them.

    Returns
    -------
    ndarray of float64, shape (n_neurons,), or float
    """
    r, a, single = _responses(mean, angles_deg)
    null = _partner(a, 180.0, 360.0)
    pref = _preferred(r)
    cols = np.arange(r.shape[1])
    return _out(_index(r[pref, cols], r[null[pref], cols]), single)


def _vector_sum(mean, angles_deg, harmonic: int, period: float):
    r, a, single = _responses(mean, angles_deg)
    z = np.exp(1j * harmonic * np.deg2rad(a)) @ r
    total = r.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        index = np.where(total > 0, np.abs(z) / total, np.nan)
    angle = np.rad2deg(np.angle(z)) / harmonic % period
    # a tiny negative angle wraps to the period itself in floating point
    angle = np.where(total > 0, np.where(angle < period, angle, 0.0), np.nan)
    return _out(index, single), _out(angle, single)


def global_osi(mean, angles_deg):
    """Global orientation selectivity: the normalised vector sum on the doubled angles.

    ``gOSI = |sum_k R_k exp(2 i theta_k)| / sum_k R_k`` (1 minus the circular variance of Ringach
    et al. 2002; Mazurek et al. 2014), over directions or orientations alike; the preferred
    orientation is half the angle of the sum. 0 for a flat curve over equally spaced angles, 1 for
    a neuron that responds to one orientation only; NaN (index and angle) for one with no response.

    Parameters
    ----------
    mean : array_like, shape (n_angles, n_neurons) or (n_angles,)
    angles_deg : array_like, shape (n_angles,)

    Returns
    -------
    gosi : ndarray of float64, shape (n_neurons,), or float
    preferred_orientation_deg : ndarray of float64, shape (n_neurons,), or float
        In [0, 180).
    """
    return _vector_sum(mean, angles_deg, 2, 180.0)


def global_dsi(mean, angles_deg):
    """Global direction selectivity: the normalised vector sum on the directions.

    ``gDSI = |sum_k R_k exp(i theta_k)| / sum_k R_k`` (Mazurek et al. 2014); the preferred
    direction is the angle of the sum. NaN for a neuron with no response.

    Parameters
    ----------
    mean : array_like, shape (n_directions, n_neurons) or (n_directions,)
    angles_deg : array_like, shape (n_directions,)

    Returns
    -------
    gdsi : ndarray of float64, shape (n_neurons,), or float
    preferred_direction_deg : ndarray of float64, shape (n_neurons,), or float
        In [0, 360).
    """
    return _vector_sum(mean, angles_deg, 1, 360.0)


# ---- responsiveness -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Responsiveness:
    """Which neurons respond to the stimulus: the preferred condition against the blank.

    Attributes
    ----------
    conditions : ndarray, shape (n_conditions,)
        Sorted labels, as :attr:`TuningCurves.conditions`.
    preferred : ndarray of int64, shape (n_neurons,)
        Index into ``conditions`` of the largest mean response.
    p_values : ndarray of float64, shape (n_conditions, n_neurons)
        One-sided Mann-Whitney U p-value of each condition against the blank (uncorrected).
    p_value : ndarray of float64, shape (n_neurons,)
        The preferred condition's p-value times ``n_conditions`` (Bonferroni), at most 1.
    responsive : ndarray of bool, shape (n_neurons,)
        ``p_value < alpha``.
    alpha : float
    """

    conditions: np.ndarray
    preferred: np.ndarray
    p_values: np.ndarray
    p_value: np.ndarray
    responsive: np.ndarray
    alpha: float

    @property
    def fraction(self) -> float:
        """Share of the neurons that are responsive."""
        return float(self.responsive.mean()) if self.responsive.size else float("nan")


def responsive(counts, blank_counts, conditions, alpha: float = ALPHA) -> Responsiveness:
    """Whether each neuron responds to its preferred condition more than to a blank screen.

    The preferred condition is the one with the largest mean response. Its trials are compared
    with the blank trials by a one-sided Mann-Whitney U test (``scipy.stats.mannwhitneyu``,
    ``alternative="greater"``, normal approximation with tie and continuity corrections): the
    responses are counts with many ties, and no normality is assumed. Because the condition is
    chosen for its large response, its p-value is multiplied by the number of conditions
    (Bonferroni): a neuron that responds to nothing is then called responsive at most ``alpha``
    of the time, where the uncorrected test would call it so far more often. A neuron is
    responsive when the corrected p-value is below ``alpha``.

    Parameters
    ----------
    counts : array_like, shape (n_trials, n_neurons)
        Responses (>= 0) in the stimulus trials.
    blank_counts : array_like, shape (n_blank_trials, n_neurons)
        Responses over windows of the same length on a blank (mean grey) screen.
    conditions : array_like, shape (n_trials,)
        The condition of each stimulus trial.
    alpha : float
        Significance level, in (0, 1).

    Returns
    -------
    Responsiveness
    """
    from scipy.stats import mannwhitneyu

    if not 0.0 < alpha < 1.0:
        raise StimulusError(f"alpha must be in (0, 1), got {alpha!r}")
    curves = tuning_curves(counts, conditions)
    r = np.asarray(counts, dtype=np.float64)
    blank = _counts("blank_counts", blank_counts)
    if blank.shape[1] != r.shape[1] or blank.shape[0] < 1:
        raise StimulusError(
            f"blank_counts must have shape (n_blank_trials >= 1, {r.shape[1]}) like counts, got {blank.shape}"
        )
    labels = np.asarray(conditions)
    p_values = np.empty(curves.mean.shape)
    for k, c in enumerate(curves.conditions):
        p_values[k] = mannwhitneyu(r[labels == c], blank, alternative="greater", axis=0, method="asymptotic").pvalue
    pref = _preferred(curves.mean)
    p = np.minimum(1.0, p_values[pref, np.arange(r.shape[1])] * len(curves.conditions))
    return Responsiveness(
        conditions=curves.conditions, preferred=pref, p_values=p_values, p_value=p, responsive=p < alpha, alpha=alpha
    )


# ---- receptive fields -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceptiveFields:
    """ON and OFF subfields from reverse correlation with sparse noise.

    Attributes
    ----------
    on, off : ndarray of float64, shape (n_neurons, rows, cols)
        Mean response (units of the responses, e.g. spikes per frame) when the square is white
        (``on``) or black (``off``), minus the mean response when it is grey: positive where a
        white (black) square drives the neuron, negative where it suppresses it. NaN for a square
        never white (black), or never grey.
    n_white, n_black : ndarray of int64, shape (rows, cols)
        Frames in which each square was white, black.
    """

    on: np.ndarray
    off: np.ndarray
    n_white: np.ndarray
    n_black: np.ndarray

    @property
    def linear(self) -> np.ndarray:
        """``(on - off) / 2``: the receptive field of a linear neuron (its weights, per unit of signed contrast)."""
        return (self.on - self.off) / 2


def receptive_fields(spike_counts_per_frame, signed_stimulus, lag: int = 0) -> ReceptiveFields:
    """Reverse correlation of per-frame responses with a signed sparse-noise stimulus.

    For each square ``i`` and neuron: ``ON_i = mean(r_t | s_{t-lag,i} = +1) - mean(r_t | s_{t-lag,i} = 0)``
    and ``OFF_i`` the same for ``-1``: the spike-triggered average of the white and of the black
    squares (Jones & Palmer 1987; Chichilnisky 2001), each square divided by its own number of
    frames (so a stimulus whose squares are not all equally often on, such as locally sparse
    noise, is not biased), against the response when the square is grey. For a linear-nonlinear-
    Poisson neuron with weights ``w`` and a small share of squares on, ``ON`` follows ``w`` where it
    is positive and ``OFF`` follows ``-w`` (``linear = (ON - OFF) / 2 ~ w``).

    Parameters
    ----------
    spike_counts_per_frame : array_like, shape (n_frames, n_neurons) or (n_frames,)
        Each neuron's response (>= 0) to each frame: spikes in a window after the frame's onset.
    signed_stimulus : array_like, shape (n_frames, rows, cols)
        +1 white, -1 black, 0 grey, per square of the noise
        (:func:`spiking.model.protocols.sparse_noise_stimulus`; any rectangle of squares).
    lag : int
        Frames between a frame and the response it is paired with (``r_{t + lag}`` with ``s_t``),
        ``0 <= lag < n_frames``.

    Returns
    -------
    ReceptiveFields
        ``on`` and ``off`` of shape ``(n_neurons, rows, cols)`` (``n_neurons = 1`` for 1-D responses).
    """
    r = np.asarray(spike_counts_per_frame, dtype=np.float64)
    r = _counts("spike_counts_per_frame", r[:, None] if r.ndim == 1 else r)
    s = np.asarray(signed_stimulus)
    if s.ndim != 3:
        raise StimulusError(f"signed_stimulus must have shape (n_frames, rows, cols), got {s.shape}")
    if s.shape[0] != r.shape[0]:
        raise StimulusError(
            f"spike_counts_per_frame must have one row per frame of the stimulus ({s.shape[0]}), got {r.shape[0]}"
        )
    if not np.isin(s, (-1, 0, 1)).all():
        raise StimulusError("signed_stimulus must hold only -1 (black), 0 (grey) and +1 (white)")
    if isinstance(lag, bool) or not isinstance(lag, int | np.integer) or not 0 <= lag < s.shape[0]:
        raise StimulusError(f"lag must be an integer frame count in [0, {s.shape[0]}), got {lag!r}")
    n_rows, n_cols = s.shape[1:]
    flat = s.reshape(s.shape[0], n_rows * n_cols)[: s.shape[0] - lag]
    resp = r[lag:]
    n_neurons = r.shape[1]
    white_sum = np.zeros((n_rows * n_cols, n_neurons))
    black_sum = np.zeros((n_rows * n_cols, n_neurons))
    for a in range(0, flat.shape[0], _RF_CHUNK):
        block, rb = flat[a : a + _RF_CHUNK], resp[a : a + _RF_CHUNK]
        white_sum += (block == 1).T.astype(np.float64) @ rb
        black_sum += (block == -1).T.astype(np.float64) @ rb
    n_white = (flat == 1).sum(axis=0)
    n_black = (flat == -1).sum(axis=0)
    n_grey = flat.shape[0] - n_white - n_black
    grey_sum = resp.sum(axis=0)[None, :] - white_sum - black_sum
    with np.errstate(invalid="ignore", divide="ignore"):
        grey = np.where(n_grey[:, None] > 0, grey_sum / n_grey[:, None], np.nan)
        on = np.where(n_white[:, None] > 0, white_sum / n_white[:, None], np.nan) - grey
        off = np.where(n_black[:, None] > 0, black_sum / n_black[:, None], np.nan) - grey

    def maps(m: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(m.T.reshape(n_neurons, n_rows, n_cols))

    return ReceptiveFields(
        on=maps(on), off=maps(off), n_white=n_white.reshape(n_rows, n_cols), n_black=n_black.reshape(n_rows, n_cols)
    )


@dataclass(frozen=True)
class RFShape:
    """A 2-D Gaussian fitted to a receptive-field map, in grid units (one square = 1).

    ``m(row, col) = amplitude exp(-q / 2) + offset``, ``q`` the squared distance from the centre in
    units of the standard deviations along the ellipse's axes. All NaN when the map has no
    positive value or the fit fails or lands off the grid.

    Attributes
    ----------
    row, col : float
        Centre; square ``[i, j]`` has its centre at ``(i, j)``, row 0 at the top.
    sigma_major, sigma_minor : float
        Standard deviations along the ellipse's long and short axes (squares).
    angle_deg : float
        Direction of the long axis, degrees counter-clockwise from +x (columns) with y up (rows
        upwards), in [0, 180).
    amplitude, offset : float
        Units of the map.
    """

    row: float
    col: float
    sigma_major: float
    sigma_minor: float
    angle_deg: float
    amplitude: float
    offset: float

    @property
    def sigma(self) -> float:
        """``sqrt(sigma_major sigma_minor)``: the radius of the circular Gaussian with the same area."""
        return math.sqrt(self.sigma_major * self.sigma_minor)

    @property
    def area_half_max(self) -> float:
        """Area (squares) of the ellipse where the fit is above half its amplitude: ``2 pi ln 2 sigma_major sigma_minor``."""
        return 2 * math.pi * math.log(2) * self.sigma_major * self.sigma_minor


_NO_SHAPE = RFShape(*(float("nan"),) * 7)


def _gaussian(coords, amplitude, row, col, s1, s2, phi, offset):
    dr, dc = coords[0] - row, coords[1] - col
    # axis 1 at angle phi from +x (cols), y = -row
    x, y = dc, -dr
    u = x * np.cos(phi) + y * np.sin(phi)
    v = -x * np.sin(phi) + y * np.cos(phi)
    return amplitude * np.exp(-0.5 * ((u / s1) ** 2 + (v / s2) ** 2)) + offset


def rf_centre_and_size(rf_map) -> RFShape:
    """Centre and size of a receptive field: a 2-D Gaussian fitted by least squares.

    The fit (``scipy.optimize.curve_fit``: amplitude, centre, two standard deviations, the angle
    of the axes, a constant offset) starts from the response-weighted centroid and the second
    moments of the map's positive part. Give the subfield whose response is positive (an ON or
    OFF map of :func:`receptive_fields`); NaN squares are left out.

    Parameters
    ----------
    rf_map : array_like, shape (rows, cols)

    Returns
    -------
    RFShape
        Grid units (squares), NaN when the map has no positive value, when the fit does not
        converge, or when its centre falls off the map or a standard deviation exceeds its longer side.
    """
    from scipy.optimize import OptimizeWarning, curve_fit

    m = np.asarray(rf_map, dtype=np.float64)
    if m.ndim != 2 or min(m.shape) < 1:
        raise StimulusError(f"rf_map must be a 2-D map (rows, cols), got shape {m.shape}")
    n_rows, n_cols = m.shape
    rows, cols = np.mgrid[0:n_rows, 0:n_cols].astype(np.float64)
    ok = np.isfinite(m)
    w = np.where(ok, np.clip(m, 0.0, None), 0.0)
    total = w.sum()
    if ok.sum() < 8 or total <= 0:
        return _NO_SHAPE
    r0, c0 = (w * rows).sum() / total, (w * cols).sum() / total
    # second moments in (x, y) = (col, -row)
    x, y = cols - c0, -(rows - r0)
    cxx, cyy, cxy = (w * x * x).sum() / total, (w * y * y).sum() / total, (w * x * y).sum() / total
    evals, evecs = np.linalg.eigh(np.array([[cxx, cxy], [cxy, cyy]]))
    s_major, s_minor = (math.sqrt(max(e, 0.25)) for e in evals[::-1])
    phi0 = math.atan2(evecs[1, 1], evecs[0, 1])
    base = float(np.median(m[ok]))
    p0 = [float(np.nanmax(m)) - base, r0, c0, s_major, s_minor, phi0, base]
    lo = [0.0, -0.5, -0.5, 0.1, 0.1, -2 * math.pi, -np.inf]
    size = float(max(n_rows, n_cols))
    hi = [np.inf, n_rows - 0.5, n_cols - 0.5, size, size, 2 * math.pi, np.inf]
    p0 = list(np.clip(p0, np.array(lo) + 1e-9, np.array(hi) - 1e-9))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            p, _ = curve_fit(_gaussian, np.vstack([rows[ok], cols[ok]]), m[ok], p0=p0, bounds=(lo, hi))
    except (RuntimeError, ValueError):
        return _NO_SHAPE
    amplitude, row, col, s1, s2, phi, offset = (float(v) for v in p)
    if not (-0.5 <= row <= n_rows - 0.5 and -0.5 <= col <= n_cols - 0.5 and max(s1, s2) < size):
        return _NO_SHAPE
    if s2 > s1:
        s1, s2, phi = s2, s1, phi + math.pi / 2
    return RFShape(
        row=row,
        col=col,
        sigma_major=s1,
        sigma_minor=s2,
        angle_deg=math.degrees(phi) % 180.0,
        amplitude=amplitude,
        offset=offset,
    )


# ---- orientation maps -----------------------------------------------------------------------------


@dataclass(frozen=True)
class OrientationMap:
    """Preferred orientation and its selectivity on a layer's grid, ready to show as images.

    Attributes
    ----------
    angle : ndarray of float64, shape (side, side)
        Preferred orientation in [0, 180) degrees, ``[row, col]`` as the layer's nodes sit (row 0
        at the top); NaN where a neuron has none.
    selectivity : ndarray of float64, shape (side, side)
        The index given (OSI or gOSI); NaN where a neuron has none.
    rgb : ndarray of float64, shape (side, side, 3)
        Hue from the angle (0 deg red, 60 green, 120 blue, back to red at 180), brightness from the
        selectivity clipped to [0, 1]; black where either is NaN.
    """

    angle: np.ndarray
    selectivity: np.ndarray
    rgb: np.ndarray


def _hue(h: np.ndarray) -> np.ndarray:
    """Fully saturated colours of hues ``h`` in [0, 1): shape ``h.shape + (3,)``."""
    k = (np.array([5.0, 3.0, 1.0]) + 6.0 * h[..., None]) % 6.0
    return 1.0 - np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)


def orientation_map(preferred_deg, selectivity, side: int | None = None) -> OrientationMap:
    """Each neuron's preferred orientation and selectivity laid out on its layer's grid.

    Parameters
    ----------
    preferred_deg : array_like, shape (side * side,)
        Preferred orientation (or direction: taken modulo 180) of each neuron in node order
        (:func:`spiking.model.geometry.grid_rows_cols`: node ``k`` at row ``k % side``, column
        ``k // side``), e.g. from :func:`global_osi` or :func:`preferred_angle`.
    selectivity : array_like, shape (side * side,)
        OSI or gOSI of each neuron.
    side : int, optional
        The layer's grid side; by default the square root of the number of neurons.

    Returns
    -------
    OrientationMap
    """
    angle = np.asarray(preferred_deg, dtype=np.float64)
    sel = np.asarray(selectivity, dtype=np.float64)
    if angle.ndim != 1 or sel.shape != angle.shape:
        raise StimulusError(
            f"preferred_deg and selectivity must be 1-D, one value per neuron, got shapes {angle.shape} and {sel.shape}"
        )
    n = angle.size
    if side is None:
        side = math.isqrt(n)
    if isinstance(side, bool) or not isinstance(side, int | np.integer) or side < 1 or side * side != n:
        raise StimulusError(f"side must be an integer with side * side = {n} neurons, got {side!r}")
    angle_img = nodes_to_image(angle % 180.0, side)
    sel_img = nodes_to_image(sel, side)
    known = np.isfinite(angle_img) & np.isfinite(sel_img)
    brightness = np.where(known, np.clip(np.nan_to_num(sel_img), 0.0, 1.0), 0.0)
    rgb = _hue(np.where(known, angle_img, 0.0) / 180.0) * brightness[..., None]
    return OrientationMap(angle=angle_img, selectivity=sel_img, rgb=rgb)
