"""The manifest of a run as one typed object: what ran, how, how far, and how it ended.

Written as ``manifest.json`` (``docs/run-folder.md`` describes every field)
first thing, after each phase and at the end; its ``status`` says whether the
rest of the folder can be trusted.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import sys
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from .. import __version__
from ..io.runfolder import write_manifest

__all__ = ["Manifest", "now_iso"]


def now_iso() -> str:
    """The local time now, ISO 8601 to the second."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


@dataclass
class Manifest:
    """Everything ``manifest.json`` holds; fields left at ``None`` are not written."""

    run_id: str
    seed: int
    threads: int
    processes: int
    simulation_time_ms: float
    resolution_ms: float
    sizes: dict
    retina_source: str
    wiring: str = "model"
    status: str = "running"
    pid: int = field(default_factory=os.getpid)
    started: str = field(default_factory=now_iso)
    command: list = field(default_factory=lambda: list(sys.argv))
    versions: dict = field(
        default_factory=lambda: {"spiking": __version__, "python": platform.python_version(), "numpy": np.__version__}
    )
    platform: str = field(default_factory=platform.platform)
    t_reached_ms: float = 0.0
    notes: list = field(default_factory=list)
    engine: dict | None = None
    neurons: dict | None = None
    neurons_total: int | None = None
    synapses: dict | None = None
    synapses_total: int | None = None
    network: dict | None = None
    memory_mb: dict = field(default_factory=dict)
    timings_s: dict = field(default_factory=dict)
    spikes: dict | None = None
    weights: dict | None = None
    signal: str | None = None
    error: str | None = None
    note: str | None = None
    finished: str | None = None

    def set_engine(self, info: dict) -> None:
        """Record the engine's facts (name, version, build, threads, processes)."""
        self.engine = info
        self.versions[info.get("engine", "engine")] = info.get("version", "")
        self.processes = int(info.get("processes", self.processes))

    def set_neurons(self, neurons: dict) -> None:
        self.neurons = dict(neurons)
        self.neurons_total = int(sum(neurons.values()))

    def set_synapses(self, synapses: dict) -> None:
        self.synapses = dict(synapses)
        self.synapses_total = int(sum(synapses.values()))

    def set_spikes(self, counts: dict, sizes: dict) -> None:
        """Spike counts and mean rates per recorded layer over the model time reached."""
        t = max(self.t_reached_ms, 1e-12)
        self.spikes = {
            name: {"count": int(n), "mean_rate_hz": round(float(n) / (sizes[name] * t / 1000.0), 4)}
            for name, n in counts.items()
        }

    def to_dict(self) -> dict:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    def write(self, folder) -> None:
        """Write ``manifest.json`` atomically."""
        write_manifest(folder, self.to_dict())
