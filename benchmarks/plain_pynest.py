"""The default model in the original formulation as a plain PyNEST script, to compare `spiking run` with.

Builds the same eight layers and eighteen projections with direct NEST calls
(Poisson generators relayed by parrot neurons, NEST grid layers), records the
four V1 layers in memory, and simulates the schedule with one
``nest.Simulate`` per epoch (no chunks, no files). The retina rates come from
``spiking.model`` (pure numpy), so both simulate the same model.

    .venv/bin/python benchmarks/plain_pynest.py [--threads 2] [--time 1000] [--seed 12345] [--json]
"""

from __future__ import annotations

import argparse
import json
import resource
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--time", type=float, default=1000.0)
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = ap.parse_args()

    from spiking.config import load_config
    from spiking.model.network import build_model

    cfg, _ = load_config(
        overrides=[f"run.simulation_time={args.time}", "retina.source=generators", f"run.seed={args.seed}"]
    )
    model = build_model(cfg)

    import os

    os.environ.setdefault("PYNEST_QUIET", "1")
    import nest

    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.ResetKernel()
    nest.set(resolution=0.1, local_num_threads=args.threads, rng_seed=cfg.run.seed, print_time=False)
    t0 = time.perf_counter()
    models = {"poisson": "poisson_generator", "relay": "parrot_neuron", "izhikevich": "izhikevich"}
    nodes = {}
    for name, layer in model.layers.items():
        c = layer.cell
        params = (
            dict(a=c.a, b=c.b, c=c.c, d=c.d, V_th=c.v_peak, V_m=c.v_init, U_m=c.u_init, I_e=c.i_offset) if c else None
        )
        nodes[name] = nest.Create(
            models[layer.kind],
            params=params,
            positions=nest.spatial.grid(shape=[layer.side, layer.side], extent=[layer.extent, layer.extent]),
        )
    recorders = {}
    for name in ("ex_on", "ex_off", "in_on", "in_off"):
        recorders[name] = nest.Create("spike_recorder")
        nest.Connect(nodes[name], recorders[name])
    t_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    for p in model.projections:
        if p.mask == "one_to_one":
            nest.Connect(nodes[p.source], nodes[p.target], "one_to_one", {"weight": p.weight, "delay": p.delay})
            continue
        prob = (
            p.p_center * nest.spatial_distributions.gaussian(nest.spatial.distance, std=p.sigma)
            if p.kernel == "gaussian"
            else p.p_center
        )
        nest.Connect(
            nodes[p.source],
            nodes[p.target],
            {
                "rule": "pairwise_bernoulli",
                "p": prob,
                "mask": {"circular": {"radius": p.radius}},
                "use_on_source": True,
            },
            {"weight": p.weight, "delay": p.delay},
        )
    t_connect = time.perf_counter() - t0
    t0 = time.perf_counter()
    for ep in model.schedule:
        rates = model.layer_rates(ep.pattern)
        for name, r in rates.items():
            nodes[name].set(rate=r.tolist())
        nest.Simulate(ep.stop - ep.start)
    t_sim = time.perf_counter() - t0
    n = {name: rec.get("n_events") for name, rec in recorders.items()}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if args.json:
        sizes = {name: model.layers[name].size for name in n}
        rates = {name: n[name] / sizes[name] / (args.time / 1000) for name in n}
        print(json.dumps({"build": t_build, "connect": t_connect, "simulate": t_sim, "peak_mb": peak, "rates": rates}))
        return
    print(
        f"plain PyNEST, {args.threads} threads: build {t_build:.2f} s, connect {t_connect:.2f} s, "
        f"simulate {t_sim:.2f} s, synapses {nest.num_connections:,}, peak RSS {peak:.0f} MB, spikes {n}"
    )


if __name__ == "__main__":
    main()
