"""The run folder: a unique id, atomic files, the manifest and the stimulus record.

A run folder ``<output_dir>/<run-id>/`` is created with ``mkdir`` (never
shared, even by runs started in the same second); every file in it is written
to a temporary name and renamed into place, so no reader sees a truncated file.
The manifest's ``status`` is ``running`` until the run ends as ``complete``,
``interrupted`` or ``failed``; a run killed hard stays ``running``.
:func:`read_run` reads a folder back (what rendering and :func:`spiking.open_run` start from).
"""

from __future__ import annotations

import csv
import json
import math
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import RunFolderError
from .atomic import atomic_write_csv, atomic_write_text
from .space import as_disk_full

if TYPE_CHECKING:  # the config imports nothing from here; only the annotation needs it
    from ..config import Config

__all__ = [
    "output_problem",
    "create_run_folder",
    "make_run_id",
    "write_manifest",
    "read_manifest",
    "write_schedule",
    "read_schedule",
    "run_status",
    "pid_alive",
    "RunRecord",
    "read_run",
]


def make_run_id(hypercolumns: int, simulation_time: float, name: str = "", now: datetime | None = None) -> str:
    """``YYYYmmdd-HHMMSS-<hc>hc-<time>ms[-name]``: date and time first, so ids sort by start."""
    now = now or datetime.now()
    t = f"{simulation_time:g}".replace(".", "p")
    rid = f"{now:%Y%m%d-%H%M%S}-{hypercolumns}hc-{t}ms"
    return f"{rid}-{name}" if name else rid


def output_problem(output_dir) -> str | None:
    """Why no run folder can be made in ``output_dir``, in one line, or None (nothing is left behind).

    The output folder, or the nearest folder above it that exists, must be a
    folder (not a file) in which this process can create a file: a probe file
    is created and removed there, so a read-only file system or missing
    permissions are found before anything is built (even for root, for whom
    permission bits alone say nothing).
    """
    out = Path(output_dir)
    here = out.absolute()
    while not os.path.lexists(here) and here != here.parent:
        here = here.parent
    if not here.is_dir():
        what = "is a file" if here == out.absolute() else f"cannot be created: {here} is a file, not a folder"
        return f"{out}: output folder {what}"
    try:
        fd, probe = tempfile.mkstemp(prefix=".spiking-probe-", dir=here)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        reason = err.strerror or str(err)
        if here == out.absolute():
            return f"{out}: output folder is not writable ({reason})"
        return f"{out}: output folder cannot be created in {here} ({reason})"
    return None


def create_run_folder(output_dir, run_id: str) -> Path:
    """Create ``output_dir/run_id`` exclusively, adding ``-2``, ``-3``, ... if it exists."""
    out = Path(output_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise RunFolderError(f"{out}: output folder cannot be created ({err.strerror or err})") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise RunFolderError(f"{out}: output folder is not writable")
    for i in range(1, 10_000):
        candidate = out / (run_id if i == 1 else f"{run_id}-{i}")
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        except OSError as err:
            full = as_disk_full(err, out)
            raise full or RunFolderError(f"{candidate}: run folder cannot be created ({err.strerror or err})") from None
        return candidate
    raise RunFolderError(f"{out}: too many runs named {run_id}")


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(type(o))


def write_manifest(folder, manifest: dict) -> Path:
    """Write ``manifest.json`` atomically (with ``updated`` set to now)."""
    manifest["updated"] = datetime.now().astimezone().isoformat(timespec="seconds")
    text = json.dumps(manifest, indent=2, default=_json_default) + "\n"
    return atomic_write_text(Path(folder) / "manifest.json", text)


def read_manifest(folder) -> dict:
    """Read ``manifest.json`` of a run folder."""
    p = Path(folder) / "manifest.json"
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunFolderError(f"{folder}: not a run folder (no manifest.json)") from None
    except (OSError, ValueError) as err:
        raise RunFolderError(f"{p}: cannot be read ({err})") from None


def run_status(folder) -> str:
    """``complete``, ``interrupted``, ``failed``, or ``died`` for a run that stopped without saying so."""
    status = read_manifest(folder).get("status", "unknown")
    return "died" if status == "running" and not pid_alive(read_manifest(folder).get("pid")) else status


def pid_alive(pid) -> bool:
    """Whether process ``pid`` exists (one of another user counts); ``False`` when ``pid`` is not an int."""
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_schedule(folder, schedule) -> Path:
    """``schedule.csv``: which pattern is shown from when to when (ms)."""
    rows = ([f"{ep.start:g}", f"{ep.stop:g}", ep.pattern] for ep in schedule)
    return atomic_write_csv(Path(folder) / "schedule.csv", ["start_ms", "stop_ms", "pattern"], rows)


def read_schedule(folder) -> list[tuple[float, float, str]]:
    """Read ``schedule.csv`` back as ``(start_ms, stop_ms, pattern)`` rows."""
    with open(Path(folder) / "schedule.csv", newline="", encoding="utf-8") as fh:
        return [(float(r["start_ms"]), float(r["stop_ms"]), r["pattern"]) for r in csv.DictReader(fh)]


@dataclass(frozen=True)
class RunRecord:
    """A run folder as read, before anything is drawn or converted.

    Attributes
    ----------
    folder : Path
    manifest : dict
        ``manifest.json``.
    data : dict
        ``config.toml`` as plain data.
    config : Config
        ``config.toml``, validated.
    schedule : list of ScheduledEpoch
        From ``schedule.csv`` (or the config when the file is missing), by start.
    t_end : float
        Model time the spikes cover, ms: the manifest's ``t_reached_ms`` (the
        spike file's ``t_stop``, or ``run.simulation_time``, when it is missing).
    status : str
        ``complete``, ``interrupted``, ``failed``, ``running`` or ``died``.
    spikes_path : Path
    """

    folder: Path
    manifest: dict
    data: dict
    config: Config
    schedule: list
    t_end: float
    status: str
    spikes_path: Path


def read_run(folder) -> RunRecord:
    """Read a run folder: manifest, config, schedule, time reached and status; check ``spikes.h5`` opens.

    Raises
    ------
    RunFolderError
        Not a run folder, or no readable ``spikes.h5`` (one line).
    ConfigError
        The folder's ``config.toml`` is invalid.
    """
    from ..config import from_mapping, read_toml
    from ..model.stimulus import ScheduledEpoch, build_schedule
    from .spikefile import open_spikes

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
    config = from_mapping(data, base_dir=str(folder))
    if (folder / "schedule.csv").is_file():
        try:
            rows = read_schedule(folder)
        except (OSError, KeyError, ValueError) as err:
            raise RunFolderError(f"{folder / 'schedule.csv'}: cannot be read ({err})") from None
        schedule = [ScheduledEpoch(float(a), float(b), str(p)) for a, b, p in rows]
    else:
        schedule = list(build_schedule(config))
    schedule.sort(key=lambda e: e.start)
    try:
        status = run_status(folder)
    except RunFolderError:
        status = str(manifest.get("status", "unknown"))
    return RunRecord(
        folder=folder,
        manifest=manifest,
        data=data,
        config=config,
        schedule=schedule,
        t_end=_t_end(manifest, spikes_path, config.run.simulation_time),
        status=status,
        spikes_path=spikes_path,
    )


def _t_end(manifest: dict, spikes_path: Path, simulation_time: float) -> float:
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
    return float(simulation_time)
