"""Does a projection as built follow its mask and kernel? A chi-square test of connections per distance bin.

Every (source, target) pair inside the mask (``ProjectionSpec.inside``, the
one boundary rule) is a candidate, connected with probability ``p(d)``
independently of the others (NEST's ``pairwise_bernoulli``, Brian2's
``p=``). The connections realised in a distance bin are then a sum of
independent Bernoulli trials: mean ``E = sum p``, variance ``V = sum p (1 - p)``
over the bin's candidates. Bins are merged from the outside in until each
holds a variance of at least :data:`MIN_VARIANCE` (the normal approximation),
and ``sum (O - E)^2 / V`` over the ``k`` bins is chi-square with ``k``
degrees of freedom (nothing is fitted). Bins whose candidates all have
``p = 1`` (or 0) have no variance: any difference there fails outright. A
connection outside the mask fails too. Pure numpy and scipy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..model.network import ProjectionSpec

__all__ = ["MIN_VARIANCE", "KernelFit", "kernel_fit"]

#: Smallest variance of a bin (about its expected count when p is small) for the normal approximation.
MIN_VARIANCE = 5.0


@dataclass(frozen=True)
class KernelFit:
    """The chi-square test of one projection.

    Attributes
    ----------
    projection : str
    edges : ndarray of float, shape (k + 1,)
        Distance bins, model units.
    observed : ndarray of int, shape (k,)
        Realised connections per bin.
    expected, variance : ndarray of float, shape (k,)
        Sum of ``p`` and of ``p (1 - p)`` over the bin's candidate pairs.
    chi2 : float
    dof : int
    p_value : float
        Probability of a chi-square at least this large if the projection
        follows its kernel (0 for a connection outside the mask, or a
        difference in a bin without variance).
    outside : int
        Connections outside the mask.
    """

    projection: str
    edges: np.ndarray
    observed: np.ndarray
    expected: np.ndarray
    variance: np.ndarray
    chi2: float
    dof: int
    p_value: float
    outside: int

    def agrees(self, alpha: float = 1e-3) -> bool:
        """Whether the test does not reject the kernel at level ``alpha``."""
        return self.p_value >= alpha


def _merge(edges, o, e, v):
    """Merge adjacent bins, outermost first, until every bin has variance >= MIN_VARIANCE (or one bin is left)."""
    edges, o, e, v = list(edges), list(o), list(e), list(v)
    i = len(v) - 1
    while i >= 0 and len(v) > 1:
        if v[i] >= MIN_VARIANCE or (v[i] == 0 and e[i] == 0):
            i -= 1
            continue
        j = i - 1 if i > 0 else i + 1  # into its inner neighbour (the innermost into its outer one)
        lo, hi = min(i, j), max(i, j)
        o[lo], e[lo], v[lo] = o[lo] + o[hi], e[lo] + e[hi], v[lo] + v[hi]
        del o[hi], e[hi], v[hi], edges[hi]
        i = min(lo, len(v) - 1)
    return np.array(edges), np.array(o), np.array(e), np.array(v)


def kernel_fit(
    p: ProjectionSpec,
    source_positions: np.ndarray,
    target_positions: np.ndarray,
    sources: np.ndarray,
    targets: np.ndarray,
    target_sample: np.ndarray | None = None,
    bins: int = 12,
) -> KernelFit:
    """Test the connections of one projection against its mask and kernel.

    Parameters
    ----------
    p : ProjectionSpec
        Not ``one_to_one``.
    source_positions, target_positions : ndarray, shape (n, 2)
        Positions of the source and target layers' nodes, model units.
    sources, targets : ndarray of int, shape (m,)
        Node indices of each realised connection.
    target_sample : ndarray of int, optional
        The targets whose every incoming connection is in ``sources``/``targets``
        (default: every target).
    bins : int
        Distance bins before merging.

    Returns
    -------
    KernelFit
    """
    if p.mask == "one_to_one":
        raise ValueError(f"{p.name}: a one_to_one projection has no kernel to test")
    tgt = np.arange(len(target_positions)) if target_sample is None else np.unique(target_sample)
    keep = np.isin(targets, tgt)
    d_real = np.linalg.norm(source_positions[sources[keep]] - target_positions[targets[keep]], axis=1)
    inside_real = p.inside(d_real)
    edges = np.linspace(0.0, p.mask_radius, bins + 1)
    e, v = np.zeros(bins), np.zeros(bins)
    self_proj = p.source == p.target and not p.allow_autapses
    for t in tgt:  # one target at a time: memory stays at one row of candidates
        d = np.linalg.norm(source_positions - target_positions[t], axis=1)
        ok = p.inside(d)
        if self_proj:
            ok[t] = False
        prob = p.probability(d[ok])
        k = np.clip(np.searchsorted(edges, d[ok], side="right") - 1, 0, bins - 1)
        e += np.bincount(k, prob, bins)
        v += np.bincount(k, prob * (1 - prob), bins)
    o = np.bincount(np.clip(np.searchsorted(edges, d_real[inside_real], side="right") - 1, 0, bins - 1), None, bins)
    edges, o, e, v = _merge(edges, o, e, v)
    var = v > 1e-12
    chi2 = float(np.sum((o[var] - e[var]) ** 2 / v[var]))
    dof = int(var.sum())
    exact_miss = bool(np.any(np.abs(o[~var] - e[~var]) > 1e-6))
    outside = int((~inside_real).sum())
    p_value = 0.0 if exact_miss or outside else (float(stats.chi2.sf(chi2, dof)) if dof else 1.0)
    return KernelFit(p.name, edges, o.astype(np.int64), e, v, chi2, dof, p_value, outside)
