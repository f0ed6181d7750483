"""Helpers shared by the commands: config arguments, number types, loading a config, drawing a run."""

from __future__ import annotations

import argparse
import logging
import math
import sys
from pathlib import Path

from ..errors import SpikingError

__all__ = ["config_args", "positive_float", "positive_int", "load", "render_folder"]

logger = logging.getLogger(__name__)


def config_args(p: argparse.ArgumentParser, env: bool = True) -> None:
    p.add_argument(
        "config", nargs="?", metavar="CONFIG.toml", help="config file (default: the original model's defaults)"
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override one key, e.g. --set network.hypercolumns=4 (repeatable; values are TOML)",
    )
    p.add_argument("--preset", metavar="NAME", help="start from a preset: small (one hypercolumn, 400 ms) or default")
    if env:
        p.add_argument(
            "--env", dest="env_file", metavar="FILE", help="read an original .env file (says which keys it mapped)"
        )


def positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not (v > 0 and math.isfinite(v)):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return v


def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def load(args):
    from ..config import load_config

    cfg, notes = load_config(
        None if getattr(args, "defaults", False) else args.config,
        overrides=args.overrides,
        preset=args.preset,
        env_file=getattr(args, "env_file", None),
    )
    return cfg, notes


def render_folder(folder: Path, quiet: bool = False, open_report: bool = False, **overrides) -> int:
    """Draw connectivity plots, movies, rates and the report; record the timings in the manifest."""
    import time

    from ..config import from_mapping, read_toml
    from ..errors import RunFolderError
    from ..io.runfolder import read_manifest, write_manifest
    from ..izhikevich.runs import KIND_PREFIX
    from ..model.network import build_model
    from ..render import render_run
    from ..render.connectivity import plot_connectivity

    kind = str(read_manifest(folder).get("kind", ""))  # a run folder at all?
    if kind.startswith(KIND_PREFIX):
        raise RunFolderError(
            f"{folder}: a `spiking izhikevich {kind[len(KIND_PREFIX) :]}` run has no pathway to render; "
            "its figures were drawn when it ran"
        )
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
        logger.debug("where rendering %s failed:", folder, exc_info=True)
        return 1
    timings = {"connectivity": round(t_conn, 3), **{k: round(v, 3) for k, v in info.get("timings_s", {}).items()}}
    timings["total"] = round(time.perf_counter() - t0, 3)
    m = read_manifest(folder)
    m["render"] = {
        "timings_s": timings,
        "frames": info.get("frames"),
        "frame_ms": info.get("frame_ms"),
        "movie_format": info.get("movie_format"),
        "connectivity_plots": len(conn),
    }
    write_manifest(folder, m)
    if not quiet:
        print(f"render     {timings['total']:7.2f} s   report {info['index']}", file=sys.stderr)
    if open_report:
        import webbrowser

        webbrowser.open(Path(info["index"]).resolve().as_uri())
    return 0
