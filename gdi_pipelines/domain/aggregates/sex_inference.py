"""Genetic sex from chrX heterozygosity and chrY call rate outside the PARs.

chrX: an inbreeding coefficient F = 1 - O/E over informative chrX non-PAR PASS sites (batch
ALT allele frequency p with min_af < p < 1 - min_af), E = sum of 2p(1-p) (plink --check-sex,
hail impute_sex). For a sample genotyped diploid on chrX, O = its het calls and E runs over
the sites it has called. The harmoniser turns a (reported) male's diploid-coded het into a
no-call, so for a sample genotyped haploid on chrX, O = its chrX no-calls in excess of its
autosomal no-call rate: a female wrongly reported male then shows F near 0 all the same.
F <= female_max_f (0.2) -> XX, F >= male_min_f (0.8) -> XY, in between -> ambiguous
(hail impute_sex thresholds); fewer than min_x_sites informative sites -> no chrX verdict.

chrY: call rate on chrY non-PAR PASS sites for a sample with chrY ploidy > 0 (a reported
female's chrY calls are dropped by the harmoniser, so she has no chrY verdict):
>= y_min_call_rate_xy (0.5) -> XY (reads on Y), <= y_max_call_rate_xx (0.1) -> XX, else
ambiguous; fewer than min_y_sites sites -> no chrY verdict.

Inferred sex: the two verdicts agree or only one exists -> it; they disagree -> ambiguous;
neither -> unknown.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from gdi_pipelines.domain.aggregates.allele_counts import BATCH


@dataclass(frozen=True)
class SexThresholds:
    female_max_f: float = 0.2
    male_min_f: float = 0.8
    min_x_sites: int = 20
    min_af: float = 0.0
    y_min_call_rate_xy: float = 0.5
    y_max_call_rate_xx: float = 0.1
    min_y_sites: int = 10


def chrx_heterozygosity(
    x_rows: pl.LazyFrame, x_counts: pl.LazyFrame, thresholds: SexThresholds
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """(per batch over all samples: e_het, n_x_sites; per sample with rows: o_het,
    e_missing = 2p(1-p) summed over its no-calls, n_x_nocall) on informative sites.

    `x_rows`: PASS chrX non-PAR calls (BATCH, sample, variant_id, dosage, ploidy);
    `x_counts`: `batch_variant_counts` of those sites over every sample of the batch."""
    p = pl.col("AC") / pl.col("AN")
    informative = (
        x_counts.filter(pl.col("AN") > 0)
        .with_columns(p=p)
        .filter((pl.col("p") > thresholds.min_af) & (pl.col("p") < 1 - thresholds.min_af))
        .select(*BATCH, "variant_id", e=2 * pl.col("p") * (1 - pl.col("p")))
        .collect()  # a few thousand sites: the join's build side, not the calls
        .lazy()
    )
    per_batch = informative.group_by(BATCH).agg(e_het=pl.col("e").sum(), n_x_sites=pl.len())
    no_call = pl.col("dosage").is_null()
    per_sample = (
        x_rows.join(informative, on=[*BATCH, "variant_id"], how="inner")
        .group_by(*BATCH, "sample")
        .agg(
            o_het=((pl.col("ploidy") == 2) & (pl.col("dosage") == 1)).sum(),
            e_missing=pl.col("e").filter(no_call).sum(),
            n_x_nocall=no_call.sum(),
        )
    )
    return per_batch, per_sample


def chrx_f_expr(thresholds: SexThresholds) -> pl.Expr:
    """F from columns implied_x (chrX ploidy of the sample), o_het, e_missing, n_x_nocall,
    e_het, n_x_sites, autosomal_nocall_rate."""
    haploid = pl.col("implied_x") == 1
    observed = (
        pl.when(haploid)
        .then(
            (pl.col("n_x_nocall") - pl.col("autosomal_nocall_rate") * pl.col("n_x_sites")).clip(
                lower_bound=0
            )
        )
        .otherwise(pl.col("o_het"))
    )
    expected = (
        pl.when(haploid).then(pl.col("e_het")).otherwise(pl.col("e_het") - pl.col("e_missing"))
    )
    enough = (pl.col("n_x_sites") >= thresholds.min_x_sites) & (expected > 0)
    return pl.when(enough).then(1 - observed / expected)


def inferred_sex_expr(thresholds: SexThresholds) -> pl.Expr:
    """'XX', 'XY', 'ambiguous' or 'unknown' from columns chrx_f and chry_call_rate."""
    f, y = pl.col("chrx_f"), pl.col("chry_call_rate")
    x_verdict = (
        pl.when(f <= thresholds.female_max_f)
        .then(pl.lit("XX"))
        .when(f >= thresholds.male_min_f)
        .then(pl.lit("XY"))
        .when(f.is_not_null())
        .then(pl.lit("ambiguous"))
    )
    y_verdict = (
        pl.when(y >= thresholds.y_min_call_rate_xy)
        .then(pl.lit("XY"))
        .when(y <= thresholds.y_max_call_rate_xx)
        .then(pl.lit("XX"))
        .when(y.is_not_null())
        .then(pl.lit("ambiguous"))
    )
    return (
        pl.when(x_verdict.is_null() & y_verdict.is_null())
        .then(pl.lit("unknown"))
        .when(x_verdict.is_null())
        .then(y_verdict)
        .when(y_verdict.is_null() | (x_verdict == y_verdict))
        .then(x_verdict)
        .otherwise(pl.lit("ambiguous"))
    )


def sex_checks(table: pl.LazyFrame, clinical: pl.LazyFrame | None) -> pl.LazyFrame:
    """Adds reported_sex, karyotype and sex_mismatch to a sample table with `sex` (the
    harmoniser's, i.e. the sequencing manifest's) and `inferred_sex`; `clinical` (country,
    sample, sex_at_birth) is optional. See `sample_qc` for the rules."""
    known = ["female", "male"]
    if clinical is None:
        table = table.with_columns(clinical_sex=pl.lit(None, dtype=pl.String))
    else:
        clinical_sex = clinical.select("country", "sample", clinical_sex="sex_at_birth")
        table = table.join(
            clinical_sex.unique(["country", "sample"]), on=["country", "sample"], how="left"
        )
    clinical_sex, manifest_sex = pl.col("clinical_sex"), pl.col("sex")
    reported = (
        pl.when(clinical_sex.is_in(known))
        .then(clinical_sex)
        .otherwise(manifest_sex)
        .fill_null("unknown")
    )
    inferred = pl.col("inferred_sex")
    contradiction = (
        clinical_sex.is_in(known) & manifest_sex.is_in(known) & (clinical_sex != manifest_sex)
    )
    mismatch = (
        ((pl.col("reported_sex") == "female") & (inferred == "XY"))
        | ((pl.col("reported_sex") == "male") & (inferred == "XX"))
        | contradiction.fill_null(False)
    )
    karyotype = (
        pl.when(manifest_sex == "female")
        .then(pl.lit("XX"))
        .when(manifest_sex == "male")
        .then(pl.lit("XY"))
        .when(inferred.is_in(["XX", "XY"]))
        .then(inferred)
    )
    return (
        table.with_columns(reported_sex=reported, karyotype=karyotype)
        .with_columns(sex_mismatch=mismatch)
        .drop("clinical_sex")
    )
