"""The ``spiking`` command line: the only place errors become exit codes.

Exit status: 0 done, 2 bad input (one line on stderr, no traceback),
130/143 interrupted by SIGINT/SIGTERM, 1 an unexpected failure.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from .. import __version__
from ..errors import ConfigError, EngineUnavailableError, SpikingError

__all__ = ["main", "build_parser"]

EXIT_USAGE = 2


def _config_args(p: argparse.ArgumentParser, env: bool = True) -> None:
    p.add_argument("config", nargs="?", metavar="CONFIG.toml", help="config file (default: the original model's defaults)")
    p.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
        help="override one key, e.g. --set network.hypercolumns=4 (repeatable; values are TOML)",
    )
    p.add_argument("--preset", metavar="NAME", help="start from a preset: small (one hypercolumn, 400 ms) or default")
    if env:
        p.add_argument("--env", dest="env_file", metavar="FILE", help="read an original .env file (says which keys it mapped)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spiking",
        description="The early visual pathway (retina, LGN, V1) with spiking neurons on NEST.",
    )
    parser.add_argument("--version", action="version", version=f"spiking {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("run", help="simulate and write a run folder", description="Simulate the model and write everything into output/<run-id>/.")
    _config_args(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--quiet", "-q", action="store_true", help="print only the run folder and errors")
    p.add_argument("--force", action="store_true", help="run even when the pre-flight estimate says the memory will not suffice")
    p.add_argument("--no-render", action="store_true", help="write no plots, movies or report (draw them later with `spiking render`)")
    p.add_argument("--open", action="store_true", help="open the report in a browser when done")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("render", help="redraw the plots, movies and report of a run folder (no NEST, no simulation)",
                       description="Redraw every plot, movie and the report of a run folder from its spikes.h5 and config.toml alone, without NEST.")
    p.add_argument("folder", metavar="RUN_FOLDER", help="a run folder, e.g. output/20260101-120000-9hc-1000ms")
    p.add_argument("--frame-ms", type=_positive_float, metavar="MS", help="movie frame length (default: the run's render.frame_ms)")
    p.add_argument("--format", dest="movie_format", choices=["mp4", "gif"], help="movie format (default: the run's render.movie_format)")
    p.add_argument("--no-movies", action="store_true", help="skip the movies")
    p.add_argument("--open", action="store_true", help="open the report in a browser when done")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("preview", help="write the stimulus and retina rate maps as PNGs (no network)",
                       description="Write the placed stimulus and the retina ON/OFF rate maps of every distinct pattern, without building a network.")
    _config_args(p)
    p.add_argument("--out", metavar="DIR", help="folder for the PNGs (default: output/preview-<time>)")
    p.set_defaults(func=cmd_preview)

    p = sub.add_parser("config", help="print the resolved config as TOML",
                       description="Print the resolved config as TOML, every key with its unit in a comment.")
    _config_args(p)
    p.add_argument("--defaults", action="store_true", help="print the defaults (ignores CONFIG)")
    p.add_argument("--estimate", action="store_true", help="print the nodes, synapses, memory and disk the config needs, instead of the TOML")
    p.set_defaults(func=cmd_config)

    p = sub.add_parser("check", help="check the NEST installation and draw the test network",
                       description="Print what the installed NEST supports and draw the original's test network (test0.png, test1.png). Exit 1 when NEST is missing or broken.")
    p.add_argument("--out", metavar="DIR", help="folder for test0.png and test1.png (default: output/check-<time>)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("izhikevich", help="reproduce Izhikevich (2003): neuron classes and the 1000-neuron network",
                       description="Reproductions of Izhikevich (2003), 'Simple Model of Spiking Neurons', each into a run folder.")
    isub = p.add_subparsers(dest="what", metavar="WHAT")
    isub.required = True
    q = isub.add_parser("types", help="Fig. 2: seven neuron classes under a step current, checked by number",
                        description="Simulate the paper's Fig. 2 classes (RS, IB, CH, FS, LTS, TC, RZ) under a step current and check each class's behaviour by number.")
    q.add_argument("--duration", type=_positive_float, default=500.0, metavar="MS", help="model time per class (default 500 ms)")
    q.add_argument("--current", type=float, default=10.0, metavar="I", help="step current (default 10)")
    q.add_argument("--output-dir", default="output", metavar="DIR", help="where the run folder goes (default output)")
    q.set_defaults(func=cmd_izhikevich_types)
    q = isub.add_parser("network", help="Fig. 3: 800 excitatory and 200 inhibitory neurons, rhythms and rates",
                        description="Simulate the paper's Fig. 3 network and measure its mean rate and alpha/gamma rhythms.")
    q.add_argument("--duration", type=_positive_float, default=10000.0, metavar="MS", help="model time (default 10000 ms)")
    q.add_argument("--seed", type=_positive_int, default=1, help="seed of the parameters, weights and NEST (default 1)")
    q.add_argument("--threads", type=_positive_int, default=1, help="NEST threads (default 1)")
    q.add_argument("--output-dir", default="output", metavar="DIR", help="where the run folder goes (default output)")
    q.set_defaults(func=cmd_izhikevich_network)
    return parser


def cmd_check(args) -> int:
    from datetime import datetime

    from ..check import run_check

    out = Path(args.out) if args.out else Path("output") / f"check-{datetime.now():%Y%m%d-%H%M%S}"
    try:
        caps, files = run_check(out)
    except EngineUnavailableError as err:
        print(f"spiking: NEST is not usable: {err}", file=sys.stderr)
        return 1
    except OSError as err:
        raise SpikingError(f"{out}: cannot write the check plots ({err.strerror or err})") from None
    yes = {True: "yes", False: "no"}
    print(f"NEST {caps['version']}: threads {yes[caps['threads']]}, MPI {yes[caps['mpi']]}, "
          f"HDF5 {yes[caps['hdf5']]}, GSL {yes[caps['gsl']]}; test network built with {caps['synapses']} synapses", file=sys.stderr)
    for f in files:
        print(f)
    return 0


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not v > 0 or v != v or v == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return v


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def cmd_izhikevich_types(args) -> int:
    from ..izhikevich.core import format_check_table
    from ..izhikevich.runs import run_types
    from ..io.runfolder import read_manifest

    folder, passed = run_types(args.output_dir, duration=args.duration, current=args.current)
    m = read_manifest(folder)
    from ..izhikevich.core import CheckRow

    print(format_check_table([CheckRow(r["name"], r["check"], r["measured"], r["passed"]) for r in m["checks"]]), file=sys.stderr)
    print(folder)
    return 0


def cmd_izhikevich_network(args) -> int:
    from ..izhikevich.runs import run_network

    folder, metrics = run_network(args.output_dir, duration=args.duration, seed=args.seed, threads=args.threads)
    s = metrics.summary()
    print(
        f"mean rate {s['mean_rate_hz']:.2f} Hz; alpha peak {s['alpha_peak_hz']:.0f} Hz ({s['alpha_ratio']:.1f}x baseline), "
        f"gamma peak {s['gamma_peak_hz']:.0f} Hz ({s['gamma_ratio']:.1f}x baseline): {'as in the paper' if s['passed'] else 'NOT as in the paper'}",
        file=sys.stderr,
    )
    print(folder)
    return 0


def _load(args):
    from ..config import load_config

    cfg, notes = load_config(
        None if getattr(args, "defaults", False) else args.config,
        overrides=args.overrides,
        preset=args.preset,
        env_file=getattr(args, "env_file", None),
    )
    return cfg, notes


def cmd_config(args) -> int:
    from ..config import to_toml

    cfg, notes = _load(args)
    if args.estimate:
        from ..model.estimate import estimate, format_estimate
        from ..run.resources import available_memory_bytes

        print(format_estimate(estimate(cfg, targets=1000)))
        print(f"available {available_memory_bytes() / 1e9:>10.1f} GB   memory on this machine now")
        return 0
    for n in notes:
        print(f"# .env: {n}")
    sys.stdout.write(to_toml(cfg))
    return 0


def cmd_preview(args) -> int:
    from datetime import datetime

    from ..render.preview import write_preview

    cfg, notes = _load(args)
    out = Path(args.out) if args.out else Path(cfg.run.output_dir) / f"preview-{datetime.now():%Y%m%d-%H%M%S}"
    try:
        files = write_preview(cfg, out)
    except OSError as err:
        raise SpikingError(f"{out}: cannot write the preview ({err.strerror or err})") from None
    for f in files:
        print(f)
    return 0


def cmd_run(args) -> int:
    from ..run.parallel import Parallel, launcher_rank, launcher_size
    from ..run.orchestrate import run

    cfg, notes = _load(args)
    quiet_rank = launcher_rank() != 0
    for n in notes:
        if not quiet_rank:
            print(f".env: {n}", file=sys.stderr)
    if launcher_size() > 1:
        from ..engines.nest.engine import nest_has_mpi

        if not nest_has_mpi():
            raise EngineUnavailableError(
                f"started by an MPI launcher with {launcher_size()} processes, but the installed NEST has no MPI; "
                "build it with `make mpi` (scripts/build-nest-mpi.sh) or run without mpirun"
            )
    parallel = Parallel.from_launcher()
    result = run(cfg, parallel=parallel, progress=not args.no_progress, quiet=args.quiet, notes=notes, force=args.force)
    code = 0
    if parallel.is_root:
        if not args.no_render and result.status == "complete":
            code = _render(result.folder, quiet=args.quiet, open_report=args.open or cfg.render.open)
        elif result.status == "interrupted" and not args.quiet:
            print(f"interrupted at {result.manifest.get('t_reached_ms', 0):g} ms; `spiking render {result.folder}` draws what was done",
                  file=sys.stderr)
        print(result.folder)
    if result.status == "interrupted":
        sig = result.manifest.get("signal", "SIGINT")
        return 128 + int(getattr(signal, sig, signal.SIGINT))
    return code


def _render(folder: Path, quiet: bool = False, open_report: bool = False, **overrides) -> int:
    """Draw connectivity plots, movies, rates and the report; record the timings in the manifest."""
    import time

    from ..config import from_mapping, read_toml
    from ..model.network import build_model
    from ..render import render_run
    from ..render.connectivity import plot_connectivity
    from ..io.runfolder import read_manifest, write_manifest

    read_manifest(folder)  # a run folder at all?
    t0 = time.perf_counter()
    try:
        cfg = from_mapping(read_toml(folder / "config.toml"), base_dir=folder)
        conn = plot_connectivity(folder, build_model(cfg, stimuli=False))
        t_conn = time.perf_counter() - t0
        info = render_run(folder, progress=not quiet, **overrides)
    except SpikingError:
        raise
    except Exception as err:  # noqa: BLE001 - the run's data are safe; say what failed
        print(f"spiking: error: rendering {folder} failed: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    timings = {"connectivity": round(t_conn, 3), **{k: round(v, 3) for k, v in info.get("timings_s", {}).items()}}
    timings["total"] = round(time.perf_counter() - t0, 3)
    m = read_manifest(folder)
    m["render"] = {"timings_s": timings, "frames": info.get("frames"), "frame_ms": info.get("frame_ms"),
                   "movie_format": info.get("movie_format"), "connectivity_plots": len(conn)}
    write_manifest(folder, m)
    if not quiet:
        print(f"render     {timings['total']:7.2f} s   report {info['index']}", file=sys.stderr)
    if open_report:
        import webbrowser

        webbrowser.open(Path(info["index"]).resolve().as_uri())
    return 0


def cmd_render(args) -> int:
    folder = Path(args.folder)
    overrides = {"frame_ms": args.frame_ms, "movie_format": args.movie_format}
    if args.no_movies:
        overrides["movies"] = False
    code = _render(folder, open_report=args.open, **overrides)
    if code == 0:
        print(folder / "index.html")
    return code


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except SpikingError as err:
        _error(str(err))
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("spiking: interrupted", file=sys.stderr)
        return 130
    except BaseException:
        # an unexpected failure on one rank must not leave the others waiting in a collective
        from ..run.parallel import launcher_size

        if launcher_size() > 1 and "mpi4py.MPI" in sys.modules:
            import traceback

            traceback.print_exc()
            sys.modules["mpi4py.MPI"].COMM_WORLD.Abort(1)
        raise


def _error(msg: str) -> None:
    from ..run.parallel import launcher_rank

    if launcher_rank() == 0:
        print(f"spiking: error: {msg.splitlines()[0] if msg else 'unknown error'}", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
