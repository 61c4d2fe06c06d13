"""A constructed batch with both sexes on chr1, chrX (PAR and non-PAR), chrY and chrM,
including two sex swaps and a male of unknown reported sex; PARs shrunk to 1-1000 so the
contigs stay small. Genotypes are drawn with a fixed seed; the VCF codes what a sex-aware
caller would (males haploid on X/Y non-PAR, females '.' on chrY non-PAR)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from gdi_pipelines.domain.variants.harmonise import HarmoniseConfig, harmonise_vcf
from gdi_pipelines_tests.domain.aggregates.aggregates_oracles import identity
from gdi_pipelines_tests.domain.variants.variants_oracles import write_fasta, write_vcf

PARS = {"GRCh38": {"chrX": ((1, 1000),), "chrY": ((1, 1000),)}}
LENGTH = 40_000
MISSING_RATE = 0.01


@dataclass(frozen=True)
class Person:
    name: str
    true_sex: str  # 'female' / 'male'
    reported: str  # 'female' / 'male' / 'unknown'
    x_coding: str  # 'diploid' / 'haploid'


PEOPLE = (
    *(Person(f"F{i:02d}", "female", "female", "diploid") for i in range(12)),
    *(Person(f"M{i:02d}", "male", "male", "haploid") for i in range(12)),
    Person("SWAP_M", "male", "female", "diploid"),  # a man reported female
    Person("SWAP_F", "female", "male", "diploid"),  # a woman reported male
    Person("U_M", "male", "unknown", "diploid"),  # a man of unknown reported sex
)


def _genotype(rng, p: float, ploidy: int, missing: bool) -> str:
    if missing:
        return "." if ploidy == 1 else "./."
    alleles = (rng.random(ploidy) < p).astype(int)
    return "/".join(map(str, sorted(alleles)))


def _call(rng, person: Person, region: str, p: float) -> str:
    missing = rng.random() < MISSING_RATE
    if region in ("auto", "par"):
        return _genotype(rng, p, 2, missing)
    if region == "mito":
        return _genotype(rng, p, 1, missing)
    if region == "x":
        if person.true_sex == "male":  # one X: never het, whatever the coding
            allele = _genotype(rng, p, 1, missing)
            if person.x_coding == "haploid" or allele == ".":
                return allele if person.x_coding == "haploid" else "./."
            return f"{allele}/{allele}"
        return _genotype(rng, p, 2, missing)
    # chrY non-PAR: no reads for a woman; a man of unknown sex is coded diploid
    if person.true_sex == "female":
        return "./." if person.x_coding == "diploid" and person.reported == "male" else "."
    allele = _genotype(rng, p, 1, missing)
    if person.reported == "unknown":
        return "./." if allele == "." else f"{allele}/{allele}"
    return allele if person.reported == "male" else "."


def write_sex_batch(folder: Path, seed: int = 11) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    contigs = {c: LENGTH for c in ("chr1", "chrX", "chrY", "chrM")}
    sequences = {c: "".join(rng.choice(list("ACGT"), LENGTH)) for c in contigs}
    fasta = write_fasta(folder / "sex.fa", sequences)
    layout = [("chr1", "auto", range(2000, 2000 + 10 * 300, 10))]
    layout += [("chrX", "par", range(100, 1000, 90))]
    layout += [("chrX", "x", range(2000, 2000 + 10 * 1500, 10))]
    layout += [("chrY", "y", range(2000, 2000 + 10 * 40, 10))]
    layout += [("chrM", "mito", range(2000, 2000 + 10 * 8, 10))]
    records = []
    for chrom, region, positions in layout:
        for i, pos in enumerate(positions):
            ref = sequences[chrom][pos - 1]
            alt = rng.choice([b for b in "ACGT" if b != ref])
            p = 0.0 if i % 25 == 0 else float(rng.uniform(0.05, 0.5))  # some all-hom-ref
            calls = [_call(rng, person, region, p) for person in PEOPLE]
            records.append((chrom, pos, ref, str(alt), "PASS", calls))
    vcf = write_vcf(folder / "sex.vcf.gz", records, [p.name for p in PEOPLE], contigs)
    return vcf, fasta


def harmonise_sex_batch(vcf: Path, fasta: Path) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    config = HarmoniseConfig(
        source_build="GRCh38", source_fasta=fasta, target_build="GRCh38", par_regions=PARS
    )
    sexes = {p.name: p.reported for p in PEOPLE}
    chunks = list(harmonise_vcf(vcf, config, identity, sample_sex=sexes))
    keys = {"country": pl.lit("SE"), "batch_id": pl.lit("b001")}
    calls = pl.concat([c.calls for c in chunks]).with_columns(**keys)
    sites = pl.concat([c.sites for c in chunks]).with_columns(**keys)
    samples = chunks[0].samples.with_columns(**keys)
    return calls, sites, samples
