"""Simulation engines: the only place a simulator is called, found by name in a registry.

An engine turns a :class:`~spiking.model.network.Model` into a running
network (:class:`~spiking.engines.base.Engine`). Each lives in a subpackage
of its own (``nest``, and ``brian2``) and is imported only when asked for, so
nothing else in the package needs a simulator installed.
"""

from __future__ import annotations

import importlib

__all__ = ["ENGINE_MODULES", "engine_class", "get_engine"]

#: Engine name -> module that defines its class (imported on demand).
ENGINE_MODULES = {"nest": "spiking.engines.nest.engine", "brian2": "spiking.engines.brian2.engine"}


def engine_class(name: str):
    """The engine class registered under ``name``."""
    if name not in ENGINE_MODULES:
        raise ValueError(f"unknown engine {name!r}; available: {', '.join(ENGINE_MODULES)}")
    return importlib.import_module(ENGINE_MODULES[name]).ENGINE


def get_engine(name: str = "nest"):
    """A new engine by name."""
    return engine_class(name)()
