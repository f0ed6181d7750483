"""The pathway example's selectivity over seeds: each later window's mean index against the first window.

Usage (from the repository root, after `make install`)::

    .venv/bin/python benchmarks/learn_patterns.py                       # examples/learn-patterns.toml, seeds 1-3
    .venv/bin/python benchmarks/learn_patterns.py --seeds 2 --set projections.lgn_on_to_ex_on.stdp.a_plus=0.0075

Each seed is a real `spiking run CONFIG --no-render --set run.seed=S [--set ...]`
in a subprocess (the first one compiles the network when it is new). From
each run's `spikes.h5`, with `spiking.analysis.selectivity`: the mean
selectivity index of `ex_on` and `ex_off` in each later window of
`--window` ms against the first window, over the neurons with at least 10
spikes in both, as the report computes it for the last window. Prints a
Markdown table for docs/plasticity.md. Runs go to a temporary folder unless
--output-dir is given.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from spiking import open_run  # noqa: E402
from spiking.analysis.selectivity import SelectivityChange, Windows, pattern_counts  # noqa: E402

LAYERS = ("ex_on", "ex_off")


def course(folder: Path, window: float) -> dict[str, list[SelectivityChange]]:
    """Per layer, the change from the first window to each later one."""
    run = open_run(folder)
    epochs = run.epochs()
    t_end = max(e.stop for e in epochs)
    out: dict[str, list[SelectivityChange]] = {}
    for layer in LAYERS:
        s = run.spikes[layer]
        changes = []
        k = 1
        while (k + 1) * window <= t_end * (1 + 1e-12):
            win = Windows(before=(0.0, window), after=(k * window, (k + 1) * window))
            counts, time_ms = pattern_counts([(s.node_ids, s.times)], s.n_nodes, epochs, run.patterns, win)
            changes.append(SelectivityChange.from_counts(counts, time_ms))
            k += 1
        out[layer] = changes
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", nargs="?", default=str(ROOT / "examples" / "learn-patterns.toml"))
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--window", type=float, default=5000.0, help="ms per window (default 5000)")
    ap.add_argument("--set", action="append", default=[], help="passed on to spiking run")
    ap.add_argument("--output-dir", default=None)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = Path(args.output_dir or tmp)
        rows = []
        for seed in args.seeds:
            cmd = [sys.executable, "-m", "spiking", "run", args.config, "--quiet", "--no-render"]
            cmd += ["--set", f"run.seed={seed}", "--set", f'run.output_dir="{out_dir}"']
            for item in args.set:
                cmd += ["--set", item]
            t0 = time.perf_counter()
            done = subprocess.run(cmd, capture_output=True, text=True)
            seconds = time.perf_counter() - t0
            if done.returncode != 0:
                print(done.stderr, file=sys.stderr)
                return done.returncode
            folder = Path(done.stdout.strip().splitlines()[-1])
            for layer, changes in course(folder, args.window).items():
                rows.append((seed, layer, changes, seconds))
        w = args.window / 1000
        n = max(len(c) for _, _, c, _ in rows)
        head = [f"{(k + 1) * w:g}-{(k + 2) * w:g} s" for k in range(n)]
        print(f"config {args.config}, window {w:g} s, extra settings: {' '.join(args.set) or 'none'}\n")
        print(
            "| seed | layer | mean index, first window | "
            + " | ".join(head)
            + " | last: neurons, Wilcoxon p | run (s) |"
        )
        print("|---" * (n + 5) + "|")
        for seed, layer, changes, seconds in rows:
            last = changes[-1]
            cells = [f"x{c.ratio:.2f}" for c in changes]
            print(
                f"| {seed} | `{layer}` | {changes[0].mean_before:.3f} | "
                + " | ".join(cells)
                + f" | {last.n}, {last.p_value:.2g} | {seconds:.0f} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
