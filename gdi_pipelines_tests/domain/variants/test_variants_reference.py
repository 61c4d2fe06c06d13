"""FASTA reads served from decoded windows equal direct reads, wherever they fall."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pysam
import pytest

import gdi_pipelines.domain.variants.reference as reference
from gdi_pipelines.domain.variants.reference import ReferenceGenome, to_acgtn
from gdi_pipelines_tests.domain.variants.variants_oracles import write_fasta


@pytest.mark.parametrize("bgzipped", [False, True])
def test_windowed_reads_equal_direct_reads(tmp_path: Path, monkeypatch, bgzipped) -> None:
    monkeypatch.setattr(reference, "WINDOW_AHEAD", 700)
    monkeypatch.setattr(reference, "WINDOW_BEHIND", 90)
    monkeypatch.setattr(reference, "WINDOW_MAX", 3_000)
    rng = random.Random(5)
    letters = "ACGTNacgtnRYKM"  # lower case and IUPAC codes come back as bcftools reads them
    lengths = {"chr1": 9_000, "chr2": 4_000, "chr3": 2_500}
    contigs = {c: "".join(rng.choice(letters) for _ in range(n)) for c, n in lengths.items()}
    fasta = write_fasta(tmp_path / "ref.fa", contigs)
    if bgzipped:
        subprocess.run(["bgzip", "-f", str(fasta)], check=True)
        fasta = tmp_path / "ref.fa.gz"
        pysam.faidx(str(fasta))
    genome = ReferenceGenome(fasta)
    position = {c: 0 for c in lengths}
    for _ in range(3_000):
        contig = rng.choice(list(lengths))  # three contigs, two windows kept
        # mostly walking forward as a VCF does, sometimes back or far, some reads long
        step = rng.choice([rng.randint(0, 200), rng.randint(-400, 0), rng.randint(-9_000, 9_000)])
        position[contig] = start = max(-50, min(lengths[contig] + 50, position[contig] + step))
        end = start + rng.choice([0, 1, rng.randint(1, 120), rng.randint(500, 4_000)])
        first, last = max(start, 0), min(end, lengths[contig])
        expected = to_acgtn(contigs[contig][first:last]) if last > first else ""
        assert genome.fetch(contig, start, end) == expected, (contig, start, end)
        assert genome.fetch_codes(contig, start, end).tobytes().decode() == expected
    genome.close()
