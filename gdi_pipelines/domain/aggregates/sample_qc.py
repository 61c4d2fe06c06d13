"""Per-sample QC of a batch from its long calls and sites, all in lazy polars.

Metrics run over the batch's PASS sites (site-level FILTER), every contig:
- call_rate = 1 - no-calls / callable sites, a site being callable for a sample when its
  ploidy there is > 0 (a reported female has no chrY non-PAR sites);
- n_het: diploid dosage 1; n_hom_alt: diploid dosage 2 plus haploid dosage 1 (hemizygous ALT
  counts as hom-alt, as hail's sample_qc does; n_hemi_alt gives those apart);
  n_hom_ref = called - n_het - n_hom_alt; het_hom_ratio = n_het / n_hom_alt;
- n_transitions (A<->G, C<->T) / n_transversions over SNV carrier calls (one per call, as
  bcftools stats' PSC, which however skips haploid calls), ti_tv their ratio;
  n_insertions / n_deletions over indel carrier calls;
- n_singletons: carrier calls of variants with AC = 1 over all samples of the batch.
Genetic sex: see `sex_inference`. reported_sex: clinical sex_at_birth when female/male, else
the sex the batch was harmonised with; sex_mismatch when a female/male reported sex meets the
other inferred sex, or when clinical and sequencing-manifest sexes contradict each other.
karyotype (for the XX/XY splits downstream): the harmoniser's sex, else the inferred sex.
Outliers: within each batch and karyotype (so that chrX dosage does not set the sexes apart;
gnomAD stratifies the same way by platform/ancestry), |x - median| > k * MAD (MAD scaled by
1.4826, as gnomAD), for call_rate (low side only), n_het, het_hom_ratio, ti_tv, n_singletons;
not flagged in strata of fewer than `min_batch_for_outliers` samples. The MAD is floored per
metric (`mad_floor`: a call rate of 1.0 for everyone but one, as in imputed data, has MAD 0;
so has "no singleton" for most samples of a small region): the floor sets the smallest
deviation that can count, k times it.
qc_fail_reasons lists the flags (and sex_mismatch, sex_ambiguous); qc_pass when it is empty.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from gdi_pipelines.domain.aggregates.allele_counts import BATCH, batch_variant_counts
from gdi_pipelines.domain.aggregates.federation import in_region, regions
from gdi_pipelines.domain.aggregates.ploidy import (
    DIPLOID,
    MITO,
    X_NONPAR,
    Y_NONPAR,
    implied_ploidy_expr,
    region_expr,
)
from gdi_pipelines.domain.aggregates.sex_inference import (
    SexThresholds,
    chrx_f_expr,
    chrx_heterozygosity,
    inferred_sex_expr,
    sex_checks,
)
from gdi_pipelines.domain.variants.genotype_qc import PAR_REGIONS

MAD_SCALE = 1.4826
MAD_FLOOR = {
    "call_rate": 0.0025,  # with k = 4: 1% below the median
    "n_het": 1.0,
    "het_hom_ratio": 0.01,
    "ti_tv": 0.01,
    "n_singletons": 1.0,
}
X_REGION_POSITIONS = 32_768  # chrX positions whose calls are read and counted together
OUTLIER_METRICS = ("call_rate", "n_het", "het_hom_ratio", "ti_tv", "n_singletons")
_TRANSITIONS = ["AG", "GA", "CT", "TC"]

QC_COLUMNS = [
    *BATCH,
    "sample",
    "sex",
    "haploid_x_observed",
    "n_callable_sites",
    "n_called",
    "n_no_call",
    "call_rate",
    "n_hom_ref",
    "n_het",
    "n_hom_alt",
    "n_hemi_alt",
    "het_hom_ratio",
    "n_transitions",
    "n_transversions",
    "ti_tv",
    "n_insertions",
    "n_deletions",
    "n_singletons",
    "n_x_sites",
    "chrx_f",
    "n_y_sites",
    "chry_call_rate",
    "n_y_alt",
    "inferred_sex",
    "reported_sex",
    "sex_mismatch",
    "karyotype",
    *(f"{m}_outlier" for m in OUTLIER_METRICS),
    "qc_fail_reasons",
    "qc_pass",
]


@dataclass(frozen=True)
class SampleQcConfig:
    build: str = "GRCh38"
    mad_k: float = 4.0
    mad_floor: Mapping[str, float] = field(default_factory=lambda: dict(MAD_FLOOR))
    min_batch_for_outliers: int = 10
    fail_ambiguous_sex: bool = True
    sex: SexThresholds = field(default_factory=SexThresholds)
    par_regions: Mapping[str, Mapping[str, Sequence[tuple[int, int]]]] = field(
        default_factory=lambda: PAR_REGIONS
    )


def _per_region_site_counts(sites: pl.LazyFrame, region: pl.Expr) -> pl.LazyFrame:
    names = {DIPLOID: "n_auto_sites", X_NONPAR: "n_x_all_sites", Y_NONPAR: "n_y_sites"}
    names[MITO] = "n_m_sites"
    return (
        sites.filter(pl.col("filter_pass"))
        .unique([*BATCH, "variant_id"])
        .with_columns(region=region)
        .group_by(BATCH)
        .agg(**{name: (pl.col("region") == code).sum() for code, name in names.items()})
    )


def _call_metrics(rows: pl.LazyFrame, region: pl.Expr) -> pl.LazyFrame:
    rows = rows.with_columns(region=region)
    dose, ploidy, region = pl.col("dosage"), pl.col("ploidy"), pl.col("region")
    no_call, carrier = dose.is_null(), dose.fill_null(0) >= 1
    ref_len, alt_len = pl.col("ref").str.len_bytes(), pl.col("alt").str.len_bytes()
    snv = carrier & (ref_len == 1) & (alt_len == 1)
    transition = snv & pl.concat_str("ref", "alt").is_in(_TRANSITIONS)
    return rows.group_by(*BATCH, "sample").agg(
        n_no_call=no_call.sum(),
        n_auto_nocall=(no_call & (region == DIPLOID)).sum(),
        n_y_nocall=(no_call & (region == Y_NONPAR)).sum(),
        n_y_alt=(carrier & (region == Y_NONPAR)).sum(),
        n_het=((ploidy == 2) & (dose == 1)).sum(),
        n_hom_alt=(((ploidy == 2) & (dose == 2)) | ((ploidy == 1) & (dose == 1))).sum(),
        n_hemi_alt=((ploidy == 1) & (dose == 1)).sum(),
        n_transitions=transition.sum(),
        n_transversions=(snv & ~transition).sum(),
        n_insertions=(carrier & (ref_len < alt_len)).sum(),
        n_deletions=(carrier & (ref_len > alt_len)).sum(),
    )


def _singletons(rows: pl.LazyFrame) -> pl.LazyFrame:
    """Variants of AC 1 (collected first: a few ids), then their one carrier's call. In one plan
    the engine held the calls while it summed AC (and a per-variant `first` carrier held every
    variant's samples): 100M genotypes took 5.7 GB."""
    dose = pl.col("dosage").fill_null(0)
    keys = [*BATCH, "variant_id"]
    single = (
        rows.group_by(keys)
        .agg(ac=dose.sum())
        .filter(pl.col("ac") == 1)
        .select(keys)
        .collect(engine="streaming")
        .lazy()
    )
    return (
        rows.filter(dose >= 1)
        .join(single, on=keys, how="semi")
        .group_by(*BATCH, "sample")
        .agg(n_singletons=pl.len())
    )


def _chrx_heterozygosity(
    x_rows: pl.LazyFrame, x_sites: pl.LazyFrame, samples: pl.LazyFrame, config: SampleQcConfig
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`chrx_heterozygosity` (per batch, per sample) summed over regions of X_REGION_POSITIONS
    chrX positions: each region's calls are read on their own (row groups outside it are
    skipped). Read whole, chrX's 5M calls of the 100M-genotype batch took +306 MiB in the
    allele counts, and again up to +308 in the join with the informative sites."""
    cut = [in_region(*region) for region in regions([x_sites], X_REGION_POSITIONS)]
    per_batch, per_sample = [], []
    for on_region in cut or [pl.lit(True)]:
        rows = x_rows.filter(on_region)
        counts = batch_variant_counts(
            rows, x_sites.filter(on_region), samples, config.build, config.par_regions
        )
        batch_part, sample_part = chrx_heterozygosity(rows, counts, config.sex)
        per_batch.append(batch_part.collect())
        per_sample.append(sample_part.collect(engine="streaming"))
    return _summed(per_batch, BATCH), _summed(per_sample, [*BATCH, "sample"])


def _summed(parts: list[pl.DataFrame], keys: list[str]) -> pl.DataFrame:
    """The parts' columns other than `keys` summed per key, in the parts' types."""
    schema = parts[0].schema
    return (
        pl.concat(parts)
        .group_by(keys, maintain_order=True)
        .agg(pl.exclude(keys).sum())
        .cast(dict(schema))
    )


def _outlier(metric: str, k: float, min_batch: int, floor: float) -> pl.Expr:
    value, stratum = pl.col(metric), [*BATCH, "karyotype"]
    median = value.median().over(stratum)
    mad = pl.max_horizontal((value - median).abs().median().over(stratum) * MAD_SCALE, floor)
    deviation = (median - value) if metric == "call_rate" else (value - median).abs()
    enough = pl.len().over(stratum) >= min_batch
    return (enough & (deviation > k * mad)).fill_null(False)


def sample_qc(
    calls: pl.LazyFrame,
    sites: pl.LazyFrame,
    samples: pl.LazyFrame,
    clinical: pl.LazyFrame | None = None,
    config: SampleQcConfig = SampleQcConfig(),
) -> pl.LazyFrame:
    """One row per sample of `samples` (variant_samples: country, batch_id, sample, sex,
    haploid_x_observed); `clinical` (country, sample, sex_at_birth) is optional."""
    region = region_expr(config.build, config.par_regions)
    samples = samples.select(*BATCH, "sample", "sex", "haploid_x_observed")

    def pass_rows(*columns: str) -> pl.LazyFrame:
        """PASS calls of listed samples. Each consumer projects its own columns, so the
        plans differ and the engine streams each one instead of caching a shared input."""
        return (
            calls.select(*BATCH, "sample", *columns, "filter_pass")
            .filter(pl.col("filter_pass"))
            .drop("filter_pass")
            .join(samples.select(*BATCH, "sample"), on=[*BATCH, "sample"], how="inner")
        )

    x_sites = sites.filter(pl.col("filter_pass")).filter(region == X_NONPAR)
    x_rows = (
        pass_rows("variant_id", "chrom", "pos", "dosage", "ploidy")
        .filter(pl.col("chrom") == "chrX")
        .filter(region == X_NONPAR)
    )
    x_batch, x_sample = _chrx_heterozygosity(x_rows, x_sites, samples, config)

    # each per-sample aggregate is computed on its own, one after the other: in one plan the
    # engine ran them side by side, each with its own read buffers (100M genotypes: 2.1 GB).
    # The call metrics (long, in little memory) come between the two that need most (AC = 1
    # variants: +157 MiB, distinct sites: +61), whose freed memory polars' allocator keeps for
    # half a second: one right after the other, they added up
    parts = [
        (lambda: _singletons(pass_rows("variant_id", "dosage")), None),
        (
            lambda: _call_metrics(
                pass_rows("ref", "alt", "dosage", "ploidy", "chrom", "pos"), region
            ),
            None,
        ),
        (lambda: _per_region_site_counts(sites, region), BATCH),
        (x_sample.lazy, None),
        (x_batch.lazy, BATCH),
    ]
    implied = {
        "implied_x": implied_ploidy_expr("_x"),
        "implied_y": implied_ploidy_expr("_y"),
    }
    counts = ["n_no_call", "n_auto_nocall", "n_y_nocall", "n_y_alt", "n_het", "n_hom_alt"]
    counts += ["n_hemi_alt", "n_transitions", "n_transversions", "n_insertions", "n_deletions"]
    counts += ["n_singletons", "o_het", "e_missing", "n_x_nocall", "e_het", "n_x_sites"]
    table = (
        samples.with_columns(_x=pl.lit(X_NONPAR, pl.Int8), _y=pl.lit(Y_NONPAR, pl.Int8))
        .with_columns(**implied)
        .drop("_x", "_y")
    )
    for part, keys in parts:
        computed = part().collect(engine="streaming").lazy()
        table = table.join(computed, on=keys or [*BATCH, "sample"], how="left")
    table = table.with_columns(pl.col(c).fill_null(0) for c in counts).with_columns(
        pl.col("^n_.*_sites$").fill_null(0)
    )
    n_callable = (
        pl.col("n_auto_sites")
        + pl.col("n_m_sites")
        + pl.when(pl.col("implied_x") > 0).then(pl.col("n_x_all_sites")).otherwise(0)
        + pl.when(pl.col("implied_y") > 0).then(pl.col("n_y_sites")).otherwise(0)
    )
    table = table.with_columns(n_callable_sites=n_callable).with_columns(
        n_called=pl.col("n_callable_sites") - pl.col("n_no_call"),
        call_rate=pl.when(n_callable > 0).then(1 - pl.col("n_no_call") / n_callable),
        het_hom_ratio=_ratio_or_null(pl.col("n_het"), pl.col("n_hom_alt")),
        ti_tv=_ratio_or_null(pl.col("n_transitions"), pl.col("n_transversions")),
        autosomal_nocall_rate=_ratio_or_null(pl.col("n_auto_nocall"), pl.col("n_auto_sites")),
        chry_call_rate=pl.when(
            (pl.col("implied_y") > 0) & (pl.col("n_y_sites") >= config.sex.min_y_sites)
        ).then(1 - pl.col("n_y_nocall") / pl.col("n_y_sites")),
    )
    table = table.with_columns(
        n_hom_ref=pl.col("n_called") - pl.col("n_het") - pl.col("n_hom_alt"),
        chrx_f=chrx_f_expr(config.sex).fill_nan(None),
    ).with_columns(inferred_sex=inferred_sex_expr(config.sex))
    return sex_checks(table, clinical).pipe(_flags, config)


def _ratio_or_null(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    return pl.when(denominator > 0).then(numerator / denominator)


def _flags(table: pl.LazyFrame, config: SampleQcConfig) -> pl.LazyFrame:
    flags = {
        f"{m}_outlier": _outlier(
            m, config.mad_k, config.min_batch_for_outliers, config.mad_floor.get(m, 0.0)
        )
        for m in OUTLIER_METRICS
    }
    reasons = [pl.when(pl.col(f)).then(pl.lit(f)) for f in flags]
    reasons.append(pl.when(pl.col("sex_mismatch")).then(pl.lit("sex_mismatch")))
    if config.fail_ambiguous_sex:
        ambiguous = pl.col("inferred_sex") == "ambiguous"
        reasons.append(pl.when(ambiguous).then(pl.lit("sex_ambiguous")))
    return (
        table.with_columns(**flags)
        .with_columns(qc_fail_reasons=pl.concat_list(reasons).list.drop_nulls())
        .with_columns(qc_pass=pl.col("qc_fail_reasons").list.len() == 0)
        .select(QC_COLUMNS)
        .with_columns(pl.col(pl.UInt32).cast(pl.Int64))  # Delta tables hold signed integers
    )
