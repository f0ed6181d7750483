"""The model as plain data, without any simulator (pure numpy).

:mod:`.cells` (neuron types, neutral names), :mod:`.geometry` (sizes and grids),
:mod:`.stimulus` (patterns, images, schedule), :mod:`.protocols` (gratings,
bars and sparse noise as frames), :mod:`.retina` (Gabor ON/OFF
rates), :mod:`.trains` (the retina's Poisson trains), :mod:`.network` (layers,
projections, the whole :class:`~spiking.model.network.Model`),
:mod:`.estimate` (pre-flight nodes, synapses, memory) and :mod:`.timegrid`
(times on the step grid). Engines (:mod:`spiking.engines`) turn a model into a
running network.

Import from the modules (``from spiking.model.network import build_model``):
this package imports nothing itself, so the config can take its neuron
defaults from :mod:`.cells`.
"""
