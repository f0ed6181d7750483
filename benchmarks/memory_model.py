"""Fit the pre-flight memory model of each engine on measured runs, and check it on a size it was not fitted on.

Usage (from the repository root, after `make install`)::

    .venv/bin/python benchmarks/memory_model.py                  # both engines
    .venv/bin/python benchmarks/memory_model.py --engine brian2  # one engine
    .venv/bin/python benchmarks/memory_model.py --json fits.json # also keep the measurements

Every point is a real `spiking run --no-render` in a subprocess (1000 ms of model time, two
threads, pre-drawn retina trains, the default config otherwise) at one network size. The peak
memory is the manifest's ``memory_mb.peak_rss``: the Python process's peak resident memory, plus,
on Brian2, the peak of its compiled program (``memory_mb.program_peak_rss``), which runs as a
process of its own. The model is

    peak = base + per_node * nodes + per_synapse * synapses

fitted by least squares on the ``FIT`` sizes (nodes and synapses grow differently with the number
of hypercolumns and with the neurons per minicolumn, so both slopes are determined), and checked
on ``HELD_OUT``, the default model, which is larger than every fitted size. The printed constants
go into ``spiking.model.estimate.MEMORY_MODELS``; the table into ``docs/benchmarks.md``.
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

#: (hypercolumns, neurons per minicolumn) of the fitted sizes.
FIT = [(1, 30), (4, 12), (4, 20), (1, 60)]
#: The size the fit is checked on: the default model (not fitted on).
HELD_OUT = (9, 30)
#: Largest relative error allowed on the held-out size.
TOLERANCE = 0.15


def measure(engine: str, hc: int, npm: int, tmp: Path) -> dict:
    """One run of the given size; its nodes, synapses and peak memory (MB)."""
    sets = [
        f"run.engine='{engine}'",
        f"network.hypercolumns={hc}",
        f"network.neurons_per_minicolumn={npm}",
        "run.simulation_time=1000.0",
        "run.threads=2",
    ]
    args = [x for s in sets for x in ("--set", s)] + ["--no-render"]
    m, wall, _ = spiking_run(args, tmp)
    mem = m["memory_mb"]
    return {
        "engine": engine,
        "hypercolumns": hc,
        "neurons_per_minicolumn": npm,
        "nodes": m["neurons_total"],
        "synapses": m["synapses_total"],
        "peak_mb": mem["peak_rss"],
        "program_peak_mb": mem.get("program_peak_rss", 0.0),
        "wall_s": round(wall, 1),
    }


def fit(points: list[dict]) -> tuple[float, float, float]:
    """Least-squares ``(base_mb, bytes_per_node, bytes_per_synapse)`` of the points."""
    a = np.array([[1.0, p["nodes"], p["synapses"]] for p in points])
    y = np.array([p["peak_mb"] for p in points]) * 1e6
    (base, per_node, per_syn), *_ = np.linalg.lstsq(a, y, rcond=None)
    return base / 1e6, per_node, per_syn


def predict(model: tuple[float, float, float], p: dict) -> float:
    base, per_node, per_syn = model
    return base + (per_node * p["nodes"] + per_syn * p["synapses"]) / 1e6


def report(engine: str, points: list[dict], held: dict) -> dict:
    model = fit(points)
    print(f"\n### {engine}\n")
    print("| size | nodes | synapses | measured peak (MB) | fitted model (MB) | error | role |")
    print("|---|---|---|---|---|---|---|")
    for p, role in [(q, "fit") for q in points] + [(held, "held out")]:
        pred = predict(model, p)
        err = (pred - p["peak_mb"]) / p["peak_mb"]
        size = f"{p['hypercolumns']} hc x {p['neurons_per_minicolumn']} per minicolumn"
        print(
            f"| {size} | {p['nodes']:,} | {p['synapses']:,} | {p['peak_mb']:,.0f} | {pred:,.0f} | {100 * err:+.1f}% | {role} |"
        )
    err = (predict(model, held) - held["peak_mb"]) / held["peak_mb"]
    print(
        f"\n{engine}: base {model[0]:.0f} MB, {model[1]:.0f} bytes per node, {model[2]:.1f} bytes per synapse; "
        f"held-out error {100 * err:+.1f}% ({'within' if abs(err) <= TOLERANCE else 'OUTSIDE'} {TOLERANCE:.0%})"
    )
    return {"base_mb": model[0], "bytes_per_node": model[1], "bytes_per_synapse": model[2], "held_out_error": err}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engine", choices=["nest", "brian2", "both"], default="both")
    ap.add_argument("--json", metavar="FILE", help="write the measurements and fits here")
    args = ap.parse_args()
    engines = ["nest", "brian2"] if args.engine == "both" else [args.engine]
    print(f"Machine: {machine()}")
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for engine in engines:
            points = [measure(engine, hc, npm, Path(tmp)) for hc, npm in FIT]
            held = measure(engine, *HELD_OUT, Path(tmp))
            out[engine] = {"points": points, "held_out": held, "fit": report(engine, points, held)}
            if args.json:
                Path(args.json).write_text(json.dumps(out, indent=2))
    bad = [e for e, r in out.items() if abs(r["fit"]["held_out_error"]) > TOLERANCE]
    if bad:
        raise SystemExit(f"held-out error above {TOLERANCE:.0%} for {', '.join(bad)}")


if __name__ == "__main__":
    main()
