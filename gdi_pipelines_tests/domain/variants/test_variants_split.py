"""Multi-allelic split == `bcftools norm -m -any` on GT and AD (real hapmap records, edge cases)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gdi_pipelines.domain.variants.records import read_record_chunks
from gdi_pipelines.domain.variants.split import (
    recode_genotypes,
    split_index,
    split_number_a,
    split_number_r,
)
from gdi_pipelines_tests.domain.variants.variants_oracles import HAPMAP, bcftools, write_vcf

QUERY = "[%CHROM\t%POS\t%REF\t%ALT\t%SAMPLE\t%GT\t%AD\n]"


def _bcftools_split(vcf: Path) -> list[tuple]:
    out = bcftools("norm", "-m", "-any", str(vcf)).stdout
    text = bcftools("query", "-f", QUERY, "-", stdin=out).stdout.decode()
    rows = []
    for line in text.splitlines():
        chrom, pos, ref, alt, sample, gt, ad = line.split("\t")
        alleles = tuple(gt.replace("|", "/").split("/"))
        rows.append((chrom, int(pos), ref, alt, sample, alleles, _missing_as_dot(ad)))
    return rows


def _our_split(vcf: Path, samples: list[str], chunk_size: int = 97) -> list[tuple]:
    rows = []
    for chunk in read_record_chunks(vcf, chunk_size=chunk_size):
        record, allele = split_index(np.array([len(a) for a in chunk.alts]))
        gt = recode_genotypes(chunk.gt[record], allele)
        ad = split_number_r(chunk.ad, record, allele)
        for i, (r, k) in enumerate(zip(record, allele, strict=True)):
            for s, sample in enumerate(samples):
                alleles = tuple("." if a == -1 else str(a) for a in gt[i, s] if a != -2)
                depths = ",".join("." if d < 0 else str(d) for d in ad[i, s])
                depths = _missing_as_dot(depths)
                alt = chunk.alts[r][k - 1]
                rows.append(
                    (chunk.chrom[r], int(chunk.pos[r]), chunk.ref[r], alt, sample, alleles, depths)
                )
    return rows


def _missing_as_dot(depths: str) -> str:
    """'.' and '.,.' both say 'no depths' (bcftools writes either, depending on the record)."""
    return "." if set(depths) <= {".", ","} else depths


def _samples(vcf: Path) -> list[str]:
    return bcftools("query", "-l", str(vcf)).stdout.decode().split()


def test_split_matches_bcftools_on_every_hapmap_record(tmp_path: Path) -> None:
    # GATK 3 declares AD as Number=. and bcftools copies such fields unsplit; AD is per allele
    # (Number=R in VCF 4.2+), which is how the harmoniser splits it: declare it so for bcftools.
    header = bcftools("view", "-h", str(HAPMAP)).stdout.decode()
    fixed = tmp_path / "header.txt"
    fixed.write_text(header.replace("ID=AD,Number=.", "ID=AD,Number=R"))
    vcf = tmp_path / "hapmap_ad_r.vcf.gz"
    bcftools("reheader", "-h", str(fixed), "-o", str(vcf), str(HAPMAP))
    expected = _bcftools_split(vcf)
    ours = _our_split(vcf, _samples(vcf))
    assert len(ours) == len(expected)
    assert sorted(ours) == sorted(expected)
    multi = {(c, p) for c, p, *_ in expected}
    assert len(expected) // len(_samples(vcf)) - len(multi) > 0  # there were multi-allelics


def test_split_genotype_edge_cases_match_bcftools(tmp_path: Path) -> None:
    samples = [f"S{i}" for i in range(12)]
    fields_1 = [
        "1/2:1,2,3",
        "1|2:1,2,3",
        "2|1:.",
        "./1:1,2,.",
        ".:.",
        "1:0,5,0",
        "2:0,0,5",
        "./.:.",
        "0/2:3,0,3",
        "2/2:0,0,9",
        "0|0:4,0,0",
        ".|2:.,.,4",
    ]
    fields_2 = [
        "1/3:1,1,0,1",
        "3|2:0,0,1,1",
        "0/0:5,0,0,0",
        "1/1:0,5,0,0",
        "3:0,0,0,2",
        "./3:.",
        "2/3:0,0,4,4",
        "./.:.",
        "1/2:1,1,1,0",
        "0:3,0,0,0",
        "3/3:0,0,0,9",
        "2:0,0,7,0",
    ]
    records = [
        ("22", 100, "T", "C,G", "PASS", fields_1),
        ("22", 200, "TA", "T,TAA,CA", "LowQual", fields_2),
    ]
    vcf = write_vcf(tmp_path / "edge.vcf.gz", records, samples, {"22": 1000}, "GT:AD")
    assert sorted(_our_split(vcf, samples, chunk_size=1)) == sorted(_bcftools_split(vcf))


def test_split_index_and_number_a() -> None:
    record, allele = split_index(np.array([1, 3, 0, 2]))
    assert record.tolist() == [0, 1, 1, 1, 2, 3, 3]
    assert allele.tolist() == [1, 1, 2, 3, 1, 1, 2]
    values = np.arange(4 * 2 * 3).reshape(4, 2, 3)  # (records, samples, alts)
    picked = split_number_a(values, record, allele)
    assert picked[2].tolist() == values[1, :, 1].tolist()
    assert picked[6].tolist() == values[3, :, 1].tolist()
