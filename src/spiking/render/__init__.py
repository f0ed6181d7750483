"""Rendering a run folder: movies, rate plots and the HTML report, from its files alone (no simulator).

Everything is computed from ``spikes.h5``, ``config.toml``, ``schedule.csv``
and ``manifest.json`` (plus the ``retina/`` snapshots when present); NEST is
never imported. Spikes are read forward in blocks, so memory is bounded by
a few chunks of frames, not by the number of spikes.

Files written, relative to the run folder::

    index.html                              the report
    movies/activity.<mp4|gif>               stimulus, retina and all recorded layers in sync
    movies/<layer>.<mp4|gif>                one per recorded grid layer
    rates/population_rates.png, .csv        population rate of each layer over time
    rates/raster.png                        raster of a sample of each layer
    rates/rates_by_pattern.csv              mean rate per layer and pattern
    rates/ratemap-<layer>-<pattern>.png     per-neuron rate map per layer and pattern
    rates/spike_statistics.csv, .png        ISI CV, Fano factor, pairwise correlations (Elephant)
    plasticity/                             with plastic projections: weights over time, receptive
                                            fields, pattern selectivity (:mod:`.plasticity`)
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from .frames import bin_frames, colorize, frame_count, frame_images, scale_counts
from .latency import write_first_spikes
from .movies import movie_size, write_movies
from .plasticity import write_plasticity
from .rates import RATES_DIR, write_rates
from .report import MOVIES_DIR, write_report
from .source import load_run
from .statistics import preload_elephant, write_statistics

__all__ = [
    "render_run",
    "bin_frames",
    "frame_count",
    "frame_images",
    "scale_counts",
    "colorize",
    "movie_size",
    "load_run",
    "write_movies",
    "write_rates",
    "write_report",
]


def render_run(
    folder,
    *,
    frame_ms: float | None = None,
    movie_format: str | None = None,
    movies: bool | None = None,
    progress: bool = False,
) -> dict:
    """(Re)draw the movies, rate plots and report of a run folder.

    Parameters
    ----------
    folder : path-like
        A run folder (``manifest.json``, ``config.toml``, ``spikes.h5``, ...). A run
        that was interrupted is drawn up to the manifest's ``t_reached_ms``.
    frame_ms : float, optional
        Movie frame length, ms (default: the config's ``render.frame_ms``).
    movie_format : {"mp4", "gif"}, optional
        Default: the config's ``render.movie_format``.
    movies : bool, optional
        Draw the movies (default: the config's ``render.movies``).
    progress : bool
        Progress bars on stderr.

    Returns
    -------
    dict
        ``folder`` (Path), ``files`` (relative to the folder, sorted), ``index`` (``index.html``),
        ``timings_s`` (wall time of ``movies``, ``rates``, ``statistics``, ``plasticity`` when there
        are plastic projections, ``first_spikes`` with latency coding, ``report`` and ``total``, s), ``frames``, ``frame_ms``, ``fps``, ``movie_format``, ``t_end_ms`` and ``status``.

    Raises
    ------
    RunFolderError
        Not a run folder, no ``spikes.h5``, or a file cannot be written.
    ConfigError
        An override is invalid (``frame_ms`` below ``run.resolution``, an unknown format).
    """
    t_all = time.perf_counter()
    frame_ms = None if frame_ms is None else float(frame_ms)
    src = load_run(folder, {"frame_ms": frame_ms, "movie_format": movie_format, "movies": movies})
    r = src.config.render
    timings: dict[str, float] = {}
    files: list[Path] = []

    movie_info, rates, stats = _movies_and_rates(src, files, timings, progress)

    t0 = time.perf_counter()
    plasticity = write_plasticity(src)
    if plasticity:
        files += plasticity["files"]
        timings["plasticity"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    first = write_first_spikes(src, src.folder / RATES_DIR)
    if first:
        files += first["files"]
        timings["first_spikes"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    index = write_report(
        src,
        movie_info=movie_info,
        rates_info=rates,
        render_timings=dict(timings),
        statistics=stats["rows"],
        plasticity=plasticity,
        first_spikes=first,
    )
    files.append(index)
    timings["report"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - t_all
    return {
        "folder": src.folder,
        "files": sorted(Path(p).relative_to(src.folder).as_posix() for p in files),
        "index": index,
        "timings_s": {k: round(v, 4) for k, v in timings.items()},
        "frames": frame_count(src.t_end, r.frame_ms),
        "frame_ms": r.frame_ms,
        "fps": r.fps,
        "movie_format": r.movie_format,
        "t_end_ms": src.t_end,
        "status": src.status,
    }


def _movies_and_rates(src, files: list[Path], timings: dict[str, float], progress: bool) -> tuple[dict, dict, dict]:
    """Movies, rate plots and spike statistics, their files added to ``files`` and their times to ``timings``.

    The rate plots and statistics (numpy, Elephant and matplotlib in this process) are drawn in a
    thread while the movies are encoded (ffmpeg in other processes): each part's wall time is its own.
    """
    worker = _RatesWorker(src)
    worker.start()
    try:
        t0 = time.perf_counter()
        movie_info = _movies(src, files, progress)
        timings["movies"] = time.perf_counter() - t0
    finally:
        worker.join()
    if worker.error is not None:
        raise worker.error
    rates, stats = worker.rates, worker.statistics
    files += rates["files"] + stats["files"]
    timings.update(worker.timings)
    return movie_info, rates, stats


class _RatesWorker(threading.Thread):
    """Rates, then spike statistics, in a thread; Elephant is imported in another while the rates are counted."""

    def __init__(self, src):
        super().__init__(name="render rates", daemon=True)
        self.src = src
        self.rates: dict = {}
        self.statistics: dict = {}
        self.timings: dict[str, float] = {}
        self.error: BaseException | None = None

    def start(self) -> None:
        threading.Thread(target=preload_elephant, name="import elephant", daemon=True).start()
        super().start()

    def run(self) -> None:
        try:
            t = time.perf_counter()
            self.rates = write_rates(self.src, progress=False)
            self.timings["rates"] = time.perf_counter() - t
            t = time.perf_counter()
            self.statistics = write_statistics(self.src, self.rates, self.src.folder / RATES_DIR)
            self.timings["statistics"] = time.perf_counter() - t
        except BaseException as err:  # noqa: BLE001 - re-raised by render_run
            self.error = err


def _movies(src, files: list, progress: bool) -> dict | None:
    """Draw the movies the config asks for; what the report says of them (None: none drawn)."""
    r = src.config.render
    if not r.movies:
        return None
    res = write_movies(
        src, frame_ms=r.frame_ms, fps=r.fps, fmt=r.movie_format, folder=src.folder / MOVIES_DIR, progress=progress
    )
    files += res["files"]
    _drop_other_format(src.folder / MOVIES_DIR, res["files"], r.movie_format)
    return {"format": r.movie_format, "frame_ms": r.frame_ms, "fps": r.fps, "frames": res["frames"]}


def _drop_other_format(folder: Path, written: list[Path], fmt: str) -> None:
    """Remove movies of an earlier render in the other format, so the folder holds one set."""
    other = "gif" if fmt == "mp4" else "mp4"
    for p in [folder / f"{w.stem}.{other}" for w in written]:
        try:
            p.unlink()
        except FileNotFoundError:
            pass
