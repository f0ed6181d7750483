"""``spiking check`` for Brian2: the version, the C++ compiler, OpenMP, and the time of a small standalone build."""

from __future__ import annotations

import logging
import shutil
import tempfile
import time

from ...errors import EngineUnavailableError
from .install import brian2_capabilities, compiler_problem, import_brian2

__all__ = ["run_check", "report"]

logger = logging.getLogger(__name__)

_YES = {True: "yes", False: "no"}


def report(folder) -> tuple[bool, list, list]:
    """``spiking check`` for Brian2: whether it works and lines for people (it writes no files; ``folder`` unused)."""
    try:
        caps = run_check()
    except EngineUnavailableError as err:
        return False, [f"spiking: Brian2 is not usable: {err}"], []
    line = (
        f"Brian2 {caps['version']}: compiler {caps['compiler_version'] or caps['compiler']}, OpenMP "
        f"{_YES[caps['openmp']]}; a small standalone build took {caps['build_s']:.1f} s "
        f"({caps['spikes']} spikes); compiled networks are cached in {caps['cache']}"
    )
    return True, [line], []


def run_check() -> dict:
    """Compile and run a 10-neuron Izhikevich network in C++ standalone mode (in a temporary folder, not the cache).

    Returns
    -------
    dict
        :func:`~spiking.engines.brian2.install.brian2_capabilities`, plus
        ``build_s`` (writing and compiling the project, s) and ``spikes`` (of the test network).

    Raises
    ------
    EngineUnavailableError
        Brian2 cannot be imported, there is no compiler, or the build fails.
    """
    b2 = import_brian2()
    problem = compiler_problem()
    if problem:
        raise EngineUnavailableError(problem)
    caps = brian2_capabilities()
    folder = tempfile.mkdtemp(prefix="spiking-brian2-check-")
    try:
        b2.set_device("cpp_standalone", build_on_run=False)
        device = b2.get_device()
        device.reinit()
        device.activate(build_on_run=False)
        g = b2.NeuronGroup(
            10,
            "dv/dt = (0.04*v**2 + 5*v + 140 - u + I) / ms : 1\ndu/dt = 0.02 * (0.2*v - u) / ms : 1\nI : 1 (constant)",
            threshold="v >= 30",
            reset="v = -65; u += 8",
            method="euler",
            name="check",
        )
        g.v, g.u, g.I = -65, -13, "5 + i"
        mon = b2.SpikeMonitor(g)
        net = b2.Network(g, mon)
        net.run(100 * b2.ms)
        t0 = time.perf_counter()
        try:
            device.build(directory=folder, compile=True, run=True, with_output=False)
        except Exception as err:  # noqa: BLE001 - one line for the user
            logger.debug("building the check network in %s failed:", folder, exc_info=True)
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise EngineUnavailableError(f"Brian2 could not build a small network: {first}") from None
        caps["build_s"] = time.perf_counter() - t0
        caps["spikes"] = int(mon.num_spikes)
    finally:
        b2.get_device().reinit()
        b2.set_device("runtime")
        shutil.rmtree(folder, ignore_errors=True)
    return caps
