"""Hardy–Weinberg exact test (Wigginton, Cutler & Abecasis 2005), vectorised over variants.

Same test as `bcftools +fill-tags -t HWE`: over diploid genotypes, the p-value is the summed
probability of every het count (given the allele counts) no more likely than the observed one;
1 when the site is monomorphic among them. Het-count probabilities come from the closed form
P(h) ∝ ngt! / (hom_r! h! hom_c!) · 2^h (log-gamma), normalised per (ngt, n_rare) pair, so all
variants sharing their genotype counts are computed once. Only a window around the mode is
evaluated (log-concave: it is widened until its edges are below double precision underflow).
"""

from __future__ import annotations

import math

import numpy as np

TIE_TOLERANCE = 1e-7  # relative: probabilities this close to the observed one count as ties
_UNDERFLOW = 750.0  # exp(-750) == 0.0 in double precision
_CHUNK_ELEMENTS = 4_000_000
_SCALE = 20.0  # window half-width in sqrt(mode) het steps: ~+-40 SD, widened if needed


def hwe_exact_p(n_hom_ref, n_het, n_hom_alt) -> np.ndarray:
    """p-values (float64) per variant; NaN where there is no diploid genotype."""
    hom_ref, het, hom_alt = (np.asarray(a, dtype=np.int64) for a in (n_hom_ref, n_het, n_hom_alt))
    ngt = hom_ref + het + hom_alt
    n_ref, n_alt = 2 * hom_ref + het, het + 2 * hom_alt
    out = np.ones(len(ngt), dtype=np.float64)
    out[ngt == 0] = np.nan
    test = (n_ref > 0) & (n_alt > 0)
    if test.any():
        unique, inverse = _unique_triples(ngt[test], np.minimum(n_ref, n_alt)[test], het[test])
        out[test] = _p_values(unique)[inverse]
    return out


def _unique_triples(ngt: np.ndarray, nrare: np.ndarray, het: np.ndarray):
    """The distinct (ngt, nrare, nhet) rows and each variant's row among them. Packed into
    one int64 key when it fits: numpy's row-wise unique sorts 1M rows in ~1 s, keys in 0.1."""
    width_rare, width_het = int(nrare.max()) + 1, int(het.max()) + 1
    if int(ngt.max()) + 1 > (2**62) // (width_rare * width_het):
        triples = np.stack([ngt, nrare, het], axis=1)
        unique, inverse = np.unique(triples, axis=0, return_inverse=True)
        return unique, inverse.ravel()
    keys = (ngt * width_rare + nrare) * width_het + het
    unique_keys, inverse = np.unique(keys, return_inverse=True)
    rows = unique_keys // width_het
    unique = np.stack([rows // width_rare, rows % width_rare, unique_keys % width_het], axis=1)
    return unique, inverse.ravel()


def _log_factorials(n: int) -> np.ndarray:
    """log(k!) for k = 0..n, each from math.lgamma (a running sum of logs drifts)."""
    return np.array([math.lgamma(k + 1) for k in range(n + 1)])


def _log_prob(ngt: np.ndarray, nrare: np.ndarray, h: np.ndarray) -> np.ndarray:
    hom_r = (nrare - h) // 2
    hom_c = ngt - h - hom_r
    log_factorial = _log_factorials(int(ngt.max()))
    return h * np.log(2.0) - log_factorial[hom_r] - log_factorial[h] - log_factorial[hom_c]


def _window(triples: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """(lowest het count, number of het counts) to evaluate per (ngt, nrare, nhet)."""
    ngt, nrare = triples[:, 0], triples[:, 1]
    mid = (nrare * (2 * ngt - nrare)) // (2 * ngt)  # bcftools' starting point, near the mode
    mid += (mid & 1) ^ (nrare & 1)  # a het count has the parity of nrare
    half = (scale * np.sqrt(mid + 1.0)).astype(np.int64) + 4
    low = np.maximum(mid - 2 * half, nrare & 1)
    high = np.minimum(mid + 2 * half, nrare)
    return low, (high - low) // 2 + 1


def _p_values(triples: np.ndarray) -> np.ndarray:
    """triples: rows (ngt, nrare, nhet); chunks of similar window size keep padding small."""
    p = np.empty(len(triples))
    _, count = _window(triples, _SCALE)
    order = np.argsort(count, kind="stable")
    widths = count[order]
    start = 0
    while start < len(order):
        # rows x widest row of the chunk stays within the budget (widths ascend)
        ahead = widths[start : start + _CHUNK_ELEMENTS // int(widths[start]) + 1]
        area = np.arange(1, len(ahead) + 1) * ahead
        rows = max(1, int(np.searchsorted(area, _CHUNK_ELEMENTS, side="right")))
        chosen = order[start : start + rows]
        p[chosen] = _chunk_p_values(triples[chosen])
        start += rows
    return np.minimum(p, 1.0)


def _chunk_p_values(triples: np.ndarray) -> np.ndarray:
    ngt, nrare, nhet = (triples[:, i : i + 1] for i in range(3))
    scale = _SCALE
    while True:
        low, count = _window(triples, scale)
        steps = np.arange(count.max())
        valid = steps[None, :] < count[:, None]
        h = np.where(valid, low[:, None] + 2 * steps[None, :], nrare & 1)
        log_p = np.where(valid, _log_prob(ngt, nrare, h), -np.inf)
        top = log_p.max(axis=1, keepdims=True)
        edge = np.maximum(log_p[:, 0], log_p[np.arange(len(count)), count - 1]) - top[:, 0]
        if np.all((count == nrare[:, 0] // 2 + 1) | (edge < -_UNDERFLOW)):
            break
        scale *= 2
    probs = np.exp(log_p - top)
    total = probs.sum(axis=1, keepdims=True)
    probs /= total
    observed = np.exp(_log_prob(ngt, nrare, nhet) - top) / total
    # no more likely than the observed count: the two tails, summed smallest first
    return np.where(probs <= observed * (1.0 + TIE_TOLERANCE), probs, 0.0).sum(axis=1)
