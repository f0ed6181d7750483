"""The Brian2 engine: the pathway compiled by Brian2's C++ standalone mode, with OpenMP threads, on one machine.

The network is declared in Python (:mod:`.pathway`) and compiled once per
network shape into the cache (:mod:`.project`), together with a layout: the
names of the program's arguments and of the files it writes. Every later
run of the same shape reads the layout and runs the program without
importing Brian2 or declaring anything: it builds the connections, simulates
the whole schedule and writes the spikes; the spikes then go to the run
folder chunk by chunk, as on NEST. Seeds, trains, rates and model time are
arguments of the program, so changing them does not compile again.

Same seed, same config and the same number of threads give the same spikes
(the program is deterministic for a fixed thread count).

With plastic projections the program also writes their weights at each of the
model's ``weight_times`` (:mod:`.plasticity`); it runs a few steps past the
end for the last of them (their spikes are not kept), and the weights are
handed over after the spikes, one time and projection at a time.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import numpy as np

from ...errors import RunInterrupted
from ...machine import usable_cpus
from ...model.network import Model
from ...model.timegrid import n_steps
from ..base import Edges, Engine, OnWeights, Spikes
from .install import compiler, import_brian2, openmp_works
from .pathway import COMPILE_ARGS, CONNECTED, declare, rates_table, release_code, train_loader_code
from .plasticity import max_delay_steps, read_weight_records, write_weight_steps
from .project import Project, code_key, compiled_duration
from .waiting import wait_environment
from .wiring import ENV as NETWORK_ENV
from .wiring import KEEP_ENV

__all__ = ["Brian2Engine", "ENGINE"]

#: What the program prints to report its progress (fraction of the compiled duration done).
_PROGRESS = "spiking-progress"
#: Brian2 preferences the pathway's build sets (and restores).
_PREFS = ("codegen.cpp.extra_compile_args_gcc", "codegen.loop_invariant_optimisations")
#: The layout of a compiled project: its arguments and result files.
LAYOUT = "layout.json"


def _description(model: Model, threads: int, compiled_ms: float) -> dict:
    """Everything of a model that shapes the generated code (not seed, stimulus, rates or model time)."""
    layers = {n: [layer.kind, layer.side, layer.extent, repr(layer.cell)] for n, layer in model.layers.items()}
    if model.wiring == "model":  # the edges come from a file: only what the code says of each projection
        projections = [
            [
                p.index,
                p.name,
                p.source,
                p.target,
                repr(p.weight),
                None if p.delay_per_unit > 0 else int(p.delay_steps(0.0, model.resolution)),
                repr(p.plasticity),
            ]
            for p in model.projections
        ]
    else:
        projections = [repr(p) for p in model.projections]
    desc = {
        "layers": layers,
        "wiring": model.wiring,
        "projections": projections,
        "recorded": list(model.simulated_recorded),
        "resolution": model.resolution,
        "connect": model.connect,
        "threads": threads,
        "compiled_ms": compiled_ms,
    }
    if model.poisson_layers:  # Poisson generators: the rate table's shape is compiled in
        bin_ms, tables = rates_table(model)
        desc["rates"] = [bin_ms, {name: table.shape for name, table in tables.items()}]
        desc["relay_delays"] = model.relay_delays
    return desc


def program_ms(model: Model, t_stop: float) -> float:
    """Model time the program runs for ``t_stop`` ms: past the end until the last weights are written."""
    if t_stop <= 0 or not model.weight_times:
        return t_stop
    # the weights at t_stop are written at the end of step t_stop / h + D_max - 1, the program's last
    extra = max(max_delay_steps(p, model.resolution) for p in model.plastic)
    return t_stop + extra * model.resolution


def _layout(b2, device, declared) -> dict:
    """The names a run needs: program arguments and the result files (raw arrays) of spikes and synapses."""

    def fname(var) -> str:
        return device.get_array_filename(var)

    return {
        "brian2": b2.__version__,
        "monitors": {
            name: {"i": fname(m.variables["i"]), "t": fname(m.variables["t"])} for name, m in declared.monitors.items()
        },
        "synapses": {
            name: {
                "pre": fname(s.variables["_synaptic_pre"]),
                "post": fname(s.variables["_synaptic_post"]),
                "delay": fname(s.pre.variables["delay"]),
                "n": fname(s.variables["N"]),
            }
            for name, s in declared.synapses.items()
        },
        "clock_t": fname(b2.defaultclock.variables["t"]),
        "rates": {layer: ta.name for layer, ta in declared.rates.items()},
        "relayed": declared.relayed,
        "relay_delay": declared.relay_delay,
    }


class Brian2Engine(Engine):
    """Builds and runs a :class:`~spiking.model.network.Model` with Brian2's C++ standalone device."""

    name = "brian2"
    feed_window = None  # the whole schedule goes to the compiled program at once
    connect_note = "made by the compiled program when it starts"
    #: Have the program write the synapses of static projections it made from the drawn network (it lets them go
    #: otherwise: they are the network's, and writing them costs 8 bytes an edge); :meth:`edges` then reads them.
    keep_synapses = False

    def __init__(self):
        self.model: Model | None = None
        self.threads = 1
        self.project: Project | None = None
        self.layout: dict = {}
        self.times: dict[str, float] = {}
        self._counts: dict[str, int] | None = None
        self._edges: dict[str, Edges] = {}
        self._results: Path | None = None
        self._scratch: Path | None = None
        self._b2 = None  # Brian2, when this process declared (and compiled) the network
        self.wait_env: dict[str, str] = {}  # how idle OpenMP threads wait (set up with the threads)

    # -- set-up: the compiled project from the cache, or declared and compiled now ---------------
    def setup(self, model: Model, threads: int) -> None:
        self.model = model
        self.threads = max(1, int(threads))
        self._counts, self._edges = None, {}
        self.network = None
        self.wait_env = wait_environment() if self.threads > 1 else {}

    def build(self) -> dict[str, int]:
        model = self.model
        compiled_ms = compiled_duration(program_ms(model, model.simulation_time))
        self.project = Project("pathway", code_key(_description(model, self.threads, compiled_ms)))
        layout = self.project.folder / LAYOUT
        if self.project.exists and layout.is_file():
            self.layout = json.loads(layout.read_text())
        else:
            self._declare_and_compile(compiled_ms)
        return {name: layer.size for name, layer in model.layers.items()}

    def _declare_and_compile(self, compiled_ms: float) -> None:
        b2 = self._b2 = import_brian2()
        t0 = time.perf_counter()
        b2.set_device("cpp_standalone", build_on_run=False)
        device = b2.get_device()
        device.reinit()
        device.activate(build_on_run=False)
        b2.prefs.devices.cpp_standalone.openmp_threads = self.threads if self.threads > 1 else 0
        # NEST's arithmetic, operation for operation (pathway.COMPILE_ARGS); restored after the build
        saved = {k: b2.prefs[k] for k in _PREFS}
        b2.prefs["codegen.cpp.extra_compile_args_gcc"] = list(COMPILE_ARGS)
        b2.prefs["codegen.loop_invariant_optimisations"] = False
        try:
            self._declare_and_build(b2, device, compiled_ms, t0)
        finally:
            for k, v in saved.items():
                b2.prefs[k] = v

    def _declare_and_build(self, b2, device, compiled_ms: float, t0: float) -> None:
        declared = declare(b2, device, self.model, compiled_ms)
        net = b2.Network(declared.objects())
        device.insert_code("before_network_run", train_loader_code(device, declared))
        if self.model.wiring == "model":
            device.insert_code("after_network_run", release_code(device, declared, self.model))
        report = f'std::cout << "{_PROGRESS} " << completed << std::endl << std::flush;'
        net.run(compiled_ms * b2.ms, report=report, report_period=1 * b2.second)
        self.layout = _layout(b2, device, declared)
        self.layout["openmp"] = self.threads > 1 and openmp_works()
        self.say(f"compiling the network with Brian2 into {self.project.folder} (once for this network's shape) ...")
        self.times["declare"] = time.perf_counter() - t0
        self.project.build(device, jobs=usable_cpus(), extra_files={LAYOUT: json.dumps(self.layout, indent=1)})
        self.times["compile"] = self.project.compile_s

    def connect(self, network=None) -> None:
        """Nothing yet: the compiled program connects when it starts, from ``network`` (a network folder) when given."""
        if self.model.wiring == "model" and network is None:
            raise ValueError("the model's wiring needs the drawn network (a network folder)")
        self.network = network

    def synapse_counts(self) -> dict[str, int]:
        if self._counts is None:
            raise RuntimeError("the Brian2 program has not run yet")
        return dict(self._counts)

    # -- the run ------------------------------------------------------------------------------
    def _inputs(self, scratch: Path, t_stop: float) -> tuple[list[str], dict]:
        """The program's arguments and environment: seed, model time, rate tables, train files."""
        model = self.model
        args = [f"control.rng_seed={int(model.seed)}", f"control.t_stop={float(t_stop)!r}"]
        if self.layout["rates"]:
            _, tables = rates_table(model)
            for layer, name in self.layout["rates"].items():
                path = scratch / f"rates-{layer}.dat"
                np.ascontiguousarray(tables[layer], dtype=np.float64).tofile(path)
                args.append(f"{name}.values={path}")
        env = dict(self.wait_env)
        if model.wiring == "model" and model.connect:
            env[NETWORK_ENV] = str(self.network.folder)
            if self.keep_synapses:
                env[KEEP_ENV] = "1"
        if model.train_layers:
            trains, h = model.trains(), model.resolution
            for layer in model.train_layers:
                ids, t = trains.window(layer, 0.0, model.simulation_time)
                path = scratch / f"trains-{layer}.bin"
                with open(path, "wb") as fh:  # Brian2's stamps: one step early
                    np.array([ids.size], dtype=np.int64).tofile(fh)
                    ids.astype(np.int32).tofile(fh)
                    ((t - h) / 1000.0).astype(np.float64).tofile(fh)
                env[f"SPIKING_TRAINS_{layer.upper()}"] = str(path)
        return args, env

    def connect_only(self) -> None:
        """Run the program for one step: the connections are made and counted, nothing is kept."""
        self.simulate(lambda t, spikes: None, self.model.chunk, t_stop=0.0)

    def simulate(
        self,
        on_chunk: Callable[[float, Spikes], None],
        chunk: float,
        on_weights: OnWeights | None = None,
        t_stop: float | None = None,
    ) -> None:
        """Run the compiled program over the whole schedule, then hand the spikes over chunk by chunk, then the weights."""
        model = self.model
        t_stop = model.simulation_time if t_stop is None else t_stop
        scratch = self._scratch = self.project.scratch()  # kept (connections) until close()
        self._results = scratch / "results"
        t0 = time.perf_counter()
        args, env = self._inputs(scratch, program_ms(model, t_stop))
        env.update(self._weights_files(scratch))
        self.times["inputs"] = time.perf_counter() - t0
        compiled = compiled_duration(program_ms(model, model.simulation_time))
        progress = _Progress(getattr(on_chunk, "bar", None), compiled, t_stop)
        interrupted = None
        t0 = time.perf_counter()
        try:
            code = self.project.run(args, env, scratch, progress)
        except RunInterrupted as err:  # the program has stopped and written what it had
            interrupted, code = err, 0
        self.times["program"] = time.perf_counter() - t0
        if progress.connect_s is not None:
            self.times["connect"] = progress.connect_s
        if code != 0:
            raise RuntimeError(
                f"the Brian2 program failed (exit status {code}): {self.project.stderr(scratch)[-2000:]}"
            )
        t0 = time.perf_counter()
        reached = self._read_results(t_stop if interrupted is None else None)
        self.times["results"] = time.perf_counter() - t0
        if reached > 0:
            self._hand_over(on_chunk, chunk, reached)
        if on_weights is not None and model.weight_times:
            self._hand_over_weights(on_weights, scratch, reached)
        if interrupted is not None:
            raise interrupted

    def _read(self, name: str, dtype) -> np.ndarray:
        return np.fromfile(self._results / name, dtype=dtype)

    def _read_results(self, t_stop: float | None) -> float:
        """Spikes and synapse counts from the program's files; returns the model time reached, ms."""
        h = self.model.resolution
        reached = t_stop
        if reached is None:  # stopped early: where its clock got to (past the end only for the last weights)
            t = float(self._read(self.layout["clock_t"], np.float64)[0]) * 1000.0
            reached = min(n_steps(t, h), n_steps(self.model.simulation_time, h)) * h
        self._spikes = {}
        for name, files in self.layout["monitors"].items():
            ids = self._read(files["i"], np.int32).astype(np.int64)
            times = self._read(files["t"], np.float64) * 1000.0 + h  # NEST's stamp: the end of the step
            if name in self.layout["relayed"]:
                times = times + self.layout["relay_delay"][name]
            keep = times <= reached + h / 2
            self._spikes[name] = (ids[keep], times[keep])
        self._counts = {}
        for p in self.model.projections:  # in the model's order; a relay's one-to-one wiring is implied
            files = self.layout["synapses"].get(p.name)
            if files is not None:
                self._counts[p.name] = int(self._read(files["n"], np.int32)[0])
            elif p.target in self.layout["relayed"]:
                self._counts[p.name] = self.model.layers[p.target].size
        if self.network is not None:  # the program made exactly the drawn edges
            drawn = self.network.counts()
            wrong = [name for name, n in self._counts.items() if drawn.get(name) != n]
            if wrong:
                raise RuntimeError(f"the Brian2 program made other synapses than the network holds: {', '.join(wrong)}")
        return reached

    def _hand_over(self, on_chunk, chunk: float, reached: float) -> None:
        h = self.model.resolution
        edges = [k * chunk for k in range(1, n_steps(reached, chunk) + 1) if k * chunk < reached - h / 2] + [reached]
        t_prev = 0.0
        for t in edges:
            out = {}
            for name, (ids, times) in self._spikes.items():
                lo, hi = np.searchsorted(times, t_prev + h / 2), np.searchsorted(times, t + h / 2)
                out[name] = (ids[lo:hi], times[lo:hi])
            on_chunk(t, out)
            t_prev = t

    def _weights_files(self, scratch: Path) -> dict:
        """The times at which the program writes the plastic weights, and the folder it writes them to."""
        if not self.model.weight_times:
            return {}
        write_weight_steps(scratch / "weight-steps.bin", self.model)
        (scratch / "weights").mkdir(exist_ok=True)
        return {
            "SPIKING_WEIGHT_STEPS": str(scratch / "weight-steps.bin"),
            "SPIKING_WEIGHTS_DIR": str(scratch / "weights"),
        }

    def _hand_over_weights(self, on_weights: OnWeights, scratch: Path, reached: float) -> None:
        """Each plastic projection's weights at each time the program wrote them, up to ``reached`` ms."""
        h = self.model.resolution
        for p in self.model.plastic:
            t0 = time.perf_counter()
            files = self.layout["synapses"][p.name]
            sources = self._read(files["pre"], np.int32).astype(np.int64)
            targets = self._read(files["post"], np.int32).astype(np.int64)
            records = read_weight_records(scratch / "weights" / f"weights-{p.index:02d}.bin")
            for step, weights in records:
                self.times["weights"] = self.times.get("weights", 0.0) + time.perf_counter() - t0
                if step * h > reached + h / 2:
                    break
                on_weights(step * h, p.name, sources, targets, weights)
                t0 = time.perf_counter()

    # -- connections as built -----------------------------------------------------------------
    def edges(self, projection: str) -> Edges:
        if projection in self._edges:
            return self._edges[projection]
        if self._counts is None:
            raise RuntimeError("the connections exist once the Brian2 program has run")
        p = next(q for q in self.model.projections if q.name == projection)
        h = self.model.resolution
        if p.target in self.layout["relayed"]:  # the relay repeats its retina node: one to one
            n = self.model.layers[p.target].size
            ids = np.arange(n, dtype=np.int64)
            return Edges(ids, ids.copy(), np.full(n, p.weight), np.full(n, n_steps(p.delay, h) * h))
        files = self.layout["synapses"][projection]
        if (self._results / files["pre"]).stat().st_size // 4 != self._counts[projection]:
            # the program let go of a static projection's synapses (it made exactly the drawn ones)
            e = self.network.edges(p).to_edges()
            self._edges[projection] = e
            return e
        pre = self._read(files["pre"], np.int32).astype(np.int64)
        extra = self.layout["relay_delay"].get(p.source, 0.0)
        delay = self._read(files["delay"], np.float64) * 1000.0 + h - extra
        e = Edges(
            pre,
            self._read(files["post"], np.int32).astype(np.int64),
            np.full(pre.size, p.weight),
            np.broadcast_to(np.round(delay / h) * h, pre.shape).copy(),
        )
        self._edges[projection] = e
        return e

    def incoming(self, target: str, targets: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        want = np.unique(targets)
        out = {}
        for p in self.model.projections:
            if p.target == target and p.name in self._counts:
                e = self.edges(p.name)
                m = np.isin(e.targets, want)
                out[p.source] = (e.sources[m], e.targets[m])
        return out

    def outgoing(self, source: str, node: int) -> dict[str, np.ndarray]:
        out = {}
        for p in self.model.projections:
            if p.source == source and p.name in self._counts:
                e = self.edges(p.name)
                out[p.target] = e.targets[e.sources == node]
        return out

    def phase_times(self) -> dict[str, float]:
        """Compiling (within ``build``), connecting (within the program), writing its input files, reading its spikes
        and weights."""
        out = {k: v for k, v in self.times.items() if k in ("compile", "connect", "weights")}
        if "inputs" in self.times:
            out["input"] = self.times["inputs"]
        if "results" in self.times:
            out["record"] = self.times["results"]
        return out

    def memory_mb(self) -> dict[str, float]:
        """Peak resident memory of the compiled program (a process of its own), MB."""
        return {"program_peak_rss": round(self.project.peak_rss_mb, 1)} if self.project else {}

    def close(self, free: bool = True) -> None:
        """Remove the program's results, and give Brian2 back its runtime device if this process declared."""
        if self._scratch is not None:
            self.project.clean(self._scratch)
            self._scratch = None
        if self._b2 is not None:
            self._b2.get_device().reinit()
            self._b2.set_device("runtime")
            self._b2 = None

    def info(self) -> dict:
        cxx = compiler()
        return {
            "engine": "brian2",
            "version": self.layout.get("brian2") or metadata.version("brian2"),
            "build_info": {
                "device": "cpp_standalone",
                "compiler": cxx or "",
                "openmp": bool(self.layout.get("openmp")),
                "project": self.project.folder.name if self.project else "",
                "compiled_now": bool(self.project and self.project.compiled_now),
                "openmp_wait": " ".join(f"{k}={v}" for k, v in self.wait_env.items()),
            },
            "threads": self.threads,
            "processes": 1,
            "rank": 0,
            "same_spikes_need": self.same_spikes_need(
                "the same seed, config and threads (the compiled program is deterministic per thread count)"
            ),
        }


class _Progress:
    """Reads what the program prints: its progress (moves the progress bar) and how long connecting took."""

    def __init__(self, bar, compiled_ms: float, stop_ms: float):
        self.bar = bar
        self.compiled = compiled_ms  # Brian2 reports the fraction of the compiled duration
        self.stop = stop_ms
        self.connect_s: float | None = None

    def __call__(self, line: str) -> None:
        tag, _, value = line.partition(" ")
        try:
            x = float(value)
        except ValueError:
            return
        if tag == CONNECTED:
            self.connect_s = x
        elif tag == _PROGRESS and self.bar is not None:
            self.bar.n = max(self.bar.n, min(self.stop, x * self.compiled))
            self.bar.refresh()


ENGINE = Brian2Engine
