"""Sizes and grid geometry of the layers, derived from the config (pure numpy).

All layers are square grids centred on the origin with side length ``extent``
(model space units). Node order follows NEST's grid layers: node ``k`` sits in
column ``k // rows`` and row ``k % rows``, rows counted from the top (largest
y) down. An image ``img[row, col]`` therefore maps to nodes as ``img.T.ravel()``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..config import NetworkConfig

__all__ = ["Sizes", "derive_sizes", "grid_positions", "grid_rows_cols", "image_to_nodes", "nodes_to_image"]


@dataclass(frozen=True)
class Sizes:
    """Derived sizes of the network.

    Attributes
    ----------
    extent : float
        Side of every layer in model space units, ``round(sqrt(hypercolumns), 2)``.
    total_neurons : int
        ``hypercolumns * minicolumn_side**2 * neurons_per_minicolumn``.
    excitatory_side, inhibitory_side, retina_side : int
        Grid sides of the excitatory, inhibitory and retina/LGN layers.
    pattern_side : int
        Side, in retina pixels, of the region the pattern covers.
    """

    extent: float
    total_neurons: int
    excitatory_side: int
    inhibitory_side: int
    retina_side: int
    pattern_side: int

    def side(self, layer: str) -> int:
        """Grid side of a layer by name (retina_on, lgn_off, ex_on, in_off, ...)."""
        if layer.startswith(("retina", "lgn")):
            return self.retina_side
        if layer.startswith("ex"):
            return self.excitatory_side
        if layer.startswith("in"):
            return self.inhibitory_side
        raise KeyError(layer)


def _ceil_sqrt(x: float) -> int:
    """``ceil(sqrt(x))`` robust to floating-point error on exact squares."""
    r = math.isqrt(int(math.floor(x)))
    if r * r >= x - 1e-9:
        return r
    return math.ceil(math.sqrt(x) - 1e-12)


def derive_sizes(net: NetworkConfig) -> Sizes:
    """The original's formulas for the layer sizes."""
    per_hc = net.minicolumn_side**2 * net.neurons_per_minicolumn
    n = net.hypercolumns * per_hc
    return Sizes(
        extent=round(math.sqrt(net.hypercolumns), 2),
        total_neurons=n,
        excitatory_side=_ceil_sqrt(n * net.excitatory_fraction),
        inhibitory_side=_ceil_sqrt(n * net.inhibitory_fraction),
        retina_side=_ceil_sqrt(n),
        pattern_side=_ceil_sqrt(net.exposed_hypercolumns * per_hc),
    )


def grid_rows_cols(side: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of each node of a ``side x side`` grid layer, in node order."""
    k = np.arange(side * side)
    return k % side, k // side


def grid_positions(side: int, extent: float) -> np.ndarray:
    """Positions ``(side*side, 2)`` of a grid layer's nodes (x, y), in node order.

    Element centres of a grid of ``side x side`` elements spanning ``[extent, extent]``
    centred on the origin; row 0 is the top (largest y).
    """
    rows, cols = grid_rows_cols(side)
    step = extent / side
    x = -extent / 2 + (cols + 0.5) * step
    y = extent / 2 - (rows + 0.5) * step
    return np.column_stack([x, y])


def image_to_nodes(img: np.ndarray) -> np.ndarray:
    """Values of a square image ``img[row, col]`` in grid node order."""
    return np.ascontiguousarray(np.asarray(img).T).ravel()


def nodes_to_image(values: np.ndarray, side: int) -> np.ndarray:
    """Inverse of :func:`image_to_nodes`: node values back to ``img[row, col]``."""
    return np.asarray(values).reshape(side, side).T
