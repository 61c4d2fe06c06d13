"""Exact per-batch allele counts of a set of samples, from long calls plus the batch's sites.

For each (country, batch_id, variant) the batch genotyped (its `sites`), over the given samples:
AN = sum of the implied hom-ref ploidy of every sample (see `ploidy`), corrected row by row for
the listed calls (a call's own ploidy when called, 0 for a no-call); AC = sum of dosages.
Genotype classes: diploid dosage 1 = het, diploid dosage 2 = hom-alt, haploid dosage 1 = hemi
(dosage 0, e.g. from '1/0' recoding, counts as hom-ref). Everything stays lazy: one join of the
calls with the (small) sample table, one group_by, joins on sites.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from gdi_pipelines.domain.aggregates.ploidy import REGIONS, implied_ploidy_expr, region_expr
from gdi_pipelines.domain.variants.genotype_qc import PAR_REGIONS

BATCH = ["country", "batch_id"]
VARIANT = ["chrom", "pos", "ref", "alt", "variant_id"]
SAMPLE_COLUMNS = ["country", "batch_id", "sample", "sex", "haploid_x_observed", "karyotype"]
KARYOTYPES = ("XX", "XY")

COUNT_COLUMNS = [
    "n_samples",  # samples of the batch counted (whatever their ploidy here)
    "n_expected",  # of those, samples with ploidy > 0 at the variant
    "n_called",
    "n_no_call",
    "AC",
    "AN",
    "n_het",
    "n_hom_alt",
    "n_hemi",
    "n_hom_ref_diploid",
    *(f"{c}_{k}" for k in KARYOTYPES for c in ("AC", "AN")),
]


def _with_karyotype(samples: pl.LazyFrame) -> pl.LazyFrame:
    if "karyotype" in samples.collect_schema().names():
        return samples.select(SAMPLE_COLUMNS)
    return samples.with_columns(karyotype=pl.lit(None, dtype=pl.String)).select(SAMPLE_COLUMNS)


def _batch_totals(samples: pl.LazyFrame) -> pl.LazyFrame:
    """Per batch and ploidy region: the figures if every sample were hom-ref."""
    implied = pl.col("implied")
    by_karyotype = {
        f"AN_{k}": implied.filter(pl.col("karyotype") == k).sum().cast(pl.Int64) for k in KARYOTYPES
    }
    return (
        samples.join(REGIONS.lazy(), how="cross")
        .with_columns(implied=implied_ploidy_expr())
        .group_by([*BATCH, "region"])
        .agg(
            n_samples=pl.len().cast(pl.Int64),
            n_expected=(implied > 0).sum().cast(pl.Int64),
            AN=implied.cast(pl.Int64).sum(),
            n_hom_ref_diploid=(implied == 2).sum().cast(pl.Int64),
            **by_karyotype,
        )
    )


def _call_corrections(calls: pl.LazyFrame, samples: pl.LazyFrame, region: pl.Expr) -> pl.LazyFrame:
    """Per (batch, variant): what the listed calls change against the all-hom-ref figures."""
    dosage, ploidy, implied = pl.col("dosage"), pl.col("ploidy"), pl.col("implied")
    called = dosage.is_not_null()
    dose = dosage.fill_null(0).cast(pl.Int64)
    an_delta = pl.when(called).then(ploidy).otherwise(0).cast(pl.Int64) - implied.cast(pl.Int64)
    by_karyotype = {}
    for k in KARYOTYPES:
        mine = pl.col("karyotype") == k
        by_karyotype[f"AC_{k}"] = dose.filter(mine).sum()
        by_karyotype[f"dAN_{k}"] = an_delta.filter(mine).sum()
    return (
        calls.select([*BATCH, "sample", "variant_id", "chrom", "pos", "dosage", "ploidy"])
        .join(samples, on=[*BATCH, "sample"], how="inner")
        .with_columns(region=region)
        .with_columns(implied=implied_ploidy_expr())
        .group_by([*BATCH, "variant_id"])
        .agg(
            AC=dose.sum(),
            dAN=an_delta.sum(),
            d_expected=((ploidy > 0).cast(pl.Int64) - (implied > 0).cast(pl.Int64)).sum(),
            n_no_call=(~called).sum().cast(pl.Int64),
            n_het=(called & (ploidy == 2) & (dose == 1)).sum().cast(pl.Int64),
            n_hom_alt=(called & (ploidy == 2) & (dose == 2)).sum().cast(pl.Int64),
            n_hemi=(called & (ploidy == 1) & (dose == 1)).sum().cast(pl.Int64),
            d_hom_ref_diploid=(
                (called & (ploidy == 2) & (dose == 0)).cast(pl.Int64)
                - (implied == 2).cast(pl.Int64)
            ).sum(),
            **by_karyotype,
        )
    )


def batch_variant_counts(
    calls: pl.LazyFrame,
    sites: pl.LazyFrame,
    samples: pl.LazyFrame,
    build: str = "GRCh38",
    par_regions: Mapping[str, Mapping[str, Sequence[tuple[int, int]]]] = PAR_REGIONS,
) -> pl.LazyFrame:
    """Counts per (country, batch_id, variant) of `sites` over `samples` (country, batch_id,
    sample, sex, haploid_x_observed[, karyotype 'XX'/'XY'/null]); calls of other samples are
    ignored. Columns: BATCH, VARIANT, filter_pass, region, COUNT_COLUMNS."""
    region = region_expr(build, par_regions)
    samples = _with_karyotype(samples)
    batch_sites = (
        sites.group_by([*BATCH, "variant_id"])
        .agg(pl.col("chrom", "pos", "ref", "alt").first(), filter_pass=pl.col("filter_pass").all())
        .with_columns(region=region)
    )
    zero = pl.lit(0, dtype=pl.Int64)
    fill = {
        c: pl.col(c).fill_null(0)
        for c in ["AC", "dAN", "d_expected", "n_no_call", "n_het", "n_hom_alt", "n_hemi"]
        + ["d_hom_ref_diploid"]
        + [f"{p}_{k}" for k in KARYOTYPES for p in ("AC", "dAN")]
    }
    totals = {c: pl.col(c).fill_null(zero) for c in ["n_samples", "n_expected", "AN"]}
    totals |= {c: pl.col(c).fill_null(zero) for c in ["n_hom_ref_diploid", "AN_XX", "AN_XY"]}
    return (
        batch_sites.join(_batch_totals(samples), on=[*BATCH, "region"], how="left")
        .join(_call_corrections(calls, samples, region), on=[*BATCH, "variant_id"], how="left")
        .with_columns(**fill, **totals)
        .with_columns(
            AN=pl.col("AN") + pl.col("dAN"),
            n_expected=pl.col("n_expected") + pl.col("d_expected"),
            n_hom_ref_diploid=pl.col("n_hom_ref_diploid") + pl.col("d_hom_ref_diploid"),
            **{f"AN_{k}": pl.col(f"AN_{k}") + pl.col(f"dAN_{k}") for k in KARYOTYPES},
        )
        .with_columns(n_called=pl.col("n_expected") - pl.col("n_no_call"))
        .select([*BATCH, *VARIANT, "filter_pass", "region", *COUNT_COLUMNS])
    )
