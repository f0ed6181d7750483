"""Exports of a run to formats other tools read: Neo (:mod:`.neo`), NWB (:mod:`.nwb`), the SONATA network (:mod:`.sonata`).

Each module imports its library only when called, so ``import spiking`` stays light.
"""
