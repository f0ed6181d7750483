"""Reproductions of Izhikevich (2003): the Fig. 2 cell classes and the Fig. 3 network, on NEST or Brian2.

    E. M. Izhikevich, "Simple Model of Spiking Neurons",
    IEEE Transactions on Neural Networks 14(6):1569-1572, 2003.

Cut by concept: :mod:`.params` (the numbers), :mod:`.protocols` (the
experiments as data and the interface an engine implements),
:mod:`.reference` (the numerics in plain numpy), :mod:`.simulate` (running a
protocol on an engine by name), :mod:`.checks` (the classes' checks),
:mod:`.metrics` (the network's rates, rhythms and check), :mod:`.plots`
(figures) and :mod:`.runs` (run folders). The engine code is in
``spiking.engines.<engine>.izhikevich``; nothing here imports a simulator.
"""

__all__ = ["params", "protocols", "reference", "simulate", "checks", "metrics", "plots", "runs"]
