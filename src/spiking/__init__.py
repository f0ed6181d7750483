"""spiking: the early visual pathway (retina, LGN, V1) with spiking neurons on NEST.

A picture drives ON- and OFF-centre retina layers of Poisson generators, relayed
by an LGN layer of parrot neurons to excitatory and inhibitory Izhikevich layers
of V1 wired by distance. See the README for the model and ``docs/`` for the
config keys and the run folder.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
