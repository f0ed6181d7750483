"""Simulation engines: the only place a simulator is called, found by name in a registry.

An engine turns a :class:`~spiking.model.network.Model` into a running
network (:class:`~spiking.engines.base.Engine`). Each lives in a subpackage
of its own and is declared, with its capabilities, in
:mod:`.registry`; it is imported only when asked for, so nothing else in the
package needs a simulator installed.
"""

from __future__ import annotations

import importlib

from .registry import DEFAULT_ENGINE, engine_spec

__all__ = ["engine_class", "get_engine"]


def engine_class(name: str):
    """The engine class registered under ``name`` (``ValueError`` for an unknown name)."""
    return importlib.import_module(engine_spec(name).module).ENGINE


def get_engine(name: str = DEFAULT_ENGINE):
    """A new engine by name."""
    return engine_class(name)()
