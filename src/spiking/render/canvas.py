"""Drawing movie frames: panels of a frame, buffers of whole frames in the encoder's planes, the header line.

A movie's frames are composed chunk by chunk in a small pool of buffers (one
being filled, the others queued or being written by its
:class:`~spiking.render.encoder.Encoder`), starting from a template of
palette indices. Grid layers are drawn into their panels either by lookup of
every node or by painting only the nodes that spiked (the same bytes);
stimulus and retina panels are per-pattern stills.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .encoder import GREY0, QUEUE, WHITE, Encoder, EncoderSpec, Plane, planes

__all__ = ["HEADER", "MARGIN", "font", "Panel", "Movie", "Header"]

#: Height of the header line of the combined movie, pixels.
HEADER = 28
#: Margin around panels and text of the combined movie, pixels.
MARGIN = 8


def font(size: int):
    """Pillow's default font at ``size`` pixels (its bitmap font without FreeType)."""
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):  # pragma: no cover - Pillow without FreeType
        return ImageFont.load_default()


@dataclass
class Panel:
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


class Movie:
    """One movie: its planes, template, encoder and a pool of frame buffers (queued, being written, being filled).

    Parameters
    ----------
    spec : EncoderSpec
    template : ndarray of uint8, shape (h, w)
        Palette indices of what every frame starts from.
    panels : list of Panel
    chunk : int
        Frames per buffer.
    tmpdir : Path
        Scratch folder of the encoder.
    """

    def __init__(self, spec: EncoderSpec, template: np.ndarray, panels: list[Panel], chunk: int, tmpdir: Path):
        self.w, self.h = spec.w, spec.h
        self.pix_fmt, self.planes = planes(spec.fmt, spec.palette, spec.w, spec.h)
        self.frame_bytes = sum(p.h * p.w for p in self.planes)
        self.panels = panels
        self.maps = {(id(pn), p.sub): pn.node_map(p.sub) for pn in panels for p in self.planes}
        self.pool = []
        for _ in range(QUEUE + 2):
            buf = np.empty((chunk, self.frame_bytes), dtype=np.uint8)
            for p in self.planes:
                self._view(buf, p, chunk)[:] = p.lut[template[:: p.sub, :: p.sub]][None]
            self.pool.append(buf)
        self.turn = 0
        self.encoder = Encoder(spec, self.pix_fmt, tmpdir)

    @staticmethod
    def _view(buf: np.ndarray, p: Plane, n: int) -> np.ndarray:
        return buf[:n, p.offset : p.offset + p.h * p.w].reshape(n, p.h, p.w)

    def _panel_view(self, buf: np.ndarray, p: Plane, n: int, panel: Panel) -> np.ndarray:
        """The ``(n, s, s)`` block of ``panel`` in plane ``p`` of the first ``n`` frames."""
        s, y, x = panel.size // p.sub, panel.y // p.sub, panel.x // p.sub
        return self._view(buf, p, n)[:, y : y + s, x : x + s]

    def next_buffer(self, n: int) -> np.ndarray:
        """The next buffer of the pool, holding the template outside the panels (``n`` frames are used)."""
        buf = self.pool[self.turn]
        self.turn = (self.turn + 1) % len(self.pool)
        return buf

    def put_layer(self, buf: np.ndarray, n: int, panel: Panel, plane_values: list[np.ndarray]) -> None:
        """Draw per-node plane values ``(n, n_nodes)`` of each plane into ``panel``."""
        for p, vals in zip(self.planes, plane_values):
            m = self.maps[(id(panel), p.sub)]
            s = panel.size // p.sub
            self._panel_view(buf, p, n, panel)[:] = np.take(vals, m, axis=1, mode="clip").reshape(n, s, s)

    def _csr(self, panel: Panel, p: Plane):
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

    def clear_layer(self, buf: np.ndarray, n: int, panel: Panel, zero: list[int]) -> None:
        """Fill ``panel`` with each plane's value ``zero[plane]`` (no spikes)."""
        for p, z in zip(self.planes, zero):
            self._panel_view(buf, p, n, panel)[:] = z

    def paint_layer(
        self, buf: np.ndarray, n: int, panel: Panel, keys: np.ndarray, counts: np.ndarray, luts: list[np.ndarray]
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

    def put_still(self, buf: np.ndarray, n: int, panel: Panel, stills: list[np.ndarray], which: np.ndarray) -> None:
        """Draw per-pattern images (``stills[plane]`` of shape ``(n_patterns, s, s)``) by frame pattern ``which``."""
        bounds = np.flatnonzero(np.diff(which)) + 1
        starts = np.concatenate([[0], bounds])
        stops = np.concatenate([bounds, [n]])
        for p, pre in zip(self.planes, stills):
            view = self._panel_view(buf, p, n, panel)
            for a, b in zip(starts, stops):
                view[a:b] = pre[which[a]][None]

    def submit(self, buf: np.ndarray, n: int) -> None:
        """Hand the first ``n`` frames of ``buf`` to the encoder."""
        self.encoder.send(buf[:n])


class Header:
    """The per-frame text line at the top of the combined movie, drawn into the full-resolution planes.

    Glyphs are rendered once with Pillow and pasted side by side: strings
    that stay the same are cached whole, numbers that change every frame
    glyph by glyph, so no text is rendered per frame.

    Parameters
    ----------
    w : int
        Width of the frame, pixels.
    planes : list of Plane
        The movie's planes (text shows in those at full resolution where black and white differ).
    """

    def __init__(self, w: int, planes: list[Plane]):
        self.w = w
        self.font = font(15)
        self.cache: dict[str, np.ndarray] = {}
        # (plane, background, foreground) of the planes where text shows
        self.targets = [
            (p, int(p.lut[GREY0]), int(p.lut[WHITE])) for p in planes if p.sub == 1 and p.lut[GREY0] != p.lut[WHITE]
        ]
        self.luts = {
            (bg, fg): (bg + (np.arange(256) * (fg - bg) + 127) // 255).astype(np.uint8) for _, bg, fg in self.targets
        }
        self.line = np.zeros((HEADER, w), dtype=np.uint8)

    def _text(self, text: str) -> np.ndarray:
        """Coverage (0..255) of a string, ``(HEADER, width)``; cached."""
        a = self.cache.get(text)
        if a is None:
            from PIL import Image, ImageDraw

            width = max(1, int(np.ceil(self.font.getlength(text))))
            img = Image.new("L", (width, HEADER), 0)
            ImageDraw.Draw(img).text((0, 6), text, fill=255, font=self.font)
            a = self.cache[text] = np.asarray(img)
        return a

    def _compose(self, parts: list[tuple[str, bool]]) -> np.ndarray:
        """Side by side: strings cached whole (``True``) or glyph by glyph (``False``: digits that change)."""
        pieces = []
        for text, whole in parts:
            pieces.extend([self._text(text)] if whole else [self._text(ch) for ch in text])
        return np.concatenate(pieces, axis=1) if pieces else np.zeros((HEADER, 0), np.uint8)

    def draw(self, buf: np.ndarray, k: int, left: list, right: list) -> None:
        """Write frame ``k``'s header: ``left`` from the left margin, ``right`` against the right one if it fits.

        ``left`` and ``right`` are lists of ``(text, whole)`` (see :meth:`_compose`).
        """
        line = self.line
        line[:] = 0
        a = self._compose(left)[:, : self.w - 2 * MARGIN]
        line[:, MARGIN : MARGIN + a.shape[1]] = a
        b = self._compose(right)
        x = self.w - MARGIN - b.shape[1]
        if x > MARGIN + a.shape[1] + 8:
            line[:, x : x + b.shape[1]] = b
        done = {}
        for p, bg, fg in self.targets:
            if (bg, fg) not in done:
                done[(bg, fg)] = self.luts[(bg, fg)][line]
            buf[k, p.offset : p.offset + HEADER * p.w].reshape(HEADER, p.w)[:] = done[(bg, fg)]
