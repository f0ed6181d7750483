"""Where the digit learner's time goes: Brian2's time per code object, and what lies outside the simulation.

Usage (from the repository root, after `make install`)::

    .venv/bin/python benchmarks/learn_digits_profile.py --neurons 100 --batches 20

Learns ``batches`` x 50 presentations of the 5,000 digits' training order
with STDP on, from the untrained network, twice: with the network as built
(its time per presentation, and how much of it is the compiled program's),
then compiled with Brian2's profiling on (a separate program), which times
every code object. Timing costs about as much per call as the cheapest object
takes, so that floor is taken off each; the table gives each object's work
per time step and its share of the unprofiled program's time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from learn_digits import machine  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--neurons", type=int, default=100)
    ap.add_argument("--batches", type=int, default=20)
    ap.add_argument("--cache-dir", help="compiled networks (default: a temporary folder, so it compiles)")
    args = ap.parse_args()

    from spiking.engines.brian2.digits import Brian2DigitsEngine
    from spiking.learn.data import load_digits, split_digits
    from spiking.learn.model import DigitsModel, batch_seed, initial_state

    model = DigitsModel()
    digits = load_digits()
    order = split_digits(digits.labels).train
    rates = digits.pixels[order].astype(float) / model.input_divisor

    def learn(engine):
        state, done, shown = initial_state(model, args.neurons, 1), 0, 0
        t0 = time.perf_counter()
        for b in range(args.batches):
            result = engine.run_batch(rates[done : done + engine.batch], state, True, batch_seed(1, 0, b))
            state, done, shown = result.network, done + result.accepted, shown + result.presentations
        return done, shown, time.perf_counter() - t0

    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        cache = args.cache_dir or tmp
        with Brian2DigitsEngine(model, args.neurons, cache_dir=cache) as engine:
            done, shown, plain = learn(engine)
            program = engine.batch_wall_s
        print(
            f"as built: {done} digits, {shown} presentations in {plain:.2f} s ({done / plain:.1f} digits/s), "
            f"{program:.2f} s of it in the program, {program / shown * 1e3:.1f} ms per presentation"
        )
        with Brian2DigitsEngine(model, args.neurons, cache_dir=cache, profile=True) as engine:
            done, shown, total = learn(engine)
    # timing a code object costs about as much as the cheapest one takes: that floor is taken off each,
    # leaving the work each does, shown against the unprofiled program's time
    per_presentation = ("xe_norm", "exc_norm", "inp_rate")  # run once per presentation: not a per-step floor
    floor = min(s for name, s in engine.profiling.items() if not name.startswith(per_presentation))
    steps = shown * model.presentation_steps
    work = {
        name: max(s - (0 if name.startswith(per_presentation) else floor), 0.0) for name, s in engine.profiling.items()
    }
    print(f"profiled: the same in {total:.2f} s; timing costs about {floor / steps * 1e9:.0f} ns per object and step")
    print()
    print(f"| code object | work, ns per step | share of the unprofiled {program / steps * 1e9:.0f} ns per step |")
    print("|---|---|---|")
    for name, s in sorted(work.items(), key=lambda kv: -kv[1]):
        if s / program >= 0.005:
            print(f"| `{name.removesuffix('_1')}` | {s / steps * 1e9:.0f} | {s / program:.1%} |")
    rest = program - sum(work.values())
    what = "everything else (the step loop, each object's call, start, arguments, results)"
    print(f"| {what} | {rest / steps * 1e9:.0f} | {rest / program:.1%} |")


if __name__ == "__main__":
    main()
