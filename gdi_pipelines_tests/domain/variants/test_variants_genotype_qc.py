"""GQ/DP masking, sex ploidy on chrX/chrY/chrM, PAR boundaries."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from gdi_pipelines.domain.variants.genotype_qc import (
    NO_CALL,
    PAR_REGIONS,
    CallThresholds,
    PloidyRegion,
    Sex,
    genotype_dosages,
    mask_low_quality,
    ploidy_regions,
)
from gdi_pipelines.domain.variants.harmonise import HarmoniseConfig, combine_samples, harmonise_vcf
from gdi_pipelines_tests.domain.variants.variants_oracles import write_fasta, write_vcf

GENOTYPES = {
    "0/0": (0, 0),
    "0/1": (0, 1),
    "1/1": (1, 1),
    "./.": (-1, -1),
    "./1": (-1, 1),
    "1": (1, -2),
    "0": (0, -2),
}


def _dosages(region: PloidyRegion, sex: Sex, calls: list[str]):
    gt = np.array([[GENOTYPES[c] for c in calls]], dtype=np.int16)
    sexes = np.full(len(calls), sex, dtype=np.int8)
    dosage, ploidy = genotype_dosages(gt, np.array([region], dtype=np.int8), sexes)
    return dosage[0].tolist(), ploidy[0].tolist()


CALLS = ["0/0", "0/1", "1/1", "./.", "./1", "1", "0"]


def test_autosomes_and_unknown_sex_keep_the_coded_ploidy() -> None:
    expected = ([0, 1, 2, NO_CALL, NO_CALL, 1, 0], [2, 2, 2, 2, 2, 1, 1])
    assert _dosages(PloidyRegion.DIPLOID, Sex.MALE, CALLS) == expected
    assert _dosages(PloidyRegion.X_NONPAR, Sex.UNKNOWN, CALLS) == expected
    assert _dosages(PloidyRegion.X_NONPAR, Sex.FEMALE, CALLS) == expected


def test_males_are_haploid_outside_the_pars_and_het_calls_become_no_calls() -> None:
    expected = ([0, NO_CALL, 1, NO_CALL, NO_CALL, 1, 0], [1] * 7)
    assert _dosages(PloidyRegion.X_NONPAR, Sex.MALE, CALLS) == expected
    assert _dosages(PloidyRegion.Y_NONPAR, Sex.MALE, CALLS) == expected


def test_females_have_no_chry_and_everyone_is_haploid_on_chrm() -> None:
    assert _dosages(PloidyRegion.Y_NONPAR, Sex.FEMALE, CALLS)[1] == [0] * 7
    assert _dosages(PloidyRegion.MITO, Sex.FEMALE, CALLS) == (
        [0, 1, 1, NO_CALL, NO_CALL, 1, 0],
        [1] * 7,
    )


def test_par_boundaries_are_inclusive() -> None:
    par = PAR_REGIONS["GRCh38"]
    chrom = np.array(["chrX"] * 4 + ["chrY", "chrY", "chr1", "chrM"], dtype=object)
    pos = np.array([10_000, 10_001, 2_781_479, 2_781_480, 56_887_903, 56_887_902, 5, 5])
    assert ploidy_regions(chrom, pos, par).tolist() == [1, 0, 0, 1, 0, 2, 0, 3]


def test_low_gq_or_dp_masks_the_call_but_missing_values_do_not() -> None:
    dosage = np.array([[1, 2, 0, 1, 1, 1]], dtype=np.int8)
    ploidy = np.array([[2, 2, 2, 2, 1, 1]], dtype=np.int8)
    gq = np.array([[19, 20, 5, -1, 30, 30]], dtype=np.int32)
    dp = np.array([[30, 10, 30, 3, 7, 4]], dtype=np.int32)
    thresholds = CallThresholds(min_gq=20, min_dp=10, min_dp_haploid=5)
    assert mask_low_quality(dosage, ploidy, gq, dp, thresholds) == 4
    assert dosage.tolist() == [[NO_CALL, 2, NO_CALL, NO_CALL, 1, NO_CALL]]


def test_harmonised_sex_chromosomes(tmp_path: Path) -> None:
    rng = random.Random(11)
    contigs = {name: "".join(rng.choice("ACGT") for _ in range(30_000)) for name in "XY"}
    contigs["MT"] = "".join(rng.choice("ACGT") for _ in range(16_569))
    fasta = write_fasta(tmp_path / "grch38.fa", contigs)
    samples = ["man", "woman", "unknown_haploid", "unknown"]
    sexes = {"man": "male", "woman": "female"}

    def record(chrom: str, pos: int, gts: list[str]) -> tuple:
        ref = contigs[chrom][pos - 1]
        return (chrom, pos, ref, "A" if ref != "A" else "C", "PASS", gts)

    records = [
        record("X", 5_000, ["0/1", "0/1", "1", "0/1"]),  # outside PAR1 (starts at 10,001)
        record("X", 20_000, ["0/1", "1/1", "0/1", "0/0"]),  # inside PAR1
        record("Y", 5_000, ["1/1", "1/1", "1", "1/1"]),
        record("MT", 100, ["1", "1", "0/1", "0"]),
    ]
    vcf = write_vcf(
        tmp_path / "sex.vcf.gz", records, samples, {"X": 30_000, "Y": 30_000, "MT": 16_569}
    )
    config = HarmoniseConfig(source_build="GRCh38", source_fasta=fasta)
    (chunk,) = harmonise_vcf(vcf, config, lambda s: s, sample_sex=sexes)
    got = {
        (c, p, s): (d, pl)
        for c, p, s, d, pl in chunk.calls.select(
            "chrom", "pos", "sample", "dosage", "ploidy"
        ).iter_rows()
    }
    assert got == {
        ("chrX", 5000, "man"): (None, 1),
        ("chrX", 5000, "woman"): (1, 2),
        ("chrX", 5000, "unknown_haploid"): (1, 1),
        ("chrX", 5000, "unknown"): (1, 2),
        ("chrX", 20000, "man"): (1, 2),
        ("chrX", 20000, "woman"): (2, 2),
        ("chrX", 20000, "unknown_haploid"): (1, 2),
        ("chrY", 5000, "man"): (1, 1),
        ("chrY", 5000, "unknown_haploid"): (1, 1),
        ("chrY", 5000, "unknown"): (2, 2),
        ("chrM", 100, "man"): (1, 1),
        ("chrM", 100, "woman"): (1, 1),
        ("chrM", 100, "unknown_haploid"): (1, 1),
    }
    samples_frame = combine_samples([chunk.samples]).sort("sample")
    assert samples_frame.rows() == [
        ("man", "male", False),
        ("unknown", "unknown", False),
        ("unknown_haploid", "unknown", True),
        ("woman", "female", False),
    ]
