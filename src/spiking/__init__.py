"""spiking: the early visual pathway (retina, LGN, V1) with spiking neurons on NEST.

A picture drives ON- and OFF-centre retina layers of Poisson generators, relayed
by an LGN layer of parrot neurons to excitatory and inhibitory Izhikevich layers
of V1 wired by distance. See the README for the model and ``docs/`` for the
config keys and the run folder.

``spiking.open_run(folder)`` reads a run folder (:mod:`spiking.api`); it is
imported on first use, so ``import spiking`` stays light.

Each module logs through ``logging.getLogger(__name__)``, under the
``spiking`` logger, which shows nothing until the application configures
logging (the ``spiking`` command does: warnings on stderr, ``-v`` for more).
"""

import logging as _logging

__version__ = "0.1.0"

_logging.getLogger(__name__).addHandler(_logging.NullHandler())

__all__ = ["__version__", "open_run", "Run"]

_LAZY = {"open_run": "spiking.api", "Run": "spiking.api"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'spiking' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
