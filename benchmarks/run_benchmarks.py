"""Benchmarks of spiking: time and memory of real runs, measured one after another on one machine.

Usage (from the repository root, after `make install`; `mpi` also needs `make mpi`)::

    .venv/bin/python benchmarks/run_benchmarks.py default    # the default model: phases, overhead, memory
    .venv/bin/python benchmarks/run_benchmarks.py memory     # peak memory, 1 s against 10 s of model time
    .venv/bin/python benchmarks/run_benchmarks.py mpi        # 1 rank x 2 threads against 2 ranks x 1 thread
    .venv/bin/python benchmarks/run_benchmarks.py render     # rendering against simulation, default model
    .venv/bin/python benchmarks/run_benchmarks.py estimate   # pre-flight estimate against built synapses
    .venv/bin/python benchmarks/run_benchmarks.py trains     # pre-drawn trains against the plain PyNEST original
    .venv/bin/python benchmarks/run_benchmarks.py sources    # V1 rates of both input formulations over seeds
    .venv/bin/python benchmarks/run_benchmarks.py export     # render, Neo, NWB and SONATA network against simulation
    .venv/bin/python benchmarks/run_benchmarks.py brian2     # Brian2: first and warm run against a plain Brian2 script
    .venv/bin/python benchmarks/run_benchmarks.py network    # drawing, writing, reading the network; SONATA export
    .venv/bin/python benchmarks/run_benchmarks.py scaling    # 1 to 100 hypercolumns on Brian2 (NEST up to 16)
    .venv/bin/python benchmarks/run_benchmarks.py izhikevich # Izhikevich (2003) on NEST and Brian2: wall and CPU time
    .venv/bin/python benchmarks/run_benchmarks.py tutorials  # each tutorial notebook top to bottom, as the tests run it

Each prints a Markdown table for docs/benchmarks.md. Every run is a real
`spiking run` in a subprocess (`izhikevich`: `spiking izhikevich`; `tutorials`:
a notebook kernel); peak memory is the child's maximum resident set
(getrusage). Runs go to a temporary folder. The figures are measured here, not
asserted by the tests: a test's pass or failure does not depend on the clock.
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

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
MPI_PY = ROOT / ".venv-mpi" / "bin" / "python"


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


def spiking_run(
    args: list[str], out: Path, python=PY, mpi: int = 0, env: dict | None = None
) -> tuple[dict, float, float]:
    """Run `spiking run ARGS`; returns (manifest, wall seconds, peak RSS of the biggest child in MB)."""
    cmd = [str(python), "-m", "spiking", "run", *args, "--no-progress", "-q", "--set", f"run.output_dir='{out}'"]
    env = {**os.environ, **(env or {})}
    if mpi:
        cmd = ["mpirun", "-np", str(mpi), *cmd]
        env.update(
            OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1"
        )
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"run failed: {' '.join(cmd)}\n{proc.stderr}")
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    folder = Path(proc.stdout.strip().splitlines()[-1])
    return json.loads((folder / "manifest.json").read_text()) | {"_folder": str(folder)}, wall, peak


def bench_default(tmp: Path) -> None:
    m, wall, peak = spiking_run([], tmp)
    t = m["timings_s"]
    nest_s = t["build"] + t["connect"] + t["simulate"] + t.get("free", 0.0)
    ours = t["total"] - nest_s
    print(
        f"Default model ({m['neurons_total']:,} nodes, {m['synapses_total']:,} synapses, {m['threads']} threads), "
        f"`spiking run`: the run's phases (the process time also includes rendering):\n"
    )
    print("| phase | wall time (s) |\n|---|---|")
    for k in ("stimulus", "estimate", "draw", "build", "connect", "simulate", "record", "free", "write", "total"):
        print(f"| {k} | {t.get(k, 0):.2f} |")
    print(f"| process, start to end | {wall:.2f} |")
    print(f"\nOutside NEST's create/connect/simulate/free: {ours:.2f} s = {100 * ours / t['total']:.1f}% of the run.")
    mm = m["memory_mb"]
    print(
        f"Memory: {mm['before_build']:.0f} MB before building (Python, NEST, numpy), {mm['network']:.0f} MB added by "
        f"NEST building the network, {mm['after_connect']:.0f} MB after connecting; peak {mm['peak_rss']:.0f} MB "
        f"(child's maximum RSS {peak:.0f} MB). Peak / after connecting = {mm['peak_rss'] / mm['after_connect']:.3f}."
    )
    print("Spikes: " + ", ".join(f"{k} {v['count']:,} ({v['mean_rate_hz']:.2f} Hz)" for k, v in m["spikes"].items()))


def bench_memory(tmp: Path) -> None:
    print("| model time | wall (s) | simulate (s) | peak RSS (MB) | spikes |\n|---|---|---|---|---|")
    peaks = []
    for ms in (1000.0, 10000.0):
        m, wall, peak = spiking_run(["--preset", "small", "--no-render", "--set", f"run.simulation_time={ms}"], tmp)
        peaks.append(m["memory_mb"]["peak_rss"])
        n = sum(v["count"] for v in m["spikes"].values())
        print(
            f"| {ms / 1000:g} s | {wall:.1f} | {m['timings_s']['simulate']:.1f} | {m['memory_mb']['peak_rss']:.0f} | {n:,} |"
        )
    print(f"\nPeak memory 10 s / 1 s = {peaks[1] / peaks[0]:.3f}.")


def _same_spikes(a: Path, b: Path) -> str:
    """Whether two runs' spikes are identical, layer by layer (one line)."""
    from spiking.io.spikefile import load_spikes
    from spiking.validate.compare import compare_spikes

    sa, sb = load_spikes(a / "spikes.h5"), load_spikes(b / "spikes.h5")
    out = []
    for layer in sa:
        c = compare_spikes(layer, 0, (sa[layer].node_ids, sa[layer].times), (sb[layer].node_ids, sb[layer].times), 0.1)
        out.append(
            f"{layer} {'identical' if c.identical else f'{100 * c.coincident_fraction:.2f}% coincide'} ({c.spikes_a:,})"
        )
    return ", ".join(out)


def bench_mpi(tmp: Path) -> None:
    if not MPI_PY.exists():
        raise SystemExit("needs `make mpi`")
    print("| layout | simulate (s) | total run (s) | wall with start-up (s) |\n|---|---|---|---|")
    rows = {}
    for label, args, mpi in (
        ("1 rank x 2 threads", ["--set", "run.threads=2", "--no-render"], 0),
        ("2 ranks x 1 thread", ["--set", "run.threads=1", "--no-render"], 2),
    ):
        m, wall, _ = spiking_run(args, tmp, python=MPI_PY, mpi=mpi)
        rows[label] = m
        print(f"| {label} | {m['timings_s']['simulate']:.1f} | {m['timings_s']['total']:.1f} | {wall:.1f} |")
    a, b = rows["1 rank x 2 threads"], rows["2 ranks x 1 thread"]
    print(
        f"\n2 ranks / 2 threads: simulate {b['timings_s']['simulate'] / a['timings_s']['simulate']:.3f}, "
        f"whole run {b['timings_s']['total'] / a['timings_s']['total']:.3f}. Merging the spikes of both ranks "
        f"(gather + write, `record`): {b['timings_s']['record']:.2f} s = {100 * b['timings_s']['record'] / b['timings_s']['total']:.2f}% of the run."
    )
    brian2, _, _ = spiking_run(["--engine", "brian2", "--no-render"], tmp)
    print(
        f"Spikes, 2 ranks x 1 thread against 1 rank x 2 threads: {_same_spikes(Path(a['_folder']), Path(b['_folder']))}."
    )
    print(
        f"Spikes, 2 ranks x 1 thread against Brian2 (2 threads): {_same_spikes(Path(b['_folder']), Path(brian2['_folder']))}."
    )


def bench_render(tmp: Path) -> None:
    m, wall, _ = spiking_run([], tmp)
    folder = Path(m["_folder"])
    t0 = time.perf_counter()
    proc = subprocess.run([PY, "-m", "spiking", "render", str(folder)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    render_wall = time.perf_counter() - t0
    r = json.loads((folder / "manifest.json").read_text()).get("render", {})
    sim = m["timings_s"]["simulate"]
    print("| part | wall time (s) |\n|---|---|")
    for k, v in r.get("timings_s", {}).items():
        print(f"| render {k} | {v:.2f} |")
    print(f"| `spiking render`, process start to end | {render_wall:.2f} |")
    print(f"| simulate (the same run) | {sim:.2f} |")
    print(
        f"\nRendering / simulation = {r.get('timings_s', {}).get('total', render_wall) / sim:.3f} "
        f"({r.get('frames', '?')} frames of {r.get('frame_ms', '?')} ms)."
    )


def bench_estimate(tmp: Path) -> None:
    print("| config | synapses built | estimate | error |\n|---|---|---|---|")
    from spiking.config import load_config
    from spiking.model.estimate import estimate

    for label, sets in (
        ("default (9 hypercolumns)", []),
        ("small (1 hypercolumn)", ["network.hypercolumns=1"]),
        ("4 hypercolumns, 12 neurons/minicolumn", ["network.hypercolumns=4", "network.neurons_per_minicolumn=12"]),
    ):
        args = [x for s in sets for x in ("--set", s)] + ["--set", "run.simulate=false", "--no-render"]
        m, _, _ = spiking_run(args, tmp)
        cfg, _ = load_config(overrides=sets)
        est = estimate(cfg)
        built = m["synapses_total"]
        print(
            f"| {label} | {built:,} | {est.synapses_total:,.0f} | {100 * (est.synapses_total - built) / built:+.2f}% |"
        )


def _timed(cmd: list[str]) -> tuple[float, float]:
    """Run a command; (wall seconds, its own peak resident memory in MB)."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(f"failed: {' '.join(map(str, cmd))}\n{err.read().decode(errors='replace')}")
    return wall, usage.ru_maxrss / 1024


def _timed_cpu(cmd: list) -> tuple[float, float, float]:
    """Run a command; (wall seconds, CPU seconds (user + system), peak resident memory in MB) of its own process."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            raise SystemExit(f"failed: {' '.join(map(str, cmd))}\n{err.read().decode(errors='replace')}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def bench_izhikevich(tmp: Path) -> None:
    """`spiking izhikevich types` and `network` (10 s, one NEST thread) on each engine, one after another.

    The simulation's own time comes from the run folder's manifest; the process's
    wall and CPU time (imports, Brian2's code generation, the figures included)
    from the operating system. CPU time does not count other jobs on a shared machine.
    """
    print(
        "| engine | what | simulate (s) | process wall (s) | process CPU (s) | peak RSS (MB) |\n"
        "|---|---|---|---|---|---|"
    )
    for engine in ("nest", "brian2"):
        for what, args in (("types", []), ("network", ["--seed", "12345"]), ("network", ["--seed", "777"])):
            out = tmp / f"izhikevich-{engine}-{what}-{'-'.join(args)}"
            cmd = [PY, "-m", "spiking", "izhikevich", what, *args, "--engine", engine, "--output-dir", out]
            wall, cpu, peak = _timed_cpu(cmd)
            m = json.loads(next(out.glob("*/manifest.json")).read_text())
            label = f"{what} {' '.join(args)}".strip()
            print(
                f"| {engine} | {label} | {m['timings_s']['simulate']:.2f} | {wall:.1f} | {cpu:.1f} | {peak:.0f} |",
                flush=True,
            )


def bench_tutorials(tmp: Path) -> None:
    """Each notebook of tutorials/ top to bottom in a fresh kernel of this interpreter, as tests/test_tutorials.py runs it.

    The time is nbclient's, kernel start included. Notebook 7 needs the face data
    (``../shared/data``, or ``SPIKING_DATA``); without it, it is left out.
    """
    import nbclient
    import nbformat

    data = Path(os.environ.get("SPIKING_DATA", ROOT.parent / "shared" / "data"))
    kernels = tmp / "jupyter" / "kernels" / "python3"
    kernels.mkdir(parents=True)
    spec = {"argv": [PY, "-m", "ipykernel_launcher", "-f", "{connection_file}"], "language": "python"}
    (kernels / "kernel.json").write_text(json.dumps({**spec, "display_name": "Python 3 (spiking benchmarks)"}))
    os.environ.update(
        JUPYTER_PATH=str(tmp / "jupyter"),
        PYNEST_QUIET="1",
        MPLBACKEND="Agg",
        SPIKING_TUTORIAL_OUTPUT=str(tmp / "tutorial-output"),
        SPIKING_DATA=str(data),
    )
    print("| notebook | wall (s) |\n|---|---|")
    for path in sorted((ROOT / "tutorials").glob("*.ipynb")):
        if path.name.startswith("07") and not (data / "orl_faces" / "s1-1.pgm").is_file():
            print(f"| {path.name} | left out: no face data in {data} |")
            continue
        work = tmp / path.stem
        work.mkdir()
        nb = nbformat.read(path, as_version=4)
        client = nbclient.NotebookClient(
            nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(work)}}
        )
        t0 = time.perf_counter()
        client.execute()
        print(f"| {path.name} | {time.perf_counter() - t0:.1f} |", flush=True)


def bench_export(tmp: Path, preset: str | None = None) -> None:
    """One default run (no render), then: render, open_run + to_neo, the NWB export, the SONATA network export."""
    m, _, run_peak = spiking_run(["--no-render"] + (["--preset", preset] if preset else []), tmp)
    folder = Path(m["_folder"])
    sim = m["timings_s"]["simulate"]
    render_wall, _ = _timed([PY, "-m", "spiking", "render", folder])
    neo_code = (
        "import sys, time, spiking; t = time.perf_counter(); r = spiking.open_run(sys.argv[1]); "
        "b = r.to_neo(); print(time.perf_counter() - t, len(b.segments[0].spiketrains))"
    )
    proc = subprocess.run([PY, "-c", neo_code, str(folder)], capture_output=True, text=True)
    neo_s, neo_trains = (float(x) for x in proc.stdout.split())
    nwb_wall, _ = _timed([PY, "-m", "spiking", "export", folder, "--nwb", "-q"])
    sonata_wall, sonata_peak = _timed([PY, "-m", "spiking", "export", folder, "--sonata-network", "-q"])
    after = json.loads((folder / "manifest.json").read_text())
    r, nwb, net = after["render"]["timings_s"], after["exports"]["nwb"], after["exports"]["sonata_network"]
    print(
        f"Model ({m['neurons_total']:,} nodes, {m['synapses_total']:,} synapses, {m['threads']} threads), "
        f"{m['simulation_time_ms']:g} ms; simulate {sim:.2f} s (run peak RSS {run_peak:.0f} MB).\n"
    )
    print("| step | wall time (s) | / simulate |\n|---|---|---|")
    rows = [
        ("render: rates", r["rates"]),
        ("render: spike statistics (Elephant)", r["statistics"]),
        ("render: movies (in parallel with the two above)", r["movies"]),
        ("render total", r["total"]),
        ("`spiking render`, process start to end", render_wall),
        (f"`open_run(...).to_neo()`, {int(neo_trains):,} spike trains", neo_s),
        ("NWB export (`export --nwb`, in the process)", nwb["seconds"]),
        ("`spiking export --nwb`, process start to end", nwb_wall),
        ("SONATA network: the network (from the cache, or drawn)", net["seconds"]["network"]),
        ("SONATA network: write it", net["seconds"]["write"]),
        ("`spiking export --sonata-network`, process start to end", sonata_wall),
    ]
    for label, v in rows:
        print(f"| {label} | {v:.2f} | {v / sim:.3f} |")
    print(
        f"\nNWB file: {nwb['bytes'] / 1e6:.1f} MB. SONATA network: {net['edges']:,} edges, "
        f"{net['bytes'] / 1e9:.2f} GB ({net['bytes'] / max(1, net['edges']):.0f} bytes per edge); "
        f"peak resident memory of the SONATA export {sonata_peak:.0f} MB (the run's: {run_peak:.0f} MB)."
    )


def bench_plain(tmp: Path) -> None:
    """The same model as a plain PyNEST script (one Simulate per epoch, no files) and as `spiking run --no-render`."""
    proc = subprocess.run([PY, str(ROOT / "benchmarks" / "plain_pynest.py")], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    print(proc.stdout.strip())
    m, wall, peak = spiking_run(["--no-render"], tmp)
    t = m["timings_s"]
    print(
        f"spiking run --no-render, {m['threads']} threads: build {t['build']:.2f} s, connect {t['connect']:.2f} s, "
        f"simulate {t['simulate']:.2f} s (+ record {t['record']:.2f} s), total {t['total']:.2f} s, process {wall:.2f} s, "
        f"peak RSS {m['memory_mb']['peak_rss']:.0f} MB"
    )


def plain_pynest(seed: int = 12345) -> tuple[dict, float]:
    """The plain PyNEST script of the original formulation: its figures and its process wall time."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        [PY, str(ROOT / "benchmarks" / "plain_pynest.py"), "--json", "--seed", str(seed)],
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1]), wall


def _row(label: str, m: dict, wall: float) -> str:
    t = m["timings_s"]
    render = m.get("render", {}).get("timings_s", {}).get("total")
    return (
        f"| {label} | {wall:.1f} | {t.get('draw', 0):.1f} | {t['build']:.1f} | {t['connect']:.1f} | "
        f"{t['simulate']:.1f} | {'-' if render is None else f'{render:.1f}'} | {m['memory_mb']['peak_rss']:.0f} |"
    )


def bench_trains(tmp: Path) -> None:
    """Default model: the plain PyNEST original, then `spiking run` with an empty network cache (it draws the network),
    again (it reads it), both rendering included, then the original's generators without rendering."""
    env = {"SPIKING_CACHE": str(tmp / "cache")}  # an empty network cache: the first run draws
    plain, plain_wall = plain_pynest()
    first, first_wall, _ = spiking_run([], tmp, env=env)
    warm, warm_wall, _ = spiking_run([], tmp, env=env)
    g, gwall, _ = spiking_run(["--no-render", "--set", "retina.source=generators"], tmp, env=env)
    print(
        "| run | wall, process (s) | draw (s) | build (s) | connect (s) | simulate (s) | render (s) | peak RSS (MB) |\n"
        "|---|---|---|---|---|---|---|---|"
    )
    print(
        f"| plain PyNEST, original formulation (generators) | {plain_wall:.1f} | - | {plain['build']:.1f} | "
        f"{plain['connect']:.1f} | {plain['simulate']:.1f} | - | {plain['peak_mb']:.0f} |"
    )
    print(_row("`spiking run`, the network drawn (empty cache)", first, first_wall))
    print(_row("`spiking run`, the network from the cache", warm, warm_wall))
    print(_row("`spiking run --no-render`, retina.source = generators", g, gwall))
    print(
        f"\n`spiking run` / plain PyNEST, wall, rendering included: {first_wall / plain_wall:.2f} drawing the network, "
        f"{warm_wall / plain_wall:.2f} with it in the cache; simulate {warm['timings_s']['simulate']:.1f} s against "
        f"{plain['simulate']:.1f} s; peak memory {warm['memory_mb']['peak_rss']:.0f} MB against "
        f"{plain['peak_mb']:.0f} MB (plain) and {g['memory_mb']['peak_rss']:.0f} MB with generators."
    )


def bench_sources(tmp: Path, seeds: int = 3) -> None:
    """V1 mean rates of the default model with trains and with generators, over seeds."""
    from spiking.validate.compare import compare_rates

    rates: dict = {"generators": {}, "trains": {}}
    for source, by_layer in rates.items():
        for seed in range(1, seeds + 1):
            m, _, _ = spiking_run(["--no-render", "--set", f"retina.source={source}", "--set", f"run.seed={seed}"], tmp)
            for layer, v in m["spikes"].items():
                by_layer.setdefault(layer, []).append(v["mean_rate_hz"])
    print(f"Default model, {seeds} seeds per formulation, mean rate over seeds (sd):\n")
    print(
        "| layer | generators (Hz) | trains (Hz) | difference (Hz) | tolerance (Hz) | agree |\n|---|---|---|---|---|---|"
    )
    for r in compare_rates(rates["generators"], rates["trains"]):
        print(
            f"| {r.layer} | {r.mean_a:.3f} ({r.sd_a:.3f}) | {r.mean_b:.3f} ({r.sd_b:.3f}) | {r.difference:+.3f} | "
            f"{r.tolerance:.3f} | {'yes' if r.agree else 'NO'} |"
        )


def plain_brian2(build: bool, folder: Path) -> tuple[dict, float]:
    """The plain Brian2 script: its figures and its process wall time."""
    cmd = [PY, str(ROOT / "benchmarks" / "plain_brian2.py"), "--json", "--dir", str(folder)] + (
        ["--build"] if build else []
    )
    t0 = time.perf_counter()
    # the same OpenMP waiting as spiking's program (spin on an idle machine, sleep on a busy one)
    from spiking.engines.brian2.waiting import wait_environment

    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **wait_environment()})
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1]), wall


def bench_brian2(tmp: Path) -> None:
    """Default model on Brian2: the first run (compiles, draws), warm runs (network from the cache, and drawn), against
    a plain Brian2 script, same sitting."""
    cache = tmp / "cache"
    env = {"SPIKING_CACHE": str(cache)}
    args = ["--engine", "brian2", "--no-render"]
    first, first_wall, _ = spiking_run(args, tmp, env=env)
    warm, warm_wall, _ = spiking_run(args, tmp, env=env)
    drawn, drawn_wall, _ = spiking_run(args, tmp, env={**env, "SPIKING_NETWORK_CACHE_GB": "0"})
    rendered, rendered_wall, _ = spiking_run(["--engine", "brian2"], tmp, env=env)
    pfirst, pfirst_wall = plain_brian2(True, tmp / "plain")
    pwarm, pwarm_wall = plain_brian2(False, tmp / "plain")
    print("| run | wall, process (s) | compile (s) | draw (s) | connect (s) | simulate (s) | program peak RSS (MB) |")
    print("|---|---|---|---|---|---|---|")
    for label, m, wall in (
        ("`spiking run --engine brian2 --no-render`, first (compiles, draws)", first, first_wall),
        ("same, warm (network from the cache)", warm, warm_wall),
        ("same, warm, network cache off (draws)", drawn, drawn_wall),
        ("warm, network from the cache, rendering included", rendered, rendered_wall),
    ):
        t = m["timings_s"]
        print(
            f"| {label} | {wall:.1f} | {t.get('compile', 0):.1f} | {t.get('draw', 0):.1f} | {t.get('connect', 0):.1f} | "
            f"{t['simulate']:.1f} | {m['memory_mb'].get('program_peak_rss', 0):.0f} |"
        )
    for label, p, wall in (("plain Brian2 script, first", pfirst, pfirst_wall), ("same, warm", pwarm, pwarm_wall)):
        print(
            f"| {label} | {wall:.1f} | {p['compile']:.1f} | - | - | {p['run']:.1f} (with connect) | "
            f"{p['program_peak_mb']:.0f} |"
        )
    t = warm["timings_s"]
    outside = t["stimulus"] + t["estimate"] + t.get("draw", 0) + t["build"] + t["record"] + t["write"]
    print(
        f"\nWarm `spiking run` / warm plain script: {warm_wall / pwarm_wall:.2f} (network from the cache), "
        f"{drawn_wall / pwarm_wall:.2f} (drawn); wall, process start to end. Outside the compiled program: "
        f"{outside:.2f} s = {100 * outside / t['total']:.1f}% of the run. First run: {first_wall:.1f} s."
    )
    print("Rates (Hz): spiking " + ", ".join(f"{k} {v['mean_rate_hz']:.2f}" for k, v in warm["spikes"].items()))
    print("Rates (Hz): plain   " + ", ".join(f"{k} {v:.2f}" for k, v in pwarm["rates"].items()))


def bench_network(tmp: Path) -> None:
    """Drawing the default network (in this process, 1 and 2 threads), writing it, reading it back; then the SONATA
    export of a NEST run and of a Brian2 run of it."""
    from spiking.config import default_config
    from spiking.io.networkfile import write_network
    from spiking.model.connections import draw_network
    from spiking.model.network import build_model

    model = build_model(default_config(), stimuli=False)
    print("| what | wall (s) | synapses |\n|---|---|---|")
    for threads in (1, 2):
        t0 = time.perf_counter()
        n = sum(len(e) for e in draw_network(model, threads))
        print(f"| draw the default network, {threads} thread(s), in memory | {time.perf_counter() - t0:.2f} | {n:,} |")
    t0 = time.perf_counter()
    net = write_network(tmp / "net", "bench", model.seed, model.resolution, draw_network(model, 2))
    print(f"| draw and write it to a network folder, 2 threads | {time.perf_counter() - t0:.2f} | {n:,} |")
    t0 = time.perf_counter()
    n = 0
    for p in model.projections:  # touch every page: the sum of the sources
        e = net.edges(p)
        n += len(e) if int(e.sources.sum(dtype="int64")) >= 0 else 0
    print(f"| read it back (every array touched) | {time.perf_counter() - t0:.2f} | {n:,} |")
    print(f"\nNetwork folder: {sum(f.stat().st_size for f in net.folder.iterdir()) / 1e6:.0f} MB.\n")
    print(
        "| engine of the run | `spiking export --sonata-network`, process (s) | network (s) | write (s) | size (GB) | peak RSS (MB) |"
    )
    print("|---|---|---|---|---|---|")
    for engine in ("nest", "brian2"):
        m, _, _ = spiking_run(["--no-render", "--engine", engine], tmp, env={"SPIKING_CACHE": str(tmp / "cache")})
        folder = Path(m["_folder"])
        wall, peak = _timed([PY, "-m", "spiking", "export", folder, "--sonata-network", "-q"])
        e = json.loads((folder / "manifest.json").read_text())["exports"]["sonata_network"]
        print(
            f"| {engine} | {wall:.1f} | {e['seconds']['network']:.2f} | {e['seconds']['write']:.2f} | "
            f"{e['bytes'] / 1e9:.2f} | {peak:.0f} |"
        )


def bench_scaling(tmp: Path) -> None:
    """Connect, simulate and peak memory from 1 to 100 hypercolumns (1000 ms, no rendering)."""
    print(
        "| engine | hypercolumns | neurons | synapses | draw (s) | connect (s) | simulate (s) | peak RSS (MB) | wall (s) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for engine, sizes in (("brian2", (1, 4, 9, 16, 36, 100)), ("nest", (1, 4, 9, 16))):
        for hc in sizes:
            args = ["--engine", engine, "--no-render", "--force", "--set", f"network.hypercolumns={hc}"]
            m, wall, peak = spiking_run(args, tmp, env={"SPIKING_CACHE": str(tmp / "cache")})
            t = m["timings_s"]
            mem = m["memory_mb"]["peak_rss"]
            print(
                f"| {engine} | {hc} | {m['neurons_total']:,} | {m['synapses_total']:,} | {t.get('draw', 0):.1f} | "
                f"{t['connect']:.1f} | "
                f"{t['simulate']:.1f} | {mem:.0f} | {wall:.1f} |",
                flush=True,
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "which",
        choices=[
            "default",
            "memory",
            "mpi",
            "render",
            "estimate",
            "plain",
            "trains",
            "sources",
            "export",
            "brian2",
            "network",
            "scaling",
            "izhikevich",
            "tutorials",
        ],
    )
    ap.add_argument("--preset", help="export only: run this preset instead of the default model (to try it quickly)")
    args = ap.parse_args()
    print(f"Machine: {machine()}\n")
    with tempfile.TemporaryDirectory() as tmp:
        if args.which == "export":
            bench_export(Path(tmp), args.preset)
        else:
            globals()[f"bench_{args.which}"](Path(tmp))


if __name__ == "__main__":
    main()
