"""Stream a VCF/BCF through cyvcf2 in chunks of records, as numpy arrays.

Only one chunk is in memory at a time: (records, samples, ploidy) int16 genotypes coded like
cyvcf2 (allele index, -1 missing allele, -2 vector end), GQ/DP as int32 with -1 for missing,
and AD (records, samples, alleles) when the header declares it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cyvcf2
import numpy as np

MISSING = -1


@dataclass
class RecordChunk:
    first_index: int  # index of the chunk's first record in the stream (0-based)
    chrom: list[str]
    pos: np.ndarray  # int64, 1-based
    ref: list[str]
    alts: list[list[str]]
    filters: list[str | None]  # "PASS", "q10;s50", or None for '.'
    gt: np.ndarray  # int16 (records, samples, ploidy)
    gq: np.ndarray  # int32 (records, samples)
    dp: np.ndarray  # int32 (records, samples)
    ad: np.ndarray | None  # int32 (records, samples, max alleles), -1 missing

    def __len__(self) -> int:
        return len(self.pos)


def vcf_samples(path: str | Path) -> list[str]:
    vcf = cyvcf2.VCF(str(path))
    try:
        return list(vcf.samples)
    finally:
        vcf.close()


def read_record_chunks(
    path: str | Path,
    chunk_size: int = 2000,
    region: str | None = None,
    pos_range: tuple[int, int] | None = None,
) -> Iterator[RecordChunk]:
    """Chunks of at most `chunk_size` records; `region` needs an index (tabix/CSI).

    `pos_range` (1-based, inclusive) keeps only records whose POS lies inside it: a region query
    also returns records that start before the region and overlap it.
    """
    vcf = cyvcf2.VCF(str(path))
    try:
        fields = {tag: vcf.contains(tag) for tag in ("GT", "GQ", "DP", "AD")}
        n_samples = len(vcf.samples)
        batch: list = []
        index = 0
        for variant in vcf(region) if region else vcf:
            if pos_range and not pos_range[0] <= variant.POS <= pos_range[1]:
                continue
            batch.append(_record(variant, fields))
            if len(batch) == chunk_size:
                yield _chunk(batch, index, n_samples)
                index += len(batch)
                batch = []
        if batch:
            yield _chunk(batch, index, n_samples)
    finally:
        vcf.close()


def _record(variant, fields: dict[str, bool]) -> tuple:
    filters = variant.FILTERS
    genotypes = variant.genotype if fields["GT"] else None
    gt = genotypes.array()[:, :-1] if genotypes is not None else None
    return (
        variant.CHROM,
        variant.POS,
        variant.REF,
        variant.ALT,
        ";".join(filters) if filters else None,
        gt,
        _int_field(variant, "GQ") if fields["GQ"] else None,
        _int_field(variant, "DP") if fields["DP"] else None,
        _int_field(variant, "AD", per_sample=False) if fields["AD"] else None,
    )


def _int_field(variant, tag: str, per_sample: bool = True) -> np.ndarray | None:
    values = variant.format(tag)
    if values is None:
        return None
    if values.dtype.kind == "f":
        values = np.where(np.isnan(values), MISSING, values)
    values = np.where(values < 0, MISSING, values).astype(np.int32)  # htslib missing/vector end
    return values[:, 0] if per_sample else values


def _chunk(batch: list[tuple], first_index: int, n_samples: int) -> RecordChunk:
    n = len(batch)
    ploidy = max((r[5].shape[1] for r in batch if r[5] is not None), default=2)
    gt = np.full((n, n_samples, ploidy), -2, dtype=np.int16)
    gq = np.full((n, n_samples), MISSING, dtype=np.int32)
    dp = np.full((n, n_samples), MISSING, dtype=np.int32)
    n_alleles = max(len(r[3]) + 1 for r in batch)
    has_ad = any(r[8] is not None for r in batch)
    ad = np.full((n, n_samples, n_alleles), MISSING, dtype=np.int32) if has_ad else None
    for i, record in enumerate(batch):
        genotypes = record[5]
        if genotypes is None:
            gt[i, :, :2] = -1  # no GT field: a no-call
        else:
            gt[i, :, : genotypes.shape[1]] = genotypes
        if record[6] is not None:
            gq[i] = record[6]
        if record[7] is not None:
            dp[i] = record[7]
        depths = record[8]
        if depths is not None and depths.shape[1] == len(record[3]) + 1:  # else: unusable AD
            ad[i, :, : depths.shape[1]] = depths
    return RecordChunk(
        first_index=first_index,
        chrom=[r[0] for r in batch],
        pos=np.array([r[1] for r in batch], dtype=np.int64),
        ref=[r[2] for r in batch],
        alts=[r[3] for r in batch],
        filters=[r[4] for r in batch],
        gt=gt,
        gq=gq,
        dp=dp,
        ad=ad,
    )
