"""The BGZF writer of the exports and the synthetic VCFs: files htslib indexes and reads."""

import gzip
import random
import struct
from pathlib import Path

import pysam

from gdi_pipelines.domain.bgzf import EOF_BLOCK, MAX_BLOCK, BgzfWriter


def _vcf_text(records: int) -> bytes:
    header = "##fileformat=VCFv4.2\n##contig=<ID=chr1>\n"
    header += "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    lines = (f"chr1\t{p}\t.\tA\tG\t.\tPASS\tAC={p % 7};AN=200\n" for p in range(1, records + 1))
    return (header + "".join(lines)).encode()


def _block_sizes(path: Path) -> list[int]:
    data, sizes, at = path.read_bytes(), [], 0
    while at < len(data):
        assert data[at : at + 4] == b"\x1f\x8b\x08\x04" and data[at + 12 : at + 14] == b"BC"
        size = struct.unpack_from("<H", data, at + 16)[0] + 1
        sizes.append(size)
        at += size
    return sizes


def test_htslib_indexes_and_reads_what_it_writes_whatever_the_write_sizes(tmp_path: Path):
    text = _vcf_text(60_000)
    whole, pieces = tmp_path / "whole.vcf.gz", tmp_path / "pieces.vcf.gz"
    with BgzfWriter(whole, threads=1) as handle:
        assert handle.write(text) == len(text)
    rng, at = random.Random(7), 0
    with BgzfWriter(pieces, threads=3) as handle:
        while at < len(text):
            step = rng.randint(1, 200_000)
            handle.write(text[at : at + step])
            at += step
    assert whole.read_bytes() == pieces.read_bytes()
    assert gzip.decompress(whole.read_bytes()) == text
    sizes = _block_sizes(whole)
    assert len(sizes) > 10 and max(sizes) <= MAX_BLOCK
    assert whole.read_bytes().endswith(EOF_BLOCK)
    pysam.tabix_index(str(whole), preset="vcf", force=True)
    with pysam.TabixFile(str(whole)) as indexed:
        found = [line.split("\t")[1] for line in indexed.fetch("chr1", 41_999, 42_002)]
    assert found == ["42000", "42001", "42002"]
