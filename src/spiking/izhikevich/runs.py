"""Run folders of the Izhikevich (2003) reproductions: ``spiking izhikevich types`` and ``network``.

Each leaves a folder ``<output_dir>/<time>-izhikevich-<kind>-<engine>/``:
``izhikevich.toml`` (the parameters; not ``config.toml``, which is a pathway
config), ``manifest.json`` (versions, the engine and what it needs for the
same spikes again, timings, the checks and whether they passed),
``spikes.h5`` (SONATA layout) and the figures.
"""

from __future__ import annotations

import csv
import io
import platform
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import numpy as np

from .. import __version__
from ..config import toml_value
from ..engines.registry import DEFAULT_ENGINE
from ..io.atomic import atomic_write_text
from ..io.runfolder import create_run_folder, write_manifest
from ..io.spikefile import SpikeWriter
from . import params as P
from .checks import CheckRow, check_types
from .metrics import NetworkMetrics, network_metrics
from .plots import plot_network, plot_types
from .protocols import draw_network, get_simulator, types_protocol
from .simulate import simulate_network, simulate_types

__all__ = ["PARAMETER_FILE", "KIND_PREFIX", "run_types", "run_network"]

#: Name of the parameter file of a run folder.
PARAMETER_FILE = "izhikevich.toml"
#: Prefix of the manifest's ``kind`` of these runs (``izhikevich-types``, ``izhikevich-network``).
KIND_PREFIX = "izhikevich-"


def _parameter_text(section: str, params: dict) -> str:
    lines = [f"# spiking izhikevich {section}: the parameters of this run", f"[{section}]"]
    lines += [f"{k} = {toml_value(v)}" for k, v in params.items()]
    return "\n".join(lines) + "\n"


def _start(output_dir, kind: str, params: dict, engine_info: dict) -> tuple[Path, dict]:
    """A new run folder with its parameter file and a ``running`` manifest."""
    folder = create_run_folder(output_dir, f"{datetime.now():%Y%m%d-%H%M%S}-{KIND_PREFIX}{kind}-{params['engine']}")
    atomic_write_text(folder / PARAMETER_FILE, _parameter_text(kind, params))
    manifest = {
        "run_id": folder.name,
        "kind": f"{KIND_PREFIX}{kind}",
        "status": "running",
        "started": datetime.now().astimezone().isoformat(timespec="seconds"),
        "versions": {
            "spiking": __version__,
            "python": platform.python_version(),
            "numpy": np.__version__,
            engine_info["name"]: engine_info["version"],
        },
        "engine": engine_info,
        "parameters": params,
    }
    write_manifest(folder, manifest)
    return folder, manifest


def _run(folder: Path, manifest: dict, body: Callable[[], dict]) -> dict:
    """Run ``body``, record what it returns as the completed manifest, or the failure."""
    try:
        result = body()
    except KeyboardInterrupt:
        manifest.update(status="interrupted")
        write_manifest(folder, manifest)
        raise
    except BaseException as err:
        manifest.update(status="failed", error=f"{type(err).__name__}: {err}")
        write_manifest(folder, manifest)
        raise
    manifest.update(status="complete", finished=datetime.now().astimezone().isoformat(timespec="seconds"), **result)
    write_manifest(folder, manifest)
    return manifest


def _checks_csv(rows: list[CheckRow]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["class", "a", "b", "c", "d", "check", "measured", "passed"])
    for r in rows:
        a, b, c, d = P.IZHIKEVICH_CLASSES[r.name]
        measured = "; ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in r.measured.items())
        w.writerow([r.name, a, b, c, d, r.check, measured, r.passed])
    return buf.getvalue()


def run_types(
    output_dir="output",
    duration: float = P.TYPES_DURATION,
    current: float = P.TYPES_CURRENT,
    resolution: float = P.TYPES_RESOLUTION,
    engine: str = DEFAULT_ENGINE,
) -> tuple[Path, list[CheckRow]]:
    """The paper's Fig. 2 classes under a step current on an engine, checked by number.

    Writes ``types.png`` (every class's membrane potential), ``checks.csv``
    (class, check, measured values, passed) and ``spikes.h5`` (one population
    of one neuron per class).

    Returns
    -------
    folder : pathlib.Path
    rows : list of CheckRow
        One per class; the manifest's ``passed`` is whether all passed.
    """
    info = get_simulator(engine).info()
    types_protocol(duration=duration, current=current, resolution=resolution)  # bad values fail before the folder
    params = {
        "engine": engine,
        "duration": float(duration),
        "current": float(current),
        "resolution": float(resolution),
        "step_onset": P.TYPES_STEP_ONSET,
        "scheme": "euler",
    }
    folder, manifest = _start(output_dir, "types", params, info)
    rows: list[CheckRow] = []

    def body() -> dict:
        t0 = time.perf_counter()
        traces = simulate_types(duration=duration, current=current, resolution=resolution, engine=engine)
        t_sim = time.perf_counter() - t0
        rows.extend(check_types(traces))
        t0 = time.perf_counter()
        writer = SpikeWriter(folder / "spikes.h5", {name: 1 for name in traces})
        writer.append(
            {
                name: (np.zeros(len(tr.spike_times), dtype=np.int64), np.asarray(tr.spike_times, float))
                for name, tr in traces.items()
            },
            duration,
        )
        writer.close()
        plot_types(traces, folder / "types.png")
        atomic_write_text(folder / "checks.csv", _checks_csv(rows))
        return {
            "checks": [r.as_dict() for r in rows],
            "passed": all(r.passed for r in rows),
            "spikes": {name: {"count": len(tr.spike_times)} for name, tr in traces.items()},
            "timings_s": {"simulate": round(t_sim, 3), "write": round(time.perf_counter() - t0, 3)},
        }

    _run(folder, manifest, body)
    return folder, rows


def run_network(
    output_dir="output",
    duration: float = P.NETWORK_DURATION,
    seed: int = 1,
    threads: int = 1,
    engine: str = DEFAULT_ENGINE,
) -> tuple[Path, NetworkMetrics]:
    """The paper's Fig. 3 network on an engine: 800 excitatory and 200 inhibitory neurons, all to all.

    Writes ``raster.png``, ``population_rate.png``, ``spectrum.png``,
    ``spikes.h5`` (populations ``excitatory`` and ``inhibitory``) and the
    measured rate and spectral peaks in the manifest (``metrics``).

    Returns
    -------
    folder : pathlib.Path
    metrics : NetworkMetrics
        ``metrics.passed`` is the manifest's ``passed``.
    """
    info = get_simulator(engine).info(threads)
    params = {
        "engine": engine,
        "duration": float(duration),
        "seed": int(seed),
        "threads": int(threads),
        "n_exc": P.NETWORK_N_EXC,
        "n_inh": P.NETWORK_N_INH,
        "resolution": P.NETWORK_RESOLUTION,
        "scheme": "paper",
    }
    protocol = draw_network(seed=seed, duration=duration)  # bad values fail before the folder
    folder, manifest = _start(output_dir, "network", params, info)
    out: list[NetworkMetrics] = []

    def body() -> dict:
        t0 = time.perf_counter()
        result = simulate_network(threads=threads, engine=engine, protocol=protocol)
        t_sim = time.perf_counter() - t0
        t0 = time.perf_counter()
        metrics = network_metrics(result)
        out.append(metrics)
        exc = result.spike_is_excitatory
        writer = SpikeWriter(folder / "spikes.h5", {"excitatory": result.n_exc, "inhibitory": result.n_inh})
        writer.append(
            {
                "excitatory": (result.senders[exc], result.times[exc]),
                "inhibitory": (result.senders[~exc] - result.n_exc, result.times[~exc]),
            },
            duration,
        )
        writer.close()
        plot_network(result, metrics, folder)
        return {
            "metrics": metrics.summary(),
            "passed": bool(metrics.passed),
            "spikes": {"excitatory": {"count": int(exc.sum())}, "inhibitory": {"count": int((~exc).sum())}},
            "timings_s": {"simulate": round(t_sim, 3), "write": round(time.perf_counter() - t0, 3)},
        }

    _run(folder, manifest, body)
    return folder, out[0]
