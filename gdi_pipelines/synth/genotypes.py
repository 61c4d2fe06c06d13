"""Vectorised genotype calls for a block of records x samples (GT, AD, DP, GQ, QUAL).

Uses uniform and normal draws only (numpy's binomial/poisson cost ~10x more per value).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MISSING = -1  # allele not called ('.')
ABSENT = -2  # no second allele: haploid call
MISSING_RATE = 0.01
SEQ_ERROR = 0.01
UNSURE_RATE = 0.02  # calls with a random low GQ
# Ploidy of a record's calls for (female, male).
PLOIDY = {"diploid": (2, 2), "x": (2, 1), "y": (0, 1), "mito": (1, 1)}
DEPTH_SCALE = {"diploid": 1.0, "x": 1.0, "y": 0.5, "mito": 20.0}


@dataclass(frozen=True)
class GenotypeBlock:
    a1: np.ndarray  # (R, S) allele index or MISSING
    a2: np.ndarray  # (R, S) allele index, MISSING or ABSENT
    ad: np.ndarray  # (R, S, A) reads per allele
    dp: np.ndarray  # (R, S), -1 if missing
    gq: np.ndarray  # (R, S), -1 if missing
    ac: np.ndarray  # (R, A-1) alternate allele counts
    an: np.ndarray  # (R,)
    qual: np.ndarray  # (R,)


def _normal_counts(rng: np.random.Generator, mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    z = rng.standard_normal(mean.shape, dtype=np.float32)
    return np.maximum(np.rint(mean + np.sqrt(var) * z), 0).astype(np.int32)


def _draw_alleles(
    rng: np.random.Generator, freqs: np.ndarray, n_samp: int
) -> tuple[np.ndarray, np.ndarray]:
    cum = np.cumsum(freqs, axis=1, dtype=np.float32)
    cum[:, -1] = 2.0
    u = rng.random((freqs.shape[0], n_samp, 2), dtype=np.float32)
    alleles = np.zeros(u.shape, dtype=np.int8)
    for j in range(freqs.shape[1] - 1):
        alleles += u >= cum[:, j, None, None]
    first, second = alleles[..., 0], alleles[..., 1]
    # unphased calls are written low allele first: 0/1, 1/2
    return np.minimum(first, second), np.maximum(first, second)


def simulate_block(
    rng: np.random.Generator,
    freqs: np.ndarray,  # (R, A): allele frequencies, REF first, 0 beyond a record's alleles
    ploidy_class: list[str],
    is_male: np.ndarray,
    mean_depth: np.ndarray,
) -> GenotypeBlock:
    n_rec, n_all = freqs.shape
    n_samp = len(is_male)
    ploidy = np.array([PLOIDY[c] for c in ploidy_class])[:, is_male.astype(int)]  # (R, S)
    a1, a2 = _draw_alleles(rng, freqs, n_samp)
    u = rng.random((3, n_rec, n_samp), dtype=np.float32)  # missing, read error, unsure GQ
    missing = (u[0] < MISSING_RATE) | (ploidy == 0)
    a2[ploidy < 2] = ABSENT
    a1[missing] = MISSING
    a2[missing & (ploidy == 2)] = MISSING

    scale = np.array([DEPTH_SCALE[c] for c in ploidy_class], dtype=np.float32)[:, None]
    site_factor = rng.gamma(12.0, 1 / 12.0, size=(n_rec, 1)).astype(np.float32)
    depth = mean_depth.astype(np.float32)[None, :] * site_factor * scale
    dp = _normal_counts(rng, depth, depth)
    errors = (u[1] < dp * SEQ_ERROR).astype(np.int32)  # at most one error read
    rest = dp - errors
    het = (a2 >= 0) & (a1 != a2)
    first = rest.copy()
    half = rest[het].astype(np.float32)
    first[het] = np.minimum(_normal_counts(rng, half * 0.5, half * 0.25), rest[het])
    second_allele = np.where(a2 >= 0, a2, a1)
    error_allele = (a1 == 0).astype(np.int8)
    ad = np.zeros((n_rec, n_samp, n_all), dtype=np.int32)
    for j in range(n_all):
        ad[..., j] = (a1 == j) * first + (second_allele == j) * (rest - first)
        ad[..., j] += (error_allele == j) * errors

    noise = rng.standard_normal(dp.shape, dtype=np.float32) * 4.0
    gq = np.clip(np.rint(np.where(het, 2.6, 3.2) * dp + noise), 0, 99).astype(np.int32)
    unsure = u[2] < UNSURE_RATE
    gq[unsure] = (u[2][unsure] / UNSURE_RATE * 20).astype(np.int32)
    dp[missing] = -1
    gq[missing] = -1

    ac = np.stack([(a1 == j).sum(1) + (a2 == j).sum(1) for j in range(1, n_all)], axis=1)
    an = (a1 >= 0).sum(1) + (a2 >= 0).sum(1)
    carrier = (a1 > 0) | (a2 > 0)
    qual = np.where(carrier, gq, 0).sum(1) * rng.uniform(0.2, 1.2, size=n_rec)
    return GenotypeBlock(a1, a2, ad, dp, gq, ac.astype(np.int32), an, np.round(qual, 2))
