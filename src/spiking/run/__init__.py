"""Running a model: phases from config to run folder, signals, the manifest, MPI state, machine resources.

:func:`run` (in :mod:`.orchestrate`) is the entry point.
"""

from .orchestrate import RunResult, run

__all__ = ["run", "RunResult"]
