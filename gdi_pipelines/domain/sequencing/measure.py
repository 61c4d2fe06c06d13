"""One pass over a landed sequencing file: its size, SHA-256 and read QC."""

from __future__ import annotations

from dataclasses import dataclass

from gdi_pipelines.domain.sequencing.alignment_qc import measure_alignments
from gdi_pipelines.domain.sequencing.checksums import BinaryStream, HashingReader
from gdi_pipelines.domain.sequencing.fastq_qc import measure_fastq
from gdi_pipelines.domain.sequencing.read_stats import ReadStats, SequenceFileError

SEQUENCING_FORMATS = ("FASTQ", "BAM", "CRAM")


@dataclass(frozen=True, slots=True)
class FileMeasurement:
    size: int  # bytes as stored (compressed)
    sha256: str  # hex digest of those bytes
    stats: ReadStats


def measure_sequencing_file(
    stream: BinaryStream, source: str, fmt: str, reference_fasta: str | None = None
) -> FileMeasurement:
    """Read `stream` once, front to back, and never whole into memory.

    `fmt`: FASTQ (plain or gzip), BAM or CRAM (`reference_fasta` for CRAM bases, see
    measure_alignments). Raises SequenceFileError (message names `source`) for a file that
    cannot be read; ValueError for a format that is not a sequencing one.
    """
    kind = fmt.upper()
    if kind not in SEQUENCING_FORMATS:
        raise ValueError(f"{source}: {fmt!r} is not one of {', '.join(SEQUENCING_FORMATS)}")
    reader = HashingReader(stream)
    try:
        if kind == "FASTQ":
            stats = measure_fastq(reader, source)
        else:
            stats = measure_alignments(reader, source, reference_fasta, fmt=kind)
    except SequenceFileError:
        if reader.size == 0:
            raise SequenceFileError(f"{source}: empty file (0 bytes)") from None
        raise
    reader.drain()
    return FileMeasurement(size=reader.size, sha256=reader.sha256_hex, stats=stats)
