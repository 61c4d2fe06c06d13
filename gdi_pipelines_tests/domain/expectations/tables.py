"""Clean synthetic frames shaped like each table, for the expectation-suite tests and bench.

Vectorised polars expressions, so millions of rows take seconds. Every frame passes its suite.
"""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

TERM = pl.Struct({"id": pl.String, "label": pl.String})
CHROMS = [f"chr{i}" for i in range(1, 23)] + ["chrX"]
HARMONISED_COLUMNS = [
    "country",
    "batch_id",
    "sample",
    "chrom",
    "pos",
    "ref",
    "alt",
    "variant_id",
    "dosage",
    "ploidy",
    "gq",
    "dp",
    "ad_ref",
    "ad_alt",
    "filter_pass",
    "filter",
    "source_build",
    "source_chrom",
    "source_pos",
    "source_ref",
    "source_alt",
]


def _pseudonym(index: pl.Expr, country: str = "FI") -> pl.Expr:
    # a u64 hash has at most 20 decimal digits: zero-padded, 24 valid hex digits
    return pl.format("{}-{}", pl.lit(country), index.hash(seed=7).cast(pl.String).str.zfill(24))


def _hex_digest(index: pl.Expr, length: int) -> pl.Expr:
    digits = [index.hash(seed=s).cast(pl.String).str.zfill(20) for s in range(4)]
    return pl.concat_str(digits).str.slice(0, length)


def harmonised_variants(rows: int, samples: int = 50, start: int = 0) -> pl.DataFrame:
    """Row i: sample i % samples, variant i // samples, so (sample, variant_id) is unique."""
    i = pl.int_range(start, start + rows, dtype=pl.Int64)
    variant = i // samples
    bases = pl.lit(["A", "C", "G", "T"])
    frame = pl.select(
        country=pl.lit("FI"),
        batch_id=pl.lit("B001"),
        sample=_pseudonym(i % samples),
        chrom=pl.lit(CHROMS).list.get(variant % len(CHROMS)),
        pos=(variant * 7 + 10_001),
        ref=bases.list.get(variant % 4),
        alt=bases.list.get((variant + 1) % 4),
        dosage=pl.when(i % 17 == 0).then(None).otherwise(1 + (i % 2)).cast(pl.Int8),
        ploidy=pl.lit(2, dtype=pl.Int8),
        gq=(20 + i % 79).cast(pl.Int32),
        dp=(10 + i % 50).cast(pl.Int32),
        ad_ref=(i % 20).cast(pl.Int32),
        ad_alt=(i % 30).cast(pl.Int32),
        filter_pass=pl.lit(True),
        filter=pl.lit("PASS"),
        source_build=pl.lit("GRCh37"),
    )
    return frame.with_columns(
        variant_id=pl.concat_str(["chrom", "pos", "ref", "alt"], separator="-"),
        source_chrom=pl.col("chrom").str.strip_prefix("chr"),
        source_pos=pl.col("pos") - 500,
        source_ref=pl.col("ref"),
        source_alt=pl.col("alt"),
    ).select(HARMONISED_COLUMNS)


def raw_sequences(rows: int) -> pl.DataFrame:
    """Paired FASTQ files: two rows (read 1 and 2) per sample."""
    i = pl.int_range(0, rows, dtype=pl.Int64)
    checksum = _hex_digest(i, 64)
    return pl.select(
        country=pl.lit("FI"),
        batch_id=pl.lit("B001"),
        sample=_pseudonym(i // 2),
        file_name=pl.format("fastq/S{}_R{}.fastq.gz", i // 2, i % 2 + 1),
        format=pl.lit("FASTQ"),
        read=(i % 2 + 1).cast(pl.Int8),
        size_bytes=1_000_000 + i,
        checksum_manifest=checksum,
        checksum_computed=checksum,
        checksum_ok=pl.lit(True),
        read_count=10_000 + i,
        base_count=(10_000 + i) * 150,
        mean_base_quality=(30.0 + (i % 7)).cast(pl.Float64),
        q30_fraction=(0.8 + (i % 10) / 100).cast(pl.Float64),
        gc_fraction=(0.4 + (i % 10) / 100).cast(pl.Float64),
        read_length_min=pl.lit(100, dtype=pl.Int32),
        read_length_mean=pl.lit(148.5),
        read_length_max=pl.lit(150, dtype=pl.Int32),
        mapped_fraction=pl.lit(None, dtype=pl.Float64),
        problem=pl.lit(None, dtype=pl.String),
        ingested_at=pl.lit(datetime(2026, 1, 5, 12, tzinfo=UTC)).dt.cast_time_unit("us"),
        source_uri=pl.format("s3://landing/FI/B001/fastq/S{}_R{}.fastq.gz", i // 2, i % 2 + 1),
    )


def clinical_phenotypes(rows: int) -> pl.DataFrame:
    i = pl.int_range(0, rows, dtype=pl.Int64)
    sexes = pl.lit(["female", "male", "other", "unknown"])
    year = (1930 + i % 90).cast(pl.Int32)
    age = 2026 - year
    frame = pl.select(
        country=pl.lit("FI"),
        batch_id=pl.lit("B001"),
        sample=_pseudonym(i),
        sex_at_birth=sexes.list.get(i % 4),
        administrative_gender=sexes.list.get((i + 1) % 4),
        year_of_birth=year,
        age_band=pl.when(age >= 90)
        .then(pl.lit("90+"))
        .otherwise(pl.format("{}-{}", age // 10 * 10, age // 10 * 10 + 9)),
        country_of_origin=pl.when(i % 5 == 0).then(None).otherwise(pl.lit("SE")),
        diagnoses=pl.lit([{"id": "ORPHA:558", "label": "Marfan syndrome"}], dtype=pl.List(TERM)),
        observed_hpo=pl.concat_list(
            pl.struct(id=pl.lit("HP:0001166"), label=pl.lit("Arachnodactyly")),
            pl.struct(
                id=pl.format("HP:{}", (i % 9_000_000 + 1_000_000).cast(pl.String)),
                label=pl.lit(None, dtype=pl.String),
            ),
        ),
        excluded_hpo=pl.when(i % 3 == 0)
        .then(pl.lit([{"id": "HP:0000098", "label": "Tall stature"}], dtype=pl.List(TERM)))
        .otherwise(pl.lit([], dtype=pl.List(TERM))),
        hpo_ancestors=pl.lit(["HP:0000001", "HP:0000118", "HP:0001166"]),
        affected=pl.lit(True),
        disease_onset=pl.when(i % 2 == 0).then(pl.lit("HP:0003577")).otherwise(pl.lit("P2Y4M")),
        consent_codes=pl.lit(["DUO:0000042", "DUO:0000019"]),
        source_format=pl.lit("phenopacket"),
        source_file=pl.format("clinical/p{}.json", i),
        source_record=pl.format("phenopacket id={}", i),
    )
    return frame


def country_variant_summaries(rows: int) -> pl.DataFrame:
    i = pl.int_range(0, rows, dtype=pl.Int64)
    an = 2 * (100 + i % 50)
    ac = i % 40
    return pl.select(
        country=pl.lit("FI"),
        chrom=pl.lit(CHROMS).list.get(i % len(CHROMS)),
        pos=i * 11 + 10_001,
        ref=pl.lit("A"),
        alt=pl.lit("G"),
    ).with_columns(
        variant_id=pl.concat_str(["chrom", "pos", "ref", "alt"], separator="-"),
        AC=ac,
        AN=an,
        AF=ac / an,
        n_het=ac % 2,
        n_hom_alt=ac // 2,
        n_hemi=pl.lit(0, dtype=pl.Int64),
        call_rate=pl.lit(0.98),
        hwe_p=pl.lit(0.5),
    )


def cross_country_aggregates(rows: int, countries: tuple[str, ...] = ("FI", "SE")) -> pl.DataFrame:
    summary = country_variant_summaries(rows)
    return summary.select(
        "variant_id",
        "chrom",
        "pos",
        "ref",
        "alt",
        "AC",
        "AN",
        "AF",
        nhomalt=pl.col("n_hom_alt"),
        n_countries=pl.lit(len(countries), dtype=pl.Int64),
        faf95=pl.col("AF") * 0.8,
        **{f"AF_{c}": pl.col("AF") for c in countries},
    )


def sample_qc(rows: int) -> pl.DataFrame:
    """One row per sample of a batch, QC metrics consistent with each other."""
    i = pl.int_range(0, rows, dtype=pl.Int64)
    callable_sites = 10_000 + i % 100
    called = callable_sites - i % 7
    het, hom_alt = 1_000 + i % 50, 500 + i % 30
    transitions, transversions = 2_000 + i % 40, 1_000 + i % 20
    xx = i % 2 == 0
    return pl.select(
        country=pl.lit("FI"),
        batch_id=pl.lit("B001"),
        sample=_pseudonym(i),
        sex=pl.when(xx).then(pl.lit("female")).otherwise(pl.lit("male")),
        haploid_x_observed=~xx,
        n_callable_sites=callable_sites,
        n_called=called,
        n_no_call=callable_sites - called,
        call_rate=called / callable_sites,
        n_hom_ref=called - het - hom_alt,
        n_het=het,
        n_hom_alt=hom_alt,
        n_hemi_alt=pl.when(xx).then(0).otherwise(20 + i % 5),
        het_hom_ratio=het / hom_alt,
        n_transitions=transitions,
        n_transversions=transversions,
        ti_tv=transitions / transversions,
        n_insertions=40 + i % 9,
        n_deletions=45 + i % 8,
        n_singletons=i % 13,
        n_x_sites=300 + i % 10,
        chrx_f=pl.when(xx).then(0.02).otherwise(0.97),
        n_y_sites=pl.lit(12, dtype=pl.Int64),
        chry_call_rate=pl.when(xx).then(None).otherwise(0.9),
        n_y_alt=pl.when(xx).then(0).otherwise(3 + i % 4),
        inferred_sex=pl.when(xx).then(pl.lit("XX")).otherwise(pl.lit("XY")),
        reported_sex=pl.when(xx).then(pl.lit("female")).otherwise(pl.lit("male")),
        sex_mismatch=pl.lit(False),
        karyotype=pl.when(xx).then(pl.lit("XX")).otherwise(pl.lit("XY")),
        call_rate_outlier=pl.lit(False),
        n_het_outlier=pl.lit(False),
        het_hom_ratio_outlier=pl.lit(False),
        ti_tv_outlier=pl.lit(False),
        n_singletons_outlier=i % 50 == 49,
        qc_fail_reasons=pl.when(i % 50 == 49)
        .then(pl.lit(["n_singletons"]))
        .otherwise(pl.lit([], dtype=pl.List(pl.String))),
        qc_pass=i % 50 != 49,
    )


CLEAN = {
    "harmonised_variants": harmonised_variants,
    "raw_sequences": raw_sequences,
    "clinical_phenotypes": clinical_phenotypes,
    "country_variant_summaries": country_variant_summaries,
    "cross_country_aggregates": cross_country_aggregates,
    "sample_qc": sample_qc,
}
