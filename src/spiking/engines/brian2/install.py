"""Finding Brian2 and a C++ compiler, where compiled projects are cached, and what this machine offers.

Brian2's C++ standalone mode writes a C++ project and compiles it with the
system's compiler (``g++`` on Debian: ``apt-get install g++``), with OpenMP
for threads. Compiled projects are kept in a cache folder (``$SPIKING_CACHE``
or ``~/.cache/spiking``, under ``brian2/``) and reused by every later run
whose code is the same.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from ...errors import EngineUnavailableError

__all__ = ["import_brian2", "cache_root", "compiler", "compiler_problem", "openmp_works", "brian2_capabilities"]

logger = logging.getLogger(__name__)


def import_brian2():
    """Import Brian2, or raise :class:`EngineUnavailableError` with how to install it."""
    try:
        import brian2
    except Exception as err:  # ImportError, or numpy too new for this Brian2 (AttributeError)
        logger.debug("importing brian2 failed:", exc_info=True)
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise EngineUnavailableError(
            f"Brian2 cannot be imported ({type(err).__name__}: {first}); install it with `pip install brian2` "
            "(numpy below 2.4 for brian2 2.9), or `make install`"
        ) from None
    logging.getLogger("brian2").setLevel(logging.ERROR)  # e.g. "OpenMP code is not yet well tested"
    return brian2


def cache_root() -> Path:
    """``$SPIKING_CACHE/brian2``, or ``~/.cache/spiking/brian2``: compiled projects."""
    base = os.environ.get("SPIKING_CACHE") or str(Path.home() / ".cache" / "spiking")
    return Path(base).expanduser() / "brian2"


def compiler() -> str | None:
    """The C++ compiler Brian2 will call (``$CXX`` or ``g++``/``c++``), as a path, or None."""
    for name in (os.environ.get("CXX"), "g++", "c++"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def compiler_problem() -> str | None:
    """One line saying why Brian2 cannot compile here, or None."""
    if compiler() is None:
        return "Brian2 needs a C++ compiler and none was found; on Debian or Ubuntu: apt-get install g++"
    return None


def _compile_test(source: str, flags: list[str]) -> tuple[bool, float]:
    cxx = compiler()
    if cxx is None:
        return False, 0.0
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "t.cpp"
        src.write_text(source)
        t0 = time.perf_counter()
        proc = subprocess.run([cxx, *flags, str(src), "-o", str(Path(tmp) / "t")], capture_output=True)
        return proc.returncode == 0, time.perf_counter() - t0


def openmp_works() -> bool:
    """Whether the compiler builds an OpenMP program (threads for Brian2)."""
    ok, _ = _compile_test("#include <omp.h>\nint main(){return omp_get_max_threads() > 0 ? 0 : 1;}\n", ["-fopenmp"])
    return ok


def brian2_capabilities() -> dict:
    """Brian2's version, the compiler and its version, OpenMP, and the cache folder."""
    b2 = import_brian2()
    cxx = compiler()
    version = ""
    if cxx:
        proc = subprocess.run([cxx, "--version"], capture_output=True, text=True)
        version = proc.stdout.splitlines()[0] if proc.stdout else ""
    return {
        "version": b2.__version__,
        "compiler": cxx or "",
        "compiler_version": version,
        "openmp": openmp_works() if cxx else False,
        "cache": str(cache_root()),
    }
