"""Canonical contig names and their spelling in a FASTA."""

from __future__ import annotations

from pathlib import Path

import pytest

from gdi_pipelines.domain.variants.contigs import (
    CANONICAL_CONTIGS,
    canonical_contig,
    contig_spelling,
)
from gdi_pipelines.domain.variants.reference import ReferenceGenome
from gdi_pipelines_tests.domain.variants.variants_oracles import GRCH37_FASTA, write_fasta


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("1", "chr1"),
        ("chr1", "chr1"),
        ("Chr1", "chr1"),
        ("22", "chr22"),
        ("chr22", "chr22"),
        ("X", "chrX"),
        ("chrX", "chrX"),
        ("y", "chrY"),
        ("MT", "chrM"),
        ("M", "chrM"),
        ("chrM", "chrM"),
        ("chrMT", "chrM"),
        ("NC_000001.10", "chr1"),
        ("NC_000001.11", "chr1"),
        ("NC_000022.10", "chr22"),
        ("NC_000023.11", "chrX"),
        ("NC_000024.9", "chrY"),
        ("NC_012920.1", "chrM"),
        ("23", None),
        ("0", None),
        ("chr22_KI270879v1_alt", None),
        ("GL000192.1", None),
        ("chrUn_gl000220", None),
        ("NC_000001.9", None),
        ("", None),
        ("chr", None),
    ],
)
def test_canonical_names(name: str, canonical: str | None) -> None:
    assert canonical_contig(name) == canonical


def test_refseq_accessions_are_checked_against_the_build() -> None:
    assert canonical_contig("NC_000001.10", "GRCh37") == "chr1"
    assert canonical_contig("NC_000001.10", "GRCh38") is None
    assert canonical_contig("NC_000001.11", "GRCh38") == "chr1"
    assert canonical_contig("NC_000024.10", "GRCh38") == "chrY"
    assert canonical_contig("NC_012920.1", "GRCh37") == "chrM"


def test_every_canonical_name_is_its_own_canonical_form() -> None:
    assert len(CANONICAL_CONTIGS) == 25
    assert all(canonical_contig(c) == c for c in CANONICAL_CONTIGS)


def test_fasta_spelling(tmp_path: Path) -> None:
    assert contig_spelling(["22", "X", "MT", "GL000192.1"]) == {
        "chr22": "22",
        "chrX": "X",
        "chrM": "MT",
    }
    assert contig_spelling(["MT", "chrM"]) == {"chrM": "chrM"}
    fasta = write_fasta(tmp_path / "r.fa", {"chr2": "ACGTN", "HLA-A*01:01": "ACGT"})
    reference = ReferenceGenome(fasta)
    assert reference.has_contig("chr2") and reference.name_in_fasta("chr2") == "chr2"
    assert reference.fetch("chr2", 1, 10) == "CGTN"
    real = ReferenceGenome(GRCH37_FASTA)
    assert real.name_in_fasta("chr22") == "22" and real.length("chr22") == 21_000_000
