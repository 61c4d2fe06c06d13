"""BAM/CRAM read QC against samtools (flagstat, stats, fastq) on files written here."""

from __future__ import annotations

import dataclasses
import random
import shutil
import subprocess
from pathlib import Path

import dnaio
import pysam
import pytest

from gdi_pipelines.domain.sequencing.alignment_qc import PIPE_BLOCK, measure_alignments
from gdi_pipelines.domain.sequencing.read_stats import SequenceFileError
from gdi_pipelines_tests.domain.streams import OnlyRead

READS = Path(__file__).resolve().parents[1] / "data" / "reads" / "ERR127302_1_subset.fastq.gz"
SECONDARY, SUPPLEMENTARY, REVERSE, UNMAPPED, QC_FAIL, DUPLICATE = 256, 2048, 16, 4, 512, 1024


def samtools(*args: str) -> str:
    if shutil.which("samtools") is None:
        pytest.skip("samtools not installed (Debian package `samtools`): no independent oracle")
    return subprocess.run(["samtools", *args], check=True, capture_output=True, text=True).stdout


def write_alignments(folder: Path) -> dict[str, Path]:
    """3,000 real reads: a third unmapped (some trimmed), the rest placed on a made-up reference,
    with duplicate and QC-fail flags, soft clips, and secondary/supplementary records to ignore."""
    rng = random.Random(7)
    reference = "".join(rng.choice("ACGT") for _ in range(20_000))
    fasta = folder / "ref.fa"
    fasta.write_text(">chrT\n" + "\n".join(reference[i : i + 60] for i in range(0, 20_000, 60)))
    pysam.faidx(str(fasta))
    header = pysam.AlignmentHeader.from_dict(
        {"HD": {"VN": "1.6", "SO": "unsorted"}, "SQ": [{"SN": "chrT", "LN": len(reference)}]}
    )
    records = []
    with dnaio.open(READS) as reads:
        for i, read in zip(range(3000), reads, strict=False):
            record = pysam.AlignedSegment(header)
            record.query_name = read.name.split()[0]
            if i % 3 == 2:  # unmapped, some trimmed
                length = 40 + i % 33 if i % 7 == 0 else 72
                record.flag = UNMAPPED
                record.query_sequence = read.sequence[:length]
                record.query_qualities = pysam.qualitystring_to_array(read.qualities[:length])
            else:
                start = rng.randrange(len(reference) - 100)
                clip = 10 if i % 8 == 0 else 0
                record.flag = (REVERSE if i % 3 else 0) | (DUPLICATE if i % 10 == 0 else 0)
                record.flag |= QC_FAIL if i % 13 == 0 else 0
                record.reference_id, record.reference_start, record.mapping_quality = 0, start, 60
                record.cigarstring = f"{clip}S{72 - clip}M" if clip else "72M"
                record.query_sequence = read.sequence[:clip] + reference[start : start + 72 - clip]
                record.query_qualities = pysam.qualitystring_to_array(read.qualities)
            records.append(record)
            if i % 3 == 0 and i % 25 == 0:
                records.extend(non_primary(header, record, reference))
    paths = {"bam": folder / "reads.bam", "cram": folder / "reads.cram", "ref": fasta}
    for mode, path in (("wb", paths["bam"]), ("wc", paths["cram"])):
        with pysam.AlignmentFile(path, mode, header=header, reference_filename=str(fasta)) as out:
            for record in records:
                out.write(record)
    return paths


def non_primary(header, primary, reference: str) -> list[pysam.AlignedSegment]:
    secondary = pysam.AlignedSegment(header)
    secondary.query_name, secondary.flag = primary.query_name, SECONDARY
    secondary.reference_id, secondary.reference_start, secondary.cigarstring = 0, 100, "72M"
    supplementary = pysam.AlignedSegment(header)
    supplementary.query_name, supplementary.flag = primary.query_name, SUPPLEMENTARY
    supplementary.reference_id, supplementary.reference_start = 0, 500
    supplementary.cigarstring = "30M42H"
    supplementary.query_sequence = reference[500:530]
    supplementary.query_qualities = pysam.qualitystring_to_array("#" * 30)
    return [secondary, supplementary]


@pytest.fixture(scope="module")
def alignments(tmp_path_factory) -> dict[str, Path]:
    return write_alignments(tmp_path_factory.mktemp("alignments"))


def samtools_figures(path: Path, reference: Path) -> dict[str, float]:
    """Figures from samtools alone, and from its FASTQ of the primary reads counted in Python."""
    ref = ("--input-fmt-option", f"reference={reference}")
    flagstat = {}  # lines: QC-passed, QC-failed, name; percentage lines skipped
    for line in samtools("flagstat", *ref, "-O", "tsv", str(path)).splitlines():
        passed, failed, name = line.split("\t")
        if passed.isdigit() and failed.isdigit():
            flagstat[name] = int(passed) + int(failed)
    summary = {
        line.split("\t")[1].rstrip(":"): line.split("\t")[2]
        for line in samtools("stats", *ref, str(path)).splitlines()
        if line.startswith("SN\t")
    }
    text = samtools("fastq", *ref, "-F", "0x900", str(path)).encode()
    seqs, quals = text.splitlines()[1::4], text.splitlines()[3::4]
    bases = b"".join(seqs)
    qualities = [q - 33 for q in b"".join(quals)]
    gc = bases.count(b"G") + bases.count(b"C")
    return {
        "primary": flagstat["primary"],
        "primary_mapped": flagstat["primary mapped"],
        "raw_total": int(summary["raw total sequences"]),
        "total_length": int(summary["total length"]),
        "average_quality": float(summary["average quality"]),
        "maximum_length": int(summary["maximum length"]),
        "fastq_reads": len(seqs),
        "fastq_bases": len(bases),
        "gc": gc / len(bases),
        "q30": sum(q >= 30 for q in qualities) / len(qualities),
        "mean_quality": sum(qualities) / len(qualities),
        "min_length": min(map(len, seqs)),
    }


@pytest.mark.parametrize("kind", ["bam", "cram"])
def test_alignments_match_samtools(alignments: dict[str, Path], kind: str) -> None:
    stats = measure_alignments(alignments[kind], kind, reference_fasta=str(alignments["ref"]))
    oracle = samtools_figures(alignments[kind], alignments["ref"])
    assert stats.read_count == oracle["primary"] == oracle["raw_total"] == oracle["fastq_reads"]
    assert stats.read_count == 3000
    assert stats.mapped_fraction == pytest.approx(oracle["primary_mapped"] / oracle["primary"])
    assert stats.base_count == oracle["total_length"] == oracle["fastq_bases"]
    assert abs(stats.mean_base_quality - oracle["average_quality"]) <= 0.05 + 1e-9  # 1 decimal
    assert stats.mean_base_quality == pytest.approx(oracle["mean_quality"])
    assert stats.q30_fraction == pytest.approx(oracle["q30"])
    assert stats.gc_fraction == pytest.approx(oracle["gc"])
    assert stats.read_length_max == oracle["maximum_length"]
    assert stats.read_length_min == oracle["min_length"]
    assert stats.read_length_mean == pytest.approx(stats.base_count / stats.read_count)


def test_a_non_seekable_stream_gives_the_path_result(alignments: dict[str, Path]) -> None:
    for kind in ("bam", "cram"):
        reference = str(alignments["ref"])
        stream = OnlyRead(alignments[kind].read_bytes())
        from_stream = measure_alignments(stream, kind, reference_fasta=reference)
        assert from_stream == measure_alignments(alignments[kind], kind, reference)
        assert stream.largest_request <= PIPE_BLOCK


def test_cram_without_reference_measures_all_but_gc(alignments: dict[str, Path]) -> None:
    with_reference = measure_alignments(alignments["cram"], "c", str(alignments["ref"]))
    without = measure_alignments(OnlyRead(alignments["cram"].read_bytes()), "c")
    assert without.gc_fraction is None
    assert without == dataclasses.replace(with_reference, gc_fraction=None)


@pytest.mark.parametrize("kind", ["bam", "cram"])
def test_truncated_files_are_named(alignments: dict[str, Path], kind: str) -> None:
    data = alignments[kind].read_bytes()
    reference = str(alignments["ref"])
    with pytest.raises(SequenceFileError, match=rf"^s3://lab/x\.{kind}: .*truncated"):
        measure_alignments(OnlyRead(data[: len(data) // 2]), f"s3://lab/x.{kind}", reference)
    marker = 28 if kind == "bam" else 38  # cut at the last block: only the marker tells
    with pytest.raises(SequenceFileError, match=r"truncated: no (BGZF|CRAM) end-of-file marker"):
        measure_alignments(OnlyRead(data[:-marker]), f"x.{kind}", reference)
    cut = alignments[kind].with_suffix(".cut")
    cut.write_bytes(data[:-marker])
    with pytest.raises(SequenceFileError, match=r"truncated"):
        measure_alignments(cut, "cut", reference)


def test_other_content_and_empty_files_are_rejected(alignments: dict[str, Path], tmp_path) -> None:
    with pytest.raises(SequenceFileError, match=r"^junk: not a readable BAM/CRAM"):
        measure_alignments(OnlyRead(b"not an alignment file\n" * 100), "junk")
    with pytest.raises(SequenceFileError, match=r"^fq: not"):
        measure_alignments(READS, "fq")
    header_only = tmp_path / "header.bam"
    with pysam.AlignmentFile(header_only, "wb", header={"HD": {"VN": "1.6"}}):
        pass
    with pytest.raises(SequenceFileError, match=r"^h: empty \(no primary reads\)"):
        measure_alignments(header_only, "h")
    with pytest.raises(SequenceFileError, match=r"^c: declared BAM but the file is CRAM"):
        measure_alignments(alignments["cram"], "c", str(alignments["ref"]), fmt="BAM")


def test_a_failing_stream_surfaces_its_own_error(alignments: dict[str, Path]) -> None:
    class Broken(OnlyRead):
        def read(self, size: int) -> bytes:
            if self._data.tell() > 20_000:
                raise ConnectionError("connection reset by peer")
            return super().read(min(size, 10_000))

    with pytest.raises(ConnectionError, match="connection reset"):
        measure_alignments(Broken(alignments["bam"].read_bytes()), "b")
