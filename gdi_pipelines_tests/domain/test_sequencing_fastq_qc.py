"""FASTQ read QC against independent answers: seqkit and a plain Python pass over the text."""

from __future__ import annotations

import bz2
import gzip
import random
import shutil
import subprocess
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gdi_pipelines.domain.sequencing import fastq_qc
from gdi_pipelines.domain.sequencing.fastq_qc import measure_fastq
from gdi_pipelines.domain.sequencing.read_stats import SequenceFileError
from gdi_pipelines_tests.domain.streams import OnlyRead

READS = Path(__file__).resolve().parents[1] / "data" / "reads"
PAIR = [READS / "ERR127302_1_subset.fastq.gz", READS / "ERR127302_2_subset.fastq.gz"]
SEQKIT_ROUNDING = 0.005 + 1e-9  # seqkit prints percentages with 2 decimals


@dataclass
class TextCounts:
    """Figures from a plain pass over the FASTQ text, one line at a time."""

    reads: int = 0
    bases: int = 0
    gc: int = 0
    acgt: int = 0
    qual_sum: int = 0
    q30: int = 0
    min_len: int = 10**9
    max_len: int = 0


def count_text(text: bytes) -> TextCounts:
    counts = TextCounts()
    lines = text.splitlines()
    for seq, qual in zip(lines[1::4], lines[3::4], strict=True):
        seq = seq.upper()
        counts.reads += 1
        counts.bases += len(seq)
        counts.gc += seq.count(b"G") + seq.count(b"C")
        counts.acgt += seq.count(b"G") + seq.count(b"C") + seq.count(b"A") + seq.count(b"T")
        counts.qual_sum += sum(qual) - 33 * len(qual)
        counts.q30 += sum(q - 33 >= 30 for q in qual)
        counts.min_len = min(counts.min_len, len(seq))
        counts.max_len = max(counts.max_len, len(seq))
    return counts


def seqkit_stats(path: Path) -> dict[str, str]:
    if shutil.which("seqkit") is None:
        pytest.skip("seqkit not installed (Debian package `seqkit`): no independent oracle")
    out = subprocess.run(
        ["seqkit", "stats", "-a", "-T", str(path)], check=True, capture_output=True, text=True
    ).stdout.splitlines()
    return dict(zip(out[0].split("\t"), out[1].split("\t"), strict=True))


def assert_matches_text(stats, counts: TextCounts) -> None:
    assert stats.read_count == counts.reads
    assert stats.base_count == counts.bases
    assert stats.read_length_min == counts.min_len
    assert stats.read_length_max == counts.max_len
    assert stats.read_length_mean == pytest.approx(counts.bases / counts.reads)
    assert stats.mean_base_quality == pytest.approx(counts.qual_sum / counts.bases)
    assert stats.q30_fraction == pytest.approx(counts.q30 / counts.bases)
    assert stats.gc_fraction == pytest.approx(counts.gc / counts.bases)
    assert stats.mapped_fraction is None


def fastq(records: list[tuple[str, str, str]]) -> bytes:
    return "".join(f"@{name}\n{seq}\n+\n{qual}\n" for name, seq, qual in records).encode()


def measure_bytes(data: bytes, source: str = "test.fastq"):
    return measure_fastq(OnlyRead(data), source)


@pytest.mark.parametrize("path", PAIR, ids=lambda p: p.name)
def test_real_reads_match_seqkit_and_a_plain_pass(path: Path) -> None:
    with path.open("rb") as stream:
        stats = measure_fastq(stream, path.name)
    counts = count_text(gzip.decompress(path.read_bytes()))
    assert_matches_text(stats, counts)
    assert (stats.read_count, stats.base_count) == (20_000, 20_000 * 72)

    seqkit = seqkit_stats(path)
    assert int(seqkit["num_seqs"]) == stats.read_count
    assert int(seqkit["sum_len"]) == stats.base_count
    assert int(seqkit["min_len"]) == stats.read_length_min
    assert int(seqkit["max_len"]) == stats.read_length_max
    assert abs(100 * stats.q30_fraction - float(seqkit["Q30(%)"])) <= SEQKIT_ROUNDING
    assert abs(100 * stats.gc_fraction - float(seqkit["GC(%)"])) <= SEQKIT_ROUNDING
    # N counts in the denominator, as in seqkit: leaving it out would be off by more than rounding
    assert abs(100 * counts.gc / counts.acgt - float(seqkit["GC(%)"])) > SEQKIT_ROUNDING


def test_plain_text_gzip_and_non_seekable_streams_agree(tmp_path: Path) -> None:
    plain = tmp_path / "reads.fastq"
    plain.write_bytes(gzip.decompress(PAIR[0].read_bytes()))
    with PAIR[0].open("rb") as stream:
        from_gzip = measure_fastq(stream, "gz")
    with plain.open("rb") as stream:
        from_text = measure_fastq(stream, "plain")
    assert from_text == from_gzip
    assert measure_bytes(PAIR[0].read_bytes()) == from_gzip
    assert measure_bytes(plain.read_bytes()) == from_gzip


def test_concatenated_gzip_members_are_read_through() -> None:
    both = measure_bytes(PAIR[0].read_bytes() + PAIR[1].read_bytes())
    first, second = (measure_bytes(p.read_bytes()) for p in PAIR)
    assert both.read_count == first.read_count + second.read_count
    assert both.base_count == first.base_count + second.base_count


def test_truncated_gzip_is_named() -> None:
    data = PAIR[0].read_bytes()
    with pytest.raises(SequenceFileError, match=r"ERR127302_1_subset\.fastq\.gz: truncated gzip"):
        measure_bytes(data[: len(data) // 2], PAIR[0].name)


def test_corrupt_gzip_is_named() -> None:
    data = bytearray(PAIR[0].read_bytes())
    data[-8] ^= 0xFF  # CRC of the member
    with pytest.raises(SequenceFileError, match=r"^reads\.fq\.gz: corrupt gzip stream"):
        measure_bytes(bytes(data), "reads.fq.gz")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"", r"^x: empty file \(0 bytes\)"),
        (gzip.compress(b""), r"^x: empty file \(no records\)"),
        (b">r1\nACGT\n", r"^x: not FASTQ: record 1 \(line 1\)"),
        (bz2.compress(b"@r\nA\n+\nI\n"), r"^x: bzip2 compression is not supported"),
    ],
)
def test_empty_or_foreign_files_are_rejected(text: bytes, message: str) -> None:
    with pytest.raises(SequenceFileError, match=message):
        measure_bytes(text, "x")


def real_records(count: int) -> list[list[bytes]]:
    lines = gzip.decompress(PAIR[0].read_bytes()).splitlines()[: 4 * count]
    return [lines[i : i + 4] for i in range(0, len(lines), 4)]


def join(records: list[list[bytes]]) -> bytes:
    return b"".join(line + b"\n" for record in records for line in record)


def damaged(records: list[list[bytes]], record: int, line: int, edit) -> list[list[bytes]]:
    records[record][line] = edit(records[record][line])
    return records


CUT_LAST_RECORD = -1  # `line` value meaning: keep only the first two lines of the record


@pytest.mark.parametrize(
    ("record", "line", "edit", "message"),
    [
        (2, 3, lambda q: q[:70], r"record 3 \(line 12\): quality length 70 != sequence length 72"),
        (4, 0, lambda h: b"#" + h[1:], r"record 5 \(line 17\): header does not start with '@'"),
        (1, 2, lambda _: b"-", r"record 2 \(line 7\): third line does not start with '\+'"),
        (6, 1, lambda s: b"AC 5" + s[4:], r"record 7 \(line 26\): invalid sequence character b' '"),
        (8, 3, lambda q: b"\x7f" + q[1:], r"record 9 \(line 36\): invalid quality character b'\\x"),
        (9, 2, lambda _: b"+other", r"record 10 \(line 39\): '\+' line does not repeat header"),
        (9, CUT_LAST_RECORD, None, r"record 10 \(line 39\): file ends inside the record"),
    ],
    ids=["qual-length", "header", "plus", "sequence-char", "quality-char", "plus-name", "cut"],
)  # fmt: skip
def test_structural_errors_name_file_record_and_line(record, line, edit, message) -> None:
    records = real_records(10)
    if line == CUT_LAST_RECORD:
        records[record] = records[record][:2]
    else:
        damaged(records, record, line, edit)
    for data in (join(records), gzip.compress(join(records))):
        with pytest.raises(SequenceFileError, match=r"^run7\.fastq: " + message):
            measure_bytes(data, "run7.fastq")


def test_record_numbers_carry_across_chunks_and_batches(monkeypatch) -> None:
    monkeypatch.setattr(fastq_qc, "CHUNK_BYTES", 4096)
    monkeypatch.setattr(fastq_qc, "BATCH_BYTES", 1000)
    records = real_records(500)
    records[456][3] = records[456][3][:-1]
    with pytest.raises(SequenceFileError, match=r"record 457 \(line 1828\): quality length 71"):
        measure_bytes(gzip.compress(join(records)))


def test_crlf_lines_lower_case_and_no_final_newline() -> None:
    text = b"@r1 x\r\nACgtN\r\n+\r\nII#I!\r\n@r2\nGG\n+r2\n55"
    stats = measure_bytes(text)
    assert (stats.read_count, stats.base_count) == (2, 7)
    assert stats.gc_fraction == pytest.approx(4 / 7)
    assert stats.mean_base_quality == pytest.approx((40 * 3 + 2 + 0 + 20 * 2) / 7)
    assert stats.q30_fraction == pytest.approx(3 / 7)
    assert (stats.read_length_min, stats.read_length_max) == (2, 5)


def test_plus_line_repeating_the_header_is_accepted_and_checked() -> None:
    records = real_records(300)
    for record in records:
        record[2] = b"+" + record[0][1:]
    assert measure_bytes(join(records)) == measure_bytes(join(real_records(300)))
    records[211][2] = records[211][2][:-1] + b"9"  # same length, last character differs
    with pytest.raises(SequenceFileError, match=r"record 212 \(line 847\): '\+' line does not"):
        measure_bytes(join(records))


def test_reads_longer_than_the_buffer_are_rejected(monkeypatch) -> None:
    monkeypatch.setattr(fastq_qc, "CHUNK_BYTES", 1 << 10)
    with pytest.raises(SequenceFileError, match=r"record 1: longer than the read buffer"):
        measure_bytes(fastq([("long", "A" * 2000, "I" * 2000)] * 2))


def generated_fastq_gz(reads: int, seed: int, length: int = 100) -> bytes:
    rng = np.random.default_rng(seed)
    seqs = np.frombuffer(b"ACGTN", np.uint8)[
        rng.choice(5, (reads, length), p=[0.3, 0.2, 0.2, 0.29, 0.01])
    ]
    quals = rng.integers(35, 75, (reads, length), dtype=np.uint8)
    text = b"".join(
        b"@gen%d\n%s\n+\n%s\n" % (i, seq.tobytes(), qual.tobytes())
        for i, (seq, qual) in enumerate(zip(seqs, quals, strict=True))
    )
    return gzip.compress(text, compresslevel=1)


def peak_memory(data: bytes) -> tuple[int, int]:
    stream = OnlyRead(data)
    tracemalloc.start()
    try:
        measure_fastq(stream, "big")
        return tracemalloc.get_traced_memory()[1], stream.largest_request
    finally:
        tracemalloc.stop()


def test_memory_is_bounded_by_the_chunk_not_the_file(monkeypatch) -> None:
    monkeypatch.setattr(fastq_qc, "CHUNK_BYTES", 256 << 10)
    monkeypatch.setattr(fastq_qc, "BATCH_BYTES", 64 << 10)
    monkeypatch.setattr(fastq_qc, "GZIP_BLOCK", 64 << 10)
    small, large = generated_fastq_gz(2_000, 1), generated_fastq_gz(40_000, 2)
    text_size = len(gzip.decompress(large))  # ~9 MB
    small_peak, _ = peak_memory(small)
    large_peak, largest_request = peak_memory(large)
    assert large_peak < text_size / 4
    assert large_peak < 3 * small_peak
    assert largest_request <= 8 * (64 << 10)  # isal reads the compressed stream in blocks


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    reads=st.lists(
        st.tuples(
            st.text("ACGTNacgtn", min_size=0, max_size=60),
            st.integers(0, 2**32 - 1),
        ),
        min_size=1,
        max_size=40,
    ),
    chunk=st.sampled_from([512, 1024, 1 << 20]),
    compressed=st.booleans(),
)
def test_any_records_match_a_plain_pass_whatever_the_chunking(
    monkeypatch, reads, chunk: int, compressed: bool
) -> None:
    monkeypatch.setattr(fastq_qc, "CHUNK_BYTES", chunk)
    monkeypatch.setattr(fastq_qc, "BATCH_BYTES", chunk // 3)
    records = []
    for i, (seq, seed) in enumerate(reads):
        rng = random.Random(seed)
        records.append((f"r{i}", seq, "".join(chr(33 + rng.randrange(0, 42)) for _ in seq)))
    text = fastq(records)
    stats = measure_bytes(gzip.compress(text) if compressed else text)
    counts = count_text(text)
    assert (stats.read_count, stats.base_count) == (counts.reads, counts.bases)
    assert (stats.read_length_min, stats.read_length_max) == (counts.min_len, counts.max_len)
    if counts.bases:
        assert stats.mean_base_quality == pytest.approx(counts.qual_sum / counts.bases)
        assert stats.q30_fraction == pytest.approx(counts.q30 / counts.bases)
        assert stats.gc_fraction == pytest.approx(counts.gc / counts.bases)
    else:
        assert stats.mean_base_quality is stats.q30_fraction is stats.gc_fraction is None
