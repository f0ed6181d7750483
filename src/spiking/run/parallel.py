"""The distributed-run state: one object with rank, size and collective operations.

Built once per process. A single process needs nothing; under an MPI launcher
the collectives go through ``mpi4py`` (installed with the MPI build of NEST).
Only code that writes shared files asks :attr:`Parallel.is_root`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

__all__ = ["Parallel", "launcher_size", "SERIAL"]

_SIZE_VARS = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS")
_RANK_VARS = ("OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK", "SLURM_PROCID")


def launcher_size() -> int:
    """How many processes the MPI launcher started (1 when not under a launcher).

    Read from the launcher's environment (OpenMPI, MPICH/PMI, Slurm's ``srun``)
    before NEST is imported, so a NEST without MPI can be refused cleanly.
    """
    for var in _SIZE_VARS[:4]:
        if var in os.environ:
            try:
                return int(os.environ[var])
            except ValueError:
                pass
    if "SLURM_STEP_ID" in os.environ and "SLURM_NTASKS" in os.environ:
        try:
            return int(os.environ["SLURM_NTASKS"])
        except ValueError:
            pass
    return 1


def launcher_rank() -> int:
    """This process's rank as the launcher's environment says (0 when not under a launcher)."""
    for var in _RANK_VARS:
        if var in os.environ:
            try:
                return int(os.environ[var])
            except ValueError:
                pass
    return 0


@dataclass
class Parallel:
    """Rank, size and collectives of this run's processes."""

    rank: int = 0
    size: int = 1
    comm: Any = None

    @property
    def is_root(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_launcher(cls) -> Parallel:
        """The context of this process: serial, or MPI through mpi4py when launched with several ranks."""
        size = launcher_size()
        if size <= 1:
            return cls()
        import mpi4py

        mpi4py.rc.initialize = True
        mpi4py.rc.finalize = False
        from mpi4py import MPI

        comm = MPI.COMM_WORLD
        return cls(rank=comm.Get_rank(), size=comm.Get_size(), comm=comm)

    def bcast(self, value, root: int = 0):
        return value if self.comm is None else self.comm.bcast(value, root=root)

    def gather(self, value, root: int = 0) -> list | None:
        if self.comm is None:
            return [value]
        return self.comm.gather(value, root=root)

    def allgather(self, value) -> list:
        return [value] if self.comm is None else self.comm.allgather(value)


SERIAL = Parallel()
