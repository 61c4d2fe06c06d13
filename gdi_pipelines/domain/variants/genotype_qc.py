"""Per-call quality and ploidy, gnomAD-style, over (rows, samples) arrays in compiled loops.

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

from gdi_pipelines.domain.compiled import compiled

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
    rows, samples = gt.shape[:2]
    dosage = np.empty((rows, samples), dtype=np.int8)
    ploidy = np.empty((rows, samples), dtype=np.int8)
    _dosages(np.ascontiguousarray(gt), region.astype(np.int8), sex.astype(np.int8), dosage, ploidy)
    return dosage, ploidy


@compiled
def _dosages(gt, region, sex, dosage, ploidy):
    """One pass over the calls; ploidy rules as the module says, in the order it says them."""
    for i in range(gt.shape[0]):
        where = region[i]
        for j in range(gt.shape[1]):
            coded = alt = 0
            no_call = False
            for a in gt[i, j]:
                coded += a != -2
                alt += a == 1
                no_call |= a == -1
            no_call |= coded == 0
            d, p = alt, coded
            if sex[j] == Sex.MALE and (
                where == PloidyRegion.X_NONPAR or where == PloidyRegion.Y_NONPAR
            ):
                if coded == 2:
                    no_call |= alt == 1
                    d = alt // 2
                p = 1
            if where == PloidyRegion.MITO:
                d, p = min(alt, 1), 1
            if where == PloidyRegion.Y_NONPAR and sex[j] == Sex.FEMALE:
                p = 0
            dosage[i, j] = NO_CALL if no_call else d
            ploidy[i, j] = p


def mask_low_quality(
    dosage: np.ndarray,
    ploidy: np.ndarray,
    gq: np.ndarray,
    dp: np.ndarray,
    thresholds: CallThresholds,
) -> int:
    """Turn low-GQ/low-DP calls into no-calls, in place; returns how many calls were masked."""
    haploid = thresholds.min_dp if thresholds.min_dp_haploid is None else thresholds.min_dp_haploid
    return _mask(dosage, ploidy, gq, dp, thresholds.min_gq, thresholds.min_dp, haploid)


@compiled
def _mask(dosage, ploidy, gq, dp, min_gq, min_dp, min_dp_haploid):
    masked = 0
    for i in range(dosage.shape[0]):
        for j in range(dosage.shape[1]):
            p = ploidy[i, j]
            if p == 0 or dosage[i, j] == NO_CALL:
                continue
            q, depth = gq[i, j], dp[i, j]
            floor = min_dp_haploid if p == 1 else min_dp
            if (q >= 0 and q < min_gq) or (depth >= 0 and depth < floor):
                dosage[i, j] = NO_CALL
                masked += 1
    return masked


def haploid_coded(gt: np.ndarray) -> np.ndarray:
    """(rows, samples) bool: the VCF codes this call with one allele."""
    return (gt[:, :, 0] != -2) & (gt[:, :, 1:] == -2).all(axis=2)


def warm_up() -> None:
    """Compile (or load from the disk cache) both loops for the types harmonising passes."""
    dosage, ploidy = genotype_dosages(
        np.zeros((1, 1, 2), np.int16), np.zeros(1, np.int8), np.zeros(1, np.int8)
    )
    one = np.zeros((1, 1), np.int32)
    mask_low_quality(dosage, ploidy, one, one, CallThresholds())
