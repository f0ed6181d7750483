"""Grey images of layer-shaped arrays: written as PNG, read back (Pillow, atomic)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from .atomic import atomic_write_bytes

__all__ = ["SNAPSHOT_PIXELS", "upscale_factor", "write_grey_png", "read_grey_png"]

#: Grey images of small layers are enlarged by whole pixels to about this side.
SNAPSHOT_PIXELS = 256


def upscale_factor(side: int) -> int:
    """Whole-pixel enlargement of a ``side x side`` image to about :data:`SNAPSHOT_PIXELS` (at least 1)."""
    return max(1, SNAPSHOT_PIXELS // max(1, int(side)))


def write_grey_png(path, values: np.ndarray, lo: float, hi: float, scale: int = 1) -> Path:
    """A grey PNG of ``values[row, col]`` mapped linearly from [lo, hi] to [0, 255]."""
    from PIL import Image

    span = hi - lo if hi > lo else 1.0
    a = np.clip((np.asarray(values, dtype=float) - lo) / span, 0, 1)
    img = Image.fromarray(np.round(a * 255).astype(np.uint8), mode="L")
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return atomic_write_bytes(path, buf.getvalue())


def read_grey_png(path, side: int | None = None) -> np.ndarray:
    """A grey PNG back as values in [0, 1], ``[row, col]``; reduced to ``side x side`` when it was enlarged."""
    from PIL import Image

    with Image.open(path) as im:
        a = np.asarray(im.convert("L"), dtype=float) / 255.0
    if side and a.shape[0] % side == 0 and a.shape[0] >= side:
        k = a.shape[0] // side
        a = a[::k, ::k]
    return a
