"""The orientation experiment with static gratings: its trials, and each V1 neuron's tuning from a run folder.

Design
    Every condition (orientation x spatial frequency x phase) is shown ``repeats`` times and a
    blank screen (mean grey) ``blank_trials`` times, each trial for ``on_ms``, in an order shuffled
    by the seed; each trial is followed by ``blank_ms`` of blank (the inter-trial interval, not
    analysed). Orientations are ``n`` equally spaced angles in [0, 180).

Responses
    A neuron's response to a trial is its rate over the trial, ``count / (on_ms - skip_ms)`` with
    the spikes in ``(start + skip_ms, stop]`` (a spike is stamped at the end of its step). Trials of
    the same orientation and spatial frequency at different phases are repeats of one condition
    (the phase-averaged response).

Measures (:mod:`spiking.analysis.tuning`)
    As the Allen Brain Observatory does for static gratings, the preferred spatial frequency is the
    one of the largest mean response over all conditions; at it, the tuning curve over orientations
    gives the preferred orientation (the largest mean), OSI (period 180) and gOSI with its vector
    angle. Responsiveness tests the preferred condition's trials against the blank trials (one-sided
    Mann-Whitney U, Bonferroni over the conditions).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..errors import RunFolderError, StimulusError
from ..model.geometry import derive_sizes, grid_positions
from ..model.stimulus import GratingSpec, parse_grating, procedural_kind
from .tuning import ALPHA, global_osi, osi, preferred_angle, responsive, tuning_curves

__all__ = [
    "V1_LAYERS",
    "OrientationDesign",
    "window_counts",
    "v1_window_counts",
    "LayerTuning",
    "layer_tuning",
    "analyse_run",
    "tuning_rows",
    "summary_rows",
    "write_tables",
]

#: The V1 layers whose neurons are analysed, when recorded.
V1_LAYERS = ("ex_on", "ex_off", "in_on", "in_off")

BLANK = "blank"


@dataclass(frozen=True)
class OrientationDesign:
    """The trials of an orientation experiment with static gratings.

    Attributes
    ----------
    orientations : int
        Equally spaced orientations in [0, 180), an even number >= 2 (each needs its orthogonal).
    sfs : tuple of float
        Spatial frequencies, cycles per pattern side.
    phases : int
        Equally spaced spatial phases in [0, 360).
    repeats : int
        Trials of each condition.
    blank_trials : int
        Trials of blank screen, for the responsiveness test.
    on_ms, blank_ms : float
        A trial's length and the blank after it (ms; ``blank_ms`` may be 0).
    contrast : float
    seed : int
        The order of the trials.
    """

    orientations: int = 8
    sfs: tuple = (2.0, 4.0)
    phases: int = 1
    repeats: int = 5
    blank_trials: int = 20
    on_ms: float = 250.0
    blank_ms: float = 250.0
    contrast: float = 1.0
    seed: int = 1

    def __post_init__(self):
        def whole(name, v, lowest):
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < lowest:
                raise StimulusError(f"{name} must be an integer >= {lowest}, got {v!r}")

        whole("orientations", self.orientations, 2)
        if self.orientations % 2:
            raise StimulusError(
                f"orientations must be even (each orientation needs its orthogonal one for OSI), got {self.orientations}"
            )
        whole("phases", self.phases, 1)
        whole("repeats", self.repeats, 1)
        whole("blank_trials", self.blank_trials, 1)
        whole("seed", self.seed, 0)
        sfs = tuple(float(f) for f in self.sfs)
        if not sfs or any(not (math.isfinite(f) and f > 0) for f in sfs) or len(set(sfs)) != len(sfs):
            raise StimulusError(f"sf must be distinct numbers > 0, got {', '.join(f'{f:g}' for f in sfs) or 'none'}")
        object.__setattr__(self, "sfs", sfs)
        if not (math.isfinite(self.on_ms) and self.on_ms > 0):
            raise StimulusError(f"on must be > 0 ms, got {self.on_ms!r}")
        if not (math.isfinite(self.blank_ms) and self.blank_ms >= 0):
            raise StimulusError(f"blank must be >= 0 ms, got {self.blank_ms!r}")
        if not 0.0 < self.contrast <= 1.0:
            raise StimulusError(f"contrast must be in (0, 1], got {self.contrast!r}")

    @property
    def angles(self) -> np.ndarray:
        """The orientations, degrees: ``k 180 / n``."""
        return np.arange(self.orientations) * 180.0 / self.orientations

    @property
    def phase_angles(self) -> np.ndarray:
        return np.arange(self.phases) * 360.0 / self.phases

    def conditions(self) -> list[GratingSpec]:
        """Every grating, orientation fastest."""
        return [
            GratingSpec(float(o), f, float(p), self.contrast)
            for f in self.sfs
            for p in self.phase_angles
            for o in self.angles
        ]

    def trials(self) -> list[str]:
        """The pattern of each trial in the order shown: each grating ``repeats`` times and ``blank`` ``blank_trials`` times, shuffled."""
        items = [g.spec for g in self.conditions()] * self.repeats + [BLANK] * self.blank_trials
        order = np.random.default_rng(self.seed).permutation(len(items))
        return [items[i] for i in order]

    def epochs(self) -> list[dict]:
        """``stimulus.epochs``: each trial, then (when ``blank_ms > 0``) the blank after it."""
        out = []
        for t in self.trials():
            out.append({"pattern": t, "duration": self.on_ms})
            if self.blank_ms > 0:
                out.append({"pattern": BLANK, "duration": self.blank_ms})
        return out

    @property
    def duration_ms(self) -> float:
        n = len(self.conditions()) * self.repeats + self.blank_trials
        return n * (self.on_ms + self.blank_ms)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["sfs"] = list(self.sfs)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> OrientationDesign:
        names = set(cls.__dataclass_fields__)
        return cls(**{k: (tuple(v) if k == "sfs" else v) for k, v in d.items() if k in names})


def window_counts(
    blocks: Iterable[tuple[np.ndarray, np.ndarray]], n_nodes: int, starts: np.ndarray, stops: np.ndarray
) -> np.ndarray:
    """Spikes of each node in each window ``(start, stop]`` (ms; windows sorted and not overlapping).

    Returns
    -------
    ndarray of int64, shape (n_windows, n_nodes)
    """
    starts = np.asarray(starts, dtype=np.float64)
    stops = np.asarray(stops, dtype=np.float64)
    counts = np.zeros((starts.size, n_nodes), dtype=np.int64)
    if not starts.size:
        return counts
    for ids, times in blocks:
        if not len(times):
            continue
        j = np.searchsorted(starts, times, side="left") - 1
        ok = (j >= 0) & (times <= stops[np.clip(j, 0, None)])
        np.add.at(counts, (j[ok], np.asarray(ids)[ok]), 1)
    return counts


@dataclass(frozen=True)
class LayerTuning:
    """The orientation tuning of one layer's neurons.

    Attributes
    ----------
    layer : str
    positions : ndarray, shape (n, 2)
        x, y of each node (model units).
    angles : ndarray, shape (n_orientations,)
    sfs : ndarray, shape (n_sf,)
    mean, sem : ndarray, shape (n_sf, n_orientations, n)
        Rate (Hz) over the trials of each condition, and its standard error.
    blank_mean : ndarray, shape (n,)
        Rate over the blank trials.
    sf_index : ndarray of int, shape (n,)
        Index into ``sfs`` of the preferred sf (0 for a neuron silent in every grating trial).
    preferred_sf : ndarray, shape (n,)
        NaN for a neuron silent in every grating trial.
    preferred_orientation : ndarray, shape (n,)
        The orientation of the largest mean at the preferred sf.
    osi, gosi, gosi_orientation : ndarray, shape (n,)
        At the preferred sf.
    responsive : ndarray of bool, shape (n,)
    p_value : ndarray, shape (n,)
    """

    layer: str
    positions: np.ndarray
    angles: np.ndarray
    sfs: np.ndarray
    mean: np.ndarray
    sem: np.ndarray
    blank_mean: np.ndarray
    sf_index: np.ndarray
    preferred_sf: np.ndarray
    preferred_orientation: np.ndarray
    osi: np.ndarray
    gosi: np.ndarray
    gosi_orientation: np.ndarray
    responsive: np.ndarray
    p_value: np.ndarray

    @property
    def side(self) -> int:
        return math.isqrt(self.positions.shape[0])

    @property
    def curves_at_preferred_sf(self) -> tuple[np.ndarray, np.ndarray]:
        """``mean`` and ``sem`` at each neuron's preferred sf (the first where it has none), ``(n_orientations, n)``."""
        cols = np.arange(self.sf_index.size)
        return self.mean[self.sf_index, :, cols].T, self.sem[self.sf_index, :, cols].T


def layer_tuning(
    layer: str,
    rates: np.ndarray,
    orientation: np.ndarray,
    sf: np.ndarray,
    blank_rates: np.ndarray,
    angles: np.ndarray,
    sfs: np.ndarray,
    positions: np.ndarray,
    alpha: float = ALPHA,
) -> LayerTuning:
    """Tuning of one layer from its rates per grating trial ``(n_trials, n)`` and per blank trial."""
    angles = np.asarray(angles, dtype=np.float64)
    sfs = np.sort(np.asarray(sfs, dtype=np.float64))
    n = rates.shape[1]
    n_o, n_f = angles.size, sfs.size
    oi = np.searchsorted(angles, orientation)
    fi = np.searchsorted(sfs, sf)
    condition = fi * n_o + oi
    curves = tuning_curves(rates, condition)
    if curves.conditions.size != n_o * n_f:
        raise StimulusError(f"the grating trials must cover every orientation and sf ({n_o} x {n_f})")
    mean = curves.mean.reshape(n_f, n_o, n)
    sem = curves.sem.reshape(n_f, n_o, n)
    best = np.argmax(curves.mean, axis=0)
    silent = curves.mean.max(axis=0) <= 0
    f_pref = best // n_o
    cols = np.arange(n)
    at = mean[f_pref, :, cols].T  # (n_o, n)
    g, g_angle = global_osi(at, angles)
    resp = responsive(rates, blank_rates, condition, alpha)
    return LayerTuning(
        layer=layer,
        positions=positions,
        angles=angles,
        sfs=sfs,
        mean=mean,
        sem=sem,
        blank_mean=blank_rates.mean(axis=0),
        sf_index=f_pref,
        preferred_sf=np.where(silent, np.nan, sfs[f_pref]),
        preferred_orientation=preferred_angle(at, angles),
        osi=osi(at, angles, period_deg=180),
        gosi=g,
        gosi_orientation=g_angle,
        responsive=resp.responsive & ~silent,
        p_value=resp.p_value,
    )


def _trials(schedule, design: OrientationDesign) -> list:
    """The trial epochs of a run's schedule, checked against the design."""
    expected = design.trials()
    step = 2 if design.blank_ms > 0 else 1
    epochs = list(schedule)[::step]
    shown = [e.pattern for e in epochs]
    if shown[: len(expected)] != expected:
        raise RunFolderError("schedule.csv does not hold the trials of the orientation experiment its manifest records")
    return epochs[: len(expected)]


def analyse_run(folder, skip_ms: float = 0.0, alpha: float = ALPHA) -> tuple[OrientationDesign, list[LayerTuning]]:
    """Each recorded V1 layer's tuning in an orientation run folder (its manifest's ``experiment``).

    Raises
    ------
    RunFolderError
        Not a run folder of the orientation experiment, or one that did not run to its end.
    """
    from ..io.runfolder import read_run

    rec = read_run(folder)
    info = rec.manifest.get("experiment")
    if not isinstance(info, dict) or info.get("name") != "orientation":
        raise RunFolderError(
            f"{folder}: not a run of `spiking experiment orientation` (its manifest has no experiment)"
        )
    design = OrientationDesign.from_dict(info.get("design", {}))
    if not 0 <= skip_ms < design.on_ms:
        raise StimulusError(f"skip must be in [0, on = {design.on_ms:g}) ms, got {skip_ms:g}")
    trials = _trials(rec.schedule, design)
    if trials[-1].stop > rec.t_end + 1e-9:
        raise RunFolderError(f"{folder}: the run stopped at {rec.t_end:g} ms, before its last trial")
    starts = np.array([e.start for e in trials]) + skip_ms
    stops = np.array([e.stop for e in trials])
    seconds = (stops - starts) / 1000.0
    blank = np.array([procedural_kind(e.pattern) == BLANK for e in trials])
    gratings = [parse_grating(e.pattern) for e, b in zip(trials, blank, strict=True) if not b]
    orientation = np.array([g.orientation for g in gratings])
    sf = np.array([g.sf for g in gratings])
    out = []
    for layer, counts, positions in v1_window_counts(rec, starts, stops):
        rates = counts / seconds[:, None]
        out.append(
            layer_tuning(
                layer,
                rates[~blank],
                orientation,
                sf,
                rates[blank],
                design.angles,
                np.array(design.sfs),
                positions,
                alpha,
            )
        )
    return design, out


def v1_window_counts(rec, starts: np.ndarray, stops: np.ndarray) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """For each recorded V1 layer of a run (``io.runfolder.read_run``): its name, the spikes of each neuron in each
    window (:func:`window_counts`) and the neurons' positions (from the spike file, else the layer's grid)."""
    from ..io.spikefile import SpikeBlocks, layer_infos, open_spikes

    extent = derive_sizes(rec.config.network).extent
    with open_spikes(rec.spikes_path) as h5:
        infos = {i.name: i for i in layer_infos(h5)}
        for layer in V1_LAYERS:
            if layer not in infos:
                continue
            li = infos[layer]
            counts = window_counts(SpikeBlocks(h5, layer, rec.t_end), li.n_nodes, starts, stops)
            nodes = h5.get(f"nodes/{layer}")
            if nodes is not None and "positions" in nodes:
                positions = np.asarray(nodes["positions"], dtype=np.float64)
            else:
                positions = grid_positions(li.side or math.isqrt(li.n_nodes), extent)
            yield layer, counts, positions


def _f(v: float) -> str:
    return "" if not np.isfinite(v) else f"{v:.6g}"


def tuning_rows(layers: list[LayerTuning]) -> tuple[list[str], list[list]]:
    """``orientation_tuning.csv``: one row per neuron, rates (Hz) at its preferred sf per orientation."""
    angles = layers[0].angles if layers else np.array([])
    head = [
        "layer",
        "node_id",
        "x",
        "y",
        "preferred_sf",
        "preferred_orientation",
        "osi",
        "gosi",
        "gosi_orientation",
        "responsive",
        "p_value",
        "blank_rate",
        *[f"rate_{a:g}" for a in angles],
    ]
    rows = []
    for t in layers:
        at, _ = t.curves_at_preferred_sf
        for k in range(t.positions.shape[0]):
            rows.append(
                [
                    t.layer,
                    k,
                    f"{t.positions[k, 0]:.6g}",
                    f"{t.positions[k, 1]:.6g}",
                    _f(t.preferred_sf[k]),
                    _f(t.preferred_orientation[k]),
                    _f(t.osi[k]),
                    _f(t.gosi[k]),
                    _f(t.gosi_orientation[k]),
                    int(t.responsive[k]),
                    _f(t.p_value[k]),
                    _f(t.blank_mean[k]),
                    *[_f(v) for v in at[:, k]],
                ]
            )
    return head, rows


def summary_rows(layers: list[LayerTuning]) -> tuple[list[str], list[list]]:
    """``summary.csv``: per layer the responsive fraction, median OSI and gOSI of the responsive neurons, and how many prefer each orientation."""
    angles = layers[0].angles if layers else np.array([])
    head = [
        "layer",
        "neurons",
        "responsive",
        "responsive_fraction",
        "median_osi",
        "median_gosi",
        *[f"preferring_{a:g}" for a in angles],
    ]
    rows = []
    for t in layers:
        r = t.responsive
        osi_r, gosi_r = t.osi[r], t.gosi[r]
        hist = [int(np.sum(t.preferred_orientation[r] == a)) for a in t.angles]
        rows.append(
            [
                t.layer,
                r.size,
                int(r.sum()),
                _f(r.mean() if r.size else np.nan),
                _f(np.nanmedian(osi_r) if np.isfinite(osi_r).any() else np.nan),
                _f(np.nanmedian(gosi_r) if np.isfinite(gosi_r).any() else np.nan),
                *hist,
            ]
        )
    return head, rows


def write_tables(folder, layers: list[LayerTuning]) -> list[Path]:
    """Write ``orientation_tuning.csv`` and ``summary.csv`` into ``folder``."""
    from ..io.atomic import atomic_write_csv

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [
        atomic_write_csv(folder / "orientation_tuning.csv", *tuning_rows(layers)),
        atomic_write_csv(folder / "summary.csv", *summary_rows(layers)),
    ]
