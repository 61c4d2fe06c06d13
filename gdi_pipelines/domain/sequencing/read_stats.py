"""Read QC figures shared by the FASTQ and BAM/CRAM measurers.

Conventions (chosen so that they can be checked against `seqkit stats -a` and `samtools stats`):
- mean_base_quality: arithmetic mean of Phred scores over all bases that carry a quality
  (samtools stats' "average quality"; NOT seqkit's AvgQual, which averages error probabilities).
- q30_fraction: bases with Phred >= 30 over bases that carry a quality (seqkit's Q30(%) / 100).
- gc_fraction: (G+C) / all bases, case-insensitive: N and other codes count in the
  denominator, exactly as seqkit's GC(%) (verified in its source, `stats`: gcSum / sum_len).
  Leaving N out (A+C+G+T denominator) would give 0.03 points more on the real test reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Q30 = 30


class SequenceFileError(ValueError):
    """A sequencing file that cannot be read; the message names the file, where and why."""


@dataclass(frozen=True, slots=True)
class ReadStats:
    read_count: int
    base_count: int
    mean_base_quality: float | None
    q30_fraction: float | None
    gc_fraction: float | None
    read_length_min: int
    read_length_mean: float
    read_length_max: int
    mapped_fraction: float | None = None


class ReadTally:
    """Running totals, fed with numpy arrays of whole reads."""

    def __init__(self) -> None:
        self.read_count = 0
        self.base_count = 0
        self.length_min: int | None = None
        self.length_max = 0
        self.gc_count = 0
        self.decoded_base_count = 0  # bases whose letters were seen (not CRAM without reference)
        self.qual_base_count = 0
        self.qual_sum = 0
        self.q30_count = 0

    def add_lengths(self, lengths: np.ndarray) -> None:
        if len(lengths) == 0:
            return
        self.read_count += len(lengths)
        self.base_count += int(lengths.sum(dtype=np.int64))
        low, high = int(lengths.min()), int(lengths.max())
        self.length_min = low if self.length_min is None else min(self.length_min, low)
        self.length_max = max(self.length_max, high)

    def add_bases(self, bases: np.ndarray) -> None:
        """`bases`: uint8 ASCII letters of sequences."""
        folded = bases | 0x20  # lower case
        self.gc_count += int(np.count_nonzero(folded == ord("g")))
        self.gc_count += int(np.count_nonzero(folded == ord("c")))
        self.decoded_base_count += len(bases)

    def add_qualities(self, quals: np.ndarray, offset: int) -> None:
        """`quals`: uint8 Phred scores plus `offset` (33 when ASCII-encoded)."""
        self.qual_base_count += len(quals)
        self.qual_sum += int(quals.sum(dtype=np.int64)) - offset * len(quals)
        self.q30_count += int(np.count_nonzero(quals >= Q30 + offset))

    def finish(self, mapped_count: int | None = None) -> ReadStats:
        reads, quals, decoded = self.read_count, self.qual_base_count, self.decoded_base_count
        return ReadStats(
            read_count=reads,
            base_count=self.base_count,
            mean_base_quality=self.qual_sum / quals if quals else None,
            q30_fraction=self.q30_count / quals if quals else None,
            gc_fraction=self.gc_count / decoded if decoded else None,
            read_length_min=self.length_min or 0,
            read_length_mean=self.base_count / reads if reads else 0.0,
            read_length_max=self.length_max,
            mapped_fraction=None if mapped_count is None or not reads else mapped_count / reads,
        )
