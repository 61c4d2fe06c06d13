"""Exact per-batch allele counts of a set of samples, from long calls plus the batch's sites.

For each (country, batch_id, variant) the batch genotyped (its `sites`), over the given samples:
AN = sum of the implied hom-ref ploidy of every sample (see `ploidy`), corrected call by call
for the listed calls (a call's own ploidy when called, 0 for a no-call); AC = sum of dosages.
Genotype classes: diploid dosage 1 = het, diploid dosage 2 = hom-alt, haploid dosage 1 = hemi
(dosage 0, e.g. from '1/0' recoding, counts as hom-ref).

The calls stream once, in batches: variant and sample become integer codes (polars Enums of
the batch's sites and samples; calls of other variants or samples drop out), and one compiled
loop tallies them per (variant, sample class), a class being the samples sharing sex,
chrX haploidy and karyotype, so a few per batch. Implied ploidies then apply per class.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

from gdi_pipelines.domain.aggregates.call_tally import MEASURES, tallier
from gdi_pipelines.domain.aggregates.ploidy import REGIONS, implied_ploidy_expr, region_expr
from gdi_pipelines.domain.variants.genotype_qc import PAR_REGIONS

BATCH = ["country", "batch_id"]
VARIANT = ["chrom", "pos", "ref", "alt", "variant_id"]
SAMPLE_COLUMNS = ["country", "batch_id", "sample", "sex", "haploid_x_observed", "karyotype"]
CLASS_COLUMNS = ["sex", "haploid_x_observed", "karyotype"]
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


_SAMPLE_SCHEMA = pl.Schema(
    {
        "country": pl.String,
        "batch_id": pl.String,
        "sample": pl.String,
        "sex": pl.String,
        "haploid_x_observed": pl.Boolean,
        "karyotype": pl.String,
    }
)


def _with_karyotype(samples: pl.LazyFrame) -> pl.LazyFrame:
    """SAMPLE_COLUMNS, typed; haploid_x_observed unknown counts as not observed."""
    if "karyotype" not in samples.collect_schema().names():
        samples = samples.with_columns(karyotype=pl.lit(None, dtype=pl.String))
    return (
        samples.select(SAMPLE_COLUMNS)
        .cast(dict(_SAMPLE_SCHEMA))
        .with_columns(pl.col("haploid_x_observed").fill_null(False))
    )


def _classes(samples: pl.DataFrame) -> pl.DataFrame:
    """The batch's sample classes (CLASS_COLUMNS), numbered, with their sample counts."""
    return (
        samples.group_by(CLASS_COLUMNS)
        .agg(n=pl.len().cast(pl.Int64))
        .sort(CLASS_COLUMNS, nulls_last=True)
        .with_row_index("class")
    )


def _implied(classes: pl.DataFrame) -> np.ndarray:
    """int64 [region code, class]: the ploidy a hom-ref call implies."""
    implied = np.zeros((int(REGIONS["region"].max()) + 1, classes.height), dtype=np.int64)
    for region in REGIONS["region"]:
        in_region = classes.with_columns(region=pl.lit(region, pl.Int8))
        implied[region] = in_region.select(implied_ploidy_expr()).to_series().to_numpy()
    return implied


def _sample_class(samples: pl.DataFrame, classes: pl.DataFrame) -> np.ndarray:
    """The class of each sample, in the order of `samples`."""
    joined = samples.join(
        classes, on=CLASS_COLUMNS, how="left", nulls_equal=True, maintain_order="left"
    )
    return joined["class"].cast(pl.Int64).to_numpy()


def _tally(
    calls: pl.LazyFrame, sites: pl.Series, samples: pl.DataFrame, classes: pl.DataFrame
) -> np.ndarray:
    """int64 [site, class, measure] of the calls of `samples` at `sites` (variant ids)."""
    tally = np.zeros((len(sites), classes.height, len(MEASURES)), dtype=np.int64)
    if len(sites) == 0 or samples.height == 0:
        return tally
    duplicated = samples.filter(pl.col("sample").is_duplicated())["sample"].unique()
    if len(duplicated):
        raise ValueError(f"samples listed twice in one batch: {', '.join(duplicated.sort())}")
    sample_class = _sample_class(samples, classes)
    codes = calls.select(
        site=pl.col("variant_id").cast(pl.Enum(sites), strict=False).to_physical(),
        sample=pl.col("sample").cast(pl.Enum(samples["sample"]), strict=False).to_physical(),
        dosage=pl.col("dosage").fill_null(-1).cast(pl.Int8),
        ploidy=pl.col("ploidy").fill_null(0).cast(pl.Int8),
    ).drop_nulls(["site", "sample"])
    tally_calls = tallier(len(sites) * samples.height)
    for chunk in codes.collect_batches():
        site, sample = (chunk[c].cast(pl.Int64).to_numpy() for c in ("site", "sample"))
        columns = (site, sample, chunk["dosage"].to_numpy(), chunk["ploidy"].to_numpy())
        tally_calls(*columns, sample_class, tally)
    return tally


def _counts(sites: pl.DataFrame, classes: pl.DataFrame, tally: np.ndarray) -> dict[str, np.ndarray]:
    """COUNT_COLUMNS per site: every sample hom-ref at its implied ploidy, corrected by the
    tallied calls of each class."""
    m = {name: tally[:, :, i] for i, name in enumerate(MEASURES)}
    implied = _implied(classes)[sites["region"].to_numpy()]  # [site, class]
    n = classes["n"].to_numpy()  # samples per class

    def hom_ref_then_calls(each_sample: np.ndarray, listed: np.ndarray) -> np.ndarray:
        """[site, class]: what every sample would add if hom-ref, with the listed calls'
        implied figure replaced by their own."""
        return n * each_sample + listed - m["rows"] * each_sample

    an = hom_ref_then_calls(implied, m["called_ploidy"])
    expected = hom_ref_then_calls((implied > 0).astype(np.int64), m["ploidy_positive"])
    hom_ref = hom_ref_then_calls((implied == 2).astype(np.int64), m["hom_ref_diploid"])
    counts = {
        "n_samples": np.full(sites.height, int(n.sum()), dtype=np.int64),
        "n_expected": expected.sum(axis=1),
        "n_no_call": m["no_call"].sum(axis=1),
        "AC": m["ac"].sum(axis=1),
        "AN": an.sum(axis=1),
        "n_het": m["het"].sum(axis=1),
        "n_hom_alt": m["hom_alt"].sum(axis=1),
        "n_hemi": m["hemi"].sum(axis=1),
        "n_hom_ref_diploid": hom_ref.sum(axis=1),
    }
    counts["n_called"] = counts["n_expected"] - counts["n_no_call"]
    karyotypes = classes["karyotype"]
    for k in KARYOTYPES:
        mine = (karyotypes == k).fill_null(False).to_numpy()
        counts[f"AC_{k}"] = m["ac"][:, mine].sum(axis=1)
        counts[f"AN_{k}"] = an[:, mine].sum(axis=1)
    return counts


def batch_variant_counts(
    calls: pl.LazyFrame,
    sites: pl.LazyFrame,
    samples: pl.LazyFrame,
    build: str = "GRCh38",
    par_regions: Mapping[str, Mapping[str, Sequence[tuple[int, int]]]] = PAR_REGIONS,
) -> pl.LazyFrame:
    """Counts per (country, batch_id, variant) of `sites` over `samples` (country, batch_id,
    sample, sex, haploid_x_observed[, karyotype 'XX'/'XY'/null]); calls of other samples are
    ignored. Columns: BATCH, VARIANT, filter_pass, region, COUNT_COLUMNS. Computed here, batch
    by batch (the calls stream through once per batch); the result is a LazyFrame to join on."""
    samples_of = _with_karyotype(samples).collect().partition_by(BATCH, as_dict=True)
    batch_sites = (
        sites.group_by([*BATCH, "variant_id"])
        .agg(pl.col("chrom", "pos", "ref", "alt").first(), filter_pass=pl.col("filter_pass").all())
        .with_columns(region=region_expr(build, par_regions))
        .collect()
    )
    frames = []
    for (country, batch_id), at in batch_sites.partition_by(BATCH, as_dict=True).items():
        members = samples_of.get((country, batch_id), pl.DataFrame(schema=_SAMPLE_SCHEMA))
        classes = _classes(members)
        of_batch = calls.filter((pl.col("country") == country) & (pl.col("batch_id") == batch_id))
        tally = _tally(of_batch, at["variant_id"], members, classes)
        frames.append(at.with_columns(**_counts(at, classes, tally)))
    columns = [*BATCH, *VARIANT, "filter_pass", "region", *COUNT_COLUMNS]
    if not frames:
        empty = batch_sites.with_columns(pl.lit(0, pl.Int64).alias(c) for c in COUNT_COLUMNS)
        return empty.select(columns).lazy()
    return (
        pl.concat(frames).with_columns(pl.col(COUNT_COLUMNS).cast(pl.Int64)).select(columns).lazy()
    )
