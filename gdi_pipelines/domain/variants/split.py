"""Split multi-allelic records into bi-allelic rows, as `bcftools norm -m -any` does.

Rules read from bcftools 1.16 `vcfnorm.c` (`split_format_genotype`, `split_format_numeric`) and
checked by experiment (see the tests):
- one row per ALT, in ALT order; REF unchanged (trimming is normalisation's job);
- GT: a missing allele and REF (0) stay as they are; the row's ALT becomes 1, any other ALT
  becomes 0; allele order, phase and ploidy are kept (1/2 -> 1/0 in the ALT1 row and 0/1 in the
  ALT2 row; ./2 -> ./0 and ./1; haploid 2 -> 0 and 1);
- Number=R (AD): the REF value and the row's ALT value; Number=A: the row's ALT value;
- Number=1 (GQ, DP) and FILTER are carried unchanged.

Genotype arrays follow cyvcf2's coding: allele index, -1 for a missing allele, -2 for the
vector end of a lower-ploidy call; shape (records, samples, ploidy).
"""

from __future__ import annotations

import numpy as np

MISSING_ALLELE = -1
VECTOR_END = -2


def split_index(n_alts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(record index, 1-based ALT index) of every bi-allelic row, records in order.

    A record without ALT ('.') still gets one row (allele 1) so that it can be rejected.
    """
    counts = np.maximum(np.asarray(n_alts, dtype=np.int64), 1)
    record = np.repeat(np.arange(len(counts)), counts)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    allele = (np.arange(len(record)) - starts + 1).astype(np.int16)
    return record, allele


def recode_genotypes(gt: np.ndarray, allele: np.ndarray) -> np.ndarray:
    """bcftools' GT recoding for rows already gathered per row: `gt[row]` of the source record."""
    wanted = allele.astype(gt.dtype).reshape(-1, *([1] * (gt.ndim - 1)))
    return np.where(gt > 0, (gt == wanted).astype(gt.dtype), gt)


def split_number_r(values: np.ndarray, record: np.ndarray, allele: np.ndarray) -> np.ndarray:
    """Number=R values (records, samples, alleles) -> (rows, samples, 2): REF and the row's ALT."""
    alt = values[record, :, allele.astype(np.int64)]  # (rows, samples)
    return np.stack([values[record, :, 0], alt], axis=2)


def split_number_a(values: np.ndarray, record: np.ndarray, allele: np.ndarray) -> np.ndarray:
    """Number=A values (records, samples, alts) -> (rows, samples): the row's ALT value."""
    rows = values[record]
    index = (allele.astype(np.int64) - 1)[:, None, None]
    return np.take_along_axis(rows, index, axis=2)[:, :, 0]
