"""The Brian2 engine: the pathway compiled by Brian2's C++ standalone mode, with OpenMP threads, on one machine.

The network is declared in Python (:mod:`.pathway`), compiled once per
network shape into the cache (:mod:`.project`), and run as a program that
builds the connections, simulates the whole schedule and writes the spikes;
the spikes then go to the run folder chunk by chunk, as on NEST. Seeds,
trains, rates and model time are arguments of the program, so changing them
does not compile again.

Same seed, same config and the same number of threads give the same spikes
(the program is deterministic for a fixed thread count).

With plastic projections the program also writes their weights at each of the
model's ``weight_times`` (:mod:`.plasticity`); it runs a few steps past the
end for the last of them (their spikes are not kept), and the weights are
handed over after the spikes, one time and projection at a time.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from ...model.network import Model
from ...model.timegrid import n_steps
from ...run.resources import usable_cpus
from ...run.signals import RunInterrupted
from ..base import Edges, Engine, OnWeights, Spikes
from .install import brian2_capabilities, import_brian2
from .pathway import CONNECTED, declare, rates_table, train_loader_code
from .plasticity import max_delay_steps, read_weight_records, write_weight_steps
from .project import Project, code_key, compiled_duration

__all__ = ["Brian2Engine", "ENGINE"]

#: What the program prints to report its progress (fraction of the run done).
_PROGRESS = "spiking-progress"


def _description(model: Model, threads: int, compiled_ms: float) -> dict:
    """Everything of a model that shapes the generated code (not seed, stimulus, rates or model time)."""
    layers = {n: [layer.kind, layer.side, layer.extent, repr(layer.cell)] for n, layer in model.layers.items()}
    desc = {
        "layers": layers,
        "projections": [repr(p) for p in model.projections],
        "recorded": list(model.simulated_recorded),
        "resolution": model.resolution,
        "connect": model.connect,
        "threads": threads,
        "compiled_ms": compiled_ms,
    }
    if "retina_on" in model.layers:  # Poisson generators: the rate table's shape is compiled in
        bin_ms, tables = rates_table(model)
        desc["rates"] = [bin_ms, tables["retina_on"].shape]
        desc["relay_delays"] = model.relay_delays
    return desc


def program_ms(model: Model, t_stop: float) -> float:
    """Model time the program runs for ``t_stop`` ms: past the end until the last weights are written."""
    if t_stop <= 0 or not model.weight_times:
        return t_stop
    # the weights at t_stop are written at the end of step t_stop / h + D_max - 1, the program's last
    extra = max(max_delay_steps(p, model.resolution) for p in model.plastic)
    return t_stop + extra * model.resolution


class Brian2Engine(Engine):
    """Builds and runs a :class:`~spiking.model.network.Model` with Brian2's C++ standalone device."""

    name = "brian2"
    feed_window = None  # the whole schedule goes to the compiled program at once

    def __init__(self):
        self.b2 = import_brian2()
        self.model: Model | None = None
        self.threads = 1
        self.declared = None
        self.project: Project | None = None
        self.times: dict[str, float] = {}
        self._counts: dict[str, int] | None = None
        self._edges: dict[str, Edges] = {}

    # -- set-up: declare, and compile unless the cache has the project --------------------
    def setup(self, model: Model, threads: int) -> None:
        self.model = model
        self.threads = max(1, int(threads))
        self._counts, self._edges = None, {}

    def build(self) -> dict[str, int]:
        b2, model = self.b2, self.model
        t0 = time.perf_counter()
        b2.set_device("cpp_standalone", build_on_run=False)
        device = b2.get_device()
        device.reinit()
        device.activate(build_on_run=False)
        b2.prefs.devices.cpp_standalone.openmp_threads = self.threads if self.threads > 1 else 0
        compiled_ms = compiled_duration(program_ms(model, model.simulation_time))
        self.declared = declare(b2, device, model, compiled_ms)
        net = b2.Network(self.declared.objects())
        device.insert_code("before_network_run", train_loader_code(device, self.declared))
        report = f'std::cout << "{_PROGRESS} " << completed << std::endl << std::flush;'
        net.run(compiled_ms * b2.ms, report=report, report_period=1 * b2.second)
        self.times["declare"] = time.perf_counter() - t0
        self.project = Project("pathway", code_key(_description(model, self.threads, compiled_ms)))
        if not self.project.exists:
            self.project.build(device, jobs=usable_cpus())
            self.times["compile"] = self.project.compile_s
        return {name: layer.size for name, layer in model.layers.items()}

    def connect(self) -> None:
        return None  # the compiled program connects when it starts

    def synapse_counts(self) -> dict[str, int]:
        if self._counts is None:
            raise RuntimeError("the Brian2 program has not run yet")
        return dict(self._counts)

    # -- the run --------------------------------------------------------------------------
    def _trains_files(self, scratch) -> dict:
        """Write each train layer's spikes (Brian2's stamps: one step early) for the program."""
        env = {}
        model = self.model
        if not model.train_layers:
            return env
        trains = model.trains()
        h = model.resolution
        for layer in model.train_layers:
            ids, t = trains.window(layer, 0.0, model.simulation_time)
            path = scratch / f"trains-{layer}.bin"
            with open(path, "wb") as fh:
                np.array([ids.size], dtype=np.int64).tofile(fh)
                ids.astype(np.int32).tofile(fh)
                ((t - h) / 1000.0).astype(np.float64).tofile(fh)
            env[f"SPIKING_TRAINS_{layer.upper()}"] = str(path)
        return env

    def _arguments(self, scratch, t_stop: float) -> list[str]:
        args = [f"control.rng_seed={int(self.model.seed)}", f"control.t_stop={float(t_stop)!r}"]
        if self.declared.rates:
            _, tables = rates_table(self.model)
            for layer, ta in self.declared.rates.items():
                path = scratch / f"rates-{layer}.dat"
                np.ascontiguousarray(tables[layer], dtype=np.float64).tofile(path)
                args.append(f"{ta.name}.values={path}")
        return args

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
        scratch = self.project.scratch()
        self._scratch = scratch  # the results stay readable (connections) until close()
        interrupted = None
        try:
            env = {"OMP_WAIT_POLICY": "PASSIVE", **self._trains_files(scratch), **self._weights_files(scratch)}
            compiled = compiled_duration(program_ms(model, model.simulation_time))
            progress = _Progress(getattr(on_chunk, "bar", None), compiled, t_stop)
            t0 = time.perf_counter()
            try:
                args = self._arguments(scratch, program_ms(model, t_stop))
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
            reached = self._read_results(scratch, t_stop if interrupted is None else None)
            if reached > 0:
                self._hand_over(on_chunk, chunk, reached)
            if on_weights is not None and model.weight_times:
                self._hand_over_weights(on_weights, scratch, reached)
        except BaseException:
            self.project.clean(scratch)
            self._scratch = None
            raise
        if interrupted is not None:
            raise interrupted

    def _read_results(self, scratch, t_stop: float | None) -> float:
        """Spikes, synapses and timings from the program's results; returns the model time reached, ms."""
        device = self.b2.get_device()
        device.results_dir = f"{scratch / 'results'}/"
        device.has_been_run = True
        for clock in device.clocks:
            device.array_cache[clock.variables["t"]] = None
        h = self.model.resolution
        reached = t_stop
        if reached is None:
            t = float(self.b2.defaultclock.t_) * 1000.0
            reached = min(n_steps(t, h), n_steps(self.model.simulation_time, h)) * h
        self._spikes = {}
        for name, mon in self.declared.monitors.items():
            ids = np.asarray(mon.i[:], dtype=np.int64)
            times = np.asarray(mon.t_[:], dtype=np.float64) * 1000.0 + h  # NEST's stamp: the end of the step
            if name in self.declared.relayed:
                times = times + self.declared.relay_delay[name]
            keep = times <= reached + h / 2
            self._spikes[name] = (ids[keep], times[keep])
        self._counts = {}
        for p in self.model.projections:  # in the model's order; a relay's one-to-one wiring is implied
            if p.name in self.declared.synapses:
                self._counts[p.name] = int(len(self.declared.synapses[p.name]))
            elif p.target in self.declared.relayed:
                self._counts[p.name] = self.model.layers[p.target].size
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

    def _weights_files(self, scratch) -> dict:
        """The times at which the program writes the plastic weights, and the folder it writes them to."""
        if not self.model.weight_times:
            return {}
        write_weight_steps(scratch / "weight-steps.bin", self.model)
        (scratch / "weights").mkdir(exist_ok=True)
        return {
            "SPIKING_WEIGHT_STEPS": str(scratch / "weight-steps.bin"),
            "SPIKING_WEIGHTS_DIR": str(scratch / "weights"),
        }

    def _hand_over_weights(self, on_weights: OnWeights, scratch, reached: float) -> None:
        """Each plastic projection's weights at each time the program wrote them, up to ``reached`` ms."""
        h = self.model.resolution
        for p in self.model.plastic:
            t0 = time.perf_counter()
            s = self.declared.synapses[p.name]
            sources, targets = np.asarray(s.i[:], dtype=np.int64), np.asarray(s.j[:], dtype=np.int64)
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
        if p.target in self.declared.relayed:  # the relay repeats its retina node: one to one
            n = self.model.layers[p.target].size
            ids = np.arange(n, dtype=np.int64)
            return Edges(ids, ids.copy(), np.full(n, p.weight), np.full(n, n_steps(p.delay, h) * h))
        s = self.declared.synapses[projection]
        extra = self.declared.relay_delay.get(p.source, 0.0)
        delay = np.asarray(s.delay_[:], dtype=float) * 1000.0 + h - extra
        n = len(s)
        e = Edges(
            np.asarray(s.i[:], dtype=np.int64),
            np.asarray(s.j[:], dtype=np.int64),
            np.full(n, p.weight),
            np.broadcast_to(np.round(delay / h) * h, (n,)).copy(),
        )
        self._edges[projection] = e
        return e

    def incoming(self, target: str, targets: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        want = np.unique(targets)
        out = {}
        for p in self.model.projections:
            if p.target != target or p.name not in self._counts:
                continue
            e = self.edges(p.name)
            m = np.isin(e.targets, want)
            out[p.source] = (e.sources[m], e.targets[m])
        return out

    def outgoing(self, source: str, node: int) -> dict[str, np.ndarray]:
        out = {}
        for p in self.model.projections:
            if p.source != source or p.name not in self._counts:
                continue
            e = self.edges(p.name)
            out[p.target] = e.targets[e.sources == node]
        return out

    def phase_times(self) -> dict[str, float]:
        return {k: v for k, v in self.times.items() if k in ("compile", "connect", "weights")}

    def memory_mb(self) -> dict[str, float]:
        """Peak resident memory of the compiled program (a process of its own), MB."""
        return {"program_peak_rss": round(self.project.peak_rss_mb, 1)} if self.project else {}

    def close(self) -> None:
        """Remove the program's results and give Brian2 back its runtime device (another caller may need it)."""
        if getattr(self, "_scratch", None) is not None:
            self.project.clean(self._scratch)
            self._scratch = None
        device = self.b2.get_device()
        device.reinit()
        self.b2.set_device("runtime")

    def info(self) -> dict:
        caps = brian2_capabilities()
        return {
            "engine": "brian2",
            "version": caps["version"],
            "build_info": {
                "device": "cpp_standalone",
                "compiler": caps["compiler_version"] or caps["compiler"],
                "openmp": caps["openmp"],
                "cache": caps["cache"],
            },
            "threads": self.threads,
            "processes": 1,
            "rank": 0,
            "same_spikes_need": "the same seed, config and threads (the compiled program is deterministic per thread count)",
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
