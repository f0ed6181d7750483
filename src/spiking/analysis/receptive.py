"""The receptive-field experiment: sparse noise shown frame after frame, V1's fields by reverse correlation.

A run of ``spiking experiment receptive-fields`` shows ``frames`` frames of
sparse noise (procedural ``noise:...`` patterns, one epoch each, no blank in
between). Each neuron's response to a frame is its spike count from
``skip`` ms after the frame's onset to the frame's end; reverse correlation
(:func:`spiking.analysis.tuning.receptive_fields`) gives its ON and OFF
subfields on the noise's grid of squares.

A neuron **has a field** when the peak of its linear field ``(ON - OFF) / 2``
stands out from the rest of the map: ``snr = max |linear| / (1.4826 MAD)``,
the median absolute deviation of the map's squares about their median (a
robust estimate of the map's noise), at least :data:`FIELD_SNR`; a map with
no spread at all (a neuron that fired in too few frames) is not judged. For those
neurons a 2-D Gaussian is fitted to the subfield with the larger peak
(:func:`spiking.analysis.tuning.rf_centre_and_size`), and its centre is given
in the layer's coordinates (extents, y up) beside the neuron's own position.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..errors import RunFolderError, StimulusError
from ..model.geometry import derive_sizes
from ..model.stimulus import NoiseSpec, noise_stimulus, parse_noise, procedural_kind
from .orientation import v1_window_counts
from .tuning import receptive_fields, rf_centre_and_size

__all__ = ["NoiseDesign", "LayerFields", "FIELD_SNR", "layer_fields", "analyse_rf_run", "field_rows", "write_fields"]

#: A neuron has a field when the peak of its linear field is this many robust standard deviations above the map's noise.
FIELD_SNR = 5.0


@dataclass(frozen=True)
class NoiseDesign:
    """The frames of a receptive-field experiment.

    Attributes
    ----------
    grid : int
        Squares per pattern side.
    frames : int
        Frames shown, each for ``frame_ms``.
    frame_ms : float
    density : float
        Share of the squares white or black in each frame.
    distance : int
        Least distance between two non-grey squares of a frame, in squares (1: none).
    contrast : float
    seed : int
        The noise.
    """

    grid: int = 11
    frames: int = 1000
    frame_ms: float = 100.0
    density: float = 0.05
    distance: int = 1
    contrast: float = 1.0
    seed: int = 1

    def __post_init__(self):
        for name, lowest in (("grid", 1), ("frames", 2), ("distance", 1), ("seed", 0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < lowest:
                raise StimulusError(f"{name} must be an integer >= {lowest}, got {v!r}")
        if not (math.isfinite(self.frame_ms) and self.frame_ms > 0):
            raise StimulusError(f"frame must be > 0 ms, got {self.frame_ms!r}")
        if not 0.0 < self.density <= 1.0:
            raise StimulusError(f"density must be in (0, 1], got {self.density!r}")
        if not 0.0 < self.contrast <= 1.0:
            raise StimulusError(f"contrast must be in (0, 1], got {self.contrast!r}")

    def spec(self, frame: int) -> NoiseSpec:
        return NoiseSpec(self.grid, self.frames, frame, self.seed, self.density, self.distance, self.contrast)

    def signed(self) -> np.ndarray:
        """The stimulus, ``(frames, grid, grid)``: +1 white, -1 black, 0 grey (checks the density fits the grid)."""
        return noise_stimulus(self.grid, self.frames, self.seed, self.density, self.distance)

    def epochs(self) -> list[dict]:
        """``stimulus.epochs``: every frame in order."""
        return [{"pattern": self.spec(k).spec, "duration": self.frame_ms} for k in range(self.frames)]

    @property
    def duration_ms(self) -> float:
        return self.frames * self.frame_ms

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> NoiseDesign:
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass(frozen=True)
class LayerFields:
    """The receptive fields of one layer's neurons.

    Attributes
    ----------
    layer : str
    positions : ndarray, shape (n, 2)
        Each neuron's position (extents).
    on, off : ndarray of float32, shape (n, grid, grid)
        Subfields, spikes per frame (:class:`spiking.analysis.tuning.ReceptiveFields`).
    snr : ndarray, shape (n,)
        Peak of ``|ON - OFF| / 2`` over its robust noise; NaN for a neuron that never fired.
    has_field : ndarray of bool, shape (n,)
    sign : ndarray of int8, shape (n,)
        +1 when the fitted subfield is ON, -1 when OFF, 0 without a field.
    centre : ndarray, shape (n, 2)
        Centre of the fitted field (extents, the layer's coordinates); NaN without a field or fit.
    size : ndarray, shape (n,)
        Geometric mean of the fitted standard deviations (extents); NaN without a field or fit.
    rate : ndarray, shape (n,)
        Mean rate over the frames (Hz).
    """

    layer: str
    positions: np.ndarray
    on: np.ndarray
    off: np.ndarray
    snr: np.ndarray
    has_field: np.ndarray
    sign: np.ndarray
    centre: np.ndarray
    size: np.ndarray
    rate: np.ndarray


def _snr(linear: np.ndarray) -> np.ndarray:
    flat = linear.reshape(linear.shape[0], -1)
    med = np.nanmedian(flat, axis=1, keepdims=True)
    mad = 1.4826 * np.nanmedian(np.abs(flat - med), axis=1)
    peak = np.nanmax(np.abs(flat - med), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        # a map flat but for a few squares (no spread: the neuron fired in too few frames) is not judged
        return np.where(mad > 0, peak / mad, np.nan)


def layer_fields(
    layer: str, counts: np.ndarray, signed: np.ndarray, positions: np.ndarray, extent: float, frame_ms: float
) -> LayerFields:
    """Fields of one layer from its counts per frame ``(frames, n)`` and the signed stimulus ``(frames, grid, grid)``.

    The noise's squares cover the pattern's side, which is ``extent`` (the layer's, with every
    hypercolumn exposed) or less: square ``[i, j]`` is centred at ``x = ((j + 0.5) / grid - 0.5) extent``
    scaled to the pattern, which :func:`analyse_rf_run` gives as ``extent``.
    """
    rf = receptive_fields(counts, signed)
    on, off = rf.on.astype(np.float32), rf.off.astype(np.float32)
    linear = (rf.on - rf.off) / 2.0
    fired = counts.sum(axis=0) > 0
    snr = np.where(fired, _snr(linear), np.nan)
    has = fired & (snr >= FIELD_SNR)
    n, grid = counts.shape[1], signed.shape[1]
    sign = np.zeros(n, dtype=np.int8)
    centre = np.full((n, 2), np.nan)
    size = np.full(n, np.nan)
    square = extent / grid
    for k in np.flatnonzero(has):
        use_on = np.nanmax(rf.on[k]) >= np.nanmax(rf.off[k])
        shape = rf_centre_and_size(rf.on[k] if use_on else rf.off[k])
        sign[k] = 1 if use_on else -1
        if np.isfinite(shape.row):
            centre[k] = ((shape.col + 0.5) * square - extent / 2, extent / 2 - (shape.row + 0.5) * square)
            size[k] = math.sqrt(shape.sigma_major * shape.sigma_minor) * square
    rate = counts.sum(axis=0) / (counts.shape[0] * frame_ms / 1000.0)
    return LayerFields(layer, positions, on, off, snr, has, sign, centre, size, rate)


def analyse_rf_run(folder, skip_ms: float = 0.0) -> tuple[NoiseDesign, list[LayerFields]]:
    """Each recorded V1 layer's receptive fields in a run folder of the experiment.

    Raises
    ------
    RunFolderError
        Not a run of the receptive-field experiment, or one that stopped before its last frame.
    """
    from ..io.runfolder import read_run

    rec = read_run(folder)
    info = rec.manifest.get("experiment")
    if not isinstance(info, dict) or info.get("name") != "receptive-fields":
        raise RunFolderError(
            f"{folder}: not a run of `spiking experiment receptive-fields` (no such experiment in its manifest)"
        )
    design = NoiseDesign.from_dict(info.get("design", {}))
    if not 0 <= skip_ms < design.frame_ms:
        raise StimulusError(f"skip must be in [0, frame = {design.frame_ms:g}) ms, got {skip_ms:g}")
    frames = [e for e in rec.schedule if procedural_kind(e.pattern) == "noise"]
    if len(frames) != design.frames or [parse_noise(e.pattern).frame for e in frames] != list(range(design.frames)):
        raise RunFolderError(f"{folder}: its schedule is not the design's {design.frames} noise frames in order")
    if frames[-1].stop > rec.t_end + 1e-9:
        raise RunFolderError(f"{folder}: the run stopped at {rec.t_end:g} ms, before its last frame")
    starts = np.array([e.start for e in frames]) + skip_ms
    stops = np.array([e.stop for e in frames])
    signed = design.signed()
    sizes = derive_sizes(rec.config.network)
    # the pattern (and so the noise's grid) covers the exposed hypercolumns' share of the layer
    covered = sizes.extent * sizes.pattern_side / sizes.retina_side
    out = [
        layer_fields(layer, counts, signed, positions, covered, design.frame_ms - skip_ms)
        for layer, counts, positions in v1_window_counts(rec, starts, stops)
    ]
    return design, out


def _f(v: float) -> str:
    return "" if not np.isfinite(v) else f"{v:.6g}"


def field_rows(layers: list[LayerFields]) -> tuple[list[str], list[list]]:
    """``receptive_fields.csv``: one row per neuron."""
    head = ["layer", "node_id", "x", "y", "rate", "snr", "has_field", "sign", "centre_x", "centre_y", "size"]
    rows = []
    for t in layers:
        for k in range(t.positions.shape[0]):
            rows.append(
                [
                    t.layer,
                    k,
                    f"{t.positions[k, 0]:.6g}",
                    f"{t.positions[k, 1]:.6g}",
                    _f(t.rate[k]),
                    _f(t.snr[k]),
                    int(t.has_field[k]),
                    int(t.sign[k]),
                    _f(t.centre[k, 0]),
                    _f(t.centre[k, 1]),
                    _f(t.size[k]),
                ]
            )
    return head, rows


def summary_rows(layers: list[LayerFields]) -> tuple[list[str], list[list]]:
    """``summary.csv``: per layer, neurons with a field, ON and OFF ones, median size and centre offset."""
    head = ["layer", "neurons", "fired", "with_field", "on_fields", "off_fields", "median_size", "median_offset"]
    rows = []
    for t in layers:
        has = t.has_field & np.isfinite(t.size)
        offset = np.hypot(*(t.centre[has] - t.positions[has]).T) if has.any() else np.array([])
        rows.append(
            [
                t.layer,
                t.positions.shape[0],
                int(np.isfinite(t.snr).sum()),
                int(t.has_field.sum()),
                int((t.sign > 0).sum()),
                int((t.sign < 0).sum()),
                _f(np.median(t.size[has]) if has.any() else np.nan),
                _f(np.median(offset) if offset.size else np.nan),
            ]
        )
    return head, rows


def write_fields(folder, layers: list[LayerFields]) -> list[Path]:
    """Write ``receptive_fields.csv``, ``summary.csv`` and ``receptive_fields.npz`` (the maps, float32) into ``folder``."""
    from ..io.atomic import atomic_write_bytes, atomic_write_csv

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    import io

    buf = io.BytesIO()
    np.savez_compressed(buf, **{f"{t.layer}/{part}": getattr(t, part) for t in layers for part in ("on", "off")})
    return [
        atomic_write_csv(folder / "receptive_fields.csv", *field_rows(layers)),
        atomic_write_csv(folder / "summary.csv", *summary_rows(layers)),
        atomic_write_bytes(folder / "receptive_fields.npz", buf.getvalue()),
    ]
