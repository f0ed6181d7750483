"""Spike-train analysis of a run with Elephant: ISI CV, Fano factor and pairwise correlations per layer and pattern.

:mod:`.spiketrains` hands each statistic to Elephant; :mod:`.layers` picks the
neurons, windows and pairs of each layer and computes them for a whole run
(:func:`~spiking.analysis.layers.run_statistics`). Elephant is imported only
when a statistic is computed. :mod:`.tuning` has a physiologist's measures:
tuning curves, orientation and direction selectivity, responsiveness and
receptive fields (numpy and scipy).
"""
