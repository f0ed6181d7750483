"""Activity movies: one per recorded grid layer and a combined one, streamed to ffmpeg chunk by chunk.

Frames are composed in numpy directly in the encoder's pixel format (planar
YUV 4:2:0 for H.264 MP4, planar RGB for GIF) from lookup tables applied at the
layers' own resolution and nearest-neighbour maps to the movie's pixels, and
piped to imageio-ffmpeg's ffmpeg binary (no shell, no system ffmpeg), one
process and writer thread per movie. Memory is bounded by a few chunks of
frames per movie, whatever the number of spikes.
"""

from __future__ import annotations

import fcntl
import math
import os
import queue
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import RunFolderError
from ..run.resources import usable_cpus
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
_MARGIN = 8
_HEADER = 28
_LABEL = 18
_FOOTER = 38
#: Bytes of frames per chunk handed to one encoder, and chunks queued per encoder.
_CHUNK_BYTES = 8 << 20
_QUEUE = 2
#: Above this share of (frame, node) pairs with spikes, frames are drawn by lookup of every node, below by painting.
_DENSE = 0.05
_INPUT_LAYERS = ("lgn_on", "lgn_off")
# Combined palette: 0..191 viridis, 192..255 greys (192 black, 255 white).
_NV = 192
_GREY0 = 192
_WHITE = 255


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


def combined_palette() -> np.ndarray:
    """The 256 colours of the combined movie: 0..191 viridis, 192..255 greys from black to white.

    Returns
    -------
    ndarray of uint8, shape (256, 3)
    """
    v = viridis_lut()
    pal = np.empty((256, 3), dtype=np.uint8)
    pal[:_NV] = v[np.round(np.arange(_NV) * 255 / (_NV - 1)).astype(int)]
    g = np.round(np.arange(256 - _GREY0) * 255 / (255 - _GREY0)).astype(np.uint8)
    pal[_GREY0:] = g[:, None]
    return pal


def _level_to_index() -> np.ndarray:
    """Viridis level 0..255 -> combined palette index 0..191."""
    return np.round(np.arange(256) * (_NV - 1) / 255).astype(np.uint8)


def _grey_index(values: np.ndarray) -> np.ndarray:
    """Grey levels in [0, 1] -> combined palette index 192..255."""
    return (_GREY0 + np.round(np.clip(values, 0, 1) * (255 - _GREY0))).astype(np.uint8)


def _yuv_luts(rgb: np.ndarray) -> list[np.ndarray]:
    """BT.601 limited-range Y, Cb, Cr of each palette colour (what players assume for SD and tagged smpte170m)."""
    c = rgb.astype(np.float64) / 255.0
    r, g, b = c[:, 0], c[:, 1], c[:, 2]
    y = 16 + 65.481 * r + 128.553 * g + 24.966 * b
    u = 128 - 37.797 * r - 74.203 * g + 112.0 * b
    v = 128 + 112.0 * r - 93.786 * g - 18.214 * b
    return [np.clip(np.round(a), 0, 255).astype(np.uint8) for a in (y, u, v)]


# ---- encoder --------------------------------------------------------------------


@dataclass(frozen=True)
class _Plane:
    lut: np.ndarray  # palette index -> plane value, uint8 (256,)
    sub: int  # 1: full resolution, 2: half in both directions
    offset: int  # bytes into a frame
    h: int
    w: int


def _planes(fmt: str, palette: np.ndarray, w: int, h: int) -> tuple[str, list[_Plane]]:
    if fmt == "mp4":
        y, u, v = _yuv_luts(palette)
        hw, q = w * h, (w // 2) * (h // 2)
        return "yuv420p", [
            _Plane(y, 1, 0, h, w),
            _Plane(u, 2, hw, h // 2, w // 2),
            _Plane(v, 2, hw + q, h // 2, w // 2),
        ]
    # planar RGB in ffmpeg's gbrp order
    hw = w * h
    return "gbrp", [
        _Plane(palette[:, 1].copy(), 1, 0, h, w),
        _Plane(palette[:, 2].copy(), 1, hw, h, w),
        _Plane(palette[:, 0].copy(), 1, 2 * hw, h, w),
    ]


class _Encoder:
    """One ffmpeg process fed raw frames by a writer thread; output renamed into place on success."""

    def __init__(
        self,
        path: Path,
        fmt: str,
        fps: int,
        w: int,
        h: int,
        pix_fmt: str,
        palette: np.ndarray,
        tmpdir: Path,
        threads: int = 1,
    ):
        import imageio_ffmpeg

        self.path = path
        self.tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            exe = imageio_ffmpeg.get_ffmpeg_exe()
        except RuntimeError as err:
            raise RunFolderError(f"{path}: cannot be written: no ffmpeg ({str(err).splitlines()[0]})") from None
        cmd = [
            exe,
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "rawvideo",
            "-pix_fmt",
            pix_fmt,
            "-s",
            f"{w}x{h}",
            "-r",
            str(int(fps)),
        ]
        if fmt == "mp4":
            cmd += [
                "-color_range",
                "tv",
                "-colorspace",
                "smpte170m",
                "-i",
                "-",
                "-an",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-crf",
                "23",
                "-x264-params",
                f"threads={threads}:lookahead-threads=1",
                "-pix_fmt",
                "yuv420p",
                "-color_range",
                "tv",
                "-colorspace",
                "smpte170m",
                "-color_primaries",
                "smpte170m",
                "-color_trc",
                "smpte170m",
                "-movflags",
                "+faststart",
                "-f",
                "mp4",
                str(self.tmp),
            ]
        else:
            from PIL import Image

            pal_png = tmpdir / f"palette-{id(self)}.png"
            Image.fromarray(palette.reshape(16, 16, 3), mode="RGB").save(pal_png)
            cmd += [
                "-i",
                "-",
                "-i",
                str(pal_png),
                "-an",
                "-lavfi",
                "[0:v][1:v]paletteuse=dither=none:diff_mode=rectangle",
                "-loop",
                "0",
                "-f",
                "gif",
                str(self.tmp),
            ]
        self.err = tempfile.TemporaryFile()
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self.err)
        except OSError as err:
            raise RunFolderError(f"{path}: ffmpeg cannot be started ({err})") from None
        try:  # a larger pipe: fewer context switches (Linux only)
            fcntl.fcntl(self.proc.stdin.fileno(), 1031, 1 << 20)  # F_SETPIPE_SZ
        except OSError:
            pass
        self.q: queue.Queue = queue.Queue(maxsize=_QUEUE)
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._feed, name=f"ffmpeg {path.name}", daemon=True)
        self.thread.start()

    def _feed(self) -> None:
        while True:
            item = self.q.get()
            if item is None:
                return
            if self.failure is not None:
                continue
            try:
                self.proc.stdin.write(item)
            except BaseException as err:  # noqa: BLE001 - reported by close()
                self.failure = err

    def send(self, data) -> None:
        """Queue a C-contiguous uint8 array of whole frames (blocks while one chunk waits)."""
        if self.failure is not None:
            self._fail()
        self.q.put(memoryview(data).cast("B"))

    def _stderr(self) -> str:
        try:
            self.err.seek(0)
            lines = [ln for ln in self.err.read().decode("utf-8", "replace").splitlines() if ln.strip()]
            return lines[-1] if lines else ""
        except OSError:
            return ""

    def _fail(self):
        self.abort()
        msg = self._stderr() or (str(self.failure) if self.failure else "unknown error")
        raise RunFolderError(f"{self.path}: ffmpeg failed: {msg}")

    def close(self) -> Path:
        self.q.put(None)
        self.thread.join()
        try:
            self.proc.stdin.close()
        except OSError as err:
            self.failure = self.failure or err
        rc = self.proc.wait()
        if rc != 0 or self.failure is not None:
            self._fail()
        self.err.close()
        os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        if self.thread.is_alive():
            try:
                while True:
                    self.q.get_nowait()
            except queue.Empty:
                pass
            self.q.put(None)
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.thread.join(timeout=5)
        try:
            self.tmp.unlink()
        except OSError:
            pass


# ---- a movie: template, panels, buffers ----------------------------------------------


@dataclass
class _Panel:
    """A square region showing a grid layer (or a per-pattern still) at ``(x, y)``, ``size`` pixels."""

    x: int
    y: int
    size: int
    side: int
    label: str = ""
    layer: str | None = None  # spike layer; None for stills
    kind: str = ""  # stimulus / retina_on / retina_off for stills

    def node_map(self, sub: int) -> np.ndarray:
        """Node index of each pixel (sampled every ``sub`` pixels), row-major, flattened."""
        px = np.arange(0, self.size, sub)
        src = (px * self.side) // self.size
        rows, cols = src[:, None], src[None, :]
        return (cols * self.side + rows).ravel()


class _Movie:
    """One movie: its planes, template, encoder and a pool of frame buffers (queued, being written, being filled)."""

    def __init__(
        self,
        path: Path,
        fmt: str,
        fps: int,
        w: int,
        h: int,
        palette: np.ndarray,
        template: np.ndarray,
        panels: list[_Panel],
        chunk: int,
        tmpdir: Path,
        threads: int = 1,
    ):
        self.w, self.h = w, h
        self.pix_fmt, self.planes = _planes(fmt, palette, w, h)
        self.frame_bytes = sum(p.h * p.w for p in self.planes)
        self.panels = panels
        self.maps = {(id(pn), p.sub): pn.node_map(p.sub) for pn in panels for p in self.planes}
        self.pool = []
        for _ in range(_QUEUE + 2):
            buf = np.empty((chunk, self.frame_bytes), dtype=np.uint8)
            for p in self.planes:
                self._view(buf, p, chunk)[:] = p.lut[template[:: p.sub, :: p.sub]][None]
            self.pool.append(buf)
        self.turn = 0
        self.encoder = _Encoder(path, fmt, fps, w, h, self.pix_fmt, palette, tmpdir, threads)

    @staticmethod
    def _view(buf: np.ndarray, p: _Plane, n: int) -> np.ndarray:
        return buf[:n, p.offset : p.offset + p.h * p.w].reshape(n, p.h, p.w)

    def next_buffer(self, n: int) -> np.ndarray:
        buf = self.pool[self.turn]
        self.turn = (self.turn + 1) % len(self.pool)
        return buf

    def put_layer(self, buf: np.ndarray, n: int, panel: _Panel, plane_values: list[np.ndarray]) -> None:
        """Draw per-node plane values ``(n, n_nodes)`` of each plane into ``panel``."""
        for p, vals in zip(self.planes, plane_values):
            m = self.maps[(id(panel), p.sub)]
            s = panel.size // p.sub
            block = np.take(vals, m, axis=1, mode="clip").reshape(n, s, s)
            self._view(buf, p, n)[
                :, panel.y // p.sub : panel.y // p.sub + s, panel.x // p.sub : panel.x // p.sub + s
            ] = block

    def _csr(self, panel: _Panel, p: _Plane):
        """Pixels of each node in a plane: byte offsets within a frame, grouped by node, and the group starts."""
        key = ("csr", id(panel), p.offset)
        got = self.maps.get(key)
        if got is None:
            nm = self.maps[(id(panel), p.sub)]
            sp = panel.size // p.sub
            rr, cc = np.divmod(np.arange(sp * sp), sp)
            pos = p.offset + (panel.y // p.sub + rr) * p.w + (panel.x // p.sub + cc)
            order = np.argsort(nm, kind="stable")
            n = panel.side * panel.side
            starts = np.concatenate([[0], np.cumsum(np.bincount(nm, minlength=n))])
            got = self.maps[key] = (pos[order].astype(np.int64), starts.astype(np.int64))
        return got

    def clear_layer(self, buf: np.ndarray, n: int, panel: _Panel, zero: list[int]) -> None:
        """Fill ``panel`` with each plane's value ``zero[plane]`` (no spikes)."""
        for p, z in zip(self.planes, zero):
            s = panel.size // p.sub
            self._view(buf, p, n)[
                :, panel.y // p.sub : panel.y // p.sub + s, panel.x // p.sub : panel.x // p.sub + s
            ] = z

    def paint_layer(
        self, buf: np.ndarray, n: int, panel: _Panel, keys: np.ndarray, counts: np.ndarray, luts: list[np.ndarray]
    ) -> None:
        """Paint the nodes that spiked: ``keys = frame * n_nodes + node``, ``counts`` capped to the tables ``luts[plane]``."""
        if keys.size == 0:
            return
        nn = panel.side * panel.side
        frame, node = np.divmod(keys, nn)
        flat = buf.reshape(-1)
        for p, lut in zip(self.planes, luts):
            pos, starts = self._csr(panel, p)
            lens = starts[node + 1] - starts[node]
            total = int(lens.sum())
            if total == 0:
                continue
            first = np.cumsum(lens) - lens
            src = np.repeat(starts[node] - first, lens) + np.arange(total)
            flat[np.repeat(frame * self.frame_bytes, lens) + pos[src]] = np.repeat(lut[counts], lens)

    def put_still(self, buf: np.ndarray, n: int, panel: _Panel, stills: list[np.ndarray], which: np.ndarray) -> None:
        """Draw per-pattern images (``stills[plane]`` of shape ``(n_patterns, s, s)``) by frame pattern ``which``."""
        bounds = np.flatnonzero(np.diff(which)) + 1
        starts = np.concatenate([[0], bounds])
        stops = np.concatenate([bounds, [n]])
        for p, pre in zip(self.planes, stills):
            s = panel.size // p.sub
            view = self._view(buf, p, n)[
                :, panel.y // p.sub : panel.y // p.sub + s, panel.x // p.sub : panel.x // p.sub + s
            ]
            for a, b in zip(starts, stops):
                view[a:b] = pre[which[a]][None]

    def submit(self, buf: np.ndarray, n: int) -> None:
        self.encoder.send(buf[:n])


# ---- layout of the combined movie ---------------------------------------------------


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):  # pragma: no cover - Pillow without FreeType
        return ImageFont.load_default()


def combined_layout(layers: list[LayerInfo], panel: int = PANEL_SIDE) -> tuple[int, int, list[_Panel]]:
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
    w = _MARGIN + ncols * (panel + _MARGIN)
    h = _HEADER + len(rows) * (_LABEL + panel + _MARGIN) + _FOOTER
    panels = []
    for i, row in enumerate(rows):
        for j, (label, kind, info) in enumerate(row):
            x = _MARGIN + j * (panel + _MARGIN)
            y = _HEADER + i * (_LABEL + panel + _MARGIN) + _LABEL
            panels.append(_Panel(x, y, panel, info.side if info else 0, label, info.name if info else None, kind))
    return w + w % 2, h + h % 2, panels


def _combined_template(w: int, h: int, panels: list[_Panel], max_rate: float, frame_ms: float) -> np.ndarray:
    """Static parts of the combined frame in palette indices: labels, the colour bar and its caption."""
    from PIL import Image, ImageDraw

    mask = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(mask)
    f = _font(13)
    for pn in panels:
        d.text((pn.x, pn.y - _LABEL + 2), pn.label, fill=255, font=f)
    bar_y = h - _FOOTER + 6
    per_spike = 1000.0 / frame_ms
    d.text((_MARGIN, bar_y + 12), "0 Hz", fill=255, font=f)
    right = f"{max_rate:g} Hz"
    d.text((w - _MARGIN - d.textlength(right, font=f), bar_y + 12), right, fill=255, font=f)
    caption = f"colour: rate (retina) or spikes per frame x {per_spike:g} Hz (V1), capped"
    d.text(((w - d.textlength(caption, font=f)) / 2, bar_y + 12), caption, fill=255, font=f)
    idx = _GREY0 + (np.asarray(mask, dtype=np.uint16) * (255 - _GREY0) + 127) // 255
    idx = idx.astype(np.uint8)
    for pn in panels:
        idx[pn.y - 1 : pn.y + pn.size + 1, pn.x - 1 : pn.x + pn.size + 1] = _GREY0 + 16  # a grey outline
        idx[pn.y : pn.y + pn.size, pn.x : pn.x + pn.size] = _GREY0
    x0, x1 = _MARGIN, w - _MARGIN
    xs = np.arange(x1 - x0) // 2 * 2
    idx[bar_y : bar_y + 10, x0:x1] = np.round(xs / max(1, xs[-1]) * (_NV - 1)).astype(np.uint8)[None]
    return idx


def _still_images(panel: _Panel, patterns: list[str], images: dict, max_rate: float) -> np.ndarray:
    """Palette indices ``(n_patterns, size, size)`` of a stimulus or retina panel, per pattern."""
    from PIL import Image, ImageDraw

    out = np.full((len(patterns), panel.size, panel.size), _GREY0 + 6, dtype=np.uint8)
    lti = _level_to_index()
    for k, p in enumerate(patterns):
        imgs = images.get(p)
        if imgs is None:
            mask = Image.new("L", (panel.size, panel.size), 0)
            ImageDraw.Draw(mask).text((8, panel.size // 2 - 8), "not available", fill=255, font=_font(13))
            out[k] = np.maximum(out[k], _GREY0 + (np.asarray(mask, dtype=np.uint16) * 63 // 255).astype(np.uint8))
            continue
        img = {"stimulus": imgs[0], "retina_on": imgs[1], "retina_off": imgs[2]}[panel.kind]
        side = img.shape[0]
        src = (np.arange(panel.size) * side) // panel.size
        a = img[src][:, src]
        if panel.kind == "stimulus":
            out[k] = _grey_index(a)
        else:
            levels = (
                np.clip(np.floor(a / max_rate * 255 + 1e-9), 0, 255).astype(np.uint8)
                if max_rate > 0
                else np.zeros_like(a, dtype=np.uint8)
            )
            out[k] = lti[levels]
    return out


def _count_tables(frame_ms: float, max_rate: float) -> tuple[int, np.ndarray]:
    """``(K, levels)``: spikes per frame capped at ``K`` and the viridis level of 0..K spikes (see ``scale_counts``)."""
    per_spike = 255.0 * 1000.0 / (frame_ms * max_rate) if max_rate > 0 else 255.0
    k = max(1, math.ceil(255.0 / per_spike - 1e-9))
    levels = np.minimum(np.floor(np.arange(k + 1) * per_spike + 1e-9), 255).astype(np.uint8)
    return k, levels


def _time_format(frame_ms: float) -> int:
    for d in range(4):
        x = frame_ms * 10**d
        if abs(x - round(x)) < 1e-6:
            return d
    return 3


# ---- the pass over the spikes ----------------------------------------------------------


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
    K, count_levels = _count_tables(frame_ms, max_rate)
    lti = _level_to_index()
    patterns = src.patterns or [""]
    labels = pattern_labels(patterns)
    starts = np.array([e.start for e in src.schedule] or [0.0])
    epoch_pattern = np.array([patterns.index(e.pattern) for e in src.schedule] or [0])
    tdec = _time_format(frame_ms)

    h5 = open_spikes(src.spikes_path)
    movies: list[_Movie] = []
    bar = None
    try:
        infos = [i for i in layer_infos(h5) if i.side > 0]
        counters = {
            i.name: FrameCounter(SpikeBlocks(h5, i.name, src.t_end), i.n_nodes, frame_ms, src.t_end) for i in infos
        }
        W, H, panels = combined_layout(infos)
        frame_bytes = W * H * 3 // 2 if fmt == "mp4" else W * H * 3
        chunk = int(max(4, min(200, _CHUNK_BYTES // frame_bytes, n_frames)))
        tmpdir = Path(tempfile.mkdtemp(prefix="spiking-render-"))
        vir = viridis_lut()
        pal_c = combined_palette()
        # one movie per layer: a single panel filling the frame, viridis levels as palette indices
        layer_movies = {}
        for i in infos:
            w, h = movie_size(i.side)
            pn = _Panel(0, 0, w, i.side, layer=i.name)
            path = out_dir / f"{i.name}.{fmt}"
            mv = _Movie(path, fmt, fps, w, h, vir, np.zeros((h, w), np.uint8), [pn], chunk, tmpdir)
            movies.append(mv)
            layer_movies[i.name] = (mv, pn, [p.lut[count_levels] for p in mv.planes])
            result["sizes"][i.name] = (w, h)
        template = _combined_template(W, H, panels, max_rate, frame_ms)
        threads = max(1, min(4, usable_cpus() - len(infos)))
        comb = _Movie(out_dir / f"activity.{fmt}", fmt, fps, W, H, pal_c, template, panels, chunk, tmpdir, threads)
        movies.append(comb)
        result["sizes"]["activity"] = (W, H)
        comb_luts = [p.lut[lti[count_levels]] for p in comb.planes]
        layer_panel = {pn.layer: pn for pn in panels if pn.layer is not None}
        images = stimulus_images(src)
        stills = {}
        for pn in panels:
            if pn.layer is None:
                idx = _still_images(pn, patterns, images, max_rate)
                stills[id(pn)] = [p.lut[idx[:, :: p.sub, :: p.sub]] for p in comb.planes]
        header = _Header(W, comb.planes)

        if progress:
            from tqdm import tqdm

            bar = tqdm(total=n_frames, unit="frame", desc="movies", file=sys.stderr)
        for f0 in range(0, n_frames, chunk):
            f1 = min(n_frames, f0 + chunk)
            n = f1 - f0
            t0 = np.arange(f0, f1) * frame_ms
            which = epoch_pattern[
                np.clip(np.searchsorted(starts, t0 + 1e-9 * frame_ms, side="right") - 1, 0, len(starts) - 1)
            ]
            cbuf = comb.next_buffer(n)
            for i in infos:
                keys, cnt = counters[i.name].sparse(f0, f1)
                np.minimum(cnt, K, out=cnt)
                mv, pn, luts = layer_movies[i.name]
                cp = layer_panel[i.name]
                buf = mv.next_buffer(n)
                if keys.size > _DENSE * n * i.n_nodes:  # many nodes spike: look up every node
                    c = np.zeros(n * i.n_nodes, dtype=np.intp)
                    c[keys] = cnt
                    c = c.reshape(n, i.n_nodes)
                    mv.put_layer(buf, n, pn, [lut[c] for lut in luts])
                    comb.put_layer(cbuf, n, cp, [lut[c] for lut in comb_luts])
                else:  # few: clear and paint the ones that spiked
                    mv.clear_layer(buf, n, pn, [int(lut[0]) for lut in luts])
                    mv.paint_layer(buf, n, pn, keys, cnt, luts)
                    comb.clear_layer(cbuf, n, cp, [int(lut[0]) for lut in comb_luts])
                    comb.paint_layer(cbuf, n, cp, keys, cnt, comb_luts)
                mv.submit(buf, n)
            for pn in panels:
                if pn.layer is None:
                    comb.put_still(cbuf, n, pn, stills[id(pn)], which)
            for k in range(n):
                left = [
                    ("t = ", True),
                    (f"{t0[k]:.{tdec}f}", False),
                    (f" ms    pattern: {labels[patterns[which[k]]]}", True),
                ]
                header.draw(cbuf, k, left, [("frame ", True), (str(f0 + k + 1), False), (f" / {n_frames}", True)])
            comb.submit(cbuf, n)
            if bar is not None:
                bar.update(n)
        for mv in movies:
            result["files"].append(mv.encoder.close())
        movies = []
    finally:
        if bar is not None:
            bar.close()
        for mv in movies:
            mv.encoder.abort()
        h5.close()
        if "tmpdir" in locals():
            for p in tmpdir.iterdir():
                p.unlink()
            tmpdir.rmdir()
    return result


class _Header:
    """The per-frame text line at the top of the combined movie, drawn into the full-resolution planes.

    Glyphs are rendered once with Pillow and pasted side by side (numbers
    change every frame; rendering each line with FreeType would cost more
    than the rest of the frame).
    """

    def __init__(self, w: int, planes: list[_Plane]):
        self.w = w
        self.font = _font(15)
        self.cache: dict[str, np.ndarray] = {}
        # (plane, background, foreground) of the planes where text shows
        self.targets = [
            (p, int(p.lut[_GREY0]), int(p.lut[_WHITE])) for p in planes if p.sub == 1 and p.lut[_GREY0] != p.lut[_WHITE]
        ]
        self.luts = {
            (bg, fg): (bg + (np.arange(256) * (fg - bg) + 127) // 255).astype(np.uint8) for _, bg, fg in self.targets
        }
        self.line = np.zeros((_HEADER, w), dtype=np.uint8)

    def _text(self, text: str) -> np.ndarray:
        """Coverage (0..255) of a string, ``(_HEADER, width)``; cached."""
        a = self.cache.get(text)
        if a is None:
            from PIL import Image, ImageDraw

            width = max(1, int(np.ceil(self.font.getlength(text))))
            img = Image.new("L", (width, _HEADER), 0)
            ImageDraw.Draw(img).text((0, 6), text, fill=255, font=self.font)
            a = self.cache[text] = np.asarray(img)
        return a

    def _compose(self, parts: list[tuple[str, bool]]) -> np.ndarray:
        """Side by side: strings cached whole (``True``) or glyph by glyph (``False``: digits that change)."""
        pieces = []
        for text, whole in parts:
            pieces.extend([self._text(text)] if whole else [self._text(ch) for ch in text])
        return np.concatenate(pieces, axis=1) if pieces else np.zeros((_HEADER, 0), np.uint8)

    def draw(self, buf: np.ndarray, k: int, left: list, right: list) -> None:
        line = self.line
        line[:] = 0
        a = self._compose(left)[:, : self.w - 2 * _MARGIN]
        line[:, _MARGIN : _MARGIN + a.shape[1]] = a
        b = self._compose(right)
        x = self.w - _MARGIN - b.shape[1]
        if x > _MARGIN + a.shape[1] + 8:
            line[:, x : x + b.shape[1]] = b
        done = {}
        for p, bg, fg in self.targets:
            if (bg, fg) not in done:
                done[(bg, fg)] = self.luts[(bg, fg)][line]
            buf[k, p.offset : p.offset + _HEADER * p.w].reshape(_HEADER, p.w)[:] = done[(bg, fg)]
