"""Fit the pre-flight memory model of each engine on measured runs, and check it on a size it was not fitted on.

Usage (from the repository root, after `make install`)::

    .venv/bin/python benchmarks/memory_model.py                      # both engines
    .venv/bin/python benchmarks/memory_model.py --engine brian2      # one engine
    .venv/bin/python benchmarks/memory_model.py --json fits.json     # keep the measurements (and reuse them)

Every point is a real `spiking run --no-render` in a subprocess (two threads, pre-drawn retina
trains, the default config otherwise) at one network size and model time. The peak memory is
the manifest's ``memory_mb.peak_rss``: the Python process's peak resident memory, plus, on
Brian2, the peak of its compiled program (``memory_mb.program_peak_rss``), a process of its own.
The model, the same for every engine, uses only what the config says:

    peak = base + per_node * nodes + per_synapse * synapses + per_node_second * nodes * seconds

(``seconds``: model time). The last term is what grows with the run: Brian2 hands its program
the whole run's retina trains and keeps every recorded spike until the run ends; NEST gets the
trains a second at a time and hands its spikes over every chunk. The coefficients are fitted by
non-negative least squares (no memory cost is negative; on Brian2's points a free fit trades a
negative cost per node against the cost per node-second, which the points at 1000 ms cannot tell
apart) on the ``FIT`` points, and checked on ``HELD_OUT``, the default model, larger than every
fitted size; the constants go into ``spiking.model.estimate.MEMORY_MODELS``, the tables into
``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_benchmarks import machine, spiking_run  # noqa: E402

#: (hypercolumns, neurons per minicolumn, model time in ms) of the fitted points.
FIT = [(1, 30, 1000.0), (4, 12, 1000.0), (4, 20, 1000.0), (4, 30, 1000.0), (1, 30, 4000.0)]
#: The point the fit is checked on: the default model (not fitted on).
HELD_OUT = (9, 30, 1000.0)
#: Largest relative error allowed on the held-out point.
TOLERANCE = 0.15


def _sets(engine: str, hc: int, npm: int, ms: float) -> list[str]:
    return [
        f"run.engine='{engine}'",
        f"network.hypercolumns={hc}",
        f"network.neurons_per_minicolumn={npm}",
        f"run.simulation_time={ms}",
        "run.threads=2",
    ]


def measure(engine: str, hc: int, npm: int, ms: float, tmp: Path) -> dict:
    """One run of the given size; its nodes, synapses, recorded spikes and peak memory (MB)."""
    args = [x for s in _sets(engine, hc, npm, ms) for x in ("--set", s)] + ["--no-render"]
    m, wall, _ = spiking_run(args, tmp)
    mem = m["memory_mb"]
    return {
        "engine": engine,
        "hypercolumns": hc,
        "neurons_per_minicolumn": npm,
        "ms": ms,
        "nodes": m["neurons_total"],
        "synapses": m["synapses_total"],
        "spikes": sum(v["count"] for v in m["spikes"].values()),
        "peak_mb": mem["peak_rss"],
        "program_peak_mb": mem.get("program_peak_rss", 0.0),
        "wall_s": round(wall, 1),
    }


def _terms(p: dict) -> list[float]:
    """The model's terms of a point: 1, nodes, synapses, node-seconds."""
    return [1.0, p["nodes"], p["synapses"], p["nodes"] * p["ms"] / 1000.0]


def fit(points: list[dict]) -> tuple[float, float, float, float]:
    """Non-negative least squares ``(base_mb, bytes_per_node, bytes_per_synapse, bytes_per_node_second)``."""
    from scipy.optimize import nnls

    a = np.array([_terms(p) for p in points])
    y = np.array([p["peak_mb"] for p in points]) * 1e6
    scale = a.max(axis=0)  # columns of similar size for the solver
    coef, _ = nnls(a / scale, y)
    base, per_node, per_syn, per_node_s = coef / scale
    return base / 1e6, per_node, per_syn, per_node_s


def predict(model, p: dict) -> float:
    """MB the model gives for a point."""
    base, *per = model
    return base + float(np.dot(per, _terms(p)[1:])) / 1e6


def preflight_prediction(engine: str, model, p: dict) -> float:
    """MB the pre-flight estimate gives with these constants, from the config alone (expected synapses)."""
    from spiking.config import load_config
    from spiking.model.estimate import estimate

    cfg, _ = load_config(overrides=_sets(engine, p["hypercolumns"], p["neurons_per_minicolumn"], p["ms"]))
    est = estimate(cfg)
    return predict(model, {**p, "nodes": est.neurons_total, "synapses": est.synapses_total})


def report(engine: str, points: list[dict], held: dict) -> dict:
    model = fit(points)
    print(f"\n### {engine}\n")
    print("| size | model time | nodes | synapses | measured peak (MB) | model (MB) | error | role |")
    print("|---|---|---|---|---|---|---|---|")
    for p, role in [(q, "fit") for q in points] + [(held, "held out")]:
        pred = predict(model, p)
        err = (pred - p["peak_mb"]) / p["peak_mb"]
        size = f"{p['hypercolumns']} hc x {p['neurons_per_minicolumn']}"
        print(
            f"| {size} | {p['ms']:g} ms | {p['nodes']:,} | {p['synapses']:,} | {p['peak_mb']:,.0f} | {pred:,.0f} | "
            f"{100 * err:+.1f}% | {role} |"
        )
    err = (predict(model, held) - held["peak_mb"]) / held["peak_mb"]
    pre = preflight_prediction(engine, model, held)
    pre_err = (pre - held["peak_mb"]) / held["peak_mb"]
    print(
        f"\n{engine}: base {model[0]:.0f} MB, {model[1]:.0f} bytes per node, {model[2]:.1f} bytes per synapse, "
        f"{model[3]:.0f} bytes per node-second; held-out error {100 * err:+.1f}% "
        f"({'within' if abs(err) <= TOLERANCE else 'OUTSIDE'} {TOLERANCE:.0%}); the pre-flight estimate from the "
        f"config alone (expected synapses): {pre:,.0f} MB ({100 * pre_err:+.1f}%)"
    )
    return {
        "base_mb": model[0],
        "bytes_per_node": model[1],
        "bytes_per_synapse": model[2],
        "bytes_per_node_second": model[3],
        "held_out_error": err,
        "preflight_error": pre_err,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engine", choices=["nest", "brian2", "both"], default="both")
    ap.add_argument(
        "--json", metavar="FILE", help="write the measurements and fits here; points already in it are reused"
    )
    args = ap.parse_args()
    engines = ["nest", "brian2"] if args.engine == "both" else [args.engine]
    print(f"Machine: {machine()}")
    cache = Path(args.json) if args.json else None
    measured = json.loads(cache.read_text()).get("measured", []) if cache and cache.exists() else []
    out = {"measured": measured}

    def point(engine, hc, npm, ms, tmp):
        for p in measured:
            if (p["engine"], p["hypercolumns"], p["neurons_per_minicolumn"], p.get("ms", 1000.0)) == (
                engine,
                hc,
                npm,
                ms,
            ):
                return p
        p = measure(engine, hc, npm, ms, tmp)
        measured.append(p)
        if cache:
            cache.write_text(json.dumps(out, indent=2))
        return p

    with tempfile.TemporaryDirectory() as tmp:
        for engine in engines:
            points = [point(engine, *size, Path(tmp)) for size in FIT]
            held = point(engine, *HELD_OUT, Path(tmp))
            out[engine] = report(engine, points, held)
            if cache:
                cache.write_text(json.dumps(out, indent=2))
    bad = [e for e in engines if max(abs(out[e]["held_out_error"]), abs(out[e]["preflight_error"])) > TOLERANCE]
    if bad:
        raise SystemExit(f"held-out error above {TOLERANCE:.0%} for {', '.join(bad)}")


if __name__ == "__main__":
    main()
