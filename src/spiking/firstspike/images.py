"""Grey images as the first-spike networks read them (8 bits), and the degradations of Delorme & Thorpe (2001).

Both degradations keep the image in 8 bits, as the paper's images were:
lowering the contrast of a rank-order code changes nothing but what the
rounding to whole grey levels destroys, which is what makes low contrast
hard for it.

* contrast ``c`` (1 = the image as it is): ``I' = round(m + c (I - m))`` with
  ``m`` the image's mean grey level;
* noise ``p`` (0 = none, 1 = noise only): ``I' = round((1 - p) I + p N)``
  with ``N`` uniform white noise over [0, 255], one draw per pixel from a
  seeded stream (the formula SpikeNET's author gives for the paper's noise).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DatasetError

__all__ = ["read_grey", "lower_contrast", "add_noise"]


def read_grey(path) -> np.ndarray:
    """An image file (PGM, PNG, JPEG) as an ``uint8`` array ``[row, col]`` (colour averaged to grey).

    Raises :class:`~spiking.errors.DatasetError` in one line for a file that cannot be read.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("L"), dtype=np.uint8).copy()
    except (OSError, UnidentifiedImageError) as err:
        raise DatasetError(f"{path}: cannot be read as an image ({err})") from None


def lower_contrast(img: np.ndarray, contrast: float) -> np.ndarray:
    """The image at ``contrast`` (a fraction of its own) about its mean grey level, rounded to 8 bits."""
    a = np.asarray(img, dtype=float)
    m = a.mean()
    return np.clip(np.rint(m + contrast * (a - m)), 0, 255).astype(np.uint8)


def add_noise(img: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """``(1 - share) * image + share * uniform noise over [0, 255]``, rounded to 8 bits."""
    a = np.asarray(img, dtype=float)
    noise = rng.uniform(0.0, 255.0, size=a.shape)
    return np.clip(np.rint((1.0 - share) * a + share * noise), 0, 255).astype(np.uint8)
