"""Learning from data with spiking networks, simulator-free: data, read-out, state, progress, plots, run folders.

``spiking learn digits`` is Diehl & Cook's (2015) unsupervised STDP network
for handwritten digits. Everything here is plain numpy; the network itself is
simulated by an engine (:mod:`spiking.engines.brian2.digits`), imported only
when a run starts, so these modules are tested without a simulator.

Modules: :mod:`.model` (the parameters and a run's options), :mod:`.data`
(the digits and their fixed split), :mod:`.readout` (labels, predictions,
accuracy, confusion), :mod:`.state` (the saved training state),
:mod:`.loop` (the phases, batch by batch, with checkpoints and stops),
:mod:`.progress` (what the user sees meanwhile), :mod:`.plots` (figures),
:mod:`.baseline` (logistic regression for scale), :mod:`.runs` (the run
folder, start and resume).
"""
