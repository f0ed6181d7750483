"""Diehl & Cook's (2015) digit network on Brian2's C++ standalone device: compiled once, run batch by batch.

The network (:mod:`.digits_network`) is generated as C++ and compiled into a
program that simulates one batch of ``batch`` presentations (350 ms digit +
150 ms rest each). The compiled project is cached in
``<cache_dir>/digits-<N>n-<key>/`` (default ``~/.cache/spiking/brian2``);
the key covers everything that changes the code: Brian2's version, the
source of this module and of :mod:`.digits_network`, the parameters, N, the
batch length and the machine. A project is built in a private folder and
renamed into place, so concurrent runs never see a half-built one. Every
batch runs that one program with the network state, the batch's digits and
its seed given on the command line (Brian2's ``run_args``, arrays through
files), in a results folder of its own, so nothing is compiled per batch or
per run and several runs can share the cache.

The simulator is seeded per batch (C++ inserted after the command-line values
are read), and times in the state count from the end of the batch, so a run
resumed between batches draws the same spikes as one that never stopped. The
program runs in a session of its own: Ctrl-C in a terminal reaches Python,
which stops after the batch. After :meth:`Brian2DigitsEngine.close`, Brian2
is back on its runtime device.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from ...errors import EngineUnavailableError
from ...io.runfolder import pid_alive
from ...learn.loop import BatchResult
from ...learn.model import DigitsModel, state_shapes
from . import digits_network
from .digits_network import declare

__all__ = ["Brian2DigitsEngine", "default_cache_dir"]

logger = logging.getLogger(__name__)

#: Brian2 variable (group.name) of each state array, and whether it is a time to shift per batch.
_STATE_VARIABLES = {
    "w": ("xe", "w"),
    "delay_s": ("xe", "delay"),
    "pre_arrival_s": ("xe", "tpre"),
    "exc_v_volt": ("exc", "v"),
    "exc_ge": ("exc", "ge"),
    "exc_gi": ("exc", "gi"),
    "exc_theta_volt": ("exc", "theta"),
    "exc_last_spike_s": ("exc", "lastspike"),
    "exc_post1": ("exc", "post1"),
    "exc_post2": ("exc", "post2"),
    "inh_v_volt": ("inh", "v"),
    "inh_ge": ("inh", "ge"),
    "inh_gi": ("inh", "gi"),
    "inh_last_spike_s": ("inh", "lastspike"),
    "intensity": ("ctl", "intensity"),
    "presentations": ("ctl", "reps"),
}
_TIMES = ("pre_arrival_s", "exc_last_spike_s", "inh_last_spike_s")


def default_cache_dir() -> Path:
    """``~/.cache/spiking/brian2``: where compiled networks are kept."""
    return Path.home() / ".cache" / "spiking" / "brian2"


def _key(model: DigitsModel, neurons: int, batch: int, profile: bool = False) -> str:
    import brian2

    text = json.dumps(
        {
            "profile": profile,
            "brian2": brian2.__version__,
            "engine": [hashlib.sha256(Path(f).read_bytes()).hexdigest() for f in (__file__, digits_network.__file__)],
            "model": model.to_dict(),
            "neurons": neurons,
            "batch": batch,
            "machine": [platform.machine(), platform.node(), platform.system()],
            "flags": list(brian2.prefs["codegen.cpp.extra_compile_args_gcc"]),
        },
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _peak_memory_mb(pid: int) -> float:
    """Peak resident memory of a running process since it started its program (Linux ``VmHWM``), MB; 0 if unknown.

    (``getrusage`` would count the Python process it was forked from.)
    """
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def _sweep(cache_dir: Path) -> None:
    """Remove scratch folders (``digits-runs/<pid>-*``, ``.build-digits-*-<pid>``) of processes that died without cleaning up."""
    for folder in [*cache_dir.glob("digits-runs/*-*"), *cache_dir.glob(".build-digits-*")]:
        pid = folder.name.split("-")[0] if folder.parent.name == "digits-runs" else folder.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


class Brian2DigitsEngine:
    """Runs batches of digits through the network; a context manager (``with ... as engine``).

    Parameters
    ----------
    model : DigitsModel
    neurons : int
        Excitatory neurons (and as many inhibitory ones).
    batch : int
        Presentations per batch (compiled in).
    cache_dir : path, optional
        Where compiled networks are kept (default :func:`default_cache_dir`).
    profile : bool
        Compile a network that times each of its code objects (Brian2's
        ``profile=True``; a separate cached program): :attr:`profiling` sums
        their seconds over the batches, :attr:`batch_wall_s` the batches' wall time.
    """

    name = "brian2"

    def __init__(self, model: DigitsModel, neurons: int, batch: int = 50, cache_dir=None, profile: bool = False):
        self.model, self.neurons, self.batch = model, neurons, batch
        self.profile = profile
        self.profiling: dict[str, float] = {}
        self.batch_wall_s = 0.0
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.project: Path | None = None
        self.compiled = False
        self.build_s = 0.0
        self.peak_rss_mb = 0.0
        self._objects: dict = {}
        self._workdir: Path | None = None
        self._order_checked = False
        self._children: set[subprocess.Popen] = set()
        self._lock = threading.Lock()
        from ...machine import usable_cpus

        #: batches run at once when the loop asks (the frozen phases' segments): one per usable core
        self.workers = usable_cpus()

    def __enter__(self) -> Brian2DigitsEngine:
        try:
            self.open()
        except BaseException:
            self.close()  # Brian2 back on its runtime device even when the build failed
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def info(self) -> dict:
        """Versions and build facts for the manifest."""
        import brian2

        return {
            "name": "brian2",
            "device": "cpp_standalone",
            "brian2": brian2.__version__,
            "compiled_now": self.compiled,
            "build_s": round(self.build_s, 3),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "cache_key": self.project.name if self.project else None,
        }

    def open(self) -> None:
        """Declare the network and compile it, or reuse the compiled project from the cache."""
        try:
            import brian2
        except ImportError as err:
            raise EngineUnavailableError(f"Brian2 is needed for this network: pip install brian2 ({err})") from None
        t0 = time.perf_counter()
        brian2.set_device("cpp_standalone", build_on_run=False)
        device = brian2.get_device()
        device.reinit()
        device.activate(build_on_run=False)
        self._objects = declare(self.model, self.neurons, self.batch)
        net = brian2.Network([o for o in self._objects.values() if isinstance(o, brian2.BrianObject)])
        seed_var = device.get_array_name(self._objects["ctl"].variables["rng_seed"])
        device.apply_run_args()
        device.insert_code("main", f"brian::_random_generators[0].seed(brian::{seed_var}[0]);")
        net.run(self.batch * self.model.presentation_steps * self.model.dt_ms * brian2.ms, profile=self.profile)
        kind = "n-profiled" if self.profile else "n"
        self.project = (
            self.cache_dir / f"digits-{self.neurons}{kind}-{_key(self.model, self.neurons, self.batch, self.profile)}"
        )
        if not (self.project / "main").is_file():
            self._compile(device)
            self.compiled = True
        _sweep(self.cache_dir)
        self._workdir = self.cache_dir / "digits-runs" / f"{os.getpid()}-{os.urandom(4).hex()}"
        self._workdir.mkdir(parents=True)
        self.build_s = time.perf_counter() - t0

    def _compile(self, device) -> None:
        """Build into a private folder and move it into place, so no one sees a half-built project.

        ``make`` runs one job per usable core (Brian2's default ``-j`` starts
        a compiler for every file at once, dozens on a two-core machine).
        """
        import brian2

        from ...machine import usable_cpus

        self.cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.cache_dir / f".build-{self.project.name}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        make_args = brian2.prefs["devices.cpp_standalone.extra_make_args_unix"]
        brian2.prefs["devices.cpp_standalone.extra_make_args_unix"] = [f"-j{usable_cpus()}"]
        try:
            device.build(directory=str(tmp), compile=True, run=False, with_output=False)
        except Exception as err:  # noqa: BLE001 - a compiler problem is the user's machine's
            logger.debug("compiling the digits network in %s failed:", tmp, exc_info=True)
            shutil.rmtree(tmp, ignore_errors=True)
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise EngineUnavailableError(
                f"Brian2 could not compile the network (it needs a C++ compiler such as g++): {first}"
            ) from None
        finally:
            brian2.prefs["devices.cpp_standalone.extra_make_args_unix"] = make_args
        try:
            tmp.rename(self.project)
        except OSError:  # another process published the same project meanwhile
            shutil.rmtree(tmp, ignore_errors=True)

    def close(self) -> None:
        """Remove this engine's scratch files and give Brian2 back its runtime device."""
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
        import brian2

        if self._objects or type(brian2.get_device()).__name__ != "RuntimeDevice":
            self._objects = {}
            brian2.get_device().reinit()
            brian2.set_device("runtime")

    def abort(self) -> None:
        """Stop the batches that are running (after a second Ctrl-C)."""
        with self._lock:
            children = list(self._children)
        for child in children:
            if child.poll() is None:
                child.kill()

    def run_batch(self, rates_hz: np.ndarray, network: dict, plastic: bool, seed: int) -> BatchResult:
        """Simulate ``batch`` presentations of the given digits.

        Parameters
        ----------
        rates_hz : ndarray, shape (n_digits, n_input), n_digits <= batch
            Input rates at intensity 1 (pixel / input_divisor), Hz.
        network : dict of str to ndarray
            The state before the batch (:func:`~spiking.learn.model.state_shapes`).
        plastic : bool
            STDP, threshold adaptation and weight normalisation on (training) or off.
        seed : int
            Seed of the simulator's random numbers for this batch.
        """
        n = len(rates_hz)
        if not 0 < n <= self.batch:
            raise ValueError(f"a batch holds 1 to {self.batch} digits, got {n}")
        table = np.zeros((self.batch, self.model.n_input))
        table[:n] = rates_hz
        scratch = Path(tempfile.mkdtemp(dir=self._workdir))  # this call's own: batches may run side by side
        try:
            (scratch / "args").mkdir()
            (scratch / "results").mkdir()
            args = self._arguments(table, network, plastic, seed, n, scratch / "args")
            t0 = time.perf_counter()
            self._execute(args, scratch / "results")
            with self._lock:
                self.batch_wall_s += time.perf_counter() - t0
            if self.profile:
                for line in (scratch / "results" / "profiling_info.txt").read_text().splitlines():
                    name, seconds = line.split()
                    with self._lock:
                        self.profiling[name] = self.profiling.get(name, 0.0) + float(seconds)
            return self._collect(scratch / "results", network)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _variable(self, group: str, var: str):
        if var == "delay":  # kept by the synapses' pre pathway
            return self._objects[group].pre.variables["delay"]
        return self._objects[group].variables[var]

    def _arguments(self, table: np.ndarray, network: dict, plastic: bool, seed: int, n: int, folder: Path) -> list[str]:
        """``group.variable=value`` for the command line; arrays go through files of the variable's type."""
        w = np.asarray(network["w"], dtype=float)
        values = {
            ("images", "values"): table,
            ("ctl", "k"): 0,
            ("ctl", "n_digits"): n,
            ("ctl", "total"): 0,
            ("ctl", "accepted"): 0,
            ("ctl", "rng_seed"): int(seed),
            ("exc", "plastic"): 1.0 if plastic else 0.0,
            ("exc", "wsum"): w.sum(axis=0),
        }
        shapes = state_shapes(self.model, self.neurons)
        for key, target in _STATE_VARIABLES.items():
            a = np.asarray(network[key])
            if a.shape != shapes[key]:
                raise ValueError(f"state {key} has shape {a.shape}, expected {shapes[key]}")
            values[target] = a.reshape(-1) if a.ndim == 2 else a  # synapses in Brian2's order: input-major
        args = []
        for (group, var), value in values.items():
            name = f"{group}.{var}"
            if np.ndim(value) == 0:
                args.append(f"{name}={value!r}" if isinstance(value, int) else f"{name}={float(value)!r}")
                continue
            dtype = np.float64 if group == "images" else self._variable(group, var).dtype
            path = folder / f"{name}.dat"
            np.ascontiguousarray(value, dtype=dtype).tofile(path)
            args.append(f"{name}={path}")
        return args

    def _execute(self, args: list[str], results: Path) -> None:
        import brian2

        env = dict(os.environ)
        env.update(brian2.prefs["devices.cpp_standalone.run_environment_variables"])
        env.update(brian2.get_device().run_environment_variables)
        cmd = [str(self.project / "main"), "--results_dir", f"{results}{os.sep}", *args]
        child = subprocess.Popen(
            cmd,
            cwd=self.project,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,  # Ctrl-C in the terminal goes to Python, which stops between batches
        )
        with self._lock:
            self._children.add(child)
        try:
            while True:
                try:
                    _, err = child.communicate(timeout=0.1)
                    break
                except subprocess.TimeoutExpired:  # meanwhile: the program's own peak memory
                    self.peak_rss_mb = max(self.peak_rss_mb, _peak_memory_mb(child.pid))
            code = child.returncode
        finally:
            with self._lock:
                self._children.discard(child)
        if code != 0 or "error" in err.lower() or "cannot" in err.lower():
            why = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
            raise RuntimeError(f"the compiled network failed ({why}): {err.strip()[:2000]}")

    def _read(self, results: Path, group: str, var: str) -> np.ndarray:
        import brian2

        v = self._variable(group, var)
        return np.fromfile(results / brian2.get_device().get_array_filename(v), dtype=v.dtype)

    def _collect(self, results: Path, before: dict) -> BatchResult:
        m, n = self.model, self.neurons
        if not self._order_checked:  # once: synapses are stored input-major, as the state is
            pre, post = self._read(results, "xe", "_synaptic_pre"), self._read(results, "xe", "_synaptic_post")
            if not np.array_equal(pre.astype(np.int64) * n + post, np.arange(m.n_input * n)):
                raise RuntimeError("Brian2 stored the input synapses in an unexpected order")
            self._order_checked = True
        dt_s = m.dt_ms * 1e-3
        batch_s = self.batch * m.presentation_steps * dt_s
        shapes = state_shapes(m, n)
        network = {}
        for key, (group, var) in _STATE_VARIABLES.items():
            a = (
                self._read(results, group, var)
                .reshape(shapes[key])
                .astype(np.float64 if key != "presentations" else np.int64)
            )
            network[key] = a - batch_s if key in _TIMES else a
        network["intensity"] = network["intensity"].astype(np.float64)
        steps = np.round(self._read(results, "exc_spikes", "t") / dt_s).astype(np.int64)
        cells = self._read(results, "exc_spikes", "i").astype(np.int64)
        accepted_at = np.round(self._read(results, "accepted", "t") / dt_s).astype(np.int64) // m.presentation_steps
        if len(accepted_at) != int(self._read(results, "ctl", "k")[0]):
            raise RuntimeError("the controller's digit count disagrees with its recorded acceptances")
        row = np.full(self.batch, -1)
        row[accepted_at] = np.arange(len(accepted_at))
        shown_in = steps // m.presentation_steps
        sel = (steps % m.presentation_steps < m.on_steps) & (row[shown_in] >= 0)
        counts = np.zeros((len(accepted_at), n), dtype=np.int32)
        np.add.at(counts, (row[shown_in[sel]], cells[sel]), 1)
        shown = np.diff(accepted_at, prepend=-1).astype(np.int16)
        if len(shown):
            shown[0] += int(before["presentations"])
        return BatchResult(
            network=network,
            accepted=len(accepted_at),
            counts=counts,
            shown=shown,
            presentations=self.batch,
            spikes=len(cells),
        )
