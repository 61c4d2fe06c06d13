"""The compiled text VCF reader gives exactly the cyvcf2 reader's chunks (real files, hand-written
edge cases, plain/gzip/BGZF, CRLF), names the line of a bad record, hands BCF and non-Integer
GQ/DP/AD headers to cyvcf2, and gives the same chunks when read ahead on a thread."""

from __future__ import annotations

import gzip
import subprocess
from pathlib import Path

import numpy as np
import pysam
import pytest

from gdi_pipelines.domain.read_ahead import read_ahead
from gdi_pipelines.domain.variants import vcf_text
from gdi_pipelines.domain.variants.records import RecordChunk, VcfFormatError, read_record_chunks
from gdi_pipelines.domain.variants.vcf_text import read_vcf_chunks, text_vcf_tags
from gdi_pipelines_tests.domain.variants.variants_oracles import ANNOTATION, BEAGLE, HAPMAP

LISTS = ("first_index", "chrom", "ref", "alts", "filters", "first_line")
ARRAYS = ("pos", "gt", "gq", "dp", "ad")
FORMS = ("plain", "gzip", "bgzf")
CHUNK_SIZES = (1, 2, 5000)

HEADER = [
    "##fileformat=VCFv4.2",
    "##contig=<ID=21,length=48129895>",
    "##contig=<ID=22,length=51304566>",
    '##FILTER=<ID=q10,Description="Quality below 10">',
    '##FILTER=<ID=s50,Description="Less than half of the samples have data">',
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
    '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">',
    '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">',
    '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality">',
    '##FORMAT=<ID=PL,Number=G,Type=Integer,Description="Phred-scaled likelihoods">',
]
SAMPLES = ("A", "B", "C")
FULL = "GT:AD:DP:GQ"

# records with a space between columns (no VCF field here holds a space)
CASES = {
    "haploid": [
        "22 100 . A G 50 PASS . GT 0 1 .",
        "22 101 . A G 50 PASS . GT . . .",
    ],
    "mixed_ploidy": [
        "22 100 . A G 50 PASS . GT 0 0/1 1|1",
        "22 101 . A G 50 PASS . GT 0/1 1 ./.",
        "22 102 . A G 50 PASS . GT 1 0 .",
    ],
    "triploid_and_wider": [
        "22 100 . A G 50 PASS . GT 0/1/1 0/1 1",
        "22 101 . A G 50 PASS . GT 0/1 0 1",
        "22 102 . A G,T 50 PASS . GT 0/1/2/1/1 0|1 .",
    ],
    "missing_gt": [
        "22 100 . A G 50 PASS . GT . ./. .|.",
        "22 101 . A G 50 PASS . GT ./1 0/. .|1",
    ],
    "phased": [
        "22 100 . A G 50 PASS . GT 0|1 1|0 1|1",
        "22 101 . A G,T 50 PASS . GT 1|2 0/1 2|2",
    ],
    "multiallelic_ad_counts": [
        f"22 100 . A G,T 50 PASS . {FULL} 1/2:1,2,3:6:30 0/1:1,2,0:3:20 ./.:.:.:.",
        f"22 101 . A G,T 50 PASS . {FULL} 1/2:1,2:6:30 0/1:1,2,3,4:3:20 0/0:5,.,1:5:9",
        f"22 102 . A G 50 PASS . {FULL} 0/1:4,5:9:40 0/1:1,2,3:6:30 0/0:.,.:.:.",
        f"22 103 . A G,T,C 50 PASS . {FULL} 0/3:4,0,0,5:9:40 0/1:1,2,0,0:3:1 ./.:.:.:.",
    ],
    "ad_missing": [
        f"22 100 . A G 50 PASS . {FULL} 0/1:.:3:4 0/1:.,.:3:4 0/1:.,7:3:4",
        f"22 101 . A G,T 50 PASS . {FULL} 0/1:. ./.:.,.,.:.:. 1/2:0,3,.:3:4",
    ],
    "trailing_fields_dropped": [
        f"22 100 . A G 50 PASS . {FULL} 0/1 0/1:3,4 ./.:.:7",
        f"22 101 . A G 50 PASS . {FULL} 1/1:0,9:9 . 0/1:2,2:4:12",
    ],
    "filters": [
        f"22 100 . A G 50 . . {FULL} 0/1:1,2:3:4 0/1:1,2:3:4 0/1:1,2:3:4",
        f"22 101 . A G 50 PASS . {FULL} 0/1:1,2:3:4 0/1:1,2:3:4 0/1:1,2:3:4",
        f"22 102 . A G 50 q10;s50 . {FULL} 0/1:1,2:3:4 0/1:1,2:3:4 0/1:1,2:3:4",
        f"22 103 . A G 50 q10 . {FULL} 0/1:1,2:3:4 0/1:1,2:3:4 0/1:1,2:3:4",
    ],
    "alt_missing": [
        f"22 100 . A . 50 PASS . {FULL} 0/0:5:5:50 0:5:5:50 ./.:.:.:.",
        f"22 101 . AT A,* 50 PASS . {FULL} 0/2:1,2,3:6:30 0/1:1,2,0:3:20 ./.:.:.:.",
    ],
    "keys_reordered_and_skipped": [
        "22 100 . A G 50 PASS . GQ:DP:GT:AD 30:6:0/1:3,3 20:4:1/1:0,4 .:.:./.:.",
        "22 101 . A G 50 PASS . GT:PL:GQ 0/1:10,0,20:30 1/1:.:20 ./.:0,0,0:.",
    ],
    "ad_in_some_records_only": [
        "22 100 . A G,T 50 PASS . GT:DP 0/1:3 1:3 .:.",
        f"22 101 . A G,T,C 50 PASS . {FULL} 0/1:1,2,3,4:3:4 0/1:1,2:3:4 ./.:.:.:.",
        "22 102 . A G 50 PASS . GT:DP 0/1:-1 0/1:0 1/1:.",
    ],
    "two_contigs": [
        "21 100 rs1 A G 50 PASS DP=3;AF=0.5 GT 0/1 1 .",
        "22 100 . AT A 50 PASS . GT 0/1 1 .",
    ],
}


def _vcf(records: list[str], samples=SAMPLES, header=HEADER) -> str:
    columns = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]
    if samples:
        columns += ["FORMAT", *samples]
    lines = [*header, "\t".join(columns)]
    lines += [record.replace(" ", "\t") for record in records]
    return "\n".join(lines) + "\n"


def _write(directory: Path, text: str, form: str = "bgzf", name: str = "case") -> Path:
    """The VCF as plain text, one gzip member, or BGZF (as labs deliver)."""
    plain = directory / f"{name}.vcf"
    plain.write_bytes(text.encode())
    if form == "plain":
        return plain
    packed = directory / f"{name}.vcf.gz"
    if form == "gzip":
        packed.write_bytes(gzip.compress(text.encode()))
    else:
        pysam.tabix_compress(str(plain), str(packed), force=True)
    return packed


def _assert_same_chunk(ours: RecordChunk, theirs: RecordChunk, where: str) -> None:
    for name in LISTS:
        assert getattr(ours, name) == getattr(theirs, name), f"{where}: {name}"
    for name in ARRAYS:
        mine, other = getattr(ours, name), getattr(theirs, name)
        assert (mine is None) == (other is None), f"{where}: {name} None in only one"
        if mine is None:
            continue
        assert mine.dtype == other.dtype, f"{where}: {name} dtype"
        assert mine.shape == other.shape, f"{where}: {name} shape"
        assert np.array_equal(mine, other), f"{where}: {name}\n{mine}\n!=\n{other}"


def _assert_same_chunks(path: Path, chunk_size: int) -> list[RecordChunk]:
    ours = list(read_vcf_chunks(path, chunk_size))
    theirs = list(read_record_chunks(path, chunk_size))
    assert [len(c) for c in ours] == [len(c) for c in theirs]
    for index, (mine, other) in enumerate(zip(ours, theirs, strict=True)):
        _assert_same_chunk(mine, other, f"{path.name} chunk_size={chunk_size} chunk {index}")
    return ours


def _assert_text_reader_equals_cyvcf2(path: Path, chunk_sizes=CHUNK_SIZES) -> None:
    assert text_vcf_tags(path) is not None, "the compiled reader must be the one compared"
    for chunk_size in chunk_sizes:
        chunks = _assert_same_chunks(path, chunk_size)
        assert chunks, "no records read"


# real files


@pytest.mark.parametrize(
    ("vcf", "chunk_size"),
    [
        (HAPMAP, 1),
        (HAPMAP, 7),
        (HAPMAP, 5000),
        (BEAGLE, 7),
        (BEAGLE, 5000),
        (ANNOTATION, 7),
        (ANNOTATION, 5000),
    ],
    ids=lambda v: v.name.split("_")[0] if isinstance(v, Path) else str(v),
)
def test_real_files_equal_cyvcf2(vcf: Path, chunk_size: int) -> None:
    _assert_text_reader_equals_cyvcf2(vcf, [chunk_size])


def test_text_vcf_tags_of_real_files() -> None:
    assert text_vcf_tags(HAPMAP) == {"GT", "AD", "DP", "GQ"}
    assert text_vcf_tags(BEAGLE) == {"GT"}


@pytest.mark.parametrize("vcf", [HAPMAP, BEAGLE], ids=lambda p: p.name.split("_")[0])
def test_small_read_blocks_split_lines_and_header(
    vcf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks far smaller than a header or record line: lines are carried across blocks."""
    monkeypatch.setattr(vcf_text, "BLOCK", 256)
    _assert_text_reader_equals_cyvcf2(vcf, [7, 5000])


# hand-written files


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("case", list(CASES))
def test_edge_cases_equal_cyvcf2(tmp_path: Path, case: str, form: str) -> None:
    _assert_text_reader_equals_cyvcf2(_write(tmp_path, _vcf(CASES[case]), form))


@pytest.mark.parametrize("form", FORMS)
def test_crlf_line_endings_equal_cyvcf2(tmp_path: Path, form: str) -> None:
    records = CASES["multiallelic_ad_counts"] + CASES["filters"] + CASES["mixed_ploidy"]
    text = _vcf(records).replace("\n", "\r\n")
    path = _write(tmp_path, text, form)
    _assert_text_reader_equals_cyvcf2(path)
    (chunk,) = read_vcf_chunks(path, 5000)
    assert chunk.filters[4:8] == [None, "PASS", "q10;s50", "q10"]  # no '\r' kept anywhere
    assert chunk.gt[-1].tolist() == [[1, -2], [0, -2], [-1, -2]]


@pytest.mark.parametrize("form", FORMS)
def test_no_trailing_newline_equals_cyvcf2(tmp_path: Path, form: str) -> None:
    path = _write(tmp_path, _vcf(CASES["mixed_ploidy"]).rstrip("\n"), form)
    _assert_text_reader_equals_cyvcf2(path)


@pytest.mark.parametrize("form", FORMS)
def test_sites_only_vcf_equals_cyvcf2(tmp_path: Path, form: str) -> None:
    records = [
        "22 100 . A G 50 PASS DP=3",
        "22 101 . A G,T 50 q10 .",
        "22 102 . A . 50 . .",
        "22 103 . A G 50 PASS . GT",  # a FORMAT column without samples, as htslib tolerates
    ]
    path = _write(tmp_path, _vcf(records, samples=()), form)
    _assert_text_reader_equals_cyvcf2(path)
    (chunk,) = read_vcf_chunks(path, 5000)
    assert chunk.gt.shape[:2] == (4, 0)
    assert chunk.alts == [["G"], ["G", "T"], [], ["G"]]


def test_a_header_without_records_gives_no_chunks(tmp_path: Path) -> None:
    path = _write(tmp_path, _vcf([]))
    assert text_vcf_tags(path) is not None
    assert list(read_vcf_chunks(path, 10)) == list(read_record_chunks(path, 10)) == []


@pytest.mark.parametrize("form", ["plain", "bgzf"])
def test_a_last_header_line_without_newline_is_not_a_record(tmp_path: Path, form: str) -> None:
    path = _write(tmp_path, _vcf([]).rstrip("\n"), form)
    assert list(read_vcf_chunks(path, 10)) == []


def test_a_long_header_across_small_blocks(tmp_path: Path, monkeypatch) -> None:
    """Thousands of header lines (GRCh38 with its alt contigs has ~3,400) over many reads."""
    contigs = [f"##contig=<ID=chrUn_{i},length=1000>" for i in range(5000)]
    records = [f"22 {100 + i} . A G 50 PASS . GT 0/1 1/1 ./." for i in range(30)]
    path = _write(tmp_path, _vcf(records, header=[*HEADER, *contigs]))
    monkeypatch.setattr(vcf_text, "BLOCK", 4096)
    chunks = _assert_same_chunks(path, 7)
    assert chunks[0].first_line == len(HEADER) + len(contigs) + 2
    assert sum(len(c) for c in chunks) == 30


@pytest.mark.parametrize("form", FORMS)
def test_values_are_decoded_as_cyvcf2_codes_them(tmp_path: Path, form: str) -> None:
    """Expected values written out, so that the two readers cannot agree on a wrong answer."""
    records = [
        f"22 100 . A G,T 50 q10;s50 . {FULL} 0/1/2:1,2,3:6:30 1|0:1,2:3:20 .:.:.:.",
        "22 101 . A . 50 . . DP:GQ 7:70 .:. 8",
        f"22 102 . A G 50 PASS . {FULL} 0/1:4,5:9:40 ./.:.:.:. 1/1:0,7:7:21",
        "22 103 . A G 50 PASS . GT:AD 0/1:1,2,3 0/1:4,5 ./.:.",
    ]
    (chunk,) = read_vcf_chunks(_write(tmp_path, _vcf(records), form), 5000)
    assert chunk.first_line == len(HEADER) + 2
    assert chunk.pos.tolist() == [100, 101, 102, 103]
    assert chunk.alts == [["G", "T"], [], ["G"], ["G"]]
    assert chunk.filters == ["q10;s50", None, "PASS", "PASS"]
    assert chunk.gt.dtype == np.int16
    assert chunk.gt.tolist() == [
        [[0, 1, 2], [1, 0, -2], [-1, -2, -2]],
        [[-1, -1, -2], [-1, -1, -2], [-1, -1, -2]],  # no GT key: a no-call
        [[0, 1, -2], [-1, -1, -2], [1, 1, -2]],
        [[0, 1, -2], [0, 1, -2], [-1, -1, -2]],
    ]
    assert chunk.dp.tolist() == [[6, 3, -1], [7, -1, 8], [9, -1, 7], [-1, -1, -1]]
    assert chunk.gq.tolist() == [[30, 20, -1], [70, -1, -1], [40, -1, 21], [-1, -1, -1]]
    assert chunk.ad is not None and chunk.ad.dtype == np.int32
    assert chunk.ad.tolist() == [
        [[1, 2, 3], [1, 2, -1], [-1, -1, -1]],  # fewer values than alleles: padded
        [[-1] * 3] * 3,  # no AD key
        [[4, 5, -1], [-1, -1, -1], [0, 7, -1]],
        [[-1] * 3] * 3,  # 3 values for 2 alleles: the record's AD is unusable
    ]


def test_undeclared_gt_records_without_gt_equal_cyvcf2(tmp_path: Path) -> None:
    header = [line for line in HEADER if "ID=GT," not in line]
    records = [
        "22 100 . A G 50 PASS . DP:GQ 3:10 4:20 .:.",
        "22 101 . A G 50 PASS . GT:DP 0/1:3 1/1:5 0/0:.",
    ]
    path = _write(tmp_path, _vcf(records, header=header))
    assert text_vcf_tags(path) == {"AD", "DP", "GQ"}
    _assert_text_reader_equals_cyvcf2(path)


@pytest.mark.parametrize(
    "records",
    [
        ["22 100 . A G 50 PASS . GT:DP 0/1:1234567890 0/1:3 1:4"],  # 10 digits, fits int32
        ["22 100 . A G 50 PASS . GT:DP 0/1:0000000005 0/1:3 1:4"],  # leading zeros
        ["22 100 . A G 50 PASS . GT:DP 0/1:+4 0/1:3 1:4"],  # a '+' sign, as strtol reads it
    ],
    ids=["ten_digits", "leading_zeros", "plus_sign"],
)
def test_integers_as_htslib_reads_them(tmp_path: Path, records: list[str]) -> None:
    _assert_text_reader_equals_cyvcf2(_write(tmp_path, _vcf(records)))


def test_a_record_without_gt_is_a_no_call(tmp_path: Path) -> None:
    """A deliberate difference: cyvcf2 cannot give genotypes for a record whose FORMAT lacks a
    GT the header declares (the reader then fails the file); the text reader reads no-calls."""
    records = ["22 100 . A G 50 PASS . GT:DP 0/1:3 1/1:5 0/0:.", "22 101 . A G 50 PASS . DP 3 4 ."]
    path = _write(tmp_path, _vcf(records))
    (chunk,) = read_vcf_chunks(path, 5000)
    assert chunk.gt[1].tolist() == [[-1, -1]] * 3
    assert chunk.dp[1].tolist() == [3, 4, -1]
    with pytest.raises(VcfFormatError, match="couldn't get genotypes"):
        list(read_record_chunks(path, 5000))


# files the text reader hands to cyvcf2


def test_bcf_goes_through_cyvcf2(tmp_path: Path) -> None:
    bcf = tmp_path / "hapmap.bcf"
    subprocess.run(["bcftools", "view", "-Ob", "-o", str(bcf), str(HAPMAP)], check=True)
    assert text_vcf_tags(bcf) is None
    chunks = _assert_same_chunks(bcf, 5000)
    assert sum(len(c) for c in chunks) == sum(len(c) for c in read_vcf_chunks(HAPMAP, 5000))


@pytest.mark.parametrize(
    ("tag", "declared"),
    [("GQ", "Number=1,Type=Float"), ("DP", "Number=1,Type=Float"), ("AD", "Number=R,Type=Float")],
)
def test_a_non_integer_declaration_goes_through_cyvcf2(
    tmp_path: Path, tag: str, declared: str
) -> None:
    number = "R" if tag == "AD" else "1"
    header = [
        line.replace(f"Number={number},Type=Integer", declared) if f"ID={tag}," in line else line
        for line in HEADER
    ]
    records = [f"22 100 . A G 50 PASS . {FULL} 0/1:1,2:3:30 1/1:0,5:5:45 ./.:.:.:."]
    path = _write(tmp_path, _vcf(records, header=header))
    assert text_vcf_tags(_write(tmp_path, _vcf(records), name="integer")) is not None
    assert text_vcf_tags(path) is None
    (chunk,) = _assert_same_chunks(path, 5000)
    assert chunk.dp[0].tolist() == [3, 5, -1]
    assert chunk.gq[0].tolist() == [30, 45, -1]


# bad records


GOOD = f"22 {{pos}} . A G 50 PASS . {FULL} 0/1:1,2:3:4 0/1:1,2:3:4 1/1:0,2:2:6"
BAD = {
    "extra_column": (GOOD.format(pos=150) + " 0/1", ["13 columns, the header has 12"]),
    "missing_column": ("22 150 . A G 50 PASS . GT 0/1 0/1", ["11 columns, the header has 12"]),
    "pos_letters": ("22 1x . A G 50 PASS . GT 0/1 0/1 1", ["POS", "'1x'", "positive integer"]),
    "pos_negative": ("22 -5 . A G 50 PASS . GT 0/1 0/1 1", ["POS", "'-5'"]),
    "gq_float": (f"22 150 . A G 50 PASS . {FULL} 0/1:1,2:3:4 0/1:1,2:3:4.5 .", ["GQ", "'4.5'"]),
    "dp_letter": (f"22 150 . A G 50 PASS . {FULL} 0/1:1,2:x:4 0/1:1,2:3:4 .", ["DP", "'x'"]),
    "ad_letter": (f"22 150 . A G 50 PASS . {FULL} 0/1:1,2:3:4 0/1:1,z:3:4 .", ["AD", "'1,z'"]),
    "gt_letter": ("22 150 . A G 50 PASS . GT 0/1 0/a 1", ["GT", "'0/a'"]),
    "gt_negative": ("22 150 . A G 50 PASS . GT 0/-1 0/1 1", ["GT", "'0/-1'"]),
    "gt_dot_digit": ("22 150 . A G 50 PASS . GT 0/1 .1/1 1", ["GT", "'.1/1'"]),
    "empty_line": ("", ["empty line"]),
    "extra_field": ("22 150 . A G 50 PASS . GT 0/1:5 0/1 1", ["more fields than FORMAT"]),
    "empty_sample": ("22 150 . A G 50 PASS . GT:DP 0/1:4  1:4", ["sample column 11", "empty"]),
    "too_large": ("22 150 . A G 50 PASS . GT:DP 0/1:4 0/1:2147483648 1:4", ["DP", "32-bit"]),
}


@pytest.mark.parametrize("form", ["plain", "bgzf"])
@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_record_names_its_line(tmp_path: Path, case: str, form: str) -> None:
    bad, words = BAD[case]
    records = [GOOD.format(pos=100 + i) for i in range(5)]
    records.insert(2, bad)
    text = _vcf(records)
    path = _write(tmp_path, text, form)
    line = len(HEADER) + 1 + 3  # the header, #CHROM, two good records, then the bad one
    assert text.splitlines()[line - 1] == bad.replace(" ", "\t")
    for chunk_size in CHUNK_SIZES:
        before: list[RecordChunk] = []
        with pytest.raises(VcfFormatError) as caught:
            before.extend(read_vcf_chunks(path, chunk_size))
        assert caught.value.line == line, chunk_size
        for word in words:
            assert word in caught.value.reason, (chunk_size, caught.value.reason)
        if chunk_size == 1:  # the records before it were read
            assert [c.pos.tolist() for c in before] == [[100], [101]]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda fields: [fields[0], "x1", *fields[2:]], ["POS", "'x1'"]),
        (lambda fields: [*fields, "0/1"], ["32 columns, the header has 31"]),
    ],
    ids=["pos", "columns"],
)
def test_a_bad_record_late_in_a_real_file_across_small_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change, words: list[str]
) -> None:
    monkeypatch.setattr(vcf_text, "BLOCK", 1000)
    with gzip.open(HAPMAP, "rt") as text:
        lines = text.read().splitlines()
    target = len(lines) - 3
    lines[target] = "\t".join(change(lines[target].split("\t")))
    path = _write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(VcfFormatError) as caught:
        for _ in read_vcf_chunks(path, 7):
            pass
    assert caught.value.line == target + 1
    for word in words:
        assert word in caught.value.reason


def test_read_ahead_of_chunks_equals_reading_them() -> None:
    ahead = list(read_ahead(read_vcf_chunks(HAPMAP, 100)))
    direct = list(read_record_chunks(HAPMAP, 100))
    assert len(ahead) == len(direct) > 1
    for index, (mine, other) in enumerate(zip(ahead, direct, strict=True)):
        _assert_same_chunk(mine, other, f"chunk {index}")


def test_line_scan_equals_splitting_the_text() -> None:
    """Line ends, column counts and the first columns' starts, on random lines: empty columns,
    tabs at both ends, carriage returns, empty lines, and a last line without its newline."""
    rng = np.random.default_rng(3)
    pieces = ["", "A", "0|1", "\t", "\r"]
    lines = [
        "".join(rng.choice(pieces, rng.integers(0, 40)))
        + "\t".join(rng.choice(pieces[:3], rng.integers(1, 30)))
        for _ in range(400)
    ]
    for ending in ("\n", ""):
        text = "\n".join(lines) + ending
        scanned = vcf_text._Lines(text.encode())
        assert scanned.count == len(lines)
        offset = 0
        for i, line in enumerate(lines):
            body = line[:-1] if line.endswith("\r") else line
            assert scanned.starts[i] == offset
            assert scanned.ends[i] == offset + len(body)
            assert scanned.columns[i] == line.count("\t") + 1
            tabs = [j for j, c in enumerate(line) if c == "\t"][: vcf_text.kernels.FIXED - 1]
            starts = [offset] + [offset + j + 1 for j in tabs]
            starts += [-1] * (vcf_text.kernels.FIXED - len(starts))
            assert scanned.column_start[i].tolist() == starts
            offset += len(line) + 1
