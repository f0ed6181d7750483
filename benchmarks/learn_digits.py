"""Benchmark of `spiking learn digits`: accuracy, time and memory of the full-size runs.

Usage (from the repository root, after `make install`)::

    .venv/bin/python benchmarks/learn_digits.py                      # 100 and 400 neurons, seed 1, default passes
    .venv/bin/python benchmarks/learn_digits.py --neurons 100 --seeds 1 2 3
    .venv/bin/python benchmarks/learn_digits.py --neurons 100 --epochs 1 3 6 10 15 --validation

Each run is a real `spiking learn digits --neurons N --seed S --epochs E` in
a subprocess (the training digits E times, labelling on the same digits, then
the test), after a warm-up that compiles the network for N, so the timings
are those of a cached network. By default the network learns all 4,000
training digits and is tested on the 1,000 held-out ones; with
``--validation`` it learns the first 3,000 and is tested on the other 1,000
training digits, so that settings are chosen without the held-out digits.
Prints a Markdown table for docs/learning.md: accuracy (Diehl & Cook's
read-out, then proportion-weighted), logistic regression
on the same pixels and split, the time of one pass and of all the learning,
digits per second, the whole run, and peak memory (Python, and the biggest
compiled-network process). Runs go to a temporary folder unless --output-dir
is given.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PY = sys.executable


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def warm_up(neurons: int) -> float:
    """Compile (or find) the network for ``neurons``; returns seconds."""
    code = (
        "from spiking.engines.brian2.digits import Brian2DigitsEngine\n"
        "from spiking.learn.model import DigitsModel\n"
        f"with Brian2DigitsEngine(DigitsModel(), {neurons}) as e: print(e.build_s, e.compiled)"
    )
    t0 = time.perf_counter()
    subprocess.run([PY, "-c", code], check=True, capture_output=True, text=True)
    return time.perf_counter() - t0


def learn(neurons: int, seed: int, epochs: int | None, out: Path, extra: list[str]) -> tuple[dict, float]:
    """One `spiking learn digits` run; returns (manifest, wall seconds)."""
    cmd = [PY, "-m", "spiking", "learn", "digits", "--neurons", str(neurons), "--seed", str(seed)]
    cmd += ["--epochs", str(epochs)] if epochs else []
    cmd += ["--output-dir", str(out), "-q", *extra]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    folder = Path(proc.stdout.strip().splitlines()[-1])
    return json.loads((folder / "manifest.json").read_text()), wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--neurons", type=int, nargs="+", default=[100, 400])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1])
    ap.add_argument("--epochs", type=int, nargs="+", default=[None], help="passes (default: the command's)")
    ap.add_argument(
        "--validation", action="store_true", help="learn 3,000 training digits, test on the other 1,000 of them"
    )
    ap.add_argument("--output-dir", type=Path)
    ap.add_argument("extra", nargs="*", help="more options for spiking learn digits, after --")
    args = ap.parse_args()
    out = args.output_dir or Path(tempfile.mkdtemp(prefix="learn-digits-"))
    print(f"Machine: {machine()}\n")
    extra = [*args.extra, *(["--train", "3000", "--validation"] if args.validation else [])]
    tested = "validation (1,000 training digits)" if args.validation else "held-out (1,000)"
    print(
        f"| neurons | seed | passes | {tested} | proportion-weighted | logistic regression | one pass | learning | "
        "digits/s (learn, label, test) | whole run | peak memory (Python / network) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for n in args.neurons:
        compile_s = warm_up(n)
        print(f"<!-- warm-up for {n} neurons: {compile_s:.0f} s -->", flush=True)
        for epochs in args.epochs:
            for seed in args.seeds:
                m, wall = learn(n, seed, epochs, out, extra)
                r, sp = m["results"], m["speed"]
                rates = ", ".join(f"{sp[p]['digits_per_s']:.0f}" for p in ("train", "label", "test") if p in sp)
                passes = m["options"]["epochs"]
                mem = m["peak_rss_mb"]
                print(
                    f"| {n} | {seed} | {passes} | {r['accuracy']:.1%} | {r['accuracy_proportion_weighted']:.1%} "
                    f"| {r['logistic_regression_accuracy']:.1%} "
                    f"| {sp['train']['seconds'] / passes / 60:.1f} min | {sp['train']['seconds'] / 60:.1f} min "
                    f"| {rates} | {wall / 60:.1f} min | {mem['python']:.0f} MB / {mem['network']:.0f} MB |",
                    flush=True,
                )
    print(
        f"\nrun folders in {out}; peak memory of this script's children: {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MB"
    )


if __name__ == "__main__":
    main()
