"""Run folders for the Izhikevich (2003) reproductions: ``spiking izhikevich types`` and ``network``.

Each leaves a folder like any other run: ``config.toml`` (the parameters),
``manifest.json`` (versions, timings, the checks and whether they passed),
``spikes.h5`` (SONATA layout) and the figures.
"""

from __future__ import annotations

import csv
import io
import platform
import time
from datetime import datetime
from pathlib import Path

import numpy as np

from .. import __version__
from ..config import toml_value
from ..io.atomic import atomic_write_text
from ..io.runfolder import create_run_folder, write_manifest
from ..io.spikefile import SpikeWriter
from . import core as izh

__all__ = ["run_types", "run_network"]


def _folder(output_dir, kind: str) -> Path:
    return create_run_folder(output_dir, f"{datetime.now():%Y%m%d-%H%M%S}-izhikevich-{kind}")


def _config_text(section: str, params: dict) -> str:
    lines = [f"# spiking izhikevich {section}: the parameters of this run", f"[{section}]"]
    lines += [f"{k} = {toml_value(v)}" for k, v in params.items()]
    return "\n".join(lines) + "\n"


def _start(output_dir, kind: str, params: dict) -> tuple[Path, dict]:
    """A new run folder with its ``config.toml`` and a ``running`` manifest."""
    folder = _folder(output_dir, kind)
    atomic_write_text(folder / "config.toml", _config_text(kind, params))
    manifest = _manifest(folder, kind, params)
    write_manifest(folder, manifest)
    return folder, manifest


def _manifest(folder: Path, kind: str, params: dict) -> dict:
    import nest

    return {
        "run_id": folder.name,
        "kind": f"izhikevich-{kind}",
        "status": "running",
        "started": datetime.now().astimezone().isoformat(timespec="seconds"),
        "versions": {
            "spiking": __version__,
            "python": platform.python_version(),
            "numpy": np.__version__,
            "nest": nest.build_info.get("version", ""),
        },
        "parameters": params,
    }


def run_types(
    output_dir="output", duration: float = 500.0, current: float = 10.0, resolution: float = 0.1
) -> tuple[Path, bool]:
    """The paper's Fig. 2 classes under a step current, checked by number.

    Writes ``types.png`` (every class's membrane potential), ``checks.csv``
    (class, check, measured values, passed) and ``spikes.h5`` (one population
    of one neuron per class).

    Returns
    -------
    folder : Path
    passed : bool
        Whether every class passed its check.
    """
    params = {"duration": float(duration), "current": float(current), "resolution": float(resolution)}
    folder, manifest = _start(output_dir, "types", params)
    t0 = time.perf_counter()
    traces = izh.simulate_types(duration=duration, current=current, resolution=resolution)
    rows = izh.check_types(traces)
    t_sim = time.perf_counter() - t0
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
    izh.plot_types(traces, folder / "types.png")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["class", "a", "b", "c", "d", "check", "measured", "passed"])
    for r in rows:
        a, b, c, d = izh.NEURON_TYPES[r.name]
        measured = "; ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in r.measured.items())
        w.writerow([r.name, a, b, c, d, r.check, measured, r.passed])
    atomic_write_text(folder / "checks.csv", buf.getvalue())
    passed = all(r.passed for r in rows)
    manifest.update(
        status="complete",
        checks=[r.as_dict() for r in rows],
        passed=passed,
        spikes={name: {"count": len(tr.spike_times)} for name, tr in traces.items()},
        timings_s={"simulate": round(t_sim, 3), "write": round(time.perf_counter() - t0, 3)},
    )
    write_manifest(folder, manifest)
    return folder, passed


def run_network(
    output_dir="output", duration: float = 10000.0, seed: int = 1, threads: int = 1
) -> tuple[Path, izh.NetworkMetrics]:
    """The paper's Fig. 3 network: 800 excitatory and 200 inhibitory neurons, all to all.

    Writes ``raster.png``, ``population_rate.png``, ``spectrum.png``,
    ``spikes.h5`` (populations ``excitatory`` and ``inhibitory``) and the
    measured rate and spectral peaks in the manifest (``metrics``).
    """
    params = {"duration": float(duration), "seed": int(seed), "threads": int(threads), "n_exc": 800, "n_inh": 200}
    folder, manifest = _start(output_dir, "network", params)
    t0 = time.perf_counter()
    result = izh.simulate_network(duration=duration, seed=seed, threads=threads)
    t_sim = time.perf_counter() - t0
    t0 = time.perf_counter()
    metrics = izh.network_metrics(result)
    exc = result.is_excitatory[result.senders]
    writer = SpikeWriter(folder / "spikes.h5", {"excitatory": result.n_exc, "inhibitory": result.n_inh})
    writer.append(
        {
            "excitatory": (result.senders[exc], result.times[exc]),
            "inhibitory": (result.senders[~exc] - result.n_exc, result.times[~exc]),
        },
        duration,
    )
    writer.close()
    izh.plot_network(result, metrics, folder)
    manifest.update(
        status="complete",
        metrics=metrics.summary(),
        passed=bool(metrics.passed),
        nest_seed=int(result.nest_seed),
        spikes={"excitatory": {"count": int(exc.sum())}, "inhibitory": {"count": int((~exc).sum())}},
        timings_s={"simulate": round(t_sim, 3), "write": round(time.perf_counter() - t0, 3)},
    )
    write_manifest(folder, manifest)
    return folder, metrics
