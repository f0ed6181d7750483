"""Retina encoding: ON/OFF receptive fields (the original's Gabor, or centre-surround) and the rate maps (pure numpy).

``retina.filter = "gabor"`` (the default) is the original's: each image is
convolved with a Gabor kernel and with its transpose, so the retina itself
prefers the kernel's orientation and the one at right angles. ``"dog"`` is
the textbook retina: ON-centre and OFF-centre cells with a difference of
Gaussians, which has no preferred orientation, so any orientation tuning in
V1 must come from the wiring.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..config import DogConfig, GaborConfig, RetinaConfig

__all__ = [
    "gabor_kernel",
    "receptive_field",
    "filter_image",
    "dog_kernel",
    "dog_filter",
    "retina_kernel",
    "retina_rates",
    "retina_responses",
    "latency",
]


def gabor_kernel(ksize: int, sigma: float, theta: float, lambd: float, gamma: float, psi: float) -> np.ndarray:
    """A Gabor kernel with OpenCV's ``getGaborKernel((ksize, ksize), sigma, theta, lambd, gamma, psi)`` convention.

    ``exp(-(x'^2 + gamma^2 y'^2) / (2 sigma^2)) * cos(2 pi x' / lambd + psi)`` on a
    ``(2*(ksize//2)+1)`` square grid, ``x' = x cos(theta) + y sin(theta)``,
    ``y' = -x sin(theta) + y cos(theta)``, stored as OpenCV does (element
    ``[ymax - y, xmax - x]``).

    Returns
    -------
    ndarray, shape (2*(ksize//2)+1, 2*(ksize//2)+1)
    """
    half = ksize // 2
    y, x = np.mgrid[half : -half - 1 : -1, half : -half - 1 : -1].astype(float)
    c, s = np.cos(theta), np.sin(theta)
    xr = x * c + y * s
    yr = -x * s + y * c
    sigma_y = sigma / gamma
    return np.exp(-0.5 * (xr**2 / sigma**2 + yr**2 / sigma_y**2)) * np.cos(2 * np.pi * xr / lambd + psi)


def receptive_field(gabor: GaborConfig, off: bool = False) -> np.ndarray:
    """The retina's ON (or OFF: negated) receptive field: the Gabor kernel with its mean subtracted."""
    k = gabor_kernel(gabor.ksize, gabor.sigma, gabor.theta, gabor.lambda_, gabor.gamma, gabor.psi)
    if off:
        k = -k
    return k - k.mean()


def filter_image(img: np.ndarray, gabor: GaborConfig, off: bool = False) -> np.ndarray:
    """The ON (or OFF) centre response of the retina to an image, clipped to [0, 1].

    The image is convolved with the :func:`receptive_field` and with its
    transpose (same size, symmetric boundary) and the two are summed.
    """
    k = receptive_field(gabor, off)
    # the image's own size, mirrored at the border (the edge pixel repeated: scipy.signal's "symm")
    a = ndimage.convolve(img, k, mode="reflect")
    b = ndimage.convolve(img, k.T, mode="reflect")
    return np.clip(a + b, 0.0, 1.0)


def dog_kernel(dog: DogConfig) -> np.ndarray:
    """The ON-centre kernel: ``G(sigma_centre) - surround_weight * G(sigma_surround)``, each Gaussian summing to 1.

    On a ``(2*(ksize//2)+1)`` square grid; with ``surround_weight`` 1 the
    kernel sums to 0, so a uniform field gives no response.

    Returns
    -------
    ndarray, shape (2*(ksize//2)+1, 2*(ksize//2)+1)
    """
    half = dog.ksize // 2
    y, x = np.mgrid[-half : half + 1, -half : half + 1].astype(float)
    r2 = x**2 + y**2

    def gauss(sigma: float) -> np.ndarray:
        g = np.exp(-0.5 * r2 / sigma**2)
        return g / g.sum()

    return gauss(dog.sigma_centre) - dog.surround_weight * gauss(dog.sigma_surround)


def dog_filter(img: np.ndarray, dog: DogConfig, off: bool = False) -> np.ndarray:
    """The ON (or OFF) centre-surround response to an image: ``gain`` times the :func:`dog_kernel`'s, clipped to [0, 1].

    OFF cells take the negated output; the border is mirrored as for the Gabor retina.
    """
    out = ndimage.convolve(np.asarray(img, dtype=float), dog_kernel(dog), mode="reflect")
    return np.clip((-out if off else out) * dog.gain, 0.0, 1.0)


def retina_kernel(retina: RetinaConfig) -> np.ndarray:
    """The ON cells' kernel of the configured retina (the Gabor's without its transpose)."""
    return dog_kernel(retina.dog) if retina.filter == "dog" else receptive_field(retina.gabor)


def retina_responses(img: np.ndarray, retina: RetinaConfig) -> tuple[np.ndarray, np.ndarray]:
    """ON and OFF filter responses in [0, 1] of the retina for a placed image ``(side, side)``."""
    if retina.filter == "dog":
        return dog_filter(img, retina.dog, off=False), dog_filter(img, retina.dog, off=True)
    return filter_image(img, retina.gabor, off=False), filter_image(img, retina.gabor, off=True)


def retina_rates(img: np.ndarray, retina: RetinaConfig) -> tuple[np.ndarray, np.ndarray]:
    """ON and OFF Poisson rates (Hz) of the retina for a placed image ``(side, side)``.

    The filter response in [0, 1] maps linearly to ``[min_rate, max_rate]``.
    """
    span = retina.max_rate - retina.min_rate
    on, off = retina_responses(img, retina)
    return retina.min_rate + span * on, retina.min_rate + span * off


def latency(response: np.ndarray, retina: RetinaConfig) -> np.ndarray:
    """The latency (ms after the stimulus starts) of each pixel's one spike; ``inf`` below the threshold.

    Linear in the response: ``latency_min`` at 1, ``latency_max`` at ``latency_threshold``.
    """
    r = np.asarray(response, dtype=float)
    theta = retina.latency_threshold
    share = np.clip((1.0 - r) / (1.0 - theta), 0.0, 1.0)
    lat = retina.latency_min + (retina.latency_max - retina.latency_min) * share
    return np.where(r >= theta, lat, np.inf)
