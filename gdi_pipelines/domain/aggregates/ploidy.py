"""Ploidy regions and the ploidy implied for a hom-ref call, as polars expressions.

The harmoniser lists only calls that are not hom-ref; a sample without a row at a site of its
batch is hom-ref with the ploidy the harmoniser would have given it (genotype_qc rules):
- autosomes and PARs: 2; chrM: 1;
- chrX outside the PARs: male 1, female 2; chrY outside the PARs: male 1, female 0;
- unknown sex keeps what the VCF codes, unknown for an unlisted call: we take 1 when the batch
  showed haploid-coded chrX non-PAR calls for the sample (`haploid_x_observed`), else 2.
A listed call always carries its own ploidy; counts correct the implied figure row by row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from gdi_pipelines.domain.variants.genotype_qc import PAR_REGIONS, PloidyRegion

DIPLOID, X_NONPAR, Y_NONPAR, MITO = (int(r) for r in PloidyRegion)
REGIONS = pl.DataFrame({"region": [DIPLOID, X_NONPAR, Y_NONPAR, MITO]}, schema={"region": pl.Int8})


def region_expr(
    build: str = "GRCh38",
    par_regions: Mapping[str, Mapping[str, Sequence[tuple[int, int]]]] = PAR_REGIONS,
    chrom: str = "chrom",
    pos: str = "pos",
) -> pl.Expr:
    """`PloidyRegion` code (Int8) of canonical `chrom`/1-based `pos` on `build`."""
    if build not in par_regions:
        raise ValueError(f"no PAR regions for build {build!r}")
    pars = par_regions[build]

    def outside_par(contig: str) -> pl.Expr:
        inside = pl.lit(False)
        for start, end in pars.get(contig, ()):
            inside = inside | pl.col(pos).is_between(start, end)
        return (pl.col(chrom) == contig) & ~inside

    return (
        pl.when(pl.col(chrom) == "chrM")
        .then(MITO)
        .when(outside_par("chrX"))
        .then(X_NONPAR)
        .when(outside_par("chrY"))
        .then(Y_NONPAR)
        .otherwise(DIPLOID)
        .cast(pl.Int8)
    )


def implied_ploidy_expr(
    region: str = "region", sex: str = "sex", haploid_x: str = "haploid_x_observed"
) -> pl.Expr:
    """Ploidy (Int8) of an unlisted (hom-ref) call of a sample in `region`."""
    male, female = pl.col(sex) == "male", pl.col(sex) == "female"
    unknown_sex_ploidy = pl.when(pl.col(haploid_x).fill_null(False)).then(1).otherwise(2)
    sex_chromosome = pl.col(region).is_in([X_NONPAR, Y_NONPAR])
    return (
        pl.when(pl.col(region) == MITO)
        .then(1)
        .when(sex_chromosome & male)
        .then(1)
        .when((pl.col(region) == Y_NONPAR) & female)
        .then(0)
        .when((pl.col(region) == X_NONPAR) & female)
        .then(2)
        .when(sex_chromosome)
        .then(unknown_sex_ploidy)
        .otherwise(2)
        .cast(pl.Int8)
    )
