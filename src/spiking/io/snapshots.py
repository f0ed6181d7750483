"""The retina snapshots of a run folder: ``retina/<start>ms-{stimulus,on,off}.png`` at each pattern change.

With latency coding also ``-latency-on.png`` and ``-latency-off.png``: each
pixel's spike latency, white the earliest (``retina.latency_min``), black the
latest (``retina.latency_max``) and the pixels that do not fire. Written by
the run, read back by the renderer; the file names live here only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .images import read_grey_png, upscale_factor, write_grey_png

__all__ = [
    "SNAPSHOT_DIR",
    "SNAPSHOT_KINDS",
    "LATENCY_KINDS",
    "snapshot_paths",
    "write_retina_snapshots",
    "read_retina_snapshot",
]

#: Folder of the snapshots inside a run folder.
SNAPSHOT_DIR = "retina"
#: The three images of a snapshot: the placed stimulus, the ON rates, the OFF rates.
SNAPSHOT_KINDS = ("stimulus", "on", "off")
#: The latency maps of a snapshot (latency coding).
LATENCY_KINDS = ("latency-on", "latency-off")


def snapshot_paths(folder, start: float) -> dict[str, Path]:
    """Paths of the snapshot taken at ``start`` (ms), by kind."""
    stem = f"{start:08.1f}ms"
    return {k: Path(folder) / SNAPSHOT_DIR / f"{stem}-{k}.png" for k in SNAPSHOT_KINDS + LATENCY_KINDS}


def write_retina_snapshots(
    folder, schedule, stimuli: dict, lo: float, hi: float, latency: tuple[float, float] | None = None
) -> list[Path]:
    """Write the stimulus and ON/OFF rates (grey, ``lo`` black to ``hi`` white, Hz) at each pattern change.

    ``schedule`` is a sequence of epochs with ``start`` and ``pattern``;
    ``stimuli`` maps a pattern to an object with ``image``, ``rates_on`` and
    ``rates_off`` arrays ``[row, col]`` (and ``latency_on``, ``latency_off`` in
    ms: written as latency maps, white ``latency[0]`` to black ``latency[1]``,
    when ``latency`` is given).
    """
    (Path(folder) / SNAPSHOT_DIR).mkdir(exist_ok=True)
    written = []
    previous = None
    for ep in schedule:
        if ep.pattern == previous:
            continue
        previous = ep.pattern
        s = stimuli[ep.pattern]
        scale = upscale_factor(s.image.shape[0])
        paths = snapshot_paths(folder, ep.start)
        written.append(write_grey_png(paths["stimulus"], s.image, 0.0, 1.0, scale))
        written.append(write_grey_png(paths["on"], s.rates_on, lo, hi, scale))
        written.append(write_grey_png(paths["off"], s.rates_off, lo, hi, scale))
        if latency is not None and getattr(s, "latency_on", None) is not None:
            first, last = latency
            for kind, lat in (("latency-on", s.latency_on), ("latency-off", s.latency_off)):
                shade = np.where(np.isfinite(lat), last + first - np.minimum(lat, last), first)  # early = white
                written.append(write_grey_png(paths[kind], shade, first, last, scale))
    return written


def read_retina_snapshot(folder, start: float, lo: float, hi: float, side: int | None = None):
    """The snapshot taken at ``start`` back as ``(image in [0, 1], rates_on Hz, rates_off Hz)``, or None.

    8-bit grey is all the PNGs hold, which is all a movie shows.
    """
    paths = snapshot_paths(folder, start)
    if not all(p.is_file() for p in paths.values()):
        return None
    try:
        img, on, off = (read_grey_png(paths[k], side) for k in SNAPSHOT_KINDS)
    except (OSError, ValueError):
        return None
    return img, lo + on * (hi - lo), lo + off * (hi - lo)
