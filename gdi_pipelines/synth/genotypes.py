"""Vectorised genotype calls for a block of records x samples (GT, AD, DP, GQ, QUAL)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MISSING = -1  # allele not called ('.')
ABSENT = -2  # no second allele: haploid call
MISSING_RATE = 0.01
SEQ_ERROR = 0.01
# Ploidy classes of a record: sample ploidy for (female, male).
PLOIDY = {"diploid": (2, 2), "x": (2, 1), "y": (0, 1), "mito": (1, 1)}
DEPTH_SCALE = {"diploid": 1.0, "x": 1.0, "y": 0.5, "mito": 20.0}


@dataclass(frozen=True)
class GenotypeBlock:
    a1: np.ndarray  # (R, S) allele index, MISSING
    a2: np.ndarray  # (R, S) allele index, MISSING, ABSENT
    ad: np.ndarray  # (R, S, A) reads per allele
    dp: np.ndarray  # (R, S), -1 if missing
    gq: np.ndarray  # (R, S), -1 if missing
    ac: np.ndarray  # (R, A-1) alternate allele counts
    an: np.ndarray  # (R,)
    qual: np.ndarray  # (R,)


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
    cum = np.cumsum(freqs, axis=1)
    cum[:, -1] = 1.0
    draws = rng.random((n_rec, n_samp, 2))
    alleles = (draws[..., None] > cum[:, None, None, :]).sum(-1).astype(np.int8)
    alleles.sort(axis=-1)  # unphased calls are written low allele first: 0/1, 1/2
    a1, a2 = alleles[..., 0], alleles[..., 1]
    a2[ploidy < 2] = ABSENT
    a1[ploidy == 0] = MISSING
    missing = (rng.random((n_rec, n_samp)) < MISSING_RATE) | (ploidy == 0)
    a1[missing] = MISSING
    a2[missing & (ploidy == 2)] = MISSING

    scale = np.array([DEPTH_SCALE[c] for c in ploidy_class])[:, None]
    site_factor = rng.gamma(5.0, 0.2, size=(n_rec, 1))
    dp = rng.poisson(mean_depth[None, :] * site_factor * scale).astype(np.int32)
    errors = rng.binomial(dp, SEQ_ERROR)
    rest = dp - errors
    het = (a2 >= 0) & (a1 != a2)
    first = np.where(het, rng.binomial(rest, 0.5), rest)
    second_allele = np.where(a2 >= 0, a2, a1)
    error_allele = np.where(a1 == 0, 1, 0)
    idx = np.arange(n_all)
    ad = (
        (a1[..., None] == idx) * first[..., None]
        + (second_allele[..., None] == idx) * (rest - first)[..., None]
        + (error_allele[..., None] == idx) * errors[..., None]
    ).astype(np.int32)

    gq_mean = np.where(het, 2.6, 3.2) * dp + rng.normal(0.0, 4.0, size=dp.shape)
    gq = np.clip(np.rint(gq_mean), 0, 99).astype(np.int32)
    unsure = rng.random(gq.shape) < 0.02
    gq[unsure] = rng.integers(0, 20, size=int(unsure.sum()))
    dp[missing] = -1
    gq[missing] = -1

    alt_idx = np.arange(1, n_all)
    ac = ((a1[..., None] == alt_idx).sum(1) + (a2[..., None] == alt_idx).sum(1)).astype(np.int32)
    an = ((a1 >= 0).sum(1) + (a2 >= 0).sum(1)).astype(np.int32)
    carrier = (a1 > 0) | (a2 > 0)
    qual = np.where(carrier, gq, 0).sum(1) * rng.uniform(0.2, 1.2, size=n_rec)
    return GenotypeBlock(a1, a2, ad, dp, gq, ac, an, np.round(qual, 2))
