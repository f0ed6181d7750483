"""The first-spike commands, end to end: time, peak memory and the figures of each run, one after another.

Usage (from the repository root, after `make install`)::

    .venv/bin/python benchmarks/first_spike.py --data FOLDER

``FOLDER`` holds ``orl_faces/``, ``spikenet_40faces/`` and ``caltech_face_motorbike/``
(``docs/first-spike.md``, Data). Runs `spiking learn faces`, `spiking learn categories` on the
Caltech sample and on the digits, and the first-spike tests, each in a subprocess; prints a
Markdown table for docs/first-spike.md (Timings) with each run's results.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_benchmarks import machine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


def timed(cmd: list[str]) -> tuple[float, float, str]:
    """Run a command; (wall seconds, its peak resident memory in MB, its standard output)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([str(c) for c in cmd], stdout=out, stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        out.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            raise SystemExit(f"failed: {' '.join(map(str, cmd))}\n{err.read().decode(errors='replace')}")
        return wall, usage.ru_maxrss / 1024, out.read().decode()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--data", required=True, help="a folder with orl_faces/, spikenet_40faces/, caltech_face_motorbike/"
    )
    args = ap.parse_args()
    data = Path(args.data)
    print(f"Machine: {machine()}\n")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        runs = {
            "spiking learn faces": ["learn", "faces", "--data", data],
            "spiking learn categories --dataset caltech": [
                *("learn", "categories", "--dataset", "caltech", "--data"),
                data / "caltech_face_motorbike",
            ],
            "spiking learn categories --dataset digits": ["learn", "categories", "--dataset", "digits"],
        }
        for label, argv in runs.items():
            wall, peak, out = timed([PY, "-m", "spiking", *argv, "--output-dir", tmp, "-q"])
            folder = Path(out.strip().splitlines()[-1])
            results = json.loads((folder / "manifest.json").read_text())["results"]
            shown = ", ".join(f"{k} {v}" for k, v in results.items())
            rows.append(f"| `{label}` | {wall:.0f} s | {peak / 1024:.2f} GB | {shown} |")
        wall, peak, out = timed([PY, "-m", "pytest", "tests/test_first_spike.py", "-q", "-p", "no:cacheprovider"])
        rows.append(
            f"| `tests/test_first_spike.py` | {wall:.0f} s | {peak / 1024:.2f} GB | {out.strip().splitlines()[-1]} |"
        )
    print("| run | time | peak memory | results |\n|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
