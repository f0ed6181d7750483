"""A run from config to run folder: stimulus, build, connect, simulate, record, write.

The runner drives an engine through the model's schedule in chunks of model
time, streams the spikes to ``spikes.h5`` as it goes, keeps the manifest up to
date and leaves a folder that says how the run ended.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import platform
import signal
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from .. import __version__
from ..config import Config, to_toml
from ..errors import PreflightError, RunFolderError, SpikingError
from ..io.atomic import atomic_write_text
from ..io.runfolder import create_run_folder, make_run_id, write_manifest, write_schedule
from ..io.snapshots import write_retina_snapshots
from ..io.spikefile import SpikeWriter
from ..model.estimate import BASE_BYTES, estimate, format_estimate
from ..model.network import Model, build_model
from ..model.stimulus import BUILTIN_PATTERNS
from .parallel import SERIAL, Parallel
from .resources import available_memory_bytes, current_rss_mb, free_disk_bytes, peak_rss_mb, resolve_threads

__all__ = ["RunResult", "RunInterrupted", "run", "resolve_threads", "resolved_config"]


class RunInterrupted(Exception):
    """Raised inside a run when SIGINT or SIGTERM arrives."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(signal.Signals(signum).name)


@dataclass
class RunResult:
    """Where a run went and how it ended."""

    folder: Path
    status: str
    manifest: dict


def resolved_config(config: Config, threads: int) -> Config:
    """The config as run: threads resolved, pattern paths made absolute."""
    patterns = [p if p in BUILTIN_PATTERNS else str(config.resolve_path(p).resolve()) for p in config.stimulus.patterns]
    epochs = [
        dataclasses.replace(
            e, pattern=e.pattern if e.pattern in BUILTIN_PATTERNS else str(config.resolve_path(e.pattern).resolve())
        )
        for e in config.stimulus.epochs
    ]
    return dataclasses.replace(
        config,
        run=dataclasses.replace(config.run, threads=threads),
        stimulus=dataclasses.replace(config.stimulus, patterns=patterns, epochs=epochs),
    )


def preflight_problem(config: Config, est, processes: int, force: bool) -> str | None:
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


class _Signals:
    """Turn SIGINT/SIGTERM into :class:`RunInterrupted`; a second one exits at once.

    Inside :meth:`deferred` (writing a file) the first signal is held until the
    block ends, so no file is left half-written.
    """

    def __init__(self, on_second):
        self.on_second = on_second
        self.received: int | None = None
        self.old = {}
        self._defer = 0
        self._pending: int | None = None
        self.closing = False

    def __enter__(self):
        for s in (signal.SIGINT, signal.SIGTERM):
            try:
                self.old[s] = signal.signal(s, self._handle)
            except ValueError:  # not the main thread
                pass
        return self

    def _handle(self, signum, frame):
        if self.received is not None:
            self.on_second(signum)
            os._exit(128 + signum)
        self.received = signum
        if self._defer or self.closing:
            self._pending = signum
            return
        raise RunInterrupted(signum)

    @contextlib.contextmanager
    def deferred(self):
        self._defer += 1
        try:
            yield
        finally:
            self._defer -= 1
        if not self._defer and self._pending is not None:
            signum, self._pending = self._pending, None
            raise RunInterrupted(signum)

    def __exit__(self, *exc):
        for s, h in self.old.items():
            signal.signal(s, h)
        return False


def _say(msg: str, parallel: Parallel, quiet: bool) -> None:
    if parallel.is_root and not quiet:
        print(msg, file=sys.stderr, flush=True)


def _gather_spikes(parallel: Parallel, local: dict) -> dict | None:
    parts = parallel.gather(local)
    if parts is None:
        return None
    if len(parts) == 1:
        return parts[0]
    out = {}
    for name in parts[0]:
        out[name] = (
            np.concatenate([p[name][0] for p in parts]),
            np.concatenate([p[name][1] for p in parts]),
        )
    return out


def run(
    config: Config,
    *,
    parallel: Parallel = SERIAL,
    engine=None,
    progress: bool = True,
    quiet: bool = False,
    notes: list[str] | None = None,
    argv: list[str] | None = None,
    force: bool = False,
) -> RunResult:
    """Run the simulation of ``config`` into a new run folder.

    Parameters
    ----------
    config : Config
    parallel : Parallel
        The MPI context (serial by default). Only rank 0 writes files.
    engine : Engine, optional
        Defaults to the NEST engine.
    progress : bool
        Show a progress bar over model time.
    quiet : bool
        Print nothing but errors.
    force : bool
        Run even when the pre-flight estimate says the memory will not suffice.

    Returns
    -------
    RunResult
        The folder and final status. A :class:`RunInterrupted` is not raised:
        the result has status ``interrupted`` and the signal in the manifest.

    Raises
    ------
    SpikingError
        For bad input (a pattern that cannot be loaded, an output folder that
        cannot be written), before any simulation work.
    """
    t_start = time.perf_counter()
    timings: dict[str, float] = {}

    # 1. stimulus and model, as plain data; fails early on bad images
    t0 = time.perf_counter()
    model = build_model(config)
    timings["stimulus"] = time.perf_counter() - t0
    threads = resolve_threads(config.run.threads)
    config = resolved_config(config, threads)

    # 2. pre-flight: will it fit in memory and on disk? (all ranks agree)
    t0 = time.perf_counter()
    est = estimate(config, model)
    timings["estimate"] = time.perf_counter() - t0
    _say(format_estimate(est, parallel.size), parallel, quiet)
    problem = preflight_problem(config, est, parallel.size, force)
    problems = parallel.allgather(problem)
    problem = next((p for p in problems if p), None)
    if problem:
        raise PreflightError(problem)

    # 3. the run folder, chosen once by rank 0
    folder_or_error: tuple[str | None, str | None] = (None, None)
    if parallel.is_root:
        try:
            rid = make_run_id(config.network.hypercolumns, config.run.simulation_time, config.run.name)
            folder_or_error = (str(create_run_folder(config.run.output_dir, rid)), None)
        except SpikingError as err:
            folder_or_error = (None, str(err))
    folder_s, error = parallel.bcast(folder_or_error)
    if error:
        raise RunFolderError(error)
    folder = Path(folder_s)

    manifest: dict = {
        "run_id": folder.name,
        "status": "running",
        "pid": os.getpid(),
        "started": datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": argv if argv is not None else sys.argv,
        "versions": {"spiking": __version__, "python": platform.python_version(), "numpy": np.__version__},
        "platform": platform.platform(),
        "seed": config.run.seed,
        "threads": threads,
        "processes": parallel.size,
        "simulation_time_ms": config.run.simulation_time,
        "resolution_ms": config.run.resolution,
        "t_reached_ms": 0.0,
        "sizes": dataclasses.asdict(model.sizes),
        "notes": notes or [],
    }
    writer = None
    counts: dict[str, int] = {}
    status = "failed"
    failure: BaseException | None = None
    signals = _Signals(on_second=lambda s: _on_second_signal(folder, manifest, parallel, s))
    signals.__enter__()
    try:
        if parallel.is_root:
            with signals.deferred():
                atomic_write_text(folder / "config.toml", to_toml(config))
                write_manifest(folder, manifest)
                write_schedule(folder, model.schedule)
                t0 = time.perf_counter()
                write_retina_snapshots(
                    folder, model.schedule, model.stimuli, config.retina.min_rate, config.retina.max_rate
                )
                timings["stimulus"] += time.perf_counter() - t0
        _say(f"run folder {folder}", parallel, quiet)

        # 4. the engine
        if engine is None:
            from ..engines import get_engine

            engine = get_engine("nest")
        rss_base = current_rss_mb()
        t0 = time.perf_counter()
        engine.setup(model, threads)
        info = engine.info()
        manifest["engine"] = info
        manifest["versions"]["nest"] = info.get("version", "")
        manifest["processes"] = info.get("processes", parallel.size)
        neurons = engine.build()
        timings["build"] = time.perf_counter() - t0
        manifest["neurons"] = neurons
        manifest["neurons_total"] = int(sum(neurons.values()))
        _say(
            f"build      {timings['build']:7.2f} s   {manifest['neurons_total']:,} nodes in {len(neurons)} layers",
            parallel,
            quiet,
        )

        t0 = time.perf_counter()
        local = engine.connect() if model.connect else {}
        synapses = (
            {k: sum(part[k] for part in parallel.allgather(local)) for k in local} if parallel.size > 1 else local
        )
        timings["connect"] = time.perf_counter() - t0
        manifest["synapses"] = synapses
        manifest["synapses_total"] = int(sum(synapses.values()))
        rss_net = current_rss_mb()
        manifest["memory_mb"] = {
            "before_build": round(rss_base, 1),
            "network": round(rss_net - rss_base, 1),
            "after_connect": round(rss_net, 1),
        }
        _say(
            f"connect    {timings['connect']:7.2f} s   {manifest['synapses_total']:,} synapses in {len(synapses)} projections",
            parallel,
            quiet,
        )
        if config.render.plot_layers and model.connect:
            from ..io.connectivity import write_connectivity
            from .connectivity import collect_connectivity

            t0 = time.perf_counter()
            sample = collect_connectivity(engine, model, parallel)
            if parallel.is_root:
                with signals.deferred():
                    write_connectivity(folder / "connectivity.h5", sample)
            timings["connectivity"] = time.perf_counter() - t0
        if parallel.is_root:
            with signals.deferred():
                write_manifest(folder, manifest)

        # 5. simulate, chunk by chunk, streaming spikes to disk
        recorded = {name: (model.layers[name].side, model.layers[name].extent) for name in model.recorded}
        if parallel.is_root:
            with signals.deferred():
                writer = SpikeWriter(folder / "spikes.h5", recorded)
        counts.update({name: 0 for name in recorded})
        t_sim = t_rec = 0.0
        t_now = 0.0
        config_sim = config.run.simulate
        bar = None
        if config_sim:
            if progress and parallel.is_root and not quiet:
                from tqdm import tqdm

                bar = tqdm(
                    total=model.simulation_time,
                    unit="ms",
                    desc="simulate",
                    file=sys.stderr,
                    bar_format="{desc} {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} ms [{elapsed}<{remaining}]",
                )
            try:
                for ep in model.schedule:
                    t0 = time.perf_counter()
                    engine.apply_epoch(model.layer_rates(ep.pattern))
                    t_sim += time.perf_counter() - t0
                    while t_now < ep.stop - model.resolution / 2:
                        step = min(model.chunk, ep.stop - t_now)
                        step = round(step / model.resolution) * model.resolution
                        t0 = time.perf_counter()
                        engine.advance(step)
                        t1 = time.perf_counter()
                        t_sim += t1 - t0
                        t_now += step
                        with signals.deferred():
                            spikes = _gather_spikes(parallel, engine.collect())
                            if writer is not None:
                                writer.append(spikes, t_now)
                                for name, (ids, _) in spikes.items():
                                    counts[name] += len(ids)
                            manifest["t_reached_ms"] = t_now
                        t_rec += time.perf_counter() - t1
                        if bar is not None:
                            bar.update(step)
            finally:
                if bar is not None:
                    bar.close()
                engine.finish()
        timings["simulate"] = t_sim
        timings["record"] = t_rec
        _say(f"simulate   {t_sim:7.2f} s   {t_now:g} ms of model time", parallel, quiet)
        status = "complete"
    except RunInterrupted as err:
        status = "interrupted"
        manifest["signal"] = signal.Signals(err.signum).name
        failure = err
    except BaseException as err:  # noqa: BLE001 - recorded, then re-raised
        status = "failed"
        manifest["error"] = f"{type(err).__name__}: {err}"
        failure = err
    finally:
        signals.closing = True  # from here a first signal only waits; a second exits at once
        t0 = time.perf_counter()
        if writer is not None:
            try:
                writer.close(complete=status == "complete")
            except Exception as err:  # noqa: BLE001
                status = "failed"
                manifest["error"] = f"spikes.h5 could not be written: {err}"
        if parallel.is_root:
            _finish_manifest(manifest, counts, model)
        timings["write"] = time.perf_counter() - t0
        timings["total"] = time.perf_counter() - t_start
        manifest["timings_s"] = {k: round(v, 4) for k, v in timings.items()}
        manifest["memory_mb"] = {**manifest.get("memory_mb", {}), "peak_rss": round(peak_rss_mb(), 1)}
        manifest["status"] = status
        manifest["finished"] = datetime.now().astimezone().isoformat(timespec="seconds")
        if parallel.is_root:
            write_manifest(folder, manifest)
        _say(f"write      {timings['write']:7.2f} s   status {status}", parallel, quiet)
        signals.__exit__()
    if status == "failed" and failure is not None:
        raise failure
    return RunResult(folder=folder, status=status, manifest=manifest)


def _finish_manifest(manifest: dict, counts: dict, model: Model) -> None:
    t = max(manifest.get("t_reached_ms", 0.0), 1e-12)
    manifest["spikes"] = {
        name: {
            "count": int(n),
            "mean_rate_hz": round(float(n) / (model.layers[name].size * t / 1000.0), 4),
        }
        for name, n in counts.items()
    }


def _on_second_signal(folder: Path, manifest: dict, parallel: Parallel, signum: int) -> None:
    """A second Ctrl-C: say so in the manifest and leave at once."""
    if parallel.is_root:
        try:
            manifest["status"] = "interrupted"
            manifest["signal"] = signal.Signals(signum).name
            manifest["note"] = "stopped at once by a second signal; spikes.h5 may be missing"
            write_manifest(folder, manifest)
        except Exception:  # noqa: BLE001 - leaving anyway
            pass
