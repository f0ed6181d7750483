"""``spiking experiment``: ``orientation`` (static gratings, each V1 neuron's orientation tuning) and
``receptive-fields`` (sparse noise, each V1 neuron's ON and OFF fields by reverse correlation)."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from ..engines.registry import DEFAULT_ENGINE, engine_names
from .common import config_args, load, positive_float, positive_int, render_folder

__all__ = ["register"]

#: The experiment's outputs, inside the run folder.
EXPERIMENT_DIR = "experiment"


def non_negative_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not (v >= 0 and math.isfinite(v)):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return v


def _run_options(p: argparse.ArgumentParser, seed_help: str) -> None:
    """The options every experiment shares: engine, seed, progress, quiet, render, force."""
    p.add_argument(
        "--engine",
        metavar="{" + ",".join(engine_names()) + "}",
        help=f"simulator (sets run.engine; default {DEFAULT_ENGINE})",
    )
    p.add_argument("--seed", type=int, metavar="N", help=seed_help)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--quiet", "-q", action="store_true", help="print only the run folder and errors")
    p.add_argument(
        "--render", action="store_true", help="also draw the run's usual plots, movies and report (slow for long runs)"
    )
    p.add_argument("--force", action="store_true", help="run even when the pre-flight estimate says it will not fit")


def _engine_and_seed(args) -> None:
    """``--engine`` and ``--seed`` as ``--set`` overrides of ``run.engine`` and ``run.seed``."""
    from ..errors import StimulusError

    if args.engine is not None:
        args.overrides = [*args.overrides, f"run.engine={args.engine}"]
    if args.seed is not None:
        if args.seed < 0:
            raise StimulusError(f"--seed must be >= 0, got {args.seed}")
        args.overrides = [*args.overrides, f"run.seed={args.seed}"]


def _run_experiment(args, cfg, notes, design, name: str, run_name: str, info: dict, analyse, what: str) -> int:
    """Run ``design``'s epochs as one run folder, record the experiment in its manifest, then ``analyse(folder)``.

    Prints the folder; when the run did not complete, says so with ``what`` (e.g. "no tuning was
    computed") and returns exit status 1 without analysing.
    """
    from ..config import from_mapping, to_mapping
    from ..io.runfolder import read_manifest, write_manifest
    from ..run.orchestrate import run

    data = to_mapping(cfg)
    data["stimulus"] = {**data.get("stimulus", {}), "epochs": design.epochs()}
    data["run"] = {**data.get("run", {}), "simulation_time": design.duration_ms}
    if not cfg.run.name:
        data["run"]["name"] = run_name
    cfg = from_mapping(data, base_dir=cfg.base_dir)
    result = run(
        cfg, progress=not args.no_progress, quiet=args.quiet, notes=notes, force=args.force, free_engine=args.render
    )
    folder = Path(result.folder)
    m = read_manifest(folder)
    m["experiment"] = {
        "name": name,
        "design": design.to_dict(),
        "skip_ms": args.skip,
        **info,
        "outputs": EXPERIMENT_DIR,
    }
    write_manifest(folder, m)
    if result.status != "complete":
        print(folder)
        print(f"spiking: error: the run is {result.status}; {what}", file=sys.stderr)
        return 1
    analyse(folder)
    code = render_folder(folder, quiet=args.quiet) if args.render else 0
    print(folder)
    return code


def register(sub) -> None:
    """Add ``experiment`` and its protocols to the ``spiking`` parser's subparsers."""
    p = sub.add_parser(
        "experiment",
        help="run a physiologist's protocol on the model and analyse it (orientation, receptive-fields)",
        description="Run a protocol on the model as one run folder and analyse V1's responses.",
    )
    protocols = p.add_subparsers(dest="protocol", metavar="PROTOCOL")
    protocols.required = True
    o = protocols.add_parser(
        "orientation",
        help="static gratings: each V1 neuron's preferred orientation, OSI, gOSI and responsiveness",
        description="Show static gratings (every orientation x sf x phase, --repeats times each, and blank trials, "
        "in an order shuffled by the seed, each trial followed by a blank) as one run, then write "
        "experiment/orientation_tuning.csv, experiment/summary.csv, experiment/tuning.png and "
        "experiment/orientation_map.png into the run folder. Print the folder.",
    )
    config_args(o)
    o.add_argument(
        "--orientations", type=positive_int, default=8, metavar="N", help="equally spaced in [0, 180), even (default 8)"
    )
    o.add_argument(
        "--sf",
        type=positive_float,
        nargs="+",
        default=[2.0, 4.0],
        metavar="CYCLES",
        help="spatial frequencies, cycles per pattern side (default 2 4)",
    )
    o.add_argument("--phases", type=positive_int, default=1, metavar="N", help="spatial phases in [0, 360) (default 1)")
    o.add_argument("--repeats", type=positive_int, default=5, metavar="N", help="trials per condition (default 5)")
    o.add_argument(
        "--blank-trials",
        type=positive_int,
        metavar="N",
        help="blank-screen trials for the responsiveness test (default 4 x --repeats)",
    )
    o.add_argument("--on", type=positive_float, default=250.0, metavar="MS", help="a trial's length (default 250 ms)")
    o.add_argument(
        "--blank",
        type=non_negative_float,
        default=250.0,
        metavar="MS",
        help="blank (mean grey) after each trial, not analysed (default 250 ms)",
    )
    o.add_argument(
        "--skip",
        type=non_negative_float,
        default=0.0,
        metavar="MS",
        help="leave out the first MS of each trial from its count (default 0)",
    )
    o.add_argument(
        "--contrast", type=positive_float, default=1.0, metavar="C", help="Michelson contrast, (0, 1] (default 1)"
    )
    _run_options(o, seed_help="sets run.seed, which also shuffles the trials")
    o.add_argument(
        "--analyse",
        metavar="FOLDER",
        help="run nothing: analyse a finished run of this experiment again (with this --skip), rewriting its "
        "experiment/ files; the design is the folder's",
    )
    o.set_defaults(func=cmd_orientation)
    _register_fields(protocols)


def _register_fields(protocols) -> None:
    r = protocols.add_parser(
        "receptive-fields",
        help="sparse noise: each V1 neuron's ON and OFF receptive fields by reverse correlation",
        description="Show frames of sparse noise (white and black squares on grey, seeded) one after another as "
        "one run, then write experiment/receptive_fields.csv, experiment/summary.csv, "
        "experiment/receptive_fields.npz (the maps) and experiment/receptive_fields.png into the run folder. "
        "Print the folder.",
    )
    config_args(r)
    r.add_argument("--grid", type=positive_int, default=11, metavar="N", help="squares per pattern side (default 11)")
    r.add_argument("--frames", type=positive_int, default=1000, metavar="N", help="frames shown (default 1000)")
    r.add_argument(
        "--frame", type=positive_float, default=100.0, metavar="MS", help="a frame's length (default 100 ms)"
    )
    r.add_argument(
        "--density",
        type=positive_float,
        default=0.05,
        metavar="P",
        help="share of the squares white or black in a frame, (0, 1] (default 0.05)",
    )
    r.add_argument(
        "--distance",
        type=positive_int,
        default=1,
        metavar="N",
        help="least distance between two non-grey squares of a frame, in squares (default 1: none)",
    )
    r.add_argument(
        "--contrast", type=positive_float, default=1.0, metavar="C", help="Michelson contrast, (0, 1] (default 1)"
    )
    r.add_argument(
        "--skip",
        type=non_negative_float,
        default=0.0,
        metavar="MS",
        help="leave out the first MS of each frame from its count (default 0)",
    )
    _run_options(r, seed_help="sets run.seed, which also draws the noise")
    r.set_defaults(func=cmd_fields)


def cmd_fields(args) -> int:
    from ..analysis.receptive import NoiseDesign, analyse_rf_run, write_fields
    from ..errors import StimulusError
    from ..render.receptive import plot_fields

    _engine_and_seed(args)
    if args.frames < 2:
        raise StimulusError(f"--frames must be at least 2, got {args.frames}")
    if args.skip >= args.frame:
        raise StimulusError(f"--skip must be shorter than --frame ({args.frame:g} ms), got {args.skip:g}")
    cfg, notes = load(args)
    design = NoiseDesign(
        grid=args.grid,
        frames=args.frames,
        frame_ms=args.frame,
        density=args.density,
        distance=args.distance,
        contrast=args.contrast,
        seed=cfg.run.seed,
    )
    design.signed()  # the density must fit the grid: refused here, before any folder is made

    def analyse(folder: Path) -> None:
        _, layers = analyse_rf_run(folder, skip_ms=args.skip)
        out = folder / EXPERIMENT_DIR
        write_fields(out, layers)
        plot_fields(layers, out / "receptive_fields.png")
        if not args.quiet:
            for t in layers:
                print(f"{t.layer:7s} with a field {int(t.has_field.sum())}/{t.has_field.size}", file=sys.stderr)

    return _run_experiment(
        args, cfg, notes, design, "receptive-fields", "fields", {}, analyse, "no fields were computed"
    )


def cmd_orientation(args) -> int:
    from ..analysis.orientation import OrientationDesign
    from ..analysis.tuning import ALPHA
    from ..errors import StimulusError

    if args.analyse is not None:
        return _analyse_again(args)
    _engine_and_seed(args)
    cfg, notes = load(args)
    design = OrientationDesign(
        orientations=args.orientations,
        sfs=tuple(args.sf),
        phases=args.phases,
        repeats=args.repeats,
        blank_trials=args.blank_trials if args.blank_trials is not None else 4 * args.repeats,
        on_ms=args.on,
        blank_ms=args.blank,
        contrast=args.contrast,
        seed=cfg.run.seed,
    )
    if args.skip >= args.on:
        raise StimulusError(f"--skip must be shorter than --on ({args.on:g} ms), got {args.skip:g}")

    def analyse(folder: Path) -> None:
        _write_analysis(folder, args.skip, args.quiet)

    info = {"alpha": ALPHA}
    return _run_experiment(
        args, cfg, notes, design, "orientation", "orientation", info, analyse, "no tuning was computed"
    )


def _write_analysis(folder: Path, skip_ms: float, quiet: bool) -> None:
    """Analyse the run folder and write ``experiment/``: tables, tuning curves, the orientation map."""
    from ..analysis.orientation import analyse_run, write_tables
    from ..render.orientation import plot_orientation_maps, plot_tuning

    _, layers = analyse_run(folder, skip_ms=skip_ms)
    out = folder / EXPERIMENT_DIR
    write_tables(out, layers)
    plot_tuning(layers, out / "tuning.png", skip_ms=skip_ms)
    plot_orientation_maps(layers, out / "orientation_map.png")
    if not quiet:
        for t in layers:
            r = t.responsive
            print(
                f"{t.layer:7s} responsive {int(r.sum())}/{r.size}  median OSI {_median(t.osi[r]):.2f}  "
                f"median gOSI {_median(t.gosi[r]):.2f}",
                file=sys.stderr,
            )


#: Options that shape a run: meaningless with --analyse, which runs nothing.
_RUN_ONLY = ("config", "overrides", "preset", "env_file", "engine", "seed", "render", "force")


def _analyse_again(args) -> int:
    """``--analyse FOLDER``: the analysis of a finished run again, with this ``--skip``; nothing is simulated."""
    from ..errors import RunFolderError
    from ..io.runfolder import read_manifest, write_manifest

    given = [name for name in _RUN_ONLY if getattr(args, name, None) not in (None, False, [])]
    if given:
        option = (
            "CONFIG.toml"
            if given[0] == "config"
            else "--" + {"overrides": "set", "env_file": "env"}.get(given[0], given[0])
        )
        raise RunFolderError(f"--analyse runs nothing, so {option} has no effect; give the folder and --skip only")
    folder = Path(args.analyse)
    if not folder.is_dir():
        raise RunFolderError(f"{folder}: no such run folder")
    _write_analysis(folder, args.skip, args.quiet)  # refuses folders that are not a finished run of this experiment
    m = read_manifest(folder)
    m["experiment"]["skip_ms"] = args.skip
    write_manifest(folder, m)
    print(folder)
    return 0


def _median(values):
    import numpy as np

    v = values[np.isfinite(values)]
    return float(np.median(v)) if v.size else float("nan")
