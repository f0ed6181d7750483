"""The default model as a plain Brian2 C++ standalone script, to compare `spiking run --engine brian2` with.

The same network written directly with Brian2: Izhikevich groups, the relay
layers as ``SpikeGeneratorGroup`` replaying the same pre-drawn trains, the
sixteen projections with masks and kernels through Brian2's generator syntax
over a window around each source, spike monitors on the four V1 layers, one
``run``; compiled into its own folder once (``--build``) and then run again
(warm), with the seed as a run argument. No config, no run folder, no files
but Brian2's own. The model's sizes, rates and trains come from
``spiking.model`` (pure numpy), so both simulate the same thing.

    .venv/bin/python benchmarks/plain_brian2.py [--threads 2] [--time 1000] [--dir /tmp/plain-brian2] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import time


def _window(p, src, tgt) -> str:
    st, e = tgt.side, tgt.extent
    step = e / st
    ss, es = src.side, src.extent
    sstep = es / ss
    xs = f"(-{es / 2} + (i // {ss} + 0.5) * {sstep})"
    ys = f"({es / 2} - (i % {ss} + 0.5) * {sstep})"
    w = math.ceil(p.radius / step) + 1
    width = 2 * w + 1
    col = f"(int(({xs} + {e / 2}) / {step}) + k // {width} - {w})"
    row = f"(int(({e / 2} - {ys}) / {step}) + k % {width} - {w})"
    d2 = f"((-{e / 2} + ({col} + 0.5) * {step} - {xs})**2 + ({e / 2} - ({row} + 0.5) * {step} - {ys})**2)"
    cond = f"{col} >= 0 and {col} < {st} and {row} >= 0 and {row} < {st} and {d2} <= {p.radius**2 * (1 + 1e-9)}"
    if p.kernel == "gaussian":
        cond += f" and rand() < {p.p_center} * exp(-{d2} / {2 * p.sigma**2})"
    return f"({col} * {st} + {row}) for k in range({width * width}) if {cond}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--time", type=float, default=1000.0)
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--dir", default="/tmp/plain-brian2")
    ap.add_argument("--build", action="store_true", help="compile afresh (delete the folder first)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    t_start = time.perf_counter()

    import numpy as np

    from spiking.config import load_config
    from spiking.model.network import build_model

    cfg, _ = load_config(overrides=[f"run.simulation_time={args.time}", f"run.seed={args.seed}"])
    model = build_model(cfg)
    trains = model.trains()

    import brian2 as b2

    if args.build:
        shutil.rmtree(args.dir, ignore_errors=True)
    b2.prefs.devices.cpp_standalone.extra_make_args_unix = [f"-j{os.cpu_count()}"]  # not a compiler per file at once
    b2.set_device("cpp_standalone", build_on_run=False)
    b2.prefs.devices.cpp_standalone.openmp_threads = args.threads
    b2.defaultclock.dt = 0.1 * b2.ms
    ctl = b2.NeuronGroup(1, "seed_value : integer (constant)", name="ctl")
    b2.get_device().apply_run_args()
    seed = b2.get_device().get_array_name(ctl.variables["seed_value"])
    b2.get_device().insert_code(
        "main",
        f"for (int _k = 0; _k < {args.threads}; _k++) brian::_random_generators[_k].seed(brian::{seed}[0] + _k);",
    )
    groups = {}
    for name, layer in model.layers.items():
        if layer.kind == "trains":
            ids, t = trains.window(name, 0.0, model.simulation_time)
            # Brian2 refuses two spikes of a node in one step: a plain script keeps one of them
            keep = np.ones(ids.size, bool)
            keep[1:] = (ids[1:] != ids[:-1]) | (t[1:] != t[:-1])
            ids, t = ids[keep], t[keep]
            groups[name] = b2.SpikeGeneratorGroup(layer.size, ids, (t - 0.1) * b2.ms, name=name, sorted=True)
        else:
            c = layer.cell
            groups[name] = b2.NeuronGroup(
                layer.size,
                f"dv/dt = (0.04*v**2 + 5*v + 140 - u) / ms : 1\ndu/dt = ({c.a} * ({c.b} * v - u)) / ms : 1",
                threshold="v >= 30",
                reset=f"v = {c.c}; u += {c.d}",
                method="euler",
                name=name,
            )
            groups[name].v, groups[name].u = c.v_init, c.u_init
    objects = [ctl, *groups.values()]
    for p in model.projections:
        s = b2.Synapses(
            groups[p.source], groups[p.target], on_pre=f"v_post += {p.weight}", delay=(p.delay - 0.1) * b2.ms
        )
        s.connect(j=_window(p, model.layers[p.source], model.layers[p.target]), skip_if_invalid=True)
        s.pre.when = "before_thresholds"
        objects.append(s)
    monitors = {n: b2.SpikeMonitor(groups[n]) for n in ("ex_on", "ex_off", "in_on", "in_off")}
    net = b2.Network(*objects, *monitors.values())
    net.run(model.simulation_time * b2.ms)
    compiled = os.path.exists(os.path.join(args.dir, "main"))
    t0 = time.perf_counter()
    b2.get_device().build(directory=args.dir, compile=True, run=False, with_output=False)
    t_compile = time.perf_counter() - t0
    t0 = time.perf_counter()
    b2.get_device().run(run_args={ctl.seed_value: args.seed}, with_output=False)
    t_run = time.perf_counter() - t0
    counts = {n: int(m.num_spikes) for n, m in monitors.items()}
    rates = {n: counts[n] / model.layers[n].size / (args.time / 1000) for n in counts}
    out = {
        "compile": t_compile,
        "recompiled": not compiled,
        "run": t_run,
        "total": time.perf_counter() - t_start,
        "program_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rates": rates,
        "synapses": int(sum(np.asarray(len(o)) for o in objects if isinstance(o, b2.Synapses))),
    }
    print(json.dumps(out) if args.json else out)


if __name__ == "__main__":
    main()
