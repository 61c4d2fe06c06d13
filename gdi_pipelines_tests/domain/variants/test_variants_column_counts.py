"""The text pass that finds records with too many or too few columns (htslib ignores extra
columns after the last sample), on real files, across block boundaries, and on BCF."""

from __future__ import annotations

import gzip
import subprocess
from pathlib import Path

import pysam
import pytest

from gdi_pipelines.domain.variants.records import (
    VcfFormatError,
    check_column_counts,
    vcf_samples,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "variants"
REAL = [DATA / "hapmap_exome_chr22.vcf.gz", DATA / "beagle_1kgp1_chr22_20Mb.vcf.gz"]


def _lines(path: Path) -> list[str]:
    with gzip.open(path, "rt") as text:
        return text.read().splitlines()


def _write(path: Path, lines: list[str]) -> Path:
    """bgzipped, as labs deliver."""
    plain = path.with_suffix("")
    plain.write_text("\n".join(lines) + "\n")
    pysam.tabix_compress(str(plain), str(path), force=True)
    return path


@pytest.mark.parametrize("vcf", REAL, ids=lambda p: p.name)
def test_real_files_pass(vcf: Path) -> None:
    check_column_counts(vcf, len(vcf_samples(vcf)))


@pytest.mark.parametrize("block", [64, 1000, 1 << 22])
@pytest.mark.parametrize("delta", [1, -1, -5])
def test_a_wrong_column_count_names_its_line(tmp_path: Path, block: int, delta: int) -> None:
    lines = _lines(REAL[0])
    header = next(t for t in lines if t.startswith("#CHROM"))
    n_samples = len(header.split("\t")) - 9
    target = len(lines) - 3  # late in the file: many blocks before it when blocks are small
    fields = lines[target].split("\t")
    lines[target] = "\t".join([*fields, "0/1"] if delta > 0 else fields[:delta])
    vcf = _write(tmp_path / "bad.vcf.gz", lines)
    with pytest.raises(VcfFormatError) as caught:
        check_column_counts(vcf, n_samples, block=block)
    columns = 9 + n_samples + delta
    assert caught.value.line == target + 1
    assert caught.value.reason == f"{columns} columns, the header has {9 + n_samples}"


def test_only_the_first_bad_line_is_named_and_header_lines_are_not_records(tmp_path) -> None:
    lines = _lines(REAL[0])
    first_record = next(i for i, t in enumerate(lines) if not t.startswith("#"))
    lines[first_record + 2] += "\tx"
    lines[first_record + 5] += "\ty"
    vcf = _write(tmp_path / "two.vcf.gz", lines)
    with pytest.raises(VcfFormatError) as caught:
        check_column_counts(vcf, len(vcf_samples(vcf)), block=128)
    assert caught.value.line == first_record + 3


def test_bcf_is_not_read_as_text(tmp_path: Path) -> None:
    bcf = tmp_path / "real.bcf"
    subprocess.run(["bcftools", "view", "-Ob", "-o", str(bcf), str(REAL[0])], check=True)
    check_column_counts(bcf, len(vcf_samples(bcf)))


def test_a_corrupt_stream_is_a_format_error(tmp_path: Path) -> None:
    data = bytearray(REAL[0].read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)
    vcf = tmp_path / "corrupt.vcf.gz"
    vcf.write_bytes(bytes(data))
    with pytest.raises(VcfFormatError, match="corrupt compressed stream"):
        check_column_counts(vcf, 90)
