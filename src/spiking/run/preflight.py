"""Before anything is built: will the run fit in memory and on disk here? (all ranks agree)."""

from __future__ import annotations

from pathlib import Path

from ..config import Config
from ..errors import PreflightError
from ..model.estimate import BASE_BYTES, Estimate, estimate, format_estimate
from ..model.network import Model
from .parallel import Parallel
from .resources import available_memory_bytes, free_disk_bytes

__all__ = ["preflight_problem", "preflight"]


def preflight_problem(config: Config, est: Estimate, processes: int, force: bool) -> str | None:
    """Why this run cannot go on here, in one line, or None."""
    need = est.memory_bytes / processes + (BASE_BYTES if processes > 1 else 0.0)
    avail = available_memory_bytes()
    if not force and need > avail:
        return (
            f"the network needs about {need / 1e9:.1f} GB of memory per process but {avail / 1e9:.1f} GB is available; "
            "lower network.hypercolumns or network.neurons_per_minicolumn, run on more processes, or pass --force"
        )
    out = Path(config.run.output_dir)
    room = free_disk_bytes(out)
    if room < est.spike_bytes * 1.5 + 50e6:
        return f"{out}: {room / 1e6:.0f} MB free, the run needs about {(est.spike_bytes * 1.5 + 50e6) / 1e6:.0f} MB"
    return None


def preflight(config: Config, model: Model, parallel: Parallel, force: bool, say) -> Estimate:
    """Estimate the run, print the estimate, and raise :class:`PreflightError` on every rank if it will not fit."""
    est = estimate(config, model)
    say(format_estimate(est, parallel.size))
    problems = parallel.allgather(preflight_problem(config, est, parallel.size, force))
    problem = next((p for p in problems if p), None)
    if problem:
        raise PreflightError(problem)
    return est
