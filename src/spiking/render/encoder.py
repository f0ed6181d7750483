"""Movie encoding: the palette frames are composed in, its pixel planes, and the ffmpeg process they are piped to.

Frames are arrays of palette indices turned into the encoder's own pixel
format by lookup tables: planar YUV 4:2:0 (BT.601, limited range) for H.264
MP4, planar RGB for GIF. Each movie has one ffmpeg process (imageio-ffmpeg's
binary, no shell, no system ffmpeg) fed by one writer thread from a short
queue of chunks; the output is written under a temporary name and renamed
into place when ffmpeg succeeds.
"""

from __future__ import annotations

import fcntl
import os
import queue
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import RunFolderError
from .frames import viridis_lut

__all__ = [
    "NV",
    "GREY0",
    "WHITE",
    "QUEUE",
    "combined_palette",
    "level_to_index",
    "grey_index",
    "yuv_luts",
    "Plane",
    "planes",
    "EncoderSpec",
    "ffmpeg_command",
    "Encoder",
]

# Combined palette: 0..191 viridis, 192..255 greys (192 black, 255 white).
#: Viridis entries of the combined palette (indices 0..NV-1).
NV = 192
#: Palette index of black, the first grey.
GREY0 = 192
#: Palette index of white, the last grey.
WHITE = 255
#: Chunks of frames queued per encoder.
QUEUE = 2


# ---- palette and pixel planes -------------------------------------------------------


def combined_palette() -> np.ndarray:
    """The 256 colours of the combined movie: 0..191 viridis, 192..255 greys from black to white.

    Returns
    -------
    ndarray of uint8, shape (256, 3)
    """
    v = viridis_lut()
    pal = np.empty((256, 3), dtype=np.uint8)
    pal[:NV] = v[np.round(np.arange(NV) * 255 / (NV - 1)).astype(int)]
    g = np.round(np.arange(256 - GREY0) * 255 / (255 - GREY0)).astype(np.uint8)
    pal[GREY0:] = g[:, None]
    return pal


def level_to_index() -> np.ndarray:
    """Viridis level 0..255 -> combined palette index 0..191, ``(256,)`` uint8."""
    return np.round(np.arange(256) * (NV - 1) / 255).astype(np.uint8)


def grey_index(values: np.ndarray) -> np.ndarray:
    """Grey levels in [0, 1] -> combined palette index 192..255 (uint8, the shape of ``values``)."""
    return (GREY0 + np.round(np.clip(values, 0, 1) * (255 - GREY0))).astype(np.uint8)


def yuv_luts(rgb: np.ndarray) -> list[np.ndarray]:
    """BT.601 limited-range Y, Cb, Cr of each palette colour (what players assume for SD and tagged smpte170m).

    Parameters
    ----------
    rgb : ndarray of uint8, shape (n, 3)

    Returns
    -------
    list of three ndarray of uint8, shape (n,)
    """
    c = rgb.astype(np.float64) / 255.0
    r, g, b = c[:, 0], c[:, 1], c[:, 2]
    y = 16 + 65.481 * r + 128.553 * g + 24.966 * b
    u = 128 - 37.797 * r - 74.203 * g + 112.0 * b
    v = 128 + 112.0 * r - 93.786 * g - 18.214 * b
    return [np.clip(np.round(a), 0, 255).astype(np.uint8) for a in (y, u, v)]


@dataclass(frozen=True)
class Plane:
    """One plane of a raw frame.

    Attributes
    ----------
    lut : ndarray of uint8, shape (256,)
        Palette index -> plane value.
    sub : int
        1: full resolution, 2: half in both directions.
    offset : int
        Bytes into a frame.
    h, w : int
        Rows and columns of the plane.
    """

    lut: np.ndarray
    sub: int
    offset: int
    h: int
    w: int


def planes(fmt: str, palette: np.ndarray, w: int, h: int) -> tuple[str, list[Plane]]:
    """ffmpeg's raw pixel format for ``fmt`` and its planes for ``w x h`` frames of ``palette`` indices.

    ``"yuv420p"`` (Y, then Cb and Cr at half resolution) for ``"mp4"``,
    ``"gbrp"`` (green, blue, red) otherwise.
    """
    if fmt == "mp4":
        y, u, v = yuv_luts(palette)
        hw, q = w * h, (w // 2) * (h // 2)
        return "yuv420p", [
            Plane(y, 1, 0, h, w),
            Plane(u, 2, hw, h // 2, w // 2),
            Plane(v, 2, hw + q, h // 2, w // 2),
        ]
    # planar RGB in ffmpeg's gbrp order
    hw = w * h
    return "gbrp", [
        Plane(palette[:, 1].copy(), 1, 0, h, w),
        Plane(palette[:, 2].copy(), 1, hw, h, w),
        Plane(palette[:, 0].copy(), 1, 2 * hw, h, w),
    ]


# ---- the ffmpeg process ----------------------------------------------------------------


@dataclass(frozen=True)
class EncoderSpec:
    """What one movie file is: where, which format, frame rate, size and palette.

    Attributes
    ----------
    path : Path
        The movie file.
    fmt : {"mp4", "gif"}
    fps : int
        Frames per second of playback.
    w, h : int
        Pixels (even for MP4).
    palette : ndarray of uint8, shape (256, 3)
        The colours frames are composed in.
    threads : int
        x264 threads (MP4 only).
    """

    path: Path
    fmt: str
    fps: int
    w: int
    h: int
    palette: np.ndarray
    threads: int = 1


_SMPTE170M = ["-color_range", "tv", "-colorspace", "smpte170m"]


def ffmpeg_command(exe: str, spec: EncoderSpec, pix_fmt: str, out: Path, palette_png: Path | None = None) -> list[str]:
    """The ffmpeg command line reading raw ``pix_fmt`` frames on stdin and writing ``out``.

    MP4: H.264 (x264 ``ultrafast``, CRF 23) tagged BT.601 limited range,
    ``+faststart``. GIF: mapped onto the colours of ``palette_png`` without
    dithering, looping.
    """
    cmd = [exe, "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", pix_fmt]
    cmd += ["-s", f"{spec.w}x{spec.h}", "-r", str(int(spec.fps))]
    if spec.fmt == "mp4":
        cmd += [*_SMPTE170M, "-i", "-", "-an", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "23"]
        cmd += ["-x264-params", f"threads={spec.threads}:lookahead-threads=1", "-pix_fmt", "yuv420p"]
        cmd += [*_SMPTE170M, "-color_primaries", "smpte170m", "-color_trc", "smpte170m"]
        return [*cmd, "-movflags", "+faststart", "-f", "mp4", str(out)]
    cmd += ["-i", "-", "-i", str(palette_png), "-an"]
    cmd += ["-lavfi", "[0:v][1:v]paletteuse=dither=none:diff_mode=rectangle"]
    return [*cmd, "-loop", "0", "-f", "gif", str(out)]


def _ffmpeg_exe(path: Path) -> str:
    import imageio_ffmpeg

    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError as err:
        raise RunFolderError(f"{path}: cannot be written: no ffmpeg ({str(err).splitlines()[0]})") from None


class Encoder:
    """One ffmpeg process fed raw frames by a writer thread; output renamed into place on success.

    Parameters
    ----------
    spec : EncoderSpec
    pix_fmt : str
        Raw pixel format of the frames sent (see :func:`planes`).
    tmpdir : Path
        Scratch folder (the GIF palette image).
    """

    def __init__(self, spec: EncoderSpec, pix_fmt: str, tmpdir: Path):
        self.path = spec.path
        self.tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        exe = _ffmpeg_exe(self.path)
        pal_png = None
        if spec.fmt != "mp4":
            from PIL import Image

            pal_png = tmpdir / f"palette-{id(self)}.png"
            Image.fromarray(spec.palette.reshape(16, 16, 3), mode="RGB").save(pal_png)
        cmd = ffmpeg_command(exe, spec, pix_fmt, self.tmp, pal_png)
        self.err = tempfile.TemporaryFile()
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self.err)
        except OSError as err:
            raise RunFolderError(f"{self.path}: ffmpeg cannot be started ({err})") from None
        try:  # a larger pipe: fewer context switches (Linux only)
            fcntl.fcntl(self.proc.stdin.fileno(), 1031, 1 << 20)  # F_SETPIPE_SZ
        except OSError:
            pass
        self.q: queue.Queue = queue.Queue(maxsize=QUEUE)
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._feed, name=f"ffmpeg {self.path.name}", daemon=True)
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
        """Finish the movie: wait for ffmpeg and rename the file into place (:class:`RunFolderError` if it failed)."""
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
        """Stop ffmpeg and the writer thread and remove the partial file."""
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
