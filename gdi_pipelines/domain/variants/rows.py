"""Bi-allelic variant rows as column arrays, and the reasons a row can be rejected.

Every stage (normalise, liftover) reads and rewrites these columns in place for the rows still
good (`reason is None`) and sets a reason on the rows it rejects; nothing is ever dropped, so a
row's index keeps pointing at its genotypes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np


class RejectReason(StrEnum):
    UNKNOWN_CONTIG = "unknown_contig"  # not chr1-22/X/Y/M in any accepted spelling
    CONTIG_NOT_IN_REFERENCE = "contig_not_in_reference"  # FASTA lacks the contig
    OUTSIDE_REFERENCE = "outside_reference"  # REF extends past the FASTA contig's end
    NO_ALT_ALLELE = "no_alt_allele"  # ALT is '.'
    SYMBOLIC_ALLELE = "symbolic_allele"  # <DEL>, <NON_REF>, breakends
    SPANNING_DELETION = "spanning_deletion"  # ALT '*'
    NON_ACGTN_ALLELE = "non_acgtn_allele"  # REF or ALT with IUPAC codes or other letters
    DUPLICATE_ALLELE = "duplicate_allele"  # ALT equals REF
    REF_MISMATCH = "ref_mismatch"  # REF differs from the source build's FASTA
    UNMAPPED = "unmapped"  # a REF base falls outside every chain block
    AMBIGUOUS_MAPPING = "ambiguous_mapping"  # a REF base falls in blocks of several chains
    MAPPED_TO_OTHER_CONTIG = "mapped_to_other_contig"  # other chromosome, alt or random contig
    SPLIT_BY_LIFTOVER = "split_by_liftover"  # REF's bases do not stay contiguous in the target
    TARGET_REF_MISMATCH = "target_ref_mismatch"  # GRCh38 FASTA has neither REF nor ALT


@dataclass
class AlleleRows:
    """One row per (record, ALT allele). Strings as object arrays, positions 1-based."""

    record: np.ndarray  # int64, index of the source record within its chunk
    allele: np.ndarray  # int16, 1-based ALT index within the source record
    chrom: np.ndarray  # object: canonical contig, None when unknown
    pos: np.ndarray  # int64
    ref: np.ndarray  # object
    alt: np.ndarray  # object
    reason: np.ndarray  # object: None while the row is good

    def __len__(self) -> int:
        return len(self.pos)

    def good(self) -> np.ndarray:
        return np.equal(self.reason, None)

    def reject(self, mask: np.ndarray, reason: RejectReason) -> None:
        """Set `reason` on the rows of `mask` that are still good (the first reason sticks)."""
        self.reason[mask & self.good()] = reason.value


def object_array(values) -> np.ndarray:
    """A 1-D object array (numpy would make a 2-D one from equal-length lists)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out
