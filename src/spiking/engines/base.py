"""The interface every engine implements.

An engine takes a :class:`~spiking.model.network.Model` and offers a small
interface: build the layers, connect the projections, apply a stimulus epoch,
advance model time, collect the recorded spikes, and report counts and versions.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from ..model.network import Model

__all__ = ["Engine"]


class Engine(ABC):
    """The interface every engine implements."""

    name: str = ""

    @abstractmethod
    def setup(self, model: Model, threads: int) -> None:
        """Start a fresh kernel with the model's seed and resolution and ``threads`` threads."""

    @abstractmethod
    def build(self) -> dict[str, int]:
        """Create every layer and the recorders; returns neurons per layer."""

    @abstractmethod
    def connect(self) -> dict[str, int]:
        """Create every projection; returns synapses per projection held by this process."""

    @abstractmethod
    def incoming(self, target: str, targets: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """This process's connections into nodes ``targets`` of layer ``target``: source layer -> (source, target) indices."""

    @abstractmethod
    def outgoing(self, source: str, node: int) -> dict[str, np.ndarray]:
        """This process's targets of node ``node`` of layer ``source``: target layer -> indices."""

    @abstractmethod
    def apply_epoch(self, rates: dict[str, np.ndarray]) -> None:
        """Set the retina rates (Hz, node order) for the epoch that starts now."""

    @abstractmethod
    def advance(self, ms: float) -> None:
        """Simulate ``ms`` of model time."""

    @abstractmethod
    def collect(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """This process's spikes since the last call: layer -> (node ids from 0, times in ms); clears the recorders."""

    @abstractmethod
    def finish(self) -> None:
        """End the simulation (release what ``apply_epoch`` prepared)."""

    @abstractmethod
    def info(self) -> dict:
        """Versions, build information, threads and processes."""
