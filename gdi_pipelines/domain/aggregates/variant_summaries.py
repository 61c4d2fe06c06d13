"""Per-country variant summaries over QC-passing samples, from any number of batches.

For every variant some batch of the country genotyped (`variant_sites`), summed over the
batches that genotyped it (a batch that did not is not counted: unknown, not hom-ref):
- AC, AN (ploidy-exact, see `allele_counts`), AF = AC/AN (null when AN = 0);
- n_het / n_hom_alt (diploid calls), n_hemi (haploid ALT calls), n_hom_ref_diploid;
- AC/AN/AF split by karyotype XX/XY: the sex the harmoniser used for the ploidy (reported at
  sequencing), or, for a sample of unknown reported sex, the genetic sex inferred by sample QC;
  samples without either count in the totals only. Using the harmoniser's sex keeps the
  split consistent with the ploidy (a sample whose inferred sex disagrees fails QC anyway);
- call_rate = n_called / n_expected (samples with ploidy > 0 at the variant);
- hwe_p: Hardy–Weinberg exact p over the diploid genotypes (as `bcftools +fill-tags -t HWE`:
  1 when monomorphic among them; null without diploid genotypes).
Input and output are LazyFrames; the calls stream once through `batch_variant_counts`, in
bounded memory, so ~1e8 call rows are summarised in a few seconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from gdi_pipelines.domain.aggregates.allele_counts import (
    BATCH,
    COUNT_COLUMNS,
    KARYOTYPES,
    VARIANT,
    batch_variant_counts,
)
from gdi_pipelines.domain.aggregates.hardy_weinberg import hwe_exact_p
from gdi_pipelines.domain.variants.genotype_qc import PAR_REGIONS

_KARYOTYPE_COLUMNS = {
    f"{c}_{k}": t
    for k in KARYOTYPES
    for c, t in (("AC", pl.Int64), ("AN", pl.Int64), ("AF", pl.Float64))
}
SUMMARY_SCHEMA = pl.Schema(
    {
        "country": pl.String,
        **dict.fromkeys(VARIANT, pl.String),
        "pos": pl.Int64,
        "filter_pass": pl.Boolean,  # PASS in every batch that genotyped the variant
        "n_batches": pl.Int64,
        "n_samples": pl.Int64,  # QC-passing samples of those batches
        "n_expected": pl.Int64,  # of those, with ploidy > 0 at the variant
        "n_called": pl.Int64,
        "n_no_call": pl.Int64,
        "call_rate": pl.Float64,
        "AC": pl.Int64,
        "AN": pl.Int64,
        "AF": pl.Float64,
        "n_het": pl.Int64,
        "n_hom_alt": pl.Int64,
        "n_hemi": pl.Int64,
        "n_hom_ref_diploid": pl.Int64,
        **_KARYOTYPE_COLUMNS,
        "hwe_p": pl.Float64,
    }
)


def _ratio(numerator: str, denominator: str) -> pl.Expr:
    return pl.when(pl.col(denominator) > 0).then(pl.col(numerator) / pl.col(denominator))


def _hwe(genotypes: pl.Series) -> pl.Series:
    fields = [genotypes.struct.field(f).to_numpy() for f in ("hom_ref", "het", "hom_alt")]
    return pl.Series(genotypes.name, hwe_exact_p(*fields), dtype=pl.Float64).fill_nan(None)


def variant_summaries(
    calls: pl.LazyFrame,
    sites: pl.LazyFrame,
    sample_qc: pl.LazyFrame,
    build: str = "GRCh38",
    par_regions: Mapping[str, Mapping[str, Sequence[tuple[int, int]]]] = PAR_REGIONS,
) -> pl.LazyFrame:
    """`calls` (harmonised_variants), `sites` (variant_sites), `sample_qc` (from
    `sample_qc.sample_qc`: country, batch_id, sample, sex, haploid_x_observed, karyotype,
    qc_pass) of one or more countries -> one row per (country, variant), SUMMARY_SCHEMA."""
    passing = sample_qc.filter(pl.col("qc_pass"))
    counts = batch_variant_counts(calls, sites, passing, build, par_regions).collect()
    if counts.select(BATCH).unique()["country"].is_duplicated().any():
        return _combine(counts.lazy(), pl.len().cast(pl.Int64))
    # one batch per country: its rows are the sums already
    return _finish(counts.lazy().with_columns(n_batches=pl.lit(1, pl.Int64)))


def country_totals(batch_summaries: pl.LazyFrame) -> pl.LazyFrame:
    """Summaries of single batches (SUMMARY_SCHEMA rows, any extra key such as batch_id) ->
    one row per (country, variant): counts summed, ratios and HWE recomputed, as if
    `variant_summaries` had run over all the batches at once."""
    return _combine(batch_summaries, pl.col("n_batches").sum())


def _combine(rows: pl.LazyFrame, n_batches: pl.Expr) -> pl.LazyFrame:
    """Sum per (country, variant), then the ratios and the HWE p-value."""
    summed = rows.group_by("country", "variant_id").agg(
        pl.col("chrom", "pos", "ref", "alt").first(),
        filter_pass=pl.col("filter_pass").all(),
        n_batches=n_batches,
        **{c: pl.col(c).sum() for c in COUNT_COLUMNS},
    )
    return _finish(summed)


def _finish(sums: pl.LazyFrame) -> pl.LazyFrame:
    """The ratios and the HWE p-value of summed counts, in SUMMARY_SCHEMA."""
    diploid = pl.struct(
        hom_ref=pl.col("n_hom_ref_diploid"), het=pl.col("n_het"), hom_alt=pl.col("n_hom_alt")
    )
    return (
        sums.with_columns(
            call_rate=_ratio("n_called", "n_expected"),
            AF=_ratio("AC", "AN"),
            **{f"AF_{k}": _ratio(f"AC_{k}", f"AN_{k}") for k in KARYOTYPES},
            hwe_p=diploid.map_batches(_hwe, return_dtype=pl.Float64, is_elementwise=True),
        )
        .select(SUMMARY_SCHEMA.names())
        .cast(dict(SUMMARY_SCHEMA))
    )
