"""Activity movies: one per recorded grid layer and a combined one, streamed to ffmpeg chunk by chunk.

This module owns what the movies show and the pass over the spikes: the
movies' sizes, the layout of the combined movie (panels, labels, colour bar,
per-pattern stills of the stimulus and retina), the colour tables of spike
counts, and :func:`write_movies`. Frames are composed in numpy in the
encoder's pixel format (:mod:`.canvas`, from lookup tables applied at the
layers' own resolution and nearest-neighbour maps to the movie's pixels) and
piped to one ffmpeg process and writer thread per movie (:mod:`.encoder`).
Memory is bounded by a few chunks of frames per movie, whatever the number of
spikes.
"""

from __future__ import annotations

import math
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..machine import usable_cpus
from .canvas import HEADER, MARGIN, Header, Movie, Panel, font
from .encoder import GREY0, NV, EncoderSpec, combined_palette, grey_index, level_to_index
from .frames import frame_count, viridis_lut
from .source import RunSource, pattern_labels, stimulus_images
from .spikes import FrameCounter, LayerInfo, SpikeBlocks, layer_infos, open_spikes

__all__ = [
    "MOVIE_MIN_SIDE",
    "PANEL_SIDE",
    "movie_scale",
    "movie_size",
    "combined_layout",
    "combined_palette",
    "write_movies",
]

#: Smallest side of a layer movie, pixels (layers are enlarged by an integer factor to at least this).
MOVIE_MIN_SIDE = 256
#: Side of one panel of the combined movie, pixels.
PANEL_SIDE = 192
_LABEL = 18
_FOOTER = 38
#: Bytes of frames per chunk handed to one encoder.
_CHUNK_BYTES = 8 << 20
#: Above this share of (frame, node) pairs with spikes, frames are drawn by lookup of every node, below by painting.
_DENSE = 0.05
_INPUT_LAYERS = ("lgn_on", "lgn_off")


# ---- sizes and layout -----------------------------------------------------------------


def movie_scale(side: int) -> int:
    """Integer enlargement of a layer movie.

    The smallest factor giving at least :data:`MOVIE_MIN_SIDE` pixels, plus one
    when that would make an odd side above 1x (H.264 needs even sides).

    Parameters
    ----------
    side : int
        Grid side of the layer.

    Returns
    -------
    int
    """
    if side < 1:
        raise ValueError(f"side must be >= 1, got {side}")
    f = max(1, math.ceil(MOVIE_MIN_SIDE / side))
    if f > 1 and (side * f) % 2:
        f += 1
    return f


def movie_size(side: int) -> tuple[int, int]:
    """``(width, height)`` in pixels of the movie of a ``side x side`` layer.

    ``side * movie_scale(side)``; an odd side of at least :data:`MOVIE_MIN_SIDE`
    gets one more pixel (one row and column shown twice) to make it even.
    """
    s = side * movie_scale(side)
    s += s % 2
    return s, s


def combined_layout(layers: list[LayerInfo], panel: int = PANEL_SIDE) -> tuple[int, int, list[Panel]]:
    """Size and panels of the combined movie.

    Top row: the stimulus, the retina ON and OFF rates and any recorded LGN
    layer; bottom row: the other recorded grid layers (the V1 layers).

    Returns
    -------
    width, height : int
        Pixels (even).
    panels : list
        Each with ``x, y, size, side, label`` and ``layer`` (the spike layer) or ``kind``.
    """
    grid = [i for i in layers if i.side > 0]
    top = [
        ("stimulus", "stimulus", None),
        ("retina ON rate", "retina_on", None),
        ("retina OFF rate", "retina_off", None),
    ]
    top += [(f"{i.name} ({i.side}x{i.side})", "", i) for i in grid if i.name in _INPUT_LAYERS]
    bottom = [(f"{i.name} ({i.side}x{i.side})", "", i) for i in grid if i.name not in _INPUT_LAYERS]
    rows = [top] + ([bottom] if bottom else [])
    ncols = max(len(r) for r in rows)
    w = MARGIN + ncols * (panel + MARGIN)
    h = HEADER + len(rows) * (_LABEL + panel + MARGIN) + _FOOTER
    panels = []
    for i, row in enumerate(rows):
        for j, (label, kind, info) in enumerate(row):
            x = MARGIN + j * (panel + MARGIN)
            y = HEADER + i * (_LABEL + panel + MARGIN) + _LABEL
            panels.append(Panel(x, y, panel, info.side if info else 0, label, info.name if info else None, kind))
    return w + w % 2, h + h % 2, panels


def _combined_template(w: int, h: int, panels: list[Panel], max_rate: float, frame_ms: float) -> np.ndarray:
    """Static parts of the combined frame in palette indices: labels, the colour bar and its caption."""
    from PIL import Image, ImageDraw

    mask = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(mask)
    f = font(13)
    for pn in panels:
        d.text((pn.x, pn.y - _LABEL + 2), pn.label, fill=255, font=f)
    bar_y = h - _FOOTER + 6
    per_spike = 1000.0 / frame_ms
    d.text((MARGIN, bar_y + 12), "0 Hz", fill=255, font=f)
    right = f"{max_rate:g} Hz"
    d.text((w - MARGIN - d.textlength(right, font=f), bar_y + 12), right, fill=255, font=f)
    caption = f"colour: rate (retina) or spikes per frame x {per_spike:g} Hz (V1), capped"
    d.text(((w - d.textlength(caption, font=f)) / 2, bar_y + 12), caption, fill=255, font=f)
    idx = GREY0 + (np.asarray(mask, dtype=np.uint16) * (255 - GREY0) + 127) // 255
    idx = idx.astype(np.uint8)
    for pn in panels:
        idx[pn.y - 1 : pn.y + pn.size + 1, pn.x - 1 : pn.x + pn.size + 1] = GREY0 + 16  # a grey outline
        idx[pn.y : pn.y + pn.size, pn.x : pn.x + pn.size] = GREY0
    x0, x1 = MARGIN, w - MARGIN
    xs = np.arange(x1 - x0) // 2 * 2
    idx[bar_y : bar_y + 10, x0:x1] = np.round(xs / max(1, xs[-1]) * (NV - 1)).astype(np.uint8)[None]
    return idx


def _still_images(panel: Panel, patterns: list[str], images: dict, max_rate: float) -> np.ndarray:
    """Palette indices ``(n_patterns, size, size)`` of a stimulus or retina panel, per pattern."""
    from PIL import Image, ImageDraw

    out = np.full((len(patterns), panel.size, panel.size), GREY0 + 6, dtype=np.uint8)
    lti = level_to_index()
    for k, p in enumerate(patterns):
        imgs = images.get(p)
        if imgs is None:
            mask = Image.new("L", (panel.size, panel.size), 0)
            ImageDraw.Draw(mask).text((8, panel.size // 2 - 8), "not available", fill=255, font=font(13))
            out[k] = np.maximum(out[k], GREY0 + (np.asarray(mask, dtype=np.uint16) * 63 // 255).astype(np.uint8))
            continue
        img = {"stimulus": imgs[0], "retina_on": imgs[1], "retina_off": imgs[2]}[panel.kind]
        side = img.shape[0]
        src = (np.arange(panel.size) * side) // panel.size
        a = img[src][:, src]
        if panel.kind == "stimulus":
            out[k] = grey_index(a)
        else:
            levels = (
                np.clip(np.floor(a / max_rate * 255 + 1e-9), 0, 255).astype(np.uint8)
                if max_rate > 0
                else np.zeros_like(a, dtype=np.uint8)
            )
            out[k] = lti[levels]
    return out


# ---- colour tables and time --------------------------------------------------------------


def _count_tables(frame_ms: float, max_rate: float) -> tuple[int, np.ndarray]:
    """``(K, levels)``: spikes per frame capped at ``K`` and the viridis level of 0..K spikes (see ``scale_counts``)."""
    per_spike = 255.0 * 1000.0 / (frame_ms * max_rate) if max_rate > 0 else 255.0
    k = max(1, math.ceil(255.0 / per_spike - 1e-9))
    levels = np.minimum(np.floor(np.arange(k + 1) * per_spike + 1e-9), 255).astype(np.uint8)
    return k, levels


def _time_format(frame_ms: float) -> int:
    """Decimals that write every frame's start time (ms) exactly, at most 3."""
    for d in range(4):
        x = frame_ms * 10**d
        if abs(x - round(x)) < 1e-6:
            return d
    return 3


@dataclass(frozen=True)
class _Timeline:
    """Which pattern each frame shows, and the header line that says so."""

    frame_ms: float
    n_frames: int
    patterns: list[str]
    labels: dict
    starts: np.ndarray
    epoch_pattern: np.ndarray
    decimals: int

    @classmethod
    def of(cls, src: RunSource, frame_ms: float, n_frames: int) -> _Timeline:
        patterns = src.patterns or [""]
        starts = np.array([e.start for e in src.schedule] or [0.0])
        epoch_pattern = np.array([patterns.index(e.pattern) for e in src.schedule] or [0])
        return cls(
            frame_ms, n_frames, patterns, pattern_labels(patterns), starts, epoch_pattern, _time_format(frame_ms)
        )

    def frames(self, f0: int, f1: int) -> tuple[np.ndarray, np.ndarray]:
        """Start times (ms) of frames ``f0..f1-1`` and the index of the pattern each shows."""
        t0 = np.arange(f0, f1) * self.frame_ms
        epoch = np.searchsorted(self.starts, t0 + 1e-9 * self.frame_ms, side="right") - 1
        return t0, self.epoch_pattern[np.clip(epoch, 0, len(self.starts) - 1)]

    def header(self, f: int, t: float, pattern: int) -> tuple[list, list]:
        """Left and right parts of frame ``f``'s header (see :meth:`spiking.render.canvas.Header.draw`)."""
        label = self.labels[self.patterns[pattern]]
        left = [("t = ", True), (f"{t:.{self.decimals}f}", False), (f" ms    pattern: {label}", True)]
        return left, [("frame ", True), (str(f + 1), False), (f" / {self.n_frames}", True)]


# ---- the movies of a run -------------------------------------------------------------------


@dataclass(frozen=True)
class _Output:
    """Where and how the movies are written: folder, format, playback rate, frames per chunk, scratch folder."""

    folder: Path
    fmt: str
    fps: int
    chunk: int
    tmpdir: Path

    def movie(self, name: str, size: tuple[int, int], palette, template, panels, threads: int = 1) -> Movie:
        """Start the movie ``<folder>/<name>.<fmt>``."""
        spec = EncoderSpec(self.folder / f"{name}.{self.fmt}", self.fmt, self.fps, *size, palette, threads)
        return Movie(spec, template, panels, self.chunk, self.tmpdir)


@dataclass(frozen=True)
class _LayerMovie:
    """A grid layer's movie, its spike counter, colour tables and panel in the combined movie."""

    info: LayerInfo
    counter: FrameCounter
    movie: Movie
    panel: Panel
    luts: list
    combined_panel: Panel


@dataclass(frozen=True)
class _Combined:
    """The combined movie, its colour tables for spike counts, per-pattern stills and header."""

    movie: Movie
    panels: list
    luts: list
    stills: dict
    header: Header


def _chunk_frames(w: int, h: int, fmt: str, n_frames: int) -> int:
    """Frames per chunk: about :data:`_CHUNK_BYTES` of the combined movie's raw frames, 4 to 200."""
    frame_bytes = w * h * 3 // 2 if fmt == "mp4" else w * h * 3
    return int(max(4, min(200, _CHUNK_BYTES // frame_bytes, n_frames)))


def _open_layers(out: _Output, src, h5, infos, panels, count_levels, frame_ms, opened: list) -> list[_LayerMovie]:
    """One movie per grid layer: a single panel filling the frame, viridis levels as palette indices."""
    in_combined = {pn.layer: pn for pn in panels if pn.layer is not None}
    counters = {i.name: FrameCounter(SpikeBlocks(h5, i.name, src.t_end), i.n_nodes, frame_ms, src.t_end) for i in infos}
    layers = []
    for i in infos:
        w, h = movie_size(i.side)
        pn = Panel(0, 0, w, i.side, layer=i.name)
        mv = out.movie(i.name, (w, h), viridis_lut(), np.zeros((h, w), np.uint8), [pn])
        opened.append(mv)
        luts = [p.lut[count_levels] for p in mv.planes]
        layers.append(_LayerMovie(i, counters[i.name], mv, pn, luts, in_combined[i.name]))
    return layers


def _open_combined(out: _Output, src, layout, timeline: _Timeline, max_rate, count_levels, opened: list) -> _Combined:
    """The combined movie: template, colour tables, the stills of every pattern and the header."""
    w, h, panels = layout
    template = _combined_template(w, h, panels, max_rate, timeline.frame_ms)
    n_layer_movies = sum(pn.layer is not None for pn in panels)  # their encoders run alongside
    threads = max(1, min(4, usable_cpus() - n_layer_movies))
    mv = out.movie("activity", (w, h), combined_palette(), template, panels, threads)
    opened.append(mv)
    luts = [p.lut[level_to_index()[count_levels]] for p in mv.planes]
    images = stimulus_images(src)
    stills = {}
    for pn in panels:
        if pn.layer is None:
            idx = _still_images(pn, timeline.patterns, images, max_rate)
            stills[id(pn)] = [p.lut[idx[:, :: p.sub, :: p.sub]] for p in mv.planes]
    return _Combined(mv, panels, luts, stills, Header(w, mv.planes))


def _draw_layer(lm: _LayerMovie, comb: _Combined, cbuf: np.ndarray, f0: int, f1: int, cap: int) -> None:
    """Draw frames ``f0..f1-1`` of a layer into its movie and its panel of the combined movie's buffer."""
    n, nn = f1 - f0, lm.info.n_nodes
    keys, cnt = lm.counter.sparse(f0, f1)
    np.minimum(cnt, cap, out=cnt)
    buf = lm.movie.next_buffer(n)
    if keys.size > _DENSE * n * nn:  # many nodes spike: look up every node
        c = np.zeros(n * nn, dtype=np.intp)
        c[keys] = cnt
        c = c.reshape(n, nn)
        lm.movie.put_layer(buf, n, lm.panel, [lut[c] for lut in lm.luts])
        comb.movie.put_layer(cbuf, n, lm.combined_panel, [lut[c] for lut in comb.luts])
    else:  # few: clear and paint the ones that spiked
        lm.movie.clear_layer(buf, n, lm.panel, [int(lut[0]) for lut in lm.luts])
        lm.movie.paint_layer(buf, n, lm.panel, keys, cnt, lm.luts)
        comb.movie.clear_layer(cbuf, n, lm.combined_panel, [int(lut[0]) for lut in comb.luts])
        comb.movie.paint_layer(cbuf, n, lm.combined_panel, keys, cnt, comb.luts)
    lm.movie.submit(buf, n)


def _draw_chunk(layers: list[_LayerMovie], comb: _Combined, timeline: _Timeline, f0: int, f1: int, cap: int) -> None:
    """Draw and submit frames ``f0..f1-1`` of every movie."""
    n = f1 - f0
    t0, which = timeline.frames(f0, f1)
    cbuf = comb.movie.next_buffer(n)
    for lm in layers:
        _draw_layer(lm, comb, cbuf, f0, f1, cap)
    for pn in comb.panels:
        if pn.layer is None:
            comb.movie.put_still(cbuf, n, pn, comb.stills[id(pn)], which)
    for k in range(n):
        comb.header.draw(cbuf, k, *timeline.header(f0 + k, t0[k], which[k]))
    comb.movie.submit(cbuf, n)


def _progress_bar(n_frames: int):
    from tqdm import tqdm

    return tqdm(total=n_frames, unit="frame", desc="movies", file=sys.stderr)


def write_movies(
    src: RunSource, *, frame_ms: float, fps: int, fmt: str = "mp4", folder: Path | None = None, progress: bool = False
) -> dict:
    """Write ``movies/<layer>.<fmt>`` for each recorded grid layer and ``movies/activity.<fmt>``.

    Frame ``k`` shows the spikes in ``[k*frame_ms, (k+1)*frame_ms)`` ms, coloured by
    :func:`spiking.render.frames.scale_counts` (with the retina's ``max_rate``) and
    viridis; there are ``ceil(t_end / frame_ms)`` frames played at ``fps``.
    Layer movies are the grid enlarged by :func:`movie_scale` (nearest); the
    combined movie shows the stimulus, the retina ON/OFF rates and every
    recorded layer side by side, each frame labelled with its time and pattern.

    Parameters
    ----------
    src : RunSource
    frame_ms : float
        ms per frame.
    fps : int
        Frames per second of playback.
    fmt : {"mp4", "gif"}
    folder : Path, optional
        Where the movies go (default ``<run>/movies``).
    progress : bool
        A progress bar on stderr.

    Returns
    -------
    dict
        ``files`` (list of Path), ``frames`` (int), ``sizes`` (name -> (w, h)).
    """
    if fmt not in ("mp4", "gif"):
        raise ValueError(f"movie format must be mp4 or gif, got {fmt!r}")
    out_dir = Path(folder) if folder is not None else src.folder / "movies"
    n_frames = frame_count(src.t_end, frame_ms)
    result = {"files": [], "frames": n_frames, "sizes": {}}
    if n_frames == 0:
        return result
    out_dir.mkdir(parents=True, exist_ok=True)
    max_rate = float(src.config.retina.max_rate)
    cap, count_levels = _count_tables(frame_ms, max_rate)
    timeline = _Timeline.of(src, frame_ms, n_frames)
    with tempfile.TemporaryDirectory(prefix="spiking-render-") as tmp:
        h5 = open_spikes(src.spikes_path)
        opened: list[Movie] = []
        bar = None
        try:
            infos = [i for i in layer_infos(h5) if i.side > 0]
            layout = combined_layout(infos)
            out = _Output(out_dir, fmt, fps, _chunk_frames(layout[0], layout[1], fmt, n_frames), Path(tmp))
            layers = _open_layers(out, src, h5, infos, layout[2], count_levels, frame_ms, opened)
            comb = _open_combined(out, src, layout, timeline, max_rate, count_levels, opened)
            result["sizes"] = {lm.info.name: (lm.movie.w, lm.movie.h) for lm in layers}
            result["sizes"]["activity"] = layout[:2]
            bar = _progress_bar(n_frames) if progress else None
            for f0 in range(0, n_frames, out.chunk):
                f1 = min(n_frames, f0 + out.chunk)
                _draw_chunk(layers, comb, timeline, f0, f1, cap)
                if bar is not None:
                    bar.update(f1 - f0)
            result["files"] = [mv.encoder.close() for mv in opened]
            opened = []
        finally:
            if bar is not None:
                bar.close()
            for mv in opened:
                mv.encoder.abort()
            h5.close()
    return result
