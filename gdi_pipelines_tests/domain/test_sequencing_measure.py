"""One pass per file: size and SHA-256 of the bytes as stored, with the read QC."""

from __future__ import annotations

import gzip
import hashlib
import io
from pathlib import Path

import dnaio
import pysam
import pytest

from gdi_pipelines.domain.manifest import FileFormat
from gdi_pipelines.domain.sequencing import (
    HashingReader,
    SequenceFileError,
    measure_alignments,
    measure_fastq,
    measure_sequencing_file,
)

READS = Path(__file__).resolve().parents[1] / "data" / "reads"
R1 = READS / "ERR127302_1_subset.fastq.gz"


class Trickle:
    """A non-seekable stream with nothing but read(n), handing out at most `step` bytes a call."""

    def __init__(self, data: bytes, step: int = 1 << 30) -> None:
        self._data = io.BytesIO(data)
        self._step = step

    def read(self, size: int) -> bytes:
        return self._data.read(min(size, self._step))


def test_hashing_reader_fills_buffers_and_drain_covers_the_rest() -> None:
    data = R1.read_bytes()
    reader = HashingReader(Trickle(data, step=1000))
    assert not reader.seekable()
    assert len(reader.read(5000)) == 5000  # filled from five short reads
    buffer = bytearray(70_000)
    assert reader.readinto(buffer) == 70_000
    reader.drain()
    assert reader.size == len(data)
    assert reader.sha256_hex == hashlib.sha256(data).hexdigest()
    assert reader.read(10) == b""


@pytest.mark.parametrize("path", sorted(READS.glob("*.fastq.gz")), ids=lambda p: p.name)
def test_fastq_checksum_size_and_stats_in_one_pass(path: Path) -> None:
    data = path.read_bytes()
    measured = measure_sequencing_file(Trickle(data, step=65_536), path.name, "FASTQ")
    assert measured.size == len(data) == path.stat().st_size
    assert measured.sha256 == hashlib.sha256(data).hexdigest()
    with path.open("rb") as stream:
        assert measured.stats == measure_fastq(stream, path.name)
    with path.open("rb") as stream:  # a local file works the same, and the enum is accepted
        assert measure_sequencing_file(stream, path.name, FileFormat.FASTQ) == measured


def test_checksum_covers_bytes_after_the_last_record() -> None:
    data = R1.read_bytes() + b"\0" * 1000  # zero padding after the gzip stream
    measured = measure_sequencing_file(Trickle(data), "padded", "fastq")
    assert measured.size == len(data)
    assert measured.sha256 == hashlib.sha256(data).hexdigest()


def write_unmapped_bam(path: Path, reads: int) -> None:
    header = {"HD": {"VN": "1.6", "SO": "unsorted"}}
    with pysam.AlignmentFile(path, "wb", header=header) as out, dnaio.open(R1) as fastq:
        for _, read in zip(range(reads), fastq, strict=False):
            record = pysam.AlignedSegment(out.header)
            record.query_name, record.flag = read.name.split()[0], 4
            record.query_sequence = read.sequence
            record.query_qualities = pysam.qualitystring_to_array(read.qualities)
            out.write(record)


def test_bam_checksum_size_and_stats_in_one_pass(tmp_path: Path) -> None:
    bam = tmp_path / "reads.bam"
    write_unmapped_bam(bam, 5000)
    data = bam.read_bytes()
    measured = measure_sequencing_file(Trickle(data, step=4096), "reads.bam", "BAM")
    assert (measured.size, measured.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert measured.stats == measure_alignments(bam, "reads.bam")
    assert measured.stats.read_count == 5000
    assert measured.stats.mapped_fraction == 0.0


@pytest.mark.parametrize("fmt", ["FASTQ", "BAM", "CRAM"])
def test_empty_files_are_named(fmt: str) -> None:
    with pytest.raises(SequenceFileError, match=r"^s3://landing/x: empty file \(0 bytes\)"):
        measure_sequencing_file(Trickle(b""), "s3://landing/x", fmt)


def test_a_truncated_file_raises_naming_it() -> None:
    data = R1.read_bytes()
    with pytest.raises(SequenceFileError, match=r"^lab/R1\.fastq\.gz: truncated gzip stream"):
        measure_sequencing_file(Trickle(data[: len(data) // 2]), "lab/R1.fastq.gz", "FASTQ")


def test_a_format_that_is_not_sequencing_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="'VCF' is not one of FASTQ, BAM, CRAM"):
        measure_sequencing_file(Trickle(gzip.compress(b"")), "x.vcf.gz", "VCF")
