"""A run folder as the renderer reads it: manifest, config, schedule, time reached, stimulus images."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..config import Config, from_mapping
from ..errors import SpikingError, describe
from ..io.runfolder import read_run
from ..io.snapshots import read_retina_snapshot

__all__ = ["RunSource", "load_run", "stimulus_images", "pattern_labels", "safe_name"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunSource:
    """What the renderer needs of a run folder.

    Attributes
    ----------
    folder : Path
    manifest : dict
        ``manifest.json`` as read.
    config : Config
        ``config.toml`` with the render overrides applied.
    run_config : Config
        ``config.toml`` as the run wrote it.
    overrides : dict
        The render overrides (``frame_ms``, ``movie_format``, ...) that were given.
    schedule : list of ScheduledEpoch
        From ``schedule.csv`` (or the config when the file is missing).
    t_end : float
        Model time to render, ms: the manifest's ``t_reached_ms`` (the h5 file's
        ``t_stop``, or ``run.simulation_time``, when it is missing).
    status : str
        ``complete``, ``interrupted``, ``failed``, ``running`` or ``died``.
    spikes_path : Path
    """

    folder: Path
    manifest: dict
    config: Config
    schedule: list
    t_end: float
    status: str
    spikes_path: Path
    run_config: Config | None = None
    overrides: dict = field(default_factory=dict)

    @property
    def patterns(self) -> list[str]:
        """Distinct patterns in order of first appearance."""
        return list(dict.fromkeys(e.pattern for e in self.schedule))


def load_run(folder, render: dict | None = None) -> RunSource:
    """Read a run folder.

    Parameters
    ----------
    folder : path-like
    render : dict, optional
        Overrides of the ``[render]`` section (``frame_ms``, ``movie_format``, ...),
        validated like the config file.

    Raises
    ------
    RunFolderError
        Not a run folder, or no ``spikes.h5``.
    ConfigError
        An override (or the folder's ``config.toml``) is invalid.
    """
    rec = read_run(folder)
    overrides = {k: v for k, v in (render or {}).items() if v is not None}
    config = rec.config
    if overrides:
        data = dict(rec.data)
        data["render"] = {**data.get("render", {}), **overrides}
        config = from_mapping(data, base_dir=str(rec.folder))
    return RunSource(
        folder=rec.folder,
        manifest=rec.manifest,
        config=config,
        schedule=rec.schedule,
        t_end=rec.t_end,
        status=rec.status,
        spikes_path=rec.spikes_path,
        run_config=rec.config,
        overrides=overrides,
    )


def safe_name(text: str) -> str:
    """A file-name-safe form of ``text``: letters, digits, ``.``, ``_`` and ``-`` only."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")
    return s[:60] or "pattern"


def pattern_labels(patterns: list[str]) -> dict[str, str]:
    """A short, unique, file-name-safe label of each pattern spec (the file stem for paths)."""
    from ..model.stimulus import pattern_label

    out: dict[str, str] = {}
    used: set[str] = set()
    for p in patterns:
        base = safe_name(pattern_label(p) if p else "pattern")
        label, i = base, 2
        while label in used:
            label, i = f"{base}-{i}", i + 1
        used.add(label)
        out[p] = label
    return out


def stimulus_images(src: RunSource) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray] | None]:
    """Stimulus image and retina ON/OFF rates of each pattern.

    From the run's ``retina/<start>-stimulus.png``, ``-on.png`` and ``-off.png``
    (written by the run from the same arrays; 8-bit grey is all a movie shows),
    else from :func:`spiking.model.build_model` of the config (no simulator;
    slower: it filters the patterns again); ``None`` when neither works (an
    image that moved and no snapshot).

    Returns
    -------
    dict
        ``pattern -> (image, rates_on, rates_off)``, each ``(side, side)`` ``[row, col]``;
        image grey levels in [0, 1], rates in Hz.
    """
    patterns = src.patterns
    lo, hi = src.config.retina.min_rate, src.config.retina.max_rate
    out: dict = {}
    for p in patterns:
        start = next(e.start for e in src.schedule if e.pattern == p)
        out[p] = read_retina_snapshot(src.folder, start, lo, hi, _retina_side(src.manifest))
    if any(v is None for v in out.values()):
        try:
            from ..model.network import build_model

            model = build_model(src.config)
            for p in patterns:
                s = model.stimuli.get(p)
                if out[p] is None and s is not None:
                    out[p] = (s.image, s.rates_on, s.rates_off)
        except (SpikingError, OSError, ValueError) as err:
            missing = ", ".join(repr(p) for p, v in out.items() if v is None)
            logger.warning(
                "%s: no retina snapshot of %s and the config's stimuli cannot be rebuilt (%s): "
                "their stimulus and retina are drawn as not available",
                src.folder,
                missing,
                describe(err),
            )
    return out


def _retina_side(manifest: dict) -> int | None:
    side = (manifest.get("sizes") or {}).get("retina_side")
    return side if isinstance(side, int) and side > 0 else None
