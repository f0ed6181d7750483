"""Finding and importing NEST, and what the installed NEST can do (without importing it where that matters)."""

from __future__ import annotations

import importlib
import logging
import os

from ...errors import EngineUnavailableError

__all__ = ["import_nest", "nest_capabilities", "nest_has_mpi"]

logger = logging.getLogger(__name__)


def import_nest(quiet: bool = True):
    """Import NEST quietly, or raise :class:`EngineUnavailableError` with how to install it."""
    if quiet:
        os.environ.setdefault("PYNEST_QUIET", "1")
    try:
        nest = importlib.import_module("nest")
    except Exception as err:  # ImportError, or a broken installation raising anything
        logger.debug("importing nest failed:", exc_info=True)
        raise EngineUnavailableError(
            f"NEST cannot be imported ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}); "
            "install it with `pip install nest-simulator` (or `make install`)"
        ) from None
    try:
        nest.verbosity = nest.VerbosityLevel.ERROR
    except AttributeError:  # older NEST 3
        nest.set_verbosity("M_ERROR")
    return nest


def nest_capabilities() -> dict:
    """What the installed NEST supports: version, threads, MPI, HDF5."""
    nest = import_nest()
    bi = nest.build_info
    return {
        "version": bi.get("version", ""),
        "threads": bool(bi.get("have_threads")),
        "mpi": bool(bi.get("have_mpi")),
        "hdf5": bool(bi.get("have_hdf5")),
        "gsl": bool(bi.get("have_gsl")),
    }


def mpi_problem(processes: int) -> str | None:
    """Why this NEST cannot run as ``processes`` MPI processes, in one line, or None (found without importing NEST)."""
    if not nest_has_mpi():
        return (
            f"started by an MPI launcher with {processes} processes, but the installed NEST has no MPI; "
            "build it with `make mpi` (scripts/build-nest-mpi.sh) or run without mpirun"
        )
    return None


def nest_has_mpi() -> bool | None:
    """Whether the installed NEST was built with MPI, found without importing it.

    Importing a NEST without MPI under an MPI launcher aborts the process, so
    the check reads NEST's installed ``config.h`` (or, failing that, looks for
    ``libmpi`` in its compiled kernel). ``None`` when NEST is not installed.
    """
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("nest")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(list(spec.submodule_search_locations)[0])
    for header in root.glob("include/nest/config.h"):
        text = header.read_text(errors="replace")
        if "#define HAVE_MPI" in text:
            return True
        if "HAVE_MPI" in text:
            return False
    for lib in list(root.glob("*.so")) + list(root.glob("lib/*.so*")):
        try:
            if b"libmpi" in lib.read_bytes():
                return True
        except OSError:
            continue
    return False
