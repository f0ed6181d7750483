"""A run from config to run folder, as a short sequence of named phases.

stimulus (the model as data) -> estimate (will it fit?) -> folder (chosen by
rank 0) -> inputs (config, manifest, schedule, retina snapshots) -> build ->
connect -> connectivity (optional sample) -> simulate (spikes streamed to
``spikes.h5`` chunk by chunk, the weights of plastic projections to
``weights.h5`` at each stimulus change) -> close. The manifest says how far the run got
and how it ended; signals stop it at the next chunk. A full disk stops it as
``failed`` with :class:`~spiking.errors.DiskFullError` (the spikes written so
far kept); under MPI a watcher process (:mod:`spiking.io.guard`) marks the
folder ``failed`` if rank 0 is killed before it can say so itself.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..config import Config, to_toml
from ..errors import DiskFullError, RunFolderError, SpikingError, describe
from ..io.atomic import atomic_write_text
from ..io.runfolder import create_run_folder, make_run_id, write_schedule
from ..io.snapshots import write_retina_snapshots
from ..io.space import as_disk_full
from ..model.network import Model, build_model
from ..model.stimulus import BUILTIN_PATTERNS
from .manifest import Manifest, now_iso
from .parallel import SERIAL, Parallel
from .phases import Phases, Reporter
from .preflight import preflight
from .resources import current_rss_mb, peak_rss_mb, resolve_threads
from .signals import RunInterrupted, Signals
from .sink import SpikeSink
from .weights import WeightSink

__all__ = ["RunResult", "RunInterrupted", "run", "resolved_config"]

logger = logging.getLogger(__name__)


@dataclass
class RunResult:
    """Where a run went and how it ended."""

    folder: Path
    status: str
    manifest: dict


def resolved_config(config: Config, threads: int) -> Config:
    """The config as run: threads resolved, pattern paths made absolute."""

    def absolute(p: str) -> str:
        return p if p in BUILTIN_PATTERNS else str(config.resolve_path(p).resolve())

    epochs = [dataclasses.replace(e, pattern=absolute(e.pattern)) for e in config.stimulus.epochs]
    return dataclasses.replace(
        config,
        run=dataclasses.replace(config.run, threads=threads),
        stimulus=dataclasses.replace(
            config.stimulus, patterns=[absolute(p) for p in config.stimulus.patterns], epochs=epochs
        ),
    )


def choose_folder(config: Config, parallel: Parallel) -> Path:
    """Create the run folder on rank 0 and tell every rank its name (or the one-line reason it failed)."""
    answer: tuple[str | None, str | None] = (None, None)
    if parallel.is_root:
        try:
            rid = make_run_id(config.network.hypercolumns, config.run.simulation_time, config.run.name)
            answer = (str(create_run_folder(config.run.output_dir, rid)), None)
        except SpikingError as err:
            answer = (None, str(err))
    folder, error = parallel.bcast(answer)
    if error:
        raise RunFolderError(error)
    return Path(folder)


def write_inputs(folder: Path, config: Config, model: Model, manifest: Manifest) -> None:
    """The files that say what is run: manifest (first: it is small, and says how the run ends), config, schedule, retina snapshots."""
    manifest.write(folder)
    atomic_write_text(folder / "config.toml", to_toml(config))
    write_schedule(folder, model.schedule)
    r = config.retina
    latency = (r.latency_min, r.latency_max) if r.coding == "latency" else None
    write_retina_snapshots(folder, model.schedule, model.stimuli, r.min_rate, r.max_rate, latency)


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
    network: str | Path | None = None,
    free_engine: bool = True,
) -> RunResult:
    """Run the simulation of ``config`` into a new run folder.

    Parameters
    ----------
    config : Config
    parallel : Parallel
        The MPI context (serial by default). Only rank 0 writes files.
    engine : Engine, optional
        Defaults to the engine ``run.engine`` names.
    progress : bool
        Show a progress bar over model time.
    quiet : bool
        Print nothing but errors.
    notes : list of str
        What an ``.env`` file was mapped to, for the manifest.
    argv : list of str
        The command line, for the manifest (default ``sys.argv``).
    force : bool
        Run even when the pre-flight estimate says the memory will not suffice.
    network : path-like, optional
        A SONATA network this project wrote (``spiking export --sonata-network``) to run instead of
        drawing one; it must match the config (:mod:`spiking.io.sonata_network`).
    free_engine : bool
        Hand the engine's memory back when the run ends (False when the process ends right after).

    Returns
    -------
    RunResult
        The folder and final status. A :class:`RunInterrupted` is not raised:
        the result has status ``interrupted`` and the signal in the manifest.

    Raises
    ------
    SpikingError
        For bad input (a pattern that cannot be loaded, an output folder that
        cannot be written, a run that will not fit, a network file that does
        not match the config), before any simulation work.
    """
    phases = Phases()
    say = Reporter(parallel.is_root, quiet)
    with phases("stimulus"):
        model = build_model(config)  # fails early on bad images
    threads = resolve_threads(config.run.threads)
    config = resolved_config(config, threads)
    with phases("estimate"):
        preflight(config, model, parallel, force, say)
    given = _read_network(network, model, phases, say) if network is not None else None
    folder = choose_folder(config, parallel)
    manifest = _new_manifest(folder, config, model, threads, parallel, notes, argv)
    status, failure = "failed", None
    ctx = _RunContext(folder, config, model, parallel, manifest, phases, say, engine)
    ctx.free_engine = free_engine
    if given is not None:
        ctx.network, ctx.scratch, manifest.network = given
    guard = _start_guard(folder, parallel)
    ctx.signals = Signals(on_second=lambda s: _on_second_signal(folder, manifest, parallel, s))
    ctx.signals.__enter__()
    try:
        _network_phases(ctx, progress and not quiet and config.run.simulate)
        status = "complete"
    except RunInterrupted as err:
        status = "interrupted"
        manifest.signal = signal.Signals(err.signum).name
        failure = err
    except BaseException as err:  # noqa: BLE001 - recorded, then re-raised
        failure = as_disk_full(err) or err
        manifest.error = f"{type(failure).__name__}: {failure}"
    finally:
        status, failure = _finish(ctx, status, failure, guard)
    if status == "failed" and failure is not None:
        raise failure
    return RunResult(folder=folder, status=status, manifest=manifest.to_dict())


@dataclass
class _RunContext:
    """What the phases of one run share; ``engine``, ``sink`` and ``weights`` are set as they are made."""

    folder: Path
    config: Config
    model: Model
    parallel: Parallel
    manifest: Manifest
    phases: Phases
    say: Reporter
    engine: object = None
    signals: Signals | None = None
    sink: SpikeSink | None = None
    weights: WeightSink | None = None
    network: object = None
    scratch: Path | None = None
    free_engine: bool = True


def _new_manifest(
    folder: Path, config: Config, model: Model, threads: int, parallel: Parallel, notes, argv
) -> Manifest:
    """The run's manifest as it starts: identity, seed, layout and sizes."""
    manifest = Manifest(
        run_id=folder.name,
        seed=config.run.seed,
        threads=threads,
        processes=parallel.size,
        simulation_time_ms=config.run.simulation_time,
        resolution_ms=config.run.resolution,
        sizes=dataclasses.asdict(model.sizes),
        retina_source=model.source,
        wiring=model.wiring,
        notes=list(notes or []),
    )
    if argv is not None:
        manifest.command = list(argv)
    return manifest


def _network_phases(ctx: _RunContext, progress: bool) -> None:
    """Inputs written, engine made, network built and connected, simulated into the sinks."""
    folder, config, model, parallel, manifest = ctx.folder, ctx.config, ctx.model, ctx.parallel, ctx.manifest
    phases, signals, say = ctx.phases, ctx.signals, ctx.say
    if parallel.is_root:
        with signals.deferred(), phases("stimulus"):
            write_inputs(folder, config, model, manifest)
    say(f"run folder {folder}")
    if ctx.engine is None:
        from ..engines import get_engine

        with phases("build"):  # importing the simulator is part of setting it up
            ctx.engine = get_engine(config.run.engine)
    engine = ctx.engine
    _draw(ctx)
    _build_and_connect(engine, config, model, parallel, manifest, phases, signals, folder, say, ctx.network)
    ctx.sink = SpikeSink(folder, model, parallel, manifest, signals, progress)
    if model.weight_times and config.run.simulate:
        ctx.weights = WeightSink(folder, model, parallel, signals)
    _simulate(engine, model, config, ctx.sink, phases, say, ctx.weights)
    if manifest.synapses is None:  # an engine that connects when the simulation starts
        _count_synapses(engine, parallel, manifest)
        say.phase("connect", phases.times.get("connect", 0.0), f"{manifest.synapses_total:,} synapses")
        _connectivity(engine, config, model, parallel, phases, signals, folder, ctx.network)


def _finish(ctx: _RunContext, status: str, failure: BaseException | None, guard) -> tuple[str, BaseException | None]:
    """Close the engine and files, write the last manifest; the final status and failure."""
    manifest, phases = ctx.manifest, ctx.phases
    ctx.signals.closing = True  # from here a first signal only waits; a second exits at once
    if ctx.engine is not None:
        manifest.memory_mb.update(ctx.engine.memory_mb())
        with phases("free"):  # the engine hands its memory back (NEST: ResetKernel), for what runs next here
            ctx.engine.close(free=ctx.free_engine)
    if ctx.scratch is not None:
        shutil.rmtree(ctx.scratch, ignore_errors=True)
    with phases("write"):
        status = _close(ctx.sink, status, manifest, ctx.model, ctx.parallel)
        status = _close_weights(ctx.weights, status, manifest)
    manifest.timings_s = phases.rounded()
    manifest.memory_mb["peak_rss"] = round(peak_rss_mb() + manifest.memory_mb.get("program_peak_rss", 0.0), 1)
    manifest.status = status
    manifest.finished = now_iso()
    status, failure = _write_last_manifest(ctx.folder, manifest, ctx.parallel, status, failure, guard)
    ctx.say.phase("write", phases.times["write"], f"status {status}")
    ctx.signals.__exit__()
    return status, failure


def _start_guard(folder: Path, parallel: Parallel):
    """Under MPI, rank 0's watcher that marks the folder ``failed`` if rank 0 is killed (None otherwise)."""
    if parallel.size < 2 or not parallel.is_root:
        return None
    from ..io.guard import Guard

    try:
        return Guard(folder, parallel.size)
    except OSError:  # no process to spare: the run goes on without it
        return None


def _write_last_manifest(folder: Path, manifest: Manifest, parallel: Parallel, status: str, failure, guard=None):
    """Write the final manifest (rank 0), then let the watcher go; a full disk here fails the run in one line.

    Returns the status and the failure to raise, each possibly changed, and
    for a full disk the failure says what the folder keeps.
    """
    if parallel.is_root:
        try:
            manifest.write(folder)
        except OSError as err:
            full = as_disk_full(err, folder / "manifest.json")
            why = str(full) if full else f"{folder / 'manifest.json'}: cannot be written ({err.strerror or err})"
            if isinstance(failure, DiskFullError):
                failure = DiskFullError(f"{failure}; manifest.json could not be updated either and still says running")
            else:
                failure = (DiskFullError if full else RunFolderError)(f"{why}; the run's record is incomplete")
            return "failed", failure
        finally:
            if guard is not None:
                guard.release()  # it finds the manifest as written (still running if it could not be)
    if isinstance(failure, DiskFullError) and parallel.is_root:
        failure = DiskFullError(
            f"{failure}; the run stopped at {manifest.t_reached_ms:g} ms of model time: "
            f"{folder.name}/manifest.json says failed, {manifest.note}"
        )
    return status, failure


def _read_network(path, model: Model, phases: Phases, say) -> tuple:
    """A network file given to the run, checked against the model before any folder is made: (network, scratch, record)."""
    from ..errors import NetworkFileError
    from ..io.sonata_network import read_sonata_network

    if model.wiring != "model" or not model.connect:
        raise NetworkFileError('--network needs network.wiring = "model" and run.connect = true')
    scratch = Path(tempfile.mkdtemp(prefix="spiking-network-"))
    try:
        with phases("draw"):
            net = read_sonata_network(path, model, scratch / "network")
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    counts = net.counts()
    say.phase("draw", phases.times["draw"], f"{sum(counts.values()):,} synapses read from {path}")
    record = {
        "key": net.key,
        "source": "file",
        "path": str(Path(path).resolve()),
        "synapses_total": sum(counts.values()),
    }
    return net, scratch, record


def _draw(ctx: _RunContext) -> None:
    """The model draws the network (or reads it from the cache) before anything is built: ``network.wiring = "model"``."""
    model, manifest, phases, say = ctx.model, ctx.manifest, ctx.phases, ctx.say
    if not (model.connect and model.wiring == "model") or ctx.network is not None:
        return
    from .network import cache_limit_bytes, obtain_network

    if cache_limit_bytes() <= 0:
        ctx.scratch = Path(tempfile.mkdtemp(prefix="spiking-network-"))
    with phases("draw"):
        ctx.network, info = obtain_network(model, ctx.config.run.threads, ctx.scratch)
    ctx.scratch = ctx.scratch or info.scratch
    manifest.network = info.to_dict()
    how = "read from the network cache" if info.source == "cache" else "drawn"
    say.phase("draw", phases.times["draw"], f"{sum(info.synapses.values()):,} synapses {how}")


def _build_and_connect(engine, config, model, parallel, manifest, phases, signals, folder, say, network=None):
    """The engine's phases before the simulation: set-up and build, connect, and the connectivity sample."""
    engine.say = say
    rss_base = current_rss_mb()
    with phases("build"):
        engine.setup(model, config.run.threads)
        manifest.set_engine(engine.info())
        manifest.set_neurons(engine.build())
    say.phase("build", phases.times["build"], f"{manifest.neurons_total:,} nodes in {len(manifest.neurons)} layers")
    with phases("connect"):
        local = engine.connect(network) if model.connect else {}
    if local is not None:
        _sum_synapses(local, parallel, manifest)
        note = f" ({engine.connect_note})" if engine.connect_note else ""
        say.phase(
            "connect",
            phases.times["connect"],
            f"{manifest.synapses_total:,} synapses in {len(local)} projections{note}",
        )
    rss_net = current_rss_mb()
    manifest.memory_mb = {
        "before_build": round(rss_base, 1),
        "network": round(rss_net - rss_base, 1),
        "after_connect": round(rss_net, 1),
    }
    if local is not None:
        _connectivity(engine, config, model, parallel, phases, signals, folder, network)
    if parallel.is_root:
        with signals.deferred():
            manifest.write(folder)


def _simulate(
    engine, model: Model, config: Config, sink: SpikeSink, phases: Phases, say: Reporter, weights: WeightSink | None
) -> None:
    """The simulation, with the time of writing spikes and weights and of work the engine did inside it booked apart."""
    t0 = time.perf_counter()
    if config.run.simulate:
        engine.simulate(sink, model.chunk, **({"on_weights": weights} if weights is not None else {}))
    else:
        engine.connect_only()
    spent = time.perf_counter() - t0 - sink.seconds
    inside = engine.phase_times()
    if weights is not None:  # reading them from the engine, and writing them
        phases.add("weights", weights.seconds + inside.get("weights", 0.0))
        spent -= weights.seconds + inside.get("weights", 0.0)
    if "compile" in inside:
        phases.add("compile", inside["compile"])
        phases.add("build", -inside["compile"])
    for phase in ("connect", "input", "record"):  # booked where they belong, out of the simulation
        if phase in inside:
            phases.add(phase, inside[phase])
            spent -= inside[phase]
    phases.add("simulate", spent)
    phases.add("record", sink.seconds)
    say.phase("simulate", phases.times["simulate"], f"{sink.manifest.t_reached_ms:g} ms of model time")


def _connectivity(
    engine, config: Config, model: Model, parallel: Parallel, phases, signals, folder: Path, network=None
) -> None:
    """With ``render.plot_layers``: a sample of every projection as built, into ``connectivity.h5``.

    From the drawn network when the model drew it (no engine asked), else through the engine.
    """
    if not (config.render.plot_layers and model.connect):
        return
    from ..io.connectivity import write_connectivity
    from .connectivity import collect_connectivity, sample_network

    with phases("connectivity"):
        if network is not None:
            sample = sample_network(network, model) if parallel.is_root else None
        else:
            sample = collect_connectivity(engine, model, parallel)
        if parallel.is_root:
            with signals.deferred():
                write_connectivity(folder / "connectivity.h5", sample)


def _sum_synapses(local: dict, parallel: Parallel, manifest: Manifest) -> None:
    """Synapses per projection over every rank, into the manifest."""
    parts = parallel.allgather(local) if parallel.size > 1 else [local]
    manifest.set_synapses({k: sum(part[k] for part in parts) for k in local})


def _count_synapses(engine, parallel: Parallel, manifest: Manifest) -> None:
    """For engines that connect when the simulation starts: the counts, once they exist."""
    _sum_synapses(engine.synapse_counts() if engine.model.connect else {}, parallel, manifest)


def _close(sink: SpikeSink | None, status: str, manifest: Manifest, model: Model, parallel: Parallel) -> str:
    """Close ``spikes.h5`` and record the spikes; the status, made ``failed`` if the file cannot be written.

    After a failure the manifest's ``note`` says what the folder keeps of the spikes.
    """
    if sink is None:
        if status == "failed":
            manifest.note = "no spikes were written"
        return status
    try:
        sink.close(status=status)
        kept = f"spikes.h5 holds the spikes up to {manifest.t_reached_ms:g} ms"
    except Exception as err:  # noqa: BLE001 - the run's record says why
        logger.warning(
            "spikes.h5 could not be closed (%s): the run is marked failed",
            describe(err),
            exc_info=logger.isEnabledFor(logging.DEBUG),
        )
        status = "failed"
        manifest.error = manifest.error or f"spikes.h5 could not be written: {err}"
        kept = f"spikes.h5 could not be closed ({err})"
    if status == "failed" and parallel.is_root:
        manifest.note = kept
    if parallel.is_root:
        manifest.set_spikes(sink.counts, {name: model.layers[name].size for name in sink.counts})
    return status


def _close_weights(weights: WeightSink | None, status: str, manifest: Manifest) -> str:
    """Close ``weights.h5`` and record what it holds; the status, made ``failed`` if it cannot be written."""
    if weights is None:
        return status
    try:
        weights.close(complete=status == "complete")
    except Exception as err:  # noqa: BLE001 - the run's record says why
        logger.warning(
            "weights.h5 could not be written (%s): the run is marked failed",
            describe(err),
            exc_info=logger.isEnabledFor(logging.DEBUG),
        )
        status = "failed"
        manifest.error = manifest.error or f"weights.h5 could not be written: {err}"
    manifest.weights = weights.summary or None
    return status


def _on_second_signal(folder: Path, manifest: Manifest, parallel: Parallel, signum: int) -> None:
    """A second Ctrl-C: say so in the manifest and leave at once."""
    if parallel.is_root:
        try:
            manifest.status = "interrupted"
            manifest.signal = signal.Signals(signum).name
            manifest.note = "stopped at once by a second signal; spikes.h5 may be missing"
            manifest.write(folder)
        except Exception as err:  # noqa: BLE001 - leaving anyway
            logger.warning(
                "manifest.json could not be marked interrupted (%s): it may still say running", describe(err)
            )
