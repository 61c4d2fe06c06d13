"""The synthetic GRCh38/GRCh37 reference, builds.json and the 37->38 chain (via pyliftover)."""

from __future__ import annotations

import gzip
import re

import numpy as np
import pysam
import pytest
from pyliftover import LiftOver

from gdi_pipelines.synth.reference import MITO_LENGTH

COMPLEMENT = str.maketrans("ACGTN", "TGCAN")


@pytest.fixture(scope="module")
def fastas(cohort):
    return {build: pysam.FastaFile(str(cohort.fasta(build))) for build in ("GRCh37", "GRCh38")}


@pytest.fixture(scope="module")
def liftover(cohort):
    return LiftOver(str(cohort.report.reference_dir / cohort.builds["GRCh37"]["chain_to_GRCh38"]))


def test_contig_names_and_lengths_match_builds_json(cohort, fastas):
    n = cohort.spec.n_autosomes
    expected = {
        "GRCh38": [f"chr{i}" for i in range(1, n + 1)] + ["chrX", "chrY", "chrM"],
        "GRCh37": [str(i) for i in range(1, n + 1)] + ["X", "Y", "MT"],
    }
    for build, fasta in fastas.items():
        assert list(fasta.references) == expected[build]
        declared = {c["name"]: c["length"] for c in cohort.builds[build]["contigs"]}
        assert declared == dict(zip(fasta.references, fasta.lengths, strict=True))
        assert declared[expected[build][0]] != 0
        assert declared[expected[build][-1]] == MITO_LENGTH
    lengths = [c["length"] for c in cohort.builds["GRCh37"]["contigs"][:-1]]
    assert lengths != [c["length"] for c in cohort.builds["GRCh38"]["contigs"][:-1]]


def test_fasta_is_bgzipped_with_60_column_lines(cohort):
    path = cohort.fasta("GRCh38")
    assert (path.parent / (path.name + ".fai")).exists()
    assert (path.parent / (path.name + ".gzi")).exists()
    with gzip.open(path, "rt") as handle:
        lines = [next(handle) for _ in range(50)]
    assert lines[0] == ">chr1\n"
    assert {len(line) for line in lines[1:]} == {61}


def test_sequence_is_realistic(cohort, fastas):
    seq = fastas["GRCh38"].fetch("chr1")
    acgt = re.sub(r"[^ACGTacgt]", "", seq).upper()
    gc = (acgt.count("G") + acgt.count("C")) / len(acgt)
    assert 0.38 < gc < 0.44
    assert seq.startswith("N" * 50) and seq.endswith("N" * 50)
    assert any(ch.islower() for ch in seq), "planted repeats are soft-masked"
    homopolymers = re.findall(r"(?i)(a{8,}|c{8,}|g{8,}|t{8,})", seq)
    dinucleotides = re.findall(r"(?i)((?:ac){5,}|(?:ag){5,}|(?:ca){5,}|(?:tg){5,})", seq)
    assert len(homopolymers) > 20 and len(dinucleotides) > 5


def test_pseudoautosomal_regions_are_shared_by_x_and_y(cohort, fastas):
    for build in ("GRCh38", "GRCh37"):
        par = cohort.builds[build]["par"]
        x, y = ("chrX", "chrY") if build == "GRCh38" else ("X", "Y")
        assert len(par[x]) == len(par[y]) == 2
        assert par[x][0][0] < par[x][0][1] < par[x][1][0] < par[x][1][1]
        for (xs, xe), (ys, ye) in zip(par[x], par[y], strict=True):
            assert xe - xs == ye - ys
            x_seq = fastas[build].fetch(x, xs - 1, xe).upper()
            assert x_seq == fastas[build].fetch(y, ys - 1, ye).upper()
            assert "N" not in x_seq
        assert par[x][1][1] <= fastas[build].get_reference_length(x)
        assert fastas[build].fetch(x, par[x][0][1], par[x][0][1] + 500).upper() != (
            fastas[build].fetch(y, par[y][0][1], par[y][0][1] + 500).upper()
        )


def test_chain_maps_every_sampled_grch37_base_to_the_same_grch38_base(cohort, fastas, liftover):
    rng = np.random.default_rng(0)
    strands = {"+": 0, "-": 0}
    unmapped = 0
    for contig in cohort.builds["GRCh37"]["contigs"]:
        seq37 = fastas["GRCh37"].fetch(contig["name"]).upper()
        seq38 = fastas["GRCh38"].fetch(contig["ucsc_name"]).upper()
        for pos in rng.integers(0, len(seq37), 1500).tolist():
            hits = liftover.convert_coordinate(contig["ucsc_name"], pos)
            if not hits:
                unmapped += 1
                continue
            assert len(hits) == 1
            chrom, pos38, strand, _ = hits[0]
            assert chrom == contig["ucsc_name"]
            base = seq38[pos38] if strand == "+" else seq38[pos38].translate(COMPLEMENT)
            assert base == seq37[pos], (contig["name"], pos, pos38, strand)
            strands[strand] += 1
    assert strands["-"] > 0, "inverted segments flip strand"
    assert strands["+"] > 10 * strands["-"]
    assert unmapped > 0, "GRCh37-only insertions do not map"


def test_chain_leaves_some_grch38_sequence_unreachable(cohort):
    path = cohort.report.reference_dir / cohort.builds["GRCh37"]["chain_to_GRCh38"]
    covered: dict[str, int] = {}
    sizes: dict[str, int] = {}
    with gzip.open(path, "rt") as handle:
        for line in handle:
            fields = line.split()
            if line.startswith("chain"):
                assert len(fields) == 13 and fields[4] == "+"
                assert fields[2].startswith("chr") and fields[7].startswith("chr")
                name, sizes[fields[7]] = fields[7], int(fields[8])
            elif fields:
                covered[name] = covered.get(name, 0) + int(fields[0])
    assert covered["chrM"] == sizes["chrM"]
    assert any(covered[c] < sizes[c] for c in sizes if c != "chrM"), "38-only sequence exists"
