"""First-spike vision: networks in which each neuron fires at most once and the first spike decides (pure numpy).

:mod:`.images` (reading images, and degrading them as the papers do),
:mod:`.spikenet` (the configuration files of SpikeNET's 40-face network:
kernels and face centres, read from a folder the user names),
:mod:`.rankorder` (Delorme & Thorpe's rank-order network: ON/OFF retina,
orientation maps, face maps; its learning rule and its decision),
:mod:`.faces` (``spiking learn faces``: the protocol of Delorme & Thorpe 2001
into a run folder). The networks live for a few hundred time steps with one
spike per neuron and weights shared across a map: they are simulated as
time-stepped arrays, event by event, and checked against a network of the
same neurons built on Brian2 (``tests/test_first_spike.py``).
"""
