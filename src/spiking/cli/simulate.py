"""Commands that simulate or draw the visual pathway: ``run``, ``render``, ``preview``, ``config``."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from ..engines.registry import DEFAULT_ENGINE, engine_names
from ..errors import ConfigError, EngineUnavailableError, SpikingError
from .common import config_args, load, positive_float, positive_int, render_folder

__all__ = ["register"]


def register(sub) -> None:
    """Add the commands to the ``spiking`` parser's subparsers."""
    p = sub.add_parser(
        "run",
        help="simulate and write a run folder",
        description="Simulate the model and write everything into output/<run-id>/.",
    )
    config_args(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--quiet", "-q", action="store_true", help="print only the run folder and errors")
    p.add_argument(
        "--force", action="store_true", help="run even when the pre-flight estimate says the memory will not suffice"
    )
    p.add_argument(
        "--no-render",
        action="store_true",
        help="write no plots, movies or report (draw them later with `spiking render`)",
    )
    p.add_argument("--open", action="store_true", help="open the report in a browser when done")
    p.add_argument(
        "--engine",
        metavar="{" + ",".join(engine_names()) + "}",
        help=f"simulator (sets run.engine; default {DEFAULT_ENGINE})",
    )
    p.add_argument(
        "--network",
        metavar="DIR",
        help="run the network in DIR (a SONATA network this tool wrote, `spiking export --sonata-network`) "
        "instead of drawing one; it must match the config",
    )
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "validate",
        help="run one config on both engines over several seeds and compare, spike for spike where nothing is left "
        "to chance (exit 1 when they differ)",
        description="Run one config on both engines for seeds 1..N and compare them. Where the model draws the "
        "network and the retina's trains (the defaults) they must give the very same spikes, neuron for neuron and "
        "step for step, and the same synapses; otherwise (Poisson generators, or each engine's own wiring) they "
        "agree by the statistics: per-layer mean rates (10% or 3 standard errors), synapses per projection (1%) "
        "and connection distances (KS test). Both are written to output/<time>-validate-<engines>/ with a figure. "
        "Without a config: the default model at one hypercolumn. Exit 0 when the engines agree, 1 when they do not.",
    )
    config_args(p)
    p.add_argument("--seeds", type=positive_int, default=6, metavar="N", help="seeds per engine (default 6)")
    p.add_argument("--quiet", "-q", action="store_true", help="print only the folder")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser(
        "render",
        help="redraw the plots, movies and report of a run folder (no NEST, no simulation)",
        description="Redraw every plot, movie and the report of a run folder from its spikes.h5 and config.toml alone, without NEST.",
    )
    p.add_argument("folder", metavar="RUN_FOLDER", help="a run folder, e.g. output/20260101-120000-9hc-1000ms")
    p.add_argument(
        "--frame-ms", type=positive_float, metavar="MS", help="movie frame length (default: the run's render.frame_ms)"
    )
    p.add_argument(
        "--format",
        dest="movie_format",
        choices=["mp4", "gif"],
        help="movie format (default: the run's render.movie_format)",
    )
    p.add_argument("--no-movies", action="store_true", help="skip the movies")
    p.add_argument("--open", action="store_true", help="open the report in a browser when done")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser(
        "preview",
        help="write the stimulus and retina rate maps as PNGs (no network)",
        description="Write the placed stimulus and the retina ON/OFF rate maps of every distinct pattern, without building a network.",
    )
    config_args(p)
    p.add_argument("--out", metavar="DIR", help="folder for the PNGs (default: output/preview-<time>)")
    p.set_defaults(func=cmd_preview)

    p = sub.add_parser(
        "config",
        help="print the resolved config as TOML",
        description="Print the resolved config as TOML, every key with its unit in a comment.",
    )
    config_args(p)
    p.add_argument("--defaults", action="store_true", help="print the defaults (ignores CONFIG)")
    p.add_argument(
        "--estimate",
        action="store_true",
        help="print the nodes, synapses, memory and disk the config needs, instead of the TOML",
    )
    p.set_defaults(func=cmd_config)


def cmd_config(args) -> int:
    from ..config import to_toml

    cfg, notes = load(args)
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

    cfg, notes = load(args)
    out = Path(args.out) if args.out else Path(cfg.run.output_dir) / f"preview-{datetime.now():%Y%m%d-%H%M%S}"
    try:
        files = write_preview(cfg, out)
    except OSError as err:
        raise SpikingError(f"{out}: cannot write the preview ({err.strerror or err})") from None
    for f in files:
        print(f)
    return 0


def cmd_validate(args) -> int:
    from ..validate.runs import validate_engines

    if (
        args.config is None
        and args.preset is None
        and not any(o.startswith("network.hypercolumns") for o in args.overrides)
    ):
        args.overrides = ["network.hypercolumns=1", *args.overrides]
    cfg, _ = load(args)
    say = (lambda msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    v = validate_engines(cfg, seeds=args.seeds, output_dir=cfg.run.output_dir, say=say)
    if not args.quiet:
        a, b = v.engines
        for r in v.rates:
            print(
                f"{r.layer:7s} {a} {r.mean_a:7.3f} Hz  {b} {r.mean_b:7.3f} Hz  difference {r.difference:+.3f} "
                f"(tolerance {r.tolerance:.3f}): {'agree' if r.agree else 'DIFFER'}",
                file=sys.stderr,
            )
        bad = [c.projection for c in v.counts if not c.agree] + [d.projection for d in v.distances if not d.agree]
        print(
            f"synapses and distances: {'agree' if not bad else 'DIFFER in ' + ', '.join(sorted(set(bad)))}",
            file=sys.stderr,
        )
        total = sum(c.spikes_a for c in v.spikes)
        if v.identical:
            same = f"identical: every one of {total:,} spikes, every layer and seed, and the same synapses"
        else:
            worst = min(v.spikes, key=lambda c: c.coincident_fraction)
            same = f"not identical ({100 * worst.coincident_fraction:.2f}% coincide in seed {worst.seed} {worst.layer})"
        need = "required: the network and the input are drawn by the model" if v.exact else "not required"
        print(f"spikes: {same} ({need})", file=sys.stderr)
    print(v.folder)
    return 0 if v.agree else 1


def cmd_run(args) -> int:
    from ..run.orchestrate import run
    from ..run.parallel import Parallel, launcher_rank, launcher_size

    if args.engine is not None:
        args.overrides = [*args.overrides, f"run.engine={args.engine}"]
    cfg, notes = load(args)
    quiet_rank = launcher_rank() != 0
    for n in notes:
        if not quiet_rank:
            print(f".env: {n}", file=sys.stderr)
    if launcher_size() > 1:
        from ..engines import registry

        spec = registry.engine_spec(cfg.run.engine)
        if not spec.mpi:
            able = [name for name, s in registry.ENGINES.items() if s.mpi]
            raise ConfigError(
                "run.engine",
                f"{cfg.run.engine!r} runs on one machine only; under an MPI launcher use one of: {', '.join(able)}",
            )
        if spec.mpi_check:
            problem = registry.load(spec.mpi_check)(launcher_size())
            if problem:
                raise EngineUnavailableError(problem)
    parallel = Parallel.from_launcher()
    result = run(
        cfg,
        parallel=parallel,
        progress=not args.no_progress,
        quiet=args.quiet,
        notes=notes,
        force=args.force,
        network=args.network,
        free_engine=not args.no_render,  # the rendering reuses the network's memory; else the process ends
    )
    code = 0
    if parallel.is_root:
        if not args.no_render and result.status == "complete":
            code = render_folder(result.folder, quiet=args.quiet, open_report=args.open or cfg.render.open)
        elif result.status == "interrupted" and not args.quiet:
            print(
                f"interrupted at {result.manifest.get('t_reached_ms', 0):g} ms; `spiking render {result.folder}` draws what was done",
                file=sys.stderr,
            )
        print(result.folder)
    if result.status == "failed":  # e.g. spikes.h5 could not be closed: the folder says so, and so does the status
        if parallel.is_root:
            error = str(result.manifest.get("error") or "see its manifest").splitlines()[0]
            print(
                f"spiking: error: the run failed: {error}; {result.folder}/manifest.json says failed", file=sys.stderr
            )
        return 1
    if result.status == "interrupted":
        sig = result.manifest.get("signal", "SIGINT")
        return 128 + int(getattr(signal, sig, signal.SIGINT))
    return code


def cmd_render(args) -> int:
    folder = Path(args.folder)
    overrides = {"frame_ms": args.frame_ms, "movie_format": args.movie_format}
    if args.no_movies:
        overrides["movies"] = False
    code = render_folder(folder, open_report=args.open, **overrides)
    if code == 0:
        print(folder / "index.html")
    return code
