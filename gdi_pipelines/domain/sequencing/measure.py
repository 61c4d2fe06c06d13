"""One pass over a landed sequencing file: its size, SHA-256 and read QC."""

from __future__ import annotations

from dataclasses import dataclass

from gdi_pipelines.domain.sequencing.alignment_qc import measure_alignments
from gdi_pipelines.domain.sequencing.checksums import BinaryStream, HashingReader
from gdi_pipelines.domain.sequencing.crypt4gh_stream import Crypt4GHReader
from gdi_pipelines.domain.sequencing.fastq_qc import measure_fastq
from gdi_pipelines.domain.sequencing.read_stats import ReadStats, SequenceFileError

SEQUENCING_FORMATS = ("FASTQ", "BAM", "CRAM")


@dataclass(frozen=True, slots=True)
class FileMeasurement:
    size: int  # bytes as stored (compressed, encrypted)
    sha256: str  # hex digest of those bytes
    stats: ReadStats


def measure_sequencing_file(
    stream: BinaryStream,
    source: str,
    fmt: str,
    reference_fasta: str | None = None,
    crypt4gh_seckey: bytes | None = None,
) -> FileMeasurement:
    """Read `stream` once, front to back, and never whole into memory.

    `fmt`: FASTQ (plain or gzip), BAM or CRAM (`reference_fasta` for CRAM bases, see
    measure_alignments). With `crypt4gh_seckey` the stream is Crypt4GH: size and SHA-256 are of
    the encrypted bytes, the read QC of the plaintext, decrypted in memory as it is read.
    Raises SequenceFileError (message names `source`) for a file that cannot be read;
    ValueError for a format that is not a sequencing one.
    """
    kind = fmt.upper()
    if kind not in SEQUENCING_FORMATS:
        raise ValueError(f"{source}: {fmt!r} is not one of {', '.join(SEQUENCING_FORMATS)}")
    reader = HashingReader(stream)
    try:
        content = reader
        if crypt4gh_seckey is not None:
            content = Crypt4GHReader(reader, crypt4gh_seckey, source)
        if kind == "FASTQ":
            stats = measure_fastq(content, source)
        else:
            stats = measure_alignments(content, source, reference_fasta, fmt=kind)
        content.drain()
    except SequenceFileError:
        if reader.size == 0:
            raise SequenceFileError(f"{source}: empty file (0 bytes)") from None
        raise
    reader.drain()
    return FileMeasurement(size=reader.size, sha256=reader.sha256_hex, stats=stats)
