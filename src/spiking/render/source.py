"""A run folder as the renderer reads it: manifest, config, schedule, time reached, stimulus images."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..config import Config, from_mapping, read_toml
from ..errors import RunFolderError, SpikingError
from ..io.runfolder import read_manifest, read_schedule, run_status
from ..io.snapshots import read_retina_snapshot
from ..io.spikefile import open_spikes
from ..model.stimulus import ScheduledEpoch

__all__ = ["RunSource", "load_run", "stimulus_images", "pattern_labels", "safe_name"]


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
    folder = Path(folder)
    if not folder.is_dir():
        raise RunFolderError(f"{folder}: not a run folder (no such folder)")
    manifest = read_manifest(folder)
    if not isinstance(manifest, dict):
        raise RunFolderError(f"{folder / 'manifest.json'}: not a run manifest (not a JSON object)")
    cfg_path = folder / "config.toml"
    if not cfg_path.is_file():
        raise RunFolderError(f"{folder}: not a run folder (no config.toml)")
    spikes_path = folder / "spikes.h5"
    open_spikes(spikes_path).close()
    data = read_toml(cfg_path)
    run_config = from_mapping(data, base_dir=str(folder))
    overrides = {k: v for k, v in (render or {}).items() if v is not None}
    config = run_config
    if overrides:
        data = dict(data)
        data["render"] = {**data.get("render", {}), **overrides}
        config = from_mapping(data, base_dir=str(folder))
    if (folder / "schedule.csv").is_file():
        try:
            rows = read_schedule(folder)
        except (OSError, KeyError, ValueError) as err:
            raise RunFolderError(f"{folder / 'schedule.csv'}: cannot be read ({err})") from None
        schedule = [ScheduledEpoch(float(a), float(b), str(p)) for a, b, p in rows]
    else:
        from ..model.stimulus import build_schedule

        schedule = list(build_schedule(config))
    schedule.sort(key=lambda e: e.start)
    t_end = _t_end(manifest, spikes_path, config)
    try:
        status = run_status(folder)
    except RunFolderError:
        status = str(manifest.get("status", "unknown"))
    return RunSource(
        folder=folder,
        manifest=manifest,
        config=config,
        schedule=schedule,
        t_end=t_end,
        status=status,
        spikes_path=spikes_path,
        run_config=run_config,
        overrides=overrides,
    )


def _t_end(manifest: dict, spikes_path: Path, config: Config) -> float:
    t = manifest.get("t_reached_ms")
    if isinstance(t, (int, float)) and not isinstance(t, bool) and math.isfinite(t) and t > 0:
        return float(t)
    try:
        import h5py

        with h5py.File(spikes_path, "r") as h5:
            t = float(h5.attrs.get("t_stop", 0.0))
        if math.isfinite(t) and t > 0:
            return t
    except (OSError, ValueError, TypeError):
        pass
    if "t_reached_ms" in manifest:
        return 0.0  # the run stopped before any spikes were written
    return float(config.run.simulation_time)


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
        except (SpikingError, OSError, ValueError):
            pass
    return out


def _retina_side(manifest: dict) -> int | None:
    side = (manifest.get("sizes") or {}).get("retina_side")
    return side if isinstance(side, int) and side > 0 else None
