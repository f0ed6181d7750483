"""Stimuli: named patterns, images, their placement on the retina, and the schedule.

Patterns are ``ndarray`` of shape ``(rows, cols)`` with grey levels in [0, 1]
(1 = white). Built-in patterns are data files shipped with the package; any
PNG/JPEG image, or a text file of 0/1 digits, can be used by path.
"""

from __future__ import annotations

import functools
import math
import re
import warnings
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from ..config import Config
from ..errors import StimulusError

__all__ = [
    "BUILTIN_PATTERNS",
    "builtin_pattern",
    "load_image",
    "load_pattern",
    "place_pattern",
    "ScheduledEpoch",
    "build_schedule",
    "pattern_label",
    "MAX_IMAGE_PIXELS",
    "PROCEDURAL_PATTERNS",
    "GratingSpec",
    "procedural_kind",
    "parse_grating",
    "NoiseSpec",
    "parse_noise",
    "noise_stimulus",
    "check_pattern_spec",
    "draw_procedural",
]

#: Largest image accepted, in pixels (width * height).
MAX_IMAGE_PIXELS = 50_000_000

BUILTIN_PATTERNS = ("pattern0", "pattern1")
_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}

#: Patterns drawn from a spec rather than read: ``blank`` (uniform mean grey), ``grating:key=value,...``
#: and ``noise:key=value,...`` (a frame of sparse noise).
PROCEDURAL_PATTERNS = ("blank", "grating", "noise")

#: The keys of a grating spec and their defaults (``None``: required).
GRATING_KEYS = {"orientation": None, "sf": None, "phase": 0.0, "contrast": 1.0}

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_GRATING_FORM = "grating:orientation=DEG,sf=CYCLES[,phase=DEG][,contrast=0..1]"


@dataclass(frozen=True)
class GratingSpec:
    """A static sinusoidal grating (:func:`spiking.model.protocols.grating`) on the pattern's grid.

    ``orientation`` in degrees (0 = vertical bars, 90 = horizontal), ``sf`` in cycles per pattern
    side, ``phase`` in degrees, ``contrast`` Michelson in [0, 1].
    """

    orientation: float
    sf: float
    phase: float = 0.0
    contrast: float = 1.0

    @property
    def spec(self) -> str:
        """The spec in its canonical form: every key, numbers as ``%g``."""
        return (
            f"grating:orientation={self.orientation:g},sf={self.sf:g},phase={self.phase:g},contrast={self.contrast:g}"
        )

    @property
    def label(self) -> str:
        """A short, file-name-safe name, e.g. ``grating-45deg-sf4-ph0-c1``."""
        return f"grating-{self.orientation:g}deg-sf{self.sf:g}-ph{self.phase:g}-c{self.contrast:g}"


#: The keys of a sparse-noise frame's spec and their defaults (``None``: required).
NOISE_KEYS = {
    "grid": None,
    "frames": None,
    "frame": None,
    "seed": None,
    "density": 0.05,
    "distance": 1,
    "contrast": 1.0,
}
_NOISE_FORM = "noise:grid=SQUARES,frames=N,frame=K,seed=S[,density=0..1][,distance=SQUARES][,contrast=0..1]"


@dataclass(frozen=True)
class NoiseSpec:
    """Frame ``frame`` of the sparse noise ``sparse_noise_stimulus(grid, frames, seed, density, distance)``.

    ``grid`` squares per pattern side; the whole stimulus is drawn once per process and kept
    (:func:`noise_stimulus`), so the frames of one stimulus cost one draw.
    """

    grid: int
    frames: int
    frame: int
    seed: int
    density: float = 0.05
    distance: int = 1
    contrast: float = 1.0

    @property
    def spec(self) -> str:
        return (
            f"noise:grid={self.grid},frames={self.frames},frame={self.frame},seed={self.seed},"
            f"density={self.density:g},distance={self.distance},contrast={self.contrast:g}"
        )

    @property
    def label(self) -> str:
        """A short, file-name-safe name, e.g. ``noise-s1-f17``."""
        return f"noise-s{self.seed}-f{self.frame}"


def procedural_kind(spec: str) -> str | None:
    """``"blank"``, ``"grating"`` or ``"noise"`` for a procedural spec, ``None`` for a built-in name or a path."""
    if spec == "blank":
        return "blank"
    if spec == "grating" or spec.startswith("grating:"):
        return "grating"
    if spec == "noise" or spec.startswith("noise:"):
        return "noise"
    return None


def _spec_values(spec: str, kind: str, noun: str, keys: dict, form: str, example: float) -> dict[str, float]:
    """The ``key=number`` values of a ``kind:...`` spec, the defaults of ``keys`` filled in (``None``: required).

    Raises
    ------
    StimulusError
        One line naming the spec and the key: unknown, given twice, not a number, or missing.
    """
    head, sep, body = spec.partition(":")
    if head != kind or not sep or not body:
        raise StimulusError(f"{spec!r}: {noun} needs its keys, {form}")
    values: dict[str, float] = {}
    for item in body.split(","):
        key, eq, text = item.partition("=")
        if key not in keys:
            raise StimulusError(f"{spec!r}: unknown {kind} key {key!r}; allowed: {', '.join(keys)} ({form})")
        if key in values:
            raise StimulusError(f"{spec!r}: {kind} key {key!r} given twice")
        if not eq or not _NUMBER.fullmatch(text):
            raise StimulusError(f"{spec!r}: {kind} key {key!r} must be a number (e.g. {key}={example:g}), got {text!r}")
        values[key] = float(text)
    missing = [k for k, v in keys.items() if v is None and k not in values]
    if missing:
        raise StimulusError(f"{spec!r}: {kind} key {missing[0]!r} is required ({form})")
    return {k: values.get(k, d) for k, d in keys.items()}


def parse_noise(spec: str) -> NoiseSpec:
    """Parse ``noise:grid=11,frames=1000,frame=5,seed=1,density=0.05,distance=1,contrast=1`` strictly.

    Raises
    ------
    StimulusError
        One line naming the spec, the key and what is allowed.
    """
    values = _spec_values(spec, "noise", "a noise frame", NOISE_KEYS, _NOISE_FORM, example=1)
    whole = {"grid": 1, "frames": 1, "frame": 0, "seed": 0, "distance": 1}
    for key, lowest in whole.items():
        v = values[key]
        if not (math.isfinite(v) and v == int(v) and v >= lowest):
            raise StimulusError(f"{spec!r}: noise key {key!r} must be an integer >= {lowest}, got {v:g}")
    n = NoiseSpec(**{k: (int(v) if k in whole else float(v)) for k, v in values.items()})
    if n.frame >= n.frames:
        raise StimulusError(f"{spec!r}: noise key 'frame' must be below frames ({n.frames}), got {n.frame}")
    if not 0.0 < n.density <= 1.0:
        raise StimulusError(f"{spec!r}: noise key 'density' must be in (0, 1], got {n.density:g}")
    if not 0.0 <= n.contrast <= 1.0:
        raise StimulusError(f"{spec!r}: noise key 'contrast' must be in [0, 1], got {n.contrast:g}")
    return n


@functools.lru_cache(maxsize=4)
def noise_stimulus(grid: int, frames: int, seed: int, density: float, distance: int) -> np.ndarray:
    """The signed stimulus of a noise spec (:func:`spiking.model.protocols.sparse_noise_stimulus`), drawn once."""
    from .protocols import sparse_noise_stimulus

    signed = sparse_noise_stimulus(grid, frames, seed, density=density, min_distance=distance)
    signed.flags.writeable = False
    return signed


def parse_grating(spec: str) -> GratingSpec:
    """Parse ``grating:orientation=45,sf=4,phase=0,contrast=1`` strictly.

    ``orientation`` and ``sf`` are required, ``phase`` (default 0) and ``contrast`` (default 1)
    optional; each key once, numbers only (no spaces), ``sf > 0``, contrast in [0, 1].

    Raises
    ------
    StimulusError
        One line naming the spec, the key and what is allowed.
    """
    values = _spec_values(spec, "grating", "a grating", GRATING_KEYS, _GRATING_FORM, example=4)
    g = GratingSpec(**values)
    if not all(math.isfinite(v) for v in (g.orientation, g.sf, g.phase, g.contrast)):
        raise StimulusError(f"{spec!r}: grating keys must be finite numbers")
    if g.sf <= 0:
        raise StimulusError(f"{spec!r}: grating key 'sf' must be > 0 cycles per pattern side, got {g.sf:g}")
    if not 0.0 <= g.contrast <= 1.0:
        raise StimulusError(f"{spec!r}: grating key 'contrast' must be in [0, 1], got {g.contrast:g}")
    return g


def check_pattern_spec(spec: str) -> None:
    """Raise :class:`StimulusError` for a procedural spec that does not parse (names and paths pass)."""
    kind = procedural_kind(spec)
    if kind == "grating":
        parse_grating(spec)
    elif kind == "noise":
        parse_noise(spec)


def draw_procedural(spec: str, side: int) -> np.ndarray:
    """The frame of a procedural spec on a ``side x side`` grid: ``blank`` is uniform grey 0.5.

    Raises
    ------
    StimulusError
        A bad spec, or a spatial frequency at or above the grid's Nyquist limit ``side / 2``.
    """
    from .protocols import MEAN_GREY, grating, sparse_noise_to_frames

    kind = procedural_kind(spec)
    if kind == "blank":
        return np.full((side, side), MEAN_GREY)
    if kind == "noise":
        n = parse_noise(spec)
        if n.grid > side:
            raise StimulusError(f"{spec!r}: noise key 'grid' must be at most the pattern's side ({side}), got {n.grid}")
        signed = noise_stimulus(n.grid, n.frames, n.seed, n.density, n.distance)
        return sparse_noise_to_frames(signed[n.frame : n.frame + 1], side, n.contrast)[0]
    if kind != "grating":
        raise StimulusError(f"{spec!r}: not a procedural pattern ({', '.join(PROCEDURAL_PATTERNS)})")
    g = parse_grating(spec)
    if g.sf >= side / 2:
        raise StimulusError(
            f"{spec!r}: grating key 'sf' must be below half the pattern's side ({side / 2:g} cycles), got {g.sf:g}"
        )
    return grating(side, g.orientation, g.sf, g.phase, g.contrast)


def _parse_digits(text: str, source: str) -> np.ndarray:
    rows = [line.strip() for line in text.splitlines() if line.strip()]
    if not rows:
        raise StimulusError(f"{source}: empty pattern file; expected rows of 0/1 digits")
    width = len(rows[0])
    if any(len(r) != width for r in rows) or any(set(r) - set("01") for r in rows):
        raise StimulusError(f"{source}: expected equal-length rows of 0/1 digits")
    return np.array([[int(ch) for ch in r] for r in rows], dtype=float)


def builtin_pattern(name: str) -> np.ndarray:
    """A built-in 20x20 binary pattern: ``pattern0`` (the "+" ring) or ``pattern1`` (the "x" of squares)."""
    if name not in BUILTIN_PATTERNS:
        raise StimulusError(
            f"unknown pattern {name!r}; built-in patterns: {', '.join(BUILTIN_PATTERNS)} (or give an image path)"
        )
    text = resources.files("spiking").joinpath("data", "patterns", f"{name}.txt").read_text()
    return _parse_digits(text, name)


def load_image(path: str | Path) -> np.ndarray:
    """Load a PNG/JPEG as grey levels in [0, 1], shape ``(rows, cols)``.

    Any mode is accepted (1-bit, 8/16-bit grey, palette, RGB, RGBA; alpha is
    composited over black). Raises :class:`StimulusError` in one line for a
    missing, unreadable, truncated or too large file.
    """
    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    if not p.exists():
        raise StimulusError(f"{p}: image not found")
    if p.is_dir():
        raise StimulusError(f"{p}: is a folder, not an image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(p) as im:
                w, h = im.size
                if w * h > MAX_IMAGE_PIXELS:
                    raise StimulusError(
                        f"{p}: image of {w}x{h} pixels is larger than the limit of {MAX_IMAGE_PIXELS} pixels"
                    )
                if w == 0 or h == 0:
                    raise StimulusError(f"{p}: image is empty")
                im.load()
                return _to_grey(im)
    except StimulusError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise StimulusError(
            f"{p}: not a readable PNG or JPEG image (or larger than {MAX_IMAGE_PIXELS} pixels)"
        ) from None
    except (OSError, ValueError, SyntaxError, EOFError) as err:
        raise StimulusError(
            f"{p}: image cannot be read ({str(err).splitlines()[0] if str(err) else type(err).__name__})"
        ) from None


def _to_grey(im) -> np.ndarray:
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        a = np.asarray(im, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") or a.max(initial=0) > 255 else 255.0
        return np.clip(a / top, 0.0, 1.0)
    if mode == "F":
        a = np.asarray(im, dtype=np.float64)
        return np.clip(np.nan_to_num(a), 0.0, 1.0)
    if mode == "P":
        im = im.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA") or "A" in mode:
        rgba = np.asarray(im.convert("RGBA"), dtype=np.float64) / 255.0
        grey = 0.299 * rgba[..., 0] + 0.587 * rgba[..., 1] + 0.114 * rgba[..., 2]
        return np.clip(grey * rgba[..., 3], 0.0, 1.0)
    return np.asarray(im.convert("L"), dtype=np.float64) / 255.0


def load_pattern(spec: str, config: Config | None = None, side: int | None = None) -> np.ndarray:
    """A pattern by built-in name, by procedural spec or by path (PNG/JPEG image or 0/1 text file).

    Procedural specs (``blank``, ``grating:...``: :func:`draw_procedural`) are drawn on a
    ``side x side`` grid (the pattern's side, so :func:`place_pattern` keeps them pixel for pixel).
    Relative paths resolve against the config file's folder.
    """
    if procedural_kind(spec) is not None:
        if side is None:
            raise StimulusError(f"{spec!r}: a procedural pattern needs the side of its grid")
        return draw_procedural(spec, side)
    if spec in BUILTIN_PATTERNS:
        return builtin_pattern(spec)
    p = config.resolve_path(spec) if config is not None else Path(spec)
    suffix = p.suffix.lower()
    if suffix == ".txt":
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise StimulusError(f"{p}: pattern file not found") from None
        except (OSError, UnicodeDecodeError) as err:
            raise StimulusError(f"{p}: pattern file cannot be read ({err})") from None
        return _parse_digits(text, str(p))
    if suffix in _IMAGE_SUFFIXES:
        return load_image(p)
    raise StimulusError(
        f"{spec}: not a built-in pattern ({', '.join(BUILTIN_PATTERNS)}), a procedural one (blank, {_GRATING_FORM}, "
        f"{_NOISE_FORM}) nor a .png/.jpg/.jpeg/.txt file"
    )


def _square(img: np.ndarray) -> np.ndarray:
    """Zero-pad a non-square image, centred, to a square."""
    h, w = img.shape
    n = max(h, w)
    out = np.zeros((n, n))
    r0, c0 = (n - h) // 2, (n - w) // 2
    out[r0 : r0 + h, c0 : c0 + w] = img
    return out


def _shrink(img: np.ndarray, side: int) -> np.ndarray:
    """Area-average a square image down to at most ``side`` pixels."""
    from PIL import Image

    return np.clip(
        np.asarray(Image.fromarray(img.astype(np.float32), mode="F").resize((side, side), Image.BOX), dtype=float), 0, 1
    )


def place_pattern(pattern: np.ndarray, pattern_side: int, retina_side: int) -> np.ndarray:
    """Place a pattern in the centre of the retina field, as the original did.

    The (squared) pattern of side ``s`` is enlarged by the integer factor
    ``ceil(pattern_side / s)`` (Kronecker product), zero-padded by
    ``ceil((retina_side - pattern_side) / 2)`` on every side and trimmed from
    the top-left to ``retina_side x retina_side``. An image larger than
    ``pattern_side`` is first area-averaged down to ``pattern_side``.

    Returns
    -------
    ndarray, shape (retina_side, retina_side)
        Grey levels in [0, 1].
    """
    img = _square(np.asarray(pattern, dtype=float))
    if img.shape[0] > pattern_side:
        img = _shrink(img, pattern_side)
    factor = math.ceil(pattern_side / img.shape[0])
    big = np.kron(img, np.ones((factor, factor)))
    pad = max(0, math.ceil((retina_side - pattern_side) / 2))
    padded = np.pad(big, pad)
    out = np.zeros((retina_side, retina_side))
    n = min(retina_side, padded.shape[0])
    out[:n, :n] = padded[:n, :n]
    return out


def pattern_label(spec: str) -> str:
    """A short name for a pattern spec (the file stem for paths; ``grating-45deg-sf4-ph0-c1`` for a grating)."""
    kind = procedural_kind(spec)
    if kind == "grating":
        try:
            return parse_grating(spec).label
        except StimulusError:
            return "grating"
    if kind == "noise":
        try:
            return parse_noise(spec).label
        except StimulusError:
            return "noise"
    if kind == "blank" or spec in BUILTIN_PATTERNS:
        return spec
    return Path(spec).stem


@dataclass(frozen=True)
class ScheduledEpoch:
    """A pattern shown from ``start`` to ``stop`` (ms)."""

    start: float
    stop: float
    pattern: str


def build_schedule(config: Config) -> list[ScheduledEpoch]:
    """The stimulus schedule over ``run.simulation_time``.

    Either the explicit ``stimulus.epochs`` (repeated if they end before the
    simulation does, cut at its end) or ``stimulus.patterns`` alternating every
    ``stimulus.switch_every`` ms, starting with the first.
    """
    total = config.run.simulation_time
    if config.stimulus.epochs:
        cycle = [(e.pattern, e.duration) for e in config.stimulus.epochs]
    else:
        cycle = [(p, config.stimulus.switch_every) for p in config.stimulus.patterns]
    out: list[ScheduledEpoch] = []
    t = 0.0
    i = 0
    res = config.run.resolution
    while t < total - res / 2:
        pattern, dur = cycle[i % len(cycle)]
        stop = min(total, t + dur)
        stop = round(stop / res) * res
        out.append(ScheduledEpoch(start=round(t / res) * res, stop=stop, pattern=pattern))
        t = stop
        i += 1
    return out
