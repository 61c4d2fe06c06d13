"""Per-call quality and ploidy, gnomAD-style, vectorised over (rows, samples).

- "adj"-like masking: a call with GQ < min_gq or DP < min_dp becomes a no-call (a missing GQ/DP
  masks nothing). Haploid calls may use their own DP threshold (gnomAD uses 5).
- Ploidy (gnomAD `adjusted_sex_ploidy_expr`): chrM is haploid for everyone (any ALT allele gives
  dosage 1); in males chrX outside the PARs and chrY outside the PARs are haploid: a
  diploid-coded het becomes a no-call, a diploid-coded hom becomes a haploid call; in females
  chrY outside the PARs has ploidy 0 (the call is dropped). Samples of unknown sex, and all
  other regions, keep the ploidy the VCF codes.
- A call with any missing allele (`./.`, `./1`) is a no-call; dosage is the ALT allele count.
Dosage -1 stands for no-call in these arrays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

NO_CALL = -1

# 1-based inclusive pseudo-autosomal regions (GRC / Ensembl).
PAR_REGIONS: dict[str, dict[str, tuple[tuple[int, int], ...]]] = {
    "GRCh37": {
        "chrX": ((60_001, 2_699_520), (154_931_044, 155_260_560)),
        "chrY": ((10_001, 2_649_520), (59_034_050, 59_373_566)),
    },
    "GRCh38": {
        "chrX": ((10_001, 2_781_479), (155_701_383, 156_030_895)),
        "chrY": ((10_001, 2_781_479), (56_887_903, 57_217_415)),
    },
}


@dataclass(frozen=True)
class CallThresholds:
    min_gq: int = 20
    min_dp: int = 10
    min_dp_haploid: int | None = None  # None: same as min_dp


class Sex(IntEnum):
    UNKNOWN = 0
    MALE = 1
    FEMALE = 2


class PloidyRegion(IntEnum):
    DIPLOID = 0  # autosomes and PARs
    X_NONPAR = 1
    Y_NONPAR = 2
    MITO = 3


def sex_codes(samples: Sequence[str], sample_sex: Mapping[str, str] | None) -> np.ndarray:
    """Sex per sample ('male'/'female', anything else unknown) as int8 `Sex` codes."""
    known = {"male": Sex.MALE, "female": Sex.FEMALE}
    sexes = sample_sex or {}
    return np.array([known.get(sexes.get(s, ""), Sex.UNKNOWN) for s in samples], dtype=np.int8)


def ploidy_regions(
    chrom: np.ndarray, pos: np.ndarray, pars: Mapping[str, Sequence[tuple[int, int]]]
) -> np.ndarray:
    """`PloidyRegion` per row from canonical contig and 1-based position."""
    region = np.full(len(pos), PloidyRegion.DIPLOID, dtype=np.int8)
    region[chrom == "chrM"] = PloidyRegion.MITO
    for contig, code in (("chrX", PloidyRegion.X_NONPAR), ("chrY", PloidyRegion.Y_NONPAR)):
        on_contig = chrom == contig
        in_par = np.zeros(len(pos), dtype=bool)
        for start, end in pars.get(contig, ()):
            in_par |= (pos >= start) & (pos <= end)
        region[on_contig & ~in_par] = code
    return region


def genotype_dosages(
    gt: np.ndarray, region: np.ndarray, sex: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(dosage, ploidy), int8 (rows, samples), from split genotypes (rows, samples, alleles)."""
    coded_ploidy = _count_alleles(gt, lambda a: a != -2)
    alt = _count_alleles(gt, lambda a: a == 1)
    no_call = (_count_alleles(gt, lambda a: a == -1) > 0) | (coded_ploidy == 0)
    dosage, ploidy = alt.copy(), coded_ploidy.copy()

    male_haploid = (
        np.isin(region, [PloidyRegion.X_NONPAR, PloidyRegion.Y_NONPAR])[:, None]
        & (sex == Sex.MALE)[None, :]
    )
    diploid_coded = coded_ploidy == 2
    no_call |= male_haploid & diploid_coded & (alt == 1)
    dosage = np.where(male_haploid & diploid_coded, alt // 2, dosage)
    ploidy[male_haploid] = 1

    mito = region == PloidyRegion.MITO
    dosage[mito] = np.minimum(alt[mito], 1)
    ploidy[mito] = 1

    female_y = (region == PloidyRegion.Y_NONPAR)[:, None] & (sex == Sex.FEMALE)[None, :]
    ploidy[female_y] = 0
    dosage[no_call] = NO_CALL
    return dosage.astype(np.int8), ploidy


def _count_alleles(gt: np.ndarray, test) -> np.ndarray:
    """int8 (rows, samples): alleles of each call passing `test`; a sum over the few allele
    slots one by one, much faster than numpy's reduction over a short last axis."""
    counts = np.zeros(gt.shape[:2], dtype=np.int8)
    for slot in range(gt.shape[2]):
        counts += test(gt[:, :, slot])
    return counts


def mask_low_quality(
    dosage: np.ndarray,
    ploidy: np.ndarray,
    gq: np.ndarray,
    dp: np.ndarray,
    thresholds: CallThresholds,
) -> int:
    """Turn low-GQ/low-DP calls into no-calls, in place; returns how many calls were masked."""
    min_dp_haploid = thresholds.min_dp_haploid
    min_dp = np.where(
        ploidy == 1,
        thresholds.min_dp if min_dp_haploid is None else min_dp_haploid,
        thresholds.min_dp,
    )
    low = ((gq >= 0) & (gq < thresholds.min_gq)) | ((dp >= 0) & (dp < min_dp))
    low &= (ploidy > 0) & (dosage != NO_CALL)
    dosage[low] = NO_CALL
    return int(low.sum())


def haploid_coded(gt: np.ndarray) -> np.ndarray:
    """(rows, samples) bool: the VCF codes this call with one allele."""
    return (gt[:, :, 0] != -2) & (_count_alleles(gt[:, :, 1:], lambda a: a != -2) == 0)
