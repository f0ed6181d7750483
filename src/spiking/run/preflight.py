"""Before anything is built: can the run folder be written, and will the run fit in memory and on disk? (all ranks agree).

Rank 0, the only process that writes files, checks the output folder (a
folder, writable: a probe file is made and removed); every rank checks its
own memory; the first problem found on any rank stops every rank with the
same one line (:class:`~spiking.errors.PreflightError`, exit status 2).
"""

from __future__ import annotations

from pathlib import Path

from ..config import Config
from ..errors import PreflightError
from ..io.runfolder import output_problem
from ..model.estimate import Estimate, estimate, format_estimate
from ..model.network import Model
from .parallel import Parallel
from .resources import available_memory_bytes, free_disk_bytes

__all__ = ["preflight_problem", "preflight"]


def preflight_problem(config: Config, est: Estimate, processes: int, force: bool) -> str | None:
    """Why this run cannot go on here, in one line, or None.

    The memory check uses the memory model of the run's engine (``est.engine``);
    ``force`` skips it, and so does an engine without a memory model. The disk check (room for ``spikes.h5`` with half again
    as margin, plus 50 MB) cannot be forced.
    """
    need = est.per_process_bytes(processes)
    avail = available_memory_bytes()
    if not force and need is not None and need > avail:
        return (
            f"the network needs about {need / 1e9:.1f} GB of memory per process but {avail / 1e9:.1f} GB is available; "
            "lower network.hypercolumns or network.neurons_per_minicolumn, run on more processes, or pass --force"
        )
    out = Path(config.run.output_dir)
    room = free_disk_bytes(out)
    if room < est.spike_bytes * 1.5 + 50e6:
        return f"{out}: {room / 1e6:.0f} MB free, the run needs about {(est.spike_bytes * 1.5 + 50e6) / 1e6:.0f} MB"
    return None


def _agree(parallel: Parallel, problem: str | None) -> None:
    """Raise the first problem of any rank, on every rank."""
    first = next((p for p in parallel.allgather(problem) if p), None)
    if first:
        raise PreflightError(first)


def preflight(config: Config, model: Model, parallel: Parallel, force: bool, say) -> Estimate:
    """Check the output folder, estimate the run, print the estimate; raise :class:`PreflightError` on every rank if it cannot go on.

    An output folder that cannot be written is refused before the estimate is
    printed (its one line is all the user sees).
    """
    _agree(parallel, output_problem(config.run.output_dir) if parallel.is_root else None)
    est = estimate(config, model)
    say(format_estimate(est, parallel.size))
    _agree(parallel, preflight_problem(config, est, parallel.size, force))
    return est
